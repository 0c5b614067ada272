/**
 * ADD: configure the pod and the node for CNI_IFNAME. {@linkcode cmdAdd}
 * reads straight down:
 *
 * 1. read the pod;
 * 2. plan: the NIC's family and addresses, the mode and its table
 *    (`plan/mode.ts`), the two ends of the pod-node veth pair (`plan/modes.ts`);
 * 3. the node: veth pair, table routes, rule, neighbours (`./_node.ts`),
 *    which also gives the node IPs the pod is routed to;
 * 4. detection and the MAC from podMACPrefix (loaded only when configured);
 * 5. the pod: sysctls, one `ip -batch`, the mangle rules (`plan/pod.ts`);
 * 6. the state file that CHECK, DEL and GC work from;
 * 7. the result: prevResult, with the NIC's new MAC.
 *
 * A failure part-way rolls back what this ADD made (`Undo`). One file (about
 * 480 lines): the steps share that undo record and the plan, which split files
 * would have to pass back and forth.
 *
 * An underlay ADD without detection starts four processes: the pod read, the
 * node batch, the pod batch and `iptables-restore` in the pod. Pod sysctls are
 * written through setns, without a process.
 *
 * Requires `--allow-run` (ip, iptables-restore, ...), `--allow-ffi`,
 * `--allow-read`, `--allow-write=/run/cni`.
 *
 * @module
 */

import type { CmdContext } from "../cni/dispatch.ts";
import type { Result } from "../cni/types.ts";
import { CniError, ErrorCode, errorMessage } from "../errors.ts";
import { runChecked, runCleanup } from "../kernel/apply.ts";
import { withHostLock } from "../kernel/lock.ts";
import { run } from "../kernel/exec.ts";
import { type PodFacts, readPodFacts, readRules6 } from "../kernel/facts.ts";
import {
  batchErrorMessage,
  type IpAddrLink,
  type IpLink,
  linkByName,
  runBatch,
} from "../kernel/iproute.ts";
import { missingRules, readMangle, restore, restoreScript } from "../kernel/iptables.ts";
import {
  type AttachmentState,
  type PodRecord,
  removeState,
  saveState,
  STATE_VERSION,
} from "../kernel/state.ts";
import { writeSysctls } from "../kernel/sysctl.ts";
import { familyOf } from "../ip.ts";
import { type HostCleanup, hostCleanup, podRuleCleanupLines } from "../plan/cleanup.ts";
import {
  type AddView,
  hasFamily,
  hostVethName,
  type ModeDecision,
  POD_VETH,
} from "../plan/mode.ts";
import { addView, nicOf, planNic } from "../plan/view.ts";
import { MODES } from "../plan/modes.ts";
import { recordedRoutes } from "../plan/check.ts";
import { gatewaysOf, planPod } from "../plan/pod.ts";
import type { PlannedRule } from "../plan/policy.ts";
import { nodeSysctls, plannedMac, podSysctls, randomMac } from "../plan/tune.ts";
import { isFwmarkRule, mangleRules } from "../plan/underlay.ts";
import { cleanHost } from "./_host.ts";
import { type NodeBatch, nodeIpsOf, runNodeBatch } from "./_node.ts";

/** What one ADD changed so far, undone in reverse when a later step fails. */
interface Undo {
  /** The node side: the veth pair this ADD made, or its table routes on a pair that was there. */
  host?: HostCleanup;
  podRules: PlannedRule[];
  mangle: { family: 4 | 6; rules: string[] }[];
  state?: boolean;
}

/** The plan of one ADD, once the pod is read. */
interface AddPlan {
  view: AddView;
  /** The NIC as the pod listed it. */
  nic: IpLink;
  /** The NIC's addresses, all families (the MAC derives from the first). */
  nicAddrs: string[];
  /** This ADD creates the veth pair. */
  create: boolean;
  /** MAC of the node end of the pair. */
  hostMac: string;
}

async function rollback(ctx: CmdContext, undo: Undo): Promise<void> {
  const { netns } = ctx.env;
  const pr = podRuleCleanupLines(undo.podRules);
  const [hostFailures, podFailures] = await Promise.all([
    undo.host === undefined ? Promise.resolve([]) : withHostLock(() => cleanHost([undo.host!])),
    runCleanup([
      { lines: pr.lines, opts: { netns }, what: "Cannot roll back pod rules" },
      { lines: pr.lines6, opts: { netns, family: 6 }, what: "Cannot roll back pod rules" },
    ]),
  ]);
  const failures = [...hostFailures, ...podFailures];
  for (const m of undo.mangle) {
    try {
      await restore(m.family, restoreScript("-D", m.rules), netns);
    } catch (err) {
      failures.push(`Cannot roll back mangle rules: ${errorMessage(err)}`);
    }
  }
  if (undo.state) removeState(ctx.conf.name, ctx.env.containerId, ctx.env.ifname);
  if (failures.length > 0) ctx.log.warn("ADD rollback incomplete", { failures });
}

