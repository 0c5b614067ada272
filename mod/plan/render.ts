/**
 * The renderer of `coordinator explain`: the intents the planners return
 * (the very ones ADD hands to the translator) as the ip(8)-like items they
 * leave, each in the form `ip ... show` prints it, so that explain's output
 * can be compared line by line with the state ADD left, and with the
 * translator's own `ip -batch` line beside it:
 *
 * - a route replace of `0.0.0.0/0 via G dev veth0 src S table 100` ->
 *   `default via G dev veth0 table 100 src S` (routes section, table 100);
 * - the shared rule -> `1000: from all lookup 500`;
 * - a neighbour -> `IP dev D lladdr M PERMANENT`.
 *
 * Deletions and flushes are items with `op` "delete" or "flush". Pure.
 *
 * @example
 * ```ts
 * import { itemOf } from "./render.ts";
 * const item = itemOf({ kind: "rule", op: "add", family: 4, priority: 1000, table: 500 }, "node");
 * if (item.text !== "1000: from all lookup 500") throw new Error(item.text);
 * ```
 *
 * @module
 */

import type {
  ConnmarkIntent,
  IpIntent,
  RouteIntent,
  RuleIntent,
  SysctlIntent,
} from "../kernel/intent.ts";
import { familyOfIntent } from "../kernel/intent.ts";
import { intentLine } from "../kernel/iproute.ts";
import { mangleRuleText } from "../kernel/iptables.ts";
import { familyOf } from "../ip.ts";

/** Where an item lives. */
export type Place = "pod" | "node";

/** The kind of object an item is. */
export type Section = "link" | "addr" | "route" | "rule" | "neigh" | "mangle" | "sysctl";

/** One thing a plan creates, changes or removes. */
export interface PlanItem {
  place: Place;
  section: Section;
  family?: 4 | 6;
  /** Routes: the table ("main" when none is named). */
  table?: string;
  /** create: the item exists afterwards; delete / flush: it is gone. */
  op: "create" | "change" | "delete" | "flush";
  /** ip(8)-like text, as `ip ... show` prints it. */
  text: string;
  /** The translator's `ip -batch` line (without the leading `ip`). */
  args: string[];
}

/** A destination as `ip route show` prints it: "default", a host without /32 or /128. */
export function shownDst(dst: string): string {
  const [ip, len] = dst.split("/");
  if (len === "0") return "default";
  const host = familyOf(ip!) === 4 ? "32" : "128";
  return len === host ? ip! : dst;
}

/**
 * A route as `ip route show` prints it: dst, via, dev, table (not main),
 * scope (IPv4 only: IPv6 routes have none), src.
 *
 * @param r the route
 * @returns the text
 */
export function routeShowText(r: RouteIntent): string {
  const words = [shownDst(r.dst)];
  if (r.via !== undefined) words.push("via", r.via);
  words.push("dev", r.dev);
  if (r.table !== "main") words.push("table", String(r.table));
  if (familyOfIntent(r) === 4 && r.scope !== undefined && r.scope !== "global") {
    words.push("scope", r.scope);
  }
  if (r.src !== undefined) words.push("src", r.src);
  return words.join(" ");
}

/**
 * A rule as `ip rule show` prints it: `1000: from all fwmark 0x1 lookup 100`.
 *
 * @param r the rule
 * @returns the text
 */
export function ruleShowText(r: RuleIntent): string {
  const mark = r.fwmark === undefined ? "" : ` fwmark ${r.fwmark}`;
  return `${r.priority}: from ${r.from ?? "all"}${mark} lookup ${r.table}`;
}

/**
 * One intent as an item.
 *
 * @param i the intent
 * @param place pod or node
 * @returns the item
 */
