/**
 * A recording fake of the commands' kernel port (`mod/commands/port.ts`), so
 * that `tests/unit/commands/` runs whole commands without root: a small
 * in-memory model of the node and of pod network namespaces (links,
 * addresses, routes, rules of both families, neighbours, sysctls, mangle
 * rules), state files, the host lock and detection.
 *
 * It applies intents with iproute2's semantics as far as the plugin needs
 * them, and it goes through the plugin's own translator (`intentLine`,
 * `readLine` of `mod/kernel/iproute.ts`) for each line's text, tolerance and
 * optional flag, and through the plugin's own parsers (`mod/kernel/ip_json.ts`)
 * for each answer, so what a command sees is what the real port would give it.
 * Every operation is recorded ({@linkcode FakeKernel.ops}) and any one can be
 * made to fail ({@linkcode FakeKernel.failWhen}).
 *
 * Below the class: the worlds of docs/network.md's worked examples (the node
 * `ens192` 10.6.212.101/16 + fd00:6::101/64, macvlan and ptp pod NICs), a
 * command context and a capturing logger.
 *
 * @module
 */

import type { CmdContext } from "../../mod/cni/dispatch.ts";
import { parseCniArgs } from "../../mod/cni/args.ts";
import type { Result } from "../../mod/cni/types.ts";
import type { DetectPort, Kernel, StatePort } from "../../mod/commands/port.ts";
import { parseConfig } from "../../mod/config/parse.ts";
import { CniError, CommandError, ErrorCode, errorMessage } from "../../mod/errors.ts";
import type { Cleanup, StreamedCleanup } from "../../mod/kernel/apply.ts";
import type { HostFacts, PodFacts, ReadPodOptions } from "../../mod/kernel/facts.ts";
import {
  type ConnmarkIntent,
  type Family,
  type IpIntent,
  type IpRead,
  READ,
  type SysctlIntent,
} from "../../mod/kernel/intent.ts";
import {
  type IpAddrInfo,
  type IpLink,
  type IpNeigh,
  type IpRule,
  parseAddrs,
  parseLinks,
  parseNeighs,
  parseRouteGet,
  parseRoutes,
  parseRules,
} from "../../mod/kernel/ip_json.ts";
import {
  failureMessage,
  intentLine,
  type IpBatch,
  type IpFailure,
  type IpOutcome,
  type IpWhere,
  type NoReads,
  readLine,
  type Reads,
} from "../../mod/kernel/iproute.ts";
import { mangleRuleText } from "../../mod/kernel/iptables.ts";
import { NetnsNotFoundError } from "../../mod/kernel/netns.ts";
import type { AttachmentState } from "../../mod/kernel/state.ts";
import { bareIp, canonicalIp, familyOf, maskCidrText } from "../../mod/ip.ts";
import type { Logger } from "../../mod/log.ts";

/** What a recorded operation was. */
export type OpKind =
  | "ip" // a change line of a batch
  | "read" // a read line of a batch
  | "sysctl" // one sysctl write
  | "mangle" // one iptables-restore (one family)
  | "mangle-read" // one iptables-save (one family)
  | "state" // a state file saved or removed
  | "detect" // conflict or gateway detection, an announcement
  | "lock"; // the host lock taken

/** One operation the fake was asked to do, in order. */
export interface Op {
  kind: OpKind;
  /**
   * The translated `ip` line ("route add ..."), "sysctl KEY=VALUE",
   * "mangle -A IPv4 RULE; RULE", "mangle read IPv4", "state save NET/CID_IF",
   * "detect conflicts", "detect gateways", "detect announce", "lock".
   */
  text: string;
  /** The pod netns path (undefined: the node). */
  netns?: string;
  /** The line may fail (the translator's `optional`). */
  optional?: true;
  /** The change of an "ip" operation. */
  intent?: IpIntent;
  /** Done while the host lock was held. */
  locked: boolean;
}

/** A link of the model (`ip -j -d link show` plus its addresses and its veth peer). */
export interface FakeLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  txqlen: number;
  address: string;
  /** `linkinfo.info_kind` (undefined: a physical NIC, lo). */
  kind?: string;
  "link_index"?: number;
  "link_netnsid"?: number;
  /** The other end of a veth: its namespace key and ifindex. */
  peer?: { ns: string; ifindex: number };
  addrs: IpAddrInfo[];
}

/** A route of the model (`ip -j route show table all` fields, with the family). */
export interface FakeRoute {
  family: Family;
  type: string;
  /** As printed: "default", a bare address for a host route, else a prefix. */
  dst: string;
  gateway?: string;
  dev: string;
  /** "main", "local" or the number. */
  table: string;
  protocol: string;
  scope: string;
  prefsrc?: string;
  metric?: number;
}

/** One network namespace of the model. */
export interface FakeNs {
  links: FakeLink[];
  routes: FakeRoute[];
  rules: Record<Family, IpRule[]>;
  neigh: IpNeigh[];
  sysctls: Map<string, string>;
  /** Mangle rules per family, as `mangleRuleText` spells them. */
  mangle: Record<Family, string[]>;
}

/** The key of the node's namespace (never a netns path). */
export const NODE = "<node>";

const INJECTED = "RTNETLINK answers: Operation not permitted";
const EXISTS = "RTNETLINK answers: File exists";
const NO_ROUTE = "RTNETLINK answers: No such process";
const NO_RULE = "RTNETLINK answers: No such file or directory";
const noDevice = (dev: string) => `Cannot find device "${dev}"`;

function emptyNs(): FakeNs {
  return {
    links: [{
      ifindex: 1,
      ifname: "lo",
      flags: ["LOOPBACK", "UP", "LOWER_UP"],
      mtu: 65536,
      txqlen: 1000,
      address: "00:00:00:00:00:00",
      addrs: [
        { family: "inet", local: "127.0.0.1", prefixlen: 8, scope: "host" },
        { family: "inet6", local: "::1", prefixlen: 128, scope: "host" },
      ],
    }],
    routes: [],
    rules: {
      4: [
        { priority: 0, src: "all", table: "local" },
        { priority: 32766, src: "all", table: "main" },
        { priority: 32767, src: "all", table: "default" },
      ],
      6: [{ priority: 0, src: "all", table: "local" }, {
        priority: 32766,
        src: "all",
        table: "main",
      }],
    },
    neigh: [],
    sysctls: new Map(),
    mangle: { 4: [], 6: [] },
  };
}

/** "0.0.0.0/0" -> "default", "10.0.0.1/32" -> "10.0.0.1", as `ip` prints a destination. */
function shownDst(cidr: string): string {
  const [ip, len] = cidr.split("/");
  if (len === "0") return "default";
  const host = (familyOf(ip!) === 4 && len === "32") || len === "128";
  return host ? canonicalIp(ip!) : `${canonicalIp(ip!)}/${len}`;
}

