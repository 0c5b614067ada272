/**
 * A whole test world built of throwaway network namespaces, the same shape as
 * the world of docs/network.md's worked examples:
 *
 * ```
 *   [gw netns] eth0 10.6.0.1/16, fd00:6::1/64
 *        |
 *   [switch netns] br0 (bridge)
 *        |
 *   [node netns] ens192 10.6.212.101/16, fd00:6::101/64
 *                default via 10.6.0.1 / fd00:6::1
 *                kube-ipvs0 (service addresses, on demand)
 *   [pod netns ...] empty, lo up; filled by the plugins under test
 * ```
 *
 * Every name is unique per world and everything is deleted by `destroy()` /
 * `await using`, also when the test (or the demo, the benchmark) fails.
 * Requires root. Used by the privileged tests (through
 * tests/_helpers/world.ts), `deno task demo`, `deno task bench` and the
 * measuring scripts of tools/measure/.
 *
 * @example
 * ```ts ignore
 * await using world = await createWorld();
 * const pod = await world.addPod();
 * await world.addServiceAddress("10.233.0.10/32");
 * ```
 *
 * @module
 */

import type { Result } from "../../mod/cni/types.ts";
import { errorMessage } from "../../mod/errors.ts";
import { addVethPair, createNetns, exec, macOf, type TestNetns, waitLinkReady } from "./netns.ts";
import { runLogFile } from "./run_dirs.ts";

/** Fixed addresses of every world (those of docs/network.md's worked examples). */
export const WORLD = {
  uplink: "ens192",
  nodeIp4: "10.6.212.101",
  nodeIp6: "fd00:6::101",
  gateway4: "10.6.0.1",
  gateway6: "fd00:6::1",
  prefix4: 16,
  prefix6: 64,
  subnet4: "10.6.0.0/16",
  subnet6: "fd00:6::/64",
  serviceIf: "kube-ipvs0",
} as const;

/** The node's uplink and IPv4 network of a world (default: those of {@linkcode WORLD}). */
export interface WorldNet4 {
  /** The node's uplink (the macvlan master). */
  uplink: string;
  /** The node's address on it. */
  nodeIp4: string;
  /** The gateway's address (the node's default route). */
  gateway4: string;
  /** The prefix length of the on-link subnet. */
  prefix4: number;
}

/** A built world; dispose it to remove every namespace it made. */
export interface World extends AsyncDisposable {
  /** The uplink and IPv4 network this world was built with. */
  readonly net4: WorldNet4;
  /** The switch netns holding bridge `br0`. */
  readonly sw: TestNetns;
  /** The node netns (the plugins' "host" netns). */
  readonly node: TestNetns;
  /** The gateway netns holding 10.6.0.1 and fd00:6::1. */
  readonly gw: TestNetns;
  /** Pod netns created so far. */
  readonly pods: TestNetns[];
  /**
   * Create another empty pod netns (lo up), removed with the world.
   *
   * @param prefix short name prefix
   */
  addPod(prefix?: string): Promise<TestNetns>;
  /**
   * Add another node on the switch (a second Kubernetes node): its uplink (the world's
   * uplink name) with `ip4`/prefix and `ip6`/64, default routes via the world's gateway,
   * forwarding on; removed with the world.
   *
   * @param opts short name prefix (also names the switch port `p-<prefix>`), addresses
   */
  addNode(opts: { prefix: string; ip4: string; ip6?: string }): Promise<TestNetns>;
  /**
   * Place a "service" address (e.g. "10.233.0.10/32") on the node's
   * `kube-ipvs0` (a veth whose peer `kube-ipvs0-p` stays in the node: the
   * kernel here has no dummy links).
   *
   * @param cidr address with prefix length
   */
  addServiceAddress(cidr: string): Promise<void>;
  /** Delete every netns of the world (idempotent). */
  destroy(): Promise<void>;
}

/** Options of {@linkcode createWorld}. */
export interface WorldOptions {
  /** Set up the IPv6 addresses and default route too (default true). */
  ipv6?: boolean;
  /** Another uplink name and IPv4 network (e.g. to fit a documented example). */
  net4?: WorldNet4;
}

async function destroyAll(list: TestNetns[]): Promise<void> {
  // Pods first: their macvlans hang off the node's uplink.
  const errors: string[] = [];
  for (const ns of [...list].reverse()) {
    try {
      await ns.destroy();
    } catch (err) {
      errors.push(`${ns.name}: ${errorMessage(err)}`);
    }
  }
  if (errors.length > 0) throw new Error(`Cannot destroy the world: ${errors.join("; ")}`);
}

