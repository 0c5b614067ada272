/**
 * `coordinator doctor` and `coordinator defaults --suggest / --check` against
 * a node's kube-proxy rules and overlay routes, as a person runs them (the
 * plugin's own process and flags, in the node's netns):
 *
 * - the kube world (tools/lib/kube_world.ts: kube-proxy iptables mode, Calico
 *   pod routes): its CIDRs give OK;
 * - a throwaway netns with kube-proxy-like rules (tests/_helpers/cluster_rules.ts)
 *   in nftables mode (recent and v1.29 layouts) and IPVS mode, with Calico's
 *   routes.
 *
 * Each: the right CIDRs are OK; a Service added outside serviceCIDR FAILs,
 * named (doctor and `defaults --check`); `defaults --suggest` covers every
 * ClusterIP and pod block and passes its own check; and the node (links,
 * addresses, routes, rules, neighbours, iptables, nftables, sysctls) is the
 * same after every read. TODO(#22): phase 2 runs this in the shared kube
 * worlds' nftables mode and on the second node.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Address4, Address6 } from "ip-address";
import { createKubeWorld, KUBE, kubeProxyConfig } from "../../tools/lib/kube_world.ts";
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
import { pluginArgv, runProcess } from "../_helpers/cni.ts";
import { RUN } from "../_helpers/run.ts";
import {
  addService,
  CALICO_BLOCKS,
  CLUSTER,
  type ClusterLoad,
  loadCluster,
  outsideService,
  SERVICES,
  type Svc,
} from "../_helpers/cluster_rules.ts";
import type { Finding } from "../../mod/doctor/checks.ts";

const base = privilegedSkipReason() ??
  toolsSkipReason("iptables-restore", "ip6tables-restore", "iptables-save", "ip6tables-save");
const nftSkip = base ?? toolsSkipReason("nft");

/** What the node shows, to compare before and after a read (counters left out: traffic moves them). */
async function snapshot(ns: TestNetns): Promise<Snapshot & { nft: string[] }> {
  const nft = toolsSkipReason("nft") === undefined
    ? (await ns.exec(["nft", "-s", "list", "ruleset"])).stdout.split("\n").filter((l) =>
      l.trim() !== ""
    )
    : [];
  return { ...(await readback(ns)), nft };
}

async function assertUnchanged(ns: TestNetns, before: Snapshot & { nft: string[] }, what: string) {
  const after = await snapshot(ns);
  const { nft: n0, ...b } = before;
  const { nft: n1, ...a } = after;
  assert.deepEqual(diffSnapshots(b, a), {}, `${what} changed the node`);
  assert.deepEqual(n1, n0, `${what} changed nftables`);
}

/** Run the plugin's command line in the node's netns. */
async function coordinator(ns: TestNetns, args: string[]) {
  return await runProcess(
    [...pluginArgv(), ...args],
    {
      PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      COORDINATOR_STATE_DIR: RUN.stateDir,
      COORDINATOR_LOCK_FILE: RUN.lockFile,
    },
    "",
    { netns: ns },
  );
}

