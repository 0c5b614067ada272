/**
 * Multi-NIC policy routing (tunePodRoutes): the default-route NIC, the per-NIC
 * `from` rules and tables, and the routes moved between them.
 *
 * @module
 */

import type { PodFacts } from "../kernel/facts.ts";
import { type BatchLine } from "../kernel/iproute.ts";
import { familyOf } from "../ip.ts";
import {
  copyArgs,
  dstArg,
  hasRule,
  isDefaultRoute,
  isMain,
  nextPriority,
  routeFamily,
} from "./_routes.ts";
import { type AddView, type Family, hasFamily, linkAddrs, REPLY_TABLE } from "./mode.ts";
import { MODES } from "./modes.ts";

/** A policy rule the pod plan adds (kept in the state for DEL). */
export interface PlannedRule {
  family: 4 | 6;
  priority: number;
  src: string;
  table: number;
}

/** Default-route NIC: the first link by ifindex holding a main default route. */
export function findDefaultRouteNic(
  facts: PodFacts,
  ifname: string,
  family: Family,
): string | undefined {
  const main = facts.routes.filter((r) => isMain(r) && hasFamily(family, routeFamily(r)));
  const links = [...facts.links].sort((a, b) => a.ifindex - b.ifindex);
  for (const l of links) {
    if (l.ifname === "lo" || l.ifname === ifname) continue;
    const holds = main.some((r) =>
      (isDefaultRoute(r) && r.dev === l.ifname) ||
      (r.nexthops?.some((n) => n.dev === l.ifname) ?? false)
    );
    if (holds) return l.ifname;
  }
  return undefined;
}

export function planTune(v: AddView): {
  lines: BatchLine[];
  lines6: BatchLine[];
  rules: PlannedRule[];
  warnings: string[];
} {
  const { conf, decision, ifname, facts, family } = v;
  const lines: BatchLine[] = [];
  const lines6: BatchLine[] = [];
  const rules: PlannedRule[] = [];
  const warnings: string[] = [];
  const exists = /File exists/;
  const defNic = findDefaultRouteNic(facts, ifname, family);
  if (defNic === undefined) {
    warnings.push("No default-route NIC found in the pod: route tuning skipped");
    return { lines, lines6, rules, warnings };
  }
  let cfg = conf.podDefaultRouteNic;
  let moveIf = ifname;
  if (cfg === "" || cfg === defNic) {
    cfg = defNic;
  } else if (cfg !== ifname && !facts.links.some((l) => l.ifname === cfg)) {
    // The NIC may be attached later (the original fails here): keep the current default for now.
    warnings.push(
      `podDefaultRouteNic "${cfg}" is not in the pod yet: default route kept on "${defNic}"`,
    );
    cfg = defNic;
  } else {
    moveIf = defNic;
  }
  const prios4 = facts.rules4.map((r) => r.priority);
  const prios6 = (facts.rules6 ?? facts.rules4.filter((r) => r.table !== "default")).map((r) =>
    r.priority
  );
  const rules6 = facts.rules6 ?? [];
  const addRule = (ip: string, t: number) => {
    const f = familyOf(ip);
    const known = f === 4 ? facts.rules4 : rules6;
    if (hasRule(known, ip, t)) return;
    const priority = nextPriority(f === 4 ? prios4 : prios6);
    rules.push({ family: f, priority, src: ip, table: t });
    (f === 4 ? lines : lines6).push({
      args: ["rule", "add", "from", ip, "table", String(t), "pref", String(priority)],
      tolerate: exists,
    });
  };
  const defAddrs = linkAddrs(facts.addrs, defNic, family);
  if (cfg === ifname) {
    for (const ip of defAddrs) addRule(ip, decision.table);
  } else {
    for (const ip of v.current) addRule(ip, decision.table);
    const reply = MODES[decision.mode].tuneReply(v, defAddrs);
    for (const ip of reply.ruleSrcs) addRule(ip, REPLY_TABLE);
    lines.push(...reply.lines);
  }
  const t = decision.table;
  for (const r of facts.routes) {
    if (!isMain(r) || !hasFamily(family, routeFamily(r)) || r.dst === "fe80::/64") continue;
    if (r.dev === moveIf) {
      lines.push({ args: copyArgs(r, moveIf, t), tolerate: exists });
      if (isDefaultRoute(r)) {
        const gw = r.gateway === undefined ? [] : ["via", r.gateway];
        lines.push({ args: ["route", "del", dstArg(r), ...gw, "dev", moveIf, "table", "main"] });
      }
    } else if (r.nexthops !== undefined) {
      for (const nh of r.nexthops) {
        if (nh.dev !== moveIf) continue;
        const gw = nh.gateway === undefined ? [] : ["via", nh.gateway];
        lines.push({
          args: ["route", "add", dstArg(r), ...gw, "dev", moveIf, "table", String(t)],
          tolerate: exists,
        });
        lines.push({ args: ["route", "del", dstArg(r), ...gw, "dev", moveIf, "table", "main"] });
      }
    }
  }
  return { lines, lines6, rules, warnings };
}
