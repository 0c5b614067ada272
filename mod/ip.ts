/**
 * The one IP helper module of the plugin and the codec: parsing, formatting,
 * canonical forms, families and prefixes. Small and dependency-free, as it is on the hot path (config parsing runs
 * on every CNI call, so the npm `ip-address` package is kept for tests and
 * tools only). Strict parsers: no leading zeros in IPv4 octets, no zone ids.
 *
 * @module
 */
import { CniError, ErrorCode } from "./errors.ts";

/** A parsed address: family and 4 or 16 bytes. */
export interface IpBytes {
  family: 4 | 6;
  bytes: Uint8Array;
}

/**
 * Parse an IPv4 or IPv6 address in text form.
 *
 * @param text e.g. "10.0.0.1" or "fd00::1"
 * @returns the bytes, or undefined when it is not an address
 */
export function parseIp(text: string): IpBytes | undefined {
  if (typeof text !== "string") return undefined;
  const v4 = ipv4Range(text, 0, text.length);
  if (v4 >= 0) {
    const bytes = new Uint8Array(4);
    bytes[0] = v4 >>> 24;
    bytes[1] = v4 >>> 16;
    bytes[2] = v4 >>> 8;
    bytes[3] = v4;
    return { family: 4, bytes };
  }
  const bytes = new Uint8Array(16);
  return parseIpv6Into(text, bytes, 0) ? { family: 6, bytes } : undefined;
}

// The parsers and formatters below work over char codes and byte offsets, with
// no regular expression, split or intermediate array: config parsing runs them
// on every CNI call, and the frame codec's builders and parsers per frame.

/** The value of a hex digit's char code, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/**
 * The dotted quad that is exactly `s[start, end)` as an unsigned 32-bit
 * number, or -1: four decimal parts 0-255, no leading zeros ("010" is octal to
 * some parsers), nothing else.
 */
function ipv4Range(s: string, start: number, end: number): number {
  let n = 0;
  let i = start;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= end || s.charCodeAt(i) !== 46) return -1;
      i++;
    }
    const first = i;
    let v = 0;
    while (i < end && i - first < 4) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      v = v * 10 + c - 48;
      i++;
    }
    const digits = i - first;
    if (digits === 0 || digits > 3 || v > 255 || (digits > 1 && s.charCodeAt(first) === 48)) {
      return -1;
    }
    n = n * 256 + v;
  }
  return i === end ? n : -1;
}

/**
 * Write the 4 bytes of a dotted quad at `to[at]` (the rules of
 * {@linkcode parseIp}).
 *
 * @param text the address text
 * @param to the destination
 * @param at where the 4 bytes go
 * @returns false, writing nothing, when `text` is not an IPv4 address
 */
export function parseIpv4Into(text: string, to: Uint8Array, at: number): boolean {
  if (typeof text !== "string") return false;
  const n = ipv4Range(text, 0, text.length);
  if (n < 0) return false;
  to[at] = n >>> 24;
  to[at + 1] = n >>> 16;
  to[at + 2] = n >>> 8;
  to[at + 3] = n;
  return true;
}

/** The groups of the IPv6 address being parsed (no allocation per call). */
const GROUPS = new Uint16Array(8);

/**
 * Write the 16 bytes of an IPv6 address at `to[at]`: RFC 4291 text, hex groups
 * of 1-4 digits (either case), at most one "::" standing for at least one zero
 * group, and a dotted quad only as the very last group; no zone.
 *
 * @param text the address text
 * @param to the destination
 * @param at where the 16 bytes go
 * @returns false, writing nothing, when `text` is not an IPv6 address
 */
export function parseIpv6Into(text: string, to: Uint8Array, at: number): boolean {
  if (typeof text !== "string") return false;
  const len = text.length;
  if (len < 2) return false;
  let n = 0;
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < len) {
    if (n === 8) return false;
    const start = i;
    let v = 0;
    while (i < len && i - start < 5) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      v = (v << 4) | h;
      i++;
    }
    if (i < len && text.charCodeAt(i) === 46) {
      // A dotted quad runs to the end of the text, so nothing (no "::") follows it.
      if (n > 6) return false;
      const v4 = ipv4Range(text, start, len);
      if (v4 < 0) return false;
      GROUPS[n++] = v4 >>> 16;
      GROUPS[n++] = v4 & 0xffff;
      break;
    }
    const digits = i - start;
    if (digits === 0 || digits > 4) return false;
    GROUPS[n++] = v;
    if (i === len) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i === len) return false; // a single trailing colon
    if (text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) return false;
  const zeros = 8 - n;
  for (let k = 0; k < 8; k++) {
    const g = gap < 0 || k < gap ? GROUPS[k]! : k < gap + zeros ? 0 : GROUPS[k - zeros]!;
    to[at + 2 * k] = g >>> 8;
    to[at + 2 * k + 1] = g;
  }
  return true;
}

/**
 * Canonical text of an address (IPv6 lower case, RFC 5952 compressed).
 *
 * @param ip parsed address
 * @returns the text form
 */
export function formatIp(ip: IpBytes): string {
  return ip.family === 4 ? formatIpv4At(ip.bytes, 0) : formatIpv6At(ip.bytes, 0);
}

/** Decimal text of each byte value, and the same followed by a dot. */
const DEC: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));
const DEC_DOT: readonly string[] = DEC.map((d) => d + ".");
/** Hex text of each byte value: without leading zero, and as two digits. */
const HEX1: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16));
const HEX2: readonly string[] = Array.from(
  { length: 256 },
  (_, i) => (i < 16 ? "0" : "") + HEX1[i],
);

/**
 * The dotted quad of the 4 bytes at `b[at]`.
 *
 * @param b the bytes
 * @param at where the address starts
 * @returns e.g. "10.0.0.1"
 */
