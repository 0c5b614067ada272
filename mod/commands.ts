/**
 * The coordinator's network logic: ADD, DEL, CHECK, GC and STATUS of the real
 * plugin (spec sections 3, 4, 6; cni-contract.md 6-11). `mod/cni.ts` has
 * already validated the environment and the configuration and handled
 * `mode: disable`.
 *
 * An underlay ADD without detection starts four processes: one `ip -batch`
 * reading the pod, one `ip -force -batch` on the node that creates the veth
 * pair and the node routes/rule/neighbours and reads the node's routes to the
 * pod, one `ip -batch` in the pod, and `iptables-restore` in the pod
 * (concurrently with the last one). Pod sysctls are written through setns,
 * without a process.
 *
 * Requires `--allow-run` (ip, iptables-restore, ...), `--allow-ffi`,
 * `--allow-read`, `--allow-write=/run/cni`.
 *
 * @example
 * ```ts ignore
 * import { cmdAdd } from "./commands.ts";
 * const result = await cmdAdd(ctx);
 * ```
 *
 * @module
 */

import type { Attachment, CmdContext } from "./cni.ts";
import { run } from "./_exec.ts";
import {
  GONE,
  type HostCleanup,
  hostCleanupLines,
  listedLinks,
  podRuleCleanupLines,
  runChecked,
  runCleanup,
} from "./apply.ts";
import { CniError, ErrorCode } from "./errors.ts";
import { type PodFacts, readHostFacts, readPodFacts, readRules6 } from "./facts.ts";
import {
  bareIp,
  batchErrorMessage,
  type BatchLine,
  type BatchResult,
  BatchSession,
  canonicalIp,
  familyOf,
  type IpAddrLink,
  type IpLink,
  type IpRoute,
  type IpRouteGet,
  type IpRule,
  type LineOutcome,
  runBatch,
} from "./iproute.ts";
import { mangleRules, missingRules, readMangle, restore, restoreScript } from "./iptables.ts";
import { withHostLock } from "./lock.ts";
import { inNetns } from "./netns.ts";
import {
  type AddView,
  familyFromAddrs,
  gatewaysOf,
  hasFamily,
  hostVethName,
  linkAddrs,
  macFromPrefix,
  nodeIpsForPod,
  planHost,
  type PlannedRule,
  planPod,
  POD_VETH,
  podSysctls,
  randomMac,
  REPLY_TABLE,
  resolveMode,
  RULE_PRIORITY,
} from "./plan.ts";
import {
  type AttachmentState,
  listStates,
  loadState,
  removeState,
  saveState,
  stateDir,
} from "./state.ts";
import { readSysctls, writeSysctls } from "./sysctl.ts";
import type { Result } from "./types.ts";

/** Undo log of one ADD: what it created, in the order it did. */
interface Undo {
  vethCreated?: string;
  hostRoutes?: { hostVeth: string; ips: string[]; table: number };
  podRules: PlannedRule[];
  mangle: { family: 4 | 6; rules: string[] }[];
  state?: boolean;
  /** The node batch ran (its rule may need dropping again). */
  hostTouched?: boolean;
  v6: boolean;
}

function linkByName(links: readonly IpLink[], name: string): IpLink | undefined {
  return links.find((l) => l.ifname === name);
}

function isFwmarkRule(r: IpRule): boolean {
  return r.fwmark === "0x1" && r.table === String(REPLY_TABLE) && r.priority === RULE_PRIORITY;
}

