/**
 * The codec library's bulk ARP API: numbers-only parsing with no allocation
 * ({@linkcode parseArpInto}, {@linkcode parseReceivedArpInto}) and one Wasm
 * call for many frames ({@linkcode parseArpBatch},
 * {@linkcode parseReceivedArpBatch}, read back through
 * {@linkcode arpBatchRecords}; per frame that is faster than the plain-TS
 * parser, which a single call is not).
 *
 * Part of the codec library (the same Wasm instance and buffers as `mod.ts`),
 * serving offline fuzzing (`tools/scripts/fuzz.ts`), the benchmark
 * (`tools/bench/codec_bench.ts`) and the tests; it is off the plugin's call
 * path, which parses frames with `parseFrame()` of `mod.ts`. Design and
 * benchmark: docs/codec.md.
 *
 * No permissions are needed.
 *
 * @example
 * ```ts
 * import { buildArpProbe, Status } from "./mod.ts";
 * import { ipv4ToNumber, parseArpInto } from "./batch.ts";
 * const out = {
 *   operation: 0,
 *   senderHardwareAddr: 0,
 *   senderProtocolAddr: 0,
 *   targetHardwareAddr: 0,
 *   targetProtocolAddr: 0,
 * };
 * const status = parseArpInto(buildArpProbe("02:00:00:00:00:01", "10.0.0.7"), out);
 * if (status !== Status.Ok || out.targetProtocolAddr !== ipv4ToNumber("10.0.0.7")) {
 *   throw new Error("unexpected");
 * }
 * ```
 *
 * @module
 */

import {
  argumentError,
  type CodecExports,
  inputAt,
  inputCapacity,
  instance,
  ipv4Bytes,
  mem,
  Status,
  writeMac,
} from "./_core.ts";
import type { Mac } from "./mod.ts";

// The ARP batch table and records, as byte offsets (mirrors
// wasm/assembly/_fields.ts; a test checks that they match).
const BATCH_ENTRY_SIZE = 8;
const REC_OPER = 0;
const REC_SPA = 4;
const REC_TPA = 8;
const REC_SHA_HI = 12;
const REC_SHA_LO = 16;
const REC_THA_HI = 20;
const REC_THA_LO = 24;
const REC_STATUS = 28;
const REC_SIZE = 32;

/** How many frames one batch call parses at most. */
export const ARP_BATCH_CAPACITY = 512;

/**
 * This API's views of Wasm memory, set up on first use, and the last batch's
 * count. Fields of one constant object rather than module `let`s: the
 * per-frame paths then load them without an initialisation (TDZ) check of a
 * binding each time (measured: docs/codec.md, benchmark).
 */
const state = {
  /** The shared instance, once the views are set up. */
  ready: undefined as CodecExports | undefined,
  /** The NUM_* struct as f64 slots: operation, SHA, SPA, THA, TPA (from `numbersAt`). */
  numbers: new Float64Array(0),
  numbersAt: 0,
  /** The batch frame table (2 u32 per entry). */
  table: new Uint32Array(0),
  /** The batch records (REC_SIZE / 4 i32 slots each). */
  records: new Int32Array(0),
  /** How many records the last batch call wrote: readArpBatchInto() reads no others. */
  count: 0,
};

