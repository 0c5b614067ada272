/**
 * Best-effort clean-up around the plans (their intents come from
 * `mod/plan/cleanup.ts`): batches whose failures are collected as text
 * instead of thrown (DEL reports every failure together), and the node's
 * streamed clean-up, whose reads decide follow-up changes while its
 * deletions still run.
 *
 * Requires `--allow-run=ip` and `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import { runCleanups } from "./apply.ts";
 * const failures = await runCleanups([{ changes: [], where: {}, what: "Cannot clean" }]);
 * ```
 *
 * @module
 */

import { CniError, CommandError, errorMessage } from "../errors.ts";
import type { IpIntent } from "./intent.ts";
import {
  type Answers,
  failureMessage,
  type IpFailure,
  IpSession,
  type IpWhere,
  type Reads,
  runIp,
} from "./iproute.ts";
import { settle } from "./settle.ts";

/** One clean-up batch. */
export interface Cleanup {
  changes: readonly IpIntent[];
  where: IpWhere;
  /** The action, for the message, e.g. "Cannot clean the pod rules". */
  what: string;
}

/**
 * Run clean-up batches side by side and collect their failures as text (never
 * throws for a failed line).
 *
 * @param cleanups the batches
 * @returns failure messages
 */
export async function runCleanups(cleanups: readonly Cleanup[]): Promise<string[]> {
  const failures: string[] = [];
  await Promise.all(cleanups.map(async (c) => {
    if (c.changes.length === 0) return;
    try {
      const res = await runIp({ changes: c.changes }, c.where);
      if (res.errors.length > 0) failures.push(failureMessage(c.what, res.errors));
    } catch (err) {
      // Whatever keeps a batch from running (no netns, no ip, ...) is one more
      // failure to report with the others: the other batches still run.
      failures.push(`${c.what}: ${errorMessage(err)}`);
    }
  }));
  return failures;
}

/** A streamed clean-up of the node. */
export interface StreamedCleanup<R extends Reads> {
  /** Read first (they see the node before the changes). */
  reads: R;
  changes: readonly IpIntent[];
  /**
   * The veths whose deletion is all that `changes` do: the clean-up is done
   * once the kernel has unlisted them (`./settle.ts`); empty: wait for `ip`.
   */
  veths: readonly string[];
  /**
   * Changes decided from the reads, run beside the rest (`run`), and their
   * undoing should anything of the clean-up fail (`undo`).
   */
  followUp(answers: Answers<R>): { run: IpIntent[]; undo: IpIntent[] };
}

/**
 * Run a node clean-up in one streamed `ip -batch`: the reads first, used as
 * soon as they are printed to decide the follow-up changes, which run (in
 * their own process, per family) while the deletions still do.
 *
 * @param c the clean-up
 * @returns failure messages
 */
export async function cleanStreamed<R extends Reads>(c: StreamedCleanup<R>): Promise<string[]> {
  const what = "Cannot clean the node";
  let s: IpSession<R>;
  try {
    s = await IpSession.open({ before: c.reads, changes: c.changes });
  } catch (err) {
    if (!(err instanceof CniError || err instanceof CommandError)) throw err;
    return [`${what}: ${err.message}`];
  }
  // A read that failed (none expected) decides nothing: no follow-up.
  const answers = await s.answers();
  const follow = answers === undefined ? { run: [], undo: [] } : c.followUp(answers);
  const followed = runCleanups([{ changes: follow.run, where: {}, what: `${what} rules` }]);
  const failures: string[] = [];
  try {
    const errors: IpFailure[] = s.outcome(await settle(s.lines, c.veths)).errors;
    if (errors.length > 0) failures.push(failureMessage(what, errors));
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    failures.push(`${what}: ${err.message}`);
  }
  failures.push(...await followed);
  if (failures.length > 0 && follow.undo.length > 0) {
    failures.push(
      ...await runCleanups([{
        changes: follow.undo,
        where: {},
        what: "Cannot restore the node rules",
      }]),
    );
  }
  return failures;
}
