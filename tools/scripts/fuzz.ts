// deno-lint-ignore-file no-console -- a command-line tool: its report goes to stdout/stderr
/**
 * One file: a command-line tool whose generators, oracle and report belong together.
 *
 * Offline fuzzing of the Wasm frame codec.
 *
 *   deno task fuzz [--cases N] [--seed S] [--out DIR] [--max-failures N]
 *
 * Each case is random bytes or a mutated valid frame (golden fixtures and
 * frames built from random fields; bit flips, byte sets, truncation,
 * extension, option-shaped bytes grown into the IPv6 payload, checksum
 * repair). Every case must parse without throwing or trapping, give the same
 * answer as the plain-TS reference parser (tools/lib/ref_codec.ts), and
 * leave the module usable (a probe frame is re-parsed regularly). The cases
 * also go, 64 at a time back to back with two entries that overrun the block,
 * through `parseArpBatch()`, which must match the reference batch (this
 * draws nothing from the generator: a seed gives the same cases as before). The run is
 * reproducible from `--seed`; failing inputs are written to `--out`
 * (default tests/testdata/regressions/) as NAME.hex + NAME.json, which
 * tests/codec_regression_test.ts replays. Prints cases/s; exits 1 on failure.
 *
 * @module
 */

import {
  buildArp,
  buildNeighborAdvertisement,
  buildNeighborSolicitation,
  CodecError,
  type Frame,
  parseFrame,
  Status,
} from "../../mod/codec/mod.ts";
import {
  arpBatchRecords,
  type ArpNumbers,
  ArpRecord,
  parseArpBatch,
  parseArpInto,
} from "../../mod/codec/batch.ts";
import { errorMessage } from "../../mod/errors.ts";
import { refFixChecksum, refParse, refParseArpBatch, refParseArpInto } from "../lib/ref_codec.ts";

interface Options {
  cases: number;
  seed: number;
  out: URL;
  maxFailures: number;
}

function parseArgs(args: string[]): Options {
  const opts: Options = {
    cases: 3_000_000,
    seed: 1,
    out: new URL("../../tests/testdata/regressions/", import.meta.url),
    maxFailures: 20,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`Missing value for "${a}"`);
      return v;
    };
    if (a === "--cases") opts.cases = Number(value().replaceAll("_", ""));
    else if (a === "--seed") opts.seed = Number(value());
    else if (a === "--out") {
      opts.out = new URL(value().replace(/\/?$/, "/"), `file://${Deno.cwd()}/`);
    } else if (a === "--max-failures") opts.maxFailures = Number(value());
    else throw new Error(`Unknown argument "${a}": use --cases, --seed, --out or --max-failures`);
  }
  if (!Number.isInteger(opts.cases) || opts.cases < 1) {
    throw new Error(`Invalid --cases "${opts.cases}"`);
  }
  if (!Number.isInteger(opts.seed)) throw new Error(`Invalid --seed "${opts.seed}"`);
  return opts;
}

/** sfc32: small, fast, good enough; state from the seed through splitmix32. */
class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
  }

  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** 0 <= n < max. */
  below(max: number): number {
    return max <= 1 ? 0 : this.u32() % max;
  }

  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const x = this.u32();
      b[i] = x;
      if (i + 1 < n) b[i + 1] = x >>> 8;
      if (i + 2 < n) b[i + 2] = x >>> 16;
      if (i + 3 < n) b[i + 3] = x >>> 24;
    }
    return b;
  }
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const fromHex = (s: string) =>
  new Uint8Array(s.trim().match(/../g)?.map((x) => parseInt(x, 16)) ?? []);

function macOf(r: Rng): string {
  return Array.from(r.bytes(6), (x) => x.toString(16).padStart(2, "0")).join(":");
}

function ip6Of(r: Rng, unicast: boolean): string {
  const b = r.bytes(16);
  // Mostly sparse addresses, so "::" shows up.
  if (r.below(2) === 0) { for (let i = 2; i < 14; i++) b[i] = 0; }
  if (unicast && b[0] === 0xff) b[0] = 0xfe;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(":");
}

