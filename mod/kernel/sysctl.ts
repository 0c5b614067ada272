/**
 * Network sysctls under `/proc/sys/net`, read and written with synchronous
 * libc calls so they work inside {@linkcode inNetns} (pod) and in the host
 * netns (Deno's own fs APIs require `--allow-all` for /proc/sys writes).
 *
 * Requires `--allow-ffi`.
 *
 * @example
 * ```ts
 * import { sysctlPath } from "./sysctl.ts";
 * if (sysctlPath("net.ipv4.conf.all.rp_filter") !== "/proc/sys/net/ipv4/conf/all/rp_filter") {
 *   throw new Error("unexpected");
 * }
 * ```
 *
 * @module
 */

import { CniError, ErrorCode, errorMessage } from "../errors.ts";
import { inNetns } from "./netns.ts";
import { cString, errno, libc, LibcIoError, readFileLibc } from "./libc.ts";

const O_WRONLY = 1;
const O_CLOEXEC = 0o2000000;
const ENOENT = 2;

// Deno's fs APIs demand --allow-all for /proc/sys writes, so these go
// through libc (--allow-ffi), which also keeps them on the calling thread.
function writeProc(path: string, text: string): void {
  const c = libc();
  const fd = c.open(cString(path), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw new LibcIoError(errno());
  try {
    const bytes = new TextEncoder().encode(text);
    const n = Number(c.write(fd, bytes, BigInt(bytes.length)));
    if (n < 0) throw new LibcIoError(errno());
  } finally {
    c.close(fd);
  }
}

/** One sysctl write. */
export interface SysctlWrite {
  /** Dotted key under `net.`, e.g. "net.ipv4.conf.all.rp_filter". */
  key: string;
  value: string | number;
  /** A missing key is not an error (for example an interface without IPv6). */
  optional?: boolean;
}

/**
 * File path of a dotted `net.*` key. Interface names may contain dots, so
 * the `conf.<ifname>.<leaf>` part is kept whole.
 *
 * @param key e.g. "net.ipv6.conf.eth0.accept_ra"
 * @returns the /proc/sys path
 * @throws CniError 7 for keys outside net.*
 */
export function sysctlPath(key: string): string {
  const m = /^net\.(ipv4|ipv6)\.(conf|neigh)\.(.+)\.([a-z0-9_]+)$/.exec(key);
  if (m) return `/proc/sys/net/${m[1]}/${m[2]}/${m[3]}/${m[4]}`;
  if (!/^net\.[a-z0-9_.]+$/.test(key)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `Sysctl "${key}" is outside net.*`);
  }
  return "/proc/sys/" + key.replaceAll(".", "/");
}

function writeAll(writes: readonly SysctlWrite[]): string[] {
  const errors: string[] = [];
  for (const w of writes) {
    const path = sysctlPath(w.key);
    try {
      writeProc(path, `${w.value}\n`);
    } catch (err) {
      if (w.optional && err instanceof LibcIoError && err.errno === ENOENT) continue;
      errors.push(
        `Cannot set "${w.key}" to "${w.value}": ${errorMessage(err)}`,
      );
    }
  }
  return errors;
}

/**
 * Write sysctls, in the given netns or the current one, in order.
 *
 * @param writes the keys and values
 * @param netns pod netns path, or undefined for the host
 * @throws CniError 103 listing every failed write
 */
export function writeSysctls(writes: readonly SysctlWrite[], netns?: string): void {
  if (writes.length === 0) return;
  const errors = netns === undefined ? writeAll(writes) : inNetns(netns, () => writeAll(writes));
  if (errors.length > 0) throw new CniError(ErrorCode.NetworkSetupFailed, errors.join("; "));
}

/**
 * Read sysctls (missing keys give undefined).
 *
 * @param keys dotted keys
 * @param netns pod netns path, or undefined for the host
 * @returns key -> value
 */
export function readSysctls(
  keys: readonly string[],
  netns?: string,
): Map<string, string | undefined> {
  const readAll = () => {
    const out = new Map<string, string | undefined>();
    for (const k of keys) {
      try {
        out.set(k, readFileLibc(sysctlPath(k)).trim());
      } catch (err) {
        // A key the kernel does not have (an interface gone, IPv6 off) reads as unset.
        if (!(err instanceof LibcIoError)) throw err;
        out.set(k, undefined);
      }
    }
    return out;
  };
  return netns === undefined ? readAll() : inNetns(netns, readAll);
}
