/**
 * One file: the recorded frames and the fake sockets serve every case.
 *
 * Unit tests of the detection decisions and of the probe engine, without root:
 * frames recorded from real Linux kernels (tcpdump -xx on a veth between two
 * namespaces, kernel 6.18) are parsed with the codec and fed to the pure
 * decision functions; the engine runs against fake sockets that answer with
 * those recorded frames.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  conflictEvidence,
  detectGateways,
  detectIpConflicts,
  isGatewayReply,
} from "../../../mod/detect/detect.ts";
import type { DetectDeps, ProbeSocket } from "../../../mod/detect/detect.ts";
import { announce } from "../../../mod/detect/announce.ts";
import { CodecError, parseFrame } from "../../../mod/codec/mod.ts";
import type { ArpFrame, Frame, NdpFrame } from "../../../mod/codec/mod.ts";
import { CniError, ErrorCode } from "../../../mod/errors.ts";
import type { FrameProtocol, LinkFlags } from "../../../mod/detect/rawsock.ts";

const POD_MAC = "02:00:00:00:00:0a";
const PEER_MAC = "02:00:00:00:00:0b";
const OPTIONS = { retries: 3, intervalMs: 10, timeoutMs: 100 };
const FAST = { retries: 3, intervalMs: 1, timeoutMs: 20 };

function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/**
 * Recorded frames. World: pod eth0 02:00:00:00:00:0a with 10.9.0.2/24 and
 * fd00:9::2/64; peer eth0 02:00:00:00:00:0b with 10.9.0.1/24, fd00:9::1/64.
 */
const RECORDED = {
  /** The peer's kernel answering an RFC 5227 probe for 10.9.0.1 (TPA 0.0.0.0). */
  arpReplyToProbe: hex(`0200 0000 000a 0200 0000 000b 0806 0001
    0800 0604 0002 0200 0000 000b 0a09 0001 0200 0000 000a 0000 0000`),
  /** The peer's kernel answering "who has 10.9.0.1? tell 10.9.0.2". */
  arpReplyToRequest: hex(`0200 0000 000a 0200 0000 000b 0806 0001
    0800 0604 0002 0200 0000 000b 0a09 0001 0200 0000 000a 0a09 0002`),
  /** The pod's own kernel answering a probe for its 10.9.0.2 (carries our MAC). */
  ownArpReply: hex(`0200 0000 000b 0200 0000 000a 0806 0001
    0800 0604 0002 0200 0000 000a 0a09 0002 0200 0000 000b 0000 0000`),
  /** The peer's kernel answering a DAD NS for fd00:9::1: NA to ff02::1, O=1, TLLA. */
  naToDad: hex(`3333 0000 0001 0200 0000 000b 86dd 6000
    0000 0020 3aff fd00 0009 0000 0000 0000 0000 0000 0001 ff02 0000 0000 0000 0000
    0000 0000 0001 8800 5a7f 2000 0000 fd00 0009 0000 0000 0000 0000 0000 0001 0201
    0200 0000 000b`),
  /** The peer's kernel answering an NS from fd00:9::2: solicited NA, S=1 O=1, TLLA. */
  solicitedNa: hex(`0200 0000 000a 0200 0000 000b 86dd 6000
    0000 0020 3aff fd00 0009 0000 0000 0000 0000 0000 0001 fd00 0009 0000 0000 0000
    0000 0000 0002 8800 1c77 6000 0000 fd00 0009 0000 0000 0000 0000 0000 0001 0201
    0200 0000 000b`),
  /** The pod's own kernel answering a DAD NS for its fd00:9::2 (the DET flaw). */
  ownNa: hex(`3333 0000 0001 0200 0000 000a 86dd 6000
    0000 0020 3aff fd00 0009 0000 0000 0000 0000 0000 0002 ff02 0000 0000 0000 0000
    0000 0000 0001 8800 5a7e 2000 0000 fd00 0009 0000 0000 0000 0000 0000 0002 0201
    0200 0000 000a`),
  /** The peer's kernel doing DAD for fd00:9::77 (with an RFC 7527 nonce option). */
  kernelDad: hex(`3333 ff00 0077 0200 0000 000b 86dd 6000
    0000 0020 3aff 0000 0000 0000 0000 0000 0000 0000 0000 ff02 0000 0000 0000 0000
    0001 ff00 0077 8700 0f27 0000 0000 fd00 0009 0000 0000 0000 0000 0000 0077 0e01
    b9c1 6868 3d56`),
  /** A router solicitation from the peer: ICMPv6 but not NS/NA. */
  routerSolicitation: hex(`3333 0000 0002 0200 0000 000b 86dd 6000
    0000 0010 3aff fe80 0000 0000 0000 0000 00ff fe00 000b ff02 0000 0000 0000 0000
    0000 0000 0002 8500 7b18 0000 0000 0101 0200 0000 000b`),
};

