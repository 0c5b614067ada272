/**
 * What CHECK expects of an attachment it has no record of: a pod made by
 * Spiderpool's Go coordinator (which keeps none), or one of this plugin's
 * whose state file is gone. The expectations come from ADD's own planners
 * (`./view.ts`, `./pair.ts`, `./node.ts`, `./pod.ts`, `./tune.ts`) run on
 * the configuration, prevResult and the pod as it is, not from a second copy
 * of their rules:
 *
 * - the pod as ADD found it is the pod now with the NIC's routes of
 *   prevResult back in the main table (ADD may have moved them into the
 *   NIC's table): so the moved routes are planned, and checked gone from main;
 * - the pair's ends are found as ADD finds them; their MACs are what the pod
 *   and the node show now, so every neighbour is checked against the other
 *   end's current MAC (the MACs ADD chose at random only a record knows);
 * - the node IPs come from the node's reads as ADD's do; the first of each
 *   family (the pod's gateway to the node) is the one the pod's routes go
 *   via, when they go via one;
 * - what ADD itself added, and what came after it, is not the pod as ADD
 *   found it: a later NIC that podDefaultRouteNic names takes the default
 *   route over, with rules from the first NIC's addresses to its own table
 *   and the first NIC's default route moved there ({@linkcode defaultTakenOver});
 *   routes ADD adds to the main table are no routes it found (and copied);
 *   the rules of NICs attached after this one (to higher tables) were not there.
 *
 * Where the original does less than this plugin, only what both do is held:
 * rp_filter on `all` only (not `default` and each link), no txqueuelen (the
 * original sets it on a node link of the NIC's name). Where it decides
 * otherwise, its decision is taken when the pod shows it: an overlay NIC it
 * planned as a later one because it counted another UP link (spec 8.1-8).
 * Pure: the reads happen in `commands/check.ts`.
 *
 * @module
 */

import type { Result } from "../cni/types.ts";
import type { CoordinatorConfig } from "../config/types.ts";
import { CniError } from "../errors.ts";
import type { PodFacts } from "../kernel/facts.ts";
import type { IpIntent } from "../kernel/intent.ts";
import type { IpLink, IpRoute, IpRule } from "../kernel/ip_json.ts";
import { bareIp, canonicalIp, familyOf, isDefaultDst, maskCidrText } from "../ip.ts";
import { dstCidr, isMain } from "./_routes.ts";
import type { Expected } from "./check.ts";
import {
  type AddView,
  FIRST_TABLE,
  hostVethName,
  linkAddrs,
  type ModeDecision,
  ruleSrc,
  ruleTable,
  upLinks,
} from "./mode.ts";
import { MODES } from "./modes.ts";
import { type NodePlan, planNode } from "./node.ts";
import { findPair } from "./pair.ts";
import { planPod } from "./pod.ts";
import { nodeSysctls, plannedMac, podSysctls } from "./tune.ts";
import { addView, type NicPlan, planNic } from "./view.ts";

/** A per-NIC policy table (101 to 252, as `./mode.ts` gives them). */
const perNicTable = (t: number | undefined): t is number =>
  t !== undefined && t >= FIRST_TABLE && t <= 252;

/**
 * The pod as ADD found it, as far as it can be told without a record: the
 * pod now, with each route prevResult gives the NIC back in the main table
 * when it is not there (ADD moves a later NIC's default route into its table).
 *
 * @param pod the pod now
 * @param prev the previous result
 * @param ifname CNI_IFNAME
 * @returns the facts to plan from
 */
export function factsBeforeAdd(pod: PodFacts, prev: Result, ifname: string): PodFacts {
  const routes: IpRoute[] = [...pod.routes];
  for (const r of prev.routes ?? []) {
    const family = familyOf(bareIp(r.dst));
    const cidr = maskCidrText(r.dst);
    const dst = cidr.endsWith("/0") ? "default" : cidr;
    const route: IpRoute = {
      family,
      dst,
      dev: ifname,
      ...(r.gw === undefined ? {} : { gateway: canonicalIp(r.gw) }),
    };
    const there = routes.some((x) =>
      (x.table ?? "main") === "main" && x.dev === ifname && x.family === family &&
      dstCidr(x) === dstCidr(route)
    );
    if (!there) routes.push(route);
  }
  return { ...pod, routes };
}