/** Text of a route as `ip route show table all` prints it (no `proto boot`, no `pref`). */
export function routeText(r: FakeRoute): string {
  return [
    r.type === "unicast" ? "" : `${r.type} `,
    r.dst,
    r.gateway === undefined ? "" : ` via ${r.gateway}`,
    ` dev ${r.dev}`,
    r.table === "main" ? "" : ` table ${r.table}`,
    r.protocol === "boot" ? "" : ` proto ${r.protocol}`,
    r.scope === "global" ? "" : ` scope ${r.scope}`,
    r.prefsrc === undefined ? "" : ` src ${r.prefsrc}`,
    r.metric === undefined ? "" : ` metric ${r.metric}`,
  ].join("");
}

/** Text of a rule as `ip rule show` prints it. */
export function ruleText(r: IpRule): string {
  const mark = r.fwmark === undefined ? "" : ` fwmark ${r.fwmark}`;
  return `${r.priority}:\tfrom ${r.src}${mark} lookup ${r.table}`;
}

/** A namespace as sorted text sections (what the tests compare). */
export interface Snapshot {
  links: string[];
  addrs: string[];
  routes: string[];
  rules4: string[];
  rules6: string[];
  neigh: string[];
  mangle4: string[];
  mangle6: string[];
  sysctls: string[];
}

/** The sections that differ between two snapshots: lines added and removed. */
export type SnapshotDiff = Partial<Record<keyof Snapshot, { added: string[]; removed: string[] }>>;

/**
 * Compare two snapshots section by section.
 *
 * @param before the earlier one
 * @param after the later one
 * @returns only the sections that differ
 */
export function diffSnapshots(before: Snapshot, after: Snapshot): SnapshotDiff {
  const out: SnapshotDiff = {};
  for (const key of Object.keys(before) as (keyof Snapshot)[]) {
    const added = after[key].filter((l) => !before[key].includes(l));
    const removed = before[key].filter((l) => !after[key].includes(l));
    if (added.length > 0 || removed.length > 0) out[key] = { added, removed };
  }
  return out;
}

type Json = Record<string, unknown>;

function linkJson(l: FakeLink): Json {
  return {
    ifindex: l.ifindex,
    ifname: l.ifname,
    flags: [...l.flags],
    mtu: l.mtu,
    ...(l.txqlen === 0 ? {} : { txqlen: l.txqlen }),
    address: l.address,
    ...(l.link_index === undefined ? {} : { "link_index": l.link_index }),
    ...(l.link_netnsid === undefined ? {} : { "link_netnsid": l.link_netnsid }),
    ...(l.kind === undefined ? {} : { linkinfo: { "info_kind": l.kind } }),
  };
}

/** Where an `ip` line ran and whether it may fail, for its {@linkcode Op}. */
function at(where: IpWhere, line: { optional?: boolean }): { netns?: string; optional?: true } {
  return {
    ...(where.netns === undefined ? {} : { netns: where.netns }),
    ...(line.optional ? { optional: true as const } : {}),
  };
}

function routeJson(r: FakeRoute): Json {
  const { family, ...rest } = r;
  return { ...rest, flags: [], ...(family === 6 ? { pref: "medium" } : {}) };
}

/**
 * The fake kernel. Namespaces are keyed by their netns path ({@linkcode NODE}
 * for the node); a namespace whose path was unmounted lives on (its veth
 * pairs too) but cannot be entered.
 */
export class FakeKernel implements Kernel {
  /** Every operation asked for, in order. */
  readonly ops: Op[] = [];
  /** The node's answers to `ip route get <pod IP>`. */
  readonly routeGets = new Map<string, { dev: string; prefsrc: string; gateway?: string }>();
  /** Detection calls (conflicts, gateways, announce) with their arguments. */
  readonly detections: { what: string; ips: readonly string[]; mac: string }[] = [];
  /** How often the host lock was taken. */
  locks = 0;
  /** Milliseconds `sleep` was asked to wait (it returns at once). */
  slept = 0;
  readonly #mounted = new Map<string, FakeNs>([[NODE, emptyNs()]]);
  readonly #unmounted = new Map<string, FakeNs>();
  readonly #files = new Map<string, string>();
  readonly #fails: ((op: Op, index: number) => boolean)[] = [];
  #held: Promise<void> | undefined;
  #nextIndex = 100;

  // --- The model -----------------------------------------------------------

  /**
   * A namespace of the model, to build or break a world.
   *
   * @param netns a pod netns path (undefined: the node)
   * @returns the namespace
   */
  ns(netns?: string): FakeNs {
    const ns = this.#mounted.get(netns ?? NODE) ?? this.#unmounted.get(netns ?? NODE);
    if (ns === undefined) throw new Error(`No namespace "${netns}" in the fake`);
    return ns;
  }

  /**
   * Create an empty pod netns (lo up, the kernel's default rules).
   *
   * @param path its netns path
   * @returns the namespace
   */
  addNetns(path: string): FakeNs {
    const ns = emptyNs();
    ns.sysctls.set("net.ipv6.conf.all.disable_ipv6", "0");
    this.#mounted.set(path, ns);
    return ns;
  }

  /**
   * The netns path is unmounted while the netns lives on (a process holds it):
   * it cannot be entered any more, its veth pairs stay.
   *
   * @param path the netns path
   */
  unmountNetns(path: string): void {
    this.#unmounted.set(path, this.ns(path));
    this.#mounted.delete(path);
  }

  /**
   * The netns is destroyed: the kernel deletes its links, and with its veths
   * their node ends (and everything on them).
   *
   * @param path the netns path
   */
  destroyNetns(path: string): void {
    const ns = this.ns(path);
    for (const l of [...ns.links]) this.#deleteLink(path, l);
    this.#mounted.delete(path);
    this.#unmounted.delete(path);
  }

  /** A fresh ifindex. */
  nextIndex(): number {
    return this.#nextIndex++;
  }

  /**
   * The link of that name.
   *
   * @param netns the pod netns path (undefined: the node)
   * @param name the link's name
   * @returns the link
   */
  link(netns: string | undefined, name: string): FakeLink {
    const l = this.ns(netns).links.find((x) => x.ifname === name);
    if (l === undefined) throw new Error(`No link "${name}" in ${netns ?? "the node"}`);
    return l;
  }

