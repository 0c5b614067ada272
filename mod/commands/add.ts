/**
 * ADD: configure the pod and the node for CNI_IFNAME. {@linkcode cmdAdd}
 * reads straight down:
 *
 * 1. read the pod;
 * 2. plan: the NIC's family and addresses, the mode and its table
 *    (`plan/mode.ts`), the two ends of the pod-node veth pair (`plan/pair.ts`);
 * 3. the node: veth pair, table routes, rule, neighbours (`./_node.ts`),
 *    which also gives the node IPs the pod is routed to;
 * 4. detection and the MAC from podMACPrefix (loaded only when configured);
 * 5. the pod: sysctls, one `ip -batch`, the connmark rules (`plan/pod.ts`);
 * 6. the state file that CHECK, DEL and GC work from: the intents applied;
 * 7. the result: prevResult, with the NIC's new MAC.
 *
 * Every change is a typed intent of the planners, applied through the kernel
 * port (`./port.ts`). A failure part-way rolls back what this ADD made
 * (`Undo`). One file: the steps share that undo record and the plan, which
 * split files would have to pass back and forth.
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
import type { PodFacts } from "../kernel/facts.ts";
import {
  type AddrsRead,
  type ConnmarkIntent,
  type IpIntent,
  type LinkIntent,
  READ,
  type SysctlIntent,
} from "../kernel/intent.ts";
import type { IpAddrInfo, IpLink } from "../kernel/ip_json.ts";
import {
  type IpBatch,
  type IpOutcome,
  type IpWhere,
  type Reads,
  throwFailures,
} from "../kernel/iproute.ts";
import { type AttachmentState, type PodRule, STATE_VERSION } from "../kernel/state.ts";
import { familyOf } from "../ip.ts";
import { type HostCleanup, hostCleanup, podUndo } from "../plan/cleanup.ts";
import { type AddView, hostVethName, POD_VETH } from "../plan/mode.ts";
import { MODES } from "../plan/modes.ts";
import { findPair } from "../plan/pair.ts";
import { addView, nicOf, planNic } from "../plan/view.ts";
import { gatewaysOf, planPod } from "../plan/pod.ts";
import { nodeSysctls, plannedMac, podSysctls, randomMac } from "../plan/tune.ts";
import { isFwmarkRule } from "../plan/underlay.ts";
import { mark } from "../phases.ts";
import { cleanHost } from "./_host.ts";
import { type NodeBatch, runNodeBatch } from "./_node.ts";
import { type Kernel, REAL_KERNEL } from "./port.ts";

/** What one ADD changed so far, undone in reverse when a later step fails. */
interface Undo {
  /** The pod as ADD found it (what the pod's undoing restores). */
  before?: PodFacts;
  /** The node side: the veth pair this ADD made, or its table routes on a pair that was there. */
  host?: HostCleanup;
  /** The pod changes that took effect, in order (`plan/cleanup.ts` podUndo). */
  pod: IpIntent[];
  mangle: ConnmarkIntent[];
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

/** What the pod step applied, for the record. */
interface PodApplied {
  changes: IpIntent[];
  sysctls: SysctlIntent[];
  connmark: ConnmarkIntent[];
  /** The `from` rules of the NIC (DEL removes them). */
  rules: PodRule[];
}

/** Run a batch; any failure that is neither tolerated nor optional throws (103). */
async function checked<B extends Reads, A extends Reads>(
  k: Kernel,
  batch: IpBatch<B, A>,
  where: IpWhere,
  what: string,
): Promise<IpOutcome<B, A>> {
  return throwFailures(await k.run(batch, where), what);
}

async function rollback(ctx: CmdContext, k: Kernel, undo: Undo): Promise<void> {
  const { netns } = ctx.env;
  const [hostFailures, podFailures] = await Promise.all([
    undo.host === undefined ? Promise.resolve([]) : k.withLock(() => cleanHost(k, [undo.host!])),
    k.cleanups([{
      changes: undo.before === undefined ? [] : podUndo(undo.pod, undo.before),
      where: { netns },
      what: "Cannot roll back the pod",
    }]),
  ]);
  const failures = [...hostFailures, ...podFailures];
  if (undo.mangle.length > 0) {
    try {
      await k.mangle("-D", undo.mangle, netns);
    } catch (err) {
      failures.push(`Cannot roll back mangle rules: ${errorMessage(err)}`);
    }
  }
  if (undo.state) k.state.remove(ctx.conf.name, ctx.env.containerId, ctx.env.ifname);
  if (failures.length > 0) ctx.log.warn("ADD rollback incomplete", { failures });
}

/**
 * ADD: configure the pod and the node for the current NIC and return the
 * previous result, with the NIC's new MAC when podMACPrefix changed it.
 *
 * @param ctx the call
 * @param k the kernel (the plugin's own by default; tests pass a fake)
 * @returns the result to print
 */
export async function cmdAdd(ctx: CmdContext, k: Kernel = REAL_KERNEL): Promise<Result> {
  const prev = ctx.prevResult;
  if (prev === undefined) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "Missing prevResult: coordinator must run chained",
    );
  }
  const undo: Undo = { pod: [], mangle: [] };
  try {
    // 1. The pod.
    const rules6 = (prev.ips ?? []).some((ip) => familyOf(ip.address) === 6);
    const facts = await k.readPod(ctx.env.netns, { rules6 });
    mark("pod read");
    undo.before = structuredClone(facts);
    // 2. The plan.
    const plan = await planAdd(ctx, k, facts);
    mark("planned");
    // 3. The node.
    const node = await runNodeBatch(k, plan.view, plan.create ? plan.hostMac : undefined);
    undo.host = hostCleanup({
      hostVeth: plan.view.hostVeth,
      deleteVeth: node.created,
      podIps: plan.view.current,
      hostRuleTable: ctx.conf.hostRuleTable,
    });
    throwFailures(node, "Cannot configure the node");
    mark("node batch");
    const nodeWritten = tuneNode(ctx, k, plan, node);
    // 4. Detection and the MAC.
    const mac = await detectAndSetMac(ctx, k, plan, undo);
    mark("detection");
    // 5. The pod.
    const pod = await applyPod(ctx, k, plan, node.nodeIps, undo);
    mark("pod batch");
    // 6. The record.
    k.state.save(stateOf(ctx, k, plan, node, nodeWritten, mac, pod));
    undo.state = true;
    mark("state");
    // 7. The result.
    return resultOf(prev, ctx.env.ifname, mac);
  } catch (err) {
    await rollback(ctx, k, undo).catch((e) =>
      ctx.log.warn("ADD rollback failed", { error: String(e) })
    );
    throw err;
  }
}