async function rollback(netns: string, undo: Undo, ctx: CmdContext): Promise<void> {
  const hostCleanups: HostCleanup[] = [];
  if (undo.vethCreated !== undefined || undo.hostRoutes !== undefined) {
    hostCleanups.push(
      undo.vethCreated !== undefined
        ? { hostVeth: undo.vethCreated, deleteVeth: true, podIps: [], hostRuleTable: 0 }
        : {
          hostVeth: undo.hostRoutes!.hostVeth,
          deleteVeth: false,
          podIps: undo.hostRoutes!.ips,
          hostRuleTable: undo.hostRoutes!.table,
        },
    );
  }
  const pr = podRuleCleanupLines(undo.podRules);
  const [hostFailures, podFailures] = await Promise.all([
    undo.hostTouched
      ? withHostLock(() => cleanHost(hostCleanups, ctx.conf.hostRuleTable, undo.v6))
      : Promise.resolve([]),
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
      failures.push(`Cannot roll back mangle rules: ${err instanceof Error ? err.message : err}`);
    }
  }
  if (undo.state) {
    removeState(ctx.conf.name, ctx.env.containerId, ctx.env.ifname);
  }
  if (failures.length > 0) ctx.log.warn("ADD rollback incomplete", { failures });
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

/**
 * ADD (spec 3.1): configure the pod and the node for the current NIC and
 * return the previous result, with the NIC's new MAC when podMACPrefix
 * changed it. A failure part-way rolls back what this ADD created.
 *
 * @param ctx the call
 * @returns the result to print
 */
export async function cmdAdd(ctx: CmdContext): Promise<Result> {
  const { env, conf, log } = ctx;
  const prev = ctx.prevResult;
  if (prev === undefined) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "Missing prevResult: coordinator must run chained",
    );
  }
  const { netns, ifname } = env;
  const hintV6 = (prev.ips ?? []).some((ip) => familyOf(ip.address) === 6);
  // The reply-path mangle rules depend on nothing the reads return: for the
  // first NIC in underlay mode they go in while the pod is being read (in the
  // families of prevResult; checked against the NIC below).
  const early = (conf.mode === "auto" || conf.mode === "underlay") &&
      ifname === conf.podDefaultCniNic
    ? [...new Set((prev.ips ?? []).map((ip) => familyOf(ip.address)))]
    : [];
  // Likewise the node batch of a first underlay NIC needs only the NIC's
  // addresses, which prevResult names: it runs while the pod is read, and is
  // checked against the pod's real state below (undone when it differs).
  const guess = early.length > 0 ? guessHost(ctx, prev) : undefined;
  // The node batch (veth creation) is the critical path: it is started first.
  const specP = guess === undefined
    ? Promise.resolve(undefined)
    : runHost(guess.view, guess.hostMac);
  const [factsR, specR, ...earlyR] = await Promise.allSettled([
    readPodFacts(netns, { rules6: hintV6 }),
    specP,
    ...early.map((f) =>
      restore(f, restoreScript("-A", mangleRules(POD_VETH)), netns).then(() => f)
    ),
  ]);
  const earlyDone = earlyR.flatMap((r) => (r.status === "fulfilled" ? [r.value as 4 | 6] : []));
  const undo: Undo = {
    podRules: [],
    mangle: earlyDone.map((family) => ({ family, rules: mangleRules(POD_VETH) })),
    v6: guess?.view.family !== undefined && guess.view.family !== "v4",
  };
  let pre: PreHost | undefined;
  if (guess !== undefined && specR.status === "fulfilled" && specR.value !== undefined) {
    pre = { ...guess, ...specR.value };
    undo.hostTouched = true;
    const { hostVeth, current } = guess.view;
    if (pre.created) undo.vethCreated = hostVeth;
    else undo.hostRoutes = { hostVeth, ips: current, table: conf.hostRuleTable };
  }
  const failed = [factsR, specR, ...earlyR].find((r) => r.status === "rejected");
  try {
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    let facts = (factsR as PromiseFulfilledResult<PodFacts>).value;
    if (pre !== undefined && !preMatches(pre, facts, ifname)) {
      // The guess was wrong (or a re-run found the veth): undo it, read again.
      log.debug("Node batch guess did not match the pod; taking the checked path");
      const c: HostCleanup = {
        hostVeth: pre.view.hostVeth,
        deleteVeth: pre.created,
        podIps: pre.created ? [] : pre.view.current,
        hostRuleTable: conf.hostRuleTable,
      };
      const f = await withHostLock(() => cleanHost([c], conf.hostRuleTable, undo.v6));
      if (f.length > 0) throw new CniError(ErrorCode.NetworkSetupFailed, f.join("; "));
      delete undo.vethCreated;
      delete undo.hostRoutes;
      undo.hostTouched = false;
      pre = undefined;
      facts = await readPodFacts(netns, { rules6: hintV6 });
    }
    return await addSteps(ctx, prev, facts, earlyDone, undo, pre);
  } catch (err) {
    await rollback(netns, undo, ctx).catch((e) =>
      log.warn("ADD rollback failed", { error: String(e) })
    );
    throw err;
  }
}

/**
 * Import a module of this directory that only some calls need (detection, the
 * announce after a MAC change, and the Wasm codec behind them). The specifier is
 * computed, so Deno does not load these modules at start-up with the rest of the
 * graph (~2 ms of every ADD and DEL); `deno compile` embeds them through
 * LAZY_MODULES in mod/permissions.ts, which must list every name used here.
 */
function lazyImport<T>(name: `./${string}.ts`): Promise<T> {
  return import(new URL(name, import.meta.url).href) as Promise<T>;
}

async function dropMangle(families: readonly (4 | 6)[], netns: string): Promise<void> {
  for (const f of families) {
    await restore(f, restoreScript("-D", mangleRules(POD_VETH)), netns).catch(() => {});
  }
}

/** The node batch run on prevResult's addresses while the pod was read. */
interface PreHost {
  view: AddView;
  hostMac: string;
  created: boolean;
  outcomes: LineOutcome[];
  errors: LineOutcome[];
  reads: number;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a.map(canonicalIp));
  const y = new Set(b.map(canonicalIp));
  return x.size === y.size && [...x].every((v) => y.has(v));
}

