/**
 * The cluster CIDR checks of `coordinator doctor` and `coordinator defaults`
 * (pure): the node's Service addresses (`./kube_proxy.ts`) against the
 * configured `serviceCIDR`, its pod blocks (`./pod_routes.ts`) against
 * `overlayPodCIDR`. One evaluator for doctor, `defaults --check` and the
 * verdict `defaults --suggest` prints on its own proposal (`./suggest.ts`).
 *
 * Levels: a ClusterIP outside every configured CIDR is a FAIL (underlay pods
 * lose that Service: the hijack route does not cover it). An address whose
 * kind is not known (IPVS's kube-ipvs0 holds ExternalIPs and LoadBalancer IPs
 * too; an old nftables kube-proxy's no-endpoint map) is a WARN, as is a
 * ClusterIP reached only through `hijackCIDR` / `overlayPodCIDR`, a Service
 * CIDR of kube-proxy's that the config does not cover, and a pod block
 * outside `overlayPodCIDR`. Nothing found is OK, saying it was not checked.
 *
 * @example
 * ```ts
 * import { evalServiceCidr } from "./cluster.ts";
 * const facts = {
 *   proxies: [{ mode: "iptables" as const, present: true, serviceCidrs: [], addrs: [
 *     { ip: "10.96.0.1", family: 4 as const, kind: "cluster" as const, mode: "iptables" as const },
 *   ] }],
 *   pods: [], connected: [], unread: [],
 * };
 * const conf = { serviceCIDR: ["10.233.0.0/18"], overlayPodCIDR: [], hijackCIDR: [] };
 * if (evalServiceCidr(conf, facts).level !== "FAIL") throw new Error("outside");
 * ```
 *
 * @module
 */

import type { Finding } from "./checks.ts";
import { coveredBy, type Prefix, prefixText, toPrefix } from "./cidrs.ts";
import type { IpAddrLink, IpRoute } from "../kernel/ip_json.ts";
import { isLinkLocalOrMulticast } from "../ip.ts";
import {
  parseIptablesNat,
  parseIpvsAddrs,
  parseNftKubeProxy,
  type ProxyMode,
  type ProxyView,
  type ServiceAddr,
} from "./kube_proxy.ts";
import { parsePodRoutes, type PodRoute } from "./pod_routes.ts";

/** What the node shows about the cluster's CIDRs. */
export interface ClusterFacts {
  /** One view per mode and family read. */
  proxies: ProxyView[];
  /** The overlay CNI's pod blocks. */
  pods: PodRoute[];
  /** The node's directly connected networks (not pod or Service routes), as prefixes. */
  connected: string[];
  /** What could not be read, and why (`nft: not installed`). */
  unread: string[];
}

/** The raw reads {@linkcode clusterFacts} makes facts of (`./gather.ts` reads them). */
export interface ClusterReads {
  /** `iptables-save -t nat` and `ip6tables-save -t nat` outputs. */
  iptables: readonly string[];
  /** `nft -j list table ip kube-proxy` and `... ip6 kube-proxy` outputs. */
  nft: readonly string[];
  /** `ip -j route show table all` (both families). */
  routes: readonly IpRoute[];
  /** `ip -j addr show dev kube-ipvs0` (empty without the link). */
  ipvs: readonly IpAddrLink[];
  /** What could not be read, and why. */
  unread: readonly string[];
}

/**
 * Parse the reads: every kube-proxy view, the pod blocks, the node's other networks.
 *
 * @param reads the tools' outputs
 * @returns the facts the evaluators take
 */
export function clusterFacts(reads: ClusterReads): ClusterFacts {
  const pods = parsePodRoutes(reads.routes);
  const podSet = new Set(pods.map((p) => p.dst));
  const connected = reads.routes
    .filter((r) =>
      (r.table ?? "main") === "main" && (r.type ?? "unicast") === "unicast" &&
      r.dst !== "default" && !isLinkLocalOrMulticast(r.dst.split("/")[0]!)
    )
    .map((r) => toPrefix(r.dst))
    .filter((p): p is Prefix =>
      p !== undefined && p.len > 0 && p.len < (p.family === 4 ? 32 : 128) &&
      !podSet.has(prefixText(p))
    )
    .map(prefixText);
  return {
    proxies: [
      ...reads.iptables.map(parseIptablesNat),
      ...reads.nft.map(parseNftKubeProxy),
      parseIpvsAddrs(reads.ipvs),
    ],
    pods,
    connected: [...new Set(connected)],
    unread: [...reads.unread],
  };
}

