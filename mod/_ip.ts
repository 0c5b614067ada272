/**
 * Small, dependency-free IP helpers used on the hot path (config parsing runs
 * on every CNI call, so the npm `ip-address` package is kept for tests and
 * tools only). Strict parsers: no leading zeros in IPv4 octets, no zone ids.
 *
 * @module
 */

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
  const parseGroups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const groups = part.split(":");
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (g.includes(".")) {
        // An embedded IPv4 tail ("::ffff:1.2.3.4") only as the last group.
        if (i !== groups.length - 1 || !V4_RE.test(g)) return undefined;
        const [a, b, c, d] = g.split(".").map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
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
