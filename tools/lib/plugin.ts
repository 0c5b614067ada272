/**
 * The one way the tests and the tools run the plugin (and the reference
 * plugins next to it): a fresh process per call, as a runtime starts one,
 * with exactly the environment it is given (`CNI_*`, PATH and the few
 * variables {@linkcode PASS_ENV} names) and the config on stdin.
 *
 * The plugin is `deno run` of its bundle's entry (`./bundle.ts`, made from
 * `main.ts` and `mod/` on first use, as the binary embeds it) with exactly the
 * binary's flags ({@linkcode runFlags}, then {@linkcode permissionFlags},
 * mod/permissions.ts), or, with COORDINATOR_BIN set, that binary (or
 * launcher) instead.
 *
 * A call can start in another netns, the runtime's "host" (the node netns of
 * a world): through `ip netns exec <name>`, which also remounts /sys for that
 * netns as a real host has it (the tests), or with `setns(2)` around the
 * synchronous spawn only (mod/kernel/netns.ts), so that timing sees no
 * wrapper process (the benchmark, the demo).
 *
 * @example
 * ```ts ignore
 * const run = await runPlugin({ command: "VERSION", conf: { cniVersion: "1.0.0" } });
 * if (run.code !== 0) throw new Error(run.stderr);
 * ```
 *
 * @module
 */

import { permissionFlags, runFlags } from "../../mod/permissions.ts";
import { inNetns } from "../../mod/kernel/netns.ts";
import { ensureBundle } from "./bundle.ts";
import { whichTool } from "./netns.ts";
import { currentRunDirs } from "./run_dirs.ts";

/** Absolute path of main.ts. */
export const MAIN_TS: string = new URL("../../main.ts", import.meta.url).pathname;

/**
 * `deno run` of a program with the plugin's flags: run flags (default
 * {@linkcode runFlags}), then exactly {@linkcode permissionFlags}.
 *
 * @param file the program
 * @param flags the run flags
 * @returns the argv
 */
export function denoRunArgv(file: string, flags: readonly string[] = runFlags()): string[] {
  return [Deno.execPath(), "run", ...flags, ...permissionFlags(), file];
}

/**
 * The argv that starts the plugin: `COORDINATOR_BIN`, or `deno run` of the
 * bundle of the current sources.
 *
 * @returns the argv
 */
export function pluginArgv(): string[] {
  const bin = Deno.env.get("COORDINATOR_BIN");
  if (bin) return [bin];
  return denoRunArgv(ensureBundle());
}

/**
 * The argv of tools/measure/_driver.ts (the same `runCni()` as main.ts, which
 * also reports its child processes on stderr as `spawns=N`), with the
 * plugin's flags.
 *
 * @returns the argv
 */
export function driverArgv(): string[] {
  return denoRunArgv(new URL("../measure/_driver.ts", import.meta.url).pathname);
}

/** The CNI_* values of one call; a missing one is empty (CNI_PATH: /opt/cni/bin). */
export interface CniCallEnv {
  command: string;
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  path?: string;
}

/**
 * The six CNI_* variables of one call.
 *
 * @param call the CNI_* values
 * @returns the variables
 */
export function cniVars(call: CniCallEnv): Record<string, string> {
  return {
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId ?? "",
    CNI_NETNS: call.netns ?? "",
    CNI_IFNAME: call.ifname ?? "",
    CNI_ARGS: call.args ?? "",
    CNI_PATH: call.path ?? "/opt/cni/bin",
  };
}

/**
 * The environment a runtime gives a plugin: our PATH and the CNI_* variables.
 *
 * @param call the CNI_* values
 * @returns the environment
 */
export function cniEnv(call: CniCallEnv): Record<string, string> {
  return { PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...cniVars(call) };
}

/**
 * Variables of ours that {@linkcode runPlugin} passes on when they are set:
 * Deno's cache (`DENO_DIR`, `HOME`) and the plugin's state and lock overrides.
 */
export const PASS_ENV: readonly string[] = [
  "DENO_DIR",
  "HOME",
  "COORDINATOR_STATE_DIR",
  "COORDINATOR_LOCK_FILE",
  "COORDINATOR_DEFAULTS_FILE",
];

/**
 * Copy those of our environment variables that are set and not empty.
 *
 * @param env the environment to add to
 * @param keys the variables
 * @returns env
 */
export function passEnv(
  env: Record<string, string>,
  keys: readonly string[],
): Record<string, string> {
  for (const k of keys) {
    const v = Deno.env.get(k);
    if (v) env[k] = v;
  }
  return env;
}

/** What one process did. */
export interface ProcessRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when it is JSON. */
  json: unknown;
  /** Wall time from spawn to exit, milliseconds. */
  ms: number;
}

/** A named netns (a `TestNetns` is one). */
export interface NetnsRef {
  /** The name under /var/run/netns. */
  readonly name: string;
  /** `/var/run/netns/<name>`. */
  readonly path: string;
}