/** The configured CIDRs the checks compare with. */
export interface ClusterConfig {
  serviceCIDR: readonly string[];
  overlayPodCIDR: readonly string[];
  hijackCIDR: readonly string[];
}

/** How many addresses a finding names. */
const NAMED = 5;

/**
 * The prefixes of CIDR texts (those that parse).
 *
 * @param list CIDR texts
 * @returns the prefixes
 */
export function prefixes(list: readonly string[]): Prefix[] {
  return list.map((c) => toPrefix(c)).filter((p): p is Prefix => p !== undefined);
}

/** Every Service address once, across modes: the most specific kind wins. */
export function mergeServiceAddrs(
  proxies: readonly ProxyView[],
): (ServiceAddr & { modes: ProxyMode[] })[] {
  const by = new Map<string, ServiceAddr & { modes: ProxyMode[] }>();
  const rank = { cluster: 2, external: 1, unknown: 0 };
  for (const v of proxies) {
    for (const a of v.addrs) {
      const had = by.get(a.ip);
      if (had === undefined) {
        by.set(a.ip, { ...a, modes: [a.mode] });
        continue;
      }
      if (!had.modes.includes(a.mode)) had.modes.push(a.mode);
      if (rank[a.kind] > rank[had.kind]) had.kind = a.kind;
      if (had.name === undefined && a.name !== undefined) had.name = a.name;
    }
  }
  return [...by.values()];
}

/**
 * The kube-proxy modes found, as text.
 *
 * @param proxies the views
 * @returns `iptables + nftables`, or `no kube-proxy mode found`
 */
export function modesText(proxies: readonly ProxyView[]): string {
  const modes = [...new Set(proxies.filter((v) => v.present).map((v) => v.mode))];
  return modes.length === 0 ? "no kube-proxy mode found" : modes.join(" + ");
}

function familyCounts(items: readonly { family: 4 | 6 }[]): string {
  const v4 = items.filter((i) => i.family === 4).length;
  const v6 = items.length - v4;
  return [v4 > 0 ? `${v4} IPv4` : "", v6 > 0 ? `${v6} IPv6` : ""].filter((s) => s).join(", ");
}

function listText(list: readonly string[]): string {
  return list.length === 0 ? "(empty)" : list.join(", ");
}

function named(items: readonly { text: string }[]): string {
  const shown = items.slice(0, NAMED).map((i) => i.text).join(", ");
  return items.length > NAMED ? `${shown} and ${items.length - NAMED} more` : shown;
}

function addrText(a: ServiceAddr): string {
  return a.name === undefined ? a.ip : `${a.ip} (${a.name})`;
}

/**
 * The node's ClusterIPs against `serviceCIDR`.
 *
 * @param conf the effective configuration's CIDRs
 * @param facts what the node shows
 * @param source where the configuration came from (for the message)
 * @returns one finding, id `service-cidr`
 */
