/**
 * Keys as Go's encoding/json reads them (the original decodes its config so):
 * an exact key wins, a case variant is taken as that field, a near miss
 * (edit distance 2 or less, not a case variant) is an error with a
 * suggestion, any other unknown key is ignored with a warning. Standard CNI
 * keys and keys with a "/" are never flagged.
 *
 * @module
 */

import { CniError, ErrorCode } from "../errors.ts";
import type { FieldSpec } from "./fields.ts";

/** A note for the log, collected while parsing (the logger does not exist yet). */
export interface ConfigNote {
  level: "info" | "warn";
  msg: string;
  fields?: Record<string, unknown>;
}

/** What one parse carries along. */
export interface ReadContext {
  lenient: boolean;
  notes: ConfigNote[];
  /** Prefix of error messages (the defaults file's path), "" for the CNI entry. */
  where: string;
}

/** Keys every CNI config may carry, never flagged at the top level. */
export const STANDARD_KEYS: ReadonlySet<string> = new Set([
  "cniVersion",
  "name",
  "type",
  "ipam",
  "dns",
  "args",
  "runtimeConfig",
  "capabilities",
  "prevResult",
]);

/**
 * Levenshtein distance, case-insensitive, stopping early above 2.
 *
 * @param a a key
 * @param b a field name
 * @returns the distance (3 stands for "more than 2")
 */
export function keyDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (Math.abs(x.length - y.length) > 2) return 3;
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return Math.min(prev[y.length]!, 3);
}

/** One field's value as found, with the key it was written under. */
export interface Found {
  name: string;
  value: unknown;
}

/**
 * Map the keys of one object onto its fields as Go's encoding/json does: an
 * exact key (or alias) wins, else a case-insensitive match is taken (info
 * note). Any other key within edit distance 2 of a field is code 7 with a
 * suggestion; the rest are ignored with a warning (standard CNI keys and
 * keys with a "/" silently, at the top level).
 *
 * @param prefix the object's path with a final "." ("" at the top level)
 * @param fields the object's fields
 * @param raw the object
 * @param ctx the parse
 * @returns the value of each field found, by field name
 * @throws CniError 7 for a near-miss key (unless lenient)
 */
export function resolveKeys(
  prefix: string,
  fields: Readonly<Record<string, FieldSpec>>,
  raw: Record<string, unknown>,
  ctx: ReadContext,
): Map<string, Found> {
  const names = new Map<string, string>(); // spelling -> field
  for (const [key, spec] of Object.entries(fields)) {
    names.set(key, key);
    for (const a of spec.aliases ?? []) names.set(a, key);
  }
  const out = new Map<string, Found>();
  const folded: [string, string][] = [];
  for (const key of Object.keys(raw)) {
    const field = names.get(key);
    if (field !== undefined) {
      // The field name itself beats an alias.
      if (!out.has(field) || key === field) out.set(field, { name: key, value: raw[key] });
      continue;
    }
    const lower = key.toLowerCase();
    const variant = [...names.keys()].find((n) => n.toLowerCase() === lower);
    if (variant !== undefined) {
      folded.push([key, variant]);
      continue;
    }
    if (prefix === "" && (STANDARD_KEYS.has(key) || key.includes("/"))) continue;
    const near = [...names.keys()].find((n) => keyDistance(key, n) <= 2);
    const where = ctx.where === "" ? "" : `${ctx.where}: `;
    if (near !== undefined) {
      const msg = `Unknown key "${prefix}${key}": did you mean "${prefix}${near}"?`;
      if (!ctx.lenient) throw new CniError(ErrorCode.InvalidNetworkConfig, msg);
      ctx.notes.push({ level: "warn", msg: `${where}${msg} (ignored)` });
      continue;
    }
    ctx.notes.push({ level: "warn", msg: `${where}Unknown key "${prefix}${key}" ignored` });
  }
  for (const [key, variant] of folded) {
    const field = names.get(variant)!;
    if (out.has(field)) continue; // an exact match wins
    out.set(field, { name: key, value: raw[key] });
    ctx.notes.push({
      level: "info",
      msg: `Key "${prefix}${key}" read as "${prefix}${variant}"`,
      fields: { key: prefix + key, canonical: prefix + variant },
    });
  }
  return out;
}
