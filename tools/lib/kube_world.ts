/**
 * One file: the kube-proxy node, its backend and client, the pods and the TCP exchanges share one world's addresses and life cycle.
 *
 * A Kubernetes node as kube-proxy (iptables mode by default) and Calico leave it, built of
 * throwaway network namespaces on top of {@linkcode createWorld}:
 *
 * ```
 *   [client] eth0 10.8.0.50/24, fd00:8::50/64 ── ext0 10.8.0.1, fd00:8::1 [gw]
 *                                                 [gw] eth0 10.6.0.1/16 ── br0 [switch]
 *   [node] ens192 10.6.212.101/16, fd00:6::101/64 ───────────────────────── br0
 *          cali<n> (ee:ee:ee:ee:ee:ee, proxy_arp) ── eth0 [backend] 10.233.64.10/32,
 *                                                     fd00:10:233:64::10/128
 *          kube-proxy (iptables mode, or nftables mode; tools/lib/kube_proxy.ts):
 *                  ClusterIP 10.233.0.10:80 / [fd00:10:233::10]:80 -> backend:8080
 *                  (PREROUTING + OUTPUT, masquerade unless from 10.233.64.0/18)
 *                  NodePort <node IP>:30080 -> underlay pod:8080 (Local: no masquerade)
 *                  NodePort <node IP>:30081 -> overlay pod's eth0:8080 (Local)
 *                  KUBE-FORWARD (conntrack INVALID dropped, as kube-proxy does)
 *          mangle: TEST-ACCT (counts TCP port 8080 replies the node forwards)
 *   [pods] made by addUnderlayPod() / addOverlayPod(): rp_filter 2 as a distro
 *          leaves it; the plugins under test fill them
 * ```
 *
 * The backend runs a small TCP/HTTP server (a `deno eval` program started in
 * its netns) that answers with its own name and the peer address it saw;
 * {@linkcode KubeWorld.serve} starts the same server in any netns, and
 * {@linkcode KubeWorld.exchange} is one real TCP exchange with a short
 * timeout ({@linkcode tcpExchanges}: several from one netns in one client process).
 * The two-node world (tools/lib/cluster_world.ts) is built of the same parts:
 * {@linkcode addCalicoEth0}, {@linkcode addExternalClient}, {@linkcode startTcpServer},
 * {@linkcode addForwardAccounting}. Everything (servers first, then every netns) is removed by
 * `destroy()` / `await using`, also on failure. Requires root, iproute2,
 * iptables/ip6tables (nat, filter, mangle; conntrack, addrtype, comment, statistic); `nft` in
 * nftables mode.
 *
 * @example
 * ```ts ignore
 * await using kw = await createKubeWorld();
 * const pod = await kw.addUnderlayPod();
 * await kw.serve(pod, "underlay-pod");
 * const r = await kw.exchange(kw.client, KUBE.nodeIp4, KUBE.nodePort);
 * ```
 *
 * @module
 */

import { addVethPair, createNetns, type TestNetns } from "./netns.ts";
import { errorMessage } from "../../mod/errors.ts";
import { pollUntil, within } from "./poll.ts";
import { applyKubeProxy, type KubeProxyMode, type ProxyConfig } from "./kube_proxy.ts";
import { createWorld, WORLD, type World } from "./world.ts";

