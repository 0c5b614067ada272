// Byte helpers: big-endian (network order) loads and stores, and fixed-size
// copies done as word loads instead of a memory.copy call per field.

/** Reads a big-endian u16. */
// @ts-ignore: decorator
@inline export function be16(p: usize): u16 {
  return bswap<u16>(load<u16>(p));
}

/** Writes a big-endian u16. */
// @ts-ignore: decorator
@inline export function storeBe16(p: usize, v: u16): void {
  store<u16>(p, bswap<u16>(v));
}

/** Copies 4 bytes. */
// @ts-ignore: decorator
@inline export function copy4(dst: usize, src: usize): void {
  store<u32>(dst, load<u32>(src));
}

/** Copies 6 bytes (a MAC). */
// @ts-ignore: decorator
@inline export function copy6(dst: usize, src: usize): void {
  store<u32>(dst, load<u32>(src));
  store<u16>(dst, load<u16>(src, 4), 4);
}

/** Copies 16 bytes (an IPv6 address). */
// @ts-ignore: decorator
@inline export function copy16(dst: usize, src: usize): void {
  store<u64>(dst, load<u64>(src));
  store<u64>(dst, load<u64>(src, 8), 8);
}

/** True when the 16 bytes at `p` are all zero (the unspecified address `::`). */
// @ts-ignore: decorator
@inline export function isUnspecified(p: usize): bool {
  return (load<u64>(p) | load<u64>(p, 8)) == 0;
}

/** True for a multicast IPv6 address (ff00::/8). */
// @ts-ignore: decorator
@inline export function isMulticast(p: usize): bool {
  return load<u8>(p) == 0xff;
}

/** True for a solicited-node multicast address, ff02::1:ff00:0/104 (RFC 4291, Section 2.7.1). */
export function isSolicitedNode(p: usize): bool {
  // Bytes 0-12 are ff 02 00 00 00 00 00 00 00 00 00 01 ff.
  return load<u64>(p) == 0x02ff && load<u32>(p, 8) == 0x01000000 && load<u8>(p, 12) == 0xff;
}