  /**
   * A veth pair, one end in each namespace, both down.
   *
   * @param a the first end: its namespace (undefined: the node), name and MAC
   * @param b the second end
   * @param mtu the MTU of both
   * @param txqlen the txqueuelen of both
   */
  addVeth(
    a: { netns?: string; name: string; mac: string },
    b: { netns?: string; name: string; mac: string },
    mtu = 1500,
    txqlen = 1000,
  ): void {
    const [ia, ib] = [this.nextIndex(), this.nextIndex()];
    const end = (e: typeof a, index: number, other: typeof a, otherIndex: number): FakeLink => ({
      ifindex: index,
      ifname: e.name,
      flags: ["BROADCAST", "MULTICAST"],
      mtu,
      txqlen,
      address: e.mac,
      kind: "veth",
      "link_index": otherIndex,
      ...(e.netns === other.netns ? {} : { "link_netnsid": other.netns === undefined ? 0 : 1 }),
      peer: { ns: other.netns ?? NODE, ifindex: otherIndex },
      addrs: [],
    });
    this.ns(a.netns).links.push(end(a, ia, b, ib));
    this.ns(b.netns).links.push(end(b, ib, a, ia));
  }

  /**
   * A namespace as sorted text.
   *
   * @param netns the pod netns path (undefined: the node)
   * @returns the snapshot
   */
  snapshot(netns?: string): Snapshot {
    const ns = this.ns(netns);
    return {
      links: ns.links.map((l) =>
        `${l.ifindex}: ${l.ifname} kind=${l.kind ?? "none"} mac=${l.address} mtu=${l.mtu} ` +
        `txqlen=${l.txqlen} flags=${[...l.flags].sort().join(",")} peer=${l.link_index ?? "-"}`
      ).sort(),
      addrs: ns.links.flatMap((l) =>
        l.addrs.map((a) => `${l.ifname} ${a.family} ${a.local}/${a.prefixlen} scope ${a.scope}`)
      ).sort(),
      routes: ns.routes.map(routeText).sort(),
      rules4: this.#rules(ns, 4).map(ruleText),
      rules6: this.#rules(ns, 6).map(ruleText),
      neigh: ns.neigh.map((n) =>
        `${n.dst} dev ${n.dev} lladdr ${n.lladdr} ${(n.state ?? []).join(",")}`
      ).sort(),
      mangle4: [...ns.mangle[4]],
      mangle6: [...ns.mangle[6]],
      sysctls: [...ns.sysctls].map(([k, v]) => `${k}=${v}`).sort(),
    };
  }

  /** The state files, as "NETWORK/CONTAINERID_IFNAME". */
  stateFiles(): string[] {
    return [...this.#files.keys()].sort();
  }

  /**
   * Put a state file as text (any version, also one this plugin never wrote).
   *
   * @param s the record
   */
  putState(s: { network: string; containerId: string; ifname: string }): void {
    this.#files.set(`${s.network}/${s.containerId}_${s.ifname}`, JSON.stringify(s));
  }

  // --- Recording and failing ----------------------------------------------

  /**
   * Make every operation for which `pred` holds fail (an `ip` line with
   * "Operation not permitted", a sysctl write with "Permission denied", a
   * restore with exit code 1, detection with code 100 or 101, the lock with
   * 11, a state file with a permission error).
   *
   * @param pred sees the operation and its index in {@linkcode FakeKernel.ops}
   */
  failWhen(pred: (op: Op, index: number) => boolean): void {
    this.#fails.push(pred);
  }

  /** Forget the operations so far and every failure asked for. */
  reset(): void {
    this.ops.length = 0;
    this.#fails.length = 0;
    this.detections.length = 0;
  }

  /** Record an operation; whether it must fail. */
  #op(o: Omit<Op, "locked">): boolean {
    const op: Op = { ...o, locked: this.#held !== undefined };
    const index = this.ops.push(op) - 1;
    return this.#fails.some((f) => f(op, index));
  }

  /** Enter a namespace as `ip -n` / nsenter would: a missing path fails with 102. */
  #enter(netns: string | undefined): FakeNs {
    const ns = this.#mounted.get(netns ?? NODE);
    if (ns === undefined) throw new NetnsNotFoundError(netns ?? "");
    return ns;
  }

  /** The key of a mounted namespace. */
  #keyOf(ns: FakeNs): string {
    return [...this.#mounted].find(([, v]) => v === ns)![0];
  }

