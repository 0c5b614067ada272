/**
 * Bounded waits for the tests and the tools, for a machine that is busy.
 *
 * Two rules make a test hold on a loaded machine (issue 19):
 *
 * - A wait on the kernel or a child (a veth settling, a process entering a
 *   netns, a daemon answering, a server listening) is a poll with a deadline,
 *   never a bare sleep; when the deadline passes, the error says what was
 *   awaited and what the last probe saw ({@linkcode pollUntil}).
 * - An answer of a child that cannot be empty (`ip link` lists at least `lo`,
 *   `ip -j` prints at least `[]`) is never taken as the state when it is
 *   empty: it was lost on the way (`ctr task exec` returns on the exit status
 *   and may drop output still in its FIFOs). {@linkcode retryNonEmpty} asks a
 *   bounded number of times and then fails with every try's raw exit code,
 *   stdout and stderr.
 *
 * @example
 * ```ts
 * import { pollUntil, retryNonEmpty } from "./poll.ts";
 *
 * let n = 0;
 * const seen = await pollUntil("the counter to reach 3", () => ++n, { until: (v) => v >= 3 });
 * if (seen !== 3) throw new Error("unexpected");
 *
 * const answers = [{ code: 0, stdout: "", stderr: "" }, { code: 0, stdout: "lo\n", stderr: "" }];
 * const r = await retryNonEmpty("ip link", () => Promise.resolve(answers.shift()!), { pauseMs: 0 });
 * if (r.stdout !== "lo\n") throw new Error("unexpected");
 * ```
 *
 * @module
 */

/** Options of {@linkcode pollUntil}. */
export interface PollOptions<T> {
  /** When the probe's value means done (default: any value but undefined, null and false). */
  until?: (value: T) => boolean;
  /** Give up this many milliseconds after the first probe (default 20 000). */
  timeoutMs?: number;
  /** Pause between probes, milliseconds (default 50). */
  intervalMs?: number;
  /** How a seen value is shown in the timeout message (default: JSON, shortened). */
  show?: (value: T) => string;
}

/** A bounded wait ran out: its message names what was awaited and the last thing seen. */
export class PollTimeoutError extends Error {
  /**
   * @param message what was awaited, for how long, and the last thing seen
   * @param options the last probe's error, if it threw
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PollTimeoutError";
  }
}

/** The longest text of one seen value or answer put into a message. */
const MAX_SHOWN = 2000;

function shorten(text: string): string {
  return text.length <= MAX_SHOWN ? text : `${text.slice(0, MAX_SHOWN)}... (${text.length} chars)`;
}

function defaultShow(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "string") return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Probe until the value is done or the deadline passes. A probe that throws
 * ends the wait with that error (a probe that may fail while the awaited state
 * is not there yet catches its own error and returns a "not yet" value).
 *
 * @param what what is awaited, for the message ("containerd to answer")
 * @param probe reads the current state
 * @param opts the done test, deadline, pause and how to show a value
 * @returns the first value that is done
 * @throws {PollTimeoutError} when the deadline passed first, with the last value seen
 */
export async function pollUntil<T>(
  what: string,
  probe: () => T | Promise<T>,
  opts: PollOptions<T> = {},
): Promise<T> {
  const until = opts.until ?? ((v: T) => v !== undefined && v !== null && v !== false);
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const intervalMs = opts.intervalMs ?? 50;
  const show = opts.show ?? defaultShow;
  const start = performance.now();
  for (let tries = 1;; tries++) {
    const value = await probe();
    if (until(value)) return value;
    const waited = performance.now() - start;
    if (waited >= timeoutMs) {
      throw new PollTimeoutError(
        `Timed out waiting for ${what}: not there after ${Math.round(waited)} ms and ${tries} ` +
          `probes; last seen: ${shorten(show(value))}`,
      );
    }
    await sleep(Math.min(intervalMs, Math.max(0, timeoutMs - waited)));
  }
}

/** Options of {@linkcode within}. */
export interface WithinOptions {
  /** Give up after this many milliseconds. */
  timeoutMs: number;
  /** What was seen meanwhile, for the message (e.g. the output so far). */
  lastSeen?: () => string;
}

/**
 * Wait for a promise (a child's exit, its first line) with a deadline.
 *
 * @param what what is awaited, for the message ("ctr run c1 to exit")
 * @param promise the promise
 * @param opts the deadline and what was seen meanwhile
 * @returns the promise's value
 * @throws {PollTimeoutError} when the deadline passed first
 */
export async function within<T>(
  what: string,
  promise: Promise<T>,
  opts: WithinOptions,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const seen = opts.lastSeen === undefined ? "" : `; last seen: ${shorten(opts.lastSeen())}`;
      reject(
        new PollTimeoutError(`Timed out waiting for ${what} after ${opts.timeoutMs} ms${seen}`),
      );
    }, opts.timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a finished command left (the shape of every exec helper's result). */
export interface CommandAnswer {
  /** The exit code. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode retryNonEmpty}. */
export interface RetryOptions {
  /** How many times to ask at most (default 5). */
  tries?: number;
  /** Pause between tries, milliseconds (default 200). */
  pauseMs?: number;
}

/** An answer stayed empty (or a try failed): the message lists every try's raw answer. */
export class EmptyAnswerError extends Error {
  /**
   * @param message what was asked and every try's answer
   * @param answers the raw answers, in order
   */
  constructor(message: string, readonly answers: readonly CommandAnswer[]) {
    super(message);
    this.name = "EmptyAnswerError";
  }
}

/**
 * Describe raw answers, one line per try: exit code, stdout and stderr as JSON strings.
 *
 * @param answers the answers in order
 * @returns the lines
 */
export function describeAnswers(answers: readonly CommandAnswer[]): string {
  return answers.map((a, i) =>
    `  try ${i + 1}: exit ${a.code}, stdout ${shorten(JSON.stringify(a.stdout))}, ` +
    `stderr ${shorten(JSON.stringify(a.stderr))}`
  ).join("\n");
}

/**
 * Run a command whose answer cannot be empty until it exits 0 with something
 * on stdout. An empty answer (exit 0, only white space on stdout) is asked
 * again, at most `tries` times in all; a non-zero exit is not retried.
 *
 * @param what the command, for the message ("ip route in c1")
 * @param run runs the command once
 * @param opts how many tries and the pause between them
 * @returns the first non-empty answer
 * @throws {EmptyAnswerError} on a non-zero exit, or when every try was empty
 */
export async function retryNonEmpty(
  what: string,
  run: () => Promise<CommandAnswer>,
  opts: RetryOptions = {},
): Promise<CommandAnswer> {
  const tries = Math.max(1, opts.tries ?? 5);
  const answers: CommandAnswer[] = [];
  for (let i = 0; i < tries; i++) {
    if (i > 0) await sleep(opts.pauseMs ?? 200);
    const a = await run();
    answers.push(a);
    if (a.code !== 0) {
      throw new EmptyAnswerError(
        `${what} failed with exit code ${a.code} (try ${i + 1} of ${tries}):\n${
          describeAnswers(answers)
        }`,
        answers,
      );
    }
    if (a.stdout.trim() !== "") return a;
  }
  throw new EmptyAnswerError(
    `${what} exited 0 with nothing on stdout ${tries} times; its answer cannot be empty:\n${
      describeAnswers(answers)
    }`,
    answers,
  );
}
