/**
 * The node batch of ADD: the node's intents of `plan/node.ts`, one
 * `ip -force -batch` (its IPv6 rules beside it in `ip -6`) under the host
 * lock. Its reads, before the changes, give the node IPs the pod is routed to.
 *
 * Requires `--allow-run=ip`, `--allow-read` and `--allow-write` of the lock.
 *
 * @module
 */

import type { IpIntent } from "../kernel/intent.ts";
import type { IpFailure } from "../kernel/iproute.ts";
import type { AddView } from "../plan/mode.ts";
import { nodeIpsForPod, planNode } from "../plan/node.ts";
import type { Kernel } from "./port.ts";

/** What the node batch did. */
export interface NodeBatch {
  /** The node's changes of the plan (the record of what ADD applied). */
  changes: IpIntent[];
  /** The veth pair was created by this batch. */
  created: boolean;
  /** The node IPs for the pod, in order (none when the batch failed). */
  nodeIps: string[];
  /** Lines that failed (neither tolerated nor optional). */
  errors: IpFailure[];
}

/**
 * Run the node batch of ADD under the host lock.
 *
 * @param k the kernel
 * @param view the plan's view
 * @param hostMac create the veth pair with this node-end MAC (undefined: it exists)
 * @returns the changes, whether the veth was created, the node IPs, the failures
 */
export async function runNodeBatch(
  k: Kernel,
  view: AddView,
  hostMac: string | undefined,
): Promise<NodeBatch> {
  const plan = planNode(view, hostMac === undefined ? undefined : { hostMac });
  // IPv6 only: one `ip -6` process does it all (rules need the family).
  const where = view.family === "v6" ? { family: 6 as const } : {};
  const out = await k.withLock(() => k.run({ before: plan.reads, changes: plan.changes }, where));
  const veth = plan.changes.find((c) => c.kind === "veth");
  return {
    changes: plan.changes,
    created: veth !== undefined && !out.failed.has(veth),
    nodeIps: out.errors.length > 0
      ? []
      : nodeIpsForPod(out.before.routeGets, out.before.nodeAddrs, view.family),
    errors: out.errors,
  };
}
