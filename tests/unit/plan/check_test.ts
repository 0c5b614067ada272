/**
 * plan/check.ts: CHECK's differences between an ADD's record and small fact
 * objects. No root.
 */

import assert from "node:assert/strict";
import type { HostFacts, PodFacts } from "../../../mod/kernel/facts.ts";
import type { AttachmentState } from "../../../mod/kernel/state.ts";
import {
  checkDifferences,
  type CheckFacts,
  type CheckWant,
  mangleFamilies,
  recordedRoutes,
  rpFilterKeys,
} from "../../../mod/plan/check.ts";
import { mangleRules } from "../../../mod/plan/underlay.ts";

const POD_MAC = "02:00:00:00:00:01";
const HOST_MAC = "02:00:00:00:00:02";

function state(over: Partial<AttachmentState> = {}): AttachmentState {
  return {
    version: 1,
    network: "net",
    containerId: "c0ffee",
    ifname: "eth0",
    netns: "/var/run/netns/x",
    mode: "underlay",
    firstInvoke: true,
    hostVeth: "vethc0ffee",
    hostVethCreated: true,
    podVeth: "veth0",
    podVethMac: POD_MAC,
    hostVethMac: HOST_MAC,
    hostRuleTable: 500,
    table: 101,
    podIPs: ["10.0.0.5"],
    nodeIPs: ["10.0.0.1"],
    podRules: [{ family: 4, priority: 999, src: "10.0.0.5", table: 101 }],
    ...over,
  };
}

/** The facts of a pod and node exactly as {@linkcode state} records them. */
function facts(): CheckFacts {
  const pod: PodFacts = {
    links: [
      { ifindex: 2, ifname: "eth0", flags: ["UP"], mtu: 1500, address: "02:aa:00:00:00:05" },
      { ifindex: 3, ifname: "veth0", flags: ["UP"], mtu: 1500, address: POD_MAC, link_index: 9 },
    ],
    addrs: [],
    routes: [
      { dst: "10.0.0.1", dev: "veth0", table: "101" },
      { dst: "10.0.0.1", dev: "veth0" },
      { dst: "default", dev: "veth0", table: "100" },
    ],
    rules4: [
      { priority: 999, src: "10.0.0.5", table: "101" },
      { priority: 1000, src: "all", fwmark: "0x1", table: "100" },
    ],
    rules6: [],
    neigh: [{ dst: "10.0.0.1", dev: "veth0", lladdr: HOST_MAC, state: ["PERMANENT"] }],
  };
  const host: HostFacts = {
    links: [{ ifindex: 9, ifname: "vethc0ffee", flags: ["UP"], mtu: 1500, address: HOST_MAC }],
    routes: [{ dst: "10.0.0.5", dev: "vethc0ffee", table: "500" }],
    rules4: [{ priority: 1000, src: "all", table: "500" }],
    rules6: [],
    neigh: [{ dst: "10.0.0.5", dev: "vethc0ffee", lladdr: POD_MAC, state: ["PERMANENT"] }],
  };
  return {
    pod,
    host,
    mangle: new Map([[4, mangleRules("veth0")]]),
    sysctls: new Map(rpFilterKeys("eth0").map((k) => [k, "0"])),
  };
}

const want = (s = state(), over: Partial<CheckWant> = {}): CheckWant => ({
  state: s,
  ifname: "eth0",
  txQueueLen: 0,
  podRPFilter: 0,
  ...over,
});

Deno.test("checkDifferences() finds nothing when the facts are what ADD made", () => {
  assert.deepEqual(checkDifferences(want(), facts()), []);
});