/** The fixed addresses and ports of every kube world. */
export const KUBE = {
  nodeIp4: WORLD.nodeIp4,
  nodeIp6: WORLD.nodeIp6,
  serviceCIDR: ["10.233.0.0/18", "fd00:10:233::/116"],
  overlayPodCIDR: ["10.233.64.0/18", "fd00:10:233:64::/64"],
  clusterIp4: "10.233.0.10",
  clusterIp6: "fd00:10:233::10",
  servicePort: 80,
  backendIp4: "10.233.64.10",
  backendIp6: "fd00:10:233:64::10",
  /** The port every test server listens on. */
  serverPort: 8080,
  /** NodePort of the underlay pod (externalTrafficPolicy=Local). */
  nodePort: 30080,
  /** NodePort of the overlay pod's eth0 (externalTrafficPolicy=Local). */
  overlayNodePort: 30081,
  /** The underlay pod's eth0 (macvlan on ens192). */
  underlayIp4: "10.6.212.241",
  underlayIp6: "fd00:6::f1",
  /** The overlay pod's Calico eth0. */
  overlayEth0Ip4: "10.233.64.20",
  overlayEth0Ip6: "fd00:10:233:64::20",
  /** The overlay pod's net1 (macvlan on ens192). */
  overlayNet1Ip4: "10.6.212.242",
  overlayNet1Ip6: "fd00:6::f2",
  clientIp4: "10.8.0.50",
  clientIp6: "fd00:8::50",
  clientGw4: "10.8.0.1",
  clientGw6: "fd00:8::1",
  /** Calico's gateway for its pods (answered by proxy ARP on the cali link). */
  caliGw4: "169.254.1.1",
  /** The link-local address of a cali link (EUI-64 of ee:ee:ee:ee:ee:ee). */
  caliGw6: "fe80::ecee:eeff:feee:eeee",
  caliMac: "ee:ee:ee:ee:ee:ee",
} as const;

/** The IP family of an address. */
export type Family = 4 | 6;

/** The name of the kube world's node (the endpoints' `nodeName`). */
export const KUBE_NODE = "node";

/**
 * The node's Services of one family, as kube-proxy sees them: the backend's ClusterIP, the
 * underlay pod's and the overlay pod's NodePorts (externalTrafficPolicy=Local; their
 * ClusterIPs 10.233.0.20 / .21 are not used by the tests).
 *
 * @param family the family
 * @returns kube-proxy's config for {@linkcode applyKubeProxy}
 */
export function kubeProxyConfig(family: Family): ProxyConfig {
  const c = (s4: string, s6: string) => (family === 6 ? s6 : s4);
  const ep = (ip4: string, ip6: string) => [
    { ip: c(ip4, ip6), port: KUBE.serverPort, node: KUBE_NODE },
  ];
  const svc = { namespace: "default", portName: "http", port: KUBE.servicePort } as const;
  return {
    family,
    node: KUBE_NODE,
    nodeIps: [c(KUBE.nodeIp4, KUBE.nodeIp6)],
    clusterCidr: c(KUBE.overlayPodCIDR[0], KUBE.overlayPodCIDR[1]),
    serviceCidr: c(KUBE.serviceCIDR[0], KUBE.serviceCIDR[1]),
    services: [
      {
        ...svc,
        name: "backend",
        clusterIp: c(KUBE.clusterIp4, KUBE.clusterIp6),
        endpoints: ep(KUBE.backendIp4, KUBE.backendIp6),
      },
      {
        ...svc,
        name: "underlay",
        clusterIp: c("10.233.0.20", "fd00:10:233::20"),
        nodePort: KUBE.nodePort,
        externalTrafficPolicy: "Local",
        endpoints: ep(KUBE.underlayIp4, KUBE.underlayIp6),
      },
      {
        ...svc,
        name: "overlay",
        clusterIp: c("10.233.0.21", "fd00:10:233::21"),
        nodePort: KUBE.overlayNodePort,
        externalTrafficPolicy: "Local",
        endpoints: ep(KUBE.overlayEth0Ip4, KUBE.overlayEth0Ip6),
      },
    ],
  };
}

/** Forwarded replies to count: from `src` (TCP port 8080), to `dst` only or anywhere. */
export interface ReplyFlow {
  src: string;
  dst?: string;
}

function flowMatch(f: ReplyFlow): string {
  const host = f.src.includes(":") ? 128 : 32;
  return `-s ${f.src}/${host}${f.dst === undefined ? "" : ` -d ${f.dst}/${host}`}`;
}

/**
 * Count, in the node's `mangle` FORWARD chain (`TEST-ACCT`), the TCP packets from port 8080
 * that the node forwards, per flow: the replies of the test servers. Before kube-proxy's
 * filter rules (which may drop them) and untouched when they are rewritten. Call once per node.
 *
 * @param node the node netns
 * @param flows pod addresses (any destination) or source and destination (both families)
 */