function parsed(bytes: Uint8Array): Frame {
  const f = parseFrame(bytes);
  if (f instanceof CodecError) throw new Error(`Recorded frame rejected: ${f.message}`);
  return f;
}

function arpFrame(arp: ArpFrame["arp"], src = arp.senderHardwareAddr): ArpFrame {
  return { kind: "arp", eth: { dst: "ff:ff:ff:ff:ff:ff", src, ethertype: 0x0806 }, arp };
}

function naFrame(target: string, src: string, tlla?: string): NdpFrame {
  return {
    kind: "ndp",
    eth: { dst: "33:33:00:00:00:01", src, ethertype: 0x86dd },
    ip6: { src: target, dst: "ff02::1", hopLimit: 255 },
    ndp: {
      kind: "na",
      router: false,
      solicited: false,
      override: true,
      target,
      ...(tlla === undefined ? {} : { targetLinkLayerAddr: tlla }),
      options: tlla === undefined ? [] : [{ type: 2, linkLayerAddr: tlla }],
    },
  };
}

// ---- pure decisions on recorded frames ------------------------------------

Deno.test("conflictEvidence() reports the MAC of a recorded ARP reply to our probe", () => {
  assert.deepEqual(conflictEvidence(parsed(RECORDED.arpReplyToProbe), "10.9.0.1", POD_MAC), {
    mac: PEER_MAC,
    reason: "arp reply",
  });
  assert.equal(conflictEvidence(parsed(RECORDED.arpReplyToProbe), "10.9.0.3", POD_MAC), undefined);
});

Deno.test("conflictEvidence() ignores the pod kernel's own ARP reply", () => {
  assert.equal(conflictEvidence(parsed(RECORDED.ownArpReply), "10.9.0.2", POD_MAC), undefined);
  // Seen from the peer, the same frame is a conflict.
  assert.deepEqual(conflictEvidence(parsed(RECORDED.ownArpReply), "10.9.0.2", PEER_MAC), {
    mac: POD_MAC,
    reason: "arp reply",
  });
});

Deno.test("conflictEvidence() reports a recorded NA answering our DAD probe", () => {
  assert.deepEqual(conflictEvidence(parsed(RECORDED.naToDad), "fd00:9::1", POD_MAC), {
    mac: PEER_MAC,
    reason: "neighbor advertisement",
  });
  // Non-canonical spellings of the target still match.
  assert.equal(
    conflictEvidence(parsed(RECORDED.naToDad), "FD00:0009:0:0::1", POD_MAC)?.mac,
    PEER_MAC,
  );
  assert.equal(conflictEvidence(parsed(RECORDED.naToDad), "fd00:9::2", POD_MAC), undefined);
});

Deno.test("conflictEvidence() ignores the pod kernel's own NA (the original's flaw)", () => {
  assert.equal(conflictEvidence(parsed(RECORDED.ownNa), "fd00:9::2", POD_MAC), undefined);
});

Deno.test("conflictEvidence() treats a recorded kernel DAD probe for the address as competing", () => {
  const f = parsed(RECORDED.kernelDad);
  assert.deepEqual(conflictEvidence(f, "fd00:9::77", POD_MAC), {
    mac: PEER_MAC,
    reason: "competing dad probe",
  });
  assert.equal(conflictEvidence(f, "fd00:9::1", POD_MAC), undefined);
  assert.equal(conflictEvidence(f, "fd00:9::77", PEER_MAC), undefined);
});

Deno.test("parseFrame() rejects a recorded router solicitation, so detection skips it", () => {
  assert.ok(parseFrame(RECORDED.routerSolicitation) instanceof CodecError);
});

