/**
 * DEL: remove what ADD recorded.
 *
 * @module
 */

import type { CmdContext } from "../cni/dispatch.ts";
import { cleanHost, hostCleanupFor } from "./_host.ts";
import { CniError, ErrorCode } from "../errors.ts";
import { podRuleCleanup } from "../plan/cleanup.ts";
import { mark } from "../phases.ts";
import { type Kernel, REAL_KERNEL } from "./port.ts";

/**
 * DEL: remove every node-side trace of this attachment, from the state file
 * when there is one (its tables too; the configuration's table only without
 * it). Succeeds with an empty or missing netns, without prevResult, twice in
 * a row and without an ADD. Only the first NIC's DEL removes the veth pair.
 * All failures are reported together.
 *
 * @param ctx the call
 * @param k the kernel (the plugin's own by default; tests pass a fake)
 */
export async function cmdDel(ctx: CmdContext, k: Kernel = REAL_KERNEL): Promise<void> {
  const { env, conf, log } = ctx;
  const state = k.state.load(conf.name, env.containerId, env.ifname);
  // Entering the netns is only needed without state or for pod-side rules.
  const usable = () => k.netnsUsable(env.netns);
  const cleanup = await hostCleanupFor(ctx, k, state, usable);
  mark("planned");
  // Hot-unplug of a later NIC: its `from` rules would outlive it in the pod.
  const podRules = state !== undefined && state.podRules.length > 0 && usable()
    ? podRuleCleanup(state.podRules)
    : [];
  const [podFailures, hostFailures] = await Promise.all([
    k.cleanups([{
      changes: podRules,
      where: { netns: env.netns },
      what: "Cannot clean the pod rules",
    }]),
    k.withLock(() => cleanHost(k, [cleanup])),
  ]);
  mark("cleaned");
  const failures = [...hostFailures, ...podFailures];
  if (failures.length > 0) {
    throw new CniError(ErrorCode.NetworkSetupFailed, failures.join("; "));
  }
  k.state.remove(conf.name, env.containerId, env.ifname);
  log.debug("DEL cleaned", { hostVeth: cleanup.hostVeth, state: state !== undefined });
}
