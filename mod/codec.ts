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
 * Parsers never throw: they return a frame or a (shared, frozen)
 * {@linkcode CodecError}. Builders throw a `CodecError` for arguments they
 * refuse. Receive loops that only need ARP numbers use
 * {@linkcode parseArpInto} (no strings, no allocation), or read the socket
 * straight into {@linkcode receiveBuffer} and call
 * {@linkcode parseReceivedArpInto} (no copy either). Many ARP frames at once
 * (a receive loop draining its socket, a capture file) go through one Wasm
 * call: {@linkcode parseReceivedArpBatch} / {@linkcode parseArpBatch}, read
 * back through {@linkcode arpBatchRecords}; per frame that is faster than
 * the plain-TS parser, which a single call is not. Design, parse order and
 * benchmark: docs/codec.md.
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

import { WASM_BASE64 } from "./_codec_wasm.ts";

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

const KINDS: readonly CodecErrorKind[] = [
  "truncated", // placeholder for Ok, never used
  "truncated",
  "tooLong",
  "unsupportedEthertype",
  "unsupportedArp",
  "badOperation",
  "notIpv6",
  "notIcmpv6",
  "notNdp",
  "badHopLimit",
  "badCode",
  "badLength",
  "badChecksum",
  "badOption",
  "badTarget",
  "badAddress",
  "badArgument",
];

const MESSAGES: readonly string[] = [
  "",
  "Frame is truncated",
  "Frame is longer than the codec's 65536-byte buffer",
  "Frame is neither ARP nor IPv6",
  "ARP packet is not Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4)",
  "ARP operation is neither request nor reply",
  "IPv6 ethertype with an IP version other than 6",
  "IPv6 packet is not ICMPv6",
  "ICMPv6 message is neither a neighbor solicitation nor an advertisement",
  "NDP message has a hop limit other than 255",
  "NDP message has an ICMPv6 code other than 0",
  "NDP message is shorter than 24 bytes",
  "ICMPv6 checksum does not verify",
  "NDP option has length 0, runs past the message, or is a link-layer option of the wrong size",
  "NDP target is a multicast address",
  "NDP addresses break RFC 4861 rules (DAD solicitation or solicited advertisement)",
  "Argument is out of range",
];

/**
 * A frame the codec rejected, or builder arguments it refused. Returned by the
 * parsers (never thrown, never a trap), thrown by the builders.
 */
export class CodecError extends Error {
  /** The reason, as a word. */
  readonly kind: CodecErrorKind;
  /** The numeric status (see {@linkcode Status}). */
  readonly status: number;

  /**
   * @param kind the reason
   * @param message sentence case, no trailing period
   */
  constructor(kind: CodecErrorKind, message: string) {
    super(message);
    this.name = "CodecError";
    this.kind = kind;
    this.status = KINDS.indexOf(kind, 1);
  }
}

/**
 * One frozen instance per parse status: the parsers return these sentinels
 * (like `ErrInvalidHardwareAddr` in mdlayher/arp), so a receive loop that
 * skips foreign frames does not pay for an Error and its stack per frame.
 */
const PARSE_ERRORS: readonly CodecError[] = KINDS.map((kind, status) =>
  Object.freeze(new CodecError(kind, status === 0 ? "" : `Cannot parse frame: ${MESSAGES[status]}`))
);

function parseError(status: number): CodecError {
  return (status > 0 ? PARSE_ERRORS[status] : undefined) ??
    new CodecError("badArgument", `Unknown codec status "${status}"`);
}

function argumentError(message: string): CodecError {
  return new CodecError("badArgument", message);
}

// ---------------------------------------------------------------------------
// The Wasm instance and its memory layout (mirrors wasm/assembly/_fields.ts).

