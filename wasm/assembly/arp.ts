// ARP for IPv4 over Ethernet (RFC 826). Only the one combination we emit is
// accepted: htype 1, ptype 0x0800, hlen 6, plen 4, operation 1 or 2.
//
//   2 bytes  hardware type (1)        6 bytes  sender hardware address
//   2 bytes  protocol type (0x0800)   4 bytes  sender protocol address
//   1 byte   hardware length (6)      6 bytes  target hardware address
//   1 byte   protocol length (4)      4 bytes  target protocol address
//   2 bytes  operation

import { be16, copy4, copy6, storeBe16 } from "./_bytes";
import {
  ARG_ARP_OPER,
  ARG_ARP_SHA,
  ARG_ARP_SPA,
  ARG_ARP_THA,
  ARG_ARP_TPA,
  ARP_HLEN,
  ARP_HTYPE,
  ARP_HTYPE_ETHERNET,
  ARP_LEN,
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ARP_OPER,
  ARP_PLEN,
  ARP_PTYPE,
  ARP_PTYPE_IPV4,
  ARP_SHA,
  ARP_SPA,
  ARP_THA,
  ARP_TPA,
  KIND_ARP,
  NUM_OPER,
  NUM_SHA,
  NUM_SPA,
  NUM_THA,
  NUM_TPA,
  REC_OPER,
  REC_SHA_LO,
  REC_THA_LO,
  REC_TPA,
  RES_ARP_OPER,
  RES_ARP_SHA,
  RES_ARP_SPA,
  RES_ARP_THA,
  RES_ARP_TPA,
  RES_KIND,
} from "./_fields";
import { BAD_OPERATION, OK, TRUNCATED, UNSUPPORTED_ARP } from "./status";

// Literals, so that the compiler inlines them (a bswap<>() initialiser would
// become a global read per use).
/** htype 1 and ptype 0x0800 (00 01 08 00 on the wire) as a little-endian u32 load sees them. */
const ARP_FORMAT_LE: u32 = 0x00080100;
/** The same and hlen 6, plen 4 (00 01 08 00 06 04) as the low 48 bits of a u64 load. */
const ARP_HEAD_LE: u64 = 0x0406_0008_0100;
/** hlen 6 and plen 4 (06 04) as a little-endian u16 load sees them. */
const ARP_LENGTHS_LE: u16 = 0x0406;
/** Operations 1 and 2 (00 01, 00 02) as a little-endian u16 load sees them. */
const ARP_OP_REQUEST_LE: u16 = 0x0100;
const ARP_OP_REPLY_LE: u16 = 0x0200;

/**
 * Checks the ARP packet at `p` (`avail` bytes to the frame end; padding is
 * ignored); returns a status: the checks of parseArp(). Wire fields are
 * compared as little-endian loads against byte-swapped constants, so no swap
 * per frame.
 */
// @ts-ignore: decorator
@inline export function checkArp(p: usize, avail: u32): i32 {
  if (avail < ARP_LEN) return TRUNCATED;
  if (load<u32>(p + ARP_HTYPE) != ARP_FORMAT_LE || load<u16>(p + ARP_HLEN) != ARP_LENGTHS_LE) {
    return UNSUPPORTED_ARP;
  }
  const op = load<u16>(p + ARP_OPER);
  if (op != ARP_OP_REQUEST_LE && op != ARP_OP_REPLY_LE) return BAD_OPERATION;
  return OK;
}

/** Parses the ARP packet at `p` (`avail` bytes to the frame end) into the result struct. */
export function parseArp(p: usize, avail: u32, res: usize): i32 {
  const status = checkArp(p, avail);
  if (status != OK) return status;
  store<u8>(res + RES_KIND, KIND_ARP);
  store<u16>(res + RES_ARP_OPER, be16(p + ARP_OPER));
  copy6(res + RES_ARP_SHA, p + ARP_SHA);
  copy4(res + RES_ARP_SPA, p + ARP_SPA);
  copy6(res + RES_ARP_THA, p + ARP_THA);
  copy4(res + RES_ARP_TPA, p + ARP_TPA);
  return OK;
}

