/**
 * plan/cleanup.ts: what DEL, GC and the ADD rollback remove, and when the
 * shared node rule goes. No root.
 */

import assert from "node:assert/strict";
import { type IpRoute, type IpRule, parseRoutes } from "../../../mod/kernel/ip_json.ts";
import { intentLine } from "../../../mod/kernel/iproute.ts";
import type { AttachmentState } from "../../../mod/kernel/state.ts";
import {
  hostCleanup,
  hostCleanupFromState,
  hostCleanupIntents,
  podRuleCleanup,
  podUndo,
  sharedRule,
  sharedRuleDrops,
} from "../../../mod/plan/cleanup.ts";
import { lines } from "../../_helpers/facts.ts";

Deno.test("hostCleanupIntents() deletes the veth, or only this NIC's routes and neighbours", () => {
  assert.deepEqual(
    lines(hostCleanupIntents(hostCleanup({
      hostVeth: "vethX",
      deleteVeth: true,
      podIps: ["10.0.0.5"],
      hostRuleTable: 500,
    }))),
    ["link del dev vethX"],
  );
  const intents = hostCleanupIntents(hostCleanup({
    hostVeth: "vethX",
    deleteVeth: false,
    podIps: ["fd00::5"],
    hostRuleTable: 500,
  }));
  assert.deepEqual(lines(intents), [
    "route del fd00::5/128 dev vethX table 500",
    "neigh flush to fd00::5 dev vethX nud all",
  ]);
  assert.ok(intentLine(intents[0]!).tolerate?.test("RTNETLINK answers: No such process"));
  assert.deepEqual(
    lines(podRuleCleanup([
      { family: 4, priority: 999, src: "10.0.0.5", table: 101 },
      { family: 6, priority: 999, src: "fd00::5", table: 101 },
    ])),
    ["rule del from 10.0.0.5 table 101 pref 999", "rule del from fd00::5 table 101 pref 999"],
  );
  assert.deepEqual(
    podRuleCleanup([{ family: 6, priority: 9, src: "fd00::5", table: 1 }])[0]?.family,
    6,
  );
});

Deno.test("hostCleanup() drops the pod IPs when the veth goes with them, and derives the IPv6 flag", () => {
  assert.deepEqual(
    hostCleanup({ hostVeth: "vethX", deleteVeth: true, podIps: ["fd00::5"], hostRuleTable: 500 }),
    { hostVeth: "vethX", deleteVeth: true, podIps: [], hostRuleTable: 500, v6: true },
  );
  assert.deepEqual(
    hostCleanup({ hostVeth: "vethX", deleteVeth: false, podIps: ["10.0.0.5"], hostRuleTable: 7 }),
    { hostVeth: "vethX", deleteVeth: false, podIps: ["10.0.0.5"], hostRuleTable: 7, v6: false },
  );
  // Addresses unknown (a DEL without a record): the pod may have had IPv6.
  assert.equal(
    hostCleanup({ hostVeth: "vethX", deleteVeth: true, podIps: "unknown", hostRuleTable: 500 }).v6,
    true,
  );
});

Deno.test("hostCleanupFromState() takes the veth, IPs and table of the state", () => {
  const s: AttachmentState = {
    version: 1,
    network: "net",
    containerId: "c0ffee",
    ifname: "net1",
    netns: "/var/run/netns/x",
    mode: "underlay",
    firstInvoke: false,
    hostVeth: "vethc0ffee",
    hostVethCreated: false,
    podVeth: "veth0",
    podVethMac: "02:00:00:00:00:01",
    hostVethMac: "02:00:00:00:00:02",
    hostRuleTable: 600,
    table: 101,
    podIPs: ["10.0.0.5", "fd00::5"],
    nodeIPs: ["10.0.0.1"],
    podRules: [],
  };
  assert.deepEqual(hostCleanupFromState(s), {
    hostVeth: "vethc0ffee",
    deleteVeth: false,
    podIps: ["10.0.0.5", "fd00::5"],
    hostRuleTable: 600,
    v6: true,
  });
  assert.deepEqual(hostCleanupFromState({ ...s, hostVethCreated: true, podIPs: ["10.0.0.5"] }), {
    hostVeth: "vethc0ffee",
    deleteVeth: true,
    podIps: [],
    hostRuleTable: 600,
    v6: false,
  });
});

const shared = (table: string): IpRule => ({ priority: 1000, src: "all", table });
const route = (dst: string, dev: string, table = "500"): IpRoute =>
  parseRoutes([{ dst, dev, table }])[0]!;
const veth = (hostVeth: string, v6 = false, hostRuleTable = 500) =>
  hostCleanup({ hostVeth, deleteVeth: true, podIps: [v6 ? "fd00::5" : "10.0.0.5"], hostRuleTable });

