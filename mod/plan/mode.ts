/**
 * The mode decision and the constants every plan shares: which mode a NIC runs
 * in (underlay or overlay), whether this is the first NIC, and its policy table.
 * Pure functions of the configuration and the pod facts.
 *
 * @example
 * ```ts
 * import { hostVethName } from "./mode.ts";
 * if (hostVethName("7f3c0d5e9a1b2c") !== "veth7f3c0d5e9a1") throw new Error("name");
 * ```
 *
 * @module
 */

import type { CoordinatorConfig } from "../config/types.ts";
import { CniError, ErrorCode } from "../errors.ts";
import type { PodFacts } from "../kernel/facts.ts";
import type { ConnmarkIntent, IpIntent, Table } from "../kernel/intent.ts";
import type { IpAddrLink, IpLink, IpRule } from "../kernel/ip_json.ts";
import { bareIp, canonicalIp, familyOf, isLinkLocalOrMulticast } from "../ip.ts";

/** The pod end of the veth pair that underlay mode creates. */
export const POD_VETH = "veth0";

/** Reply table of underlay / eth0 replies in overlay. */
export const REPLY_TABLE = 100;

/** First per-NIC table. */
export const FIRST_TABLE = 101;

/** Priority of the host rule and the fwmark rule. */
export const RULE_PRIORITY = 1000;

/** Address families of the current NIC. */
export type Family = "v4" | "v6" | "dual";

/** Resolved mode of one ADD. */
export interface ModeDecision {
  mode: "underlay" | "overlay";
  firstInvoke: boolean;
  /** currentRuleTable. */
  table: number;
  /** veth0 existed before this ADD. */
  vethExists: boolean;
}

/** Does the family include IPv4 / IPv6. */
export function hasFamily(f: Family, v: 4 | 6): boolean {
  return f === "dual" || (v === 4 ? f === "v4" : f === "v6");
}

/**
 * The host veth name: "veth" + the first 11 characters of the container ID.
 *
 * @param containerId CNI_CONTAINERID
 * @returns the name (at most 15 characters)
 */
export function hostVethName(containerId: string): string {
  return `veth${containerId.slice(0, 11)}`;
}

/**
 * Non-link-local, non-multicast addresses of a link, in kernel dump order.
 *
 * @param addrs `ip -j addr show` output
 * @param ifname the link
 * @param family filter, or undefined for both
 * @returns plain addresses
 */
export function linkAddrs(addrs: readonly IpAddrLink[], ifname: string, family?: Family): string[] {
  const link = addrs.find((a) => a.ifname === ifname);
  if (link === undefined) return [];
  return link.addr_info
    .filter((i) => i.family === "inet" || i.family === "inet6")
    .map((i) => i.local)
    .filter((ip) => !isLinkLocalOrMulticast(ip))
    .filter((ip) => family === undefined || hasFamily(family, familyOf(ip)));
}

/**
 * Family of the current NIC from its addresses (v4, v6 or dual).
 *
 * @param addrs the NIC's addresses
 * @param ifname for the message
 * @returns the family
 * @throws CniError 102 when it has none
 */
export function familyFromAddrs(addrs: readonly string[], ifname: string): Family {
  const v4 = addrs.some((a) => familyOf(a) === 4);
  const v6 = addrs.some((a) => familyOf(a) === 6);
  if (v4 && v6) return "dual";
  if (v4) return "v4";
  if (v6) return "v6";
  throw new CniError(ErrorCode.NotFound, `No usable IP address on "${ifname}"`);
}

/** Rule table as a number, or undefined for names / missing. */
export function ruleTable(r: IpRule): number | undefined {
  if (r.table === undefined) return undefined;
  if (r.table === "main") return 254;
  const n = Number(r.table);
  return Number.isInteger(n) ? n : undefined;
}

export function ruleSrc(r: IpRule): string | undefined {
  if (r.src === undefined || r.src === "all") return undefined;
  return canonicalIp(bareIp(r.src));
}

