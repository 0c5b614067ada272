/**
 * CHECK: compare the live state with what ADD made.
 *
 * @module
 */

import type { CmdContext } from "../cni/dispatch.ts";
import { CniError, ErrorCode } from "../errors.ts";
import { checkDifferences, expectedOf } from "../plan/check.ts";
import { type Kernel, REAL_KERNEL } from "./port.ts";

/**
 * CHECK: compare the live pod and node with the intents ADD applied (from
 * its state file) and fail with code 104 listing every difference.
 *
 * @param ctx the call
 * @param k the kernel (the plugin's own by default; tests pass a fake)
 */
export async function cmdCheck(ctx: CmdContext, k: Kernel = REAL_KERNEL): Promise<void> {
  const { env, conf } = ctx;
  const state = k.state.load(conf.name, env.containerId, env.ifname);
  if (state === undefined) {
    throw new CniError(
      ErrorCode.CheckFailed,
      `No record of an ADD for container "${env.containerId}" interface "${env.ifname}"`,
    );
  }
  const want = expectedOf(state, conf);
  const [pod, host, missingMangle] = await Promise.all([
    k.readPod(env.netns, { rules6: true, neigh: true }),
    k.readNode(),
    k.missingMangle(want.mangle, env.netns),
  ]);
  const missing = checkDifferences(want, {
    pod,
    host,
    missingMangle,
    sysctls: k.readSysctls(want.sysctls.map((s) => s.key), env.netns),
    nodeSysctls: k.readSysctls(want.nodeSysctls.map((s) => s.key)),
  });
  if (missing.length > 0) {
    throw new CniError(
      ErrorCode.CheckFailed,
      `CHECK of "${env.ifname}" found differences: ${missing.join("; ")}`,
    );
  }
}
