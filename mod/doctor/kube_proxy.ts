/**
 * The Service addresses kube-proxy programs into the node, read back from the
 * text of the node's own tools (pure parsers; the reads are in `./gather.ts`):
 *
 * - **iptables mode**: `iptables-save -t nat` / `ip6tables-save -t nat`, the
 *   `KUBE-SERVICES` chain's rules with `-d <ip>/32` (`/128`). kube-proxy's
 *   comment says what the address is (`"ns/svc:port cluster IP"`,
 *   `"... external IP"`, `"... loadbalancer IP"`); without a comment the jump
 *   target tells (`KUBE-SVC-`/`KUBE-SVL-` ClusterIP, `KUBE-EXT-`/`KUBE-FW-`/
 *   `KUBE-XLB-` external). A Service without endpoints has no nat rule (its
 *   REJECT is in the filter table), so it is not seen here.
 * - **nftables mode**: `nft -j list table ip kube-proxy` / `ip6 kube-proxy`.
 *   The `cluster-ips` set (recent kube-proxy: every ClusterIP, with or without
 *   endpoints) is the list when present; else the `service-ips` map (key
 *   `addr . proto . port`), where a verdict into a `service-`/`local-` chain is
 *   a ClusterIP and one into `external-`/`firewall-` an ExternalIP or
 *   LoadBalancer IP, and the `no-endpoint-services` map, whose entries are
 *   ClusterIPs or external addresses alike (kind unknown). The
 *   `cluster-ips-check` chain's rule `ip daddr { <CIDRs> } drop` ("Drop
 *   traffic to unallocated ClusterIPs") carries the Service CIDRs kube-proxy
 *   got from the API server.
 * - **IPVS mode**: the addresses on the `kube-ipvs0` link (`ip -j addr`):
 *   ClusterIPs, ExternalIPs and LoadBalancer IPs alike (kind unknown).
 *
 * Read from kubernetes/kubernetes `pkg/proxy/iptables/proxier.go` and
 * `pkg/proxy/nftables/proxier.go` (table, set, map and chain names, element
 * shapes, rule comments).
 *
 * @example
 * ```ts
 * import { parseIptablesNat } from "./kube_proxy.ts";
 * const nat = [
 *   "*nat",
 *   ":KUBE-SERVICES - [0:0]",
 *   '-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y',
 *   "COMMIT",
 * ].join("\n");
 * const v = parseIptablesNat(nat);
 * if (v.addrs[0]?.ip !== "10.96.0.1" || v.addrs[0]?.kind !== "cluster") throw new Error("parse");
 * ```
 *
 * @module
 */

import type { IpAddrLink } from "../kernel/ip_json.ts";
import {
  addressText,
  type Prefix,
  prefixText,
  rangeToPrefixes,
  toAddress,
  toPrefix,
} from "./cidrs.ts";

/** How kube-proxy runs on the node. */
export type ProxyMode = "iptables" | "nftables" | "ipvs";

/** What a Service address is: a ClusterIP, an ExternalIP / LoadBalancer IP, or not known. */
export type AddrKind = "cluster" | "external" | "unknown";

/** One Service address found in kube-proxy's rules. */
export interface ServiceAddr {
  /** Canonical address text. */
  ip: string;
  family: 4 | 6;
  kind: AddrKind;
  /** Where it was seen. */
  mode: ProxyMode;
  /** `namespace/service:port` when the rules name it. */
  name?: string;
}

/** What one read of one mode shows. */
export interface ProxyView {
  mode: ProxyMode;
  /** The mode's structures are on the node (a KUBE-SERVICES chain, a kube-proxy table, kube-ipvs0). */
  present: boolean;
  /** Its addresses, each once. */
  addrs: ServiceAddr[];
  /** The Service CIDRs kube-proxy itself knows (nftables mode, recent kube-proxy), as text. */
  serviceCidrs: string[];
}

function dedupe(addrs: ServiceAddr[]): ServiceAddr[] {
  const rank: Record<AddrKind, number> = { cluster: 2, external: 1, unknown: 0 };
  const by = new Map<string, ServiceAddr>();
  for (const a of addrs) {
    const had = by.get(a.ip);
    if (had !== undefined && rank[a.kind] <= rank[had.kind]) continue;
    const name = a.name ?? had?.name;
    by.set(a.ip, { ...a, ...(name === undefined ? {} : { name }) });
  }
  return [...by.values()];
}

/** Split an iptables-save rule into words, a double-quoted comment being one word. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of line.matchAll(re)) {
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]!);
  }
  return out;
}

const IPT_CLUSTER_TARGET = /^KUBE-(SVC|SVL)-/;
const IPT_EXTERNAL_TARGET = /^KUBE-(EXT|FW|XLB)-/;

/**
 * The Service addresses of `iptables-save -t nat` (or `ip6tables-save -t nat`)
 * output: the `-A KUBE-SERVICES` rules with a host `-d`.
 *
 * @param text the tool's output (other tables are skipped)
 * @returns the iptables view
 */