/** The node cleanup that undoes one node batch. */
function undoOfBatch(ctx: CmdContext, view: AddView, batch: NodeBatch): HostCleanup {
  return hostCleanup({
    hostVeth: view.hostVeth,
    deleteVeth: batch.created,
    podIps: view.current,
    hostRuleTable: ctx.conf.hostRuleTable,
    v6: view.family !== "v4",
  });
}

/**
 * ADD: configure the pod and the node for the current NIC and return the
 * previous result, with the NIC's new MAC when podMACPrefix changed it.
 *
 * @param ctx the call
 * @returns the result to print
 */
export async function cmdAdd(ctx: CmdContext): Promise<Result> {
  const prev = ctx.prevResult;
  if (prev === undefined) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "Missing prevResult: coordinator must run chained",
    );
  }
  const undo: Undo = { podRules: [], mangle: [] };
  try {
    // 1. The pod.
    const rules6 = (prev.ips ?? []).some((ip) => familyOf(ip.address) === 6);
    const facts = await readPodFacts(ctx.env.netns, { rules6 });
    // 2. The plan.
    const plan = await planAdd(ctx, facts);
    // 3. The node.
    const batch = await runNodeBatch(plan.view, plan.create ? plan.hostMac : undefined);
    undo.host = undoOfBatch(ctx, plan.view, batch);
    const nodeIps = applyNode(ctx, plan, batch);
    // 4. Detection and the MAC.
    const mac = await detectAndSetMac(ctx, plan);
    // 5. The pod.
    const pod = await applyPod(ctx, plan, nodeIps, undo);
    // 6. The record.
    saveState(stateOf(ctx, plan, nodeIps, undo.podRules, mac, pod));
    undo.state = true;
    // 7. The result.
    return resultOf(prev, ctx.env.ifname, mac);
  } catch (err) {
    await rollback(ctx, undo).catch((e) =>
      ctx.log.warn("ADD rollback failed", { error: String(e) })
    );
    throw err;
  }
}

/** Step 2: family, mode and the two ends of the veth pair (`plan/view.ts`). */
async function planAdd(ctx: CmdContext, facts: PodFacts): Promise<AddPlan> {
  const { env, conf, log } = ctx;
  const { netns, ifname, containerId } = env;
  const { family } = nicOf(facts, ifname, netns);
  if (family !== "v4" && facts.rules6 === undefined) facts.rules6 = await readRules6(netns);
  const nic = planNic(conf, facts, ifname, netns);
  log.debug("Pod facts read", { family, ...nic.decision, current: nic.current });
  if (conf.serviceCIDR.length === 0) {
    log.warn(
      "No serviceCIDR (neither in the CNI config nor in the node defaults file): " +
        "Services will not be reached through " + MODES[nic.decision.mode].podEnd(conf),
      { mode: nic.decision.mode },
    );
  }
  const ends = nic.create
    ? {
      podVeth: POD_VETH,
      podVethMac: randomMac(),
      hostVeth: hostVethName(containerId),
      hostMac: randomMac(),
    }
    : await findPair(ctx, facts, nic.decision);
  const view = addView(conf, env, facts, nic, ends);
  return { view, nic: nic.nic, nicAddrs: nic.nicAddrs, create: nic.create, hostMac: ends.hostMac };
}

/** A re-run, a later NIC or overlay: the pair exists; find its two ends. */
async function findPair(
  ctx: CmdContext,
  facts: PodFacts,
  decision: ModeDecision,
): Promise<{ podVeth: string; podVethMac: string; hostVeth: string; hostMac: string }> {
  const { env, conf } = ctx;
  const rules = MODES[decision.mode];
  const podEnd = linkByName(facts.links, rules.podEnd(conf));
  if (podEnd === undefined) {
    throw new CniError(
      ErrorCode.NotFound,
      `Interface "${conf.podDefaultCniNic}" not found in netns "${env.netns}"`,
    );
  }
  const problem = rules.podEndProblem(podEnd);
  if (problem !== undefined) throw new CniError(ErrorCode.InvalidNetworkConfig, problem);
  const read = await runBatch([{ args: ["link", "show"], read: true }]);
  const nodeLinks = (read.outcomes[0]?.output ?? []) as IpLink[];
  const hostVeth = hostVethName(env.containerId);
  const nodeEnd = rules.nodeEnd(podEnd, nodeLinks, hostVeth);
  if (nodeEnd === undefined) {
    throw new CniError(
      ErrorCode.NotFound,
      `The node end of "${podEnd.ifname}" (${rules.nodeEndText(podEnd, hostVeth)}) was not found`,
    );
  }
  return {
    podVeth: podEnd.ifname,
    podVethMac: podEnd.address ?? "",
    hostVeth: nodeEnd.ifname,
    hostMac: nodeEnd.address ?? "",
  };
}

