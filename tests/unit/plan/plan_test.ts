/**
 * The planners on captured `ip -j` facts (tests/testdata/ip-json/), read
 * through the kernel's checked parsers; their intents compared as the
 * translator's `ip -batch` lines. No root needed.
 */

import assert from "node:assert/strict";
import type { CoordinatorConfig } from "../../../mod/config/types.ts";
import type { PodFacts } from "../../../mod/kernel/facts.ts";
import { gatewaysOf, planPod } from "../../../mod/plan/pod.ts";
import { findDefaultRouteNic } from "../../../mod/plan/policy.ts";
import { nodeIpsForPod, planNode } from "../../../mod/plan/node.ts";
import { macFromPrefix, podSysctls, randomMac } from "../../../mod/plan/tune.ts";
import {
  type AddView,
  familyFromAddrs,
  hostVethName,
  linkAddrs,
  resolveMode,
} from "../../../mod/plan/mode.ts";
import { lines as text, loadNodeReads, loadPodFacts as load } from "../../_helpers/facts.ts";

function conf(over: Partial<CoordinatorConfig> = {}): CoordinatorConfig {
  return {
    cniVersion: "1.0.0",
    name: "net",
    type: "coordinator",
    mode: "auto",
    podDefaultCniNic: "eth0",
    podDefaultRouteNic: "",
    tunePodRoutes: true,
    overlayPodCIDR: ["10.233.64.0/18"],
    serviceCIDR: ["10.233.0.0/18"],
    hijackCIDR: [],
    policyRoutes: [],
    hostRuleTable: 500,
    podRPFilter: 0,
    hostRPFilter: undefined,
    txQueueLen: 0,
    podMACPrefix: "",
    vethLinkAddress: "",
    vethMTU: 1500,
    detectIPConflict: false,
    detectGateway: false,
    detectOptions: { retries: 3, intervalMs: 10, timeoutMs: 100 },
    logOptions: {
      logLevel: "debug",
      logFile: "/var/log/x.log",
      logMaxSize: 0,
      logMaxAge: 0,
      logMaxCount: 0,
    },
    ...over,
  };
}

function view(
  c: CoordinatorConfig,
  facts: PodFacts,
  ifname: string,
  extra: Partial<AddView> = {},
): AddView {
  const family = familyFromAddrs(linkAddrs(facts.addrs, ifname), ifname);
  const current = linkAddrs(facts.addrs, ifname, family);
  return {
    conf: c,
    containerId: "7f3c0d5e9a1b2c3d",
    ifname,
    netns: "/var/run/netns/pod",
    facts,
    family,
    decision: resolveMode(c, ifname, facts, current),
    current,
    allPodIps: facts.addrs.filter((a) => a.ifname !== "lo").flatMap((a) =>
      linkAddrs(facts.addrs, a.ifname, family)
    ),
    podVeth: "veth0",
    podVethMac: "02:00:00:00:00:01",
    hostVeth: hostVethName("7f3c0d5e9a1b2c3d"),
    ...extra,
  };
}

Deno.test("hostVethName() takes 11 characters of the container ID", () => {
  assert.equal(hostVethName("7f3c0d5e9a1b2c3d4e"), "veth7f3c0d5e9a1");
  assert.equal(hostVethName("abc"), "vethabc");
});

Deno.test("randomMac() is locally administered unicast", () => {
  assert.equal(randomMac(Uint8Array.of(0xff, 1, 2, 3, 4, 5)), "fe:01:02:03:04:05");
  assert.equal(randomMac(Uint8Array.of(0x01, 1, 2, 3, 4, 5)), "02:01:02:03:04:05");
  for (let i = 0; i < 50; i++) assert.match(randomMac(), /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/);
});

Deno.test("macFromPrefix() matches the spec examples, also with leading zero bytes", () => {
  assert.equal(macFromPrefix("0a:1b", "10.6.212.241"), "0a:1b:0a:06:d4:f1");
  assert.equal(macFromPrefix("0a:1b", "fd00:10:6::f1"), "0a:1b:00:00:00:f1");
  assert.equal(macFromPrefix("0a:1b", "fd00::10:6:d4f1"), "0a:1b:00:06:d4:f1");
  assert.equal(macFromPrefix("0A:1B", "0.0.0.7"), "0a:1b:00:00:00:07");
});