/** Step 2: family, mode and the two ends of the veth pair (`plan/view.ts`, `plan/pair.ts`). */
async function planAdd(ctx: CmdContext, k: Kernel, facts: PodFacts): Promise<AddPlan> {
  const { env, conf, log } = ctx;
  const { netns, ifname, containerId } = env;
  const { family } = nicOf(facts, ifname, netns);
  if (family !== "v4" && facts.rules6 === undefined) facts.rules6 = await k.readRules6(netns);
  const nic = planNic(conf, facts, ifname, netns);
  log.debug("Pod facts read", { family, ...nic.decision, current: nic.current });
  const rules = MODES[nic.decision.mode];
  if (conf.serviceCIDR.length === 0) {
    log.warn(
      "No serviceCIDR (neither in the CNI config nor in the node defaults file): " +
        "Services will not be reached through " + rules.podEnd(conf),
      { mode: nic.decision.mode },
    );
  }
  const hostVeth = hostVethName(containerId);
  let ends = { podVeth: POD_VETH, podVethMac: randomMac(), hostVeth, hostMac: randomMac() };
  if (!nic.create) {
    // A re-run, a later NIC or overlay: the pair exists; find its two ends.
    const pair = findPair(rules, conf, facts.links, await k.readNodeLinks(), hostVeth);
    if (pair.problem !== undefined) throw pair.problem;
    ends = {
      podVeth: pair.podEnd!.ifname,
      podVethMac: pair.podEnd!.address ?? "",
      hostVeth: pair.nodeEnd!.ifname,
      hostMac: pair.nodeEnd!.address ?? "",
    };
  }
  const view = addView(conf, env, facts, nic, ends);
  return { view, nic: nic.nic, nicAddrs: nic.nicAddrs, create: nic.create, hostMac: ends.hostMac };
}

/**
 * Step 3, after the node batch: no router advertisements on the node end of
 * a pair this ADD made (its address must stay the node's). A failed write is
 * a warning, and not recorded.
 *
 * @returns the node sysctls written
 */
function tuneNode(ctx: CmdContext, k: Kernel, plan: AddPlan, node: NodeBatch): SysctlIntent[] {
  const { hostVeth } = plan.view;
  ctx.log.debug("Node IPs for the pod", { nodeIps: node.nodeIps, hostVeth });
  if (!node.created) return [];
  const writes = nodeSysctls(hostVeth);
  try {
    k.writeSysctls(writes);
    return writes;
  } catch (err) {
    ctx.log.warn("Cannot write a node sysctl", { error: errorMessage(err) });
    return [];
  }
}

