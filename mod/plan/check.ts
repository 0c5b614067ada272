/**
 * CHECK's comparison, as tuning's `cmdCheck` compares exactly what its
 * `cmdAdd` set: the intents an ADD applied (recorded in its state file, or,
 * for a record of an older version, derived from it) against the facts read
 * back from the pod and the node, as the list of differences CHECK reports.
 * What only CHECK knows is explicit ({@linkcode Expected.pair}): the pair's two
 * ends are there and are peers, the node end is up, a pair of the
 * coordinator's own keeps its MACs and MTU, and every neighbour ADD set on an
 * end names the other end's current MAC. Pure: the reads happen in
 * `commands/check.ts`.
 *
 * One file (about 410 lines): the record of each version, what it stands
 * for and the comparison of its intents with the facts are one contract
 * with the state file and change together.
 *
 * @example
 * ```ts ignore
 * import { checkDifferences, expectedOf } from "./check.ts";
 * const missing = checkDifferences(expectedOf(state, conf), facts);
 * ```
 *
 * @module
 */

import type { CoordinatorConfig } from "../config/types.ts";
import type { HostFacts, PodFacts } from "../kernel/facts.ts";
import type {
  AddrIntent,
  ConnmarkIntent,
  Family,
  IpIntent,
  LinkIntent,
  NeighIntent,
  RouteIntent,
  RuleIntent,
  SysctlIntent,
} from "../kernel/intent.ts";
import type { IpLink, IpNeigh, IpRoute, IpRule } from "../kernel/ip_json.ts";
import { mangleRuleText } from "../kernel/iptables.ts";
import type { AttachmentState, RecordedRoute } from "../kernel/state.ts";
import { canonicalIp, familyOf, hostPrefix } from "../ip.ts";
import { dstCidr } from "./_routes.ts";
import { sharedRule } from "./cleanup.ts";
import { POD_VETH, REPLY_TABLE, ruleSrc } from "./mode.ts";
import { MODES } from "./modes.ts";
import { ruleShowText, shownDst } from "./render.ts";
import { connmarkRules, fwmarkRule } from "./underlay.ts";

/** The pod-node veth pair as CHECK holds it. */
export interface ExpectedPair {
  podVeth: string;
  hostVeth: string;
  /** The MACs the ends must keep (a pair of the coordinator's own). */
  macs?: { pod: string; host: string };
  /** The MTU the pod end must keep (a pair of the coordinator's own). */
  mtu?: number;
}

/** What CHECK expects of one attachment. */
export interface Expected {
  pair: ExpectedPair;
  /** `ip` changes on the node. */
  node: IpIntent[];
  /** `ip` changes in the pod. */
  pod: IpIntent[];
  sysctls: SysctlIntent[];
  nodeSysctls: SysctlIntent[];
  mangle: ConnmarkIntent[];
}

/** What CHECK read. */
export interface CheckFacts {
  /** The pod, with its IPv6 rules and neighbours. */
  pod: PodFacts;
  host: HostFacts;
  /** The connmark rules of {@linkcode Expected.mangle} missing in the pod. */
  missingMangle: readonly ConnmarkIntent[];
  /** The pod sysctls of {@linkcode Expected.sysctls} (undefined: missing). */
  sysctls: ReadonlyMap<string, string | undefined>;
  /** The node sysctls of {@linkcode Expected.nodeSysctls}. */
  nodeSysctls: ReadonlyMap<string, string | undefined>;
}

/**
 * What CHECK expects of an attachment, from its record: a version 3 record
 * holds the intents ADD applied; an older one is translated into the intents
 * it stands for (with the configuration for what a version 1 record lacks).
 *
 * @param s the record
 * @param conf the configuration (txQueueLen and podRPFilter of a version 1 record)
 * @returns the expectations
 */
export function expectedOf(
  s: AttachmentState,
  conf: Pick<CoordinatorConfig, "txQueueLen" | "podRPFilter">,
): Expected {
  const rules = MODES[s.mode];
  const pair: ExpectedPair = { podVeth: s.podVeth, hostVeth: s.hostVeth };
  if (rules.pairIsOurs) pair.macs = { pod: s.podVethMac, host: s.hostVethMac };
  const a = s.applied;
  if (a !== undefined) {
    if (a.vethMTU !== undefined) pair.mtu = a.vethMTU;
    return {
      pair,
      node: a.node,
      pod: a.pod,
      sysctls: a.sysctls,
      nodeSysctls: a.nodeSysctls,
      mangle: a.mangle,
    };
  }
  if (s.pod?.vethMTU !== undefined) pair.mtu = s.pod.vethMTU;
  return { pair, ...legacyIntents(s, conf) };
}

