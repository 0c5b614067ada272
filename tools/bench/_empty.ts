/**
 * An empty Deno program (run by tools/bench/cni_bench.ts with the plugin's own
 * `deno run` flags): the runtime's start-up floor under every CNI call.
 *
 * @module
 */

export {};
