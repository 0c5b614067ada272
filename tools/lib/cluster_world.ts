/**
 * A two-node Kubernetes cluster of throwaway network namespaces, for the paths that cross
 * nodes (tests/integration/cluster_test.ts). Built of the single-node kube world's parts
 * (tools/lib/kube_world.ts: Calico-style eth0, external client, test servers, exchanges,
 * forward accounting) on top of {@linkcode createWorld}, with kube-proxy's rules from
 * tools/lib/kube_proxy.ts in either mode:
 *
 * ```
 *   [client] eth0 10.8.0.50, fd00:8::50 ── ext0 [gw] eth0 10.6.0.1/16, fd00:6::1/64 ── br0 [switch]
 *   [node-a] ens192 10.6.212.101/16, fd00:6::101/64 ──────────────────────────────── br0
 *            Calico: blackhole 10.233.64.0/26, fd00:10:233:64::/122 (its block);
 *                    10.233.64.64/26, fd00:10:233:64::40/122 via node-b (proto bird)
 *            [underlay-a] eth0: macvlan 10.6.212.241, fd00:6::f1 (made by the plugins)
 *            [multi-a]    eth0: cali veth 10.233.64.20, fd00:10:233:64::20;
 *                         net1: macvlan 10.6.212.242, fd00:6::f2 (made by the plugins)
 *   [node-b] ens192 10.6.212.102/16, fd00:6::102/64 ──────────────────────────────── br0
 *            Calico: blackhole its block; node-a's block via node-a
 *            [underlay-b] eth0: macvlan 10.6.212.243, fd00:6::f3 (made by the plugins)
 *            [overlay-b]  eth0: cali veth 10.233.64.70, fd00:10:233:64::46
 *   kube-proxy on both nodes (iptables or nftables mode), the same Services:
 *     default/to-overlay-b  ClusterIP 10.233.0.10:80, [fd00:10:233::10]:80 -> overlay-b:8080
 *     default/to-underlay-b ClusterIP 10.233.0.11:80, [fd00:10:233::11]:80 -> underlay-b:8080
 *     default/nodeport-a    NodePort 30080 (ClusterIP .12 / ::12) -> underlay-a:8080,
 *                           externalTrafficPolicy Cluster (the node masquerades)
 *   mangle TEST-ACCT on both nodes: port-8080 replies of every pod address they forward, and
 *   underlay-a's to the client and to node B
 * ```
 *
 * Every pod runs the test server (its name, e.g. `underlay-a`, and the peer it saw); pods
 * keep the distro's rp_filter 2. Calico's pool here has natOutgoing off (pod addresses
 * reach the underlay unchanged, as when the underlay routes the pod CIDR), and Felix's
 * policy chains are not modelled. Everything is removed by `destroy()` / `await using`,
 * also on failure. Requires root, iproute2, iptables; `nft` for the nftables mode.
 *
 * @example
 * ```ts ignore
 * await using cw = await createClusterWorld({ mode: "nftables" });
 * const [r] = await cw.exchanges(cw.b.ns, [{ ip: CLUSTER.underlayA.ip4, port: 8080 }]);
 * ```
 *
 * @module
 */

import { createNetns, type TestNetns } from "./netns.ts";
import {
  addCalicoEth0,
  addExternalClient,
  addForwardAccounting,
  type Exchange,
  type ExchangeOptions,
  type ExchangeTarget,
  type Family,
  forwardedPackets,
  KUBE,
  setDistroSysctls,
  startTcpServer,
  tcpExchanges,
  type TcpServer,
  teardown,
} from "./kube_world.ts";
import {
  applyKubeProxy,
  type KubeProxyMode,
  type ProxyConfig,
  type ServicePort,
} from "./kube_proxy.ts";
import { createWorld, WORLD, type World } from "./world.ts";

/** A pair of addresses. */
export interface Dual {
  ip4: string;
  ip6: string;
}

/** One node of the cluster. */
export interface NodeSpec extends Dual {
  name: string;
  /** Its Calico block, IPv4 and IPv6. */
  block4: string;
  block6: string;
}

