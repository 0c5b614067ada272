/**
 * Prefix arithmetic for the cluster CIDR checks: containment, the smallest
 * prefix covering a set, an address range as prefixes. Addresses are
 * `bigint`s here (IPv6 needs 128 bits); parsing and printing go through
 * `../ip.ts`, the one IP helper.
 *
 * @example
 * ```ts
 * import { coveredBy, prefixText, smallestCovering, toPrefix } from "./cidrs.ts";
 * const ips = ["10.96.0.1", "10.96.0.10", "10.111.3.4"].map((t) => toPrefix(t)!);
 * const cover = smallestCovering(ips)!;
 * if (prefixText(cover) !== "10.96.0.0/12") throw new Error(prefixText(cover));
 * if (!coveredBy([cover], toPrefix("10.100.0.0/16")!)) throw new Error("covered");
 * ```
 *
 * @module
 */

import { formatIp, parseCidr } from "../ip.ts";

/** A prefix: family, network address (host bits zero) and length. */
export interface Prefix {
  family: 4 | 6;
  /** The network address as a number, host bits cleared. */
  base: bigint;
  len: number;
}

/**
 * The address width of a family.
 *
 * @param family 4 or 6
 * @returns 32 or 128
 */
export function familyBits(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

function hostMask(family: 4 | 6, len: number): bigint {
  return (1n << BigInt(familyBits(family) - len)) - 1n;
}

function netMask(family: 4 | 6, len: number): bigint {
  return ((1n << BigInt(familyBits(family))) - 1n) ^ hostMask(family, len);
}

/**
 * Parse "addr/len" or a bare address (a host prefix), host bits cleared.
 *
 * @param text the CIDR or address
 * @returns the prefix, or undefined when it does not parse
 */
export function toPrefix(text: string): Prefix | undefined {
  const c = parseCidr(text.trim(), true);
  if (c === undefined) return undefined;
  let n = 0n;
  for (const b of c.ip.bytes) n = (n << 8n) | BigInt(b);
  const family = c.ip.family;
  return { family, base: n & netMask(family, c.prefix), len: c.prefix };
}

/**
 * The address of a number, as text.
 *
 * @param family 4 or 6
 * @param n the address
 * @returns canonical text
 */
export function addressText(family: 4 | 6, n: bigint): string {
  const bytes = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return formatIp({ family, bytes });
}

/**
 * A prefix as text: "addr/len" (a host prefix too).
 *
 * @param p the prefix
 * @returns canonical text
 */
export function prefixText(p: Prefix): string {
  return `${addressText(p.family, p.base)}/${p.len}`;
}

/** The last address of a prefix. */
function lastOf(p: Prefix): bigint {
  return p.base | hostMask(p.family, p.len);
}

/**
 * Whether `outer` contains all of `inner`.
 *
 * @param outer the larger prefix
 * @param inner the prefix (or host prefix) inside it
 * @returns true when inside, same family
 */
export function containsPrefix(outer: Prefix, inner: Prefix): boolean {
  return outer.family === inner.family && outer.len <= inner.len &&
    (inner.base & netMask(outer.family, outer.len)) === outer.base;
}

/**
 * Whether the prefixes of a list together contain every address of `p`
 * (10.96.0.0/13 and 10.104.0.0/13 cover 10.96.0.0/12).
 *
 * @param list the prefixes
 * @param p the prefix (or host prefix) to find inside their union
 * @returns true when covered
 */
export function coveredBy(list: readonly Prefix[], p: Prefix): boolean {
  if (list.some((o) => containsPrefix(o, p))) return true;
  const inside = list.filter((o) => containsPrefix(p, o));
  if (inside.length === 0 || p.len === familyBits(p.family)) return false;
  const half = BigInt(familyBits(p.family) - p.len - 1);
  const len = p.len + 1;
  return coveredBy(inside, { family: p.family, base: p.base, len }) &&
    coveredBy(inside, { family: p.family, base: p.base | (1n << half), len });
}

/**
 * Whether two prefixes share an address.
 *
 * @param a a prefix
 * @param b another
 * @returns true when they overlap
 */
export function overlaps(a: Prefix, b: Prefix): boolean {
  return containsPrefix(a, b) || containsPrefix(b, a);
}

/**
 * The smallest single prefix that contains every prefix of a list (one family).
 *
 * @param ps prefixes of one family
 * @returns the covering prefix, or undefined for an empty list
 * @throws TypeError when the families differ
 */
export function smallestCovering(ps: readonly Prefix[]): Prefix | undefined {
  const first = ps[0];
  if (first === undefined) return undefined;
  const family = first.family;
  let lo = first.base;
  let hi = lastOf(first);
  for (const p of ps) {
    if (p.family !== family) throw new TypeError("smallestCovering() needs one family");
    if (p.base < lo) lo = p.base;
    if (lastOf(p) > hi) hi = lastOf(p);
  }
  const bits = familyBits(family);
  const differing = (lo ^ hi).toString(2).length - ((lo ^ hi) === 0n ? 1 : 0);
  const len = bits - differing;
  return { family, base: lo & netMask(family, len), len };
}

/**
 * An inclusive address range as the fewest prefixes (nft prints merged
 * intervals as ranges).
 *
 * @param family 4 or 6
 * @param lo the first address
 * @param hi the last address
 * @returns the prefixes, in order
 */
export function rangeToPrefixes(family: 4 | 6, lo: bigint, hi: bigint): Prefix[] {
  const bits = familyBits(family);
  const out: Prefix[] = [];
  while (lo <= hi) {
    // The largest block aligned at lo that does not pass hi.
    let size = 0;
    while (
      size < bits && (lo & ((1n << BigInt(size + 1)) - 1n)) === 0n &&
      lo + (1n << BigInt(size + 1)) - 1n <= hi
    ) size++;
    out.push({ family, base: lo, len: bits - size });
    lo += 1n << BigInt(size);
  }
  return out;
}

/**
 * Parse an address of either family as a number (for ranges).
 *
 * @param text an address
 * @returns family and number, or undefined
 */
export function toAddress(text: string): { family: 4 | 6; n: bigint } | undefined {
  if (text.includes("/")) return undefined;
  const p = toPrefix(text);
  return p === undefined ? undefined : { family: p.family, n: p.base };
}
