/**
 * Issue 21: CHECK, DEL and GC of attachments this plugin has no record of.
 *
 * - Pods exactly as Spiderpool's Go coordinator leaves them
 *   (tests/_helpers/original.ts, spec 3.6 and 3.7; no Go binary; the state
 *   each one leaves is first compared with the spec's listing): CHECK passes
 *   with the config the agent payload implies, and logs that it ran without
 *   a record; items it plans are named with code 104 once broken (a route, a
 *   rule, a neighbour, a mangle rule, all.rp_filter, the MAC, the node's
 *   table-500 route, neighbour and rule); this plugin's DEL cleans the node,
 *   and the last DEL leaves no shared `from all lookup 500` rule of either
 *   family.
 * - The same for pods of this plugin whose state file was deleted.
 * - GC never touches a pod of the original, listed as valid or not (GC acts
 *   on records only), while it cleans a stale pod of its own beside it.
 *
 * The kinds run in sequence in one world per test: the node read before a
 * pod's first ADD is the node after its last DEL.
 */

import assert from "node:assert/strict";
import type { Result } from "../../mod/cni/types.ts";
import { statePath } from "../../mod/kernel/state.ts";
import { cni, containerId, runCoordinator } from "../_helpers/cni.ts";
import {
  diffSnapshots,
  privilegedSkipReason,
  readback,
  type Snapshot,
  type SnapshotDiff,
  type TestNetns,
  toolsSkipReason,
} from "../_helpers/netns.ts";
import {
  AGENT_37,
  AGENT_3A,
  confOfAgent,
  distroRpFilter,
  originalAdd,
  type OriginalAgent,
} from "../_helpers/original.ts";
import { runLogFile } from "../_helpers/run.ts";
import { addMacvlanNic, addPtpEth0, type World, worldTest } from "../_helpers/world.ts";

const skip = privilegedSkipReason() ??
  toolsSkipReason("iptables", "iptables-restore", "ip6tables", "ip6tables-restore");

type Conf = Record<string, unknown>;

/** One NIC of a pod: its call, its config and prevResult. */
interface Nic {
  call: { containerId: string; netns: string; ifname: string };
  conf: Conf;
  prev: Result;
}

/** The service addresses of the world of 3.7 (on kube-ipvs0: not node IPs for the pod). */
async function worldOf37(w: World): Promise<void> {
  for (const a of ["10.233.0.10/32", "169.254.20.10/32", "fd00:10:233::10/128"]) {
    await w.addServiceAddress(a);
  }
}

/** CHECK's differences, one per item, from its 104 message (sorted). */
function differences(res: { code: number; json: unknown; stdout: string }, nic: Nic): string[] {
  assert.equal(res.code, 1, `CHECK of ${nic.call.ifname} passed: ${res.stdout}`);
  const err = res.json as { code: number; msg: string };
  assert.equal(err.code, 104, res.stdout);
  const head = `CHECK of "${nic.call.ifname}" found differences: `;
  assert.ok(err.msg.startsWith(head), err.msg);
  return err.msg.slice(head.length).split("; ").sort();
}

/** Whether the log has the line of a CHECK without a record of this container. */
function loggedUnrecorded(log: string, nic: Nic): boolean {
  return Deno.readTextFileSync(runLogFile(log)).split("\n").some((l) =>
    l.includes("CHECK without a record") && l.includes(nic.call.containerId)
  );
}

/** The node after the last DEL is the node before the first ADD: no shared rule either. */
async function nodeClean(w: World, before: Snapshot, what: string): Promise<void> {
  const after = await readback(w.node);
  for (const rules of [after.rules4, after.rules6]) {
    assert.ok(!rules.some((r) => r.includes("lookup 500")), `${what}: ${rules.join(", ")}`);
  }
  assert.deepEqual(diffSnapshots(before, after), {}, `${what}: node clean after the last DEL`);
}

const V4 = { addrs: ["10.6.212.241/16"], gateways: ["10.6.0.1"] };
const V6 = { addrs: ["fd00:6::f1/64"], gateways: ["fd00:6::1"] };
const DUAL = {
  addrs: ["10.6.212.241/16", "fd00:6::f1/64"],
  gateways: ["10.6.0.1", "fd00:6::1"],
};
/** net1 of example 3b: the node has no address in these subnets. */
const NET1_DUAL = {
  addrs: ["10.7.212.5/16", "fd00:7::5/64"],
  gateways: ["10.7.0.1", "fd00:7::1"],
};

