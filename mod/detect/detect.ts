/**
 * IP conflict and gateway reachability detection on the pod's NIC, over raw
 * ARP / NDP frames built and parsed by the Wasm codec. What is sent, what
 * counts as an answer and the error messages: docs/detection.md. One file
 * (about 500 lines): the IPv4 and IPv6 probes share the socket handling, the
 * timing and the evidence they report.
 *
 * - IPv4 conflict: RFC 5227 ARP probes (SPA 0.0.0.0, THA zeros), `retries`
 *   of them `intervalMs` apart; every ARP frame is read until `timeoutMs`
 *   after the last probe. A reply for the address, a request that uses it as
 *   sender, or a competing probe for it, from a MAC that is not ours, is a
 *   conflict (RFC 5227, Section 2.1.1).
 * - IPv6 conflict: RFC 4862 DAD solicitations (from `::`, no SLLA, to the
 *   solicited-node group). An NA for the address, or a competing DAD probe,
 *   from a MAC that is not ours is a conflict. Anything carrying our own MAC
 *   (our own kernel answers for addresses it holds) is ignored, and reading
 *   goes on until the deadline: the original stopped at the first NA, which was
 *   almost always its own.
 * - Gateway: an ARP request (SPA = a pod IPv4, SHA = the current MAC) or an NS
 *   (src = a pod IPv6, SLLA = the current MAC) per gateway and round; a reply
 *   decides "up" at once, silence until the deadline is "unreachable".
 *
 * All addresses of one call share one socket per family, and the two
 * families run concurrently, so a dual-stack pod without conflicts waits one
 * window: `(retries - 1) * intervalMs + timeoutMs` (120 ms with the defaults).
 *
 * The decision functions ({@linkcode conflictEvidence},
 * {@linkcode isGatewayReply}) are pure and take parsed frames.
 *
 * Requires `--allow-ffi`, `--allow-read` and `CAP_NET_RAW` in the pod netns.
 *
 * @example
 * ```ts
 * import { conflictEvidence } from "./detect.ts";
 * const evidence = conflictEvidence({
 *   kind: "arp",
 *   eth: { dst: "02:00:00:00:00:01", src: "02:00:00:00:00:99", ethertype: 0x0806 },
 *   arp: {
 *     operation: 2,
 *     senderHardwareAddr: "02:00:00:00:00:99",
 *     senderProtocolAddr: "10.0.0.7",
 *     targetHardwareAddr: "02:00:00:00:00:01",
 *     targetProtocolAddr: "0.0.0.0",
 *   },
 * }, "10.0.0.7", "02:00:00:00:00:01");
 * if (evidence?.mac !== "02:00:00:00:00:99") throw new Error("unexpected");
 * ```
 *
 * @module
 */

import type { DetectOptions } from "../config/types.ts";
import { CniError, ErrorCode } from "../errors.ts";
import type { Frame } from "../codec/mod.ts";
import { canonicalAddress, formatIp } from "../ip.ts";
import { inNetns } from "../kernel/netns.ts";
import { openRawSocket, readProcFileSync } from "./rawsock.ts";
import type { FrameProtocol, RawSocket } from "./rawsock.ts";

/** Arguments of {@linkcode detectIpConflicts}. */
export interface DetectIpConflictsArgs {
  /** Pod netns path. */
  netns: string;
  /** The pod NIC (CNI_IFNAME). */
  ifname: string;
  /** The NIC's current MAC: frames carrying it are our own. */
  mac: string;
  /** The NIC's addresses, plain (no prefix length). */
  ips: readonly string[];
  /** Timing. */
  options: DetectOptions;
}

/** Arguments of {@linkcode detectGateways}. */
export interface DetectGatewaysArgs extends DetectIpConflictsArgs {
  /** The gateways to check, plain addresses. */
  gateways: readonly string[];
}

/** Why a frame shows that an address is in use. */
export type ConflictReason =
  | "arp reply"
  | "arp request from the address"
  | "competing arp probe"
  | "neighbor advertisement"
  | "competing dad probe";