  #rules(ns: FakeNs, f: Family): IpRule[] {
    return [...ns.rules[f]].sort((a, b) => a.priority - b.priority);
  }

  // --- Batches -------------------------------------------------------------

  /** Run a batch (see `runIp` of `mod/kernel/iproute.ts`). */
  async run<B extends Reads = NoReads, A extends Reads = NoReads>(
    batch: IpBatch<B, A>,
    where: IpWhere = {},
  ): Promise<IpOutcome<B, A>> {
    await Promise.resolve();
    const ns = this.#enter(where.netns);
    const changes = batch.changes ?? [];
    const reads = [...Object.values(batch.before ?? {}), ...Object.values(batch.after ?? {})]
      .flat() as IpRead[];
    if (
      where.family === 6 &&
      (changes.some((c) => c.kind === "rule" && c.family === 4) ||
        reads.some((r) => r.kind === "rules" && r.family === 4))
    ) {
      throw new CniError(ErrorCode.Internal, "An IPv4 rule in an IPv6-only ip batch");
    }
    const errors: IpFailure[] = [];
    const failed = new Set<IpIntent>();
    const before = this.#answers(ns, where, batch.before, errors);
    // As runIp: neighbour changes run after the others.
    const isNeigh = (i: IpIntent) => i.kind === "neigh" || i.kind === "neigh-flush";
    for (const i of [...changes.filter((c) => !isNeigh(c)), ...changes.filter(isNeigh)]) {
      const line = intentLine(i);
      const fail = this.#op({
        kind: "ip",
        text: line.args.join(" "),
        intent: i,
        ...at(where, line),
      });
      const error = fail ? INJECTED : this.#apply(ns, i);
      if (error === undefined) continue;
      failed.add(i);
      if (!line.optional && !(line.tolerate?.test(error) ?? false)) {
        errors.push({ line, error, intent: i });
      }
    }
    const after = this.#answers(ns, where, batch.after, errors);
    return { before, after, errors, failed } as unknown as IpOutcome<B, A>;
  }

  #answers(ns: FakeNs, where: IpWhere, reads: Reads | undefined, errors: IpFailure[]): Json {
    const out: Json = {};
    for (const [name, r] of Object.entries(reads ?? {})) {
      out[name] = Array.isArray(r)
        ? (r as IpRead[]).map((one) => this.#read(ns, where, one, errors))
        : this.#read(ns, where, r as IpRead, errors);
    }
    return out;
  }

  /** One read line: its answer through the plugin's parsers, or its failure. */
  #read(ns: FakeNs, where: IpWhere, r: IpRead, errors: IpFailure[]): unknown {
    const line = readLine(r);
    const what = line.args.join(" ");
    const fail = this.#op({ kind: "read", text: what, ...at(where, line) });
    const res = fail ? { error: INJECTED } : this.#answer(ns, r, where.family === 6);
    if ("error" in res) {
      if (!line.optional) errors.push({ line, error: res.error });
      return r.kind === "route-get" ? undefined : [];
    }
    const parse = {
      links: parseLinks,
      addrs: parseAddrs,
      routes: parseRoutes,
      rules: parseRules,
      neighs: parseNeighs,
      "route-get": parseRouteGet,
    }[r.kind];
    return parse(res.json, what);
  }

  /** The JSON `ip -j` prints for a read (`six`: an `ip -6` process, IPv6 only). */
  #answer(ns: FakeNs, r: IpRead, six: boolean): { json: unknown } | { error: string } {
    const v6 = (ip: string) => !six || familyOf(ip) === 6;
    switch (r.kind) {
      case "links":
        return { json: ns.links.map(linkJson) };
      case "addrs": {
        if (r.dev !== undefined && !ns.links.some((l) => l.ifname === r.dev)) {
          return { error: `Device "${r.dev}" does not exist.` };
        }
        const links = ns.links.filter((l) => r.dev === undefined || l.ifname === r.dev);
        return {
          json: links
            .map((l) => ({ l, infos: l.addrs.filter((a) => !six || a.family === "inet6") }))
            .filter(({ infos }) => !six || infos.length > 0)
            .map(({ l, infos }) => ({
              ifindex: l.ifindex,
              ifname: l.ifname,
              flags: [...l.flags],
              address: l.address,
              "addr_info": infos.map((a) => ({ ...a })),
            })),
        };
      }
      case "routes":
        return { json: ns.routes.filter((x) => !six || x.family === 6).map(routeJson) };
      case "rules":
        return { json: this.#rules(ns, r.family).map((x) => ({ ...x })) };
      case "neighs":
        return {
          json: ns.neigh
            .filter((n) => v6(n.dst) && (!r.permanent || (n.state ?? []).includes("PERMANENT")))
            .map((n) => ({ ...n })),
        };
      case "route-get": {
        const a = ns === this.#mounted.get(NODE) && v6(r.dst)
          ? this.routeGets.get(canonicalIp(r.dst))
          : undefined;
        if (a === undefined) return { error: "RTNETLINK answers: Network is unreachable" };
        return { json: [{ type: "unicast", dst: canonicalIp(r.dst), ...a, flags: [] }] };
      }
    }
  }

  /** Apply one change; its error text, as iproute2 would print it. */
  #apply(ns: FakeNs, i: IpIntent): string | undefined {
    const link = (name: string) => ns.links.find((l) => l.ifname === name);
    switch (i.kind) {
      case "veth": {
        const peerNs = this.#mounted.get(i.netns);
        if (peerNs === undefined) {
          return `Error: argument "${i.netns}" is wrong: Invalid "netns" value`;
        }
        if (link(i.name) || peerNs.links.some((l) => l.ifname === i.peer)) return EXISTS;
        const here = this.#keyOf(ns);
        this.addVeth(
          { ...(here === NODE ? {} : { netns: here }), name: i.name, mac: i.mac },
          { netns: i.netns, name: i.peer, mac: i.peerMac },
          i.mtu,
          i.txqueuelen,
        );
        return undefined;
      }
      case "link": {
        const l = link(i.dev);
        if (l === undefined) return noDevice(i.dev);
        if (i.up) { for (const f of ["UP", "LOWER_UP"]) if (!l.flags.includes(f)) l.flags.push(f); }
        if (i.txqueuelen !== undefined) l.txqlen = i.txqueuelen;
        if (i.mac !== undefined) l.address = i.mac;
        return undefined;
      }
      case "link-del": {
        const l = link(i.dev);
        if (l === undefined) return noDevice(i.dev);
        this.#deleteLink(this.#keyOf(ns), l);
        return undefined;
      }
      case "addr": {
        const l = link(i.dev);
        if (l === undefined) return noDevice(i.dev);
        const a = worldAddr(i.cidr);
        if (l.addrs.some((x) => canonicalIp(x.local) === a.local)) return EXISTS;
        l.addrs.push(a);
        return undefined;
      }
      case "route":
        return this.#route(ns, i);
      case "rule": {
        const rules = ns.rules[i.family];
        const src = i.from === undefined ? "all" : canonicalIp(i.from);
        const table = String(i.table);
        if (i.op === "add") {
          const same = (r: IpRule) =>
            r.priority === i.priority && r.src === src && r.fwmark === i.fwmark &&
            r.table === table;
          if (rules.some(same)) return EXISTS;
          rules.push({
            priority: i.priority,
            src,
            ...(src === "all" ? {} : { srclen: i.family === 4 ? 32 : 128 }),
            ...(i.fwmark === undefined ? {} : { fwmark: i.fwmark }),
            table,
          });
          return undefined;
        }
        // The kernel compares only the selectors a deletion gives.
        const at = rules.findIndex((r) =>
          r.priority === i.priority && r.table === table &&
          (i.from === undefined || r.src === src) &&
          (i.fwmark === undefined || r.fwmark === i.fwmark)
        );
        if (at < 0) return NO_RULE;
        rules.splice(at, 1);
        return undefined;
      }
      case "neigh": {
        if (!link(i.dev)) return noDevice(i.dev);
        const dst = canonicalIp(i.dst);
        ns.neigh = ns.neigh.filter((n) => !(n.dst === dst && n.dev === i.dev));
        ns.neigh.push({ dst, dev: i.dev, lladdr: i.lladdr, state: ["PERMANENT"] });
        return undefined;
      }
      case "neigh-flush": {
        if (i.dev !== undefined && !link(i.dev)) return noDevice(i.dev);
        const dst = canonicalIp(i.dst);
        ns.neigh = ns.neigh.filter((n) => !(n.dst === dst && (i.dev ?? n.dev) === n.dev));
        return undefined;
      }
    }
  }

  #route(ns: FakeNs, i: Extract<IpIntent, { kind: "route" }>): string | undefined {
    const family = familyOf(bareIp(i.dst));
    const dst = shownDst(i.dst);
    const table = String(i.table);
    const gateway = i.via === undefined ? undefined : canonicalIp(i.via);
    const at = ns.routes.findIndex((r) =>
      r.family === family && r.table === table && r.dst === dst &&
      (i.op !== "del" || (r.dev === i.dev && (gateway === undefined || r.gateway === gateway)))
    );
    if (i.op === "del") {
      if (at < 0) return NO_ROUTE;
      ns.routes.splice(at, 1);
      return undefined;
    }
    if (!ns.links.some((l) => l.ifname === i.dev)) return noDevice(i.dev);
    if (at >= 0 && i.op === "add") return EXISTS;
    // An appended route stays beside one of the same destination (not the very same route).
    const same = ns.routes.some((r) =>
      r.family === family && r.table === table && r.dst === dst && r.dev === i.dev &&
      r.gateway === gateway
    );
    if (i.op === "append" && same) return EXISTS;
    const route: FakeRoute = {
      family,
      type: "unicast",
      dst,
      ...(gateway === undefined ? {} : { gateway }),
      dev: i.dev,
      table,
      protocol: "boot",
      // IPv6 routes have no scope; an IPv4 route without a gateway is on-link.
      scope: family === 6 ? "global" : i.scope ?? (gateway === undefined ? "link" : "global"),
      ...(i.src === undefined ? {} : { prefsrc: canonicalIp(i.src) }),
      ...(family === 6 ? { metric: 1024 } : {}),
    };
    if (at >= 0 && i.op === "replace") ns.routes[at] = route;
    else ns.routes.push(route);
    return undefined;
  }

  /** Delete a link and what goes with it: its addresses, routes, neighbours, sysctls, its veth peer. */
  #deleteLink(key: string, l: FakeLink): void {
    const ns = this.ns(key === NODE ? undefined : key);
    ns.links = ns.links.filter((x) => x !== l);
    ns.routes = ns.routes.filter((r) => r.dev !== l.ifname);
    ns.neigh = ns.neigh.filter((n) => n.dev !== l.ifname);
    for (const k of [...ns.sysctls.keys()]) {
      if (k.includes(`.conf.${l.ifname}.`) || k.includes(`.neigh.${l.ifname}.`)) {
        ns.sysctls.delete(k);
      }
    }
    const peer = l.peer;
    if (peer === undefined) return;
    const other = this.#mounted.get(peer.ns) ?? this.#unmounted.get(peer.ns);
    const end = other?.links.find((x) => x.ifindex === peer.ifindex && x.peer !== undefined);
    if (end === undefined) return;
    delete end.peer;
    this.#deleteLink(peer.ns, end);
  }

  // --- The rest of the port -----------------------------------------------

  /** Throw as `runIpChecked` does. */
  #checked<B extends Reads, A extends Reads>(out: IpOutcome<B, A>, what: string): IpOutcome<B, A> {
    if (out.errors.length > 0) {
      throw new CniError(ErrorCode.NetworkSetupFailed, failureMessage(what, out.errors));
    }
    return out;
  }

  /** Read the pod (see `readPodFacts` of `mod/kernel/facts.ts`). */
  async readPod(netns: string, opts: ReadPodOptions = {}): Promise<PodFacts> {
    const out = await this.run({
      before: {
        links: READ.links(),
        addrs: READ.addrs(),
        routes: READ.routes(),
        rules4: READ.rules(4),
        ...(opts.rules6 ? { rules6: READ.rules(6) } : {}),
        ...(opts.neigh ? { neigh: READ.neighs() } : {}),
      },
    }, { netns });
    return this.#checked(out, "Cannot read the pod network state").before;
  }

  /** Read a pod's IPv6 rules. */
  async readRules6(netns: string): Promise<IpRule[]> {
    const out = await this.run({ before: { rules6: READ.rules(6) } }, { netns });
    return this.#checked(out, "Cannot read the IPv6 rules").before.rules6;
  }

  /** Read the node for CHECK. */
  async readNode(): Promise<HostFacts> {
    const out = await this.run({
      before: {
        links: READ.links(),
        routes: READ.routes(),
        rules4: READ.rules(4),
        rules6: READ.rules(6),
        neigh: READ.neighs(),
      },
    });
    return this.#checked(out, "Cannot read the node network state").before;
  }

  /** Read the node's links. */
  async readNodeLinks(): Promise<IpLink[]> {
    const out = await this.run({ before: { links: READ.links() } });
    return this.#checked(out, "Cannot read the node's links").before.links;
  }

  /** Clean-up batches, failures as text (see `runCleanups` of `mod/kernel/apply.ts`). */
  async cleanups(c: readonly Cleanup[]): Promise<string[]> {
    const failures: string[] = [];
    for (const one of c) {
      if (one.changes.length === 0) continue;
      try {
        const out = await this.run({ changes: one.changes }, one.where);
        if (out.errors.length > 0) failures.push(failureMessage(one.what, out.errors));
      } catch (err) {
        failures.push(`${one.what}: ${errorMessage(err)}`);
      }
    }
    return failures;
  }

  /**
   * The node's streamed clean-up (see `cleanStreamed` of `mod/kernel/apply.ts`):
   * reads before the changes, the follow-up decided from them (none when a read
   * failed), and undone when anything failed.
   */
  async cleanNode<R extends Reads>(c: StreamedCleanup<R>): Promise<string[]> {
    const what = "Cannot clean the node";
    // One streamed `ip` process, one family: as IpSession.open, refuse IPv6 rules.
    if (c.changes.some((i) => i.kind === "rule" && i.family === 6)) {
      return [`${what}: An IPv6 rule in a streamed ip batch`];
    }
    let out: IpOutcome<R, NoReads>;
    try {
      out = await this.run({ before: c.reads, changes: c.changes });
    } catch (err) {
      return [`${what}: ${errorMessage(err)}`];
    }
    const readFailed = out.errors.some((e) => e.intent === undefined);
    const follow = readFailed ? { run: [], undo: [] } : c.followUp(out.before);
    const failures = out.errors.length > 0 ? [failureMessage(what, out.errors)] : [];
    failures.push(
      ...await this.cleanups([{ changes: follow.run, where: {}, what: `${what} rules` }]),
    );
    if (failures.length > 0 && follow.undo.length > 0) {
      failures.push(
        ...await this.cleanups([
          { changes: follow.undo, where: {}, what: "Cannot restore the node rules" },
        ]),
      );
    }
    return failures;
  }

  /** Write sysctls in order; every failing key is reported (CniError 103), as `writeSysctls`. */
  writeSysctls(writes: readonly SysctlIntent[], netns?: string): void {
    if (writes.length === 0) return;
    const ns = this.#enter(netns);
    const errors: string[] = [];
    for (const w of writes) {
      const fail = this.#op({
        kind: "sysctl",
        text: `sysctl ${w.key}=${w.value}`,
        ...(netns === undefined ? {} : { netns }),
      });
      let error = fail ? "Permission denied (os error 13)" : undefined;
      if (error === undefined && !this.#sysctlExists(ns, w.key)) {
        if (w.optional) continue;
        error = "No such file or directory (os error 2)";
      }
      if (error !== undefined) errors.push(`Cannot set "${w.key}" to "${w.value}": ${error}`);
      else ns.sysctls.set(w.key, String(w.value));
    }
    if (errors.length > 0) throw new CniError(ErrorCode.NetworkSetupFailed, errors.join("; "));
  }

  /** A per-interface key exists only while its interface does. */
  #sysctlExists(ns: FakeNs, key: string): boolean {
    const m = /^net\.ipv[46]\.(?:conf|neigh)\.(.+)\.[a-z0-9_]+$/.exec(key);
    const dev = m?.[1];
    return dev === undefined || dev === "all" || dev === "default" ||
      ns.links.some((l) => l.ifname === dev);
  }

  /** Read sysctls (a key never written, or gone with its interface: undefined). */
  readSysctls(keys: readonly string[], netns?: string): Map<string, string | undefined> {
    const ns = this.#enter(netns);
    return new Map(keys.map((k) => [k, ns.sysctls.get(k)]));
  }

  /** The connmark rules of `wanted` missing in a pod (one `iptables-save` per family). */
  async missingMangle(
    wanted: readonly ConnmarkIntent[],
    netns: string,
  ): Promise<ConnmarkIntent[]> {
    await Promise.resolve();
    const ns = this.#enter(netns);
    const families = [...new Set(wanted.map((w) => w.family))];
    for (const f of families) {
      const argv = [f === 4 ? "iptables-save" : "ip6tables-save", "-t", "mangle"];
      if (this.#op({ kind: "mangle-read", text: `mangle read IPv${f}`, netns })) {
        throw new CommandError(argv, 4, `${argv[0]}: Permission denied`);
      }
    }
    return wanted.filter((w) => !ns.mangle[w.family].includes(mangleRuleText(w)));
  }

  /**
   * Append or delete connmark rules: one atomic `iptables-restore` per family
   * (a deletion of a missing rule fails its whole family); the first failure
   * is thrown after all ran, as `Promise.all` of the real port does.
   */
  async mangle(op: "-A" | "-D", rules: readonly ConnmarkIntent[], netns: string): Promise<void> {
    await Promise.resolve();
    const ns = this.#enter(netns);
    let first: Error | undefined;
    for (const f of [...new Set(rules.map((r) => r.family))]) {
      const texts = rules.filter((r) => r.family === f).map(mangleRuleText);
      const argv = [f === 4 ? "iptables-restore" : "ip6tables-restore", "--noflush"];
      const fail = this.#op({
        kind: "mangle",
        text: `mangle ${op} IPv${f} ${texts.join("; ")}`,
        netns,
      });
      const table = ns.mangle[f];
      const missing = op === "-D" && texts.some((t) => !table.includes(t));
      if (fail || missing) {
        first ??= new CommandError(argv, 1, `${argv[0]}: line 2 failed`);
        continue;
      }
      if (op === "-A") table.push(...texts);
      else for (const t of texts) table.splice(table.indexOf(t), 1);
    }
    if (first !== undefined) throw first;
  }

  /** Run under the host lock; calls queue up, as `withHostLock` does. */
  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#held !== undefined) await this.#held;
    if (this.#op({ kind: "lock", text: "lock" })) {
      throw new CniError(
        ErrorCode.TryAgainLater,
        `Cannot open lock file "/run/cni/coordinator.lock"`,
      );
    }
    let release!: () => void;
    this.#held = new Promise((r) => release = r);
    this.locks++;
    try {
      return await fn();
    } finally {
      this.#held = undefined;
      release();
    }
  }

  /** The state files, in memory, as JSON text (a record goes through JSON as on disk). */
  readonly state: StatePort = {
    load: (network, containerId, ifname) => {
      const text = this.#files.get(`${network}/${containerId}_${ifname}`);
      const s = text === undefined ? undefined : JSON.parse(text);
      return readable(s) ? s : undefined;
    },
    save: (s) => {
      const key = `${s.network}/${s.containerId}_${s.ifname}`;
      if (this.#op({ kind: "state", text: `state save ${key}` })) {
        // As the real saveState() reports a file it cannot write.
        throw new CniError(
          ErrorCode.IoFailure,
          `Cannot record the attachment in "/run/cni/coordinator/${key}.json": ` +
            `Permission denied (os error 13)`,
        );
      }
      this.#files.set(key, JSON.stringify(s));
    },
    remove: (network, containerId, ifname) => {
      const key = `${network}/${containerId}_${ifname}`;
      if (this.#op({ kind: "state", text: `state remove ${key}` })) {
        throw new CniError(
          ErrorCode.IoFailure,
          `Cannot remove "/run/cni/coordinator/${key}.json": Permission denied (os error 13)`,
        );
      }
      this.#files.delete(key);
    },
    list: (network) =>
      [...this.#files]
        .filter(([k]) => k.startsWith(`${network}/`))
        .map(([, text]) => JSON.parse(text))
        .filter((s): s is AttachmentState => readable(s) && s.network === network),
  };

  /** Whether a netns path can be entered. */
  netnsUsable(path: string): boolean {
    return path !== "" && this.#mounted.has(path);
  }

  /** Detection: recorded; a failure is code 100 (conflict) or 101 (gateway), an announcement only warns. */
  readonly detect: DetectPort = {
    conflicts: async ({ netns, ips, mac }) => {
      await Promise.resolve();
      this.detections.push({ what: "conflicts", ips, mac });
      if (this.#op({ kind: "detect", text: "detect conflicts", netns })) {
        throw new CniError(
          ErrorCode.IpConflict,
          `IP address "${ips[0]}" is already used by 02:00:00:00:0b:ad`,
        );
      }
    },
    gateways: async ({ netns, mac, gateways }) => {
      await Promise.resolve();
      this.detections.push({ what: "gateways", ips: gateways, mac });
      if (this.#op({ kind: "detect", text: "detect gateways", netns })) {
        throw new CniError(ErrorCode.GatewayUnreachable, `Gateway "${gateways[0]}" did not answer`);
      }
    },
    announce: async ({ netns, ips, mac }) => {
      await Promise.resolve();
      this.detections.push({ what: "announce", ips, mac });
      const fail = this.#op({ kind: "detect", text: "detect announce", netns });
      return fail ? [`Cannot announce "${ips[0]}": Network is down`] : [];
    },
  };

  /** Returns at once (the time is added to {@linkcode FakeKernel.slept}). */
  sleep(ms: number): Promise<void> {
    this.slept += ms;
    return Promise.resolve();
  }
}

