/**
 * Codec throughput, Wasm vs the plain-TS reference (tools/lib/ref_codec.ts),
 * with `deno bench`: the cases of `_codec_cases.ts`, one `Deno.bench` each,
 * the group's first Wasm entry point as its baseline. Single-frame groups:
 * one frame per iteration, so iter/s is frames/s. Batch groups ("ARP batch
 * x32", "x512"): one batch per iteration; divide the time by the batch size
 * for ns/frame. Run with `deno bench tools/bench/codec_bench.ts` (or `deno
 * task bench:codec`). `deno bench` times each case in a block of its own, so
 * on a busy machine two rows of a group can see different loads:
 * `codec_paired.ts` (`deno task bench:codec:paired`) interleaves them instead.
 * Results and the machine they came from: docs/codec.md.
 *
 * @module
 */

import { GROUPS } from "./_codec_cases.ts";

let sink = 0;

for (const g of GROUPS) {
  for (const [i, c] of [...g.wasm, ...g.ref].entries()) {
    const fn = c.fn;
    Deno.bench({
      name: c.name,
      group: g.group,
      baseline: i === 0,
      fn: () => {
        sink += fn();
      },
    });
  }
}

addEventListener("unload", () => {
  if (sink === 0.5) throw new Error("unreachable: keeps the results alive");
});
