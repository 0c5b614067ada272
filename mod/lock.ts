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

import { CniError, ErrorCode } from "./errors.ts";

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
  let file: Deno.FsFile;
  try {
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
    file = await Deno.open(path, { read: true, write: true, create: true });
  } catch (err) {
    throw new CniError(ErrorCode.TryAgainLater, `Cannot open lock file "${path}"`, {
      details: String(err),
      cause: err,
    });
  }
  try {
    await file.lock(true);
    return await fn();
  } finally {
    // Closing the descriptor releases the flock.
    file.close();
  }
}
