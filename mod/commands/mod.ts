/**
 * The coordinator's commands, one module each: ADD (`./add.ts`), DEL
 * (`./del.ts`), CHECK (`./check.ts`), GC (`./gc.ts`) and STATUS
 * (`./status.ts`). Together they implement the `Commands` contract of
 * `mod/cni/dispatch.ts`, which has already checked the environment, the
 * versions and the configuration and handled `mode: disable`; main.ts hands
 * this module to the dispatcher, which never imports it.
 *
 * @example
 * ```ts ignore
 * import { cmdAdd } from "./mod.ts";
 * const result = await cmdAdd(ctx);
 * ```
 *
 * @module
 */

export { cmdAdd } from "./add.ts";
export { cmdCheck } from "./check.ts";
export { cmdDel } from "./del.ts";
export { cmdGc } from "./gc.ts";
export { cmdStatus } from "./status.ts";
