/**
 * `coordinator doctor` and `coordinator defaults --suggest / --check` against a node's
 * kube-proxy rules and overlay routes, as an operator runs them (the plugin's own process and
 * permission flags, in the node's netns), in the worlds the suites build, kube-proxy's rules
 * written by the one writer (tools/lib/kube_proxy.ts):
 *
 * - the kube world (tools/lib/kube_world.ts, Calico-style pod routes), kube-proxy in iptables
 *   mode and in nftables mode;
 * - the two-node cluster world (tools/lib/cluster_world.ts), both modes, on node B: its own
 *   Calico block, node A's block via node A, its pod's route;
 * - a throwaway node of the fixture cluster (tests/_helpers/cluster_fixture.ts) in kube-proxy
 *   1.29's nftables layout and in IPVS mode (kube-ipvs0's addresses).
 *
 * Each: the node's own CIDRs in the node defaults file give OK (doctor, `defaults --check`); a
 * Service added outside serviceCIDR (kube-proxy's next sync: the rules written again with it)
 * FAILs, named, with exit 1; `defaults --suggest` covers every ClusterIP and pod block and
 * passes its own check; a NAD naming the suggestion is what doctor `--conf` compares; and
 * nothing of the node changes (links, addresses, routes, rules, neighbours, iptables, the
 * nftables ruleset, sysctls) across all of it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Address4, Address6 } from "ip-address";
import { createKubeWorld, type Family, KUBE, kubeProxyConfig } from "../../tools/lib/kube_world.ts";
import {
  addr,
  CLUSTER,
  clusterProxyConfig,
  createClusterWorld,
} from "../../tools/lib/cluster_world.ts";
import {
  applyKubeProxy,
  KUBE_PROXY,
  KUBE_PROXY_MODES,
  type KubeProxyMode,
  type ProxyConfig,
  type ServicePort,
} from "../../tools/lib/kube_proxy.ts";
import {
  createNetns,
  diffSnapshots,
  privilegedSkipReason,
  readback,
  type Snapshot,
  testNamer,
  type TestNetns,
  toolsSkipReason,
} from "../_helpers/netns.ts";
import {
  coordinatorCli,
  doctor,
  plantDefaults,
  type Planted,
  withPlanted,
} from "../_helpers/doctor.ts";
import {
  CALICO_BLOCKS,
  FIXTURE,
  fixtureProxyConfigs,
  loadFixtureNode,
  outsideService,
} from "../_helpers/cluster_fixture.ts";
import type { Finding } from "../../mod/doctor/checks.ts";

const base = privilegedSkipReason() ?? toolsSkipReason(...KUBE_PROXY.iptables.tools);

function skipFor(mode: KubeProxyMode): string | undefined {
  if (base !== undefined) return base;
  const missing = toolsSkipReason(...KUBE_PROXY[mode].tools);
  // Loud: the name says what to install (tools/scripts/ensure_packages.sh test does).
  return missing === undefined ? undefined : `${missing}: install the Debian package nftables`;
}

/** What the node shows, to compare before and after (counters left out: traffic moves them). */
type NodeDump = Snapshot & { nft: string[] };

async function dump(ns: TestNetns): Promise<NodeDump> {
  const [snap, nft] = await Promise.all([
    readback(ns),
    toolsSkipReason("nft") === undefined
      ? ns.exec(["nft", "-s", "list", "ruleset"]).then((r) =>
        r.stdout.split("\n").filter((l) => l.trim() !== "")
      )
      : Promise.resolve([]),
  ]);
  return { ...snap, nft };
}

async function assertUnchanged(ns: TestNetns, before: NodeDump, what: string): Promise<void> {
  const { nft: n0, ...b } = before;
  const { nft: n1, ...a } = await dump(ns);
  assert.deepEqual(diffSnapshots(b, a), {}, `${what} changed the node`);
  assert.deepEqual(n1, n0, `${what} changed the nftables ruleset`);
}

