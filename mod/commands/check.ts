/**
 * CHECK: compare the live state with what ADD made: the intents its record
 * holds, or, without a record (a pod of Spiderpool's original coordinator, a
 * lost state file), the intents ADD's planners give for the configuration,
 * prevResult and the pod (`plan/unrecorded.ts`).
 *
 * @module
 */

import type { CmdContext } from "../cni/dispatch.ts";
import { CniError, ErrorCode } from "../errors.ts";
import { throwFailures } from "../kernel/iproute.ts";
import { checkDifferences, type Expected, expectedOf } from "../plan/check.ts";
import { nodeIpsForPod } from "../plan/node.ts";
import {
  expectedUnrecorded,
  factsBeforeAdd,
  gatewaysFirst,
  planUnrecorded,
} from "../plan/unrecorded.ts";
import { type Kernel, REAL_KERNEL } from "./port.ts";

function differences(ctx: CmdContext, missing: readonly string[]): never {
  throw new CniError(
    ErrorCode.CheckFailed,
    `CHECK of "${ctx.env.ifname}" found differences: ${missing.join("; ")}`,
  );
}

/**
 * CHECK: compare the live pod and node with the intents ADD applied (from
 * its state file, else as ADD plans them) and fail with code 104 listing
 * every difference.
 *
 * @param ctx the call
 * @param k the kernel (the plugin's own by default; tests pass a fake)
 */
export async function cmdCheck(ctx: CmdContext, k: Kernel = REAL_KERNEL): Promise<void> {
  const { env, conf, log } = ctx;
  const state = k.state.load(conf.name, env.containerId, env.ifname);
  const [pod, host] = await Promise.all([
    k.readPod(env.netns, { rules6: true, neigh: true }),
    k.readNode(),
  ]);
  let want: Expected;
  if (state !== undefined) {
    want = expectedOf(state, conf);
  } else {
    log.info(
      "CHECK without a record: the expectations are planned from the configuration, " +
        "prevResult and the pod as ADD plans them",
      { containerId: env.containerId, ifname: env.ifname },
    );
    const before = factsBeforeAdd(pod, ctx.prevResult!, env.ifname);
    const plan = planUnrecorded(conf, env, before, host.links);
    if ("missing" in plan) differences(ctx, plan.missing);
    const reads = throwFailures(await k.run({ before: plan.reads }), "Cannot read the node");
    const { routeGets, nodeAddrs } = reads.before;
    const nodeIps = nodeIpsForPod(routeGets, nodeAddrs, plan.view.family);
    want = expectedUnrecorded(plan, gatewaysFirst(nodeIps, pod, plan.view.podVeth));
  }
  const missing = checkDifferences(want, {
    pod,
    host,
    missingMangle: await k.missingMangle(want.mangle, env.netns),
    sysctls: k.readSysctls(want.sysctls.map((s) => s.key), env.netns),
    nodeSysctls: k.readSysctls(want.nodeSysctls.map((s) => s.key)),
  });
  if (missing.length > 0) differences(ctx, missing);
}
