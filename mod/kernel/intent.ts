/**
 * The plans as data: every change the plugin makes to a pod or the node is a
 * typed intent (a route, a rule, a neighbour, a link, an address, a sysctl, a
 * connmark rule), and every read is a typed, named request. The planners
 * (`mod/plan/`) produce them; `./iproute.ts` and `./iptables.ts` alone turn
 * them into `ip -batch` lines and `iptables-restore` text; the state file
 * records the intents ADD applied; CHECK compares them with the facts read
 * back (`mod/plan/check.ts`); `explain` prints them (`mod/plan/render.ts`).
 * Nothing here knows iproute2's syntax. Pure data and small pure helpers.
 *
 * Addresses are canonical (`canonicalIp`), destinations are CIDRs with their
 * prefix length ("10.6.212.101/32", "0.0.0.0/0"), so an intent never needs
 * its family guessed from "default".
 *
 * @example
 * ```ts
 * import { familyOfIntent, type RouteIntent } from "./intent.ts";
 * const r: RouteIntent = { kind: "route", op: "add", dst: "::/0", dev: "veth0", table: 100 };
 * if (familyOfIntent(r) !== 6) throw new Error("family");
 * ```
 *
 * @module
 */

import { familyOf } from "../ip.ts";

/** An address family. */
export type Family = 4 | 6;

/**
 * The outcome besides success that a change accepts: "exists" (an add whose
 * object is there already, e.g. the rule all pods share) or "gone" (a
 * deletion of something already removed).
 */
export type Tolerate = "exists" | "gone";

/** A routing table: a number, or the main table. */
export type Table = number | "main";

/** A veth pair made from the node, its peer moved into a pod netns at once. */
export interface VethIntent {
  kind: "veth";
  /** The node end. */
  name: string;
  mac: string;
  mtu: number;
  txqueuelen: number;
  /** The pod end, created in `netns`. */
  peer: string;
  peerMac: string;
  /** The pod netns path. */
  netns: string;
}

/** Settings of an existing link (each one set when given). */
export interface LinkIntent {
  kind: "link";
  dev: string;
  up?: true;
  txqueuelen?: number;
  mac?: string;
}

/** A link deleted (its peer, routes and neighbours go with it). */
export interface LinkDelIntent {
  kind: "link-del";
  dev: string;
  tolerate?: "gone";
}

/** An address added to a link. */
export interface AddrIntent {
  kind: "addr";
  dev: string;
  /** Address with prefix length, e.g. "169.254.200.1/32". */
  cidr: string;
  tolerate?: "exists";
}

/**
 * A route added, appended (kept beside another of the same destination and
 * metric, as IPv4 refuses with "add"), replaced or deleted.
 */
export interface RouteIntent {
  kind: "route";
  op: "add" | "append" | "replace" | "del";
  /** Destination CIDR ("0.0.0.0/0", "10.6.212.101/32", "10.233.0.0/18"). */
  dst: string;
  via?: string;
  dev: string;
  table: Table;
  /** e.g. "link" (absent: the kernel's default). */
  scope?: string;
  src?: string;
  tolerate?: Tolerate;
}

/** A policy rule added or deleted, at an explicit priority. */
export interface RuleIntent {
  kind: "rule";
  op: "add" | "del";
  family: Family;
  priority: number;
  /** Source address (absent: from all). */
  from?: string;
  /** Firewall mark, e.g. "0x1". */
  fwmark?: string;
  table: number;
  tolerate?: Tolerate;
}

/** A PERMANENT neighbour entry (created or replaced). */
export interface NeighIntent {
  kind: "neigh";
  dst: string;
  lladdr: string;
  dev: string;
}

/** Every neighbour entry of an address flushed (on one link, or on all). */
export interface NeighFlushIntent {
  kind: "neigh-flush";
  dst: string;
  dev?: string;
  tolerate?: "gone";
  /** Any failure is acceptable (a best-effort clean-up before a replace). */
  optional?: true;
}

/** A change `ip` makes. */
export type IpIntent =
  | VethIntent
  | LinkIntent
  | LinkDelIntent
  | AddrIntent
  | RouteIntent
  | RuleIntent
  | NeighIntent
  | NeighFlushIntent;

/** A sysctl under `net.` written to a value. */
export interface SysctlIntent {
  /** Dotted key, e.g. "net.ipv4.conf.all.rp_filter". */
  key: string;
  value: number;
  /** A missing key is not an error (an interface without IPv6, ...). */
  optional?: boolean;
}

/**
 * One rule of the connmark reply path in a pod's mangle table: `mark` marks
 * new connections arriving on `iface`, `save` copies the mark into conntrack,
 * `restore` puts it back on the packets the pod sends.
 */
export interface ConnmarkIntent {
  kind: "connmark";
  family: Family;
  role: "mark" | "save" | "restore";
  iface: string;
  /** The mark, e.g. "0x1". */
  mark: string;
}

/** Read the links (`ip -d link show`). */
export type LinksRead = { kind: "links" };
/** Read the addresses (of one link, or of all). */
export type AddrsRead = { kind: "addrs"; dev?: string };
/** Read the routes of every table, both families. */
export type RoutesRead = { kind: "routes" };
/** Read the rules of one family. */
export type RulesRead = { kind: "rules"; family: Family };
/** Read the neighbours (the PERMANENT ones only, or all). */
export type NeighsRead = { kind: "neighs"; permanent?: true };
/** Look up the route to an address (no answer when there is none). */
export type RouteGetRead = { kind: "route-get"; dst: string };

/** A read `ip` answers (see `./ip_json.ts` for the answers' types). */
export type IpRead = LinksRead | AddrsRead | RoutesRead | RulesRead | NeighsRead | RouteGetRead;

/** Constructors of {@linkcode IpRead}s. */
export const READ = {
  links: (): LinksRead => ({ kind: "links" }),
  addrs: (dev?: string): AddrsRead =>
    dev === undefined ? { kind: "addrs" } : { kind: "addrs", dev },
  routes: (): RoutesRead => ({ kind: "routes" }),
  rules: (family: Family): RulesRead => ({ kind: "rules", family }),
  neighs: (permanent?: true): NeighsRead =>
    permanent ? { kind: "neighs", permanent } : { kind: "neighs" },
  routeGet: (dst: string): RouteGetRead => ({ kind: "route-get", dst }),
} as const;

/**
 * The family an intent belongs to (undefined: a link change, which has none).
 *
 * @param i the intent
 * @returns 4, 6 or undefined
 */
export function familyOfIntent(i: IpIntent): Family | undefined {
  switch (i.kind) {
    case "route":
      return familyOf(i.dst.split("/")[0]!);
    case "rule":
      return i.family;
    case "neigh":
    case "neigh-flush":
      return familyOf(i.dst);
    case "addr":
      return familyOf(i.cidr.split("/")[0]!);
    default:
      return undefined;
  }
}
