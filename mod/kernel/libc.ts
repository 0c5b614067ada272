/**
 * The only `Deno.dlopen` of the plugin: the few libc symbols that netns
 * switching and the raw-socket helper need. Opened lazily, once.
 *
 * Requires `--allow-ffi`.
 *
 * @module
 */

// Binding a symbol costs ~0.15 ms of start-up (Deno builds a trampoline for
// each), so the symbols are split: every ADD needs the core set (netns, sysctl);
// only detection and the MAC announce need the socket set.
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

let core: Deno.DynamicLibrary<typeof CORE> | undefined;
let sockets: Deno.DynamicLibrary<typeof SOCKET> | undefined;

/**
 * Open libc once and return its core symbols.
 *
 * @returns the symbol table
 */
export function libc(): Libc {
  core ??= Deno.dlopen("libc.so.6", CORE);
  return core.symbols;
}

/**
 * Open libc's socket symbols once (a second handle on the same library).
 *
 * @returns the symbol table
 */
export function socketLibc(): SocketLibc {
  sockets ??= Deno.dlopen("libc.so.6", SOCKET);
  return sockets.symbols;
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