/** Independent of mod/: one of the CIDRs contains the prefix (npm ip-address). */
function covers(cidrs: readonly string[], prefix: string): boolean {
  const v6 = prefix.includes(":");
  const inner = v6 ? new Address6(prefix) : new Address4(prefix);
  return cidrs.filter((c) => c.includes(":") === v6).some((c) => {
    const outer = v6 ? new Address6(c) : new Address4(c);
    return inner.isInSubnet(outer as Address6 & Address4) && inner.subnetMask >= outer.subnetMask;
  });
}

const host = (ip: string) => `${ip}/${ip.includes(":") ? 128 : 32}`;
const finding = (fs: readonly Finding[], id: string) => {
  const f = fs.find((x) => x.id === id);
  assert.ok(f, `no ${id} finding in ${JSON.stringify(fs)}`);
  return f;
};

/** One node to check, and what the test knows of it. */
interface Case {
  ns: TestNetns;
  /** The mode doctor must name. */
  mode: "iptables" | "nftables" | "ipvs";
  /** The node's right CIDRs. */
  serviceCIDR: readonly string[];
  overlayPodCIDR: readonly string[];
  /** Every ClusterIP doctor must check (before the outside Service) and every pod block. */
  clusterIps: readonly string[];
  podBlocks: readonly string[];
  /** kube-proxy's next sync with the Services outside serviceCIDR; undefined: not in this mode. */
  addOutside?: () => Promise<readonly ServicePort[]>;
}

/** The whole sequence on one node; the node's dump is compared around every read. */
async function exercise(c: Case): Promise<void> {
  await withPlanted(async (p) => {
    const defaults = await plantDefaults(p, {
      serviceCIDR: c.serviceCIDR,
      overlayPodCIDR: c.overlayPodCIDR,
      hijackCIDR: ["169.254.0.0/16"],
    });
    let before = await dump(c.ns);
    // The node defaults file under --root: what ADD would use on this node.
    const ok = await doctor(c.ns, p);
    const svc = finding(ok.findings, "service-cidr");
    assert.equal(svc.level, "OK", svc.found);
    assert.match(
      svc.found,
      new RegExp(
        `^${c.clusterIps.length} ClusterIPs (and \\d+ other Service addresses )?checked .*; ${c.mode}\\)`,
      ),
    );
    assert.match(svc.found, /all inside serviceCIDR .* \(from .*defaults\.json\)/);
    const pods = finding(ok.findings, "overlay-pod-cidr");
    assert.equal(pods.level, "OK", pods.found);
    assert.match(pods.found, new RegExp(`^${c.podBlocks.length} pod routes .*calico\\)`));
    const check = await coordinatorCli(c.ns, p, ["defaults", "--check", defaults]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /^OK {3}service-cidr: /m);
    await assertUnchanged(c.ns, before, "doctor and defaults --check");

    let all = [...c.clusterIps];
    if (c.addOutside !== undefined) {
      const outside = await c.addOutside();
      all = [...all, ...outside.map((s) => s.clusterIp)];
      before = await dump(c.ns);
      const bad = await doctor(c.ns, p);
      const f = finding(bad.findings, "service-cidr");
      assert.equal(f.level, "FAIL", f.found);
      assert.equal(bad.code, 1, "doctor exits 1 on a FAIL");
      assert.match(f.found, new RegExp(`^${outside.length} of ${all.length} ClusterIPs`));
      for (const s of outside) {
        assert.ok(f.found.includes(`${s.clusterIp} (ns9/outside:http)`), f.found);
      }
      const no = await coordinatorCli(c.ns, p, ["defaults", "--check", defaults]);
      assert.equal(no.code, 1, no.stderr);
      assert.match(no.stderr, /^FAIL service-cidr: .*ns9\/outside:http/m);
      await assertUnchanged(c.ns, before, "doctor and defaults --check on the FAIL");
    }

    const suggest = await coordinatorCli(c.ns, p, [
      "defaults",
      "--suggest",
      "--defaults",
      defaults,
    ]);
    assert.equal(suggest.code, 0, suggest.stderr);
    const s = suggest.json as {
      serviceCIDR: string[];
      overlayPodCIDR: string[];
      hijackCIDR: string[];
    };
    for (const ip of all) {
      assert.ok(covers(s.serviceCIDR, host(ip)), `${ip} in ${s.serviceCIDR}\n${suggest.stderr}`);
    }
    for (const b of c.podBlocks) {
      assert.ok(covers(s.overlayPodCIDR, b), `${b} in ${s.overlayPodCIDR}\n${suggest.stderr}`);
    }
    assert.deepEqual(s.hijackCIDR, ["169.254.0.0/16"], "the file's other fields are kept");
    assert.match(suggest.stderr, /no API server was consulted/);
    assert.match(suggest.stderr, /^OK {3}service-cidr: .*from the suggestion/m);
    const suggested = `${p.root}/suggested.json`;
    await Deno.writeTextFile(suggested, suggest.stdout);
    const again = await coordinatorCli(c.ns, p, ["defaults", "--check", suggested]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /^OK {3}service-cidr: /m);

    // A NAD (as kubectl prints it) naming the suggestion, over the node's file.
    const nad = `${p.root}/nad.yaml`;
    const config = JSON.stringify({
      cniVersion: "1.0.0",
      name: "macvlan-underlay",
      plugins: [{ type: "macvlan" }, { type: "coordinator", serviceCIDR: s.serviceCIDR }],
    });
    await Deno.writeTextFile(
      nad,
      `apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata:\n  name: macvlan-underlay\nspec:\n  config: '${config}'\n`,
    );
    const viaNad = await doctor(c.ns, p, ["--conf", nad]);
    const n = finding(viaNad.findings, "service-cidr");
    assert.notEqual(n.level, "FAIL", n.found);
    assert.match(n.found, /from .*nad\.yaml over .*defaults\.json/);
    await assertUnchanged(c.ns, before, "defaults --suggest, --check and doctor --conf");
  });
}

