/**
 * What DEL, GC and the ADD rollback remove, as intents: the node side of one
 * attachment ({@linkcode HostCleanup}), the pod's `from` rules, the undoing of
 * a failed ADD's pod changes, and the decision to drop the shared
 * `from all lookup <table>` rule once the last pod of its table is gone. Pure:
 * `commands/_host.ts` and `commands/add.ts` read the node and run them.
 *
 * @example
 * ```ts
 * import { hostCleanup, hostCleanupIntents } from "./cleanup.ts";
 * const c = hostCleanup({ hostVeth: "veth1234", deleteVeth: true, podIps: [], hostRuleTable: 500 });
 * if (hostCleanupIntents(c).length !== 1) throw new Error("unexpected");
 * ```
 *
 * @module
 */

import type { PodFacts } from "../kernel/facts.ts";
import type { Family, IpIntent, RuleIntent } from "../kernel/intent.ts";
import type { IpRoute, IpRule } from "../kernel/ip_json.ts";
import type { AttachmentState, PodRule } from "../kernel/state.ts";
import { bareIp, canonicalIp, familyOf, hostPrefix } from "../ip.ts";
import { dstCidr } from "./_routes.ts";
import { RULE_PRIORITY } from "./mode.ts";

/** The node side of one attachment, to remove. */
export interface HostCleanup {
  hostVeth: string;
  /** Delete the veth itself (the first NIC owns it). */
  deleteVeth: boolean;
  /** Pod IPs whose table routes and neighbours on `hostVeth` go (none when the veth goes). */
  podIps: readonly string[];
  /** The node table of the pod routes, and of the shared rule. */
  hostRuleTable: number;
  /** The pod had (or may have had) IPv6 addresses: the IPv6 shared rule may go too. */
  v6: boolean;
}

/**
 * A {@linkcode HostCleanup}. Deleting the veth takes its routes and
 * neighbours with it, so `podIps` is then dropped. The IPv6 flag is derived
 * here: the pod had an IPv6 address, or its addresses are unknown (a DEL
 * without a record of a pod whose netns is gone), in which case the IPv6
 * shared rule is dropped too once its table keeps no IPv6 route.
 *
 * @param c the parts
 * @returns the cleanup
 */
export function hostCleanup(c: {
  hostVeth: string;
  deleteVeth: boolean;
  podIps: readonly string[] | "unknown";
  hostRuleTable: number;
}): HostCleanup {
  const known = c.podIps === "unknown" ? undefined : c.podIps;
  return {
    hostVeth: c.hostVeth,
    deleteVeth: c.deleteVeth,
    podIps: c.deleteVeth ? [] : [...(known ?? [])],
    hostRuleTable: c.hostRuleTable,
    v6: known === undefined || known.some((ip) => familyOf(ip) === 6),
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
  });
}

/**
 * The node's clean-up changes (each accepts "already gone").
 *
 * @param c what to remove
 * @returns the changes
 */
export function hostCleanupIntents(c: HostCleanup): IpIntent[] {
  // Deleting the veth also removes its peer and every route/neighbour on it.
  if (c.deleteVeth) return [{ kind: "link-del", dev: c.hostVeth, tolerate: "gone" }];
  return c.podIps.flatMap((ip): IpIntent[] => [
    {
      kind: "route",
      op: "del",
      dst: hostPrefix(ip),
      dev: c.hostVeth,
      table: c.hostRuleTable,
      tolerate: "gone",
    },
    { kind: "neigh-flush", dst: ip, dev: c.hostVeth, tolerate: "gone" },
  ]);
}

/**
 * The deletions of `from` rules an ADD made in the pod (each accepts "already gone").
 *
 * @param rules the rules
 * @returns the changes
 */
export function podRuleCleanup(rules: readonly PodRule[]): RuleIntent[] {
  return rules.map((r) => ({
    kind: "rule",
    op: "del",
    family: r.family,
    priority: r.priority,
    from: r.src,
    table: r.table,
    tolerate: "gone",
  }));
}

/** One shared `<RULE_PRIORITY>: from all lookup <table>` rule of one family. */
export interface SharedRule {
  family: Family;
  table: number;
}

/**
 * The shared rule of a table, added ("exists" accepted) or dropped ("gone"
 * accepted).
 *
 * @param family the family
 * @param table the node table (hostRuleTable)
 * @param op add or del
 * @returns the rule
 */
export function sharedRule(family: Family, table: number, op: "add" | "del"): RuleIntent {
  return {
    kind: "rule",
    op,
    family,
    priority: RULE_PRIORITY,
    table,
    tolerate: op === "add" ? "exists" : "gone",
  };
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
    const kept = (f: Family) => routes.some((r) => r.table === table && !goes(r) && r.family === f);
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
 * The changes that undo what a failed ADD changed in the pod, last first. An
 * added route, rule or neighbour goes again, a route ADD moved out of the
 * main table comes back, a replaced route the pod did not have before goes,
 * and the NIC's MAC and txqueuelen get their values of before. Give only the
 * changes that took effect: an add that found its object there already is
 * the pod's own. The NIC stays up, an address on the pair's pod end goes
 * with the pair (the node's rollback deletes a pair ADD made).
 *
 * @param applied the pod changes that took effect, in order
 * @param before the pod as ADD found it
 * @returns the undoing changes (each accepts "already gone" / "already there")
 */
export function podUndo(applied: readonly IpIntent[], before: PodFacts): IpIntent[] {
  const undo: IpIntent[] = [];
  const had = (dst: string, dev: string, table: string) =>
    before.routes.some((r) => dstCidr(r) === dst && r.dev === dev && (r.table ?? "main") === table);
  for (const i of [...applied].reverse()) {
    switch (i.kind) {
      case "route":
        // A route moved out of main goes back beside the others of its destination.
        if (i.op === "del") undo.push({ ...i, op: "append", tolerate: "exists" });
        else if (i.op !== "replace" || !had(i.dst, i.dev, String(i.table))) {
          undo.push({ ...i, op: "del", tolerate: "gone" });
        }
        break;
      case "rule":
        undo.push({
          ...i,
          op: i.op === "add" ? "del" : "add",
          tolerate: i.op === "add" ? "gone" : "exists",
        });
        break;
      case "neigh":
        undo.push({ kind: "neigh-flush", dst: i.dst, dev: i.dev, tolerate: "gone" });
        break;
      case "link": {
        const link = before.links.find((l) => l.ifname === i.dev);
        if (link === undefined) break;
        if (i.mac !== undefined && link.address !== undefined) {
          undo.push({ kind: "link", dev: i.dev, mac: link.address });
        }
        if (i.txqueuelen !== undefined) {
          undo.push({ kind: "link", dev: i.dev, txqueuelen: link.txqlen ?? 0 });
        }
        break;
      }
      default:
        break;
    }
  }
  return undo;
}