Deno.test("resolveMode() underlay first NIC: table 101", () => {
  const facts = load("underlay_v4_pod.json");
  const d = resolveMode(conf(), "eth0", facts, ["10.6.212.241"]);
  assert.deepEqual(d, { mode: "underlay", firstInvoke: true, table: 101, vethExists: false });
});

Deno.test("resolveMode() overlay first secondary NIC: table 101, first invoke", () => {
  const facts = load("overlay_ptp_net1_pod.json");
  const d = resolveMode(conf(), "net1", facts, ["10.6.212.241"]);
  assert.deepEqual(d, { mode: "overlay", firstInvoke: true, table: 101, vethExists: false });
});

Deno.test("resolveMode() underlay later NIC reuses table 101 (underlay example 3b, docs/network.md); rules of others shift it", () => {
  const facts = load("underlay_dual_net1_pod.json");
  const d = resolveMode(conf(), "net1", facts, ["10.7.212.5", "fd00:10:7::5"]);
  assert.deepEqual(d, { mode: "underlay", firstInvoke: false, table: 101, vethExists: true });
  // net1 took 101: net2 gets 102, whatever the number of links (docs/network.md, weaknesses of the original, 8).
  const withRule: PodFacts = {
    ...facts,
    rules4: [...facts.rules4, { priority: 999, src: "10.7.212.5", table: "101" }],
  };
  assert.equal(resolveMode(conf(), "net2", withRule, ["10.8.0.5"]).table, 102);
  // A re-run of net1 keeps its own table.
  assert.equal(resolveMode(conf(), "net1", withRule, ["10.7.212.5"]).table, 101);
});

Deno.test("resolveMode() rejects mode conflicts with code 7", () => {
  const under = load("underlay_v4_pod.json");
  assert.throws(() => resolveMode(conf({ mode: "overlay" }), "eth0", under, []), { code: 7 });
  assert.throws(() => resolveMode(conf({ mode: "underlay" }), "net1", under, []), {
    code: 7,
    message: /auxiliary "veth0"/,
  });
  const dual = load("underlay_dual_net1_pod.json");
  assert.throws(() => resolveMode(conf({ mode: "overlay" }), "net1", dual, []), { code: 7 });
});

Deno.test("nodeIpsForPod() takes route sources, then non-excluded node addresses", () => {
  const reads = loadNodeReads("underlay_v4_node_reads.json");
  assert.deepEqual(nodeIpsForPod([reads.routeGet[0]], reads.addrs, "v4"), ["10.6.212.101"]);
  assert.deepEqual(nodeIpsForPod([undefined], reads.addrs, "dual"), [
    "10.6.212.101",
    "fd00:6::101",
  ]);
  // kube-ipvs0 holds 10.233.0.10 in this capture: excluded.
  assert.ok(!nodeIpsForPod([], reads.addrs, "v4").includes("10.233.0.10"));
});

Deno.test("planNode() underlay first invoke: veth with explicit MACs and txqueuelen 0, rule, route, neighbour", () => {
  const c = conf();
  const v = view(c, load("underlay_v4_pod.json"), "eth0");
  const h = planNode(v, { hostMac: "02:00:00:00:00:02" });
  assert.deepEqual(h.reads, {
    routeGets: [{ kind: "route-get", dst: "10.6.212.241" }],
    nodeAddrs: { kind: "addrs" },
  });
  assert.deepEqual(text(h.changes), [
    "link add veth7f3c0d5e9a1 address 02:00:00:00:00:02 mtu 1500 txqueuelen 0 type veth peer name veth0 address 02:00:00:00:00:01 mtu 1500 txqueuelen 0 netns /var/run/netns/pod",
    "link set dev veth7f3c0d5e9a1 up",
    "rule add table 500 pref 1000",
    "route replace 10.6.212.241/32 dev veth7f3c0d5e9a1 scope link table 500",
    "neigh flush to 10.6.212.241 nud all",
    "neigh replace 10.6.212.241 lladdr 02:00:00:00:00:01 dev veth7f3c0d5e9a1 nud permanent",
  ]);
  assert.deepEqual(h.changes[2], {
    kind: "rule",
    op: "add",
    family: 4,
    priority: 1000,
    table: 500,
    tolerate: "exists",
  });
});

