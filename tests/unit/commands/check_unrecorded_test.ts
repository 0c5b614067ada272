/**
 * commands/check.ts without a record, on the fake kernel
 * (tests/_helpers/fake_kernel.ts), without root (issue 21): each scenario
 * ADDed and its record removed passes CHECK, which logs that it ran without
 * a record; a broken item of each kind is named with 104, and nothing else;
 * pods built as Spiderpool's Go coordinator leaves them (spec 3.7.1, 3.7.2,
 * and the original's first-NIC count, spec 8.1-8) pass; missing pieces (the
 * pair's ends, the NIC) are differences (104) naming them, not 102. The
 * privileged twin is tests/integration/check_unrecorded_test.ts.
 */

import assert from "node:assert/strict";
import type { Result } from "../../../mod/cni/types.ts";
import { cmdAdd } from "../../../mod/commands/add.ts";
import { cmdCheck } from "../../../mod/commands/check.ts";
import { CniError } from "../../../mod/errors.ts";
import {
  addMacvlanNic,
  addPtpEth0,
  buildScenario,
  type Call,
  cmdContext,
  CONTAINER,
  type FakeKernel,
  type FakeRoute,
  HOST_VETH,
  nodeWorld,
  POD,
  type Scenario,
  type ScenarioName,
  SCENARIOS,
  UNDERLAY_CONF,
  WORLD,
  worldRoute,
} from "../../_helpers/fake_kernel.ts";

type Conf = Record<string, unknown>;

/** One NIC to CHECK: its config, call and prevResult. */
interface Nic {
  conf: Conf;
  call: Call;
  prev: Result;
}

/** A scenario ADDed (both NICs of "underlay net1 after eth0"), its records removed. */
async function unrecorded(name: ScenarioName, extra: Conf = {}): Promise<{
  s: Scenario;
  k: FakeKernel;
  nic: Nic;
  nics: Nic[];
}> {
  const s = await buildScenario(name, cmdAdd);
  s.conf = { ...s.conf, ...extra };
  const result = await cmdAdd(cmdContext("ADD", s.conf, s.call, s.prev), s.k);
  const nic = { conf: s.conf, call: s.call, prev: result };
  const nics = [nic];
  if (s.first !== undefined) {
    // Its ADD ran in buildScenario: its prevResult is what the main CNI gave eth0.
    const prev0 = prevOf(s.k, "eth0", ["10.6.212.241/16"], [WORLD.gateway4]);
    nics.unshift({ conf: s.first.conf, call: s.first.call, prev: prev0 });
  }
  for (const n of nics) s.k.state.remove(String(n.conf["name"]), n.call.containerId, n.call.ifname);
  assert.deepEqual(s.k.stateFiles(), []);
  return { s, k: s.k, nic, nics };
}

/** A 1.0.0 prevResult of a NIC as the main CNI gave it. */
function prevOf(k: FakeKernel, ifname: string, addrs: string[], gateways: string[]): Result {
  return {
    cniVersion: "1.0.0",
    interfaces: [{ name: ifname, mac: k.link(POD, ifname).address, sandbox: POD }],
    ips: addrs.map((address, i) => ({
      address,
      interface: 0,
      ...(gateways[i] === undefined ? {} : { gateway: gateways[i] }),
    })),
    routes: gateways.map((gw) => ({ dst: gw.includes(":") ? "::/0" : "0.0.0.0/0", gw })),
  };
}

async function checkPasses(k: FakeKernel, nic: Nic): Promise<void> {
  const ctx = cmdContext("CHECK", nic.conf, nic.call, nic.prev);
  await cmdCheck(ctx, k);
  assert.ok(
    ctx.log.lines.some((l) =>
      l.level === "info" && l.msg.startsWith("CHECK without a record") &&
      l.fields["containerId"] === nic.call.containerId && l.fields["ifname"] === nic.call.ifname
    ),
    "the log says CHECK ran without a record",
  );
}

