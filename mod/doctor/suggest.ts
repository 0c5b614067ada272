/**
 * What `coordinator defaults --suggest` proposes (pure): `serviceCIDR` and
 * `overlayPodCIDR` from what the node shows (`./cluster.ts`'s facts). No API
 * server is consulted.
 *
 * The covering rule, per family: kube-proxy's own Service CIDRs when it shows
 * them (nftables mode, recent kube-proxy: the `cluster-ips-check` drop rule,
 * which kube-proxy builds from the API server's ServiceCIDRs); else the
 * smallest prefix covering every ClusterIP seen ({@linkcode coverGroups}:
 * split into several when one would be wider than a Service range can be,
 * /12 and /108, or would overlap a pod block or another network the node
 * routes). That prefix is a lower bound of the real range: a part of the
 * range with no Service in it yet is invisible. It is widened to a
 * well-known default range of a distribution ({@linkcode
 * KNOWN_SERVICE_RANGES}) when that range holds it and overlaps nothing else
 * the node routes (a guess that captured the node's own networks would be
 * worse than a narrow bound); the widest such range wins (kubeadm's
 * 10.96.0.0/12 holds kind's 10.96.0.0/16). Pod CIDRs the same way, from the
 * pod blocks ({@linkcode KNOWN_POD_RANGES}, groups up to /8 and /32, avoiding
 * the Service addresses): a second IP pool far from the first gets its own
 * CIDR. Why widen: ClusterIPs are drawn at random over the whole range (the
 * upper part for dynamic ones since Kubernetes 1.26), so a handful of
 * Services already spans most of it while the first few (the API server's
 * `.1`, kube-dns's `.10`) sit at its start; a well-known default that holds
 * them is then far likelier than the narrow bound. In IPVS mode the addresses
 * of kube-ipvs0 stand in for the ClusterIPs (ExternalIPs included).
 *
 * @example
 * ```ts
 * import { suggestCidrs } from "./suggest.ts";
 * const s = suggestCidrs({
 *   proxies: [{ mode: "iptables", present: true, serviceCidrs: [], addrs: [
 *     { ip: "10.96.0.1", family: 4, kind: "cluster", mode: "iptables" },
 *     { ip: "10.96.0.10", family: 4, kind: "cluster", mode: "iptables" },
 *   ] }],
 *   pods: [], connected: [], unread: [],
 * });
 * if (s.serviceCIDR[0] !== "10.96.0.0/12") throw new Error(s.serviceCIDR.join());
 * ```
 *
 * @module
 */

import {
  containsPrefix,
  coveredBy,
  overlaps,
  type Prefix,
  prefixText,
  smallestCovering,
  toPrefix,
} from "./cidrs.ts";
import { type ClusterFacts, mergeServiceAddrs, modesText, prefixes } from "./cluster.ts";

/** A well-known default range and who uses it. */
export interface KnownRange {
  cidr: string;
  who: string;
}

/** Default Service ranges of common distributions (widest first where nested). */
export const KNOWN_SERVICE_RANGES: readonly KnownRange[] = [
  { cidr: "10.96.0.0/12", who: "kubeadm's default" },
  { cidr: "10.43.0.0/16", who: "k3s / RKE2's default" },
  { cidr: "10.233.0.0/18", who: "kubespray's default" },
  { cidr: "172.30.0.0/16", who: "OpenShift's default" },
  { cidr: "fd00:10:96::/112", who: "kind's default" },
];

/** Default pod ranges of common distributions and CNIs. */
export const KNOWN_POD_RANGES: readonly KnownRange[] = [
  { cidr: "10.244.0.0/16", who: "the kubeadm / flannel default" },
  { cidr: "10.42.0.0/16", who: "k3s / RKE2's default" },
  { cidr: "10.233.64.0/18", who: "kubespray's default" },
  { cidr: "192.168.0.0/16", who: "Calico's default pool" },
  { cidr: "10.128.0.0/14", who: "OpenShift's default" },
];

/** What `defaults --suggest` proposes, with how each CIDR was derived. */
export interface Suggestion {
  serviceCIDR: string[];
  overlayPodCIDR: string[];
  /** One line per CIDR (or per field without evidence). */
  notes: string[];
}

/** The widest a group of one CIDR may get before it is split (per family). */
export interface GroupLimits {
  v4: number;
  v6: number;
}

/** kube-apiserver's largest Service range (2^20 addresses): /12 and /108. */
export const SERVICE_LIMITS: GroupLimits = { v4: 12, v6: 108 };

/** The widest pod pool taken as one: /8 (Cilium's default pool) and /32. */
export const POD_LIMITS: GroupLimits = { v4: 8, v6: 32 };

function bitAt(p: Prefix, i: number): bigint {
  const width = p.family === 4 ? 32 : 128;
  return (p.base >> BigInt(width - 1 - i)) & 1n;
}

/**
 * The covering prefixes of a set (one family): the smallest prefix covering
 * all, split at its first differing bit while it is wider than `minLen` or
 * overlaps a prefix of `avoid` (a second pool far from the first, or the
 * node's own network between two pools, gets its own CIDR).
 *
 * @param ps prefixes of one family
 * @param minLen the shortest prefix length one group may have
 * @param avoid prefixes a group must not overlap
 * @returns the groups' covering prefixes
 */
