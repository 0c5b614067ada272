/**
 * The gateway to iproute2, and the only code that knows its syntax: the
 * translator of typed intents and reads (`./intent.ts`) into `ip -batch`
 * lines, the runner that maps the outputs and failures of an
 * `ip -j -d -force -batch -` run back to the intents and to named, checked
 * answers (`./ip_json.ts`), and a session fed and read incrementally.
 *
 * One file (about 500 lines): the translator and the mapping of a batch's
 * outcome back to its intents and named reads are one contract with
 * iproute2's syntax and change together. The process side of batch mode is
 * `./ip_batch.ts`.
 *
 * One `ip -batch` process reads and changes many things. An intent says which
 * outcomes besides success it accepts ("exists", "gone"); the translator
 * knows the messages that mean them.
 * Rules are per family and iproute2 cannot switch family per batch line: the
 * IPv6 rules of a batch run in a second `ip -6` process, beside the first.
 *
 * Requires `--allow-run=ip` (and `--allow-ffi` when run in a netns).
 *
 * @example
 * ```ts
 * import { intentLine } from "./iproute.ts";
 * const line = intentLine({ kind: "rule", op: "add", family: 4, priority: 1000, table: 500 });
 * if (line.args.join(" ") !== "rule add table 500 pref 1000") throw new Error(line.args.join(" "));
 * ```
 *
 * @module
 */

import { CniError, ErrorCode } from "../errors.ts";
import {
  type BatchLine,
  type BatchResult,
  BatchSession,
  type LineOutcome,
  runBatch,
} from "./ip_batch.ts";
import type { Family, IpIntent, IpRead, Tolerate } from "./intent.ts";
import {
  type IpAddrLink,
  type IpLink,
  type IpNeigh,
  type IpRoute,
  type IpRouteGet,
  type IpRule,
  parseAddrs,
  parseLinks,
  parseNeighs,
  parseRouteGet,
  parseRoutes,
  parseRules,
} from "./ip_json.ts";

/** Errors that mean "it is there already". */
const EXISTS = /File exists/;

/**
 * Errors that mean "already gone" (a deletion of something removed before;
 * an IPv6 rule on a node whose kernel has no IPv6 was never there).
 */
export const GONE =
  /Cannot find device|No such process|No such file or directory|does not exist|not found|Address family not supported/i;

function toleranceOf(t: Tolerate | undefined): RegExp | undefined {
  return t === "exists" ? EXISTS : t === "gone" ? GONE : undefined;
}

/** `[word, value]`, or nothing when the value is absent. */
function opt(word: string, value: string | number | undefined): string[] {
  return value === undefined ? [] : [word, String(value)];
}

function line(args: string[], tolerate?: Tolerate, optional?: boolean): BatchLine {
  const l: BatchLine = { args };
  const t = toleranceOf(tolerate);
  if (t !== undefined) l.tolerate = t;
  if (optional) l.optional = true;
  return l;
}

/**
 * The `ip -batch` line of an intent (without the leading `ip`).
 *
 * Word order is iproute2's own: `route OP DST [via GW] dev DEV [scope S]
 * [src S] [table T]` (a deletion always names its table, main included),
 * `rule OP [from A] [fwmark M] table T pref P`, `link set dev X ...`.
 *
 * @param i the intent
 * @returns the line
 */
export function intentLine(i: IpIntent): BatchLine {
  switch (i.kind) {
    case "veth": {
      const mtu = String(i.mtu);
      const q = String(i.txqueuelen);
      return line([
        ...["link", "add", i.name, "address", i.mac, "mtu", mtu, "txqueuelen", q, "type", "veth"],
        ...["peer", "name", i.peer, "address", i.peerMac, "mtu", mtu, "txqueuelen", q],
        ...["netns", i.netns],
      ]);
    }
    case "link":
      return line([
        ...["link", "set", "dev", i.dev],
        ...(i.up ? ["up"] : []),
        ...opt("txqueuelen", i.txqueuelen),
        ...opt("address", i.mac),
      ]);
    case "link-del":
      return line(["link", "del", "dev", i.dev], i.tolerate);
    case "addr":
      return line(["addr", "add", i.cidr, "dev", i.dev], i.tolerate);
    case "route": {
      const table = i.op === "del" || i.table !== "main" ? ["table", String(i.table)] : [];
      return line([
        ...["route", i.op, i.dst, ...opt("via", i.via), "dev", i.dev],
        ...opt("scope", i.scope),
        ...opt("src", i.src),
        ...table,
      ], i.tolerate);
    }
    case "rule":
      return line([
        ...["rule", i.op, ...opt("from", i.from), ...opt("fwmark", i.fwmark)],
        ...["table", String(i.table), "pref", String(i.priority)],
      ], i.tolerate);
    case "neigh":
      return line([
        "neigh",
        "replace",
        i.dst,
        "lladdr",
        i.lladdr,
        "dev",
        i.dev,
        "nud",
        "permanent",
      ]);
    case "neigh-flush":
      return line(
        ["neigh", "flush", "to", i.dst, ...opt("dev", i.dev), "nud", "all"],
        i.tolerate,
        i.optional,
      );
  }
}

