/**
 * Golden frames made by python3-scapy (tests/testdata/frames/make_frames.py),
 * both directions: scapy's bytes parse to scapy's dissection, and the builders
 * produce scapy's bytes exactly.
 */

import assert from "node:assert/strict";
import * as codec from "../mod/codec/mod.ts";
import * as batch from "../mod/codec/batch.ts";
import { CodecError, type Frame, parseFrame } from "../mod/codec/mod.ts";
import { zeroArpNumbers } from "../tools/lib/ref_codec.ts";

const DIR = new URL("./testdata/frames/", import.meta.url);

interface Fixture {
  name: string;
  bytes: Uint8Array;
  description: string;
  expect?: unknown;
  error?: string;
  build?: { fn: string; args: unknown[] };
}

function fromHex(hex: string): Uint8Array {
  const clean = hex.trim();
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function loadFixtures(): Fixture[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(DIR)) {
    if (e.name.endsWith(".hex")) names.push(e.name.slice(0, -4));
  }
  names.sort();
  return names.map((name) => {
    const doc = JSON.parse(Deno.readTextFileSync(new URL(`${name}.json`, DIR)));
    return { name, bytes: fromHex(Deno.readTextFileSync(new URL(`${name}.hex`, DIR))), ...doc };
  });
}

function normalise(frame: Frame): unknown {
  if (frame.kind === "arp") return frame;
  const options = frame.ndp.options.map((o) =>
    o.raw === undefined ? o : { type: o.type, rawHex: toHex(o.raw) }
  );
  return { ...frame, ndp: { ...frame.ndp, options } };
}

const FIXTURES = loadFixtures();

/** Builder functions by name, as the fixtures refer to them. */
const BUILDERS: Record<string, (...args: never[]) => Uint8Array> = {
  buildArp: codec.buildArp,
  buildArpProbe: codec.buildArpProbe,
  buildArpAnnouncement: codec.buildArpAnnouncement,
  buildArpRequest: codec.buildArpRequest,
  buildNeighborSolicitation: codec.buildNeighborSolicitation,
  buildDadSolicitation: codec.buildDadSolicitation,
  buildNeighborAdvertisement: codec.buildNeighborAdvertisement,
  buildUnsolicitedAdvertisement: codec.buildUnsolicitedAdvertisement,
};

function callBuilder(build: { fn: string; args: unknown[] }): Uint8Array {
  const fn = BUILDERS[build.fn];
  assert.ok(fn, `unknown builder "${build.fn}"`);
  return (fn as (...args: unknown[]) => Uint8Array)(...build.args);
}

Deno.test("golden fixtures are present (scapy output committed)", () => {
  assert.ok(FIXTURES.length >= 30, `only ${FIXTURES.length} fixtures`);
  assert.ok(FIXTURES.filter((f) => f.build).length >= 12);
});

for (const f of FIXTURES) {
  Deno.test(`parseFrame() decodes ${f.name} as scapy does (${f.description})`, () => {
    const got = parseFrame(f.bytes);
    if (f.error !== undefined) {
      assert.ok(got instanceof CodecError, `expected ${f.error}, got a frame`);
      assert.equal(got.kind, f.error);
    } else {
      assert.ok(!(got instanceof CodecError), `rejected: ${(got as CodecError).message}`);
      assert.deepEqual(normalise(got), f.expect);
    }
  });
  if (f.build) {
    Deno.test(`${f.build.fn}() emits the bytes of ${f.name}`, () => {
      assert.equal(toHex(callBuilder(f.build!)), toHex(f.bytes));
    });
  }
}

Deno.test("builders emit golden bytes after a longer frame reused the output buffer", () => {
  // A 94-byte tagged NS leaves bytes where a 60-byte ARP frame has padding.
  const byName = new Map(FIXTURES.map((f) => [f.name, f]));
  const order = ["ns_vlan", "arp_probe", "na_solicited", "ns_dad", "arp_vlan", "na_router_no_tlla"];
  for (const name of order) {
    const f = byName.get(name)!;
    assert.equal(toHex(callBuilder(f.build!)), toHex(f.bytes), name);
  }
});

