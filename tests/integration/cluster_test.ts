/**
 * One file: both kube-proxy modes run the same cases, controls and measurements in one world each.
 *
 * Two nodes (tools/lib/cluster_world.ts): the paths that cross nodes, as real TCP exchanges
 * (IPv4 and IPv6), in kube-proxy's iptables and nftables modes:
 *
 * 1. underlay pod on A -> ClusterIP whose only backend is the overlay pod on B;
 * 2. underlay pod on A -> ClusterIP whose only backend is the underlay pod on B;
 * 3. underlay pod on A -> the overlay pod on B directly (asymmetric: out through node A,
 *    back straight over the underlay);
 * 4. the overlay pod on B -> the underlay pod on A (asymmetric the other way);
 * 5. external client -> NodePort on B -> the underlay pod on A, the reply through B;
 * 6. node B -> the underlay pod on A, node A -> the underlay pod on B;
 * 7. node B -> the multi-NIC pod on A's net1, the reply by net1.
 *
 * Every case runs without the coordinator (the control: 1-4 fail, 5-7 work, nothing the
 * coordinator does is on their path) and with it. With it, 3 and 4 are measured under
 * conntrack strict and kube-proxy's INVALID drop (iptables mode: they fail, and `coordinator
 * doctor` on node A says why and what to do), with `nf_conntrack_tcp_be_liberal=1` on the
 * nodes and the rule kept (kube-proxy before 1.29: they still fail), and with the rule left
 * out (1.29+ with the setting on, and the nftables mode: they work). After DEL both nodes
 * are as before ADD. docs/network.md ("Two nodes") has the table and the why.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  addr,
  CLUSTER,
  type ClusterWorld,
  conntrackLiberalSkipReason,
  createClusterWorld,
  type Dual,
  TCP_BE_LIBERAL,
} from "../../tools/lib/cluster_world.ts";
import type { Exchange, Family } from "../../tools/lib/kube_world.ts";
import { KUBE_PROXY, KUBE_PROXY_MODES, type KubeProxyMode } from "../../tools/lib/kube_proxy.ts";
import {
  diffSnapshots,
  privilegedSkipReason,
  readback,
  type Snapshot,
  testNamer,
  type TestNetns,
  toolsSkipReason,
} from "../_helpers/netns.ts";
import {
  type ChainRun,
  type Conflist,
  type Json,
  makePluginDir,
  type PluginDir,
  refPluginsSkipReason,
  runChain,
} from "../_helpers/refplugins.ts";
import { containerId } from "../_helpers/cni.ts";
import { doctor, withPlanted } from "../_helpers/doctor.ts";
import { WORLD } from "../_helpers/world.ts";
import { runLogFile } from "../_helpers/run.ts";

const base = privilegedSkipReason() ?? refPluginsSkipReason() ??
  toolsSkipReason(...KUBE_PROXY.iptables.tools) ?? conntrackLiberalSkipReason();

function skipFor(mode: KubeProxyMode): string | undefined {
  if (base !== undefined) return base;
  const missing = toolsSkipReason(...KUBE_PROXY[mode].tools);
  // Loud: the name says what to install (tools/scripts/ensure_packages.sh test does).
  return missing === undefined ? undefined : `${missing}: install the Debian package nftables`;
}

const TIMEOUT_MS = 3000;

/** The answer `<server> peer=<address it saw>`, or FAIL. */
type Outcome = string;

interface Case {
  /** "3 IPv6": the number and the family. */
  id: string;
  from: TestNetns;
  to: Dual;
  port: number;
  family: Family;
  server: string;
  /** Who the server must see. */
  peer: Dual;
  /** Without the coordinator: fails, or works (nothing of it on the path). */
  without: "fail" | "works";
  /** Crosses one node one way only (3 and 4). */
  asymmetric: boolean;
}