/** The shared instance, with this API's views of its memory set up on first use. */
function batchInstance(): CodecExports {
  if (state.ready !== undefined) return state.ready;
  const ex = instance();
  const buffer = ex.memory.buffer as ArrayBuffer;
  state.numbers = new Float64Array(buffer);
  const numbersPtr = ex.numbersPtr();
  if (numbersPtr % 8 !== 0) {
    throw new Error(`Codec numbers struct at "${numbersPtr}" is not 8-byte aligned`);
  }
  state.numbersAt = numbersPtr / 8;
  const batchPtr = ex.batchPtr();
  const recordsPtr = ex.recordsPtr();
  if (ex.batchCapacity() !== ARP_BATCH_CAPACITY || batchPtr % 4 !== 0 || recordsPtr % 4 !== 0) {
    throw new Error(
      `Codec batch layout (capacity "${ex.batchCapacity()}", table "${batchPtr}", records "${recordsPtr}") is not the facade's`,
    );
  }
  state.table = new Uint32Array(buffer, batchPtr, (ARP_BATCH_CAPACITY * BATCH_ENTRY_SIZE) / 4);
  state.records = new Int32Array(buffer, recordsPtr, (ARP_BATCH_CAPACITY * REC_SIZE) / 4);
  state.ready = ex;
  return ex;
}

/**
 * The numbers of an ARP frame, for hot receive loops: MACs as 48-bit integers,
 * IPv4 addresses as unsigned 32-bit integers. Filled in place, no allocation.
 */
export interface ArpNumbers {
  /** 1 request, 2 reply. */
  operation: number;
  /** SHA as a 48-bit integer. */
  senderHardwareAddr: number;
  /** SPA as an unsigned 32-bit integer. */
  senderProtocolAddr: number;
  /** THA as a 48-bit integer. */
  targetHardwareAddr: number;
  /** TPA as an unsigned 32-bit integer. */
  targetProtocolAddr: number;
}

/**
 * Parse an ARP frame into `out` without allocating: the hot path of receive
 * loops. Same ARP validation as `parseFrame()`; anything that is not
 * ARP gives `Status.UnsupportedEthertype` without being parsed further.
 *
 * @param bytes the frame
 * @param out overwritten on success, untouched otherwise
 * @returns `Status.Ok` or the rejection status
 */
export function parseArpInto(bytes: Uint8Array, out: ArpNumbers): number {
  const ex = state.ready ?? batchInstance();
  const len = bytes.length;
  if (len > inputCapacity) return Status.TooLong;
  mem.set(bytes, inputAt);
  return readArpNumbers(ex.parseArpNumbers(len), out);
}

/**
 * {@linkcode parseArpInto} for the first `len` bytes of the codec's receive
 * buffer (`receiveBuffer()` of `mod.ts`).
 *
 * @param len the frame length
 * @param out overwritten on success, untouched otherwise
 * @returns `Status.Ok` or the rejection status
 */
export function parseReceivedArpInto(len: number, out: ArpNumbers): number {
  const ex = state.ready ?? batchInstance();
  if (!(len >= 0 && len <= inputCapacity && Number.isInteger(len))) {
    return len > inputCapacity ? Status.TooLong : Status.BadArgument;
  }
  return readArpNumbers(ex.parseArpNumbers(len), out);
}

function readArpNumbers(status: number, out: ArpNumbers): number {
  if (status !== Status.Ok) return status;
  const n = state.numbers;
  const i = state.numbersAt;
  out.operation = n[i]!;
  out.senderHardwareAddr = n[i + 1]!;
  out.senderProtocolAddr = n[i + 2]!;
  out.targetHardwareAddr = n[i + 3]!;
  out.targetProtocolAddr = n[i + 4]!;
  return Status.Ok;
}

// ---------------------------------------------------------------------------
// ARP batches: one Wasm call for many frames.

/**
 * The batch frame table, a view of Wasm memory: entry `i` is
 * `[2 * i]` = the frame's offset in `receiveBuffer()` of `mod.ts` and
 * `[2 * i + 1]` = its length. Fill it (and the frames) and call
 * {@linkcode parseReceivedArpBatch}; a receive loop can `recv(2)` several
 * frames into the receive buffer one after another and note each here. The
 * view stays valid (the memory never grows); {@linkcode parseArpBatch}
 * overwrites it.
 *
 * @returns the view, `2 * ARP_BATCH_CAPACITY` entries
 */
export function batchTable(): Uint32Array {
  batchInstance();
  return state.table;
}

