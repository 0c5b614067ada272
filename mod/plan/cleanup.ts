/**
 * What DEL, GC and the ADD rollback remove, and the lines that remove it:
 * the node side of one attachment ({@linkcode HostCleanup}), the pod's `from`
 * rules, and the decision to drop the shared `from all lookup <table>` rule
 * once the last pod of its table is gone. Pure: `commands/_host.ts` reads the
 * node and runs the lines.
 *
 * @example
 * ```ts
 * import { hostCleanup, hostCleanupLines } from "./cleanup.ts";
 * const c = hostCleanup({ hostVeth: "veth1234", deleteVeth: true, hostRuleTable: 500, v6: false });
 * if (hostCleanupLines(c).length !== 1) throw new Error("unexpected");
 * ```
 *
 * @module
 */

import { GONE } from "../kernel/apply.ts";
import type { BatchLine, IpRoute, IpRule } from "../kernel/iproute.ts";
import type { AttachmentState } from "../kernel/state.ts";
import { bareIp, canonicalIp, familyOf, hostPrefix } from "../ip.ts";
import { RULE_PRIORITY } from "./mode.ts";
import type { PlannedRule } from "./policy.ts";

/** The node side of one attachment, to remove. */
export interface HostCleanup {
  hostVeth: string;
  /** Delete the veth itself (the first NIC owns it). */
  deleteVeth: boolean;
  /** Pod IPs whose table routes and neighbours on `hostVeth` go (none when the veth goes). */
  podIps: readonly string[];
  /** The node table of the pod routes, and of the shared rule. */
  hostRuleTable: number;
  /** The pod had IPv6 addresses: the IPv6 shared rule may go too. */
  v6: boolean;
}

/**
 * A {@linkcode HostCleanup}; deleting the veth takes its routes and
 * neighbours with it, so `podIps` is then dropped.
 *
 * @param c the parts
 * @returns the cleanup
 */
export function hostCleanup(c: {
  hostVeth: string;
  deleteVeth: boolean;
  podIps?: readonly string[];
  hostRuleTable: number;
  v6: boolean;
}): HostCleanup {
  return {
    hostVeth: c.hostVeth,
    deleteVeth: c.deleteVeth,
    podIps: c.deleteVeth ? [] : [...(c.podIps ?? [])],
    hostRuleTable: c.hostRuleTable,
    v6: c.v6,
  };
}

/**
 * The node cleanup of what one ADD recorded.
 *
 * @param s the state
 * @returns the cleanup
 */
export function hostCleanupFromState(s: AttachmentState): HostCleanup {
  return hostCleanup({
    hostVeth: s.hostVeth,
    deleteVeth: s.hostVethCreated,
    podIps: s.podIPs,
    hostRuleTable: s.hostRuleTable,
    v6: s.podIPs.some((ip) => familyOf(ip) === 6),
  });
}

/**
 * Node-side cleanup lines (all tolerate "already gone").
 *
 * @param c what to remove
 * @returns batch lines
 */
export function hostCleanupLines(c: HostCleanup): BatchLine[] {
  const lines: BatchLine[] = [];
  if (c.deleteVeth) {
    // Deleting the veth also removes its peer and every route/neighbour on it.
    lines.push({ args: ["link", "del", "dev", c.hostVeth], tolerate: GONE });
    return lines;
  }
  for (const ip of c.podIps) {
    lines.push({
      args: ["route", "del", hostPrefix(ip), "dev", c.hostVeth, "table", String(c.hostRuleTable)],
      tolerate: GONE,
    });
    // Not "neigh del": iproute2 exits the whole batch when a neigh command fails.
    lines.push({
      args: ["neigh", "flush", "to", ip, "dev", c.hostVeth, "nud", "all"],
      tolerate: GONE,
    });
  }
  return lines;
}

/**
 * Pod-side lines deleting `from` rules an ADD made (split per family).
 *
 * @param rules the rules
 * @returns IPv4 and IPv6 batch lines
 */
export function podRuleCleanupLines(
  rules: readonly PlannedRule[],
): { lines: BatchLine[]; lines6: BatchLine[] } {
  const lines: BatchLine[] = [];
  const lines6: BatchLine[] = [];
  for (const r of rules) {
    (r.family === 4 ? lines : lines6).push({
      args: ["rule", "del", "from", r.src, "table", String(r.table), "pref", String(r.priority)],
      tolerate: GONE,
    });
  }
  return { lines, lines6 };
}

/** One shared `<RULE_PRIORITY>: from all lookup <table>` rule of one family. */
export interface SharedRule {
  family: 4 | 6;
  table: number;
}

/**
 * The shared rules to drop with these cleanups: a table's IPv4 rule when it
 * is there and the table keeps no IPv4 route, its IPv6 rule when a pod of
 * the table had IPv6 and the table keeps no IPv6 route. Routes the cleanups
 * remove (every route on a veth being deleted, the table routes of the pod
 * IPs) do not count as kept.
 *
 * @param routes the node's routes of every table (`ip -j route show table all`)
 * @param rules4 the node's IPv4 rules
 * @param cleanups what is being removed
 * @returns the rules to drop, per table in the cleanups' order, IPv4 first
 */
export function sharedRuleDrops(
  routes: readonly IpRoute[],
  rules4: readonly IpRule[],
  cleanups: readonly HostCleanup[],
): SharedRule[] {
  const goes = (r: IpRoute) =>
    cleanups.some((c) =>
      r.dev === c.hostVeth &&
      (c.deleteVeth || c.podIps.some((ip) => canonicalIp(ip) === canonicalIp(bareIp(r.dst))))
    );
  const drops: SharedRule[] = [];
  for (const t of new Set(cleanups.map((c) => c.hostRuleTable))) {
    const table = String(t);
    const kept = (f: 4 | 6) =>
      routes.some((r) =>
        r.table === table && !goes(r) &&
        (r.dst === "default" ? ("pref" in r ? 6 : 4) : familyOf(r.dst)) === f
      );
    const isShared = (r: IpRule) =>
      r.priority === RULE_PRIORITY && r.src === "all" && r.table === table &&
      r.fwmark === undefined;
    const v6 = cleanups.some((c) => c.hostRuleTable === t && c.v6);
    if (rules4.some(isShared) && !kept(4)) drops.push({ family: 4, table: t });
    if (v6 && !kept(6)) drops.push({ family: 6, table: t });
  }
  return drops;
}

/**
 * The line that drops a shared rule, or puts it back.
 *
 * @param r the rule
 * @param op "del" (tolerates "already gone") or "add" (tolerates "exists")
 * @returns the line (to run in the rule's family)
 */
export function sharedRuleLine(r: SharedRule, op: "del" | "add"): BatchLine {
  return {
    args: ["rule", op, "pref", String(RULE_PRIORITY), "table", String(r.table)],
    tolerate: op === "del" ? GONE : /File exists/,
  };
}