/** The NIC's MAC after step 4, and the intent that holds it (podMACPrefix). */
interface MacOutcome {
  mac: string;
  changed: boolean;
  intent?: LinkIntent;
}

/**
 * Step 4: detection and the MAC change, in the original's order: address
 * conflicts, the MAC (announced), then the gateway (probed with the new MAC).
 *
 * @returns the NIC's MAC now, whether this ADD changed it, the MAC intent
 */
async function detectAndSetMac(
  ctx: CmdContext,
  k: Kernel,
  plan: AddPlan,
  undo: Undo,
): Promise<MacOutcome> {
  const { conf, log } = ctx;
  const { netns, ifname, current, facts, family } = plan.view;
  let mac = plan.nic.address ?? "";
  const { mac: newMac, changed } = plannedMac(conf.podMACPrefix, plan.nicAddrs[0], mac);
  const detecting = conf.detectIPConflict || conf.detectGateway;
  if ((detecting || changed) && !plan.nic.flags.includes("UP")) {
    await checked(
      k,
      { changes: [{ kind: "link", dev: ifname, up: true }] },
      { netns },
      "Cannot set the NIC up",
    );
  }
  const options = conf.detectOptions;
  if (conf.detectIPConflict) {
    await k.detect.conflicts({ netns, ifname, mac, ips: current, options });
  }
  const intent: LinkIntent | undefined = newMac === undefined
    ? undefined
    : { kind: "link", dev: ifname, mac: newMac };
  if (changed) {
    await checked(k, { changes: [intent!] }, { netns }, "Cannot change the NIC's MAC");
    undo.pod.push(intent!);
    mac = newMac!;
    const failures = await k.detect.announce({ netns, ifname, mac, ips: current });
    if (failures.length > 0) log.warn("Announce after the MAC change failed", { failures });
  }
  if (conf.detectGateway) {
    const gateways = gatewaysOf(facts, ifname, family);
    await k.detect.gateways({ netns, ifname, mac, ips: current, gateways, options });
  }
  return { mac, changed, ...(intent === undefined ? {} : { intent }) };
}

/**
 * Step 5: the pod's sysctls, its `ip -batch` (IPv6 rules beside it in `ip -6`)
 * and the connmark rules of the reply path, the last two side by side.
 */
async function applyPod(
  ctx: CmdContext,
  k: Kernel,
  plan: AddPlan,
  nodeIps: readonly string[],
  undo: Undo,
): Promise<PodApplied> {
  const { conf, log } = ctx;
  const { view } = plan;
  const { netns, ifname, facts, family } = view;
  const podLinks = facts.links.map((l) => l.ifname);
  if (plan.create) podLinks.push(POD_VETH);
  const sysctls = podSysctls(conf, family, podLinks);
  k.writeSysctls(sysctls, netns);

  const pod = planPod(view, nodeIps, plan.hostMac);
  for (const w of pod.warnings) log.warn(w);
  // IPv6: the addresses are read after the batch, to wait out their DAD.
  const after: { nic?: AddrsRead } = family === "v4" ? {} : { nic: READ.addrs(ifname) };
  const podBatch = async () => {
    const out = await k.run(
      { changes: pod.changes, after },
      family === "v6" ? { netns, family: 6 } : { netns },
    );
    // What took effect is undone on a failure; an add that found its object there is not.
    undo.pod.push(...pod.changes.filter((c) => !out.failed.has(c)));
    return throwFailures(out, "Cannot configure the pod");
  };
  // Both run to their end before a failure is thrown: the rollback then
  // knows everything either of them did.
  const [podRes, connmark] = await Promise.allSettled([
    podBatch(),
    applyConnmark(k, netns, facts, pod.connmark, undo),
  ]);
  if (podRes.status === "rejected") throw podRes.reason;
  if (connmark.status === "rejected") throw connmark.reason;
  const nic = podRes.value.after.nic;
  if (nic !== undefined) await settleAddresses(k, netns, ifname, nic[0]?.addr_info ?? []);
  return { changes: pod.changes, sysctls, connmark: pod.connmark, rules: pod.rules };
}

/**
 * The connmark rules, beside the pod batch. A re-run (the reply-path rule is
 * there: an earlier ADD reached this step) applies only the missing ones.
 */