export function formatIpv4At(b: Uint8Array, at: number): string {
  return DEC_DOT[b[at]!]! + DEC_DOT[b[at + 1]!]! + DEC_DOT[b[at + 2]!]! + DEC[b[at + 3]!]!;
}

/**
 * The canonical text of the IPv6 address of the 16 bytes at `b[at]` (RFC
 * 5952, Section 4: lower case, no leading zeros, the first longest run of two
 * or more zero groups as "::", no dotted quad).
 *
 * @param b the bytes
 * @param at where the address starts
 * @returns e.g. "fe80::1"
 */
export function formatIpv6At(b: Uint8Array, at: number): string {
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    if (b[at + 2 * i] === 0 && b[at + 2 * i + 1] === 0) {
      if (runStart < 0) runStart = i;
      if (i - runStart + 1 > bestLen) {
        bestStart = runStart;
        bestLen = i - runStart + 1;
      }
    } else {
      runStart = -1;
    }
  }
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += "::";
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLen) s += ":";
    const hi = b[at + 2 * i]!;
    const lo = b[at + 2 * i + 1]!;
    s += hi === 0 ? HEX1[lo]! : HEX1[hi]! + HEX2[lo]!;
  }
  return s;
}

/** A parsed prefix. */
export interface Cidr {
  ip: IpBytes;
  prefix: number;
}

/**
 * Parse "addr/len" (or a bare address when `allowBare`, which becomes /32 or /128).
 *
 * @param text the CIDR text
 * @param allowBare accept a plain address
 * @returns the parsed prefix or undefined
 */
export function parseCidr(text: string, allowBare = false): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) {
    if (!allowBare) return undefined;
    const ip = parseIp(text);
    return ip && { ip, prefix: ip.family === 4 ? 32 : 128 };
  }
  const ip = parseIp(text.slice(0, slash));
  const len = text.slice(slash + 1);
  if (ip === undefined || !/^(0|[1-9]\d{0,2})$/.test(len)) return undefined;
  const prefix = Number(len);
  if (prefix > (ip.family === 4 ? 32 : 128)) return undefined;
  return { ip, prefix };
}

/**
 * The network address of a prefix (host bits cleared).
 *
 * @param c the prefix
 * @returns a new prefix with host bits zero
 */
export function maskCidr(c: Cidr): Cidr {
  const bytes = c.ip.bytes.slice();
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, c.prefix - i * 8));
    bytes[i]! &= (0xff << (8 - bits)) & 0xff;
  }
  return { ip: { family: c.ip.family, bytes }, prefix: c.prefix };
}

/**
 * Text of a prefix.
 *
 * @param c the prefix
 * @returns "addr/len"
 */
export function formatCidr(c: Cidr): string {
  return `${formatIp(c.ip)}/${c.prefix}`;
}

/**
 * Family of an address or CIDR text.
 *
 * @param text address or "addr/len"
 * @returns 4 or 6
 */
export function familyOf(text: string): 4 | 6 {
  return text.includes(":") ? 6 : 4;
}

/**
 * Strip a prefix length.
 *
 * @param cidr "10.0.0.1/24" or "10.0.0.1"
 * @returns "10.0.0.1"
 */
export function bareIp(cidr: string): string {
  const i = cidr.indexOf("/");
  return i < 0 ? cidr : cidr.slice(0, i);
}

/**
 * Host prefix of an address.
 *
 * @param ip address
 * @returns "ip/32" or "ip/128"
 */
export function hostPrefix(ip: string): string {
  return `${ip}/${familyOf(ip) === 4 ? 32 : 128}`;
}

/** Whether an address is link-local (169.254/16, fe80::/10) or multicast. */
export function isLinkLocalOrMulticast(ip: string): boolean {
  if (familyOf(ip) === 4) {
    const [a, b] = ip.split(".").map(Number);
    return (a === 169 && b === 254) || (a !== undefined && a >= 224 && a <= 239);
  }
  const first = parseInt(ip.split(":")[0] || "0", 16);
  return (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
}

/** Whether a route destination means "default" (any all-zero address, as the original's route tuning reads it). */
export function isDefaultDst(dst: string): boolean {
  if (dst === "default") return true;
  const ip = bareIp(dst);
  return ip === "0.0.0.0" || /^[0:]+$/.test(ip);
}

/**
 * Canonical form of an address (lower case, compressed, as iproute2 prints),
 * strictly: a prefix length is dropped, anything else that is not an address
 * gives undefined.
 *
 * @param text address or "addr/len" text
 * @returns canonical address text, or undefined
 */
export function canonicalAddress(text: string): string | undefined {
  const b = parseIp(bareIp(text));
  return b === undefined ? undefined : formatIp(b);
}

/**
 * Canonical form of an address (lower case, compressed, as iproute2 prints),
 * leniently: text that does not parse comes back unchanged, so that two
 * unparsable values compare by their text.
 *
 * @param ip address text
 * @returns canonical text (unchanged when it does not parse)
 */
export function canonicalIp(ip: string): string {
  const b = parseIp(ip);
  return b === undefined ? ip : formatIp(b);
}

/**
 * Mask a prefix to its network address: "10.1.2.3/16" -> "10.1.0.0/16".
 *
 * @param cidr prefix text (a bare address gets /32 or /128)
 * @returns the masked, canonical prefix
 * @throws CniError 7 when it does not parse
 */
export function maskCidrText(cidr: string): string {
  const c = parseCidr(cidr.trim(), true);
  if (c === undefined) throw new CniError(ErrorCode.InvalidNetworkConfig, `Invalid CIDR "${cidr}"`);
  return formatCidr(maskCidr(c));
}
