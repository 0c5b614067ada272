/**
 * The coordinator's decisions, as pure functions of the configuration and the
 * facts read from the kernel (spec sections 3.2-3.3): mode and table, node
 * IPs, and the `ip -batch` lines for the node and for the pod. No I/O here,
 * so every decision is unit-tested on captured `ip -j` output.
 *
 * @example
 * ```ts
 * import { hostVethName, macFromPrefix } from "./plan.ts";
 * if (hostVethName("7f3c0d5e9a1b2c") !== "veth7f3c0d5e9a1") throw new Error("name");
 * if (macFromPrefix("0a:1b", "10.6.212.241") !== "0a:1b:0a:06:d4:f1") throw new Error("mac");
 * ```
 *
 * @module
 */

import type { CoordinatorConfig } from "./config.ts";
import { CniError, ErrorCode } from "./errors.ts";
import type { PodFacts } from "./facts.ts";
import {
  bareIp,
  type BatchLine,
  canonicalIp,
  familyOf,
  hostPrefix,
  type IpAddrLink,
  type IpLink,
  type IpRoute,
  type IpRouteGet,
  type IpRule,
  isDefaultDst,
  isLinkLocalOrMulticast,
  maskCidrText,
} from "./iproute.ts";
import { parseIp } from "./_ip.ts";

/** The pod veth name (spec A). */
export const POD_VETH = "veth0";
/** Reply table of underlay / eth0 replies in overlay. */
export const REPLY_TABLE = 100;
/** First per-NIC table. */
export const FIRST_TABLE = 101;
/** Priority of the host rule and the fwmark rule. */
export const RULE_PRIORITY = 1000;

/** Address families of the current NIC. */
export type Family = "v4" | "v6" | "dual";

/** Resolved mode (spec 3.2). */
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
 * A random locally administered unicast MAC (spec 3.3.4).
 *
 * @param bytes 6 random bytes (injectable for tests)
 * @returns "xx:xx:xx:xx:xx:xx"
 */
export function randomMac(bytes: Uint8Array = crypto.getRandomValues(new Uint8Array(6))): string {
  const b = Uint8Array.from(bytes.subarray(0, 6));
  b[0] = ((b[0] ?? 0) | 0x02) & 0xfe;
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
}

/**
 * The fixed MAC of podMACPrefix: prefix + the last 4 bytes of the address
 * (spec 3.3.8, without the original's leading-zero bug).
 *
 * @param prefix "0a:1b"
 * @param ip the NIC's first address
 * @returns the MAC
 */
export function macFromPrefix(prefix: string, ip: string): string {
  const p = parseIp(ip);
  if (p === undefined) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `Cannot derive a MAC from address "${ip}"`);
  }
  const tail = Array.from(
    p.bytes.subarray(p.bytes.length - 4),
    (x) => x.toString(16).padStart(2, "0"),
  );
  return [prefix.toLowerCase(), ...tail].join(":");
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
 * Family of the current NIC from its addresses (spec 3.3.2).
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
function ruleTable(r: IpRule): number | undefined {
  if (r.table === undefined) return undefined;
  if (r.table === "main") return 254;
  const n = Number(r.table);
  return Number.isInteger(n) ? n : undefined;
}

function ruleSrc(r: IpRule): string | undefined {
  if (r.src === undefined || r.src === "all") return undefined;
  return canonicalIp(bareIp(r.src));
}

/** UP + BROADCAST + MULTICAST links (spec 3.2). */
export function upLinks(links: readonly IpLink[]): IpLink[] {
  return links.filter((l) =>
    l.flags.includes("UP") && l.flags.includes("BROADCAST") && l.flags.includes("MULTICAST")
  );
}

/**
 * Resolve mode, first invoke and the NIC's policy table (spec 3.2).
 *
 * Table numbering fixes weakness 8 without changing the spec examples: instead
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
  let mode: "underlay" | "overlay";
  if (conf.mode === "underlay" || conf.mode === "overlay") mode = conf.mode;
  else if (conf.mode === "auto") mode = ifname === first || vethExists ? "underlay" : "overlay";
  else throw new CniError(ErrorCode.InvalidNetworkConfig, `Unknown mode "${conf.mode}"`);

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

/**
 * Node IPs for the pod (spec 3.3.3): the preferred sources of the node's
 * routes to every pod IP, then the addresses of node links outside the
 * exclusion list; family-filtered, no duplicates.
 *
 * @param routeGets `ip route get <podIP>` answers (undefined when it failed)
 * @param hostAddrs `ip -j addr show` of the node
 * @param family pod family
 * @returns ordered node IPs
 */
