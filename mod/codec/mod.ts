/**
 * Typed facade over the Wasm frame codec (ARP and ICMPv6 NDP over Ethernet):
 * what the plugin's detection and announce steps call.
 *
 * The AssemblyScript module under `wasm/` owns the byte layout and the
 * validation; this file owns the typed objects. The module is instantiated once,
 * lazily and synchronously, from the bytes embedded in `_wasm.ts`. Every
 * call copies the input into Wasm memory once and the output out once.
 *
 * Frames are complete Ethernet II frames, as an AF_PACKET `SOCK_RAW` socket
 * sends and receives them. MAC addresses are lowercase `"aa:bb:cc:dd:ee:ff"`,
 * IP addresses canonical strings (dotted quad, RFC 5952 for IPv6; parsed and
 * printed by `mod/ip.ts`).
 *
 * Parsers never throw: they return a frame or a (shared, frozen)
 * {@linkcode CodecError}. Builders throw a `CodecError` for arguments they
 * refuse. A socket can read straight into {@linkcode receiveBuffer} and call
 * {@linkcode parseReceivedFrame} (no copy). The numbers-only and batch ARP
 * parsers for offline fuzzing and benchmarks are in `batch.ts`. Design, parse
 * order and benchmark: docs/codec.md.
 *
 * One file of about 700 lines because it is the codec's whole typed surface:
 * the frame types, the parser that fills them and the builders that take them
 * share the argument and result struct offsets (`ARG_*`, `RES_*`), which are
 * checked together against `wasm/assembly/_fields.ts`.
 *
 * No permissions are needed.
 *
 * @example
 * ```ts
 * import { buildArpProbe, parseFrame } from "./mod.ts";
 * const frame = buildArpProbe("02:00:00:00:00:01", "10.0.0.7");
 * const parsed = parseFrame(frame);
 * if (parsed instanceof Error || parsed.kind !== "arp") throw new Error("unexpected");
 * if (parsed.arp.targetProtocolAddr !== "10.0.0.7") throw new Error("unexpected");
 * ```
 *
 * @module
 */

import {
  argsAt,
  argumentError,
  buildError,
  CodecError,
  HEX,
  inputAt,
  inputCapacity,
  instance,
  ipv4At,
  ipv6At,
  macAt,
  mem,
  optionsAt,
  outputAt,
  parseError,
  resultAt,
  Status,
  view,
  writeIpv4,
  writeIpv6,
  writeMac,
} from "./_core.ts";

export {
  CodecError,
  type CodecErrorKind,
  codecModule,
  EXPORTS,
  Status,
  type StatusCode,
  statusKind,
} from "./_core.ts";

/** A MAC address, lowercase, colon separated: `"aa:bb:cc:dd:ee:ff"`. */
export type Mac = string;

/** An Ethernet II header. */
export interface EthernetHeader {
  /** Destination MAC. */
  dst: Mac;
  /** Source MAC. */
  src: Mac;
  /** The ethertype after any 802.1Q tag (0x0806 ARP, 0x86dd IPv6). */
  ethertype: number;
  /** VLAN id (0-4095) of an 802.1Q tag, when the frame had one. */
  vlan?: number;
}

/** The Ethernet fields a builder takes: the ethertype follows from the payload. */
export interface EthernetAddrs {
  /** Destination MAC. */
  dst: Mac;
  /** Source MAC. */
  src: Mac;
  /** VLAN id (0-4095): when set, an 802.1Q tag (PCP 0, DEI 0) is inserted. */
  vlan?: number;
}

/** ARP operation: 1 request, 2 reply (RFC 826). */
export type ArpOperation = 1 | 2;

/** An ARP packet for IPv4 over Ethernet (RFC 826; htype 1, ptype 0x0800, hlen 6, plen 4). */
export interface ArpPacket {
  /** 1 request, 2 reply. */
  operation: ArpOperation;
  /** SHA. */
  senderHardwareAddr: Mac;
  /** SPA, dotted quad. */
  senderProtocolAddr: string;
  /** THA. */
  targetHardwareAddr: Mac;
  /** TPA, dotted quad. */
  targetProtocolAddr: string;
}

