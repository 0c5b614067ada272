/**
 * CHECK's comparison: what an ADD recorded (its state file and the
 * configuration) against what the pod and the node hold now, as the list of
 * differences CHECK reports. Pure: the reads happen in `commands/check.ts`.
 *
 * @example
 * ```ts ignore
 * import { checkDifferences } from "./check.ts";
 * const missing = checkDifferences(want, { pod, host, mangle, sysctls });
 * ```
 *
 * @module
 */

import type { HostFacts, PodFacts } from "../kernel/facts.ts";
import type { IpRoute } from "../kernel/iproute.ts";
import { missingRules } from "../kernel/iptables.ts";
import type { BatchLine } from "../kernel/iproute.ts";
import type { AttachmentState, RecordedRoute } from "../kernel/state.ts";
import { canonicalIp, familyOf } from "../ip.ts";
import { POD_VETH, REPLY_TABLE, RULE_PRIORITY } from "./mode.ts";
import { FWMARK_RULE_TEXT, isFwmarkRule, mangleRules } from "./underlay.ts";

/** What CHECK expects: the ADD's record and the configuration it ran with. */
export interface CheckWant {
  state: AttachmentState;
  /** CNI_IFNAME. */
  ifname: string;
  /** The configured txQueueLen (0: not managed). */
  txQueueLen: number;
  /** The configured podRPFilter (negative: not managed). */
  podRPFilter: number;
}

/** What CHECK read. */
export interface CheckFacts {
  /** The pod, with its IPv6 rules and neighbours. */
  pod: PodFacts;
  host: HostFacts;
  /** The pod's mangle rules, per family of {@linkcode mangleFamilies}. */
  mangle: ReadonlyMap<4 | 6, readonly string[]>;
  /** The pod sysctls of {@linkcode sysctlKeys} (undefined: missing). */
  sysctls: ReadonlyMap<string, string | undefined>;
  /** The pod's IPv6 routes, all tables (undefined: not read). */
  routes6?: readonly IpRoute[];
}

/**
 * The pod sysctls CHECK reads: those ADD recorded (state version 2), else
 * the rp_filter keys of {@linkcode rpFilterKeys}.
 *
 * @param state the ADD's record
 * @param ifname CNI_IFNAME
 * @param podRPFilter the configured podRPFilter (version 1 records)
 * @returns the dotted keys
 */
export function sysctlKeys(state: AttachmentState, ifname: string, podRPFilter: number): string[] {
  if (state.pod !== undefined) return state.pod.sysctls.map((s) => s.key);
  return podRPFilter >= 0 ? rpFilterKeys(ifname) : [];
}

/**
 * The families whose pod mangle rules CHECK compares: those of an underlay
 * first NIC (IPv4 with an IPv4 pod address, IPv6 with any IPv6 address).
 *
 * @param state the ADD's record
 * @returns the families, IPv4 first
 */
export function mangleFamilies(state: AttachmentState): (4 | 6)[] {
  if (state.mode !== "underlay" || !state.firstInvoke) return [];
  const v6 = state.podIPs.some((ip) => familyOf(ip) === 6) ||
    state.nodeIPs.some((ip) => familyOf(ip) === 6);
  const out: (4 | 6)[] = [];
  if (state.podIPs.some((ip) => familyOf(ip) === 4)) out.push(4);
  if (v6) out.push(6);
  return out;
}

/**
 * The pod sysctls CHECK compares with podRPFilter.
 *
 * @param ifname CNI_IFNAME
 * @returns the dotted keys
 */
export function rpFilterKeys(ifname: string): string[] {
  return ["all", "default", ifname].map((n) => `net.ipv4.conf.${n}.rp_filter`);
}

/**
 * The routes a pod batch adds (or, with `verbs` ["del"], removes), in the
 * spelling `ip -j route show` prints them ("default", host routes without /32
 * or /128), for the state's pod record.
 *
 * @param lines the pod's `ip -batch` lines
 * @param batchFamily the family the batch runs in (6: `ip -6 -batch`), for "default"
 * @param verbs the `ip route` verbs to take
 * @returns the routes, in batch order
 */
export function recordedRoutes(
  lines: readonly BatchLine[],
  batchFamily: 4 | 6 = 4,
  verbs: readonly string[] = ["add", "replace"],
): RecordedRoute[] {
  const out: RecordedRoute[] = [];
  for (const { args } of lines) {
    if (args[0] !== "route" || !verbs.includes(args[1] ?? "")) continue;
    const at = (word: string) => {
      const i = args.indexOf(word, 3);
      return i < 0 ? undefined : args[i + 1];
    };
    const dev = at("dev");
    if (dev === undefined) continue;
    const via = at("via");
    const dst = args[2]!;
    const family = dst === "0.0.0.0/0"
      ? 4
      : dst === "default"
      ? (via === undefined ? batchFamily : familyOf(via))
      : familyOf(dst.split("/")[0]!);
    out.push({
      dst: routeDst(dst),
      ...(via === undefined ? {} : { via: canonicalIp(via) }),
      dev,
      table: at("table") ?? "main",
      family,
    });
  }
  return out;
}

