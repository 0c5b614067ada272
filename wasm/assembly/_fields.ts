// One table of offsets and lengths: the wire formats, then the two structs
// shared with mod/codec/mod.ts (the build arguments and the parse result).
// Wire offsets are relative to the start of their header.

// Ethernet II (IEEE 802.3 clause 3), with an optional 802.1Q tag after the MACs.
export const ETH_DST: u32 = 0;
export const ETH_SRC: u32 = 6;
export const ETH_TYPE: u32 = 12;
export const ETH_HEADER_LEN: u32 = 14;
export const VLAN_TCI: u32 = 14;
export const VLAN_TAG_LEN: u32 = 4;
export const VLAN_ID_MASK: u16 = 0x0fff;
export const ETHERTYPE_ARP: u16 = 0x0806;
export const ETHERTYPE_IPV6: u16 = 0x86dd;
export const ETHERTYPE_VLAN: u16 = 0x8100;
/** Minimum Ethernet frame without FCS; shorter frames are padded with zeros. */
export const ETH_MIN_FRAME_LEN: u32 = 60;

// ARP for IPv4 over Ethernet (RFC 826).
export const ARP_HTYPE: u32 = 0;
export const ARP_PTYPE: u32 = 2;
export const ARP_HLEN: u32 = 4;
export const ARP_PLEN: u32 = 5;
export const ARP_OPER: u32 = 6;
export const ARP_SHA: u32 = 8;
export const ARP_SPA: u32 = 14;
export const ARP_THA: u32 = 18;
export const ARP_TPA: u32 = 24;
export const ARP_LEN: u32 = 28;
export const ARP_HTYPE_ETHERNET: u16 = 1;
export const ARP_PTYPE_IPV4: u16 = 0x0800;
export const ARP_OP_REQUEST: u16 = 1;
export const ARP_OP_REPLY: u16 = 2;

// IPv6 (RFC 8200, Section 3).
export const IP6_VERSION: u32 = 0;
export const IP6_PAYLOAD_LEN: u32 = 4;
export const IP6_NEXT_HEADER: u32 = 6;
export const IP6_HOP_LIMIT: u32 = 7;
export const IP6_SRC: u32 = 8;
export const IP6_DST: u32 = 24;
export const IP6_HEADER_LEN: u32 = 40;
export const IP6_ADDR_LEN: u32 = 16;
export const NEXT_HEADER_ICMPV6: u8 = 58;
export const NDP_HOP_LIMIT: u8 = 255;

// ICMPv6 NS / NA (RFC 4861, Sections 4.3 and 4.4).
export const ICMP_TYPE: u32 = 0;
export const ICMP_CODE: u32 = 1;
export const ICMP_CHECKSUM: u32 = 2;
export const NA_FLAGS: u32 = 4;
export const NDP_TARGET: u32 = 8;
export const NDP_HEADER_LEN: u32 = 24;
export const ICMP_TYPE_NS: u8 = 135;
export const ICMP_TYPE_NA: u8 = 136;
/** R, S and O are the top three bits of the first reserved byte; the rest is reserved. */
export const NA_FLAG_MASK: u8 = 0xe0;
export const NA_FLAG_SOLICITED: u8 = 0x40;

// NDP options (RFC 4861, Section 4.6): type, length in units of 8 bytes, data.
export const OPT_TYPE: u32 = 0;
export const OPT_LEN: u32 = 1;
export const OPT_DATA: u32 = 2;
export const OPT_UNIT: u32 = 8;
export const OPT_SOURCE_LLA: u8 = 1;
export const OPT_TARGET_LLA: u8 = 2;
/** A link-layer address option for Ethernet is one unit (RFC 2464, Section 6). */
export const LLA_OPT_LEN: u32 = 8;

// Static buffers.
export const INPUT_CAPACITY: u32 = 65536;
export const OUTPUT_CAPACITY: u32 = 256;
/** At most one option per 8 bytes of a 64 KiB frame. */
export const OPTION_TABLE_CAPACITY: u32 = 8192;

