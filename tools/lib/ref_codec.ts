/**
 * One file: the reference must be readable side by side with the RFCs it follows, builders next to parsers.
 *
 * A plain-TypeScript reference codec for ARP and NDP frames, written from the
 * RFCs for the tests (differential properties) and the benchmark (Wasm vs
 * TS). It shares only the types with `mod/codec/`, not code; the checks come
 * in the order docs/codec.md lists, so both must reject a frame for the same
 * reason.
 *
 * @module
 */

import type {
  ArpPacket,
  CodecErrorKind,
  EthernetAddrs,
  EthernetHeader,
  Frame,
  NaFlags,
  NdpOption,
} from "../../mod/codec/mod.ts";
import type { ArpNumbers } from "../../mod/codec/batch.ts";

/** The reference's rejection: just the reason. */
export interface RefError {
  /** The reason, with the same words as `CodecError.kind`. */
  error: CodecErrorKind;
}

const HEX2 = Array.from({ length: 256 }, (_, i) => (i < 16 ? "0" : "") + i.toString(16));

function mac(b: Uint8Array, at: number): string {
  return HEX2[b[at]!]! + ":" + HEX2[b[at + 1]!]! + ":" + HEX2[b[at + 2]!]! + ":" +
    HEX2[b[at + 3]!]! + ":" + HEX2[b[at + 4]!]! + ":" + HEX2[b[at + 5]!]!;
}

function ipv4(b: Uint8Array, at: number): string {
  return b[at] + "." + b[at + 1] + "." + b[at + 2] + "." + b[at + 3];
}

/** RFC 5952: the first longest run of two or more zero groups becomes "::". */
function ipv6(b: Uint8Array, at: number): string {
  const g = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 8; i++) g[i] = (b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!;
  let start = -1;
  let len = 0;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > len && j - i >= 2) {
      start = i;
      len = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === start) {
      out += i === 0 ? "::" : ":";
      i += len - 1;
      if (i === 7) break;
      continue;
    }
    out += g[i]!.toString(16) + (i < 7 ? ":" : "");
  }
  return out;
}

const fail = (error: CodecErrorKind): RefError => ({ error });

// Direct indexing instead of a DataView per frame: the fastest plain TS we know.
const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
const u32 = (b: Uint8Array, at: number): number =>
  ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
const u48 = (b: Uint8Array, at: number): number => u16(b, at) * 0x1_0000_0000 + u32(b, at + 2);

/**
 * Parse a frame with the reference rules.
 *
 * @param b the frame
 * @returns the frame, or the reason
 */
export function refParse(b: Uint8Array): Frame | RefError {
  if (b.length > 65536) return fail("tooLong");
  if (b.length < 14) return fail("truncated");
  let l3 = 14;
  let ethertype = u16(b, 12);
  const eth: EthernetHeader = { dst: mac(b, 0), src: mac(b, 6), ethertype };
  if (ethertype === 0x8100) {
    if (b.length < 18) return fail("truncated");
    eth.vlan = u16(b, 14) & 0xfff;
    ethertype = u16(b, 16);
    eth.ethertype = ethertype;
    l3 = 18;
  }
  if (ethertype === 0x0806) {
    if (b.length - l3 < 28) return fail("truncated");
    if (
      u16(b, l3) !== 1 || u16(b, l3 + 2) !== 0x0800 || b[l3 + 4] !== 6 ||
      b[l3 + 5] !== 4
    ) {
      return fail("unsupportedArp");
    }
    const op = u16(b, l3 + 6);
    if (op !== 1 && op !== 2) return fail("badOperation");
    return {
      kind: "arp",
      eth,
      arp: {
        operation: op,
        senderHardwareAddr: mac(b, l3 + 8),
        senderProtocolAddr: ipv4(b, l3 + 14),
        targetHardwareAddr: mac(b, l3 + 18),
        targetProtocolAddr: ipv4(b, l3 + 24),
      },
    };
  }
  if (ethertype !== 0x86dd) return fail("unsupportedEthertype");
  return parseIpv6(b, l3, eth);
}