export async function addForwardAccounting(
  node: TestNetns,
  flows: readonly (string | ReplyFlow)[],
): Promise<void> {
  const all = flows.map((f) => (typeof f === "string" ? { src: f } : f));
  for (const v6 of [false, true]) {
    const mine = all.filter((f) => f.src.includes(":") === v6);
    if (mine.length === 0) continue;
    await node.exec([v6 ? "ip6tables-restore" : "iptables-restore", "--noflush"], {
      stdin: [
        "*mangle",
        ":TEST-ACCT - [0:0]",
        "-A FORWARD -j TEST-ACCT",
        ...mine.map((f) =>
          `-A TEST-ACCT ${
            flowMatch(f)
          } -p tcp -m tcp --sport ${KUBE.serverPort} -m comment --comment "forwarded replies of ${f.src}${
            f.dst === undefined ? "" : ` to ${f.dst}`
          }"`
        ),
        "COMMIT",
        "",
      ].join("\n"),
    });
  }
}

/**
 * How many packets of a flow (from `src`, TCP source port 8080, to `dst` if given) the node
 * has forwarded ({@linkcode addForwardAccounting}); throws when its rule is not found.
 *
 * @param node the node netns
 * @param src the source address
 * @param dst the destination, for a flow counted with one
 * @returns the packet counter
 */
export async function forwardedPackets(
  node: TestNetns,
  src: string,
  dst?: string,
): Promise<number> {
  const v6 = src.includes(":");
  const save = await node.exec([v6 ? "ip6tables-save" : "iptables-save", "-c", "-t", "mangle"]);
  const match = ` ${flowMatch(dst === undefined ? { src } : { src, dst })} -p tcp `;
  const line = save.stdout.split("\n").find((l) =>
    l.includes("-A TEST-ACCT ") && l.includes(match)
  );
  const m = /^\[(\d+):\d+\]/.exec(line ?? "");
  if (!m) {
    throw new Error(`No TEST-ACCT rule "${match.trim()}" in ${node.name}:\n${save.stdout}`);
  }
  return Number(m[1]);
}

/** A running test server; dispose it to stop it. */
export interface TcpServer extends AsyncDisposable {
  /** The name it answers with. */
  readonly name: string;
  /** Stop it (idempotent). */
  stop(): Promise<void>;
}

/** The outcome of one TCP exchange. */
export interface Exchange {
  /** A whole HTTP answer arrived before the timeout. */
  ok: boolean;
  /** The server's name (the answer's first word), when ok. */
  server?: string;
  /** The peer address the server saw, when ok. */
  peer?: string;
  /** The client's local address, when connected. */
  local?: string;
  /** The TCP handshake completed (a SYN-ACK came back), whatever happened next. */
  connected?: boolean;
  /** Why not: "timeout", the connect error, a short answer. */
  error?: string;
}

/** The destination of one exchange. */
export interface ExchangeTarget {
  ip: string;
  port: number;
}

/** Options of {@linkcode KubeWorld.exchange}. */
export interface ExchangeOptions {
  /** Give up after this many milliseconds (default 2000). */
  timeoutMs?: number;
}

/** A pod with a Calico eth0 and, later, a macvlan net1 made by the plugins. */
export interface OverlayPod {
  readonly ns: TestNetns;
  /** The node end of eth0 (cali<n>). */
  readonly cali: string;
}