/** One NDP option (RFC 4861, Section 4.6). */
export interface NdpOption {
  /** Option type: 1 source, 2 target link-layer address, others kept raw. */
  type: number;
  /** The address of a link-layer address option (type 1 or 2). */
  linkLayerAddr?: Mac;
  /** The option bytes after type and length, for other types. */
  raw?: Uint8Array;
}

/** ICMPv6 Neighbor Solicitation (RFC 4861, Section 4.3). */
export interface NeighborSolicitation {
  /** Discriminant. */
  kind: "ns";
  /** The address whose link-layer address is asked for. */
  target: string;
  /** The first Source Link-Layer Address option, if any. */
  sourceLinkLayerAddr?: Mac;
  /** All options in wire order (the SLLA included). */
  options: NdpOption[];
}

/** ICMPv6 Neighbor Advertisement (RFC 4861, Section 4.4). */
export interface NeighborAdvertisement {
  /** Discriminant. */
  kind: "na";
  /** R flag: the sender is a router. */
  router: boolean;
  /** S flag: sent in response to a solicitation. */
  solicited: boolean;
  /** O flag: the receiver should override its cache entry. */
  override: boolean;
  /** The address being advertised. */
  target: string;
  /** The first Target Link-Layer Address option, if any. */
  targetLinkLayerAddr?: Mac;
  /** All options in wire order (the TLLA included). */
  options: NdpOption[];
}

/** The IPv6 header fields of an NDP frame. */
export interface Ipv6Header {
  /** Source address. */
  src: string;
  /** Destination address. */
  dst: string;
  /** Hop limit (always 255 in an accepted NDP frame). */
  hopLimit: number;
}

/** A parsed ARP frame. */
export interface ArpFrame {
  /** Discriminant. */
  kind: "arp";
  /** Ethernet header. */
  eth: EthernetHeader;
  /** The ARP packet. */
  arp: ArpPacket;
}

/** A parsed NDP frame (IPv6 + ICMPv6 NS or NA). */
export interface NdpFrame {
  /** Discriminant. */
  kind: "ndp";
  /** Ethernet header. */
  eth: EthernetHeader;
  /** IPv6 header. */
  ip6: Ipv6Header;
  /** The NDP message. */
  ndp: NeighborSolicitation | NeighborAdvertisement;
}

/** Any frame the codec accepts. */
export type Frame = ArpFrame | NdpFrame;

// Offsets in the build argument and parse result structs (mirrors
// wasm/assembly/_fields.ts; a test checks that they match).

const ARG_ETH_DST = 0;
const ARG_ETH_SRC = 6;
const ARG_VLAN = 12;
const ARG_HAS_VLAN = 14;
const ARG_HAS_LLA = 15;
const ARG_ARP_OPER = 16;
const ARG_ARP_SHA = 18;
const ARG_ARP_SPA = 24;
const ARG_ARP_THA = 28;
const ARG_ARP_TPA = 34;
const ARG_IP6_SRC = 40;
const ARG_IP6_DST = 56;
const ARG_NDP_TARGET = 72;
const ARG_NA_FLAGS = 88;
const ARG_LLA = 90;

const RES_KIND = 0;
const RES_HAS_VLAN = 1;
const RES_VLAN = 2;
const RES_ETHERTYPE = 4;
const RES_HAS_LLA = 6;
const RES_NA_FLAGS = 7;
const RES_ETH_DST = 8;
const RES_ETH_SRC = 14;
const RES_ARP_OPER = 20;
const RES_ARP_SHA = 22;
const RES_ARP_SPA = 28;
const RES_ARP_THA = 32;
const RES_ARP_TPA = 38;
const RES_HOP_LIMIT = 42;
const RES_OPTION_COUNT = 44;
const RES_LLA = 48;
const RES_IP6_SRC = 56;
const RES_IP6_DST = 72;
const RES_NDP_TARGET = 88;