Deno.test("isGatewayReply() accepts recorded ARP replies and NAs from the gateway", () => {
  assert.equal(isGatewayReply(parsed(RECORDED.arpReplyToRequest), "10.9.0.1", POD_MAC), true);
  assert.equal(isGatewayReply(parsed(RECORDED.arpReplyToProbe), "10.9.0.1", POD_MAC), true);
  assert.equal(isGatewayReply(parsed(RECORDED.solicitedNa), "fd00:9::1", POD_MAC), true);
  assert.equal(isGatewayReply(parsed(RECORDED.naToDad), "fd00:9::1", POD_MAC), true);
  assert.equal(isGatewayReply(parsed(RECORDED.arpReplyToRequest), "10.9.0.254", POD_MAC), false);
  assert.equal(isGatewayReply(parsed(RECORDED.solicitedNa), "fd00:9::fe", POD_MAC), false);
  assert.equal(isGatewayReply(parsed(RECORDED.kernelDad), "fd00:9::77", POD_MAC), false);
  assert.equal(isGatewayReply(parsed(RECORDED.ownArpReply), "10.9.0.2", POD_MAC), false);
  assert.equal(isGatewayReply(parsed(RECORDED.ownNa), "fd00:9::2", POD_MAC), false);
});

// ---- pure decisions on constructed frames ---------------------------------

Deno.test("conflictEvidence() counts a request using the address as sender (RFC 5227 2.1.1)", () => {
  const garp = arpFrame({
    operation: 1,
    senderHardwareAddr: PEER_MAC,
    senderProtocolAddr: "10.9.0.1",
    targetHardwareAddr: "00:00:00:00:00:00",
    targetProtocolAddr: "10.9.0.1",
  });
  assert.deepEqual(conflictEvidence(garp, "10.9.0.1", POD_MAC), {
    mac: PEER_MAC,
    reason: "arp request from the address",
  });
});

Deno.test("conflictEvidence() counts a competing probe, not a host resolving the address", () => {
  const probe = arpFrame({
    operation: 1,
    senderHardwareAddr: PEER_MAC,
    senderProtocolAddr: "0.0.0.0",
    targetHardwareAddr: "00:00:00:00:00:00",
    targetProtocolAddr: "10.9.0.1",
  });
  assert.deepEqual(conflictEvidence(probe, "10.9.0.1", POD_MAC), {
    mac: PEER_MAC,
    reason: "competing arp probe",
  });
  const resolving = arpFrame({
    operation: 1,
    senderHardwareAddr: PEER_MAC,
    senderProtocolAddr: "10.9.0.7",
    targetHardwareAddr: "00:00:00:00:00:00",
    targetProtocolAddr: "10.9.0.1",
  });
  assert.equal(conflictEvidence(resolving, "10.9.0.1", POD_MAC), undefined);
});

Deno.test("conflictEvidence() ignores frames whose SHA or Ethernet source is ours", () => {
  const shaOurs = arpFrame({
    operation: 2,
    senderHardwareAddr: POD_MAC.toUpperCase(),
    senderProtocolAddr: "10.9.0.1",
    targetHardwareAddr: PEER_MAC,
    targetProtocolAddr: "10.9.0.3",
  }, PEER_MAC);
  assert.equal(conflictEvidence(shaOurs, "10.9.0.1", POD_MAC), undefined);
  const srcOurs = arpFrame({
    operation: 2,
    senderHardwareAddr: PEER_MAC,
    senderProtocolAddr: "10.9.0.1",
    targetHardwareAddr: PEER_MAC,
    targetProtocolAddr: "10.9.0.3",
  }, POD_MAC);
  assert.equal(conflictEvidence(srcOurs, "10.9.0.1", POD_MAC), undefined);
});

Deno.test("conflictEvidence() falls back to the Ethernet source for an NA without TLLA", () => {
  assert.deepEqual(conflictEvidence(naFrame("fd00:9::1", PEER_MAC), "fd00:9::1", POD_MAC), {
    mac: PEER_MAC,
    reason: "neighbor advertisement",
  });
  // An NA relayed by another MAC but naming ours as the holder is ours.
  assert.equal(
    conflictEvidence(naFrame("fd00:9::1", "02:00:00:00:00:99", POD_MAC), "fd00:9::1", POD_MAC),
    undefined,
  );
});

// ---- properties over arbitrary frames -------------------------------------