/** A built kube world; dispose it to stop every server and remove every netns. */
export interface KubeWorld extends AsyncDisposable {
  readonly world: World;
  readonly node: TestNetns;
  readonly gw: TestNetns;
  readonly client: TestNetns;
  readonly backend: TestNetns;
  /** The node end of the backend's eth0. */
  readonly backendCali: string;
  /** The families the world has (4, and 6 unless built without IPv6). */
  readonly families: readonly Family[];
  /** kube-proxy's mode on the node. */
  readonly mode: KubeProxyMode;
  /** An empty pod netns (lo up) with the distro's rp_filter 2 on all, default and lo. */
  addUnderlayPod(prefix?: string): Promise<TestNetns>;
  /**
   * A pod netns (distro rp_filter 2) whose eth0 is a Calico-style veth with
   * KUBE.overlayEth0Ip4 / Ip6; net1 is left to the plugins.
   */
  addOverlayPod(prefix?: string): Promise<OverlayPod>;
  /**
   * Start the test server in `ns` on `[::]:port` (both families); it answers
   * every connection with `HTTP/1.0 200` and the body `<name> peer=<addr>`.
   */
  serve(ns: TestNetns, name: string, port?: number): Promise<TcpServer>;
  /** One TCP exchange (HTTP GET) from `from` to `ip:port` within the timeout. */
  exchange(from: TestNetns, ip: string, port: number, opts?: ExchangeOptions): Promise<Exchange>;
  /**
   * Make `ns` talk to `gateway` (a TCP SYN, which the gateway refuses) until
   * its neighbour entry is REACHABLE, as it is in a pod that uses the gateway,
   * and keep it so for the rest of the test (`dev`'s base_reachable_time in
   * `ns` raised to 10 minutes: by default it goes STALE 15-45 s later, which a
   * slow test on a busy machine can outlast); returns
   * `ip neigh show <gateway> dev <dev>`.
   */
  resolveNeighbour(ns: TestNetns, gateway: string, dev: string): Promise<string>;
  /** How many packets from `src` (TCP source port 8080) the node has forwarded. */
  forwardedFrom(src: string): Promise<number>;
  /** Stop every server, remove every netns (idempotent). */
  destroy(): Promise<void>;
}

/** Options of {@linkcode createKubeWorld}. */
export interface KubeWorldOptions {
  /** Build the IPv6 half too (default true). */
  ipv6?: boolean;
  /**
   * kube-proxy's mode (default iptables). In nftables mode there is no conntrack INVALID
   * drop (kubernetes/kubernetes#122663), and the forward accounting stays in iptables' mangle.
   */
  mode?: KubeProxyMode;
}

const DISTRO_RP_FILTER = 2;

/**
 * What Debian/Ubuntu leave in a fresh netns (systemd's 50-default.conf): rp_filter 2 on all,
 * default and lo.
 *
 * @param ns the pod netns
 */
export function setDistroSysctls(ns: TestNetns): void {
  // Debian/Ubuntu (systemd 50-default.conf): rp_filter 2 for default and "*".
  for (const k of ["all", "default", "lo"]) {
    ns.setSysctl(`net.ipv4.conf.${k}.rp_filter`, DISTRO_RP_FILTER);
  }
}

function caliName(): string {
  return `cali${crypto.getRandomValues(new Uint32Array(1))[0]!.toString(16).padStart(8, "0")}`;
}

/**
 * Give `pod` an eth0 the way Calico does: a veth whose node end `cali<n>` has
 * MAC ee:ee:ee:ee:ee:ee, no address and proxy ARP; /32 (/128) routes to the
 * pod on the node; in the pod the address as /32 (/128) and a default route
 * via 169.254.1.1 (IPv6: via the cali link's link-local address).
 *
 * @param node the node netns
 * @param pod the pod netns
 * @param ip4 the pod's IPv4 address
 * @param ip6 the pod's IPv6 address, if any
 * @returns the name of the node end
 */
export async function addCalicoEth0(
  node: TestNetns,
  pod: TestNetns,
  ip4: string,
  ip6?: string,
): Promise<string> {
  const cali = caliName();
  await addVethPair(node, cali, pod, "eth0", {
    aMac: KUBE.caliMac,
    beforeUp: () => {
      node.setSysctl(`net.ipv4.conf.${cali}.proxy_arp`, 1);
      node.setSysctl(`net.ipv6.conf.${cali}.accept_dad`, 0);
      pod.setSysctl("net.ipv6.conf.eth0.accept_dad", 0);
    },
  });
  const nodeBatch = [`route add ${ip4}/32 dev ${cali} scope link`];
  const podBatch = [
    `addr add ${ip4}/32 dev eth0`,
    `route add ${KUBE.caliGw4} dev eth0 scope link`,
    `route add default via ${KUBE.caliGw4} dev eth0`,
  ];
  if (ip6 !== undefined) {
    nodeBatch.push(`-6 route add ${ip6}/128 dev ${cali}`);
    podBatch.push(
      `-6 addr add ${ip6}/128 dev eth0 nodad`,
      `-6 route add default via ${KUBE.caliGw6} dev eth0`,
    );
  }
  for (const line of nodeBatch) await node.ip(line.split(" "));
  for (const line of podBatch) await pod.ip(line.split(" "));
  return cali;
}

