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

import type { IpLink } from "../kernel/iproute.ts";
import { copyArgs, isDefaultRoute, isMain, routeFamily } from "./_routes.ts";
import { type AddView, hasFamily, type ModeDecision, type ModeRules, REPLY_TABLE } from "./mode.ts";

const EXISTS = /File exists/;

/**
 * Overlay mode: the pair is the first NIC's, found on the node as its peer by
 * ifindex; every route of the NIC goes to its own table.
 */
export const OVERLAY: ModeRules = {
  mode: "overlay",
  podEnd: (conf) => conf.podDefaultCniNic,
  createsPair: () => false,
  ownsPair: () => false,
  nodeEnd: (podEnd: IpLink, nodeLinks: readonly IpLink[]) =>
    nodeLinks.find((l) => l.ifindex === podEnd.link_index),
  podEndProblem: (podEnd: IpLink) =>
    podEnd.linkinfo?.info_kind === "veth"
      ? undefined
      : `Interface "${podEnd.ifname}" is not a veth: overlay mode needs the first NIC's veth pair`,
  nodeEndText: (podEnd: IpLink) => `ifindex ${podEnd.link_index}`,
  nodeLines: () => [],
  podLines: () => [],
  replyPath: () => ({ lines: [], lines6: [], mangle: false }),
  tunes: () => true,
  policyTable: (d: ModeDecision) => ["table", String(d.table)],
  tuneReply(v: AddView, defaultNicAddrs: readonly string[]) {
    if (!v.decision.firstInvoke) return { ruleSrcs: [], lines: [] };
    const first = v.conf.podDefaultCniNic;
    const lines = v.facts.routes
      .filter((r) => isMain(r) && isDefaultRoute(r) && r.dev === first)
      .filter((r) => hasFamily(v.family, routeFamily(r)))
      .map((r) => ({ args: copyArgs(r, first, REPLY_TABLE), tolerate: EXISTS }));
    return { ruleSrcs: [...defaultNicAddrs], lines };
  },
};