/**
 * What the ADD of a later NIC that podDefaultRouteNic names added to take the
 * default route over (spec 3.3.18 B and C, "cfg == current NIC"; this plugin's
 * `plan/policy.ts` alike): rules `from <address of the NIC that held the
 * default route> lookup <this NIC's table>`, and that NIC's default routes
 * moved from the main table into the table. The NIC that held it is the first
 * NIC: no ADD tunes the first NIC itself, so rules from its addresses to a
 * per-NIC table, and its default routes in such a table, are this ADD's.
 * Without them the NIC's table would look taken by another NIC, and the pod
 * as ADD found it would have no default route to take over. One of the two
 * is enough to tell the table (the other is then missing, and CHECK says so):
 * a moved route that is gone comes back without its gateway, which only a
 * record knows.
 *
 * @param conf the configuration
 * @param ifname CNI_IFNAME
 * @param pod the pod now
 * @returns the NIC's table, the rules and the moved routes (as they were in
 *   main); undefined when the configuration does not name this NIC or the pod
 *   shows nothing of the takeover
 */
function defaultTakenOver(
  conf: Pick<CoordinatorConfig, "podDefaultRouteNic" | "podDefaultCniNic">,
  ifname: string,
  pod: PodFacts,
): { table: number; rules: IpRule[]; moved: IpRoute[] } | undefined {
  const first = conf.podDefaultCniNic;
  if (conf.podDefaultRouteNic !== ifname || ifname === first) return undefined;
  const firstAddrs = new Set(linkAddrs(pod.addrs, first).map(canonicalIp));
  const fromFirst = [...pod.rules4, ...(pod.rules6 ?? [])].filter((r) => {
    const src = ruleSrc(r);
    return perNicTable(ruleTable(r)) && src !== undefined && firstAddrs.has(src);
  });
  const defaults = pod.routes.filter((r) =>
    r.dev === first && isDefaultDst(r.dst) && perNicTable(Number(r.table))
  );
  const rule = fromFirst[0];
  const table = rule === undefined ? Number(defaults[0]?.table) : ruleTable(rule);
  if (!perNicTable(table)) return undefined;
  const rules = fromFirst.filter((r) => ruleTable(r) === table);
  const moved = defaults.filter((r) => r.table === String(table));
  for (const f of new Set(rules.map((r) => familyOf(ruleSrc(r)!)))) {
    if (!moved.some((r) => r.family === f)) moved.push({ family: f, dst: "default", dev: first });
  }
  return { table, rules, moved };
}

/**
 * The original decides whether an overlay NIC is the first one by counting
 * the pod's UP+BROADCAST+MULTICAST links (spec 3.2, weakness 8.1-8): with
 * another such link beside the first NIC and this one, it planned this NIC as
 * a later one (no node neighbours in the pod, routes in the NIC's table only,
 * no table-100 rule). This plugin decides by the other NICs' rules. A first
 * NIC on a pair that is not the coordinator's own (overlay mode; an underlay
 * first NIC is the one named podDefaultCniNic, in both) leaves PERMANENT
 * neighbours of the node IPs on the pair's pod end, whoever made it: without
 * them and with more than two such links, the pod is one the original
 * planned as a later NIC, and is checked so.
 */
function originalLaterNic(d: ModeDecision, pod: PodFacts, podEnd: string): boolean {
  if (MODES[d.mode].pairIsOurs || !d.firstInvoke || upLinks(pod.links).length <= 2) return false;
  return !(pod.neigh ?? []).some((n) => n.dev === podEnd && (n.state ?? []).includes("PERMANENT"));
}

/**
 * The pod without some of its rules (IPv4 and IPv6).
 *
 * @param pod the pod
 * @param drop whether a rule goes
 * @returns the pod without them
 */
function withoutRules(pod: PodFacts, drop: (r: IpRule) => boolean): PodFacts {
  const keep = (rs: readonly IpRule[]) => rs.filter((r) => !drop(r));
  return {
    ...pod,
    rules4: keep(pod.rules4),
    ...(pod.rules6 === undefined ? {} : { rules6: keep(pod.rules6) }),
  };
}

