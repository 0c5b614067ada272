// IPv6 + ICMPv6 Neighbor Solicitation / Advertisement (RFC 4861).
//
// IPv6 header (RFC 8200):       NS (type 135) / NA (type 136) (RFC 4861, 4.3 / 4.4):
//   4 bits version (6), ...      1 byte   type
//   2 bytes payload length       1 byte   code (0)
//   1 byte  next header (58)     2 bytes  checksum
//   1 byte  hop limit (255)      4 bytes  reserved (NS) / R S O flags + reserved (NA)
//  16 bytes source              16 bytes  target address
//  16 bytes destination          options: 1 byte type, 1 byte length in 8-byte units, data
//
// Receivers validate as RFC 4861 Sections 7.1.1 and 7.1.2 say. Extension
// headers are not walked: NDP is sent without them, so next header must be 58.

import { be16, copy16, copy6, isMulticast, isSolicitedNode, isUnspecified, storeBe16 } from "./_bytes";
import {
  ARG_HAS_LLA,
  ARG_IP6_DST,
  ARG_IP6_SRC,
  ARG_LLA,
  ARG_NA_FLAGS,
  ARG_NDP_TARGET,
  ICMP_CHECKSUM,
  ICMP_CODE,
  ICMP_TYPE,
  ICMP_TYPE_NA,
  ICMP_TYPE_NS,
  IP6_DST,
  IP6_HEADER_LEN,
  IP6_HOP_LIMIT,
  IP6_NEXT_HEADER,
  IP6_PAYLOAD_LEN,
  IP6_SRC,
  IP6_VERSION,
  KIND_NA,
  KIND_NS,
  LLA_OPT_LEN,
  NA_FLAG_MASK,
  NA_FLAG_SOLICITED,
  NA_FLAGS,
  NDP_HEADER_LEN,
  NDP_HOP_LIMIT,
  NDP_TARGET,
  NEXT_HEADER_ICMPV6,
  OPT_DATA,
  OPT_LEN,
  OPT_SOURCE_LLA,
  OPT_TARGET_LLA,
  OPT_TYPE,
  OPT_UNIT,
  OPTION_TABLE_CAPACITY,
  RES_HAS_LLA,
  RES_HOP_LIMIT,
  RES_IP6_DST,
  RES_IP6_SRC,
  RES_KIND,
  RES_LLA,
  RES_NA_FLAGS,
  RES_NDP_TARGET,
  RES_OPTION_COUNT,
} from "./_fields";
import { icmpv6Sum } from "./checksum";
import {
  BAD_ADDRESS,
  BAD_CHECKSUM,
  BAD_CODE,
  BAD_HOP_LIMIT,
  BAD_LENGTH,
  BAD_OPTION,
  BAD_TARGET,
  NOT_ICMPV6,
  NOT_IPV6,
  NOT_NDP,
  OK,
  TRUNCATED,
} from "./status";

/** The ICMPv6 header is type, code and checksum. */
const ICMP_MIN_LEN: u32 = 4;

/**
 * Parses the IPv6 packet at `ip` (`avail` bytes to the frame end) as an NS or
 * NA. Bytes after the IPv6 payload (Ethernet padding) are ignored. Option
 * offsets, counted from `frame`, go to the table at `opts`.
 */
