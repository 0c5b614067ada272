/**
 * Thin kernel I/O around the plans: run batches and turn unexpected failures
 * into CNI errors, run best-effort cleanup batches (their lines come from
 * `plan/cleanup.ts`), and list the links of the calling thread's netns.
 *
 * Requires `--allow-run=ip,iptables-restore,ip6tables-restore` and `--allow-ffi`.
 *
 * @example
 * ```ts
 * import { parseNetDev } from "./apply.ts";
 * const names = parseNetDev("header\nheader\n  lo: 0 0\n");
 * if (!names.has("lo")) throw new Error("unexpected");
 * ```
 *
 * @module
 */

import { readFileLibc } from "./libc.ts";
import { CniError, ErrorCode, errorMessage } from "../errors.ts";
import {
  batchErrorMessage,
  type BatchLine,
  type BatchOptions,
  type BatchResult,
  runBatch,
} from "./iproute.ts";

/** Errors that mean "already gone" in cleanup. */
export const GONE =
  /Cannot find device|No such process|No such file or directory|does not exist|not found/i;

/**
 * Run a batch; any failure that is neither tolerated nor optional throws.
 *
 * @param lines the script
 * @param opts netns and family
 * @param what the action for the message, e.g. "Cannot configure the node"
 * @returns the outcomes
 * @throws CniError 103 listing every failed line
 */
export async function runChecked(
  lines: readonly BatchLine[],
  opts: BatchOptions,
  what: string,
): Promise<BatchResult> {
  const res = await runBatch(lines, opts);
  if (res.errors.length > 0) {
    throw new CniError(ErrorCode.NetworkSetupFailed, batchErrorMessage(what, res.errors));
  }
  return res;
}

/**
 * The link names listed in a `/proc/net/dev` text.
 *
 * @param text the file's text (two header lines, then `name: counters...`)
 * @returns the names
 */
export function parseNetDev(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon > 0) names.add(line.slice(0, colon).trim());
  }
  return names;
}

/**
 * The links listed in the calling thread's netns. The kernel unlists a deleted
 * device, with its routes and neighbours, before the slow end of the teardown
 * (RCU waits, 10-30 ms here) after which it answers the `ip` that asked: this
 * tells when a `link del` took effect without waiting for that answer. Reads
 * `/proc/thread-self/net/dev` (through libc: Deno refuses `/proc/thread-self`).
 *
 * @returns the link names
 * @throws LibcIoError when the file cannot be read
 */
export function listedLinks(): Set<string> {
  return parseNetDev(readFileLibc("/proc/thread-self/net/dev"));
}

/**
 * Run cleanup batches and collect their failures as text (never throws for
 * a failed line; DEL reports all failures together).
 *
 * @param batches scripts with their options
 * @returns failure messages
 */
export async function runCleanup(
  batches: readonly { lines: readonly BatchLine[]; opts: BatchOptions; what: string }[],
): Promise<string[]> {
  const failures: string[] = [];
  await Promise.all(batches.map(async (b) => {
    if (b.lines.length === 0) return;
    try {
      const res = await runBatch(b.lines, b.opts);
      if (res.errors.length > 0) failures.push(batchErrorMessage(b.what, res.errors));
    } catch (err) {
      // Whatever keeps a batch from running (no netns, no ip, ...) is one more
      // failure to report with the others: the other batches still run.
      failures.push(`${b.what}: ${errorMessage(err)}`);
    }
  }));
  return failures;
}
