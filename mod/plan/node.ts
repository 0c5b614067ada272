/**
 * The node side of ADD: the node IPs a pod reaches its node by, and the
 * `ip -batch` lines for the node (veth pair, table routes, rule, neighbours).
 *
 * @module
 */

import { type BatchLine, type IpAddrLink, type IpRouteGet } from "../kernel/iproute.ts";
import { canonicalIp, familyOf, hostPrefix, isLinkLocalOrMulticast } from "../ip.ts";
import { type AddView, type Family, hasFamily, linkAddrs, RULE_PRIORITY } from "./mode.ts";
import { MODES } from "./modes.ts";

/**
 * Node IPs for the pod: the preferred sources of the node's
 * routes to every pod IP, then the addresses of node links outside the
 * exclusion list; family-filtered, no duplicates.
 *
 * @param routeGets `ip route get <podIP>` answers (undefined when it failed)
 * @param hostAddrs `ip -j addr show` of the node
 * @param family pod family
 * @returns ordered node IPs
 */
export function nodeIpsForPod(
  routeGets: readonly (IpRouteGet | undefined)[],
  hostAddrs: readonly IpAddrLink[],
  family: Family,
): string[] {
  const out: string[] = [];
  const add = (ip: string | undefined) => {
    if (ip === undefined) return;
    const c = canonicalIp(ip);
    if (!hasFamily(family, familyOf(c)) || isLinkLocalOrMulticast(c) || out.includes(c)) return;
    out.push(c);
  };
  for (const g of routeGets) add(g?.prefsrc);
  const excluded =
    /^(docker.*|cbr.*|dummy.*|virbr.*|lxcbr.*|veth.*|lo|cali.*|flannel.*|kube-ipvs.*|cni.*|vx-submariner|cilium.*)$/;
  for (const link of hostAddrs) {
    if (excluded.test(link.ifname)) continue;
    for (const ip of linkAddrs(hostAddrs, link.ifname, family)) add(ip);
  }
  return out;
}

/**
 * Node-side lines of ADD: veth creation (underlay first invoke), the host
 * rule per family, the /32 routes and PERMANENT neighbours for the current
 * NIC's addresses, and the reads (route get per pod IP, addresses).
 *
 * @param v the view
 * @param create create the veth pair with these MACs
 * @returns `lines` for `ip -batch` (the first `reads` lines are the route
 *   gets, one per pod IP, then `addr show`) and `lines6` for `ip -6 -batch`
 */
export function planHost(
  v: AddView,
  create: { hostMac: string } | undefined,
): { lines: BatchLine[]; lines6: BatchLine[]; reads: number } {
  const lines: BatchLine[] = [];
  const lines6: BatchLine[] = [];
  // Reads come first, as in the original: the node's route to a pod IP is
  // looked up before the table-500 routes of this ADD exist.
  const reads: BatchLine[] = v.allPodIps.map((ip) => ({
    args: ["route", "get", ip],
    read: true,
    optional: true,
  }));
  reads.push({ args: ["addr", "show"], read: true });
  lines.push(...MODES[v.decision.mode].nodeLines(v, create));
  const table = String(v.conf.hostRuleTable);
  const exists = /File exists/;
  if (hasFamily(v.family, 4)) {
    lines.push({
      args: ["rule", "add", "pref", String(RULE_PRIORITY), "table", table],
      tolerate: exists,
    });
  }
  if (hasFamily(v.family, 6)) {
    lines6.push({
      args: ["rule", "add", "pref", String(RULE_PRIORITY), "table", table],
      tolerate: exists,
    });
  }
  for (const ip of v.current) {
    lines.push({
      args: [
        "route",
        "replace",
        hostPrefix(ip),
        "dev",
        v.hostVeth,
        "scope",
        "link",
        "table",
        table,
      ],
    });
  }
  // Neighbour lines go last: iproute2 ends the whole batch when one of them fails.
  for (const ip of v.current) {
    lines.push({ args: ["neigh", "flush", "to", ip, "nud", "all"], optional: true });
    lines.push({
      args: ["neigh", "replace", ip, "lladdr", v.podVethMac, "dev", v.hostVeth, "nud", "permanent"],
    });
  }
  return { lines: [...reads, ...lines], lines6, reads: reads.length };
}