/** The first-NIC underlay view that prevResult implies (undefined: no guess). */
function guessHost(ctx: CmdContext, prev: Result): { view: AddView; hostMac: string } | undefined {
  const { env, conf } = ctx;
  const ifIndex = (prev.interfaces ?? []).findIndex((i) => i.name === env.ifname && i.sandbox);
  const ips = (prev.ips ?? [])
    .filter((ip) => ip.interface === undefined || ip.interface === ifIndex)
    .map((ip) => canonicalIp(bareIp(ip.address)));
  const current = [
    ...ips.filter((ip) => familyOf(ip) === 4),
    ...ips.filter((ip) => familyOf(ip) === 6),
  ];
  if (current.length === 0) return undefined;
  const family = familyFromAddrs(current, env.ifname);
  const view: AddView = {
    conf,
    containerId: env.containerId,
    ifname: env.ifname,
    netns: env.netns,
    facts: { links: [], addrs: [], routes: [], rules4: [] },
    family,
    decision: { mode: "underlay", firstInvoke: true, table: 101, vethExists: false },
    current,
    allPodIps: current,
    podVeth: POD_VETH,
    podVethMac: randomMac(),
    hostVeth: hostVethName(env.containerId),
  };
  return { view, hostMac: randomMac() };
}

/** Whether the pod's real state is what the node batch assumed. */
function preMatches(pre: PreHost, facts: PodFacts, ifname: string): boolean {
  if (!pre.created) return false;
  const nicAddrs = linkAddrs(facts.addrs, ifname);
  if (nicAddrs.length === 0) return false;
  const family = familyFromAddrs(nicAddrs, ifname);
  const current = linkAddrs(facts.addrs, ifname, family);
  const all = facts.addrs
    .filter((a) => a.ifname !== "lo")
    .flatMap((a) => linkAddrs(facts.addrs, a.ifname, family));
  return family === pre.view.family && sameSet(current, pre.view.current) &&
    sameSet(all, pre.view.allPodIps);
}

/**
 * Run the node batch(es) of ADD under the host lock.
 *
 * @returns outcomes of the main batch, whether the veth was created, errors
 */
async function runHost(
  view: AddView,
  hostMac: string | undefined,
): Promise<{ outcomes: LineOutcome[]; created: boolean; errors: LineOutcome[]; reads: number }> {
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
      reads: host.reads,
    };
  });
}

