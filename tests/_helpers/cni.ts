/**
 * Run the plugin as a runtime does: a subprocess with CNI_* env and the config
 * on stdin. By default `deno run` of `main.ts` with exactly the permission
 * flags the compiled binary gets, and the run flags that leave out what the
 * binary has not either (config file, npm; mod/permissions.ts); with
 * COORDINATOR_BIN set, that binary instead.
 *
 * @module
 */

import { permissionFlags, runFlags } from "../../mod/permissions.ts";

/** Absolute path of main.ts. */
export const MAIN_TS = new URL("../../main.ts", import.meta.url).pathname;

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

/** The argv that starts the plugin (binary or `deno run ... main.ts`). */
export function pluginArgv(): string[] {
  const bin = Deno.env.get("COORDINATOR_BIN");
  if (bin) return [bin];
  return denoRunArgv(MAIN_TS);
}

/** One plugin invocation. */
export interface RunPluginOptions {
  command: string;
  /** Config object (serialised to stdin) or raw stdin text/bytes. */
  conf?: unknown;
  stdin?: string | Uint8Array;
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  path?: string;
  /** Extra env; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>;
}

/** What the plugin did. */
export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when it is JSON. */
  json: unknown;
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
 * The environment a runtime gives a plugin: our PATH and the CNI_* variables.
 *
 * @param call the CNI_* values
 * @returns the environment
 */
export function cniEnv(call: CniCallEnv): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId ?? "",
    CNI_NETNS: call.netns ?? "",
    CNI_IFNAME: call.ifname ?? "",
    CNI_ARGS: call.args ?? "",
    CNI_PATH: call.path ?? "/opt/cni/bin",
  };
}

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
export interface ProcessRun extends PluginRun {
  /** Wall time from spawn to exit, milliseconds. */
  ms: number;
}

/** Options of {@linkcode runProcess}. */
export interface RunProcessOptions {
  /** Calls the (synchronous) spawn, e.g. inside another netns. */
  spawnIn?: (spawn: () => Deno.ChildProcess) => Deno.ChildProcess;
  /** Carry on when the child does not take all of stdin. */
  ignoreStdinErrors?: boolean;
}

/**
 * Run a command with exactly `env` and `stdin`, to its exit.
 *
 * @param argv command and arguments
 * @param env the whole environment
 * @param stdin text or bytes for stdin
 * @param opts where to spawn, stdin write errors
 * @returns exit code, output, stdout parsed as JSON when it is JSON, wall time
 */
export async function runProcess(
  argv: readonly string[],
  env: Record<string, string>,
  stdin: string | Uint8Array,
  opts: RunProcessOptions = {},
): Promise<ProcessRun> {
  const [cmd, ...args] = argv;
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
  const child = opts.spawnIn ? opts.spawnIn(spawn) : spawn();
  const writer = child.stdin.getWriter();
  const bytes = typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin;
  if (opts.ignoreStdinErrors) {
    await writer.write(bytes).catch(() => {});
    await writer.close().catch(() => {});
  } else {
    await writer.write(bytes);
    await writer.close();
  }
  const out = await child.output();
  const ms = performance.now() - t0;
  const stdout = new TextDecoder().decode(out.stdout);
  let json: unknown = undefined;
  try {
    json = stdout.trim() === "" ? undefined : JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code: out.code, stdout, stderr: new TextDecoder().decode(out.stderr), json, ms };
}

/**
 * Run the plugin once.
 *
 * @param opts command, config and CNI_* values
 * @returns exit code, output and parsed stdout
 */
export async function runPlugin(opts: RunPluginOptions): Promise<PluginRun> {
  const env = passEnv(cniEnv(opts), ["DENO_DIR"]);
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const stdinData = opts.stdin ?? (opts.conf === undefined ? "" : JSON.stringify(opts.conf));
  const { ms: _, ...run } = await runProcess(pluginArgv(), env, stdinData, {
    ignoreStdinErrors: true,
  });
  return run;
}

/**
 * A random 64-hex-digit container ID, like the ones runtimes use.
 *
 * @returns the ID
 */
export function containerId(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}
