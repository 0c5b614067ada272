#!/usr/bin/python3
"""Golden frames for the codec tests, made by an independent implementation.

Run with Debian's python3-scapy (2.5.0): `/usr/bin/python3 make_frames.py` in
this directory. For every case it writes NAME.hex (the frame, lowercase hex)
and NAME.json: the frame as scapy dissects it, mapped to the shape of
mod/codec.ts `parseFrame()` ("expect"), or the reason the codec must give
("error"); and, when the codec has a builder for it, the builder call that
must produce the same bytes ("build"). Field values are distinct (0x11..,
0x21..) so an offset mistake shows.
"""

import ipaddress
import json
import os

from scapy.all import (  # type: ignore
    ARP,
    Dot1Q,
    Ether,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptMTU,
    ICMPv6NDOptSrcLLAddr,
    IP,
    IPv6,
    IPv6ExtHdrHopByHop,
    Padding,
    Raw,
    UDP,
    in6_getnsma,
    in6_getnsmac,
    inet_ntop,
    inet_pton,
    raw,
    socket,
)

MAC_A = "02:11:12:13:14:15"
MAC_B = "02:21:22:23:24:25"
MAC_C = "0a:31:32:33:34:35"
BCAST = "ff:ff:ff:ff:ff:ff"
ZERO = "00:00:00:00:00:00"
IP4_A = "10.65.66.67"
IP4_B = "192.168.81.82"
LL_A = "fe80::11:1213:1415"
LL_B = "fe80::21:2223:2425"
GUA = "2001:db8:41::4243:4445"
GUA_B = "2001:db8:51::5253:5455"

HERE = os.path.dirname(os.path.abspath(__file__))


def pad60(p):
    """Ethernet minimum frame (without FCS): pad with zeros to 60 bytes."""
    n = len(raw(p))
    return p / Padding(load=b"\x00" * (60 - n)) if n < 60 else p


def canon6(a):
    return ipaddress.IPv6Address(a).compressed


def eth_json(q):
    e = {"dst": q[Ether].dst, "src": q[Ether].src}
    if Dot1Q in q:
        e["ethertype"] = q[Dot1Q].type
        e["vlan"] = q[Dot1Q].vlan
    else:
        e["ethertype"] = q[Ether].type
    return e


def decode(data):
    """Map scapy's dissection of `data` to the codec's Frame shape."""
    q = Ether(data)
    eth = eth_json(q)
    if ARP in q:
        a = q[ARP]
        return {
            "kind": "arp",
            "eth": eth,
            "arp": {
                "operation": a.op,
                "senderHardwareAddr": a.hwsrc,
                "senderProtocolAddr": a.psrc,
                "targetHardwareAddr": a.hwdst,
                "targetProtocolAddr": a.pdst,
            },
        }
    ip6 = q[IPv6]
    icmp = ip6.payload
    body = raw(icmp)[: ip6.plen]
    options = []
    off = 24
    while off < len(body):
        t, l = body[off], body[off + 1] * 8
        if t in (1, 2):
            mac = ":".join("%02x" % b for b in body[off + 2 : off + 8])
            options.append({"type": t, "linkLayerAddr": mac})
        else:
            options.append({"type": t, "rawHex": body[off + 2 : off + l].hex()})
        off += l
    if isinstance(icmp, ICMPv6ND_NS):
        ndp = {"kind": "ns", "target": canon6(icmp.tgt), "options": options}
        lla = [o for o in options if o["type"] == 1]
        if lla:
            ndp["sourceLinkLayerAddr"] = lla[0]["linkLayerAddr"]
    else:
        ndp = {
            "kind": "na",
            "router": bool(icmp.R),
            "solicited": bool(icmp.S),
            "override": bool(icmp.O),
            "target": canon6(icmp.tgt),
            "options": options,
        }
        lla = [o for o in options if o["type"] == 2]
        if lla:
            ndp["targetLinkLayerAddr"] = lla[0]["linkLayerAddr"]
    return {
        "kind": "ndp",
        "eth": eth,
        "ip6": {"src": canon6(ip6.src), "dst": canon6(ip6.dst), "hopLimit": ip6.hlim},
        "ndp": ndp,
    }


