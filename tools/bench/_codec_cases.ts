/**
 * The codec benchmark's cases, shared by `codec_bench.ts` (`deno bench`) and
 * `codec_paired.ts` (interleaved rounds): per group, the Wasm codec's entry
 * points and the plain-TS reference (tools/lib/ref_codec.ts) doing the same
 * job on the same frames. Single-frame groups do one frame per call; batch
 * groups ("ARP batch x32", "x512") one batch per call, both sides doing the
 * same job (the same frames in one buffer with an offset table, every
 * accepted frame's five numbers read into JS values and summed).
 *
 * Every object path hands its whole result to {@linkcode weighFrame}, which
 * reads every field (the length of every string, every number, every
 * option): a case that only read `kind` would let the JIT drop the unused
 * strings and objects of whichever side it inlines, and the figures would
 * measure the inliner, not the codec. Builders read the frame's length and
 * last byte. The reference's arguments are built once, outside the timed
 * function, as the Wasm side's are.
 *
 * @module
 */

import * as codec from "../../mod/codec/mod.ts";
import * as batch from "../../mod/codec/batch.ts";
import {
  refBuildArp,
  refBuildNdp,
  type RefError,
  refParse,
  refParseArpAt,
  refParseArpBatch,
  refParseArpInto,
  zeroArpNumbers,
} from "../lib/ref_codec.ts";

/** One side of a comparison: a name and the function a timing calls. */
export interface Contender {
  /** The name `deno bench` shows. */
  name: string;
  /** One call: one frame (or one batch). Returns a number to keep the work alive. */
  fn: () => number;
  /**
   * For a Wasm contender: the name of the reference contender doing the same
   * job (the same output, in the same form), when it is not the group's first.
   */
  vs?: string;
}

/** One benchmark group: Wasm entry points and the reference doing the same job. */
export interface CodecGroup {
  /** The `deno bench` group. */
  group: string;
  /** Frames per call (1, or the batch size). */
  frames: number;
  /** The Wasm codec's contenders; the first is the group's baseline. */
  wasm: Contender[];
  /** The reference's contenders; the first is the yardstick of the Wasm ones without `vs`. */
  ref: Contender[];
}

const MAC = "02:11:12:13:14:15";
const GW_MAC = "02:21:22:23:24:25";

const arpReply = codec.buildArp({ dst: MAC, src: GW_MAC }, {
  operation: 2,
  senderHardwareAddr: GW_MAC,
  senderProtocolAddr: "10.65.66.1",
  targetHardwareAddr: MAC,
  targetProtocolAddr: "10.65.66.67",
});
const ns = codec.buildNeighborSolicitation({
  srcMac: MAC,
  src: "fe80::11:1213:1415",
  target: "2001:db8:41::1",
  sourceLinkLayerAddr: MAC,
});
const na = codec.buildNeighborAdvertisement({
  srcMac: GW_MAC,
  dstMac: MAC,
  src: "2001:db8:41::1",
  dst: "fe80::11:1213:1415",
  target: "2001:db8:41::1",
  flags: { router: true, solicited: true, override: true },
  targetLinkLayerAddr: GW_MAC,
});

const out = zeroArpNumbers();

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`Benchmark input is not what it should be: ${what}`);
}

/**
 * Reads every field of a parsed frame: string lengths (which do not flatten
 * a concatenated string), numbers, flags, options. The same function for both
 * sides.
 *
 * @param f a parse result
 * @returns a number that depends on every field (-1 for a rejection)
 */
export function weighFrame(f: codec.Frame | codec.CodecError | RefError): number {
  if (!("eth" in f)) return -1;
  const eth = f.eth;
  let s = f.kind.length + eth.dst.length + eth.src.length + eth.ethertype + (eth.vlan ?? 0);
  if (f.kind === "arp") {
    const a = f.arp;
    return s + a.operation + a.senderHardwareAddr.length + a.senderProtocolAddr.length +
      a.targetHardwareAddr.length + a.targetProtocolAddr.length;
  }
  const ip6 = f.ip6;
  const m = f.ndp;
  s += ip6.src.length + ip6.dst.length + ip6.hopLimit + m.kind.length + m.target.length;
  for (const o of m.options) s += o.type + (o.linkLayerAddr?.length ?? 0) + (o.raw?.length ?? 0);
  if (m.kind === "ns") return s + (m.sourceLinkLayerAddr?.length ?? 0);
  return s + (m.router ? 1 : 0) + (m.solicited ? 2 : 0) + (m.override ? 4 : 0) +
    (m.targetLinkLayerAddr?.length ?? 0);
}