function readable(s: unknown): s is AttachmentState {
  const v = (s as { version?: unknown } | null | undefined)?.version;
  return v === 1 || v === 2 || v === 3;
}

// --- The worlds of docs/network.md ------------------------------------------

/** The node's addresses and the gateways of the worked examples. */
export const WORLD = {
  nodeIp4: "10.6.212.101",
  nodeIp6: "fd00:6::101",
  gateway4: "10.6.0.1",
  gateway6: "fd00:6::1",
} as const;

let macs = 0;

/** A distinct locally administered MAC for a link of a world. */
function worldMac(): string {
  const hex = (n: number) => n.toString(16).padStart(2, "0");
  macs++;
  return `62:33:3e:00:${hex(macs >> 8)}:${hex(macs & 255)}`;
}

/**
 * A route of a world: unicast, main table, `proto boot`, scope global unless given.
 *
 * @param dst the destination as `ip` prints it
 * @param dev the device
 * @param more the other fields (family: of `dst`, else 4)
 * @returns the route
 */
export function worldRoute(dst: string, dev: string, more: Partial<FakeRoute> = {}): FakeRoute {
  const family = dst === "default" ? 4 : familyOf(bareIp(dst));
  const base = { type: "unicast", table: "main", protocol: "boot", scope: "global" } as const;
  return { family, ...base, dst, dev, ...more };
}

