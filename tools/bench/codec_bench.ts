/**
 * Codec throughput, Wasm vs the plain-TS reference (tools/lib/ref_codec.ts).
 * Single-frame groups: one frame per iteration, so iter/s is frames/s. Batch
 * groups ("ARP batch x32", "x512"): one batch per iteration, both sides doing
 * the same job (the same frames in one buffer with an offset table, every
 * accepted frame's five numbers read into JS values and summed); divide the
 * time by the batch size for ns/frame. Run with
 * `deno bench tools/bench/codec_bench.ts` (or `deno task bench:codec`).
 * Results and the machine they came from: docs/codec.md.
 *
 * @module
 */

import * as codec from "../../mod/codec/mod.ts";
import * as batch from "../../mod/codec/batch.ts";
import {
  refBuildArp,
  refBuildNdp,
  refParse,
  refParseArpAt,
  refParseArpBatch,
  refParseArpInto,
  zeroArpNumbers,
} from "../lib/ref_codec.ts";

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
let sink = 0;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`Benchmark input is not what it should be: ${what}`);
}
check(batch.parseArpInto(arpReply, out) === codec.Status.Ok && out.operation === 2, "ARP reply");
check(!(codec.parseFrame(ns) instanceof codec.CodecError), "NS");
check(!(codec.parseFrame(na) instanceof codec.CodecError), "NA");

// --- parse ---

Deno.bench({
  name: "wasm parseArpInto (numbers)",
  group: "ARP parse",
  baseline: true,
  fn: () => {
    sink += batch.parseArpInto(arpReply, out) + out.senderProtocolAddr;
  },
});
// A frame received straight into the codec's buffer (recv(2) into receiveBuffer()).
codec.receiveBuffer().set(arpReply);
Deno.bench({
  name: "wasm parseReceivedArpInto (zero copy)",
  group: "ARP parse",
  fn: () => {
    sink += batch.parseReceivedArpInto(arpReply.length, out) + out.senderProtocolAddr;
  },
});
Deno.bench({
  name: "ref  parseArpInto (numbers)",
  group: "ARP parse",
  fn: () => {
    sink += refParseArpInto(arpReply, out) + out.senderProtocolAddr;
  },
});
Deno.bench({
  name: "wasm parseFrame (objects)",
  group: "ARP parse",
  fn: () => {
    sink += codec.parseFrame(arpReply).kind.length;
  },
});
Deno.bench({
  name: "ref  parseFrame (objects)",
  group: "ARP parse",
  fn: () => {
    sink += (refParse(arpReply) as codec.Frame).kind.length;
  },
});

// --- ARP batches ---

/**
 * `n` distinct ARP replies, 64 bytes apart in one block (as a receive loop
 * lays them out in the receive buffer, or a capture file holds them), and the
 * `[offset, length]` table.
 */
const hex2 = (x: number) => x.toString(16).padStart(2, "0");

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

const records = batch.arpBatchRecords();
const table = batch.batchTable();
/**
 * The zero-copy benches find their frames here in the receive buffer, where
 * no other bench writes (the copy-in benches write from offset 0). They write
 * the table in every iteration, as a receive loop notes each frame it reads.
 */
const RX_AT = 32768;
for (const n of [32, 512]) {
  const { block, entries } = arpBlock(n);
  const rxEntries = entries.map((v, i) => (i % 2 === 0 ? v + RX_AT : v));
  const refRecords = new Int32Array(8 * n);
  check(batch.parseArpBatch(block, entries) === n, `x${n} batch`);
  check(refParseArpBatch(block, entries, n, refRecords) === n, `x${n} reference batch`);
  check(sumRecords(records, n) === sumRecords(refRecords, n), `x${n} batch sums`);
  check(fusedSum(block, entries, n) === sumRecords(refRecords, n), `x${n} fused sum`);
  codec.receiveBuffer().set(block, RX_AT);
  const group = `ARP batch x${n}`;
  Deno.bench({
    name: `wasm parseReceivedArpBatch + arpBatchRecords (zero copy) x${n}`,
    group,
    baseline: true,
    fn: () => {
      table.set(rxEntries);
      batch.parseReceivedArpBatch(n);
      sink += sumRecords(records, n);
    },
  });
  Deno.bench({
    name: `wasm parseArpBatch + arpBatchRecords (copy in) x${n}`,
    group,
    fn: () => {
      batch.parseArpBatch(block, entries);
      sink += sumRecords(records, n);
    },
  });
  Deno.bench({
    name: `wasm parseReceivedArpBatch + readArpBatchInto (zero copy) x${n}`,
    group,
    fn: () => {
      table.set(rxEntries);
      batch.parseReceivedArpBatch(n);
      let s = 0;
      for (let i = 0; i < n; i++) if (batch.readArpBatchInto(i, out) === 0) s += sumNumbers(out);
      sink += s;
    },
  });
  Deno.bench({
    name: `ref  refParseArpBatch + records x${n}`,
    group,
    fn: () => {
      refParseArpBatch(block, entries, n, refRecords);
      sink += sumRecords(refRecords, n);
    },
  });
  Deno.bench({
    name: `ref  fused parse and sum, nothing stored x${n}`,
    group,
    fn: () => {
      sink += fusedSum(block, entries, n);
    },
  });
  Deno.bench({
    name: `ref  refParseArpAt per frame (numbers) x${n}`,
    group,
    fn: () => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        if (refParseArpAt(block, entries[2 * i]!, entries[2 * i + 1]!, out) === 0) {
          s += sumNumbers(out);
        }
      }
      sink += s;
    },
  });
}
// The single-frame zero-copy bench above expects the reply at the buffer start.
codec.receiveBuffer().set(arpReply);