export function itemOf(i: IpIntent, place: Place): PlanItem {
  const base = { place, args: intentLine(i).args };
  const family = familyOfIntent(i);
  const fam = family === undefined ? {} : { family };
  switch (i.kind) {
    case "route":
      return {
        ...base,
        ...fam,
        section: "route",
        table: String(i.table),
        op: i.op === "del" ? "delete" : "create",
        text: routeShowText(i),
      };
    case "rule":
      return {
        ...base,
        ...fam,
        section: "rule",
        op: i.op === "del" ? "delete" : "create",
        text: ruleShowText(i),
      };
    case "neigh":
      return {
        ...base,
        ...fam,
        section: "neigh",
        op: "create",
        text: `${i.dst} dev ${i.dev} lladdr ${i.lladdr} PERMANENT`,
      };
    case "neigh-flush":
      return { ...base, ...fam, section: "neigh", op: "flush", text: `${i.dst} (every entry)` };
    case "addr":
      return { ...base, ...fam, section: "addr", op: "create", text: `${i.dev} ${i.cidr}` };
    case "veth":
      return {
        ...base,
        section: "link",
        op: "create",
        text: `${i.name} type veth address ${i.mac} mtu ${i.mtu}` +
          ` peer ${i.peer} address ${i.peerMac} netns ${i.netns}`,
      };
    case "link":
      return {
        ...base,
        section: "link",
        op: "change",
        text: base.args.slice(3).join(" "),
      };
    case "link-del":
      return { ...base, section: "link", op: "delete", text: i.dev };
  }
}

/**
 * Many intents as items, in order.
 *
 * @param intents the intents
 * @param place pod or node
 * @returns the items
 */
export function itemsOf(intents: readonly IpIntent[], place: Place): PlanItem[] {
  return intents.map((i) => itemOf(i, place));
}

/**
 * Sysctl writes as items (`net.ipv4.conf.all.rp_filter = 0`).
 *
 * @param writes dotted keys and values
 * @param place pod or node
 * @returns the items
 */
export function sysctlItems(writes: readonly SysctlIntent[], place: Place): PlanItem[] {
  return writes.map((w) => ({
    place,
    section: "sysctl" as const,
    op: "change" as const,
    text: `${w.key} = ${w.value}`,
    args: [w.key, String(w.value)],
  }));
}

/**
 * Connmark rules as items, as `iptables-save` prints them (`-A CHAIN ...`).
 *
 * @param rules the rules
 * @param place pod or node
 * @returns the items
 */
export function connmarkItems(rules: readonly ConnmarkIntent[], place: Place): PlanItem[] {
  return rules.map((r) => ({
    place,
    section: "mangle" as const,
    family: r.family,
    op: "create" as const,
    text: `-A ${mangleRuleText(r)}`,
    args: ["-A", ...mangleRuleText(r).split(" ")],
  }));
}

/** The heading of an item's group: "routes, table 100 (IPv4)". */
export function groupOf(item: PlanItem): string {
  const fam = item.family === undefined || item.section === "mangle" ? "" : ` (IPv${item.family})`;
  switch (item.section) {
    case "route":
      return `routes, table ${item.table ?? "main"}${fam}`;
    case "rule":
      return `rules${fam}`;
    case "neigh":
      return `neighbours${fam}`;
    case "addr":
      return "addresses";
    case "link":
      return "links";
    case "mangle":
      return `mangle table (ip${item.family === 6 ? "6" : ""}tables)`;
    case "sysctl":
      return "sysctls";
  }
}

/**
 * Items grouped by place, then by {@linkcode groupOf}, as indented text.
 *
 * @param items the items
 * @param places heading of each place
 * @returns lines of text
 */
export function renderText(
  items: readonly PlanItem[],
  places: Readonly<Record<Place, string>>,
): string[] {
  const out: string[] = [];
  for (const place of ["pod", "node"] as const) {
    const mine = items.filter((i) => i.place === place);
    if (mine.length === 0) continue;
    out.push(places[place]);
    const groups = new Map<string, PlanItem[]>();
    for (const i of mine) groups.set(groupOf(i), [...(groups.get(groupOf(i)) ?? []), i]);
    for (const [g, list] of groups) {
      out.push(`  ${g}:`);
      for (const i of list) {
        const mark = i.op === "create" ? "+" : i.op === "change" ? "~" : "-";
        out.push(`    ${mark} ${i.text}`);
      }
    }
  }
  return out;
}
