/**
 * One file: every case shares the private containerd, its image and the conflist.
 *
 * End to end under a real container runtime (issue 7): Debian's containerd
 * 1.6 with runc starts busybox containers with `ctr run --rm --cni`, through
 * a conflist of macvlan (host-local IPAM) on the world's uplink followed by
 * the coordinator. The checks are what a user would look at: the container's
 * links and routes (busybox `ip` inside the container), pings from inside to a
 * service address on the node, to the node through veth0 and to the gateway,
 * a ping from the gateway, and after the container stops, that DEL ran and
 * left the node as it was.
 *
 * Every case builds its own world (tests/_helpers/world.ts) and its own
 * private containerd inside the world's node netns (tests/e2e/_containerd.ts).
 * Needs root, containerd, ctr, runc, a static busybox and the reference
 * plugins; otherwise every case is registered as ignored, saying why.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { IpLink, IpRoute, IpRouteGet, IpRule } from "../../mod/kernel/ip_json.ts";
import { retryNonEmpty } from "../../tools/lib/poll.ts";
import { ipJson, pinNetns, readback, type Snapshot, type TestNetns } from "../_helpers/netns.ts";
import {
  type Conflist,
  type Json,
  makePluginDir,
  type PluginDir,
  refPluginsSkipReason,
} from "../_helpers/refplugins.ts";
import { createWorld, WORLD, type World } from "../_helpers/world.ts";
import { runLogFile } from "../_helpers/run.ts";
import {
  type Container,
  type Containerd,
  containerdSkipReason,
  startContainerd,
} from "./_containerd.ts";
import { buildBusyboxImage, findStaticBusybox } from "./_image.ts";

const SERVICE_IP = "10.233.0.10";
const HIJACK_IP = "169.254.20.10";
const NETWORK = "e2e-underlay";

const skip = containerdSkipReason() ?? refPluginsSkipReason() ??
  (findStaticBusybox() === undefined ? "needs busybox-static" : undefined);

function gate(name: string): { name: string; ignore: boolean } {
  return skip === undefined
    ? { name, ignore: false }
    : { name: `${name} (ignored: ${skip})`, ignore: true };
}

// One image per test run, removed when the process ends.
let imageDir: string | undefined;
let image: Promise<string> | undefined;
function busyboxImage(): Promise<string> {
  image ??= (async () => {
    imageDir = await Deno.makeTempDir({ prefix: "e2e-image-" });
    return await buildBusyboxImage(imageDir);
  })();
  return image;
}
globalThis.addEventListener("unload", () => {
  if (imageDir !== undefined) Deno.removeSync(imageDir, { recursive: true });
});

function norm(line: string): string {
  return line.replace(/\s+/g, " ").trim();
}

function randomHex(n: number): string {
  const b = crypto.getRandomValues(new Uint8Array(Math.ceil(n / 2)));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("").slice(0, n);
}

const COORDINATOR: Json = {
  type: "coordinator",
  serviceCIDR: ["10.233.0.0/18"],
  overlayPodCIDR: ["10.233.64.0/18"],
  hijackCIDR: [`${HIJACK_IP}/32`],
  logOptions: { logLevel: "debug", logFile: runLogFile("e2e") },
};

function conflist(version: string, ipamDir: string, coordinator: boolean): Conflist {
  return {
    cniVersion: version,
    name: NETWORK,
    plugins: [
      {
        type: "macvlan",
        master: WORLD.uplink,
        mode: "bridge",
        ipam: {
          type: "host-local",
          dataDir: ipamDir,
          ranges: [[{
            subnet: WORLD.subnet4,
            rangeStart: "10.6.212.200",
            rangeEnd: "10.6.212.250",
            gateway: WORLD.gateway4,
          }]],
          routes: [{ dst: "0.0.0.0/0" }],
        },
      },
      ...(coordinator ? [COORDINATOR] : []),
    ],
  };
}

/** A world with service addresses, a plugin dir with a logging wrapper, containerd, the image. */
interface Setup extends AsyncDisposable {
  world: World;
  dir: PluginDir;
  ctrd: Containerd;
  ipamDir: string;
  nodeBefore: Snapshot;
}