/** A route of a version 2 record as an intent. */
function recordedRoute(r: RecordedRoute, op: "add" | "del"): RouteIntent {
  const dst = r.dst === "default"
    ? (r.family === 4 ? "0.0.0.0/0" : "::/0")
    : r.dst.includes("/")
    ? r.dst
    : hostPrefix(r.dst);
  const table = r.table === "main" ? "main" : Number(r.table);
  return {
    kind: "route",
    op,
    dst,
    ...(r.via === undefined ? {} : { via: r.via }),
    dev: r.dev,
    table,
  };
}

/** The intents a version 1 or 2 record stands for. */
function legacyIntents(
  s: AttachmentState,
  conf: Pick<CoordinatorConfig, "txQueueLen" | "podRPFilter">,
): Omit<Expected, "pair"> {
  const rules = MODES[s.mode];
  const families = (ips: readonly string[]) =>
    ([4, 6] as const).filter((f) => ips.some((ip) => familyOf(ip) === f));
  const node: IpIntent[] = [
    ...families(s.podIPs).map((f) => sharedRule(f, s.hostRuleTable, "add")),
    ...s.podIPs.flatMap((ip): IpIntent[] => [
      {
        kind: "route",
        op: "replace",
        dst: hostPrefix(ip),
        dev: s.hostVeth,
        table: s.hostRuleTable,
      },
      { kind: "neigh", dst: ip, lladdr: s.podVethMac, dev: s.hostVeth },
    ]),
  ];
  const txq = s.pod?.txQueueLen ?? conf.txQueueLen;
  const nic: LinkIntent = { kind: "link", dev: s.ifname, up: true };
  if (txq > 0) nic.txqueuelen = txq;
  if (s.mac !== undefined) nic.mac = s.mac;
  const pod: IpIntent[] = [nic];
  const replies = rules.hasReplyPath(s);
  if (replies && rules.pairIsOurs) pod.push({ kind: "link", dev: s.podVeth, up: true });
  for (const h of s.nodeIPs) {
    const route = { kind: "route", op: "add", dst: hostPrefix(h), dev: s.podVeth } as const;
    pod.push({ ...route, table: s.table });
    if (s.firstInvoke) pod.push({ ...route, table: "main" });
  }
  pod.push(...(s.pod?.routes ?? []).map((r) => recordedRoute(r, "add")));
  pod.push(...(s.pod?.removed ?? []).map((r) => recordedRoute(r, "del")));
  pod.push(...s.podRules.map((r): RuleIntent => ({
    kind: "rule",
    op: "add",
    family: r.family,
    priority: r.priority,
    from: r.src,
    table: r.table,
  })));
  const mangle: ConnmarkIntent[] = [];
  if (replies) {
    // IPv4 with an IPv4 pod address, IPv6 with any IPv6 address.
    const replyFamilies: Family[] = families(s.podIPs).filter((f) => f === 4);
    if (families([...s.podIPs, ...s.nodeIPs]).includes(6)) replyFamilies.push(6);
    for (const f of replyFamilies) {
      pod.push(fwmarkRule(f), {
        kind: "route",
        op: "replace",
        dst: f === 4 ? "0.0.0.0/0" : "::/0",
        dev: POD_VETH,
        table: REPLY_TABLE,
      });
      mangle.push(...connmarkRules(POD_VETH, f));
    }
  }
  if (s.firstInvoke) {
    for (const h of s.nodeIPs) {
      pod.push({ kind: "neigh", dst: h, lladdr: s.hostVethMac, dev: s.podVeth });
    }
  }
  const sysctls: SysctlIntent[] = s.pod?.sysctls ??
    (conf.podRPFilter >= 0
      ? ["all", "default", s.ifname].map((n) => ({
        key: `net.ipv4.conf.${n}.rp_filter`,
        value: conf.podRPFilter,
        optional: true,
      }))
      : []);
  return { node, pod, sysctls, nodeSysctls: [], mangle };
}

