/**
 * iproute2's batch mode as a process: `ip -j -d -force -batch -` reads one
 * command per line on stdin, goes on after a failing line (`-force`), prints
 * `Command failed -:N` on stderr for each failing line N and one JSON value on
 * stdout for each successful read line. This module renders lines, runs them
 * (at once, or fed and read incrementally: {@linkcode BatchSession}) and maps
 * what `ip` printed back to the lines. It never builds a line: the lines come
 * from the translator of intents (`./iproute.ts`).
 *
 * Requires `--allow-run=ip` (and `--allow-ffi` when run in a netns).
 *
 * @example
 * ```ts
 * import { parseJsonArrays } from "./ip_batch.ts";
 * const arrays = parseJsonArrays('[{"a":1}]\n[]\n');
 * if (arrays.length !== 2) throw new Error("unexpected");
 * ```
 *
 * @module
 */

import { run, spawnPiped } from "./exec.ts";
import { CniError, CommandError, ErrorCode, errorMessage } from "../errors.ts";

/**
 * An incremental splitter of concatenated JSON values (what `ip -j -batch`
 * prints): feed it text as it arrives, it returns the values completed so far.
 */
export class JsonValueStream {
  #buf = "";
  #pos = 0;
  #depth = 0;
  #start = -1;
  #inString = false;
  #escaped = false;