const KIND_ARP = 1;
const KIND_NS = 2;

const NA_ROUTER = 0x80;
const NA_SOLICITED = 0x40;
const NA_OVERRIDE = 0x20;

function ipv6Bytes(ip: string, what: string): Uint8Array {
  const b = new Uint8Array(16);
  writeIpv6(ip, b, 0, what);
  return b;
}

/** Writes ff02::1:ffXX:XXXX for the address at `from[at]` to `to[toAt]`. */
function solicitedNodeInto(from: Uint8Array, at: number, to: Uint8Array, toAt: number): void {
  const low0 = from[at + 13]!;
  const low1 = from[at + 14]!;
  const low2 = from[at + 15]!;
  to.fill(0, toAt, toAt + 16);
  to[toAt] = 0xff;
  to[toAt + 1] = 0x02;
  to[toAt + 11] = 0x01;
  to[toAt + 12] = 0xff;
  to[toAt + 13] = low0;
  to[toAt + 14] = low1;
  to[toAt + 15] = low2;
}

// ---------------------------------------------------------------------------
// Parse.

/** A little-endian u16 of the result struct (a byte pair: no DataView call). */
function resultU16(m: Uint8Array, at: number): number {
  return m[at]! | (m[at + 1]! << 8);
}

function readEthernet(m: Uint8Array, r: number): EthernetHeader {
  const eth: EthernetHeader = {
    dst: macAt(m, r + RES_ETH_DST),
    src: macAt(m, r + RES_ETH_SRC),
    ethertype: resultU16(m, r + RES_ETHERTYPE),
  };
  if (m[r + RES_HAS_VLAN] !== 0) eth.vlan = resultU16(m, r + RES_VLAN);
  return eth;
}

function readOptions(): NdpOption[] {
  const count = view.getUint32(resultAt + RES_OPTION_COUNT, true);
  const options: NdpOption[] = [];
  for (let i = 0; i < count; i++) {
    const at = inputAt + view.getUint32(optionsAt + 4 * i, true);
    const type = mem[at]!;
    if (type === 1 || type === 2) {
      options.push({ type, linkLayerAddr: macAt(mem, at + 2) });
    } else {
      options.push({ type, raw: mem.slice(at + 2, at + mem[at + 1]! * 8) });
    }
  }
  return options;
}

function copyIn(bytes: Uint8Array): number {
  const ex = instance();
  if (bytes.length > inputCapacity) return Status.TooLong;
  mem.set(bytes, inputAt);
  return ex.parse(bytes.length);
}

/**
 * Parse one Ethernet frame: ARP, or IPv6 ICMPv6 NS/NA. Never throws. Checks,
 * in order: Ethernet length, ethertype (after one optional 802.1Q tag); for
 * ARP length, formats, operation; for IPv6 length, version, next header,
 * payload length, ICMPv6 type, hop limit, code, NS/NA length, checksum,
 * target, options, then the RFC 4861 address rules. Bytes after the ARP packet
 * or the IPv6 payload (padding) are ignored.
 *
 * @param bytes the frame, from the destination MAC on (no FCS)
 * @returns the frame, or the reason it was rejected (a shared, frozen {@linkcode CodecError})
 */
export function parseFrame(bytes: Uint8Array): Frame | CodecError {
  const status = copyIn(bytes);
  return status === Status.Ok ? readFrame() : parseError(status);
}

/** Parses `len` bytes already in the input buffer. */
function parseInPlace(len: number): number {
  const ex = instance();
  if (!(len >= 0 && len <= inputCapacity && Number.isInteger(len))) {
    return len > inputCapacity ? Status.TooLong : Status.BadArgument;
  }
  return ex.parse(len);
}

