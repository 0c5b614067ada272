/**
 * The commands' kernel port: every read, batch, lock, state file, sysctl and
 * probe a command needs, as one interface ({@linkcode Kernel}), the way the
 * CNI skeleton injects its environment and stdin. The plugin runs with
 * {@linkcode REAL_KERNEL} (the gateways of `mod/kernel/` and, loaded only when
 * configured, `mod/detect/`); the unit tests of `tests/unit/commands/` run
 * whole commands without root on a recording fake, so that rollback after a
 * failure at each step, a re-run, DEL without a record and CHECK are
 * exercised everywhere.
 *
 * @example
 * ```ts ignore
 * import { cmdAdd } from "./add.ts";
 * import { REAL_KERNEL } from "./port.ts";
 * const result = await cmdAdd(ctx, REAL_KERNEL);
 * ```
 *
 * @module
 */

import type { AnnounceArgs } from "../detect/announce.ts";
import type { DetectGatewaysArgs, DetectIpConflictsArgs } from "../detect/detect.ts";
import { cleanStreamed, type Cleanup, runCleanups, type StreamedCleanup } from "../kernel/apply.ts";
import {
  type HostFacts,
  type PodFacts,
  readHostFacts,
  readNodeLinks,
  readPodFacts,
  type ReadPodOptions,
  readRules6,
} from "../kernel/facts.ts";
import type { ConnmarkIntent, Family, SysctlIntent } from "../kernel/intent.ts";
import type { IpLink, IpRule } from "../kernel/ip_json.ts";
import {
  type IpBatch,
  type IpOutcome,
  type IpWhere,
  type NoReads,
  type Reads,
  runIp,
} from "../kernel/iproute.ts";
import { missingInNetns, restore } from "../kernel/iptables.ts";
import { withHostLock } from "../kernel/lock.ts";
import { inNetns } from "../kernel/netns.ts";
import {
  type AttachmentState,
  listStates,
  loadState,
  removeState,
  saveState,
} from "../kernel/state.ts";
import { readSysctls, writeSysctls } from "../kernel/sysctl.ts";
import { CniError } from "../errors.ts";

/** The state files of attachments (`mod/kernel/state.ts`). */
export interface StatePort {
  load(network: string, containerId: string, ifname: string): AttachmentState | undefined;
  save(s: AttachmentState): void;
  remove(network: string, containerId: string, ifname: string): void;
  list(network: string): AttachmentState[];
}

/** IP conflict and gateway detection, and announcements (`mod/detect/`). */
export interface DetectPort {
  conflicts(args: DetectIpConflictsArgs): Promise<void>;
  gateways(args: DetectGatewaysArgs): Promise<void>;
  announce(args: AnnounceArgs): Promise<string[]>;
}

/** Everything a command does to, or reads from, the pod and the node. */
export interface Kernel {
  /** Read the pod (links, addresses, routes, IPv4 rules; IPv6 rules and neighbours on demand). */
  readPod(netns: string, opts?: ReadPodOptions): Promise<PodFacts>;
  /** Read a pod's IPv6 rules. */
  readRules6(netns: string): Promise<IpRule[]>;
  /** Read the node (links, routes, rules of both families, neighbours). */
  readNode(): Promise<HostFacts>;
  /** Read the node's links. */
  readNodeLinks(): Promise<IpLink[]>;
  /** Run a batch of intents and named reads (`kernel/iproute.ts` runIp). */
  run<B extends Reads = NoReads, A extends Reads = NoReads>(
    batch: IpBatch<B, A>,
    where?: IpWhere,
  ): Promise<IpOutcome<B, A>>;
  /** Run clean-up batches, failures as text. */
  cleanups(c: readonly Cleanup[]): Promise<string[]>;
  /** The node's streamed clean-up (`kernel/apply.ts`). */
  cleanNode<R extends Reads>(c: StreamedCleanup<R>): Promise<string[]>;
  /** Write sysctls (in a pod, or on the node). */
  writeSysctls(writes: readonly SysctlIntent[], netns?: string): void;
  /** Read sysctls (missing keys: undefined). */
  readSysctls(keys: readonly string[], netns?: string): Map<string, string | undefined>;
  /** The connmark rules of `wanted` missing in a pod. */
  missingMangle(wanted: readonly ConnmarkIntent[], netns: string): Promise<ConnmarkIntent[]>;
  /** Append (-A) or delete (-D) connmark rules in a pod, one process per family. */
  mangle(op: "-A" | "-D", rules: readonly ConnmarkIntent[], netns: string): Promise<void>;
  /** Run under the host-wide lock. */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  state: StatePort;
  /** Whether a netns path can be entered (empty, missing or not a netns: no). */
  netnsUsable(path: string): boolean;
  detect: DetectPort;
  /** Wait (polls). */
  sleep(ms: number): Promise<void>;
}

function netnsUsable(path: string): boolean {
  if (path === "") return false;
  try {
    return inNetns(path, () => true);
  } catch (err) {
    if (err instanceof CniError) return false;
    throw err;
  }
}

async function mangle(
  op: "-A" | "-D",
  rules: readonly ConnmarkIntent[],
  netns: string,
): Promise<void> {
  const families: Family[] = [...new Set(rules.map((r) => r.family))];
  await Promise.all(families.map((f) => restore(op, rules.filter((r) => r.family === f), netns)));
}

/** The kernel of the plugin: the gateways of `mod/kernel/`, detection loaded on demand. */
export const REAL_KERNEL: Kernel = {
  readPod: readPodFacts,
  readRules6,
  readNode: readHostFacts,
  readNodeLinks,
  run: runIp,
  cleanups: runCleanups,
  cleanNode: cleanStreamed,
  writeSysctls,
  readSysctls,
  missingMangle: missingInNetns,
  mangle,
  withLock: (fn) => withHostLock(fn),
  state: { load: loadState, save: saveState, remove: removeState, list: listStates },
  netnsUsable,
  detect: {
    conflicts: async (args) => (await import("../detect/detect.ts")).detectIpConflicts(args),
    gateways: async (args) => (await import("../detect/detect.ts")).detectGateways(args),
    announce: async (args) => (await import("../detect/announce.ts")).announce(args),
  },
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};
