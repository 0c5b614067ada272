/**
 * commands/check.ts on the fake kernel (tests/_helpers/fake_kernel.ts),
 * without root: after an ADD, CHECK passes; with exactly one item broken in
 * the world it fails with 104 naming that item, and nothing else. The
 * privileged twin is tests/integration/check_items_test.ts.
 */

import assert from "node:assert/strict";
import { cmdAdd } from "../../../mod/commands/add.ts";
import { cmdCheck } from "../../../mod/commands/check.ts";
import { CniError } from "../../../mod/errors.ts";
import type { FakeKernel, FakeLink, Scenario, ScenarioName } from "../../_helpers/fake_kernel.ts";
import { buildScenario, cmdContext, HOST_VETH, POD } from "../../_helpers/fake_kernel.ts";

/** The world after an ADD of a scenario, with its MACs. */
interface Added {
  s: Scenario;
  k: FakeKernel;
  /** The pod end's MAC (veth0, or eth0 in overlay mode) and the node end's. */
  P: string;
  H: string;
}

/** As tests/integration/check_items_test.ts: txQueueLen, podMACPrefix and vethMTU set too. */
const EXTRA = { txQueueLen: 2000, podMACPrefix: "0a:1b", vethMTU: 1480 };

async function added(name: ScenarioName, extra: Record<string, unknown> = {}): Promise<Added> {
  const s = await buildScenario(name, cmdAdd);
  s.conf = { ...s.conf, ...extra };
  const result = await cmdAdd(cmdContext("ADD", s.conf, s.call, s.prev), s.k);
  s.prev = result;
  await cmdCheck(cmdContext("CHECK", s.conf, s.call, s.prev), s.k);
  const podEnd = s.k.ns(POD).links.find((l) => l.ifname === "veth0") ?? s.k.link(POD, "eth0");
  return { s, k: s.k, P: podEnd.address, H: s.k.link(undefined, s.nodeEnd).address };
}

async function checkFails(a: Added, items: string[]): Promise<void> {
  const { s } = a;
  await assert.rejects(
    () => cmdCheck(cmdContext("CHECK", s.conf, s.call, s.prev), s.k),
    (err: unknown) => {
      assert.ok(err instanceof CniError);
      assert.equal(err.code, 104);
      assert.equal(
        err.message,
        `CHECK of "${s.call.ifname}" found differences: ${items.join("; ")}`,
      );
      return true;
    },
  );
}

const without = <T>(list: T[], pred: (x: T) => boolean): T[] => {
  const i = list.findIndex(pred);
  assert.ok(i >= 0, "the item to break is there");
  return [...list.slice(0, i), ...list.slice(i + 1)];
};

const pod = (a: Added) => a.k.ns(POD);
const node = (a: Added) => a.k.ns();
const link = (a: Added, netns: string | undefined, name: string): FakeLink => a.k.link(netns, name);
const hv = HOST_VETH;

/** One kind of difference: how to break it, what CHECK must say. */
interface Case {
  what: string;
  scenario: ScenarioName;
  extra?: Record<string, unknown>;
  breakIt(a: Added): void;
  says(a: Added): string[];
}

