/**
 * The pod side of ADD: the `ip -batch` lines inside the pod (veth0, routes to
 * the node, hijack routes, the reply path, policy routes, neighbours) and the
 * gateways detection probes.
 *
 * @module
 */

import type { PodFacts } from "../kernel/facts.ts";
import { type BatchLine } from "../kernel/iproute.ts";
import { familyOf, hostPrefix, maskCidrText } from "../ip.ts";
import { isDefaultRoute, isMain, routeFamily } from "./_routes.ts";
import { type AddView, type Family, hasFamily, linkAddrs } from "./mode.ts";
import { MODES } from "./modes.ts";
import { type PlannedRule, planTune } from "./policy.ts";

/** The pod-side plan. */
export interface PodPlan {
  /** `ip -batch` lines (links, routes, neighbours, IPv4 rules). */
  lines: BatchLine[];
  /** `ip -6 -batch` lines (IPv6 rules). */
  lines6: BatchLine[];
  /** The reply-path mangle rules are wanted (underlay first invoke). */
  mangle: boolean;
  /** `from` rules added. */
  rules: PlannedRule[];
  /** Non-fatal notes (skipped hijack CIDRs ...). */
  warnings: string[];
}

/**
 * Pod-side lines of ADD (the steps after detection and the MAC change).
 *
 * @param v the view
 * @param nodeIps node IPs for the pod
 * @param hostVethMac MAC of the host veth (pod neighbours)
 * @returns the plan
 */
export function planPod(v: AddView, nodeIps: readonly string[], hostVethMac: string): PodPlan {
  const { conf, decision, ifname, podVeth, family } = v;
  const first = decision.firstInvoke;
  const lines: BatchLine[] = [];
  const lines6: BatchLine[] = [];
  const warnings: string[] = [];
  const rules: PlannedRule[] = [];
  const exists = /File exists/;
  const table = String(decision.table);

  const rulesOfMode = MODES[decision.mode];
  lines.push(...rulesOfMode.podLines(v));
  lines.push({ args: ["link", "set", ifname, "up"] });
  if (conf.txQueueLen > 0) {
    lines.push({ args: ["link", "set", ifname, "txqueuelen", String(conf.txQueueLen)] });
  }

  // Source hint: the first IPv4 of the first NIC (the original hard-codes eth0).
  const src4 = linkAddrs(v.facts.addrs, conf.podDefaultCniNic, "v4")[0];
  for (const h of nodeIps) {
    const base = ["route", "add", hostPrefix(h), "dev", podVeth, "scope", "link"];
    const withSrc = familyOf(h) === 4 && src4 !== undefined ? [...base, "src", src4] : base;
    lines.push({ args: [...withSrc, "table", table], tolerate: exists });
    if (first) lines.push({ args: withSrc, tolerate: exists });
  }
  const gw4 = hasFamily(family, 4) ? nodeIps.find((h) => familyOf(h) === 4) : undefined;
  const gw6 = hasFamily(family, 6) ? nodeIps.find((h) => familyOf(h) === 6) : undefined;
  const hijackTable = first ? [] : ["table", table];
  for (const raw of [...conf.overlayPodCIDR, ...conf.serviceCIDR, ...conf.hijackCIDR]) {
    const cidr = maskCidrText(raw);
    const f = familyOf(cidr);
    const gw = f === 4 ? gw4 : gw6;
    if (gw === undefined) {
      warnings.push(`Hijack CIDR "${cidr}" skipped: no IPv${f} node address for the pod`);
      continue;
    }
    const srcArgs = f === 4 && src4 !== undefined ? ["src", src4] : [];
    lines.push({
      args: ["route", "add", cidr, "via", gw, "dev", podVeth, ...srcArgs, ...hijackTable],
      tolerate: exists,
    });
  }
  const reply = rulesOfMode.replyPath(v, { gw4, gw6, src4 });
  lines.push(...reply.lines);
  lines6.push(...reply.lines6);
  const mangle = reply.mangle;
  if (conf.tunePodRoutes && rulesOfMode.tunes(decision)) {
    const tune = planTune(v);
    lines.push(...tune.lines);
    lines6.push(...tune.lines6);
    rules.push(...tune.rules);
    warnings.push(...tune.warnings);
  }
  if (conf.policyRoutes.length > 0) {
    const t = rulesOfMode.policyTable(decision);
    for (const pr of conf.policyRoutes) {
      if (!hasFamily(family, pr.family)) continue;
      lines.push({
        args: ["route", "add", maskCidrText(pr.dst), "via", pr.gw, "dev", ifname, ...t],
        tolerate: exists,
      });
    }
  }
  // Neighbour lines go last: iproute2 ends the whole batch when one of them fails.
  if (first) {
    for (const h of nodeIps) {
      lines.push({
        args: ["neigh", "replace", h, "lladdr", hostVethMac, "dev", podVeth, "nud", "permanent"],
      });
    }
  }
  if (family !== "v4") lines.push({ args: ["addr", "show", "dev", ifname], read: true });
  return { lines, lines6, mangle, rules, warnings };
}

/**
 * Gateways of the main-table default routes on the current NIC (D2 targets,
 * see docs/detection.md), skipping routes without a gateway.
 *
 * @param facts pod facts
 * @param ifname current NIC
 * @param family pod family
 * @returns plain gateway addresses
 */
export function gatewaysOf(facts: PodFacts, ifname: string, family: Family): string[] {
  const out: string[] = [];
  for (const r of facts.routes) {
    if (!isMain(r) || !isDefaultRoute(r) || !hasFamily(family, routeFamily(r))) continue;
    if (r.dev === ifname && r.gateway !== undefined) out.push(r.gateway);
    for (const nh of r.nexthops ?? []) {
      if (nh.dev === ifname && nh.gateway !== undefined) out.push(nh.gateway);
    }
  }
  return [...new Set(out)];
}
