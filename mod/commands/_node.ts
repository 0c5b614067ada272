/**
 * The node batch of ADD: one `ip -force -batch` on the node (and one `ip -6`
 * for the IPv6 rule) under the host lock, planned by `plan/node.ts`. Its first
 * lines read the node's route to each pod IP and the node's addresses, which
 * give the node IPs the pod is routed to.
 *
 * Requires `--allow-run=ip`, `--allow-read` and `--allow-write` of the lock.
 *
 * @module
 */

import type { IpAddrLink, IpRouteGet, LineOutcome } from "../kernel/iproute.ts";
import { runBatch } from "../kernel/iproute.ts";
import { withHostLock } from "../kernel/lock.ts";
import type { AddView, Family } from "../plan/mode.ts";
import { nodeIpsForPod, planHost } from "../plan/node.ts";

/** What the node batch did. */
export interface NodeBatch {
  /** Outcomes of the main batch, its reads first. */
  outcomes: LineOutcome[];
  /** The veth pair was created by this batch. */
  created: boolean;
  /** Lines that failed (main and IPv6 batch). */
  errors: LineOutcome[];
  /** The pod IPs the batch's route reads were planned with. */
  asked: readonly string[];
}

/**
 * Run the node batch(es) of ADD under the host lock.
 *
 * @param view the plan's view
 * @param hostMac create the veth pair with this node-end MAC (undefined: it exists)
 * @returns the outcomes, whether the veth was created, the failed lines
 */
export async function runNodeBatch(
  view: AddView,
  hostMac: string | undefined,
): Promise<NodeBatch> {
  const host = planHost(view, hostMac === undefined ? undefined : { hostMac });
  const v6only = view.family === "v6";
  return await withHostLock(async () => {
    // IPv6 only: one `ip -6` process does it all (rules need the family).
    const [res, res6] = await Promise.all([
      v6only ? runBatch([...host.lines, ...host.lines6], { family: 6 }) : runBatch(host.lines),
      !v6only && host.lines6.length > 0 ? runBatch(host.lines6, { family: 6 }) : undefined,
    ]);
    return {
      outcomes: res.outcomes,
      created: hostMac !== undefined && res.outcomes[host.reads]?.error === undefined,
      errors: [...res.errors, ...(res6?.errors ?? [])],
      asked: view.allPodIps,
    };
  });
}

/**
 * The node IPs for the pod, from the batch's reads: the first lines are one
 * `route get` per pod IP it was planned with, then `addr show`.
 *
 * @param batch the node batch
 * @param family the pod's family
 * @returns the node IPs, in order
 */
export function nodeIpsOf(batch: NodeBatch, family: Family): string[] {
  const { outcomes, asked } = batch;
  const routeGets = asked.map((_, i) => (outcomes[i]?.output as IpRouteGet[] | undefined)?.[0]);
  const hostAddrs = (outcomes[asked.length]?.output ?? []) as IpAddrLink[];
  return nodeIpsForPod(routeGets, hostAddrs, family);
}
