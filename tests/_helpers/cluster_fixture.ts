/**
 * The made-up cluster of the cluster CIDR fixtures (tests/testdata/cluster/): its Services in
 * the model of the one kube-proxy rules writer (tools/lib/kube_proxy.ts), its CIDRs, and the
 * overlay CNI's routes of a Calico-like and a Cilium-like node. {@linkcode loadFixtureNode}
 * writes one kube-proxy mode's rules (iptables, nftables as 1.30+ or 1.29 write it, IPVS's
 * kube-ipvs0) and one overlay's routes into a throwaway netns; tests/testdata/cluster/capture.ts
 * saves what the node's tools print of it.
 *
 * The Services cover what the parsers tell apart: ClusterIPs of both families, several ports on
 * one ClusterIP, an ExternalIP and a LoadBalancer IP, a Service without endpoints, an unnamed
 * port.
 *
 * @example
 * ```ts ignore
 * await using ns = await createNetns("capture");
 * await loadFixtureNode(ns, { mode: "nftables", cni: "calico" });
 * ```
 *
 * @module
 */

import {
  applyIpvsAddresses,
  applyKubeProxy,
  iptablesRules,
  type ProxyConfig,
  type ProxyFamily,
  type ServicePort,
} from "../../tools/lib/kube_proxy.ts";
import type { TestNetns } from "./netns.ts";

/** The fixture cluster's CIDRs, its node and the node's addresses. */
export const FIXTURE = {
  serviceCIDR: ["10.96.0.0/12", "fd00:10:96::/112"],
  overlayPodCIDR: ["10.244.0.0/16", "fd00:10:244::/56"],
  node: "node-1",
  nodeIp4: "10.6.212.101",
  nodeIp6: "fd00:6::101",
} as const;

/** The Services of one family, as kube-proxy on node-1 sees them. */
export function fixtureServices(family: ProxyFamily): ServicePort[] {
  const ep = (ip: string, port: number, node: string = FIXTURE.node) => ({ ip, port, node });
  if (family === 4) {
    const dns = { namespace: "kube-system", name: "kube-dns", clusterIp: "10.96.0.10" };
    return [
      {
        namespace: "default",
        name: "kubernetes",
        portName: "https",
        clusterIp: "10.96.0.1",
        port: 443,
        endpoints: [ep(FIXTURE.nodeIp4, 6443)],
      },
      { ...dns, portName: "dns-tcp", port: 53, endpoints: [ep("10.244.12.5", 53)] },
      { ...dns, portName: "metrics", port: 9153, endpoints: [ep("10.244.12.5", 9153)] },
      {
        namespace: "ns1",
        name: "web",
        portName: "http",
        clusterIp: "10.104.17.33",
        port: 80,
        externalIps: ["192.0.2.50"],
        loadBalancerIps: ["198.51.100.7"],
        endpoints: [ep("10.244.12.6", 8080), ep("10.244.7.9", 8080, "node-2")],
      },
      {
        namespace: "ns1",
        name: "idle",
        portName: "http",
        clusterIp: "10.111.250.4",
        port: 8080,
        endpoints: [],
      },
    ];
  }
  return [
    {
      namespace: "default",
      name: "kubernetes",
      portName: "https",
      clusterIp: "fd00:10:96::1",
      port: 443,
      endpoints: [ep(FIXTURE.nodeIp6, 6443)],
    },
    {
      namespace: "kube-system",
      name: "kube-dns",
      portName: "dns-tcp",
      clusterIp: "fd00:10:96::a",
      port: 53,
      endpoints: [ep("fd00:10:244::1c9a:cbd4:a63a:5c05", 53)],
    },
    {
      namespace: "ns1",
      name: "web6",
      portName: "",
      clusterIp: "fd00:10:96::3e8f",
      port: 80,
      externalIps: ["2001:db8::50"],
      endpoints: [ep("fd00:10:244::1c9a:cbd4:a63a:5c06", 8080)],
    },
  ];
}

/**
 * kube-proxy's config of node-1, one per family.
 *
 * @param nftablesLayout nftables: as kube-proxy 1.29 or 1.30+ writes it
 * @returns the configs, IPv4 then IPv6
 */