  /**
   * Feed more text.
   *
   * @param text the next chunk
   * @returns the values completed by this chunk, in order
   */
  push(text: string): unknown[] {
    const out: unknown[] = [];
    const t = this.#buf + text;
    for (let i = this.#pos; i < t.length; i++) {
      const ch = t[i];
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (ch === "\\") this.#escaped = true;
        else if (ch === '"') this.#inString = false;
        continue;
      }
      if (ch === '"') this.#inString = true;
      else if (ch === "[" || ch === "{") {
        if (this.#depth === 0) this.#start = i;
        this.#depth++;
      } else if (ch === "]" || ch === "}") {
        this.#depth--;
        if (this.#depth === 0 && this.#start >= 0) {
          out.push(JSON.parse(t.slice(this.#start, i + 1)));
          this.#start = -1;
        }
      }
    }
    // Keep only the unfinished value.
    if (this.#start < 0) {
      this.#buf = "";
      this.#pos = 0;
    } else {
      this.#buf = t.slice(this.#start);
      this.#pos = t.length - this.#start;
      this.#start = 0;
    }
    return out;
  }
}

/**
 * Split a stream of concatenated JSON values (what `ip -j -batch` prints)
 * into the parsed values.
 *
 * @param text stdout of `ip -j -batch`
 * @returns one parsed value per top-level JSON value
 */
export function parseJsonArrays(text: string): unknown[] {
  return new JsonValueStream().push(text);
}

/**
 * Map the stderr of `ip -force -batch` to the failing line numbers (1-based)
 * and the message printed before each "Command failed -:N".
 *
 * @param stderr stderr text
 * @returns line number -> error text
 */
export function parseBatchFailures(stderr: string): Map<number, string> {
  const failures = new Map<number, string>();
  let pending: string[] = [];
  for (const raw of stderr.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const m = /^Command failed (?:-|\S+):(\d+)$/.exec(line);
    if (m?.[1] !== undefined) {
      failures.set(Number(m[1]), pending.join("; ") || "unknown error");
      pending = [];
    } else {
      pending.push(line);
    }
  }
  return failures;
}

/** One line of an `ip -batch` script. */
export interface BatchLine {
  /** The command without the leading `ip`, as words. */
  args: string[];
  /** A read command: its JSON output is returned. */
  read?: boolean;
  /** Errors matching this are accepted (for example `/File exists/`). */
  tolerate?: RegExp;
  /** The whole line may fail (best-effort cleanup). */
  optional?: boolean;
}

/** Outcome of one {@linkcode BatchLine}. */
export interface LineOutcome {
  line: BatchLine;
  /** JSON output of a successful read. */
  output?: unknown;
  /** Error text when the line failed. */
  error?: string;
}

/** Result of {@linkcode runBatch}. */
export interface BatchResult {
  outcomes: LineOutcome[];
  /** Failures that were neither tolerated nor optional. */
  errors: LineOutcome[];
}

/** Options of {@linkcode runBatch}. */
export interface BatchOptions {
  /** Run in this netns path. */
  netns?: string;
  /** `-6`: rules are IPv6 rules. */
  family?: 4 | 6;
}

function quoteWord(w: string): string {
  if (/^[A-Za-z0-9_.:/@+,=-]+$/.test(w)) return w;
  throw new CniError(ErrorCode.Internal, `Refusing unsafe word "${w}" in an ip batch line`);
}

/**
 * Render batch lines as an `ip -batch` script (one command per line).
 *
 * @param lines the lines
 * @returns the script text
 */
export function renderBatch(lines: readonly BatchLine[]): string {
  return lines.map((l) => l.args.map(quoteWord).join(" ")).join("\n") + "\n";
}

/**
 * Assign outputs and failures to lines: failing lines print nothing on
 * stdout, every successful read prints exactly one JSON value.
 *
 * @param lines the script lines
 * @param stdout stdout of the run
 * @param stderr stderr of the run
 * @returns outcomes per line and the errors that matter
 */
export function matchBatchOutput(
  lines: readonly BatchLine[],
  stdout: string,
  stderr: string,
): BatchResult {
  return matchBatchValues(lines, parseJsonArrays(stdout), parseBatchFailures(stderr));
}

/**
 * {@linkcode matchBatchOutput} on already parsed outputs.
 *
 * @param lines the script lines
 * @param values the JSON values printed, in order
 * @param failures failing line numbers (1-based) and their errors
 * @returns outcomes per line and the errors that matter
 */
export function matchBatchValues(
  lines: readonly BatchLine[],
  values: readonly unknown[],
  failures: ReadonlyMap<number, string>,
): BatchResult {
  let next = 0;
  const outcomes: LineOutcome[] = [];
  const errors: LineOutcome[] = [];
  lines.forEach((line, i) => {
    const error = failures.get(i + 1);
    const o: LineOutcome = { line };
    if (error !== undefined) {
      o.error = error;
      if (!line.optional && !(line.tolerate?.test(error) ?? false)) errors.push(o);
    } else if (line.read && next < values.length) {
      // No value: `ip` ended before the line ran (iproute2 exits the whole
      // batch on some failures), or, in a session, it has not run yet.
      o.output = values[next++];
    }
    outcomes.push(o);
  });
  return { outcomes, errors };
}

function batchArgv(family: 4 | 6 | undefined): string[] {
  return ["ip", ...(family === 6 ? ["-6"] : []), "-j", "-d", "-force", "-batch", "-"];
}

/**
 * Run lines through one `ip -j -d -force -batch -` process.
 *
 * @param lines the script
 * @param opts netns and rule family
 * @returns outcomes per line and the errors that matter
 */
export async function runBatch(
  lines: readonly BatchLine[],
  opts: BatchOptions = {},
): Promise<BatchResult> {
  if (lines.length === 0) return { outcomes: [], errors: [] };
  const res = await run(batchArgv(opts.family), {
    stdin: renderBatch(lines),
    okCodes: [0, 1],
    ...(opts.netns === undefined ? {} : { netns: opts.netns }),
  });
  return matchBatchOutput(lines, res.stdout, res.stderr);
}

/** What a {@linkcode BatchSession} has produced so far. */
export interface BatchProgress {
  /** JSON values printed so far, in order (one per successful read line). */
  values: readonly unknown[];
  /** Failed lines so far: 1-based line number in the session -> error text. */
  failures: ReadonlyMap<number, string>;
  /** `ip` has closed its outputs (it ended): nothing more will come. */
  ended: boolean;
}

const encoder = new TextEncoder();

/**
 * One `ip -j -d -force -batch -` process fed and read incrementally: iproute2
 * flushes each command's JSON as soon as the command ran, while it waits for
 * the next line on stdin. Lines can be sent in several parts (a read first,
 * then the changes that depend on it), and outputs used before the process
 * ends. {@linkcode BatchSession.finish} closes stdin and maps every line sent
 * to its outcome, as {@linkcode runBatch} does (line numbers count across all
 * parts). Every session must end with `finish()` or `end()`.
 */
export class BatchSession {
  readonly #argv: string[];
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: BatchLine[] = [];
  readonly #json = new JsonValueStream();
  readonly #values: unknown[] = [];
  #stderr = "";
  #ended = false;
  #stdinClosed = false;
  #waiters: (() => void)[] = [];
  readonly #drained: Promise<void>;

  private constructor(argv: string[], child: Deno.ChildProcess) {
    this.#argv = argv;
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#drained = Promise.all([
      this.#pump(child.stdout, (t) => this.#values.push(...this.#json.push(t))),
      this.#pump(child.stderr, (t) => this.#stderr += t),
    ]).then(() => {
      this.#ended = true;
      this.#wake();
    });
  }

  /**
   * Start `ip [-6] -j -d -force -batch -`.
   *
   * @param opts netns and rule family
   * @returns the session
   * @throws CommandError 127 when `ip` is missing; CniError when the netns cannot be entered
   */
  static open(opts: BatchOptions = {}): BatchSession {
    const argv = batchArgv(opts.family);
    return new BatchSession(argv, spawnPiped(argv, opts.netns));
  }

  async #pump(stream: ReadableStream<Uint8Array>, onText: (t: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        onText(decoder.decode(chunk, { stream: true }));
        this.#wake();
      }
    } catch { /* the stream broke: treated as the end */ }
    onText(decoder.decode());
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** The outputs so far (see {@linkcode BatchSession.until}). */
  get progress(): BatchProgress {
    return { values: this.#values, failures: parseBatchFailures(this.#stderr), ended: this.#ended };
  }

  /** How many lines were sent so far. */
  get lineCount(): number {
    return this.#lines.length;
  }

  /**
   * Send more lines (stdin stays open).
   *
   * @param lines the lines
   * @throws CniError 103 when `ip` is gone or stdin was closed
   */
  async send(lines: readonly BatchLine[]): Promise<void> {
    if (lines.length === 0) return;
    const text = renderBatch(lines);
    if (this.#stdinClosed || this.#ended) {
      throw new CniError(ErrorCode.NetworkSetupFailed, `"ip -batch" ended before all lines ran`);
    }
    this.#lines.push(...lines);
    try {
      await this.#writer.write(encoder.encode(text));
    } catch (err) {
      throw new CniError(
        ErrorCode.NetworkSetupFailed,
        `Cannot feed "ip -batch": ${errorMessage(err)}`,
      );
    }
  }

  /** Close stdin: `ip` runs what it has and ends. Idempotent. */
  end(): void {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    this.#writer.close().catch(() => {});
  }

  /**
   * Wait until `pred` holds for the outputs so far, or `ip` ended.
   *
   * @param pred checked now and after every chunk of output
   * @returns whether `pred` held (false: `ip` ended first)
   */
  async until(pred: (p: BatchProgress) => boolean): Promise<boolean> {
    for (;;) {
      const p = this.progress;
      if (pred(p)) return true;
      if (p.ended) return false;
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }

  /**
   * Outcomes of the lines sent so far, from the outputs seen so far (a line
   * that has not run yet looks successful, a read without output yet has none).
   *
   * @returns outcomes and errors
   */
  snapshot(): BatchResult {
    return matchBatchValues(this.#lines, this.#values, parseBatchFailures(this.#stderr));
  }

  /**
   * Close stdin, wait for `ip` to end and map every line sent.
   *
   * @returns outcomes per line and the errors that matter
   * @throws CommandError when `ip` exits with a code other than 0 or 1
   */
  async finish(): Promise<BatchResult> {
    this.end();
    await this.#drained;
    const { code } = await this.#child.status;
    if (code !== 0 && code !== 1) throw new CommandError(this.#argv, code, this.#stderr);
    return matchBatchValues(this.#lines, this.#values, parseBatchFailures(this.#stderr));
  }
}
