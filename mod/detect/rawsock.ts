/**
 * The raw-socket helper: an `AF_PACKET` / `SOCK_RAW` socket, bound to one
 * interface of a pod netns, that sends and receives whole Ethernet frames.
 * One file (about 500 lines): the socket's libc calls, its BPF filter and its
 * receive loop share the descriptor's life cycle.
 *
 * The socket is created inside the pod netns with {@linkcode inNetns} (setns on
 * the main thread, a few synchronous syscalls, back at once); a packet socket
 * keeps the netns it was created in, so everything after that runs from the
 * host netns. Receiving never blocks the JS thread: the socket is non-blocking
 * and {@linkcode RawSocket.recv} waits with short timer sleeps between
 * `recv(MSG_DONTWAIT)` attempts, so several sockets (IPv4 and IPv6 probes, or a
 * capture socket in a test) run concurrently on the one thread.
 *
 * Frames we send ourselves are not read back (`PACKET_IGNORE_OUTGOING`).
 * The IPv6 socket carries a classic BPF filter that lets only ICMPv6 through.
 * Every failure becomes a {@linkcode CniError} with code 105
 * (`ErrorCode.RawSocketFailed`); a missing netns stays code 102.
 *
 * Requires `--allow-ffi` (and `--allow-read` for the netns path) and
 * `CAP_NET_RAW` in the pod netns.
 *
 * @example
 * ```ts ignore
 * import { openRawSocket } from "./rawsock.ts";
 * using sock = openRawSocket({ netns: "/var/run/netns/pod", ifname: "eth0", protocol: "arp" });
 * sock.send(frame);
 * const reply = await sock.recv(performance.now() + 100);
 * ```
 *
 * @module
 */

import { CniError, ErrorCode } from "../errors.ts";
import {
  cString,
  errno,
  libc,
  LibcIoError,
  readFileLibc,
  socketLibc,
  strerror,
} from "../kernel/libc.ts";
import { inNetns } from "../kernel/netns.ts";

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_ATTACH_FILTER = 26;
const SOL_PACKET = 263;
const PACKET_IGNORE_OUTGOING = 23;
const MSG_DONTWAIT = 0x40;
const SIOCGIFFLAGS = 0x8913;
const SIOCGIFHWADDR = 0x8927;
const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;
const IFNAMSIZ = 16;

const EPERM = 1;
const EINTR = 4;
const ENXIO = 6;
const EAGAIN = 11;
const EACCES = 13;
const ENODEV = 19;
const ENETDOWN = 100;

/** Ethertype of ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** Ethertype of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
const ETH_P_ALL = 0x0003;

/** Which frames a socket receives: ARP, IPv6 ICMPv6 only, or everything (tests, capture). */
export type FrameProtocol = "arp" | "icmpv6" | "all";

/** Anything frames can be sent through: the real socket or a test fake. */
export interface FrameSink {
  /**
   * Send one whole Ethernet frame.
   *
   * @param frame the frame, from the destination MAC on
   */
  send(frame: Uint8Array): void;
}

/** Options of {@linkcode openRawSocket}. */
export interface OpenRawSocketOptions {
  /** The netns path (`/var/run/netns/NAME` or `/proc/PID/ns/net`). */
  netns: string;
  /** The interface inside that netns. */
  ifname: string;
  /** Which frames to receive ("arp", "icmpv6", "all"); "none" opens a send-only socket. */
  protocol: FrameProtocol | "none";
  /** Drop frames this host sends (default true). */
  ignoreOutgoing?: boolean;
}

/** Flags of an interface, from `SIOCGIFFLAGS`. */
export interface LinkFlags {
  /** IFF_UP: administratively up. */
  up: boolean;
  /** IFF_RUNNING: operationally up (carrier, and the kernel's link watch caught up). */
  running: boolean;
}

function htons(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

function protocolNumber(p: FrameProtocol | "none"): number {
  switch (p) {
    case "arp":
      return ETHERTYPE_ARP;
    case "icmpv6":
      return ETHERTYPE_IPV6;
    case "all":
      return ETH_P_ALL;
    case "none":
      return 0;
  }
}

/**
 * `struct sockaddr_ll` (20 bytes): family, protocol (network order), ifindex,
 * hatype, pkttype, halen, addr[8].
 */
function sockaddrLl(ifindex: number, protocolBe: number): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(20);
  const dv = new DataView(buf.buffer);
  dv.setUint16(0, AF_PACKET, true);
  dv.setUint16(2, protocolBe, true);
  dv.setInt32(4, ifindex, true);
  return buf;
}