Deno.test("checkDifferences() lists every difference, in order and wording", () => {
  const s = state({ mac: "02:bb:00:00:00:05" });
  const f = facts();
  f.pod.links[0] = { ...f.pod.links[0]!, flags: [], txqlen: 500 };
  f.pod.links[1] = { ...f.pod.links[1]!, address: "02:cc:00:00:00:01", link_index: 7 };
  f.host.routes = [];
  f.host.neigh = [{ dst: "10.0.0.5", dev: "vethc0ffee", lladdr: POD_MAC, state: ["STALE"] }];
  f.host.rules4 = [];
  f.pod.routes = [];
  f.pod.neigh = [];
  f.pod.rules4 = [];
  f.mangle = new Map([[4, mangleRules("veth0").slice(1)]]);
  f.sysctls = new Map([["net.ipv4.conf.all.rp_filter", "1"], [
    "net.ipv4.conf.eth0.rp_filter",
    undefined,
  ]]);
  assert.deepEqual(checkDifferences(want(s, { txQueueLen: 1000 }), f), [
    `"eth0" is down`,
    `"eth0" MAC "02:aa:00:00:00:05" is not "02:bb:00:00:00:05"`,
    `"eth0" txqueuelen 500 is not 1000`,
    `"veth0" MAC "02:cc:00:00:00:01" is not "${POD_MAC}"`,
    `"vethc0ffee" is not the peer of "veth0"`,
    `node route "10.0.0.5" dev "vethc0ffee" table 500`,
    `node neighbour "10.0.0.5" lladdr "${POD_MAC}" dev "vethc0ffee"`,
    `node IPv4 rule "1000: from all lookup 500"`,
    `pod route "10.0.0.1" dev "veth0" table 101`,
    `pod route "10.0.0.1" dev "veth0"`,
    `pod neighbour "10.0.0.1" lladdr "${HOST_MAC}" dev "veth0"`,
    `pod rule "999: from 10.0.0.5 lookup 101"`,
    `pod IPv4 rule "1000: from all fwmark 0x1 lookup 100"`,
    `pod iptables mangle rule "-A ${mangleRules("veth0")[0]}"`,
    `pod default route in table 100`,
    `pod sysctl "net.ipv4.conf.all.rp_filter" is 1, not 0`,
  ]);
});

Deno.test("checkDifferences() names missing interfaces", () => {
  const f = facts();
  f.pod.links = [];
  f.host.links = [];
  assert.deepEqual(checkDifferences(want(), f).slice(0, 3), [
    `interface "eth0"`,
    `pod interface "veth0"`,
    `node interface "vethc0ffee"`,
  ]);
});

Deno.test("checkDifferences() skips what the mode and configuration do not manage", () => {
  // An overlay later NIC: no veth MAC, main routes, reply path; no txqueuelen or rp_filter.
  const s = state({ mode: "overlay", firstInvoke: false, podRules: [] });
  const f = facts();
  f.pod.links[1] = { ...f.pod.links[1]!, address: "02:cc:00:00:00:01" };
  f.pod.routes = [{ dst: "10.0.0.1", dev: "veth0", table: "101" }];
  f.pod.neigh = [];
  f.pod.rules4 = [];
  f.mangle = new Map();
  f.sysctls = new Map([["net.ipv4.conf.all.rp_filter", "2"]]);
  assert.deepEqual(checkDifferences(want(s, { podRPFilter: -1 }), f), []);
});

Deno.test("checkDifferences() checks the IPv6 side of a dual-stack pod", () => {
  const s = state({ podIPs: ["10.0.0.5", "fd00::5"], podRules: [] });
  const f = facts();
  f.host.routes.push({ dst: "fd00::5", dev: "vethc0ffee", table: "500" });
  f.host.neigh.push({ dst: "fd00::5", dev: "vethc0ffee", lladdr: POD_MAC, state: ["PERMANENT"] });
  f.mangle = new Map([[4, mangleRules("veth0")], [6, []]]);
  assert.deepEqual(checkDifferences(want(s), f), [
    `node IPv6 rule "1000: from all lookup 500"`,
    `pod IPv6 rule "1000: from all fwmark 0x1 lookup 100"`,
    ...mangleRules("veth0").map((m) => `pod ip6tables mangle rule "-A ${m}"`),
  ]);
});

