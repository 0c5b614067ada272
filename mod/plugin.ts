/**
 * Everything a CNI call other than VERSION loads, as one module: the
 * dispatcher (`mod/cni/dispatch.ts`) and the commands it runs
 * (`mod/commands/mod.ts`). main.ts imports it once the command is known, so
 * that VERSION never loads it; the bundle makes it one file of its own
 * (tools/lib/bundle.ts). The dispatcher never imports the commands (a layer
 * below them): they meet here, above both.
 *
 * @example
 * ```ts ignore
 * const out = await runCni({ env, stdin, commands: () => Promise.resolve(commands) });
 * ```
 *
 * @module
 */

export { runCni } from "./cni/dispatch.ts";
import * as commands from "./commands/mod.ts";
export { commands };
