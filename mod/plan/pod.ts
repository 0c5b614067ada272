/**
 * The pod side of ADD: the pod's changes (veth0, routes to the node, hijack
 * routes, the reply path, policy routes, neighbours) as intents, and the
 * gateways detection probes.
 *
 * @module
 */

import type { PodFacts } from "../kernel/facts.ts";
import type { ConnmarkIntent, IpIntent } from "../kernel/intent.ts";
import type { PodRule } from "../kernel/state.ts";
import { canonicalIp, familyOf, hostPrefix, maskCidrText } from "../ip.ts";
import { isDefaultRoute, isMain } from "./_routes.ts";
import { type AddView, type Family, hasFamily, linkAddrs } from "./mode.ts";
import { MODES } from "./modes.ts";
import { planTune } from "./policy.ts";

/** The pod-side plan. */
export interface PodPlan {
  /** `ip` changes (links, routes, rules, neighbours; both families). */
  changes: IpIntent[];
  /** The reply path's connmark rules (underlay first NIC). */
  connmark: ConnmarkIntent[];
  /** `from` rules added (DEL removes them). */
  rules: PodRule[];
  /** Non-fatal notes (skipped hijack CIDRs ...). */
  warnings: string[];
}

/**
 * The pod's changes of ADD (the steps after detection and the MAC change).
 *
 * @param v the view
 * @param nodeIps node IPs for the pod
 * @param hostVethMac MAC of the host veth (pod neighbours)
 * @returns the plan
 */
export function planPod(v: AddView, nodeIps: readonly string[], hostVethMac: string): PodPlan {
  const { conf, decision, ifname, podVeth, family } = v;
  const first = decision.firstInvoke;
  const changes: IpIntent[] = [];
  const warnings: string[] = [];
  const rules: PodRule[] = [];

  const rulesOfMode = MODES[decision.mode];
  changes.push(...rulesOfMode.podChanges(v));
  changes.push({ kind: "link", dev: ifname, up: true });
  if (conf.txQueueLen > 0) changes.push({ kind: "link", dev: ifname, txqueuelen: conf.txQueueLen });

  // Source hint: the first IPv4 of the first NIC (the original hard-codes eth0).
  const src4 = linkAddrs(v.facts.addrs, conf.podDefaultCniNic, "v4")[0];
  const srcOf = (ip: string) => (familyOf(ip) === 4 && src4 !== undefined ? { src: src4 } : {});
  for (const h of nodeIps) {
    const route = {
      kind: "route",
      op: "add",
      dst: hostPrefix(h),
      dev: podVeth,
      scope: "link",
      ...srcOf(h),
      tolerate: "exists",
    } as const;
    changes.push({ ...route, table: decision.table });
    if (first) changes.push({ ...route, table: "main" });
  }
  const gw4 = hasFamily(family, 4) ? nodeIps.find((h) => familyOf(h) === 4) : undefined;
  const gw6 = hasFamily(family, 6) ? nodeIps.find((h) => familyOf(h) === 6) : undefined;
  for (const raw of [...conf.overlayPodCIDR, ...conf.serviceCIDR, ...conf.hijackCIDR]) {
    const cidr = maskCidrText(raw);
    const f = familyOf(cidr.split("/")[0]!);
    const gw = f === 4 ? gw4 : gw6;
    if (gw === undefined) {
      warnings.push(`Hijack CIDR "${cidr}" skipped: no IPv${f} node address for the pod`);
      continue;
    }
    changes.push({
      kind: "route",
      op: "add",
      dst: cidr,
      via: gw,
      dev: podVeth,
      ...srcOf(cidr.split("/")[0]!),
      table: first ? "main" : decision.table,
      tolerate: "exists",
    });
  }
  const reply = rulesOfMode.replyPath(v, { gw4, gw6, src4 });
  changes.push(...reply.changes);
  if (conf.tunePodRoutes && rulesOfMode.tunes(decision)) {
    const tune = planTune(v);
    changes.push(...tune.changes);
    rules.push(...tune.rules);
    warnings.push(...tune.warnings);
  }
  const policyTable = rulesOfMode.policyTable(decision);
  for (const pr of conf.policyRoutes) {
    if (!hasFamily(family, pr.family)) continue;
    changes.push({
      kind: "route",
      op: "add",
      dst: maskCidrText(pr.dst),
      via: canonicalIp(pr.gw),
      dev: ifname,
      table: policyTable,
      tolerate: "exists",
    });
  }
  if (first) {
    for (const h of nodeIps) {
      changes.push({ kind: "neigh", dst: h, lladdr: hostVethMac, dev: podVeth });
    }
  }
  return { changes, connmark: reply.connmark, rules, warnings };
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
    if (!isMain(r) || !isDefaultRoute(r) || !hasFamily(family, r.family)) continue;
    if (r.dev === ifname && r.gateway !== undefined) out.push(r.gateway);
    for (const nh of r.nexthops ?? []) {
      if (nh.dev === ifname && nh.gateway !== undefined) out.push(nh.gateway);
    }
  }
  return [...new Set(out)];
}