// Build arguments, written by mod/codec/mod.ts before a build call.
export const ARG_ETH_DST: u32 = 0; // [6]
export const ARG_ETH_SRC: u32 = 6; // [6]
export const ARG_VLAN: u32 = 12; // u16, little endian
export const ARG_HAS_VLAN: u32 = 14; // u8
export const ARG_HAS_LLA: u32 = 15; // u8
export const ARG_ARP_OPER: u32 = 16; // u16, little endian
export const ARG_ARP_SHA: u32 = 18; // [6]
export const ARG_ARP_SPA: u32 = 24; // [4]
export const ARG_ARP_THA: u32 = 28; // [6]
export const ARG_ARP_TPA: u32 = 34; // [4]
export const ARG_IP6_SRC: u32 = 40; // [16]
export const ARG_IP6_DST: u32 = 56; // [16]
export const ARG_NDP_TARGET: u32 = 72; // [16]
export const ARG_NA_FLAGS: u32 = 88; // u8, R 0x80 S 0x40 O 0x20
export const ARG_LLA: u32 = 90; // [6]
export const ARGS_SIZE: u32 = 96;

// Parse result, read by mod/codec/mod.ts after a parse call. Multi-byte numbers
// are little endian; addresses are copied in wire order.
export const RES_KIND: u32 = 0; // u8: 1 ARP, 2 NS, 3 NA
export const RES_HAS_VLAN: u32 = 1; // u8
export const RES_VLAN: u32 = 2; // u16
export const RES_ETHERTYPE: u32 = 4; // u16
export const RES_HAS_LLA: u32 = 6; // u8
export const RES_NA_FLAGS: u32 = 7; // u8, masked with NA_FLAG_MASK
export const RES_ETH_DST: u32 = 8; // [6]
export const RES_ETH_SRC: u32 = 14; // [6]
export const RES_ARP_OPER: u32 = 20; // u16
export const RES_ARP_SHA: u32 = 22; // [6]
export const RES_ARP_SPA: u32 = 28; // [4]
export const RES_ARP_THA: u32 = 32; // [6]
export const RES_ARP_TPA: u32 = 38; // [4]
export const RES_HOP_LIMIT: u32 = 42; // u8
export const RES_OPTION_COUNT: u32 = 44; // u32
export const RES_LLA: u32 = 48; // [6], the first SLLA (NS) or TLLA (NA)
export const RES_IP6_SRC: u32 = 56; // [16]
export const RES_IP6_DST: u32 = 72; // [16]
export const RES_NDP_TARGET: u32 = 88; // [16]
export const RES_SIZE: u32 = 104;

// ARP numbers, written by parseArp() for hot receive loops: five f64 slots read
// through a Float64Array, so the caller does no byte assembly and no bswap.
export const NUM_OPER: u32 = 0; // f64: 1 or 2
export const NUM_SHA: u32 = 8; // f64: 48-bit MAC
export const NUM_SPA: u32 = 16; // f64: IPv4 as u32
export const NUM_THA: u32 = 24; // f64
export const NUM_TPA: u32 = 32; // f64
export const NUM_SIZE: u32 = 40;

// ARP batch (parseArpBatch): a table of frames already in the input buffer, and
// one result record per table entry. A batch amortises the JS-to-Wasm call over
// many frames; the records are i32s, read through a cached Int32Array.
export const BATCH_CAPACITY: u32 = 512;
export const BATCH_OFFSET: u32 = 0; // u32: the frame's start in the input buffer
export const BATCH_LEN: u32 = 4; // u32: the frame's length
export const BATCH_ENTRY_SIZE: u32 = 8;
export const REC_OPER: u32 = 0; // i32: 1 or 2
export const REC_SPA: u32 = 4; // i32: IPv4 as u32 bits (JS: >>> 0)
export const REC_TPA: u32 = 8; // i32
export const REC_SHA_HI: u32 = 12; // i32: the MAC's first 2 bytes, 0-0xffff
export const REC_SHA_LO: u32 = 16; // i32: its last 4 bytes as u32 bits
export const REC_THA_HI: u32 = 20; // i32
export const REC_THA_LO: u32 = 24; // i32
export const REC_STATUS: u32 = 28; // i32: status of this frame (last: the SIMD store writes it)
export const REC_SIZE: u32 = 32;

export const KIND_ARP: u8 = 1;
export const KIND_NS: u8 = 2;
export const KIND_NA: u8 = 3;
