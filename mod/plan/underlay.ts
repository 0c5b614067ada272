/**
 * Underlay mode's own pieces: the pod reaches its node and the cluster through
 * a veth pair it gets from the coordinator (`veth0` in the pod, `veth<id>` on
 * the node), and connections the node starts towards the pod come back through
 * it. That reply path is a connmark: a new connection arriving on `veth0` gets
 * mark {@linkcode REPLY_MARK}, the mark is saved in conntrack and restored on
 * the replies, and the rule `from all fwmark 0x1 lookup 100` sends them by
 * table {@linkcode REPLY_TABLE}, whose default route is `veth0`.
 *
 * @example
 * ```ts
 * import { connmarkRules } from "./underlay.ts";
 * if (connmarkRules("veth0", 4).length !== 3) throw new Error("unexpected");
 * ```
 *
 * @module
 */

import type { ConnmarkIntent, Family, IpIntent, RuleIntent } from "../kernel/intent.ts";
import type { IpLink, IpRule } from "../kernel/ip_json.ts";
import { canonicalIp } from "../ip.ts";
import {
  type AddView,
  type ModeDecision,
  type ModeRules,
  POD_VETH,
  type PodGateways,
  REPLY_TABLE,
  type ReplyPath,
  RULE_PRIORITY,
} from "./mode.ts";

/** The fwmark / connmark bit of the reply path. */
export const REPLY_MARK = "0x1";

/**
 * The three connmark rules of the reply path in one family: mark new
 * connections arriving on the pod end of the pair, save the mark in
 * conntrack, restore it on what the pod sends.
 *
 * @param podVeth the pod end of the veth (veth0)
 * @param family the family
 * @returns the rules
 */
export function connmarkRules(podVeth: string, family: Family): ConnmarkIntent[] {
  return (["mark", "save", "restore"] as const).map((role) => ({
    kind: "connmark",
    family,
    role,
    iface: podVeth,
    mark: REPLY_MARK,
  }));
}

/**
 * `from all fwmark 0x1 lookup 100` at priority 1000, "exists" accepted.
 *
 * @param family the family
 * @returns the rule
 */
export function fwmarkRule(family: Family): RuleIntent {
  return {
    kind: "rule",
    op: "add",
    family,
    priority: RULE_PRIORITY,
    fwmark: REPLY_MARK,
    table: REPLY_TABLE,
    tolerate: "exists",
  };
}

/**
 * Whether a rule is the reply-path rule of {@linkcode fwmarkRule}.
 *
 * @param r a rule as `ip -j rule show` prints it
 * @returns true for `1000: from all fwmark 0x1 lookup 100`
 */
export function isFwmarkRule(r: IpRule): boolean {
  return r.fwmark === REPLY_MARK && r.table === String(REPLY_TABLE) && r.priority === RULE_PRIORITY;
}

function replyPath(v: AddView, { gw4, gw6, src4 }: PodGateways): ReplyPath {
  const changes: IpIntent[] = [];
  const connmark: ConnmarkIntent[] = [];
  if (!UNDERLAY.hasReplyPath(v.decision)) return { changes, connmark };
  const route = (dst: string, via: string | undefined, src: string | undefined): IpIntent => ({
    kind: "route",
    op: "replace",
    dst,
    ...(via === undefined ? {} : { via: canonicalIp(via) }),
    dev: POD_VETH,
    ...(src === undefined ? {} : { src }),
    table: REPLY_TABLE,
  });
  if (v.family !== "v6") {
    changes.push(fwmarkRule(4), route("0.0.0.0/0", gw4, src4));
    connmark.push(...connmarkRules(POD_VETH, 4));
  }
  if (v.family !== "v4") {
    changes.push(fwmarkRule(6), route("::/0", gw6, undefined));
    connmark.push(...connmarkRules(POD_VETH, 6));
  }
  return { changes, connmark };
}

/**
 * Underlay mode: the first NIC creates the pair (`veth0` in the pod, the host
 * veth named after the container), later NICs reuse it; the pair is found on
 * the node by name; the first NIC's routes to the node and the hijack routes
 * are in the main table and its reply path is the connmark.
 */
export const UNDERLAY: ModeRules = {
  mode: "underlay",
  podEnd: () => POD_VETH,
  createsPair: (d: ModeDecision) => d.firstInvoke && !d.vethExists,
  ownsPair: (d) => d.firstInvoke,
  pairIsOurs: true,
  namedNodeEnd: (hostVeth: string) => hostVeth,
  nodeEnd(podEnd: IpLink, nodeLinks: readonly IpLink[], hostVeth: string) {
    const peer = nodeLinks.find((l) => l.ifindex === podEnd.link_index);
    const named = nodeLinks.find((l) => l.ifname === hostVeth);
    return named !== undefined && peer?.ifname === hostVeth ? named : undefined;
  },
  podEndProblem: () => undefined,
  nodeEndText: (_podEnd: IpLink, hostVeth: string) => `"${hostVeth}"`,
  nodeChanges(v: AddView, create: { hostMac: string } | undefined) {
    const changes: IpIntent[] = [];
    if (create !== undefined) {
      changes.push({
        kind: "veth",
        name: v.hostVeth,
        mac: create.hostMac,
        mtu: v.conf.vethMTU,
        txqueuelen: 0,
        peer: POD_VETH,
        peerMac: v.podVethMac,
        netns: v.netns,
      });
    }
    changes.push({ kind: "link", dev: v.hostVeth, up: true });
    return changes;
  },
  podChanges(v: AddView) {
    const changes: IpIntent[] = [{ kind: "link", dev: POD_VETH, up: true }];
    const address = v.conf.vethLinkAddress;
    if (v.decision.firstInvoke && address !== "" && v.family !== "v6") {
      changes.push({ kind: "addr", dev: POD_VETH, cidr: `${address}/32`, tolerate: "exists" });
    }
    return changes;
  },
  hasReplyPath: (d) => d.firstInvoke,
  replyPath,
  tunes: (d: ModeDecision) => !d.firstInvoke,
  policyTable: (d: ModeDecision) => (d.firstInvoke ? "main" : d.table),
  tuneReply: () => ({ ruleSrcs: [], changes: [] }),
  firstInvokeWhy: (ifname, conf) => `"${ifname}" is podDefaultCniNic "${conf.podDefaultCniNic}"`,
};
