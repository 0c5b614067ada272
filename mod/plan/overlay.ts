/**
 * Overlay mode's own pieces: the first NIC (`eth0`) belongs to an overlay CNI
 * (Calico, Cilium ...), which already gave the pod a veth pair to the node;
 * the coordinator runs for a later underlay NIC and routes the pod's traffic
 * to the node, Services and the cluster through that pair. Nothing is
 * created: the node end is found as the peer of the first NIC. The first
 * overlay NIC also keeps replies from the first NIC's addresses on it (table
 * 100), since its own default route may move.
 *
 * @module
 */

import type { IpLink } from "../kernel/ip_json.ts";
import { copyRoute, isDefaultRoute, isMain } from "./_routes.ts";
import { type AddView, hasFamily, type ModeDecision, type ModeRules, REPLY_TABLE } from "./mode.ts";

/**
 * Overlay mode: the pair is the first NIC's, found on the node as its peer by
 * ifindex; every route of the NIC goes to its own table.
 */
export const OVERLAY: ModeRules = {
  mode: "overlay",
  podEnd: (conf) => conf.podDefaultCniNic,
  createsPair: () => false,
  ownsPair: () => false,
  pairIsOurs: false,
  namedNodeEnd: () => undefined,
  nodeEnd: (podEnd: IpLink, nodeLinks: readonly IpLink[]) =>
    nodeLinks.find((l) => l.ifindex === podEnd.link_index),
  podEndProblem: (podEnd: IpLink) =>
    podEnd.linkinfo?.info_kind === "veth"
      ? undefined
      : `Interface "${podEnd.ifname}" is not a veth: overlay mode needs the first NIC's veth pair`,
  nodeEndText: (podEnd: IpLink) => `ifindex ${podEnd.link_index}`,
  nodeChanges: () => [],
  podChanges: () => [],
  hasReplyPath: () => false,
  replyPath: () => ({ changes: [], connmark: [] }),
  tunes: () => true,
  policyTable: (d: ModeDecision) => d.table,
  tuneReply(v: AddView, defaultNicAddrs: readonly string[]) {
    if (!v.decision.firstInvoke) return { ruleSrcs: [], changes: [] };
    const first = v.conf.podDefaultCniNic;
    const changes = v.facts.routes
      .filter((r) => isMain(r) && isDefaultRoute(r) && r.dev === first)
      .filter((r) => hasFamily(v.family, r.family))
      .map((r) => copyRoute(r, first, REPLY_TABLE));
    return { ruleSrcs: [...defaultNicAddrs], changes };
  },
  firstInvokeWhy: () => "the first overlay NIC (no other NIC's policy table in use)",
};