function cases(cw: ClusterWorld): Case[] {
  const { pods, a, b } = cw;
  const port = CLUSTER.serverPort;
  return cw.families.flatMap((family): Case[] => {
    const c = (
      n: string,
      rest: Omit<Case, "id" | "family" | "asymmetric"> & { asymmetric?: boolean },
    ) => ({
      id: `${n} IPv${family}`,
      family,
      asymmetric: false,
      ...rest,
    });
    return [
      // A masquerades the underlay pod (outside the cluster CIDR) to its node IP.
      c("1", {
        from: pods.underlayA,
        to: CLUSTER.toOverlayB,
        port: CLUSTER.servicePort,
        server: "overlay-b",
        peer: CLUSTER.a,
        without: "fail",
      }),
      c("2", {
        from: pods.underlayA,
        to: CLUSTER.toUnderlayB,
        port: CLUSTER.servicePort,
        server: "underlay-b",
        peer: CLUSTER.a,
        without: "fail",
      }),
      c("3", {
        from: pods.underlayA,
        to: CLUSTER.overlayB,
        port,
        server: "overlay-b",
        peer: CLUSTER.underlayA,
        without: "fail",
        asymmetric: true,
      }),
      c("4", {
        from: pods.overlayB,
        to: CLUSTER.underlayA,
        port,
        server: "underlay-a",
        peer: CLUSTER.overlayB,
        without: "fail",
        asymmetric: true,
      }),
      // externalTrafficPolicy Cluster: B masquerades the client to its own IP.
      c("5", {
        from: cw.client,
        to: CLUSTER.b,
        port: CLUSTER.nodePort,
        server: "underlay-a",
        peer: CLUSTER.b,
        without: "works",
      }),
      c("6 B->A", {
        from: b.ns,
        to: CLUSTER.underlayA,
        port,
        server: "underlay-a",
        peer: CLUSTER.b,
        without: "works",
      }),
      c("6 A->B", {
        from: a.ns,
        to: CLUSTER.underlayB,
        port,
        server: "underlay-b",
        peer: CLUSTER.a,
        without: "works",
      }),
      c("7", {
        from: b.ns,
        to: CLUSTER.multiNet1,
        port,
        server: "multi-a",
        peer: CLUSTER.b,
        without: "works",
      }),
    ];
  });
}

const answer = (c: Case) => `${c.server} peer=${addr(c.peer, c.family)}`;

/** Run the cases, those of one source netns in one client process; keyed by id. */
async function exchange(
  cw: ClusterWorld,
  list: readonly Case[],
): Promise<Record<string, Exchange>> {
  const groups = Map.groupBy(list, (c) => c.from);
  const out: Record<string, Exchange> = {};
  await Promise.all(
    [...groups].map(async ([from, group]) => {
      const res = await cw.exchanges(
        from,
        group.map((c) => ({ ip: addr(c.to, c.family), port: c.port })),
        { timeoutMs: TIMEOUT_MS },
      );
      group.forEach((c, i) => (out[c.id] = res[i]!));
    }),
  );
  return out;
}

const outcome = (e: Exchange): Outcome => (e.ok ? `${e.server} peer=${e.peer}` : "FAIL");

/** Assert the outcomes (`want` by id) with the raw exchanges in the message. */
async function assertOutcomes(
  cw: ClusterWorld,
  list: readonly Case[],
  want: (c: Case) => Outcome,
  what: string,
): Promise<Record<string, Exchange>> {
  const got = await exchange(cw, list);
  assert.deepEqual(
    Object.fromEntries(list.map((c) => [c.id, outcome(got[c.id]!)])),
    Object.fromEntries(list.map((c) => [c.id, want(c)])),
    `${what} (raw: ${JSON.stringify(got, null, 1)})`,
  );
  return got;
}

function macvlan(d: Dual): Json {
  return {
    type: "macvlan",
    master: WORLD.uplink,
    mode: "bridge",
    ipam: {
      type: "static",
      addresses: [
        { address: `${d.ip4}/${WORLD.prefix4}`, gateway: WORLD.gateway4 },
        { address: `${d.ip6}/${WORLD.prefix6}`, gateway: WORLD.gateway6 },
      ],
      routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }],
    },
  };
}

const COORDINATOR: Json = {
  type: "coordinator",
  mode: "auto",
  serviceCIDR: [...CLUSTER.serviceCIDR],
  overlayPodCIDR: [...CLUSTER.overlayPodCIDR],
  tunePodRoutes: true,
  hostRuleTable: 500,
  logOptions: { logLevel: "debug", logFile: runLogFile("cluster") },
};

/** The three attachments the plugins make: underlay eth0 on A and B, multi-NIC net1 on A. */
function chains(cw: ClusterWorld, dir: PluginDir, withCoordinator: boolean): ChainRun[] {
  const chain = (name: string, main: Json, pod: TestNetns, node: TestNetns, ifname: string) => {
    const list: Conflist = {
      cniVersion: "1.0.0",
      name,
      plugins: withCoordinator ? [main, COORDINATOR] : [main],
    };
    return runChain(list, {
      containerId: containerId(),
      netns: pod.path,
      ifname,
      cniPath: [dir.path],
      hostNetns: node,
    });
  };
  return [
    chain("underlay-a", macvlan(CLUSTER.underlayA), cw.pods.underlayA, cw.a.ns, "eth0"),
    chain("underlay-b", macvlan(CLUSTER.underlayB), cw.pods.underlayB, cw.b.ns, "eth0"),
    chain("multi-a-net1", macvlan(CLUSTER.multiNet1), cw.pods.multiA, cw.a.ns, "net1"),
  ];
}