/** ADD after the pod read: everything from mode resolution to the result. */
async function addSteps(
  ctx: CmdContext,
  prev: Result,
  facts: PodFacts,
  earlyDone: (4 | 6)[],
  undo: Undo,
  pre?: PreHost,
): Promise<Result> {
  const { env, conf, log } = ctx;
  const { netns, ifname, containerId } = env;
  const link = linkByName(facts.links, ifname);
  if (link === undefined) {
    throw new CniError(ErrorCode.NotFound, `Interface "${ifname}" not found in netns "${netns}"`);
  }
  const nicAddrs = linkAddrs(facts.addrs, ifname);
  const family = familyFromAddrs(nicAddrs, ifname);
  if (family !== "v4" && facts.rules6 === undefined) facts.rules6 = await readRules6(netns);
  const current = linkAddrs(facts.addrs, ifname, family);
  const decision = resolveMode(conf, ifname, facts, current);
  // veth0 may show up in the read when the node batch ran alongside it.
  if (pre !== undefined) decision.vethExists = false;
  const allPodIps = facts.addrs
    .filter((a) => a.ifname !== "lo")
    .flatMap((a) => linkAddrs(facts.addrs, a.ifname, family));
  log.debug("Pod facts read", { family, ...decision, current });

  const underlay = decision.mode === "underlay";
  const create = underlay && decision.firstInvoke && !decision.vethExists;
  let hostVeth = hostVethName(containerId);
  let podVeth = POD_VETH;
  let podVethMac: string;
  let hostMac: string;
  if (pre !== undefined) {
    podVethMac = pre.view.podVethMac;
    hostMac = pre.hostMac;
  } else if (create) {
    podVethMac = randomMac();
    hostMac = randomMac();
  } else {
    // Re-run, later NIC or overlay: the slower, checked path reads the node first.
    const podSide = linkByName(facts.links, underlay ? POD_VETH : conf.podDefaultCniNic);
    if (podSide === undefined) {
      throw new CniError(
        ErrorCode.NotFound,
        `Interface "${conf.podDefaultCniNic}" not found in netns "${netns}"`,
      );
    }
    if (!underlay && podSide.linkinfo?.info_kind !== "veth") {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `Interface "${podSide.ifname}" is not a veth: overlay mode needs the first NIC's veth pair`,
      );
    }
    podVeth = podSide.ifname;
    podVethMac = podSide.address ?? "";
    const read = await runBatch([{ args: ["link", "show"], read: true }]);
    const hostLinks = (read.outcomes[0]?.output ?? []) as IpLink[];
    const peer = hostLinks.find((l) => l.ifindex === podSide.link_index);
    const named = underlay ? linkByName(hostLinks, hostVeth) : peer;
    if (named === undefined || (underlay && peer?.ifname !== hostVeth)) {
      throw new CniError(
        ErrorCode.NotFound,
        `The node end of "${podSide.ifname}" (${
          underlay ? `"${hostVeth}"` : `ifindex ${podSide.link_index}`
        }) was not found`,
      );
    }
    hostVeth = named.ifname;
    hostMac = named.address ?? "";
  }
  const view: AddView = {
    conf,
    containerId,
    ifname,
    netns,
    facts,
    family,
    decision,
    current,
    allPodIps,
    podVeth,
    podVethMac,
    hostVeth,
  };
  undo.v6 = hasFamily(family, 6);
  const v6only = family === "v6";
  {
    const res = pre ?? await runHost(view, create ? hostMac : undefined);
    if (pre === undefined) {
      undo.hostTouched = true;
      if (res.created) undo.vethCreated = hostVeth;
      else undo.hostRoutes = { hostVeth, ips: current, table: conf.hostRuleTable };
    }
    if (res.errors.length > 0) {
      throw new CniError(
        ErrorCode.NetworkSetupFailed,
        batchErrorMessage("Cannot configure the node", res.errors),
      );
    }
    const outcomes = res.outcomes;
    if (create) {
      writeSysctlsQuiet([{ key: `net.ipv6.conf.${hostVeth}.accept_ra`, value: 0 }], log);
    }
    // The batch's first lines are one route get per pod IP it was planned with.
    const asked = pre?.view.allPodIps ?? allPodIps;
    const routeGets = asked.map((_, i) => (outcomes[i]?.output as IpRouteGet[] | undefined)?.[0]);
    const hostAddrs = (outcomes[asked.length]?.output ?? []) as IpAddrLink[];
    const nodeIps = nodeIpsForPod(routeGets, hostAddrs, family);
    log.debug("Node IPs for the pod", { nodeIps, hostVeth });

    // Detection and the MAC change (spec 3.1: 9 -> D1 -> 10 -> D2).
    let mac = link.address ?? "";
    const newMac = conf.podMACPrefix !== "" && nicAddrs[0] !== undefined
      ? macFromPrefix(conf.podMACPrefix, nicAddrs[0])
      : undefined;
    const macChange = newMac !== undefined && newMac !== mac.toLowerCase();
    if ((conf.detectIPConflict || conf.detectGateway || macChange) && !link.flags.includes("UP")) {
      await run(["ip", "link", "set", "dev", ifname, "up"], { netns });
    }
    const detect = conf.detectIPConflict || conf.detectGateway
      ? await lazyImport<typeof import("./detect.ts")>("./detect.ts")
      : undefined;
    if (detect && conf.detectIPConflict) {
      await detect.detectIpConflicts({
        netns,
        ifname,
        mac,
        ips: current,
        options: conf.detectOptions,
      });
    }
    if (macChange && newMac !== undefined) {
      await run(["ip", "link", "set", "dev", ifname, "address", newMac], { netns });
      mac = newMac;
      const { announce } = await lazyImport<typeof import("./announce.ts")>("./announce.ts");
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

    const podLinks = facts.links.map((l) => l.ifname);
    if (create) podLinks.push(POD_VETH);
    writeSysctls(podSysctls(conf, family, podLinks), netns);

    const pod = planPod(view, nodeIps, hostMac);
    for (const w of pod.warnings) log.warn(w);
    undo.podRules = pod.rules;
    const fwmarkExisted = [...facts.rules4, ...(facts.rules6 ?? [])].some(isFwmarkRule);
    const wanted = pod.mangle ? ([4, 6] as const).filter((f) => hasFamily(family, f)) : [];
    // Rules applied early in a family the NIC turned out not to have go again.
    const unwanted = earlyDone.filter((f) => !(wanted as readonly number[]).includes(f));
    await dropMangle(unwanted, netns);
    undo.mangle = undo.mangle.filter((m) => !unwanted.includes(m.family));
    const mangleTasks = wanted.map(async (f) => {
      if (earlyDone.includes(f)) {
        if (!fwmarkExisted) return;
        // A re-run: the earlier ADD's rules were there already; drop one copy.
        await restore(f, restoreScript("-D", mangleRules(POD_VETH)), netns);
        undo.mangle = undo.mangle.filter((m) => m.family !== f);
      }
      let rules = mangleRules(POD_VETH);
      // A fwmark rule means an earlier ADD reached this step: check first.
      if (fwmarkExisted) rules = missingRules(rules, await readMangle(f, netns));
      if (rules.length === 0) return;
      await restore(f, restoreScript("-A", rules), netns);
      undo.mangle.push({ family: f, rules });
    });
    // IPv6 only: the rules join the main batch, before its final address read.
    const podMain = v6only
      ? [...pod.lines.slice(0, -1), ...pod.lines6, ...pod.lines.slice(-1)]
      : pod.lines;
    const [podRes] = await Promise.all([
      runChecked(podMain, v6only ? { netns, family: 6 } : { netns }, "Cannot configure the pod"),
      !v6only && pod.lines6.length > 0
        ? runChecked(pod.lines6, { netns, family: 6 }, "Cannot configure the pod IPv6 rules")
        : undefined,
      ...mangleTasks,
    ]);
    if (family !== "v4") {
      const last = podRes.outcomes[podRes.outcomes.length - 1];
      await settleAddresses(netns, ifname, (last?.output as IpAddrLink[] | undefined)?.[0]);
    }

    const state: AttachmentState = {
      version: 1,
      network: conf.name,
      containerId,
      ifname,
      netns,
      mode: decision.mode,
      firstInvoke: decision.firstInvoke,
      hostVeth,
      hostVethCreated: underlay && decision.firstInvoke,
      podVeth,
      podVethMac,
      hostVethMac: hostMac,
      hostRuleTable: conf.hostRuleTable,
      table: decision.table,
      podIPs: current,
      nodeIPs: nodeIps,
      podRules: pod.rules,
      ...(macChange ? { mac } : {}),
    };
    saveState(state);
    undo.state = true;

    const result: Result = structuredClone(prev);
    if (macChange) {
      // The pod-side entry (with a sandbox); a result without sandboxes: by name.
      const named = (result.interfaces ?? []).filter((i) => i.name === ifname);
      const inPod = named.filter((i) => (i.sandbox ?? "") !== "");
      for (const i of inPod.length > 0 ? inPod : named) i.mac = mac;
    }
    return result;
  }
}

