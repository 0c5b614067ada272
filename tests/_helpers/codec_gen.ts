/**
 * fast-check generators for the codec tests and the fuzz script: valid frames
 * of every kind with the parse result expected, mutations, and the
 * differential check against the reference parser.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Address6 } from "ip-address";
import {
  buildArp,
  buildNeighborAdvertisement,
  buildNeighborSolicitation,
  CodecError,
  type Frame,
  parseFrame,
  Status,
} from "../../mod/codec/mod.ts";
import { type ArpNumbers, parseArpInto } from "../../mod/codec/batch.ts";
import { refFixChecksum, refParse, refParseArpInto } from "../../tools/lib/ref_codec.ts";

const hex2 = (x: number) => x.toString(16).padStart(2, "0");
const macText = (b: ArrayLike<number>) => Array.from(b, hex2).join(":");

export const macArb = fc.uint8Array({ minLength: 6, maxLength: 6 }).map(macText);
export const ipv4Arb = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => b.join("."));
export const vlanArb = fc.option(fc.integer({ min: 0, max: 4095 }), { nil: undefined });

/** 16 bytes: random, or made of few distinct groups so that "::" runs show up. */
export const ip6BytesArb = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.array(fc.constantFrom(0, 0, 0, 1, 0xff, 0xfe80, 0x2001, 0xffff), {
    minLength: 8,
    maxLength: 8,
  })
    .map((g) => new Uint8Array(g.flatMap((x) => [x >> 8, x & 0xff]))),
);
export const unicastBytesArb = ip6BytesArb.map((b) => (b[0] === 0xff ? b.with(0, 0xfe) : b));

/** Canonical text by ip-address (independent of the codec's formatter). */
export const canon = (b: Uint8Array): string => Address6.fromByteArray(Array.from(b)).correctForm();

/** Some other valid spelling of the same address, for builder inputs. */
export const spellingArb = fc.constantFrom<(b: Uint8Array) => string>(
  (b) => canon(b),
  (b) => Address6.fromByteArray(Array.from(b)).canonicalForm(),
  (b) => canon(b).toUpperCase(),
);

const solicitedNodeOf = (t: Uint8Array) =>
  new Uint8Array([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13]!, t[14]!, t[15]!]);
const multicastMacOf = (d: Uint8Array) => macText([0x33, 0x33, d[12]!, d[13]!, d[14]!, d[15]!]);

export function plain(x: Frame | CodecError | { error: string }): unknown {
  if (x instanceof CodecError) return { error: x.kind };
  return JSON.parse(JSON.stringify(x, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v)));
}

// --- generators of valid frames, with the parse result expected ---

export interface Case {
  bytes: () => Uint8Array;
  expect: unknown;
}

export const arpCaseArb = fc.record({
  dst: macArb,
  src: macArb,
  vlan: vlanArb,
  operation: fc.constantFrom<1 | 2>(1, 2),
  sha: macArb,
  spa: ipv4Arb,
  tha: macArb,
  tpa: ipv4Arb,
}).map((x): Case => {
  const eth = { dst: x.dst, src: x.src, ...(x.vlan === undefined ? {} : { vlan: x.vlan }) };
  const arp = {
    operation: x.operation,
    senderHardwareAddr: x.sha,
    senderProtocolAddr: x.spa,
    targetHardwareAddr: x.tha,
    targetProtocolAddr: x.tpa,
  };
  return {
    bytes: () => buildArp(eth, arp),
    expect: { kind: "arp", eth: { ...eth, ethertype: 0x0806 }, arp },
  };
});