interface CodecExports {
  memory: WebAssembly.Memory;
  inputPtr(): number;
  inputCapacity(): number;
  outputPtr(): number;
  argsPtr(): number;
  resultPtr(): number;
  optionsPtr(): number;
  numbersPtr(): number;
  batchPtr(): number;
  recordsPtr(): number;
  batchCapacity(): number;
  parseArpNumbers(len: number): number;
  parseArpBatch(count: number, end: number): number;
  parse(len: number): number;
  buildArp(): number;
  buildNs(): number;
  buildNa(): number;
}

/** The exports the module must have, in the order asc emits them (a test checks it). */
export const EXPORTS: readonly string[] = [
  "inputPtr",
  "inputCapacity",
  "outputPtr",
  "argsPtr",
  "resultPtr",
  "optionsPtr",
  "numbersPtr",
  "batchPtr",
  "recordsPtr",
  "batchCapacity",
  "parseArpNumbers",
  "parseArpBatch",
  "parse",
  "buildArp",
  "buildNs",
  "buildNa",
  "memory",
];

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

// The ARP batch table and records, as u32 / i32 slot numbers (byte offset / 4).
const BATCH_ENTRY_SIZE = 8;
const REC_OPER = 0;
const REC_SPA = 4;
const REC_TPA = 8;
const REC_SHA_HI = 12;
const REC_SHA_LO = 16;
const REC_THA_HI = 20;
const REC_THA_LO = 24;
const REC_STATUS = 28;
const REC_SIZE = 32;

const KIND_ARP = 1;
const KIND_NS = 2;

const NA_ROUTER = 0x80;
const NA_SOLICITED = 0x40;
const NA_OVERRIDE = 0x20;

// The module's memory is fixed (initial = maximum, nothing allocates), so these
// views stay valid for the life of the process.
let wasm: CodecExports | undefined;
let mem = new Uint8Array(0);
let view = new DataView(mem.buffer);
let inputAt = 0;
let inputCapacity = 0;
let outputAt = 0;
let argsAt = 0;
let resultAt = 0;
let optionsAt = 0;
/** The NUM_* struct as f64 slots: operation, SHA, SPA, THA, TPA. */
let numbers = new Float64Array(0);
let numbersAt = 0;
/** The batch frame table (2 u32 per entry) and the batch records (REC_SIZE / 4 i32 slots each). */
let table = new Uint32Array(0);
let recordView = new Int32Array(0);
/** How many records the last batch call wrote: readArpBatchInto() reads no others. */
let batchCount = 0;

/** Instantiate the module on first use (synchronously; it is small). */
function instance(): CodecExports {
  if (wasm !== undefined) return wasm;
  const module = new WebAssembly.Module(Uint8Array.fromBase64(WASM_BASE64));
  const ex = new WebAssembly.Instance(module, {}).exports as unknown as CodecExports;
  const buffer = ex.memory.buffer as ArrayBuffer;
  mem = new Uint8Array(buffer);
  view = new DataView(buffer);
  inputAt = ex.inputPtr();
  inputCapacity = ex.inputCapacity();
  outputAt = ex.outputPtr();
  argsAt = ex.argsPtr();
  resultAt = ex.resultPtr();
  optionsAt = ex.optionsPtr();
  numbers = new Float64Array(buffer);
  const numbersPtr = ex.numbersPtr();
  if (numbersPtr % 8 !== 0) {
    throw new Error(`Codec numbers struct at "${numbersPtr}" is not 8-byte aligned`);
  }
  numbersAt = numbersPtr / 8;
  const batchPtr = ex.batchPtr();
  const recordsPtr = ex.recordsPtr();
  if (ex.batchCapacity() !== ARP_BATCH_CAPACITY || batchPtr % 4 !== 0 || recordsPtr % 4 !== 0) {
    throw new Error(
      `Codec batch layout (capacity "${ex.batchCapacity()}", table "${batchPtr}", records "${recordsPtr}") is not the facade's`,
    );
  }
  table = new Uint32Array(buffer, batchPtr, (ARP_BATCH_CAPACITY * BATCH_ENTRY_SIZE) / 4);
  recordView = new Int32Array(buffer, recordsPtr, (ARP_BATCH_CAPACITY * REC_SIZE) / 4);
  wasm = ex;
  return ex;
}

