// The exported ABI of the codec, and nothing else.
//
// The caller copies a frame into the input buffer and calls `parse(len)`, or
// writes the build arguments and calls one of the build functions; results
// are read from the result struct or the output buffer. Layouts are in
// _fields.ts. Every export returns a number and never traps: rejections are
// status codes (status.ts). Nothing is allocated.

import { ARGS, INPUT, NUMBERS, OPTIONS, OUTPUT, RESULT } from "./_buffers";
import { be16 } from "./_bytes";
import {
  ARP_LEN,
  ETH_HEADER_LEN,
  ETH_MIN_FRAME_LEN,
  ETH_TYPE,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV6,
  ETHERTYPE_VLAN,
  ICMP_TYPE_NA,
  ICMP_TYPE_NS,
  INPUT_CAPACITY,
  RES_ETHERTYPE,
  RES_KIND,
  VLAN_TAG_LEN,
} from "./_fields";
import { checkArpArgs, emitArp, parseArp, storeArpNumbers } from "./arp";
import { checkEthernetArgs, emitEthernet, parseEthernet } from "./ethernet";
import { checkNdpArgs, emitNdp, parseNdp } from "./ndp";
import { OK, TOO_LONG, TRUNCATED, UNSUPPORTED_ETHERTYPE } from "./status";

/** Address of the input buffer (`inputCapacity()` bytes). */
export function inputPtr(): usize {
  return INPUT;
}

/** Size of the input buffer: the longest frame `parse` takes. */
export function inputCapacity(): u32 {
  return INPUT_CAPACITY;
}

/** Address of the output buffer of the build functions. */
export function outputPtr(): usize {
  return OUTPUT;
}

/** Address of the build arguments struct. */
export function argsPtr(): usize {
  return ARGS;
}

/** Address of the parse result struct. */
export function resultPtr(): usize {
  return RESULT;
}

/** Address of the option offset table filled by `parse`. */
export function optionsPtr(): usize {
  return OPTIONS;
}

/** Address of the ARP numbers struct filled by `parseArpNumbers`. */
export function numbersPtr(): usize {
  return NUMBERS;
}

/**
 * The hot path of ARP receive loops: like `parse`, but only ARP is accepted
 * (anything else is UNSUPPORTED_ETHERTYPE without being parsed further), and
 * on OK the numbers struct holds the fields as f64.
 */
export function parseArpNumbers(len: u32): i32 {
  // The same checks as parse(), in the same order, without copying the
  // Ethernet header into the result struct: this caller only wants numbers.
  if (len > INPUT_CAPACITY) return TOO_LONG;
  if (len < ETH_HEADER_LEN) return TRUNCATED;
  let header = ETH_HEADER_LEN;
  let ethertype = be16(INPUT + ETH_TYPE);
  if (ethertype == ETHERTYPE_VLAN) {
    if (len < ETH_HEADER_LEN + VLAN_TAG_LEN) return TRUNCATED;
    header += VLAN_TAG_LEN;
    ethertype = be16(INPUT + ETH_TYPE + VLAN_TAG_LEN);
  }
  if (ethertype != ETHERTYPE_ARP) return UNSUPPORTED_ETHERTYPE;
  const arp = INPUT + <usize>header;
  const status = parseArp(arp, len - header, RESULT);
  if (status == OK) storeArpNumbers(arp, NUMBERS);
  return status;
}

/**
 * Parses the `len`-byte frame in the input buffer. Returns a status; on OK
 * the result struct (and for NDP the option table) describe the frame.
 */
export function parse(len: u32): i32 {
  if (len > INPUT_CAPACITY) return TOO_LONG;
  store<u8>(RESULT + RES_KIND, 0);
  const header = parseEthernet(INPUT, len, RESULT);
  if (header < 0) return -header;
  const ethertype = load<u16>(RESULT + RES_ETHERTYPE);
  const rest = len - <u32>header;
  if (ethertype == ETHERTYPE_ARP) return parseArp(INPUT + <usize>header, rest, RESULT);
  if (ethertype == ETHERTYPE_IPV6) {
    return parseNdp(INPUT, INPUT + <usize>header, rest, RESULT, OPTIONS);
  }
  return UNSUPPORTED_ETHERTYPE;
}

/**
 * Builds an ARP frame from the arguments, padded to 60 bytes. Returns the
 * frame length, or minus a status.
 */
export function buildArp(): i32 {
  let status = checkEthernetArgs(ARGS);
  if (status == OK) status = checkArpArgs(ARGS);
  if (status != OK) return -status;
  const header = emitEthernet(OUTPUT, ARGS, ETHERTYPE_ARP);
  emitArp(OUTPUT + <usize>header, ARGS);
  let len = header + ARP_LEN;
  if (len < ETH_MIN_FRAME_LEN) {
    memory.fill(OUTPUT + <usize>len, 0, ETH_MIN_FRAME_LEN - len);
    len = ETH_MIN_FRAME_LEN;
  }
  return <i32>len;
}

function buildNdp(type: u8): i32 {
  let status = checkEthernetArgs(ARGS);
  if (status == OK) status = checkNdpArgs(ARGS, type);
  if (status != OK) return -status;
  const header = emitEthernet(OUTPUT, ARGS, ETHERTYPE_IPV6);
  return <i32>(header + emitNdp(OUTPUT + <usize>header, ARGS, type));
}

/** Builds a Neighbor Solicitation frame. Returns the frame length, or minus a status. */
export function buildNs(): i32 {
  return buildNdp(ICMP_TYPE_NS);
}

/** Builds a Neighbor Advertisement frame. Returns the frame length, or minus a status. */
export function buildNa(): i32 {
  return buildNdp(ICMP_TYPE_NA);
}