/** A destination as `ip -j route` prints it. */
function routeDst(dst: string): string {
  if (dst === "0.0.0.0/0" || dst === "::/0" || dst === "default") return "default";
  const [ip, len] = dst.split("/");
  if (len === undefined) return canonicalIp(ip!);
  if ((len === "32" && familyOf(ip!) === 4) || (len === "128" && familyOf(ip!) === 6)) {
    return canonicalIp(ip!);
  }
  return `${canonicalIp(ip!)}/${len}`;
}

/** The route's text in CHECK's messages. */
export function routeText(r: RecordedRoute): string {
  const via = r.via === undefined ? "" : ` via ${r.via}`;
  const table = r.table === "main" ? "" : ` table ${r.table}`;
  return `${r.dst}${via} dev ${r.dev}${table}`;
}

function routeMatches(have: IpRoute, want: RecordedRoute): boolean {
  if (have.dev !== want.dev || (have.table ?? "main") !== want.table) return false;
  if (routeDst(have.dst) !== want.dst) return false;
  return want.via === undefined ||
    (have.gateway !== undefined && canonicalIp(have.gateway) === want.via);
}

function hasRoute(routes: readonly IpRoute[], dst: string, dev: string, table: string): boolean {
  return routes.some((r) => r.dst === dst && r.dev === dev && (r.table ?? "main") === table);
}

/**
 * Everything that differs from what the ADD made, in a fixed order: the NIC,
 * the veth pair, the node's routes, neighbours and rules, the pod's routes,
 * neighbours and rules, the underlay reply path, the sysctls.
 *
 * @param want the record and the configuration
 * @param got the facts
 * @returns the differences as text (empty: none)
 */
