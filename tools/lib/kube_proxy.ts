/**
 * One file: both back ends write the same Service model and share its chain names.
 *
 * The Service rules kube-proxy writes on a node, in its two Linux modes, for
 * the test worlds (tools/lib/kube_world.ts, tools/lib/cluster_world.ts):
 *
 * - `iptables`: `iptables-restore` input for the `nat` and `filter` tables,
 *   written the way `iptables-save` prints kube-proxy's rules:
 *   `-A KUBE-SERVICES -d <ClusterIP>/32 -p tcp -m comment --comment "ns/name:port cluster IP"
 *   -m tcp --dport <port> -j KUBE-SVC-<hash>`, `KUBE-SVC-`/`KUBE-SEP-`/`KUBE-EXT-`/`KUBE-SVL-`
 *   chains named by the same hash kube-proxy uses (base32 of SHA-256), `KUBE-MARK-MASQ` /
 *   `KUBE-POSTROUTING` with mark 0x4000, NodePorts behind `-m addrtype --dst-type LOCAL`, and
 *   `KUBE-FORWARD` with `-m conntrack --ctstate INVALID -j DROP` unless
 *   {@linkcode ProxyConfig.dropInvalid} is false (kube-proxy 1.29+ leaves it out when
 *   `net.netfilter.nf_conntrack_tcp_be_liberal` is 1; older ones always write it).
 * - `nftables` (GA in Kubernetes 1.33): `nft -f` input, the transaction kube-proxy's
 *   nftables proxier sends: table `ip kube-proxy` / `ip6 kube-proxy`, base chains
 *   `filter-*`/`nat-*` at priority dstnat-10 / dstnat / srcnat, the `services` chain with
 *   `ip daddr . meta l4proto . th dport vmap @service-ips` and
 *   `ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`
 *   (`nodePortAddresses: primary`, the mode's default), `cluster-ips`, `mark-for-masquerade` /
 *   `masquerading` (`masquerade fully-random`), `service-<hash>-ns/name/tcp/port`,
 *   `external-…`, `local-…` and `endpoint-…__ip/port` chains, `numgen random mod N vmap`.
 *   There is no INVALID drop in this mode (kubernetes/kubernetes#122663).
 *
 * Besides ClusterIPs and NodePorts: ExternalIPs and LoadBalancer IPs (`KUBE-SERVICES -d <ip>`
 * rules with kube-proxy's `external IP` / `loadbalancer IP` comments into `KUBE-EXT-`; nftables:
 * `service-ips` entries into the `external-` chain), and Services without endpoints (iptables: a
 * REJECT in the filter table's `KUBE-SERVICES` / `KUBE-EXTERNAL-SERVICES`, nothing in nat;
 * nftables: `no-endpoint-services` / `no-endpoint-nodeports` entries into `reject-chain`, the
 * ClusterIP still in `cluster-ips`). {@linkcode ProxyConfig.nftablesLayout} `"1.29"` writes the
 * alpha nftables mode of kube-proxy 1.29: no `cluster-ips` set and no `cluster-ips-check` chain
 * (kubernetes/kubernetes#122692 added them in 1.30). IPVS mode is modelled only as far as the
 * node shows its Service addresses: every one of them on the `kube-ipvs0` link
 * ({@linkcode applyIpvsAddresses}; no IPVS services, no ipsets or iptables rules of that mode).
 *
 * Modelled after reading kube-proxy's `pkg/proxy/iptables` and `pkg/proxy/nftables` proxiers
 * (written here, not copied): TCP only, no session affinity, LoadBalancer source ranges,
 * health check NodePorts or `nfacct` counters; ExternalIPs and LoadBalancer IPs only with
 * `externalTrafficPolicy: Cluster` or a local endpoint; the local-traffic detector is the
 * cluster CIDR (`--cluster-cidr`). Chain names are kube-proxy's:
 * `KUBE-SVC-XPGD46QRK7WJZT7O` for `ns1/svc1:p80` over TCP, `service-ULMVA6XW-ns1/svc1/tcp/p80`
 * (tests/unit/tools/kube_proxy_test.ts).
 *
 * @example
 * ```ts ignore
 * const cfg: ProxyConfig = { family: 4, node: "a", nodeIps: ["10.6.212.101"],
 *   clusterCidr: "10.233.64.0/18", serviceCidr: "10.233.0.0/18", services: [] };
 * await applyKubeProxy(node, "nftables", [cfg]);
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { TestNetns } from "./netns.ts";

/** kube-proxy's two Linux modes modelled here. */
export type KubeProxyMode = "iptables" | "nftables";