/** Step 3: check the node batch and derive the node IPs from its reads. */
function applyNode(ctx: CmdContext, plan: AddPlan, batch: NodeBatch): string[] {
  if (batch.errors.length > 0) {
    throw new CniError(
      ErrorCode.NetworkSetupFailed,
      batchErrorMessage("Cannot configure the node", batch.errors),
    );
  }
  const { hostVeth, family } = plan.view;
  if (plan.create) {
    // No router advertisements on the node end: its address must stay the node's.
    try {
      writeSysctls(nodeSysctls(hostVeth));
    } catch (err) {
      ctx.log.warn("Cannot write a node sysctl", { error: errorMessage(err) });
    }
  }
  const nodeIps = nodeIpsOf(batch, family);
  ctx.log.debug("Node IPs for the pod", { nodeIps, hostVeth });
  return nodeIps;
}

/**
 * Step 4: detection and the MAC change, in the original's order: address
 * conflicts, the MAC (announced), then the gateway (probed with the new MAC).
 *
 * @returns the NIC's MAC now, and whether this ADD changed it
 */
async function detectAndSetMac(
  ctx: CmdContext,
  plan: AddPlan,
): Promise<{ mac: string; changed: boolean }> {
  const { conf, log } = ctx;
  const { netns, ifname, current, facts, family } = plan.view;
  let mac = plan.nic.address ?? "";
  const { mac: newMac, changed } = plannedMac(conf.podMACPrefix, plan.nicAddrs[0], mac);
  const detecting = conf.detectIPConflict || conf.detectGateway;
  if ((detecting || changed) && !plan.nic.flags.includes("UP")) {
    await run(["ip", "link", "set", "dev", ifname, "up"], { netns });
  }
  const detect = detecting ? await import("../detect/detect.ts") : undefined;
  if (detect && conf.detectIPConflict) {
    await detect.detectIpConflicts({
      netns,
      ifname,
      mac,
      ips: current,
      options: conf.detectOptions,
    });
  }
  if (changed) {
    await run(["ip", "link", "set", "dev", ifname, "address", newMac!], { netns });
    mac = newMac!;
    const { announce } = await import("../detect/announce.ts");
    const failures = await announce({ netns, ifname, mac, ips: current });
    if (failures.length > 0) log.warn("Announce after the MAC change failed", { failures });
  }
  if (detect && conf.detectGateway) {
    const gateways = gatewaysOf(facts, ifname, family);
    await detect.detectGateways({
      netns,
      ifname,
      mac,
      ips: current,
      gateways,
      options: conf.detectOptions,
    });
  }
  return { mac, changed };
}

/**
 * Step 5: the pod's sysctls, its `ip -batch` (and `ip -6` for IPv6 rules) and
 * the mangle rules of the reply path, the last two side by side.
 */
async function applyPod(
  ctx: CmdContext,
  plan: AddPlan,
  nodeIps: readonly string[],
  undo: Undo,
): Promise<PodRecord> {
  const { conf, log } = ctx;
  const { view } = plan;
  const { netns, ifname, facts, family } = view;
  const podLinks = facts.links.map((l) => l.ifname);
  if (plan.create) podLinks.push(POD_VETH);
  const sysctls = podSysctls(conf, family, podLinks);
  writeSysctls(sysctls, netns);

  const pod = planPod(view, nodeIps, plan.hostMac);
  for (const w of pod.warnings) log.warn(w);
  undo.podRules = pod.rules;
  const wanted = pod.mangle ? ([4, 6] as const).filter((f) => hasFamily(family, f)) : [];
  const mangleTasks = mangleTasksOf(netns, facts, wanted, undo);
  const v6only = family === "v6";
  // IPv6 only: the rules join the main batch, before its final address read.
  const podMain = v6only
    ? [...pod.lines.slice(0, -1), ...pod.lines6, ...pod.lines.slice(-1)]
    : pod.lines;
  const [podRes] = await Promise.all([
    runChecked(podMain, v6only ? { netns, family: 6 } : { netns }, "Cannot configure the pod"),
    !v6only && pod.lines6.length > 0
      ? runChecked(pod.lines6, { netns, family: 6 }, "Cannot configure the pod IPv6 rules")
      : undefined,
    ...mangleTasks.map((t) => t()),
  ]);
  if (family !== "v4") {
    const last = podRes.outcomes[podRes.outcomes.length - 1];
    await settleAddresses(netns, ifname, (last?.output as IpAddrLink[] | undefined)?.[0]);
  }
  return {
    routes: recordedRoutes(pod.lines, v6only ? 6 : 4),
    removed: recordedRoutes(pod.lines, v6only ? 6 : 4, ["del"]),
    sysctls,
    ...(view.decision.mode === "underlay" ? { vethMTU: conf.vethMTU } : {}),
    txQueueLen: conf.txQueueLen,
    macPrefix: conf.podMACPrefix,
  };
}