export function checkDifferences(want: CheckWant, got: CheckFacts): string[] {
  const { state, ifname } = want;
  const { pod, host } = got;
  const missing: string[] = [];
  const nic = pod.links.find((l) => l.ifname === ifname);
  if (nic === undefined) missing.push(`interface "${ifname}"`);
  else {
    if (!nic.flags.includes("UP")) missing.push(`"${ifname}" is down`);
    if (state.mac !== undefined && nic.address !== state.mac) {
      missing.push(`"${ifname}" MAC "${nic.address}" is not "${state.mac}"`);
    }
    const txq = state.pod?.txQueueLen ?? want.txQueueLen;
    if (txq > 0 && (nic.txqlen ?? 0) !== txq) {
      missing.push(`"${ifname}" txqueuelen ${nic.txqlen ?? 0} is not ${txq}`);
    }
  }
  const podVeth = pod.links.find((l) => l.ifname === state.podVeth);
  const hostVeth = host.links.find((l) => l.ifname === state.hostVeth);
  if (podVeth === undefined) missing.push(`pod interface "${state.podVeth}"`);
  else if (state.mode === "underlay" && podVeth.address !== state.podVethMac) {
    missing.push(`"${state.podVeth}" MAC "${podVeth.address}" is not "${state.podVethMac}"`);
  }
  if (hostVeth === undefined) missing.push(`node interface "${state.hostVeth}"`);
  else {
    if (podVeth !== undefined && podVeth.link_index !== hostVeth.ifindex) {
      missing.push(`"${state.hostVeth}" is not the peer of "${state.podVeth}"`);
    }
    if (!hostVeth.flags.includes("UP")) missing.push(`node interface "${state.hostVeth}" is down`);
    if (state.mode === "underlay" && hostVeth.address !== state.hostVethMac) {
      missing.push(`"${state.hostVeth}" MAC "${hostVeth.address}" is not "${state.hostVethMac}"`);
    }
  }
  const record = state.pod;
  if (podVeth !== undefined) {
    if (state.firstInvoke && state.mode === "underlay" && !podVeth.flags.includes("UP")) {
      missing.push(`"${state.podVeth}" is down`);
    }
    if (record?.vethMTU !== undefined && podVeth.mtu !== record.vethMTU) {
      missing.push(`"${state.podVeth}" MTU ${podVeth.mtu} is not ${record.vethMTU}`);
    }
  }
  if (nic !== undefined && record !== undefined && record.macPrefix !== "") {
    if (!(nic.address ?? "").toLowerCase().startsWith(record.macPrefix)) {
      missing.push(`"${ifname}" MAC "${nic.address}" lacks the prefix "${record.macPrefix}"`);
    }
  }
  const table = String(state.hostRuleTable);
  for (const ip of state.podIPs) {
    if (!hasRoute(host.routes, ip, state.hostVeth, table)) {
      missing.push(`node route "${ip}" dev "${state.hostVeth}" table ${table}`);
    }
    const n = host.neigh.find((x) => x.dst === ip && x.dev === state.hostVeth);
    if (
      n === undefined || n.lladdr !== state.podVethMac || !(n.state ?? []).includes("PERMANENT")
    ) {
      missing.push(`node neighbour "${ip}" lladdr "${state.podVethMac}" dev "${state.hostVeth}"`);
    } else if (
      state.mode === "underlay" && podVeth?.address !== undefined && n.lladdr !== podVeth.address
    ) {
      missing.push(
        `node neighbour "${ip}" lladdr "${n.lladdr}" is not the MAC of "${state.podVeth}" ` +
          `("${podVeth.address}")`,
      );
    }
  }
  for (const f of [4, 6] as const) {
    if (!state.podIPs.some((ip) => familyOf(ip) === f)) continue;
    const rules = f === 4 ? host.rules4 : host.rules6;
    if (!rules.some((r) => r.priority === RULE_PRIORITY && r.src === "all" && r.table === table)) {
      missing.push(`node IPv${f} rule "${RULE_PRIORITY}: from all lookup ${table}"`);
    }
  }
  const podTable = String(state.table);
  for (const h of state.nodeIPs) {
    if (!hasRoute(pod.routes, h, state.podVeth, podTable)) {
      missing.push(`pod route "${h}" dev "${state.podVeth}" table ${podTable}`);
    }
    if (state.firstInvoke) {
      if (!hasRoute(pod.routes, h, state.podVeth, "main")) {
        missing.push(`pod route "${h}" dev "${state.podVeth}"`);
      }
      const n = (pod.neigh ?? []).find((x) => x.dst === h && x.dev === state.podVeth);
      if (
        n === undefined || n.lladdr !== state.hostVethMac ||
        !(n.state ?? ["PERMANENT"]).includes("PERMANENT")
      ) {
        missing.push(`pod neighbour "${h}" lladdr "${state.hostVethMac}" dev "${state.podVeth}"`);
      } else if (hostVeth?.address !== undefined && n.lladdr !== hostVeth.address) {
        missing.push(
          `pod neighbour "${h}" lladdr "${n.lladdr}" is not the MAC of "${state.hostVeth}" ` +
            `("${hostVeth.address}")`,
        );
      }
    }
  }
  for (const r of record?.routes ?? []) {
    const routes = r.family === 4 ? pod.routes : got.routes6;
    if (routes === undefined) continue; // that family was not read
    if (!routes.some((x) => routeMatches(x, r))) missing.push(`pod route "${routeText(r)}"`);
  }
  for (const r of record?.removed ?? []) {
    const routes = r.family === 4 ? pod.routes : got.routes6;
    if (routes === undefined) continue;
    if (routes.some((x) => routeMatches(x, r))) {
      missing.push(`pod route "${routeText(r)}" is back (ADD moved it out of the main table)`);
    }
  }
  for (const r of state.podRules) {
    const rules = r.family === 4 ? pod.rules4 : pod.rules6 ?? [];
    const ok = rules.some((x) =>
      x.priority === r.priority && canonicalIp(x.src) === canonicalIp(r.src) &&
      x.table === String(r.table)
    );
    if (!ok) missing.push(`pod rule "${r.priority}: from ${r.src} lookup ${r.table}"`);
  }
  const families = mangleFamilies(state);
  for (const f of families) {
    const rules = f === 4 ? pod.rules4 : pod.rules6 ?? [];
    if (!rules.some(isFwmarkRule)) {
      missing.push(`pod IPv${f} rule "${FWMARK_RULE_TEXT}"`);
    }
    for (const m of missingRules(mangleRules(POD_VETH), got.mangle.get(f) ?? [])) {
      missing.push(`pod ${f === 4 ? "iptables" : "ip6tables"} mangle rule "-A ${m}"`);
    }
  }
  if (
    state.mode === "underlay" && state.firstInvoke &&
    !pod.routes.some((r) => r.table === String(REPLY_TABLE) && r.dev === POD_VETH)
  ) {
    missing.push(`pod default route in table ${REPLY_TABLE}`);
  }
  if (state.pod !== undefined) {
    for (const w of state.pod.sysctls) {
      const val = got.sysctls.get(w.key);
      if (val === undefined && w.optional) continue;
      if (val !== String(w.value)) {
        missing.push(`pod sysctl "${w.key}" is ${val ?? "missing"}, not ${w.value}`);
      }
    }
  } else if (want.podRPFilter >= 0) {
    for (const [k, val] of got.sysctls) {
      if (val !== undefined && val !== String(want.podRPFilter)) {
        missing.push(`pod sysctl "${k}" is ${val}, not ${want.podRPFilter}`);
      }
    }
  }
  return missing;
}