const SERVER_JS = (name: string, port: number) => `
const enc = new TextEncoder();
const l = Deno.listen({ hostname: "::", port: ${port} });
console.log("READY");
for await (const c of l) {
  (async () => {
    try {
      await c.read(new Uint8Array(4096));
      const peer = c.remoteAddr.hostname.replace(/^::ffff:/, "");
      const msg = enc.encode("HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n" +
        "Connection: close\\r\\n\\r\\n" + ${JSON.stringify(name)} + " peer=" + peer + "\\n");
      for (let off = 0; off < msg.length;) off += await c.write(msg.subarray(off));
    } catch { /* the client went away */ }
    try { c.close(); } catch { /* closed */ }
  })();
}
`;

const CLIENT_JS = (targets: readonly ExchangeTarget[], timeoutMs: number) => `
const dec = (s) => s.replace(/^::ffff:/, "");
const one = (t) => new Promise((resolve) => {
  let conn;
  let connected = false;
  let done = false;
  const finish = (o) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    try { conn?.close(); } catch { /* closed by the answer */ }
    resolve({ ...o, connected });
  };
  const timer = setTimeout(() => finish({ ok: false, error: "timeout" }), ${timeoutMs});
  (async () => {
    try {
      conn = await Deno.connect({ hostname: t.ip, port: t.port });
      connected = true;
      const local = dec(conn.localAddr.hostname);
      await conn.write(new TextEncoder().encode("GET / HTTP/1.0\\r\\nHost: t\\r\\n\\r\\n"));
      const text = await new Response(conn.readable).text();
      conn = undefined;
      const m = /\\r\\n\\r\\n(\\S+) peer=(\\S+)\\n$/.exec(text);
      finish(m ? { ok: true, server: m[1], peer: m[2], local } : { ok: false, local, error: "answer: " + JSON.stringify(text) });
    } catch (err) {
      finish({ ok: false, error: String(err) });
    }
  })();
});
console.log(JSON.stringify(await Promise.all(${JSON.stringify(targets)}.map(one))));
Deno.exit(0);
`;

/** How long a test server or client may take to start (a Deno start on a busy machine). */
const SERVER_START_MS = 60_000;

function denoEval(code: string): string[] {
  return [Deno.execPath(), "eval", "--no-config", "--no-npm", "--no-remote", code];
}

/**
 * Start the test server in a netns on `[::]:port` (both families): it answers every
 * connection with `HTTP/1.0 200` and the body `<name> peer=<addr>`. It is running (listening)
 * when this returns.
 *
 * @param ns where it runs
 * @param name the name it answers with
 * @param port the port
 * @returns the server; stop it before the netns goes
 */
export async function startTcpServer(
  ns: TestNetns,
  name: string,
  port: number = KUBE.serverPort,
): Promise<TcpServer> {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns.name, ...denoEval(SERVER_JS(name, port))],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already ended */ }
    await child.status;
  };
  // The first line is READY once it listens: a Deno start, slow with a cold
  // cache or on a busy machine.
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const first = await within(`the test server "${name}" to print READY`, reader.read(), {
      timeoutMs: SERVER_START_MS,
    });
    if (first.done || !first.value.startsWith("READY")) {
      throw new Error(`unexpected output ${JSON.stringify(first.value ?? "")}`);
    }
  } catch (err) {
    await stop();
    const stderr = await new Response(child.stderr).text().catch(() => "");
    throw new Error(
      `Cannot start the test server "${name}" in ${ns.name}: ${errorMessage(err)} ${stderr.trim()}`,
    );
  }
  reader.releaseLock();
  // Drain the rest so the child never blocks on a full pipe.
  child.stdout.cancel().catch(() => {});
  child.stderr.cancel().catch(() => {});
  return { name, stop, [Symbol.asyncDispose]: stop };
}