/**
 * The `ip -j -batch` line of a read (`route get` may fail: an unroutable
 * address has no answer).
 *
 * @param r the read
 * @returns the line
 */
export function readLine(r: IpRead): BatchLine {
  switch (r.kind) {
    case "links":
      return { args: ["link", "show"], read: true };
    case "addrs":
      return { args: ["addr", "show", ...opt("dev", r.dev)], read: true };
    case "routes":
      return { args: ["route", "show", "table", "all"], read: true };
    case "rules":
      return { args: ["rule", "show"], read: true };
    case "neighs":
      return { args: ["neigh", "show", ...(r.permanent ? ["nud", "permanent"] : [])], read: true };
    case "route-get":
      return { args: ["route", "get", r.dst], read: true, optional: true };
  }
}

/** The checked answer type of a read. */
export type AnswerOf<R extends IpRead> = R extends { kind: "links" } ? IpLink[]
  : R extends { kind: "addrs" } ? IpAddrLink[]
  : R extends { kind: "routes" } ? IpRoute[]
  : R extends { kind: "rules" } ? IpRule[]
  : R extends { kind: "neighs" } ? IpNeigh[]
  : R extends { kind: "route-get" } ? IpRouteGet | undefined
  : never;

/** Named reads: one read, or a list of reads answered as a list. */
export type Reads = { readonly [name: string]: IpRead | readonly IpRead[] };

/** The answers of named reads, by the same names. */
export type Answers<R extends Reads> = {
  -readonly [K in keyof R]: NonNullable<R[K]> extends readonly IpRead[]
    ? AnswerOf<NonNullable<R[K]>[number]>[]
    : NonNullable<R[K]> extends IpRead ? AnswerOf<NonNullable<R[K]>>
    : never;
};

/** No reads. */
export type NoReads = Record<never, never>;

function answerOf(r: IpRead, value: unknown): unknown {
  const what = readLine(r).args.join(" ");
  switch (r.kind) {
    case "links":
      return parseLinks(value, what);
    case "addrs":
      return parseAddrs(value, what);
    case "routes":
      return parseRoutes(value, what);
    case "rules":
      return parseRules(value, what);
    case "neighs":
      return parseNeighs(value, what);
    case "route-get":
      return parseRouteGet(value, what);
  }
}

/** Empty answer of a failed read (the failure is in the outcome's errors). */
function noAnswer(r: IpRead): unknown {
  return r.kind === "route-get" ? undefined : [];
}

/**
 * One batch: reads before the changes (they see the state before it), the
 * changes, reads after them. Neighbour changes run after the other changes,
 * whatever their place in `changes`: iproute2 ends a whole batch when a
 * neighbour command fails.
 */
export interface IpBatch<B extends Reads = NoReads, A extends Reads = NoReads> {
  before?: B;
  changes?: readonly IpIntent[];
  after?: A;
}

/** Where a batch runs. */
export interface IpWhere {
  /** This netns path (absent: the caller's). */
  netns?: string;
  /** 6: an IPv6-only batch, run by one `ip -6` process (its reads see IPv6 only). */
  family?: 6;
}

/** A line of a batch that failed. */
export interface IpFailure {
  line: BatchLine;
  error: string;
  /** The change, when the line was one. */
  intent?: IpIntent;
}

/** What a batch did. */
export interface IpOutcome<B extends Reads = NoReads, A extends Reads = NoReads> {
  /**
   * The answers by name; a read that failed has an empty answer and is in
   * `errors`, so they count only when `errors` is empty.
   */
  before: Answers<B>;
  after: Answers<A>;
  /** Failed lines that were neither tolerated nor optional (empty: all went through). */
  errors: IpFailure[];
  /** Every change that failed, tolerated ones included. */
  failed: ReadonlySet<IpIntent>;
}