/** A built frame's length and last byte (where an NDP checksum ends up next to). */
function weighBytes(b: Uint8Array): number {
  return b.length + b[b.length - 1]!;
}

check(batch.parseArpInto(arpReply, out) === codec.Status.Ok && out.operation === 2, "ARP reply");
for (const [name, frame] of [["ARP", arpReply], ["NS", ns], ["NA", na]] as const) {
  const w = weighFrame(codec.parseFrame(frame));
  check(w > 0 && w === weighFrame(refParse(frame)), `${name} parses the same on both sides`);
}

// --- ARP batches ---

const hex2 = (x: number) => x.toString(16).padStart(2, "0");

/**
 * `n` distinct ARP replies, 64 bytes apart in one block (as a receive loop
 * lays them out in the receive buffer, or a capture file holds them), and the
 * `[offset, length]` table.
 */
function arpBlock(n: number): { block: Uint8Array; entries: Uint32Array } {
  const block = new Uint8Array(64 * n);
  const entries = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const frame = codec.buildArp({ dst: MAC, src: GW_MAC }, {
      operation: 2,
      senderHardwareAddr: `02:21:22:23:${hex2(i >> 8)}:${hex2(i & 0xff)}`,
      senderProtocolAddr: `10.65.${i >> 8}.${i & 0xff}`,
      targetHardwareAddr: MAC,
      targetProtocolAddr: "192.168.66.67",
    });
    block.set(frame, 64 * i);
    entries[2 * i] = 64 * i;
    entries[2 * i + 1] = frame.length;
  }
  return { block, entries };
}

/**
 * Reads every accepted record into JS numbers, as a caller would (the same
 * code for both sides; slots as in `batch.ArpRecord`, checked below).
 */
function sumRecords(r: Int32Array, count: number): number {
  let s = 0;
  for (let i = 0, k = 0; i < count; i++, k += 8) {
    if (r[k + 7] !== 0) continue;
    s += r[k]! + (r[k + 1]! >>> 0) + (r[k + 2]! >>> 0) +
      r[k + 3]! * 0x1_0000_0000 + (r[k + 4]! >>> 0) + r[k + 5]! * 0x1_0000_0000 + (r[k + 6]! >>> 0);
  }
  return s;
}
check(
  Object.values(batch.ArpRecord).join() === "0,1,2,3,4,5,6,7,8",
  "the record layout sumRecords() reads",
);

const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
const u32 = (b: Uint8Array, at: number): number =>
  ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/**
 * The fastest plain TS we could write for the same job: the reference's
 * checks and the consumer's sum fused into one loop, nothing stored between.
 */
function fusedSum(b: Uint8Array, e: Uint32Array, count: number): number {
  let s = 0;
  for (let i = 0; i < count; i++) {
    const at = e[2 * i]!;
    const len = e[2 * i + 1]!;
    if (len > 65536 || at + len > b.length || len < 14) continue;
    let a = at + 14;
    let type = u16(b, at + 12);
    if (type === 0x8100) {
      if (len < 18) continue;
      type = u16(b, at + 16);
      a = at + 18;
    }
    if (type !== 0x0806 || at + len - a < 28) continue;
    if (u32(b, a) !== 0x00010800 || u16(b, a + 4) !== 0x0604) continue;
    const op = u16(b, a + 6);
    if (op !== 1 && op !== 2) continue;
    s += op + u32(b, a + 14) + u32(b, a + 24) + u16(b, a + 8) * 0x1_0000_0000 + u32(b, a + 10) +
      u16(b, a + 18) * 0x1_0000_0000 + u32(b, a + 20);
  }
  return s;
}