/**
 * The pod without the rules of NICs attached after this one. Tables are
 * given in increasing order as NICs are attached (by this plugin: the lowest
 * free one; by the original: by the count of links), so a rule to a per-NIC
 * table above this NIC's own is a later NIC's. With them, a first overlay NIC
 * would look like a later one once another NIC followed, and a missing rule
 * would be planned at another priority than its ADD gave it. This NIC's own
 * table is that of the rules from its addresses (or of the takeover, see
 * {@linkcode defaultTakenOver}); without any, nothing is left out.
 */
function withoutLaterNics(ifname: string, pod: PodFacts, takeover: number | undefined): PodFacts {
  const mine = new Set(linkAddrs(pod.addrs, ifname).map(canonicalIp));
  const own = takeover ?? [...pod.rules4, ...(pod.rules6 ?? [])]
    .filter((r) => perNicTable(ruleTable(r)) && mine.has(ruleSrc(r) ?? ""))
    .map((r) => ruleTable(r)!)[0];
  if (own === undefined) return pod;
  return withoutRules(pod, (r) => {
    const t = ruleTable(r);
    return perNicTable(t) && t > own;
  });
}

/** The pod with routes added to its main table, unless there already. */
function withMainRoutes(pod: PodFacts, add: readonly IpRoute[]): PodFacts {
  const routes = [...pod.routes];
  for (const r of add) {
    const route: IpRoute = { ...r };
    delete route.table;
    const there = routes.some((x) =>
      isMain(x) && x.dev === route.dev && x.family === route.family &&
      dstCidr(x) === dstCidr(route)
    );
    if (!there) routes.push(route);
  }
  return { ...pod, routes };
}

/** The first step of a CHECK without a record: the NIC, its mode and the pair, planned. */
export interface UnrecordedPlan {
  nic: NicPlan;
  view: AddView;
  /** The node end's MAC now. */
  hostMac: string;
  /** The node reads the node IPs come from (as ADD's node batch starts). */
  reads: NodePlan["reads"];
}

/**
 * Plan the NIC, its mode and the pair's ends as ADD does, from the pod as ADD
 * found it (see {@linkcode factsBeforeAdd}).
 *
 * @param conf the configuration
 * @param call container ID, CNI_IFNAME, netns path
 * @param before the pod as ADD found it
 * @param nodeLinks the node's links
 * @returns the plan, or what is missing for it (CHECK's differences)
 */
export function planUnrecorded(
  conf: CoordinatorConfig,
  call: { containerId: string; ifname: string; netns: string },
  before: PodFacts,
  nodeLinks: readonly IpLink[],
): UnrecordedPlan | { missing: string[] } {
  let nic: NicPlan;
  const over = defaultTakenOver(conf, call.ifname, before);
  let found = withoutLaterNics(call.ifname, before, over?.table);
  try {
    // The mode and table from the pod without the rules this ADD added.
    const forMode = over === undefined ? found : withoutRules(found, (r) => over.rules.includes(r));
    nic = planNic(conf, forMode, call.ifname, call.netns);
  } catch (err) {
    if (!(err instanceof CniError)) throw err;
    return { missing: [err.message] };
  }
  if (over !== undefined) {
    // The NIC's table is the one its rules use; the default it took over was in main.
    nic = { ...nic, decision: { ...nic.decision, table: over.table } };
    found = withMainRoutes(found, over.moved);
  }
  const rules = MODES[nic.decision.mode];
  if (originalLaterNic(nic.decision, found, rules.podEnd(conf))) {
    nic = { ...nic, decision: { ...nic.decision, firstInvoke: false } };
  }
  const pair = findPair(rules, conf, found.links, nodeLinks, hostVethName(call.containerId));
  if (pair.podEnd === undefined || pair.nodeEnd === undefined) {
    let what = pair.podEnd === undefined
      ? `pod interface "${rules.podEnd(conf)}"`
      : pair.problem?.message ?? "the node end of the pair";
    // In auto mode a later NIC runs on the coordinator's own pair when its pod
    // end is there, else on the first NIC's: when the first NIC cannot carry
    // that either, the pod most likely lost the pod end of the own pair.
    const own = Object.values(MODES).find((m) => m.pairIsOurs)!;
    const firstUnusable = pair.podEnd === undefined ||
      rules.podEndProblem(pair.podEnd) !== undefined;
    if (conf.mode === "auto" && !rules.pairIsOurs && firstUnusable) {
      what = `pod interface "${own.podEnd(conf)}" (without it "${call.ifname}" would be in ` +
        `${rules.mode} mode: ${what})`;
    }
    return { missing: [what] };
  }
  const view = addView(conf, call, found, nic, {
    podVeth: pair.podEnd.ifname,
    podVethMac: pair.podEnd.address ?? "",
    hostVeth: pair.nodeEnd.ifname,
  });
  return {
    nic,
    view,
    hostMac: pair.nodeEnd.address ?? "",
    reads: planNode(view, undefined).reads,
  };
}

