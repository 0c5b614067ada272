/**
 * Per-attachment state: what ADD made for one (network, container, ifname),
 * so that DEL and GC can clean the node even when the pod netns is gone and
 * no prevResult is given. Files live under
 * `/run/cni/coordinator/<network>/<containerId>_<ifname>.json` (tmpfs: the
 * netns and veths do not survive a reboot either).
 *
 * Requires `--allow-read` and `--allow-write=/run/cni`.
 *
 * @example
 * ```ts ignore
 * import { loadState } from "./state.ts";
 * const s = loadState("net", "cid", "eth0");
 * ```
 *
 * @module
 */

import { CniError, ErrorCode } from "../errors.ts";
import type { ConnmarkIntent, IpIntent, SysctlIntent } from "./intent.ts";

/** Default state root. */
export const DEFAULT_STATE_DIR = "/run/cni/coordinator";

/** A route ADD added in the pod, as a version 2 record holds it (`ip -j route` spelling). */
export interface RecordedRoute {
  /** "default", a bare address for a host route, else the prefix. */
  dst: string;
  via?: string;
  dev: string;
  /** "main" or the number. */
  table: string;
  family: 4 | 6;
}

/**
 * The state file version written now: 3 records the intents ADD applied;
 * version 1 (no pod record) and 2 (routes and sysctls only) files are still
 * read.
 */
export const STATE_VERSION = 3;

/** A pod `from` rule an attachment added (DEL removes it). */
export interface PodRule {
  family: 4 | 6;
  priority: number;
  src: string;
  table: number;
}

/** What one ADD made on the node and in the pod. */
export interface AttachmentState {
  /** 1: before the pod record; 2: with it; 3: with the applied intents. */
  version: 1 | 2 | 3;
  network: string;
  containerId: string;
  ifname: string;
  netns: string;
  mode: "underlay" | "overlay";
  firstInvoke: boolean;
  /** Host end of the veth used for pod <-> node traffic. */
  hostVeth: string;
  /** True when this attachment created the veth pair (underlay first NIC). */
  hostVethCreated: boolean;
  /** Pod end (veth0 or eth0). */
  podVeth: string;
  podVethMac: string;
  hostVethMac: string;
  /** Host table of the /32 routes to the pod. */
  hostRuleTable: number;
  /** Pod policy table of this NIC. */
  table: number;
  /** Addresses of the current NIC (routes and neighbours on the node). */
  podIPs: string[];
  /** Node addresses routed through the veth. */
  nodeIPs: string[];
  /** Pod `from` rules this attachment added. */
  podRules: PodRule[];
  /** The NIC's MAC after ADD (podMACPrefix) or undefined. */
  mac?: string;
  /** Version 2: what ADD set in the pod, item by item, for CHECK. */
  pod?: PodRecord;
  /** Version 3: the intents ADD applied, for CHECK. */
  applied?: AppliedRecord;
}

/** What ADD set in the pod besides rules and neighbours (state version 2). */
export interface PodRecord {
  /** Every route ADD added (node IPs, Service, overlay pod CIDR, hijack, policy, tables). */
  routes: RecordedRoute[];
  /** Main-table routes ADD removed (route tuning moved them to the NIC's table). */
  removed?: RecordedRoute[];
  /** The pod sysctls ADD wrote (optional ones may be missing). */
  sysctls: { key: string; value: number; optional?: boolean }[];
  /** MTU of the pod end of the pair, when ADD created it. */
  vethMTU?: number;
  /** txqueuelen ADD set on the NIC (0: left alone). */
  txQueueLen: number;
  /** podMACPrefix ("" = none). */
  macPrefix: string;
}

/** The intents one ADD applied (state version 3): CHECK compares exactly these. */
export interface AppliedRecord {
  /** `ip` changes on the node (the veth pair, the shared rule, table routes, neighbours). */
  node: IpIntent[];
  /** `ip` changes in the pod (links, the NIC's MAC, addresses, routes, rules, neighbours). */
  pod: IpIntent[];
  /** Sysctls written in the pod. */
  sysctls: SysctlIntent[];
  /** Sysctls written on the node (the node end of a pair ADD made). */
  nodeSysctls: SysctlIntent[];
  /** The pod's connmark rules (the underlay reply path). */
  mangle: ConnmarkIntent[];
  /** MTU of the pair's ends, when the pair is the coordinator's own. */
  vethMTU?: number;
}

function readable(s: unknown): s is AttachmentState {
  const v = (s as { version?: unknown } | null)?.version;
  return v === 1 || v === 2 || v === 3;
}