function writeSysctlsQuiet(
  writes: { key: string; value: number }[],
  log: CmdContext["log"],
): void {
  try {
    writeSysctls(writes);
  } catch (err) {
    log.warn("Cannot write a node sysctl", {
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

/** Whether the netns path can be entered (empty, missing or not a netns: no). */
function netnsUsable(path: string): boolean {
  if (path === "") return false;
  try {
    return inNetns(path, () => true);
  } catch {
    return false;
  }
}

async function hostCleanupFor(
  ctx: CmdContext,
  state: AttachmentState | undefined,
  usable: () => boolean,
): Promise<HostCleanup[]> {
  const { env, conf } = ctx;
  if (state !== undefined) {
    return [{
      hostVeth: state.hostVeth,
      deleteVeth: state.hostVethCreated,
      podIps: state.podIPs,
      hostRuleTable: state.hostRuleTable,
    }];
  }
  // No state (lost, or ADD never ran): derive what we can from the node.
  const out: HostCleanup[] = [];
  const hostVeth = hostVethName(env.containerId);
  if (env.ifname === conf.podDefaultCniNic && conf.mode !== "overlay") {
    out.push({ hostVeth, deleteVeth: true, podIps: [], hostRuleTable: conf.hostRuleTable });
    return out;
  }
  if (!usable()) return out;
  try {
    const facts = await readPodFacts(env.netns);
    const ips = linkAddrs(facts.addrs, env.ifname);
    if (ips.length === 0) return out;
    const veth0 = linkByName(facts.links, POD_VETH);
    const podSide = veth0 ?? linkByName(facts.links, conf.podDefaultCniNic);
    if (podSide?.link_index === undefined) return out;
    const read = await runBatch([{ args: ["link", "show"], read: true }]);
    const peer = ((read.outcomes[0]?.output ?? []) as IpLink[]).find((l) =>
      l.ifindex === podSide.link_index
    );
    if (peer === undefined || (veth0 !== undefined && peer.ifname !== hostVeth)) return out;
    out.push({
      hostVeth: peer.ifname,
      deleteVeth: false,
      podIps: ips,
      hostRuleTable: conf.hostRuleTable,
    });
  } catch (err) {
    ctx.log.warn("DEL cannot read the pod", {
      error: err instanceof Error ? err.message : String(err),
    });
  }
  return out;
}

/**
 * Wait for a node cleanup session. When its changes are all veth deletions
 * (one DEL of a first NIC, GC), they are done once the kernel has unlisted the
 * veths (with their routes and neighbours): the rest of a deletion, 10-30 ms of
 * RCU waits here that `ip` sits through before its answer, does not hold up
 * the call. `ip` receives that answer and ends on its own, also after this
 * process has exited. Anything else (a failure, other lines, a link list that
 * cannot be read) waits for `ip`.
 *
 * @param s the session, stdin closed, its reads printed
 * @param cleanups what it removes
 * @returns the outcomes (lines still in the kernel count as done)
 */
async function settle(s: BatchSession, cleanups: readonly HostCleanup[]): Promise<BatchResult> {
  const veths = cleanups.every((c) => c.deleteVeth) ? cleanups.map((c) => c.hostVeth) : [];
  while (veths.length > 0) {
    const p = s.progress;
    if (p.ended || p.failures.size > 0) break;
    let listed: Set<string>;
    try {
      listed = listedLinks();
    } catch {
      break; // the list cannot be read here: wait for ip
    }
    if (!veths.some((v) => listed.has(v))) return s.snapshot();
    await new Promise((r) => setTimeout(r, 1));
  }
  return await s.finish();
}

/**
 * Run node cleanups and drop the shared `from all lookup <table>` rule of a
 * family once its table holds no route of that family any more (the last pod
 * is gone), so that the node ends as it was before the first ADD. Must run
 * under the host lock: ADD adds the rule and its routes under the same lock.
 *
 * One `ip -batch` reads the routes and rules first, then deletes; its reads
 * are used as soon as they are printed: routes that this cleanup removes
 * (every route on a veth being deleted, the table routes of the pod IPs) do
 * not count, so the rule is dropped, by a second process, while the veth
 * deletion (15-25 ms of kernel time) still runs. Should the cleanup fail, the
 * rule is put back.
 *
 * @param cleanups what to remove
 * @param hostRuleTable the shared table
 * @param v6 the pod had IPv6 addresses
 * @returns failure messages
 */
async function cleanHost(
  cleanups: readonly HostCleanup[],
  hostRuleTable: number,
  v6: boolean,
): Promise<string[]> {
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
    return [`Cannot clean the node: ${err instanceof Error ? err.message : String(err)}`];
  }
  const n = reads.length;
  // Both reads print a value; a failed read (none expected) keeps the rule.
  const printed = await s.until((p) => p.values.length >= n);
  const snap = s.snapshot().outcomes;
  const readOk = printed && snap.slice(0, n).every((o) => o.error === undefined);
  const routes = (snap[0]?.output ?? []) as IpRoute[];
  const rules4 = (snap[1]?.output ?? []) as IpRule[];
  const table = String(hostRuleTable);
  const goes = (r: IpRoute) =>
    cleanups.some((c) =>
      r.dev === c.hostVeth &&
      (c.deleteVeth || c.podIps.some((ip) => canonicalIp(ip) === canonicalIp(bareIp(r.dst))))
    );
  const inTable = (f: 4 | 6) =>
    routes.some((r) =>
      r.table === table && !goes(r) &&
      (r.dst === "default" ? ("pref" in r ? 6 : 4) : familyOf(r.dst)) === f
    );
  const isHostRule = (r: IpRule) =>
    r.priority === RULE_PRIORITY && r.src === "all" && r.table === table && r.fwmark === undefined;
  const rule = ["pref", String(RULE_PRIORITY), "table", table];
  const families: (4 | 6)[] = [];
  if (readOk && rules4.some(isHostRule) && !inTable(4)) families.push(4);
  if (readOk && v6 && !inTable(6)) families.push(6);
  const drops = families.map((f) => ({
    lines: [{ args: ["rule", "del", ...rule], tolerate: GONE }],
    opts: f === 6 ? { family: 6 as const } : {},
    what: "Cannot drop the node rule",
  }));
  // Concurrently with the rest of the cleanup (the veth deletion).
  const dropped = runCleanup(drops);
  const failures: string[] = [];
  try {
    const res = await settle(s, cleanups);
    if (res.errors.length > 0) {
      failures.push(batchErrorMessage("Cannot clean the node", res.errors));
    }
  } catch (err) {
    failures.push(`Cannot clean the node: ${err instanceof Error ? err.message : String(err)}`);
  }
  failures.push(...await dropped);
  if (failures.length > 0 && drops.length > 0) {
    // Routes may be left: their rule must stay.
    const back = drops.map((d) => ({
      lines: [{ args: ["rule", "add", ...rule], tolerate: /File exists/ }],
      opts: d.opts,
      what: "Cannot restore the node rule",
    }));
    failures.push(...await runCleanup(back));
  }
  return failures;
}

/**
 * DEL (spec 4, cni-contract 7): remove every node-side trace of this
 * attachment, from the state file when there is one. Works with an empty or
 * missing netns, without prevResult, twice in a row and without an ADD. Only
 * the first NIC's DEL removes the veth pair. All failures are reported together.
 *
 * @param ctx the call
 */
export async function cmdDel(ctx: CmdContext): Promise<void> {
  const { env, conf, log } = ctx;
  const state = loadState(conf.name, env.containerId, env.ifname);
  // Entering the netns is only needed without state or for pod-side rules.
  const usable = () => netnsUsable(env.netns);
  const cleanups = await hostCleanupFor(ctx, state, usable);
  const batches: { lines: BatchLine[]; opts: { netns?: string; family?: 4 | 6 }; what: string }[] =
    [];
  // Hot-unplug of a later NIC: its `from` rules would outlive it in the pod.
  if (state !== undefined && state.podRules.length > 0 && usable()) {
    const pr = podRuleCleanupLines(state.podRules);
    batches.push({
      lines: pr.lines,
      opts: { netns: env.netns },
      what: "Cannot clean the pod rules",
    });
    batches.push({
      lines: pr.lines6,
      opts: { netns: env.netns, family: 6 },
      what: "Cannot clean the pod rules",
    });
  }
  const v6 = state?.podIPs.some((ip) => familyOf(ip) === 6) ?? false;
  const [podFailures, hostFailures] = await Promise.all([
    runCleanup(batches),
    withHostLock(() => cleanHost(cleanups, conf.hostRuleTable, v6)),
  ]);
  const failures = [...hostFailures, ...podFailures];
  if (failures.length > 0) {
    throw new CniError(ErrorCode.NetworkSetupFailed, failures.join("; "));
  }
  removeState(conf.name, env.containerId, env.ifname);
  log.debug("DEL cleaned", { cleanups: cleanups.length, state: state !== undefined });
}

/**
 * GC (cni-contract 11): clean the node for every attachment of this network
 * that has state but is not in the valid list.
 *
 * @param ctx the call
 * @param valid the attachments the runtime still uses
 */
export async function cmdGc(ctx: CmdContext, valid: Attachment[]): Promise<void> {
  const keep = new Set(valid.map((a) => `${a.containerID}\u0000${a.ifname}`));
  const failures: string[] = [];
  for (const s of listStates(ctx.conf.name)) {
    if (keep.has(`${s.containerId}\u0000${s.ifname}`)) continue;
    const c: HostCleanup = {
      hostVeth: s.hostVeth,
      deleteVeth: s.hostVethCreated,
      podIps: s.podIPs,
      hostRuleTable: s.hostRuleTable,
    };
    const v6 = s.podIPs.some((ip) => familyOf(ip) === 6);
    const f = await withHostLock(() => cleanHost([c], s.hostRuleTable, v6));
    if (f.length === 0) removeState(s.network, s.containerId, s.ifname);
    failures.push(...f);
    ctx.log.info("GC removed a stale attachment", { containerId: s.containerId, ifname: s.ifname });
  }
  if (failures.length > 0) throw new CniError(ErrorCode.NetworkSetupFailed, failures.join("; "));
}

function hasRoute(
  facts: { routes: import("./iproute.ts").IpRoute[] },
  dst: string,
  dev: string,
  table: string,
): boolean {
  return facts.routes.some((r) => r.dst === dst && r.dev === dev && (r.table ?? "main") === table);
}

/**
 * CHECK (cni-contract 8): compare the live pod and node with what ADD made
 * (from its state file) and fail with code 104 listing everything missing.
 *
 * @param ctx the call
 */
export async function cmdCheck(ctx: CmdContext): Promise<void> {
  const { env, conf } = ctx;
  const state = loadState(conf.name, env.containerId, env.ifname);
  if (state === undefined) {
    throw new CniError(
      ErrorCode.CheckFailed,
      `No record of an ADD for container "${env.containerId}" interface "${env.ifname}"`,
    );
  }
  const v6 = state.podIPs.some((ip) => familyOf(ip) === 6) ||
    state.nodeIPs.some((ip) => familyOf(ip) === 6);
  const [pod, host] = await Promise.all([
    readPodFacts(env.netns, { rules6: true, neigh: true }),
    readHostFacts(),
  ]);
  const missing: string[] = [];
  const nic = linkByName(pod.links, env.ifname);
  if (nic === undefined) missing.push(`interface "${env.ifname}"`);
  else {
    if (!nic.flags.includes("UP")) missing.push(`"${env.ifname}" is down`);
    if (state.mac !== undefined && nic.address !== state.mac) {
      missing.push(`"${env.ifname}" MAC "${nic.address}" is not "${state.mac}"`);
    }
    if (conf.txQueueLen > 0 && (nic.txqlen ?? 0) !== conf.txQueueLen) {
      missing.push(`"${env.ifname}" txqueuelen ${nic.txqlen ?? 0} is not ${conf.txQueueLen}`);
    }
  }
  const podVeth = linkByName(pod.links, state.podVeth);
  const hostVeth = linkByName(host.links, state.hostVeth);
  if (podVeth === undefined) missing.push(`pod interface "${state.podVeth}"`);
  else if (state.mode === "underlay" && podVeth.address !== state.podVethMac) {
    missing.push(`"${state.podVeth}" MAC "${podVeth.address}" is not "${state.podVethMac}"`);
  }
  if (hostVeth === undefined) missing.push(`node interface "${state.hostVeth}"`);
  else if (podVeth !== undefined && podVeth.link_index !== hostVeth.ifindex) {
    missing.push(`"${state.hostVeth}" is not the peer of "${state.podVeth}"`);
  }
  const table = String(state.hostRuleTable);
  for (const ip of state.podIPs) {
    if (!hasRoute(host, ip, state.hostVeth, table)) {
      missing.push(`node route "${ip}" dev "${state.hostVeth}" table ${table}`);
    }
    const n = host.neigh.find((x) => x.dst === ip && x.dev === state.hostVeth);
    if (
      n === undefined || n.lladdr !== state.podVethMac || !(n.state ?? []).includes("PERMANENT")
    ) {
      missing.push(`node neighbour "${ip}" lladdr "${state.podVethMac}" dev "${state.hostVeth}"`);
    }
  }
  for (const f of [4, 6] as const) {
    if (!state.podIPs.some((ip) => familyOf(ip) === f)) continue;
    const rules = f === 4 ? host.rules4 : host.rules6;
    if (!rules.some((r) => r.priority === RULE_PRIORITY && r.src === "all" && r.table === table)) {
      missing.push(`node IPv${f} rule "${RULE_PRIORITY}: from all lookup ${table}"`);
    }
  }
  const podTable = String(state.table);
  for (const h of state.nodeIPs) {
    if (!hasRoute(pod, h, state.podVeth, podTable)) {
      missing.push(`pod route "${h}" dev "${state.podVeth}" table ${podTable}`);
    }
    if (state.firstInvoke) {
      if (!hasRoute(pod, h, state.podVeth, "main")) {
        missing.push(`pod route "${h}" dev "${state.podVeth}"`);
      }
      const n = (pod.neigh ?? []).find((x) => x.dst === h && x.dev === state.podVeth);
      if (n === undefined || n.lladdr !== state.hostVethMac) {
        missing.push(`pod neighbour "${h}" lladdr "${state.hostVethMac}" dev "${state.podVeth}"`);
      }
    }
  }
  for (const r of state.podRules) {
    const rules = r.family === 4 ? pod.rules4 : pod.rules6 ?? [];
    const ok = rules.some((x) =>
      x.priority === r.priority && canonicalIp(x.src) === canonicalIp(r.src) &&
      x.table === String(r.table)
    );
    if (!ok) missing.push(`pod rule "${r.priority}: from ${r.src} lookup ${r.table}"`);
  }
  if (state.mode === "underlay" && state.firstInvoke) {
    for (const f of [4, 6] as const) {
      const fam = f === 4 ? state.podIPs.some((ip) => familyOf(ip) === 4) : v6;
      if (!fam) continue;
      const rules = f === 4 ? pod.rules4 : pod.rules6 ?? [];
      if (!rules.some(isFwmarkRule)) {
        missing.push(`pod IPv${f} rule "1000: from all fwmark 0x1 lookup 100"`);
      }
      const present = await readMangle(f, env.netns);
      for (const m of missingRules(mangleRules(POD_VETH), present)) {
        missing.push(`pod ${f === 4 ? "iptables" : "ip6tables"} mangle rule "-A ${m}"`);
      }
    }
    if (!pod.routes.some((r) => r.table === String(REPLY_TABLE) && r.dev === POD_VETH)) {
      missing.push(`pod default route in table ${REPLY_TABLE}`);
    }
  }
  if (conf.podRPFilter >= 0) {
    const keys = ["all", "default", env.ifname].map((n) => `net.ipv4.conf.${n}.rp_filter`);
    for (const [k, val] of readSysctls(keys, env.netns)) {
      if (val !== undefined && val !== String(conf.podRPFilter)) {
        missing.push(`pod sysctl "${k}" is ${val}, not ${conf.podRPFilter}`);
      }
    }
  }
  if (missing.length > 0) {
    throw new CniError(
      ErrorCode.CheckFailed,
      `CHECK of "${env.ifname}" found differences: ${missing.join("; ")}`,
    );
  }
}

function onPath(name: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      if (st.isFile && ((st.mode ?? 0o755) & 0o111) !== 0) return true;
    } catch { /* next */ }
  }
  return false;
}

/**
 * STATUS (cni-contract 10): ready when `ip` runs, the iptables restore tools
 * are there and the state and lock directories are writable; else code 50.
 * The network itself is not probed.
 *
 * @param _ctx the call
 */
export async function cmdStatus(_ctx: CmdContext): Promise<void> {
  const problems: string[] = [];
  try {
    await run(["ip", "-V"]);
  } catch (err) {
    problems.push(`"ip" cannot run: ${err instanceof Error ? err.message : err}`);
  }
  for (const tool of ["iptables-restore", "ip6tables-restore"]) {
    if (!onPath(tool)) problems.push(`"${tool}" is not on PATH`);
  }
  const dir = stateDir();
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const probe = `${dir}/.status-${Deno.pid}`;
    Deno.writeTextFileSync(probe, "");
    Deno.removeSync(probe);
  } catch (err) {
    problems.push(
      `State directory "${dir}" is not writable: ${err instanceof Error ? err.message : err}`,
    );
  }
  try {
    await withHostLock(() => Promise.resolve());
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  }
  if (problems.length > 0) {
    throw new CniError(ErrorCode.StatusNotAvailable, `Plugin not ready: ${problems.join("; ")}`);
  }
}
