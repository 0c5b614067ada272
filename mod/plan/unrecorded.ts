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
 *   via, when they go via one.
 *
 * Where the original does less than this plugin, only what both do is held:
 * rp_filter on `all` only (not `default` and each link), no txqueuelen (the
 * original sets it on a node link of the NIC's name). Pure: the reads happen
 * in `commands/check.ts`.
 *
 * @module
 */

import type { Result } from "../cni/types.ts";
import type { CoordinatorConfig } from "../config/types.ts";
import { CniError } from "../errors.ts";
import type { PodFacts } from "../kernel/facts.ts";
import type { IpIntent } from "../kernel/intent.ts";
import type { IpLink, IpRoute } from "../kernel/ip_json.ts";
import { bareIp, canonicalIp, familyOf, maskCidrText } from "../ip.ts";
import { dstCidr } from "./_routes.ts";
import type { Expected } from "./check.ts";
import { type AddView, hostVethName } from "./mode.ts";
import { MODES } from "./modes.ts";
import { type NodePlan, planNode } from "./node.ts";
import { findPair } from "./pair.ts";
import { planPod } from "./pod.ts";
import { nodeSysctls, plannedMac, podSysctls } from "./tune.ts";
import { addView, type NicPlan, planNic } from "./view.ts";

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
  try {
    nic = planNic(conf, before, call.ifname, call.netns);
  } catch (err) {
    if (!(err instanceof CniError)) throw err;
    return { missing: [err.message] };
  }
  const rules = MODES[nic.decision.mode];
  const pair = findPair(rules, conf, before.links, nodeLinks, hostVethName(call.containerId));
  if (pair.podEnd === undefined || pair.nodeEnd === undefined) {
    const what = pair.podEnd === undefined
      ? `pod interface "${rules.podEnd(conf)}"`
      : pair.problem?.message ?? "the node end of the pair";
    return { missing: [what] };
  }
  const view = addView(conf, call, before, nic, {
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
  const pod = planPod(view, nodeIps, p.hostMac);
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