export const nsCaseArb = fc.record({
  srcMac: macArb,
  dstMac: fc.option(macArb, { nil: undefined }),
  dad: fc.boolean(),
  src: unicastBytesArb,
  dst: fc.option(ip6BytesArb, { nil: undefined }),
  target: unicastBytesArb,
  slla: fc.option(macArb, { nil: undefined }),
  vlan: vlanArb,
  spell: spellingArb,
}).map((x): Case => {
  // The unspecified source means DAD, whichever way it was drawn.
  const dad = x.dad || x.src.every((v) => v === 0);
  const src = dad ? new Uint8Array(16) : x.src;
  // DAD: to the solicited-node group, no SLLA (RFC 4861, 7.1.1).
  const dst = dad || x.dst === undefined ? undefined : x.dst;
  const slla = dad ? undefined : x.slla;
  const dstBytes = dst ?? solicitedNodeOf(x.target);
  const dstMac = x.dstMac ?? (dstBytes[0] === 0xff ? undefined : "02:00:00:00:00:99");
  const args = {
    srcMac: x.srcMac,
    src: x.spell(src),
    target: x.spell(x.target),
    ...(dstMac === undefined ? {} : { dstMac }),
    ...(dst === undefined ? {} : { dst: x.spell(dst) }),
    ...(slla === undefined ? {} : { sourceLinkLayerAddr: slla }),
    ...(x.vlan === undefined ? {} : { vlan: x.vlan }),
  };
  return {
    bytes: () => buildNeighborSolicitation(args),
    expect: {
      kind: "ndp",
      eth: {
        dst: dstMac ?? multicastMacOf(dstBytes),
        src: x.srcMac,
        ethertype: 0x86dd,
        ...(x.vlan === undefined ? {} : { vlan: x.vlan }),
      },
      ip6: { src: canon(src), dst: canon(dstBytes), hopLimit: 255 },
      ndp: {
        kind: "ns",
        target: canon(x.target),
        options: slla === undefined ? [] : [{ type: 1, linkLayerAddr: slla }],
        ...(slla === undefined ? {} : { sourceLinkLayerAddr: slla }),
      },
    },
  };
});