function sumNumbers(o: batch.ArpNumbers): number {
  return o.operation + o.senderHardwareAddr + o.senderProtocolAddr + o.targetHardwareAddr +
    o.targetProtocolAddr;
}

/**
 * Where the zero-copy cases find their frames in the receive buffer: the
 * batch frames at `RX_AT`, where no other case writes (the copy-in cases
 * write from offset 0), the single ARP reply at 0, put back by
 * {@linkcode prepareReceiveBuffer} before every timing.
 */
const RX_AT = 32768;

function batchGroup(n: number): CodecGroup {
  const { block, entries } = arpBlock(n);
  const rxEntries = entries.map((v, i) => (i % 2 === 0 ? v + RX_AT : v));
  const refRecords = new Int32Array(8 * n);
  const records = batch.arpBatchRecords();
  const table = batch.batchTable();
  check(batch.parseArpBatch(block, entries) === n, `x${n} batch`);
  check(refParseArpBatch(block, entries, n, refRecords) === n, `x${n} reference batch`);
  check(sumRecords(records, n) === sumRecords(refRecords, n), `x${n} batch sums`);
  check(fusedSum(block, entries, n) === sumRecords(refRecords, n), `x${n} fused sum`);
  rxBlocks.push(block);
  return {
    group: `ARP batch x${n}`,
    frames: n,
    wasm: [
      {
        // The zero-copy rows write the table in every call, as a receive loop notes each frame.
        name: `wasm parseReceivedArpBatch + arpBatchRecords (zero copy) x${n}`,
        fn: () => {
          table.set(rxEntries);
          batch.parseReceivedArpBatch(n);
          return sumRecords(records, n);
        },
      },
      {
        name: `wasm parseArpBatch + arpBatchRecords (copy in) x${n}`,
        fn: () => {
          batch.parseArpBatch(block, entries);
          return sumRecords(records, n);
        },
      },
      {
        // Numbers into an ArpNumbers object per frame, as the reference's per-frame parser gives them.
        name: `wasm parseReceivedArpBatch + readArpBatchInto (zero copy) x${n}`,
        vs: `ref  refParseArpAt per frame (numbers) x${n}`,
        fn: () => {
          table.set(rxEntries);
          batch.parseReceivedArpBatch(n);
          let s = 0;
          for (let i = 0; i < n; i++) {
            if (batch.readArpBatchInto(i, out) === 0) s += sumNumbers(out);
          }
          return s;
        },
      },
    ],
    ref: [
      {
        name: `ref  refParseArpBatch + records x${n}`,
        fn: () => {
          refParseArpBatch(block, entries, n, refRecords);
          return sumRecords(refRecords, n);
        },
      },
      {
        name: `ref  fused parse and sum, nothing stored x${n}`,
        fn: () => fusedSum(block, entries, n),
      },
      {
        name: `ref  refParseArpAt per frame (numbers) x${n}`,
        fn: () => {
          let s = 0;
          for (let i = 0; i < n; i++) {
            if (refParseArpAt(block, entries[2 * i]!, entries[2 * i + 1]!, out) === 0) {
              s += sumNumbers(out);
            }
          }
          return s;
        },
      },
    ],
  };
}

/** The batch blocks, in group order, for {@linkcode prepareReceiveBuffer}. */
const rxBlocks: Uint8Array[] = [];

/**
 * Put the zero-copy cases' frames into the receive buffer: the single ARP
 * reply at offset 0, the batch frames at `RX_AT` (the same bytes in every
 * batch group: the x512 block begins with the x32 one). Call it before
 * timing any case; the copy-in cases overwrite the start of the buffer.
 */
export function prepareReceiveBuffer(): void {
  const rx = codec.receiveBuffer();
  const largest = rxBlocks.reduce((a, b) => (b.length > a.length ? b : a), new Uint8Array(0));
  rx.set(largest, RX_AT);
  rx.set(arpReply, 0);
}

// --- build arguments ---