Deno.test("mangleFamilies() and rpFilterKeys() name what CHECK reads", () => {
  assert.deepEqual(mangleFamilies(state()), [4]);
  assert.deepEqual(mangleFamilies(state({ podIPs: ["fd00::5"] })), [6]);
  assert.deepEqual(mangleFamilies(state({ podIPs: ["10.0.0.5"], nodeIPs: ["fd00::1"] })), [4, 6]);
  assert.deepEqual(mangleFamilies(state({ firstInvoke: false })), []);
  assert.deepEqual(mangleFamilies(state({ mode: "overlay" })), []);
  assert.deepEqual(rpFilterKeys("net1"), [
    "net.ipv4.conf.all.rp_filter",
    "net.ipv4.conf.default.rp_filter",
    "net.ipv4.conf.net1.rp_filter",
  ]);
});

Deno.test("recordedRoutes() records the pod batch's routes as `ip -j route` prints them", () => {
  const lines = [
    { args: ["route", "add", "10.0.0.1/32", "dev", "veth0", "scope", "link", "table", "101"] },
    { args: ["route", "add", "10.233.0.0/18", "via", "10.0.0.1", "dev", "veth0", "src", "x"] },
    { args: ["route", "replace", "0.0.0.0/0", "via", "10.0.0.1", "dev", "veth0", "table", "100"] },
    { args: ["route", "add", "fd00::1/128", "dev", "veth0"] },
    { args: ["route", "del", "default", "dev", "eth0"] },
    { args: ["rule", "add", "from", "10.0.0.5", "table", "101"] },
  ];
  assert.deepEqual(recordedRoutes(lines), [
    { dst: "10.0.0.1", dev: "veth0", table: "101", family: 4 },
    { dst: "10.233.0.0/18", via: "10.0.0.1", dev: "veth0", table: "main", family: 4 },
    { dst: "default", via: "10.0.0.1", dev: "veth0", table: "100", family: 4 },
    { dst: "fd00::1", dev: "veth0", table: "main", family: 6 },
  ]);
});

Deno.test("checkDifferences() compares a version 2 record: routes, sysctls, MTU, prefix", () => {
  const s = state({
    version: 2,
    pod: {
      routes: [
        { dst: "10.233.0.0/18", via: "10.0.0.1", dev: "veth0", table: "main", family: 4 },
        { dst: "fd00:10::/64", via: "fd00::1", dev: "veth0", table: "main", family: 6 },
      ],
      sysctls: [
        { key: "net.ipv4.conf.eth0.rp_filter", value: 0, optional: true },
        { key: "net.ipv4.conf.net9.rp_filter", value: 0, optional: true },
      ],
      vethMTU: 1480,
      txQueueLen: 0,
      macPrefix: "0a:1b",
    },
  });
  const f = facts();
  f.sysctls = new Map([["net.ipv4.conf.eth0.rp_filter", "1"]]);
  assert.deepEqual(checkDifferences(want(s), f), [
    `"veth0" MTU 1500 is not 1480`,
    `"eth0" MAC "02:aa:00:00:00:05" lacks the prefix "0a:1b"`,
    `pod route "10.233.0.0/18 via 10.0.0.1 dev veth0"`,
    `pod sysctl "net.ipv4.conf.eth0.rp_filter" is 1, not 0`,
  ]);
  // The IPv6 route once IPv6 routes are read; and the neighbour against the peer's MAC.
  f.routes6 = [];
  f.host.links[0] = { ...f.host.links[0]!, address: "02:00:00:00:00:77" };
  const d = checkDifferences(want(s), f);
  assert.ok(d.includes(`pod route "fd00:10::/64 via fd00::1 dev veth0"`), d.join("\n"));
  assert.ok(d.includes(`"vethc0ffee" MAC "02:00:00:00:00:77" is not "${HOST_MAC}"`), d.join("\n"));
  assert.ok(d.some((x) => x.includes("is not the MAC of")), d.join("\n"));
});