const NODE4 = "10.6.212.101";
const NODE6 = "fd00:6::101";
const RP_FILTER = 'pod sysctl "net.ipv4.conf.all.rp_filter" is 1, not 0';

/** The pod-node pair as it is: the node end's name, both MACs. */
interface Pair {
  hostVeth: string;
  /** The pod end's MAC (veth0, or eth0 in overlay mode). */
  P: string;
  /** The node end's MAC. */
  H: string;
}

/** The pair's ends: veth0 and its peer, else eth0 (overlay) and its peer. */
async function pairOf(w: World, pod: TestNetns): Promise<Pair> {
  type L = { ifindex: number; ifname: string; address: string; "link_index"?: number };
  const links = JSON.parse(await pod.ip(["-j", "link", "show"])) as L[];
  const podEnd = links.find((l) => l.ifname === "veth0") ?? links.find((l) => l.ifname === "eth0")!;
  const nodeLinks = JSON.parse(await w.node.ip(["-j", "link", "show"])) as L[];
  const nodeEnd = nodeLinks.find((l) => l.ifindex === podEnd.link_index)!;
  return { hostVeth: nodeEnd.ifname, P: podEnd.address, H: nodeEnd.address };
}

const mangleOut = (tool: "iptables" | "ip6tables") =>
  `pod ${tool} mangle rule "-A OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff"`;

const MANGLE = [
  "*mangle",
  ":PREROUTING ACCEPT",
  ":INPUT ACCEPT",
  ":FORWARD ACCEPT",
  ":OUTPUT ACCEPT",
  ":POSTROUTING ACCEPT",
  "-A PREROUTING -i veth0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff",
  "-A PREROUTING -m mark --mark 0x1 -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff",
  "-A OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff",
];

const added = (lines: string[]) => ({ added: [...lines].sort(), removed: [] });

/** The spec's listing of what the original adds, as readback diffs of a few sections. */
interface SpecState {
  pod: SnapshotDiff;
  node: SnapshotDiff;
}

const SECTIONS = ["routes4", "routes6", "rules4", "rules6", "neigh", "iptables", "ip6tables"];

function sections(d: SnapshotDiff): SnapshotDiff {
  const out: SnapshotDiff = {};
  for (const [k, v] of Object.entries(d) as [keyof SnapshotDiff, SnapshotDiff["links"]][]) {
    if (SECTIONS.includes(k) && v !== undefined) {
      out[k] = { added: [...v.added].sort(), removed: [...v.removed].sort() };
    }
  }
  return out;
}

/** How a pod of one kind is built, what the spec says the original leaves, what to break. */
interface Kind {
  name: string;
  agent: OriginalAgent;
  /** The main CNIs' NICs in ADD order (the pod's overlay eth0 before them, when any). */
  nics: { ifname: string; make: (w: World, pod: TestNetns) => Promise<Result> }[];
  /** The pod's first NIC of an overlay CNI (not the coordinator's). */
  overlay?: boolean;
  /** The original's state per the spec (3.7 verbatim, 3.6 in the world's addresses). */
  spec?: (p: Pair) => SpecState;
  /** Break items once every NIC is added; the NICs whose CHECK must name them, and them. */
  breakIt(w: World, pod: TestNetns, p: Pair): Promise<{ ifname: string; items: string[] }[]>;
}