/**
 * The compiled module, for contract tests (`WebAssembly.Module.imports()`).
 *
 * @returns a new `WebAssembly.Module` of the embedded bytes
 */
export function codecModule(): WebAssembly.Module {
  return new WebAssembly.Module(Uint8Array.fromBase64(WASM_BASE64));
}

// ---------------------------------------------------------------------------
// Address text <-> bytes. Hand-written over char codes: builders run in the
// plugin's critical path and regular expressions plus parseInt cost more than
// the Wasm call itself.

const HEX: readonly string[] = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);
const HEX1: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16));

function macAt(b: Uint8Array, at: number): Mac {
  return `${HEX[b[at]!]}:${HEX[b[at + 1]!]}:${HEX[b[at + 2]!]}:${HEX[b[at + 3]!]}:${
    HEX[b[at + 4]!]
  }:${HEX[b[at + 5]!]}`;
}

function ipv4At(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952, Section 4: lowercase, no leading zeros, the first longest run of 2+ zero groups as `::`. */
function ipv6At(b: Uint8Array, at: number): string {
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    if (b[at + 2 * i] === 0 && b[at + 2 * i + 1] === 0) {
      if (runStart < 0) runStart = i;
      if (i - runStart + 1 > bestLen) {
        bestStart = runStart;
        bestLen = i - runStart + 1;
      }
    } else {
      runStart = -1;
    }
  }
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += "::";
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLen) s += ":";
    const hi = b[at + 2 * i]!;
    const lo = b[at + 2 * i + 1]!;
    s += hi === 0 ? HEX1[lo] : HEX1[hi]! + HEX[lo];
  }
  return s;
}

/** The value of a hex digit's char code, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** "aa:bb:cc:dd:ee:ff" (either case) to 6 bytes at `to[at]`; false if malformed. */
function macInto(mac: string, to: Uint8Array, at: number): boolean {
  if (typeof mac !== "string" || mac.length !== 17) return false;
  for (let i = 0; i < 6; i++) {
    const p = i * 3;
    const hi = hexValue(mac.charCodeAt(p));
    const lo = hexValue(mac.charCodeAt(p + 1));
    if (hi < 0 || lo < 0 || (i < 5 && mac.charCodeAt(p + 2) !== 58)) return false;
    to[at + i] = (hi << 4) | lo;
  }
  return true;
}

function writeMac(mac: Mac, to: Uint8Array, at: number, what: string): void {
  if (!macInto(mac, to, at)) throw argumentError(`Invalid ${what} MAC address "${String(mac)}"`);
}

/**
 * The dotted quad in `s[start, end)` as a number, or -1. Leading zeros are
 * refused ("010" is octal to some parsers).
 */
function ipv4Range(s: string, start: number, end: number): number {
  let n = 0;
  let i = start;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= end || s.charCodeAt(i) !== 46) return -1;
      i++;
    }
    const first = i;
    let v = 0;
    while (i < end && i - first < 4) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      v = v * 10 + c - 48;
      i++;
    }
    const digits = i - first;
    if (digits === 0 || digits > 3 || v > 255 || (digits > 1 && s.charCodeAt(first) === 48)) {
      return -1;
    }
    n = n * 256 + v;
  }
  return i === end ? n : -1;
}

/** Dotted quad to a number, or -1. */
function ipv4Number(ip: string): number {
  return typeof ip === "string" ? ipv4Range(ip, 0, ip.length) : -1;
}

function writeIpv4(ip: string, to: Uint8Array, at: number, what: string): void {
  const n = ipv4Number(ip);
  if (n < 0) throw argumentError(`Invalid ${what} IPv4 address "${String(ip)}"`);
  to[at] = n >>> 24;
  to[at + 1] = (n >>> 16) & 0xff;
  to[at + 2] = (n >>> 8) & 0xff;
  to[at + 3] = n & 0xff;
}

