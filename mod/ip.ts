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

const V4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Parse an IPv4 or IPv6 address in text form.
 *
 * @param text e.g. "10.0.0.1" or "fd00::1"
 * @returns the bytes, or undefined when it is not an address
 */
export function parseIp(text: string): IpBytes | undefined {
  if (V4_RE.test(text)) {
    return { family: 4, bytes: Uint8Array.from(text.split(".").map(Number)) };
  }
  return parseIpv6(text);
}

function parseIpv6(text: string): IpBytes | undefined {
  if (!text.includes(":") || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  // Only the address's very last group may be a dotted quad: never one before "::".
  const parseGroups = (part: string, last: boolean): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const groups = part.split(":");
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (g.includes(".")) {
        // An embedded IPv4 tail ("::ffff:1.2.3.4") only as the last group.
        if (!last || i !== groups.length - 1 || !V4_RE.test(g)) return undefined;
        const [a, b, c, d] = g.split(".").map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = parseGroups(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1]!, true) : [];
  if (head === undefined || tail === undefined) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return undefined;
    groups = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return { family: 6, bytes };
}

/**
 * Canonical text of an address (IPv6 lower case, RFC 5952 compressed).
 *
 * @param ip parsed address
 * @returns the text form
 */
export function formatIp(ip: IpBytes): string {
  const b = ip.bytes;
  if (ip.family === 4) return Array.from(b).join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // Longest run of >= 2 zero groups is compressed (first one on a tie).
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  const left = hex.slice(0, bestStart).join(":");
  const right = hex.slice(bestStart + bestLen).join(":");
  return `${left}::${right}`;
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