const KINDS: Kind[] = [
  {
    name: "underlay IPv4 (spec 3.7.1)",
    agent: AGENT_37,
    nics: [{
      ifname: "eth0",
      make: (w, pod) => addMacvlanNic(w.node, pod, { ifname: "eth0", ...V4 }),
    }],
    spec: ({ hostVeth: hv, P, H }) => ({
      pod: {
        routes4: added([
          "default via 10.6.212.101 dev veth0 table 100 src 10.6.212.241",
          "10.6.212.101 dev veth0 table 101 scope link src 10.6.212.241",
          "10.6.212.101 dev veth0 scope link src 10.6.212.241",
          "10.233.0.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
          "10.233.64.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
          "169.254.20.10 via 10.6.212.101 dev veth0 src 10.6.212.241",
        ]),
        rules4: added(["1000:\tfrom all fwmark 0x1 lookup 100"]),
        neigh: added([`10.6.212.101 dev veth0 lladdr ${H} PERMANENT`]),
        iptables: added(MANGLE),
      },
      node: {
        routes4: added([`10.6.212.241 dev ${hv} table 500 scope link`]),
        rules4: added(["1000:\tfrom all lookup 500"]),
        neigh: added([`10.6.212.241 dev ${hv} lladdr ${P} PERMANENT`]),
      },
    }),
    async breakIt(w, pod, { hostVeth: hv, H }) {
      await pod.ip(["route", "del", "10.233.0.0/18"]);
      await pod.ip(["-4", "rule", "del", "pref", "1000", "fwmark", "0x1", "lookup", "100"]);
      await pod.ip(["neigh", "del", NODE4, "dev", "veth0"]);
      await pod.exec([
        "iptables",
        "-t",
        "mangle",
        "-D",
        "OUTPUT",
        "-j",
        "CONNMARK",
        "--restore-mark",
      ]);
      pod.setSysctl("net.ipv4.conf.all.rp_filter", 1);
      await w.node.ip(["route", "del", "10.6.212.241", "table", "500"]);
      await w.node.ip(["-4", "rule", "del", "pref", "1000", "lookup", "500"]);
      return [{
        ifname: "eth0",
        items: [
          `pod route "10.233.0.0/18 via ${NODE4} dev veth0"`,
          'pod IPv4 rule "1000: from all fwmark 0x1 lookup 100"',
          `pod neighbour "${NODE4}" lladdr "${H}" dev "veth0"`,
          mangleOut("iptables"),
          RP_FILTER,
          `node route "10.6.212.241 dev ${hv} table 500"`,
          'node IPv4 rule "1000: from all lookup 500"',
        ],
      }];
    },
  },
  {
    name: "underlay IPv6 only, podMACPrefix (3.6's steps, one family)",
    agent: AGENT_3A,
    nics: [{
      ifname: "eth0",
      make: (w, pod) => addMacvlanNic(w.node, pod, { ifname: "eth0", ...V6 }),
    }],
    async breakIt(w, pod, { hostVeth: hv, H }) {
      await pod.ip(["route", "del", "fd00:10:233::/116"]);
      await pod.ip(["-6", "rule", "del", "pref", "1000", "fwmark", "0x1", "lookup", "100"]);
      await pod.ip(["neigh", "del", NODE6, "dev", "veth0"]);
      await pod.exec([
        "ip6tables",
        "-t",
        "mangle",
        "-D",
        "OUTPUT",
        "-j",
        "CONNMARK",
        "--restore-mark",
      ]);
      pod.setSysctl("net.ipv4.conf.all.rp_filter", 1);
      await pod.ip(["link", "set", "eth0", "address", "02:aa:00:00:00:f1"]);
      await w.node.ip(["route", "del", "fd00:6::f1", "table", "500"]);
      await w.node.ip(["-6", "rule", "del", "pref", "1000", "lookup", "500"]);
      return [{
        ifname: "eth0",
        items: [
          `pod route "fd00:10:233::/116 via ${NODE6} dev veth0"`,
          'pod IPv6 rule "1000: from all fwmark 0x1 lookup 100"',
          `pod neighbour "${NODE6}" lladdr "${H}" dev "veth0"`,
          mangleOut("ip6tables"),
          RP_FILTER,
          '"eth0" MAC "02:aa:00:00:00:f1" is not "0a:1b:00:00:00:f1"',
          `node route "fd00:6::f1 dev ${hv} table 500"`,
          'node IPv6 rule "1000: from all lookup 500"',
        ],
      }];
    },
  },
  {
    name: "underlay dual stack, podMACPrefix, then net1 (spec 3.6 example 3a, 3b)",
    agent: AGENT_3A,
    nics: [
      { ifname: "eth0", make: (w, pod) => addMacvlanNic(w.node, pod, { ifname: "eth0", ...DUAL }) },
      {
        ifname: "net1",
        make: (w, pod) => addMacvlanNic(w.node, pod, { ifname: "net1", ...NET1_DUAL }),
      },
    ],
    spec: ({ hostVeth: hv, P, H }) => ({
      pod: {
        routes4: {
          added: [
            // 3a
            "10.6.212.101 dev veth0 scope link src 10.6.212.241",
            "10.233.0.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
            "10.233.64.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
            "default via 10.6.212.101 dev veth0 table 100 src 10.6.212.241",
            "10.6.212.101 dev veth0 table 101 scope link src 10.6.212.241",
            // 3b: net1's own subnet route (kernel) and its table 101
            "10.7.0.0/16 dev net1 proto kernel scope link src 10.7.212.5",
            "default via 10.7.0.1 dev net1 table 101",
            "10.7.0.0/16 dev net1 table 101 scope link src 10.7.212.5",
            "10.233.0.0/18 via 10.6.212.101 dev veth0 table 101 src 10.6.212.241",
            "10.233.64.0/18 via 10.6.212.101 dev veth0 table 101 src 10.6.212.241",
          ].sort(),
          removed: [],
        },
        routes6: {
          added: [
            "fd00:6::101 dev veth0 metric 1024",
            "fd00:10:233::/116 via fd00:6::101 dev veth0 metric 1024",
            "fd00:10:233:64::/64 via fd00:6::101 dev veth0 metric 1024",
            "default via fd00:6::101 dev veth0 table 100 metric 1024",
            "fd00:6::101 dev veth0 table 101 metric 1024",
            "fd00:7::/64 dev net1 proto kernel metric 256",
            "fd00:7::/64 dev net1 table 101 metric 1024",
            "fd00:10:233::/116 via fd00:6::101 dev veth0 table 101 metric 1024",
            "fd00:10:233:64::/64 via fd00:6::101 dev veth0 table 101 metric 1024",
            "default via fd00:7::1 dev net1 table 101 metric 1024",
          ].sort(),
          removed: [],
        },
        rules4: added([
          "999:\tfrom 10.7.212.5 lookup 101",
          "1000:\tfrom all fwmark 0x1 lookup 100",
        ]),
        rules6: added(["999:\tfrom fd00:7::5 lookup 101", "1000:\tfrom all fwmark 0x1 lookup 100"]),
        neigh: added([
          `10.6.212.101 dev veth0 lladdr ${H} PERMANENT`,
          `fd00:6::101 dev veth0 lladdr ${H} PERMANENT`,
        ]),
        iptables: added(MANGLE),
        ip6tables: added(MANGLE),
      },
      node: {
        routes4: added([
          `10.6.212.241 dev ${hv} table 500 scope link`,
          `10.7.212.5 dev ${hv} table 500 scope link`,
        ]),
        routes6: added([
          `fd00:6::f1 dev ${hv} table 500 metric 1024`,
          `fd00:7::5 dev ${hv} table 500 metric 1024`,
        ]),
        rules4: added(["1000:\tfrom all lookup 500"]),
        rules6: added(["1000:\tfrom all lookup 500"]),
        neigh: added(
          ["10.6.212.241", "10.7.212.5", "fd00:6::f1", "fd00:7::5"].map((ip) =>
            `${ip} dev ${hv} lladdr ${P} PERMANENT`
          ),
        ),
      },
    }),
    async breakIt(w, pod, { hostVeth: hv, P, H }) {
      // eth0's items.
      await pod.ip(["-6", "route", "del", "default", "table", "100"]);
      await pod.ip(["neigh", "del", NODE6, "dev", "veth0"]);
      await pod.exec([
        "ip6tables",
        "-t",
        "mangle",
        "-D",
        "OUTPUT",
        "-j",
        "CONNMARK",
        "--restore-mark",
      ]);
      await w.node.ip(["route", "del", "fd00:6::f1", "table", "500"]);
      // net1's items.
      await pod.ip(["-4", "rule", "del", "pref", "999", "from", "10.7.212.5", "lookup", "101"]);
      await pod.ip(["-6", "rule", "del", "pref", "999", "from", "fd00:7::5", "lookup", "101"]);
      await pod.ip(["route", "del", "default", "via", "10.7.0.1", "dev", "net1", "table", "101"]);
      await pod.ip(["route", "append", "default", "via", "10.7.0.1", "dev", "net1"]);
      await w.node.ip(["neigh", "del", "10.7.212.5", "dev", hv]);
      await w.node.ip(["route", "del", "fd00:7::5", "table", "500"]);
      // Both NICs plan these.
      pod.setSysctl("net.ipv4.conf.all.rp_filter", 1);
      await w.node.ip(["-6", "rule", "del", "pref", "1000", "lookup", "500"]);
      const shared = [RP_FILTER, 'node IPv6 rule "1000: from all lookup 500"'];
      return [{
        ifname: "eth0",
        items: [
          ...shared,
          `pod route "default via ${NODE6} dev veth0 table 100"`,
          `pod neighbour "${NODE6}" lladdr "${H}" dev "veth0"`,
          mangleOut("ip6tables"),
          `node route "fd00:6::f1 dev ${hv} table 500"`,
        ],
      }, {
        ifname: "net1",
        items: [
          ...shared,
          'pod IPv4 rule "999: from 10.7.212.5 lookup 101"',
          'pod IPv6 rule "999: from fd00:7::5 lookup 101"',
          'pod route "default via 10.7.0.1 dev net1 table 101"',
          'pod route "default via 10.7.0.1 dev net1" is back (ADD moved it out of the main table)',
          `node neighbour "10.7.212.5" lladdr "${P}" dev "${hv}"`,
          `node route "fd00:7::5 dev ${hv} table 500"`,
        ],
      }];
    },
  },
  {
    name: "overlay: eth0 = ptp, net1 = macvlan (spec 3.7.2)",
    agent: AGENT_37,
    overlay: true,
    nics: [{
      ifname: "net1",
      make: (w, pod) => addMacvlanNic(w.node, pod, { ifname: "net1", ...V4 }),
    }],
    spec: ({ hostVeth: hv, P, H }) => ({
      pod: {
        routes4: {
          added: [
            "default via 10.233.100.1 dev eth0 table 100",
            "default via 10.6.0.1 dev net1 table 101",
            "10.6.0.0/16 dev net1 table 101 scope link src 10.6.212.241",
            "10.6.212.101 dev eth0 table 101 scope link src 10.233.100.2",
            "10.233.100.1 dev eth0 table 101 scope link src 10.233.100.2",
            "10.6.212.101 dev eth0 scope link src 10.233.100.2",
            "10.233.0.0/18 via 10.233.100.1 dev eth0 src 10.233.100.2",
            "10.233.64.0/18 via 10.233.100.1 dev eth0 src 10.233.100.2",
            "169.254.20.10 via 10.233.100.1 dev eth0 src 10.233.100.2",
          ].sort(),
          removed: ["default via 10.6.0.1 dev net1"],
        },
        rules4: added([
          "32764:\tfrom 10.233.100.2 lookup 100",
          "32765:\tfrom 10.6.212.241 lookup 101",
        ]),
        neigh: added([
          `10.233.100.1 dev eth0 lladdr ${H} PERMANENT`,
          `10.6.212.101 dev eth0 lladdr ${H} PERMANENT`,
        ]),
      },
      node: {
        routes4: added([`10.6.212.241 dev ${hv} table 500 scope link`]),
        rules4: added(["1000:\tfrom all lookup 500"]),
        neigh: added([`10.6.212.241 dev ${hv} lladdr ${P} PERMANENT`]),
      },
    }),
    async breakIt(w, pod, { hostVeth: hv, P, H }) {
      await pod.ip(["-4", "rule", "del", "pref", "32764"]);
      await pod.ip(["route", "del", "default", "table", "100"]);
      await pod.ip(["route", "del", "169.254.20.10"]);
      await pod.ip(["neigh", "del", NODE4, "dev", "eth0"]);
      pod.setSysctl("net.ipv4.conf.all.rp_filter", 1);
      await w.node.ip(["route", "del", "10.6.212.241", "table", "500"]);
      await w.node.ip(["neigh", "del", "10.6.212.241", "dev", hv]);
      await w.node.ip(["-4", "rule", "del", "pref", "1000", "lookup", "500"]);
      return [{
        ifname: "net1",
        items: [
          'pod IPv4 rule "32764: from 10.233.100.2 lookup 100"',
          'pod route "default via 10.233.100.1 dev eth0 table 100"',
          'pod route "169.254.20.10 via 10.233.100.1 dev eth0"',
          `pod neighbour "${NODE4}" lladdr "${H}" dev "eth0"`,
          RP_FILTER,
          `node route "10.6.212.241 dev ${hv} table 500"`,
          `node neighbour "10.6.212.241" lladdr "${P}" dev "${hv}"`,
          'node IPv4 rule "1000: from all lookup 500"',
        ],
      }];
    },
  },
  {
    name: "overlay, podDefaultRouteNic = net1 (spec 3.6 example 2, second part)",
    agent: { ...AGENT_37, podDefaultRouteNic: "net1" },
    overlay: true,
    nics: [{
      ifname: "net1",
      make: (w, pod) => addMacvlanNic(w.node, pod, { ifname: "net1", ...V4 }),
    }],
    spec: ({ hostVeth: hv, P, H }) => ({
      pod: {
        // eth0's default moves into 101, its other main routes (also the ones ADD just
        // added) are copied there; net1's routes stay in main; no table-100 rule.
        routes4: {
          added: [
            "10.6.212.101 dev eth0 scope link src 10.233.100.2",
            "10.233.0.0/18 via 10.233.100.1 dev eth0 src 10.233.100.2",
            "10.233.64.0/18 via 10.233.100.1 dev eth0 src 10.233.100.2",
            "169.254.20.10 via 10.233.100.1 dev eth0 src 10.233.100.2",
            "default via 10.233.100.1 dev eth0 table 101",
            "10.233.100.0/24 via 10.233.100.1 dev eth0 table 101 src 10.233.100.2",
            "10.233.100.1 dev eth0 table 101 scope link src 10.233.100.2",
            "10.6.212.101 dev eth0 table 101 scope link src 10.233.100.2",
            "10.233.0.0/18 via 10.233.100.1 dev eth0 table 101 src 10.233.100.2",
            "10.233.64.0/18 via 10.233.100.1 dev eth0 table 101 src 10.233.100.2",
            "169.254.20.10 via 10.233.100.1 dev eth0 table 101 src 10.233.100.2",
          ].sort(),
          removed: ["default via 10.233.100.1 dev eth0"],
        },
        rules4: added(["32765:\tfrom 10.233.100.2 lookup 101"]),
        neigh: added([
          `10.233.100.1 dev eth0 lladdr ${H} PERMANENT`,
          `10.6.212.101 dev eth0 lladdr ${H} PERMANENT`,
        ]),
      },
      node: {
        routes4: added([`10.6.212.241 dev ${hv} table 500 scope link`]),
        rules4: added(["1000:\tfrom all lookup 500"]),
        neigh: added([`10.6.212.241 dev ${hv} lladdr ${P} PERMANENT`]),
      },
    }),
    async breakIt(w, pod, { hostVeth: hv }) {
      await pod.ip(["-4", "rule", "del", "pref", "32765", "from", "10.233.100.2", "lookup", "101"]);
      await pod.ip(["route", "append", "default", "via", "10.233.100.1", "dev", "eth0"]);
      await w.node.ip(["route", "del", "10.6.212.241", "table", "500"]);
      return [{
        ifname: "net1",
        items: [
          'pod IPv4 rule "32765: from 10.233.100.2 lookup 101"',
          'pod route "default via 10.233.100.1 dev eth0" is back (ADD moved it out of the main table)',
          `node route "10.6.212.241 dev ${hv} table 500"`,
        ],
      }];
    },
  },
  {
    name: "underlay dual stack, then net1 with podDefaultRouteNic = net1",
    agent: { ...AGENT_3A, podDefaultRouteNic: "net1" },
    nics: [
      { ifname: "eth0", make: (w, pod) => addMacvlanNic(w.node, pod, { ifname: "eth0", ...DUAL }) },
      {
        ifname: "net1",
        make: (w, pod) => addMacvlanNic(w.node, pod, { ifname: "net1", ...NET1_DUAL }),
      },
    ],
    async breakIt(w, pod, { hostVeth: hv, P }) {
      await pod.ip(["-4", "rule", "del", "pref", "999", "from", "10.6.212.241", "lookup", "101"]);
      await pod.ip([
        "-6",
        "route",
        "del",
        "default",
        "via",
        "fd00:6::1",
        "dev",
        "eth0",
        "table",
        "101",
      ]);
      await w.node.ip(["neigh", "del", "fd00:7::5", "dev", hv]);
      return [{
        ifname: "net1",
        items: [
          'pod IPv4 rule "999: from 10.6.212.241 lookup 101"',
          // Its gateway only a record knows: any default route of eth0 in 101 would do.
          'pod route "default dev eth0 table 101"',
          `node neighbour "fd00:7::5" lladdr "${P}" dev "${hv}"`,
        ],
      }];
    },
  },
  {
    name: "overlay with another UP link in the pod (the original's first-NIC count, spec 8.1-8)",
    agent: AGENT_37,
    overlay: true,
    nics: [{
      ifname: "net1",
      async make(w, pod) {
        await pod.ip(["link", "add", "xtra0", "type", "veth", "peer", "name", "xtra1"]);
        await pod.ip(["link", "set", "xtra0", "up"]);
        await pod.ip(["link", "set", "xtra1", "up"]);
        return addMacvlanNic(w.node, pod, { ifname: "net1", ...V4 });
      },
    }],
    async breakIt(w, pod, { hostVeth: hv, P }) {
      await pod.ip(["route", "append", "default", "via", "10.6.0.1", "dev", "net1"]);
      pod.setSysctl("net.ipv4.conf.all.rp_filter", 1);
      await w.node.ip(["neigh", "del", "10.6.212.241", "dev", hv]);
      return [{
        ifname: "net1",
        items: [
          'pod route "default via 10.6.0.1 dev net1" is back (ADD moved it out of the main table)',
          RP_FILTER,
          `node neighbour "10.6.212.241" lladdr "${P}" dev "${hv}"`,
        ],
      }];
    },
  },
  {
    name: "overlay: eth0 = ptp, net1, then net2 (a later overlay NIC)",
    agent: AGENT_37,
    overlay: true,
    nics: [
      { ifname: "net1", make: (w, pod) => addMacvlanNic(w.node, pod, { ifname: "net1", ...V4 }) },
      {
        ifname: "net2",
        make: (w, pod) =>
          addMacvlanNic(w.node, pod, {
            ifname: "net2",
            addrs: ["10.6.212.242/16"],
            gateways: ["10.6.0.1"],
          }),
      },
    ],
    async breakIt(w, pod, { hostVeth: hv, P }) {
      await pod.ip(["route", "del", "default", "table", "102"]);
      await pod.ip(["-4", "rule", "del", "pref", "32763", "from", "10.6.212.242", "lookup", "102"]);
      await w.node.ip(["neigh", "del", "10.6.212.241", "dev", hv]);
      return [{
        ifname: "net1",
        items: [`node neighbour "10.6.212.241" lladdr "${P}" dev "${hv}"`],
      }, {
        ifname: "net2",
        items: [
          'pod route "default via 10.6.0.1 dev net2 table 102"',
          'pod IPv4 rule "32763: from 10.6.212.242 lookup 102"',
        ],
      }];
    },
  },
];

