/**
 * One file: every chain shares the plugin directory, the conflists and the readbacks.
 *
 * Whole chains through Debian's reference plugins, driven the way libcni
 * drives them (tests/_helpers/refplugins.ts): macvlan with static IPAM on the
 * node's uplink, then the coordinator, per cniVersion; a podMACPrefix chain
 * whose CHECK must pass end to end; and the overlay pair of docs/network.md's overlay example (ptp
 * eth0 without the coordinator, macvlan net1 with it).
 *
 * Every case builds its own world of network namespaces (tests/_helpers/world.ts)
 * and removes it, also on failure. Needs root, iproute2, iptables and the
 * reference plugins in /usr/lib/cni.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { IpLink } from "../../mod/kernel/ip_json.ts";
import {
  ipJson,
  macOf,
  pinNetns,
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
  type PluginDir,
  type PluginDirOptions,
  PluginError,
  pluginVersions,
  REF_PLUGIN_DIR,
  refPluginsSkipReason,
  runChain,
  type RuntimeConf,
} from "../_helpers/refplugins.ts";
import { createWorld, WORLD, type World } from "../_helpers/world.ts";
import { runLogFile } from "../_helpers/run.ts";

const POD_IP = "10.6.212.241";
const SERVICE_IP = "10.233.0.10";
const HIJACK_IP = "169.254.20.10";
const POD_IP6 = "fd00:6::f1";
const SERVICE_IP6 = "fd00:10:233::10";

const skip = privilegedSkipReason() ?? refPluginsSkipReason() ??
  toolsSkipReason("iptables", "ping", "nsenter");
const macvlanVersions = skip === undefined
  ? await pluginVersions(`${REF_PLUGIN_DIR}/macvlan`) ?? []
  : [];

/** Test options for a version: ignored (with the reason in the name) when it cannot run. */
function gate(name: string, version?: string): { name: string; ignore: boolean } {
  if (skip !== undefined) return { name: `${name} (ignored: ${skip})`, ignore: true };
  if (version !== undefined && !macvlanVersions.includes(version)) {
    return {
      name: `${name} (ignored: Debian's reference plugins support cniVersion ` +
        `${macvlanVersions.join(", ")} only, not ${version})`,
      ignore: true,
    };
  }
  return { name, ignore: false };
}

function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function norm(line: string): string {
  return line.replace(/\s+/g, " ").trim();
}

function normAll(lines: string[]): string[] {
  return lines.map(norm).sort();
}

function macvlanStatic(master: string, cidr: string, gateway: string): Json {
  return {
    type: "macvlan",
    master,
    mode: "bridge",
    ipam: {
      type: "static",
      addresses: [{ address: cidr, gateway }],
      routes: [{ dst: "0.0.0.0/0" }],
    },
  };
}

function coordinatorConf(extra: Json = {}): Json {
  return {
    type: "coordinator",
    mode: "auto",
    serviceCIDR: ["10.233.0.0/18"],
    overlayPodCIDR: ["10.233.64.0/18"],
    hijackCIDR: [`${HIJACK_IP}/32`],
    tunePodRoutes: true,
    hostRuleTable: 500,
    podRPFilter: 0,
    logOptions: { logLevel: "debug", logFile: runLogFile("chain") },
    ...extra,
  };
}

/** The underlay conflist: macvlan with static IPAM holding POD_IP, then the coordinator. */
function underlayList(cniVersion: string, extra: Json = {}): Conflist {
  return {
    cniVersion,
    name: "macvlan-underlay",
    plugins: [macvlanStatic(WORLD.uplink, `${POD_IP}/16`, WORLD.gateway4), coordinatorConf(extra)],
  };
}

/** The runtime values for the pod's eth0: plugins from `dir`, started in the node. */
function eth0Rt(
  world: World,
  pod: TestNetns,
  dir: PluginDir,
  containerId = randomId(),
): RuntimeConf {
  return {
    containerId,
    netns: pod.path,
    ifname: "eth0",
    cniPath: [dir.path],
    hostNetns: world.node,
  };
}

async function ping(from: TestNetns, dst: string, what: string): Promise<void> {
  const r = await from.exec(["ping", "-c", "1", "-w", "5", dst], { allowFail: true });
  assert.equal(
    r.code,
    0,
    `ping ${what} (${dst}) from ${from.name} failed:\n${r.stdout}${r.stderr}`,
  );
}