/**
 * The mangle rules to apply per family, as tasks to run beside the pod batch.
 * A re-run (the reply-path rule is there: an earlier ADD reached this step)
 * applies only the rules that are missing.
 */
function mangleTasksOf(
  netns: string,
  facts: PodFacts,
  wanted: readonly (4 | 6)[],
  undo: Undo,
): (() => Promise<void>)[] {
  const rules = mangleRules(POD_VETH);
  const rerun = [...facts.rules4, ...(facts.rules6 ?? [])].some(isFwmarkRule);
  return wanted.map((f) => async () => {
    const add = rerun ? missingRules(rules, await readMangle(f, netns)) : rules;
    if (add.length === 0) return;
    await restore(f, restoreScript("-A", add), netns);
    undo.mangle.push({ family: f, rules: add });
  });
}

/** Wait until no address of the NIC is tentative (IPv6 DAD), at most ~3 s. */
async function settleAddresses(netns: string, ifname: string, first: IpAddrLink | undefined) {
  let link = first;
  for (let i = 0; i < 60; i++) {
    const infos = (link?.addr_info ?? []).filter((a) => a.family === "inet6" && a.scope !== "link");
    const failed = infos.find((a) => a.dadfailed);
    if (failed) {
      throw new CniError(
        ErrorCode.NetworkSetupFailed,
        `IPv6 duplicate address detection failed for "${failed.local}" on "${ifname}"`,
      );
    }
    if (!infos.some((a) => a.tentative)) return;
    await new Promise((r) => setTimeout(r, 50));
    const res = await runBatch([{ args: ["addr", "show", "dev", ifname], read: true }], { netns });
    link = (res.outcomes[0]?.output as IpAddrLink[] | undefined)?.[0];
  }
  throw new CniError(
    ErrorCode.NetworkSetupFailed,
    `IPv6 addresses on "${ifname}" are still tentative after 3 s`,
  );
}

/** Step 6: what DEL, CHECK and GC need of this ADD. */
function stateOf(
  ctx: CmdContext,
  plan: AddPlan,
  nodeIps: string[],
  podRules: PlannedRule[],
  mac: { mac: string; changed: boolean },
  pod: PodRecord,
): AttachmentState {
  const { view } = plan;
  const { decision } = view;
  return {
    version: STATE_VERSION,
    network: ctx.conf.name,
    containerId: view.containerId,
    ifname: view.ifname,
    netns: view.netns,
    mode: decision.mode,
    firstInvoke: decision.firstInvoke,
    hostVeth: view.hostVeth,
    hostVethCreated: MODES[decision.mode].ownsPair(decision),
    podVeth: view.podVeth,
    podVethMac: view.podVethMac,
    hostVethMac: plan.hostMac,
    hostRuleTable: ctx.conf.hostRuleTable,
    table: decision.table,
    podIPs: view.current,
    nodeIPs: nodeIps,
    podRules,
    ...(mac.changed ? { mac: mac.mac } : {}),
    pod,
  };
}

/** Step 7: prevResult, with the new MAC on the pod's entry of the NIC. */
function resultOf(prev: Result, ifname: string, mac: { mac: string; changed: boolean }): Result {
  const result: Result = structuredClone(prev);
  if (mac.changed) {
    // The pod-side entry (with a sandbox); a result without sandboxes: by name.
    const named = (result.interfaces ?? []).filter((i) => i.name === ifname);
    const inPod = named.filter((i) => (i.sandbox ?? "") !== "");
    for (const i of inPod.length > 0 ? inPod : named) i.mac = mac.mac;
  }
  return result;
}