const arbMac = fc.constantFrom(POD_MAC, PEER_MAC, "02:00:00:00:00:99", "ff:ff:ff:ff:ff:ff");
const arbIp4 = fc.constantFrom("10.9.0.1", "10.9.0.2", "0.0.0.0");
const arbIp6 = fc.constantFrom("fd00:9::1", "fd00:9::2", "::", "fe80::1");
const arbArp: fc.Arbitrary<Frame> = fc.record({
  src: arbMac,
  operation: fc.constantFrom(1 as const, 2 as const),
  sha: arbMac,
  spa: arbIp4,
  tha: arbMac,
  tpa: arbIp4,
}).map((r) =>
  arpFrame({
    operation: r.operation,
    senderHardwareAddr: r.sha,
    senderProtocolAddr: r.spa,
    targetHardwareAddr: r.tha,
    targetProtocolAddr: r.tpa,
  }, r.src)
);
const arbNdp: fc.Arbitrary<Frame> = fc.record({
  src: arbMac,
  ip6src: arbIp6,
  na: fc.boolean(),
  target: arbIp6,
  lla: fc.option(arbMac, { nil: undefined }),
}).map((r): Frame => {
  const f = naFrame(r.target, r.src, r.lla);
  if (r.na) return { ...f, ip6: { ...f.ip6, src: r.ip6src } };
  return {
    ...f,
    ip6: { ...f.ip6, src: r.ip6src },
    ndp: {
      kind: "ns",
      target: r.target,
      ...(r.lla === undefined ? {} : { sourceLinkLayerAddr: r.lla }),
      options: r.lla === undefined ? [] : [{ type: 1, linkLayerAddr: r.lla }],
    },
  };
});

Deno.test("conflictEvidence() never names our own MAC and ignores frames sent from it", () => {
  fc.assert(
    fc.property(fc.oneof(arbArp, arbNdp), fc.constantFrom("10.9.0.1", "fd00:9::1"), (f, ip) => {
      const e = conflictEvidence(f, ip, POD_MAC);
      if (f.eth.src === POD_MAC) return e === undefined;
      return e === undefined || e.mac !== POD_MAC;
    }),
  );
});

Deno.test("isGatewayReply() is false for anything sent from our MAC or about another address", () => {
  fc.assert(
    fc.property(fc.oneof(arbArp, arbNdp), (f) => {
      const up4 = isGatewayReply(f, "10.9.0.1", POD_MAC);
      const up6 = isGatewayReply(f, "fd00:9::1", POD_MAC);
      if (f.eth.src === POD_MAC) return !up4 && !up6;
      if (f.kind === "arp") return !up6 && (!up4 || f.arp.senderProtocolAddr === "10.9.0.1");
      return !up4 && (!up6 || (f.ndp.kind === "na" && f.ndp.target === "fd00:9::1"));
    }),
  );
});

// ---- the engine, with fake sockets ----------------------------------------

interface FakeSocket extends ProbeSocket {
  protocol: FrameProtocol;
  sent: Uint8Array[];
  closed: boolean;
}

/** A log of sends across all fake sockets, to see how the families interleave. */
type SendLog = { protocol: FrameProtocol; frame: Frame }[];

function fakeDeps(
  respond: (frame: Frame) => Uint8Array[],
  opts: { flags?: LinkFlags; log?: SendLog; sockets?: FakeSocket[] } = {},
): DetectDeps {
  return {
    open: ({ protocol }) => {
      const queue: Uint8Array[] = [];
      const sock: FakeSocket = {
        protocol,
        sent: [],
        closed: false,
        send(bytes) {
          sock.sent.push(bytes);
          const f = parsed(bytes);
          opts.log?.push({ protocol, frame: f });
          queue.push(...respond(f));
        },
        tryRecv: () => queue.shift(),
        linkFlags: () => opts.flags ?? { up: true, running: true },
        close() {
          sock.closed = true;
        },
      };
      opts.sockets?.push(sock);
      return Promise.resolve(sock);
    },
  };
}

const silent = () => [];