/**
 * Parse the first `count` frames of {@linkcode batchTable} (frames already in
 * the receive buffer, `receiveBuffer()` of `mod.ts`) in one Wasm call; then read the results from
 * {@linkcode arpBatchRecords} (fastest) or with {@linkcode readArpBatchInto}.
 * Per frame, the checks and statuses of {@linkcode parseArpInto}; an entry
 * that reaches past the receive buffer is `Status.BadArgument` (`Status.TooLong`
 * when its length alone does). Frames may overlap or repeat.
 *
 * @param count how many entries, 0 to {@linkcode ARP_BATCH_CAPACITY}
 * @returns how many frames were accepted as ARP
 * @throws {CodecError} `badArgument` when `count` is out of range (no frame is parsed)
 */
export function parseReceivedArpBatch(count: number): number {
  batchInstance();
  return runBatch(count, inputCapacity);
}

function runBatch(count: number, end: number): number {
  if (!(count >= 0 && count <= ARP_BATCH_CAPACITY && Number.isInteger(count))) {
    state.count = 0;
    throw argumentError(`Invalid ARP batch count "${count}": expected 0-${ARP_BATCH_CAPACITY}`);
  }
  state.count = count;
  return batchInstance().parseArpBatch(count, end);
}

/**
 * Copy `block` (frames one after another, e.g. a chunk of a capture file) to
 * the start of the receive buffer and the first `count` entries of `entries`
 * (`[offset in block, length]` pairs, as in {@linkcode batchTable}) to the
 * batch table, then parse them like {@linkcode parseReceivedArpBatch}: two
 * copies and one call for the whole batch. An entry that reaches past the
 * end of `block` is `Status.BadArgument`.
 *
 * @param block the frames, at most 65536 bytes
 * @param entries `[offset, length]` pairs
 * @param count how many pairs (default all of them)
 * @returns how many frames were accepted as ARP
 * @throws {CodecError} `badArgument` when `block` is too long or `count` out of range
 */
export function parseArpBatch(
  block: Uint8Array,
  entries: Uint32Array,
  count: number = entries.length >>> 1,
): number {
  batchInstance();
  if (block.length > inputCapacity) {
    state.count = 0;
    throw argumentError(`ARP batch block of ${block.length} bytes exceeds ${inputCapacity}`);
  }
  if (!(count >= 0 && 2 * count <= entries.length)) {
    state.count = 0;
    throw argumentError(
      `Invalid ARP batch count "${count}" for ${entries.length >>> 1} entries`,
    );
  }
  if (count <= ARP_BATCH_CAPACITY) {
    mem.set(block, inputAt);
    state.table.set(entries.length === 2 * count ? entries : entries.subarray(0, 2 * count));
  }
  return runBatch(count, block.length);
}

/**
 * Slot numbers of one ARP batch record in {@linkcode arpBatchRecords}: record
 * `i` starts at `i * ArpRecord.Size`. IPv4 addresses are u32 bits (read them
 * with `>>> 0`); a MAC is `Hi * 2 ** 32 + (Lo >>> 0)` (Hi is 0-0xffff).
 * Slots other than `Status` are meaningful only when it is `Status.Ok`.
 */
export const ArpRecord = {
  Operation: REC_OPER / 4,
  SenderProtocolAddr: REC_SPA / 4,
  TargetProtocolAddr: REC_TPA / 4,
  SenderHardwareAddrHi: REC_SHA_HI / 4,
  SenderHardwareAddrLo: REC_SHA_LO / 4,
  TargetHardwareAddrHi: REC_THA_HI / 4,
  TargetHardwareAddrLo: REC_THA_LO / 4,
  Status: REC_STATUS / 4,
  Size: REC_SIZE / 4,
} as const;