/** Plug `node` into the switch as `port` and make it a forwarding node with its addresses. */
async function setUpNode(
  sw: TestNetns,
  node: TestNetns,
  port: string,
  net4: WorldNet4,
  ip6: string | undefined,
): Promise<void> {
  await addVethPair(sw, port, node, net4.uplink);
  await sw.ip(["link", "set", port, "master", "br0"]);
  // A Kubernetes node forwards; IPv6 forwarding also stops it from
  // accepting router advertisements, which keeps the world static.
  node.setSysctl("net.ipv4.ip_forward", 1);
  node.setSysctl("net.ipv4.conf.all.arp_notify", 1);
  const batch = [
    `addr add ${net4.nodeIp4}/${net4.prefix4} dev ${net4.uplink}`,
    `route add default via ${net4.gateway4} dev ${net4.uplink}`,
  ];
  if (ip6 !== undefined) {
    node.setSysctl("net.ipv6.conf.all.forwarding", 1);
    batch.push(
      `addr add ${ip6}/${WORLD.prefix6} dev ${net4.uplink} nodad`,
      `route add default via ${WORLD.gateway6} dev ${net4.uplink}`,
    );
  }
  await exec(["ip", "-n", node.name, "-batch", "-"], { stdin: batch.join("\n") + "\n" });
}

/**
 * Build a world (switch, node, gateway). On any failure everything made so
 * far is removed before the error is thrown.
 *
 * @param opts options
 * @returns the world
 */
export async function createWorld(opts: WorldOptions = {}): Promise<World> {
  const ipv6 = opts.ipv6 ?? true;
  const net4: WorldNet4 = opts.net4 ?? {
    uplink: WORLD.uplink,
    nodeIp4: WORLD.nodeIp4,
    gateway4: WORLD.gateway4,
    prefix4: WORLD.prefix4,
  };
  const made: TestNetns[] = [];
  const pods: TestNetns[] = [];
  let serviceIfReady = false;
  try {
    const sw = await createNetns("sw");
    made.push(sw);
    const node = await createNetns("node");
    made.push(node);
    const gw = await createNetns("gw");
    made.push(gw);

    await sw.ip(["link", "add", "br0", "type", "bridge"]);
    await sw.ip(["link", "set", "br0", "up"]);
    await addVethPair(sw, "p-gw", gw, "eth0");
    await sw.ip(["link", "set", "p-gw", "master", "br0"]);
    await setUpNode(sw, node, "p-node", net4, ipv6 ? WORLD.nodeIp6 : undefined);
    const gwBatch = [`addr add ${net4.gateway4}/${net4.prefix4} dev eth0`];
    if (ipv6) gwBatch.push(`addr add ${WORLD.gateway6}/${WORLD.prefix6} dev eth0 nodad`);
    await exec(["ip", "-n", gw.name, "-batch", "-"], { stdin: gwBatch.join("\n") + "\n" });

    const world: World = {
      net4,
      sw,
      node,
      gw,
      pods,
      addPod: async (prefix = "pod") => {
        const ns = await createNetns(prefix);
        pods.push(ns);
        return ns;
      },
      addNode: async ({ prefix, ip4, ip6 }) => {
        const ns = await createNetns(prefix);
        made.push(ns);
        await setUpNode(sw, ns, `p-${prefix}`, { ...net4, nodeIp4: ip4 }, ip6);
        return ns;
      },
      addServiceAddress: async (cidr) => {
        if (!serviceIfReady) {
          await node.ip([
            "link",
            "add",
            WORLD.serviceIf,
            "type",
            "veth",
            "peer",
            "name",
            `${WORLD.serviceIf}-p`,
          ]);
          await node.ip(["link", "set", WORLD.serviceIf, "up"]);
          await node.ip(["link", "set", `${WORLD.serviceIf}-p`, "up"]);
          serviceIfReady = true;
        }
        const extra = cidr.includes(":") ? ["nodad"] : [];
        await node.ip(["addr", "add", cidr, "dev", WORLD.serviceIf, ...extra]);
      },
      destroy: () => destroyAll([...made, ...pods]),
      [Symbol.asyncDispose]: () => world.destroy(),
    };
    return world;
  } catch (err) {
    await destroyAll([...made, ...pods]).catch(() => {});
    throw err;
  }
}

/**
 * The coordinator config the integration tests and tools/measure/ start from: cniVersion 1.0.0,
 * mode auto, the world's service and pod CIDRs, the log in `<log>.log` of the test run's log
 * directory ({@linkcode runLogFile}).
 *
 * @param name the network name
 * @param log the log file's base name
 * @param opts the log level (default debug) and further settings
 * @returns the config
 */
export function itConf(
  name: string,
  log: string,
  opts: { logLevel?: string; hijackCIDR?: string[] } = {},
) {
  return {
    cniVersion: "1.0.0",
    name,
    type: "coordinator",
    mode: "auto",
    serviceCIDR: ["10.233.0.0/18"],
    overlayPodCIDR: ["10.233.64.0/18"],
    ...(opts.hijackCIDR === undefined ? {} : { hijackCIDR: opts.hijackCIDR }),
    logOptions: {
      logLevel: opts.logLevel ?? "debug",
      logFile: runLogFile(log),
    },
  };
}

