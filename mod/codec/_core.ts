/**
 * Internals shared by the codec facade (`mod.ts`) and its batch API
 * (`batch.ts`), private to this folder: the status codes and
 * {@linkcode CodecError}, the one Wasm instance and its memory, and the
 * address text <-> bytes helpers (IP addresses through `mod/ip.ts`, MACs here).
 *
 * @module
 */

import { parseIp, parseIpv4Into, parseIpv6Into } from "../ip.ts";
import { WASM_BASE64 } from "./_wasm.ts";

/** The dotted quad, and the canonical IPv6 text, of the address at `b[at]` (from mod/ip.ts). */
export { formatIpv4At as ipv4At, formatIpv6At as ipv6At } from "../ip.ts";

/**
 * Numeric status codes returned by the Wasm exports; mirrors
 * `wasm/assembly/status.ts` (a test checks that they match).
 */
export const Status = {
  Ok: 0,
  Truncated: 1,
  TooLong: 2,
  UnsupportedEthertype: 3,
  UnsupportedArp: 4,
  BadOperation: 5,
  NotIpv6: 6,
  NotIcmpv6: 7,
  NotNdp: 8,
  BadHopLimit: 9,
  BadCode: 10,
  BadLength: 11,
  BadChecksum: 12,
  BadOption: 13,
  BadTarget: 14,
  BadAddress: 15,
  BadArgument: 16,
} as const;

/** One of the numbers in {@linkcode Status}. */
export type StatusCode = (typeof Status)[keyof typeof Status];

/** Why a frame was rejected or could not be built. */
export type CodecErrorKind =
  | "truncated"
  | "tooLong"
  | "unsupportedEthertype"
  | "unsupportedArp"
  | "badOperation"
  | "notIpv6"
  | "notIcmpv6"
  | "notNdp"
  | "badHopLimit"
  | "badCode"
  | "badLength"
  | "badChecksum"
  | "badOption"
  | "badTarget"
  | "badAddress"
  | "badArgument";

const KINDS: readonly CodecErrorKind[] = [
  "truncated", // placeholder for Ok, never used
  "truncated",
  "tooLong",
  "unsupportedEthertype",
  "unsupportedArp",
  "badOperation",
  "notIpv6",
  "notIcmpv6",
  "notNdp",
  "badHopLimit",
  "badCode",
  "badLength",
  "badChecksum",
  "badOption",
  "badTarget",
  "badAddress",
  "badArgument",
];

const MESSAGES: readonly string[] = [
  "",
  "Frame is truncated",
  "Frame is longer than the codec's 65536-byte buffer",
  "Frame is neither ARP nor IPv6",
  "ARP packet is not Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4)",
  "ARP operation is neither request nor reply",
  "IPv6 ethertype with an IP version other than 6",
  "IPv6 packet is not ICMPv6",
  "ICMPv6 message is neither a neighbor solicitation nor an advertisement",
  "NDP message has a hop limit other than 255",
  "NDP message has an ICMPv6 code other than 0",
  "NDP message is shorter than 24 bytes",
  "ICMPv6 checksum does not verify",
  "NDP option has length 0, runs past the message, or is a link-layer option of the wrong size",
  "NDP target is a multicast address",
  "NDP addresses break RFC 4861 rules (DAD solicitation or solicited advertisement)",
  "Argument is out of range",
];

/**
 * A frame the codec rejected, or builder arguments it refused. Returned by the
 * parsers (never thrown, never a trap), thrown by the builders.
 */
export class CodecError extends Error {
  /** The reason, as a word. */
  readonly kind: CodecErrorKind;
  /** The numeric status (see {@linkcode Status}). */
  readonly status: number;

  /**
   * @param kind the reason
   * @param message sentence case, no trailing period
   */
  constructor(kind: CodecErrorKind, message: string) {
    super(message);
    this.name = "CodecError";
    this.kind = kind;
    this.status = KINDS.indexOf(kind, 1);
  }
}