/** An address of a link ("inet" or "inet6" from the address). */
function worldAddr(cidr: string, scope = "global"): IpAddrInfo {
  const ip = canonicalIp(bareIp(cidr));
  const family = familyOf(ip) === 4 ? "inet" : "inet6";
  return { family, local: ip, prefixlen: Number(cidr.split("/")[1]), scope };
}

/**
 * The node: lo, the uplink `ens192` with 10.6.212.101/16 and fd00:6::101/64,
 * its default routes, learnt neighbours (the gateways), forwarding on.
 *
 * @returns a fake with only the node
 */
export function nodeWorld(): FakeKernel {
  const k = new FakeKernel();
  const node = k.ns();
  const up = ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"];
  node.links.push({
    ...{ ifindex: 2, ifname: "ens192", flags: up, mtu: 1500, txqlen: 1000 },
    address: "00:50:56:aa:bb:01",
    addrs: [
      worldAddr(`${WORLD.nodeIp4}/16`),
      worldAddr(`${WORLD.nodeIp6}/64`),
      worldAddr("fe80::250:56ff:feaa:bb01/64", "link"),
    ],
  });
  const kernel = { protocol: "kernel" };
  node.routes.push(
    worldRoute("default", "ens192", { gateway: WORLD.gateway4 }),
    worldRoute("10.6.0.0/16", "ens192", { ...kernel, scope: "link", prefsrc: WORLD.nodeIp4 }),
    worldRoute("fd00:6::/64", "ens192", { ...kernel, metric: 256 }),
    worldRoute("fe80::/64", "ens192", { ...kernel, metric: 256 }),
    worldRoute("default", "ens192", { family: 6, gateway: WORLD.gateway6, metric: 1024 }),
  );
  node.neigh.push(
    { dst: WORLD.gateway4, dev: "ens192", lladdr: "00:50:56:00:00:01", state: ["REACHABLE"] },
    { dst: WORLD.gateway6, dev: "ens192", lladdr: "00:50:56:00:00:01", state: ["STALE"] },
  );
  node.sysctls.set("net.ipv4.ip_forward", "1");
  node.sysctls.set("net.ipv6.conf.all.forwarding", "1");
  return k;
}

