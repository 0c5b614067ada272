/**
 * The private `Deno.Command` wrapper: the only place that starts child
 * processes (`ip`, `iptables-restore`, ...). Argument arrays only, never a shell.
 *
 * A child started inside {@linkcode inNetns} inherits the pod netns: the
 * spawn itself is synchronous on the main thread, so we enter the netns, spawn,
 * and return to the host netns at once; stdin, stdout and the exit status are
 * then handled asynchronously, so pod-side and host-side commands can overlap.
 * A counter lets benchmarks and tests see how many processes one CNI call started.
 *
 * Requires `--allow-run` for the binaries used (and `--allow-ffi` with `netns`).
 *
 * @module
 */

import { CommandError } from "../errors.ts";
import { inNetns } from "./netns.ts";

/** Options of {@linkcode run}. */
export interface RunOptions {
  /** Text fed to stdin (e.g. an `ip -batch -` script). */
  stdin?: string;
  /** Run inside this netns path instead of the current one. */
  netns?: string;
  /** Exit codes that are not errors (default: only 0). */
  okCodes?: readonly number[];
}

/** What a finished child process left. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

let spawned = 0;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * How many child processes this process has started so far.
 *
 * @returns the count
 */
export function spawnCount(): number {
  return spawned;
}

function spawn(argv: readonly string[], withStdin: boolean): Deno.ChildProcess {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error("run() needs a command");
  try {
    const child = new Deno.Command(cmd, {
      args,
      stdin: withStdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    spawned++;
    return child;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CommandError(argv, 127, `${cmd}: command not found`);
    }
    throw err;
  }
}

/**
 * Start a command with stdin, stdout and stderr piped, optionally inside a
 * netns, and hand the running child to the caller (for processes that are fed
 * and read incrementally, like an `ip -batch -` session). The caller must close
 * stdin and drain stdout and stderr.
 *
 * @param argv command and arguments
 * @param netns run inside this netns path instead of the current one
 * @returns the child process
 * @throws CommandError 127 when the command is not found
 */
export function spawnPiped(argv: readonly string[], netns?: string): Deno.ChildProcess {
  return netns === undefined ? spawn(argv, true) : inNetns(netns, () => spawn(argv, true));
}

/**
 * Run a command to completion, optionally inside a netns.
 *
 * @param argv command and arguments
 * @param opts stdin, netns and accepted exit codes
 * @returns exit code, stdout and stderr
 * @throws CommandError on an exit code outside `okCodes`
 */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const withStdin = opts.stdin !== undefined;
  const child = opts.netns === undefined
    ? spawn(argv, withStdin)
    : inNetns(opts.netns, () => spawn(argv, withStdin));
  if (opts.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    try {
      await writer.write(encoder.encode(opts.stdin));
    } finally {
      await writer.close().catch(() => {});
    }
  }
  const out = await child.output();
  const result = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  const ok = opts.okCodes ?? [0];
  if (!ok.includes(result.code)) throw new CommandError(argv, result.code, result.stderr);
  return result;
}