/**
 * The codec's input buffer, a 65536-byte view of Wasm memory, for receiving
 * frames without a copy: read a frame into it (for example `recv(2)` through
 * FFI) and call {@linkcode parseReceivedFrame} (or `parseReceivedArpInto()` /
 * `parseReceivedArpBatch()` of `batch.ts`) with its length. Any other parse call
 * overwrites it; the view stays valid (the memory never grows).
 *
 * @returns the view
 */
export function receiveBuffer(): Uint8Array {
  instance();
  return mem.subarray(inputAt, inputAt + inputCapacity);
}

/**
 * {@linkcode parseFrame} for the first `len` bytes of {@linkcode receiveBuffer}.
 *
 * @param len the frame length
 * @returns the frame, or the reason it was rejected
 */
export function parseReceivedFrame(len: number): Frame | CodecError {
  const status = parseInPlace(len);
  return status === Status.Ok ? readFrame() : parseError(status);
}

/** Builds the typed frame from the result struct of an accepted parse. */
function readFrame(): Frame {
  const m = mem;
  const r = resultAt;
  const eth = readEthernet(m, r);
  const kind = m[r + RES_KIND];
  if (kind === KIND_ARP) {
    return {
      kind: "arp",
      eth,
      arp: {
        operation: resultU16(m, r + RES_ARP_OPER) as ArpOperation,
        senderHardwareAddr: macAt(m, r + RES_ARP_SHA),
        senderProtocolAddr: ipv4At(m, r + RES_ARP_SPA),
        targetHardwareAddr: macAt(m, r + RES_ARP_THA),
        targetProtocolAddr: ipv4At(m, r + RES_ARP_TPA),
      },
    };
  }
  const ip6: Ipv6Header = {
    src: ipv6At(m, r + RES_IP6_SRC),
    dst: ipv6At(m, r + RES_IP6_DST),
    hopLimit: m[r + RES_HOP_LIMIT]!,
  };
  const target = ipv6At(m, r + RES_NDP_TARGET);
  const hasLla = m[r + RES_HAS_LLA] !== 0;
  const options = readOptions();
  if (kind === KIND_NS) {
    const ns: NeighborSolicitation = { kind: "ns", target, options };
    if (hasLla) ns.sourceLinkLayerAddr = macAt(m, r + RES_LLA);
    return { kind: "ndp", eth, ip6, ndp: ns };
  }
  const flags = m[r + RES_NA_FLAGS]!;
  const na: NeighborAdvertisement = {
    kind: "na",
    router: (flags & NA_ROUTER) !== 0,
    solicited: (flags & NA_SOLICITED) !== 0,
    override: (flags & NA_OVERRIDE) !== 0,
    target,
    options,
  };
  if (hasLla) na.targetLinkLayerAddr = macAt(m, r + RES_LLA);
  return { kind: "ndp", eth, ip6, ndp: na };
}

// ---------------------------------------------------------------------------
// Build.

/** Ethernet source and VLAN arguments (the destination is written by the caller). */
function writeEthernetArgs(src: Mac, vlan: number | undefined): void {
  writeMac(src, mem, argsAt + ARG_ETH_SRC, "Ethernet source");
  if (vlan === undefined) {
    mem[argsAt + ARG_HAS_VLAN] = 0;
    view.setUint16(argsAt + ARG_VLAN, 0, true);
  } else {
    if (!Number.isInteger(vlan) || vlan < 0 || vlan > 4095) {
      throw argumentError(`Invalid VLAN id "${vlan}": expected 0-4095`);
    }
    mem[argsAt + ARG_HAS_VLAN] = 1;
    view.setUint16(argsAt + ARG_VLAN, vlan, true);
  }
}

function finishBuild(result: number, what: string): Uint8Array {
  if (result < 0) throw buildError(-result, what);
  return mem.slice(outputAt, outputAt + result);
}

/**
 * Build an ARP frame padded to 60 bytes.
 *
 * @param eth Ethernet addresses (the ethertype is 0x0806)
 * @param arp the ARP packet
 * @returns the frame
 * @throws {CodecError} `badArgument` for a malformed MAC, IP or VLAN id, `badOperation`
 */
