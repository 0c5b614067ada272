/**
 * Node-side cleanup shared by DEL, GC and the ADD rollback.
 *
 * @module
 */

import type { CmdContext } from "../cni/dispatch.ts";
import { errorMessage } from "../errors.ts";
import { READ } from "../kernel/intent.ts";
import { type AttachmentState } from "../kernel/state.ts";
import {
  type HostCleanup,
  hostCleanup,
  hostCleanupFromState,
  hostCleanupIntents,
  sharedRule,
  sharedRuleDrops,
} from "../plan/cleanup.ts";
import { hostVethName, linkAddrs, modeOf, POD_VETH } from "../plan/mode.ts";
import { MODES } from "../plan/modes.ts";
import { findPair } from "../plan/pair.ts";
import type { Kernel } from "./port.ts";

/**
 * What DEL removes on the node: what the state records, else what the node
 * and the pod still show, found as ADD finds it (the mode's rule, the
 * pair's ends): the veth of a first underlay NIC; for a later NIC, its
 * routes and neighbours on the node end of the pair, in the table of the
 * configuration. When nothing can be found the cleanup removes nothing but
 * still lets the shared rules go once their table is empty.
 *
 * @param ctx the call
 * @param k the kernel
 * @param state the ADD's record, if any
 * @param usable whether the pod netns can be entered
 * @returns the cleanup
 */
export async function hostCleanupFor(
  ctx: CmdContext,
  k: Kernel,
  state: AttachmentState | undefined,
  usable: () => boolean,
): Promise<HostCleanup> {
  const { env, conf } = ctx;
  if (state !== undefined) return hostCleanupFromState(state);
  // No state (lost, or ADD never ran, or a pod of an older version or of the
  // original): derive what we can. A mode of "disable" now says nothing of
  // how ADD ran: take the auto rule.
  const guess = conf.mode === "disable" ? { ...conf, mode: "auto" as const } : conf;
  const hostVeth = hostVethName(env.containerId);
  const table = conf.hostRuleTable;
  const nothing = hostCleanup({
    hostVeth,
    deleteVeth: false,
    podIps: "unknown",
    hostRuleTable: table,
  });
  const first = env.ifname === conf.podDefaultCniNic;
  if (first && MODES[modeOf(guess, env.ifname, false)].ownsPair({ firstInvoke: true })) {
    return hostCleanup({ hostVeth, deleteVeth: true, podIps: "unknown", hostRuleTable: table });
  }
  if (!usable()) return nothing;
  try {
    const facts = await k.readPod(env.netns);
    const ips = linkAddrs(facts.addrs, env.ifname);
    if (ips.length === 0) return nothing;
    const vethExists = facts.links.some((l) => l.ifname === POD_VETH);
    const rules = MODES[modeOf(guess, env.ifname, vethExists)];
    const pair = findPair(rules, conf, facts.links, await k.readNodeLinks(), hostVeth);
    if (pair.nodeEnd === undefined) return nothing;
    return hostCleanup({
      hostVeth: pair.nodeEnd.ifname,
      deleteVeth: false,
      podIps: ips,
      hostRuleTable: table,
    });
  } catch (err) {
    // Broad on purpose: DEL must not fail because the pod cannot be read
    // (whatever the cause); it then cleans what it knows.
    ctx.log.warn("DEL cannot read the pod", { error: errorMessage(err) });
    return nothing;
  }
}

/**
 * Run node cleanups and drop the shared `from all lookup <table>` rule of a
 * family once its table holds no route of that family any more (the last pod
 * is gone), so that the node ends as it was before the first ADD. Each
 * cleanup names its table. Must run under the host lock: ADD adds the rule
 * and its routes under the same lock.
 *
 * One streamed `ip -batch` reads the routes and rules first, then deletes;
 * its reads are used as soon as they are printed: routes that this cleanup
 * removes (every route on a veth being deleted, the table routes of the pod
 * IPs) do not count, so the rule is dropped, by a second process, while the
 * veth deletion (15-25 ms of kernel time) still runs. Should the cleanup
 * fail, the rule is put back (`kernel/apply.ts` cleanStreamed).
 *
 * @param k the kernel
 * @param cleanups what to remove
 * @returns failure messages
 */
export function cleanHost(k: Kernel, cleanups: readonly HostCleanup[]): Promise<string[]> {
  return k.cleanNode({
    reads: { routes: READ.routes(), rules4: READ.rules(4) },
    changes: cleanups.flatMap(hostCleanupIntents),
    // Only veth deletions: done once the kernel has unlisted the veths.
    veths: cleanups.every((c) => c.deleteVeth) ? cleanups.map((c) => c.hostVeth) : [],
    followUp: ({ routes, rules4 }) => {
      const drops = sharedRuleDrops(routes, rules4, cleanups);
      return {
        run: drops.map((d) => sharedRule(d.family, d.table, "del")),
        undo: drops.map((d) => sharedRule(d.family, d.table, "add")),
      };
    },
  });
}
