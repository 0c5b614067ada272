/**
 * commands/add.ts on the fake kernel (tests/_helpers/fake_kernel.ts), without
 * root: ADD in each world of docs/network.md's worked examples makes exactly
 * what the examples show, records it as a version 3 state (the intents it
 * ran), CHECK passes, DEL gives the node back as it was, a second DEL
 * succeeds; and a re-run ADD makes no duplicates. The same worlds as the
 * privileged suites (tests/integration/underlay_test.ts, overlay_test.ts,
 * lifecycle_test.ts), whose expected lines these are.
 */

import assert from "node:assert/strict";
import { cmdAdd } from "../../../mod/commands/add.ts";
import { cmdCheck } from "../../../mod/commands/check.ts";
import { cmdDel } from "../../../mod/commands/del.ts";
import { CniError } from "../../../mod/errors.ts";
import { mangleRuleText } from "../../../mod/kernel/iptables.ts";
import type { AttachmentState } from "../../../mod/kernel/state.ts";
import { lines } from "../../_helpers/facts.ts";
import {
  buildScenario,
  cmdContext,
  diffSnapshots,
  HOST_VETH,
  nodeWorld,
  POD,
  type Scenario,
  type ScenarioName,
  SCENARIOS,
  type SnapshotDiff,
} from "../../_helpers/fake_kernel.ts";

/** The MACs a world's expectations name: the pod end (P) and the node end (H) of the pair. */
interface Macs {
  P: string;
  H: string;
}

/** What one scenario's ADD must make: the lines added to the node and the pod, the record. */
interface Expected {
  node(m: Macs): SnapshotDiff;
  pod(m: Macs): SnapshotDiff;
  /** The pod links ADD adds. */
  podLinks: string[];
  record: Partial<AttachmentState>;
}

const added = (...l: string[]) => ({ added: l.sort(), removed: [] });
const MANGLE = [
  "PREROUTING -i veth0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff",
  "PREROUTING -m mark --mark 0x1 -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff",
  "OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff",
];
const RP = (...links: string[]) =>
  ["all", "default", ...links].map((l) => `net.ipv4.conf.${l}.rp_filter=0`);
const FWMARK = "1000:\tfrom all fwmark 0x1 lookup 100";
const SHARED = "1000:\tfrom all lookup 500";
const hv = HOST_VETH;