/** A valid frame of a random kind, built by the codec from random fields. */
function validFrame(r: Rng): Uint8Array {
  const vlan = r.below(4) === 0 ? { vlan: r.below(4096) } : {};
  switch (r.below(3)) {
    case 0:
      return buildArp({ dst: macOf(r), src: macOf(r), ...vlan }, {
        operation: r.below(2) === 0 ? 1 : 2,
        senderHardwareAddr: macOf(r),
        senderProtocolAddr: Array.from(r.bytes(4)).join("."),
        targetHardwareAddr: macOf(r),
        targetProtocolAddr: Array.from(r.bytes(4)).join("."),
      });
    case 1: {
      const dad = r.below(4) === 0;
      return buildNeighborSolicitation({
        srcMac: macOf(r),
        src: dad ? "::" : ip6Of(r, true),
        target: ip6Of(r, true),
        ...(!dad && r.below(2) === 0 ? { sourceLinkLayerAddr: macOf(r) } : {}),
        ...vlan,
      });
    }
    default:
      return buildNeighborAdvertisement({
        srcMac: macOf(r),
        dstMac: macOf(r),
        src: ip6Of(r, false),
        dst: ip6Of(r, true),
        target: ip6Of(r, true),
        flags: {
          router: r.below(2) === 0,
          solicited: r.below(2) === 0,
          override: r.below(2) === 0,
        },
        ...(r.below(2) === 0 ? { targetLinkLayerAddr: macOf(r) } : {}),
        ...vlan,
      });
  }
}

/** The golden frames and the hand-made regression seeds, as the starting corpus. */
function loadFixtures(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const sub of ["frames/", "regressions/"]) {
    const dir = new URL(`../../tests/testdata/${sub}`, import.meta.url);
    // Sorted: the corpus order is part of what a seed reproduces.
    const names = [...Deno.readDirSync(dir)].map((e) => e.name)
      .filter((n) => n.endsWith(".hex") && !n.startsWith("fuzz-")).sort();
    for (const name of names) out.push(fromHex(Deno.readTextFileSync(new URL(name, dir))));
  }
  return out;
}

/** Mutates a copy of `frame`; returns it with a short description of what was done. */
function mutate(r: Rng, frame: Uint8Array): [Uint8Array, string] {
  let b = frame.slice();
  const steps: string[] = [];
  const n = 1 + r.below(4);
  for (let k = 0; k < n; k++) {
    const op = r.below(7);
    if (op === 0 && b.length > 0) {
      const pos = r.below(b.length);
      const bit = r.below(8);
      b[pos]! ^= 1 << bit;
      steps.push(`flip ${pos}.${bit}`);
    } else if (op === 1 && b.length > 0) {
      const pos = r.below(b.length);
      b[pos] = r.u32() & 0xff;
      steps.push(`set ${pos}`);
    } else if (op === 2) {
      const len = r.below(b.length + 1);
      b = b.slice(0, len);
      steps.push(`truncate ${len}`);
    } else if (op === 3) {
      const extra = r.bytes(r.below(64));
      const n2 = new Uint8Array(b.length + extra.length);
      n2.set(b);
      n2.set(extra, b.length);
      b = n2;
      steps.push(`extend ${extra.length}`);
    } else if (op === 4 || op === 5) {
      // Option-shaped bytes (type, length 0-3 units, data) at the payload end.
      const ip = b[12] === 0x81 && b[13] === 0 ? 18 : 14;
      if (b.length < ip + 40) continue;
      const units = r.below(4);
      const body = r.bytes(Math.max(0, units * 8 - 2 + (r.below(4) === 0 ? r.below(5) - 2 : 0)));
      const opt = new Uint8Array([
        r.below(4) === 0 ? r.below(256) : 1 + r.below(3),
        units,
        ...body,
      ]);
      const plen = (b[ip + 4]! << 8) | b[ip + 5]!;
      const end = Math.min(ip + 40 + plen, b.length);
      const n2 = new Uint8Array(b.length + opt.length);
      n2.set(b.subarray(0, end));
      n2.set(opt, end);
      n2.set(b.subarray(end), end + opt.length);
      const grown = Math.min(plen + opt.length, 0xffff);
      n2[ip + 4] = grown >> 8;
      n2[ip + 5] = grown & 0xff;
      b = n2;
      refFixChecksum(b);
      steps.push(`option ${opt[0]}/${units}+${body.length}`);
    } else {
      refFixChecksum(b);
      steps.push("fix checksum");
    }
  }
  if (r.below(2) === 0) {
    refFixChecksum(b);
    steps.push("fix checksum");
  }
  return [b, steps.join(", ")];
}

