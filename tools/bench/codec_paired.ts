/**
 * The codec benchmark's cases (`_codec_cases.ts`) timed in interleaved
 * rounds, for a machine shared with other work: in every round each
 * contender of a group is timed once (a block of calls of about `--ms`
 * milliseconds), in an order that rotates from round to round, so that
 * the Wasm codec and the reference see the same load. Reported per contender:
 * the median ns per call (and per frame), and against the reference
 * contender doing the same job (the group's first reference, or the one its
 * `vs` names) the median of the per-round ratios and how many rounds it was
 * at least as fast. A ratio below 1.00 means faster than the reference.
 *
 * Run: `deno task bench:codec:paired [--rounds 21] [--ms 2] [--group "NS parse"]`.
 * The last line is `CODEC_PAIRED_JSON {...}` with every number.
 * Needs `--allow-read` (the codec reads nothing, but deno.json's imports do).
 *
 * @module
 */

import { type CodecGroup, type Contender, GROUPS, prepareReceiveBuffer } from "./_codec_cases.ts";

/** One contender's result. */
export interface PairedRow {
  /** Group name. */
  group: string;
  /** Contender name. */
  name: string;
  /** "wasm" or "ref". */
  side: "wasm" | "ref";
  /** Median ns per call over the rounds. */
  medianNs: number;
  /** The same per frame (batch groups divide by the batch size). */
  nsPerFrame: number;
  /** The reference contender it is compared with (its own name for the reference's). */
  vs: string;
  /** Median over the rounds of (this contender's time / the `vs` contender's time in that round). */
  ratio: number;
  /** Rounds in which this contender took at most the reference's time. */
  roundsAtMost: number;
  /** Rounds. */
  rounds: number;
}

let sink = 0;

function timeBlock(fn: () => number, calls: number): number {
  const t0 = performance.now();
  let s = 0;
  for (let i = 0; i < calls; i++) s += fn();
  const t = performance.now() - t0;
  sink += s;
  return (t * 1e6) / calls;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Calls per block so that one block takes about `ms` (after a warm-up). */
function calibrate(c: Contender, ms: number): number {
  let calls = 16;
  for (;;) {
    const ns = timeBlock(c.fn, calls);
    if (ns * calls >= 0.25e6 * ms || calls >= 1 << 24) {
      return Math.max(1, Math.round((ms * 1e6) / timeBlock(c.fn, calls)));
    }
    calls *= 2;
  }
}

/**
 * Time one group in interleaved rounds.
 *
 * @param g the group
 * @param rounds how many rounds
 * @param ms the length of one timed block
 * @returns one row per contender, Wasm first
 */
export function runGroup(g: CodecGroup, rounds: number, ms: number): PairedRow[] {
  prepareReceiveBuffer();
  const all = [...g.wasm, ...g.ref];
  const calls = all.map((c) => calibrate(c, ms));
  const times = all.map(() => [] as number[]);
  const refIndex = g.wasm.length;
  for (let r = 0; r < rounds; r++) {
    // Rotate the start and alternate the direction, so no contender always follows the same one.
    for (let k = 0; k < all.length; k++) {
      const step = r % 2 === 0 ? k : all.length - 1 - k;
      const i = (step + r) % all.length;
      times[i]!.push(timeBlock(all[i]!.fn, calls[i]!));
    }
  }
  return all.map((c, i) => {
    const j = i < refIndex && c.vs !== undefined ? all.findIndex((x) => x.name === c.vs) : refIndex;
    if (j < refIndex) throw new Error(`No reference contender "${c.vs}" in "${g.group}"`);
    const ref = times[j]!;
    const ratios = times[i]!.map((t, r) => t / ref[r]!);
    const m = median(times[i]!);
    return {
      group: g.group,
      name: c.name,
      side: i < refIndex ? "wasm" : "ref",
      medianNs: m,
      nsPerFrame: m / g.frames,
      vs: all[j]!.name,
      ratio: median(ratios),
      roundsAtMost: ratios.filter((x) => x <= 1).length,
      rounds,
    };
  });
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

if (import.meta.main) {
  const args = Deno.args;
  const rounds = Number(flag(args, "--rounds") ?? 21);
  const ms = Number(flag(args, "--ms") ?? 2);
  const only = flag(args, "--group");
  if (!(Number.isInteger(rounds) && rounds > 0 && ms > 0)) {
    throw new Error(`Invalid --rounds "${rounds}" or --ms "${ms}"`);
  }
  const groups = GROUPS.filter((g) => only === undefined || g.group === only);
  if (groups.length === 0) throw new Error(`No group "${only}"`);
  const rows: PairedRow[] = [];
  const print = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
  print(`${rounds} interleaved rounds, blocks of about ${ms} ms per contender`);
  print("");
  print("| group | contender | median ns/call | ns/frame | vs | ratio | rounds <= vs |");
  print("| --- | --- | ---: | ---: | --- | ---: | ---: |");
  for (const g of groups) {
    for (const row of runGroup(g, rounds, ms)) {
      rows.push(row);
      const vs = row.vs === row.name ? "-" : row.vs.replace(/ x\d+$/, "");
      print(
        `| ${row.group} | ${row.name} | ${row.medianNs.toFixed(1)} | ${
          row.nsPerFrame.toFixed(1)
        } | ${vs} | ${row.ratio.toFixed(2)} | ${row.roundsAtMost}/${row.rounds} |`,
      );
    }
  }
  print("");
  print(`CODEC_PAIRED_JSON ${JSON.stringify({ rounds, ms, rows })}`);
  if (sink === 0.5) print("");
}