/**
 * Give a pod an `eth0` macvlan on the node's uplink with addresses and a
 * default route, as the macvlan + static IPAM plugins would, and return the
 * matching prevResult.
 *
 * @param node node netns
 * @param pod pod netns
 * @param opts NIC name, addresses (CIDR), gateways, uplink
 * @returns the 1.0.0 prevResult
 */
export async function addMacvlanNic(
  node: TestNetns,
  pod: TestNetns,
  opts: { ifname: string; addrs: string[]; gateways: string[]; uplink?: string },
): Promise<Result> {
  const tmp = `mv${Math.floor(Math.random() * 1e6)}`;
  await node.ip([
    "link",
    "add",
    tmp,
    "link",
    opts.uplink ?? "ens192",
    "type",
    "macvlan",
    "mode",
    "bridge",
  ]);
  await node.ip(["link", "set", tmp, "netns", pod.name]);
  await pod.ip(["link", "set", tmp, "name", opts.ifname]);
  return await configureNic(pod, opts);
}

/**
 * What the main plugin and its IPAM do to a NIC once it is in the pod: its
 * addresses, up, a default route per gateway; and the prevResult that says so.
 */
async function configureNic(
  pod: TestNetns,
  opts: { ifname: string; addrs: string[]; gateways: string[] },
): Promise<Result> {
  for (const a of opts.addrs) {
    await pod.ip(["addr", "add", a, "dev", opts.ifname, ...(a.includes(":") ? ["nodad"] : [])]);
  }
  await pod.ip(["link", "set", opts.ifname, "up"]);
  await waitLinkReady(pod, opts.ifname);
  for (const gw of opts.gateways) {
    // The main plugins add routes without "exclusive": a second default is kept.
    await pod.ip([
      "route",
      "append",
      gw.includes(":") ? "::/0" : "0.0.0.0/0",
      "via",
      gw,
      "dev",
      opts.ifname,
    ]);
  }
  const mac = await macOf(pod, opts.ifname);
  return {
    cniVersion: "1.0.0",
    interfaces: [{ name: opts.ifname, mac, sandbox: pod.path }],
    ips: opts.addrs.map((a) => {
      const gateway = opts.gateways.find((g) => g.includes(":") === a.includes(":"));
      return { address: a, interface: 0, ...(gateway === undefined ? {} : { gateway }) };
    }),
    routes: opts.gateways.map((g) => ({ dst: g.includes(":") ? "::/0" : "0.0.0.0/0", gw: g })),
  };
}

/**
 * eth0 as the ptp plugin makes it (an overlay CNI's NIC): a veth whose node end
 * holds 10.233.100.1/32, the pod 10.233.100.2/24 with its default via it.
 *
 * @param w the world
 * @param pod the pod
 * @param hostEnd the node end's name
 */
export async function addPtpEth0(w: World, pod: TestNetns, hostEnd: string): Promise<void> {
  await addVethPair(w.node, hostEnd, pod, "eth0", {
    up: "a",
    beforeUp: () => w.node.ip(["addr", "add", "10.233.100.1/32", "dev", hostEnd]),
  });
  await w.node.ip(["route", "add", "10.233.100.2/32", "dev", hostEnd, "scope", "host"]);
  await pod.ip(["addr", "add", "10.233.100.2/24", "dev", "eth0", "noprefixroute"]);
  await pod.ip(["link", "set", "eth0", "up"]);
  await waitLinkReady(pod, "eth0");
  await waitLinkReady(w.node, hostEnd);
  await pod.ip([
    "route",
    "add",
    "10.233.100.1",
    "dev",
    "eth0",
    "scope",
    "link",
    "src",
    "10.233.100.2",
  ]);
  await pod.ip([
    "route",
    "add",
    "10.233.100.0/24",
    "via",
    "10.233.100.1",
    "dev",
    "eth0",
    "src",
    "10.233.100.2",
  ]);
  await pod.ip(["route", "add", "default", "via", "10.233.100.1", "dev", "eth0"]);
}

/**
 * Give a pod a NIC that stands in for an SR-IOV VF: a plain L2 device with a
 * MAC of its own on the underlay, here one end of a veth pair whose other end
 * is a port of the world's switch (this kernel has no VFs; in the pod a VF has
 * no link kind, a veth end is a `veth`, which the plugin does not look at for
 * an underlay NIC). Addresses, default routes and prevResult as
 * {@linkcode addMacvlanNic}.
 *
 * @param w the world
 * @param pod the pod
 * @param opts NIC name, addresses (CIDR), gateways
 * @returns the 1.0.0 prevResult
 */
export async function addSwitchPortNic(
  w: World,
  pod: TestNetns,
  opts: { ifname: string; addrs: string[]; gateways: string[] },
): Promise<Result> {
  const port = `vf${Math.floor(Math.random() * 1e6)}`;
  await addVethPair(w.sw, port, pod, opts.ifname);
  await w.sw.ip(["link", "set", port, "master", "br0"]);
  await w.sw.ip(["link", "set", port, "up"]);
  return await configureNic(pod, opts);
}