/** The 48-bit MAC at `p` as an f64 (exact: below 2^53). */
// @ts-ignore: decorator
@inline function macNumber(p: usize): f64 {
  return <f64>((<u64>be16(p) << 32) | <u64>bswap<u32>(load<u32>(p, 2)));
}

/** Writes the numbers of an accepted ARP packet at `p` to the NUM_* slots at `num`. */
export function storeArpNumbers(p: usize, num: usize): void {
  store<f64>(num + NUM_OPER, <f64>be16(p + ARP_OPER));
  store<f64>(num + NUM_SHA, macNumber(p + ARP_SHA));
  store<f64>(num + NUM_SPA, <f64>bswap<u32>(load<u32>(p + ARP_SPA)));
  store<f64>(num + NUM_THA, macNumber(p + ARP_THA));
  store<f64>(num + NUM_TPA, <f64>bswap<u32>(load<u32>(p + ARP_TPA)));
}

/**
 * checkArp() and, on OK, the record at `rec` (REC_* in _fields.ts, status
 * included) in one pass for parseArpBatch(): every Wasm memory access costs a
 * bounds check in V8 here, so the 28 bytes are read as three u64 loads and a
 * u32 (checks and fields alike) and the record is written as four u64 stores.
 */
// @ts-ignore: decorator
@inline export function parseArpRecord(p: usize, avail: u32, rec: usize): i32 {
  if (avail < ARP_LEN) return TRUNCATED;
  const head = load<u64>(p); // htype, ptype, hlen, plen, operation
  if ((head & 0xffff_ffff_ffff) != ARP_HEAD_LE) return UNSUPPORTED_ARP;
  const opLe = <u16>(head >>> 48);
  if (opLe != ARP_OP_REQUEST_LE && opLe != ARP_OP_REPLY_LE) return BAD_OPERATION;
  const w1 = load<u64>(p, 8); // SHA, the first 2 bytes of SPA
  const w2 = load<u64>(p, 16); // the last 2 bytes of SPA, THA
  const tpa = bswap<u32>(load<u32>(p, 24));
  const op = <u64>(opLe >>> 8); // 1 or 2: the high byte is 0
  const spa = bswap<u32>(<u32>(w1 >>> 48) | (<u32>w2 << 16));
  const shaHi = <u64>bswap<u16>(<u16>w1);
  const shaLo = bswap<u32>(<u32>(w1 >>> 16));
  const thaHi = <u64>bswap<u16>(<u16>(w2 >>> 16));
  const thaLo = bswap<u32>(<u32>(w2 >>> 32));
  // Slot pairs: (REC_OPER, REC_SPA), (REC_TPA, REC_SHA_HI), (REC_SHA_LO,
  // REC_THA_HI), (REC_THA_LO, REC_STATUS = OK).
  store<u64>(rec, op | (<u64>spa << 32), REC_OPER);
  store<u64>(rec, <u64>tpa | (shaHi << 32), REC_TPA);
  store<u64>(rec, <u64>shaLo | (thaHi << 32), REC_SHA_LO);
  store<u64>(rec, <u64>thaLo, REC_THA_LO);
  return OK;
}

/** Checks the ARP build arguments; returns a status. */
export function checkArpArgs(args: usize): i32 {
  const op = load<u16>(args + ARG_ARP_OPER);
  return op == ARP_OP_REQUEST || op == ARP_OP_REPLY ? OK : BAD_OPERATION;
}

/** Writes the 28-byte ARP packet at `out`. */
export function emitArp(out: usize, args: usize): void {
  storeBe16(out + ARP_HTYPE, ARP_HTYPE_ETHERNET);
  storeBe16(out + ARP_PTYPE, ARP_PTYPE_IPV4);
  store<u8>(out + ARP_HLEN, 6);
  store<u8>(out + ARP_PLEN, 4);
  storeBe16(out + ARP_OPER, load<u16>(args + ARG_ARP_OPER));
  copy6(out + ARP_SHA, args + ARG_ARP_SHA);
  copy4(out + ARP_SPA, args + ARG_ARP_SPA);
  copy6(out + ARP_THA, args + ARG_ARP_THA);
  copy4(out + ARP_TPA, args + ARG_ARP_TPA);
}