async function routeGet(ns: TestNetns, args: string[]): Promise<string> {
  return norm(await ns.ip(["route", "get", ...args]));
}

async function setupWorld(): Promise<World> {
  const world = await createWorld();
  try {
    await world.addServiceAddress(`${SERVICE_IP}/32`);
    await world.addServiceAddress(`${HIJACK_IP}/32`);
  } catch (err) {
    await world.destroy();
    throw err;
  }
  return world;
}

/**
 * A chain test (options from {@linkcode gate}) in a fresh world with a plugin
 * directory and one pod, all removed afterwards.
 */
function chainTest(
  gated: { name: string; ignore: boolean },
  fn: (world: World, dir: PluginDir, pod: TestNetns) => Promise<void>,
  dirOpts: PluginDirOptions = {},
): void {
  Deno.test({
    ...gated,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await using world = await setupWorld();
      await using dir = await makePluginDir(dirOpts);
      const pod = await world.addPod();
      await fn(world, dir, pod);
    },
  });
}

/** The shared host rule, which the original never removes and DEL may keep. */
const SHARED_HOST_RULE = "1000: from all lookup 500";

/**
 * What changed on the node between two snapshots, ignoring the sysctl
 * section (new links bring their own keys), as normalised sorted lines.
 */
function nodeChanges(
  before: Snapshot,
  after: Snapshot,
): Record<string, { added: string[]; removed: string[] }> {
  const out: Record<string, { added: string[]; removed: string[] }> = {};
  for (const key of Object.keys(before) as (keyof Snapshot)[]) {
    if (key === "sysctls") continue;
    const a = normAll(before[key]);
    const b = normAll(after[key]);
    const added = b.filter((l) => !a.includes(l));
    const removed = a.filter((l) => !b.includes(l));
    if (added.length > 0 || removed.length > 0) out[key] = { added, removed };
  }
  return out;
}

/** Assert the node is as before except, at most, the shared host rule. */
function assertNodeClean(before: Snapshot, after: Snapshot, when: string): void {
  const changes = nodeChanges(before, after);
  for (const key of ["rules4", "rules6"] as const) {
    const rules = changes[key];
    if (rules && rules.removed.length === 0 && rules.added.every((l) => l === SHARED_HOST_RULE)) {
      delete changes[key];
    }
  }
  assert.deepEqual(changes, {}, `node not clean ${when}`);
}

function resultInterface(result: Json, name: string): Json | undefined {
  const ifs = (result.interfaces ?? []) as Json[];
  return ifs.find((i) => i.name === name);
}

function assertResultShape(result: Json, version: string, cidr: string): void {
  assert.equal(result.cniVersion, version, "the result must carry the request's cniVersion");
  const ips = result.ips as Json[];
  assert.ok(Array.isArray(ips), "result.ips");
  const ip = ips.find((i) => i.address === cidr);
  assert.ok(ip, `result.ips has ${cidr}: ${JSON.stringify(ips)}`);
  if (version.startsWith("0.")) assert.equal(ip.version, "4", "ips[].version below 1.0.0");
  else assert.equal(ip.version, undefined, "no ips[].version from 1.0.0 on");
}

chainTest(
  gate("runChain() drives macvlan+static like libcni (baseline without the coordinator)"),
  async (world, dir, pod) => {
    const nodeBefore = await readback(world.node);
    for (const version of ["0.4.0", "1.0.0"]) {
      const chain = runChain({
        cniVersion: version,
        name: "macvlan-only",
        plugins: [macvlanStatic(WORLD.uplink, `${POD_IP}/16`, WORLD.gateway4)],
      }, eth0Rt(world, pod, dir));
      const result = await chain.add();
      assertResultShape(result, version, `${POD_IP}/16`);
      assert.equal(resultInterface(result, "eth0")?.mac, await macOf(pod, "eth0"));
      assert.ok(chain.cached !== undefined, "the final result is cached");
      await chain.check();
      await ping(world.gw, POD_IP, "gateway -> pod");
      await chain.del();
      assert.equal(chain.cached, undefined, "DEL drops the cache");
      assertNodeClean(nodeBefore, await readback(world.node), `after DEL (${version})`);
    }
    // A plugin error comes back as libcni reports it: code and message from stdout.
    const bad = runChain({
      cniVersion: "1.0.0",
      name: "macvlan-only",
      plugins: [macvlanStatic("no-such-link", `${POD_IP}/16`, WORLD.gateway4)],
    }, eth0Rt(world, pod, dir));
    await assert.rejects(bad.add(), (err: unknown) => {
      assert.ok(err instanceof PluginError, String(err));
      assert.equal(err.plugin, "macvlan");
      assert.equal(err.error.code, 999, err.message);
      assert.match(err.error.msg, /Link not found/);
      return true;
    });
  },
  { coordinator: false },
);

