/**
 * The node side of ADD: the node IPs a pod reaches its node by, and the
 * node's changes (veth pair, table routes, rule, neighbours) as intents.
 *
 * @module
 */

import { type AddrsRead, type IpIntent, READ, type RouteGetRead } from "../kernel/intent.ts";
import type { IpAddrLink, IpRouteGet } from "../kernel/ip_json.ts";
import { canonicalIp, familyOf, hostPrefix, isLinkLocalOrMulticast } from "../ip.ts";
import { sharedRule } from "./cleanup.ts";
import { type AddView, type Family, hasFamily, linkAddrs } from "./mode.ts";
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

/** The node side of ADD. */
export interface NodePlan {
  /** Read before the changes (the original looks the routes up before its own exist). */
  reads: { routeGets: RouteGetRead[]; nodeAddrs: AddrsRead };
  changes: IpIntent[];
}

/**
 * The node side of ADD: the veth pair (underlay first NIC), the shared rule
 * per family, the table routes and PERMANENT neighbours of the current NIC's
 * addresses, and the reads that give the node IPs for the pod.
 *
 * @param v the view
 * @param create create the veth pair with this node-end MAC
 * @returns reads and changes
 */
export function planNode(v: AddView, create: { hostMac: string } | undefined): NodePlan {
  const table = v.conf.hostRuleTable;
  const changes: IpIntent[] = [...MODES[v.decision.mode].nodeChanges(v, create)];
  for (const f of [4, 6] as const) {
    if (hasFamily(v.family, f)) changes.push(sharedRule(f, table, "add"));
  }
  for (const ip of v.current) {
    changes.push({
      kind: "route",
      op: "replace",
      dst: hostPrefix(ip),
      dev: v.hostVeth,
      scope: "link",
      table,
    });
  }
  for (const ip of v.current) {
    // Any entry of the address elsewhere (the uplink, a former pod) goes first.
    changes.push({ kind: "neigh-flush", dst: ip, optional: true });
    changes.push({ kind: "neigh", dst: ip, lladdr: v.podVethMac, dev: v.hostVeth });
  }
  return {
    reads: { routeGets: v.allPodIps.map((ip) => READ.routeGet(ip)), nodeAddrs: READ.addrs() },
    changes,
  };
}