/** The fixed addresses of every cluster world. */
export const CLUSTER = {
  a: {
    name: "node-a",
    ip4: WORLD.nodeIp4,
    ip6: WORLD.nodeIp6,
    block4: "10.233.64.0/26",
    block6: "fd00:10:233:64::/122",
  } as NodeSpec,
  b: {
    name: "node-b",
    ip4: "10.6.212.102",
    ip6: "fd00:6::102",
    block4: "10.233.64.64/26",
    block6: "fd00:10:233:64::40/122",
  } as NodeSpec,
  serviceCIDR: KUBE.serviceCIDR,
  overlayPodCIDR: KUBE.overlayPodCIDR,
  underlayA: { ip4: "10.6.212.241", ip6: "fd00:6::f1" } as Dual,
  underlayB: { ip4: "10.6.212.243", ip6: "fd00:6::f3" } as Dual,
  overlayB: { ip4: "10.233.64.70", ip6: "fd00:10:233:64::46" } as Dual,
  multiEth0: { ip4: "10.233.64.20", ip6: "fd00:10:233:64::20" } as Dual,
  multiNet1: { ip4: "10.6.212.242", ip6: "fd00:6::f2" } as Dual,
  client: { ip4: KUBE.clientIp4, ip6: KUBE.clientIp6 } as Dual,
  /** ClusterIP whose only backend is overlay-b. */
  toOverlayB: { ip4: "10.233.0.10", ip6: "fd00:10:233::10" } as Dual,
  /** ClusterIP whose only backend is underlay-b. */
  toUnderlayB: { ip4: "10.233.0.11", ip6: "fd00:10:233::11" } as Dual,
  /** ClusterIP of the NodePort Service of underlay-a. */
  nodePortA: { ip4: "10.233.0.12", ip6: "fd00:10:233::12" } as Dual,
  servicePort: KUBE.servicePort,
  serverPort: KUBE.serverPort,
  nodePort: 30080,
} as const;

/**
 * The address of a pair in a family.
 *
 * @param d the pair
 * @param f the family
 * @returns the address
 */
export function addr(d: Dual, f: Family): string {
  return f === 4 ? d.ip4 : d.ip6;
}

/** A node of a built cluster. */
export interface ClusterNode {
  readonly spec: NodeSpec;
  readonly ns: TestNetns;
}

/** The pods of a cluster world (their servers run; NICs beyond Calico's are the plugins'). */
export interface ClusterPods {
  readonly underlayA: TestNetns;
  readonly underlayB: TestNetns;
  readonly overlayB: TestNetns;
  readonly multiA: TestNetns;
}

/** A built two-node world; dispose it to stop every server and remove every netns. */
export interface ClusterWorld extends AsyncDisposable {
  readonly world: World;
  readonly mode: KubeProxyMode;
  readonly a: ClusterNode;
  readonly b: ClusterNode;
  readonly gw: TestNetns;
  readonly client: TestNetns;
  readonly pods: ClusterPods;
  readonly families: readonly Family[];
  /**
   * Write kube-proxy's rules on both nodes again (iptables: with or without
   * `KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP`; nftables mode has none).
   */
  setKubeProxy(opts: { dropInvalid: boolean }): Promise<void>;
  /**
   * `net.netfilter.nf_conntrack_tcp_be_liberal` on both nodes (a per-netns key: only the
   * nodes' own namespaces change; see {@linkcode conntrackLiberalSkipReason}).
   */
  setConntrackLiberal(on: boolean): void;
  /** TCP exchanges from one netns, all at once (tools/lib/kube_world.ts `tcpExchanges`). */
  exchanges(
    from: TestNetns,
    targets: readonly ExchangeTarget[],
    opts?: ExchangeOptions,
  ): Promise<Exchange[]>;
  /**
   * How many port-8080 packets from `src` the node has forwarded (to `dst`: only for the
   * flows counted with a destination, underlay-a's replies to the client and to node B).
   */
  forwardedFrom(node: ClusterNode, src: string, dst?: string): Promise<number>;
  /** Stop every server, remove every netns (idempotent). */
  destroy(): Promise<void>;
}