export function parseNdp(frame: usize, ip: usize, avail: u32, res: usize, opts: usize): i32 {
  if (avail < IP6_HEADER_LEN) return TRUNCATED;
  if (load<u8>(ip + IP6_VERSION) >> 4 != 6) return NOT_IPV6;
  if (load<u8>(ip + IP6_NEXT_HEADER) != NEXT_HEADER_ICMPV6) return NOT_ICMPV6;
  const len = <u32>be16(ip + IP6_PAYLOAD_LEN);
  if (len > avail - IP6_HEADER_LEN) return TRUNCATED;
  if (len < ICMP_MIN_LEN) return BAD_LENGTH;
  const msg = ip + IP6_HEADER_LEN;
  const type = load<u8>(msg + ICMP_TYPE);
  if (type != ICMP_TYPE_NS && type != ICMP_TYPE_NA) return NOT_NDP;
  if (load<u8>(ip + IP6_HOP_LIMIT) != NDP_HOP_LIMIT) return BAD_HOP_LIMIT;
  if (load<u8>(msg + ICMP_CODE) != 0) return BAD_CODE;
  if (len < NDP_HEADER_LEN) return BAD_LENGTH;
  // Summed with its own checksum field, a valid message folds to 0xffff.
  if (icmpv6Sum(ip + IP6_SRC, ip + IP6_DST, msg, len, NEXT_HEADER_ICMPV6) != 0xffff) {
    return BAD_CHECKSUM;
  }
  if (isMulticast(msg + NDP_TARGET)) return BAD_TARGET;

  // Options: walk them all, so that a malformed one anywhere rejects the
  // message (RFC 4861, Section 7.1: "All included options have a length that
  // is greater than zero"). Unknown types are kept, as offsets.
  const wanted = type == ICMP_TYPE_NS ? OPT_SOURCE_LLA : OPT_TARGET_LLA;
  let hasLla: u8 = 0;
  let hasSourceLla = false;
  let count: u32 = 0;
  let off: u32 = NDP_HEADER_LEN;
  while (off < len) {
    if (len - off < 2) return BAD_OPTION;
    const optType = load<u8>(msg + off + OPT_TYPE);
    const optLen = <u32>load<u8>(msg + off + OPT_LEN) * OPT_UNIT;
    if (optLen == 0 || optLen > len - off) return BAD_OPTION;
    if ((optType == OPT_SOURCE_LLA || optType == OPT_TARGET_LLA) && optLen != LLA_OPT_LEN) {
      return BAD_OPTION;
    }
    if (count >= OPTION_TABLE_CAPACITY) return BAD_OPTION; // unreachable: 8-byte minimum
    if (optType == OPT_SOURCE_LLA) hasSourceLla = true;
    if (optType == wanted && hasLla == 0) {
      copy6(res + RES_LLA, msg + off + OPT_DATA);
      hasLla = 1;
    }
    store<u32>(opts + (<usize>count << 2), <u32>(msg + off - frame));
    count++;
    off += optLen;
  }

  if (type == ICMP_TYPE_NS) {
    // 7.1.1: from the unspecified address (DAD), the destination is a
    // solicited-node group and there is no source link-layer address option.
    if (isUnspecified(ip + IP6_SRC) && (!isSolicitedNode(ip + IP6_DST) || hasSourceLla)) {
      return BAD_ADDRESS;
    }
  } else {
    // 7.1.2: a multicast destination requires the Solicited flag to be zero.
    if ((load<u8>(msg + NA_FLAGS) & NA_FLAG_SOLICITED) != 0 && isMulticast(ip + IP6_DST)) {
      return BAD_ADDRESS;
    }
  }

  store<u8>(res + RES_KIND, type == ICMP_TYPE_NS ? KIND_NS : KIND_NA);
  store<u8>(res + RES_HOP_LIMIT, NDP_HOP_LIMIT);
  store<u8>(res + RES_NA_FLAGS, type == ICMP_TYPE_NA ? load<u8>(msg + NA_FLAGS) & NA_FLAG_MASK : 0);
  store<u8>(res + RES_HAS_LLA, hasLla);
  store<u32>(res + RES_OPTION_COUNT, count);
  copy16(res + RES_IP6_SRC, ip + IP6_SRC);
  copy16(res + RES_IP6_DST, ip + IP6_DST);
  copy16(res + RES_NDP_TARGET, msg + NDP_TARGET);
  return OK;
}

/** Checks NS (`type` 135) or NA (136) build arguments against the same rules; returns a status. */
export function checkNdpArgs(args: usize, type: u8): i32 {
  if (isMulticast(args + ARG_NDP_TARGET)) return BAD_TARGET;
  if (type == ICMP_TYPE_NS) {
    if (
      isUnspecified(args + ARG_IP6_SRC) &&
      (!isSolicitedNode(args + ARG_IP6_DST) || load<u8>(args + ARG_HAS_LLA) != 0)
    ) {
      return BAD_ADDRESS;
    }
  } else if (
    (load<u8>(args + ARG_NA_FLAGS) & NA_FLAG_SOLICITED) != 0 && isMulticast(args + ARG_IP6_DST)
  ) {
    return BAD_ADDRESS;
  }
  return OK;
}

/**
 * Writes the IPv6 header and the NS (`type` 135) or NA (136) at `ip`, with
 * the checksum filled; returns the IPv6 packet length.
 */
export function emitNdp(ip: usize, args: usize, type: u8): u32 {
  const hasLla = load<u8>(args + ARG_HAS_LLA) != 0;
  const len: u32 = NDP_HEADER_LEN + (hasLla ? LLA_OPT_LEN : 0);
  store<u32>(ip + IP6_VERSION, 0x60); // version 6, traffic class 0, flow label 0
  storeBe16(ip + IP6_PAYLOAD_LEN, <u16>len);
  store<u8>(ip + IP6_NEXT_HEADER, NEXT_HEADER_ICMPV6);
  store<u8>(ip + IP6_HOP_LIMIT, NDP_HOP_LIMIT);
  copy16(ip + IP6_SRC, args + ARG_IP6_SRC);
  copy16(ip + IP6_DST, args + ARG_IP6_DST);
  const msg = ip + IP6_HEADER_LEN;
  store<u8>(msg + ICMP_TYPE, type);
  store<u8>(msg + ICMP_CODE, 0);
  store<u16>(msg + ICMP_CHECKSUM, 0);
  // NS: 4 reserved bytes. NA: the flags byte, then 3 reserved bytes.
  store<u32>(msg + NA_FLAGS, type == ICMP_TYPE_NA ? <u32>(load<u8>(args + ARG_NA_FLAGS) & NA_FLAG_MASK) : 0);
  copy16(msg + NDP_TARGET, args + ARG_NDP_TARGET);
  if (hasLla) {
    const opt = msg + NDP_HEADER_LEN;
    store<u8>(opt + OPT_TYPE, type == ICMP_TYPE_NS ? OPT_SOURCE_LLA : OPT_TARGET_LLA);
    store<u8>(opt + OPT_LEN, <u8>(LLA_OPT_LEN / OPT_UNIT));
    copy6(opt + OPT_DATA, args + ARG_LLA);
  }
  const sum = icmpv6Sum(ip + IP6_SRC, ip + IP6_DST, msg, len, NEXT_HEADER_ICMPV6);
  storeBe16(msg + ICMP_CHECKSUM, <u16>(~sum & 0xffff));
  return IP6_HEADER_LEN + len;
}