/**
 * A classic BPF program: accept IPv6 frames whose next header is ICMPv6 (58),
 * drop everything else. Extension headers are not walked: NDP never uses them.
 */
function icmpv6Filter(): Uint8Array<ArrayBuffer> {
  // [code, jt, jf, k]
  const insns: [number, number, number, number][] = [
    [0x28, 0, 0, 12], // ldh [12]         ethertype
    [0x15, 0, 3, ETHERTYPE_IPV6], // jeq #0x86dd
    [0x30, 0, 0, 20], // ldb [20]         IPv6 next header
    [0x15, 0, 1, 58], // jeq #58          ICMPv6
    [0x06, 0, 0, 0x40000], // ret #262144 accept
    [0x06, 0, 0, 0], // ret #0            drop
  ];
  const buf = new Uint8Array(insns.length * 8);
  const dv = new DataView(buf.buffer);
  insns.forEach(([code, jt, jf, k], i) => {
    dv.setUint16(i * 8, code, true);
    dv.setUint8(i * 8 + 2, jt);
    dv.setUint8(i * 8 + 3, jf);
    dv.setUint32(i * 8 + 4, k, true);
  });
  return buf;
}

function describe(code: number): string {
  return `${strerror(code)} (errno ${code})`;
}

function failure(what: string, code: number, where: { netns: string; ifname: string }): CniError {
  const at = `"${where.ifname}" in netns "${where.netns}"`;
  let msg: string;
  switch (code) {
    case EPERM:
    case EACCES:
      msg = `Cannot ${what} on ${at}: ${describe(code)}: the plugin needs CAP_NET_RAW`;
      break;
    case ENODEV:
    case ENXIO:
      msg = `Cannot ${what} on ${at}: the interface does not exist (${describe(code)})`;
      break;
    case ENETDOWN:
      msg = `Cannot ${what} on ${at}: the interface is down (${describe(code)})`;
      break;
    default:
      msg = `Cannot ${what} on ${at}: ${describe(code)}`;
  }
  return new CniError(ErrorCode.RawSocketFailed, msg);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const closing = new Set<Promise<void>>();

/**
 * Wait until every socket closed so far is really closed (tests, benchmarks).
 *
 * @returns a promise that settles when no close is pending
 */
export async function pendingCloses(): Promise<void> {
  while (closing.size > 0) await Promise.all([...closing]);
}

/** The room {@linkcode RawSocket.recvAll} wants for the next frame, bytes (the tryRecv() buffer). */
const RECV_ROOM = 2048;

/** How long {@linkcode RawSocket.recv} sleeps between empty reads, ms. */
const IDLE_SLEEP_MS = 1;

/**
 * An open `AF_PACKET` socket bound to one interface. Close it with `using`
 * or {@linkcode RawSocket.close}.
 */
export class RawSocket implements FrameSink, Disposable {
  /** The netns path the socket lives in. */
  readonly netns: string;
  /** The interface name. */
  readonly ifname: string;
  /** The interface index inside the netns. */
  readonly ifindex: number;
  #fd: number;
  #buf = new Uint8Array(2048);

  /**
   * Use {@linkcode openRawSocket}; this only wraps an already bound descriptor.
   *
   * @param fd the bound socket
   * @param where netns, interface name and index
   */
  constructor(fd: number, where: { netns: string; ifname: string; ifindex: number }) {
    this.#fd = fd;
    this.netns = where.netns;
    this.ifname = where.ifname;
    this.ifindex = where.ifindex;
  }

  /** Whether {@linkcode RawSocket.close} has run. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  #checkOpen(): number {
    if (this.#fd < 0) {
      throw new CniError(
        ErrorCode.RawSocketFailed,
        `Raw socket on "${this.ifname}" in netns "${this.netns}" is already closed`,
      );
    }
    return this.#fd;
  }

  /**
   * Send one Ethernet frame out of the bound interface.
   *
   * @param frame a whole frame (at least the 14-byte Ethernet header)
   * @throws {CniError} code 105 when the kernel refuses it
   */
  send(frame: Uint8Array): void {
    const fd = this.#checkOpen();
    if (frame.length < 14) {
      throw new CniError(
        ErrorCode.RawSocketFailed,
        `Cannot send a ${frame.length}-byte frame on "${this.ifname}": shorter than an Ethernet header`,
      );
    }
    // The ethertype bytes are already in network order: copy them as they are.
    const protoBe = (frame[12] ?? 0) | ((frame[13] ?? 0) << 8);
    const addr = sockaddrLl(this.ifindex, protoBe);
    const data = frame.buffer instanceof ArrayBuffer
      ? frame as Uint8Array<ArrayBuffer>
      : new Uint8Array(frame);
    for (let attempt = 0;; attempt++) {
      const n = Number(socketLibc().sendto(fd, data, BigInt(data.length), 0, addr, addr.length));
      if (n === data.length) return;
      const code = n < 0 ? errno() : 0;
      if (code === EINTR && attempt < 10) continue;
      if (n >= 0) {
        throw new CniError(
          ErrorCode.RawSocketFailed,
          `Short send on "${this.ifname}" in netns "${this.netns}": ${n} of ${data.length} bytes`,
        );
      }
      throw failure("send a frame", code, this);
    }
  }

  /**
   * Read one frame if one is queued, without waiting.
   *
   * @returns a copy of the frame, or undefined when none is queued
   * @throws {CniError} code 105 on a socket error (e.g. the interface went away)
   */
  tryRecv(): Uint8Array | undefined {
    const fd = this.#checkOpen();
    for (let attempt = 0;; attempt++) {
      const n = Number(socketLibc().recv(fd, this.#buf, BigInt(this.#buf.length), MSG_DONTWAIT));
      if (n >= 0) return this.#buf.slice(0, n);
      const code = errno();
      if (code === EAGAIN) return undefined;
      if (code === EINTR && attempt < 10) continue;
      throw failure("receive a frame", code, this);
    }
  }

  /**
   * Read every queued frame, without waiting, into `buf` one after another,
   * noting frame `i` as `table[2 * i]` = its offset in `buf` and
   * `table[2 * i + 1]` = its length. With the codec's buffers, a receive loop
   * drains its socket and parses everything with one Wasm call:
   * `codec.parseReceivedArpBatch(sock.recvAll(codec.receiveBuffer(), codec.batchTable()))`.
   * Stops when no frame is queued, when `table` is full, or when fewer than
   * 2048 bytes of `buf` are left (a longer frame is cut there, as in
   * {@linkcode RawSocket.tryRecv}).
   *
   * @param buf where the frames go
   * @param table `[offset, length]` per frame read
   * @returns how many frames were read (0 when none is queued)
   * @throws {CniError} code 105 on a socket error (frames read before it are dropped)
   */
  recvAll(buf: Uint8Array, table: Uint32Array): number {
    const fd = this.#checkOpen();
    const max = table.length >>> 1;
    let n = 0;
    let at = 0;
    for (let attempt = 0; n < max && buf.length - at >= RECV_ROOM;) {
      const room = buf.subarray(at) as Uint8Array<ArrayBuffer>;
      const got = Number(socketLibc().recv(fd, room, BigInt(room.length), MSG_DONTWAIT));
      if (got < 0) {
        const code = errno();
        if (code === EAGAIN) break;
        if (code === EINTR && attempt++ < 10) continue;
        throw failure("receive a frame", code, this);
      }
      table[2 * n] = at;
      table[2 * n + 1] = got;
      n++;
      at += got;
    }
    return n;
  }

  /**
   * Wait for the next frame until `deadline`.
   *
   * @param deadline a `performance.now()` value
   * @returns a copy of the frame, or undefined once the deadline has passed
   * @throws {CniError} code 105 on a socket error
   */
  async recv(deadline: number): Promise<Uint8Array | undefined> {
    for (;;) {
      const frame = this.tryRecv();
      if (frame !== undefined) return frame;
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      await sleep(Math.min(IDLE_SLEEP_MS, left));
    }
  }

  /**
   * The interface's flags, read through the socket (so from the pod netns).
   *
   * @returns up and running
   * @throws {CniError} code 105 when the interface is gone
   */
  linkFlags(): LinkFlags {
    const ifr = this.#ifreq(SIOCGIFFLAGS, "read the flags of");
    const flags = new DataView(ifr.buffer).getUint16(IFNAMSIZ, true);
    return { up: (flags & IFF_UP) !== 0, running: (flags & IFF_RUNNING) !== 0 };
  }

  /**
   * The interface's current MAC address, read through the socket.
   *
   * @returns lowercase `aa:bb:cc:dd:ee:ff`
   * @throws {CniError} code 105 when the interface is gone
   */
  hardwareAddr(): string {
    const ifr = this.#ifreq(SIOCGIFHWADDR, "read the MAC address of");
    return Array.from(
      ifr.subarray(IFNAMSIZ + 2, IFNAMSIZ + 8),
      (b) => b.toString(16).padStart(2, "0"),
    )
      .join(":");
  }

  #ifreq(request: number, what: string): Uint8Array<ArrayBuffer> {
    const fd = this.#checkOpen();
    const ifr = new Uint8Array(40);
    ifr.set(new TextEncoder().encode(this.ifname).subarray(0, IFNAMSIZ - 1));
    if (socketLibc().ioctl(fd, BigInt(request), ifr) !== 0) throw failure(what, errno(), this);
    return ifr;
  }

  /**
   * Close the descriptor (idempotent). The kernel's release of a packet socket
   * waits for an RCU grace period (5-15 ms here), so the `close(2)` runs on an
   * FFI worker thread: this returns at once, the descriptor is unusable from
   * now on, and the pending close keeps the process alive until it is done
   * ({@linkcode pendingCloses} waits for it).
   */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    const p = socketLibc().closeInBackground(fd).then(() => {}, () => {});
    closing.add(p);
    void p.then(() => closing.delete(p));
  }

  /** Same as {@linkcode RawSocket.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Read a small `/proc` file with libc (open, read, close) on the calling
 * thread. Deno's own file API refuses `/proc/self` and `/proc/thread-self`
 * paths without `--allow-all`, and inside {@linkcode inNetns} only the calling
 * thread is in the pod netns, so `/proc/thread-self/net/...` read this way shows
 * the pod's view.
 *
 * Requires `--allow-ffi`.
 *
 * @param path e.g. `/proc/thread-self/net/if_inet6`
 * @returns the text, or undefined when the file cannot be opened
 */
export function readProcFileSync(path: string): string | undefined {
  try {
    return readFileLibc(path);
  } catch (err) {
    if (err instanceof LibcIoError) return undefined;
    throw err;
  }
}

/**
 * Open an `AF_PACKET` raw socket inside `netns`, bound to `ifname`, receiving
 * only the frames of `protocol`. The socket is created with protocol 0 and
 * gets its protocol at bind time, so nothing from another interface is ever
 * queued on it.
 *
 * Requires `--allow-ffi` and `CAP_NET_RAW`.
 *
 * @param options netns, interface and protocol
 * @returns the bound socket
 * @throws {CniError} code 105 (EPERM, ENODEV, ...), or 102 when the netns is missing
 */
export function openRawSocket(options: OpenRawSocketOptions): RawSocket {
  const { netns, ifname, protocol } = options;
  const where = { netns, ifname };
  if (ifname.length === 0 || ifname.length >= IFNAMSIZ || ifname.includes("/")) {
    throw new CniError(ErrorCode.RawSocketFailed, `Invalid interface name "${ifname}"`);
  }
  // Bind both symbol sets before entering the netns (dlopen reads files).
  const c = { ...libc(), ...socketLibc() };
  return inNetns(netns, () => {
    // Only synchronous calls in here: the thread is in the pod netns.
    const ifindex = c.if_nametoindex(cString(ifname));
    if (ifindex === 0) {
      const code = errno();
      throw failure("open a raw socket", code === 0 ? ENODEV : code, where);
    }
    let fd = -1;
    for (let attempt = 0; fd < 0; attempt++) {
      fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        const code = errno();
        if (code === EINTR && attempt < 10) continue;
        throw failure("open a raw socket", code, where);
      }
    }
    try {
      if (options.ignoreOutgoing ?? true) {
        const one = new Uint8Array(new Int32Array([1]).buffer);
        // Best effort (Linux >= 4.20): without it our own frames come back and
        // the callers' own-MAC filter drops them.
        c.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, one, 4);
      }
      if (protocol === "icmpv6") {
        const prog = icmpv6Filter();
        const fprog = new Uint8Array(16);
        const dv = new DataView(fprog.buffer);
        dv.setUint16(0, prog.length / 8, true);
        dv.setBigUint64(8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(prog))), true);
        if (c.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, fprog.length) !== 0) {
          throw failure("attach the ICMPv6 filter", errno(), where);
        }
      }
      const addr = sockaddrLl(ifindex, htons(protocolNumber(protocol)));
      if (c.bind(fd, addr, addr.length) !== 0) throw failure("bind a raw socket", errno(), where);
      return new RawSocket(fd, { netns, ifname, ifindex });
    } catch (err) {
      c.close(fd);
      throw err;
    }
  });
}
