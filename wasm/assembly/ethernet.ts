// Ethernet II header (IEEE 802.3 clause 3.2.6) with one optional 802.1Q tag.
//
//   6 bytes  destination MAC
//   6 bytes  source MAC
//  [2 bytes  TPID 0x8100, 2 bytes TCI: PCP 3 bits, DEI 1 bit, VLAN id 12 bits]
//   2 bytes  ethertype

import { be16, copy6, storeBe16 } from "./_bytes";
import {
  ARG_ETH_DST,
  ARG_ETH_SRC,
  ARG_HAS_VLAN,
  ARG_VLAN,
  ETH_DST,
  ETH_HEADER_LEN,
  ETH_SRC,
  ETH_TYPE,
  ETHERTYPE_VLAN,
  RES_ETH_DST,
  RES_ETH_SRC,
  RES_ETHERTYPE,
  RES_HAS_VLAN,
  RES_VLAN,
  VLAN_ID_MASK,
  VLAN_TAG_LEN,
  VLAN_TCI,
} from "./_fields";
import { BAD_ARGUMENT, TRUNCATED } from "./status";

/**
 * Reads the header of the `len`-byte frame at `frame` into the result struct.
 * Returns the header length (14, or 18 with a tag), or minus a status.
 */
export function parseEthernet(frame: usize, len: u32, res: usize): i32 {
  if (len < ETH_HEADER_LEN) return -TRUNCATED;
  let type = be16(frame + ETH_TYPE);
  let header = ETH_HEADER_LEN;
  let hasVlan: u8 = 0;
  let vlan: u16 = 0;
  if (type == ETHERTYPE_VLAN) {
    // A tag is recognised and skipped; a second tag (QinQ) leaves 0x8100 as
    // the inner ethertype, which the caller rejects as unsupported.
    if (len < ETH_HEADER_LEN + VLAN_TAG_LEN) return -TRUNCATED;
    hasVlan = 1;
    vlan = be16(frame + VLAN_TCI) & VLAN_ID_MASK;
    type = be16(frame + ETH_TYPE + VLAN_TAG_LEN);
    header += VLAN_TAG_LEN;
  }
  copy6(res + RES_ETH_DST, frame + ETH_DST);
  copy6(res + RES_ETH_SRC, frame + ETH_SRC);
  store<u8>(res + RES_HAS_VLAN, hasVlan);
  store<u16>(res + RES_VLAN, vlan);
  store<u16>(res + RES_ETHERTYPE, type);
  return <i32>header;
}

/** Checks the Ethernet build arguments; returns a status. */
export function checkEthernetArgs(args: usize): i32 {
  if (load<u8>(args + ARG_HAS_VLAN) != 0 && load<u16>(args + ARG_VLAN) > VLAN_ID_MASK) {
    return BAD_ARGUMENT;
  }
  return 0;
}

/** Writes the header for `ethertype` at `out`; returns its length. */
export function emitEthernet(out: usize, args: usize, ethertype: u16): u32 {
  copy6(out + ETH_DST, args + ARG_ETH_DST);
  copy6(out + ETH_SRC, args + ARG_ETH_SRC);
  if (load<u8>(args + ARG_HAS_VLAN) != 0) {
    storeBe16(out + ETH_TYPE, ETHERTYPE_VLAN);
    storeBe16(out + VLAN_TCI, load<u16>(args + ARG_VLAN));
    storeBe16(out + ETH_TYPE + VLAN_TAG_LEN, ethertype);
    return ETH_HEADER_LEN + VLAN_TAG_LEN;
  }
  storeBe16(out + ETH_TYPE, ethertype);
  return ETH_HEADER_LEN;
}