export function fixtureProxyConfigs(nftablesLayout: "1.29" | "1.30" = "1.30"): ProxyConfig[] {
  return ([4, 6] as const).map((family) => ({
    family,
    node: FIXTURE.node,
    nodeIps: [family === 4 ? FIXTURE.nodeIp4 : FIXTURE.nodeIp6],
    clusterCidr: FIXTURE.overlayPodCIDR[family === 4 ? 0 : 1],
    serviceCidr: FIXTURE.serviceCIDR[family === 4 ? 0 : 1],
    services: fixtureServices(family),
    nftablesLayout,
  }));
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
 * `ip -batch` lines that give a netns the node's uplink and the overlay CNI's links and
 * routes (links are veths or bridges named as the CNI names them: this kernel has no ipip,
 * vxlan or dummy links; the routes are what counts), and one route of the coordinator's own
 * (an underlay pod's host route in table 500, never a pod block).
 *
 * @param cni which overlay
 * @returns the lines
 */
export function overlayRoutes(cni: "calico" | "cilium"): string[] {
  const up = (name: string, kind: "bridge" | "veth", peer?: string) => [
    `link add ${name} type ${kind}${peer === undefined ? "" : ` peer name ${peer}`}`,
    `link set ${name} up`,
    ...(peer === undefined ? [] : [`link set ${peer} up`]),
  ];
  const node = [
    ...up("ens192", "bridge"),
    `addr add ${FIXTURE.nodeIp4}/16 dev ens192`,
    `addr add ${FIXTURE.nodeIp6}/64 dev ens192 nodad`,
    "route add default via 10.6.0.1 dev ens192",
    ...up("veth0123456789a", "veth", "pp0123456789a"),
    "route add 10.6.212.241/32 dev veth0123456789a table 500",
  ];
  if (cni === "calico") {
    return [
      ...node,
      ...up("tunl0", "bridge"),
      ...up("vxlan.calico", "bridge"),
      ...up("cali1a2b3c4d5e6", "veth", "pc1a2b3c4d5e6"),
      ...up("cali9f8e7d6c5b4", "veth", "pc9f8e7d6c5b4"),
      "route add blackhole 10.244.12.0/26 proto bird",
      "route add 10.244.12.5/32 dev cali1a2b3c4d5e6 scope link",
      "route add 10.244.12.6/32 dev cali9f8e7d6c5b4 scope link",
      "route add 10.244.7.0/26 via 10.6.212.102 dev tunl0 proto bird onlink",
      "route add 10.244.30.64/26 via 10.6.212.103 dev tunl0 proto bird onlink",
      "route add 10.244.41.0/26 via 10.244.41.0 dev vxlan.calico onlink",
      "route add blackhole fd00:10:244::1c9a:cbd4:a63a:5c00/122 proto bird",
      "route add fd00:10:244:0:1c9a:cbd4:a63a:5c05/128 dev cali1a2b3c4d5e6",
      "route add fd00:10:244:0:1c9a:cbd4:a63a:5c06/128 dev cali9f8e7d6c5b4",
      "route add fd00:10:244::8e1:22f0:7b31:7a40/122 via fd00:6::102 dev ens192 proto bird",
    ];
  }
  return [
    ...node,
    ...up("cilium_host", "veth", "cilium_net"),
    "addr add 10.0.0.211/32 dev cilium_host",
    "addr add fd02::3c/128 dev cilium_host nodad",
    "route add 10.0.0.211/32 dev cilium_host scope link",
    "route add 10.0.0.0/24 via 10.0.0.211 dev cilium_host src 10.0.0.211",
    "route add 10.0.1.0/24 via 10.0.0.211 dev cilium_host src 10.0.0.211 mtu 1450",
    "route add 10.0.2.0/24 via 10.0.0.211 dev cilium_host src 10.0.0.211 mtu 1450",
    // IPv6: the kernel takes no local gateway, so the routes are on-link.
    "route add fd02::/120 dev cilium_host src fd02::3c",
    "route add fd02::100/120 dev cilium_host src fd02::3c mtu 1450",
  ];
}

/** What {@linkcode loadFixtureNode} loads. */
export interface FixtureNode {
  /** kube-proxy's mode; nftables-1.29: the layout of kube-proxy 1.29. */
  mode: "iptables" | "nftables" | "nftables-1.29" | "ipvs";
  cni: "calico" | "cilium";
}

/**
 * Load one kube-proxy mode's rules (tools/lib/kube_proxy.ts) and one overlay's routes into a
 * netns. Requires root, iproute2, and iptables (iptables mode) or nft (nftables mode).
 *
 * @param ns the throwaway netns
 * @param load the mode and the overlay
 */
export async function loadFixtureNode(ns: TestNetns, load: FixtureNode): Promise<void> {
  await ns.exec(["ip", "-batch", "-"], { stdin: overlayRoutes(load.cni).join("\n") + "\n" });
  if (load.mode === "ipvs") {
    await applyIpvsAddresses(ns, fixtureProxyConfigs());
    return;
  }
  const layout = load.mode === "nftables-1.29" ? "1.29" : "1.30";
  const mode = load.mode === "iptables" ? "iptables" : "nftables";
  await applyKubeProxy(ns, mode, fixtureProxyConfigs(layout));
}

/**
 * A Service outside the fixture cluster's serviceCIDR (10.200.0.7, fd00:10:200::7), for the
 * FAIL cases.
 *
 * @param family its family
 * @param n its number when several are needed (ns9/outside<n>, 10.200.0.<n>)
 * @returns the Service port
 */
export function outsideService(family: ProxyFamily, n?: number): ServicePort {
  const host = n ?? 7;
  return {
    namespace: "ns9",
    name: n === undefined ? "outside" : `outside${n}`,
    portName: "http",
    clusterIp: family === 4 ? `10.200.0.${host}` : `fd00:10:200::${host.toString(16)}`,
    port: 80,
    endpoints: [{
      ip: family === 4 ? "10.244.12.6" : "fd00:10:244::1c9a:cbd4:a63a:5c06",
      port: 8080,
      node: FIXTURE.node,
    }],
  };
}

/**
 * `iptables-restore` input of node-1's kube-proxy for one family, with more Services: what
 * `iptables-save -t nat` prints of it, for the parsers (the nat and filter tables; the
 * parsers read only nat's KUBE-SERVICES).
 *
 * @param family the family
 * @param extra Services besides the fixture's
 * @returns the text
 */
export function fixtureIptables(family: ProxyFamily, extra: readonly ServicePort[]): string {
  const cfg = fixtureProxyConfigs()[family === 4 ? 0 : 1]!;
  return iptablesRules({ ...cfg, services: [...cfg.services, ...extra] });
}
