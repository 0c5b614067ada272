// Status codes returned by every export of the codec. One table, mirrored by
// `Status` in mod/codec/_core.ts; tests/codec_contract_test.ts checks that the two
// agree. Keep the `export const NAME: i32 = N;` shape: the test reads it.

/** The frame was accepted, or built. */
export const OK: i32 = 0;
/** The frame ends before a header or the IPv6 payload it announces. */
export const TRUNCATED: i32 = 1;
/** The input is longer than the input buffer (64 KiB). */
export const TOO_LONG: i32 = 2;
/** The ethertype (after one optional 802.1Q tag) is neither ARP nor IPv6. */
export const UNSUPPORTED_ETHERTYPE: i32 = 3;
/** ARP, but not Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4). */
export const UNSUPPORTED_ARP: i32 = 4;
/** ARP operation other than 1 (request) or 2 (reply). */
export const BAD_OPERATION: i32 = 5;
/** Ethertype IPv6, but the version nibble is not 6. */
export const NOT_IPV6: i32 = 6;
/** The IPv6 next header is not ICMPv6 (58); extension headers are not walked. */
export const NOT_ICMPV6: i32 = 7;
/** ICMPv6, but not a Neighbor Solicitation (135) or Advertisement (136). */
export const NOT_NDP: i32 = 8;
/** NDP with a hop limit other than 255 (RFC 4861, Sections 7.1.1 and 7.1.2). */
export const BAD_HOP_LIMIT: i32 = 9;
/** NDP with an ICMPv6 code other than 0. */
export const BAD_CODE: i32 = 10;
/** The ICMPv6 length (IPv6 payload length) is below the 24-byte NS/NA minimum. */
export const BAD_LENGTH: i32 = 11;
/** The ICMPv6 checksum over the pseudo-header does not verify. */
export const BAD_CHECKSUM: i32 = 12;
/** An NDP option with length 0, past the end, or a link-layer option not 8 bytes long. */
export const BAD_OPTION: i32 = 13;
/** The NS/NA target is a multicast address. */
export const BAD_TARGET: i32 = 14;
/** RFC 4861 address rules: DAD NS not to a solicited-node group or with an SLLA; solicited NA to multicast. */
export const BAD_ADDRESS: i32 = 15;
/** Builder arguments out of range (VLAN id above 4095). */
export const BAD_ARGUMENT: i32 = 16;