/**
 * The node IPs in ADD's order, the first of each family being the node IP
 * the pod's routes on the pair go via (the gateway ADD chose), when any does.
 *
 * @param nodeIps the node IPs as ADD derives them from the node's reads
 * @param pod the pod now
 * @param podVeth the pod end of the pair
 * @returns the node IPs
 */
export function gatewaysFirst(
  nodeIps: readonly string[],
  pod: PodFacts,
  podVeth: string,
): string[] {
  const out = [...nodeIps];
  for (const f of [4, 6] as const) {
    const used = pod.routes.find((r) =>
      r.dev === podVeth && r.gateway !== undefined && r.family === f &&
      out.includes(canonicalIp(r.gateway))
    )?.gateway;
    if (used === undefined) continue;
    const gw = canonicalIp(used);
    const first = out.findIndex((ip) => familyOf(ip) === f);
    const at = out.indexOf(gw);
    if (first >= 0 && at > first) {
      out.splice(at, 1);
      out.splice(first, 0, gw);
    }
  }
  return out;
}

/**
 * The view without the main-table routes ADD adds (node IPs, hijack CIDRs):
 * ADD plans from the pod before them, so they are no routes it found. Route
 * tuning copies the main routes of the NIC that gives its routes up; that
 * NIC is the pair's pod end (`eth0` in overlay mode) when podDefaultRouteNic
 * names this NIC, and then the original copies these routes into the NIC's
 * table while this plugin does not: neither copy is held.
 */
function withoutOwnMainRoutes(view: AddView, nodeIps: readonly string[], hostMac: string): AddView {
  const adds = planPod(view, nodeIps, hostMac).changes.filter((i) =>
    i.kind === "route" && i.table === "main" && i.op !== "del"
  );
  const routes = view.facts.routes.filter((r) =>
    !(isMain(r) &&
      adds.some((i) => i.kind === "route" && i.dev === r.dev && i.dst === dstCidr(r)))
  );
  return routes.length === view.facts.routes.length
    ? view
    : { ...view, facts: { ...view.facts, routes } };
}

/**
 * What CHECK expects without a record: the node's and the pod's intents as
 * ADD plans them, the pair without the MACs only a record knows, the sysctls
 * both plugins write.
 *
 * @param p the plan of {@linkcode planUnrecorded}
 * @param nodeIps the node IPs ({@linkcode gatewaysFirst})
 * @returns the expectations
 */
export function expectedUnrecorded(p: UnrecordedPlan, nodeIps: readonly string[]): Expected {
  const { view, nic } = p;
  const { conf, decision } = view;
  const rules = MODES[decision.mode];
  const pod = planPod(withoutOwnMainRoutes(view, nodeIps, p.hostMac), nodeIps, p.hostMac);
  const mac = plannedMac(conf.podMACPrefix, nic.nicAddrs[0], nic.nic.address ?? "").mac;
  const podIntents: IpIntent[] = [
    ...(mac === undefined ? [] : [{ kind: "link" as const, dev: view.ifname, mac }]),
    // The original sets txqueuelen on a node link of the NIC's name: not held.
    ...pod.changes.filter((i) => !(i.kind === "link" && i.txqueuelen !== undefined)),
  ];
  const links = view.facts.links.map((l) => l.ifname);
  return {
    pair: {
      podVeth: view.podVeth,
      hostVeth: view.hostVeth,
      ...(rules.pairIsOurs ? { mtu: conf.vethMTU } : {}),
    },
    node: planNode(view, undefined).changes,
    pod: podIntents,
    // The original writes rp_filter on `all` only (and IPv6 on): what both write is held.
    sysctls: podSysctls(conf, view.family, links).filter((s) => s.key.includes(".all.")),
    nodeSysctls: rules.ownsPair(decision) ? nodeSysctls(view.hostVeth) : [],
    mangle: pod.connmark,
  };
}