/**
 * Give a pod a macvlan NIC on `ens192` with addresses and default routes (as
 * the macvlan + static IPAM plugins would), teach the node's `route get`
 * about its addresses, and return the matching 1.0.0 prevResult (the shape of
 * `addMacvlanNic` of tools/lib/world.ts).
 *
 * @param k the fake
 * @param netns the pod netns path
 * @param opts NIC name, addresses (CIDR), gateways
 * @returns the prevResult
 */
export function addMacvlanNic(
  k: FakeKernel,
  netns: string,
  opts: { ifname: string; addrs: string[]; gateways: string[] },
): Result {
  const pod = k.ns(netns);
  const mac = worldMac();
  const dev = opts.ifname;
  pod.links.push({
    ...{ ifindex: k.nextIndex(), ifname: dev, mtu: 1500, txqlen: 1000, address: mac },
    flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
    kind: "macvlan",
    "link_index": 2,
    "link_netnsid": 0,
    addrs: [
      ...opts.addrs.map((a) => worldAddr(a)),
      worldAddr(`fe80::6033:3eff:fe00:${macs.toString(16)}/64`, "link"),
    ],
  });
  for (const a of opts.addrs) {
    const ip = canonicalIp(bareIp(a));
    const v4 = familyOf(ip) === 4;
    const kernel = {
      protocol: "kernel",
      ...(v4 ? { scope: "link", prefsrc: ip } : { metric: 256 }),
    };
    pod.routes.push(worldRoute(maskCidrText(a), dev, kernel));
    k.routeGets.set(ip, { dev: "ens192", prefsrc: v4 ? WORLD.nodeIp4 : WORLD.nodeIp6 });
  }
  pod.routes.push(worldRoute("fe80::/64", dev, { protocol: "kernel", metric: 256 }));
  for (const gw of opts.gateways) {
    const v6 = familyOf(gw) === 6;
    pod.routes.push(
      worldRoute("default", dev, { gateway: gw, ...(v6 ? { family: 6, metric: 1024 } : {}) }),
    );
  }
  return {
    cniVersion: "1.0.0",
    interfaces: [{ name: dev, mac, sandbox: netns }],
    ips: opts.addrs.map((a) => {
      const gateway = opts.gateways.find((g) => g.includes(":") === a.includes(":"));
      return { address: a, interface: 0, ...(gateway === undefined ? {} : { gateway }) };
    }),
    routes: opts.gateways.map((g) => ({ dst: g.includes(":") ? "::/0" : "0.0.0.0/0", gw: g })),
  };
}

/**
 * eth0 as the ptp plugin makes it (an overlay CNI's NIC): a veth whose node
 * end holds 10.233.100.1/32 and routes 10.233.100.2 to it, the pod
 * 10.233.100.2/24 with its default via 10.233.100.1 (as `addPtpEth0` of
 * tools/lib/world.ts).
 *
 * @param k the fake
 * @param netns the pod netns path
 * @param hostEnd the node end's name
 */
export function addPtpEth0(k: FakeKernel, netns: string, hostEnd: string): void {
  k.addVeth({ name: hostEnd, mac: worldMac() }, { netns, name: "eth0", mac: worldMac() });
  const [node, pod] = [k.link(undefined, hostEnd), k.link(netns, "eth0")];
  for (const l of [node, pod]) l.flags.push("UP", "LOWER_UP");
  node.addrs.push(worldAddr("10.233.100.1/32"));
  pod.addrs.push(worldAddr("10.233.100.2/24"));
  k.ns().routes.push(worldRoute("10.233.100.2", hostEnd, { scope: "host" }));
  const src = { prefsrc: "10.233.100.2" };
  k.ns(netns).routes.push(
    worldRoute("10.233.100.1", "eth0", { scope: "link", ...src }),
    worldRoute("10.233.100.0/24", "eth0", { gateway: "10.233.100.1", ...src }),
    worldRoute("default", "eth0", { gateway: "10.233.100.1" }),
  );
  k.routeGets.set("10.233.100.2", { dev: hostEnd, prefsrc: "10.233.100.1" });
}