Deno.test("re-emitting every parsed golden frame from its fields gives its bytes", () => {
  for (const f of FIXTURES) {
    if (f.error !== undefined || f.name === "arp_unpadded" || f.name === "na_padded") continue;
    const frame = parseFrame(f.bytes);
    assert.ok(!(frame instanceof CodecError));
    let bytes: Uint8Array;
    const eth = {
      dst: frame.eth.dst,
      src: frame.eth.src,
      ...("vlan" in frame.eth ? { vlan: frame.eth.vlan! } : {}),
    };
    if (frame.kind === "arp") {
      bytes = codec.buildArp(eth, frame.arp);
    } else if (frame.ndp.options.some((o) => o.type !== 1 && o.type !== 2)) {
      continue; // the builders emit no unknown options
    } else if (frame.ndp.kind === "ns") {
      bytes = codec.buildNeighborSolicitation({
        srcMac: eth.src,
        dstMac: eth.dst,
        src: frame.ip6.src,
        dst: frame.ip6.dst,
        target: frame.ndp.target,
        ...(frame.ndp.sourceLinkLayerAddr
          ? { sourceLinkLayerAddr: frame.ndp.sourceLinkLayerAddr }
          : {}),
        ...(eth.vlan !== undefined ? { vlan: eth.vlan } : {}),
      });
    } else {
      const na = frame.ndp;
      bytes = codec.buildNeighborAdvertisement({
        srcMac: eth.src,
        dstMac: eth.dst,
        src: frame.ip6.src,
        dst: frame.ip6.dst,
        target: na.target,
        flags: { router: na.router, solicited: na.solicited, override: na.override },
        ...(na.targetLinkLayerAddr ? { targetLinkLayerAddr: na.targetLinkLayerAddr } : {}),
        ...(eth.vlan !== undefined ? { vlan: eth.vlan } : {}),
      });
    }
    assert.equal(toHex(bytes), toHex(f.bytes), f.name);
  }
});

Deno.test("solicitedNodeMulticast() and ipv6MulticastMac() match scapy's in6_getnsma / in6_getnsmac", () => {
  const cases = JSON.parse(Deno.readTextFileSync(new URL("address_helpers.json", DIR))) as {
    ip: string;
    solicitedNode: string;
    mac: string;
  }[];
  assert.ok(cases.length > 0);
  for (const c of cases) {
    assert.equal(codec.solicitedNodeMulticast(c.ip), c.solicitedNode, c.ip);
    assert.equal(codec.ipv6MulticastMac(c.solicitedNode), c.mac, c.ip);
  }
});

/**
 * What an ARP-only parse of a fixture must give: its own reason for frames
 * that are ARP after at most one tag (scapy's dissection for accepted ones),
 * `truncated` for a cut Ethernet header, `unsupportedEthertype` for the rest.
 */
function arpOnlyExpectation(f: Fixture): string {
  const b = f.bytes;
  if (b.length < 14) return "truncated";
  let type = (b[12]! << 8) | b[13]!;
  if (type === 0x8100) {
    if (b.length < 18) return "truncated";
    type = (b[16]! << 8) | b[17]!;
  }
  if (type !== 0x0806) return "unsupportedEthertype";
  return f.error ?? "ok";
}

Deno.test("parseArpBatch() and parseReceivedArpBatch() read every golden frame in one call", () => {
  // All fixtures in one block at odd offsets, listed twice (in order, then reversed).
  const at: number[] = [];
  let end = 0;
  for (const f of FIXTURES) {
    end += 3;
    at.push(end);
    end += f.bytes.length;
  }
  const block = new Uint8Array(end);
  FIXTURES.forEach((f, i) => block.set(f.bytes, at[i]!));
  const order = [...FIXTURES.keys(), ...[...FIXTURES.keys()].reverse()];
  const entries = new Uint32Array(order.flatMap((i) => [at[i]!, FIXTURES[i]!.bytes.length]));
  const arpFixtures = FIXTURES.filter((f) => arpOnlyExpectation(f) === "ok");
  assert.ok(arpFixtures.length >= 7, `only ${arpFixtures.length} ARP fixtures`);

  const check = (accepted: number) => {
    assert.equal(accepted, 2 * arpFixtures.length);
    const records = batch.arpBatchRecords();
    order.forEach((fi, i) => {
      const f = FIXTURES[fi]!;
      const want = arpOnlyExpectation(f);
      const out = zeroArpNumbers();
      const status = batch.readArpBatchInto(i, out);
      assert.equal(records[i * batch.ArpRecord.Size + batch.ArpRecord.Status], status);
      assert.equal(status === codec.Status.Ok ? "ok" : codec.statusKind(status), want, f.name);
      if (status !== codec.Status.Ok) return;
      const arp = (f.expect as { arp: codec.ArpPacket }).arp;
      assert.deepEqual(out, {
        operation: arp.operation,
        senderHardwareAddr: batch.macToNumber(arp.senderHardwareAddr),
        senderProtocolAddr: batch.ipv4ToNumber(arp.senderProtocolAddr),
        targetHardwareAddr: batch.macToNumber(arp.targetHardwareAddr),
        targetProtocolAddr: batch.ipv4ToNumber(arp.targetProtocolAddr),
      }, f.name);
    });
  };
  check(batch.parseArpBatch(block, entries));
  // The same frames received in place, 1000 bytes into the receive buffer.
  codec.receiveBuffer().set(block, 1000);
  batch.batchTable().set(entries.map((v, i) => (i % 2 === 0 ? v + 1000 : v)));
  check(batch.parseReceivedArpBatch(order.length));
});