/** A route's key in CHECK's messages: `dst [via G] dev D [table T]`. */
function routeKey(r: RouteIntent): string {
  const via = r.via === undefined ? "" : ` via ${r.via}`;
  const table = r.table === "main" ? "" : ` table ${r.table}`;
  return `${shownDst(r.dst)}${via} dev ${r.dev}${table}`;
}

/** A route, or one nexthop of a multipath route, by device and gateway. */
function hopMatches(dev: string | undefined, gateway: string | undefined, want: RouteIntent) {
  return dev === want.dev && (want.via === undefined ||
    (gateway !== undefined && canonicalIp(gateway) === canonicalIp(want.via)));
}

function routeMatches(have: IpRoute, want: RouteIntent): boolean {
  if ((have.table ?? "main") !== String(want.table) || dstCidr(have) !== want.dst) return false;
  // A route ADD moved out of main may come back as a nexthop of an IPv6 ECMP route.
  return hopMatches(have.dev, have.gateway, want) ||
    (have.nexthops ?? []).some((h) => hopMatches(h.dev, h.gateway, want));
}

function ruleMatches(have: IpRule, want: RuleIntent): boolean {
  if (have.priority !== want.priority || have.table !== String(want.table)) return false;
  if (have.fwmark !== want.fwmark) return false;
  const src = ruleSrc(have);
  return want.from === undefined ? src === undefined : src === canonicalIp(want.from);
}

function hasAddr(facts: PodFacts, a: AddrIntent): boolean {
  const [ip, len] = a.cidr.split("/");
  return facts.addrs.some((l) =>
    l.ifname === a.dev &&
    l.addr_info.some((i) =>
      canonicalIp(i.local) === canonicalIp(ip!) && String(i.prefixlen) === len
    )
  );
}

/** The side of a place: its name in messages, links, routes, rules, neighbours. */
interface Side {
  place: "pod" | "node";
  links: readonly IpLink[];
  routes: readonly IpRoute[];
  rules(f: Family): readonly IpRule[];
  neigh: readonly IpNeigh[];
  addrs?: PodFacts;
}

/** The differences of one intent from the facts of its place. */
function intentDifferences(i: IpIntent, side: Side): string[] {
  const { place } = side;
  switch (i.kind) {
    case "link":
      return linkDifferences(i, side);
    case "addr":
      return side.addrs === undefined || hasAddr(side.addrs, i)
        ? []
        : [`${place} address "${i.cidr}" on "${i.dev}"`];
    case "route": {
      const present = side.routes.some((r) => routeMatches(r, i));
      if (i.op === "del") {
        return present
          ? [`${place} route "${routeKey(i)}" is back (ADD moved it out of the main table)`]
          : [];
      }
      return present ? [] : [`${place} route "${routeKey(i)}"`];
    }
    case "rule":
      if (i.op === "del" || side.rules(i.family).some((r) => ruleMatches(r, i))) return [];
      return [`${place} IPv${i.family} rule "${ruleShowText(i)}"`];
    case "neigh":
      return neighOf(side, i) === undefined
        ? [`${place} neighbour "${i.dst}" lladdr "${i.lladdr}" dev "${i.dev}"`]
        : [];
    // Creation and clean-up steps: their lasting effects are the pair's and the others'.
    case "veth":
    case "link-del":
    case "neigh-flush":
      return [];
  }
}

function linkDifferences(i: LinkIntent, side: Side): string[] {
  const link = side.links.find((l) => l.ifname === i.dev);
  if (link === undefined) return [`${side.place} interface "${i.dev}"`];
  const out: string[] = [];
  if (i.up && !link.flags.includes("UP")) {
    out.push(side.place === "pod" ? `"${i.dev}" is down` : `node interface "${i.dev}" is down`);
  }
  if (i.txqueuelen !== undefined && (link.txqlen ?? 0) !== i.txqueuelen) {
    out.push(`"${i.dev}" txqueuelen ${link.txqlen ?? 0} is not ${i.txqueuelen}`);
  }
  if (i.mac !== undefined && link.address?.toLowerCase() !== i.mac.toLowerCase()) {
    out.push(`"${i.dev}" MAC "${link.address}" is not "${i.mac}"`);
  }
  return out;
}