/** UP + BROADCAST + MULTICAST links (the original counts these to tell the first NIC). */
export function upLinks(links: readonly IpLink[]): IpLink[] {
  return links.filter((l) =>
    l.flags.includes("UP") && l.flags.includes("BROADCAST") && l.flags.includes("MULTICAST")
  );
}

/**
 * The mode of a NIC: the configured one, or, in `auto`, underlay for the
 * first NIC (`podDefaultCniNic`) and for a later NIC when `veth0` is in the
 * pod (the first NIC runs underlay), else overlay. ADD (through
 * {@linkcode resolveMode}) and a DEL without a record decide alike.
 *
 * @param conf the configuration
 * @param ifname CNI_IFNAME
 * @param vethExists `veth0` is in the pod
 * @returns the mode
 * @throws CniError 7 for a mode that configures nothing ("disable")
 */
export function modeOf(
  conf: CoordinatorConfig,
  ifname: string,
  vethExists: boolean,
): "underlay" | "overlay" {
  if (conf.mode === "underlay" || conf.mode === "overlay") return conf.mode;
  if (conf.mode === "auto") {
    return ifname === conf.podDefaultCniNic || vethExists ? "underlay" : "overlay";
  }
  throw new CniError(ErrorCode.InvalidNetworkConfig, `Unknown mode "${conf.mode}"`);
}

/**
 * Resolve mode, first invoke and the NIC's policy table (docs/network.md "Modes").
 *
 * Table numbering does better than the original (which counts UP links, so a
 * NIC added out of order could take a table already in use) without changing
 * its numbers in the usual cases: instead
 * of counting UP links, a NIC gets the table its own `from` rules already
 * use (a re-run), else the lowest table >= 101 that no other NIC's rule uses.
 * An underlay first NIC always gets 101 (its host routes; net1 reuses it).
 *
 * @param conf the configuration
 * @param ifname CNI_IFNAME
 * @param facts the pod facts
 * @param current the current NIC's addresses
 * @returns the decision
 * @throws CniError 7 on a mode conflict
 */
export function resolveMode(
  conf: CoordinatorConfig,
  ifname: string,
  facts: PodFacts,
  current: readonly string[],
): ModeDecision {
  const vethExists = facts.links.some((l) => l.ifname === POD_VETH);
  const first = conf.podDefaultCniNic;
  const mode = modeOf(conf, ifname, vethExists);

  const mine = new Set(current.map(canonicalIp));
  const rules = [...facts.rules4, ...(facts.rules6 ?? [])];
  let own: number | undefined;
  const taken = new Set<number>();
  for (const r of rules) {
    const t = ruleTable(r);
    const src = ruleSrc(r);
    if (t === undefined || src === undefined || t < FIRST_TABLE || t > 252) continue;
    if (mine.has(src)) own ??= t;
    else taken.add(t);
  }
  let free = FIRST_TABLE;
  while (taken.has(free)) free++;

  if (mode === "underlay") {
    const firstInvoke = ifname === first;
    if (!firstInvoke && !vethExists) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `Interface "${ifname}" is in underlay mode but the auxiliary "${POD_VETH}" of the first NIC "${first}" is missing: enable the coordinator for "${first}" too`,
      );
    }
    return { mode, firstInvoke, table: firstInvoke ? FIRST_TABLE : own ?? free, vethExists };
  }
  if (ifname === first) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `Interface "${ifname}" is the first NIC "${first}": overlay mode works only for later NICs`,
    );
  }
  if (vethExists) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `Interface "${ifname}" is in overlay mode but "${POD_VETH}" exists: the first NIC runs in underlay mode`,
    );
  }
  const firstInvoke = conf.tunePodRoutes ? taken.size === 0 : upLinks(facts.links).length === 2;
  return { mode, firstInvoke, table: own ?? free, vethExists };
}