/** The peer holds 10.9.0.1 and fd00:9::1 and answers as recorded. */
function peerHolding(frame: Frame): Uint8Array[] {
  if (frame.kind === "arp" && frame.arp.targetProtocolAddr === "10.9.0.1") {
    return [
      frame.arp.senderProtocolAddr === "0.0.0.0"
        ? RECORDED.arpReplyToProbe
        : RECORDED.arpReplyToRequest,
    ];
  }
  if (frame.kind === "ndp" && frame.ndp.kind === "ns" && frame.ndp.target === "fd00:9::1") {
    return [frame.ip6.src === "::" ? RECORDED.naToDad : RECORDED.solicitedNa];
  }
  return [];
}

async function rejectsWith(p: Promise<unknown>, code: number, msg: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CniError, `expected a CniError, got ${err}`);
    assert.equal(err.code, code);
    assert.equal(err.message, msg);
    return true;
  });
}

Deno.test("detectIpConflicts() fails with code 100 naming the IP and the MAC that answered", async () => {
  const sockets: FakeSocket[] = [];
  await rejectsWith(
    detectIpConflicts(
      { netns: "/x", ifname: "eth0", mac: POD_MAC, ips: ["10.9.0.1"], options: OPTIONS },
      fakeDeps(peerHolding, { sockets }),
    ),
    ErrorCode.IpConflict,
    `IP address "10.9.0.1" on "eth0" is already in use by "02:00:00:00:00:0b"`,
  );
  // Decided at the first reply: one probe sent, socket closed.
  assert.equal(sockets.length, 1);
  assert.equal(sockets[0]!.sent.length, 1);
  assert.equal(sockets[0]!.closed, true);
});

Deno.test("detectIpConflicts() fails with code 100 for an IPv6 address answered by NA", async () => {
  await rejectsWith(
    detectIpConflicts(
      { netns: "/x", ifname: "net1", mac: POD_MAC, ips: ["fd00:9:0::1"], options: OPTIONS },
      fakeDeps(peerHolding),
    ),
    ErrorCode.IpConflict,
    `IP address "fd00:9::1" on "net1" is already in use by "02:00:00:00:00:0b"`,
  );
});

Deno.test("detectIpConflicts() sends `retries` RFC 5227 probes and DAD probes, then passes", async () => {
  const sockets: FakeSocket[] = [];
  await detectIpConflicts(
    {
      netns: "/x",
      ifname: "eth0",
      mac: POD_MAC,
      ips: ["10.9.0.5", "fd00:9::5", "10.9.0.6"],
      options: FAST,
    },
    fakeDeps(silent, { sockets }),
  );
  const arp = sockets.find((s) => s.protocol === "arp")!;
  const nd = sockets.find((s) => s.protocol === "icmpv6")!;
  assert.equal(arp.sent.length, 6);
  assert.equal(nd.sent.length, 3);
  assert.ok(arp.closed && nd.closed);
  const targets = arp.sent.map((b) => {
    const f = parsed(b) as ArpFrame;
    assert.equal(f.kind, "arp");
    assert.equal(f.eth.dst, "ff:ff:ff:ff:ff:ff");
    assert.equal(f.eth.src, POD_MAC);
    assert.equal(f.arp.operation, 1);
    assert.equal(f.arp.senderHardwareAddr, POD_MAC);
    assert.equal(f.arp.senderProtocolAddr, "0.0.0.0");
    assert.equal(f.arp.targetHardwareAddr, "00:00:00:00:00:00");
    return f.arp.targetProtocolAddr;
  });
  assert.deepEqual(targets.sort(), [
    "10.9.0.5",
    "10.9.0.5",
    "10.9.0.5",
    "10.9.0.6",
    "10.9.0.6",
    "10.9.0.6",
  ]);
  for (const b of nd.sent) {
    const f = parsed(b) as NdpFrame;
    assert.equal(f.kind, "ndp");
    assert.equal(f.ndp.kind, "ns");
    assert.equal(f.ndp.target, "fd00:9::5");
    assert.equal(f.ip6.src, "::");
    assert.equal(f.ip6.dst, "ff02::1:ff00:5");
    assert.equal(f.ip6.hopLimit, 255);
    assert.equal(f.eth.dst, "33:33:ff:00:00:05");
    assert.deepEqual(f.ndp.options, []);
  }
});

