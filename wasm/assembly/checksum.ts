// The Internet checksum (RFC 1071) of ICMPv6 with the IPv6 pseudo-header
// (RFC 8200, Section 8.1): source, destination, upper-layer length (32 bits),
// three zero bytes and the next header value 58.

import { IP6_ADDR_LEN } from "./_fields";

/**
 * Adds the bytes at `p` as big-endian 16-bit words (an odd last byte is the
 * high half of a word) to `acc`. Summing 32-bit words is the same modulo
 * 0xffff, because 0x10000 is 1 modulo 0xffff; a u64 cannot overflow for 64 KiB.
 */
export function addWords(p: usize, len: u32, acc: u64): u64 {
  let i: u32 = 0;
  while (i + 4 <= len) {
    acc += <u64>bswap<u32>(load<u32>(p + i));
    i += 4;
  }
  if (i + 2 <= len) {
    acc += <u64>bswap<u16>(load<u16>(p + i));
    i += 2;
  }
  if (i < len) acc += <u64>load<u8>(p + i) << 8;
  return acc;
}

/** Folds a sum to 16 bits with end-around carry. */
export function fold(sum: u64): u32 {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return <u32>sum;
}

/** The sum of the pseudo-header and the `len`-byte message at `msg`. */
export function icmpv6Sum(src: usize, dst: usize, msg: usize, len: u32, nextHeader: u8): u32 {
  let acc: u64 = <u64>len + <u64>nextHeader;
  acc = addWords(src, IP6_ADDR_LEN, acc);
  acc = addWords(dst, IP6_ADDR_LEN, acc);
  acc = addWords(msg, len, acc);
  return fold(acc);
}