/**
 * TCP exchanges (HTTP GET) from one netns, all at once in one client process, each within
 * its own timeout counted by the client program itself once it runs (so a slow start on a
 * busy machine does not count as a lost exchange). Only what the client reports is an
 * outcome: an exchange that did not complete is `ok: false` with the reason, and a client
 * that ends without its report of every target (killed, crashed; a hard kill a minute after
 * the timeout covers a hung start) is an error, never a failed exchange, or a case that must
 * fail would pass on it.
 *
 * @param from where the client runs
 * @param targets the destinations
 * @param opts the timeout
 * @returns one outcome per target, in order
 * @throws {Error} when the client ended without its report, with its exit code and output
 */
export async function tcpExchanges(
  from: TestNetns,
  targets: readonly ExchangeTarget[],
  opts: ExchangeOptions = {},
): Promise<Exchange[]> {
  if (targets.length === 0) return [];
  const timeoutMs = opts.timeoutMs ?? 2000;
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", from.name, ...denoEval(CLIENT_JS(targets, timeoutMs))],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const kill = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* ended */ }
  }, timeoutMs + SERVER_START_MS);
  const out = await child.output();
  clearTimeout(kill);
  const text = new TextDecoder().decode(out.stdout).trim();
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
  }
  if (
    Array.isArray(report) && report.length === targets.length &&
    report.every((e) => typeof e === "object" && e !== null && typeof e.ok === "boolean")
  ) {
    return report as Exchange[];
  }
  throw new Error(
    `The TCP client in ${from.name} (to ${
      targets.map((t) => `${t.ip} port ${t.port}`).join(", ")
    }) ended without its report: exit ${out.code}, stdout ${JSON.stringify(text)}, stderr ${
      JSON.stringify(new TextDecoder().decode(out.stderr).trim().slice(-2000))
    }`,
  );
}

/**
 * One TCP exchange from a netns ({@linkcode tcpExchanges} with one target).
 *
 * @param from where the client runs
 * @param ip the destination address
 * @param port the destination port
 * @param opts the timeout
 * @returns what happened
 * @throws {Error} when the client ended without a report, with its exit code and output
 */
export async function tcpExchange(
  from: TestNetns,
  ip: string,
  port: number,
  opts: ExchangeOptions = {},
): Promise<Exchange> {
  return (await tcpExchanges(from, [{ ip, port }], opts))[0]!;
}

/**
 * The external client one router hop away on the underlay network: `client`'s eth0
 * 10.8.0.50/24 (fd00:8::50/64) behind the gateway's `ext0` 10.8.0.1 (fd00:8::1), which
 * forwards (no redirects).
 *
 * @param gw the world's gateway
 * @param client an empty netns
 * @param ipv6 the IPv6 half too
 */
export async function addExternalClient(
  gw: TestNetns,
  client: TestNetns,
  ipv6: boolean,
): Promise<void> {
  gw.setSysctl("net.ipv4.ip_forward", 1);
  gw.setSysctl("net.ipv4.conf.all.send_redirects", 0);
  await addVethPair(gw, "ext0", client, "eth0");
  await gw.ip(["addr", "add", `${KUBE.clientGw4}/24`, "dev", "ext0"]);
  await client.ip(["addr", "add", `${KUBE.clientIp4}/24`, "dev", "eth0"]);
  await client.ip(["route", "add", "default", "via", KUBE.clientGw4]);
  if (ipv6) {
    gw.setSysctl("net.ipv6.conf.all.forwarding", 1);
    await gw.ip(["addr", "add", `${KUBE.clientGw6}/64`, "dev", "ext0", "nodad"]);
    await client.ip(["addr", "add", `${KUBE.clientIp6}/64`, "dev", "eth0", "nodad"]);
    await client.ip(["-6", "route", "add", "default", "via", KUBE.clientGw6]);
  }
}

/**
 * The `destroy()` of a world built on {@linkcode createWorld} (this kube world,
 * the two-node world of `./cluster_world.ts`): the test servers first (a live
 * process would keep its netns and veths), then the extra namespaces, newest
 * first, then the world; runs once, tries every step and reports every failure.
 *
 * @param what the world's name in the error
 * @param world the base world
 * @param extra namespaces added to it (read when destroy runs)
 * @param servers test servers started in it (read when destroy runs)
 * @returns destroy()
 */