/** A logged line. */
export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps its lines. */
export interface CapturingLogger extends Logger {
  lines: LogLine[];
}

/**
 * A logger that keeps every line (children share the list).
 *
 * @returns the logger
 */
export function captureLogger(): CapturingLogger {
  const lines: LogLine[] = [];
  const at = (level: LogLine["level"]) => (msg: string, fields: Record<string, unknown> = {}) => {
    lines.push({ level, msg, fields });
  };
  const log: CapturingLogger = {
    lines,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: () => log,
    flush: () => {},
  };
  return log;
}

/** One CNI call of a test. */
export interface Call {
  containerId: string;
  netns: string;
  ifname: string;
}

/**
 * A command context as the dispatcher builds it (`mod/cni/dispatch.ts`):
 * the configuration through `parseConfig` (lenient for DEL and GC), the
 * prevResult, an empty CNI_ARGS, a capturing logger.
 *
 * @param command "ADD", "DEL", "CHECK" or "GC"
 * @param conf the configuration as on stdin (without prevResult)
 * @param call container ID, netns and ifname
 * @param prevResult the previous result, if any
 * @returns the context
 */
export function cmdContext(
  command: "ADD" | "DEL" | "CHECK" | "GC",
  conf: Record<string, unknown>,
  call: Call,
  prevResult?: Result,
): CmdContext & { log: CapturingLogger } {
  const lenient = command === "DEL" || command === "GC";
  return {
    env: { command, ...call, args: "", path: "/opt/cni/bin" },
    conf: parseConfig(conf, { lenient }),
    prevResult: prevResult === undefined ? undefined : structuredClone(prevResult),
    cniArgs: parseCniArgs(""),
    log: captureLogger(),
  };
}

// --- Scenarios: one NIC's ADD in a world of the worked examples ------------

/** The configuration of underlay example 1 (as `itConf` of tools/lib/world.ts, with a hijack CIDR). */
export const UNDERLAY_CONF = {
  cniVersion: "1.0.0",
  name: "ut-underlay",
  type: "coordinator",
  mode: "auto",
  serviceCIDR: ["10.233.0.0/18"],
  overlayPodCIDR: ["10.233.64.0/18"],
  hijackCIDR: ["169.254.20.10/32"],
} as const;

/** The scenarios every command test runs. */
export const SCENARIOS = [
  "underlay IPv4",
  "underlay dual stack",
  "underlay IPv6 only",
  "overlay net1",
  "underlay net1 after eth0",
] as const;

/** A scenario's name. */
export type ScenarioName = (typeof SCENARIOS)[number];

/** A world ready for one NIC's ADD. */
export interface Scenario {
  name: ScenarioName;
  k: FakeKernel;
  conf: Record<string, unknown>;
  call: Call;
  prev: Result;
  /** The node end of the pod-node pair (the host veth ADD makes, or the ptp end). */
  nodeEnd: string;
  /** The first NIC's ADD of "underlay net1 after eth0" (its call and config). */
  first?: { call: Call; conf: Record<string, unknown> };
}

/** The container of every scenario, and its host veth's name. */
export const CONTAINER = "0123456789abcdef";
/** The host veth of {@linkcode CONTAINER}. */
export const HOST_VETH = "veth0123456789a";
/** The pod netns path of every scenario. */
export const POD = "/var/run/netns/ut-pod";

/**
 * Build a scenario's world (for "underlay net1 after eth0", eth0's ADD has
 * run: `add` is `cmdAdd` of `mod/commands/add.ts`, passed in so that this
 * helper does not import the command it tests).
 *
 * @param name the scenario
 * @param add ADD, to run a first NIC's ADD before the scenario's own
 * @returns the world, the configuration, the call and the prevResult
 */
export async function buildScenario(
  name: ScenarioName,
  add: (ctx: CmdContext, k: FakeKernel) => Promise<Result>,
): Promise<Scenario> {
  const k = nodeWorld();
  k.addNetns(POD);
  const eth0: Call = { containerId: CONTAINER, netns: POD, ifname: "eth0" };
  const v4 = { ifname: "eth0", addrs: ["10.6.212.241/16"], gateways: [WORLD.gateway4] };
  switch (name) {
    case "underlay IPv4":
      return {
        name,
        k,
        conf: { ...UNDERLAY_CONF },
        call: eth0,
        prev: addMacvlanNic(k, POD, v4),
        nodeEnd: HOST_VETH,
      };
    case "underlay dual stack":
      return {
        name,
        k,
        conf: {
          ...UNDERLAY_CONF,
          name: "ut-dual",
          serviceCIDR: ["10.233.0.0/18", "fd00:10:233::/116"],
          overlayPodCIDR: ["10.233.64.0/18", "fd00:10:233:64::/64"],
          hijackCIDR: [],
          podMACPrefix: "0a:1b",
          txQueueLen: 2000,
          detectIPConflict: true,
          detectGateway: true,
        },
        call: eth0,
        prev: addMacvlanNic(k, POD, {
          ifname: "eth0",
          addrs: ["10.6.212.241/16", "fd00:6::f1/64"],
          gateways: [WORLD.gateway4, WORLD.gateway6],
        }),
        nodeEnd: HOST_VETH,
      };
    case "underlay IPv6 only":
      return {
        name,
        k,
        conf: {
          ...UNDERLAY_CONF,
          name: "ut-v6",
          serviceCIDR: ["10.233.0.0/18", "fd00:10:233::/116"],
          hijackCIDR: [],
        },
        call: eth0,
        prev: addMacvlanNic(k, POD, {
          ifname: "eth0",
          addrs: ["fd00:6::f1/64"],
          gateways: [WORLD.gateway6],
        }),
        nodeEnd: HOST_VETH,
      };
    case "overlay net1":
      addPtpEth0(k, POD, "vethptp1");
      return {
        name,
        k,
        conf: { ...UNDERLAY_CONF, name: "ut-overlay-net1" },
        call: { ...eth0, ifname: "net1" },
        prev: addMacvlanNic(k, POD, { ...v4, ifname: "net1" }),
        nodeEnd: "vethptp1",
      };
    case "underlay net1 after eth0": {
      const first = { call: eth0, conf: { ...UNDERLAY_CONF } };
      const prev0 = addMacvlanNic(k, POD, v4);
      await add(cmdContext("ADD", first.conf, eth0, prev0), k);
      const prev = addMacvlanNic(k, POD, {
        ifname: "net1",
        addrs: ["10.7.212.5/16"],
        gateways: ["10.7.0.1"],
      });
      k.reset();
      return {
        name,
        k,
        conf: { ...UNDERLAY_CONF, name: "ut-underlay-net1" },
        call: { ...eth0, ifname: "net1" },
        prev,
        nodeEnd: HOST_VETH,
        first,
      };
    }
  }
}