/** Everything the host and pod plans need. */
export interface AddView {
  conf: CoordinatorConfig;
  containerId: string;
  ifname: string;
  netns: string;
  facts: PodFacts;
  family: Family;
  decision: ModeDecision;
  /** Current NIC addresses (family-filtered). */
  current: string[];
  /** Every pod address except lo's (family-filtered). */
  allPodIps: string[];
  /** veth0 (underlay) or the first NIC (overlay). */
  podVeth: string;
  podVethMac: string;
  /** Host veth name (overlay: known after the host read). */
  hostVeth: string;
}

/** The reply path of one mode: pod routes and rules (both families), connmark rules. */
export interface ReplyPath {
  changes: IpIntent[];
  connmark: ConnmarkIntent[];
}

/** The node addresses the pod routes by, per family, and the pod's IPv4 source hint. */
export interface PodGateways {
  gw4: string | undefined;
  gw6: string | undefined;
  src4: string | undefined;
}

/**
 * What differs between underlay and overlay mode, in one place per mode
 * (`./underlay.ts`, `./overlay.ts`; chosen by {@linkcode ModeDecision.mode}
 * through `MODES` of `./modes.ts`). Everything else in a plan is shared, and
 * nothing outside these files compares a mode's name.
 */
export interface ModeRules {
  readonly mode: "underlay" | "overlay";
  /** Name of the pod end of the pod-node veth pair. */
  podEnd(conf: Pick<CoordinatorConfig, "podDefaultCniNic">): string;
  /** Whether this ADD creates that pair. */
  createsPair(d: ModeDecision): boolean;
  /** Whether the node end is the veth this plugin made (DEL deletes it). */
  ownsPair(d: Pick<ModeDecision, "firstInvoke">): boolean;
  /**
   * The pair is the coordinator's own (made by the first NIC's ADD, with
   * MACs and MTU it chose): CHECK holds its ends to them.
   */
  readonly pairIsOurs: boolean;
  /**
   * The node end's name when the plugin names it (undefined: it is found as
   * the pod end's peer).
   *
   * @param hostVeth the name this plugin gives a host veth
   */
  namedNodeEnd(hostVeth: string): string | undefined;
  /**
   * The node end of the pair among the node's links (undefined: not found).
   *
   * @param podEnd the pod end as the pod lists it
   * @param nodeLinks the node's links
   * @param hostVeth the name this plugin gives a host veth
   */
  nodeEnd(podEnd: IpLink, nodeLinks: readonly IpLink[], hostVeth: string): IpLink | undefined;
  /** Why the pod end cannot carry this mode's traffic (undefined: it can). */
  podEndProblem(podEnd: IpLink): string | undefined;
  /** How the missing node end is named in an error. */
  nodeEndText(podEnd: IpLink, hostVeth: string): string;
  /** Node changes of the mode (before the shared rule, routes and neighbours). */
  nodeChanges(v: AddView, create: { hostMac: string } | undefined): IpIntent[];
  /** Pod changes of the mode (before the shared ones). */
  podChanges(v: AddView): IpIntent[];
  /** Whether the NIC gets the reply path for connections the node starts. */
  hasReplyPath(d: Pick<ModeDecision, "firstInvoke">): boolean;
  /** The pod's reply path for connections the node starts. */
  replyPath(v: AddView, gws: PodGateways): ReplyPath;
  /** Whether multi-NIC route tuning runs for this NIC (given tunePodRoutes). */
  tunes(d: ModeDecision): boolean;
  /** The table of static policy routes. */
  policyTable(d: ModeDecision): Table;
  /**
   * Extra tuning when the default route stays on another NIC: the first
   * overlay NIC sends replies from the default NIC's addresses by table 100.
   */
  tuneReply(v: AddView, defaultNicAddrs: readonly string[]): {
    ruleSrcs: string[];
    changes: IpIntent[];
  };
  /** Why the NIC is the first of its mode (explain). */
  firstInvokeWhy(ifname: string, conf: CoordinatorConfig): string;
}
