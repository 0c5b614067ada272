// deno-lint-ignore-file no-console -- a command-line tool: its report goes to stdout/stderr
/**
 * The privileged suites on a busy machine (issue 19).
 *
 *   deno task test:stress [--loops N] [--runs K] [--timeout-min M] [--keep-logs] [PATH...]
 *
 * Starts N CPU-bound busy loops (default 3: more runnable processes than this
 * machine's 2 cores), then runs `deno test --allow-all` of the privileged
 * suites K times one after the other (default 3): the integration suites
 * with the reference-plugin chains, the Service traffic and the two nodes
 * (tests/integration/), containerd end to end (tests/e2e/), and the leftover
 * check (tests/zz_leftovers_test.ts), or the PATHs given. It prints one line
 * per run (number, passed, failed, ignored, wall time, load average) and the
 * failed tests' names and errors; each run's whole output goes to a log file
 * in a temp directory, removed when every run passed (unless `--keep-logs`)
 * and kept (its path printed) when one failed. Exits 1 when a run failed.
 *
 * The busy loops are killed when the runs end, also on a failure, Ctrl-C or
 * SIGTERM; each loop also ends by itself once this process is gone (it checks
 * its parent on every turn), so not even a SIGKILL of this script leaves one
 * spinning. A run that takes longer than M minutes (default 30) is stopped
 * with SIGINT and counts as failed.
 *
 * Requires root (the suites need it; without it they report themselves as
 * ignored) and `--allow-all`.
 *
 * @module
 */

import { errorMessage } from "../../mod/errors.ts";

/** The repository root. */
const ROOT = new URL("../../", import.meta.url).pathname;

/** The privileged suites, run as one `deno test` (sorted by path, the leftover check last). */
export const SUITES: readonly string[] = [
  "tests/integration/",
  "tests/e2e/",
  "tests/zz_leftovers_test.ts",
];

/** Whether a file name is one `deno test` picks up in a directory (`*_test.ts`, `*.test.ts`, `test.ts`). */
function isTestFile(name: string): boolean {
  return /(^|[._])test\.(ts|tsx|mts|js|mjs|jsx)$/.test(name);
}

/**
 * The test files of `paths`, in order: a directory becomes its test files
 * (recursively, sorted by path), a file stays. `deno test` runs files given
 * as files before those it finds in directories, so the leftover check, which
 * must run last, would otherwise run first.
 *
 * @param paths files and directories, relative to `root`
 * @param root the directory they are relative to
 * @returns the files, relative to `root`
 */
export function testFiles(paths: readonly string[], root: string = ROOT): string[] {
  const walk = (dir: string): string[] => {
    const out: string[] = [];
    for (const e of Deno.readDirSync(`${root}/${dir}`)) {
      const path = `${dir.replace(/\/$/, "")}/${e.name}`;
      if (e.isDirectory) out.push(...walk(path));
      else if (e.isFile && isTestFile(e.name)) out.push(path);
    }
    return out.sort();
  };
  return paths.flatMap((p) => Deno.statSync(`${root}/${p}`).isDirectory ? walk(p) : [p]);
}

/** Options of a stress session. */
export interface StressOptions {
  /** CPU-bound busy loops beside the suites. */
  loops: number;
  /** How many times the suites run. */
  runs: number;
  /** Stop a run after this many minutes. */
  timeoutMin: number;
  /** Keep the logs when every run passed too. */
  keepLogs: boolean;
  /** Test paths (default {@linkcode SUITES}). */
  paths: string[];
}

const USAGE =
  "usage: deno task test:stress [--loops N] [--runs K] [--timeout-min M] [--keep-logs] [PATH...]";

/**
 * Parse the command line.
 *
 * @param args the arguments
 * @returns the options
 * @throws {Error} on an unknown flag or a value that is not a whole number in range
 */
export function parseStressArgs(args: readonly string[]): StressOptions {
  const opts: StressOptions = { loops: 3, runs: 3, timeoutMin: 30, keepLogs: false, paths: [] };
  const count = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !/^\d+$/.test(v) || n < min) {
      throw new Error(
        `Invalid value for "${flag}": ${JSON.stringify(v ?? "")} (a whole number >= ${min})`,
      );
    }
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.startsWith("--") && a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, undefined];
    const value = () => inline ?? args[++i];
    if (flag === "--loops") opts.loops = count(flag, value(), 0);
    else if (flag === "--runs") opts.runs = count(flag, value(), 1);
    else if (flag === "--timeout-min") opts.timeoutMin = count(flag, value(), 1);
    else if (a === "--keep-logs") opts.keepLogs = true;
    else if (flag.startsWith("-")) throw new Error(`Unknown argument "${a}": ${USAGE}`);
    else opts.paths.push(a);
  }
  if (opts.paths.length === 0) opts.paths = [...SUITES];
  return opts;
}