export function parseIptablesNat(text: string): ProxyView {
  const addrs: ServiceAddr[] = [];
  let table = "";
  let present = false;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("*")) {
      table = line.slice(1);
      continue;
    }
    if (table !== "nat") continue;
    if (line.startsWith(":KUBE-SERVICES ")) present = true;
    if (!line.startsWith("-A KUBE-SERVICES ")) continue;
    present = true;
    const w = words(line);
    let dst: string | undefined;
    let comment = "";
    let target = "";
    for (let i = 0; i < w.length; i++) {
      if (w[i] === "-d" && w[i - 1] !== "!") dst = w[i + 1];
      if (w[i] === "--comment") comment = w[i + 1] ?? "";
      if (w[i] === "-j") target = w[i + 1] ?? "";
    }
    const p = dst === undefined ? undefined : toPrefix(dst);
    if (p === undefined || p.len !== (p.family === 4 ? 32 : 128)) continue;
    const m = /^(.*) (cluster IP|external IP|loadbalancer IP)$/.exec(comment);
    const kind: AddrKind = m
      ? (m[2] === "cluster IP" ? "cluster" : "external")
      : IPT_CLUSTER_TARGET.test(target)
      ? "cluster"
      : IPT_EXTERNAL_TARGET.test(target)
      ? "external"
      : "unknown";
    addrs.push({
      ip: addressText(p.family, p.base),
      family: p.family,
      kind,
      mode: "iptables",
      ...(m ? { name: m[1]! } : {}),
    });
  }
  return { mode: "iptables", present, addrs: dedupe(addrs), serviceCidrs: [] };
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? v as Json : undefined;
}

/** An element of a set or map key: a bare value, or `{elem: {val, comment}}`. */
function elemValue(v: unknown): { val: unknown; comment?: string } {
  const e = obj(obj(v)?.["elem"]);
  if (e === undefined) return { val: v };
  const comment = e["comment"];
  return { val: e["val"], ...(typeof comment === "string" ? { comment } : {}) };
}

/** The first address of a concatenation key (`addr . proto . port`) or a bare address. */
function keyAddress(v: unknown): string | undefined {
  const concat = obj(v)?.["concat"];
  const first = Array.isArray(concat) ? concat[0] : v;
  return typeof first === "string" ? first : undefined;
}

/** `service-HASH8-ns/svc/proto/port` -> `ns/svc:port`. */
function chainService(chain: string): string | undefined {
  const m = /^[a-z]+-[A-Z0-9]{8}-(.+)$/.exec(chain);
  if (!m) return undefined;
  const parts = m[1]!.split("/");
  if (parts.length !== 4) return m[1];
  const [ns, svc, , port] = parts as [string, string, string, string];
  return port === "" ? `${ns}/${svc}` : `${ns}/${svc}:${port}`;
}

function verdictTarget(v: unknown): string | undefined {
  const o = obj(v);
  const t = obj(o?.["goto"])?.["target"] ?? obj(o?.["jump"])?.["target"];
  return typeof t === "string" ? t : undefined;
}

/** The prefixes on the right of `ip daddr <right>`: a prefix, an address, a set, a range. */
function rightPrefixes(v: unknown): Prefix[] {
  if (typeof v === "string") {
    const p = v.startsWith("@") ? undefined : toPrefix(v);
    return p === undefined ? [] : [p];
  }
  const o = obj(v);
  if (o === undefined) return [];
  const prefix = obj(o["prefix"]);
  if (prefix !== undefined) {
    const p = toPrefix(`${String(prefix["addr"])}/${String(prefix["len"])}`);
    return p === undefined ? [] : [p];
  }
  const range = o["range"];
  if (Array.isArray(range)) {
    const lo = toAddress(String(range[0]));
    const hi = toAddress(String(range[1]));
    if (lo === undefined || hi === undefined || lo.family !== hi.family) return [];
    return rangeToPrefixes(lo.family, lo.n, hi.n);
  }
  const set = o["set"];
  if (Array.isArray(set)) return set.flatMap((e) => rightPrefixes(elemValue(e).val));
  return [];
}

/** The CIDRs of `cluster-ips-check`'s "drop traffic to unallocated ClusterIPs" rule. */
function serviceCidrsOf(rule: Json): Prefix[] {
  const expr = rule["expr"];
  if (!Array.isArray(expr) || !expr.some((e) => obj(e) !== undefined && "drop" in obj(e)!)) {
    return [];
  }
  const out: Prefix[] = [];
  for (const e of expr) {
    const match = obj(obj(e)?.["match"]);
    const payload = obj(obj(match?.["left"])?.["payload"]);
    if (match?.["op"] !== "==" || payload?.["field"] !== "daddr") continue;
    out.push(...rightPrefixes(match["right"]));
  }
  return out;
}

