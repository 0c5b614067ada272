/**
 * One file: reading the examples, fitting a world to them and running their chains are one pipeline.
 *
 * Every documented example runs: the README's conflist and its coordinator snippets,
 * `deploy/*.conflist`, the config inside `deploy/nad-*.yaml`, and the examples of
 * docs/operators.md (its json blocks, and the NAD + ConfigMap of "Set serviceCIDR once"). Each is
 * read from its file here (no copy in this test), run through the reference plugins as libcni runs
 * a conflist (tests/_helpers/refplugins.ts: ADD, CHECK, DEL) in a world of network namespaces
 * built to fit it (tools/lib/world.ts: the node's uplink is named after the example's `master`,
 * its subnet, gateway and node address come from the example's IPAM), and must leave the node as
 * it was.
 *
 * How blocks of the two documents are found: every ```json block is an example. A block marked
 * by the line `<!-- example: partial ... -->` before it is deliberately incomplete (a
 * placeholder) and not run; `<!-- example: entry -->` marks a coordinator entry alone, run as the
 * coordinator of the same document's first conflist; `<!-- example: entry overlay -->` the same
 * on `net1` of an overlay pod. Every other block must be a whole conflist. In docs/operators.md,
 * ```yaml blocks holding a NetworkAttachmentDefinition are run too, with the node defaults of the
 * ConfigMap block beside them. A test without root checks that no json block is left out.
 *
 * What this test changes in an example, always on a copy, and names in the test's title:
 * - whereabouts IPAM (not installed here) becomes the reference `static` IPAM with the first
 *   address of `range_start`..`range_end` (prefix of `range`), the same gateway and routes;
 * - host-local IPAM gets `dataDir` in the test's temp dir, so its allocation files stay out of
 *   /var/lib/cni/networks;
 * - every coordinator entry gets `logOptions.logFile` in the test run's log directory (the
 *   example's level is kept), so nothing lands in /var/log/spidernet;
 * - the node defaults file is `COORDINATOR_DEFAULTS_FILE`: the ConfigMap's defaults.json where the
 *   example comes with one, else a path that does not exist (the example runs as written, whatever
 *   the machine has in /etc/cni/net.d/coordinator.d).
 * The first NIC of an overlay example (the cluster CNI's eth0, not part of the example) is a
 * `ptp` veth with static 10.233.100.2/24, as in chain_test.ts.
 *
 * Needs root, iproute2, iptables, ping and the reference plugins in /usr/lib/cni.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import {
  privilegedSkipReason,
  readback,
  type Snapshot,
  type TestNetns,
  toolsSkipReason,
} from "../_helpers/netns.ts";
import {
  type Conflist,
  type Json,
  makePluginDir,
  refPluginsSkipReason,
  runChain,
  type RuntimeConf,
} from "../_helpers/refplugins.ts";
import { createWorld, type WorldNet4 } from "../_helpers/world.ts";
import { runLogFile } from "../_helpers/run.ts";
import { containerId } from "../../tools/lib/plugin.ts";

const root = new URL("../../", import.meta.url);

/** One runnable example. */
interface Example {
  /** Where it is: file and line. */
  source: string;
  /** The conflist as the file has it. */
  list: Conflist;
  /** overlay: run on net1 after a ptp eth0. */
  overlay: boolean;
  /** The node defaults file that comes with it (a ConfigMap's defaults.json). */
  defaults?: string;
}

/** A fenced block of a Markdown document. */
interface Block {
  lang: string;
  body: string;
  line: number;
  /** The `<!-- example: ... -->` marker right before it, if any. */
  marker: string | undefined;
}