interface Slot {
  line: BatchLine;
  intent?: IpIntent;
  read?: { at: "before" | "after"; name: string; index?: number; read: IpRead };
}

function isReadList(r: IpRead | readonly IpRead[]): r is readonly IpRead[] {
  return Array.isArray(r);
}

function readSlots(at: "before" | "after", reads: Reads | undefined): Slot[] {
  const out: Slot[] = [];
  for (const [name, r] of Object.entries(reads ?? {})) {
    if (isReadList(r)) {
      r.forEach((one, index) =>
        out.push({ line: readLine(one), read: { at, name, index, read: one } })
      );
    } else {
      out.push({ line: readLine(r), read: { at, name, read: r } });
    }
  }
  return out;
}

function changeSlots(changes: readonly IpIntent[]): Slot[] {
  const neigh = (i: IpIntent) => i.kind === "neigh" || i.kind === "neigh-flush";
  return [...changes.filter((i) => !neigh(i)), ...changes.filter(neigh)].map((intent) => ({
    line: intentLine(intent),
    intent,
  }));
}

/** Does the slot need an `ip -6` process (an IPv6 rule or IPv6 rule read)? */
function needsSix(s: Slot): boolean {
  return (s.intent?.kind === "rule" && s.intent.family === 6) ||
    (s.read?.read.kind === "rules" && s.read.read.family === 6);
}

function familyOfSlot(s: Slot): Family | undefined {
  if (s.intent?.kind === "rule") return s.intent.family;
  return s.read?.read.kind === "rules" ? s.read.read.family : undefined;
}

function slotsOf(batch: IpBatch<Reads, Reads>): Slot[] {
  return [
    ...readSlots("before", batch.before),
    ...changeSlots(batch.changes ?? []),
    ...readSlots("after", batch.after),
  ];
}

/** Map line outcomes back to named answers and failed intents. */
function outcomeOf<B extends Reads, A extends Reads>(
  batch: IpBatch<B, A>,
  runs: readonly (readonly [readonly Slot[], readonly LineOutcome[]])[],
): IpOutcome<B, A> {
  const answers: Record<"before" | "after", Record<string, unknown>> = { before: {}, after: {} };
  for (const at of ["before", "after"] as const) {
    for (const [name, r] of Object.entries((at === "before" ? batch.before : batch.after) ?? {})) {
      answers[at][name] = Array.isArray(r) ? new Array(r.length).fill(undefined) : undefined;
    }
  }
  const errors: IpFailure[] = [];
  const failed = new Set<IpIntent>();
  for (const [slots, outcomes] of runs) {
    slots.forEach((s, n) => {
      const o = outcomes[n] ?? { line: s.line };
      const read = s.read;
      if (read !== undefined) {
        let value: unknown = noAnswer(read.read);
        if (o.error !== undefined) {
          if (!s.line.optional) errors.push({ line: s.line, error: o.error });
        } else if (o.output === undefined) {
          errors.push({ line: s.line, error: "no answer: ip ended before this line ran" });
        } else {
          value = answerOf(read.read, o.output);
        }
        const slot = answers[read.at];
        if (read.index === undefined) slot[read.name] = value;
        else (slot[read.name] as unknown[])[read.index] = value;
      } else if (s.intent !== undefined && o.error !== undefined) {
        failed.add(s.intent);
        const ok = s.line.optional || (s.line.tolerate?.test(o.error) ?? false);
        if (!ok) errors.push({ line: s.line, error: o.error, intent: s.intent });
      }
    });
  }
  return {
    before: answers.before as Answers<B>,
    after: answers.after as Answers<A>,
    errors,
    failed,
  };
}

/**
 * Run a batch: its reads and changes go to one `ip -j -d -force -batch -`
 * process, its IPv6 rules (changes and reads) to a second `ip -6` one run
 * beside it (with `family: 6`, everything to one `ip -6` process).
 *
 * @param batch the reads and changes
 * @param where netns and family
 * @returns the answers by name, the failures
 * @throws CniError 103 on a malformed answer, 999 on an IPv4 rule in an IPv6-only batch
 */
