/**
 * plan/cleanup.ts: what DEL, GC and the ADD rollback remove, and when the
 * shared node rule goes. No root.
 */

import assert from "node:assert/strict";
import type { IpRoute, IpRule } from "../../../mod/kernel/iproute.ts";
import type { AttachmentState } from "../../../mod/kernel/state.ts";
import {
  hostCleanup,
  hostCleanupFromState,
  hostCleanupLines,
  podRuleCleanupLines,
  sharedRuleDrops,
  sharedRuleLine,
} from "../../../mod/plan/cleanup.ts";

Deno.test("hostCleanupLines() deletes the veth, or only this NIC's routes and neighbours", () => {
  assert.deepEqual(
    hostCleanupLines({
      hostVeth: "vethX",
      deleteVeth: true,
      podIps: ["10.0.0.5"],
      hostRuleTable: 500,
      v6: false,
    })
      .map((l) => l.args.join(" ")),
    ["link del dev vethX"],
  );
  const lines = hostCleanupLines({
    hostVeth: "vethX",
    deleteVeth: false,
    podIps: ["fd00::5"],
    hostRuleTable: 500,
    v6: true,
  });
  assert.deepEqual(lines.map((l) => l.args.join(" ")), [
    "route del fd00::5/128 dev vethX table 500",
    "neigh flush to fd00::5 dev vethX nud all",
  ]);
  assert.ok(lines[0]!.tolerate?.test("RTNETLINK answers: No such process"));
  const pr = podRuleCleanupLines([
    { family: 4, priority: 999, src: "10.0.0.5", table: 101 },
    { family: 6, priority: 999, src: "fd00::5", table: 101 },
  ]);
  assert.deepEqual(pr.lines.map((l) => l.args.join(" ")), [
    "rule del from 10.0.0.5 table 101 pref 999",
  ]);
  assert.deepEqual(pr.lines6.map((l) => l.args.join(" ")), [
    "rule del from fd00::5 table 101 pref 999",
  ]);
});

Deno.test("hostCleanup() drops the pod IPs when the veth goes with them", () => {
  assert.deepEqual(
    hostCleanup({
      hostVeth: "vethX",
      deleteVeth: true,
      podIps: ["10.0.0.5"],
      hostRuleTable: 500,
      v6: true,
    }),
    { hostVeth: "vethX", deleteVeth: true, podIps: [], hostRuleTable: 500, v6: true },
  );
  assert.deepEqual(
    hostCleanup({
      hostVeth: "vethX",
      deleteVeth: false,
      podIps: ["10.0.0.5"],
      hostRuleTable: 7,
      v6: false,
    })
      .podIps,
    ["10.0.0.5"],
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
const route = (dst: string, dev: string, table = "500"): IpRoute => ({ dst, dev, table });
const veth = (hostVeth: string, v6 = false, hostRuleTable = 500) =>
  hostCleanup({ hostVeth, deleteVeth: true, hostRuleTable, v6 });

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
    v6: false,
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
  // A default route counts as IPv6 when it has a "pref".
  const default6 = { dst: "default", dev: "vethB", table: "500", pref: "medium" } as IpRoute;
  assert.deepEqual(sharedRuleDrops([default6], rules, [veth("vethA", true)]), [
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

Deno.test("sharedRuleLine() drops or restores the rule, tolerating what is already so", () => {
  const del = sharedRuleLine({ family: 6, table: 500 }, "del");
  assert.deepEqual(del.args, ["rule", "del", "pref", "1000", "table", "500"]);
  assert.ok(del.tolerate?.test("RTNETLINK answers: No such file or directory"));
  const add = sharedRuleLine({ family: 4, table: 500 }, "add");
  assert.deepEqual(add.args, ["rule", "add", "pref", "1000", "table", "500"]);
  assert.ok(add.tolerate?.test("RTNETLINK answers: File exists"));
});
