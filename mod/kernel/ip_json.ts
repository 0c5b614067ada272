/**
 * The answers of `ip -j`, as checked types: one parser per kind of read turns
 * the JSON iproute2 prints into {@linkcode IpLink}s, {@linkcode IpRoute}s ...
 * and fails with a clear CNI error (103, naming the read, the item and the
 * field) on an answer of another shape, instead of a cast that would let a
 * malformed answer pass as an empty or partial state. Fields the plugin does
 * not use are not checked and not kept. A route gets its family at parse
 * time, so "default" is never ambiguous afterwards.
 *
 * @example
 * ```ts
 * import { parseRoutes } from "./ip_json.ts";
 * const [r] = parseRoutes([{ dst: "default", gateway: "fd00::1", dev: "eth0" }], "route show");
 * if (r?.family !== 6) throw new Error("family");
 * ```
 *
 * @module
 */

import { CniError, ErrorCode } from "../errors.ts";
import { familyOf } from "../ip.ts";
import type { Family } from "./intent.ts";

/** A link as printed by `ip -j -d link show`. */
export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  /** Missing when 0. */
  txqlen?: number;
  address?: string;
  /** Peer/parent ifindex (veth peer, macvlan parent). */
  "link_index"?: number;
  /** Set when the peer/parent lives in another netns. */
  "link_netnsid"?: number;
  /** Name of the peer/parent when in the same netns. */
  link?: string;
  linkinfo?: { "info_kind"?: string; "info_data"?: Record<string, unknown> };
}

/** One address of {@linkcode IpAddrLink}. */
export interface IpAddrInfo {
  family: "inet" | "inet6" | string;
  local: string;
  prefixlen: number;
  scope: string;
  tentative?: boolean;
  dadfailed?: boolean;
}

/** A link with its addresses as printed by `ip -j addr show`. */
export interface IpAddrLink {
  ifindex: number;
  ifname: string;
  flags?: string[];
  address?: string;
  "addr_info": IpAddrInfo[];
}

/** One nexthop of a multipath route. */
export interface IpNexthop {
  gateway?: string;
  dev?: string;
  weight?: number;
  flags?: string[];
}

/** A route as printed by `ip -j route show table all`, with its family. */
export interface IpRoute {
  /** Decided at parse time (dst, gateway, or IPv6's `pref`). */
  family: Family;
  type?: string;
  /** As printed: "default", a bare address for a host route, else a CIDR. */
  dst: string;
  gateway?: string;
  dev?: string;
  /** Absent means main. */
  table?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  flags?: string[];
  nexthops?: IpNexthop[];
}

/** A rule as printed by `ip -j rule show`. */
export interface IpRule {
  priority: number;
  src: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  fwmark?: string;
  fwmask?: string;
  table?: string;
}

/** A neighbour as printed by `ip -j neigh show`. */
export interface IpNeigh {
  dst: string;
  dev: string;
  lladdr?: string;
  state?: string[];
}

/** The answer of `ip -j route get`. */
export interface IpRouteGet {
  dst: string;
  dev?: string;
  prefsrc?: string;
  gateway?: string;
}

type Obj = Record<string, unknown>;

/** Field readers of one item of one answer; each failure names all three. */
class Item {
  constructor(readonly o: Obj, readonly what: string, readonly index: number) {}

