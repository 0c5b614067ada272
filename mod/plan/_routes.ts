/**
 * Route and rule helpers private to the planners: the main table, default
 * routes, a route's destination as a CIDR, copies of a route into a table,
 * free rule priorities.
 *
 * @module
 */

import type { RouteIntent, Table } from "../kernel/intent.ts";
import type { IpRoute, IpRule } from "../kernel/ip_json.ts";
import { canonicalIp, hostPrefix, isDefaultDst } from "../ip.ts";
import { ruleSrc, ruleTable } from "./mode.ts";

export function isMain(r: IpRoute): boolean {
  return (r.table === undefined || r.table === "main") && (r.type ?? "unicast") === "unicast";
}

export function isDefaultRoute(r: IpRoute): boolean {
  return isDefaultDst(r.dst);
}

/** A route's destination as a CIDR ("default" -> "0.0.0.0/0", a host -> "/32"). */
export function dstCidr(r: IpRoute): string {
  if (r.dst === "default") return r.family === 4 ? "0.0.0.0/0" : "::/0";
  return r.dst.includes("/") ? r.dst : hostPrefix(r.dst);
}

/** The pod's `from <src> lookup <table>` rule, when it has one already. */
export function findRule(rules: readonly IpRule[], src: string, table: number): IpRule | undefined {
  return rules.find((r) => ruleSrc(r) === canonicalIp(src) && ruleTable(r) === table);
}

/** The kernel's choice for a rule without priority: second rule's priority - 1. */
export function nextPriority(prios: number[]): number {
  const sorted = [...prios].sort((a, b) => a - b);
  const second = sorted[1] ?? 32766;
  const p = Math.max(1, second - 1);
  prios.push(p);
  return p;
}

/**
 * A copy of a route's {dst, gw, dev, scope, src} into a table ("exists"
 * accepted: a re-run).
 *
 * @param r the route
 * @param dev the device of the copy
 * @param table the table
 * @returns the route to add
 */
export function copyRoute(r: IpRoute, dev: string, table: Table): RouteIntent {
  const scoped = r.scope !== undefined && r.scope !== "global" && r.scope !== "universe";
  const src = r.prefsrc !== undefined && !isDefaultRoute(r);
  return {
    kind: "route",
    op: "add",
    dst: dstCidr(r),
    ...(r.gateway === undefined ? {} : { via: r.gateway }),
    dev,
    ...(scoped ? { scope: r.scope! } : {}),
    ...(src ? { src: r.prefsrc! } : {}),
    table,
    tolerate: "exists",
  };
}