export function evalServiceCidr(conf: ClusterConfig, facts: ClusterFacts, source = ""): Finding {
  const id = "service-cidr";
  const from = source === "" ? "" : ` (from ${source})`;
  const svc = prefixes(conf.serviceCIDR);
  const other = prefixes([...conf.hijackCIDR, ...conf.overlayPodCIDR]);
  const addrs = mergeServiceAddrs(facts.proxies);
  const cluster = addrs.filter((a) => a.kind === "cluster");
  const unknown = addrs.filter((a) => a.kind === "unknown");
  const external = addrs.length - cluster.length - unknown.length;
  const inside = (a: ServiceAddr) => coveredBy(svc, toPrefix(a.ip)!);
  const routed = (a: ServiceAddr) => coveredBy(other, toPrefix(a.ip)!);
  const modes = modesText(facts.proxies);
  const unread = facts.unread.length === 0 ? "" : `; not read: ${facts.unread.join("; ")}`;
  const checked = cluster.length + unknown.length;
  if (checked === 0) {
    return {
      id,
      level: "OK",
      found: `no ClusterIP in kube-proxy's rules (${modes}): not checked${unread}`,
      remedy: "",
    };
  }
  const suggest = "coordinator defaults --suggest proposes CIDRs from this node";
  const lost = cluster.filter((a) => !inside(a) && !routed(a));
  const config = `serviceCIDR ${listText(conf.serviceCIDR)}${from}`;
  if (lost.length > 0) {
    return {
      id,
      level: "FAIL",
      found: `${lost.length} of ${cluster.length} ClusterIPs (${modes}) outside ${config}: ${
        named(lost.map((a) => ({ text: addrText(a) })))
      }`,
      remedy:
        `set serviceCIDR to the cluster's Service range(s), in the node defaults file or the NAD (${suggest}); underlay pods cannot reach these Services`,
    };
  }
  const warnings: string[] = [];
  const viaOther = cluster.filter((a) => !inside(a));
  if (viaOther.length > 0) {
    warnings.push(
      `${viaOther.length} ClusterIPs only inside hijackCIDR/overlayPodCIDR, not ${config}: ${
        named(viaOther.map((a) => ({ text: addrText(a) })))
      }`,
    );
  }
  const unknownOut = unknown.filter((a) => !inside(a) && !routed(a));
  if (unknownOut.length > 0) {
    warnings.push(
      `${unknownOut.length} Service addresses of unknown kind (${
        [...new Set(unknownOut.flatMap((a) => a.modes))].join(", ")
      }: ClusterIP, ExternalIP or LoadBalancer IP) outside ${config}: ${
        named(unknownOut.map((a) => ({ text: addrText(a) })))
      }`,
    );
  }
  const proxyCidrs = [...new Set(facts.proxies.flatMap((v) => v.serviceCidrs))];
  const wider = proxyCidrs.filter((c) => !coveredBy(svc, toPrefix(c)!));
  if (wider.length > 0) {
    warnings.push(
      `kube-proxy's Service CIDRs ${
        wider.join(", ")
      } are not inside ${config}: Services created later may fall outside`,
    );
  }
  if (warnings.length > 0) {
    return {
      id,
      level: "WARN",
      found: warnings.join("; "),
      remedy:
        `put the cluster's Service range(s) in serviceCIDR (${suggest}); if the addresses named are ExternalIPs or LoadBalancer IPs (kubectl get svc -A), nothing is wrong`,
    };
  }
  const extra = external === 0 ? "" : `; ${external} ExternalIP/LoadBalancer IPs not checked`;
  const what = unknown.length === 0
    ? `${cluster.length} ClusterIPs`
    : cluster.length === 0
    ? `${unknown.length} Service addresses`
    : `${cluster.length} ClusterIPs and ${unknown.length} other Service addresses`;
  return {
    id,
    level: "OK",
    found: `${what} checked (${
      familyCounts([...cluster, ...unknown])
    }; ${modes}): all inside ${config}${extra}`,
    remedy: "",
  };
}

/**
 * The node's pod blocks against `overlayPodCIDR`.
 *
 * @param conf the effective configuration's CIDRs
 * @param facts what the node shows
 * @param source where the configuration came from (for the message)
 * @returns one finding, id `overlay-pod-cidr`
 */
export function evalPodCidr(conf: ClusterConfig, facts: ClusterFacts, source = ""): Finding {
  const id = "overlay-pod-cidr";
  const from = source === "" ? "" : ` (from ${source})`;
  const pods = prefixes(conf.overlayPodCIDR);
  const cnis = [...new Set(facts.pods.map((p) => p.cni))].join(" + ");
  if (facts.pods.length === 0) {
    return {
      id,
      level: "OK",
      found: `no overlay CNI pod routes (Calico, Cilium, Flannel) on this node: not checked${
        facts.unread.filter((u) => u.startsWith("ip:")).map((u) => `; not read: ${u}`).join("")
      }`,
      remedy: "",
    };
  }
  const config = `overlayPodCIDR ${listText(conf.overlayPodCIDR)}${from}`;
  const out = facts.pods.filter((p) => !coveredBy(pods, toPrefix(p.dst)!));
  if (out.length > 0) {
    return {
      id,
      level: "WARN",
      found: `${out.length} of ${facts.pods.length} pod routes (${cnis}) outside ${config}: ${
        named(out.map((p) => ({ text: `${p.dst} (${p.how})` })))
      }`,
      remedy:
        "add the cluster's pod CIDR(s) (every IP pool) to overlayPodCIDR, in the node defaults file or the NAD (coordinator defaults --suggest proposes CIDRs from this node); underlay pods reach pods outside it through their gateway, not the node",
    };
  }
  return {
    id,
    level: "OK",
    found: `${facts.pods.length} pod routes (${
      familyCounts(facts.pods)
    }; ${cnis}) inside ${config}`,
    remedy: "",
  };
}