/** What a conflicting frame told us. */
export interface ConflictEvidence {
  /** The MAC that holds the address (SHA, TLLA or Ethernet source). */
  mac: string;
  /** The kind of frame. */
  reason: ConflictReason;
}

/**
 * Injected I/O for tests: how sockets are opened. The default opens a real
 * {@linkcode RawSocket} in the pod netns.
 */
export interface DetectDeps {
  /** Open a socket for `protocol` on the NIC. */
  open(args: { netns: string; ifname: string; protocol: FrameProtocol }): Promise<ProbeSocket>;
}

/** The part of {@linkcode RawSocket} that detection uses. */
export type ProbeSocket = Pick<RawSocket, "send" | "tryRecv" | "linkFlags" | "close">;

function sameIp(a: string, b: string): boolean {
  return a === b || canonicalAddress(a) === canonicalAddress(b);
}

function sameMac(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

const UNSPECIFIED_V4 = "0.0.0.0";
const MAC_RE = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;

function checkMac(mac: string, ifname: string): void {
  if (!MAC_RE.test(mac)) {
    throw new CniError(
      ErrorCode.Internal,
      `Cannot probe on "${ifname}": invalid MAC address "${mac}"`,
    );
  }
}

/**
 * Decide whether one received frame shows that `ip` is held by another host
 * (RFC 5227 Section 2.1.1, RFC 4862 Section 5.4.3; the table in
 * docs/detection.md). Frames whose Ethernet source or sender hardware address
 * is `ownMac` are never evidence.
 *
 * @param frame a parsed frame
 * @param ip the pod address being checked (canonical or not)
 * @param ownMac the pod NIC's MAC
 * @returns the evidence, or undefined when the frame says nothing about `ip`
 */
export function conflictEvidence(
  frame: Frame,
  ip: string,
  ownMac: string,
): ConflictEvidence | undefined {
  if (sameMac(frame.eth.src, ownMac)) return undefined;
  if (frame.kind === "arp") {
    const a = frame.arp;
    if (sameMac(a.senderHardwareAddr, ownMac)) return undefined;
    const mac = a.senderHardwareAddr.toLowerCase();
    if (sameIp(a.senderProtocolAddr, ip)) {
      return { mac, reason: a.operation === 2 ? "arp reply" : "arp request from the address" };
    }
    if (
      a.operation === 1 && a.senderProtocolAddr === UNSPECIFIED_V4 &&
      sameIp(a.targetProtocolAddr, ip)
    ) {
      return { mac, reason: "competing arp probe" };
    }
    return undefined;
  }
  const m = frame.ndp;
  if (!sameIp(m.target, ip)) return undefined;
  if (m.kind === "na") {
    // RFC 4861 lets the TLLA be left out; then the Ethernet source is the holder.
    const mac = (m.targetLinkLayerAddr ?? frame.eth.src).toLowerCase();
    if (sameMac(mac, ownMac)) return undefined;
    return { mac, reason: "neighbor advertisement" };
  }
  if (frame.ip6.src === "::") {
    return { mac: frame.eth.src.toLowerCase(), reason: "competing dad probe" };
  }
  return undefined;
}

/**
 * Decide whether one received frame is the gateway answering: an ARP reply
 * with SPA = `gateway`, or a neighbour advertisement for `gateway`, not from
 * `ownMac`.
 *
 * @param frame a parsed frame
 * @param gateway the gateway address
 * @param ownMac the pod NIC's MAC
 * @returns true when the gateway answered
 */
export function isGatewayReply(frame: Frame, gateway: string, ownMac: string): boolean {
  if (sameMac(frame.eth.src, ownMac)) return false;
  if (frame.kind === "arp") {
    return frame.arp.operation === 2 && sameIp(frame.arp.senderProtocolAddr, gateway) &&
      !sameMac(frame.arp.senderHardwareAddr, ownMac);
  }
  return frame.ndp.kind === "na" && sameIp(frame.ndp.target, gateway) &&
    !sameMac(frame.ndp.targetLinkLayerAddr ?? frame.eth.src, ownMac);
}

/** One address being probed on a socket. */
interface Probe<V> {
  /** The address, for messages. */
  addr: string;
  /** The frame sent each round. */
  frame: Uint8Array;
  /** Look at a received frame; a value decides this probe. */
  decide(frame: Frame): V | undefined;
  verdict?: V;
  sent: number;
}

/** Shared between the per-family loops of one call: stop all once one decided the call. */
interface Stop {
  stopped: boolean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The longest wait for the kernel's link watch to mark a just-raised NIC running. */
const CARRIER_WAIT_MS = 1000;

async function ensureUsable(
  sock: ProbeSocket,
  where: { netns: string; ifname: string },
): Promise<void> {
  let flags = sock.linkFlags();
  if (!flags.up) {
    throw new CniError(
      ErrorCode.RawSocketFailed,
      `Interface "${where.ifname}" in netns "${where.netns}" is down: it must be up before probing`,
    );
  }
  // A NIC raised a moment ago gets its carrier (and a working queue) from the
  // kernel's link watch, which can lag; frames sent before that are dropped.
  const until = performance.now() + CARRIER_WAIT_MS;
  while (!flags.running && performance.now() < until) {
    await sleep(5);
    flags = sock.linkFlags();
  }
  if (!flags.running) {
    throw new CniError(
      ErrorCode.RawSocketFailed,
      `Interface "${where.ifname}" in netns "${where.netns}" has no carrier after ${CARRIER_WAIT_MS} ms: frames cannot be sent`,
    );
  }
}

/**
 * Send each undecided probe `retries` times `intervalMs` apart and feed every
 * received frame to every undecided probe until `timeoutMs` after the last
 * round, until all probes are decided, or until `stopWhen` says so.
 */
async function runProbes<V>(
  sock: ProbeSocket,
  probes: Probe<V>[],
  options: DetectOptions,
  parse: (bytes: Uint8Array) => Frame | Error,
  stop: Stop,
  stopWhen: (verdict: V) => boolean,
): Promise<void> {
  const rounds = Math.max(1, Math.floor(options.retries));
  const interval = Math.max(0, options.intervalMs);
  const start = performance.now();
  let round = 0;
  let deadline = Infinity;
  const undecided = () => probes.filter((p) => p.verdict === undefined);
  while (!stop.stopped && undecided().length > 0) {
    const now = performance.now();
    if (round < rounds && now >= start + round * interval) {
      for (const p of undecided()) {
        sock.send(p.frame);
        p.sent++;
      }
      round++;
      if (round === rounds) deadline = performance.now() + options.timeoutMs;
    }
    for (let bytes = sock.tryRecv(); bytes !== undefined; bytes = sock.tryRecv()) {
      const frame = parse(bytes);
      if (frame instanceof Error) continue; // not ARP / NS / NA, or malformed
      for (const p of undecided()) {
        const v = p.decide(frame);
        if (v === undefined) continue;
        p.verdict = v;
        if (stopWhen(v)) {
          stop.stopped = true;
          return;
        }
      }
      if (undecided().length === 0) return;
    }
    const t = performance.now();
    if (round === rounds && t >= deadline) return;
    const nextSend = round < rounds ? start + round * interval : deadline;
    const wait = Math.min(1, Math.max(0, Math.min(nextSend, deadline) - t));
    await sleep(wait);
  }
}

function realOpen(
  args: { netns: string; ifname: string; protocol: FrameProtocol },
): Promise<ProbeSocket> {
  try {
    return Promise.resolve(openRawSocket(args));
  } catch (err) {
    return Promise.reject(err);
  }
}

const defaultDeps: DetectDeps = { open: realOpen };

interface FamilySplit {
  v4: string[];
  v6: string[];
}

function splitFamilies(addrs: readonly string[], what: string): FamilySplit {
  const out: FamilySplit = { v4: [], v6: [] };
  for (const a of addrs) {
    const c = canonicalAddress(a);
    if (c === undefined) {
      throw new CniError(ErrorCode.Internal, `Cannot probe ${what} "${a}": not an IP address`);
    }
    const list = c.includes(":") ? out.v6 : out.v4;
    if (!list.includes(c)) list.push(c);
  }
  return out;
}

async function withSocket<T>(
  deps: DetectDeps,
  args: { netns: string; ifname: string; protocol: FrameProtocol },
  fn: (sock: ProbeSocket) => Promise<T>,
): Promise<T> {
  const sock = await deps.open(args);
  try {
    await ensureUsable(sock, args);
    return await fn(sock);
  } finally {
    sock.close();
  }
}

/**
 * Check that no other host on the NIC's link holds one of `ips`: ARP probes for IPv4, DAD neighbour solicitations for IPv6, all addresses and
 * both families at once. Returns at the first conflict; without one it takes
 * `(retries - 1) * intervalMs + timeoutMs`.
 *
 * Requires `--allow-ffi` and `CAP_NET_RAW`.
 *
 * @param args netns, NIC, its current MAC, its addresses, timing
 * @param deps injected socket opener (tests)
 * @throws {CniError} code 100 naming the IP and the MAC that answered; code 105
 *   when a socket fails; 102 when the netns is gone
 */
export async function detectIpConflicts(
  args: DetectIpConflictsArgs,
  deps: DetectDeps = defaultDeps,
): Promise<void> {
  const { netns, ifname, mac, options } = args;
  const { v4, v6 } = splitFamilies(args.ips, "address");
  if (v4.length === 0 && v6.length === 0) return;
  checkMac(mac, ifname);
  const codec = await import("../codec/mod.ts");
  const stop: Stop = { stopped: false };
  const conflicts: { ip: string; evidence: ConflictEvidence }[] = [];
  const run = async (family: 4 | 6, ips: string[]) => {
    if (ips.length === 0) return;
    await withSocket(deps, { netns, ifname, protocol: family === 4 ? "arp" : "icmpv6" }, (sock) => {
      const probes: Probe<ConflictEvidence>[] = ips.map((ip) => ({
        addr: ip,
        frame: family === 4 ? codec.buildArpProbe(mac, ip) : codec.buildDadSolicitation(mac, ip),
        decide: (f) => conflictEvidence(f, ip, mac),
        sent: 0,
      }));
      const done = runProbes(sock, probes, options, codec.parseFrame, stop, () => true);
      return done.then(() => {
        for (const p of probes) {
          if (p.verdict !== undefined) conflicts.push({ ip: p.addr, evidence: p.verdict });
        }
      });
    });
  };
  await settleAll(stop, [run(4, v4), run(6, v6)]);
  const first = conflicts[0];
  if (first !== undefined) {
    throw new CniError(
      ErrorCode.IpConflict,
      `IP address "${first.ip}" on "${ifname}" is already in use by "${first.evidence.mac}"`,
      {
        details: conflicts.map((c) => `${c.ip}: ${c.evidence.reason} from ${c.evidence.mac}`)
          .join("; "),
      },
    );
  }
}

/**
 * Wait for all per-family loops; if one fails, stop the others and rethrow
 * the first failure once they have closed their sockets.
 */
async function settleAll(stop: Stop, runs: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(runs.map((r) =>
    r.catch((err) => {
      stop.stopped = true;
      throw err;
    })
  ));
  for (const r of results) {
    if (r.status === "rejected") throw r.reason;
  }
}

/**
 * Read a usable (not tentative, not failed) IPv6 link-local address of the
 * NIC from `/proc/thread-self/net/if_inet6` inside the pod netns.
 */
function linkLocalOf(netns: string, ifname: string): string | undefined {
  // Absent when IPv6 is disabled in the pod.
  const text = inNetns(netns, () => readProcFileSync("/proc/thread-self/net/if_inet6")) ?? "";
  for (const line of text.split("\n")) {
    const [hex, , , scope, flags, name] = line.trim().split(/\s+/);
    if (name !== ifname || hex?.length !== 32 || scope !== "20") continue;
    // IFA_F_TENTATIVE 0x40, IFA_F_DADFAILED 0x08
    if ((parseInt(flags ?? "0", 16) & 0x48) !== 0) continue;
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 16; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    return formatIp({ family: 6, bytes });
  }
  return undefined;
}

/**
 * Check that every gateway answers on the NIC: an ARP request
 * (SPA = the first pod IPv4, SHA = `mac`) or a neighbour solicitation (src = the
 * first pod IPv6, else the NIC's link-local address, SLLA = `mac`; else a
 * DAD-style NS from `::`) per gateway and round. A gateway is up as soon as it replies; the
 * call returns when all are up, or fails `timeoutMs` after the last round.
 * The requests also refresh the gateway's neighbour entry for the pod.
 *
 * Requires `--allow-ffi` and `CAP_NET_RAW`.
 *
 * @param args netns, NIC, its current MAC, its addresses, the gateways, timing
 * @param deps injected socket opener (tests)
 * @throws {CniError} code 101 naming the gateway, the interface and the tries;
 *   105 when a socket fails; 102 when the netns is gone
 */
export async function detectGateways(
  args: DetectGatewaysArgs,
  deps: DetectDeps = defaultDeps,
): Promise<void> {
  const { netns, ifname, mac, options } = args;
  const gws = splitFamilies(args.gateways, "gateway");
  if (gws.v4.length === 0 && gws.v6.length === 0) return;
  checkMac(mac, ifname);
  const own = splitFamilies(args.ips, "address");
  const codec = await import("../codec/mod.ts");
  const stop: Stop = { stopped: false };
  const silent: Probe<true>[] = [];
  const run = async (family: 4 | 6, targets: string[]) => {
    if (targets.length === 0) return;
    // Without any usable IPv6 source, a DAD-style NS from "::" still makes a
    // gateway that holds the address answer (to ff02::1).
    const src = family === 4
      ? own.v4[0] ?? UNSPECIFIED_V4
      : own.v6[0] ?? linkLocalOf(netns, ifname) ?? "::";
    await withSocket(deps, { netns, ifname, protocol: family === 4 ? "arp" : "icmpv6" }, (sock) => {
      const probes: Probe<true>[] = targets.map((gw) => ({
        addr: gw,
        frame: family === 4
          ? codec.buildArpRequest({ srcMac: mac, srcIp: src, targetIp: gw })
          : src === "::"
          ? codec.buildDadSolicitation(mac, gw)
          : codec.buildNeighborSolicitation({
            srcMac: mac,
            src,
            target: gw,
            sourceLinkLayerAddr: mac,
          }),
        decide: (f) => isGatewayReply(f, gw, mac) ? true : undefined,
        sent: 0,
      }));
      return runProbes(sock, probes, options, codec.parseFrame, stop, () => false).then(() => {
        silent.push(...probes.filter((p) => p.verdict === undefined));
      });
    });
  };
  await settleAll(stop, [run(4, gws.v4), run(6, gws.v6)]);
  const first = silent[0];
  if (first !== undefined) {
    const names = silent.map((p) => `"${p.addr}"`).join(", ");
    const probes = first.sent === 1 ? "1 probe" : `${first.sent} probes`;
    throw new CniError(
      ErrorCode.GatewayUnreachable,
      silent.length === 1
        ? `Gateway ${names} did not answer on "${ifname}" after ${probes}`
        : `Gateways ${names} did not answer on "${ifname}" after ${probes}`,
      {
        details:
          `No ARP reply / neighbor advertisement within ${options.timeoutMs} ms after the last of ${probes} sent ${options.intervalMs} ms apart`,
      },
    );
  }
}