Deno.bench({
  name: "wasm parseFrame NS",
  group: "NS parse",
  baseline: true,
  fn: () => {
    sink += codec.parseFrame(ns).kind.length;
  },
});
Deno.bench({
  name: "ref  parseFrame NS",
  group: "NS parse",
  fn: () => {
    sink += (refParse(ns) as codec.Frame).kind.length;
  },
});
Deno.bench({
  name: "wasm parseFrame NA",
  group: "NA parse",
  baseline: true,
  fn: () => {
    sink += codec.parseFrame(na).kind.length;
  },
});
Deno.bench({
  name: "ref  parseFrame NA",
  group: "NA parse",
  fn: () => {
    sink += (refParse(na) as codec.Frame).kind.length;
  },
});

// --- build ---

const arpArgs = {
  operation: 1 as const,
  senderHardwareAddr: MAC,
  senderProtocolAddr: "10.65.66.67",
  targetHardwareAddr: "00:00:00:00:00:00",
  targetProtocolAddr: "10.65.66.1",
};
const arpEth = { dst: "ff:ff:ff:ff:ff:ff", src: MAC };
Deno.bench({
  name: "wasm buildArp",
  group: "ARP build",
  baseline: true,
  fn: () => {
    sink += codec.buildArp(arpEth, arpArgs).length;
  },
});
Deno.bench({
  name: "ref  buildArp",
  group: "ARP build",
  fn: () => {
    sink += refBuildArp(arpEth, arpArgs).length;
  },
});

const nsArgs = {
  srcMac: MAC,
  src: "fe80::11:1213:1415",
  target: "2001:db8:41::1",
  sourceLinkLayerAddr: MAC,
};
Deno.bench({
  name: "wasm buildNeighborSolicitation",
  group: "NS build",
  baseline: true,
  fn: () => {
    sink += codec.buildNeighborSolicitation(nsArgs).length;
  },
});
Deno.bench({
  name: "ref  buildNeighborSolicitation",
  group: "NS build",
  fn: () => {
    sink += refBuildNdp({
      eth: { dst: "33:33:ff:00:00:01", src: MAC },
      src: nsArgs.src,
      dst: "ff02::1:ff00:1",
      target: nsArgs.target,
      type: 135,
      lla: MAC,
    }).length;
  },
});

const naArgs = { srcMac: MAC, src: "fe80::11:1213:1415", target: "2001:db8:41::5" };
Deno.bench({
  name: "wasm buildUnsolicitedAdvertisement",
  group: "NA build",
  baseline: true,
  fn: () => {
    sink += codec.buildUnsolicitedAdvertisement(naArgs).length;
  },
});
Deno.bench({
  name: "ref  buildUnsolicitedAdvertisement",
  group: "NA build",
  fn: () => {
    sink += refBuildNdp({
      eth: { dst: "33:33:00:00:00:01", src: MAC },
      src: naArgs.src,
      dst: "ff02::1",
      target: naArgs.target,
      type: 136,
      flags: { router: false, solicited: false, override: true },
      lla: MAC,
    }).length;
  },
});

addEventListener("unload", () => {
  if (sink === 0.5) throw new Error("unreachable: keeps the results alive");
});