/** Deep equality over the plain values of a parse result (Uint8Array compared by bytes). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) {
      return false;
    }
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

function plain(x: Frame | CodecError | { error: string }): unknown {
  return x instanceof CodecError ? { error: x.kind } : x;
}

function toJson(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (_k, v) => (v instanceof Uint8Array ? hex(v) : v)));
}

const PROBE = buildArp({ dst: "ff:ff:ff:ff:ff:ff", src: "02:11:12:13:14:15" }, {
  operation: 1,
  senderHardwareAddr: "02:11:12:13:14:15",
  senderProtocolAddr: "10.65.66.67",
  targetHardwareAddr: "00:00:00:00:00:00",
  targetProtocolAddr: "10.65.66.68",
});
const PROBE_RESULT = parseFrame(PROBE);

/** The reference's answer for the last checked input. */
let lastReference: Frame | { error: string } = { error: "" };

/**
 * Checks one input; returns a failure description or undefined. The catches
 * below are broad on purpose: the parsers must never throw, so any throw at
 * all is the finding.
 */
function check(bytes: Uint8Array, a: ArpNumbers, b: ArpNumbers): string | undefined {
  let got: Frame | CodecError;
  try {
    got = parseFrame(bytes);
  } catch (e) {
    return `parseFrame() threw: ${errorMessage(e)}`;
  }
  if (!(got instanceof CodecError) && (typeof got !== "object" || got === null)) {
    return "parseFrame() returned neither a frame nor a CodecError";
  }
  const want = refParse(bytes);
  lastReference = want;
  if (!same(plain(got), want)) return "parseFrame() differs from the reference parser";
  let sa: number;
  try {
    sa = parseArpInto(bytes, a);
  } catch (e) {
    return `parseArpInto() threw: ${errorMessage(e)}`;
  }
  const sb = refParseArpInto(bytes, b);
  if ((sa === Status.Ok) !== (sb === 0)) {
    return "parseArpInto() accepts differently from the reference";
  }
  if (sa === Status.Ok && !same(a, b)) return "parseArpInto() numbers differ from the reference";
  return undefined;
}

/** Frames per batch check, and the block size they must fit in. */
const BATCH_FRAMES = 64;
const BATCH_BYTES = 65536;

/**
 * Parses `frames` back to back with `parseArpBatch()`, plus an entry one byte
 * past the end of the block and one 2^32 - 1 bytes long, and compares every
 * record with the reference batch. Returns the index of the first frame that
 * differs (frames.length for the extra entries), with a description.
 */
function checkBatch(frames: Uint8Array[]): [number, string] | undefined {
  const size = frames.reduce((n, f) => n + f.length, 0);
  const block = new Uint8Array(size);
  const count = frames.length + 2;
  const entries = new Uint32Array(2 * count);
  let at = 0;
  frames.forEach((f, i) => {
    block.set(f, at);
    entries[2 * i] = at;
    entries[2 * i + 1] = f.length;
    at += f.length;
  });
  entries.set([size > 0 ? size - 1 : 0, 2, 0, 0xffffffff], 2 * frames.length);
  const want = new Int32Array(8 * count);
  const wantAccepted = refParseArpBatch(block, entries, count, want);
  let accepted: number;
  try {
    accepted = parseArpBatch(block, entries);
  } catch (e) {
    return [0, `parseArpBatch() threw: ${errorMessage(e)}`];
  }
  const got = arpBatchRecords();
  for (let i = 0; i < count; i++) {
    const k = 8 * i;
    const status = want[k + ArpRecord.Status];
    const differs = got[k + ArpRecord.Status] !== status ||
      (status === 0 && got.subarray(k, k + 8).some((v, j) => v !== want[k + j]));
    if (differs) {
      return [Math.min(i, frames.length), "parseArpBatch() differs from the reference batch"];
    }
  }
  if (accepted !== wantAccepted) return [frames.length, "parseArpBatch() counts differently"];
  return undefined;
}

async function writeRegression(out: URL, bytes: Uint8Array, doc: Record<string, unknown>) {
  await Deno.mkdir(out, { recursive: true });
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  const name = `fuzz-${hex(digest.subarray(0, 6))}`;
  await Deno.writeTextFile(new URL(`${name}.hex`, out), hex(bytes) + "\n");
  await Deno.writeTextFile(new URL(`${name}.json`, out), JSON.stringify(doc, null, 2) + "\n");
  return name;
}

