/**
 * Network namespaces: validate a CNI_NETNS path and run synchronous work
 * inside it on the calling (main) thread through `setns(2)`.
 *
 * `setns` only moves the calling thread. Everything done inside
 * {@linkcode inNetns} must therefore be synchronous: `Deno.Command#outputSync`
 * (children inherit the thread's netns), `Deno.readTextFileSync` /
 * `writeTextFileSync` under `/proc/sys/net` and raw-socket syscalls. Async
 * file ops run on other threads, which stay in the host netns.
 *
 * Requires `--allow-ffi` and `--allow-read=/proc`.
 *
 * @example
 * ```ts ignore
 * import { inNetns } from "./netns.ts";
 * const rp = inNetns("/var/run/netns/pod", () =>
 *   Deno.readTextFileSync("/proc/sys/net/ipv4/conf/all/rp_filter"));
 * ```
 *
 * @module
 */

import { CniError, ErrorCode } from "./errors.ts";
import { cString, errno, libc, strerror } from "./_libc.ts";

const CLONE_NEWNET = 0x40000000;
const O_RDONLY_CLOEXEC = 0o2000000;

/** Thrown when a netns path does not exist (DEL treats this as "already gone"). */
export class NetnsNotFoundError extends CniError {
  /** @param path the netns path */
  constructor(path: string) {
    super(ErrorCode.NotFound, `Cannot open netns "${path}": no such file`);
    this.name = "NetnsNotFoundError";
  }
}

function openFd(path: string): number {
  const fd = libc().open(cString(path), O_RDONLY_CLOEXEC);
  if (fd < 0) {
    const code = errno();
    if (code === 2) throw new NetnsNotFoundError(path);
    throw new CniError(ErrorCode.NotFound, `Cannot open netns "${path}": ${strerror(code)}`);
  }
  return fd;
}

/**
 * Check that `path` names a network namespace that is not our own.
 * Requires `--allow-read`.
 *
 * @param path a CNI_NETNS value
 * @throws NetnsNotFoundError when the path does not exist
 * @throws CniError (code 4) when it is not a netns or is the plugin's own netns
 */
export function validateNetns(path: string): void {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new NetnsNotFoundError(path);
    throw new CniError(ErrorCode.InvalidEnvironment, `Cannot stat netns "${path}"`, {
      details: String(err),
    });
  }
  const own = Deno.statSync("/proc/self/ns/net");
  if (st.dev === own.dev && st.ino === own.ino) {
    throw new CniError(
      8,
      `Netns "${path}" is the plugin's own network namespace: refusing to configure the host`,
    );
  }
  if (!isNetnsFile(path)) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `Path "${path}" is not a network namespace (nsfs or /proc/PID/ns/net)`,
    );
  }
}

function isNetnsFile(path: string): boolean {
  // A bind-mounted netns and /proc/PID/ns/net both open as an nsfs inode whose
  // /proc/self/fd link reads "net:[INODE]"; Deno exposes no statfs to check magic.
  const fd = openFd(path);
  try {
    const target = Deno.readLinkSync(`/proc/self/fd/${fd}`);
    return target.startsWith("net:[");
  } finally {
    libc().close(fd);
  }
}

let depth = 0;

/**
 * Run `fn` synchronously with the calling thread inside the netns at `path`,
 * and always return to the original netns.
 *
 * @param path netns path (`/var/run/netns/NAME` or `/proc/PID/ns/net`)
 * @param fn synchronous work
 * @returns what `fn` returns
 */
export function inNetns<T>(path: string, fn: () => T): T {
  if (depth > 0) throw new Error("inNetns() does not nest");
  const c = libc();
  const home = openFd("/proc/thread-self/ns/net");
  let target = -1;
  try {
    target = openFd(path);
    if (c.setns(target, CLONE_NEWNET) !== 0) {
      const code = errno();
      throw new CniError(ErrorCode.NotFound, `Cannot enter netns "${path}": ${strerror(code)}`);
    }
    depth++;
    try {
      return fn();
    } finally {
      depth--;
      if (c.setns(home, CLONE_NEWNET) !== 0) {
        // Staying in the pod netns would make every later step act on the pod
        // as if it were the host: nothing safe is left to do.
        throw new Error(`Cannot return to the host netns: ${strerror(errno())}`);
      }
    }
  } finally {
    if (target >= 0) c.close(target);
    c.close(home);
  }
}