Deno.test("sharedRuleDrops() drops the IPv4 rule once no other route stays in its table", () => {
  const rules = [shared("500")];
  // The routes on the veth being deleted do not count.
  assert.deepEqual(sharedRuleDrops([route("10.0.0.5", "vethA")], rules, [veth("vethA")]), [
    { family: 4, table: 500 },
  ]);
  // Another pod's route keeps it.
  assert.deepEqual(
    sharedRuleDrops([route("10.0.0.5", "vethA"), route("10.0.0.6", "vethB")], rules, [
      veth("vethA"),
    ]),
    [],
  );
  // Routes of other tables do not count; without the rule there is nothing to drop.
  assert.deepEqual(sharedRuleDrops([route("10.0.0.6", "vethB", "main")], rules, [veth("vethA")]), [
    { family: 4, table: 500 },
  ]);
  assert.deepEqual(sharedRuleDrops([], [], [veth("vethA")]), []);
  // A fwmark rule of the same priority and table is not the shared rule.
  assert.deepEqual(
    sharedRuleDrops([], [{ priority: 1000, src: "all", table: "500", fwmark: "0x1" }], [
      veth("vethA"),
    ]),
    [],
  );
});

Deno.test("sharedRuleDrops() counts the table routes of the pod IPs of a kept veth as gone", () => {
  const later = hostCleanup({
    hostVeth: "vethA",
    deleteVeth: false,
    podIps: ["10.0.0.7"],
    hostRuleTable: 500,
  });
  const rules = [shared("500")];
  assert.deepEqual(sharedRuleDrops([route("10.0.0.7", "vethA")], rules, [later]), [
    { family: 4, table: 500 },
  ]);
  assert.deepEqual(sharedRuleDrops([route("10.0.0.8", "vethA")], rules, [later]), []);
});

Deno.test("sharedRuleDrops() drops the IPv6 rule only for a pod with IPv6, per family", () => {
  const rules = [shared("500")];
  assert.deepEqual(sharedRuleDrops([route("10.0.0.6", "vethB")], rules, [veth("vethA", true)]), [
    { family: 6, table: 500 },
  ]);
  assert.deepEqual(sharedRuleDrops([route("fd00::6", "vethB")], rules, [veth("vethA", true)]), [
    { family: 4, table: 500 },
  ]);
  // A default route counts as IPv6 when it has a "pref" (decided by the parser).
  const default6 = parseRoutes([{ dst: "default", dev: "vethB", table: "500", pref: "medium" }]);
  assert.deepEqual(sharedRuleDrops(default6, rules, [veth("vethA", true)]), [
    { family: 4, table: 500 },
  ]);
  assert.deepEqual(sharedRuleDrops([], [], [veth("vethA", false)]), []);
});

Deno.test("sharedRuleDrops() decides per table of the cleanups", () => {
  assert.deepEqual(
    sharedRuleDrops([route("10.0.0.6", "vethB", "600")], [shared("500"), shared("600")], [
      veth("vethA", false, 500),
      veth("vethC", true, 600),
    ]),
    [{ family: 4, table: 500 }, { family: 6, table: 600 }],
  );
});

Deno.test("sharedRule() drops or restores the rule, accepting what is already so", () => {
  const del = intentLine(sharedRule(6, 500, "del"));
  assert.deepEqual(del.args, ["rule", "del", "table", "500", "pref", "1000"]);
  assert.ok(del.tolerate?.test("RTNETLINK answers: No such file or directory"));
  assert.ok(del.tolerate?.test("RTNETLINK answers: Address family not supported by protocol"));
  const add = intentLine(sharedRule(4, 500, "add"));
  assert.deepEqual(add.args, ["rule", "add", "table", "500", "pref", "1000"]);
  assert.ok(add.tolerate?.test("RTNETLINK answers: File exists"));
});

Deno.test("podUndo() undoes what took effect, last first: routes and rules go, a moved route is appended back, the NIC's MAC returns", () => {
  const before = {
    links: [{ ifindex: 3, ifname: "net1", flags: ["UP"], mtu: 1500, address: "02:aa:00:00:00:01" }],
    addrs: [],
    routes: parseRoutes([{ dst: "default", dev: "veth0", table: "100" }]),
    rules4: [],
  };
  const undo = podUndo([
    { kind: "link", dev: "net1", mac: "0a:1b:0a:07:d4:05" },
    { kind: "route", op: "add", dst: "0.0.0.0/0", via: "10.7.0.1", dev: "net1", table: 101 },
    { kind: "route", op: "del", dst: "0.0.0.0/0", via: "10.7.0.1", dev: "net1", table: "main" },
    { kind: "rule", op: "add", family: 6, priority: 999, from: "fd00:10:7::5", table: 101 },
    { kind: "neigh", dst: "10.6.212.101", lladdr: "02:00:00:00:00:02", dev: "eth0" },
    // Replaced where the pod had it already (a re-run): the pod's own, left alone.
    { kind: "route", op: "replace", dst: "0.0.0.0/0", dev: "veth0", table: 100 },
    { kind: "link", dev: "net1", up: true },
  ], before);
  assert.deepEqual(lines(undo), [
    "neigh flush to 10.6.212.101 dev eth0 nud all",
    "rule del from fd00:10:7::5 table 101 pref 999",
    "route append 0.0.0.0/0 via 10.7.0.1 dev net1",
    "route del 0.0.0.0/0 via 10.7.0.1 dev net1 table 101",
    "link set dev net1 address 02:aa:00:00:00:01",
  ]);
  assert.ok(undo.every((i) => "tolerate" in i || i.kind === "link"), "each accepts what is so");
});
