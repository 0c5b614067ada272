/**
 * Multi-NIC policy routing (tunePodRoutes): the default-route NIC, the per-NIC
 * `from` rules and tables, and the routes moved between them, as intents.
 *
 * @module
 */

import type { PodFacts } from "../kernel/facts.ts";
import type { IpIntent } from "../kernel/intent.ts";
import type { PodRule } from "../kernel/state.ts";
import { familyOf } from "../ip.ts";
import { copyRoute, dstCidr, findRule, isDefaultRoute, isMain, nextPriority } from "./_routes.ts";
import { type AddView, type Family, hasFamily, linkAddrs, REPLY_TABLE } from "./mode.ts";
import { MODES } from "./modes.ts";

/** Default-route NIC: the first link by ifindex holding a main default route. */
export function findDefaultRouteNic(
  facts: PodFacts,
  ifname: string,
  family: Family,
): string | undefined {
  const main = facts.routes.filter((r) => isMain(r) && hasFamily(family, r.family));
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

/**
 * Multi-NIC route tuning of one NIC: its `from` rules and table, the routes
 * copied into it, and the default route moved out of main.
 *
 * @param v the view
 * @returns the changes, the rules added, warnings
 */
export function planTune(v: AddView): {
  changes: IpIntent[];
  rules: PodRule[];
  warnings: string[];
} {
  const { conf, decision, ifname, facts, family } = v;
  const changes: IpIntent[] = [];
  const rules: PodRule[] = [];
  const warnings: string[] = [];
  const defNic = findDefaultRouteNic(facts, ifname, family);
  if (defNic === undefined) {
    warnings.push("No default-route NIC found in the pod: route tuning skipped");
    return { changes, rules, warnings };
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
  // A rule the pod has already (a re-run) keeps its priority: it is still this
  // NIC's (DEL removes it), and its add finds it there.
  const addRule = (ip: string, t: number) => {
    const f = familyOf(ip);
    const known = f === 4 ? facts.rules4 : rules6;
    const had = findRule(known, ip, t);
    const priority = had?.priority ?? nextPriority(f === 4 ? prios4 : prios6);
    rules.push({ family: f, priority, src: ip, table: t });
    changes.push({
      kind: "rule",
      op: "add",
      family: f,
      priority,
      from: ip,
      table: t,
      tolerate: "exists",
    });
  };
  const defAddrs = linkAddrs(facts.addrs, defNic, family);
  if (cfg === ifname) {
    for (const ip of defAddrs) addRule(ip, decision.table);
  } else {
    for (const ip of v.current) addRule(ip, decision.table);
    const reply = MODES[decision.mode].tuneReply(v, defAddrs);
    for (const ip of reply.ruleSrcs) addRule(ip, REPLY_TABLE);
    changes.push(...reply.changes);
  }
  const t = decision.table;
  for (const r of facts.routes) {
    if (!isMain(r) || !hasFamily(family, r.family) || r.dst === "fe80::/64") continue;
    if (r.dev === moveIf) {
      changes.push(copyRoute(r, moveIf, t));
      if (isDefaultRoute(r)) {
        changes.push({
          kind: "route",
          op: "del",
          dst: dstCidr(r),
          ...(r.gateway === undefined ? {} : { via: r.gateway }),
          dev: moveIf,
          table: "main",
        });
      }
    } else if (r.nexthops !== undefined) {
      for (const nh of r.nexthops) {
        if (nh.dev !== moveIf) continue;
        const via = nh.gateway === undefined ? {} : { via: nh.gateway };
        const dst = dstCidr(r);
        changes.push(
          { kind: "route", op: "add", dst, ...via, dev: moveIf, table: t, tolerate: "exists" },
          { kind: "route", op: "del", dst, ...via, dev: moveIf, table: "main" },
        );
      }
    }
  }
  return { changes, rules, warnings };
}