/**
 * One pod of a kind: its NICs, ADD by the original or by this plugin (whose
 * records are then deleted), CHECK of each NIC passes without a record, the
 * broken items are named, DEL of each NIC (last first) leaves the node as it
 * was.
 */
async function runKind(w: World, kind: Kind, by: "original" | "plugin"): Promise<void> {
  const what = `${kind.name}, made by the ${by}`;
  const log = `unrec-${by}`;
  const pod = await w.addPod();
  const cid = containerId();
  const ptp = `vethp${cid.slice(0, 6)}`;
  if (kind.overlay) await addPtpEth0(w, pod, ptp);
  const nics: Nic[] = [];
  let node0: Snapshot | undefined;
  let pod0: Snapshot | undefined;
  for (const spec of kind.nics) {
    const prev = await spec.make(w, pod);
    if (node0 === undefined) {
      await distroRpFilter(pod);
      [node0, pod0] = await Promise.all([readback(w.node), readback(pod)]);
    }
    const nic: Nic = {
      call: { containerId: cid, netns: pod.path, ifname: spec.ifname },
      conf: confOfAgent(`it-unrec-${by}-${spec.ifname}`, log, kind.agent),
      prev,
    };
    if (by === "original") {
      await originalAdd(w.node, pod, nic.call, kind.agent);
    } else {
      const add = await cni(w.node, "ADD", nic.conf, nic.call, prev);
      assert.equal(add.code, 0, `${what}: ADD of ${spec.ifname}: ${add.stdout}${add.stderr}`);
      await Deno.remove(statePath(nic.conf["name"] as string, cid, spec.ifname));
    }
    nics.push(nic);
  }
  const pair = await pairOf(w, pod);
  if (by === "original" && kind.spec !== undefined) {
    const want = kind.spec(pair);
    const [pod1, node1] = await Promise.all([readback(pod), readback(w.node)]);
    assert.deepEqual(
      sections(diffSnapshots(pod0!, pod1)),
      want.pod,
      `${what}: the pod of the spec`,
    );
    assert.deepEqual(
      sections(diffSnapshots(node0!, node1)),
      want.node,
      `${what}: the node of the spec`,
    );
    // rp_filter on `all` only: the links keep the distribution's 2 (spec 3.3.12, 3.7.1).
    assert.ok(pod1.sysctls.includes("ipv4.all.rp_filter=0"), what);
    assert.ok(pod1.sysctls.includes("ipv4.default.rp_filter=2"), what);
    assert.ok(pod1.sysctls.includes(`ipv4.${kind.overlay ? "eth0" : "veth0"}.rp_filter=2`), what);
  }
  for (const nic of nics) {
    const res = await cni(w.node, "CHECK", nic.conf, nic.call, nic.prev);
    assert.equal(res.code, 0, `${what}: CHECK of ${nic.call.ifname}: ${res.stdout}${res.stderr}`);
    assert.ok(loggedUnrecorded(log, nic), `${what}: the log says CHECK ran without a record`);
  }
  for (const b of await kind.breakIt(w, pod, pair)) {
    const nic = nics.find((n) => n.call.ifname === b.ifname)!;
    const res = await cni(w.node, "CHECK", nic.conf, nic.call, nic.prev);
    assert.deepEqual(differences(res, nic), [...b.items].sort(), `${what}: ${b.ifname}`);
  }
  for (const nic of [...nics].reverse()) {
    const res = await cni(w.node, "DEL", nic.conf, nic.call, nic.prev);
    assert.equal(res.code, 0, `${what}: DEL of ${nic.call.ifname}: ${res.stdout}${res.stderr}`);
  }
  await nodeClean(w, node0!, what);
  // The overlay CNI's DEL: its veth goes now (a netns is torn down in the
  // background, and the next pod's ptp route to 10.233.100.2 must not meet it).
  if (kind.overlay) await w.node.ip(["link", "del", ptp]);
  await pod.destroy();
}