/** Text without ANSI colour codes. */
function plain(text: string): string {
  // deno-lint-ignore no-control-regex -- the escape character starts every colour code
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** The counts of a `deno test` summary line. */
export interface TestSummary {
  passed: number;
  failed: number;
  ignored: number;
}

/**
 * Read the summary of `deno test` output ("ok | 12 passed (3 steps) | 0 failed | 2 ignored
 * (1s)" or "FAILED | ..."), colours or not.
 *
 * @param output the whole output
 * @returns the counts of the last summary line, or undefined when there is none
 */
export function parseSummary(output: string): TestSummary | undefined {
  const line = plain(output).split("\n").filter((l) => /^(ok|FAILED) \| \d+ passed/.test(l)).at(-1);
  if (line === undefined) return undefined;
  const num = (re: RegExp) => Number(re.exec(line)?.[1] ?? 0);
  return {
    passed: num(/\| (\d+) passed/),
    failed: num(/\| (\d+) failed/),
    ignored: num(/\| (\d+) ignored/),
  };
}

/**
 * The names of the failed tests: the lines of the "FAILURES" block of `deno
 * test` output (`name => FILE:line:col`).
 *
 * @param output the whole output
 * @returns the lines, in order
 */
export function failedTests(output: string): string[] {
  const lines = plain(output).split("\n");
  const start = lines.findIndex((l) => l.trim() === "FAILURES");
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (/ => \S+:\d+:\d+$/.test(l)) out.push(l.trim());
    else if (l.trim() !== "") break;
  }
  return out;
}

/**
 * The "ERRORS" block of `deno test` output (each failed test's error), shortened.
 *
 * @param output the whole output
 * @param maxChars the most characters to return
 * @returns the block, or "" when there is none
 */
export function errorsBlock(output: string, maxChars = 6000): string {
  const text = plain(output);
  const from = text.search(/^ ERRORS $/m);
  const to = text.search(/^ FAILURES $/m);
  if (from < 0) return "";
  const block = text.slice(from, to > from ? to : undefined).trim();
  return block.length <= maxChars ? block : `${block.slice(0, maxChars)}\n... (see the log)`;
}

/** The shell program of one busy loop. */
const BUSY_LOOP = 'i=0; while :; do i=$((i+1)); [ "$i" -lt 20000 ] && continue; i=0; ' +
  'read -r _ _ _ pp _ </proc/$$/stat && [ "$pp" = "$PPID" ] || break; done';

/** Busy loops running; dispose (or `stop()`) to kill them. */
export interface BusyLoops extends AsyncDisposable {
  /** Their PIDs. */
  readonly pids: readonly number[];
  /** SIGKILL every loop and wait for it (idempotent). */
  stop(): Promise<void>;
}

/**
 * Start `n` CPU-bound busy loops: `sh` spinning in user space, checking now
 * and then that its parent is still this process, so a loop also ends (within
 * a second or so) when this process is killed without a chance to stop it.
 *
 * @param n how many
 * @returns the loops
 */