/** A Service of each family outside the worlds' serviceCIDR (10.233.0.0/18, fd00:10:233::/116). */
function outsideOf(cfg: ProxyConfig): ServicePort {
  const first = cfg.services[0]!;
  return {
    namespace: "ns9",
    name: "outside",
    portName: "http",
    clusterIp: cfg.family === 4 ? "10.200.0.7" : "fd00:10:200::7",
    port: 80,
    endpoints: first.endpoints,
  };
}

/** kube-proxy's next sync of a node: the same Services and one more per family. */
async function syncWithOutside(
  nodes: readonly TestNetns[],
  mode: KubeProxyMode,
  cfgs: (ns: TestNetns) => ProxyConfig[],
): Promise<ServicePort[]> {
  const added: ServicePort[] = [];
  for (const ns of nodes) {
    const next = cfgs(ns).map((cfg) => {
      const extra = outsideOf(cfg);
      if (ns === nodes[0]) added.push(extra);
      return { ...cfg, services: [...cfg.services, extra] };
    });
    await applyKubeProxy(ns, mode, next);
  }
  return added;
}

for (const mode of KUBE_PROXY_MODES) {
  const skip = skipFor(mode);
  Deno.test({
    name: testNamer(skip)(
      `[${mode}] the kube world: doctor and defaults --check OK, a Service outside FAILs named, the suggestion covers, nothing changes`,
    ),
    ignore: skip !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await using kw = await createKubeWorld({ mode });
      const cfgs = kw.families.map(kubeProxyConfig);
      await exercise({
        ns: kw.node,
        mode,
        serviceCIDR: KUBE.serviceCIDR,
        overlayPodCIDR: KUBE.overlayPodCIDR,
        clusterIps: cfgs.flatMap((c) => c.services.map((s) => s.clusterIp)),
        // Calico's /32 (/128) of the backend pod on its cali link.
        podBlocks: [host(KUBE.backendIp4), host(KUBE.backendIp6)],
        addOutside: () => syncWithOutside([kw.node], mode, () => cfgs),
      });
    },
  });

  Deno.test({
    name: testNamer(skip)(
      `[${mode}] two nodes, on node B: OK, a Service outside FAILs named, the suggestion covers both nodes' blocks, nothing changes`,
    ),
    ignore: skip !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await using cw = await createClusterWorld({ mode });
      const cfgs = (ns: TestNetns) =>
        cw.families.map((f: Family) =>
          clusterProxyConfig(ns === cw.a.ns ? CLUSTER.a : CLUSTER.b, f)
        );
      await exercise({
        ns: cw.b.ns,
        mode,
        serviceCIDR: CLUSTER.serviceCIDR,
        overlayPodCIDR: CLUSTER.overlayPodCIDR,
        clusterIps: cfgs(cw.b.ns).flatMap((c) => c.services.map((s) => s.clusterIp)),
        // B's own block (blackhole), A's block via A (BGP), B's overlay pod on its cali link.
        podBlocks: [
          CLUSTER.b.block4,
          CLUSTER.a.block4,
          host(CLUSTER.overlayB.ip4),
          CLUSTER.b.block6,
          CLUSTER.a.block6,
          host(addr(CLUSTER.overlayB, 6)),
        ],
        // kube-proxy syncs every node.
        addOutside: () => syncWithOutside([cw.b.ns, cw.a.ns], mode, cfgs),
      });
    },
  });
}