def write(name, description, pkt, error=None, build=None):
    data = raw(pkt)
    with open(os.path.join(HERE, name + ".hex"), "w") as f:
        f.write(data.hex() + "\n")
    doc = {"description": description}
    if error is None:
        doc["expect"] = decode(data)
    else:
        doc["error"] = error
    if build is not None:
        doc["build"] = build
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")


def arp(op, sha, spa, tha, tpa, dst=BCAST, src=None, vlan=None):
    e = Ether(dst=dst, src=src or sha)
    if vlan is not None:
        e = e / Dot1Q(vlan=vlan)
    return pad60(e / ARP(op=op, hwsrc=sha, psrc=spa, hwdst=tha, pdst=tpa))


def nd(src, dst, msg, dst_mac=None, src_mac=MAC_A, hlim=255, vlan=None):
    e = Ether(dst=dst_mac or in6_getnsmac(inet_pton(socket.AF_INET6, dst)), src=src_mac)
    if vlan is not None:
        e = e / Dot1Q(vlan=vlan)
    return e / IPv6(src=src, dst=dst, hlim=hlim) / msg


def sn(a):
    return inet_ntop(socket.AF_INET6, in6_getnsma(inet_pton(socket.AF_INET6, a)))


def main():
    # --- ARP (RFC 826, RFC 5227) ---
    write("arp_request", "ARP request who-has B tell A", arp(1, MAC_A, IP4_A, ZERO, IP4_B),
          build={"fn": "buildArpRequest", "args": [{"srcMac": MAC_A, "srcIp": IP4_A, "targetIp": IP4_B}]})
    write("arp_reply", "ARP reply B is-at MAC_B, unicast to A",
          arp(2, MAC_B, IP4_B, MAC_A, IP4_A, dst=MAC_A),
          build={"fn": "buildArp", "args": [
              {"dst": MAC_A, "src": MAC_B},
              {"operation": 2, "senderHardwareAddr": MAC_B, "senderProtocolAddr": IP4_B,
               "targetHardwareAddr": MAC_A, "targetProtocolAddr": IP4_A}]})
    write("arp_probe", "RFC 5227 probe: SPA 0.0.0.0, THA zero", arp(1, MAC_A, "0.0.0.0", ZERO, IP4_A),
          build={"fn": "buildArpProbe", "args": [MAC_A, IP4_A]})
    write("arp_probe_tha_broadcast", "Probe as DET sends it: THA ff:ff:ff:ff:ff:ff",
          arp(1, MAC_A, "0.0.0.0", BCAST, IP4_A),
          build={"fn": "buildArpProbe", "args": [MAC_A, IP4_A, {"targetHardwareAddr": BCAST}]})
    write("arp_announcement", "RFC 5227 announcement: SPA = TPA", arp(1, MAC_C, IP4_B, ZERO, IP4_B),
          build={"fn": "buildArpAnnouncement", "args": [MAC_C, IP4_B]})
    write("arp_gratuitous_head", "Gratuitous ARP request as HEAD announces: THA broadcast",
          arp(1, MAC_C, IP4_B, BCAST, IP4_B),
          build={"fn": "buildArpAnnouncement", "args": [MAC_C, IP4_B, {"targetHardwareAddr": BCAST}]})
    write("arp_vlan", "ARP request in an 802.1Q tag, VLAN 1234",
          arp(1, MAC_A, IP4_A, ZERO, IP4_B, vlan=1234),
          build={"fn": "buildArpRequest",
                 "args": [{"srcMac": MAC_A, "srcIp": IP4_A, "targetIp": IP4_B, "vlan": 1234}]})
    write("arp_unpadded", "ARP reply of 42 bytes (no padding, as a raw socket may deliver it)",
          Ether(dst=MAC_A, src=MAC_B) / ARP(op=2, hwsrc=MAC_B, psrc=IP4_B, hwdst=MAC_A, pdst=IP4_A))

    # --- NDP (RFC 4861, RFC 4862) ---
    write("ns_slla", "NS from link-local to the solicited-node group, with SLLA",
          nd(LL_A, sn(GUA_B), ICMPv6ND_NS(tgt=GUA_B) / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A)),
          build={"fn": "buildNeighborSolicitation",
                 "args": [{"srcMac": MAC_A, "src": LL_A, "target": GUA_B, "sourceLinkLayerAddr": MAC_A}]})
    write("ns_dad", "RFC 4862 DAD probe: src ::, no SLLA", nd("::", sn(GUA), ICMPv6ND_NS(tgt=GUA)),
          build={"fn": "buildDadSolicitation", "args": [MAC_A, GUA]})
    write("ns_unicast", "NS unicast to a known neighbour (NUD), with SLLA",
          nd(LL_A, LL_B, ICMPv6ND_NS(tgt=LL_B) / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A), dst_mac=MAC_B),
          build={"fn": "buildNeighborSolicitation",
                 "args": [{"srcMac": MAC_A, "dstMac": MAC_B, "src": LL_A, "dst": LL_B, "target": LL_B,
                           "sourceLinkLayerAddr": MAC_A}]})
    write("ns_vlan", "NS in an 802.1Q tag, VLAN 4094",
          nd(LL_A, sn(GUA_B), ICMPv6ND_NS(tgt=GUA_B) / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A), vlan=4094),
          build={"fn": "buildNeighborSolicitation",
                 "args": [{"srcMac": MAC_A, "src": LL_A, "target": GUA_B, "sourceLinkLayerAddr": MAC_A,
                           "vlan": 4094}]})
    write("ns_unknown_options", "NS with an MTU option and a nonce (type 14) around the SLLA: kept raw",
          nd(LL_A, sn(GUA_B), ICMPv6ND_NS(tgt=GUA_B) / ICMPv6NDOptMTU(mtu=0x11121314)
             / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A) / Raw(bytes([14, 1, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26]))))
    write("na_solicited", "Solicited NA, unicast reply, S=1 O=1, TLLA",
          nd(GUA_B, LL_A, ICMPv6ND_NA(R=0, S=1, O=1, tgt=GUA_B) / ICMPv6NDOptDstLLAddr(lladdr=MAC_B),
             dst_mac=MAC_A, src_mac=MAC_B),
          build={"fn": "buildNeighborAdvertisement",
                 "args": [{"srcMac": MAC_B, "dstMac": MAC_A, "src": GUA_B, "dst": LL_A, "target": GUA_B,
                           "flags": {"router": False, "solicited": True, "override": True},
                           "targetLinkLayerAddr": MAC_B}]})
    write("na_unsolicited", "Unsolicited NA to all nodes: O=1, TLLA (RFC 4861, 7.2.6)",
          nd(LL_A, "ff02::1", ICMPv6ND_NA(R=0, S=0, O=1, tgt=GUA) / ICMPv6NDOptDstLLAddr(lladdr=MAC_A)),
          build={"fn": "buildUnsolicitedAdvertisement", "args": [{"srcMac": MAC_A, "src": LL_A, "target": GUA}]})
    write("na_router_no_tlla", "NA from a router, R=1 S=1 O=0, no option",
          nd(LL_B, LL_A, ICMPv6ND_NA(R=1, S=1, O=0, tgt=LL_B), dst_mac=MAC_A, src_mac=MAC_B),
          build={"fn": "buildNeighborAdvertisement",
                 "args": [{"srcMac": MAC_B, "dstMac": MAC_A, "src": LL_B, "dst": LL_A, "target": LL_B,
                           "flags": {"router": True, "solicited": True, "override": False}}]})
    write("na_padded", "NA with 20 trailing bytes after the IPv6 payload (ignored)",
          nd(GUA_B, LL_A, ICMPv6ND_NA(S=1, tgt=GUA_B) / ICMPv6NDOptDstLLAddr(lladdr=MAC_B),
             dst_mac=MAC_A, src_mac=MAC_B) / Padding(load=b"\xa5" * 20))

    # --- rejected ---
    write("err_empty_ish", "13 bytes: shorter than an Ethernet header", Raw(bytes(range(13))), error="truncated")
    write("err_arp_truncated", "ARP cut after 20 bytes", Raw(raw(arp(1, MAC_A, IP4_A, ZERO, IP4_B))[:34]),
          error="truncated")
    write("err_vlan_truncated", "802.1Q TPID with no room for the tag", Raw(raw(Ether(dst=BCAST, src=MAC_A, type=0x8100))[:16]),
          error="truncated")
    write("err_ipv4", "An IPv4 UDP frame", Ether(dst=MAC_A, src=MAC_B) / IP(src=IP4_B, dst=IP4_A) / UDP(),
          error="unsupportedEthertype")
    write("err_arp_htype", "ARP over hardware type 6 (IEEE 802)",
          pad60(Ether(dst=BCAST, src=MAC_A) / ARP(hwtype=6, op=1, hwsrc=MAC_A, psrc=IP4_A, pdst=IP4_B)),
          error="unsupportedArp")
    write("err_arp_op", "ARP operation 3 (RARP request)",
          pad60(Ether(dst=BCAST, src=MAC_A) / ARP(op=3, hwsrc=MAC_A, psrc=IP4_A, pdst=IP4_B)),
          error="badOperation")
    write("err_echo", "ICMPv6 echo request", nd(LL_A, LL_B, ICMPv6EchoRequest(), dst_mac=MAC_B),
          error="notNdp")
    write("err_hop_by_hop", "NS behind a hop-by-hop extension header",
          nd(LL_A, sn(GUA), IPv6ExtHdrHopByHop() / ICMPv6ND_NS(tgt=GUA)), error="notIcmpv6")
    write("err_hop_limit", "NS with hop limit 64 (off-link)",
          nd(LL_A, sn(GUA), ICMPv6ND_NS(tgt=GUA) / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A), hlim=64),
          error="badHopLimit")
    write("err_code", "NS with ICMPv6 code 1", nd(LL_A, sn(GUA), ICMPv6ND_NS(code=1, tgt=GUA)), error="badCode")
    write("err_checksum", "NS with checksum 0x1234",
          nd(LL_A, sn(GUA), ICMPv6ND_NS(tgt=GUA, cksum=0x1234) / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A)),
          error="badChecksum")
    write("err_option_len0", "NS with an option of length 0",
          nd(LL_A, sn(GUA), ICMPv6ND_NS(tgt=GUA) / Raw(bytes([1, 0, 1, 2, 3, 4, 5, 6]))), error="badOption")
    write("err_option_overrun", "NS whose option claims 16 bytes but 8 remain",
          nd(LL_A, sn(GUA), ICMPv6ND_NS(tgt=GUA) / Raw(bytes([5, 2, 0, 0, 0, 0, 5, 0xdc]))), error="badOption")
    write("err_multicast_target", "NS for a multicast target",
          nd(LL_A, sn("ff02::1"), ICMPv6ND_NS(tgt="ff02::1")), error="badTarget")
    write("err_dad_with_slla", "DAD NS (src ::) carrying an SLLA",
          nd("::", sn(GUA), ICMPv6ND_NS(tgt=GUA) / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A)), error="badAddress")
    write("err_solicited_multicast", "NA to ff02::1 with S=1",
          nd(LL_A, "ff02::1", ICMPv6ND_NA(S=1, O=1, tgt=GUA) / ICMPv6NDOptDstLLAddr(lladdr=MAC_A)),
          error="badAddress")
    write("err_ipv6_payload_truncated", "IPv6 payload length 32 but 20 bytes present",
          Raw(raw(nd(LL_A, sn(GUA), ICMPv6ND_NS(tgt=GUA) / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A)))[:74]),
          error="truncated")

    # --- address helpers ---
    helpers = []
    for a in [GUA, GUA_B, LL_A, "2001:db8::1:2:3", "::1", "fe80::aabb:ccff:fedd:eeff"]:
        group = sn(a)
        helpers.append({"ip": a, "solicitedNode": canon6(group),
                        "mac": in6_getnsmac(inet_pton(socket.AF_INET6, group))})
    with open(os.path.join(HERE, "address_helpers.json"), "w") as f:
        json.dump(helpers, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
