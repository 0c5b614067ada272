/**
 * The test run's own places (tools/lib/run_dirs.ts): imported by every helper
 * that starts the plugin, so that each test module sets them up before its
 * first call, and removes them when it ends (`unload` fires at the end of
 * each test module) unless an ADD was left without its DEL; then they stay
 * for tests/zz_leftovers_test.ts to report.
 *
 * @module
 */

import { removeRunDirs, type RunDirs, useRunDirs } from "../../tools/lib/run_dirs.ts";

export * from "../../tools/lib/run_dirs.ts";

/** This run's places. */
export const RUN: RunDirs = useRunDirs();

globalThis.addEventListener("unload", () => {
  removeRunDirs(RUN);
});