/** docs/network.md: underlay example 1, 3a and 3b, the IPv6-only pod, the overlay example. */
const EXPECTED: Record<ScenarioName, Expected> = {
  "underlay IPv4": {
    node: ({ P }) => ({
      routes: added(`10.6.212.241 dev ${hv} table 500 scope link`),
      rules4: added(SHARED),
      neigh: added(`10.6.212.241 dev ${hv} lladdr ${P} PERMANENT`),
      sysctls: added(`net.ipv6.conf.${hv}.accept_ra=0`),
    }),
    pod: ({ H }) => ({
      routes: added(
        "default via 10.6.212.101 dev veth0 table 100 src 10.6.212.241",
        "10.6.212.101 dev veth0 table 101 scope link src 10.6.212.241",
        "10.6.212.101 dev veth0 scope link src 10.6.212.241",
        "10.233.0.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
        "10.233.64.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
        "169.254.20.10 via 10.6.212.101 dev veth0 src 10.6.212.241",
      ),
      rules4: added(FWMARK),
      neigh: added(`10.6.212.101 dev veth0 lladdr ${H} PERMANENT`),
      mangle4: { added: MANGLE, removed: [] },
      sysctls: added(...RP("eth0", "veth0")),
    }),
    podLinks: ["veth0"],
    record: {
      mode: "underlay",
      firstInvoke: true,
      hostVeth: hv,
      hostVethCreated: true,
      podVeth: "veth0",
      table: 101,
      podIPs: ["10.6.212.241"],
      nodeIPs: ["10.6.212.101"],
      podRules: [],
    },
  },
  "underlay dual stack": {
    node: ({ P }) => ({
      routes: added(
        `10.6.212.241 dev ${hv} table 500 scope link`,
        `fd00:6::f1 dev ${hv} table 500 metric 1024`,
      ),
      rules4: added(SHARED),
      rules6: added(SHARED),
      neigh: added(
        `10.6.212.241 dev ${hv} lladdr ${P} PERMANENT`,
        `fd00:6::f1 dev ${hv} lladdr ${P} PERMANENT`,
      ),
      sysctls: added(`net.ipv6.conf.${hv}.accept_ra=0`),
    }),
    pod: ({ H }) => ({
      routes: added(
        "default via 10.6.212.101 dev veth0 table 100 src 10.6.212.241",
        "10.6.212.101 dev veth0 table 101 scope link src 10.6.212.241",
        "10.6.212.101 dev veth0 scope link src 10.6.212.241",
        "10.233.0.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
        "10.233.64.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
        "default via fd00:6::101 dev veth0 table 100 metric 1024",
        "fd00:6::101 dev veth0 table 101 metric 1024",
        "fd00:6::101 dev veth0 metric 1024",
        "fd00:10:233::/116 via fd00:6::101 dev veth0 metric 1024",
        "fd00:10:233:64::/64 via fd00:6::101 dev veth0 metric 1024",
      ),
      rules4: added(FWMARK),
      rules6: added(FWMARK),
      neigh: added(
        `10.6.212.101 dev veth0 lladdr ${H} PERMANENT`,
        `fd00:6::101 dev veth0 lladdr ${H} PERMANENT`,
      ),
      mangle4: { added: MANGLE, removed: [] },
      mangle6: { added: MANGLE, removed: [] },
      sysctls: added(...RP("eth0", "veth0")),
    }),
    podLinks: ["veth0"],
    record: {
      mode: "underlay",
      firstInvoke: true,
      hostVeth: hv,
      hostVethCreated: true,
      podVeth: "veth0",
      table: 101,
      podIPs: ["10.6.212.241", "fd00:6::f1"],
      nodeIPs: ["10.6.212.101", "fd00:6::101"],
      podRules: [],
      mac: "0a:1b:0a:06:d4:f1",
    },
  },
  "underlay IPv6 only": {
    node: ({ P }) => ({
      routes: added(`fd00:6::f1 dev ${hv} table 500 metric 1024`),
      rules6: added(SHARED),
      neigh: added(`fd00:6::f1 dev ${hv} lladdr ${P} PERMANENT`),
      sysctls: added(`net.ipv6.conf.${hv}.accept_ra=0`),
    }),
    pod: ({ H }) => ({
      routes: added(
        "default via fd00:6::101 dev veth0 table 100 metric 1024",
        "fd00:10:233::/116 via fd00:6::101 dev veth0 metric 1024",
        "fd00:6::101 dev veth0 metric 1024",
        "fd00:6::101 dev veth0 table 101 metric 1024",
      ),
      rules6: added(FWMARK),
      neigh: added(`fd00:6::101 dev veth0 lladdr ${H} PERMANENT`),
      mangle6: { added: MANGLE, removed: [] },
      sysctls: added(...RP("eth0", "veth0")),
    }),
    podLinks: ["veth0"],
    record: {
      mode: "underlay",
      firstInvoke: true,
      hostVeth: hv,
      hostVethCreated: true,
      podVeth: "veth0",
      table: 101,
      podIPs: ["fd00:6::f1"],
      nodeIPs: ["fd00:6::101"],
      podRules: [],
    },
  },
  "overlay net1": {
    node: ({ P }) => ({
      routes: added("10.6.212.241 dev vethptp1 table 500 scope link"),
      rules4: added(SHARED),
      neigh: added(`10.6.212.241 dev vethptp1 lladdr ${P} PERMANENT`),
    }),
    pod: ({ H }) => ({
      routes: {
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
      rules4: added("32764:\tfrom 10.233.100.2 lookup 100", "32765:\tfrom 10.6.212.241 lookup 101"),
      neigh: added(
        `10.233.100.1 dev eth0 lladdr ${H} PERMANENT`,
        `10.6.212.101 dev eth0 lladdr ${H} PERMANENT`,
      ),
      sysctls: added(...RP("eth0", "net1")),
    }),
    podLinks: [],
    record: {
      mode: "overlay",
      firstInvoke: true,
      hostVeth: "vethptp1",
      hostVethCreated: false,
      podVeth: "eth0",
      table: 101,
      podIPs: ["10.6.212.241"],
      nodeIPs: ["10.233.100.1", "10.6.212.101"],
      podRules: [
        { family: 4, priority: 32765, src: "10.6.212.241", table: 101 },
        { family: 4, priority: 32764, src: "10.233.100.2", table: 100 },
      ],
    },
  },
  "underlay net1 after eth0": {
    node: ({ P }) => ({
      routes: added(`10.7.212.5 dev ${hv} table 500 scope link`),
      neigh: added(`10.7.212.5 dev ${hv} lladdr ${P} PERMANENT`),
    }),
    pod: () => ({
      // eth0's node-IP route in table 101 is there already: net1 shares the table.
      routes: {
        added: [
          "default via 10.7.0.1 dev net1 table 101",
          "10.7.0.0/16 dev net1 table 101 scope link src 10.7.212.5",
          "10.233.0.0/18 via 10.6.212.101 dev veth0 table 101 src 10.6.212.241",
          "10.233.64.0/18 via 10.6.212.101 dev veth0 table 101 src 10.6.212.241",
          "169.254.20.10 via 10.6.212.101 dev veth0 table 101 src 10.6.212.241",
        ].sort(),
        removed: ["default via 10.7.0.1 dev net1"],
      },
      rules4: added("999:\tfrom 10.7.212.5 lookup 101"),
      sysctls: added("net.ipv4.conf.net1.rp_filter=0"),
    }),
    podLinks: [],
    record: {
      mode: "underlay",
      firstInvoke: false,
      hostVeth: hv,
      hostVethCreated: false,
      podVeth: "veth0",
      table: 101,
      podIPs: ["10.7.212.5"],
      nodeIPs: ["10.6.212.101"],
      podRules: [{ family: 4, priority: 999, src: "10.7.212.5", table: 101 }],
    },
  },
};

/** The pod and node ends of the pair as the world has them. */
function macsOf(s: Scenario, record: AttachmentState): Macs {
  return {
    P: s.k.link(POD, record.podVeth).address,
    H: s.k.link(undefined, s.nodeEnd).address,
  };
}

function linkNames(s: Scenario, netns?: string): string[] {
  return s.k.ns(netns).links.map((l) => l.ifname).sort();
}

function load(s: Scenario): AttachmentState | undefined {
  return s.k.state.load(String(s.conf["name"]), s.call.containerId, s.call.ifname);
}

/** The ops of one kind and place, as text, sorted. */
function opTexts(s: Scenario, kind: string, netns: string | undefined): string[] {
  return s.k.ops.filter((o) => o.kind === kind && o.netns === netns).map((o) => o.text).sort();
}

for (const name of SCENARIOS) {
  Deno.test(`cmdAdd() makes what docs/network.md shows and records it (${name}); cmdCheck() passes; cmdDel() restores the node, twice`, async () => {
    const s = await buildScenario(name, cmdAdd);
    const want = EXPECTED[name];
    const node0 = s.k.snapshot();
    const pod0 = s.k.snapshot(POD);
    const podLinks0 = linkNames(s, POD);
    const ctx = cmdContext("ADD", s.conf, s.call, s.prev);

    const result = await cmdAdd(ctx, s.k);

    const record = load(s);
    assert.ok(record !== undefined, "a state file");
    const macs = macsOf(s, record);
    const { links: nodeLinks, ...nodeD } = diffSnapshots(node0, s.k.snapshot());
    const { links: _podLinks, ...podD } = diffSnapshots(pod0, s.k.snapshot(POD));
    assert.deepEqual(nodeD, want.node(macs), "the node");
    assert.deepEqual(podD, want.pod(macs), "the pod");
    assert.deepEqual(linkNames(s, POD), [...podLinks0, ...want.podLinks].sort());
    if (record.hostVethCreated) {
      const h = s.k.link(undefined, hv);
      const p = s.k.link(POD, "veth0");
      assert.deepEqual([h.mtu, h.txqlen, p.mtu, p.txqlen], [1500, 0, 1500, 0]);
      assert.ok(h.flags.includes("UP") && p.flags.includes("UP"));
      assert.equal(p.link_index, h.ifindex, "the two ends are peers");
      assert.match(h.address, /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/, "locally administered");
      assert.match(p.address, /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/);
    } else {
      assert.equal(nodeLinks, undefined, "no node link made or changed");
    }
    const mac = want.record.mac;
    if (mac !== undefined) {
      assert.equal(s.k.link(POD, "eth0").address, mac, "podMACPrefix");
      assert.equal(result.interfaces?.[0]?.mac, mac, "the result carries the new MAC");
      assert.deepEqual(
        s.k.detections.map((d) => `${d.what} ${d.mac}`),
        [`conflicts ${s.prev.interfaces?.[0]?.mac}`, `announce ${mac}`, `gateways ${mac}`],
        "conflicts with the old MAC, then the MAC, then the gateways with the new one",
      );
      assert.deepEqual(s.k.detections[2]?.ips, ["10.6.0.1", "fd00:6::1"]);
    } else {
      assert.deepEqual(result, s.prev, "prevResult unchanged");
    }

    // The record: version 3, exactly the intents that ran.
    assert.equal(record.version, 3);
    assert.deepEqual(
      { ...record, applied: undefined, podVethMac: "", hostVethMac: "" },
      {
        version: 3,
        network: s.conf["name"],
        containerId: s.call.containerId,
        ifname: s.call.ifname,
        netns: POD,
        hostRuleTable: 500,
        ...want.record,
        applied: undefined,
        podVethMac: "",
        hostVethMac: "",
      },
    );
    assert.equal(record.podVethMac, macs.P);
    assert.equal(record.hostVethMac, macs.H);
    const a = record.applied!;
    assert.deepEqual(
      lines(a.node).sort(),
      opTexts(s, "ip", undefined),
      "node intents = node lines run",
    );
    assert.deepEqual(lines(a.pod).sort(), opTexts(s, "ip", POD), "pod intents = pod lines run");
    assert.deepEqual(
      a.sysctls.map((w) => `sysctl ${w.key}=${w.value}`).sort(),
      opTexts(s, "sysctl", POD),
    );
    assert.deepEqual(
      a.nodeSysctls.map((w) => `sysctl ${w.key}=${w.value}`).sort(),
      opTexts(s, "sysctl", undefined),
    );
    const byFamily = [4, 6].map((f) => a.mangle.filter((m) => m.family === f).map(mangleRuleText));
    assert.deepEqual(
      byFamily.flatMap((t, i) =>
        t.length > 0 ? [`mangle -A IPv${i === 0 ? 4 : 6} ${t.join("; ")}`] : []
      ),
      opTexts(s, "mangle", POD),
      "mangle intents = the restores run",
    );
    assert.equal(a.vethMTU, record.mode === "underlay" ? 1500 : undefined);
    assert.ok(
      s.k.ops.filter((o) => o.kind === "ip" && o.netns === undefined).every((o) => o.locked),
      "every node change under the host lock",
    );

    await cmdCheck(cmdContext("CHECK", s.conf, s.call, result), s.k);

    await cmdDel(cmdContext("DEL", s.conf, s.call), s.k);
    assert.deepEqual(diffSnapshots(node0, s.k.snapshot()), {}, "the node as before ADD");
    assert.equal(load(s), undefined, "no state file");
    if (record.podRules.length > 0) {
      assert.deepEqual(diffSnapshots(pod0, s.k.snapshot(POD)).rules4, undefined, "pod rules gone");
    }
    await cmdDel(cmdContext("DEL", s.conf, s.call), s.k);
    assert.deepEqual(diffSnapshots(node0, s.k.snapshot()), {}, "a second DEL changes nothing");
    if (s.first !== undefined) {
      await cmdDel(cmdContext("DEL", s.first.conf, s.first.call), s.k);
      assert.deepEqual(
        s.k.snapshot(),
        nodeWorld().snapshot(),
        "eth0's DEL: the node as before any ADD",
      );
    }
  });
}

for (const name of SCENARIOS) {
  Deno.test(`cmdAdd() run twice makes no duplicate rule, route or mangle rule and keeps its record (${name})`, async () => {
    const s = await buildScenario(name, cmdAdd);
    await cmdAdd(cmdContext("ADD", s.conf, s.call, s.prev), s.k);
    const node1 = s.k.snapshot();
    const pod1 = s.k.snapshot(POD);
    const first = load(s)!;
    s.k.reset();
    const again = cmdContext("ADD", s.conf, s.call, s.prev);
    await cmdAdd(again, s.k);
    assert.deepEqual(s.k.snapshot(), node1, "the node unchanged");
    assert.deepEqual(s.k.snapshot(POD), pod1, "the pod unchanged: no duplicates");
    assert.ok(!s.k.ops.some((o) => o.kind === "mangle"), "no mangle rule appended again");
    // The re-run finds the pair, the moved routes and the rules made: the
    // record keeps what the first ADD applied.
    assert.deepEqual(load(s), first);
    await cmdCheck(cmdContext("CHECK", s.conf, s.call, s.prev), s.k);
    // The record still lets DEL remove what the first ADD made (the pod rules of a later NIC).
    await cmdDel(cmdContext("DEL", s.conf, s.call), s.k);
    const after = s.k.snapshot(POD);
    const own = (r: string) =>
      first.podRules.some((p) => r.endsWith(`from ${p.src} lookup ${p.table}`));
    assert.deepEqual([...after.rules4, ...after.rules6].filter(own), [], "its pod rules gone");
  });
}

Deno.test("cmdAdd() fails with 102 when the pod netns is gone, and changes nothing", async () => {
  const s = await buildScenario("underlay IPv4", cmdAdd);
  const node0 = s.k.snapshot();
  s.k.unmountNetns(POD);
  await assert.rejects(
    () => cmdAdd(cmdContext("ADD", s.conf, s.call, s.prev), s.k),
    (err: unknown) => err instanceof CniError && err.code === 102,
  );
  assert.deepEqual(diffSnapshots(node0, s.k.snapshot()), {});
  assert.deepEqual(s.k.stateFiles(), []);
});