const CASES: Case[] = [
  {
    what: "a pod route",
    scenario: "underlay IPv4",
    breakIt: (a) => pod(a).routes = without(pod(a).routes, (r) => r.dst === "10.233.0.0/18"),
    says: () => ['pod route "10.233.0.0/18 via 10.6.212.101 dev veth0"'],
  },
  {
    what: "a route ADD moved out of the main table, back",
    scenario: "underlay net1 after eth0",
    breakIt: (a) =>
      pod(a).routes.push({
        family: 4,
        type: "unicast",
        dst: "default",
        gateway: "10.7.0.1",
        dev: "net1",
        table: "main",
        protocol: "boot",
        scope: "global",
      }),
    says: () => [
      'pod route "default via 10.7.0.1 dev net1" is back (ADD moved it out of the main table)',
    ],
  },
  {
    what: "a pod rule",
    scenario: "underlay IPv4",
    breakIt: (a) => pod(a).rules[4] = without(pod(a).rules[4], (r) => r.fwmark === "0x1"),
    says: () => ['pod IPv4 rule "1000: from all fwmark 0x1 lookup 100"'],
  },
  {
    what: "a pod rule of a later NIC",
    scenario: "overlay net1",
    breakIt: (a) => pod(a).rules[4] = without(pod(a).rules[4], (r) => r.src === "10.6.212.241"),
    says: () => ['pod IPv4 rule "32765: from 10.6.212.241 lookup 101"'],
  },
  {
    what: "a pod neighbour",
    scenario: "underlay IPv4",
    breakIt: (a) => pod(a).neigh = without(pod(a).neigh, (n) => n.dst === "10.6.212.101"),
    says: (a) => [`pod neighbour "10.6.212.101" lladdr "${a.H}" dev "veth0"`],
  },
  {
    what: "pod neighbours naming another MAC than the node end's current one",
    scenario: "overlay net1",
    breakIt: (a) => link(a, undefined, "vethptp1").address = "02:00:00:00:00:98",
    says: (a) =>
      ["10.233.100.1", "10.6.212.101"].map((ip) =>
        `pod neighbour "${ip}" lladdr "${a.H}" is not the MAC of "vethptp1" ("02:00:00:00:00:98")`
      ),
  },
  {
    what: "veth0 down",
    scenario: "underlay IPv4",
    breakIt: (a) => link(a, POD, "veth0").flags = ["BROADCAST", "MULTICAST"],
    says: () => ['"veth0" is down'],
  },
  {
    what: "the veth0 MTU",
    scenario: "underlay IPv4",
    extra: EXTRA,
    breakIt: (a) => link(a, POD, "veth0").mtu = 1400,
    says: () => ['"veth0" MTU 1400 is not 1480'],
  },
  {
    what: "the NIC's txqueuelen",
    scenario: "underlay IPv4",
    extra: EXTRA,
    breakIt: (a) => link(a, POD, "eth0").txqlen = 10,
    says: () => ['"eth0" txqueuelen 10 is not 2000'],
  },
  {
    what: "the NIC's MAC (podMACPrefix)",
    scenario: "underlay IPv4",
    extra: EXTRA,
    breakIt: (a) => link(a, POD, "eth0").address = "02:aa:0a:06:d4:f1",
    says: () => ['"eth0" MAC "02:aa:0a:06:d4:f1" is not "0a:1b:0a:06:d4:f1"'],
  },
  {
    what: "the node end down",
    scenario: "underlay IPv4",
    breakIt: (a) => link(a, undefined, hv).flags = ["BROADCAST", "MULTICAST"],
    says: () => [`node interface "${hv}" is down`],
  },
  {
    what: "a node route",
    scenario: "underlay IPv4",
    breakIt: (a) => node(a).routes = without(node(a).routes, (r) => r.table === "500"),
    says: () => [`node route "10.6.212.241 dev ${hv} table 500"`],
  },
  {
    what: "the node rule (IPv4)",
    scenario: "underlay IPv4",
    breakIt: (a) => node(a).rules[4] = without(node(a).rules[4], (r) => r.table === "500"),
    says: () => ['node IPv4 rule "1000: from all lookup 500"'],
  },
  {
    what: "the node rule (IPv6)",
    scenario: "underlay dual stack",
    breakIt: (a) => node(a).rules[6] = without(node(a).rules[6], (r) => r.table === "500"),
    says: () => ['node IPv6 rule "1000: from all lookup 500"'],
  },
  {
    what: "a node neighbour",
    scenario: "underlay IPv4",
    breakIt: (a) => node(a).neigh = without(node(a).neigh, (n) => n.dst === "10.6.212.241"),
    says: (a) => [`node neighbour "10.6.212.241" lladdr "${a.P}" dev "${hv}"`],
  },
  {
    what: "a mangle rule",
    scenario: "underlay IPv4",
    breakIt: (a) => pod(a).mangle[4] = without(pod(a).mangle[4], (t) => t.startsWith("OUTPUT")),
    says: () => [
      'pod iptables mangle rule "-A OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff"',
    ],
  },
  {
    what: "a pod sysctl",
    scenario: "underlay IPv4",
    breakIt: (a) => pod(a).sysctls.set("net.ipv4.conf.eth0.rp_filter", "1"),
    says: () => ['pod sysctl "net.ipv4.conf.eth0.rp_filter" is 1, not 0'],
  },
  {
    what: "the node end's accept_ra",
    scenario: "underlay IPv4",
    breakIt: (a) => node(a).sysctls.set(`net.ipv6.conf.${hv}.accept_ra`, "1"),
    says: () => [`node sysctl "net.ipv6.conf.${hv}.accept_ra" is 1, not 0`],
  },
  {
    what: "the pair no longer peers",
    scenario: "underlay IPv4",
    breakIt: (a) => link(a, POD, "veth0").link_index = 999,
    says: () => [`"${hv}" is not the peer of "veth0"`],
  },
];

for (const c of CASES) {
  Deno.test(`cmdCheck() fails with 104 naming ${c.what}, and nothing else (${c.scenario})`, async () => {
    const a = await added(c.scenario, c.extra);
    c.breakIt(a);
    await checkFails(a, c.says(a));
  });
}

Deno.test("cmdCheck() without a record plans what ADD made, says so, and finds it there", async () => {
  const a = await added("underlay IPv4", EXTRA);
  a.k.state.remove(String(a.s.conf["name"]), a.s.call.containerId, "eth0");
  const ctx = cmdContext("CHECK", a.s.conf, a.s.call, a.s.prev);
  await cmdCheck(ctx, a.k);
  assert.ok(ctx.log.lines.some((l) => l.msg.startsWith("CHECK without a record")));
  pod(a).routes = without(pod(a).routes, (r) => r.dst === "10.233.0.0/18");
  await checkFails(a, ['pod route "10.233.0.0/18 via 10.6.212.101 dev veth0"']);
});

Deno.test("cmdCheck() lists every difference at once: the whole pair gone", async () => {
  const a = await added("underlay IPv4");
  a.k.destroyNetns(POD);
  a.k.addNetns(POD);
  await assert.rejects(
    () => cmdCheck(cmdContext("CHECK", a.s.conf, a.s.call, a.s.prev), a.k),
    (err: unknown) => {
      assert.ok(err instanceof CniError && err.code === 104);
      for (
        const item of ['pod interface "veth0"', `node interface "${hv}"`, 'pod interface "eth0"']
      ) {
        assert.ok(err.message.includes(item), `${item} in ${err.message}`);
      }
      return true;
    },
  );
});