Deno.test("detectIpConflicts() ignores its own kernel's NA and keeps reading", async () => {
  // Our kernel answers each DAD probe first; the real holder answers the
  // third probe only. The original stopped at the first (own) NA.
  let probes = 0;
  const respond = (f: Frame) => {
    if (f.kind !== "ndp") return [];
    probes++;
    return probes === 3 ? [RECORDED.ownNa, RECORDED.naToDad] : [RECORDED.ownNa];
  };
  const ownOnly = (f: Frame) => (f.kind === "ndp" ? [RECORDED.ownNa] : []);
  await detectIpConflicts(
    { netns: "/x", ifname: "eth0", mac: POD_MAC, ips: ["fd00:9::2"], options: FAST },
    fakeDeps(ownOnly),
  );
  await rejectsWith(
    detectIpConflicts(
      { netns: "/x", ifname: "eth0", mac: POD_MAC, ips: ["fd00:9::1"], options: FAST },
      fakeDeps(respond),
    ),
    ErrorCode.IpConflict,
    `IP address "fd00:9::1" on "eth0" is already in use by "02:00:00:00:00:0b"`,
  );
});

Deno.test("detectIpConflicts() probes IPv4 and IPv6 concurrently", async () => {
  const log: SendLog = [];
  await detectIpConflicts(
    { netns: "/x", ifname: "eth0", mac: POD_MAC, ips: ["10.9.0.5", "fd00:9::5"], options: FAST },
    fakeDeps(silent, { log }),
  );
  const order = log.map((e) => e.protocol);
  assert.equal(order.length, 6);
  // Sequential families would send three of one kind before the first of the other.
  const firstV6 = order.indexOf("icmpv6");
  const lastV4 = order.lastIndexOf("arp");
  assert.ok(firstV6 < lastV4, `sends were not interleaved: ${order.join(",")}`);
});

Deno.test("detectIpConflicts() refuses a NIC that is down with code 105", async () => {
  await rejectsWith(
    detectIpConflicts(
      { netns: "/run/netns/p", ifname: "eth0", mac: POD_MAC, ips: ["10.9.0.5"], options: FAST },
      fakeDeps(silent, { flags: { up: false, running: false } }),
    ),
    ErrorCode.RawSocketFailed,
    `Interface "eth0" in netns "/run/netns/p" is down: it must be up before probing`,
  );
});

Deno.test("detectIpConflicts() does nothing without addresses", async () => {
  const sockets: FakeSocket[] = [];
  await detectIpConflicts(
    { netns: "/x", ifname: "eth0", mac: POD_MAC, ips: [], options: OPTIONS },
    fakeDeps(silent, { sockets }),
  );
  assert.equal(sockets.length, 0);
});

Deno.test("detectGateways() passes at the first reply of each gateway", async () => {
  const sockets: FakeSocket[] = [];
  await detectGateways(
    {
      netns: "/x",
      ifname: "eth0",
      mac: POD_MAC,
      ips: ["10.9.0.2", "fd00:9::2"],
      gateways: ["10.9.0.1", "fd00:9::1"],
      options: OPTIONS,
    },
    fakeDeps(peerHolding, { sockets }),
  );
  const arp = sockets.find((s) => s.protocol === "arp")!;
  const nd = sockets.find((s) => s.protocol === "icmpv6")!;
  assert.equal(arp.sent.length, 1);
  assert.equal(nd.sent.length, 1);
  const req = parsed(arp.sent[0]!) as ArpFrame;
  assert.deepEqual(req.arp, {
    operation: 1,
    senderHardwareAddr: POD_MAC,
    senderProtocolAddr: "10.9.0.2",
    targetHardwareAddr: "00:00:00:00:00:00",
    targetProtocolAddr: "10.9.0.1",
  });
  const ns = parsed(nd.sent[0]!) as NdpFrame;
  assert.equal(ns.ndp.kind, "ns");
  assert.equal(ns.ndp.target, "fd00:9::1");
  assert.equal(ns.ip6.src, "fd00:9::2");
  assert.equal(ns.ip6.dst, "ff02::1:ff00:1");
  assert.equal(ns.ndp.kind === "ns" ? ns.ndp.sourceLinkLayerAddr : "", POD_MAC);
});