// 0.3.1: libcni refuses CHECK and sends DEL without prevResult (libcni before 0.4.0), so
// DEL must clean the node from CNI_CONTAINERID alone.
for (const version of ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]) {
  chainTest(
    gate(
      `[${version}] macvlan+static then coordinator: ADD, CHECK of the chain (from 0.4.0), traffic, DEL leaves the node as it was`,
      version,
    ),
    async (world, dir, pod) => {
      const containerId = randomId();
      const hostVeth = `veth${containerId.slice(0, 11)}`;
      const list = underlayList(version);
      const chain = runChain(list, {
        ...eth0Rt(world, pod, dir, containerId),
        args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=a1",
      });
      const nodeBefore = await readback(world.node);

      const result = await chain.add();
      assertResultShape(result, version, `${POD_IP}/16`);
      assert.equal(
        resultInterface(result, "eth0")?.mac,
        await macOf(pod, "eth0"),
        "result MAC of eth0 = the live MAC",
      );

      // Pod: exactly the state of underlay example 1 (docs/network.md).
      const p = await readback(pod);
      const hostMac = await macOf(world.node, hostVeth);
      const podVethMac = await macOf(pod, "veth0");
      assert.deepEqual(
        normAll(p.routes4),
        normAll([
          `default via ${WORLD.nodeIp4} dev veth0 table 100 src ${POD_IP}`,
          `${WORLD.nodeIp4} dev veth0 table 101 scope link src ${POD_IP}`,
          `default via ${WORLD.gateway4} dev eth0`,
          `10.6.0.0/16 dev eth0 proto kernel scope link src ${POD_IP}`,
          `${WORLD.nodeIp4} dev veth0 scope link src ${POD_IP}`,
          `10.233.0.0/18 via ${WORLD.nodeIp4} dev veth0 src ${POD_IP}`,
          `10.233.64.0/18 via ${WORLD.nodeIp4} dev veth0 src ${POD_IP}`,
          `${HIJACK_IP} via ${WORLD.nodeIp4} dev veth0 src ${POD_IP}`,
        ]),
        "pod IPv4 routes (all tables)",
      );
      assert.deepEqual(p.routes6, [], "an IPv4 pod gets no IPv6 routes");
      assert.deepEqual(
        normAll(p.rules4),
        normAll([
          "0: from all lookup local",
          "1000: from all fwmark 0x1 lookup 100",
          "32766: from all lookup main",
          "32767: from all lookup default",
        ]),
      );
      assert.deepEqual(normAll(p.neigh), [
        `${WORLD.nodeIp4} dev veth0 lladdr ${hostMac} PERMANENT`,
      ]);
      const veth0 = p.links.find((l) => l.startsWith("veth0 "));
      assert.match(
        veth0 ?? "",
        /^veth0 kind=veth mac=\S+ mtu=1500 txqlen=0 flags=BROADCAST,LOWER_UP,MULTICAST,UP$/,
      );
      for (
        const rule of [
          "-A PREROUTING -i veth0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff",
          "-A PREROUTING -m mark --mark 0x1 -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff",
          "-A OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff",
        ]
      ) {
        assert.ok(
          p.iptables.map(norm).includes(rule),
          `pod mangle rule missing: ${rule}\n${p.iptables.join("\n")}`,
        );
      }

      // Node: only the host veth, its table-500 route, the neighbour and the shared rule.
      const nodeAfter = await readback(world.node);
      assert.deepEqual(nodeChanges(nodeBefore, nodeAfter), {
        links: {
          added: [
            `${hostVeth} kind=veth mac=${hostMac} mtu=1500 txqlen=0 flags=BROADCAST,LOWER_UP,MULTICAST,UP`,
          ],
          removed: [],
        },
        routes4: { added: [`${POD_IP} dev ${hostVeth} table 500 scope link`], removed: [] },
        rules4: { added: [SHARED_HOST_RULE], removed: [] },
        neigh: { added: [`${POD_IP} dev ${hostVeth} lladdr ${podVethMac} PERMANENT`], removed: [] },
      });
      assert.equal(world.node.sysctl(`net.ipv6.conf.${hostVeth}.accept_ra`), "0");

      if (version === "0.3.1") {
        await assert.rejects(chain.check(), /does not support the CHECK command/);
      } else {
        await chain.check();
      }

      // Traffic: the paths a user relies on.
      assert.match(
        await routeGet(pod, [SERVICE_IP]),
        new RegExp(`via ${WORLD.nodeIp4} dev veth0 src ${POD_IP}`),
      );
      assert.match(await routeGet(pod, [WORLD.gateway4]), /dev eth0 /);
      await ping(pod, WORLD.nodeIp4, "pod -> node through veth0");
      await ping(pod, SERVICE_IP, "pod -> service address on the node");
      await ping(pod, HIJACK_IP, "pod -> hijacked address on the node");
      await ping(pod, WORLD.gateway4, "pod -> gateway through eth0");
      await ping(world.gw, POD_IP, "gateway -> pod underlay IP");
      await ping(world.node, POD_IP, "node -> pod through the host veth");

      await chain.del();
      const links = await ipJson<IpLink[]>(pod, ["link", "show"]);
      assert.deepEqual(links.map((l) => l.ifname), ["lo"], "only lo is left in the pod");
      assertNodeClean(nodeBefore, await readback(world.node), "after DEL");

      // DEL again, and DEL as ctr sends it (empty CNI_NETNS): both succeed.
      await chain.del();
      await runChain(list, { ...chain.rt, netns: "" }).del();
      assertNodeClean(nodeBefore, await readback(world.node), "after repeated DELs");
    },
  );
}