function isObj(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The fenced blocks of a Markdown text, with their markers.
 *
 * @param text the document
 * @returns the blocks in order
 */
export function fencedBlocks(text: string): Block[] {
  const out: Block[] = [];
  const re = /(?:<!-- example: ([^\n]*?) -->\n\n)?^```(\w*)\n([\s\S]*?)^```$/gm;
  for (const m of text.matchAll(re)) {
    const line = text.slice(0, m.index + (m[0].indexOf("```"))).split("\n").length;
    out.push({ lang: m[2]!, body: m[3]!, line, marker: m[1]?.trim() });
  }
  return out;
}

function asConflist(v: unknown, where: string): Conflist {
  assert.ok(isObj(v) && Array.isArray(v.plugins), `${where} is not a conflist`);
  return v as unknown as Conflist;
}

/** The examples of one Markdown document, and the json blocks it marks partial. */
function docExamples(file: string, text: string): { examples: Example[]; partial: string[] } {
  const examples: Example[] = [];
  const partial: string[] = [];
  let first: Conflist | undefined;
  let defaults: string | undefined;
  for (const b of fencedBlocks(text)) {
    const where = `${file}:${b.line}`;
    if (b.lang === "yaml") {
      for (const doc of parseAllDocuments(b.body)) {
        const obj: unknown = doc.toJS();
        if (!isObj(obj)) continue;
        if (obj.kind === "ConfigMap") {
          defaults = String((obj.data as Json)["defaults.json"]);
        } else if (obj.kind === "NetworkAttachmentDefinition") {
          const list = asConflist(JSON.parse(String((obj.spec as Json).config)), where);
          examples.push({
            source: `${where} (NAD ${String((obj.metadata as Json).name)})`,
            list,
            overlay: isOverlay(list),
            ...(defaults === undefined ? {} : { defaults }),
          });
        }
      }
      continue;
    }
    if (b.lang !== "json") continue;
    if (b.marker?.startsWith("partial")) {
      partial.push(where);
      continue;
    }
    const json: unknown = JSON.parse(b.body);
    if (b.marker === "entry" || b.marker === "entry overlay") {
      assert.ok(first !== undefined, `${where}: an entry before any conflist of ${file}`);
      assert.ok(isObj(json) && json.type === "coordinator", `${where}: not a coordinator entry`);
      const list: Conflist = {
        ...first,
        plugins: first.plugins.map((p) => p.type === "coordinator" ? json : p),
      };
      examples.push({
        source: `${where} (coordinator entry after the conflist at ${file})`,
        list,
        overlay: b.marker === "entry overlay",
      });
      continue;
    }
    assert.equal(b.marker, undefined, `${where}: unknown marker "${b.marker}"`);
    const list = asConflist(json, `${where} (unmarked json block)`);
    first ??= list;
    examples.push({ source: where, list, overlay: isOverlay(list) });
  }
  return { examples, partial };
}

function isOverlay(list: Conflist): boolean {
  return list.plugins.some((p) => p.type === "coordinator" && p.mode === "overlay");
}

async function allExamples(): Promise<{ examples: Example[]; partial: string[]; json: number }> {
  const examples: Example[] = [];
  const partial: string[] = [];
  let json = 0;
  for (const file of ["README.md", "docs/operators.md"]) {
    const text = await Deno.readTextFile(new URL(file, root));
    json += fencedBlocks(text).filter((b) => b.lang === "json").length;
    const got = docExamples(file, text);
    examples.push(...got.examples);
    partial.push(...got.partial);
  }
  const files = [...Deno.readDirSync(new URL("deploy/", root))].map((e) => e.name).sort();
  for (const name of files) {
    const text = await Deno.readTextFile(new URL(`deploy/${name}`, root));
    if (name.endsWith(".conflist")) {
      const list = asConflist(JSON.parse(text), `deploy/${name}`);
      examples.push({ source: `deploy/${name}`, list, overlay: isOverlay(list) });
    } else if (/^nad-.*\.ya?ml$/.test(name)) {
      for (const doc of parseAllDocuments(text)) {
        const obj: unknown = doc.toJS();
        if (!isObj(obj) || obj.kind !== "NetworkAttachmentDefinition") continue;
        const list = asConflist(JSON.parse(String((obj.spec as Json).config)), `deploy/${name}`);
        examples.push({
          source: `deploy/${name} (NAD ${String((obj.metadata as Json).name)})`,
          list,
          overlay: isOverlay(list),
        });
      }
    }
  }
  return { examples, partial, json };
}

// ------------------------------------------------------------------ IPv4 arithmetic

function ip4(text: string): number {
  const parts = text.split(".").map(Number);
  assert.ok(parts.length === 4 && parts.every((p) => p >= 0 && p <= 255), `not IPv4: ${text}`);
  return parts.reduce((a, p) => a * 256 + p, 0);
}

function fmt4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

function cidr4(text: string): { net: number; bits: number } {
  const [a, b] = text.split("/");
  const bits = Number(b);
  const size = 2 ** (32 - bits);
  const ip = ip4(a!);
  return { net: ip - (ip % size), bits };
}

// ------------------------------------------------------------------ fitting the world

/** The main plugin's IPAM, as far as the world and the substitutions need it. */
interface Pool {
  subnet: string;
  gateway: string;
  /** The first address handed out, when the example says. */
  start?: string;
  end?: string;
  routes: Json[];
}

function poolOf(ipam: Json, where: string): Pool {
  const routes = (ipam.routes ?? []) as Json[];
  const defaultGw = routes.find((r) => r.dst === "0.0.0.0/0")?.gw as string | undefined;
  let p: { subnet: unknown; gateway: unknown; start: unknown; end: unknown };
  if (ipam.type === "whereabouts") {
    p = {
      subnet: ipam.range,
      gateway: ipam.gateway,
      start: ipam.range_start,
      end: ipam.range_end,
    };
  } else if (ipam.type === "host-local") {
    const r = ((ipam.ranges as Json[][] | undefined)?.[0]?.[0] ?? ipam) as Json;
    p = { subnet: r.subnet, gateway: r.gateway, start: r.rangeStart, end: r.rangeEnd };
  } else {
    throw new Error(`${where}: IPAM ${String(ipam.type)} is not one this test knows`);
  }
  assert.equal(typeof p.subnet, "string", `${where}: IPAM without a subnet`);
  const subnet = String(p.subnet);
  const { net } = cidr4(subnet);
  const gateway = String(p.gateway ?? defaultGw ?? fmt4(net + 1));
  return {
    subnet,
    gateway,
    ...(p.start === undefined ? {} : { start: String(p.start) }),
    ...(p.end === undefined ? {} : { end: String(p.end) }),
    routes,
  };
}

/** The world's uplink and network: the example's master, its subnet and gateway. */
function worldNet(master: string, pool: Pool): WorldNet4 {
  const { net, bits } = cidr4(pool.subnet);
  const last = net + 2 ** (32 - bits) - 2;
  const start = pool.start === undefined ? net + 2 : ip4(pool.start);
  const end = pool.end === undefined ? last : ip4(pool.end);
  // The node takes the subnet's last host address, unless the pool hands it out.
  let node = last;
  while (node >= start && node <= end || node === ip4(pool.gateway)) node--;
  return { uplink: master, nodeIp4: fmt4(node), gateway4: pool.gateway, prefix4: bits };
}

/**
 * The example as this machine can run it, and what was changed.
 *
 * @param ex the example
 * @param tmp the test's temp dir
 * @returns the conflist to run, the main plugin's pool and master, and the changes made
 */
function fit(ex: Example, tmp: string) {
  const list = structuredClone(ex.list);
  const changes: string[] = [];
  const main = list.plugins[0]!;
  const ipam = main.ipam as Json;
  const pool = poolOf(ipam, ex.source);
  const master = String(main.master);
  if (ipam.type === "whereabouts") {
    const prefix = cidr4(pool.subnet).bits;
    main.ipam = {
      type: "static",
      addresses: [{ address: `${pool.start ?? pool.gateway}/${prefix}`, gateway: pool.gateway }],
      ...(pool.routes.length > 0 ? { routes: pool.routes } : {}),
    };
    changes.push(`whereabouts -> static ${pool.start}/${prefix} gw ${pool.gateway}`);
  } else if (ipam.type === "host-local") {
    ipam.dataDir = `${tmp}/host-local`;
    changes.push("host-local dataDir -> temp dir");
  }
  for (const p of list.plugins) {
    if (p.type !== "coordinator") continue;
    const log = isObj(p.logOptions) ? p.logOptions : {};
    p.logOptions = { ...log, logFile: runLogFile("examples") };
    changes.push("logFile -> run log dir");
  }
  return { list, pool, master, changes };
}

// ------------------------------------------------------------------ assertions

const SHARED_HOST_RULE = /^\d+: from all lookup \d+$/;

function norm(line: string): string {
  return line.replace(/\s+/g, " ").trim();
}

function assertNodeClean(before: Snapshot, after: Snapshot, when: string): void {
  const changes: Record<string, { added: string[]; removed: string[] }> = {};
  for (const key of Object.keys(before) as (keyof Snapshot)[]) {
    if (key === "sysctls") continue;
    const a = before[key].map(norm);
    const b = after[key].map(norm);
    let added = b.filter((l) => !a.includes(l));
    // The shared `from all lookup <hostRuleTable>` rule may stay (as in Spiderpool).
    if (key === "rules4" || key === "rules6") {
      added = added.filter((l) => !SHARED_HOST_RULE.test(l));
    }
    const removed = a.filter((l) => !b.includes(l));
    if (added.length > 0 || removed.length > 0) changes[key] = { added, removed };
  }
  assert.deepEqual(changes, {}, `node not clean ${when}`);
}

/** The CIDRs the coordinator entry routes through the node: its own, else the defaults file's. */
function hijacked(list: Conflist, defaults: string | undefined): string[] {
  const entry = list.plugins.find((p) => p.type === "coordinator") ?? {};
  const file = defaults === undefined ? {} : JSON.parse(defaults) as Json;
  const out: string[] = [];
  for (const key of ["overlayPodCIDR", "serviceCIDR", "hijackCIDR"]) {
    const own = entry[key] as string[] | undefined;
    out.push(...(own !== undefined && own.length > 0 ? own : (file[key] as string[] ?? [])));
  }
  return out;
}

async function ping(from: TestNetns, dst: string, what: string): Promise<void> {
  const r = await from.exec(["ping", "-c", "1", "-w", "5", dst], { allowFail: true });
  assert.equal(r.code, 0, `ping ${what} (${dst}) failed:\n${r.stdout}${r.stderr}`);
}

function hasRoute(routes: string[], prefix: string, what: string): void {
  assert.ok(
    routes.some((l) => l.startsWith(prefix)),
    `${what}: no pod route "${prefix}..."\n${routes.join("\n")}`,
  );
}

/** The overlay pod's first NIC, standing in for the cluster CNI (not part of any example). */
const PTP_ETH0: Conflist = {
  cniVersion: "1.0.0",
  name: "k8s-pod-network",
  plugins: [{
    type: "ptp",
    mtu: 1500,
    ipam: {
      type: "static",
      addresses: [{ address: "10.233.100.2/24", gateway: "10.233.100.1" }],
      routes: [{ dst: "0.0.0.0/0" }],
    },
  }],
};

async function runExample(ex: Example): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "examples-" });
  try {
    const { list, pool, master } = fit(ex, tmp);
    const defaultsFile = `${tmp}/defaults.json`;
    if (ex.defaults !== undefined) await Deno.writeTextFile(defaultsFile, ex.defaults);
    const env = {
      COORDINATOR_DEFAULTS_FILE: ex.defaults === undefined
        ? `${tmp}/no-defaults.json`
        : defaultsFile,
    };
    const net4 = worldNet(master, pool);
    await using world = await createWorld({ ipv6: false, net4 });
    await using dir = await makePluginDir();
    const pod = await world.addPod();
    const base = {
      containerId: containerId(),
      netns: pod.path,
      cniPath: [dir.path],
      hostNetns: world.node,
      args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=example",
      env,
    } satisfies Omit<RuntimeConf, "ifname">;
    const ifname = ex.overlay ? "net1" : "eth0";
    const nodeBefore = await readback(world.node);
    const eth0 = ex.overlay ? runChain(PTP_ETH0, { ...base, ifname: "eth0" }) : undefined;
    await eth0?.add();
    const chain = runChain(list, { ...base, ifname });
    const result = await chain.add();
    const ip = String(((result.ips as Json[])[0] ?? {}).address).split("/")[0]!;
    await eth0?.check();
    await chain.check();

    const routes = (await readback(pod)).routes4.map(norm);
    const cidrs = hijacked(list, ex.defaults);
    for (const c of cidrs) {
      const prefix = c.includes("/") ? c : `${c}/32`;
      const dst = prefix.endsWith("/32") ? prefix.slice(0, -3) : prefix;
      hasRoute(
        routes,
        ex.overlay ? `${dst} via 10.233.100.1 dev eth0` : `${dst} via ${net4.nodeIp4} dev veth0`,
        ex.source,
      );
    }
    if (pool.routes.some((r) => r.dst === "0.0.0.0/0")) {
      // A single-NIC pod keeps its IPAM default route; on an overlay pod it moves to table 101.
      hasRoute(
        routes,
        ex.overlay
          ? `default via ${pool.gateway} dev net1 table 101`
          : `default via ${pool.gateway} dev eth0`,
        ex.source,
      );
    }
    if (ex.overlay) {
      await ping(pod, net4.nodeIp4, "pod -> node through eth0");
      await ping(world.gw, ip, "gateway -> pod net1");
    } else {
      await ping(pod, net4.nodeIp4, "pod -> node through veth0");
      await ping(world.node, ip, "node -> pod through the host veth");
      await ping(world.gw, ip, "gateway -> pod");
    }

    await chain.del();
    await eth0?.del();
    assertNodeClean(nodeBefore, await readback(world.node), `after DEL (${ex.source})`);
    const links = JSON.parse(await pod.ip(["-j", "link", "show"])) as { ifname: string }[];
    assert.deepEqual(links.map((l) => l.ifname), ["lo"], "only lo is left in the pod");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

// ------------------------------------------------------------------ tests

const { examples, partial, json } = await allExamples();
const skip = privilegedSkipReason() ?? refPluginsSkipReason() ??
  toolsSkipReason("iptables", "ping");

Deno.test("examples: every json block of README.md and docs/operators.md is run or marked partial", () => {
  const fromDocs = examples.filter((e) =>
    /^(README\.md|docs\/operators\.md):\d+$|\(coordinator entry/.test(e.source)
  );
  assert.equal(
    fromDocs.length + partial.length,
    json,
    `${json} json blocks: ${fromDocs.map((e) => e.source).join(", ")}; partial: ${
      partial.join(", ")
    }`,
  );
  for (
    const want of [
      "deploy/10-macvlan-coordinator.conflist",
      "deploy/nad-underlay.yaml (NAD macvlan-underlay)",
      "deploy/nad-overlay.yaml (NAD macvlan-overlay)",
    ]
  ) {
    assert.ok(examples.some((e) => e.source === want), `${want} is not run`);
  }
  assert.ok(
    examples.some((e) => e.source.startsWith("docs/operators.md") && e.defaults !== undefined),
    'the NAD of "Set serviceCIDR once" is not run with its ConfigMap',
  );
});

Deno.test("examples: the ConfigMap of docs/operators.md is deploy/configmap-defaults.yaml's", async () => {
  const text = await Deno.readTextFile(new URL("deploy/configmap-defaults.yaml", root));
  const cm = parseAllDocuments(text).map((d) => d.toJS() as Json).find((o) =>
    o?.kind === "ConfigMap"
  );
  const deployed = JSON.parse(String((cm?.data as Json)["defaults.json"]));
  const doc = examples.find((e) => e.defaults !== undefined);
  assert.ok(doc?.defaults !== undefined);
  assert.deepEqual(JSON.parse(doc.defaults), deployed);
});

for (const ex of examples) {
  const { changes } = fit(ex, "/tmp");
  const title = `examples: ${ex.source}: ADD, CHECK, DEL through the reference plugins` +
    ` (world uplink ${String(ex.list.plugins[0]?.master)}` +
    `${ex.overlay ? ", on net1 after a ptp eth0" : ""}; ${changes.join("; ")})`;
  Deno.test({
    name: skip === undefined ? title : `${title} (ignored: ${skip})`,
    ignore: skip !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () => runExample(ex),
  });
}