export function buildArp(eth: EthernetAddrs, arp: ArpPacket): Uint8Array {
  const ex = instance();
  writeMac(eth.dst, mem, argsAt + ARG_ETH_DST, "Ethernet destination");
  writeEthernetArgs(eth.src, eth.vlan);
  const op = arp.operation as number;
  view.setUint16(
    argsAt + ARG_ARP_OPER,
    Number.isInteger(op) && op >= 0 && op <= 0xffff ? op : 0,
    true,
  );
  writeMac(arp.senderHardwareAddr, mem, argsAt + ARG_ARP_SHA, "ARP sender");
  writeIpv4(arp.senderProtocolAddr, mem, argsAt + ARG_ARP_SPA, "ARP sender");
  writeMac(arp.targetHardwareAddr, mem, argsAt + ARG_ARP_THA, "ARP target");
  writeIpv4(arp.targetProtocolAddr, mem, argsAt + ARG_ARP_TPA, "ARP target");
  return finishBuild(ex.buildArp(), "ARP frame");
}

/** Options of the ARP helpers. */
export interface ArpHelperOptions {
  /** THA; defaults to 00:00:00:00:00:00 (RFC 5227). */
  targetHardwareAddr?: Mac;
  /** 802.1Q VLAN id. */
  vlan?: number;
}

const BROADCAST: Mac = "ff:ff:ff:ff:ff:ff";
const ZERO_MAC: Mac = "00:00:00:00:00:00";

function broadcastArp(
  srcMac: Mac,
  spa: string,
  tpa: string,
  options: ArpHelperOptions,
): Uint8Array {
  const eth: EthernetAddrs = { dst: BROADCAST, src: srcMac };
  if (options.vlan !== undefined) eth.vlan = options.vlan;
  return buildArp(eth, {
    operation: 1,
    senderHardwareAddr: srcMac,
    senderProtocolAddr: spa,
    targetHardwareAddr: options.targetHardwareAddr ?? ZERO_MAC,
    targetProtocolAddr: tpa,
  });
}

/**
 * Build an RFC 5227 ARP probe: broadcast request, SPA 0.0.0.0, TPA = `ip`.
 *
 * @param srcMac Ethernet source and SHA
 * @param ip the probed address
 * @param options THA override, VLAN
 * @returns the frame
 */
export function buildArpProbe(srcMac: Mac, ip: string, options: ArpHelperOptions = {}): Uint8Array {
  return broadcastArp(srcMac, "0.0.0.0", ip, options);
}

/**
 * Build an RFC 5227 ARP announcement (gratuitous ARP): broadcast request with
 * SPA = TPA = `ip`.
 *
 * @param srcMac Ethernet source and SHA
 * @param ip the announced address
 * @param options THA override (HEAD's announce uses ff:ff:ff:ff:ff:ff), VLAN
 * @returns the frame
 */
export function buildArpAnnouncement(
  srcMac: Mac,
  ip: string,
  options: ArpHelperOptions = {},
): Uint8Array {
  return broadcastArp(srcMac, ip, ip, options);
}

/** Arguments of {@linkcode buildArpRequest}. */
export interface ArpRequestOptions extends ArpHelperOptions {
  /** Ethernet source and SHA. */
  srcMac: Mac;
  /** SPA. */
  srcIp: string;
  /** TPA: the address being resolved. */
  targetIp: string;
}

/**
 * Build a broadcast ARP request (who has `targetIp`? tell `srcIp`).
 *
 * @param options addresses
 * @returns the frame
 */
export function buildArpRequest(options: ArpRequestOptions): Uint8Array {
  return broadcastArp(options.srcMac, options.srcIp, options.targetIp, options);
}