chainTest(
  gate(
    "[1.0.0] dual-stack macvlan+static then coordinator: IPv4 and IPv6 paths, CHECK, clean DEL",
    "1.0.0",
  ),
  async (world, dir, pod) => {
    await world.addServiceAddress(`${SERVICE_IP6}/128`);
    const containerId = randomId();
    const hostVeth = `veth${containerId.slice(0, 11)}`;
    const list: Conflist = {
      cniVersion: "1.0.0",
      name: "macvlan-underlay",
      plugins: [
        {
          type: "macvlan",
          master: WORLD.uplink,
          mode: "bridge",
          ipam: {
            type: "static",
            addresses: [
              { address: `${POD_IP}/16`, gateway: WORLD.gateway4 },
              { address: `${POD_IP6}/64`, gateway: WORLD.gateway6 },
            ],
            routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }],
          },
        },
        coordinatorConf({
          serviceCIDR: ["10.233.0.0/18", "fd00:10:233::/116"],
          overlayPodCIDR: ["10.233.64.0/18", "fd00:10:233:64::/64"],
        }),
      ],
    };
    const chain = runChain(list, eth0Rt(world, pod, dir, containerId));
    const nodeBefore = await readback(world.node);
    const result = await chain.add();
    assert.deepEqual(
      (result.ips as Json[]).map((i) => i.address).sort(),
      [`${POD_IP}/16`, `${POD_IP6}/64`],
    );
    await chain.check();

    const p = await readback(pod);
    const routes6 = normAll(p.routes6);
    for (
      const line of [
        `${WORLD.nodeIp6} dev veth0 metric 1024`,
        `${WORLD.nodeIp6} dev veth0 table 101 metric 1024`,
        `default via ${WORLD.nodeIp6} dev veth0 table 100 metric 1024`,
        `fd00:10:233::/116 via ${WORLD.nodeIp6} dev veth0 metric 1024`,
        `fd00:10:233:64::/64 via ${WORLD.nodeIp6} dev veth0 metric 1024`,
      ]
    ) {
      assert.ok(routes6.includes(line), `pod IPv6 route missing: ${line}\n${routes6.join("\n")}`);
    }
    assert.ok(
      normAll(p.rules6).includes("1000: from all fwmark 0x1 lookup 100"),
      p.rules6.join("\n"),
    );
    const hostMac = await macOf(world.node, hostVeth);
    assert.ok(
      normAll(p.neigh).includes(`${WORLD.nodeIp6} dev veth0 lladdr ${hostMac} PERMANENT`),
      p.neigh.join("\n"),
    );
    const node = nodeChanges(nodeBefore, await readback(world.node));
    assert.ok(
      node.routes6?.added.includes(`${POD_IP6} dev ${hostVeth} table 500 metric 1024`),
      JSON.stringify(node),
    );
    assert.ok(node.rules6?.added.includes(SHARED_HOST_RULE), JSON.stringify(node));

    assert.match(await routeGet(pod, [SERVICE_IP6]), new RegExp(`via ${WORLD.nodeIp6} dev veth0`));
    await ping(pod, WORLD.nodeIp6, "pod -> node IPv6 through veth0");
    await ping(pod, SERVICE_IP6, "pod -> IPv6 service address on the node");
    await ping(pod, WORLD.gateway6, "pod -> IPv6 gateway through eth0");
    await ping(world.gw, POD_IP6, "gateway -> pod IPv6");
    await ping(pod, SERVICE_IP, "pod -> IPv4 service address on the node");
    await ping(world.gw, POD_IP, "gateway -> pod IPv4");

    await chain.del();
    assertNodeClean(nodeBefore, await readback(world.node), "after DEL");
  },
);