/** Checks one batch; writes the first frame that differs as a regression. Returns 0 or 1. */
async function flushBatch(frames: Uint8Array[], firstCase: number, opts: Options): Promise<number> {
  const failed = checkBatch(frames);
  if (failed === undefined) return 0;
  const [index, description] = failed;
  const bytes = frames[Math.min(index, frames.length - 1)] ?? new Uint8Array(0);
  const name = await writeRegression(opts.out, bytes, {
    description: `${description} (${
      index < frames.length ? `entry ${index}` : "the entries past the block end"
    } of a batch of ${frames.length} cases)`,
    seed: opts.seed,
    case: firstCase + Math.min(index, frames.length - 1),
    input: "batch",
    reference: toJson(refParse(bytes)),
  });
  console.error(`cases ${firstCase}+: ${description} (entry ${index}) -> ${name}`);
  return 1;
}

/**
 * Run the fuzzer.
 *
 * @param opts cases, seed, output directory, failure limit
 * @returns the number of failures
 */
export async function fuzz(opts: Options): Promise<number> {
  const r = new Rng(opts.seed);
  const corpus = loadFixtures();
  for (let i = 0; i < 256; i++) corpus.push(validFrame(r));
  const a: ArpNumbers = {
    operation: 0,
    senderHardwareAddr: 0,
    senderProtocolAddr: 0,
    targetHardwareAddr: 0,
    targetProtocolAddr: 0,
  };
  const b: ArpNumbers = { ...a };
  const outcomes = new Map<string, number>();
  let failures = 0;
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  let batchFirstCase = 0;
  const started = performance.now();
  let lastReport = started;
  for (let i = 0; i < opts.cases; i++) {
    let bytes: Uint8Array;
    let how: string;
    const mode = r.below(16);
    if (mode < 3) {
      const len = r.below(8) === 0 ? r.below(1537) : r.below(96);
      bytes = r.bytes(len);
      how = `random ${len} bytes`;
    } else if (mode === 3 && r.below(64) === 0) {
      const len = 1537 + r.below(70000 - 1537);
      bytes = new Uint8Array(len).fill(r.below(256));
      if (r.below(2) === 0) bytes.set([0x86, 0xdd, 0x60], 12);
      how = `large ${len} bytes`;
    } else {
      const base = mode < 6 ? validFrame(r) : corpus[r.below(corpus.length)]!;
      [bytes, how] = mutate(r, base);
    }
    let failure = check(bytes, a, b);
    if (bytes.length <= BATCH_BYTES) {
      if (batch.length === BATCH_FRAMES || batchBytes + bytes.length > BATCH_BYTES) {
        failures += await flushBatch(batch, batchFirstCase, opts);
        batch = [];
        batchBytes = 0;
        if (failures >= opts.maxFailures) break;
      }
      if (batch.length === 0) batchFirstCase = i;
      batch.push(bytes);
      batchBytes += bytes.length;
    }
    if (failure === undefined && (i & 63) === 0 && !same(parseFrame(PROBE), PROBE_RESULT)) {
      failure = "the module no longer parses the probe frame after this input";
    }
    if (failure !== undefined) {
      failures++;
      const got = (() => {
        try {
          return toJson(plain(parseFrame(bytes)));
        } catch (e) {
          return { threw: String(e) };
        }
      })();
      const name = await writeRegression(opts.out, bytes, {
        description: failure,
        seed: opts.seed,
        case: i,
        input: how,
        reference: toJson(refParse(bytes)),
        got,
      });
      console.error(`case ${i}: ${failure} (${how}) -> ${name}`);
      if (failures >= opts.maxFailures) break;
    } else {
      const res = lastReference;
      const key = "error" in res ? res.error : res.kind === "arp" ? "arp" : res.ndp.kind;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    if ((i & 0xffff) === 0 && performance.now() - lastReport > 5000) {
      lastReport = performance.now();
      const rate = Math.round(i / ((lastReport - started) / 1000));
      console.error(`  ${i} cases, ${rate} cases/s`);
    }
  }
  if (batch.length > 0 && failures < opts.maxFailures) {
    failures += await flushBatch(batch, batchFirstCase, opts);
  }
  const seconds = (performance.now() - started) / 1000;
  const done = [...outcomes.values()].reduce((x, y) => x + y, 0) + failures;
  console.log(
    `fuzz: ${done} cases, seed ${opts.seed}, ${seconds.toFixed(1)} s, ${
      Math.round(done / seconds)
    } cases/s, ${failures} failures`,
  );
  console.log(
    "outcomes: " +
      [...outcomes].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(", "),
  );
  return failures;
}

if (import.meta.main) {
  try {
    const failures = await fuzz(parseArgs(Deno.args));
    if (failures > 0) Deno.exitCode = 1;
  } catch (e) {
    console.error(errorMessage(e));
    Deno.exitCode = 2;
  }
}
