/**
 * `coordinator explain` against ADD on the same input: for the worked examples
 * (underlay single NIC, dual stack, two NICs, overlay with a macvlan net1),
 * explain runs first (in the node netns, reading the pod with --netns), then
 * ADD; every route, rule and neighbour explain lists is what ADD added (the
 * random veth MACs filled in), the routes it lists as deleted are what ADD
 * removed, and its mangle rules, sysctls and MAC are what the pod has.
 */

import assert from "node:assert/strict";
import { addMacvlanNic, addPtpEth0, itConf, type World, worldTest } from "../_helpers/world.ts";
import {
  diffSnapshots,
  macOf,
  privilegedSkipReason,
  readback,
  type Snapshot,
  type TestNetns,
  toolsSkipReason,
} from "../_helpers/netns.ts";
import { cni, containerId, pluginArgv, runProcess } from "../_helpers/cni.ts";
import type { Result } from "../../mod/cni/types.ts";
import type { Explanation } from "../../mod/plan/explain.ts";
import { HOST_VETH_MAC, POD_VETH_MAC } from "../../mod/plan/explain.ts";

const skip = privilegedSkipReason() ?? toolsSkipReason("iptables-restore");

async function explain(
  w: World,
  conf: Record<string, unknown>,
  prev: Result,
  args: string[],
): Promise<Explanation> {
  const run = await runProcess(
    [...pluginArgv(), "explain", "--json", ...args],
    { PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
    JSON.stringify({ ...conf, prevResult: prev }),
    { netns: w.node },
  );
  assert.equal(run.code, 0, run.stdout + run.stderr);
  return run.json as Explanation;
}

/** ip show text without what explain leaves out (metric, proto, tabs). */
function norm(l: string): string {
  return l.replace(/\t/g, " ").replace(/ proto \S+/, "").replace(/ metric \d+/, "").trim();
}

/**
 * Compare explain's items of one place with what ADD changed there.
 *
 * @param ex the explanation
 * @param place pod or node
 * @param before snapshot before ADD
 * @param after snapshot after ADD
 * @param macs placeholder -> real MAC
 */
function compare(
  ex: Explanation,
  place: "pod" | "node",
  before: Snapshot,
  after: Snapshot,
  macs: Record<string, string>,
): void {
  const fill = (t: string) => Object.entries(macs).reduce((s, [k, v]) => s.replaceAll(k, v), t);
  const mine = ex.items.filter((i) => i.place === place);
  const d = diffSnapshots(before, after);
  const had = new Set([
    ...before.routes4,
    ...before.routes6,
    ...before.rules4,
    ...before.rules6,
    ...before.neigh,
  ].map(norm));
  const of = (section: string, op: string) =>
    mine.filter((i) => i.section === section && i.op === op).map((i) => norm(fill(i.text)))
      .filter((t) => op !== "create" || !had.has(t));
  // A nexthop deleted from a multipath route: the kernel replaces the route,
  // so the diff holds the multipath line (removed) and what is left (added).
  // Count that as the nexthop's removal.
  const addedRaw = (keys: (keyof Snapshot)[]) => keys.flatMap((k) => d[k]?.added ?? []).map(norm);
  const removedRaw = (keys: (keyof Snapshot)[]) =>
    keys.flatMap((k) => d[k]?.removed ?? []).map(norm);
  const left: string[] = [];
  const gone: string[] = [];
  // `ip route show` prints a multipath route as its head ("default") and one
  // "nexthop via X dev D" line per hop (the worlds' only multipath routes are defaults).
  for (const r of removedRaw(["routes4", "routes6"])) {
    const hop = /^nexthop via (\S+) dev (\S+)/.exec(r);
    if (r === "default") continue;
    if (hop === null) {
      gone.push(r);
      continue;
    }
    const single = `default via ${hop[1]} dev ${hop[2]}`;
    if (addedRaw(["routes4", "routes6"]).includes(single)) left.push(single);
    else gone.push(single);
  }
  const added = (keys: (keyof Snapshot)[]) =>
    addedRaw(keys).filter((l) => !left.includes(l) && !/nexthop/.test(l)).sort();
  const removed = (_keys: (keyof Snapshot)[]) => [...gone].sort();
  assert.deepEqual(of("route", "create").sort(), added(["routes4", "routes6"]), `${place} routes`);
  assert.deepEqual(
    of("route", "delete").sort(),
    removed(["routes4", "routes6"]),
    `${place} routes removed`,
  );
  assert.deepEqual(of("rule", "create").sort(), added(["rules4", "rules6"]), `${place} rules`);
  assert.deepEqual(of("neigh", "create").sort(), added(["neigh"]), `${place} neighbours`);
  for (const f of [4, 6] as const) {
    const rules = mine.filter((i) => i.section === "mangle" && i.family === f).map((i) => i.text);
    const now = (f === 4 ? after.iptables : after.ip6tables).filter((l) => l.startsWith("-A"));
    const was = (f === 4 ? before.iptables : before.ip6tables).filter((l) => l.startsWith("-A"));
    assert.deepEqual(rules, now.filter((l) => !was.includes(l)), `${place} mangle IPv${f}`);
  }
  for (const s of mine.filter((i) => i.section === "sysctl")) {
    const [key, value] = s.args as [string, string];
    const short = key.replace(/^net\./, "").replace(/\.conf\./, ".");
    const line = after.sysctls.find((l) => l.startsWith(`${short}=`));
    if (line !== undefined) assert.equal(line, `${short}=${value}`, `${place} sysctl ${key}`);
  }
}

async function world4(w: World): Promise<void> {
  await w.addServiceAddress("10.233.0.10/32");
  await w.addServiceAddress("169.254.20.10/32");
}

/** The ADDs each world made, DELed in reverse by {@linkcode delAll}. */
const added = new WeakMap<World, {
  node0: Awaited<ReturnType<typeof readback>>;
  adds: { conf: Record<string, unknown>; prev: Result; call: Parameters<typeof cni>[3] }[];
}>();

/** DEL every ADD of the world, last first; the node ends as before the first ADD. */
async function delAll(w: World): Promise<void> {
  const record = added.get(w);
  if (record === undefined) return;
  for (const a of [...record.adds].reverse()) {
    const del = await cni(w.node, "DEL", a.conf, a.call, a.prev);
    assert.equal(del.code, 0, del.stdout + del.stderr);
  }
  assert.deepEqual(
    nodeState(await readback(w.node)),
    nodeState(record.node0),
    "the node after DEL",
  );
}

/** The node state DEL must restore (the shared rule of table 500 may stay, as DEL allows). */
function nodeState(r: Awaited<ReturnType<typeof readback>>) {
  const shared = (l: string) => !/^1000:\s+from all lookup 500\b/.test(l);
  return { ...r, rules4: r.rules4.filter(shared), rules6: r.rules6.filter(shared) };
}

/** explain, ADD, compare pod and node. */
async function explainThenAdd(
  w: World,
  pod: TestNetns,
  conf: Record<string, unknown>,
  prev: Result,
  call: { containerId: string; netns: string; ifname: string },
): Promise<Explanation> {
  const ex = await explain(w, conf, prev, [
    "--netns",
    call.netns,
    "--ifname",
    call.ifname,
    "--container-id",
    call.containerId,
  ]);
  const node0 = await readback(w.node);
  const pod0 = await readback(pod);
  const add = await cni(w.node, "ADD", conf, call, prev);
  assert.equal(add.code, 0, add.stdout + add.stderr);
  const record = added.get(w) ?? { node0, adds: [] };
  record.adds.push({ conf, prev, call });
  added.set(w, record);
  const hv = `veth${call.containerId.slice(0, 11)}`;
  const links = await w.node.ip(["link", "show"]);
  const macs: Record<string, string> = {};
  if (links.includes(hv)) macs[HOST_VETH_MAC] = await macOf(w.node, hv);
  if ((await pod.ip(["link", "show"])).includes("veth0")) {
    macs[POD_VETH_MAC] = await macOf(pod, "veth0");
  }
  compare(ex, "pod", pod0, await readback(pod), macs);
  compare(ex, "node", node0, await readback(w.node), macs);
  if (ex.mac !== undefined) assert.equal(await macOf(pod, ex.ifname), ex.mac.to);
  return ex;
}

const BASE = itConf("it-explain", "explain", { hijackCIDR: ["169.254.20.10/32"] });

worldTest(skip, "explain = ADD: underlay single NIC (underlay example 1)", async (w) => {
  await world4(w);
  const pod = await w.addPod();
  const prev = await addMacvlanNic(w.node, pod, {
    ifname: "eth0",
    addrs: ["10.6.212.241/16"],
    gateways: ["10.6.0.1"],
  });
  const cid = containerId();
  const ex = await explainThenAdd(w, pod, BASE, prev, {
    containerId: cid,
    netns: pod.path,
    ifname: "eth0",
  });
  assert.equal(ex.mode, "underlay");
  assert.equal(ex.firstInvoke, true);
  assert.deepEqual(ex.nodeIps, ["10.6.212.101"]);
  assert.ok(ex.undecided.some((u) => u.includes(POD_VETH_MAC)));
  assert.ok(
    ex.items.some((i) => i.text === "10.233.0.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241"),
  );
  await delAll(w);
});

worldTest(
  skip,
  "explain = ADD: dual stack + podMACPrefix, then net1 (underlay example 3, two NICs)",
  async (w) => {
    await w.gw.ip(["addr", "add", "10.7.0.1/16", "dev", "eth0"]);
    await w.gw.ip(["addr", "add", "fd00:10:7::1/64", "dev", "eth0", "nodad"]);
    const pod = await w.addPod();
    const conf = {
      ...BASE,
      name: "it-explain-dual",
      serviceCIDR: ["10.233.0.0/18", "fd00:10:233::/116"],
      overlayPodCIDR: ["10.233.64.0/18", "fd00:10:233:64::/64"],
      podMACPrefix: "0a:1b",
    };
    const prev = await addMacvlanNic(w.node, pod, {
      ifname: "eth0",
      addrs: ["10.6.212.241/16", "fd00:6::f1/64"],
      gateways: ["10.6.0.1", "fd00:6::1"],
    });
    const cid = containerId();
    const ex = await explainThenAdd(w, pod, conf, prev, {
      containerId: cid,
      netns: pod.path,
      ifname: "eth0",
    });
    assert.equal(ex.mac?.to, "0a:1b:0a:06:d4:f1");
    const prev1 = await addMacvlanNic(w.node, pod, {
      ifname: "net1",
      addrs: ["10.7.212.5/16", "fd00:10:7::5/64"],
      gateways: ["10.7.0.1", "fd00:10:7::1"],
    });
    const ex1 = await explainThenAdd(w, pod, { ...conf, name: "it-explain-net1" }, prev1, {
      containerId: cid,
      netns: pod.path,
      ifname: "net1",
    });
    assert.equal(ex1.mode, "underlay");
    assert.equal(ex1.firstInvoke, false);
    assert.equal(ex1.table, 101);
    assert.ok(ex1.why.some((s) => s.includes('"veth0" is in the pod')));
    await delAll(w);
  },
);

worldTest(skip, "explain = ADD: overlay eth0 (ptp veth) + macvlan net1", async (w) => {
  await world4(w);
  const pod = await w.addPod();
  await addPtpEth0(w, pod, `vethp${Math.floor(Math.random() * 1e6)}`);
  const prev = await addMacvlanNic(w.node, pod, {
    ifname: "net1",
    addrs: ["10.6.212.241/16"],
    gateways: ["10.6.0.1"],
  });
  const ex = await explainThenAdd(w, pod, { ...BASE, name: "it-explain-ov" }, prev, {
    containerId: containerId(),
    netns: pod.path,
    ifname: "net1",
  });
  assert.equal(ex.mode, "overlay");
  assert.ok(ex.why.some((s) => s.includes("overlay")));
  assert.deepEqual(ex.undecided, [], "the pair's node end is found on the node");
  await delAll(w);
});
