/**
 * Build stamp of the plugin. `build.ts` stamps `VERSION` from `deno.json`
 * `version` (or env `COORDINATOR_VERSION`) before it compiles, so the binary
 * reports the version it was built as (`build.ts --check` fails when stale).
 *
 * @example
 * ```ts
 * import { ABOUT, VERSION } from "./version.ts";
 * if (!ABOUT.endsWith(VERSION)) throw new Error("unexpected");
 * ```
 *
 * @module
 */

/** The plugin version (semver, no leading "v"). */
export const VERSION = "0.1.0";

/** The about line printed to stderr when `CNI_COMMAND` is unset. */
export const ABOUT = `CNI coordinator plugin v${VERSION}`;