async function applyConnmark(
  k: Kernel,
  netns: string,
  facts: PodFacts,
  wanted: readonly ConnmarkIntent[],
  undo: Undo,
): Promise<void> {
  if (wanted.length === 0) return;
  const rerun = [...facts.rules4, ...(facts.rules6 ?? [])].some(isFwmarkRule);
  const add = rerun ? await k.missingMangle(wanted, netns) : [...wanted];
  // One iptables-restore per family; each family's rules are undone once applied.
  const results = await Promise.allSettled([4, 6].map(async (f) => {
    const rules = add.filter((r) => r.family === f);
    if (rules.length === 0) return;
    await k.mangle("-A", rules, netns);
    undo.mangle.push(...rules);
  }));
  const failed = results.find((r) => r.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}

/** Wait until no address of the NIC is tentative (IPv6 DAD), at most ~3 s. */
async function settleAddresses(
  k: Kernel,
  netns: string,
  ifname: string,
  first: readonly IpAddrInfo[],
): Promise<void> {
  let infos = first;
  for (let i = 0; i < 60; i++) {
    const v6 = infos.filter((a) => a.family === "inet6" && a.scope !== "link");
    const failed = v6.find((a) => a.dadfailed);
    if (failed) {
      throw new CniError(
        ErrorCode.NetworkSetupFailed,
        `IPv6 duplicate address detection failed for "${failed.local}" on "${ifname}"`,
      );
    }
    if (!v6.some((a) => a.tentative)) return;
    await k.sleep(50);
    const res = await checked(
      k,
      { before: { nic: READ.addrs(ifname) } },
      { netns },
      "Cannot read the pod's addresses",
    );
    infos = res.before.nic[0]?.addr_info ?? [];
  }
  throw new CniError(
    ErrorCode.NetworkSetupFailed,
    `IPv6 addresses on "${ifname}" are still tentative after 3 s`,
  );
}

/** The items of `a`, then those of `b` that `a` lacks (plain data compared as JSON). */
function union<T>(a: readonly T[], b: readonly T[]): T[] {
  const seen = new Set(a.map((x) => JSON.stringify(x)));
  return [...a, ...b.filter((x) => !seen.has(JSON.stringify(x)))];
}

/** The sysctls of `a` that `b` does not write again, then `b` (the later value wins). */
function byKey(a: readonly SysctlIntent[], b: readonly SysctlIntent[]): SysctlIntent[] {
  return [...a.filter((x) => !b.some((y) => y.key === x.key)), ...b];
}

/**
 * Step 6: what DEL, CHECK and GC need of this ADD: the intents it applied. A
 * re-run keeps what the record of the ADD before it holds: a route it moved
 * or a rule it added is no longer for this one to plan.
 */
function stateOf(
  ctx: CmdContext,
  k: Kernel,
  plan: AddPlan,
  node: NodeBatch,
  nodeWritten: SysctlIntent[],
  mac: MacOutcome,
  pod: PodApplied,
): AttachmentState {
  const { view } = plan;
  const { decision } = view;
  const rules = MODES[decision.mode];
  const earlier = k.state.load(ctx.conf.name, view.containerId, view.ifname);
  const was = earlier?.applied;
  return {
    version: STATE_VERSION,
    network: ctx.conf.name,
    containerId: view.containerId,
    ifname: view.ifname,
    netns: view.netns,
    mode: decision.mode,
    firstInvoke: decision.firstInvoke,
    hostVeth: view.hostVeth,
    hostVethCreated: rules.ownsPair(decision),
    podVeth: view.podVeth,
    podVethMac: view.podVethMac,
    hostVethMac: plan.hostMac,
    hostRuleTable: ctx.conf.hostRuleTable,
    table: decision.table,
    podIPs: view.current,
    nodeIPs: node.nodeIps,
    podRules: union(earlier?.podRules ?? [], pod.rules),
    ...(mac.changed ? { mac: mac.mac } : earlier?.mac === undefined ? {} : { mac: earlier.mac }),
    applied: {
      node: union(was?.node ?? [], node.changes),
      pod: union(was?.pod ?? [], [
        ...(mac.intent === undefined ? [] : [mac.intent]),
        ...pod.changes,
      ]),
      sysctls: byKey(was?.sysctls ?? [], pod.sysctls),
      nodeSysctls: byKey(was?.nodeSysctls ?? [], nodeWritten),
      mangle: union(was?.mangle ?? [], pod.connmark),
      ...(rules.pairIsOurs ? { vethMTU: ctx.conf.vethMTU } : {}),
    },
  };
}

/** Step 7: prevResult, with the new MAC on the pod's entry of the NIC. */
function resultOf(prev: Result, ifname: string, mac: MacOutcome): Result {
  const result: Result = structuredClone(prev);
  if (mac.changed) {
    // The pod-side entry (with a sandbox); a result without sandboxes: by name.
    const named = (result.interfaces ?? []).filter((i) => i.name === ifname);
    const inPod = named.filter((i) => (i.sandbox ?? "") !== "");
    for (const i of inPod.length > 0 ? inPod : named) i.mac = mac.mac;
  }
  return result;
}