/** Every mode, in the order the suites run them. */
export const KUBE_PROXY_MODES: readonly KubeProxyMode[] = ["iptables", "nftables"];

/** An IP family. */
export type ProxyFamily = 4 | 6;

/** One ready endpoint of a Service port (an EndpointSlice entry). */
export interface ServiceEndpoint {
  ip: string;
  port: number;
  /** The node it runs on (`nodeName`): decides what is local for `Local` policies. */
  node: string;
}

/** One TCP port of a Service of one family. */
export interface ServicePort {
  namespace: string;
  name: string;
  /** The port's name (`ports[].name`). */
  portName: string;
  clusterIp: string;
  port: number;
  /** Type NodePort: the node port. */
  nodePort?: number;
  /** `externalTrafficPolicy` (default Cluster). */
  externalTrafficPolicy?: "Cluster" | "Local";
  /** `spec.externalIPs` of this family. */
  externalIps?: readonly string[];
  /** `status.loadBalancer.ingress[].ip` of this family. */
  loadBalancerIps?: readonly string[];
  /** None: kube-proxy rejects the Service's traffic instead of forwarding it. */
  endpoints: readonly ServiceEndpoint[];
}

/** What kube-proxy knows on one node, for one family. */
export interface ProxyConfig {
  family: ProxyFamily;
  /** This node's name (endpoints with it are local). */
  node: string;
  /** The node's IPs of this family: nftables `nodeport-ips` (`nodePortAddresses: primary`). */
  nodeIps: readonly string[];
  /** `--cluster-cidr`: sources inside it are pods (no masquerade to a ClusterIP). */
  clusterCidr: string;
  /** The ServiceCIDR: traffic to unallocated ClusterIPs is dropped (nftables). */
  serviceCidr: string;
  services: readonly ServicePort[];
  /**
   * iptables: write `KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP` (default true, as
   * kube-proxy before 1.29 always does and 1.29+ does while `nf_conntrack_tcp_be_liberal` is 0).
   */
  dropInvalid?: boolean;
  /**
   * nftables: the layout of kube-proxy 1.29's alpha nftables mode, without the `cluster-ips`
   * set and the `cluster-ips-check` chain (default: "1.30", as 1.30 and later write it).
   */
  nftablesLayout?: "1.29" | "1.30";
}

/** The masquerade mark (`--masquerade-bit` 14). */
export const MASQUERADE_MARK = "0x4000";

