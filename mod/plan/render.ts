/**
 * The renderer of `coordinator explain`: the {@linkcode BatchLine}s that the
 * planners return (the very lines ADD feeds to `ip -batch`) as the ip(8)-like
 * items they leave, each in the form `ip ... show` prints it, so that explain's
 * output can be compared line by line with the state ADD left:
 *
 * - `route replace 0.0.0.0/0 via G dev veth0 src S table 100` ->
 *   `default via G dev veth0 table 100 src S` (routes section, table 100);
 * - `rule add pref 1000 table 500` -> `1000: from all lookup 500`;
 * - `neigh replace IP lladdr M dev D nud permanent` -> `IP dev D lladdr M PERMANENT`.
 *
 * Reads are left out; deletions and flushes are items with `op` "delete" or
 * "flush". Pure.
 *
 * @example
 * ```ts
 * import { renderLine } from "./render.ts";
 * const item = renderLine({ args: ["rule", "add", "pref", "1000", "table", "500"] }, "node");
 * if (item?.text !== "1000: from all lookup 500") throw new Error(item?.text);
 * ```
 *
 * @module
 */

import type { BatchLine } from "../kernel/iproute.ts";
import { familyOf, isDefaultDst } from "../ip.ts";

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
  /** The batch line it came from (without the leading `ip`). */
  args: string[];
}

/** Key-value words after a position: `via G dev D` -> {via: G, dev: D}. */
function pairs(words: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < words.length; i += 2) out.set(words[i]!, words[i + 1]!);
  return out;
}

function routeDst(dst: string): string {
  if (isDefaultDst(dst) && dst.endsWith("/0")) return "default";
  return dst.replace(/\/32$/, "").replace(/\/128$/, "");
}

/**
 * A route as `ip route show` prints it: dst, via, dev, table (not main),
 * scope (IPv4 only: IPv6 routes have none), src.
 *
 * @param dst destination
 * @param kv the other words
 * @returns the text and its family and table
 */
function routeText(
  dst: string,
  kv: Map<string, string>,
): { text: string; family: 4 | 6; table: string } {
  const family = familyOf(kv.get("via") ?? dst);
  const table = kv.get("table") ?? "main";
  const words = [routeDst(dst)];
  if (kv.has("via")) words.push("via", kv.get("via")!);
  if (kv.has("dev")) words.push("dev", kv.get("dev")!);
  if (table !== "main") words.push("table", table);
  const scope = kv.get("scope");
  if (family === 4 && scope !== undefined && scope !== "global") words.push("scope", scope);
  if (kv.has("src")) words.push("src", kv.get("src")!);
  return { text: words.join(" "), family, table };
}

/**
 * One batch line as an item (undefined for reads and for lines it does not know).
 *
 * @param line the batch line
 * @param place pod or node
 * @param family6 the line runs in an `ip -6` batch (rules)
 * @returns the item
 */
export function renderLine(
  line: BatchLine,
  place: Place,
  family6 = false,
): PlanItem | undefined {
  if (line.read) return undefined;
  const a = line.args;
  const [obj, verb] = a;
  const base = { place, args: [...a] };
  if (obj === "route" && a[2] !== undefined) {
    const r = routeText(a[2], pairs(a.slice(3)));
    const op = verb === "del" ? "delete" : "create";
    return { ...base, section: "route", family: r.family, table: r.table, op, text: r.text };
  }
  if (obj === "rule" && verb === "add") {
    const kv = pairs(a.slice(2));
    const from = kv.get("from");
    const family = family6 || (from !== undefined && familyOf(from) === 6) ? 6 : 4;
    const mark = kv.has("fwmark") ? ` fwmark ${kv.get("fwmark")}` : "";
    const text = `${kv.get("pref") ?? "?"}: from ${from ?? "all"}${mark} lookup ${
      kv.get("table") ?? "main"
    }`;
    return { ...base, section: "rule", family, op: "create", text };
  }
  if (obj === "neigh" && a[2] !== undefined) {
    const family = familyOf(a[verb === "flush" ? 3 : 2] ?? "");
    if (verb === "flush") {
      return { ...base, section: "neigh", family, op: "flush", text: `${a[3]} (every entry)` };
    }
    const kv = pairs(a.slice(3));
    const state = (kv.get("nud") ?? "").toUpperCase();
    const text = `${a[2]} dev ${kv.get("dev")} lladdr ${kv.get("lladdr")}${
      state ? ` ${state}` : ""
    }`;
    return { ...base, section: "neigh", family, op: "create", text };
  }
  if (obj === "addr" && verb === "add" && a[2] !== undefined) {
    const kv = pairs(a.slice(3));
    const family = familyOf(a[2]);
    return { ...base, section: "addr", family, op: "create", text: `${kv.get("dev")} ${a[2]}` };
  }
  if (obj === "link" && verb === "add" && a[2] !== undefined) {
    // link add H address M mtu N txqueuelen 0 type veth peer name P address M2 mtu N ... netns X
    const i = a.indexOf("peer");
    const own = pairs(a.slice(3, a.indexOf("type")));
    const peer = pairs(a.slice(i + 1));
    const text = `${a[2]} type veth address ${own.get("address")} mtu ${own.get("mtu")}` +
      ` peer ${peer.get("name")} address ${peer.get("address")} netns ${peer.get("netns")}`;
    return { ...base, section: "link", op: "create", text };
  }
  if (obj === "link" && verb === "set") {
    const words = a.slice(2).filter((w) => w !== "dev");
    return { ...base, section: "link", op: "change", text: words.join(" ") };
  }
  return undefined;
}

/**
 * Many lines as items (reads and unknown lines left out).
 *
 * @param lines batch lines
 * @param place pod or node
 * @param family6 the lines run in an `ip -6` batch
 * @returns the items, in order
 */
export function renderLines(
  lines: readonly BatchLine[],
  place: Place,
  family6 = false,
): PlanItem[] {
  return lines.flatMap((l) => renderLine(l, place, family6) ?? []);
}

/**
 * Sysctl writes as items (`net.ipv4.conf.all.rp_filter = 0`).
 *
 * @param writes dotted keys and values
 * @param place pod or node
 * @returns the items
 */
export function sysctlItems(
  writes: readonly { key: string; value: number }[],
  place: Place,
): PlanItem[] {
  return writes.map((w) => ({
    place,
    section: "sysctl" as const,
    op: "change" as const,
    text: `${w.key} = ${w.value}`,
    args: [w.key, String(w.value)],
  }));
}

/**
 * Mangle rules as items, as `iptables-save` prints them (`-A CHAIN ...`).
 *
 * @param rules rule specs "CHAIN args..."
 * @param family 4 (iptables) or 6 (ip6tables)
 * @param place pod or node
 * @returns the items
 */
export function mangleItems(rules: readonly string[], family: 4 | 6, place: Place): PlanItem[] {
  return rules.map((r) => ({
    place,
    section: "mangle" as const,
    family,
    op: "create" as const,
    text: `-A ${r}`,
    args: r.split(" "),
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
