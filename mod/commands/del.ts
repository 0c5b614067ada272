/**
 * DEL: remove what ADD recorded.
 *
 * @module
 */

import type { CmdContext } from "../cni/dispatch.ts";
import { cleanHost, hostCleanupFor, netnsUsable } from "./_host.ts";
import { runCleanup } from "../kernel/apply.ts";
import { CniError, ErrorCode } from "../errors.ts";
import { withHostLock } from "../kernel/lock.ts";
import { loadState, removeState } from "../kernel/state.ts";
import { podRuleCleanupLines } from "../plan/cleanup.ts";

/**
 * DEL: remove every node-side trace of this attachment, from the state file
 * when there is one (its tables too; the configuration's table only without
 * it). Succeeds with an empty or missing netns, without prevResult, twice in
 * a row and without an ADD. Only the first NIC's DEL removes the veth pair.
 * All failures are reported together.
 *
 * @param ctx the call
 */
export async function cmdDel(ctx: CmdContext): Promise<void> {
  const { env, conf, log } = ctx;
  const state = loadState(conf.name, env.containerId, env.ifname);
  // Entering the netns is only needed without state or for pod-side rules.
  const usable = () => netnsUsable(env.netns);
  const cleanup = await hostCleanupFor(ctx, state, usable);
  // Hot-unplug of a later NIC: its `from` rules would outlive it in the pod.
  const podRules = state !== undefined && state.podRules.length > 0 && usable()
    ? podRuleCleanupLines(state.podRules)
    : { lines: [], lines6: [] };
  const what = "Cannot clean the pod rules";
  const [podFailures, hostFailures] = await Promise.all([
    runCleanup([
      { lines: podRules.lines, opts: { netns: env.netns }, what },
      { lines: podRules.lines6, opts: { netns: env.netns, family: 6 }, what },
    ]),
    withHostLock(() => cleanHost([cleanup])),
  ]);
  const failures = [...hostFailures, ...podFailures];
  if (failures.length > 0) {
    throw new CniError(ErrorCode.NetworkSetupFailed, failures.join("; "));
  }
  removeState(conf.name, env.containerId, env.ifname);
  log.debug("DEL cleaned", { hostVeth: cleanup.hostVeth, state: state !== undefined });
}
