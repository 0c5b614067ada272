// The exported ABI of the codec, and nothing else.
//
// The caller copies a frame into the input buffer and calls `parse(len)`, or
// writes the build arguments and calls one of the build functions; results
// are read from the result struct or the output buffer. Layouts are in
// _fields.ts. Every export returns a number and never traps: rejections are
// status codes (status.ts). Nothing is allocated.

import { ARGS, BATCH, INPUT, NUMBERS, OPTIONS, OUTPUT, RECORDS, RESULT } from "./_buffers";
import {
  ARP_LEN,
  BATCH_CAPACITY,
  BATCH_ENTRY_SIZE,
  ETH_HEADER_LEN,
  ETH_MIN_FRAME_LEN,
  ETH_TYPE,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV6,
  ICMP_TYPE_NA,
  ICMP_TYPE_NS,
  INPUT_CAPACITY,
  REC_SIZE,
  REC_STATUS,
  RES_ETHERTYPE,
  RES_KIND,
  VLAN_TAG_LEN,
} from "./_fields";
import { checkArp, checkArpArgs, emitArp, parseArp, parseArpRecord, storeArpNumbers } from "./arp";
import { checkEthernetArgs, emitEthernet, parseEthernet } from "./ethernet";
import { checkNdpArgs, emitNdp, parseNdp } from "./ndp";
import { BAD_ARGUMENT, OK, TOO_LONG, TRUNCATED, UNSUPPORTED_ETHERTYPE } from "./status";

/** Ethertypes 0x0806 and 0x8100 as a little-endian u16 load sees them (literals: inlined). */
const ETHERTYPE_ARP_LE: u16 = 0x0608;
const ETHERTYPE_VLAN_LE: u16 = 0x0081;

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

/** Address of the batch frame table (`batchCapacity()` entries, layout BATCH_* in _fields.ts). */
export function batchPtr(): usize {
  return BATCH;
}

/** Address of the batch records (`batchCapacity()` of them, layout REC_* in _fields.ts). */
export function recordsPtr(): usize {
  return RECORDS;
}

/** How many frames one `parseArpBatch` call takes. */
export function batchCapacity(): u32 {
  return BATCH_CAPACITY;
}

/**
 * The Ethernet header of an ARP-only parse of the `len`-byte frame at `frame`:
 * the same checks as parse(), in the same order, without copying anything.
 * Returns the header length (14 or 18), or minus a status.
 */
// @ts-ignore: decorator
@inline function arpHeader(frame: usize, len: u32): i32 {
  if (len > INPUT_CAPACITY) return -TOO_LONG;
  if (len < ETH_HEADER_LEN) return -TRUNCATED;
  // Ethertypes compared in wire order (a little-endian load), no swap per frame.
  let header = ETH_HEADER_LEN;
  let ethertype = load<u16>(frame + ETH_TYPE);
  if (ethertype == ETHERTYPE_VLAN_LE) {
    if (len < ETH_HEADER_LEN + VLAN_TAG_LEN) return -TRUNCATED;
    header += VLAN_TAG_LEN;
    ethertype = load<u16>(frame + ETH_TYPE + VLAN_TAG_LEN);
  }
  if (ethertype != ETHERTYPE_ARP_LE) return -UNSUPPORTED_ETHERTYPE;
  return <i32>header;
}

/**
 * The hot path of ARP receive loops: like `parse`, but only ARP is accepted
 * (anything else is UNSUPPORTED_ETHERTYPE without being parsed further), and
 * on OK the numbers struct holds the fields as f64.
 */
export function parseArpNumbers(len: u32): i32 {
  const header = arpHeader(INPUT, len);
  if (header < 0) return -header;
  const arp = INPUT + <usize>header;
  const status = checkArp(arp, len - <u32>header);
  if (status == OK) storeArpNumbers(arp, NUMBERS);
  return status;
}

/**
 * Parses the ARP frames listed in the batch table: entry `i` names
 * `[offset, offset + length)` of the input buffer, and record `i` gets its
 * status and, on OK, its numbers (on a rejection the other slots keep old
 * values). The checks per frame are those of `parseArpNumbers`; an entry
 * that reaches past `end` (the bytes the caller filled, at most the input
 * buffer) is BAD_ARGUMENT, unless its length alone is TOO_LONG. Returns how
 * many frames were accepted, or minus BAD_ARGUMENT (nothing written) for a
 * count above the capacity.
 */
export function parseArpBatch(count: u32, end: u32): i32 {
  if (count > BATCH_CAPACITY) return -BAD_ARGUMENT;
  if (end > INPUT_CAPACITY) end = INPUT_CAPACITY;
  let accepted = 0;
  for (let i: u32 = 0; i < count; i++) {
    const entry = load<u64>(BATCH + <usize>(i * BATCH_ENTRY_SIZE)); // offset, length
    const offset = <u32>entry;
    const len = <u32>(entry >>> 32);
    const rec = RECORDS + <usize>(i * REC_SIZE);
    let status: i32;
    if (len <= INPUT_CAPACITY && (len > end || offset > end - len)) {
      status = BAD_ARGUMENT;
    } else {
      const frame = INPUT + <usize>offset;
      const header = arpHeader(frame, len);
      if (header < 0) {
        status = -header;
      } else {
        status = parseArpRecord(frame + <usize>header, len - <u32>header, rec);
        if (status == OK) {
          accepted++; // the record holds its status too
          continue;
        }
      }
    }
    store<i32>(rec + REC_STATUS, status);
  }
  return accepted;
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