export const naCaseArb = fc.record({
  srcMac: macArb,
  dstMac: macArb,
  src: ip6BytesArb,
  dst: fc.option(ip6BytesArb, { nil: undefined }),
  target: unicastBytesArb,
  flags: fc.record({ router: fc.boolean(), solicited: fc.boolean(), override: fc.boolean() }),
  tlla: fc.option(macArb, { nil: undefined }),
  vlan: vlanArb,
  spell: spellingArb,
}).map((x): Case => {
  const dstBytes = x.dst ?? new Uint8Array([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  // A multicast destination requires S=0 (RFC 4861, 7.1.2).
  const flags = { ...x.flags, solicited: x.flags.solicited && dstBytes[0] !== 0xff };
  const args = {
    srcMac: x.srcMac,
    dstMac: x.dstMac,
    src: x.spell(x.src),
    target: x.spell(x.target),
    flags,
    ...(x.dst === undefined ? {} : { dst: x.spell(x.dst) }),
    ...(x.tlla === undefined ? {} : { targetLinkLayerAddr: x.tlla }),
    ...(x.vlan === undefined ? {} : { vlan: x.vlan }),
  };
  return {
    bytes: () => buildNeighborAdvertisement(args),
    expect: {
      kind: "ndp",
      eth: {
        dst: x.dstMac,
        src: x.srcMac,
        ethertype: 0x86dd,
        ...(x.vlan === undefined ? {} : { vlan: x.vlan }),
      },
      ip6: { src: canon(x.src), dst: canon(dstBytes), hopLimit: 255 },
      ndp: {
        kind: "na",
        ...flags,
        target: canon(x.target),
        options: x.tlla === undefined ? [] : [{ type: 2, linkLayerAddr: x.tlla }],
        ...(x.tlla === undefined ? {} : { targetLinkLayerAddr: x.tlla }),
      },
    },
  };
});

export const anyCaseArb = fc.oneof(arpCaseArb, nsCaseArb, naCaseArb);

// --- a probe that the module still answers correctly ---

export const PROBE = buildArp({ dst: "ff:ff:ff:ff:ff:ff", src: "02:11:12:13:14:15" }, {
  operation: 1,
  senderHardwareAddr: "02:11:12:13:14:15",
  senderProtocolAddr: "10.65.66.67",
  targetHardwareAddr: "00:00:00:00:00:00",
  targetProtocolAddr: "10.65.66.68",
});
export const PROBE_EXPECT = plain(parseFrame(PROBE));

export function assertSameAsReference(bytes: Uint8Array): void {
  let got: Frame | CodecError;
  try {
    got = parseFrame(bytes);
  } catch (e) {
    throw new Error(`parseFrame() threw for ${bytes.length} bytes: ${e}`);
  }
  assert.ok(got instanceof CodecError || typeof got === "object" && got !== null);
  assert.deepEqual(plain(got), plain(refParse(bytes)));
  const a: ArpNumbers = {
    operation: -1,
    senderHardwareAddr: -1,
    senderProtocolAddr: -1,
    targetHardwareAddr: -1,
    targetProtocolAddr: -1,
  };
  const b: ArpNumbers = { ...a };
  const sa = parseArpInto(bytes, a);
  const sb = refParseArpInto(bytes, b);
  if (sa === Status.Ok || sb === 0) {
    assert.equal(sa, sb === 0 ? Status.Ok : sa);
    assert.deepEqual(a, b);
  }
  // The module is still usable for the next call.
  assert.deepEqual(plain(parseFrame(PROBE)), PROBE_EXPECT);
}

// --- mutations ---

export type Mutation =
  | { op: "flip"; pos: number; bit: number }
  | { op: "set"; pos: number; value: number }
  | { op: "truncate"; len: number }
  | { op: "extend"; bytes: Uint8Array }
  | { op: "growPayload"; bytes: Uint8Array }
  | { op: "fixChecksum" };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant("flip" as const),
    pos: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    op: fc.constant("set" as const),
    pos: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ op: fc.constant("truncate" as const), len: fc.nat() }),
  fc.record({
    op: fc.constant("extend" as const),
    bytes: fc.uint8Array({ maxLength: 64, size: "max" }),
  }),
  fc.record({
    op: fc.constant("growPayload" as const),
    bytes: fc.oneof(
      fc.uint8Array({ maxLength: 48, size: "max" }),
      // option-shaped: type, length 0-3, data
      fc.tuple(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 3 }),
        fc.uint8Array({ maxLength: 22, size: "max" }),
      )
        .map(([t, l, d]) => new Uint8Array([t, l, ...d])),
    ),
  }),
  fc.constant({ op: "fixChecksum" as const }),
);

export function mutate(frame: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = frame.slice();
  for (const m of mutations) {
    if (b.length === 0 && m.op !== "extend" && m.op !== "growPayload") continue;
    switch (m.op) {
      case "flip":
        b[m.pos % b.length]! ^= 1 << m.bit;
        break;
      case "set":
        b[m.pos % b.length] = m.value;
        break;
      case "truncate":
        b = b.slice(0, m.len % (b.length + 1));
        break;
      case "extend": {
        const n = new Uint8Array(b.length + m.bytes.length);
        n.set(b);
        n.set(m.bytes, b.length);
        b = n;
        break;
      }
      case "growPayload": {
        // Insert bytes at the end of the IPv6 payload and raise the payload length.
        const ip = b[12] === 0x81 && b[13] === 0 ? 18 : 14;
        if (b.length < ip + 40) break;
        const plen = (b[ip + 4]! << 8) | b[ip + 5]!;
        const end = Math.min(ip + 40 + plen, b.length);
        const n = new Uint8Array(b.length + m.bytes.length);
        n.set(b.subarray(0, end));
        n.set(m.bytes, end);
        n.set(b.subarray(end), end + m.bytes.length);
        const grown = Math.min(plen + m.bytes.length, 0xffff);
        n[ip + 4] = grown >> 8;
        n[ip + 5] = grown & 0xff;
        b = n;
        refFixChecksum(b);
        break;
      }
      case "fixChecksum":
        refFixChecksum(b);
        break;
    }
  }
  return b;
}
