/**
 * The cluster's pod blocks as the overlay CNI routes them on the node (a pure
 * parser over `ip -j route show table all`, both families; the read is in
 * `./gather.ts`). Recognised, main table only:
 *
 * - **Calico**: the blackhole of each block this node owns (`blackhole
 *   10.244.12.0/26 proto bird`, or `proto 80` when Felix programs it without
 *   BIRD), the blocks of other nodes through `tunl0` (IPIP), `vxlan.calico` /
 *   `vxlan-v6.calico`, `wireguard.cali` / `wg-v6.cali`, or learned by BIRD
 *   (`proto bird` via a node), and each local pod's `/32` (`/128`) on its
 *   `cali<hash>` link;
 * - **Cilium**: the routes on `cilium_host` (this node's pod CIDR, its router
 *   address and, in tunnel mode, the other nodes' pod CIDRs);
 * - **Flannel**: the other nodes' subnets on `flannel.1` / `flannel-v6.1` /
 *   `flannel-wg`, and this node's subnet on `cni0` when flannel routes exist.
 *
 * Link-local and multicast destinations (every cali link has `fe80::/64`)
 * are not pod blocks. Routes the coordinator itself adds (table 500, `veth*`)
 * never match: they lead to underlay pods.
 *
 * @example
 * ```ts
 * import { parsePodRoutes } from "./pod_routes.ts";
 * const r = parsePodRoutes([{ family: 4, type: "blackhole", dst: "10.244.12.0/26", protocol: "bird" }]);
 * if (r[0]?.dst !== "10.244.12.0/26" || r[0]?.cni !== "calico") throw new Error("parse");
 * ```
 *
 * @module
 */

import type { IpRoute } from "../kernel/ip_json.ts";
import { isLinkLocalOrMulticast } from "../ip.ts";
import { prefixText, toPrefix } from "./cidrs.ts";

/** Which overlay CNI a pod route belongs to. */
export type PodCni = "calico" | "cilium" | "flannel";

/** One pod block (or pod address) the node routes. */
export interface PodRoute {
  /** Canonical prefix. */
  dst: string;
  family: 4 | 6;
  cni: PodCni;
  /** The route, briefly: `blackhole proto bird`, `dev tunl0`. */
  how: string;
}

const CALICO_TUNNELS = new Set([
  "tunl0",
  "vxlan.calico",
  "vxlan-v6.calico",
  "wireguard.cali",
  "wg-v6.cali",
]);
const FLANNEL_TUNNELS = new Set(["flannel.1", "flannel-v6.1", "flannel-wg", "flannel-wg-v6"]);
const CALICO_PROTOS = new Set(["bird", "80"]);

function cniOf(r: IpRoute, flannel: boolean): { cni: PodCni; how: string } | undefined {
  const dev = r.dev ?? "";
  const proto = r.protocol ?? "";
  if (r.type === "blackhole") {
    return CALICO_PROTOS.has(proto)
      ? { cni: "calico", how: `blackhole proto ${proto}` }
      : undefined;
  }
  if (r.type !== undefined && r.type !== "unicast") return undefined;
  if (CALICO_TUNNELS.has(dev)) return { cni: "calico", how: `dev ${dev}` };
  if (/^cali[0-9a-f]+$/.test(dev)) return { cni: "calico", how: "dev cali*" };
  if (proto === "bird") return { cni: "calico", how: `proto bird via ${r.gateway ?? "?"}` };
  if (dev === "cilium_host") return { cni: "cilium", how: "dev cilium_host" };
  if (FLANNEL_TUNNELS.has(dev)) return { cni: "flannel", how: `dev ${dev}` };
  if (flannel && dev === "cni0") return { cni: "flannel", how: "dev cni0" };
  return undefined;
}

/**
 * The pod blocks among the node's routes.
 *
 * @param routes `ip -j route show table all` (both families)
 * @returns each block once, in route order
 */
export function parsePodRoutes(routes: readonly IpRoute[]): PodRoute[] {
  const main = routes.filter((r) => (r.table ?? "main") === "main");
  const flannel = main.some((r) => FLANNEL_TUNNELS.has(r.dev ?? ""));
  const seen = new Set<string>();
  const out: PodRoute[] = [];
  for (const r of main) {
    if (r.dst === "default" || isLinkLocalOrMulticast(r.dst.split("/")[0]!)) continue;
    const c = cniOf(r, flannel);
    const p = c === undefined ? undefined : toPrefix(r.dst);
    if (c === undefined || p === undefined || p.len === 0) continue;
    const dst = prefixText(p);
    if (seen.has(dst)) continue;
    seen.add(dst);
    out.push({ dst, family: p.family, ...c });
  }
  return out;
}