async function checkFails(k: FakeKernel, nic: Nic, items: string[]): Promise<void> {
  await assert.rejects(
    () => cmdCheck(cmdContext("CHECK", nic.conf, nic.call, nic.prev), k),
    (err: unknown) => {
      assert.ok(err instanceof CniError, String(err));
      assert.equal(err.code, 104, err.message);
      assert.equal(
        err.message,
        `CHECK of "${nic.call.ifname}" found differences: ${items.join("; ")}`,
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

for (const name of SCENARIOS) {
  Deno.test(`cmdCheck() without a record passes after ADD and says so (${name})`, async () => {
    const { k, nics } = await unrecorded(name);
    k.reset();
    for (const nic of nics) await checkPasses(k, nic);
    // It only reads: no change, no sysctl or mangle write, no state file.
    const wrote = k.ops.filter((o) => !["read", "mangle-read"].includes(o.kind));
    assert.deepEqual(wrote.map((o) => o.text), []);
    assert.deepEqual(k.stateFiles(), []);
  });
}

/** One broken item: the scenario, how to break it, what CHECK must say. */
interface Case {
  what: string;
  scenario: ScenarioName;
  extra?: Conf;
  breakIt(k: FakeKernel): void;
  says(k: FakeKernel): string[];
}

const pod = (k: FakeKernel) => k.ns(POD);
const node = (k: FakeKernel) => k.ns();
const hv = HOST_VETH;
const macOf = (k: FakeKernel, netns: string | undefined, name: string) =>
  k.link(netns, name).address;

const CASES: Case[] = [
  {
    what: "a Service route",
    scenario: "underlay IPv4",
    breakIt: (k) => pod(k).routes = without(pod(k).routes, (r) => r.dst === "10.233.0.0/18"),
    says: () => ['pod route "10.233.0.0/18 via 10.6.212.101 dev veth0"'],
  },
  {
    what: "an IPv6 route of table 100",
    scenario: "underlay dual stack",
    breakIt: (k) =>
      pod(k).routes = without(
        pod(k).routes,
        (r) => r.family === 6 && r.table === "100" && r.dst === "default",
      ),
    says: () => ['pod route "default via fd00:6::101 dev veth0 table 100"'],
  },
  {
    what: "the fwmark rule",
    scenario: "underlay IPv6 only",
    breakIt: (k) => pod(k).rules[6] = without(pod(k).rules[6], (r) => r.fwmark === "0x1"),
    says: () => ['pod IPv6 rule "1000: from all fwmark 0x1 lookup 100"'],
  },
  {
    what: "a later NIC's rule",
    scenario: "underlay net1 after eth0",
    breakIt: (k) => pod(k).rules[4] = without(pod(k).rules[4], (r) => r.src === "10.7.212.5"),
    says: () => ['pod IPv4 rule "999: from 10.7.212.5 lookup 101"'],
  },
  {
    what: "a later NIC's default route, back in main",
    scenario: "underlay net1 after eth0",
    breakIt: (k) => pod(k).routes.push(worldRoute("default", "net1", { gateway: "10.7.0.1" })),
    says: () => [
      'pod route "default via 10.7.0.1 dev net1" is back (ADD moved it out of the main table)',
    ],
  },
  {
    what: "the overlay NIC's rule for the first NIC's replies",
    scenario: "overlay net1",
    breakIt: (k) => pod(k).rules[4] = without(pod(k).rules[4], (r) => r.src === "10.233.100.2"),
    says: () => ['pod IPv4 rule "32764: from 10.233.100.2 lookup 100"'],
  },
  {
    // Its priority is the one a new ADD would take (the kernel's pick, second rule - 1).
    what: "the overlay NIC's own rule, at the priority it would get now",
    scenario: "overlay net1",
    breakIt: (k) => pod(k).rules[4] = without(pod(k).rules[4], (r) => r.src === "10.6.212.241"),
    says: () => ['pod IPv4 rule "32763: from 10.6.212.241 lookup 101"'],
  },
  {
    what: "a pod neighbour",
    scenario: "overlay net1",
    breakIt: (k) => pod(k).neigh = without(pod(k).neigh, (n) => n.dst === "10.6.212.101"),
    says: (k) => [
      `pod neighbour "10.6.212.101" lladdr "${macOf(k, undefined, "vethptp1")}" dev "eth0"`,
    ],
  },
  {
    what: "an ip6tables mangle rule",
    scenario: "underlay dual stack",
    breakIt: (k) => pod(k).mangle[6] = without(pod(k).mangle[6], (t) => t.startsWith("OUTPUT")),
    says: () => [
      'pod ip6tables mangle rule "-A OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff"',
    ],
  },
  {
    what: "all.rp_filter",
    scenario: "underlay IPv4",
    breakIt: (k) => pod(k).sysctls.set("net.ipv4.conf.all.rp_filter", "1"),
    says: () => ['pod sysctl "net.ipv4.conf.all.rp_filter" is 1, not 0'],
  },
  {
    what: "the NIC's MAC (podMACPrefix)",
    scenario: "underlay dual stack",
    breakIt: (k) => k.link(POD, "eth0").address = "02:aa:0a:06:d4:f1",
    says: () => ['"eth0" MAC "02:aa:0a:06:d4:f1" is not "0a:1b:0a:06:d4:f1"'],
  },
  {
    what: "the node's table-500 route",
    scenario: "overlay net1",
    breakIt: (k) => node(k).routes = without(node(k).routes, (r) => r.table === "500"),
    says: () => ['node route "10.6.212.241 dev vethptp1 table 500"'],
  },
  {
    what: "the node's IPv6 rule",
    scenario: "underlay dual stack",
    breakIt: (k) => node(k).rules[6] = without(node(k).rules[6], (r) => r.table === "500"),
    says: () => ['node IPv6 rule "1000: from all lookup 500"'],
  },
  {
    what: "a node neighbour",
    scenario: "underlay net1 after eth0",
    breakIt: (k) => node(k).neigh = without(node(k).neigh, (n) => n.dst === "10.7.212.5"),
    says: (k) => [`node neighbour "10.7.212.5" lladdr "${macOf(k, POD, "veth0")}" dev "${hv}"`],
  },
  {
    what: "the node end's accept_ra",
    scenario: "underlay IPv4",
    breakIt: (k) => node(k).sysctls.set(`net.ipv6.conf.${hv}.accept_ra`, "1"),
    says: () => [`node sysctl "net.ipv6.conf.${hv}.accept_ra" is 1, not 0`],
  },
];

for (const c of CASES) {
  Deno.test(`cmdCheck() without a record names ${c.what} with 104, and nothing else (${c.scenario})`, async () => {
    const { k, nic } = await unrecorded(c.scenario, c.extra);
    c.breakIt(k);
    await checkFails(k, nic, c.says(k));
  });
}

Deno.test("cmdCheck() without a record of a NIC that podDefaultRouteNic names: passes, names its broken items", async () => {
  for (const name of ["overlay net1", "underlay net1 after eth0"] as const) {
    const { k, nic } = await unrecorded(name, { podDefaultRouteNic: "net1" });
    await checkPasses(k, nic);
    // The first NIC's default route moved into net1's table (the table of the rule from its address).
    const [src, prio] = name === "overlay net1" ? ["10.233.100.2", 32765] : ["10.6.212.241", 999];
    const moved = pod(k).routes.find((r) =>
      r.table === "101" && r.dst === "default" && r.dev === "eth0"
    );
    assert.ok(moved !== undefined, `${name}: eth0's default in table 101`);
    pod(k).rules[4] = without(pod(k).rules[4], (r) => r.src === src);
    pod(k).routes.push(worldRoute("default", "eth0", { gateway: moved.gateway! }));
    await checkFails(k, nic, [
      `pod IPv4 rule "${prio}: from ${src} lookup 101"`,
      `pod route "default via ${moved.gateway} dev eth0" is back (ADD moved it out of the main table)`,
    ]);
    // The moved route itself gone (the rule back): its gateway only a record knows.
    pod(k).routes = pod(k).routes.filter((r) => !(r.dst === "default" && r.dev === "eth0"));
    pod(k).rules[4].push({ priority: prio, src, srclen: 32, table: "101" });
    await checkFails(k, nic, ['pod route "default dev eth0 table 101"']);
  }
});

Deno.test("cmdCheck() without a record of the first overlay NIC once a later one followed: the later NIC's rules are not the pod its ADD found", async () => {
  const s = await buildScenario("overlay net1", cmdAdd);
  const net1: Nic = {
    conf: s.conf,
    call: s.call,
    prev: await cmdAdd(cmdContext("ADD", s.conf, s.call, s.prev), s.k),
  };
  const prev2 = addMacvlanNic(s.k, POD, {
    ifname: "net2",
    addrs: ["10.6.212.242/16"],
    gateways: [WORLD.gateway4],
  });
  const conf2 = { ...s.conf, name: "ut-overlay-net2" };
  const call2 = { ...s.call, ifname: "net2" };
  const net2: Nic = {
    conf: conf2,
    call: call2,
    prev: await cmdAdd(cmdContext("ADD", conf2, call2, prev2), s.k),
  };
  assert.ok(pod(s.k).rules[4].some((r) => r.src === "10.6.212.242" && r.table === "102"));
  for (const n of [net1, net2]) {
    s.k.state.remove(String(n.conf["name"]), n.call.containerId, n.call.ifname);
  }
  await checkPasses(s.k, net1);
  await checkPasses(s.k, net2);
  // net1 is still held to a first NIC's items.
  pod(s.k).rules[4] = without(pod(s.k).rules[4], (r) => r.table === "100");
  await checkFails(s.k, net1, ['pod IPv4 rule "32764: from 10.233.100.2 lookup 100"']);
});

// --- Pods as Spiderpool's Go coordinator leaves them (spec 3.7) ------------

const NODE4 = WORLD.nodeIp4;
const MANGLE = [
  "PREROUTING -i veth0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff",
  "PREROUTING -m mark --mark 0x1 -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff",
  "OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff",
];

/** The config the agent payload of 3.7 implies. */
const CONF_37: Conf = { ...UNDERLAY_CONF, name: "ut-original", podRPFilter: 0 };

/** The distribution's rp_filter 2 the pods of 3.7 had; the original writes 0 on `all` only. */
function rpFilter(k: FakeKernel): void {
  const s = pod(k).sysctls;
  for (const n of ["default", ...pod(k).links.map((l) => l.ifname)]) {
    s.set(`net.ipv4.conf.${n}.rp_filter`, "2");
  }
  s.set("net.ipv4.conf.all.rp_filter", "0");
}

const up = (k: FakeKernel, netns: string | undefined, name: string) =>
  k.link(netns, name).flags.push("UP", "LOWER_UP");

/**
 * Spec 3.7.1 on the fake: macvlan eth0 10.6.212.241/16, then the original's
 * veth pair (txqueuelen 0, random MACs), routes, rule, neighbours, mangle
 * rules, sysctls; the node's rule, table-500 route, neighbour, accept_ra.
 */
function original371(): { k: FakeKernel; nic: Nic } {
  const k = nodeWorld();
  k.addNetns(POD);
  const prev = addMacvlanNic(k, POD, {
    ifname: "eth0",
    addrs: ["10.6.212.241/16"],
    gateways: [WORLD.gateway4],
  });
  const [P, H] = ["3e:f4:9c:b5:14:e7", "e6:de:0d:0a:e2:7f"];
  k.addVeth({ netns: POD, name: "veth0", mac: P }, { name: HOST_VETH, mac: H }, 1500, 0);
  up(k, POD, "veth0");
  up(k, undefined, HOST_VETH);
  const src = { prefsrc: "10.6.212.241" };
  pod(k).routes.push(
    worldRoute("default", "veth0", { gateway: NODE4, table: "100", ...src }),
    worldRoute(NODE4, "veth0", { table: "101", scope: "link", ...src }),
    worldRoute(NODE4, "veth0", { scope: "link", ...src }),
    ...["10.233.0.0/18", "10.233.64.0/18", "169.254.20.10"].map((dst) =>
      worldRoute(dst, "veth0", { gateway: NODE4, ...src })
    ),
  );
  pod(k).rules[4].push({ priority: 1000, src: "all", fwmark: "0x1", table: "100" });
  pod(k).neigh.push({ dst: NODE4, dev: "veth0", lladdr: H, state: ["PERMANENT"] });
  pod(k).mangle[4].push(...MANGLE);
  rpFilter(k);
  node(k).rules[4].push({ priority: 1000, src: "all", table: "500" });
  node(k).routes.push(worldRoute("10.6.212.241", HOST_VETH, { table: "500", scope: "link" }));
  node(k).neigh.push({ dst: "10.6.212.241", dev: HOST_VETH, lladdr: P, state: ["PERMANENT"] });
  node(k).sysctls.set(`net.ipv6.conf.${HOST_VETH}.accept_ra`, "0");
  return {
    k,
    nic: { conf: CONF_37, call: { containerId: CONTAINER, netns: POD, ifname: "eth0" }, prev },
  };
}

/**
 * Spec 3.7.2 on the fake: ptp eth0, macvlan net1 10.6.212.241/16, then the
 * original's rules without priority (32765, 32764), tables 100 and 101, net1's
 * default moved, neighbours on eth0; the node's rule, table-500 route and
 * neighbour on the ptp end. With `extraLink`, the pod has another UP link and
 * the original (counting 3 UP links, spec 3.2) planned net1 as a later NIC:
 * table 102, no table-100 rule, no pod neighbours, routes in 102 only.
 */
function original372(extraLink = false): { k: FakeKernel; nic: Nic } {
  const k = nodeWorld();
  k.addNetns(POD);
  addPtpEth0(k, POD, "vethptp1");
  if (extraLink) {
    k.addVeth({ netns: POD, name: "xtra0", mac: "02:00:00:00:0e:01" }, {
      netns: POD,
      name: "xtra1",
      mac: "02:00:00:00:0e:02",
    });
    up(k, POD, "xtra0");
    up(k, POD, "xtra1");
  }
  const prev = addMacvlanNic(k, POD, {
    ifname: "net1",
    addrs: ["10.6.212.241/16"],
    gateways: [WORLD.gateway4],
  });
  const first = !extraLink;
  const t = first ? "101" : "102";
  const ptpMac = k.link(undefined, "vethptp1").address;
  const eth0Mac = k.link(POD, "eth0").address;
  const src = { prefsrc: "10.233.100.2" };
  const routes = pod(k).routes;
  pod(k).routes = without(routes, (r) => r.dst === "default" && r.dev === "net1");
  const hostRoutes = ["10.233.100.1", NODE4].map((h) =>
    worldRoute(h, "eth0", { table: t, scope: "link", ...src })
  );
  const hijack = (table: string): FakeRoute[] =>
    ["10.233.0.0/18", "10.233.64.0/18", "169.254.20.10"].map((dst) =>
      worldRoute(dst, "eth0", { gateway: "10.233.100.1", table, ...src })
    );
  pod(k).routes.push(
    worldRoute("default", "net1", { gateway: WORLD.gateway4, table: t }),
    worldRoute("10.6.0.0/16", "net1", { table: t, scope: "link", prefsrc: "10.6.212.241" }),
    ...hostRoutes,
  );
  if (first) {
    pod(k).routes.push(
      worldRoute("default", "eth0", { gateway: "10.233.100.1", table: "100" }),
      worldRoute(NODE4, "eth0", { scope: "link", ...src }),
      ...hijack("main"),
    );
    pod(k).rules[4].push(
      { priority: 32765, src: "10.6.212.241", srclen: 32, table: "101" },
      { priority: 32764, src: "10.233.100.2", srclen: 32, table: "100" },
    );
    for (const h of ["10.233.100.1", NODE4]) {
      pod(k).neigh.push({ dst: h, dev: "eth0", lladdr: ptpMac, state: ["PERMANENT"] });
    }
  } else {
    pod(k).routes.push(...hijack(t));
    pod(k).rules[4].push({ priority: 32765, src: "10.6.212.241", srclen: 32, table: t });
  }
  rpFilter(k);
  node(k).rules[4].push({ priority: 1000, src: "all", table: "500" });
  node(k).routes.push(worldRoute("10.6.212.241", "vethptp1", { table: "500", scope: "link" }));
  node(k).neigh.push({
    dst: "10.6.212.241",
    dev: "vethptp1",
    lladdr: eth0Mac,
    state: ["PERMANENT"],
  });
  const call = { containerId: CONTAINER, netns: POD, ifname: "net1" };
  return { k, nic: { conf: { ...CONF_37, name: "ut-original-net1" }, call, prev } };
}

Deno.test("cmdCheck() passes on a pod as the original leaves it: underlay IPv4 (spec 3.7.1)", async () => {
  const { k, nic } = original371();
  await checkPasses(k, nic);
  // rp_filter: only `all` is held (the original writes no other key, 8.1 "rp_filter").
  pod(k).sysctls.set("net.ipv4.conf.all.rp_filter", "2");
  await checkFails(k, nic, ['pod sysctl "net.ipv4.conf.all.rp_filter" is 2, not 0']);
});

Deno.test("cmdCheck() passes on a pod as the original leaves it: overlay ptp eth0 + macvlan net1 (spec 3.7.2)", async () => {
  const { k, nic } = original372();
  await checkPasses(k, nic);
  pod(k).rules[4] = without(pod(k).rules[4], (r) => r.table === "100");
  await checkFails(k, nic, ['pod IPv4 rule "32764: from 10.233.100.2 lookup 100"']);
});

Deno.test("cmdCheck() passes on an overlay pod the original planned as a later NIC for another UP link (spec 3.2, 8.1-8)", async () => {
  const { k, nic } = original372(true);
  await checkPasses(k, nic);
  pod(k).routes = without(pod(k).routes, (r) => r.table === "102" && r.dst === "169.254.20.10");
  await checkFails(k, nic, ['pod route "169.254.20.10 via 10.233.100.1 dev eth0 table 102"']);
});

// --- Missing pieces: differences (104) naming them ----------------------------

Deno.test("cmdCheck() without a record: a missing veth0, node end or NIC is named with 104, not 102", async () => {
  const cases: {
    scenario: ScenarioName;
    breakIt(k: FakeKernel): void;
    says(k: FakeKernel): string;
  }[] = [
    {
      scenario: "underlay IPv4",
      breakIt: (k) => pod(k).links = pod(k).links.filter((l) => l.ifname !== "veth0"),
      says: () => 'pod interface "veth0"',
    },
    {
      scenario: "underlay IPv4",
      breakIt: (k) => node(k).links = node(k).links.filter((l) => l.ifname !== hv),
      says: () => `The node end of "veth0" ("${hv}") was not found`,
    },
    {
      scenario: "overlay net1",
      breakIt: (k) => node(k).links = node(k).links.filter((l) => l.ifname !== "vethptp1"),
      says: (k) =>
        `The node end of "eth0" (ifindex ${k.link(POD, "eth0").link_index}) was not found`,
    },
    {
      scenario: "underlay net1 after eth0",
      breakIt: (k) => pod(k).links = pod(k).links.filter((l) => l.ifname !== "veth0"),
      says: () =>
        'pod interface "veth0" (without it "net1" would be in overlay mode: ' +
        `Interface "eth0" is not a veth: overlay mode needs the first NIC's veth pair)`,
    },
    {
      scenario: "underlay dual stack",
      breakIt: (k) => pod(k).links = pod(k).links.filter((l) => l.ifname !== "eth0"),
      says: () => `Interface "eth0" not found in netns "${POD}"`,
    },
  ];
  for (const c of cases) {
    const { k, nic } = await unrecorded(c.scenario);
    c.breakIt(k);
    await checkFails(k, nic, [c.says(k)]);
  }
});
