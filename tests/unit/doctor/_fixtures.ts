/**
 * The captured tool output of tests/testdata/cluster/ (see its README) and
 * helpers shared by the cluster CIDR tests of this folder.
 *
 * @module
 */

import { Address4, Address6 } from "ip-address";
import {
  type IpAddrLink,
  type IpRoute,
  parseAddrs,
  parseRoutes,
} from "../../../mod/kernel/ip_json.ts";
import {
  type ClusterConfig,
  type ClusterFacts,
  clusterFacts,
  type ClusterReads,
} from "../../../mod/doctor/cluster.ts";
import type { ProxyView } from "../../../mod/doctor/kube_proxy.ts";
import { FIXTURE } from "../../_helpers/cluster_fixture.ts";

const DIR = new URL("../../testdata/cluster/", import.meta.url);
const text = (f: string) => Deno.readTextFileSync(new URL(f, DIR));
const json = (f: string): unknown => JSON.parse(text(f));

/** `iptables-save -t nat` of the iptables-mode node. */
export const IPT4: string = text("iptables_nat.txt");
/** `ip6tables-save -t nat` of the iptables-mode node. */
export const IPT6: string = text("ip6tables_nat.txt");
/** `nft -j list table ip kube-proxy`, recent kube-proxy. */
export const NFT4: string = text("nft_ip_kube_proxy.json");
/** `nft -j list table ip6 kube-proxy`, recent kube-proxy. */
export const NFT6: string = text("nft_ip6_kube_proxy.json");
/** `nft -j list table ip kube-proxy`, v1.29 layout. */
export const NFT4_OLD: string = text("nft_ip_kube_proxy_v129.json");
/** `nft -j list table ip6 kube-proxy`, v1.29 layout. */
export const NFT6_OLD: string = text("nft_ip6_kube_proxy_v129.json");
/** `ip -j addr show dev kube-ipvs0` of the IPVS-mode node. */
export const IPVS: IpAddrLink[] = parseAddrs(json("ip_addr_kube_ipvs0.json"));
/** `ip -j route show table all` of the Calico node. */
export const CALICO: IpRoute[] = parseRoutes(json("ip_route_calico.json"));
/** `ip -j route show table all` of the Cilium node. */
export const CILIUM: IpRoute[] = parseRoutes(json("ip_route_cilium.json"));

/** The cluster's right CIDRs. */
export const CONF: ClusterConfig = {
  serviceCIDR: [...FIXTURE.serviceCIDR],
  overlayPodCIDR: [...FIXTURE.overlayPodCIDR],
  hijackCIDR: [],
};

/** Facts of some reads (the rest empty). */
export function reads(r: Partial<ClusterReads>): ClusterFacts {
  return clusterFacts({ iptables: [], nft: [], routes: [], ipvs: [], unread: [], ...r });
}

/** A view's addresses by kind, sorted. */
export function kinds(v: ProxyView): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const a of v.addrs) (out[a.kind] ??= []).push(a.ip);
  for (const k of Object.keys(out)) out[k]!.sort();
  return out;
}

/** Independent of mod/: does one of the CIDRs contain the prefix (npm ip-address)? */
export function covers(cidrs: readonly string[], prefix: string): boolean {
  const v6 = prefix.includes(":");
  const inner = v6 ? new Address6(prefix) : new Address4(prefix);
  return cidrs.filter((c) => c.includes(":") === v6).some((c) => {
    const outer = v6 ? new Address6(c) : new Address4(c);
    return inner.isInSubnet(outer as Address6 & Address4) && inner.subnetMask >= outer.subnetMask;
  });
}
