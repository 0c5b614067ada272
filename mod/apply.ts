/**
 * Thin kernel I/O around the plans: run batches and turn unexpected failures
 * into CNI errors, and build the best-effort cleanup lines that DEL, GC and
 * the ADD rollback share.
 *
 * Requires `--allow-run=ip,iptables-restore,ip6tables-restore` and `--allow-ffi`.
 *
 * @example
 * ```ts
 * import { hostCleanupLines } from "./apply.ts";
 * const lines = hostCleanupLines({ hostVeth: "veth1234", deleteVeth: true, podIps: [], hostRuleTable: 500 });
 * if (lines.length !== 1) throw new Error("unexpected");
 * ```
 *
 * @module
 */

import { readFileLibc } from "./_libc.ts";
import { CniError, ErrorCode } from "./errors.ts";
import {
  batchErrorMessage,
  type BatchLine,
  type BatchOptions,
  type BatchResult,
  hostPrefix,
  runBatch,
} from "./iproute.ts";
import type { PlannedRule } from "./plan.ts";

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

/** What node-side cleanup needs. */
export interface HostCleanup {
  hostVeth: string;
  /** Delete the veth itself (the first NIC owns it). */
  deleteVeth: boolean;
  /** Pod IPs whose table routes and neighbours on `hostVeth` go. */
  podIps: readonly string[];
  hostRuleTable: number;
}

/**
 * Node-side cleanup lines (all tolerate "already gone").
 *
 * @param c what to remove
 * @returns batch lines
 */
export function hostCleanupLines(c: HostCleanup): BatchLine[] {
  const lines: BatchLine[] = [];
  if (c.deleteVeth) {
    // Deleting the veth also removes its peer and every route/neighbour on it.
    lines.push({ args: ["link", "del", "dev", c.hostVeth], tolerate: GONE });
    return lines;
  }
  for (const ip of c.podIps) {
    lines.push({
      args: ["route", "del", hostPrefix(ip), "dev", c.hostVeth, "table", String(c.hostRuleTable)],
      tolerate: GONE,
    });
    // Not "neigh del": iproute2 exits the whole batch when a neigh command fails.
    lines.push({
      args: ["neigh", "flush", "to", ip, "dev", c.hostVeth, "nud", "all"],
      tolerate: GONE,
    });
  }
  return lines;
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
 * Pod-side lines deleting `from` rules an ADD made (split per family).
 *
 * @param rules the rules
 * @returns IPv4 and IPv6 batch lines
 */
export function podRuleCleanupLines(
  rules: readonly PlannedRule[],
): { lines: BatchLine[]; lines6: BatchLine[] } {
  const lines: BatchLine[] = [];
  const lines6: BatchLine[] = [];
  for (const r of rules) {
    (r.family === 4 ? lines : lines6).push({
      args: ["rule", "del", "from", r.src, "table", String(r.table), "pref", String(r.priority)],
      tolerate: GONE,
    });
  }
  return { lines, lines6 };
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
      failures.push(`${b.what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }));
  return failures;
}
