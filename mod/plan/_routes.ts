/**
 * Route and rule helpers private to the planners: families, the main table,
 * default routes, copies of a route into a table, free rule priorities.
 *
 * @module
 */

import { type IpRoute, type IpRule } from "../kernel/iproute.ts";
import { canonicalIp, familyOf, isDefaultDst } from "../ip.ts";
import { ruleSrc, ruleTable } from "./mode.ts";

export function routeFamily(r: IpRoute): 4 | 6 {
  if (r.dst !== "default") return familyOf(r.dst);
  const gw = r.gateway ?? r.nexthops?.[0]?.gateway;
  if (gw !== undefined) return familyOf(gw);
  return "pref" in r ? 6 : 4;
}

export function isMain(r: IpRoute): boolean {
  return (r.table === undefined || r.table === "main") && (r.type ?? "unicast") === "unicast";
}

export function isDefaultRoute(r: IpRoute): boolean {
  return isDefaultDst(r.dst);
}

export function dstArg(r: IpRoute): string {
  if (r.dst === "default") return routeFamily(r) === 4 ? "0.0.0.0/0" : "::/0";
  return r.dst;
}

/** Whether the pod has a `from <src> lookup <table>` rule already. */
export function hasRule(rules: readonly IpRule[], src: string, table: number): boolean {
  return rules.some((r) => ruleSrc(r) === canonicalIp(src) && ruleTable(r) === table);
}

/** The kernel's choice for a rule without priority: second rule's priority - 1. */
export function nextPriority(prios: number[]): number {
  const sorted = [...prios].sort((a, b) => a - b);
  const second = sorted[1] ?? 32766;
  const p = Math.max(1, second - 1);
  prios.push(p);
  return p;
}

/** `route add` that copies {dst, src, gw, dev, scope} of a route into a table. */
export function copyArgs(r: IpRoute, dev: string, table: number): string[] {
  const args = ["route", "add", dstArg(r)];
  if (r.gateway !== undefined) args.push("via", r.gateway);
  args.push("dev", dev);
  if (r.scope !== undefined && r.scope !== "global" && r.scope !== "universe") {
    args.push("scope", r.scope);
  }
  if (r.prefsrc !== undefined && !isDefaultRoute(r)) args.push("src", r.prefsrc);
  args.push("table", String(table));
  return args;
}
