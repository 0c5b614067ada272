/**
 * The only `Deno.dlopen` of the plugin: the few libc symbols that netns
 * switching and the raw-socket helper need. Opened lazily, once.
 *
 * Requires `--allow-ffi`.
 *
 * @module
 */

// Binding a symbol costs start-up time (Deno builds a trampoline for each;
// binding all eight core symbols took ~3 ms of an ADD in CPU profiles), so each
// symbol is bound on its first use: a DEL binds open, read and close, an ADD
// adds setns, readlink and write, and errno and strerror come only with an
// error.
const CORE = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  // sysctl.ts: /proc/sys writes need --allow-all through Deno's fs APIs.
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

const SOCKET = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  // close(2) on a worker thread: closing an AF_PACKET socket waits for an RCU
  // grace period (5-15 ms), which the caller need not sit through.
  closeInBackground: { name: "close", parameters: ["i32"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;

/** The typed core libc symbols (files, setns, errno). */
export type Libc = Deno.DynamicLibrary<typeof CORE>["symbols"];

/** The typed socket symbols (AF_PACKET helper only). */
export type SocketLibc = Deno.DynamicLibrary<typeof SOCKET>["symbols"];

/**
 * A symbol table whose entries are bound on first use, each by its own
 * `Deno.dlopen` of libc (already mapped into the process, so that is cheap).
 */
function lazySymbols<T extends Deno.ForeignLibraryInterface>(
  defs: T,
): Deno.DynamicLibrary<T>["symbols"] {
  const table: Record<string, unknown> = {};
  for (const name of Object.keys(defs)) {
    Object.defineProperty(table, name, {
      enumerable: true,
      configurable: true,
      get() {
        const one = { [name]: defs[name]! } as Deno.ForeignLibraryInterface;
        const value = Deno.dlopen("libc.so.6", one).symbols[name];
        Object.defineProperty(table, name, { value, enumerable: true });
        return value;
      },
    });
  }
  return table as Deno.DynamicLibrary<T>["symbols"];
}

let core: Libc | undefined;
let sockets: SocketLibc | undefined;

/**
 * libc's core symbols, each bound on first use.
 *
 * @returns the symbol table
 */
export function libc(): Libc {
  core ??= lazySymbols(CORE);
  return core;
}

/**
 * libc's socket symbols (the AF_PACKET helper), each bound on first use.
 *
 * @returns the symbol table
 */
export function socketLibc(): SocketLibc {
  sockets ??= lazySymbols(SOCKET);
  return sockets;
}

/**
 * Read `errno` of the calling thread (valid right after a failed call).
 *
 * @returns the errno value
 */
export function errno(): number {
  const p = libc().__errno_location();
  if (p === null) return 0;
  return new Deno.UnsafePointerView(p).getInt32();
}

/**
 * Describe an errno value as libc does.
 *
 * @param code the errno value
 * @returns e.g. "Operation not permitted"
 */
export function strerror(code: number): string {
  const p = libc().strerror(code);
  return p === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(p);
}

/**
 * NUL-terminated bytes of a string, for `buffer` parameters.
 *
 * @param s the string
 * @returns its UTF-8 bytes plus a NUL
 */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** A failed libc file call, with its errno. */
export class LibcIoError extends Error {
  /** @param errno the errno of the failed call */
  constructor(readonly errno: number) {
    super(strerror(errno));
    this.name = "LibcIoError";
  }
}

const O_RDONLY_CLOEXEC = 0o2000000;
const EINTR = 4;

/**
 * Read a whole small file (`/proc`, `/proc/sys`) through libc on the calling
 * thread. Deno's own fs APIs refuse `/proc/sys`, `/proc/self` and
 * `/proc/thread-self` without `--allow-all`, and inside `inNetns` only the
 * calling thread sees the pod netns.
 *
 * @param path the file
 * @returns its text
 * @throws LibcIoError when open or read fails
 */
export function readFileLibc(path: string): string {
  const c = libc();
  const fd = c.open(cString(path), O_RDONLY_CLOEXEC);
  if (fd < 0) throw new LibcIoError(errno());
  try {
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    for (let attempt = 0;;) {
      const n = Number(c.read(fd, buf, BigInt(buf.length)));
      if (n === 0) break;
      if (n < 0) {
        const code = errno();
        if (code === EINTR && attempt++ < 10) continue;
        throw new LibcIoError(code);
      }
      chunks.push(buf.slice(0, n));
    }
    const all = new Uint8Array(chunks.reduce((a, b) => a + b.length, 0));
    let off = 0;
    for (const ch of chunks) {
      all.set(ch, off);
      off += ch.length;
    }
    return new TextDecoder().decode(all);
  } finally {
    c.close(fd);
  }
}
