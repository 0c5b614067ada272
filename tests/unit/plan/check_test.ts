/**
 * plan/check.ts: CHECK's differences between an ADD's record and small fact
 * objects, for records of every version. No root. (Whole commands against a
 * fake kernel, with records made by the planners: tests/unit/commands/.)
 */

import assert from "node:assert/strict";
import type { HostFacts, PodFacts } from "../../../mod/kernel/facts.ts";
import { parseRoutes } from "../../../mod/kernel/ip_json.ts";
import { mangleRuleText } from "../../../mod/kernel/iptables.ts";
import type { AttachmentState } from "../../../mod/kernel/state.ts";
import { checkDifferences, type CheckFacts, expectedOf } from "../../../mod/plan/check.ts";
import { connmarkRules } from "../../../mod/plan/underlay.ts";

const POD_MAC = "02:00:00:00:00:01";
const HOST_MAC = "02:00:00:00:00:02";
const CONF = { txQueueLen: 0, podRPFilter: 0 };

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
    routes: parseRoutes([
      { dst: "10.0.0.1", dev: "veth0", table: "101" },
      { dst: "10.0.0.1", dev: "veth0" },
      { dst: "default", dev: "veth0", table: "100" },
    ]),
    rules4: [
      { priority: 999, src: "10.0.0.5", table: "101" },
      { priority: 1000, src: "all", fwmark: "0x1", table: "100" },
    ],
    rules6: [],
    neigh: [{ dst: "10.0.0.1", dev: "veth0", lladdr: HOST_MAC, state: ["PERMANENT"] }],
  };
  const host: HostFacts = {
    links: [{ ifindex: 9, ifname: "vethc0ffee", flags: ["UP"], mtu: 1500, address: HOST_MAC }],
    routes: parseRoutes([{ dst: "10.0.0.5", dev: "vethc0ffee", table: "500" }]),
    rules4: [{ priority: 1000, src: "all", table: "500" }],
    rules6: [],
    neigh: [{ dst: "10.0.0.5", dev: "vethc0ffee", lladdr: POD_MAC, state: ["PERMANENT"] }],
  };
  const rp = ["all", "default", "eth0"].map((n) => `net.ipv4.conf.${n}.rp_filter`);
  return {
    pod,
    host,
    missingMangle: [],
    sysctls: new Map(rp.map((k) => [k, "0"])),
    nodeSysctls: new Map(),
  };
}

Deno.test("checkDifferences() finds nothing when the facts are what a version 1 record says", () => {
  assert.deepEqual(checkDifferences(expectedOf(state(), CONF), facts()), []);
});

Deno.test("checkDifferences() lists every difference once, in order and wording (version 1)", () => {
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
  f.missingMangle = connmarkRules("veth0", 4).slice(0, 1);
  f.sysctls = new Map([["net.ipv4.conf.all.rp_filter", "1"], [
    "net.ipv4.conf.eth0.rp_filter",
    undefined,
  ]]);
  assert.deepEqual(checkDifferences(expectedOf(s, { ...CONF, txQueueLen: 1000 }), f), [
    `"veth0" MAC "02:cc:00:00:00:01" is not "${POD_MAC}"`,
    `"vethc0ffee" is not the peer of "veth0"`,
    `node IPv4 rule "1000: from all lookup 500"`,
    `node route "10.0.0.5 dev vethc0ffee table 500"`,
    `node neighbour "10.0.0.5" lladdr "${POD_MAC}" dev "vethc0ffee"`,
    `"eth0" is down`,
    `"eth0" txqueuelen 500 is not 1000`,
    `"eth0" MAC "02:aa:00:00:00:05" is not "02:bb:00:00:00:05"`,
    `pod route "10.0.0.1 dev veth0 table 101"`,
    `pod route "10.0.0.1 dev veth0"`,
    `pod IPv4 rule "999: from 10.0.0.5 lookup 101"`,
    `pod IPv4 rule "1000: from all fwmark 0x1 lookup 100"`,
    `pod route "default dev veth0 table 100"`,
    `pod neighbour "10.0.0.1" lladdr "${HOST_MAC}" dev "veth0"`,
    `pod iptables mangle rule "-A ${mangleRuleText(connmarkRules("veth0", 4)[0]!)}"`,
    `pod sysctl "net.ipv4.conf.all.rp_filter" is 1, not 0`,
  ]);
});

Deno.test("checkDifferences() names missing interfaces", () => {
  const f = facts();
  f.pod.links = [];
  f.host.links = [];
  assert.deepEqual(checkDifferences(expectedOf(state(), CONF), f).slice(0, 3), [
    `pod interface "veth0"`,
    `node interface "vethc0ffee"`,
    `pod interface "eth0"`,
  ]);
});

Deno.test("checkDifferences() skips what the mode and configuration do not manage", () => {
  // An overlay later NIC: no veth MACs, no main routes, no reply path; no txqueuelen or rp_filter.
  const s = state({ mode: "overlay", firstInvoke: false, podRules: [] });
  const f = facts();
  f.pod.links[1] = { ...f.pod.links[1]!, address: "02:cc:00:00:00:01" };
  f.pod.routes = parseRoutes([{ dst: "10.0.0.1", dev: "veth0", table: "101" }]);
  f.pod.neigh = [];
  f.pod.rules4 = [];
  f.sysctls = new Map([["net.ipv4.conf.all.rp_filter", "2"]]);
  const want = expectedOf(s, { ...CONF, podRPFilter: -1 });
  assert.deepEqual(want.mangle, []);
  // The node neighbour names veth0's MAC as ADD recorded it; veth0's MAC changed since.
  f.host.neigh = [{ dst: "10.0.0.5", dev: "vethc0ffee", lladdr: POD_MAC, state: ["PERMANENT"] }];
  assert.deepEqual(checkDifferences(want, f), [
    `node neighbour "10.0.0.5" lladdr "${POD_MAC}" is not the MAC of "veth0" ("02:cc:00:00:00:01")`,
  ]);
});