/**
 * The Service addresses of `nft -j list table ip kube-proxy` (or `ip6`).
 *
 * @param json the tool's JSON output (text or parsed)
 * @returns the nftables view (not present when the text has no kube-proxy table)
 */
export function parseNftKubeProxy(json: string | unknown): ProxyView {
  const none: ProxyView = { mode: "nftables", present: false, addrs: [], serviceCidrs: [] };
  let doc: unknown = json;
  if (typeof json === "string") {
    if (json.trim() === "") return none;
    try {
      doc = JSON.parse(json);
    } catch {
      // Not JSON (an error text): no table to read.
      return none;
    }
  }
  const items = obj(doc)?.["nftables"];
  if (!Array.isArray(items)) return none;
  const mine = (o: Json | undefined) => o !== undefined && o["table"] === "kube-proxy";
  const present = items.some((i) => obj(obj(i)?.["table"])?.["name"] === "kube-proxy");
  if (!present) return none;
  const found: ServiceAddr[] = [];
  let clusterSet: Set<string> | undefined;
  const cidrs: Prefix[] = [];
  const add = (ip: string | undefined, kind: AddrKind, name?: string) => {
    const p = ip === undefined ? undefined : toPrefix(ip);
    if (p === undefined || ip!.includes("/")) return;
    found.push({
      ip: addressText(p.family, p.base),
      family: p.family,
      kind,
      mode: "nftables",
      ...(name === undefined ? {} : { name }),
    });
  };
  for (const item of items) {
    const set = obj(obj(item)?.["set"]);
    if (mine(set) && set!["name"] === "cluster-ips") {
      clusterSet = new Set();
      for (const e of Array.isArray(set!["elem"]) ? set!["elem"] : []) {
        const ip = keyAddress(elemValue(e).val);
        const p = ip === undefined ? undefined : toPrefix(ip);
        if (p !== undefined) clusterSet.add(addressText(p.family, p.base));
      }
    }
  }
  for (const item of items) {
    const map = obj(obj(item)?.["map"]);
    if (mine(map) && (map!["name"] === "service-ips" || map!["name"] === "no-endpoint-services")) {
      const endpoints = map!["name"] === "service-ips";
      for (const pair of Array.isArray(map!["elem"]) ? map!["elem"] : []) {
        if (!Array.isArray(pair)) continue;
        const { val, comment } = elemValue(pair[0]);
        const target = verdictTarget(pair[1]) ?? "";
        const kind: AddrKind = !endpoints
          ? "unknown"
          : /^(service|local)-/.test(target)
          ? "cluster"
          : /^(external|firewall)-/.test(target)
          ? "external"
          : "unknown";
        add(keyAddress(val), kind, comment ?? chainService(target));
      }
    }
    const rule = obj(obj(item)?.["rule"]);
    if (mine(rule) && rule!["chain"] === "cluster-ips-check") cidrs.push(...serviceCidrsOf(rule!));
  }
  let addrs = dedupe(found);
  if (clusterSet !== undefined) {
    // Recent kube-proxy lists every ClusterIP in the set: what is not in it is external.
    const names = new Map(addrs.map((a) => [a.ip, a.name]));
    addrs = [
      ...[...clusterSet].map((ip): ServiceAddr => {
        const p = toPrefix(ip)!;
        const name = names.get(ip);
        return {
          ip,
          family: p.family,
          kind: "cluster",
          mode: "nftables",
          ...(name === undefined ? {} : { name }),
        };
      }),
      ...addrs.filter((a) => !clusterSet!.has(a.ip)).map((a) => ({
        ...a,
        kind: "external" as const,
      })),
    ];
  }
  return { mode: "nftables", present, addrs, serviceCidrs: cidrs.map(prefixText) };
}

/** The link kube-proxy's IPVS mode binds every Service address to. */
export const IPVS_LINK = "kube-ipvs0";

/**
 * The Service addresses of IPVS mode: those on `kube-ipvs0`.
 *
 * @param links `ip -j addr show` output (any links; only kube-ipvs0 is read)
 * @returns the IPVS view
 */
export function parseIpvsAddrs(links: readonly IpAddrLink[]): ProxyView {
  const link = links.find((l) => l.ifname === IPVS_LINK);
  const addrs: ServiceAddr[] = [];
  for (const a of link?.addr_info ?? []) {
    if (a.scope === "link") continue;
    const p = toPrefix(a.local);
    if (p === undefined) continue;
    addrs.push({
      ip: addressText(p.family, p.base),
      family: p.family,
      kind: "unknown",
      mode: "ipvs",
    });
  }
  return { mode: "ipvs", present: link !== undefined, addrs: dedupe(addrs), serviceCidrs: [] };
}