function base32(bytes: Uint8Array): string {
  // RFC 4648 base32, as Go's base32.StdEncoding (the padding is never reached here).
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

function hash32(text: string): string {
  return base32(createHash("sha256").update(text).digest());
}

/** `ns/name:port`, kube-proxy's ServicePortName string. */
function portName(s: ServicePort): string {
  return `${s.namespace}/${s.name}${s.portName === "" ? "" : `:${s.portName}`}`;
}

function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * The iptables chain names of a Service port (kube-proxy's `servicePortChainName` and friends).
 *
 * @param s the Service port
 * @returns `KUBE-SVC-`, `KUBE-SVL-` and `KUBE-EXT-` + 16 characters of the hash
 */
export function iptablesChains(s: ServicePort): { svc: string; svl: string; ext: string } {
  const h = hash32(portName(s) + "tcp").slice(0, 16);
  return { svc: `KUBE-SVC-${h}`, svl: `KUBE-SVL-${h}`, ext: `KUBE-EXT-${h}` };
}

/**
 * The iptables chain of one endpoint of a Service port.
 *
 * @param s the Service port
 * @param ep the endpoint
 * @returns `KUBE-SEP-` + 16 characters of the hash
 */
export function iptablesEndpointChain(s: ServicePort, ep: ServiceEndpoint): string {
  return `KUBE-SEP-${hash32(portName(s) + "tcp" + hostPort(ep.ip, ep.port)).slice(0, 16)}`;
}

function hashAndTruncate(name: string): string {
  // knftables' NameLengthMax (256) minus kube-proxy's longest prefix (16).
  const max = 240;
  const out = `${hash32(name).slice(0, 8)}-${name}`;
  return out.length > max ? `${out.slice(0, max - 3)}...` : out;
}

/**
 * The nftables chain names of a Service port (kube-proxy's `servicePortChainNameBase`).
 *
 * @param s the Service port
 * @returns `service-`, `local-` and `external-` + `<hash8>-ns/name/tcp/port`
 */
export function nftablesChains(s: ServicePort): { svc: string; local: string; ext: string } {
  const base = hashAndTruncate(`${s.namespace}/${s.name}/tcp/${s.portName}`);
  return { svc: `service-${base}`, local: `local-${base}`, ext: `external-${base}` };
}

/**
 * The nftables chain of one endpoint (IPv6 colons become dots: nft names have no colon).
 *
 * @param s the Service port
 * @param ep the endpoint
 * @returns `endpoint-<hash8>-ns/name/tcp/port__ip/port`
 */
export function nftablesEndpointChain(s: ServicePort, ep: ServiceEndpoint): string {
  const ip = ep.ip.replaceAll(":", ".");
  return `endpoint-${
    hashAndTruncate(`${s.namespace}/${s.name}/tcp/${s.portName}__${ip}/${ep.port}`)
  }`;
}

const localEndpoints = (cfg: ProxyConfig, s: ServicePort) =>
  s.endpoints.filter((e) => e.node === cfg.node);

/** The ExternalIPs and LoadBalancer IPs of a Service port, with kube-proxy's comment for each. */
function externalAddrs(s: ServicePort): { ip: string; what: "external IP" | "loadbalancer IP" }[] {
  return [
    ...(s.externalIps ?? []).map((ip) => ({ ip, what: "external IP" as const })),
    ...(s.loadBalancerIps ?? []).map((ip) => ({ ip, what: "loadbalancer IP" as const })),
  ];
}

function check(cfg: ProxyConfig): void {
  for (const s of cfg.services) {
    const external = externalAddrs(s).map((e) => e.ip);
    const local = (s.externalTrafficPolicy ?? "Cluster") === "Local";
    if (local && external.length > 0 && localEndpoints(cfg, s).length === 0) {
      throw new Error(
        `Service "${
          portName(s)
        }": external IPs with externalTrafficPolicy Local and no local endpoint are not modelled (kube_proxy.ts)`,
      );
    }
    for (const ip of [s.clusterIp, ...external, ...s.endpoints.map((e) => e.ip)]) {
      if (ip.includes(":") !== (cfg.family === 6)) {
        throw new Error(`Service "${portName(s)}": "${ip}" is not of family IPv${cfg.family}`);
      }
    }
  }
}

/**
 * The `iptables-restore` input (tables `nat` and `filter`, replaced whole) for one family.
 *
 * @param cfg the node's Services
 * @returns the text
 */
export function iptablesRules(cfg: ProxyConfig): string {
  check(cfg);
  const host = cfg.family === 6 ? 128 : 32;
  const chains = new Set<string>();
  const rules: string[] = [];
  const nodePorts: string[] = [];
  const filterServices: string[] = [];
  const filterExternal: string[] = [];
  const mark = `${MASQUERADE_MARK}/${MASQUERADE_MARK}`;
  const reject = `REJECT --reject-with ${
    cfg.family === 6 ? "icmp6-port-unreachable" : "icmp-port-unreachable"
  }`;
  for (const s of cfg.services) {
    const name = portName(s);
    const c = iptablesChains(s);
    const dst = `-d ${s.clusterIp}/${host} -p tcp`;
    const match = `-m comment --comment "${name} cluster IP" -m tcp --dport ${s.port}`;
    const external = externalAddrs(s);
    if (s.endpoints.length === 0) {
      // Nothing in nat: the filter table rejects the Service's traffic.
      const none = `-m comment --comment "${name} has no endpoints"`;
      filterServices.push(`-A KUBE-SERVICES ${dst} ${none} -m tcp --dport ${s.port} -j ${reject}`);
      for (const e of external) {
        filterExternal.push(
          `-A KUBE-EXTERNAL-SERVICES -d ${e.ip}/${host} -p tcp ${none} -m tcp --dport ${s.port} -j ${reject}`,
        );
      }
      if (s.nodePort !== undefined) {
        filterExternal.push(
          `-A KUBE-EXTERNAL-SERVICES -p tcp ${none} -m addrtype --dst-type LOCAL -m tcp --dport ${s.nodePort} -j ${reject}`,
        );
      }
      continue;
    }
    chains.add(c.svc);
    rules.push(`-A KUBE-SERVICES ${dst} ${match} -j ${c.svc}`);
    // Off-cluster sources to a ClusterIP are masqueraded (the local-traffic detector).
    rules.push(`-A ${c.svc} ! -s ${cfg.clusterCidr} ${dst} ${match} -j KUBE-MARK-MASQ`);
    const toEndpoints = (chain: string, eps: readonly ServiceEndpoint[]) =>
      eps.forEach((ep, i) => {
        const left = eps.length - i;
        const statistic = left > 1
          ? ` -m statistic --mode random --probability ${(1 / left).toFixed(10)}`
          : "";
        rules.push(
          `-A ${chain} -m comment --comment "${name} -> ${
            hostPort(ep.ip, ep.port)
          }"${statistic} -j ${iptablesEndpointChain(s, ep)}`,
        );
      });
    toEndpoints(c.svc, s.endpoints);
    for (const ep of s.endpoints) {
      const sep = iptablesEndpointChain(s, ep);
      chains.add(sep);
      rules.push(
        `-A ${sep} -s ${ep.ip}/${host} -m comment --comment ${name} -j KUBE-MARK-MASQ`,
        `-A ${sep} -p tcp -m comment --comment ${name} -m tcp -j DNAT --to-destination ${
          hostPort(ep.ip, ep.port)
        }`,
      );
    }
    for (const e of external) {
      rules.push(
        `-A KUBE-SERVICES -d ${e.ip}/${host} -p tcp -m comment --comment "${name} ${e.what}" -m tcp --dport ${s.port} -j ${c.ext}`,
      );
    }
    if (s.nodePort === undefined && external.length === 0) continue;
    chains.add(c.ext);
    if (s.nodePort !== undefined) {
      nodePorts.push(
        `-A KUBE-NODEPORTS -p tcp -m comment --comment ${name} -m tcp --dport ${s.nodePort} -j ${c.ext}`,
      );
    }
    if ((s.externalTrafficPolicy ?? "Cluster") === "Cluster") {
      rules.push(
        `-A ${c.ext} -m comment --comment "masquerade traffic for ${name} external destinations" -j KUBE-MARK-MASQ`,
        `-A ${c.ext} -j ${c.svc}`,
      );
      continue;
    }
    // Local: the client's address is kept; pods and the node itself take the cluster path.
    rules.push(
      `-A ${c.ext} -s ${cfg.clusterCidr} -m comment --comment "pod traffic for ${name} external destinations" -j ${c.svc}`,
      `-A ${c.ext} -m comment --comment "masquerade LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
      `-A ${c.ext} -m comment --comment "route LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j ${c.svc}`,
    );
    const local = localEndpoints(cfg, s);
    if (local.length === 0) {
      // check(): no external IPs here, a NodePort only.
      filterExternal.push(
        `-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "${name} has no local endpoints" -m addrtype --dst-type LOCAL -m tcp --dport ${s.nodePort} -j DROP`,
      );
      continue;
    }
    chains.add(c.svl);
    rules.push(`-A ${c.ext} -j ${c.svl}`);
    toEndpoints(c.svl, local);
  }
  const invalid = (cfg.dropInvalid ?? true)
    ? ["-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP"]
    : [];
  return [
    "*nat",
    ...[
      "KUBE-SERVICES",
      "KUBE-NODEPORTS",
      "KUBE-POSTROUTING",
      "KUBE-MARK-MASQ",
      ...[...chains].sort(),
    ].map((c) => `:${c} - [0:0]`),
    `-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
    `-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
    `-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING`,
    `-A KUBE-MARK-MASQ -j MARK --set-xmark ${mark}`,
    `-A KUBE-POSTROUTING -m mark ! --mark ${mark} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --set-xmark ${MASQUERADE_MARK}/0x0`,
    `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`,
    ...rules,
    ...nodePorts,
    `-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`,
    "COMMIT",
    "*filter",
    ...["KUBE-FORWARD", "KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-PROXY-FIREWALL"].map((
      c,
    ) => `:${c} - [0:0]`),
    `-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`,
    `-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`,
    `-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`,
    `-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD`,
    `-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
    `-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`,
    `-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`,
    `-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
    ...filterServices,
    ...filterExternal,
    ...invalid,
    `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark} -j ACCEPT`,
    `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    "COMMIT",
    "",
  ].join("\n");
}

/**
 * The `nft -f` input for one family: the table is deleted (if there) and written anew, in the
 * order a transaction needs (chains and maps before the rules and elements that name them).
 *
 * @param cfg the node's Services
 * @returns the text
 */
export function nftablesRules(cfg: ProxyConfig): string {
  check(cfg);
  const fam = cfg.family === 6 ? "ip6" : "ip";
  const addrType = cfg.family === 6 ? "ipv6_addr" : "ipv4_addr";
  const t = `${fam} kube-proxy`;
  // kube-proxy 1.29 (alpha) had no cluster-ips set and no cluster-ips-check chain.
  const clusterIps = (cfg.nftablesLayout ?? "1.30") !== "1.29";
  const chains: string[] = [];
  const sets: string[] = [];
  const rules: string[] = [];
  const elements: string[] = [];
  const chain = (name: string, spec = "") => chains.push(`add chain ${t} ${name}${spec}`);
  const rule = (c: string, r: string) => rules.push(`add rule ${t} ${c} ${r}`);
  const base = (name: string, type: string, hook: string, priority: string) =>
    chain(name, ` { type ${type} hook ${hook} priority ${priority} ; }`);
  // kube-proxy names them "dstnat-10", "dstnat", "dstnat+10", "srcnat"; nft before 1.0.7
  // takes those names on some hooks only, so the numbers (dstnat -100, srcnat 100).
  base("filter-prerouting", "filter", "prerouting", "-110");
  base("filter-input", "filter", "input", "-110");
  base("filter-forward", "filter", "forward", "-110");
  base("filter-output", "filter", "output", "-110");
  base("filter-output-post-dnat", "filter", "output", "-90");
  base("nat-prerouting", "nat", "prerouting", "-100");
  base("nat-output", "nat", "output", "-100");
  base("nat-postrouting", "nat", "postrouting", "100");
  for (
    const c of [
      "nodeport-endpoints-check",
      "service-endpoints-check",
      "firewall-check",
      "services",
      "masquerading",
      ...(clusterIps ? ["cluster-ips-check"] : []),
      "mark-for-masquerade",
    ]
  ) chain(c);
  chain(
    "reject-chain",
    ` { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`,
  );
  rule("filter-input", "ct state new jump nodeport-endpoints-check");
  rule("filter-input", "ct state new jump service-endpoints-check");
  rule("filter-forward", "ct state new jump service-endpoints-check");
  rule("filter-output", "ct state new jump service-endpoints-check");
  rule("filter-prerouting", "ct state new jump firewall-check");
  rule("filter-output", "ct state new jump firewall-check");
  rule("nat-output", "jump services");
  rule("nat-prerouting", "jump services");
  rule("nat-postrouting", "jump masquerading");
  if (clusterIps) {
    rule("filter-forward", "ct state new jump cluster-ips-check");
    rule("filter-output-post-dnat", "ct state new jump cluster-ips-check");
  }
  rule("mark-for-masquerade", `mark set mark or ${MASQUERADE_MARK}`);
  rule("masquerading", `mark and ${MASQUERADE_MARK} == 0 return`);
  rule("masquerading", `mark set mark xor ${MASQUERADE_MARK}`);
  rule("masquerading", "masquerade fully-random");
  const set = (kind: "set" | "map", name: string, type: string, comment: string) =>
    sets.push(`add ${kind} ${t} ${name} { type ${type} ; comment "${comment}" ; }`);
  if (clusterIps) {
    set("set", "cluster-ips", addrType, "Active ClusterIPs");
    rule(
      "cluster-ips-check",
      `${fam} daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
    );
    rule(
      "cluster-ips-check",
      `${fam} daddr { ${cfg.serviceCidr} } drop comment "Drop traffic to unallocated ClusterIPs"`,
    );
  }
  set("set", "nodeport-ips", addrType, "IPs that accept NodePort traffic");
  for (const ip of cfg.nodeIps) elements.push(`add element ${t} nodeport-ips { ${ip} }`);
  const triple = `${addrType} . inet_proto . inet_service : verdict`;
  set(
    "map",
    "no-endpoint-services",
    triple,
    "vmap to drop or reject packets to services with no endpoints",
  );
  set(
    "map",
    "no-endpoint-nodeports",
    "inet_proto . inet_service : verdict",
    "vmap to drop or reject packets to service nodeports with no endpoints",
  );
  rule("reject-chain", "reject");
  rule(
    "service-endpoints-check",
    `${fam} daddr . meta l4proto . th dport vmap @no-endpoint-services`,
  );
  rule(
    "nodeport-endpoints-check",
    `${fam} daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports`,
  );
  set(
    "map",
    "firewall-ips",
    triple,
    "destinations that are subject to LoadBalancerSourceRanges",
  );
  rule("firewall-check", `${fam} daddr . meta l4proto . th dport vmap @firewall-ips`);
  set("map", "service-ips", triple, "ClusterIP, ExternalIP and LoadBalancer IP traffic");
  set("map", "service-nodeports", "inet_proto . inet_service : verdict", "NodePort traffic");
  rule("services", `${fam} daddr . meta l4proto . th dport vmap @service-ips`);
  rule("services", `${fam} daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`);

  for (const s of cfg.services) {
    const c = nftablesChains(s);
    const external = externalAddrs(s).map((e) => e.ip);
    if (clusterIps) elements.push(`add element ${t} cluster-ips { ${s.clusterIp} }`);
    if (s.endpoints.length === 0) {
      // No chain of its own: the filter hooks reject its traffic.
      const none = `comment "${portName(s)}" : goto reject-chain`;
      for (const ip of [s.clusterIp, ...external]) {
        elements.push(
          `add element ${t} no-endpoint-services { ${ip} . tcp . ${s.port} ${none} }`,
        );
      }
      if (s.nodePort !== undefined) {
        elements.push(`add element ${t} no-endpoint-nodeports { tcp . ${s.nodePort} ${none} }`);
      }
      continue;
    }
    const toEndpoints = (from: string, eps: readonly ServiceEndpoint[]) =>
      rule(
        from,
        `numgen random mod ${eps.length} vmap { ${
          eps.map((ep, i) => `${i} : goto ${nftablesEndpointChain(s, ep)}`).join(" , ")
        } }`,
      );
    chain(c.svc);
    rule(
      c.svc,
      `${fam} daddr ${s.clusterIp} tcp dport ${s.port} ${fam} saddr != ${cfg.clusterCidr} jump mark-for-masquerade`,
    );
    toEndpoints(c.svc, s.endpoints);
    for (const ep of s.endpoints) {
      const e = nftablesEndpointChain(s, ep);
      chain(e);
      rule(e, `${fam} saddr ${ep.ip} jump mark-for-masquerade`);
      rule(e, `meta l4proto tcp dnat to ${hostPort(ep.ip, ep.port)}`);
    }
    elements.push(
      `add element ${t} service-ips { ${s.clusterIp} . tcp . ${s.port} : goto ${c.svc} }`,
    );
    if (s.nodePort === undefined && external.length === 0) continue;
    chain(c.ext);
    for (const ip of external) {
      elements.push(`add element ${t} service-ips { ${ip} . tcp . ${s.port} : goto ${c.ext} }`);
    }
    if (s.nodePort !== undefined) {
      elements.push(`add element ${t} service-nodeports { tcp . ${s.nodePort} : goto ${c.ext} }`);
    }
    if ((s.externalTrafficPolicy ?? "Cluster") === "Cluster") {
      rule(c.ext, "jump mark-for-masquerade");
      rule(c.ext, `goto ${c.svc}`);
      continue;
    }
    rule(
      c.ext,
      `${fam} saddr ${cfg.clusterCidr} goto ${c.svc} comment "short-circuit pod traffic"`,
    );
    rule(c.ext, `fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"`);
    rule(c.ext, `fib saddr type local goto ${c.svc} comment "short-circuit local traffic"`);
    const local = localEndpoints(cfg, s);
    if (local.length === 0) {
      // check(): no external IPs here, a NodePort only.
      elements.push(
        `add element ${t} no-endpoint-nodeports { tcp . ${s.nodePort} comment "${
          portName(s)
        }" : drop }`,
      );
      continue;
    }
    chain(c.local);
    rule(c.ext, `goto ${c.local}`);
    toEndpoints(c.local, local);
  }
  return [
    // Delete what an earlier call wrote (the add makes the delete safe on a fresh node).
    `add table ${t}`,
    `delete table ${t}`,
    `add table ${t} { comment "rules for kube-proxy" ; }`,
    ...chains,
    ...sets,
    ...rules,
    ...elements,
    "",
  ].join("\n");
}

/** What a mode needs and how it writes a node's rules. */
export interface KubeProxyBackend {
  /** The tools it runs (on PATH). */
  readonly tools: readonly string[];
  /** The rules text of one family. */
  rules(cfg: ProxyConfig): string;
  /** Write one family's rules into the node (replacing the mode's earlier ones). */
  apply(node: TestNetns, cfg: ProxyConfig): Promise<void>;
}

/** The two back ends, by mode. */
export const KUBE_PROXY: Readonly<Record<KubeProxyMode, KubeProxyBackend>> = {
  iptables: {
    tools: ["iptables-restore", "ip6tables-restore", "iptables-save", "ip6tables-save"],
    rules: iptablesRules,
    apply: async (node, cfg) => {
      await node.exec([cfg.family === 6 ? "ip6tables-restore" : "iptables-restore"], {
        stdin: iptablesRules(cfg),
      });
    },
  },
  nftables: {
    tools: ["nft"],
    rules: nftablesRules,
    apply: async (node, cfg) => {
      await node.exec(["nft", "-f", "-"], { stdin: nftablesRules(cfg) });
    },
  },
};

/**
 * Write kube-proxy's rules into a node, one family after the other.
 *
 * @param node the node netns
 * @param mode the mode
 * @param cfgs one config per family
 */
export async function applyKubeProxy(
  node: TestNetns,
  mode: KubeProxyMode,
  cfgs: readonly ProxyConfig[],
): Promise<void> {
  for (const cfg of cfgs) await KUBE_PROXY[mode].apply(node, cfg);
}

/** The link kube-proxy's IPVS mode binds every Service address to. */
export const IPVS_LINK = "kube-ipvs0";

/**
 * The addresses kube-proxy's IPVS mode binds to {@linkcode IPVS_LINK} for one family: every
 * ClusterIP (with or without endpoints), ExternalIP and LoadBalancer IP, each once.
 *
 * @param cfg the node's Services of one family
 * @returns the addresses, in the Services' order
 */
export function ipvsAddresses(cfg: ProxyConfig): string[] {
  check(cfg);
  return [
    ...new Set(cfg.services.flatMap((s) => [s.clusterIp, ...externalAddrs(s).map((e) => e.ip)])),
  ];
}

/**
 * What kube-proxy's IPVS mode shows of its Services on a node: their addresses on
 * {@linkcode IPVS_LINK} (replacing what an earlier call bound), in one `ip -batch`. On a real
 * node the link is a dummy link, kept down; this kernel has no dummy links, so a bridge without
 * ports stands in (down too). The IPVS virtual servers, ipsets and iptables rules of that mode
 * are not made.
 *
 * @param node the node netns
 * @param cfgs one config per family
 */
export async function applyIpvsAddresses(
  node: TestNetns,
  cfgs: readonly ProxyConfig[],
): Promise<void> {
  const addrs = cfgs.flatMap((cfg) =>
    ipvsAddresses(cfg).map((ip) =>
      cfg.family === 6
        ? `addr add ${ip}/128 dev ${IPVS_LINK} nodad`
        : `addr add ${ip}/32 dev ${IPVS_LINK}`
    )
  );
  await node.exec(["ip", "link", "del", IPVS_LINK], { allowFail: true });
  await node.exec(["ip", "-batch", "-"], {
    stdin: [`link add ${IPVS_LINK} type bridge`, ...addrs, ""].join("\n"),
  });
}
