/**
 * The pure first half of ADD's plan, shared by ADD (`commands/add.ts`) and
 * `coordinator explain` (`cli/explain.ts`): from the pod facts, the NIC, its
 * family and addresses, the mode decision and the {@linkcode AddView} the node
 * and pod planners take. Only the two ends of the veth pair come from outside
 * (random MACs when ADD creates the pair, the node's links when it exists).
 *
 * @module
 */

import type { CoordinatorConfig } from "../config/types.ts";
import { CniError, ErrorCode } from "../errors.ts";
import type { PodFacts } from "../kernel/facts.ts";
import { type IpLink, linkByName } from "../kernel/ip_json.ts";
import {
  type AddView,
  type Family,
  familyFromAddrs,
  linkAddrs,
  type ModeDecision,
  resolveMode,
} from "./mode.ts";
import { MODES } from "./modes.ts";

/** The NIC and the mode, before the veth pair's ends are known. */
export interface NicPlan {
  /** The NIC as the pod lists it. */
  nic: IpLink;
  /** The NIC's addresses, all families (the MAC derives from the first). */
  nicAddrs: string[];
  family: Family;
  /** The NIC's addresses of its family. */
  current: string[];
  decision: ModeDecision;
  /** Every pod address except lo's (family-filtered). */
  allPodIps: string[];
  /** ADD creates the veth pair. */
  create: boolean;
}

/**
 * The NIC of CNI_IFNAME and its family (what decides whether IPv6 rules must
 * be read before the mode is resolved).
 *
 * @param facts the pod facts
 * @param ifname CNI_IFNAME
 * @param netns for the message
 * @returns the NIC, its addresses and family
 * @throws CniError 102 when the NIC or its addresses are missing
 */
export function nicOf(
  facts: PodFacts,
  ifname: string,
  netns: string,
): { nic: IpLink; nicAddrs: string[]; family: Family } {
  const nic = linkByName(facts.links, ifname);
  if (nic === undefined) {
    throw new CniError(ErrorCode.NotFound, `Interface "${ifname}" not found in netns "${netns}"`);
  }
  const nicAddrs = linkAddrs(facts.addrs, ifname);
  return { nic, nicAddrs, family: familyFromAddrs(nicAddrs, ifname) };
}

/**
 * What the configuration asks of the NIC that its kind cannot do (undefined:
 * nothing), from `ip -d` link info. An ipvlan NIC shares its master's MAC and
 * refuses another (EOPNOTSUPP): no podMACPrefix, which Spiderpool's webhook
 * refuses for ipvlan too. An ipvlan NIC in mode l3 or l3s does no ARP or
 * neighbour discovery of its own (NOARP; the master answers at layer 2):
 * probes from it would take every address for free and every gateway for
 * unreachable, so detection is refused there. A VF of SR-IOV is a plain
 * device (no link kind), a macvlan has its own MAC: both can do all of it.
 *
 * @param conf the configuration
 * @param nic the NIC as `ip -j -d link show` lists it
 * @returns the problem, naming the fields to change
 */
export function nicKindProblem(conf: CoordinatorConfig, nic: IpLink): string | undefined {
  if (nic.linkinfo?.info_kind !== "ipvlan") return undefined;
  const mode = nic.linkinfo.info_data?.["mode"];
  if (conf.podMACPrefix !== "") {
    return `Interface "${nic.ifname}" is an ipvlan (mode ${String(mode ?? "?")}): it shares ` +
      `its master's MAC and cannot take one from podMACPrefix "${conf.podMACPrefix}": ` +
      `set podMACPrefix to "" for this network`;
  }
  if ((mode === "l3" || mode === "l3s") && (conf.detectIPConflict || conf.detectGateway)) {
    return `Interface "${nic.ifname}" is an ipvlan in mode ${mode}, which does no ARP or ` +
      `neighbour discovery of its own: set detectIPConflict and detectGateway to false for ` +
      `this network (or use ipvlan mode l2)`;
  }
  return undefined;
}

/**
 * The NIC, its family, the mode decision and the pod addresses.
 *
 * @param conf the configuration
 * @param facts the pod facts (IPv6 rules read when the NIC has IPv6)
 * @param ifname CNI_IFNAME
 * @param netns the pod netns (messages)
 * @returns the plan of the NIC
 * @throws CniError 7 on a mode conflict or what the NIC's kind cannot do, 102 on a missing NIC
 */
export function planNic(
  conf: CoordinatorConfig,
  facts: PodFacts,
  ifname: string,
  netns: string,
): NicPlan {
  const { nic, nicAddrs, family } = nicOf(facts, ifname, netns);
  const kind = nicKindProblem(conf, nic);
  if (kind !== undefined) throw new CniError(ErrorCode.InvalidNetworkConfig, kind);
  const current = linkAddrs(facts.addrs, ifname, family);
  const decision = resolveMode(conf, ifname, facts, current);
  const allPodIps = facts.addrs
    .filter((a) => a.ifname !== "lo")
    .flatMap((a) => linkAddrs(facts.addrs, a.ifname, family));
  const create = MODES[decision.mode].createsPair(decision);
  return { nic, nicAddrs, family, current, decision, allPodIps, create };
}

/**
 * The view the node and pod planners take.
 *
 * @param conf the configuration
 * @param call container ID, CNI_IFNAME, the netns path
 * @param facts the pod facts
 * @param nic the NIC's plan
 * @param ends the pod and node ends of the pair
 * @returns the view
 */
export function addView(
  conf: CoordinatorConfig,
  call: { containerId: string; ifname: string; netns: string },
  facts: PodFacts,
  nic: NicPlan,
  ends: { podVeth: string; podVethMac: string; hostVeth: string },
): AddView {
  return {
    conf,
    containerId: call.containerId,
    ifname: call.ifname,
    netns: call.netns,
    facts,
    family: nic.family,
    decision: nic.decision,
    current: nic.current,
    allPodIps: nic.allPodIps,
    podVeth: ends.podVeth,
    podVethMac: ends.podVethMac,
    hostVeth: ends.hostVeth,
  };
}