const arpArgs = {
  operation: 1 as const,
  senderHardwareAddr: MAC,
  senderProtocolAddr: "10.65.66.67",
  targetHardwareAddr: "00:00:00:00:00:00",
  targetProtocolAddr: "10.65.66.1",
};
const arpEth = { dst: "ff:ff:ff:ff:ff:ff", src: MAC };
const nsArgs = {
  srcMac: MAC,
  src: "fe80::11:1213:1415",
  target: "2001:db8:41::1",
  sourceLinkLayerAddr: MAC,
};
const refNsArgs = {
  eth: { dst: "33:33:ff:00:00:01", src: MAC },
  src: nsArgs.src,
  dst: "ff02::1:ff00:1",
  target: nsArgs.target,
  type: 135 as const,
  lla: MAC,
};
const naArgs = { srcMac: MAC, src: "fe80::11:1213:1415", target: "2001:db8:41::5" };
const refNaArgs = {
  eth: { dst: "33:33:00:00:00:01", src: MAC },
  src: naArgs.src,
  dst: "ff02::1",
  target: naArgs.target,
  type: 136 as const,
  flags: { router: false, solicited: false, override: true },
  lla: MAC,
};
check(
  codec.buildNeighborSolicitation(nsArgs).join() === refBuildNdp(refNsArgs).join() &&
    codec.buildUnsolicitedAdvertisement(naArgs).join() === refBuildNdp(refNaArgs).join() &&
    codec.buildArp(arpEth, arpArgs).join() === refBuildArp(arpEth, arpArgs).join(),
  "both sides build the same frames",
);

/** All groups, in the order `deno bench` runs them. */
export const GROUPS: readonly CodecGroup[] = [
  {
    group: "ARP parse",
    frames: 1,
    wasm: [
      {
        name: "wasm parseArpInto (numbers)",
        fn: () => batch.parseArpInto(arpReply, out) + out.senderProtocolAddr,
      },
      {
        // A frame received straight into the codec's buffer (recv(2) into receiveBuffer()).
        name: "wasm parseReceivedArpInto (zero copy)",
        fn: () => batch.parseReceivedArpInto(arpReply.length, out) + out.senderProtocolAddr,
      },
    ],
    ref: [
      {
        name: "ref  parseArpInto (numbers)",
        fn: () => refParseArpInto(arpReply, out) + out.senderProtocolAddr,
      },
    ],
  },
  {
    group: "ARP parse, objects",
    frames: 1,
    wasm: [{ name: "wasm parseFrame (objects)", fn: () => weighFrame(codec.parseFrame(arpReply)) }],
    ref: [{ name: "ref  parseFrame (objects)", fn: () => weighFrame(refParse(arpReply)) }],
  },
  batchGroup(32),
  batchGroup(512),
  {
    group: "NS parse",
    frames: 1,
    wasm: [{ name: "wasm parseFrame NS", fn: () => weighFrame(codec.parseFrame(ns)) }],
    ref: [{ name: "ref  parseFrame NS", fn: () => weighFrame(refParse(ns)) }],
  },
  {
    group: "NA parse",
    frames: 1,
    wasm: [{ name: "wasm parseFrame NA", fn: () => weighFrame(codec.parseFrame(na)) }],
    ref: [{ name: "ref  parseFrame NA", fn: () => weighFrame(refParse(na)) }],
  },
  {
    group: "ARP build",
    frames: 1,
    wasm: [{ name: "wasm buildArp", fn: () => weighBytes(codec.buildArp(arpEth, arpArgs)) }],
    ref: [{ name: "ref  buildArp", fn: () => weighBytes(refBuildArp(arpEth, arpArgs)) }],
  },
  {
    group: "NS build",
    frames: 1,
    wasm: [{
      name: "wasm buildNeighborSolicitation",
      fn: () => weighBytes(codec.buildNeighborSolicitation(nsArgs)),
    }],
    ref: [{ name: "ref  buildNeighborSolicitation", fn: () => weighBytes(refBuildNdp(refNsArgs)) }],
  },
  {
    group: "NA build",
    frames: 1,
    wasm: [{
      name: "wasm buildUnsolicitedAdvertisement",
      fn: () => weighBytes(codec.buildUnsolicitedAdvertisement(naArgs)),
    }],
    ref: [{
      name: "ref  buildUnsolicitedAdvertisement",
      fn: () => weighBytes(refBuildNdp(refNaArgs)),
    }],
  },
];
prepareReceiveBuffer();