async function doctor(ns: TestNetns, root: string, extra: string[]) {
  const r = await coordinator(ns, ["doctor", "--json", "--root", root, ...extra]);
  const json = r.json as { findings: Finding[] } | undefined;
  assert.ok(json, r.stdout + r.stderr);
  const by = (id: string) => json.findings.find((f) => f.id === id)!;
  return { code: r.code, service: by("service-cidr"), pods: by("overlay-pod-cidr") };
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

interface Case {
  ns: TestNetns;
  /** The label doctor gives the mode. */
  mode: RegExp;
  serviceCIDR: string[];
  overlayPodCIDR: string[];
  /** Every ClusterIP and pod block the node shows (before the outside Service). */
  clusterIps: string[];
  podBlocks: string[];
  /** Adds `outsideService(4)` the mode's way. */
  addOutside(s: Svc): Promise<void>;
}

/** The whole sequence, on one node. */
async function exercise(c: Case): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cluster-cidr-" });
  try {
    const root = `${dir}/root`;
    await Deno.mkdir(root);
    const defaults = `${dir}/defaults.json`;
    await Deno.writeTextFile(
      defaults,
      JSON.stringify({ serviceCIDR: c.serviceCIDR, overlayPodCIDR: c.overlayPodCIDR }),
    );

    let before = await snapshot(c.ns);
    const ok = await doctor(c.ns, root, ["--defaults", defaults]);
    assert.equal(ok.service.level, "OK", ok.service.found);
    assert.match(
      ok.service.found,
      new RegExp(`^${c.clusterIps.length} ClusterIPs (and \\d+ other Service addresses )?checked`),
    );
    assert.match(ok.service.found, c.mode);
    assert.equal(ok.pods.level, "OK", ok.pods.found);
    assert.match(ok.pods.found, new RegExp(`^${c.podBlocks.length} pod routes`));
    await assertUnchanged(c.ns, before, "doctor");

    const outside = outsideService(4);
    await c.addOutside(outside);
    before = await snapshot(c.ns);
    const bad = await doctor(c.ns, root, ["--defaults", defaults]);
    assert.equal(bad.service.level, "FAIL", bad.service.found);
    assert.match(bad.service.found, /^1 of \d+ ClusterIPs .*10\.200\.0\.7 \(ns9\/outside:http\)$/);
    assert.equal(bad.code, 1);
    const check = await coordinator(c.ns, ["defaults", "--check", defaults]);
    assert.equal(check.code, 1, check.stderr);
    assert.match(check.stderr, /^FAIL service-cidr: .*10\.200\.0\.7/m);

    const suggest = await coordinator(c.ns, ["defaults", "--suggest", "--defaults", defaults]);
    assert.equal(suggest.code, 0, suggest.stderr);
    const s = suggest.json as { serviceCIDR: string[]; overlayPodCIDR: string[] };
    for (const ip of [...c.clusterIps, outside.clusterIp]) {
      assert.ok(covers(s.serviceCIDR, host(ip)), `${ip} in ${s.serviceCIDR}\n${suggest.stderr}`);
    }
    for (const b of c.podBlocks) {
      assert.ok(covers(s.overlayPodCIDR, b), `${b} in ${s.overlayPodCIDR}\n${suggest.stderr}`);
    }
    assert.match(suggest.stderr, /no API server was consulted/);
    const suggested = `${dir}/suggested.json`;
    await Deno.writeTextFile(suggested, suggest.stdout);
    const again = await coordinator(c.ns, ["defaults", "--check", suggested]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /^OK {3}service-cidr: /m);

    // A NAD naming the suggestion over the old file: what ADD would use is right.
    const nad = `${dir}/nad.yaml`;
    const config = JSON.stringify({
      cniVersion: "1.0.0",
      name: "macvlan-underlay",
      plugins: [{ type: "macvlan" }, { type: "coordinator", serviceCIDR: s.serviceCIDR }],
    });
    await Deno.writeTextFile(
      nad,
      `apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nspec:\n  config: '${config}'\n`,
    );
    const viaNad = await doctor(c.ns, root, ["--defaults", defaults, "--conf", nad]);
    assert.notEqual(viaNad.service.level, "FAIL", viaNad.service.found);
    assert.match(viaNad.service.found, /from .*nad\.yaml over .*defaults\.json/);
    await assertUnchanged(c.ns, before, "doctor, defaults --check and --suggest");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: testNamer(base)(
    "[iptables] the kube world: OK, a Service outside FAILs, the suggestion covers, nothing changes",
  ),
  ignore: base !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using kw = await createKubeWorld();
    await exercise({
      ns: kw.node,
      mode: /; iptables\)/,
      serviceCIDR: [...KUBE.serviceCIDR],
      overlayPodCIDR: [...KUBE.overlayPodCIDR],
      clusterIps: kw.families.flatMap((f) => kubeProxyConfig(f).services.map((s) => s.clusterIp)),
      podBlocks: [host(KUBE.backendIp4), host(KUBE.backendIp6)],
      addOutside: (s) => addService(kw.node, "iptables", s),
    });
  },
});

const clusterIps = [...new Set(SERVICES.map((s) => s.clusterIp))];

for (
  const [mode, label, skip, ips] of [
    ["nftables", /; nftables\)/, nftSkip, clusterIps],
    // The v1.29 layout has no cluster-ips set: the Service without endpoints is of unknown kind.
    ["nftables-v1.29", /; nftables\)/, nftSkip, clusterIps.filter((ip) => ip !== "10.111.250.4")],
  ] as [ClusterLoad["mode"], RegExp, string | undefined, string[]][]
) {
  Deno.test({
    name: testNamer(skip)(
      `[${mode}] a kube-proxy-like node: OK, a Service outside FAILs, the suggestion covers, nothing changes`,
    ),
    ignore: skip !== undefined,
    async fn() {
      await using ns = await createNetns("kp");
      await loadCluster(ns, { mode, cni: "calico" });
      await exercise({
        ns,
        mode: label,
        serviceCIDR: [...CLUSTER.serviceCIDR],
        overlayPodCIDR: [...CLUSTER.overlayPodCIDR],
        clusterIps: ips,
        podBlocks: [...CALICO_BLOCKS],
        addOutside: (s) => addService(ns, mode, s),
      });
    },
  });
}

Deno.test({
  name: testNamer(base)(
    "[ipvs] kube-ipvs0: ExternalIPs outside serviceCIDR WARN, never FAIL; the suggestion covers",
  ),
  ignore: base !== undefined,
  async fn() {
    await using ns = await createNetns("kp");
    await loadCluster(ns, { mode: "ipvs", cni: "calico" });
    const dir = await Deno.makeTempDir({ prefix: "cluster-cidr-" });
    try {
      const defaults = `${dir}/defaults.json`;
      await Deno.writeTextFile(defaults, JSON.stringify({ serviceCIDR: CLUSTER.serviceCIDR }));
      const before = await snapshot(ns);
      const d = await doctor(ns, dir, ["--defaults", defaults]);
      assert.equal(d.service.level, "WARN", d.service.found);
      assert.match(d.service.found, /3 Service addresses of unknown kind \(ipvs/);
      const s = await coordinator(ns, ["defaults", "--suggest", "--defaults", defaults]);
      assert.equal(s.code, 0, s.stderr);
      const cidrs = (s.json as { serviceCIDR: string[] }).serviceCIDR;
      for (const ip of clusterIps) assert.ok(covers(cidrs, host(ip)), `${ip} in ${cidrs}`);
      assert.match(s.stderr, /kube-ipvs0, whose addresses include ExternalIPs/);
      await assertUnchanged(ns, before, "doctor and defaults --suggest");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