export function teardown(
  what: string,
  world: World,
  extra: readonly TestNetns[],
  servers: readonly TcpServer[],
): () => Promise<void> {
  let destroyed = false;
  return async () => {
    if (destroyed) return;
    destroyed = true;
    await Promise.all(servers.map((s) => s.stop()));
    const errors: string[] = [];
    for (const ns of [...extra].reverse()) {
      await ns.destroy().catch((err) => errors.push(String(err)));
    }
    await world.destroy().catch((err) => errors.push(String(err)));
    if (errors.length > 0) {
      throw new Error(`Cannot destroy the ${what} world: ${errors.join("; ")}`);
    }
  };
}

/**
 * Build a kube world. On any failure everything made so far is removed
 * before the error is thrown.
 *
 * @param opts options
 * @returns the world
 */
export async function createKubeWorld(opts: KubeWorldOptions = {}): Promise<KubeWorld> {
  const ipv6 = opts.ipv6 ?? true;
  const mode = opts.mode ?? "iptables";
  const families: Family[] = ipv6 ? [4, 6] : [4];
  const world = await createWorld({ ipv6 });
  const extra: TestNetns[] = [];
  const servers: TcpServer[] = [];
  const destroy = teardown("kube", world, extra, servers);
  const newNetns = async (prefix: string) => {
    const ns = await createNetns(prefix);
    extra.push(ns);
    return ns;
  };
  try {
    const { node, gw } = world;
    // The external client, one router hop away on the underlay network.
    const client = await newNetns("client");
    await addExternalClient(gw, client, ipv6);

    const backend = await newNetns("backend");
    const backendCali = await addCalicoEth0(
      node,
      backend,
      KUBE.backendIp4,
      ipv6 ? KUBE.backendIp6 : undefined,
    );
    await applyKubeProxy(node, mode, families.map(kubeProxyConfig));
    await addForwardAccounting(
      node,
      families.flatMap((f) =>
        f === 4
          ? [KUBE.underlayIp4, KUBE.overlayNet1Ip4, KUBE.overlayEth0Ip4, KUBE.backendIp4]
          : [KUBE.underlayIp6, KUBE.overlayNet1Ip6, KUBE.overlayEth0Ip6, KUBE.backendIp6]
      ),
    );

    const kw: KubeWorld = {
      world,
      node,
      gw,
      client,
      backend,
      backendCali,
      families,
      mode,
      addUnderlayPod: async (prefix = "upod") => {
        const ns = await world.addPod(prefix);
        setDistroSysctls(ns);
        return ns;
      },
      addOverlayPod: async (prefix = "opod") => {
        const ns = await world.addPod(prefix);
        setDistroSysctls(ns);
        const cali = await addCalicoEth0(
          node,
          ns,
          KUBE.overlayEth0Ip4,
          ipv6 ? KUBE.overlayEth0Ip6 : undefined,
        );
        return { ns, cali };
      },
      serve: async (ns, name, port = KUBE.serverPort) => {
        const s = await startTcpServer(ns, name, port);
        servers.push(s);
        return s;
      },
      exchange: (from, ip, port, o) => tcpExchange(from, ip, port, o),
      resolveNeighbour: (ns, gateway, dev) => {
        const v6 = gateway.includes(":");
        ns.setSysctl(`net.ipv${v6 ? 6 : 4}.neigh.${dev}.base_reachable_time_ms`, 600_000);
        return pollUntil(
          `the neighbour entry of ${gateway} on ${dev} in ${ns.name} to be REACHABLE`,
          async () => {
            // Port 9 (discard) has no listener anywhere in the world: a RST answers.
            await tcpExchange(ns, gateway, 9, { timeoutMs: 1000 });
            return (await ns.ip(["neigh", "show", gateway, "dev", dev])).trim();
          },
          { until: (entry) => /\bREACHABLE\b/.test(entry), timeoutMs: 30_000 },
        );
      },
      forwardedFrom: (src) => forwardedPackets(node, src),
      destroy,
      [Symbol.asyncDispose]: destroy,
    };
    await kw.serve(backend, "backend");
    return kw;
  } catch (err) {
    await destroy().catch(() => {});
    throw err;
  }
}