export function startBusyLoops(n: number): BusyLoops {
  const children: Deno.ChildProcess[] = [];
  const stop = async () => {
    for (const c of children.splice(0)) {
      try {
        c.kill("SIGKILL");
      } catch { /* already ended */ }
      await c.status;
    }
  };
  try {
    for (let i = 0; i < n; i++) {
      children.push(
        new Deno.Command("sh", {
          // Spins in sh arithmetic (builtins only, no fork); every 20 000 turns it
          // reads its current parent (field 4 of /proc/$$/stat), which changes
          // the moment this process is gone, and then ends.
          args: ["-c", BUSY_LOOP],
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).spawn(),
      );
    }
  } catch (err) {
    void stop();
    throw err;
  }
  return { pids: children.map((c) => c.pid), stop, [Symbol.asyncDispose]: stop };
}

/** The outcome of one run. */
export interface RunOutcome extends Partial<TestSummary> {
  /** `deno test`'s exit code (or the signal's number + 128). */
  code: number;
  /** Wall time, seconds. */
  seconds: number;
  /** The one-minute load average when the run ended. */
  load: number;
  /** The run was stopped at its time limit. */
  timedOut: boolean;
  /** Whether it passed: exit 0, a summary, nothing failed. */
  ok: boolean;
}

function loadAverage(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

/**
 * One line per run: number, counts, wall time, load.
 *
 * @param i the run's number (from 1)
 * @param o its outcome and the session's options
 * @returns the line
 */
export function runLine(i: number, o: RunOutcome & { runs: number; loops: number }): string {
  const counts = o.passed === undefined
    ? `no test summary (exit ${o.code})`
    : `${o.passed} passed, ${o.failed} failed, ${o.ignored} ignored`;
  return `run ${i}/${o.runs}: ${o.ok ? "ok" : "FAILED"} | ${counts} | ${
    o.seconds.toFixed(1)
  } s | ${o.loops} busy loops, load ${o.load.toFixed(2)}${o.timedOut ? " | timed out" : ""}`;
}

/** What is running now, for the signal handler. */
let current: Deno.ChildProcess | undefined;

async function runOnce(opts: StressOptions, log: string): Promise<RunOutcome> {
  const t0 = performance.now();
  // Both streams into the log in arrival order, as a terminal shows them.
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'log="$1"; shift; exec "$@" >"$log" 2>&1',
      "sh",
      log,
      Deno.execPath(),
      "test",
      "--allow-all",
      "--no-prompt",
      ...testFiles(opts.paths),
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  current = child;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGINT");
    } catch { /* ended */ }
  }, opts.timeoutMin * 60_000);
  const status = await child.status;
  clearTimeout(timer);
  current = undefined;
  const summary = parseSummary(await Deno.readTextFile(log).catch(() => ""));
  return {
    ...summary,
    code: status.code,
    seconds: (performance.now() - t0) / 1000,
    load: loadAverage(),
    timedOut,
    ok: status.success && summary !== undefined && summary.failed === 0 && !timedOut,
  };
}

/**
 * Run the session: busy loops, K runs, one line per run.
 *
 * @param opts the options
 * @returns how many runs failed
 */
export async function stress(opts: StressOptions): Promise<number> {
  const logDir = await Deno.makeTempDir({ prefix: "coordinator-stress-" });
  console.log(
    `stress: ${opts.runs} run(s) of deno test ${opts.paths.join(" ")} beside ${opts.loops} ` +
      `busy loop(s) on ${navigator.hardwareConcurrency} CPU(s); logs in ${logDir}`,
  );
  await using loops = startBusyLoops(opts.loops);
  const onSignal = () => {
    console.error("\nstress: interrupted, stopping the run and the busy loops");
    try {
      current?.kill("SIGINT");
    } catch { /* ended */ }
    loops.stop().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const outcomes: RunOutcome[] = [];
  try {
    for (let i = 1; i <= opts.runs; i++) {
      const log = `${logDir}/run-${i}.log`;
      const o = await runOnce(opts, log);
      outcomes.push(o);
      console.log(runLine(i, { ...o, runs: opts.runs, loops: opts.loops }));
      if (!o.ok) {
        const output = await Deno.readTextFile(log);
        for (const name of failedTests(output)) console.log(`  failed: ${name}`);
        const errors = errorsBlock(output);
        if (errors !== "") console.error(errors.replace(/^/gm, "  "));
        console.log(`  log: ${log}`);
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  const failed = outcomes.filter((o) => !o.ok).length;
  const secs = outcomes.map((o) => o.seconds).sort((a, b) => a - b);
  console.log(
    `stress: ${outcomes.length - failed} of ${outcomes.length} runs green, ${opts.loops} busy ` +
      `loops, wall ${secs[0]!.toFixed(1)}-${secs.at(-1)!.toFixed(1)} s`,
  );
  if (failed === 0 && !opts.keepLogs) await Deno.remove(logDir, { recursive: true });
  else console.log(`stress: logs kept in ${logDir}`);
  return failed;
}

if (import.meta.main) {
  try {
    const failed = await stress(parseStressArgs(Deno.args));
    if (failed > 0) Deno.exitCode = 1;
  } catch (e) {
    console.error(errorMessage(e));
    Deno.exitCode = 2;
  }
}