/**
 * ADD the attachments, run `fn`, DEL them (also when `fn` fails); then both nodes must read
 * back as before ADD.
 */
async function attached(
  cw: ClusterWorld,
  dir: PluginDir,
  withCoordinator: boolean,
  fn: (runs: ChainRun[]) => Promise<void>,
): Promise<void> {
  // A pod made again gets a new MAC, and the reference macvlan announces IPv4 only:
  // the previous phase's neighbour entries would send IPv6 to the old MAC.
  for (const ns of [cw.a.ns, cw.b.ns, cw.gw]) await ns.ip(["neigh", "flush", "all"]);
  const before: Snapshot[] = await Promise.all([readback(cw.a.ns), readback(cw.b.ns)]);
  const runs = chains(cw, dir, withCoordinator);
  const added: ChainRun[] = [];
  let failure: unknown;
  try {
    for (const r of runs) {
      await r.add();
      added.push(r);
    }
    if (withCoordinator) { for (const r of runs) await r.check(); }
    await fn(runs);
  } catch (err) {
    failure = err;
  }
  const delErrors: string[] = [];
  for (const r of added.reverse()) {
    await r.del().catch((err) => delErrors.push(String(err)));
  }
  if (failure !== undefined) throw failure;
  assert.deepEqual(delErrors, [], "DEL failed");
  const after = await Promise.all([readback(cw.a.ns), readback(cw.b.ns)]);
  assert.deepEqual(diffSnapshots(before[0]!, after[0]!), {}, "node A as before ADD");
  assert.deepEqual(diffSnapshots(before[1]!, after[1]!), {}, "node B as before ADD");
}

/** The doctor's finding on conntrack INVALID drops, on node A. */
async function doctorInvalid(cw: ClusterWorld): Promise<string> {
  let level = "";
  await withPlanted(async (p) => {
    const f = (await doctor(cw.a.ns, p)).findings.find((x) => x.id === "conntrack-invalid");
    assert.ok(f, "doctor has a conntrack-invalid finding");
    level = f.level;
  });
  return level;
}

/** Packets node A's kube-proxy INVALID drop (iptables mode) has dropped, both families. */
async function invalidDropped(cw: ClusterWorld): Promise<number> {
  let sum = 0;
  for (const tool of cw.families.map((f) => (f === 6 ? "ip6tables-save" : "iptables-save"))) {
    const save = (await cw.a.ns.exec([tool, "-c", "-t", "filter"])).stdout;
    const m = /^\[(\d+):\d+\] -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP$/m.exec(save);
    if (!m) throw new Error(`No INVALID drop in ${tool} of node A:\n${save}`);
    sum += Number(m[1]);
  }
  return sum;
}

/** The machine's own value of the key (never written by the tests). */
function machineLiberal(): string {
  return Deno.readTextFileSync(`/proc/sys/${TCP_BE_LIBERAL.replaceAll(".", "/")}`).trim();
}