chainTest(
  gate(
    "[1.0.0] podMACPrefix chain: the result carries the new MAC and CHECK of the chain passes",
    "1.0.0",
  ),
  async (world, dir, pod) => {
    const list = underlayList("1.0.0", { podMACPrefix: "0a:1b" });
    const chain = runChain(list, eth0Rt(world, pod, dir));
    const nodeBefore = await readback(world.node);
    const result = await chain.add();
    // podMACPrefix: prefix + the four octets of 10.6.212.241.
    assert.equal(await macOf(pod, "eth0"), "0a:1b:0a:06:d4:f1");
    assert.equal(resultInterface(result, "eth0")?.mac, "0a:1b:0a:06:d4:f1");
    await chain.check();
    await ping(world.gw, POD_IP, "gateway -> pod with the new MAC");
    await ping(pod, WORLD.nodeIp4, "pod -> node through veth0");
    await chain.del();
    assertNodeClean(nodeBefore, await readback(world.node), "after DEL");
  },
);

chainTest(
  gate(
    "[1.0.0] overlay: ptp eth0 without coordinator, macvlan net1 + coordinator (the overlay example of docs/network.md)",
    "1.0.0",
  ),
  async (world, dir, pod) => {
    const containerId = randomId();
    const rt = { containerId, netns: pod.path, cniPath: [dir.path], hostNetns: world.node };
    const overlay = runChain({
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
    }, { ...rt, ifname: "eth0" });
    const underlay = runChain(underlayList("1.0.0"), { ...rt, ifname: "net1" });
    const nodeBefore = await readback(world.node);

    await overlay.add();
    const [ptpPeer] = await ipJson<IpLink[]>(pod, ["link", "show", "dev", "eth0"]);
    const hostLinks = await ipJson<IpLink[]>(world.node, ["link", "show"]);
    const ptpVeth = hostLinks.find((l) => l.ifindex === ptpPeer?.link_index);
    assert.ok(ptpVeth, "the ptp host veth");
    const podEth0Mac = await macOf(pod, "eth0");

    await underlay.add();
    await overlay.check();
    await underlay.check();

    const p = await readback(pod);
    const routes = normAll(p.routes4);
    const has = (line: string) =>
      assert.ok(routes.includes(line), `pod route missing: ${line}\n${routes.join("\n")}`);
    has("default via 10.233.100.1 dev eth0");
    has("default via 10.233.100.1 dev eth0 table 100");
    has(`default via ${WORLD.gateway4} dev net1 table 101`);
    has(`${WORLD.nodeIp4} dev eth0 scope link src 10.233.100.2`);
    has("10.233.0.0/18 via 10.233.100.1 dev eth0 src 10.233.100.2");
    has("10.233.64.0/18 via 10.233.100.1 dev eth0 src 10.233.100.2");
    has(`${HIJACK_IP} via 10.233.100.1 dev eth0 src 10.233.100.2`);
    assert.ok(
      !routes.includes(`default via ${WORLD.gateway4} dev net1`),
      "net1's default left main",
    );
    assert.equal(p.links.some((l) => l.startsWith("veth0 ")), false, "no veth0 in overlay mode");
    const rules = p.rules4.map(norm);
    for (const r of ["from 10.233.100.2 lookup 100", `from ${POD_IP} lookup 101`]) {
      assert.ok(
        rules.some((l) => l.endsWith(`: ${r}`)),
        `pod rule missing: ${r}\n${rules.join("\n")}`,
      );
    }
    const neigh = normAll(p.neigh);
    assert.ok(
      neigh.includes(`${WORLD.nodeIp4} dev eth0 lladdr ${ptpVeth.address} PERMANENT`),
      neigh.join("\n"),
    );
    assert.deepEqual(p.iptables, [], "no mangle rules in overlay mode");

    const nodeAfter = nodeChanges(nodeBefore, await readback(world.node));
    assert.ok(
      nodeAfter.routes4?.added.includes(`${POD_IP} dev ${ptpVeth.ifname} table 500 scope link`),
      JSON.stringify(nodeAfter),
    );
    assert.ok(
      nodeAfter.neigh?.added.includes(
        `${POD_IP} dev ${ptpVeth.ifname} lladdr ${podEth0Mac} PERMANENT`,
      ),
      JSON.stringify(nodeAfter),
    );

    assert.match(await routeGet(pod, [WORLD.gateway4, "from", POD_IP]), /dev net1 table 101/);
    assert.match(
      await routeGet(pod, [SERVICE_IP]),
      /via 10\.233\.100\.1 dev eth0 src 10\.233\.100\.2/,
    );
    await ping(pod, WORLD.nodeIp4, "pod -> node through eth0");
    await ping(pod, SERVICE_IP, "pod -> service address through eth0");
    await ping(world.gw, POD_IP, "gateway -> pod net1");

    // DEL of net1 must take the node-side traces for net1 with it, although
    // the overlay veth stays (a defect of the original, issue 4).
    await underlay.del();
    const afterNet1 = nodeChanges(nodeBefore, await readback(world.node));
    assert.ok(
      !(afterNet1.routes4?.added ?? []).some((l) => l.startsWith(`${POD_IP} `)),
      `table-500 route for net1 left: ${JSON.stringify(afterNet1)}`,
    );
    assert.ok(
      !(afterNet1.neigh?.added ?? []).some((l) => l.startsWith(`${POD_IP} `)),
      `neighbour for net1 left: ${JSON.stringify(afterNet1)}`,
    );
    await overlay.del();
    assertNodeClean(nodeBefore, await readback(world.node), "after both DELs");
  },
);

chainTest(
  gate(
    "[1.0.0] DEL of the chain after the netns path was removed while the netns still lives: the node is cleaned",
    "1.0.0",
  ),
  async (world, dir, pod) => {
    const containerId = randomId();
    const hostVeth = `veth${containerId.slice(0, 11)}`;
    const list = underlayList("1.0.0");
    const chain = runChain(list, eth0Rt(world, pod, dir, containerId));
    const nodeBefore = await readback(world.node);
    await chain.add();
    // A process keeps the netns alive after its /var/run/netns path is gone
    // (a runtime that unmounted it early): the kernel keeps the veth pair.
    await using _pin = await pinNetns(pod.path);
    await pod.destroy();
    assert.ok(
      (await ipJson<IpLink[]>(world.node, ["link", "show"])).some((l) => l.ifname === hostVeth),
      "the host veth lives while the netns does",
    );
    await chain.del();
    const links = await ipJson<IpLink[]>(world.node, ["link", "show"]);
    assert.ok(
      !links.some((l) => l.ifname === hostVeth),
      `host veth ${hostVeth} left on the node`,
    );
    assertNodeClean(nodeBefore, await readback(world.node), "after DEL with a stale netns path");
  },
);