worldTest(
  skip,
  "pods as Spiderpool's coordinator leaves them (spec 3.6, 3.7; no record): CHECK passes, names each broken item (104); DEL cleans the node, the last one drops the shared rule of both families",
  async (w) => {
    await worldOf37(w);
    for (const kind of KINDS) await runKind(w, kind, "original");
  },
);

worldTest(
  skip,
  "pods of this plugin whose state file was deleted (IPv4, IPv6, dual stack + net1, overlay, net2): CHECK passes, names each broken item (104); DEL cleans the node",
  async (w) => {
    await worldOf37(w);
    for (const kind of KINDS) await runKind(w, kind, "plugin");
  },
);

worldTest(
  skip,
  "GC never touches a pod of the original (no record), listed in cni.dev/valid-attachments or not; it cleans a stale pod of its own beside it",
  async (w) => {
    const node0 = await readback(w.node);
    const pod = await w.addPod();
    const prev = await addMacvlanNic(w.node, pod, { ifname: "eth0", ...DUAL });
    await distroRpFilter(pod);
    const orig = { containerId: containerId(), netns: pod.path, ifname: "eth0" };
    const conf = { ...confOfAgent("it-unrec-gc", "unrec-gc", AGENT_3A), cniVersion: "1.1.0" };
    await originalAdd(w.node, pod, orig, AGENT_3A);
    // A pod of this plugin in the same network, with its record: stale for GC.
    const own = await w.addPod();
    const ownPrev = await addMacvlanNic(w.node, own, {
      ifname: "eth0",
      addrs: ["10.6.212.242/16", "fd00:6::f2/64"],
      gateways: ["10.6.0.1", "fd00:6::1"],
    });
    const ownCall = { containerId: containerId(), netns: own.path, ifname: "eth0" };
    const [podBefore, nodeBefore] = await Promise.all([readback(pod), readback(w.node)]);
    const add = await cni(w.node, "ADD", conf, ownCall, ownPrev);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const attachment = { containerID: orig.containerId, ifname: "eth0" };
    for (const valid of [[attachment], []]) {
      const gc = await runCoordinator(w.node, {
        command: "GC",
        conf: { ...conf, "cni.dev/valid-attachments": valid },
        containerId: "",
        netns: "",
        ifname: "",
      });
      assert.equal(gc.code, 0, gc.stdout + gc.stderr);
      const [podAfter, nodeAfter] = await Promise.all([readback(pod), readback(w.node)]);
      const listed = `the original's pod ${valid.length > 0 ? "listed" : "not listed"}`;
      assert.deepEqual(diffSnapshots(podBefore, podAfter), {}, `${listed}: its pod untouched`);
      // The stale pod of this plugin went (its veth, routes, neighbours); the shared
      // rules stay for the original's pod, whose table-500 routes remain.
      assert.deepEqual(
        diffSnapshots(nodeBefore, nodeAfter),
        {},
        `${listed}: its node side untouched`,
      );
    }
    assert.throws(() => Deno.statSync(statePath(conf.name, ownCall.containerId, "eth0")));
    const check = await cni(w.node, "CHECK", conf, orig, prev);
    assert.equal(check.code, 0, `CHECK of the original's pod after GC: ${check.stdout}`);
    const del = await cni(w.node, "DEL", conf, orig, prev);
    assert.equal(del.code, 0, del.stdout + del.stderr);
    await nodeClean(w, node0, "the original's pod, DEL after GC");
  },
);