export function coverGroups(
  ps: readonly Prefix[],
  minLen: number,
  avoid: readonly Prefix[] = [],
): Prefix[] {
  const uniq = ps.filter((p, i) =>
    !ps.some((q, j) => containsPrefix(q, p) && (q.len < p.len || j < i))
  );
  const cov = smallestCovering(uniq);
  if (cov === undefined) return [];
  const fine = cov.len >= minLen && !avoid.some((a) => overlaps(cov, a));
  if (uniq.length === 1 || fine) return [cov];
  const left = uniq.filter((p) => bitAt(p, cov.len) === 0n);
  const right = uniq.filter((p) => bitAt(p, cov.len) === 1n);
  if (left.length === 0 || right.length === 0) return [cov];
  return [...coverGroups(left, minLen, avoid), ...coverGroups(right, minLen, avoid)];
}

/** The proposed CIDRs for one family, and why. */
function cover(
  family: 4 | 6,
  seen: readonly Prefix[],
  what: { seen: string; unit: string; limits: GroupLimits },
  known: readonly KnownRange[],
  avoid: readonly Prefix[],
): { cidrs: string[]; notes: string[] } {
  const fam = seen.filter((p) => p.family === family);
  const groups = coverGroups(fam, family === 4 ? what.limits.v4 : what.limits.v6, avoid);
  const cidrs: string[] = [];
  const notes: string[] = [];
  for (const g of groups) {
    const n = fam.filter((p) => containsPrefix(g, p)).length;
    const base = `IPv${family} ${what.seen}: the smallest prefix covering ${
      groups.length > 1 ? `${n} of the ${fam.length}` : `the ${n}`
    } seen is ${prefixText(g)}`;
    const fits = known
      .map((k) => ({ ...k, p: toPrefix(k.cidr)! }))
      .filter((k) =>
        containsPrefix(k.p, g) && !avoid.some((a) => overlaps(k.p, a)) &&
        !groups.some((o) => o !== g && overlaps(k.p, o))
      )
      .sort((a, b) => a.p.len - b.p.len)[0];
    const cidr = fits === undefined ? prefixText(g) : fits.cidr;
    if (cidrs.includes(cidr)) continue;
    cidrs.push(cidr);
    notes.push(
      fits === undefined
        ? `${base}: proposed as is, a lower bound (the real range may be wider: a part with no ${what.unit} in it yet is invisible)`
        : `${base}, inside ${fits.who} ${fits.cidr}, which overlaps nothing else the node routes: proposed ${fits.cidr} (check that it is your cluster's)`,
    );
  }
  return { cidrs, notes };
}

/**
 * The CIDRs the node shows, per family (the covering rule of the module doc).
 *
 * @param facts what the node shows
 * @returns the proposed serviceCIDR and overlayPodCIDR with notes
 */
export function suggestCidrs(facts: ClusterFacts): Suggestion {
  const notes: string[] = [];
  const addrs = mergeServiceAddrs(facts.proxies);
  const clusterIps = addrs.filter((a) => a.kind === "cluster").map((a) => toPrefix(a.ip)!);
  const unknownIps = addrs.filter((a) => a.kind === "unknown").map((a) => toPrefix(a.ip)!);
  const podBlocks = facts.pods.map((p) => toPrefix(p.dst)!);
  const connected = prefixes(facts.connected);
  const proxyCidrs = prefixes([...new Set(facts.proxies.flatMap((v) => v.serviceCidrs))]);
  const serviceCIDR: string[] = [];
  const overlayPodCIDR: string[] = [];
  const service = { seen: "ClusterIPs", unit: "Service", limits: SERVICE_LIMITS };
  for (const family of [4, 6] as const) {
    const published = proxyCidrs.filter((p) => p.family === family);
    const fam = clusterIps.filter((p) => p.family === family);
    if (published.length > 0) {
      serviceCIDR.push(...published.map(prefixText));
      notes.push(
        `IPv${family} serviceCIDR: ${
          published.map(prefixText).join(", ")
        } from kube-proxy's rule for unallocated ClusterIPs (kube-proxy has it from the API server)`,
      );
      const outside = fam.filter((p) => !coveredBy(published, p));
      const c = cover(family, outside, { ...service, seen: "ClusterIPs outside it" }, [], []);
      serviceCIDR.push(...c.cidrs);
      notes.push(...c.notes);
      continue;
    }
    // Addresses of unknown kind count only when no address is known to be a ClusterIP.
    const seen = fam.length > 0 ? fam : unknownIps.filter((p) => p.family === family);
    const c = cover(family, seen, service, KNOWN_SERVICE_RANGES, [...podBlocks, ...connected]);
    serviceCIDR.push(...c.cidrs);
    notes.push(
      ...(fam.length > 0
        ? c.notes
        : c.notes.map((n) =>
          `${n}; from kube-ipvs0, whose addresses include ExternalIPs and LoadBalancer IPs (routing those through the node does no harm: kube-proxy serves them there too)`
        )),
    );
  }
  const allService = [...clusterIps, ...unknownIps, ...prefixes(serviceCIDR)];
  const pod = { seen: "pod blocks", unit: "pod block", limits: POD_LIMITS };
  for (const family of [4, 6] as const) {
    const c = cover(family, podBlocks, pod, KNOWN_POD_RANGES, [...allService, ...connected]);
    overlayPodCIDR.push(...c.cidrs);
    notes.push(...c.notes);
  }
  if (serviceCIDR.length === 0) {
    notes.push(`serviceCIDR: no ClusterIP in kube-proxy's rules (${modesText(facts.proxies)})`);
  }
  if (overlayPodCIDR.length === 0) {
    notes.push("overlayPodCIDR: no overlay CNI pod routes (Calico, Cilium, Flannel) on this node");
  }
  return { serviceCIDR, overlayPodCIDR, notes };
}