const GROUPS = new Uint16Array(8);

/**
 * IPv6 text (RFC 4291, Section 2.2: hex groups, one "::", an optional dotted
 * quad at the end; no zone) to 16 bytes at `to[at]`; false if invalid.
 */
function ipv6Into(ip: string, to: Uint8Array, at: number): boolean {
  if (typeof ip !== "string") return false;
  const len = ip.length;
  if (len < 2 || len > 45) return false;
  let n = 0;
  let gap = -1;
  let i = 0;
  if (ip.charCodeAt(0) === 58) {
    if (ip.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < len) {
    if (n >= 8) return false;
    const start = i;
    let v = 0;
    while (i < len) {
      const h = hexValue(ip.charCodeAt(i));
      if (h < 0) break;
      v = ((v << 4) | h) & 0xfffff;
      i++;
    }
    if (i < len && ip.charCodeAt(i) === 46) {
      if (n > 6) return false;
      const v4 = ipv4Range(ip, start, len);
      if (v4 < 0) return false;
      GROUPS[n++] = Math.floor(v4 / 0x10000);
      GROUPS[n++] = v4 % 0x10000;
      break;
    }
    const digits = i - start;
    if (digits === 0 || digits > 4) return false;
    GROUPS[n++] = v;
    if (i === len) break;
    if (ip.charCodeAt(i) !== 58) return false;
    i++;
    if (i === len) return false; // a single trailing colon
    if (ip.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) return false;
  const zeros = 8 - n;
  for (let k = 0; k < 8; k++) {
    const g = gap < 0 || k < gap ? GROUPS[k]! : k < gap + zeros ? 0 : GROUPS[k - zeros]!;
    to[at + 2 * k] = g >>> 8;
    to[at + 2 * k + 1] = g & 0xff;
  }
  return true;
}

function writeIpv6(ip: string, to: Uint8Array, at: number, what: string): void {
  if (!ipv6Into(ip, to, at)) throw argumentError(`Invalid ${what} IPv6 address "${String(ip)}"`);
}

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

function readEthernet(): EthernetHeader {
  const eth: EthernetHeader = {
    dst: macAt(mem, resultAt + RES_ETH_DST),
    src: macAt(mem, resultAt + RES_ETH_SRC),
    ethertype: view.getUint16(resultAt + RES_ETHERTYPE, true),
  };
  if (mem[resultAt + RES_HAS_VLAN] !== 0) eth.vlan = view.getUint16(resultAt + RES_VLAN, true);
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
 * FFI) and call {@linkcode parseReceivedFrame} or
 * {@linkcode parseReceivedArpInto} with its length. Any other parse call
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

/**
 * {@linkcode parseArpInto} for the first `len` bytes of {@linkcode receiveBuffer}.
 *
 * @param len the frame length
 * @param out overwritten on success, untouched otherwise
 * @returns `Status.Ok` or the rejection status
 */
export function parseReceivedArpInto(len: number, out: ArpNumbers): number {
  const ex = wasm ?? instance();
  if (!(len >= 0 && len <= inputCapacity && Number.isInteger(len))) {
    return len > inputCapacity ? Status.TooLong : Status.BadArgument;
  }
  return readArpNumbers(ex.parseArpNumbers(len), out);
}

/** Builds the typed frame from the result struct of an accepted parse. */
function readFrame(): Frame {
  const eth = readEthernet();
  const kind = mem[resultAt + RES_KIND];
  if (kind === KIND_ARP) {
    return {
      kind: "arp",
      eth,
      arp: {
        operation: view.getUint16(resultAt + RES_ARP_OPER, true) as ArpOperation,
        senderHardwareAddr: macAt(mem, resultAt + RES_ARP_SHA),
        senderProtocolAddr: ipv4At(mem, resultAt + RES_ARP_SPA),
        targetHardwareAddr: macAt(mem, resultAt + RES_ARP_THA),
        targetProtocolAddr: ipv4At(mem, resultAt + RES_ARP_TPA),
      },
    };
  }
  const ip6: Ipv6Header = {
    src: ipv6At(mem, resultAt + RES_IP6_SRC),
    dst: ipv6At(mem, resultAt + RES_IP6_DST),
    hopLimit: mem[resultAt + RES_HOP_LIMIT]!,
  };
  const target = ipv6At(mem, resultAt + RES_NDP_TARGET);
  const hasLla = mem[resultAt + RES_HAS_LLA] !== 0;
  const options = readOptions();
  if (kind === KIND_NS) {
    const ns: NeighborSolicitation = { kind: "ns", target, options };
    if (hasLla) ns.sourceLinkLayerAddr = macAt(mem, resultAt + RES_LLA);
    return { kind: "ndp", eth, ip6, ndp: ns };
  }
  const flags = mem[resultAt + RES_NA_FLAGS]!;
  const na: NeighborAdvertisement = {
    kind: "na",
    router: (flags & NA_ROUTER) !== 0,
    solicited: (flags & NA_SOLICITED) !== 0,
    override: (flags & NA_OVERRIDE) !== 0,
    target,
    options,
  };
  if (hasLla) na.targetLinkLayerAddr = macAt(mem, resultAt + RES_LLA);
  return { kind: "ndp", eth, ip6, ndp: na };
}

/**
 * Parse an ARP frame into `out` without allocating: the hot path of receive
 * loops. Same ARP validation as {@linkcode parseFrame}; anything that is not
 * ARP gives `Status.UnsupportedEthertype` without being parsed further.
 *
 * @param bytes the frame
 * @param out overwritten on success, untouched otherwise
 * @returns `Status.Ok` or the rejection status
 */
export function parseArpInto(bytes: Uint8Array, out: ArpNumbers): number {
  const ex = wasm ?? instance();
  const len = bytes.length;
  if (len > inputCapacity) return Status.TooLong;
  mem.set(bytes, inputAt);
  return readArpNumbers(ex.parseArpNumbers(len), out);
}

function readArpNumbers(status: number, out: ArpNumbers): number {
  if (status !== Status.Ok) return status;
  const n = numbers;
  const i = numbersAt;
  out.operation = n[i]!;
  out.senderHardwareAddr = n[i + 1]!;
  out.senderProtocolAddr = n[i + 2]!;
  out.targetHardwareAddr = n[i + 3]!;
  out.targetProtocolAddr = n[i + 4]!;
  return Status.Ok;
}

// ---------------------------------------------------------------------------
// ARP batches: one Wasm call for many frames.

/** How many frames one batch call parses at most. */
export const ARP_BATCH_CAPACITY = 512;

/**
 * The batch frame table, a view of Wasm memory: entry `i` is
 * `[2 * i]` = the frame's offset in {@linkcode receiveBuffer} and
 * `[2 * i + 1]` = its length. Fill it (and the frames) and call
 * {@linkcode parseReceivedArpBatch}; a receive loop can `recv(2)` several
 * frames into the receive buffer one after another and note each here. The
 * view stays valid (the memory never grows); {@linkcode parseArpBatch}
 * overwrites it.
 *
 * @returns the view, `2 * ARP_BATCH_CAPACITY` entries
 */
export function batchTable(): Uint32Array {
  instance();
  return table;
}

/**
 * Parse the first `count` frames of {@linkcode batchTable} (frames already in
 * {@linkcode receiveBuffer}) in one Wasm call; then read the results from
 * {@linkcode arpBatchRecords} (fastest) or with {@linkcode readArpBatchInto}.
 * Per frame, the checks and statuses of {@linkcode parseArpInto}; an entry
 * that reaches past the receive buffer is `Status.BadArgument` (`Status.TooLong`
 * when its length alone does). Frames may overlap or repeat.
 *
 * @param count how many entries, 0 to {@linkcode ARP_BATCH_CAPACITY}
 * @returns how many frames were accepted as ARP
 * @throws {CodecError} `badArgument` when `count` is out of range (no frame is parsed)
 */
export function parseReceivedArpBatch(count: number): number {
  instance();
  return runBatch(count, inputCapacity);
}

function runBatch(count: number, end: number): number {
  if (!(count >= 0 && count <= ARP_BATCH_CAPACITY && Number.isInteger(count))) {
    batchCount = 0;
    throw argumentError(`Invalid ARP batch count "${count}": expected 0-${ARP_BATCH_CAPACITY}`);
  }
  batchCount = count;
  return wasm!.parseArpBatch(count, end);
}

/**
 * Copy `block` (frames one after another, e.g. a chunk of a capture file) to
 * the start of the receive buffer and the first `count` entries of `entries`
 * (`[offset in block, length]` pairs, as in {@linkcode batchTable}) to the
 * batch table, then parse them like {@linkcode parseReceivedArpBatch}: two
 * copies and one call for the whole batch. An entry that reaches past the
 * end of `block` is `Status.BadArgument`.
 *
 * @param block the frames, at most 65536 bytes
 * @param entries `[offset, length]` pairs
 * @param count how many pairs (default all of them)
 * @returns how many frames were accepted as ARP
 * @throws {CodecError} `badArgument` when `block` is too long or `count` out of range
 */
export function parseArpBatch(
  block: Uint8Array,
  entries: Uint32Array,
  count: number = entries.length >>> 1,
): number {
  instance();
  if (block.length > inputCapacity) {
    batchCount = 0;
    throw argumentError(`ARP batch block of ${block.length} bytes exceeds ${inputCapacity}`);
  }
  if (!(count >= 0 && 2 * count <= entries.length)) {
    batchCount = 0;
    throw argumentError(
      `Invalid ARP batch count "${count}" for ${entries.length >>> 1} entries`,
    );
  }
  if (count <= ARP_BATCH_CAPACITY) {
    mem.set(block, inputAt);
    table.set(entries.length === 2 * count ? entries : entries.subarray(0, 2 * count));
  }
  return runBatch(count, block.length);
}

/**
 * Slot numbers of one ARP batch record in {@linkcode arpBatchRecords}: record
 * `i` starts at `i * ArpRecord.Size`. IPv4 addresses are u32 bits (read them
 * with `>>> 0`); a MAC is `Hi * 2 ** 32 + (Lo >>> 0)` (Hi is 0-0xffff).
 * Slots other than `Status` are meaningful only when it is `Status.Ok`.
 */
export const ArpRecord = {
  Operation: REC_OPER / 4,
  SenderProtocolAddr: REC_SPA / 4,
  TargetProtocolAddr: REC_TPA / 4,
  SenderHardwareAddrHi: REC_SHA_HI / 4,
  SenderHardwareAddrLo: REC_SHA_LO / 4,
  TargetHardwareAddrHi: REC_THA_HI / 4,
  TargetHardwareAddrLo: REC_THA_LO / 4,
  Status: REC_STATUS / 4,
  Size: REC_SIZE / 4,
} as const;

/**
 * The records of the last batch, a cached view of Wasm memory
 * (`ARP_BATCH_CAPACITY * ArpRecord.Size` i32s; layout {@linkcode ArpRecord}):
 * the cheapest way to read a batch, as plain i32 loads with no call and no
 * allocation. Only the first `count` records of the last batch are current.
 *
 * @example
 * ```ts
 * import { ArpRecord, arpBatchRecords, buildArpProbe, parseArpBatch, Status } from "./codec.ts";
 * const a = buildArpProbe("02:00:00:00:00:01", "10.0.0.7");
 * const b = buildArpProbe("02:00:00:00:00:02", "10.0.0.8");
 * const block = new Uint8Array(a.length + b.length);
 * block.set(a);
 * block.set(b, a.length);
 * const count = 2;
 * parseArpBatch(block, new Uint32Array([0, a.length, a.length, b.length]), count);
 * const r = arpBatchRecords();
 * for (let i = 0, k = 0; i < count; i++, k += ArpRecord.Size) {
 *   if (r[k + ArpRecord.Status] !== Status.Ok) continue;
 *   const tpa = r[k + ArpRecord.TargetProtocolAddr]! >>> 0; // 10.0.0.7, 10.0.0.8
 *   const sha = r[k + ArpRecord.SenderHardwareAddrHi]! * 2 ** 32 +
 *     (r[k + ArpRecord.SenderHardwareAddrLo]! >>> 0);
 *   if (tpa !== 0x0a000007 + i || sha !== 0x0200_0000_0001 + i) throw new Error("unexpected");
 * }
 * ```
 *
 * @returns the view (the same object every time)
 */
export function arpBatchRecords(): Int32Array {
  instance();
  return recordView;
}

/**
 * Frame `i` of the last batch: its status and, on `Status.Ok`, its numbers
 * into `out` (the same values {@linkcode parseArpInto} gives).
 *
 * @param i 0 to the batch's count - 1
 * @param out overwritten on success, untouched otherwise
 * @returns `Status.Ok`, the frame's rejection status, or `Status.BadArgument` for an `i` outside the last batch
 */
export function readArpBatchInto(i: number, out: ArpNumbers): number {
  if (!((i >>> 0) === i && i < batchCount)) return Status.BadArgument;
  const r = recordView;
  const k = i * (REC_SIZE / 4);
  const status = r[k + REC_STATUS / 4]!;
  if (status !== Status.Ok) return status;
  out.operation = r[k + REC_OPER / 4]!;
  out.senderHardwareAddr = r[k + REC_SHA_HI / 4]! * 0x1_0000_0000 + (r[k + REC_SHA_LO / 4]! >>> 0);
  out.senderProtocolAddr = r[k + REC_SPA / 4]! >>> 0;
  out.targetHardwareAddr = r[k + REC_THA_HI / 4]! * 0x1_0000_0000 + (r[k + REC_THA_LO / 4]! >>> 0);
  out.targetProtocolAddr = r[k + REC_TPA / 4]! >>> 0;
  return Status.Ok;
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
  if (result < 0) {
    const status = -result;
    throw new CodecError(
      KINDS[status] ?? "badArgument",
      `Cannot build ${what}: ${MESSAGES[status]}`,
    );
  }
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
  instance();
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
  return finishBuild(wasm!.buildArp(), "ARP frame");
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
  return finishBuild(wasm!.buildNs(), "neighbor solicitation");
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
  return finishBuild(wasm!.buildNa(), "neighbor advertisement");
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
 * A MAC as a 48-bit integer (for comparisons with {@linkcode ArpNumbers}).
 *
 * @param mac the MAC
 * @returns the integer
 * @throws {CodecError} `badArgument`
 */
export function macToNumber(mac: Mac): number {
  const b = new Uint8Array(6);
  writeMac(mac, b, 0, "");
  return ((b[0]! << 8) | b[1]!) * 0x1_0000_0000 +
    (((b[2]! << 24) | (b[3]! << 16) | (b[4]! << 8) | b[5]!) >>> 0);
}

/**
 * An IPv4 address as an unsigned 32-bit integer.
 *
 * @param ip dotted quad
 * @returns the integer
 * @throws {CodecError} `badArgument`
 */
export function ipv4ToNumber(ip: string): number {
  const n = ipv4Number(ip);
  if (n < 0) throw argumentError(`Invalid IPv4 address "${String(ip)}"`);
  return n;
}

/**
 * The kind word of a status code.
 *
 * @param status a non-zero status
 * @returns the matching {@linkcode CodecErrorKind}
 * @throws {RangeError} for 0 (Ok) and unknown numbers
 */
export function statusKind(status: number): CodecErrorKind {
  const kind = status > 0 ? KINDS[status] : undefined;
  if (kind === undefined) throw new RangeError(`Status "${status}" is not a rejection`);
  return kind;
}
