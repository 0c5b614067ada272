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
 * import { mangleRules } from "./underlay.ts";
 * if (mangleRules("veth0").length !== 3) throw new Error("unexpected");
 * ```
 *
 * @module
 */

import type { BatchLine, IpLink, IpRule } from "../kernel/iproute.ts";
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

/** The reply-path rule as `ip rule` prints it. */
export const FWMARK_RULE_TEXT =
  `${RULE_PRIORITY}: from all fwmark ${REPLY_MARK} lookup ${REPLY_TABLE}`;

/**
 * The three mangle rules, as `iptables-save` prints them (without `-A`).
 *
 * @param podVeth the pod end of the veth (veth0)
 * @returns rule specs "CHAIN args..."
 */
export function mangleRules(podVeth: string): string[] {
  return [
    `PREROUTING -i ${podVeth} -m conntrack --ctstate NEW -j MARK --set-xmark ${REPLY_MARK}/0xffffffff`,
    `PREROUTING -m mark --mark ${REPLY_MARK} -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff`,
    "OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff",
  ];
}

/**
 * `from all fwmark 0x1 lookup 100` at priority 1000, "exists" tolerated.
 *
 * @param exists the error text that means it is there already
 * @returns the batch line
 */
export function fwmarkRule(exists: RegExp): BatchLine {
  return {
    args: [
      "rule",
      "add",
      "fwmark",
      REPLY_MARK,
      "table",
      String(REPLY_TABLE),
      "pref",
      String(RULE_PRIORITY),
    ],
    tolerate: exists,
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

const EXISTS = /File exists/;

function vethPairLine(v: AddView, hostMac: string): BatchLine {
  const mtu = String(v.conf.vethMTU);
  return {
    args: [
      ...["link", "add", v.hostVeth, "address", hostMac, "mtu", mtu, "txqueuelen", "0"],
      ...["type", "veth", "peer", "name", POD_VETH, "address", v.podVethMac, "mtu", mtu],
      ...["txqueuelen", "0", "netns", v.netns],
    ],
  };
}

function replyPath(v: AddView, { gw4, gw6, src4 }: PodGateways): ReplyPath {
  const lines: BatchLine[] = [];
  const lines6: BatchLine[] = [];
  if (!v.decision.firstInvoke) return { lines, lines6, mangle: false };
  const table = String(REPLY_TABLE);
  if (v.family !== "v6") {
    lines.push(fwmarkRule(EXISTS));
    const via = gw4 === undefined ? [] : ["via", gw4];
    const src = src4 === undefined ? [] : ["src", src4];
    lines.push({
      args: ["route", "replace", "0.0.0.0/0", ...via, "dev", POD_VETH, ...src, "table", table],
    });
  }
  if (v.family !== "v4") {
    lines6.push(fwmarkRule(EXISTS));
    const via = gw6 === undefined ? [] : ["via", gw6];
    lines.push({ args: ["route", "replace", "::/0", ...via, "dev", POD_VETH, "table", table] });
  }
  return { lines, lines6, mangle: true };
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
  ownsPair: (d: ModeDecision) => d.firstInvoke,
  nodeEnd(podEnd: IpLink, nodeLinks: readonly IpLink[], hostVeth: string) {
    const peer = nodeLinks.find((l) => l.ifindex === podEnd.link_index);
    const named = nodeLinks.find((l) => l.ifname === hostVeth);
    return named !== undefined && peer?.ifname === hostVeth ? named : undefined;
  },
  podEndProblem: () => undefined,
  nodeEndText: (_podEnd: IpLink, hostVeth: string) => `"${hostVeth}"`,
  nodeLines(v: AddView, create: { hostMac: string } | undefined) {
    const lines = create === undefined ? [] : [vethPairLine(v, create.hostMac)];
    lines.push({ args: ["link", "set", v.hostVeth, "up"] });
    return lines;
  },
  podLines(v: AddView) {
    const lines: BatchLine[] = [{ args: ["link", "set", POD_VETH, "up"] }];
    const address = v.conf.vethLinkAddress;
    if (v.decision.firstInvoke && address !== "" && v.family !== "v6") {
      lines.push({ args: ["addr", "add", `${address}/32`, "dev", POD_VETH], tolerate: EXISTS });
    }
    return lines;
  },
  replyPath,
  tunes: (d: ModeDecision) => !d.firstInvoke,
  policyTable: (d: ModeDecision) => (d.firstInvoke ? [] : ["table", String(d.table)]),
  tuneReply: () => ({ ruleSrcs: [], lines: [] }),
};
