/**
 * One file: the Services, both kube-proxy rulesets and the overlay routes describe one made-up
 * cluster, and the fixtures and the integration tests load it whole.
 *
 * A kube-proxy-like and Calico/Cilium-like node for the cluster CIDR tests:
 * rulesets in the shapes kube-proxy writes (iptables mode: `iptables-restore`
 * input; nftables mode: an `nft -f` table, recent or v1.29-style) and the
 * overlay CNI's routes, for a small cluster of Services. Loaded into a
 * throwaway netns by {@linkcode loadCluster}; the fixtures under
 * `tests/testdata/cluster/` are the real tools' output of it
 * (`tests/testdata/cluster/capture.ts`).
 *
 * The shapes follow kubernetes/kubernetes `pkg/proxy/iptables/proxier.go` and
 * `pkg/proxy/nftables/proxier.go` (chain, set and map names, element shapes,
 * comments); the names and hashes are made up here, as this is not
 * kube-proxy. TODO(#22): the two-node kube world's shared kube-proxy writer
 * (tools/lib/kube_proxy.ts) replaces this in the shared worlds.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { TestNetns } from "./netns.ts";

/** One Service port as kube-proxy sees it. */
export interface Svc {
  ns: string;
  name: string;
  /** The port's name ("" when unnamed). */
  port: string;
  proto: "tcp" | "udp";
  portNum: number;
  clusterIp: string;
  externalIps?: string[];
  lbIps?: string[];
  /** Its endpoints ("ip:port"); none: kube-proxy rejects instead. */
  endpoints: string[];
}

/** The cluster the fixtures describe. */
export const CLUSTER = {
  serviceCIDR: ["10.96.0.0/12", "fd00:10:96::/112"],
  overlayPodCIDR: ["10.244.0.0/16", "fd00:10:244::/56"],
  nodeIp4: "10.6.212.101",
  nodeIp6: "fd00:6::101",
} as const;

/** The Services of the fixtures: both families, ExternalIP and LB, one without endpoints. */
export const SERVICES: readonly Svc[] = [
  {
    ns: "default",
    name: "kubernetes",
    port: "https",
    proto: "tcp",
    portNum: 443,
    clusterIp: "10.96.0.1",
    endpoints: ["10.6.212.101:6443"],
  },
  {
    ns: "kube-system",
    name: "kube-dns",
    port: "dns",
    proto: "udp",
    portNum: 53,
    clusterIp: "10.96.0.10",
    endpoints: ["10.244.12.5:53"],
  },
  {
    ns: "kube-system",
    name: "kube-dns",
    port: "dns-tcp",
    proto: "tcp",
    portNum: 53,
    clusterIp: "10.96.0.10",
    endpoints: ["10.244.12.5:53"],
  },
  {
    ns: "ns1",
    name: "web",
    port: "http",
    proto: "tcp",
    portNum: 80,
    clusterIp: "10.104.17.33",
    externalIps: ["192.0.2.50"],
    lbIps: ["198.51.100.7"],
    endpoints: ["10.244.12.6:8080", "10.244.7.9:8080"],
  },
  {
    ns: "ns1",
    name: "idle",
    port: "http",
    proto: "tcp",
    portNum: 8080,
    clusterIp: "10.111.250.4",
    endpoints: [],
  },
  {
    ns: "default",
    name: "kubernetes",
    port: "https",
    proto: "tcp",
    portNum: 443,
    clusterIp: "fd00:10:96::1",
    endpoints: ["[fd00:6::101]:6443"],
  },
  {
    ns: "kube-system",
    name: "kube-dns",
    port: "dns",
    proto: "udp",
    portNum: 53,
    clusterIp: "fd00:10:96::a",
    endpoints: ["[fd00:10:244::1c9a:cbd4:a63a:5c05]:53"],
  },
  {
    ns: "ns1",
    name: "web6",
    port: "",
    proto: "tcp",
    portNum: 80,
    clusterIp: "fd00:10:96::3e8f",
    externalIps: ["2001:db8::50"],
    endpoints: ["[fd00:10:244::1c9a:cbd4:a63a:5c06]:8080"],
  },
];