/** Options of {@linkcode createClusterWorld}. */
export interface ClusterWorldOptions {
  /** kube-proxy's mode on both nodes. */
  mode: KubeProxyMode;
  /** Build the IPv6 half too (default true). */
  ipv6?: boolean;
}

/** The sysctl of conntrack's liberal TCP window tracking. */
export const TCP_BE_LIBERAL = "net.netfilter.nf_conntrack_tcp_be_liberal";

/**
 * Why the nodes' `nf_conntrack_tcp_be_liberal` cannot be set without touching the machine:
 * the key became per network namespace in Linux 3.7 (older kernels share one value, which
 * the tests never change).
 *
 * @returns the reason, or undefined when the key is per netns
 */
export function conntrackLiberalSkipReason(): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(Deno.osRelease());
  const [major, minor] = [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0)];
  if (major > 3 || (major === 3 && minor >= 7)) return undefined;
  return `${TCP_BE_LIBERAL} is not per netns before Linux 3.7 (this is ${Deno.osRelease()})`;
}

function services(f: Family): ServicePort[] {
  const port = { namespace: "default", portName: "http", port: CLUSTER.servicePort } as const;
  const ep = (
    d: Dual,
    node: NodeSpec,
  ) => [{ ip: addr(d, f), port: CLUSTER.serverPort, node: node.name }];
  return [
    {
      ...port,
      name: "to-overlay-b",
      clusterIp: addr(CLUSTER.toOverlayB, f),
      endpoints: ep(CLUSTER.overlayB, CLUSTER.b),
    },
    {
      ...port,
      name: "to-underlay-b",
      clusterIp: addr(CLUSTER.toUnderlayB, f),
      endpoints: ep(CLUSTER.underlayB, CLUSTER.b),
    },
    {
      ...port,
      name: "nodeport-a",
      clusterIp: addr(CLUSTER.nodePortA, f),
      nodePort: CLUSTER.nodePort,
      externalTrafficPolicy: "Cluster",
      endpoints: ep(CLUSTER.underlayA, CLUSTER.a),
    },
  ];
}

/**
 * kube-proxy's config of one node and family.
 *
 * @param node the node
 * @param f the family
 * @param dropInvalid iptables: write the INVALID drop
 * @returns the config
 */
export function clusterProxyConfig(node: NodeSpec, f: Family, dropInvalid = true): ProxyConfig {
  return {
    family: f,
    node: node.name,
    nodeIps: [addr(node, f)],
    clusterCidr: f === 4 ? CLUSTER.overlayPodCIDR[0] : CLUSTER.overlayPodCIDR[1],
    serviceCidr: f === 4 ? CLUSTER.serviceCIDR[0] : CLUSTER.serviceCIDR[1],
    services: services(f),
    dropInvalid,
  };
}

/** Calico's routes on `node`: a blackhole for its own block, the peer's block via the peer. */
async function calicoRoutes(ns: TestNetns, own: NodeSpec, peer: NodeSpec, ipv6: boolean) {
  const batch = [
    `route add blackhole ${own.block4} proto bird`,
    `route add ${peer.block4} via ${peer.ip4} dev ${WORLD.uplink} proto bird`,
  ];
  if (ipv6) {
    batch.push(
      `-6 route add blackhole ${own.block6} proto bird`,
      `-6 route add ${peer.block6} via ${peer.ip6} dev ${WORLD.uplink} proto bird`,
    );
  }
  for (const line of batch) await ns.ip(line.split(" "));
}

/**
 * Build a cluster world. On any failure everything made so far is removed before the error
 * is thrown.
 *
 * @param opts kube-proxy's mode, IPv6
 * @returns the world
 */
