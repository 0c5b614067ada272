/**
 * Read the pod's (and the node's) network state with as few `ip` processes as
 * possible: one `ip -j -d -batch -` for links, addresses, routes of every
 * table (both families) and IPv4 rules, and, only when IPv6 rules matter, an
 * `ip -6` process beside it (iproute2 cannot switch family per batch line).
 * The answers are checked types (`./ip_json.ts`), read by name.
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

import { READ } from "./intent.ts";
import type { IpAddrLink, IpLink, IpNeigh, IpRoute, IpRule } from "./ip_json.ts";
import { runIpChecked } from "./iproute.ts";

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

/** The reads of the pod facts. */
const POD_READS = {
  links: READ.links(),
  addrs: READ.addrs(),
  routes: READ.routes(),
  rules4: READ.rules(4),
} as const;

/**
 * Read the pod netns.
 *
 * @param netns pod netns path
 * @param opts what else to read
 * @returns the facts
 * @throws CniError 102/103 when the netns cannot be entered or read
 */
export async function readPodFacts(netns: string, opts: ReadPodOptions = {}): Promise<PodFacts> {
  const { before } = await runIpChecked(
    {
      before: {
        ...POD_READS,
        ...(opts.rules6 ? { rules6: READ.rules(6) } : {}),
        ...(opts.neigh ? { neigh: READ.neighs() } : {}),
      },
    },
    { netns },
    "Cannot read the pod network state",
  );
  return before;
}

/**
 * Read the IPv6 rules of a netns (or of the current one).
 *
 * @param netns netns path or undefined for the current netns
 * @returns the rules
 */
export async function readRules6(netns?: string): Promise<IpRule[]> {
  const where = netns === undefined ? {} : { netns };
  const { before } = await runIpChecked(
    { before: { rules6: READ.rules(6) } },
    where,
    "Cannot read the IPv6 rules",
  );
  return before.rules6;
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
  const { before } = await runIpChecked(
    {
      before: {
        links: READ.links(),
        routes: READ.routes(),
        rules4: READ.rules(4),
        rules6: READ.rules(6),
        neigh: READ.neighs(),
      },
    },
    {},
    "Cannot read the node network state",
  );
  return before;
}

/**
 * The node's links (the plugin's own netns).
 *
 * @returns the links
 */
export async function readNodeLinks(): Promise<IpLink[]> {
  const { before } = await runIpChecked(
    { before: { links: READ.links() } },
    {},
    "Cannot read the node's links",
  );
  return before.links;
}