/**
 * One frozen instance per parse status: the parsers return these sentinels
 * (like `ErrInvalidHardwareAddr` in mdlayher/arp), so a receive loop that
 * skips foreign frames does not pay for an Error and its stack per frame.
 */
const PARSE_ERRORS: readonly CodecError[] = KINDS.map((kind, status) =>
  Object.freeze(new CodecError(kind, status === 0 ? "" : `Cannot parse frame: ${MESSAGES[status]}`))
);

/** The shared sentinel of a parse status. */
export function parseError(status: number): CodecError {
  return (status > 0 ? PARSE_ERRORS[status] : undefined) ??
    new CodecError("badArgument", `Unknown codec status "${status}"`);
}

/** A `badArgument` error for refused builder or batch arguments. */
export function argumentError(message: string): CodecError {
  return new CodecError("badArgument", message);
}

/** The error of a build export that returned minus `status`. */
export function buildError(status: number, what: string): CodecError {
  return new CodecError(
    KINDS[status] ?? "badArgument",
    `Cannot build ${what}: ${MESSAGES[status]}`,
  );
}

/**
 * The kind word of a status code.
 *
 * @param status a non-zero status
 * @returns the matching {@linkcode CodecErrorKind}
 * @throws {RangeError} for 0 (Ok) and unknown numbers
 */
export function statusKind(status: number): CodecErrorKind {
  const kind = status > 0 ? KINDS[status] : undefined;
  if (kind === undefined) throw new RangeError(`Status "${status}" is not a rejection`);
  return kind;
}

// ---------------------------------------------------------------------------
// The Wasm instance (struct layouts: wasm/assembly/_fields.ts).

/** The module's exports. */
export interface CodecExports {
  memory: WebAssembly.Memory;
  inputPtr(): number;
  inputCapacity(): number;
  outputPtr(): number;
  argsPtr(): number;
  resultPtr(): number;
  optionsPtr(): number;
  numbersPtr(): number;
  batchPtr(): number;
  recordsPtr(): number;
  batchCapacity(): number;
  parseArpNumbers(len: number): number;
  parseArpBatch(count: number, end: number): number;
  parse(len: number): number;
  buildArp(): number;
  buildNs(): number;
  buildNa(): number;
}

/** The exports the module must have, in the order asc emits them (a test checks it). */
export const EXPORTS: readonly string[] = [
  "inputPtr",
  "inputCapacity",
  "outputPtr",
  "argsPtr",
  "resultPtr",
  "optionsPtr",
  "numbersPtr",
  "batchPtr",
  "recordsPtr",
  "batchCapacity",
  "parseArpNumbers",
  "parseArpBatch",
  "parse",
  "buildArp",
  "buildNs",
  "buildNa",
  "memory",
];

// The module's memory is fixed (initial = maximum, nothing allocates), so these
// views and addresses stay valid for the life of the process. They are live
// bindings: importers see the values instance() sets.

/** The instance, once {@linkcode instance} has run. */
export let wasm: CodecExports | undefined;
/** All of Wasm memory, as bytes. */
export let mem: Uint8Array<ArrayBuffer> = new Uint8Array(0);
/** All of Wasm memory, for little-endian struct fields. */
export let view: DataView<ArrayBuffer> = new DataView(mem.buffer);
/** Address of the input buffer. */
export let inputAt = 0;
/** Size of the input buffer (65536). */
export let inputCapacity = 0;
/** Address of the output buffer. */
export let outputAt = 0;
/** Address of the build argument struct. */
export let argsAt = 0;
/** Address of the parse result struct. */
export let resultAt = 0;
/** Address of the NDP option offset table. */
export let optionsAt = 0;

/**
 * Instantiate the module on first use (synchronously; it is small).
 *
 * @returns the exports
 */
