/**
 * Announce the pod NIC's (new) MAC after `podMACPrefix` changed it: one
 * gratuitous ARP per IPv4 address and one unsolicited neighbour advertisement
 * per IPv6 address, so the gateway and the neighbours replace their stale
 * cache entries at once instead of after a timeout (docs/detection.md).
 *
 * - IPv4: an RFC 5227 ARP announcement: broadcast request, SHA = the MAC,
 *   SPA = TPA = the address, THA zeros.
 * - IPv6: an RFC 4861 Section 7.2.6 unsolicited NA: to ff02::1, S=0, O=1,
 *   target = the address, TLLA = the MAC, src = the address itself (as the
 *   Linux kernel does for its own unsolicited NAs), hop limit 255.
 *   The original sent a neighbour solicitation instead, which does not
 *   refresh other hosts' entries.
 *
 * Failures are returned as texts for the log, never thrown: a missed
 * announcement only delays convergence.
 *
 * Requires `--allow-ffi` and `CAP_NET_RAW` in the pod netns.
 *
 * @example
 * ```ts
 * import { announce } from "./announce.ts";
 * const sent: Uint8Array[] = [];
 * const failures = await announce(
 *   { netns: "/var/run/netns/pod", ifname: "eth0", mac: "0a:1b:0a:06:d4:f1", ips: ["not-an-ip"] },
 *   { open: () => Promise.resolve({ send: (f) => sent.push(f), close: () => {} }) },
 * );
 * if (failures.length !== 1 || sent.length !== 0) throw new Error("unexpected");
 * ```
 *
 * @module
 */

import { errorMessage } from "../errors.ts";
import { bareIp, formatIp, parseIp } from "../ip.ts";
import type { FrameSink } from "./rawsock.ts";

/** Arguments of {@linkcode announce}. */
export interface AnnounceArgs {
  /** Pod netns path. */
  netns: string;
  /** The pod NIC. */
  ifname: string;
  /** The NIC's new MAC. */
  mac: string;
  /** The NIC's addresses, plain (no prefix length). */
  ips: readonly string[];
}

/** A sink that can be closed: the real raw socket, or a test fake. */
export interface ClosableSink extends FrameSink {
  /** Release the socket. */
  close(): void;
}

/** Injected I/O: how the send-only socket is opened. */
export interface AnnounceDeps {
  /**
   * Open a send-only sink on the NIC.
   *
   * @param args netns and interface
   */
  open(args: { netns: string; ifname: string }): Promise<ClosableSink>;
}

async function realOpen(args: { netns: string; ifname: string }): Promise<ClosableSink> {
  const { openRawSocket } = await import("./rawsock.ts");
  return openRawSocket({ ...args, protocol: "none" });
}

/**
 * Send a gratuitous ARP for each IPv4 and an unsolicited NA for each IPv6
 * address of the NIC, from `mac`.
 *
 * Requires `--allow-ffi` and `CAP_NET_RAW`.
 *
 * @param args netns, NIC, the new MAC, the addresses
 * @param deps injected sink opener (tests)
 * @returns one text per failure (empty when every frame went out); never throws
 */
export async function announce(
  args: AnnounceArgs,
  deps: AnnounceDeps = { open: realOpen },
): Promise<string[]> {
  // The catches below are broad on purpose: a missed announcement only delays
  // convergence, so whatever fails (loading the codec, a builder, opening the
  // socket, one send) becomes a text for the log and never fails the ADD.
  const failures: string[] = [];
  const frames: { ip: string; frame: Uint8Array }[] = [];
  try {
    const codec = await import("../codec/mod.ts");
    for (const text of args.ips) {
      const parsed = parseIp(bareIp(text));
      if (parsed === undefined) {
        failures.push(`Cannot announce "${text}" on "${args.ifname}": not an IP address`);
        continue;
      }
      const ip = formatIp(parsed);
      try {
        frames.push({
          ip,
          frame: parsed.family === 4
            ? codec.buildArpAnnouncement(args.mac, ip)
            : codec.buildUnsolicitedAdvertisement({ srcMac: args.mac, src: ip, target: ip }),
        });
      } catch (err) {
        failures.push(
          `Cannot build the announcement of "${ip}" on "${args.ifname}": ${errorMessage(err)}`,
        );
      }
    }
  } catch (err) {
    failures.push(`Cannot load the frame codec: ${errorMessage(err)}`);
    return failures;
  }
  if (frames.length === 0) return failures;
  let sink: ClosableSink;
  try {
    sink = await deps.open({ netns: args.netns, ifname: args.ifname });
  } catch (err) {
    failures.push(
      `Cannot announce ${frames.map((f) => `"${f.ip}"`).join(", ")}: ${errorMessage(err)}`,
    );
    return failures;
  }
  try {
    for (const { ip, frame } of frames) {
      try {
        sink.send(frame);
      } catch (err) {
        failures.push(`Cannot announce "${ip}" on "${args.ifname}": ${errorMessage(err)}`);
      }
    }
  } finally {
    sink.close();
  }
  return failures;
}
