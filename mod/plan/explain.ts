/**
 * What `coordinator explain` says, computed by the planners ADD runs: the NIC
 * and the mode (`./view.ts`), the node's intents (`./node.ts` planNode), the
 * pod's intents and connmark rules (`./pod.ts` planPod), the sysctls and the
 * MAC (`./tune.ts`), rendered by `./render.ts` beside the translator's lines.
 * Nothing here plans on its own; it only fills in what ADD would learn from
 * the running pod (the random veth MACs, a pair's node end) with marked
 * placeholders, and, without a netns to read, builds the pod facts from
 * prevResult. Pure.
 *
 * @module
 */

import type { Result } from "../cni/types.ts";
import type { CoordinatorConfig } from "../config/types.ts";
import type { PodFacts } from "../kernel/facts.ts";
import type { IpAddrLink, IpLink, IpRoute } from "../kernel/ip_json.ts";
import { bareIp, familyOf, maskCidrText } from "../ip.ts";
import { type AddView, hostVethName, POD_VETH } from "./mode.ts";
import { MODES } from "./modes.ts";
import { planNode } from "./node.ts";
import { findPair } from "./pair.ts";
import { planPod } from "./pod.ts";
import { connmarkItems, itemsOf, type PlanItem, sysctlItems } from "./render.ts";
import { nodeSysctls, plannedMac, podSysctls } from "./tune.ts";
import type { NicPlan } from "./view.ts";

/** Placeholder of the veth0 MAC (random, chosen by ADD). */
export const POD_VETH_MAC = "<veth0-mac>";
/** Placeholder of the node end's MAC (random, chosen by ADD). */
export const HOST_VETH_MAC = "<host-veth-mac>";

/** The two ends of the pod-node pair. */
export interface PairEnds {
  podVeth: string;
  podVethMac: string;
  hostVeth: string;
  hostMac: string;
}

/** Everything explain prints. */
export interface Explanation {
  network: string;
  ifname: string;
  mode: "underlay" | "overlay";
  firstInvoke: boolean;
  /** The NIC's policy table. */
  table: number;
  /** Why this mode, first or later NIC. */
  why: string[];
  /** Pod facts read from the netns or made from prevResult. */
  podFacts: "netns" | "prevResult";
  /** The node IPs the pod is routed to. */
  nodeIps: string[];
  items: PlanItem[];
  /** The NIC's MAC change (podMACPrefix). */
  mac?: { ifname: string; from: string; to: string };
  /** Detection that ADD would run (nothing is probed by explain). */
  detection: string[];
  /** What cannot be decided without the pod or before ADD runs. */
  undecided: string[];
  warnings: string[];
}

/**
 * Pod facts from a prevResult, for explain without a netns: the result's
 * interfaces (the sandbox ones when any has a sandbox) UP, their addresses,
 * the connected routes of those addresses and the result's routes on
 * CNI_IFNAME; no rules.
 *
 * @param prev the previous result
 * @param ifname CNI_IFNAME
 * @returns the facts
 */
export function factsFromResult(prev: Result, ifname: string): PodFacts {
  const all = prev.interfaces ?? [];
  const inPod = all.filter((i) => (i.sandbox ?? "") !== "");
  const ifaces = inPod.length > 0 ? inPod : all;
  const links: IpLink[] = [{ ifindex: 1, ifname: "lo", flags: ["LOOPBACK", "UP"], mtu: 65536 }];
  const addrs: IpAddrLink[] = [{ ifindex: 1, ifname: "lo", addr_info: [] }];
  const nameOf = (i: number | undefined) => (i === undefined ? ifname : all[i]?.name ?? ifname);
  const names = new Set(ifaces.map((i) => i.name));
  for (const ip of prev.ips ?? []) names.add(nameOf(ip.interface));
  names.add(ifname);
  let ifindex = 2;
  const routes: IpRoute[] = [];
  for (const name of names) {
    const i = all.find((x) => x.name === name);
    const link: IpLink = {
      ifindex: ifindex++,
      ifname: name,
      flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
      mtu: i?.mtu ?? 1500,
    };
    if (i?.mac !== undefined) link.address = i.mac;
    links.push(link);
    const mine = (prev.ips ?? []).filter((ip) => nameOf(ip.interface) === name);
    addrs.push({
      ifindex: link.ifindex,
      ifname: name,
      addr_info: mine.map((ip) => ({
        family: familyOf(ip.address) === 4 ? "inet" : "inet6",
        local: bareIp(ip.address),
        prefixlen: Number(ip.address.split("/")[1] ?? (familyOf(ip.address) === 4 ? 32 : 128)),
        scope: "global",
      })),
    });
    for (const ip of mine) {
      const v4 = familyOf(ip.address) === 4;
      routes.push({
        family: v4 ? 4 : 6,
        dst: maskCidrText(ip.address),
        dev: name,
        protocol: "kernel",
        ...(v4 ? { scope: "link", prefsrc: bareIp(ip.address) } : {}),
      });
    }
  }
  for (const r of prev.routes ?? []) {
    const dst = r.dst.endsWith("/0") ? "default" : maskCidrText(r.dst);
    const family = familyOf(bareIp(r.dst));
    routes.push({ family, dst, dev: ifname, ...(r.gw === undefined ? {} : { gateway: r.gw }) });
  }
  return { links, addrs, routes, rules4: [], rules6: [] };
}

/**
 * Why the NIC resolves to its mode, first or later NIC, and table.
 *
 * @param conf the configuration
 * @param ifname CNI_IFNAME
 * @param nic the NIC's plan
 * @param podFacts where the pod facts came from
 * @returns sentences
 */
