/**
 * Node-side cleanup shared by DEL, GC and the ADD rollback.
 *
 * @module
 */

import type { CmdContext } from "../cni/dispatch.ts";
import { runCleanup } from "../kernel/apply.ts";
import { CniError, CommandError, errorMessage } from "../errors.ts";
import { readPodFacts } from "../kernel/facts.ts";
import {
  batchErrorMessage,
  type BatchLine,
  BatchSession,
  type IpLink,
  type IpRoute,
  type IpRule,
  linkByName,
  runBatch,
} from "../kernel/iproute.ts";
import { inNetns } from "../kernel/netns.ts";
import { settle } from "../kernel/settle.ts";
import { type AttachmentState } from "../kernel/state.ts";
import {
  type HostCleanup,
  hostCleanup,
  hostCleanupFromState,
  hostCleanupLines,
  sharedRuleDrops,
  sharedRuleLine,
} from "../plan/cleanup.ts";
import { hostVethName, linkAddrs, POD_VETH } from "../plan/mode.ts";
import { MODES } from "../plan/modes.ts";

/**
 * Whether the netns path can be entered (empty, missing or not a netns: no).
 *
 * @param path the netns path
 * @returns whether it can be entered
 */
export function netnsUsable(path: string): boolean {
  if (path === "") return false;
  try {
    return inNetns(path, () => true);
  } catch (err) {
    if (err instanceof CniError) return false;
    throw err;
  }
}

/**
 * What DEL removes on the node: what the state records, else what the node
 * and the pod still show (the veth of a first underlay NIC; for a later NIC,
 * its routes and neighbours on the peer of the pod's veth), in the table of
 * the configuration. When nothing can be found the cleanup removes nothing
 * but still lets the shared rule go once its table is empty.
 *
 * @param ctx the call
 * @param state the ADD's record, if any
 * @param usable whether the pod netns can be entered
 * @returns the cleanup
 */
export async function hostCleanupFor(
  ctx: CmdContext,
  state: AttachmentState | undefined,
  usable: () => boolean,
): Promise<HostCleanup> {
  const { env, conf } = ctx;
  if (state !== undefined) return hostCleanupFromState(state);
  // No state (lost, or ADD never ran): derive what we can from the node.
  const hostVeth = hostVethName(env.containerId);
  const table = conf.hostRuleTable;
  const nothing = hostCleanup({ hostVeth, deleteVeth: false, hostRuleTable: table, v6: false });
  if (env.ifname === conf.podDefaultCniNic && conf.mode !== "overlay") {
    return hostCleanup({ hostVeth, deleteVeth: true, hostRuleTable: table, v6: false });
  }
  if (!usable()) return nothing;
  try {
    const facts = await readPodFacts(env.netns);
    const ips = linkAddrs(facts.addrs, env.ifname);
    if (ips.length === 0) return nothing;
    // The pair's two ends as ADD finds them: veth0 in the pod means underlay.
    const rules = MODES[linkByName(facts.links, POD_VETH) !== undefined ? "underlay" : "overlay"];
    const podEnd = linkByName(facts.links, rules.podEnd(conf));
    if (podEnd?.link_index === undefined) return nothing;
    const read = await runBatch([{ args: ["link", "show"], read: true }]);
    const nodeEnd = rules.nodeEnd(podEnd, (read.outcomes[0]?.output ?? []) as IpLink[], hostVeth);
    if (nodeEnd === undefined) return nothing;
    return hostCleanup({
      hostVeth: nodeEnd.ifname,
      deleteVeth: false,
      podIps: ips,
      hostRuleTable: table,
      v6: false,
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
 * One `ip -batch` reads the routes and rules first, then deletes; its reads
 * are used as soon as they are printed: routes that this cleanup removes
 * (every route on a veth being deleted, the table routes of the pod IPs) do
 * not count, so the rule is dropped, by a second process, while the veth
 * deletion (15-25 ms of kernel time) still runs. Should the cleanup fail, the
 * rule is put back.
 *
 * @param cleanups what to remove
 * @returns failure messages
 */
export async function cleanHost(cleanups: readonly HostCleanup[]): Promise<string[]> {
  const reads: BatchLine[] = [
    { args: ["route", "show", "table", "all"], read: true },
    { args: ["rule", "show"], read: true },
  ];
  let s: BatchSession;
  try {
    s = BatchSession.open();
    try {
      await s.send([...reads, ...cleanups.flatMap(hostCleanupLines)]);
    } finally {
      s.end();
    }
  } catch (err) {
    if (!(err instanceof CniError || err instanceof CommandError)) throw err;
    return [`Cannot clean the node: ${err.message}`];
  }
  const n = reads.length;
  // Both reads print a value; a failed read (none expected) keeps the rule.
  const printed = await s.until((p) => p.values.length >= n);
  const snap = s.snapshot().outcomes;
  const readOk = printed && snap.slice(0, n).every((o) => o.error === undefined);
  const routes = (snap[0]?.output ?? []) as IpRoute[];
  const rules4 = (snap[1]?.output ?? []) as IpRule[];
  const drops = readOk ? sharedRuleDrops(routes, rules4, cleanups) : [];
  const opts = (f: 4 | 6) => f === 6 ? { family: 6 as const } : {};
  // Concurrently with the rest of the cleanup (the veth deletion).
  const dropped = runCleanup(drops.map((d) => ({
    lines: [sharedRuleLine(d, "del")],
    opts: opts(d.family),
    what: "Cannot drop the node rule",
  })));
  const failures: string[] = [];
  // Only veth deletions: done once the kernel has unlisted the veths.
  const veths = cleanups.every((c) => c.deleteVeth) ? cleanups.map((c) => c.hostVeth) : [];
  try {
    const res = await settle(s, veths);
    if (res.errors.length > 0) {
      failures.push(batchErrorMessage("Cannot clean the node", res.errors));
    }
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    failures.push(`Cannot clean the node: ${err.message}`);
  }
  failures.push(...await dropped);
  if (failures.length > 0 && drops.length > 0) {
    // Routes may be left: their rule must stay.
    failures.push(
      ...await runCleanup(drops.map((d) => ({
        lines: [sharedRuleLine(d, "add")],
        opts: opts(d.family),
        what: "Cannot restore the node rule",
      }))),
    );
  }
  return failures;
}