/**
 * The state root: `COORDINATOR_STATE_DIR` when set (tests), else the default.
 *
 * @returns the directory
 */
export function stateDir(): string {
  return Deno.env.get("COORDINATOR_STATE_DIR") || DEFAULT_STATE_DIR;
}

function safe(part: string): string {
  if (!/^[A-Za-z0-9_.\-]+$/.test(part) || part === "." || part === "..") {
    throw new CniError(ErrorCode.InvalidEnvironment, `Unsafe name "${part}" for a state file`);
  }
  return part;
}

/**
 * Path of one attachment's state file.
 *
 * @param network network name
 * @param containerId CNI_CONTAINERID
 * @param ifname CNI_IFNAME
 * @returns the path
 */
export function statePath(network: string, containerId: string, ifname: string): string {
  return `${stateDir()}/${safe(network)}/${safe(containerId)}_${safe(ifname)}.json`;
}

/**
 * Write the state (atomically: temp file + rename).
 *
 * @param s the state
 * @throws CniError 5 when the file cannot be written (naming it and why)
 */
export function saveState(s: AttachmentState): void {
  const path = statePath(s.network, s.containerId, s.ifname);
  const dir = path.slice(0, path.lastIndexOf("/"));
  const tmp = `${path}.tmp${Deno.pid}`;
  const text = JSON.stringify(s) + "\n";
  for (let attempt = 0;; attempt++) {
    try {
      Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
      Deno.writeTextFileSync(tmp, text, { mode: 0o600 });
      Deno.renameSync(tmp, path);
      return;
    } catch (err) {
      // The last DEL of the network may have removed its emptied folder in
      // between (removeState): make it again, once.
      if (err instanceof Deno.errors.NotFound && attempt === 0) continue;
      if (!(err instanceof Error)) throw err;
      throw new CniError(
        ErrorCode.IoFailure,
        `Cannot record the attachment in "${path}": ${err.message}`,
        { cause: err },
      );
    }
  }
}

/**
 * Read the state, if any (an unreadable or corrupt file counts as none).
 *
 * @param network network name
 * @param containerId CNI_CONTAINERID
 * @param ifname CNI_IFNAME
 * @returns the state or undefined
 */
export function loadState(
  network: string,
  containerId: string,
  ifname: string,
): AttachmentState | undefined {
  try {
    const s = JSON.parse(Deno.readTextFileSync(statePath(network, containerId, ifname)));
    return readable(s) ? s : undefined;
  } catch (err) {
    // A name unsafe for a path (CniError) never had a state file either.
    if (noState(err) || err instanceof CniError) return undefined;
    throw err;
  }
}

/** A state file that is missing, unreadable or corrupt counts as none. */
function noState(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory ||
    err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.IsADirectory ||
    err instanceof SyntaxError;
}

/**
 * Remove the state file (missing is fine).
 *
 * @param network network name
 * @param containerId CNI_CONTAINERID
 * @param ifname CNI_IFNAME
 * @throws CniError 5 when the file is there and cannot be removed
 */
export function removeState(network: string, containerId: string, ifname: string): void {
  const path = statePath(network, containerId, ifname);
  try {
    Deno.removeSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      // Gone already: the folder below may still go.
    } else if (err instanceof Error) {
      throw new CniError(ErrorCode.IoFailure, `Cannot remove "${path}": ${err.message}`, {
        cause: err,
      });
    } else throw err;
  }
  // The network's folder goes with its last attachment, so that the node ends
  // as it was; a folder that still holds another attachment stays.
  try {
    Deno.removeSync(path.slice(0, path.lastIndexOf("/")));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound) && !isNotEmpty(err)) throw err;
  }
}

function isNotEmpty(err: unknown): boolean {
  return err instanceof Error && "code" in err && err.code === "ENOTEMPTY";
}

/**
 * All attachments of a network that have state.
 *
 * @param network network name
 * @returns their states
 */
export function listStates(network: string): AttachmentState[] {
  const dir = `${stateDir()}/${safe(network)}`;
  const out: AttachmentState[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return out; // no ADD of this network yet
    throw err;
  }
  for (const e of entries) {
    if (!e.isFile || !e.name.endsWith(".json")) continue;
    try {
      const s = JSON.parse(Deno.readTextFileSync(`${dir}/${e.name}`));
      if (readable(s) && s.network === network) out.push(s);
    } catch (err) {
      if (!noState(err)) throw err;
    }
  }
  return out;
}