function parseIpv6(b: Uint8Array, ip: number, eth: EthernetHeader): Frame | RefError {
  if (b.length - ip < 40) return fail("truncated");
  if (b[ip]! >> 4 !== 6) return fail("notIpv6");
  if (b[ip + 6] !== 58) return fail("notIcmpv6");
  const plen = u16(b, ip + 4);
  if (plen > b.length - ip - 40) return fail("truncated");
  if (plen < 4) return fail("badLength");
  const m = ip + 40;
  const type = b[m]!;
  if (type !== 135 && type !== 136) return fail("notNdp");
  if (b[ip + 7] !== 255) return fail("badHopLimit");
  if (b[m + 1] !== 0) return fail("badCode");
  if (plen < 24) return fail("badLength");
  if (checksum(b, ip + 8, ip + 24, m, plen) !== 0) return fail("badChecksum");
  if (b[m + 8] === 0xff) return fail("badTarget");
  const options: NdpOption[] = [];
  let lla: string | undefined;
  let sawSource = false;
  for (let off = 24; off < plen;) {
    if (plen - off < 2) return fail("badOption");
    const t = b[m + off]!;
    const len = b[m + off + 1]! * 8;
    if (len === 0 || off + len > plen) return fail("badOption");
    if (t === 1 || t === 2) {
      if (len !== 8) return fail("badOption");
      const addr = mac(b, m + off + 2);
      options.push({ type: t, linkLayerAddr: addr });
      if (t === 1) sawSource = true;
      if (lla === undefined && t === (type === 135 ? 1 : 2)) lla = addr;
    } else {
      options.push({ type: t, raw: b.slice(m + off + 2, m + off + len) });
    }
    off += len;
  }
  const src = b.subarray(ip + 8, ip + 24);
  const dst = b.subarray(ip + 24, ip + 40);
  const target = ipv6(b, m + 8);
  const ip6 = { src: ipv6(b, ip + 8), dst: ipv6(b, ip + 24), hopLimit: 255 };
  if (type === 135) {
    const unspecified = src.every((x) => x === 0);
    const solicitedNode = dst[0] === 0xff && dst[1] === 0x02 && dst.subarray(2, 11).every((x) =>
      x === 0
    ) &&
      dst[11] === 1 && dst[12] === 0xff;
    if (unspecified && (!solicitedNode || sawSource)) return fail("badAddress");
    return {
      kind: "ndp",
      eth,
      ip6,
      ndp: {
        kind: "ns",
        target,
        options,
        ...(lla === undefined ? {} : { sourceLinkLayerAddr: lla }),
      },
    };
  }
  const flags = b[m + 4]!;
  if ((flags & 0x40) !== 0 && dst[0] === 0xff) return fail("badAddress");
  return {
    kind: "ndp",
    eth,
    ip6,
    ndp: {
      kind: "na",
      router: (flags & 0x80) !== 0,
      solicited: (flags & 0x40) !== 0,
      override: (flags & 0x20) !== 0,
      target,
      options,
      ...(lla === undefined ? {} : { targetLinkLayerAddr: lla }),
    },
  };
}

