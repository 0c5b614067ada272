/**
 * Network namespaces: validate a CNI_NETNS path and run synchronous work
 * inside it on the calling (main) thread through `setns(2)`.
 *
 * `setns` only moves the calling thread. Everything done inside
 * {@linkcode inNetns} must therefore be synchronous: spawning a child (the
 * spawn happens on this thread, so the child inherits the pod netns; see
 * `./exec.ts`), libc reads and writes under `/proc/sys/net` (`./sysctl.ts`;
 * Deno's own fs APIs refuse `/proc/sys` and `/proc/PID/ns` without
 * `--allow-all`) and raw-socket syscalls. Async file ops run on other threads,
 * which stay in the host netns.
 *
 * Requires `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import { inNetns, netnsId } from "./netns.ts";
 * const id = netnsId("/var/run/netns/pod"); // "net:[4026532281]"
 * inNetns("/var/run/netns/pod", () => {
 *   // synchronous work inside the pod netns
 * });
 * ```
 *
 * @module
 */

import { CniError, ErrorCode } from "../errors.ts";
import { cString, errno, libc, strerror } from "./libc.ts";

const CLONE_NEWNET = 0x40000000;
const O_RDONLY_CLOEXEC = 0o2000000;
const EINVAL = 22;

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
 * Read a symlink through libc. Deno's own fs APIs refuse every `/proc/PID/ns`
 * and `/proc/self` path without `--allow-all`, so netns checks go through FFI.
 *
 * @param path the link
 * @returns its target, or undefined when it cannot be read
 */
function readLink(path: string): string | undefined {
  const buf = new Uint8Array(256);
  const n = Number(libc().readlink(cString(path), buf, BigInt(buf.length)));
  if (n < 0) return undefined;
  return new TextDecoder().decode(buf.subarray(0, n));
}

/**
 * The identity of the netns at `path`, e.g. "net:[4026532281]": we enter it
 * (setns fails with EINVAL for anything that is not a network namespace) and
 * read our thread's own ns link. Both bind-mounted netns files and
 * /proc/PID/ns/net work.
 *
 * @param path netns path
 * @returns the identity
 * @throws NetnsNotFoundError when the path does not exist
 * @throws CniError (code 4) when it is not a network namespace
 */
export function netnsId(path: string): string {
  const id = inNetns(path, () => readLink("/proc/thread-self/ns/net"));
  if (id === undefined) throw new Error("Cannot read /proc/thread-self/ns/net");
  return id;
}

/**
 * Check that `path` names a network namespace that is not our own.
 * Requires `--allow-ffi`.
 *
 * @param path a CNI_NETNS value
 * @throws NetnsNotFoundError when the path does not exist
 * @throws CniError (code 4) when it is not a netns, (code 8) when it is the plugin's own netns
 */
export function validateNetns(path: string): void {
  if (!path.startsWith("/")) {
    throw new CniError(ErrorCode.InvalidEnvironment, `CNI_NETNS "${path}" is not an absolute path`);
  }
  const id = netnsId(path);
  if (id === readLink("/proc/thread-self/ns/net")) {
    throw new CniError(
      ErrorCode.NetnsIsHost,
      `Netns "${path}" is the plugin's own network namespace: refusing to configure the host`,
    );
  }
}

let depth = 0;

/**
 * Staying in the pod netns would make every later step (host routes, host veth
 * deletion, the next CNI error handler) act on the pod as if it were the node, and
 * a caller that collects errors would carry on. Nothing safe is left to do: answer
 * with a CNI error and end the process here (the only exit outside main.ts).
 */
function returnFailed(): never {
  const msg = `Internal error: cannot return to the host netns: ${strerror(errno())}`;
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify({ code: 999, msg }) + "\n"));
  Deno.exit(1);
}

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
      if (code === EINVAL) {
        throw new CniError(
          ErrorCode.InvalidEnvironment,
          `Path "${path}" is not a network namespace (nsfs or /proc/PID/ns/net)`,
        );
      }
      throw new CniError(ErrorCode.NotFound, `Cannot enter netns "${path}": ${strerror(code)}`);
    }
    depth++;
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: fn() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    depth--;
    if (c.setns(home, CLONE_NEWNET) !== 0) returnFailed();
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  } finally {
    if (target >= 0) c.close(target);
    c.close(home);
  }
}
