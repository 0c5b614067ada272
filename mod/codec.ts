/**
 * Typed facade over the Wasm frame codec (ARP and ICMPv6 NDP over Ethernet).
 *
 * The AssemblyScript module under `wasm/` owns the byte layout and the
 * validation; this file owns the typed objects. The module is instantiated once,
 * lazily and synchronously, from the bytes embedded in `_codec_wasm.ts`. Every
 * call copies the input into Wasm memory once and the output out once.
 *
 * Frames are complete Ethernet II frames, as an AF_PACKET `SOCK_RAW` socket
 * sends and receives them. MAC addresses are lowercase `"aa:bb:cc:dd:ee:ff"`,
 * IP addresses canonical strings (dotted quad, RFC 5952 for IPv6).
 *
 * No permissions are needed.
 *
 * @example
 * ```ts
 * import { buildArpProbe, parseFrame } from "./codec.ts";
 * const frame = buildArpProbe("02:00:00:00:00:01", "10.0.0.7");
 * const parsed = parseFrame(frame);
 * if (parsed instanceof Error || parsed.kind !== "arp") throw new Error("unexpected");
 * if (parsed.arp.targetProtocolAddr !== "10.0.0.7") throw new Error("unexpected");
 * ```
 *
 * @module
 */

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

/**
 * Numeric status codes returned by the Wasm exports; mirrors
 * `wasm/assembly/status.ts` (a test checks that they match).
 */
export const Status = {
  Ok: 0,
  Truncated: 1,
  TooLong: 2,
  UnsupportedEthertype: 3,
  UnsupportedArp: 4,
  BadOperation: 5,
  NotIpv6: 6,
  NotIcmpv6: 7,
  NotNdp: 8,
  BadHopLimit: 9,
  BadCode: 10,
  BadLength: 11,
  BadChecksum: 12,
  BadOption: 13,
  BadTarget: 14,
  BadAddress: 15,
  BadArgument: 16,
} as const;

/** One of the numbers in {@linkcode Status}. */
export type StatusCode = (typeof Status)[keyof typeof Status];

/** Why a frame was rejected or could not be built. */
export type CodecErrorKind =
  | "truncated"
  | "tooLong"
  | "unsupportedEthertype"
  | "unsupportedArp"
  | "badOperation"
  | "notIpv6"
  | "notIcmpv6"
  | "notNdp"
  | "badHopLimit"
  | "badCode"
  | "badLength"
  | "badChecksum"
  | "badOption"
  | "badTarget"
  | "badAddress"
  | "badArgument";

/** A frame the codec rejected, or builder arguments it refused. Returned, never a trap. */
export class CodecError extends Error {
  /** The reason, as a word. */
  readonly kind: CodecErrorKind;
  /** The numeric status from the Wasm module. */
  readonly status: number;

  /**
   * @param kind the reason
   * @param message sentence case, no trailing period
   */
  constructor(kind: CodecErrorKind, message: string) {
    super(message);
    this.name = "CodecError";
    this.kind = kind;
    this.status = 0;
  }
}

/**
 * Parse one Ethernet frame: ARP, or IPv6 ICMPv6 NS/NA. Never throws.
 *
 * @param bytes the frame, from the destination MAC on (no FCS needed)
 * @returns the frame, or the reason it was rejected
 */
export function parseFrame(bytes: Uint8Array): Frame | CodecError {
  void bytes;
  throw new Error("Not implemented");
}

/**
 * Build an ARP frame padded to 60 bytes.
 *
 * @param eth Ethernet addresses (the ethertype is 0x0806)
 * @param arp the ARP packet
 * @returns the frame
 * @throws {CodecError} `badArgument` for a malformed MAC, IP or VLAN id
 */
export function buildArp(eth: EthernetAddrs, arp: ArpPacket): Uint8Array {
  void eth, arp;
  throw new Error("Not implemented");
}

/** Options of the ARP helpers. */
export interface ArpHelperOptions {
  /** THA; defaults to 00:00:00:00:00:00 (RFC 5227). */
  targetHardwareAddr?: Mac;
  /** 802.1Q VLAN id. */
  vlan?: number;
}

/**
 * Build an RFC 5227 ARP probe: broadcast request, SPA 0.0.0.0, TPA = `ip`.
 *
 * @param srcMac Ethernet source and SHA
 * @param ip the probed address
 * @param options THA override
 * @returns the frame
 */