/** One's complement of the one's complement sum, 16 bits at a time; 0 when a message verifies. */
function checksum(b: Uint8Array, src: number, dst: number, msg: number, len: number): number {
  let sum = len + 58;
  for (let i = 0; i < 16; i += 2) sum += (b[src + i]! << 8) + b[src + i + 1]!;
  for (let i = 0; i < 16; i += 2) sum += (b[dst + i]! << 8) + b[dst + i + 1]!;
  for (let i = 0; i < len; i += 2) sum += (b[msg + i]! << 8) + (i + 1 < len ? b[msg + i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/**
 * An {@linkcode ArpNumbers} record of zeros, to be filled by the parsers.
 *
 * @returns the record
 */
export function zeroArpNumbers(): ArpNumbers {
  return {
    operation: 0,
    senderHardwareAddr: 0,
    senderProtocolAddr: 0,
    targetHardwareAddr: 0,
    targetProtocolAddr: 0,
  };
}

/**
 * The reference's allocation-free ARP path (for the benchmark).
 *
 * @param b the frame
 * @param out filled on success
 * @returns 0, or a non-zero value on rejection
 */
export function refParseArpInto(b: Uint8Array, out: ArpNumbers): number {
  return refParseArpAt(b, 0, b.length, out);
}

/**
 * {@linkcode refParseArpInto} for the `len`-byte frame at `b[at]` (no subarray).
 *
 * @param b the bytes holding the frame
 * @param at where the frame starts
 * @param len the frame length (`at + len <= b.length`)
 * @param out filled on success
 * @returns 0, or a non-zero value on rejection
 */
export function refParseArpAt(b: Uint8Array, at: number, len: number, out: ArpNumbers): number {
  if (len < 14) return 1;
  let a = at + 14;
  let type = u16(b, at + 12);
  if (type === 0x8100) {
    if (len < 18) return 1;
    type = u16(b, at + 16);
    a = at + 18;
  }
  if (type !== 0x0806) return 3;
  if (at + len - a < 28) return 1;
  if (u32(b, a) !== 0x00010800 || u16(b, a + 4) !== 0x0604) return 4;
  const op = u16(b, a + 6);
  if (op !== 1 && op !== 2) return 5;
  out.operation = op;
  out.senderHardwareAddr = u48(b, a + 8);
  out.senderProtocolAddr = u32(b, a + 14);
  out.targetHardwareAddr = u48(b, a + 18);
  out.targetProtocolAddr = u32(b, a + 24);
  return 0;
}

/**
 * The reference batch: the same job as the codec's `parseArpBatch()`. Entry
 * `i` of `entries` is `[offset, length]` in `block`; record `i` of `records`
 * (8 i32 slots: operation, SPA, TPA, SHA high 16 bits, SHA low 32, THA high,
 * THA low, status) gets the status and, when it is 0, the numbers. An entry
 * longer than 65536 bytes is 2 (tooLong), one past the end of `block` 16
 * (badArgument). Written independently of the Wasm module, from the same
 * description.
 *
 * @param block the frames
 * @param entries `[offset, length]` pairs
 * @param count how many entries
 * @param records at least `8 * count` slots, written
 * @returns how many frames were accepted
 */
export function refParseArpBatch(
  block: Uint8Array,
  entries: Uint32Array,
  count: number,
  records: Int32Array,
): number {
  let accepted = 0;
  const end = block.length;
  for (let i = 0; i < count; i++) {
    const at = entries[2 * i]!;
    const len = entries[2 * i + 1]!;
    const k = 8 * i;
    let status: number;
    if (len > 65536) {
      status = 2;
    } else if (at + len > end) {
      status = 16;
    } else if (len < 14) {
      status = 1;
    } else {
      let a = at + 14;
      let type = u16(block, at + 12);
      status = 0;
      if (type === 0x8100) {
        if (len < 18) status = 1;
        type = u16(block, at + 16);
        a = at + 18;
      }
      if (status !== 0) {
        // truncated tag
      } else if (type !== 0x0806) {
        status = 3;
      } else if (at + len - a < 28) {
        status = 1;
      } else if (u32(block, a) !== 0x00010800 || u16(block, a + 4) !== 0x0604) {
        status = 4;
      } else {
        const op = u16(block, a + 6);
        if (op !== 1 && op !== 2) {
          status = 5;
        } else {
          records[k] = op;
          records[k + 1] = u32(block, a + 14);
          records[k + 2] = u32(block, a + 24);
          records[k + 3] = u16(block, a + 8);
          records[k + 4] = u32(block, a + 10);
          records[k + 5] = u16(block, a + 18);
          records[k + 6] = u32(block, a + 20);
          accepted++;
        }
      }
    }
    records[k + 7] = status;
  }
  return accepted;
}

// --- build ---

function putMac(b: Uint8Array, at: number, m: string): void {
  const parts = m.split(":");
  if (parts.length !== 6) throw new Error(`Bad MAC "${m}"`);
  for (let i = 0; i < 6; i++) b[at + i] = parseInt(parts[i]!, 16);
}

function putIpv4(b: Uint8Array, at: number, ip: string): void {
  const parts = ip.split(".").map(Number);
  for (let i = 0; i < 4; i++) b[at + i] = parts[i]!;
}

function putIpv6(b: Uint8Array, at: number, ip: string): void {
  const [head = "", tail] = ip.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  for (let i = 0; i < 8; i++) {
    const g = parseInt(groups[i]!, 16);
    b[at + 2 * i] = g >> 8;
    b[at + 2 * i + 1] = g & 0xff;
  }
}

function putEthernet(b: Uint8Array, eth: EthernetAddrs, type: number): number {
  putMac(b, 0, eth.dst);
  putMac(b, 6, eth.src);
  if (eth.vlan === undefined) {
    b[12] = type >> 8;
    b[13] = type & 0xff;
    return 14;
  }
  b.set([0x81, 0x00, eth.vlan >> 8, eth.vlan & 0xff, type >> 8, type & 0xff], 12);
  return 18;
}

/**
 * Reference ARP builder (padded to 60 bytes).
 *
 * @param eth addresses
 * @param arp the packet
 * @returns the frame
 */
export function refBuildArp(eth: EthernetAddrs, arp: ArpPacket): Uint8Array {
  const b = new Uint8Array(60);
  const a = putEthernet(b, eth, 0x0806);
  b.set([0, 1, 8, 0, 6, 4, 0, arp.operation], a);
  putMac(b, a + 8, arp.senderHardwareAddr);
  putIpv4(b, a + 14, arp.senderProtocolAddr);
  putMac(b, a + 18, arp.targetHardwareAddr);
  putIpv4(b, a + 24, arp.targetProtocolAddr);
  return b;
}

/** Reference NS/NA arguments (everything explicit). */
export interface RefNdpArgs {
  /** Ethernet addresses. */
  eth: EthernetAddrs;
  /** IPv6 source. */
  src: string;
  /** IPv6 destination. */
  dst: string;
  /** Target. */
  target: string;
  /** 135 NS or 136 NA. */
  type: 135 | 136;
  /** NA flags. */
  flags?: NaFlags;
  /** SLLA (NS) or TLLA (NA). */
  lla?: string;
}

/**
 * Reference NS/NA builder.
 *
 * @param args everything
 * @returns the frame
 */
export function refBuildNdp(args: RefNdpArgs): Uint8Array {
  const icmpLen = 24 + (args.lla === undefined ? 0 : 8);
  const ethLen = args.eth.vlan === undefined ? 14 : 18;
  const b = new Uint8Array(ethLen + 40 + icmpLen);
  const ip = putEthernet(b, args.eth, 0x86dd);
  b[ip] = 0x60;
  b[ip + 4] = icmpLen >> 8;
  b[ip + 5] = icmpLen & 0xff;
  b[ip + 6] = 58;
  b[ip + 7] = 255;
  putIpv6(b, ip + 8, args.src);
  putIpv6(b, ip + 24, args.dst);
  const m = ip + 40;
  b[m] = args.type;
  const f = args.flags;
  if (args.type === 136 && f) {
    b[m + 4] = (f.router ? 0x80 : 0) | (f.solicited ? 0x40 : 0) | (f.override ? 0x20 : 0);
  }
  putIpv6(b, m + 8, args.target);
  if (args.lla !== undefined) {
    b[m + 24] = args.type === 135 ? 1 : 2;
    b[m + 25] = 1;
    putMac(b, m + 26, args.lla);
  }
  const c = checksum(b, ip + 8, ip + 24, m, icmpLen);
  b[m + 2] = c >> 8;
  b[m + 3] = c & 0xff;
  return b;
}

/**
 * Recompute the ICMPv6 checksum of an IPv6 frame in place, over the payload
 * length it announces (clipped to the bytes present), so that mutated frames
 * reach the checks behind the checksum. Frames that are not IPv6 are left alone.
 *
 * @param b the frame, modified
 */
export function refFixChecksum(b: Uint8Array): void {
  let ip = 14;
  if (b.length >= 18 && b[12] === 0x81 && b[13] === 0) ip = 18;
  if (b.length < ip + 44 || b[ip - 2] !== 0x86 || b[ip - 1] !== 0xdd) return;
  const m = ip + 40;
  const len = Math.min((b[ip + 4]! << 8) | b[ip + 5]!, b.length - m);
  if (len < 4) return;
  b[m + 2] = 0;
  b[m + 3] = 0;
  const c = checksum(b, ip + 8, ip + 24, m, len);
  b[m + 2] = c >> 8;
  b[m + 3] = c & 0xff;
}