export function modeWhy(
  conf: CoordinatorConfig,
  ifname: string,
  nic: NicPlan,
  podFacts: "netns" | "prevResult",
): string[] {
  const d = nic.decision;
  const first = conf.podDefaultCniNic;
  const veth = d.vethExists
    ? `"${POD_VETH}" is in the pod`
    : `"${POD_VETH}" is not in the pod${podFacts === "prevResult" ? " (assumed: no --netns)" : ""}`;
  const out: string[] = [];
  if (conf.mode === "auto") {
    out.push(
      ifname === first
        ? `mode auto: "${ifname}" is podDefaultCniNic, the first NIC: underlay`
        : d.vethExists
        ? `mode auto: "${ifname}" is a later NIC and ${veth} (the first NIC runs underlay): underlay`
        : `mode auto: "${ifname}" is a later NIC and ${veth}: overlay`,
    );
  } else {
    out.push(`mode ${conf.mode} set in the config (${veth})`);
  }
  out.push(
    d.firstInvoke
      ? `first invoke: ${MODES[d.mode].firstInvokeWhy(ifname, conf)}`
      : `a later NIC: its routes go to policy table ${d.table}`,
  );
  out.push(`policy table ${d.table}; family ${nic.family}; addresses ${nic.current.join(", ")}`);
  if (nic.create) out.push(`creates the pair "${POD_VETH}" / its node end (CNI_CONTAINERID)`);
  return out;
}

/**
 * The ends of the pair as far as they are known: a pair ADD creates gets
 * placeholders for its random MACs; an existing one is looked up in the pod
 * facts and, when given, the node's links (as ADD's findPair does, through
 * the mode's rules).
 *
 * @param conf the configuration
 * @param nic the NIC's plan
 * @param facts the pod facts
 * @param containerId CNI_CONTAINERID, if known
 * @param nodeLinks the node's links, if read
 * @returns the ends and what stays undecided
 */
export function pairEnds(
  conf: CoordinatorConfig,
  nic: NicPlan,
  facts: PodFacts,
  containerId: string | undefined,
  nodeLinks: readonly IpLink[] | undefined,
): { ends: PairEnds; undecided: string[] } {
  const undecided: string[] = [];
  const hostVeth = containerId === undefined ? "veth<containerID:11>" : hostVethName(containerId);
  if (containerId === undefined) {
    undecided.push(`node veth name: "veth" + the first 11 characters of CNI_CONTAINERID`);
  }
  if (nic.create) {
    undecided.push(`${POD_VETH} MAC: random, chosen by ADD (${POD_VETH_MAC})`);
    undecided.push(`node veth MAC: random, chosen by ADD (${HOST_VETH_MAC})`);
    return {
      ends: { podVeth: POD_VETH, podVethMac: POD_VETH_MAC, hostVeth, hostMac: HOST_VETH_MAC },
      undecided,
    };
  }
  const rules = MODES[nic.decision.mode];
  const podName = rules.podEnd(conf);
  const { podEnd, nodeEnd } = findPair(rules, conf, facts.links, nodeLinks, hostVeth);
  const podVethMac = podEnd?.address ?? `<${podName}-mac>`;
  if (podEnd?.address === undefined) {
    undecided.push(`${podName} MAC: read from the pod by ADD (${podVethMac})`);
  }
  const nodeName = nodeEnd?.ifname ?? rules.namedNodeEnd(hostVeth) ?? `<peer-of-${podName}>`;
  const hostMac = nodeEnd?.address ?? `<${nodeName}-mac>`;
  if (nodeEnd === undefined) {
    undecided.push(`the node end of "${podName}" and its MAC: found on the node by ADD`);
  }
  return { ends: { podVeth: podName, podVethMac, hostVeth: nodeName, hostMac }, undecided };
}

/**
 * The items ADD would create or change, from the planners ADD runs.
 *
 * @param view the view (`./view.ts` addView)
 * @param nic the NIC's plan
 * @param nodeIps the node IPs (from the node's reads or given)
 * @param hostMac the node end's MAC (or its placeholder)
 * @returns the explanation without the header fields
 */
export function explainItems(
  view: AddView,
  nic: NicPlan,
  nodeIps: readonly string[],
  hostMac: string,
): Pick<Explanation, "items" | "mac" | "detection" | "warnings"> {
  const { conf, family } = view;
  const node = planNode(view, nic.create ? { hostMac } : undefined);
  const items: PlanItem[] = itemsOf(node.changes, "node");
  if (nic.create) items.push(...sysctlItems(nodeSysctls(view.hostVeth), "node"));
  const pod = planPod(view, nodeIps, hostMac);
  const podLinks = view.facts.links.map((l) => l.ifname);
  if (nic.create) podLinks.push(POD_VETH);
  items.push(...sysctlItems(podSysctls(conf, family, podLinks), "pod"));
  items.push(...itemsOf(pod.changes, "pod"), ...connmarkItems(pod.connmark, "pod"));
  const out: Pick<Explanation, "items" | "mac" | "detection" | "warnings"> = {
    items,
    detection: [],
    warnings: pod.warnings,
  };
  const from = nic.nic.address ?? "";
  const mac = plannedMac(conf.podMACPrefix, nic.nicAddrs[0], from);
  if (mac.changed && mac.mac !== undefined) {
    out.mac = { ifname: view.ifname, from, to: mac.mac };
    items.push(...itemsOf([{ kind: "link", dev: view.ifname, mac: mac.mac }], "pod"));
  }
  if (conf.detectIPConflict) {
    out.detection.push(`IP conflict detection (ARP/NDP probes) for ${view.current.join(", ")}`);
  }
  if (conf.detectGateway) out.detection.push("gateway reachability probes of the NIC's gateways");
  return out;
}