export async function runIp<B extends Reads = NoReads, A extends Reads = NoReads>(
  batch: IpBatch<B, A>,
  where: IpWhere = {},
): Promise<IpOutcome<B, A>> {
  const slots = slotsOf(batch);
  if (where.family === 6 && slots.some((s) => familyOfSlot(s) === 4)) {
    throw new CniError(ErrorCode.Internal, "An IPv4 rule in an IPv6-only ip batch");
  }
  const six = where.family === 6 ? slots : slots.filter(needsSix);
  const main = where.family === 6 ? [] : slots.filter((s) => !needsSix(s));
  const netns = where.netns === undefined ? {} : { netns: where.netns };
  const [r4, r6] = await Promise.all([
    runBatch(main.map((s) => s.line), netns),
    runBatch(six.map((s) => s.line), { ...netns, family: 6 }),
  ]);
  return outcomeOf(batch, [[main, r4.outcomes], [six, r6.outcomes]]);
}

/**
 * A batch fed to one streamed `ip -batch` process ({@linkcode BatchSession}):
 * its reads (first) can be used as soon as `ip` has printed them, while the
 * changes after them still run. No IPv6 rules (one process, one family).
 */
export class IpSession<R extends Reads> {
  readonly #batch: IpBatch<R, NoReads>;
  readonly #slots: Slot[];
  /** The underlying session (stdin already closed). */
  readonly lines: BatchSession;

  private constructor(batch: IpBatch<R, NoReads>, slots: Slot[], lines: BatchSession) {
    this.#batch = batch;
    this.#slots = slots;
    this.lines = lines;
  }

  /**
   * Start `ip -batch`, send the reads, then the changes, and close its stdin.
   *
   * @param batch reads and changes
   * @param netns run in this netns (absent: the caller's)
   * @returns the session
   * @throws CommandError 127 when `ip` is missing; CniError when it cannot be fed
   */
  static async open<R extends Reads>(
    batch: { before: R; changes: readonly IpIntent[] },
    netns?: string,
  ): Promise<IpSession<R>> {
    const slots = slotsOf(batch);
    if (slots.some(needsSix)) {
      throw new CniError(ErrorCode.Internal, "An IPv6 rule in a streamed ip batch");
    }
    const s = BatchSession.open(netns === undefined ? {} : { netns });
    try {
      await s.send(slots.map((x) => x.line));
    } finally {
      s.end();
    }
    return new IpSession(batch, slots, s);
  }

  /**
   * The reads, as soon as `ip` has printed them.
   *
   * @returns the answers, or undefined when a read failed or `ip` ended first
   */
  async answers(): Promise<Answers<R> | undefined> {
    const n = this.#slots.filter((s) => s.read !== undefined).length;
    if (!await this.lines.until((p) => p.values.length >= n)) return undefined;
    const out = this.outcome(this.lines.snapshot());
    return out.errors.some((e) => e.intent === undefined) ? undefined : out.before;
  }

  /**
   * A line result of the session mapped to the batch's answers and intents.
   *
   * @param res the session's result (a snapshot or the end)
   * @returns the outcome
   */
  outcome(res: BatchResult): IpOutcome<R, NoReads> {
    return outcomeOf(this.#batch, [[this.#slots, res.outcomes]]);
  }
}

/**
 * Describe failed lines as one message: `what: "ip LINE": error; ...`.
 *
 * @param what the action, e.g. "Cannot configure the pod"
 * @param errors the failures
 * @returns the message
 */
export function failureMessage(what: string, errors: readonly IpFailure[]): string {
  return `${what}: ` + errors.map((e) => `"ip ${e.line.args.join(" ")}": ${e.error}`).join("; ");
}

/**
 * The outcome, when every line went through; else a CNI error listing the
 * failures.
 *
 * @param out a batch's outcome
 * @param what the action for the message, e.g. "Cannot configure the pod"
 * @returns the outcome
 * @throws CniError 103 listing every failed line
 */
export function throwFailures<T extends { errors: readonly IpFailure[] }>(out: T, what: string): T {
  if (out.errors.length > 0) {
    throw new CniError(ErrorCode.NetworkSetupFailed, failureMessage(what, out.errors));
  }
  return out;
}

/**
 * {@linkcode runIp}, and any failure that is neither tolerated nor optional
 * throws.
 *
 * @param batch the reads and changes
 * @param where netns and family
 * @param what the action for the message, e.g. "Cannot configure the pod"
 * @returns the outcome (without errors)
 * @throws CniError 103 listing every failed line
 */
export async function runIpChecked<B extends Reads = NoReads, A extends Reads = NoReads>(
  batch: IpBatch<B, A>,
  where: IpWhere,
  what: string,
): Promise<IpOutcome<B, A>> {
  return throwFailures(await runIp(batch, where), what);
}
