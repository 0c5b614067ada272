/**
 * The host-wide lock that serialises host-side mutations (shared `ip rule`,
 * table-500 routes, neighbours) of concurrent CNI calls on one node: an
 * exclusive `flock` on `/run/cni/coordinator.lock` through `Deno.FsFile.lock`.
 *
 * Requires `--allow-read` and `--allow-write=/run/cni`.
 *
 * @example
 * ```ts ignore
 * import { withHostLock } from "./lock.ts";
 * await withHostLock(async () => {
 *   // host-side changes
 * });
 * ```
 *
 * @module
 */

import { CniError, ErrorCode } from "../errors.ts";

/** Default lock file. */
export const DEFAULT_LOCK_PATH = "/run/cni/coordinator.lock";

/**
 * The lock path: `COORDINATOR_LOCK_FILE` when set (tests), else the default.
 *
 * @returns the path
 */
export function lockPath(): string {
  return Deno.env.get("COORDINATOR_LOCK_FILE") || DEFAULT_LOCK_PATH;
}

/**
 * Run `fn` while holding the host-wide exclusive lock. The lock goes with
 * the file descriptor, so a crashed process never leaves it held.
 *
 * @param fn the work
 * @param path lock file (default {@linkcode lockPath})
 * @returns what `fn` returns
 * @throws CniError 11 when the lock file cannot be opened
 */
export async function withHostLock<T>(fn: () => Promise<T>, path = lockPath()): Promise<T> {
  // A second flock from this same process would block on the first one, and a
  // synchronous wait would freeze the event loop that must finish the first:
  // calls from one process queue up here instead.
  while (held !== undefined) await held;
  let release!: () => void;
  held = new Promise((r) => release = r);
  let file: Deno.FsFile | undefined;
  try {
    try {
      Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
      file = Deno.openSync(path, { read: true, write: true, create: true });
    } catch (err) {
      throw new CniError(ErrorCode.TryAgainLater, `Cannot open lock file "${path}"`, {
        details: String(err),
        cause: err,
      });
    }
    // Synchronous on purpose: the caller's first command is then spawned in the
    // same tick (an async open + lock costs several ms of event-loop round trips
    // on the ADD's critical path); children already running are unaffected.
    file.lockSync(true);
    return await fn();
  } finally {
    // Closing the descriptor releases the flock.
    file?.close();
    held = undefined;
    release();
  }
}

let held: Promise<void> | undefined;