/** A Service outside CLUSTER.serviceCIDR, for the FAIL cases. */
export function outsideService(family: 4 | 6): Svc {
  return {
    ns: "ns9",
    name: "outside",
    port: "http",
    proto: "tcp",
    portNum: 80,
    clusterIp: family === 4 ? "10.200.0.7" : "fd00:10:200::7",
    endpoints: [family === 4 ? "10.244.12.6:8080" : "[fd00:10:244::1c9a:cbd4:a63a:5c06]:8080"],
  };
}

function familyOf(ip: string): 4 | 6 {
  return ip.includes(":") ? 6 : 4;
}

function portName(s: Svc): string {
  return s.port === "" ? `${s.ns}/${s.name}` : `${s.ns}/${s.name}:${s.port}`;
}

/** kube-proxy's style of chain suffix: base32 of a SHA-256 (made-up input). */
function hash(text: string, n: number): string {
  const d = createHash("sha256").update(text).digest();
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0, value = 0, out = "";
  for (const b of d) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < n) {
      out += abc[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

function splitEndpoint(ep: string): { ip: string; port: string } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(ep)!;
  return { ip: m[1]!, port: m[2]! };
}

/**
 * The iptables-mode rules of a family, as `iptables-restore` input (nat and filter).
 *
 * @param family 4 or 6
 * @param services the Services (those of the other family are skipped)
 * @returns the restore text
 */
export function iptablesRules(family: 4 | 6, services: readonly Svc[]): string {
  const host = family === 4 ? 32 : 128;
  const podCidr = CLUSTER.overlayPodCIDR[family === 4 ? 0 : 1];
  const mine = services.filter((s) => familyOf(s.clusterIp) === family);
  const chains = new Set(["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"]);
  const nat: string[] = [];
  const filter: string[] = [];
  for (const s of mine) {
    const pn = portName(s);
    const svc = `KUBE-SVC-${hash(pn + s.proto, 16)}`;
    const ext = `KUBE-EXT-${hash(pn + s.proto, 16)}`;
    const match =
      `-p ${s.proto} -m comment --comment "${pn} cluster IP" -m ${s.proto} --dport ${s.portNum}`;
    if (s.endpoints.length === 0) {
      filter.push(
        `-A KUBE-SERVICES -d ${s.clusterIp}/${host} -p ${s.proto} -m comment --comment "${pn} has no endpoints" -m ${s.proto} --dport ${s.portNum} -j REJECT --reject-with ${
          family === 4 ? "icmp-port-unreachable" : "icmp6-port-unreachable"
        }`,
      );
      continue;
    }
    chains.add(svc);
    nat.push(`-A KUBE-SERVICES -d ${s.clusterIp}/${host} ${match} -j ${svc}`);
    nat.push(`-A ${svc} ! -s ${podCidr} -d ${s.clusterIp}/${host} ${match} -j KUBE-MARK-MASQ`);
    const external = [...(s.externalIps ?? []), ...(s.lbIps ?? [])];
    if (external.length > 0) {
      chains.add(ext);
      nat.push(
        `-A ${ext} -m comment --comment "masquerade traffic for ${pn} external destinations" -j KUBE-MARK-MASQ`,
        `-A ${ext} -j ${svc}`,
      );
    }
    for (const ip of s.externalIps ?? []) {
      nat.push(
        `-A KUBE-SERVICES -d ${ip}/${host} -p ${s.proto} -m comment --comment "${pn} external IP" -m ${s.proto} --dport ${s.portNum} -j ${ext}`,
      );
    }
    for (const ip of s.lbIps ?? []) {
      nat.push(
        `-A KUBE-SERVICES -d ${ip}/${host} -p ${s.proto} -m comment --comment "${pn} loadbalancer IP" -m ${s.proto} --dport ${s.portNum} -j ${ext}`,
      );
    }
    s.endpoints.forEach((ep, i) => {
      const { ip, port } = splitEndpoint(ep);
      const sep = `KUBE-SEP-${hash(pn + s.proto + ep, 16)}`;
      chains.add(sep);
      const left = s.endpoints.length - i;
      nat.push(
        left > 1
          ? `-A ${svc} -m comment --comment "${pn} -> ${ep}" -m statistic --mode random --probability ${
            (1 / left).toFixed(11)
          } -j ${sep}`
          : `-A ${svc} -m comment --comment "${pn} -> ${ep}" -j ${sep}`,
        `-A ${sep} -s ${ip}/${host} -m comment --comment "${pn}" -j KUBE-MARK-MASQ`,
        `-A ${sep} -p ${s.proto} -m comment --comment "${pn}" -m ${s.proto} -j DNAT --to-destination ${
          family === 4 ? `${ip}:${port}` : `[${ip}]:${port}`
        }`,
      );
    });
  }
  return [
    "*nat",
    ...[...chains].map((c) => `:${c} - [0:0]`),
    `-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
    `-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
    `-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING`,
    "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
    "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
    "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0",
    `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`,
    ...nat,
    `-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`,
    "COMMIT",
    "*filter",
    ":KUBE-SERVICES - [0:0]",
    `-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
    ...filter,
    "COMMIT",
    "",
  ].join("\n");
}

/** Options of {@linkcode nftRules}. */
export interface NftOptions {
  /**
   * Recent kube-proxy: the `cluster-ips` set and the `cluster-ips-check`
   * chain (with `serviceCidrs`); false: the v1.29 layout without them.
   */
  recent: boolean;
  /** The Service CIDRs kube-proxy knows (recent only; default CLUSTER.serviceCIDR of the family). */
  serviceCidrs?: string[];
}

/**
 * The nftables-mode table of a family, as `nft -f` input.
 *
 * @param family 4 or 6
 * @param services the Services (those of the other family are skipped)
 * @param opts recent or v1.29 layout
 * @returns the nft script
 */
export function nftRules(family: 4 | 6, services: readonly Svc[], opts: NftOptions): string {
  const ipX = family === 4 ? "ip" : "ip6";
  const addrType = family === 4 ? "ipv4_addr" : "ipv6_addr";
  const podCidr = CLUSTER.overlayPodCIDR[family === 4 ? 0 : 1];
  const mine = services.filter((s) => familyOf(s.clusterIp) === family);
  const cidrs = opts.serviceCidrs ?? [CLUSTER.serviceCIDR[family === 4 ? 0 : 1]];
  const serviceIps: string[] = [];
  const noEndpoints: string[] = [];
  const chains: string[] = [];
  for (const s of mine) {
    const base = `${hash(portName(s) + s.proto, 8)}-${s.ns}/${s.name}/${s.proto}/${s.port}`;
    const svc = `service-${base}`;
    const ext = `external-${base}`;
    const external = [...(s.externalIps ?? []), ...(s.lbIps ?? [])];
    if (s.endpoints.length === 0) {
      for (const ip of [s.clusterIp, ...external]) {
        noEndpoints.push(
          `${ip} . ${s.proto} . ${s.portNum} comment "${portName(s)}" : goto reject-chain`,
        );
      }
      continue;
    }
    serviceIps.push(`${s.clusterIp} . ${s.proto} . ${s.portNum} : goto ${svc}`);
    for (const ip of external) serviceIps.push(`${ip} . ${s.proto} . ${s.portNum} : goto ${ext}`);
    const eps = s.endpoints.map((ep) => {
      const { ip, port } = splitEndpoint(ep);
      const name = `endpoint-${hash(portName(s) + ep, 8)}-${s.ns}/${s.name}/${s.proto}/${s.port}__${
        ip.replaceAll(":", ".")
      }/${port}`;
      chains.push(
        `\tchain ${name} {`,
        `\t\t${ipX} saddr ${ip} jump mark-for-masquerade`,
        `\t\tmeta l4proto ${s.proto} dnat to ${family === 4 ? ip : `[${ip}]`}:${port}`,
        "\t}",
      );
      return name;
    });
    chains.push(
      `\tchain ${svc} {`,
      `\t\t${ipX} daddr ${s.clusterIp} ${s.proto} dport ${s.portNum} ${ipX} saddr != ${podCidr} jump mark-for-masquerade`,
      `\t\tnumgen random mod ${eps.length} vmap { ${
        eps.map((e, i) => `${i} : goto ${e}`).join(", ")
      } }`,
      "\t}",
    );
    if (external.length > 0) {
      chains.push(`\tchain ${ext} {`, "\t\tjump mark-for-masquerade", `\t\tgoto ${svc}`, "\t}");
    }
  }
  const elements = (
    xs: string[],
  ) => (xs.length === 0 ? [] : [`\t\telements = { ${xs.join(",\n\t\t\t")} }`]);
  const recent = opts.recent
    ? [
      "\tset cluster-ips {",
      `\t\ttype ${addrType}`,
      '\t\tcomment "Active ClusterIPs"',
      ...elements([...new Set(mine.map((s) => s.clusterIp))]),
      "\t}",
      "\tchain cluster-ips-check {",
      `\t\t${ipX} daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
      `\t\t${ipX} daddr { ${
        cidrs.join(", ")
      } } drop comment "Drop traffic to unallocated ClusterIPs"`,
      "\t}",
      "\tchain filter-forward {",
      "\t\ttype filter hook forward priority -110; policy accept;",
      "\t\tct state new jump cluster-ips-check",
      "\t}",
    ]
    : [];
  return [
    `table ${ipX} kube-proxy {`,
    '\tcomment "rules for kube-proxy"',
    ...recent,
    "\tmap no-endpoint-services {",
    `\t\ttype ${addrType} . inet_proto . inet_service : verdict`,
    '\t\tcomment "vmap to drop or reject packets to services with no endpoints"',
    ...elements(noEndpoints),
    "\t}",
    "\tmap service-ips {",
    `\t\ttype ${addrType} . inet_proto . inet_service : verdict`,
    '\t\tcomment "ClusterIP, ExternalIP and LoadBalancer IP traffic"',
    ...elements(serviceIps),
    "\t}",
    "\tmap service-nodeports {",
    "\t\ttype inet_proto . inet_service : verdict",
    '\t\tcomment "NodePort traffic"',
    "\t}",
    "\tchain reject-chain {",
    '\t\tcomment "helper for @no-endpoint-services / @no-endpoint-nodeports"',
    "\t\treject",
    "\t}",
    "\tchain mark-for-masquerade {",
    "\t\tmark set mark or 0x4000",
    "\t}",
    "\tchain masquerading {",
    "\t\tmark and 0x4000 == 0 return",
    "\t\tmark set mark xor 0x4000",
    "\t\tmasquerade fully-random",
    "\t}",
    ...chains,
    "\tchain services {",
    `\t\t${ipX} daddr . meta l4proto . th dport vmap @service-ips`,
    `\t\tfib daddr type local ${ipX} daddr != ${
      family === 4 ? "127.0.0.0/8" : "::1"
    } meta l4proto . th dport vmap @service-nodeports`,
    "\t}",
    "\tchain nat-prerouting {",
    "\t\ttype nat hook prerouting priority -100; policy accept;",
    "\t\tjump services",
    "\t}",
    "\tchain nat-output {",
    "\t\ttype nat hook output priority -100; policy accept;",
    "\t\tjump services",
    "\t}",
    "\tchain nat-postrouting {",
    "\t\ttype nat hook postrouting priority 100; policy accept;",
    "\t\tjump masquerading",
    "\t}",
    "}",
    "",
  ].join("\n");
}

/** The pod blocks of the Calico-like node (both families): what the routes carry. */
export const CALICO_BLOCKS = [
  "10.244.12.0/26", // this node's block (blackhole)
  "10.244.12.5/32", // pods on this node (cali links)
  "10.244.12.6/32",
  "10.244.7.0/26", // other nodes, IPIP
  "10.244.30.64/26",
  "10.244.41.0/26", // another node, VXLAN
  "fd00:10:244:0:1c9a:cbd4:a63a:5c00/122", // this node's block
  "fd00:10:244:0:1c9a:cbd4:a63a:5c05/128",
  "fd00:10:244:0:1c9a:cbd4:a63a:5c06/128",
  "fd00:10:244:0:8e1:22f0:7b31:7a40/122", // another node, BGP without encapsulation
] as const;

/** The pod CIDRs of the Cilium-like node: this node's, its router address, two other nodes' (tunnel). */
export const CILIUM_BLOCKS = [
  "10.0.0.0/24",
  "10.0.0.211/32",
  "10.0.1.0/24",
  "10.0.2.0/24",
  "fd02::/120",
  "fd02::3c/128",
  "fd02::100/120",
] as const;

/**
 * `ip` commands that give a netns the node's uplink and the overlay CNI's
 * links and routes (links are veths or bridges named as the CNI names them:
 * this kernel has no ipip, vxlan or dummy links; the routes are what counts).
 *
 * @param cni which overlay
 * @returns argument lists for `ip`
 */
export function overlayRoutes(cni: "calico" | "cilium"): string[][] {
  const up = (name: string, kind: "bridge" | "veth", peer?: string) => [
    ["link", "add", name, "type", kind, ...(peer === undefined ? [] : ["peer", "name", peer])],
    ["link", "set", name, "up"],
    ...(peer === undefined ? [] : [["link", "set", peer, "up"]]),
  ];
  const node = [
    ...up("ens192", "bridge"),
    ["addr", "add", `${CLUSTER.nodeIp4}/16`, "dev", "ens192"],
    ["addr", "add", `${CLUSTER.nodeIp6}/64`, "dev", "ens192", "nodad"],
    ["route", "add", "default", "via", "10.6.0.1", "dev", "ens192"],
    // The coordinator's own: an underlay pod's host route in table 500 (not a pod block).
    ...up("veth0123456789a", "veth", "pp0123456789a"),
    ["route", "add", "10.6.212.241/32", "dev", "veth0123456789a", "table", "500"],
  ];
  if (cni === "calico") {
    return [
      ...node,
      ...up("tunl0", "bridge"),
      ...up("vxlan.calico", "bridge"),
      ...up("cali1a2b3c4d5e6", "veth", "pc1a2b3c4d5e6"),
      ...up("cali9f8e7d6c5b4", "veth", "pc9f8e7d6c5b4"),
      ["route", "add", "blackhole", "10.244.12.0/26", "proto", "bird"],
      ["route", "add", "10.244.12.5/32", "dev", "cali1a2b3c4d5e6", "scope", "link"],
      ["route", "add", "10.244.12.6/32", "dev", "cali9f8e7d6c5b4", "scope", "link"],
      [
        "route",
        "add",
        "10.244.7.0/26",
        "via",
        "10.6.212.102",
        "dev",
        "tunl0",
        "proto",
        "bird",
        "onlink",
      ],
      [
        "route",
        "add",
        "10.244.30.64/26",
        "via",
        "10.6.212.103",
        "dev",
        "tunl0",
        "proto",
        "bird",
        "onlink",
      ],
      ["route", "add", "10.244.41.0/26", "via", "10.244.41.0", "dev", "vxlan.calico", "onlink"],
      ["-6", "route", "add", "blackhole", "fd00:10:244::1c9a:cbd4:a63a:5c00/122", "proto", "bird"],
      ["-6", "route", "add", "fd00:10:244:0:1c9a:cbd4:a63a:5c05/128", "dev", "cali1a2b3c4d5e6"],
      ["-6", "route", "add", "fd00:10:244:0:1c9a:cbd4:a63a:5c06/128", "dev", "cali9f8e7d6c5b4"],
      [
        "-6",
        "route",
        "add",
        "fd00:10:244::8e1:22f0:7b31:7a40/122",
        "via",
        "fd00:6::102",
        "dev",
        "ens192",
        "proto",
        "bird",
      ],
    ];
  }
  return [
    ...node,
    ...up("cilium_host", "veth", "cilium_net"),
    ["addr", "add", "10.0.0.211/32", "dev", "cilium_host"],
    ["addr", "add", "fd02::3c/128", "dev", "cilium_host", "nodad"],
    ["route", "add", "10.0.0.211/32", "dev", "cilium_host", "scope", "link"],
    ["route", "add", "10.0.0.0/24", "via", "10.0.0.211", "dev", "cilium_host", "src", "10.0.0.211"],
    [
      "route",
      "add",
      "10.0.1.0/24",
      "via",
      "10.0.0.211",
      "dev",
      "cilium_host",
      "src",
      "10.0.0.211",
      "mtu",
      "1450",
    ],
    [
      "route",
      "add",
      "10.0.2.0/24",
      "via",
      "10.0.0.211",
      "dev",
      "cilium_host",
      "src",
      "10.0.0.211",
      "mtu",
      "1450",
    ],
    // IPv6: the kernel takes no local gateway, so the routes are on-link.
    ["-6", "route", "add", "fd02::/120", "dev", "cilium_host", "src", "fd02::3c"],
    ["-6", "route", "add", "fd02::100/120", "dev", "cilium_host", "src", "fd02::3c", "mtu", "1450"],
  ];
}

/** The addresses kube-proxy's IPVS mode binds on kube-ipvs0 for SERVICES (ClusterIPs and external). */
export function ipvsAddresses(services: readonly Svc[]): string[] {
  return [
    ...new Set(
      services.flatMap((s) => [s.clusterIp, ...(s.externalIps ?? []), ...(s.lbIps ?? [])]),
    ),
  ];
}

/** What {@linkcode loadCluster} loads. */
export interface ClusterLoad {
  mode: "iptables" | "nftables" | "nftables-v1.29" | "ipvs";
  cni: "calico" | "cilium";
  services?: readonly Svc[];
}

/**
 * Load a kube-proxy mode's rules and the overlay's routes into a netns.
 * Requires root, iproute2, iptables (iptables mode) or nft (nftables mode).
 *
 * @param ns the throwaway netns
 * @param load the mode, the CNI and the Services
 */
export async function loadCluster(ns: TestNetns, load: ClusterLoad): Promise<void> {
  const services = load.services ?? SERVICES;
  for (const args of overlayRoutes(load.cni)) await ns.ip(args);
  if (load.mode === "iptables") {
    await ns.exec(["iptables-restore"], { stdin: iptablesRules(4, services) });
    await ns.exec(["ip6tables-restore"], { stdin: iptablesRules(6, services) });
  } else if (load.mode === "ipvs") {
    // kube-ipvs0 is a dummy link; this kernel has none, so a bridge holds the addresses.
    await ns.ip(["link", "add", "kube-ipvs0", "type", "bridge"]);
    for (const ip of ipvsAddresses(services)) {
      await ns.ip([
        "addr",
        "add",
        `${ip}/${ip.includes(":") ? 128 : 32}`,
        "dev",
        "kube-ipvs0",
        ...(ip.includes(":") ? ["nodad"] : []),
      ]);
    }
  } else {
    const recent = load.mode === "nftables";
    await ns.exec(["nft", "-f", "-"], {
      stdin: nftRules(4, services, { recent }) + nftRules(6, services, { recent }),
    });
  }
}

/**
 * Add one Service to a loaded netns, as kube-proxy would on its next sync
 * (iptables: the KUBE-SERVICES rule; nftables: the set and map elements).
 *
 * @param ns the netns
 * @param mode the loaded mode
 * @param s the Service
 */
export async function addService(ns: TestNetns, mode: ClusterLoad["mode"], s: Svc): Promise<void> {
  const family = familyOf(s.clusterIp);
  if (mode === "iptables") {
    await ns.exec([
      family === 4 ? "iptables" : "ip6tables",
      "-t",
      "nat",
      "-I",
      "KUBE-SERVICES",
      "1",
      "-d",
      `${s.clusterIp}/${family === 4 ? 32 : 128}`,
      "-p",
      s.proto,
      "-m",
      "comment",
      "--comment",
      `${portName(s)} cluster IP`,
      "-m",
      s.proto,
      "--dport",
      String(s.portNum),
      "-j",
      "KUBE-MARK-MASQ",
    ]);
    return;
  }
  if (mode === "ipvs") {
    await ns.ip(["addr", "add", `${s.clusterIp}/${family === 4 ? 32 : 128}`, "dev", "kube-ipvs0"]);
    return;
  }
  const ipX = family === 4 ? "ip" : "ip6";
  const chain = `service-${hash(portName(s) + s.proto, 8)}-${s.ns}/${s.name}/${s.proto}/${s.port}`;
  const script = [
    `add chain ${ipX} kube-proxy ${chain}`,
    `add rule ${ipX} kube-proxy ${chain} jump mark-for-masquerade`,
    ...(mode === "nftables"
      ? [`add element ${ipX} kube-proxy cluster-ips { ${s.clusterIp} }`]
      : []),
    `add element ${ipX} kube-proxy service-ips { ${s.clusterIp} . ${s.proto} . ${s.portNum} : goto ${chain} }`,
  ];
  await ns.exec(["nft", "-f", "-"], { stdin: script.join("\n") + "\n" });
}
