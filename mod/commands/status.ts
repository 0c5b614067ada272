/**
 * STATUS: is the plugin ready. The checks are doctor's readiness checks
 * (`doctor/ready.ts`, one implementation): `ip` runs, the iptables restore
 * tools are on PATH, the state directory is writable and the host lock can be
 * taken. One child process (`ip -V`); the network itself is not probed.
 *
 * @module
 */

import type { CmdContext } from "../cni/dispatch.ts";
import { CniError, ErrorCode } from "../errors.ts";
import { readyChecks } from "../doctor/ready.ts";

/**
 * STATUS: ready when no readiness check FAILs; else code 50 listing every
 * failure.
 *
 * @param _ctx the call
 */
export async function cmdStatus(_ctx: CmdContext): Promise<void> {
  const failed = (await readyChecks()).filter((f) => f.level === "FAIL");
  if (failed.length > 0) {
    throw new CniError(
      ErrorCode.StatusNotAvailable,
      `Plugin not ready: ${failed.map((f) => f.found).join("; ")}`,
    );
  }
}
