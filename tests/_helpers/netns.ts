/**
 * The netns helpers of the privileged tests: everything of
 * tools/lib/netns.ts (throwaway namespaces, commands in them, readback
 * snapshots), plus the test-only gating (test names that carry the reason a
 * test is ignored, missing tools).
 *
 * @example
 * ```ts ignore
 * await using ns = await createNetns("pod");
 * await ns.ip(["link", "set", "lo", "up"]);
 * const snap = await readback(ns);
 * ```
 *
 * @module
 */

import { hasTool } from "../../tools/lib/netns.ts";

export * from "../../tools/lib/netns.ts";

/**
 * The reason to ignore a test that needs `tools` on PATH (all of them are named).
 *
 * @param tools binary names
 * @returns "needs a, b and c" when one is missing, else undefined
 */
export function toolsSkipReason(...tools: string[]): string | undefined {
  if (tools.every(hasTool)) return undefined;
  const last = tools.at(-1) ?? "";
  return `needs ${tools.length > 1 ? `${tools.slice(0, -1).join(", ")} and ${last}` : last}`;
}

/**
 * Test names that carry the reason when the test is ignored.
 *
 * @param skip the reason to ignore the tests, if any
 * @returns `s` or `s (ignored: <reason>)`
 */
export function testNamer(skip: string | undefined): (s: string) => string {
  return (s) => (skip ? `${s} (ignored: ${skip})` : s);
}