Deno.test("detectGateways() fails with code 101 naming the gateway, NIC and tries", async () => {
  const sockets: FakeSocket[] = [];
  await rejectsWith(
    detectGateways(
      {
        netns: "/x",
        ifname: "eth0",
        mac: POD_MAC,
        ips: ["10.9.0.2"],
        gateways: ["10.9.0.254"],
        options: FAST,
      },
      fakeDeps(peerHolding, { sockets }),
    ),
    ErrorCode.GatewayUnreachable,
    `Gateway "10.9.0.254" did not answer on "eth0" after 3 probes`,
  );
  assert.equal(sockets[0]!.sent.length, 3);
  assert.equal(sockets[0]!.closed, true);
});

Deno.test("detectGateways() names every silent gateway, and ignores an own-MAC reply", async () => {
  // Our own kernel's NA for the gateway address must not count as the gateway.
  const respond = (f: Frame) => f.kind === "ndp" ? [RECORDED.ownNa] : peerHolding(f);
  await rejectsWith(
    detectGateways(
      {
        netns: "/x",
        ifname: "eth0",
        mac: POD_MAC,
        ips: ["10.9.0.2", "fd00:9::2"],
        gateways: ["10.9.0.1", "10.9.0.254", "fd00:9::2"],
        options: { retries: 2, intervalMs: 1, timeoutMs: 10 },
      },
      fakeDeps(respond),
    ),
    ErrorCode.GatewayUnreachable,
    `Gateways "10.9.0.254", "fd00:9::2" did not answer on "eth0" after 2 probes`,
  );
});

// ---- announce -------------------------------------------------------------

Deno.test("announce() sends a gratuitous ARP and an unsolicited NA per address", async () => {
  const sent: Uint8Array[] = [];
  let closed = false;
  const failures = await announce(
    { netns: "/x", ifname: "eth0", mac: "0a:1b:0a:09:00:02", ips: ["10.9.0.2", "fd00:9::2"] },
    {
      open: () =>
        Promise.resolve({
          send: (f: Uint8Array) => void sent.push(f),
          close: () => void (closed = true),
        }),
    },
  );
  assert.deepEqual(failures, []);
  assert.equal(closed, true);
  assert.equal(sent.length, 2);
  const garp = parsed(sent[0]!) as ArpFrame;
  assert.equal(garp.eth.dst, "ff:ff:ff:ff:ff:ff");
  assert.equal(garp.eth.src, "0a:1b:0a:09:00:02");
  assert.equal(garp.arp.operation, 1);
  assert.equal(garp.arp.senderHardwareAddr, "0a:1b:0a:09:00:02");
  assert.equal(garp.arp.senderProtocolAddr, "10.9.0.2");
  assert.equal(garp.arp.targetProtocolAddr, "10.9.0.2");
  const na = parsed(sent[1]!) as NdpFrame;
  assert.equal(na.eth.dst, "33:33:00:00:00:01");
  assert.equal(na.ip6.dst, "ff02::1");
  assert.equal(na.ip6.src, "fd00:9::2");
  assert.equal(na.ip6.hopLimit, 255);
  assert.equal(na.ndp.kind, "na");
  if (na.ndp.kind !== "na") return;
  assert.equal(na.ndp.target, "fd00:9::2");
  assert.equal(na.ndp.solicited, false);
  assert.equal(na.ndp.override, true);
  assert.equal(na.ndp.router, false);
  assert.equal(na.ndp.targetLinkLayerAddr, "0a:1b:0a:09:00:02");
});

Deno.test("announce() returns failures as texts and never throws", async () => {
  const failSend = await announce(
    { netns: "/x", ifname: "eth0", mac: POD_MAC, ips: ["10.9.0.2", "bogus"] },
    {
      open: () =>
        Promise.resolve({
          send: () => {
            throw new CniError(ErrorCode.RawSocketFailed, "Network is down");
          },
          close: () => {},
        }),
    },
  );
  assert.deepEqual(failSend, [
    `Cannot announce "bogus" on "eth0": not an IP address`,
    `Cannot announce "10.9.0.2" on "eth0": Network is down`,
  ]);
  const failOpen = await announce(
    { netns: "/x", ifname: "eth0", mac: POD_MAC, ips: ["10.9.0.2", "fd00:9::2"] },
    { open: () => Promise.reject(new CniError(ErrorCode.NotFound, 'Cannot open netns "/x"')) },
  );
  assert.deepEqual(failOpen, [`Cannot announce "10.9.0.2", "fd00:9::2": Cannot open netns "/x"`]);
});
