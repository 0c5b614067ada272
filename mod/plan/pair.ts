/**
 * The two ends of the pod-node veth pair, found the one way ADD, DEL and
 * `explain` all use: the pod end by the mode's name for it (`veth0`, or the
 * first NIC in overlay mode), the node end among the node's links by the
 * mode's rule (the named host veth that is its peer, or the peer by
 * ifindex). Pure: the links are read by the caller.
 *
 * @example
 * ```ts
 * import { findPair } from "./pair.ts";
 * import { UNDERLAY } from "./underlay.ts";
 * const pod = [{ ifindex: 3, ifname: "veth0", flags: [], mtu: 1500, link_index: 9 }];
 * const node = [{ ifindex: 9, ifname: "vethabc", flags: [], mtu: 1500 }];
 * const pair = findPair(UNDERLAY, { podDefaultCniNic: "eth0" }, pod, node, "vethabc");
 * if (pair.nodeEnd?.ifname !== "vethabc") throw new Error("not found");
 * ```
 *
 * @module
 */

import type { CoordinatorConfig } from "../config/types.ts";
import { CniError, ErrorCode } from "../errors.ts";
import { type IpLink, linkByName } from "../kernel/ip_json.ts";
import type { ModeRules } from "./mode.ts";

/** The ends as found, and why the pair cannot be used (undefined: it can). */
export interface Pair {
  podEnd?: IpLink;
  /** Undefined also when the node's links were not given. */
  nodeEnd?: IpLink;
  /** 102 for a missing end, 7 for a pod end that cannot carry the mode's traffic. */
  problem?: CniError;
}

/**
 * Find the pair's two ends.
 *
 * @param rules the NIC's mode
 * @param conf the configuration (the first NIC's name)
 * @param podLinks the pod's links
 * @param nodeLinks the node's links (undefined: not read, the node end stays unknown)
 * @param hostVeth the name this plugin gives the container's host veth
 * @returns the ends, or the problem
 */
export function findPair(
  rules: ModeRules,
  conf: Pick<CoordinatorConfig, "podDefaultCniNic">,
  podLinks: readonly IpLink[],
  nodeLinks: readonly IpLink[] | undefined,
  hostVeth: string,
): Pair {
  const name = rules.podEnd(conf);
  const podEnd = linkByName(podLinks, name);
  if (podEnd === undefined) {
    return {
      problem: new CniError(ErrorCode.NotFound, `Interface "${name}" not found in the pod`),
    };
  }
  const why = rules.podEndProblem(podEnd);
  if (why !== undefined) {
    return { podEnd, problem: new CniError(ErrorCode.InvalidNetworkConfig, why) };
  }
  if (nodeLinks === undefined) return { podEnd };
  const nodeEnd = rules.nodeEnd(podEnd, nodeLinks, hostVeth);
  if (nodeEnd === undefined) {
    return {
      podEnd,
      problem: new CniError(
        ErrorCode.NotFound,
        `The node end of "${podEnd.ifname}" (${rules.nodeEndText(podEnd, hostVeth)}) was not found`,
      ),
    };
  }
  return { podEnd, nodeEnd };
}