/** Arguments of {@linkcode buildNeighborSolicitation}. */
export interface NeighborSolicitationOptions {
  /** Ethernet source. */
  srcMac: Mac;
  /** Ethernet destination; defaults to the multicast MAC of `dst` (required when `dst` is unicast). */
  dstMac?: Mac;
  /** IPv6 source (`::` for DAD, then no SLLA is allowed). */
  src: string;
  /** IPv6 destination; defaults to the solicited-node multicast of `target`. */
  dst?: string;
  /** Target address. */
  target: string;
  /** SLLA option value; omitted when absent. */
  sourceLinkLayerAddr?: Mac;
  /** 802.1Q VLAN id. */
  vlan?: number;
}

/**
 * Fills the NDP build arguments. `dst` undefined means the default: for an NS
 * the solicited-node group of the target, for an NA all nodes (ff02::1).
 */
function writeNdpArgs(
  kind: "ns" | "na",
  srcMac: Mac,
  dstMac: Mac | undefined,
  src: string,
  dst: string | undefined,
  target: string,
  lla: Mac | undefined,
  vlan: number | undefined,
): void {
  instance();
  writeIpv6(target, mem, argsAt + ARG_NDP_TARGET, "NDP target");
  writeIpv6(src, mem, argsAt + ARG_IP6_SRC, "IPv6 source");
  const d = argsAt + ARG_IP6_DST;
  if (dst !== undefined) {
    writeIpv6(dst, mem, d, "IPv6 destination");
  } else if (kind === "ns") {
    solicitedNodeInto(mem, argsAt + ARG_NDP_TARGET, mem, d);
  } else {
    mem.fill(0, d, d + 16);
    mem[d] = 0xff;
    mem[d + 1] = 0x02;
    mem[d + 15] = 0x01;
  }
  writeEthernetArgs(srcMac, vlan);
  const e = argsAt + ARG_ETH_DST;
  if (dstMac !== undefined) {
    writeMac(dstMac, mem, e, "Ethernet destination");
  } else if (mem[d] === 0xff) {
    // RFC 2464, Section 7: 33:33 and the low 32 bits of the group.
    mem[e] = 0x33;
    mem[e + 1] = 0x33;
    mem.copyWithin(e + 2, d + 12, d + 16);
  } else {
    throw argumentError(
      `Missing Ethernet destination for unicast IPv6 destination "${String(dst)}"`,
    );
  }
  if (lla === undefined) {
    mem[argsAt + ARG_HAS_LLA] = 0;
  } else {
    writeMac(lla, mem, argsAt + ARG_LLA, "link-layer address option");
    mem[argsAt + ARG_HAS_LLA] = 1;
  }
}

/**
 * Build an IPv6 Neighbor Solicitation frame (hop limit 255, checksum filled).
 *
 * @param options addresses
 * @returns the frame
 * @throws {CodecError} `badArgument`, `badTarget` (multicast), `badAddress` (RFC 4861 7.1.1 rules)
 */
export function buildNeighborSolicitation(options: NeighborSolicitationOptions): Uint8Array {
  writeNdpArgs(
    "ns",
    options.srcMac,
    options.dstMac,
    options.src,
    options.dst,
    options.target,
    options.sourceLinkLayerAddr,
    options.vlan,
  );
  mem[argsAt + ARG_NA_FLAGS] = 0;
  return finishBuild(instance().buildNs(), "neighbor solicitation");
}

/**
 * Build an RFC 4862 DAD probe: NS from `::` to the solicited-node group of
 * `target`, no SLLA option.
 *
 * @param srcMac Ethernet source
 * @param target the tentative address
 * @returns the frame
 */
export function buildDadSolicitation(srcMac: Mac, target: string): Uint8Array {
  return buildNeighborSolicitation({ srcMac, src: "::", target });
}

/** The NA flags (RFC 4861, Section 4.4). */
export interface NaFlags {
  /** R. */
  router: boolean;
  /** S. */
  solicited: boolean;
  /** O. */
  override: boolean;
}