/**
 * How a process is started in another netns: `ip netns exec` (remounts /sys
 * for that netns, as on a real host), or `setns(2)` around the spawn only (no
 * wrapper process, for timing).
 */
export type Enter = "ip-netns-exec" | "setns";

/** Options of {@linkcode runProcess}. */
export interface RunProcessOptions {
  /** Start the process in this netns instead of ours. */
  netns?: NetnsRef;
  /** How to enter `netns` (default "ip-netns-exec"). */
  enter?: Enter;
}

/**
 * Run a command with exactly `env` and `stdin`, to its exit. A child that
 * does not take all of stdin is not an error (a runtime does not mind either).
 *
 * @param argv command and arguments
 * @param env the whole environment
 * @param stdin text or bytes for stdin
 * @param opts where to start it
 * @returns exit code, output, stdout parsed as JSON when it is JSON, wall time
 */
export async function runProcess(
  argv: readonly string[],
  env: Record<string, string>,
  stdin: string | Uint8Array,
  opts: RunProcessOptions = {},
): Promise<ProcessRun> {
  const netns = opts.netns;
  const viaIp = netns !== undefined && (opts.enter ?? "ip-netns-exec") === "ip-netns-exec";
  // Absolute: the child's PATH may be a test's (e.g. one without ip).
  const full = viaIp ? [whichTool("ip") ?? "ip", "netns", "exec", netns.name, ...argv] : argv;
  const [cmd, ...args] = full;
  if (cmd === undefined) throw new Error("runProcess() needs a command");
  const spawn = () =>
    new Deno.Command(cmd, {
      args,
      env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  const t0 = performance.now();
  const child = netns !== undefined && !viaIp ? inNetns(netns.path, spawn) : spawn();
  const writer = child.stdin.getWriter();
  const bytes = typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin;
  // A child that exits before reading all of stdin: EPIPE, not our failure.
  await writer.write(bytes).catch(() => {});
  await writer.close().catch(() => {});
  const out = await child.output();
  const ms = performance.now() - t0;
  const stdout = new TextDecoder().decode(out.stdout);
  return {
    code: out.code,
    stdout,
    stderr: new TextDecoder().decode(out.stderr),
    json: parseJson(stdout),
    ms,
  };
}

function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** One plugin call: CNI_* values, stdin, and where and how to start it. */
export interface PluginCall extends CniCallEnv {
  /** Config object (serialised to stdin); ignored when `stdin` is given. */
  conf?: unknown;
  /** Raw stdin text or bytes. */
  stdin?: string | Uint8Array;
  /** The plugin's argv (default {@linkcode pluginArgv}). */
  argv?: readonly string[];
  /** Argv put before the plugin's (e.g. strace, /usr/bin/time). */
  wrapper?: readonly string[];
  /** Extra environment; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>;
  /** The runtime's netns to start the plugin in (default: ours). */
  host?: NetnsRef;
  /** How to enter `host` (default "ip-netns-exec"). */
  enter?: Enter;
}

/**
 * Run the plugin (or any CNI plugin, given `argv`) once.
 *
 * @param call command, config, CNI_* values, where to start it
 * @returns exit code, output, parsed stdout, wall time
 */
export function runPlugin(call: PluginCall): Promise<ProcessRun> {
  const env = passEnv(cniEnv(call), PASS_ENV);
  for (const [k, v] of Object.entries(call.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const stdin = call.stdin ?? (call.conf === undefined ? "" : JSON.stringify(call.conf));
  const argv = [...(call.wrapper ?? []), ...(call.argv ?? pluginArgv())];
  return runProcess(argv, env, stdin, {
    ...(call.host === undefined ? {} : { netns: call.host }),
    ...(call.enter === undefined ? {} : { enter: call.enter }),
  });
}

/**
 * A random 64-hex-digit container ID, like the ones runtimes use; in a test run
 * (./run_dirs.ts) it ends with the run's tag. The end, not the start: the host
 * veth is named after the first 11 digits, which must stay random (with the
 * tag in front only 3 random digits were left, and pods of one run collided).
 *
 * @returns the ID
 */
export function containerId(): string {
  const tag = currentRunDirs()?.tag ?? "";
  const random = Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return random.slice(0, 64 - tag.length) + tag;
}

/** Directories searched for the reference plugins, first match wins. */
export const REF_PLUGIN_DIRS: readonly string[] = ["/usr/lib/cni", "/opt/cni/bin"];

/**
 * The directory holding a reference plugin.
 *
 * @param type plugin type, e.g. "macvlan"
 * @returns the directory, or undefined when no directory has it
 */
export function refPluginDir(type: string): string | undefined {
  for (const dir of REF_PLUGIN_DIRS) {
    try {
      if (Deno.statSync(`${dir}/${type}`).isFile) return dir;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return undefined;
}