  fail(field: string, expected: string): never {
    throw new CniError(
      ErrorCode.NetworkSetupFailed,
      `Malformed answer of "ip -j ${this.what}": item ${this.index} has ${
        field in this.o ? `a "${field}" that is not ${expected}` : `no "${field}"`
      }`,
      { details: JSON.stringify(this.o).slice(0, 500) },
    );
  }
  str(k: string): string {
    const v = this.o[k];
    return typeof v === "string" ? v : this.fail(k, "a string");
  }
  num(k: string): number {
    const v = this.o[k];
    return typeof v === "number" && Number.isFinite(v) ? v : this.fail(k, "a number");
  }
  optStr(k: string): string | undefined {
    return this.o[k] === undefined ? undefined : this.str(k);
  }
  optNum(k: string): number | undefined {
    return this.o[k] === undefined ? undefined : this.num(k);
  }
  optBool(k: string): boolean | undefined {
    const v = this.o[k];
    if (v === undefined) return undefined;
    return typeof v === "boolean" ? v : this.fail(k, "a boolean");
  }
  strs(k: string): string[] {
    const v = this.o[k];
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
    return this.fail(k, "a list of strings");
  }
  optStrs(k: string): string[] | undefined {
    return this.o[k] === undefined ? undefined : this.strs(k);
  }
  objs(k: string): Obj[] {
    const v = this.o[k];
    if (Array.isArray(v) && v.every(isObj)) return v as Obj[];
    return this.fail(k, "a list of objects");
  }
  optObj(k: string): Obj | undefined {
    const v = this.o[k];
    if (v === undefined) return undefined;
    return isObj(v) ? v : this.fail(k, "an object");
  }
}

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `T` with each field that may be undefined made optional instead. */
type Defined<T> =
  & { [K in keyof T as undefined extends T[K] ? never : K]: T[K] }
  & { [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined> };

/** Only the defined entries (exactOptionalPropertyTypes: no `undefined` values). */
function defined<T extends Obj>(o: T): Defined<T> {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o as Defined<T>;
}

function items(v: unknown, what: string): Item[] {
  if (!Array.isArray(v)) {
    throw new CniError(
      ErrorCode.NetworkSetupFailed,
      `Malformed answer of "ip -j ${what}": not a list`,
      { details: JSON.stringify(v ?? null).slice(0, 500) },
    );
  }
  return v.map((o, i) => {
    if (!isObj(o)) {
      throw new CniError(
        ErrorCode.NetworkSetupFailed,
        `Malformed answer of "ip -j ${what}": item ${i} is not an object`,
      );
    }
    return new Item(o, what, i);
  });
}

/**
 * Links of `ip -j -d link show`.
 *
 * @param v the parsed JSON
 * @param what the read, for messages
 * @returns the links
 * @throws CniError 103 on another shape
 */
export function parseLinks(v: unknown, what = "link show"): IpLink[] {
  return items(v, what).map((it) => {
    const info = it.optObj("linkinfo");
    let linkinfo: IpLink["linkinfo"];
    if (info !== undefined) {
      const sub = new Item(info, what, it.index);
      const data = sub.optObj("info_data");
      linkinfo = defined({ info_kind: sub.optStr("info_kind"), info_data: data });
    }
    return defined({
      ifindex: it.num("ifindex"),
      ifname: it.str("ifname"),
      flags: it.strs("flags"),
      mtu: it.num("mtu"),
      txqlen: it.optNum("txqlen"),
      address: it.optStr("address"),
      link_index: it.optNum("link_index"),
      link_netnsid: it.optNum("link_netnsid"),
      link: it.o["link"] === null ? undefined : it.optStr("link"),
      linkinfo,
    });
  });
}

/**
 * Links with their addresses, of `ip -j addr show`.
 *
 * @param v the parsed JSON
 * @param what the read, for messages
 * @returns the links and addresses
 * @throws CniError 103 on another shape
 */
export function parseAddrs(v: unknown, what = "addr show"): IpAddrLink[] {
  return items(v, what).map((it) =>
    defined({
      ifindex: it.num("ifindex"),
      ifname: it.str("ifname"),
      flags: it.optStrs("flags"),
      address: it.optStr("address"),
      // Always printed, empty for a link without addresses: missing, the answer
      // is not an address list (iproute2 6.1's batch mode prints a link dump
      // for `addr show dev X` that follows a `link show`).
      addr_info: it.objs("addr_info").map((a) => {
        const ai = new Item(a, what, it.index);
        return defined({
          family: ai.str("family"),
          local: ai.str("local"),
          prefixlen: ai.num("prefixlen"),
          scope: ai.optStr("scope") ?? "global",
          tentative: ai.optBool("tentative"),
          dadfailed: ai.optBool("dadfailed"),
        });
      }),
    })
  );
}

/**
 * The family of a route as `ip -j` prints it: from the destination, else the
 * gateway (also of the first nexthop), else IPv6's `pref` field.
 */
function routeFamily(it: Item): Family {
  const dst = it.str("dst");
  if (dst !== "default") return familyOf(dst.split("/")[0]!);
  const hops = it.o["nexthops"];
  const hop = Array.isArray(hops) && isObj(hops[0]) ? hops[0]["gateway"] : undefined;
  const gw = it.optStr("gateway") ?? (typeof hop === "string" ? hop : undefined);
  if (gw !== undefined) return familyOf(gw);
  return "pref" in it.o ? 6 : 4;
}

/**
 * Routes of `ip -j route show table all` (both families), each with its family.
 *
 * @param v the parsed JSON
 * @param what the read, for messages
 * @returns the routes
 * @throws CniError 103 on another shape
 */
export function parseRoutes(v: unknown, what = "route show table all"): IpRoute[] {
  return items(v, what).map((it) =>
    defined({
      family: routeFamily(it),
      type: it.optStr("type"),
      dst: it.str("dst"),
      gateway: it.optStr("gateway"),
      dev: it.optStr("dev"),
      table: it.optStr("table"),
      protocol: it.optStr("protocol"),
      scope: it.optStr("scope"),
      prefsrc: it.optStr("prefsrc"),
      metric: it.optNum("metric"),
      flags: it.optStrs("flags"),
      nexthops: it.o["nexthops"] === undefined ? undefined : it.objs("nexthops").map((n) => {
        const h = new Item(n, what, it.index);
        return defined({
          gateway: h.optStr("gateway"),
          dev: h.optStr("dev"),
          weight: h.optNum("weight"),
          flags: h.optStrs("flags"),
        });
      }),
    })
  );
}

/**
 * Rules of `ip -j rule show`.
 *
 * @param v the parsed JSON
 * @param what the read, for messages
 * @returns the rules
 * @throws CniError 103 on another shape
 */
export function parseRules(v: unknown, what = "rule show"): IpRule[] {
  return items(v, what).map((it) =>
    defined({
      priority: it.num("priority"),
      src: it.str("src"),
      srclen: it.optNum("srclen"),
      dst: it.optStr("dst"),
      dstlen: it.optNum("dstlen"),
      fwmark: it.optStr("fwmark"),
      fwmask: it.optStr("fwmask"),
      table: it.optStr("table"),
    })
  );
}

/**
 * Neighbours of `ip -j neigh show`.
 *
 * @param v the parsed JSON
 * @param what the read, for messages
 * @returns the neighbours
 * @throws CniError 103 on another shape
 */
export function parseNeighs(v: unknown, what = "neigh show"): IpNeigh[] {
  return items(v, what).map((it) =>
    defined({
      dst: it.str("dst"),
      dev: it.str("dev"),
      lladdr: it.optStr("lladdr"),
      state: it.optStrs("state"),
    })
  );
}

/**
 * The answer of `ip -j route get` (one route).
 *
 * @param v the parsed JSON
 * @param what the read, for messages
 * @returns the route, or undefined for an empty answer
 * @throws CniError 103 on another shape
 */
export function parseRouteGet(v: unknown, what = "route get"): IpRouteGet | undefined {
  const [it] = items(v, what);
  if (it === undefined) return undefined;
  return defined({
    dst: it.str("dst"),
    dev: it.optStr("dev"),
    prefsrc: it.optStr("prefsrc"),
    gateway: it.optStr("gateway"),
  });
}

/**
 * The link of that name in a list.
 *
 * @param links the list
 * @param name the interface name
 * @returns the link, or undefined
 */
export function linkByName<T extends { ifname: string }>(
  links: readonly T[],
  name: string,
): T | undefined {
  return links.find((l) => l.ifname === name);
}
