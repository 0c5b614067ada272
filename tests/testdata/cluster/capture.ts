/**
 * Capture the cluster CIDR fixtures of this directory (a script, not a test;
 * root, iproute2, iptables, nft):
 *
 *   deno run --allow-all tests/testdata/cluster/capture.ts
 *
 * Each scenario loads kube-proxy's rules (the shared writer, tools/lib/kube_proxy.ts) and the
 * overlay CNI's routes of the fixture cluster (tests/_helpers/cluster_fixture.ts) into a
 * throwaway netns, runs the real tools doctor runs, and writes their output here unchanged.
 * Every netns is removed, also on failure.
 *
 * @module
 */

import { createNetns } from "../../_helpers/netns.ts";
import { type FixtureNode, loadFixtureNode } from "../../_helpers/cluster_fixture.ts";

const DIR = new URL(".", import.meta.url).pathname;

interface Scenario {
  load: FixtureNode;
  /** file name -> argv run in the netns. */
  files: Record<string, string[]>;
}

const SCENARIOS: Scenario[] = [
  {
    load: { mode: "iptables", cni: "calico" },
    files: {
      "iptables_nat.txt": ["iptables-save", "-t", "nat"],
      "ip6tables_nat.txt": ["ip6tables-save", "-t", "nat"],
      "ip_route_calico.json": ["ip", "-j", "route", "show", "table", "all"],
    },
  },
  {
    load: { mode: "nftables", cni: "cilium" },
    files: {
      "nft_ip_kube_proxy.json": ["nft", "-j", "list", "table", "ip", "kube-proxy"],
      "nft_ip6_kube_proxy.json": ["nft", "-j", "list", "table", "ip6", "kube-proxy"],
      "ip_route_cilium.json": ["ip", "-j", "route", "show", "table", "all"],
    },
  },
  {
    load: { mode: "nftables-1.29", cni: "calico" },
    files: {
      "nft_ip_kube_proxy_v129.json": ["nft", "-j", "list", "table", "ip", "kube-proxy"],
      "nft_ip6_kube_proxy_v129.json": ["nft", "-j", "list", "table", "ip6", "kube-proxy"],
    },
  },
  {
    load: { mode: "ipvs", cni: "calico" },
    files: { "ip_addr_kube_ipvs0.json": ["ip", "-j", "addr", "show", "dev", "kube-ipvs0"] },
  },
];

for (const s of SCENARIOS) {
  await using ns = await createNetns("capture");
  await loadFixtureNode(ns, s.load);
  for (const [file, argv] of Object.entries(s.files)) {
    const r = await ns.exec(argv);
    await Deno.writeTextFile(`${DIR}${file}`, r.stdout);
    // deno-lint-ignore no-console
    console.log(`${file}: ${argv.join(" ")} (${s.load.mode}, ${s.load.cni})`);
  }
}