Deno.test("checkDifferences() checks the IPv6 side of a dual-stack pod (version 1)", () => {
  const s = state({ podIPs: ["10.0.0.5", "fd00::5"], podRules: [] });
  const f = facts();
  f.host.routes.push(...parseRoutes([{ dst: "fd00::5", dev: "vethc0ffee", table: "500" }]));
  f.host.neigh.push({ dst: "fd00::5", dev: "vethc0ffee", lladdr: POD_MAC, state: ["PERMANENT"] });
  const want = expectedOf(s, CONF);
  assert.deepEqual(
    want.mangle.map((m) => m.family),
    [4, 4, 4, 6, 6, 6],
    "connmark rules of both families",
  );
  f.missingMangle = want.mangle.filter((m) => m.family === 6);
  assert.deepEqual(checkDifferences(want, f), [
    `node IPv6 rule "1000: from all lookup 500"`,
    `pod IPv6 rule "1000: from all fwmark 0x1 lookup 100"`,
    `pod route "default dev veth0 table 100"`,
    ...connmarkRules("veth0", 6).map((m) => `pod ip6tables mangle rule "-A ${mangleRuleText(m)}"`),
  ]);
});

Deno.test("checkDifferences() compares a version 2 record: routes, removed routes, sysctls, MTU", () => {
  const s = state({
    version: 2,
    pod: {
      routes: [
        { dst: "10.233.0.0/18", via: "10.0.0.1", dev: "veth0", table: "main", family: 4 },
        { dst: "fd00:10::/64", via: "fd00::1", dev: "veth0", table: "main", family: 6 },
      ],
      removed: [{ dst: "default", via: "10.0.0.254", dev: "eth0", table: "main", family: 4 }],
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
  f.pod.routes.push(...parseRoutes([{ dst: "default", gateway: "10.0.0.254", dev: "eth0" }]));
  assert.deepEqual(checkDifferences(expectedOf(s, CONF), f), [
    `"veth0" MTU 1500 is not 1480`,
    `pod route "10.233.0.0/18 via 10.0.0.1 dev veth0"`,
    `pod route "fd00:10::/64 via fd00::1 dev veth0"`,
    `pod route "default via 10.0.0.254 dev eth0" is back (ADD moved it out of the main table)`,
    `pod sysctl "net.ipv4.conf.eth0.rp_filter" is 1, not 0`,
  ]);
  // The node end's MAC changed: the pod neighbour no longer names it.
  f.host.links[0] = { ...f.host.links[0]!, address: "02:00:00:00:00:77" };
  const d = checkDifferences(expectedOf(s, CONF), f);
  assert.ok(d.includes(`"vethc0ffee" MAC "02:00:00:00:00:77" is not "${HOST_MAC}"`), d.join("\n"));
  assert.ok(
    d.includes(
      `pod neighbour "10.0.0.1" lladdr "${HOST_MAC}" is not the MAC of "vethc0ffee" ("02:00:00:00:00:77")`,
    ),
    d.join("\n"),
  );
});

Deno.test("checkDifferences() compares exactly the intents of a version 3 record", () => {
  const s = state({
    version: 3,
    podRules: [],
    applied: {
      node: [
        { kind: "link", dev: "vethc0ffee", up: true },
        { kind: "rule", op: "add", family: 4, priority: 1000, table: 500, tolerate: "exists" },
      ],
      pod: [
        { kind: "link", dev: "eth0", up: true, txqueuelen: 100 },
        { kind: "addr", dev: "veth0", cidr: "169.254.200.1/32", tolerate: "exists" },
        {
          kind: "route",
          op: "add",
          dst: "10.233.0.0/18",
          via: "10.0.0.1",
          dev: "veth0",
          table: "main",
        },
      ],
      sysctls: [{ key: "net.ipv4.conf.all.rp_filter", value: 0 }],
      nodeSysctls: [{ key: "net.ipv6.conf.vethc0ffee.accept_ra", value: 0 }],
      mangle: [],
      vethMTU: 1500,
    },
  });
  const f = facts();
  f.nodeSysctls = new Map([["net.ipv6.conf.vethc0ffee.accept_ra", "1"]]);
  f.pod.routes.push(...parseRoutes([{ dst: "10.233.0.0/18", gateway: "10.0.0.1", dev: "veth0" }]));
  assert.deepEqual(checkDifferences(expectedOf(s, CONF), f), [
    `"eth0" txqueuelen 0 is not 100`,
    `pod address "169.254.200.1/32" on "veth0"`,
    `node sysctl "net.ipv6.conf.vethc0ffee.accept_ra" is 1, not 0`,
  ]);
});

Deno.test("checkDifferences() finds a route ADD moved out of main back as a nexthop of an ECMP route", () => {
  const s = state({
    version: 3,
    podRules: [],
    applied: {
      node: [],
      pod: [{
        kind: "route",
        op: "del",
        dst: "::/0",
        via: "fd00:10:7::1",
        dev: "net1",
        table: "main",
      }],
      sysctls: [],
      nodeSysctls: [],
      mangle: [],
    },
  });
  const f = facts();
  f.pod.routes.push(...parseRoutes([{
    dst: "default",
    pref: "medium",
    nexthops: [{ gateway: "fd00:6::1", dev: "eth0" }, { gateway: "fd00:10:7::1", dev: "net1" }],
  }]));
  assert.deepEqual(checkDifferences(expectedOf(s, CONF), f), [
    `pod route "default via fd00:10:7::1 dev net1" is back (ADD moved it out of the main table)`,
  ]);
});