async function setup(version: string, coordinator = true): Promise<Setup> {
  const stack = new AsyncDisposableStack();
  try {
    const tarball = await busyboxImage();
    const world = stack.use(await createWorld());
    await world.addServiceAddress(`${SERVICE_IP}/32`);
    await world.addServiceAddress(`${HIJACK_IP}/32`);
    const dir = stack.use(await makePluginDir({ logCalls: true }));
    const ipamDir = await Deno.makeTempDir({ prefix: "e2e-ipam-" });
    stack.defer(() => Deno.remove(ipamDir, { recursive: true }));
    const ctrd = stack.use(await startContainerd({ node: world.node, pluginDir: dir.path }));
    await ctrd.importImage(tarball);
    await ctrd.writeConflist(conflist(version, ipamDir, coordinator));
    const nodeBefore = await readback(world.node);
    const moved = stack.move();
    return {
      world,
      dir,
      ctrd,
      ipamDir,
      nodeBefore,
      [Symbol.asyncDispose]: () => moved.disposeAsync(),
    };
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}

/** The result libcni cached for the attachment (what DEL will get as prevResult). */
function cachedResult(
  ctrd: Containerd,
  c: Container,
): { ips: { address: string }[]; interfaces: { name: string; mac?: string }[] } {
  const path = `${ctrd.cacheDir}/results/${NETWORK}-${c.cniContainerId}-eth0`;
  const cache = JSON.parse(Deno.readTextFileSync(path)) as { kind: string; result: unknown };
  assert.equal(cache.kind, "cniCacheV1");
  return cache.result as ReturnType<typeof cachedResult>;
}

function cacheEntries(ctrd: Containerd): string[] {
  try {
    return [...Deno.readDirSync(`${ctrd.cacheDir}/results`)].map((e) => e.name).filter((n) =>
      n.startsWith(NETWORK)
    );
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

function reservedIps(ipamDir: string): string[] {
  try {
    return [...Deno.readDirSync(`${ipamDir}/${NETWORK}`)].map((e) => e.name).filter((n) =>
      /^\d+\.\d+\.\d+\.\d+$/.test(n)
    );
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

const SHARED_HOST_RULE = "1000: from all lookup 500";

function assertNodeClean(before: Snapshot, after: Snapshot, when: string): void {
  const changes: Record<string, { added: string[]; removed: string[] }> = {};
  for (const key of Object.keys(before) as (keyof Snapshot)[]) {
    if (key === "sysctls") continue;
    const a = before[key].map(norm);
    const b = after[key].map(norm);
    let added = b.filter((l) => !a.includes(l));
    const removed = a.filter((l) => !b.includes(l));
    // The shared host rule is never removed by the original; allowed to stay.
    if (key === "rules4" || key === "rules6") added = added.filter((l) => l !== SHARED_HOST_RULE);
    if (added.length > 0 || removed.length > 0) changes[key] = { added, removed };
  }
  assert.deepEqual(changes, {}, `node not clean ${when}`);
}

/**
 * A command run inside the container through the runtime (`ctr task exec`)
 * whose answer cannot be empty. ctr returns on the exit status and can drop
 * output still in its FIFOs on a busy machine (issue 19: `ip route` exited 0
 * and printed nothing): an empty answer is asked again a few times, then the
 * case fails with every try's raw answer.
 */
async function inContainer(c: Container, argv: string[]): Promise<string> {
  const what = `${argv.join(" ")} in container ${c.id} (ctr task exec)`;
  return (await retryNonEmpty(what, () => c.exec(argv))).stdout;
}

/** A route of `ip -j route show` as busybox `ip route` prints it. */
function routeLine(r: IpRoute): string {
  return [
    r.dst,
    ...(r.gateway === undefined ? [] : ["via", r.gateway]),
    ...(r.dev === undefined ? [] : ["dev", r.dev]),
    ...(r.scope === undefined || r.scope === "global" ? [] : ["scope", r.scope]),
    ...(r.prefsrc === undefined ? [] : ["src", r.prefsrc]),
    ...(r.flags ?? []),
  ].join(" ");
}

/** The device `ip -j route get <dst>` picks in the container's netns (read from the host). */
async function routeDev(c: Container, dst: string): Promise<string | undefined> {
  const [r] = await ipJson<IpRouteGet[]>(c.netns, ["route", "get", dst]);
  return r?.dev;
}

async function pingFrom(ns: TestNetns, dst: string, what: string): Promise<void> {
  const r = await ns.exec(["ping", "-c", "1", "-w", "5", dst], { allowFail: true });
  assert.equal(r.code, 0, `ping ${what} (${dst}) failed:\n${r.stdout}${r.stderr}`);
}

/** What a user checks in a running container; returns its IPv4 address. */
async function checkContainer(s: Setup, c: Container): Promise<string> {
  const result = cachedResult(s.ctrd, c);
  const addr = result.ips[0]?.address ?? "";
  assert.match(addr, /^10\.6\.212\.\d+\/16$/, `cached result: ${JSON.stringify(result)}`);
  const ip = addr.split("/")[0]!;

  // The container's state, read in its netns from the host (/proc/<pid>/ns/net).
  const links = await ipJson<IpLink[]>(c.netns, ["link", "show"]);
  const shown = links.map((l) => `${l.ifname} <${l.flags.join(",")}>`).join("; ");
  for (const name of ["eth0", "veth0"]) {
    const link = links.find((l) => l.ifname === name);
    assert.ok(link?.flags.includes("UP"), `${name} up in container ${c.id}: ${shown}`);
  }
  assert.equal(
    result.interfaces.find((i) => i.name === "eth0")?.mac,
    links.find((l) => l.ifname === "eth0")?.address,
    "cached result MAC = live MAC",
  );

  const want = [
    `default via ${WORLD.gateway4} dev eth0`,
    `10.6.0.0/16 dev eth0 scope link src ${ip}`,
    `${WORLD.nodeIp4} dev veth0 scope link src ${ip}`,
    `10.233.0.0/18 via ${WORLD.nodeIp4} dev veth0 src ${ip}`,
    `10.233.64.0/18 via ${WORLD.nodeIp4} dev veth0 src ${ip}`,
    `${HIJACK_IP} via ${WORLD.nodeIp4} dev veth0 src ${ip}`,
  ];
  const routes = (await ipJson<IpRoute[]>(c.netns, ["route", "show"])).map(routeLine);
  assert.deepEqual([...routes].sort(), [...want].sort(), "container main routes (ip -j route)");
  // What the container itself sees, through the runtime: the same table.
  const seen = (await inContainer(c, ["ip", "route"])).split("\n").map(norm).filter((l) =>
    l !== ""
  );
  assert.deepEqual([...seen].sort(), [...want].sort(), "container main routes (busybox ip route)");
  assert.equal(await routeDev(c, SERVICE_IP), "veth0", `route to ${SERVICE_IP}`);
  assert.equal(await routeDev(c, WORLD.gateway4), "eth0", `route to ${WORLD.gateway4}`);
  assert.equal(await routeDev(c, WORLD.nodeIp4), "veth0", `route to ${WORLD.nodeIp4}`);

  for (
    const [dst, what] of [[SERVICE_IP, "service address on the node"], [
      WORLD.nodeIp4,
      "node through veth0",
    ], [WORLD.gateway4, "gateway"]]
  ) {
    // Through the runtime on purpose: the container's own ping. Its exit
    // code is the answer (ctr passes it on even when output is lost).
    const r = await c.exec(["ping", "-c", "1", "-w", "5", dst!]);
    assert.equal(
      r.code,
      0,
      `container ${c.id} -> ${what} (${dst}) failed (exit ${r.code}):\n${r.stdout}${r.stderr}`,
    );
  }
  await pingFrom(s.world.gw, ip, `gateway -> container ${c.id}`);

  // Node side: the host veth named from CNI_CONTAINERID, the /32 in table 500.
  const hostVeth = `veth${c.cniContainerId.slice(0, 11)}`;
  const t500 = await ipJson<IpRoute[]>(s.world.node, ["route", "show", "table", "500"]);
  assert.ok(
    t500.some((r) => r.dst === ip && r.dev === hostVeth && r.scope === "link"),
    `${ip} dev ${hostVeth} scope link in table 500: ${t500.map(routeLine).join("; ")}`,
  );
  return ip;
}

/** The coordinator calls the wrapper logged for one container. */
function callsFor(dir: PluginDir, c: Container): string[] {
  return dir.calls().filter((l) => l.split(" ")[1] === c.cniContainerId);
}

// 0.3.1: libcni sends DEL without the cached result, so only CNI_CONTAINERID is left.
for (const version of ["0.3.1", "0.4.0", "1.0.0"]) {
  Deno.test({
    ...gate(
      `[${version}] ctr run --cni: links, routes, service, node and gateway traffic; stop runs DEL and leaves the node clean`,
    ),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await using s = await setup(version);
      const c = await s.ctrd.run(`c${randomHex(8)}`, ["sleep", "3600"]);
      await checkContainer(s, c);
      assert.deepEqual(callsFor(s.dir, c), [
        `ADD ${c.cniContainerId} eth0 netns=${c.netnsPath} rc=0`,
      ]);

      const stopped = await c.stop();
      assert.equal(stopped.code, 137, `ctr run: ${stopped.stderr}`);
      assert.doesNotMatch(stopped.stderr, /level=error/, "ctr reported a CNI error on stop");
      // ctr 1.6 sends DEL with an empty CNI_NETNS and the cached result.
      assert.deepEqual(callsFor(s.dir, c), [
        `ADD ${c.cniContainerId} eth0 netns=${c.netnsPath} rc=0`,
        `DEL ${c.cniContainerId} eth0 netns= rc=0`,
      ]);
      assert.deepEqual(cacheEntries(s.ctrd), [], "libcni dropped its cache entry");
      assert.deepEqual(reservedIps(s.ipamDir), [], "host-local released the address");
      assertNodeClean(s.nodeBefore, await readback(s.world.node), "after the container stopped");
    },
  });
}

Deno.test({
  ...gate("[1.0.0] 8 containers started at once: all correct, all cleaned"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using s = await setup("1.0.0");
    const ids = Array.from({ length: 8 }, (_, i) => `p${i}${randomHex(7)}`);
    const cs = await Promise.all(ids.map((id) => s.ctrd.run(id, ["sleep", "3600"])));
    const ips: string[] = [];
    for (const c of cs) ips.push(await checkContainer(s, c));
    assert.equal(new Set(ips).size, 8, `distinct addresses: ${ips.join(" ")}`);
    const t500 = await ipJson<IpRoute[]>(s.world.node, ["route", "show", "table", "500"]);
    assert.equal(
      t500.length,
      8,
      `one table-500 route per container:\n${t500.map(routeLine).join("\n")}`,
    );
    const rules = await ipJson<IpRule[]>(s.world.node, ["-4", "rule", "show"]);
    assert.equal(
      rules.filter((r) => r.priority === 1000 && r.src === "all" && r.table === "500").length,
      1,
      `one shared host rule (${SHARED_HOST_RULE}):\n${JSON.stringify(rules)}`,
    );

    const stopped = await Promise.all(cs.map((c) => c.stop()));
    for (const [i, r] of stopped.entries()) {
      assert.equal(r.code, 137, `ctr run ${ids[i]}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /level=error/, `ctr reported a CNI error for ${ids[i]}`);
    }
    for (const c of cs) {
      assert.deepEqual(callsFor(s.dir, c).map((l) => l.replace(/netns=\S*/, "")), [
        `ADD ${c.cniContainerId} eth0  rc=0`,
        `DEL ${c.cniContainerId} eth0  rc=0`,
      ]);
    }
    assert.deepEqual(cacheEntries(s.ctrd), []);
    assert.deepEqual(reservedIps(s.ipamDir), []);
    assertNodeClean(s.nodeBefore, await readback(s.world.node), "after all 8 stopped");
  },
});

Deno.test({
  ...gate(
    "[1.0.0] DEL with an empty CNI_NETNS while the container's netns still lives: the node side is cleaned",
  ),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using s = await setup("1.0.0");
    const c = await s.ctrd.run(`k${randomHex(8)}`, ["sleep", "3600"]);
    await checkContainer(s, c);
    const hostVeth = `veth${c.cniContainerId.slice(0, 11)}`;
    // Keep the container's netns alive past the task (as a leaked bind mount
    // or a lingering process would): the kernel then does not remove the veth
    // pair, so only the plugin's DEL can.
    await using _pin = await pinNetns(c.netnsPath);
    const stopped = await c.stop();
    assert.equal(stopped.code, 137, stopped.stderr);
    assert.deepEqual(callsFor(s.dir, c).at(-1), `DEL ${c.cniContainerId} eth0 netns= rc=0`);
    const links = await ipJson<IpLink[]>(s.world.node, ["link", "show"]);
    assert.ok(
      !links.some((l) => l.ifname === hostVeth),
      `host veth ${hostVeth} left on the node`,
    );
    assertNodeClean(
      s.nodeBefore,
      await readback(s.world.node),
      "after DEL with the netns pinned",
    );
  },
});

Deno.test({
  ...gate("[1.0.0] the container's netns is gone before DEL: DEL succeeds and nothing is left"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using s = await setup("1.0.0");
    const c = await s.ctrd.run(`g${randomHex(8)}`, ["sleep", "3600"]);
    await checkContainer(s, c);
    // Kill the container's only process from the host: its netns is torn
    // down as the process exits, before the shim reports the exit and ctr
    // runs DEL.
    Deno.kill(c.pid, "SIGKILL");
    const stopped = await c.stop();
    assert.doesNotMatch(stopped.stderr, /level=error/, "ctr reported a CNI error");
    assert.deepEqual(callsFor(s.dir, c).at(-1), `DEL ${c.cniContainerId} eth0 netns= rc=0`);
    assert.deepEqual(cacheEntries(s.ctrd), []);
    assert.deepEqual(reservedIps(s.ipamDir), []);
    assertNodeClean(s.nodeBefore, await readback(s.world.node), "after DEL");
  },
});

Deno.test({
  ...gate(
    "[1.0.0] ctr run --cni with macvlan only (baseline of the runtime set-up, no coordinator)",
  ),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using s = await setup("1.0.0", false);
    const c = await s.ctrd.run(`b${randomHex(8)}`, ["sleep", "3600"]);
    const ip = cachedResult(s.ctrd, c).ips[0]?.address.split("/")[0] ?? "";
    assert.match(ip, /^10\.6\.212\.\d+$/);
    const r = await c.exec(["ping", "-c", "1", "-w", "5", WORLD.gateway4]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await pingFrom(s.world.gw, ip, "gateway -> container");
    const stopped = await c.stop();
    assert.equal(stopped.code, 137, stopped.stderr);
    assert.doesNotMatch(stopped.stderr, /level=error/);
    assert.deepEqual(cacheEntries(s.ctrd), []);
    assert.deepEqual(reservedIps(s.ipamDir), []);
    assertNodeClean(s.nodeBefore, await readback(s.world.node), "after the container stopped");
  },
});