export function instance(): CodecExports {
  if (wasm !== undefined) return wasm;
  const ex = new WebAssembly.Instance(codecModule(), {}).exports as unknown as CodecExports;
  const buffer = ex.memory.buffer as ArrayBuffer;
  mem = new Uint8Array(buffer);
  view = new DataView(buffer);
  inputAt = ex.inputPtr();
  inputCapacity = ex.inputCapacity();
  outputAt = ex.outputPtr();
  argsAt = ex.argsPtr();
  resultAt = ex.resultPtr();
  optionsAt = ex.optionsPtr();
  wasm = ex;
  return ex;
}

/**
 * The compiled module, for contract tests (`WebAssembly.Module.imports()`).
 *
 * @returns a new `WebAssembly.Module` of the embedded bytes
 */
export function codecModule(): WebAssembly.Module {
  return new WebAssembly.Module(Uint8Array.fromBase64(WASM_BASE64));
}

// ---------------------------------------------------------------------------
// Address text <-> bytes. IP addresses go through mod/ip.ts's char-code
// parsers and table formatters; MACs are handled here the same way (no regular
// expression, split or intermediate array per frame).

/** Two lowercase hex digits per byte value. */
export const HEX: readonly string[] = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);
/** The same followed by a colon: a MAC is five of these and one of {@linkcode HEX}. */
const HEX_COLON: readonly string[] = HEX.map((h) => h + ":");

/** The MAC at `b[at]`, lowercase. */
export function macAt(b: Uint8Array, at: number): string {
  return HEX_COLON[b[at]!]! + HEX_COLON[b[at + 1]!]! + HEX_COLON[b[at + 2]!]! +
    HEX_COLON[b[at + 3]!]! + HEX_COLON[b[at + 4]!]! + HEX[b[at + 5]!]!;
}

/** The value of a hex digit's char code, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** "aa:bb:cc:dd:ee:ff" (either case) to 6 bytes at `to[at]`; false if malformed. */
function macInto(mac: string, to: Uint8Array, at: number): boolean {
  if (typeof mac !== "string" || mac.length !== 17) return false;
  for (let i = 0; i < 6; i++) {
    const p = i * 3;
    const hi = hexValue(mac.charCodeAt(p));
    const lo = hexValue(mac.charCodeAt(p + 1));
    if (hi < 0 || lo < 0 || (i < 5 && mac.charCodeAt(p + 2) !== 58)) return false;
    to[at + i] = (hi << 4) | lo;
  }
  return true;
}

/**
 * Write a MAC's 6 bytes at `to[at]`.
 *
 * @throws {CodecError} `badArgument` naming `what` when `mac` is malformed
 */
export function writeMac(mac: string, to: Uint8Array, at: number, what: string): void {
  if (!macInto(mac, to, at)) throw argumentError(`Invalid ${what} MAC address "${String(mac)}"`);
}

/**
 * The 4 bytes of a dotted quad (no leading zeros: "010" is octal to some
 * parsers), or undefined.
 */
export function ipv4Bytes(ip: string): Uint8Array | undefined {
  const p = typeof ip === "string" ? parseIp(ip) : undefined;
  return p?.family === 4 ? p.bytes : undefined;
}

/**
 * Write a dotted quad's 4 bytes at `to[at]`.
 *
 * @throws {CodecError} `badArgument` naming `what` when `ip` is not IPv4
 */
export function writeIpv4(ip: string, to: Uint8Array, at: number, what: string): void {
  if (!parseIpv4Into(ip, to, at)) {
    throw argumentError(`Invalid ${what} IPv4 address "${String(ip)}"`);
  }
}

/**
 * Write an IPv6 address's 16 bytes at `to[at]`: RFC 4291 text (hex groups,
 * one "::", an optional dotted quad as the last 32 bits; no zone).
 *
 * @throws {CodecError} `badArgument` naming `what` when `ip` is not IPv6
 */
export function writeIpv6(ip: string, to: Uint8Array, at: number, what: string): void {
  if (!parseIpv6Into(ip, to, at)) {
    throw argumentError(`Invalid ${what} IPv6 address "${String(ip)}"`);
  }
}
