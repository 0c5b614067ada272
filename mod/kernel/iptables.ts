/**
 * The gateway to the pod's mangle table, and the only code that knows
 * iptables' syntax: the connmark intents of the reply path (planned in
 * `mod/plan/underlay.ts`) as `iptables-save` prints them, applied with
 * `iptables-restore --noflush` and read back with `iptables-save`, one process
 * per family.
 *
 * Requires `--allow-run=iptables-restore,ip6tables-restore,iptables-save,ip6tables-save`.
 *
 * @example
 * ```ts
 * import { mangleRuleText, restoreScript } from "./iptables.ts";
 * const rule = { kind: "connmark", family: 4, role: "restore", iface: "veth0", mark: "0x1" } as const;
 * if (!restoreScript("-A", [rule]).startsWith("*mangle")) throw new Error("unexpected");
 * if (!mangleRuleText(rule).startsWith("OUTPUT -j CONNMARK")) throw new Error("unexpected");
 * ```
 *
 * @module
 */

import { run } from "./exec.ts";
import type { ConnmarkIntent, Family } from "./intent.ts";

const MASKS = "--nfmask 0xffffffff --ctmask 0xffffffff";

/**
 * A connmark rule as `iptables-save` prints it, without `-A`.
 *
 * @param r the rule
 * @returns "CHAIN args..."
 */
export function mangleRuleText(r: ConnmarkIntent): string {
  switch (r.role) {
    case "mark":
      return `PREROUTING -i ${r.iface} -m conntrack --ctstate NEW -j MARK --set-xmark ${r.mark}/0xffffffff`;
    case "save":
      return `PREROUTING -m mark --mark ${r.mark} -j CONNMARK --save-mark ${MASKS}`;
    case "restore":
      return `OUTPUT -j CONNMARK --restore-mark ${MASKS}`;
  }
}

/**
 * An `iptables-restore --noflush` script for the mangle table (one family).
 *
 * @param op "-A" to append, "-D" to delete
 * @param rules the rules
 * @returns the script
 */
export function restoreScript(op: "-A" | "-D", rules: readonly ConnmarkIntent[]): string {
  return `*mangle\n${rules.map((r) => `${op} ${mangleRuleText(r)}\n`).join("")}COMMIT\n`;
}

/**
 * The mangle rules present in an `iptables-save` dump.
 *
 * @param save iptables-save output
 * @returns rule specs without "-A"
 */
export function parseMangleRules(save: string): string[] {
  const out: string[] = [];
  let inMangle = false;
  for (const line of save.split("\n")) {
    if (line.startsWith("*")) inMangle = line === "*mangle";
    else if (inMangle && line.startsWith("-A ")) out.push(line.slice(3).trim());
  }
  return out;
}

/**
 * The rules of `wanted` that `present` (an `iptables-save` dump's rules) lacks.
 *
 * @param wanted the rules
 * @param present rule specs found
 * @returns the missing ones
 */
export function missingRules(
  wanted: readonly ConnmarkIntent[],
  present: readonly string[],
): ConnmarkIntent[] {
  return wanted.filter((w) => !present.includes(mangleRuleText(w)));
}

/**
 * Append or delete rules of one family in a netns.
 *
 * @param op "-A" or "-D"
 * @param rules the rules (all of one family)
 * @param netns pod netns path
 */
export async function restore(
  op: "-A" | "-D",
  rules: readonly ConnmarkIntent[],
  netns: string,
): Promise<void> {
  const family = rules[0]?.family;
  if (family === undefined) return;
  await run([family === 4 ? "iptables-restore" : "ip6tables-restore", "--noflush"], {
    stdin: restoreScript(op, rules),
    netns,
  });
}

/**
 * Read the mangle rules of a netns.
 *
 * @param family 4 or 6
 * @param netns pod netns path
 * @returns rule specs
 */
export async function readMangle(family: Family, netns: string): Promise<string[]> {
  const res = await run([family === 4 ? "iptables-save" : "ip6tables-save", "-t", "mangle"], {
    netns,
    okCodes: [0, 1],
  });
  return parseMangleRules(res.stdout);
}

/**
 * The rules of `wanted` missing in a netns (one `iptables-save` per family).
 *
 * @param wanted the rules
 * @param netns pod netns path
 * @returns the missing ones
 */
export async function missingInNetns(
  wanted: readonly ConnmarkIntent[],
  netns: string,
): Promise<ConnmarkIntent[]> {
  const families = [...new Set(wanted.map((w) => w.family))];
  const missing = await Promise.all(
    families.map(async (f) =>
      missingRules(wanted.filter((w) => w.family === f), await readMangle(f, netns))
    ),
  );
  return missing.flat();
}