export function nodeIpsForPod(
  routeGets: readonly (IpRouteGet | undefined)[],
  hostAddrs: readonly IpAddrLink[],
  family: Family,
): string[] {
  const out: string[] = [];
  const add = (ip: string | undefined) => {
    if (ip === undefined) return;
    const c = canonicalIp(ip);
    if (!hasFamily(family, familyOf(c)) || isLinkLocalOrMulticast(c) || out.includes(c)) return;
    out.push(c);
  };
  for (const g of routeGets) add(g?.prefsrc);
  const excluded =
    /^(docker.*|cbr.*|dummy.*|virbr.*|lxcbr.*|veth.*|lo|cali.*|flannel.*|kube-ipvs.*|cni.*|vx-submariner|cilium.*)$/;
  for (const link of hostAddrs) {
    if (excluded.test(link.ifname)) continue;
    for (const ip of linkAddrs(hostAddrs, link.ifname, family)) add(ip);
  }
  return out;
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

/**
 * Node-side lines of ADD: veth creation (underlay first invoke), the host
 * rule per family, the /32 routes and PERMANENT neighbours for the current
 * NIC's addresses, and the reads (route get per pod IP, addresses).
 *
 * @param v the view
 * @param create create the veth pair with these MACs
 * @returns `lines` for `ip -batch` (the first `reads` lines are the route
 *   gets, one per pod IP, then `addr show`) and `lines6` for `ip -6 -batch`
 */
export function planHost(
  v: AddView,
  create: { hostMac: string } | undefined,
): { lines: BatchLine[]; lines6: BatchLine[]; reads: number } {
  const lines: BatchLine[] = [];
  const lines6: BatchLine[] = [];
  // Reads come first, as in the original: the node's route to a pod IP is
  // looked up before the table-500 routes of this ADD exist.
  const reads: BatchLine[] = v.allPodIps.map((ip) => ({
    args: ["route", "get", ip],
    read: true,
    optional: true,
  }));
  reads.push({ args: ["addr", "show"], read: true });
  const mtu = String(v.conf.vethMTU);
  if (create) {
    lines.push({
      args: [
        "link",
        "add",
        v.hostVeth,
        "address",
        create.hostMac,
        "mtu",
        mtu,
        "txqueuelen",
        "0",
        "type",
        "veth",
        "peer",
        "name",
        POD_VETH,
        "address",
        v.podVethMac,
        "mtu",
        mtu,
        "txqueuelen",
        "0",
        "netns",
        v.netns,
      ],
    });
  }
  if (v.decision.mode === "underlay") lines.push({ args: ["link", "set", v.hostVeth, "up"] });
  const table = String(v.conf.hostRuleTable);
  const exists = /File exists/;
  if (hasFamily(v.family, 4)) {
    lines.push({
      args: ["rule", "add", "pref", String(RULE_PRIORITY), "table", table],
      tolerate: exists,
    });
  }
  if (hasFamily(v.family, 6)) {
    lines6.push({
      args: ["rule", "add", "pref", String(RULE_PRIORITY), "table", table],
      tolerate: exists,
    });
  }
  for (const ip of v.current) {
    lines.push({
      args: [
        "route",
        "replace",
        hostPrefix(ip),
        "dev",
        v.hostVeth,
        "scope",
        "link",
        "table",
        table,
      ],
    });
  }
  // Neighbour lines go last: iproute2 ends the whole batch when one of them fails.
  for (const ip of v.current) {
    lines.push({ args: ["neigh", "flush", "to", ip, "nud", "all"], optional: true });
    lines.push({
      args: ["neigh", "replace", ip, "lladdr", v.podVethMac, "dev", v.hostVeth, "nud", "permanent"],
    });
  }
  return { lines: [...reads, ...lines], lines6, reads: reads.length };
}

/** A policy rule the pod plan adds (kept in the state for DEL). */
export interface PlannedRule {
  family: 4 | 6;
  priority: number;
  src: string;
  table: number;
}

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

function routeFamily(r: IpRoute): 4 | 6 {
  if (r.dst !== "default") return familyOf(r.dst);
  const gw = r.gateway ?? r.nexthops?.[0]?.gateway;
  if (gw !== undefined) return familyOf(gw);
  return "pref" in r ? 6 : 4;
}

function isMain(r: IpRoute): boolean {
  return (r.table === undefined || r.table === "main") && (r.type ?? "unicast") === "unicast";
}

function isDefaultRoute(r: IpRoute): boolean {
  return isDefaultDst(r.dst);
}

function dstArg(r: IpRoute): string {
  if (r.dst === "default") return routeFamily(r) === 4 ? "0.0.0.0/0" : "::/0";
  return r.dst;
}

/** Whether the pod has a `from <src> lookup <table>` rule already. */
function hasRule(rules: readonly IpRule[], src: string, table: number): boolean {
  return rules.some((r) => ruleSrc(r) === canonicalIp(src) && ruleTable(r) === table);
}

/** The kernel's choice for a rule without priority: second rule's priority - 1. */
function nextPriority(prios: number[]): number {
  const sorted = [...prios].sort((a, b) => a - b);
  const second = sorted[1] ?? 32766;
  const p = Math.max(1, second - 1);
  prios.push(p);
  return p;
}

/** `from all fwmark 0x1 lookup 100` at priority 1000 (the reply path; "exists" is fine). */
function fwmarkRule(exists: RegExp): BatchLine {
  return {
    args: [
      "rule",
      "add",
      "fwmark",
      "0x1",
      "table",
      String(REPLY_TABLE),
      "pref",
      String(RULE_PRIORITY),
    ],
    tolerate: exists,
  };
}

/**
 * Pod-side lines of ADD (spec 3.3.11-3.3.19, steps after detection).
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

  if (decision.mode === "underlay") {
    lines.push({ args: ["link", "set", POD_VETH, "up"] });
    if (first && conf.vethLinkAddress !== "" && family !== "v6") {
      lines.push({
        args: ["addr", "add", `${conf.vethLinkAddress}/32`, "dev", POD_VETH],
        tolerate: exists,
      });
    }
  }
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
  const mangle = decision.mode === "underlay" && first;
  if (mangle) {
    if (hasFamily(family, 4)) {
      lines.push(fwmarkRule(exists));
      const via = gw4 === undefined ? [] : ["via", gw4];
      const srcArgs = src4 === undefined ? [] : ["src", src4];
      lines.push({
        args: [
          "route",
          "replace",
          "0.0.0.0/0",
          ...via,
          "dev",
          POD_VETH,
          ...srcArgs,
          "table",
          String(REPLY_TABLE),
        ],
      });
    }
    if (hasFamily(family, 6)) {
      lines6.push(fwmarkRule(exists));
      const via = gw6 === undefined ? [] : ["via", gw6];
      lines.push({
        args: ["route", "replace", "::/0", ...via, "dev", POD_VETH, "table", String(REPLY_TABLE)],
      });
    }
  }
  if (conf.tunePodRoutes && (!first || decision.mode === "overlay")) {
    const tune = planTune(v);
    lines.push(...tune.lines);
    lines6.push(...tune.lines6);
    rules.push(...tune.rules);
    warnings.push(...tune.warnings);
  }
  if (conf.policyRoutes.length > 0) {
    const t = decision.mode === "underlay" && first ? [] : ["table", table];
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

/** Default-route NIC (spec 3.3.18 A): first link by ifindex holding a main default route. */
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

function planTune(v: AddView): {
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
    // Weakness 10: the NIC may be attached later; keep the current default for now.
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
    if (decision.mode === "overlay" && decision.firstInvoke) {
      for (const ip of defAddrs) addRule(ip, REPLY_TABLE);
      for (const r of facts.routes) {
        if (!isMain(r) || !isDefaultRoute(r) || r.dev !== conf.podDefaultCniNic) continue;
        if (!hasFamily(family, routeFamily(r))) continue;
        lines.push({ args: copyArgs(r, conf.podDefaultCniNic, REPLY_TABLE), tolerate: exists });
      }
    }
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

/** `route add` that copies {dst, src, gw, dev, scope} of a route into a table. */
function copyArgs(r: IpRoute, dev: string, table: number): string[] {
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

/**
 * Gateways of the main-table default routes on the current NIC (D2 targets,
 * spec 3.5.1), skipping routes without a gateway.
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

/**
 * Pod sysctls (spec 3.3.12): IPv6 on for v6/dual; rp_filter on `all`,
 * `default` and every pod interface, because the kernel uses the larger of
 * `all` and the interface value (the original only sets `all`).
 *
 * @param conf configuration
 * @param family pod family
 * @param links pod links (after veth creation: include veth0)
 * @returns dotted keys and values
 */
export function podSysctls(
  conf: CoordinatorConfig,
  family: Family,
  links: readonly string[],
): { key: string; value: number; optional?: boolean }[] {
  const out: { key: string; value: number; optional?: boolean }[] = [];
  if (family !== "v4") out.push({ key: "net.ipv6.conf.all.disable_ipv6", value: 0 });
  if (conf.podRPFilter >= 0) {
    for (const n of ["all", "default", ...links.filter((l) => l !== "lo")]) {
      out.push({ key: `net.ipv4.conf.${n}.rp_filter`, value: conf.podRPFilter, optional: true });
    }
  }
  return out;
}