Deno.test("planPod() underlay IPv4 first invoke = underlay example 1 of docs/network.md", () => {
  const c = conf({ hijackCIDR: ["169.254.20.10"] });
  const v = view(c, load("underlay_v4_pod.json"), "eth0");
  const p = planPod(v, ["10.6.212.101"], "02:00:00:00:00:02");
  assert.deepEqual(text(p.changes), [
    "link set dev veth0 up",
    "link set dev eth0 up",
    "route add 10.6.212.101/32 dev veth0 scope link src 10.6.212.241 table 101",
    "route add 10.6.212.101/32 dev veth0 scope link src 10.6.212.241",
    "route add 10.233.64.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
    "route add 10.233.0.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
    "route add 169.254.20.10/32 via 10.6.212.101 dev veth0 src 10.6.212.241",
    "rule add fwmark 0x1 table 100 pref 1000",
    "route replace 0.0.0.0/0 via 10.6.212.101 dev veth0 src 10.6.212.241 table 100",
    "neigh replace 10.6.212.101 lladdr 02:00:00:00:00:02 dev veth0 nud permanent",
  ]);
  assert.deepEqual(p.connmark.map((r) => `${r.family} ${r.role}`), [
    "4 mark",
    "4 save",
    "4 restore",
  ]);
  assert.ok(!p.changes.some((c) => c.kind === "rule" && c.family === 6), "no IPv6 rule");
  assert.deepEqual(p.rules, [], "no tuning on the first underlay NIC");
});

Deno.test("planPod() skips CIDRs of a missing family with a warning, applies txqueuelen in the pod", () => {
  const c = conf({
    serviceCIDR: ["10.233.0.0/18", "fd00:10:233::/116"],
    txQueueLen: 2000,
    vethLinkAddress: "169.254.100.1",
  });
  const v = view(c, load("underlay_v4_pod.json"), "eth0");
  const p = planPod(v, ["10.6.212.101"], "02:00:00:00:00:02");
  assert.ok(text(p.changes).includes("link set dev eth0 txqueuelen 2000"));
  assert.ok(text(p.changes).includes("addr add 169.254.100.1/32 dev veth0"));
  assert.deepEqual(p.warnings, [
    'Hijack CIDR "fd00:10:233::/116" skipped: no IPv6 node address for the pod',
  ]);
});

Deno.test("planPod() overlay first NIC = the overlay example of docs/network.md: rules 32765/32764, moves net1's default, copies eth0's", () => {
  const facts = load("overlay_ptp_net1_pod.json");
  const c = conf({ hijackCIDR: ["169.254.20.10/32"] });
  const v = view(c, facts, "net1", { podVeth: "eth0" });
  const p = planPod(v, ["10.233.100.1", "10.6.212.101"], "02:00:00:00:00:03");
  assert.deepEqual(p.rules, [
    { family: 4, priority: 32765, src: "10.6.212.241", table: 101 },
    { family: 4, priority: 32764, src: "10.233.100.2", table: 100 },
  ]);
  const t = text(p.changes);
  assert.ok(t.includes("route add 0.0.0.0/0 via 10.233.100.1 dev eth0 table 100"), t.join("\n"));
  assert.ok(t.includes("route add 0.0.0.0/0 via 10.6.0.1 dev net1 table 101"));
  assert.ok(t.includes("route del 0.0.0.0/0 via 10.6.0.1 dev net1 table main"));
  assert.ok(t.includes("route add 10.6.0.0/16 dev net1 scope link src 10.6.212.241 table 101"));
  assert.ok(
    t.includes("neigh replace 10.233.100.1 lladdr 02:00:00:00:00:03 dev eth0 nud permanent"),
  );
  assert.ok(t.includes("route add 10.233.0.0/18 via 10.233.100.1 dev eth0 src 10.233.100.2"));
  assert.deepEqual(p.connmark, []);
});

