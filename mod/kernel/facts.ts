/**
 * Read the pod's (and for CHECK the node's) network state with as few `ip`
 * processes as possible: one `ip -j -d -batch -` for links, addresses, routes
 * of every table and IPv4 rules, and, only when IPv6 rules matter, one
 * `ip -6 -j rule show` next to it (iproute2 cannot switch family per batch line).
 *
 * Requires `--allow-run=ip` and `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import { readPodFacts } from "./facts.ts";
 * const facts = await readPodFacts("/var/run/netns/pod", { rules6: true });
 * ```
 *
 * @module
 */

import { CniError, ErrorCode } from "../errors.ts";
import {
  batchErrorMessage,
  type BatchLine,
  type IpAddrLink,
  type IpLink,
  type IpNeigh,
  type IpRoute,
  type IpRule,
  runBatch,
} from "./iproute.ts";

/** What the pod looks like before (or after) the plugin acts. */
export interface PodFacts {
  links: IpLink[];
  addrs: IpAddrLink[];
  /** Routes of every table, both families. */
  routes: IpRoute[];
  rules4: IpRule[];
  /** IPv6 rules, when they were read. */
  rules6?: IpRule[];
  /** Neighbours, when they were read (CHECK). */
  neigh?: IpNeigh[];
}

/** Options of {@linkcode readPodFacts}. */
export interface ReadPodOptions {
  /** Also read the IPv6 rules (a second process, run concurrently). */
  rules6?: boolean;
  /** Also read the neighbour table. */
  neigh?: boolean;
}

/**
 * The read lines of the pod facts batch.
 *
 * @param withNeigh also read neighbours
 * @returns the batch lines
 */
export function podReadLines(withNeigh = false): BatchLine[] {
  const lines: BatchLine[] = [
    { args: ["link", "show"], read: true },
    { args: ["addr", "show"], read: true },
    { args: ["route", "show", "table", "all"], read: true },
    { args: ["rule", "show"], read: true },
  ];
  if (withNeigh) lines.push({ args: ["neigh", "show"], read: true });
  return lines;
}

/**
 * Read the pod netns.
 *
 * @param netns pod netns path
 * @param opts what else to read
 * @returns the facts
 * @throws CniError 102/103 when the netns cannot be entered or read
 */
export async function readPodFacts(netns: string, opts: ReadPodOptions = {}): Promise<PodFacts> {
  const lines = podReadLines(opts.neigh ?? false);
  const [main, r6] = await Promise.all([
    runBatch(lines, { netns }),
    opts.rules6 ? readRules6(netns) : Promise.resolve(undefined),
  ]);
  if (main.errors.length > 0) {
    throw new CniError(
      ErrorCode.NetworkSetupFailed,
      batchErrorMessage("Cannot read the pod network state", main.errors),
    );
  }
  const out = main.outcomes.map((o) => o.output as unknown[]);
  const facts: PodFacts = {
    links: (out[0] ?? []) as IpLink[],
    addrs: (out[1] ?? []) as IpAddrLink[],
    routes: (out[2] ?? []) as IpRoute[],
    rules4: (out[3] ?? []) as IpRule[],
  };
  if (opts.neigh) facts.neigh = (out[4] ?? []) as IpNeigh[];
  if (r6 !== undefined) facts.rules6 = r6;
  return facts;
}

/**
 * Read the IPv6 rules of a netns (or of the current one).
 *
 * @param netns netns path or undefined for the current netns
 * @returns the rules
 */
export async function readRules6(netns?: string): Promise<IpRule[]> {
  const res = await runBatch(
    [{ args: ["rule", "show"], read: true }],
    netns === undefined ? { family: 6 } : { family: 6, netns },
  );
  if (res.errors.length > 0) {
    throw new CniError(
      ErrorCode.NetworkSetupFailed,
      batchErrorMessage("Cannot read the IPv6 rules", res.errors),
    );
  }
  return (res.outcomes[0]?.output ?? []) as IpRule[];
}

/** The node's state that CHECK compares. */
export interface HostFacts {
  links: IpLink[];
  routes: IpRoute[];
  rules4: IpRule[];
  rules6: IpRule[];
  neigh: IpNeigh[];
}

/**
 * Read the node (the plugin's own netns) for CHECK.
 *
 * @returns the facts
 */
export async function readHostFacts(): Promise<HostFacts> {
  const [main, rules6] = await Promise.all([
    runBatch([
      { args: ["link", "show"], read: true },
      { args: ["route", "show", "table", "all"], read: true },
      { args: ["rule", "show"], read: true },
      { args: ["neigh", "show"], read: true },
    ]),
    readRules6(),
  ]);
  if (main.errors.length > 0) {
    throw new CniError(
      ErrorCode.NetworkSetupFailed,
      batchErrorMessage("Cannot read the node network state", main.errors),
    );
  }
  const out = main.outcomes.map((o) => o.output as unknown[]);
  return {
    links: (out[0] ?? []) as IpLink[],
    routes: (out[1] ?? []) as IpRoute[],
    rules4: (out[2] ?? []) as IpRule[],
    rules6,
    neigh: (out[3] ?? []) as IpNeigh[],
  };
}