/** The PERMANENT neighbour of the intent, when it is there with its MAC. */
function neighOf(side: Side, i: NeighIntent): IpNeigh | undefined {
  const n = side.neigh.find((x) => x.dst === i.dst && x.dev === i.dev);
  if (n === undefined || n.lladdr !== i.lladdr) return undefined;
  return (n.state ?? []).includes("PERMANENT") ? n : undefined;
}

/** The pair's checks (see {@linkcode ExpectedPair}) and its neighbours against the ends' MACs. */
function pairDifferences(want: Expected, pod: Side, node: Side): string[] {
  const { podVeth, hostVeth, macs, mtu } = want.pair;
  const p = pod.links.find((l) => l.ifname === podVeth);
  const h = node.links.find((l) => l.ifname === hostVeth);
  const out: string[] = [];
  if (p === undefined) out.push(`pod interface "${podVeth}"`);
  else {
    if (macs !== undefined && p.address !== macs.pod) {
      out.push(`"${podVeth}" MAC "${p.address}" is not "${macs.pod}"`);
    }
    if (mtu !== undefined && p.mtu !== mtu) out.push(`"${podVeth}" MTU ${p.mtu} is not ${mtu}`);
  }
  if (h === undefined) out.push(`node interface "${hostVeth}"`);
  else {
    if (p !== undefined && p.link_index !== h.ifindex) {
      out.push(`"${hostVeth}" is not the peer of "${podVeth}"`);
    }
    if (!h.flags.includes("UP")) out.push(`node interface "${hostVeth}" is down`);
    if (macs !== undefined && h.address !== macs.host) {
      out.push(`"${hostVeth}" MAC "${h.address}" is not "${macs.host}"`);
    }
  }
  // A neighbour ADD set on one end names the other end's MAC as it is now.
  const ends = [[pod, podVeth, h, hostVeth], [node, hostVeth, p, podVeth]] as const;
  for (const [side, dev, other, otherName] of ends) {
    const intents = side.place === "pod" ? want.pod : want.node;
    for (const i of intents) {
      if (i.kind !== "neigh" || i.dev !== dev || other?.address === undefined) continue;
      const n = neighOf(side, i);
      if (n !== undefined && n.lladdr !== other.address) {
        out.push(
          `${side.place} neighbour "${i.dst}" lladdr "${n.lladdr}" is not the MAC of ` +
            `"${otherName}" ("${other.address}")`,
        );
      }
    }
  }
  return out;
}

function sysctlDifferences(
  place: "pod" | "node",
  wanted: readonly SysctlIntent[],
  got: ReadonlyMap<string, string | undefined>,
): string[] {
  const out: string[] = [];
  for (const w of wanted) {
    const val = got.get(w.key);
    if (val === undefined && w.optional) continue;
    if (val !== String(w.value)) {
      out.push(`${place} sysctl "${w.key}" is ${val ?? "missing"}, not ${w.value}`);
    }
  }
  return out;
}

/**
 * Everything that differs from what the ADD made, once each, in a fixed
 * order: the pair, the node's intents, the pod's, the connmark rules, the
 * sysctls.
 *
 * @param want the expectations
 * @param got the facts
 * @returns the differences as text (empty: none)
 */
export function checkDifferences(want: Expected, got: CheckFacts): string[] {
  const pod: Side = {
    place: "pod",
    links: got.pod.links,
    routes: got.pod.routes,
    rules: (f) => (f === 4 ? got.pod.rules4 : got.pod.rules6 ?? []),
    neigh: got.pod.neigh ?? [],
    addrs: got.pod,
  };
  const node: Side = {
    place: "node",
    links: got.host.links,
    routes: got.host.routes,
    rules: (f) => (f === 4 ? got.host.rules4 : got.host.rules6),
    neigh: got.host.neigh,
  };
  const missing = [
    ...pairDifferences(want, pod, node),
    ...want.node.flatMap((i) => intentDifferences(i, node)),
    ...want.pod.flatMap((i) => intentDifferences(i, pod)),
    ...got.missingMangle.map((m) =>
      `pod ${m.family === 4 ? "iptables" : "ip6tables"} mangle rule "-A ${mangleRuleText(m)}"`
    ),
    ...sysctlDifferences("pod", want.sysctls, got.sysctls),
    ...sysctlDifferences("node", want.nodeSysctls, got.nodeSysctls),
  ];
  return [...new Set(missing)];
}