Deno.test("planPod() overlay with podDefaultRouteNic=net1 moves eth0's default into net1's table", () => {
  const facts = load("overlay_ptp_net1_pod.json");
  const v = view(conf({ podDefaultRouteNic: "net1" }), facts, "net1", { podVeth: "eth0" });
  const p = planPod(v, ["10.233.100.1"], "02:00:00:00:00:03");
  assert.deepEqual(p.rules, [{ family: 4, priority: 32765, src: "10.233.100.2", table: 101 }]);
  const t = text(p.changes);
  assert.ok(t.includes("route add 0.0.0.0/0 via 10.233.100.1 dev eth0 table 101"));
  assert.ok(t.includes("route del 0.0.0.0/0 via 10.233.100.1 dev eth0 table main"));
  assert.ok(!t.some((l) => l.includes("table 100")), "no table-100 rule or route");
});

Deno.test("planPod() podDefaultRouteNic naming a NIC not attached yet keeps the default (docs/network.md, weaknesses of the original, 10)", () => {
  const facts = load("overlay_ptp_net1_pod.json");
  const v = view(conf({ podDefaultRouteNic: "net2" }), facts, "net1", { podVeth: "eth0" });
  const p = planPod(v, ["10.233.100.1"], "02:00:00:00:00:03");
  assert.match(p.warnings.join(), /"net2" is not in the pod yet/);
  assert.equal(p.rules[0]?.src, "10.6.212.241");
});

Deno.test("planPod() underlay later dual-stack NIC = underlay example 3b of docs/network.md (rules 999, ECMP nexthop moved)", () => {
  const facts = load("underlay_dual_net1_pod.json");
  const v = view(conf(), facts, "net1");
  const p = planPod(v, ["10.6.212.101", "fd00:6::101"], "02:00:00:00:00:02");
  assert.deepEqual(p.rules, [
    { family: 4, priority: 999, src: "10.7.212.5", table: 101 },
    { family: 6, priority: 999, src: "fd00:10:7::5", table: 101 },
  ]);
  const t = text(p.changes);
  assert.ok(t.includes("rule add from fd00:10:7::5 table 101 pref 999"), t.join("\n"));
  assert.ok(t.includes("route add ::/0 via fd00:10:7::1 dev net1 table 101"), t.join("\n"));
  assert.ok(t.includes("route del ::/0 via fd00:10:7::1 dev net1 table main"));
  assert.ok(t.includes("route add 0.0.0.0/0 via 10.7.0.1 dev net1 table 101"));
  assert.ok(
    t.includes("route add 10.233.0.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241 table 101"),
  );
  assert.ok(!t.some((l) => l.startsWith("neigh")), "pod neighbours only on the first invoke");
  assert.deepEqual(p.connmark, []);
});

Deno.test("findDefaultRouteNic() and gatewaysOf() see multipath nexthops", () => {
  const facts = load("underlay_dual_net1_pod.json");
  assert.equal(findDefaultRouteNic(facts, "net1", "dual"), "eth0");
  assert.deepEqual(gatewaysOf(facts, "net1", "dual"), ["10.7.0.1", "fd00:10:7::1"]);
  assert.deepEqual(gatewaysOf(facts, "eth0", "v6"), ["fd00:6::1"]);
});

Deno.test("podSysctls() sets rp_filter where it takes effect and IPv6 on for v6", () => {
  assert.deepEqual(podSysctls(conf(), "dual", ["lo", "eth0"]).map((s) => `${s.key}=${s.value}`), [
    "net.ipv6.conf.all.disable_ipv6=0",
    "net.ipv4.conf.all.rp_filter=0",
    "net.ipv4.conf.default.rp_filter=0",
    "net.ipv4.conf.eth0.rp_filter=0",
  ]);
  assert.deepEqual(podSysctls(conf({ podRPFilter: -1 }), "v4", ["eth0"]), []);
});