const nftSkip = skipFor("nftables");

Deno.test({
  name: testNamer(nftSkip)(
    "[nftables 1.29] the fixture node: the ClusterIP without endpoints is of unknown kind; OK, a Service outside FAILs, the suggestion covers",
  ),
  ignore: nftSkip !== undefined,
  async fn() {
    await using ns = await createNetns("kp");
    await loadFixtureNode(ns, { mode: "nftables-1.29", cni: "calico" });
    const cfgs = fixtureProxyConfigs("1.29");
    await exercise({
      ns,
      mode: "nftables",
      serviceCIDR: FIXTURE.serviceCIDR,
      overlayPodCIDR: FIXTURE.overlayPodCIDR,
      // ns1/idle has no endpoints: only in no-endpoint-services, kind unknown (counted apart).
      clusterIps: cfgs.flatMap((c) =>
        c.services.filter((s) => s.endpoints.length > 0).map((s) => s.clusterIp)
      ).filter((ip, i, all) => all.indexOf(ip) === i),
      podBlocks: CALICO_BLOCKS,
      addOutside: async () => {
        const extra = [outsideService(4), outsideService(6)];
        await applyKubeProxy(
          ns,
          "nftables",
          cfgs.map((c, i) => ({ ...c, services: [...c.services, extra[i]!] })),
        );
        return extra;
      },
    });
  },
});

Deno.test({
  name: testNamer(base)(
    "[ipvs] the fixture node: kube-ipvs0's ExternalIPs outside serviceCIDR WARN, never FAIL; the suggestion covers; nothing changes",
  ),
  ignore: base !== undefined,
  async fn() {
    await using ns = await createNetns("kp");
    await loadFixtureNode(ns, { mode: "ipvs", cni: "calico" });
    await withPlanted(async (p: Planted) => {
      const defaults = await plantDefaults(p, { serviceCIDR: FIXTURE.serviceCIDR });
      const before = await dump(ns);
      const d = await doctor(ns, p);
      const f = finding(d.findings, "service-cidr");
      assert.equal(f.level, "WARN", f.found);
      assert.match(f.found, /3 Service addresses of unknown kind \(ipvs/);
      assert.equal(d.code, 0, "a WARN is not a failure");
      const s = await coordinatorCli(ns, p, ["defaults", "--suggest", "--defaults", defaults]);
      assert.equal(s.code, 0, s.stderr);
      const cidrs = (s.json as { serviceCIDR: string[] }).serviceCIDR;
      for (const cfg of fixtureProxyConfigs()) {
        for (const svc of cfg.services) {
          assert.ok(covers(cidrs, host(svc.clusterIp)), `${svc.clusterIp} in ${cidrs}`);
        }
      }
      assert.match(s.stderr, /kube-ipvs0, whose addresses include ExternalIPs/);
      await assertUnchanged(ns, before, "doctor and defaults --suggest");
    });
  },
});