export function buildArpProbe(srcMac: Mac, ip: string, options: ArpHelperOptions = {}): Uint8Array {
  void srcMac, ip, options;
  throw new Error("Not implemented");
}

/**
 * Build an RFC 5227 ARP announcement (gratuitous ARP): broadcast request with
 * SPA = TPA = `ip`.
 *
 * @param srcMac Ethernet source and SHA
 * @param ip the announced address
 * @param options THA override (HEAD's announce uses ff:ff:ff:ff:ff:ff)
 * @returns the frame
 */
export function buildArpAnnouncement(
  srcMac: Mac,
  ip: string,
  options: ArpHelperOptions = {},
): Uint8Array {
  void srcMac, ip, options;
  throw new Error("Not implemented");
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
  void options;
  throw new Error("Not implemented");
}

/** Arguments of {@linkcode buildNeighborSolicitation}. */
export interface NeighborSolicitationOptions {
  /** Ethernet source. */
  srcMac: Mac;
  /** Ethernet destination; defaults to the multicast MAC of `dst`. */
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
 * Build an IPv6 Neighbor Solicitation frame (hop limit 255, checksum filled).
 *
 * @param options addresses
 * @returns the frame
 * @throws {CodecError} `badArgument`, `badTarget` (multicast), `badAddress` (RFC 4861 7.1.1 rules)
 */
export function buildNeighborSolicitation(options: NeighborSolicitationOptions): Uint8Array {
  void options;
  throw new Error("Not implemented");
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
  void srcMac, target;
  throw new Error("Not implemented");
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
  /** Ethernet destination; defaults to the multicast MAC of `dst`. */
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
  void options;
  throw new Error("Not implemented");
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
 * O=1 S=0 R=0, TLLA = `srcMac`.
 *
 * @param options addresses
 * @returns the frame
 */
export function buildUnsolicitedAdvertisement(
  options: UnsolicitedAdvertisementOptions,
): Uint8Array {
  void options;
  throw new Error("Not implemented");
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
  void ip;
  throw new Error("Not implemented");
}

/**
 * The Ethernet MAC of an IPv6 multicast address: 33:33 + the low 32 bits (RFC 2464, Section 7).
 *
 * @param ip an IPv6 multicast address
 * @returns the MAC
 * @throws {CodecError} `badArgument` if `ip` is not IPv6
 */
export function ipv6MulticastMac(ip: string): Mac {
  void ip;
  throw new Error("Not implemented");
}

/**
 * The numbers of an ARP frame, for hot receive loops: MACs as 48-bit integers,
 * IPv4 addresses as unsigned 32-bit integers. Filled in place, no allocation.
 */
export interface ArpNumbers {
  /** 1 request, 2 reply. */
  operation: number;
  /** SHA as a 48-bit integer. */
  senderHardwareAddr: number;
  /** SPA as an unsigned 32-bit integer. */
  senderProtocolAddr: number;
  /** THA as a 48-bit integer. */
  targetHardwareAddr: number;
  /** TPA as an unsigned 32-bit integer. */
  targetProtocolAddr: number;
}

/**
 * Parse an ARP frame into `out` without allocating. Same validation as
 * {@linkcode parseFrame}; an IPv6 frame gives `Status.UnsupportedEthertype`.
 *
 * @param bytes the frame
 * @param out overwritten on success, untouched otherwise
 * @returns `Status.Ok` or the rejection status
 */
export function parseArpInto(bytes: Uint8Array, out: ArpNumbers): number {
  void bytes, out;
  throw new Error("Not implemented");
}

/**
 * A MAC as a 48-bit integer (for comparisons with {@linkcode ArpNumbers}).
 *
 * @param mac the MAC
 * @returns the integer
 * @throws {CodecError} `badArgument`
 */
export function macToNumber(mac: Mac): number {
  void mac;
  throw new Error("Not implemented");
}

/**
 * An IPv4 address as an unsigned 32-bit integer.
 *
 * @param ip dotted quad
 * @returns the integer
 * @throws {CodecError} `badArgument`
 */
export function ipv4ToNumber(ip: string): number {
  void ip;
  throw new Error("Not implemented");
}

/**
 * The kind word of a status code.
 *
 * @param status a non-zero status
 * @returns the matching {@linkcode CodecErrorKind}
 */
export function statusKind(status: number): CodecErrorKind {
  void status;
  throw new Error("Not implemented");
}
