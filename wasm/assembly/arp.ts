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
  RES_ARP_OPER,
  RES_ARP_SHA,
  RES_ARP_SPA,
  RES_ARP_THA,
  RES_ARP_TPA,
  RES_KIND,
} from "./_fields";
import { BAD_OPERATION, OK, TRUNCATED, UNSUPPORTED_ARP } from "./status";

/** Parses the ARP packet at `p` (`avail` bytes to the frame end; padding is ignored). */
export function parseArp(p: usize, avail: u32, res: usize): i32 {
  if (avail < ARP_LEN) return TRUNCATED;
  if (
    be16(p + ARP_HTYPE) != ARP_HTYPE_ETHERNET ||
    be16(p + ARP_PTYPE) != ARP_PTYPE_IPV4 ||
    load<u8>(p + ARP_HLEN) != 6 ||
    load<u8>(p + ARP_PLEN) != 4
  ) {
    return UNSUPPORTED_ARP;
  }
  const op = be16(p + ARP_OPER);
  if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY) return BAD_OPERATION;
  store<u8>(res + RES_KIND, KIND_ARP);
  store<u16>(res + RES_ARP_OPER, op);
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