function clusterTest(mode: KubeProxyMode): void {
  const skip = skipFor(mode);
  Deno.test({
    name: testNamer(skip)(
      `[${mode}] two nodes: cases 1-7 (IPv4, IPv6) without the coordinator (1-4 fail) and with it; the asymmetric 3/4 under INVALID drop and be_liberal`,
    ),
    ignore: skip !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      await using cw = await createClusterWorld({ mode });
      await using dir = await makePluginDir();
      const all = cases(cw);
      const asym = all.filter((c) => c.asymmetric);
      const machine0 = machineLiberal();

      await t.step("without the coordinator: 1-4 fail, 5-7 work", async () => {
        await attached(cw, dir, false, async () => {
          await assertOutcomes(
            cw,
            all,
            (c) => (c.without === "fail" ? "FAIL" : answer(c)),
            "without the coordinator",
          );
        });
      });

      await t.step("with the coordinator", async () => {
        await attached(cw, dir, true, async () => {
          // kube-proxy's iptables mode drops the asymmetric paths (measured below).
          const strictDrop = mode === "iptables";
          const net1 = cw.families.map((f) => addr(CLUSTER.multiNet1, f));
          const net1Before = await Promise.all(net1.map((ip) => cw.forwardedFrom(cw.a, ip)));
          const dropped0 = strictDrop ? await invalidDropped(cw) : 0;
          const got = await assertOutcomes(
            cw,
            all,
            (c) => (c.asymmetric && strictDrop ? "FAIL" : answer(c)),
            `with the coordinator, ${mode} mode, conntrack strict`,
          );
          if (strictDrop) {
            // 3: the handshake completes (the SYN-ACK comes straight to the pod), then node A
            // drops the rest; 4: node A drops the SYN-ACK.
            for (const f of cw.families) {
              assert.equal(got[`3 IPv${f}`]!.connected, true, `3 IPv${f} connected`);
              assert.equal(got[`4 IPv${f}`]!.connected, false, `4 IPv${f} not connected`);
            }
            assert.ok(await invalidDropped(cw) > dropped0, "node A's INVALID drop dropped nothing");
          }

          // 7: the replies left by net1; node A forwarded none of them.
          const net1After = await Promise.all(net1.map((ip) => cw.forwardedFrom(cw.a, ip)));
          assert.deepEqual(net1After, net1Before, "net1's replies went through node A");
          for (const f of cw.families) {
            const route = await cw.pods.multiA.ip([
              "route",
              "get",
              addr(CLUSTER.b, f),
              "from",
              addr(CLUSTER.multiNet1, f),
            ]);
            assert.match(route, / dev net1 /, `IPv${f} reply route to node B`);
          }

          // 5 alone: the reply goes back through B (B forwards it to the client), not A (it
          // would forward it to B's IP). Counted by destination: half-open connections of 4
          // may still retransmit underlay-a's SYN-ACKs through A meanwhile.
          const five = all.filter((c) => c.id.startsWith("5 "));
          const count = () =>
            Promise.all(cw.families.flatMap((f) => [
              cw.forwardedFrom(cw.a, addr(CLUSTER.underlayA, f), addr(CLUSTER.b, f)),
              cw.forwardedFrom(cw.b, addr(CLUSTER.underlayA, f), addr(CLUSTER.client, f)),
            ]));
          const c0 = await count();
          await assertOutcomes(cw, five, answer, "case 5 again");
          const c1 = await count();
          for (const [i, f] of cw.families.entries()) {
            assert.equal(c1[2 * i], c0[2 * i], `IPv${f}: node A forwarded a case-5 reply`);
            assert.ok(c1[2 * i + 1]! > c0[2 * i + 1]!, `IPv${f}: node B forwarded no case-5 reply`);
          }

          // Case 3 and 4 (the asymmetric paths), measured.
          assert.equal(await doctorInvalid(cw), strictDrop ? "WARN" : "OK", "doctor, strict");
          try {
            cw.setConntrackLiberal(true);
            assert.equal(machineLiberal(), machine0, "the machine's own be_liberal changed");
            const dropped1 = strictDrop ? await invalidDropped(cw) : 0;
            // The asymmetry: 3's replies (overlay-b's) never cross node A, 4's (underlay-a's,
            // by veth0 and the hijack route) do; node A counts them before any drop.
            const ob = cw.families.map((f) => addr(CLUSTER.overlayB, f));
            const ua = cw.families.map((f) => addr(CLUSTER.underlayA, f));
            const viaA = () => Promise.all([...ob, ...ua].map((ip) => cw.forwardedFrom(cw.a, ip)));
            const via0 = await viaA();
            await assertOutcomes(
              cw,
              asym,
              (c) => (strictDrop ? "FAIL" : answer(c)),
              `3/4 with ${TCP_BE_LIBERAL}=1 on the nodes, the INVALID drop kept`,
            );
            const via1 = await viaA();
            const k = ob.length;
            assert.deepEqual(via1.slice(0, k), via0.slice(0, k), "3's replies crossed node A");
            for (let i = k; i < via0.length; i++) {
              assert.ok(via1[i]! > via0[i]!, `4's replies (${ua[i - k]}) did not cross node A`);
            }
            if (strictDrop) {
              assert.ok(
                await invalidDropped(cw) > dropped1,
                "be_liberal 1: the rule dropped nothing",
              );
            }
            assert.equal(await doctorInvalid(cw), strictDrop ? "WARN" : "OK", "doctor, liberal");
            if (mode === "iptables") {
              // kube-proxy 1.29+ with conntrack.tcpBeLiberal: the rule is left out.
              await cw.setKubeProxy({ dropInvalid: false });
              await assertOutcomes(
                cw,
                asym,
                answer,
                `3/4 with ${TCP_BE_LIBERAL}=1 and no INVALID drop`,
              );
              assert.equal(await doctorInvalid(cw), "OK", "doctor, without the rule");
            }
          } finally {
            cw.setConntrackLiberal(false);
            await cw.setKubeProxy({ dropInvalid: true });
          }
        });
      });
      assert.equal(machineLiberal(), machine0, "the machine's own be_liberal changed");
    },
  });
}

for (const mode of KUBE_PROXY_MODES) clusterTest(mode);