/**
 * The records of the last batch, a cached view of Wasm memory
 * (`ARP_BATCH_CAPACITY * ArpRecord.Size` i32s; layout {@linkcode ArpRecord}):
 * the cheapest way to read a batch, as plain i32 loads with no call and no
 * allocation. Only the first `count` records of the last batch are current.
 *
 * @example
 * ```ts
 * import { buildArpProbe, Status } from "./mod.ts";
 * import { ArpRecord, arpBatchRecords, parseArpBatch } from "./batch.ts";
 * const a = buildArpProbe("02:00:00:00:00:01", "10.0.0.7");
 * const b = buildArpProbe("02:00:00:00:00:02", "10.0.0.8");
 * const block = new Uint8Array(a.length + b.length);
 * block.set(a);
 * block.set(b, a.length);
 * const count = 2;
 * parseArpBatch(block, new Uint32Array([0, a.length, a.length, b.length]), count);
 * const r = arpBatchRecords();
 * for (let i = 0, k = 0; i < count; i++, k += ArpRecord.Size) {
 *   if (r[k + ArpRecord.Status] !== Status.Ok) continue;
 *   const tpa = r[k + ArpRecord.TargetProtocolAddr]! >>> 0; // 10.0.0.7, 10.0.0.8
 *   const sha = r[k + ArpRecord.SenderHardwareAddrHi]! * 2 ** 32 +
 *     (r[k + ArpRecord.SenderHardwareAddrLo]! >>> 0);
 *   if (tpa !== 0x0a000007 + i || sha !== 0x0200_0000_0001 + i) throw new Error("unexpected");
 * }
 * ```
 *
 * @returns the view (the same object every time)
 */
export function arpBatchRecords(): Int32Array {
  batchInstance();
  return state.records;
}

/**
 * Frame `i` of the last batch: its status and, on `Status.Ok`, its numbers
 * into `out` (the same values {@linkcode parseArpInto} gives).
 *
 * @param i 0 to the batch's count - 1
 * @param out overwritten on success, untouched otherwise
 * @returns `Status.Ok`, the frame's rejection status, or `Status.BadArgument` for an `i` outside the last batch
 */
export function readArpBatchInto(i: number, out: ArpNumbers): number {
  if (!((i >>> 0) === i && i < state.count)) return Status.BadArgument;
  const r = state.records;
  const k = i * (REC_SIZE / 4);
  const status = r[k + REC_STATUS / 4]!;
  if (status !== Status.Ok) return status;
  out.operation = r[k + REC_OPER / 4]!;
  out.senderHardwareAddr = r[k + REC_SHA_HI / 4]! * 0x1_0000_0000 + (r[k + REC_SHA_LO / 4]! >>> 0);
  out.senderProtocolAddr = r[k + REC_SPA / 4]! >>> 0;
  out.targetHardwareAddr = r[k + REC_THA_HI / 4]! * 0x1_0000_0000 + (r[k + REC_THA_LO / 4]! >>> 0);
  out.targetProtocolAddr = r[k + REC_TPA / 4]! >>> 0;
  return Status.Ok;
}

/**
 * A MAC as a 48-bit integer (for comparisons with {@linkcode ArpNumbers}).
 *
 * @param mac the MAC
 * @returns the integer
 * @throws {CodecError} `badArgument`
 */
export function macToNumber(mac: Mac): number {
  const b = new Uint8Array(6);
  writeMac(mac, b, 0, "");
  return ((b[0]! << 8) | b[1]!) * 0x1_0000_0000 +
    (((b[2]! << 24) | (b[3]! << 16) | (b[4]! << 8) | b[5]!) >>> 0);
}

/**
 * An IPv4 address as an unsigned 32-bit integer.
 *
 * @param ip dotted quad
 * @returns the integer
 * @throws {CodecError} `badArgument`
 */
export function ipv4ToNumber(ip: string): number {
  const b = ipv4Bytes(ip);
  if (b === undefined) throw argumentError(`Invalid IPv4 address "${String(ip)}"`);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}