/** Arguments of {@linkcode buildNeighborAdvertisement}. */
export interface NeighborAdvertisementOptions {
  /** Ethernet source. */
  srcMac: Mac;
  /** Ethernet destination; defaults to the multicast MAC of `dst` (required when `dst` is unicast). */
  dstMac?: Mac;
  /** IPv6 source. */
  src: string;
  /** IPv6 destination; defaults to ff02::1. */
  dst?: string;
  /** Target address. */
  target: string;
  /** Flags. */
  flags: NaFlags;
  /** TLLA option value; omitted when absent. */
  targetLinkLayerAddr?: Mac;
  /** 802.1Q VLAN id. */
  vlan?: number;
}

/**
 * Build an IPv6 Neighbor Advertisement frame (hop limit 255, checksum filled).
 *
 * @param options addresses and flags
 * @returns the frame
 * @throws {CodecError} `badArgument`, `badTarget`, `badAddress` (S set with a multicast destination)
 */
export function buildNeighborAdvertisement(options: NeighborAdvertisementOptions): Uint8Array {
  writeNdpArgs(
    "na",
    options.srcMac,
    options.dstMac,
    options.src,
    options.dst,
    options.target,
    options.targetLinkLayerAddr,
    options.vlan,
  );
  const f = options.flags;
  mem[argsAt + ARG_NA_FLAGS] = (f.router ? NA_ROUTER : 0) | (f.solicited ? NA_SOLICITED : 0) |
    (f.override ? NA_OVERRIDE : 0);
  return finishBuild(instance().buildNa(), "neighbor advertisement");
}

/** Arguments of {@linkcode buildUnsolicitedAdvertisement}. */
export interface UnsolicitedAdvertisementOptions {
  /** Ethernet source and TLLA. */
  srcMac: Mac;
  /** IPv6 source (the link-local address, or `target` itself). */
  src: string;
  /** The advertised address. */
  target: string;
}

/**
 * Build an unsolicited NA to all nodes: dst ff02::1 (33:33:00:00:00:01),
 * O=1 S=0 R=0, TLLA = `srcMac` (RFC 4861, Section 7.2.6).
 *
 * @param options addresses
 * @returns the frame
 */
export function buildUnsolicitedAdvertisement(
  options: UnsolicitedAdvertisementOptions,
): Uint8Array {
  return buildNeighborAdvertisement({
    srcMac: options.srcMac,
    src: options.src,
    dst: "ff02::1",
    target: options.target,
    flags: { router: false, solicited: false, override: true },
    targetLinkLayerAddr: options.srcMac,
  });
}

/**
 * The solicited-node multicast address of an IPv6 address: ff02::1:ffXX:XXXX
 * with the low 24 bits (RFC 4291, Section 2.7.1).
 *
 * @param ip an IPv6 address
 * @returns the group address, canonical
 * @throws {CodecError} `badArgument` if `ip` is not IPv6
 */
export function solicitedNodeMulticast(ip: string): string {
  const b = ipv6Bytes(ip, "IPv6");
  solicitedNodeInto(b, 0, b, 0);
  return ipv6At(b, 0);
}

/**
 * The Ethernet MAC of an IPv6 multicast address: 33:33 + the low 32 bits (RFC 2464, Section 7).
 *
 * @param ip an IPv6 multicast address
 * @returns the MAC
 * @throws {CodecError} `badArgument` if `ip` is not an IPv6 multicast address
 */
export function ipv6MulticastMac(ip: string): Mac {
  const b = ipv6Bytes(ip, "IPv6 multicast");
  if (b[0] !== 0xff) throw argumentError(`Invalid IPv6 multicast address "${ip}"`);
  return `33:33:${HEX[b[12]!]}:${HEX[b[13]!]}:${HEX[b[14]!]}:${HEX[b[15]!]}`;
}

/**
 * The canonical text of an IPv6 address (RFC 5952, Section 4; no dotted quad).
 *
 * @param ip any valid IPv6 text
 * @returns the canonical form
 * @throws {CodecError} `badArgument` if `ip` is not IPv6
 */
export function canonicalIpv6(ip: string): string {
  return ipv6At(ipv6Bytes(ip, "IPv6"), 0);
}
