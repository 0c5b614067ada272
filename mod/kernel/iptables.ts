/**
 * The gateway to the pod's mangle table: `iptables-restore --noflush` of the
 * reply-path rules (planned in `mod/plan/underlay.ts`) and `iptables-save`
 * reads of them, one process per family.
 *
 * Requires `--allow-run=iptables-restore,ip6tables-restore,iptables-save,ip6tables-save`.
 *
 * @example
 * ```ts
 * import { restoreScript } from "./iptables.ts";
 * if (!restoreScript("-A", ["OUTPUT -j ACCEPT"]).startsWith("*mangle")) throw new Error("unexpected");
 * ```
 *
 * @module
 */

import { run } from "./exec.ts";

/**
 * An `iptables-restore --noflush` script for the mangle table.
 *
 * @param op "-A" to append, "-D" to delete
 * @param rules rule specs from {@linkcode mangleRules}
 * @returns the script
 */
export function restoreScript(op: "-A" | "-D", rules: readonly string[]): string {
  return `*mangle\n${rules.map((r) => `${op} ${r}\n`).join("")}COMMIT\n`;
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
 * Rule specs of `wanted` that `present` lacks.
 *
 * @param wanted rule specs
 * @param present rule specs found
 * @returns the missing ones
 */
export function missingRules(wanted: readonly string[], present: readonly string[]): string[] {
  return wanted.filter((w) => !present.includes(w));
}

/**
 * Apply a restore script in a netns.
 *
 * @param family 4 or 6
 * @param script the script
 * @param netns pod netns path
 */
export async function restore(family: 4 | 6, script: string, netns: string): Promise<void> {
  await run([family === 4 ? "iptables-restore" : "ip6tables-restore", "--noflush"], {
    stdin: script,
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
export async function readMangle(family: 4 | 6, netns: string): Promise<string[]> {
  const res = await run([family === 4 ? "iptables-save" : "ip6tables-save", "-t", "mangle"], {
    netns,
    okCodes: [0, 1],
  });
  return parseMangleRules(res.stdout);
}