export async function createClusterWorld(opts: ClusterWorldOptions): Promise<ClusterWorld> {
  const ipv6 = opts.ipv6 ?? true;
  const families: Family[] = ipv6 ? [4, 6] : [4];
  const world = await createWorld({ ipv6 });
  const extra: TestNetns[] = [];
  const servers: TcpServer[] = [];
  const destroy = teardown("cluster", world, extra, servers);
  try {
    const a: ClusterNode = { spec: CLUSTER.a, ns: world.node };
    const b: ClusterNode = {
      spec: CLUSTER.b,
      ns: await world.addNode({
        prefix: "nodeb",
        ip4: CLUSTER.b.ip4,
        ...(ipv6 ? { ip6: CLUSTER.b.ip6 } : {}),
      }),
    };
    await calicoRoutes(a.ns, CLUSTER.a, CLUSTER.b, ipv6);
    await calicoRoutes(b.ns, CLUSTER.b, CLUSTER.a, ipv6);
    const client = await createNetns("client");
    extra.push(client);
    await addExternalClient(world.gw, client, ipv6);

    const pod = async (prefix: string) => {
      const ns = await world.addPod(prefix);
      setDistroSysctls(ns);
      return ns;
    };
    const v6 = (d: Dual) => (ipv6 ? d.ip6 : undefined);
    const pods: ClusterPods = {
      underlayA: await pod("ua"),
      underlayB: await pod("ub"),
      overlayB: await pod("ob"),
      multiA: await pod("ma"),
    };
    await addCalicoEth0(b.ns, pods.overlayB, CLUSTER.overlayB.ip4, v6(CLUSTER.overlayB));
    await addCalicoEth0(a.ns, pods.multiA, CLUSTER.multiEth0.ip4, v6(CLUSTER.multiEth0));

    const setKubeProxy = async ({ dropInvalid }: { dropInvalid: boolean }) => {
      for (const n of [a, b]) {
        await applyKubeProxy(
          n.ns,
          opts.mode,
          families.map((f) => clusterProxyConfig(n.spec, f, dropInvalid)),
        );
      }
    };
    await setKubeProxy({ dropInvalid: true });
    const sources = [
      CLUSTER.underlayA,
      CLUSTER.underlayB,
      CLUSTER.overlayB,
      CLUSTER.multiEth0,
      CLUSTER.multiNet1,
    ].flatMap((d) => families.map((f) => addr(d, f)));
    // The NodePort's replies: to the client (B un-NATs and forwards them), to node B (what A
    // would forward if they came its way).
    const nodePortReplies = families.flatMap((f) =>
      [CLUSTER.client, CLUSTER.b].map((to) => ({
        src: addr(CLUSTER.underlayA, f),
        dst: addr(to, f),
      }))
    );
    for (const n of [a, b]) await addForwardAccounting(n.ns, [...sources, ...nodePortReplies]);

    // Every start is awaited, failed or not, and each server that runs is kept: when one
    // fails, destroy() stops the others (a live one would keep its netns after `ip netns del`).
    const starts = await Promise.allSettled([
      startTcpServer(pods.underlayA, "underlay-a"),
      startTcpServer(pods.underlayB, "underlay-b"),
      startTcpServer(pods.overlayB, "overlay-b"),
      startTcpServer(pods.multiA, "multi-a"),
    ]);
    for (const s of starts) if (s.status === "fulfilled") servers.push(s.value);
    for (const s of starts) if (s.status === "rejected") throw s.reason;

    const cw: ClusterWorld = {
      world,
      mode: opts.mode,
      a,
      b,
      gw: world.gw,
      client,
      pods,
      families,
      setKubeProxy,
      setConntrackLiberal: (on) => {
        const reason = conntrackLiberalSkipReason();
        if (reason !== undefined) throw new Error(`Cannot set ${TCP_BE_LIBERAL}: ${reason}`);
        for (const n of [a, b]) n.ns.setSysctl(TCP_BE_LIBERAL, on ? 1 : 0);
      },
      exchanges: (from, targets, o) => tcpExchanges(from, targets, o),
      forwardedFrom: (node, src, dst) => forwardedPackets(node.ns, src, dst),
      destroy,
      [Symbol.asyncDispose]: destroy,
    };
    return cw;
  } catch (err) {
    await destroy().catch(() => {});
    throw err;
  }
}
