/**
 * One file: the plugin lookup, the conflist runner and the result cache follow libcni together.
 *
 * Run CNI plugins the way libcni does (containerd, CRI-O and Multus all go
 * through it): find `type` in the `CNI_PATH`
 * directories, inject `name`, `cniVersion` and `prevResult` into the plugin's
 * own JSON object, set all six `CNI_*` variables on top of the runtime's
 * environment, parse stdout (a result, or an error object on a non-zero exit).
 *
 * {@linkcode runChain} runs a whole conflist: ADD in order, each plugin
 * getting the previous one's result; the final result is cached (serialised,
 * as libcni writes it to its cache file); CHECK in order and DEL in reverse
 * order, every plugin getting the cached result.
 *
 * The plugins run inside the world's node netns (the runtime's "host" netns)
 * through `ip netns exec`, which also remounts /sys for that netns as a real
 * host would have it (`runProcess()` of tools/lib/plugin.ts, through
 * tests/_helpers/cni.ts).
 *
 * The coordinator is put into the plugin directory as a tiny wrapper script
 * (see {@linkcode makePluginDir}) next to symlinks to Debian's reference
 * plugins in /usr/lib/cni, so runners find it by `type` like any other plugin.
 *
 * @example
 * ```ts ignore
 * const dir = await makePluginDir();
 * const chain = runChain(conflist, { cniPath: [dir.path], hostNetns: world.node,
 *   containerId: "0b49742cc7cc2b74", netns: pod.path, ifname: "eth0" });
 * const result = await chain.add();
 * await chain.check();
 * await chain.del();
 * ```
 *
 * @module
 */

import "./run.ts";
import { install } from "../../tools/install.ts";
import { compareVersions } from "../../mod/cni/dispatch.ts";
import { errorMessage } from "../../mod/errors.ts";
import { cniVars, runProcess } from "./cni.ts";
import type { TestNetns } from "./netns.ts";

/** Where Debian's `containernetworking-plugins` puts the reference plugins. */
export const REF_PLUGIN_DIR = "/usr/lib/cni";

/** Reference plugins the tests use. */
export const REF_PLUGINS = ["macvlan", "static", "host-local", "ptp", "bridge"] as const;

/** A JSON object as read from stdout or written to stdin. */
export type Json = Record<string, unknown>;

/** A network configuration list (conflist). */
export interface Conflist {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: Json[];
}

/** The per-attachment runtime values (libcni `RuntimeConf`) plus where to run. */
export interface RuntimeConf {
  containerId: string;
  /** CNI_NETNS; may be "" (DEL). */
  netns: string;
  ifname: string;
  /** CNI_ARGS, e.g. "IgnoreUnknown=1;K8S_POD_NAME=p". */
  args?: string;
  /** Directories searched for plugins (CNI_PATH). */
  cniPath: readonly string[];
  /** The runtime's netns; plugins are started in it. */
  hostNetns: TestNetns;
  /** Extra environment for the plugin processes. */
  env?: Record<string, string>;
}

/** A CNI error object from a plugin's stdout. */
export interface CniErrorObject {
  code: number;
  msg: string;
  details?: string;
}

/** What one plugin process left. */
export interface PluginOutput {
  /** Exit status. */
  status: number;
  stdout: string;
  stderr: string;
  /** The stdin the plugin got (for messages). */
  stdin: string;
}

/** A plugin call failed the way libcni reports it. */
export class PluginError extends Error {
  /**
   * @param plugin plugin type
   * @param command CNI_COMMAND
   * @param error the error object (code 0 when stdout held none)
   * @param output the raw process output
   */
  constructor(
    readonly plugin: string,
    readonly command: string,
    readonly error: CniErrorObject,
    readonly output: PluginOutput,
  ) {
    super(
      `Plugin "${plugin}" ${command} failed with code ${error.code}: ${error.msg}` +
        (error.details ? ` (${error.details})` : "") +
        (output.stderr.trim() ? `\nstderr: ${output.stderr.trim().slice(-2000)}` : ""),
    );
    this.name = "PluginError";
  }
}

/**
 * Find a plugin binary by type in the CNI_PATH directories (libcni
 * `FindInPath`).
 *
 * @param type plugin type
 * @param dirs CNI_PATH entries
 * @returns the absolute path
 */
export function findInPath(type: string, dirs: readonly string[]): string {
  for (const dir of dirs) {
    const path = `${dir}/${type}`;
    try {
      const st = Deno.statSync(path);
      if (st.isFile) return path;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  throw new Error(`Cannot find plugin "${type}" in path [${dirs.join(" ")}]`);
}

/**
 * Build a plugin's stdin the way libcni `buildOneConfig` does: the plugin's
 * own object with `name`, `cniVersion` and (when present) `prevResult` set.
 *
 * @param plugin the plugin object from the conflist
 * @param list name and version of the list
 * @param prevResult the previous or cached result
 * @returns the JSON text
 */
export function buildStdin(
  plugin: Json,
  list: { name: string; cniVersion: string },
  prevResult?: Json,
): string {
  const conf: Json = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prevResult !== undefined) conf.prevResult = prevResult;
  else delete conf.prevResult;
  return JSON.stringify(conf);
}

/**
 * Start one plugin process with libcni's environment and stdin.
 *
 * @param command CNI_COMMAND
 * @param stdin the request JSON
 * @param rt runtime values
 * @param type plugin type (looked up in `rt.cniPath`)
 * @returns the raw output
 */
export async function execPlugin(
  command: string,
  stdin: string,
  rt: RuntimeConf,
  type: string,
): Promise<PluginOutput> {
  const path = findInPath(type, rt.cniPath);
  // libcni: the runtime's own environment, with the CNI_* variables on top.
  const env = {
    ...Deno.env.toObject(),
    ...rt.env,
    ...cniVars({ command, ...rt, path: rt.cniPath.join(":") }),
  };
  const out = await runProcess([path], env, stdin, { netns: rt.hostNetns });
  return { status: out.code, stdout: out.stdout, stderr: out.stderr, stdin };
}

/**
 * Turn a plugin's output into a result (or nothing) as libcni does, throwing
 * {@linkcode PluginError} on a non-zero exit.
 *
 * @param type plugin type
 * @param command CNI_COMMAND
 * @param out the raw output
 * @param cniVersion the list's version (fills a missing result `cniVersion`)
 * @returns the parsed result for ADD, undefined otherwise
 */
export function parseOutput(
  type: string,
  command: string,
  out: PluginOutput,
  cniVersion: string,
): Json | undefined {
  if (out.status !== 0) {
    let error: CniErrorObject = { code: 0, msg: `netplugin failed: ${JSON.stringify(out.stderr)}` };
    if (out.stdout.trim() !== "") {
      try {
        const parsed = JSON.parse(out.stdout) as Json;
        error = {
          code: Number(parsed.code),
          msg: String(parsed.msg ?? ""),
          ...(parsed.details !== undefined ? { details: String(parsed.details) } : {}),
        };
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        error = { code: 0, msg: `netplugin failed with unparsable stdout: ${out.stdout}` };
      }
    }
    throw new PluginError(type, command, error, out);
  }
  if (command !== "ADD") {
    if (out.stdout.trim() !== "") {
      throw new PluginError(type, command, {
        code: 0,
        msg: `unexpected output on stdout: ${out.stdout.trim()}`,
      }, out);
    }
    return undefined;
  }
  let result: Json;
  try {
    result = JSON.parse(out.stdout) as Json;
  } catch (err) {
    throw new PluginError(type, command, {
      code: 0,
      msg: `cannot parse the result: ${errorMessage(err)}`,
    }, out);
  }
  // libcni fixupResultVersion: a result without a version is the config's.
  if (typeof result.cniVersion !== "string" || result.cniVersion === "") {
    result.cniVersion = cniVersion;
  }
  return result;
}

/**
 * Run one plugin of a list (ADD returns its result).
 *
 * @param command CNI_COMMAND
 * @param plugin the plugin object
 * @param list name and version of the list
 * @param rt runtime values
 * @param prevResult previous (ADD) or cached (CHECK, DEL) result
 * @returns the result for ADD
 */
export async function invokePlugin(
  command: "ADD" | "CHECK" | "DEL",
  plugin: Json,
  list: { name: string; cniVersion: string },
  rt: RuntimeConf,
  prevResult?: Json,
): Promise<Json | undefined> {
  const type = String(plugin.type);
  const stdin = buildStdin(plugin, list, prevResult);
  const out = await execPlugin(command, stdin, rt, type);
  return parseOutput(type, command, out, list.cniVersion);
}

/** One attachment of a conflist, driven like libcni drives it. */
export interface ChainRun {
  /** ADD every plugin in order; caches and returns the final result. */
  add(): Promise<Json>;
  /** CHECK every plugin in order with the cached result (list version >= 0.4.0). */
  check(): Promise<void>;
  /** DEL every plugin in reverse order with the cached result; drops the cache. */
  del(): Promise<void>;
  /** The cached final result (as stored: serialised JSON), if any. */
  readonly cached: string | undefined;
  /** The runtime values (change `netns` to "" to imitate ctr's DEL). */
  readonly rt: RuntimeConf;
}

/**
 * Prepare a conflist attachment. Nothing runs until `add()`, `check()` or
 * `del()` is called.
 *
 * @param list the conflist
 * @param rt runtime values
 * @returns the attachment
 */
export function runChain(list: Conflist, rt: RuntimeConf): ChainRun {
  let cached: string | undefined;
  const cachedResult = (): Json | undefined =>
    cached === undefined ? undefined : JSON.parse(cached) as Json;
  return {
    rt,
    get cached() {
      return cached;
    },
    async add() {
      let prev: Json | undefined;
      for (const plugin of list.plugins) {
        prev = await invokePlugin("ADD", plugin, list, rt, prev);
      }
      if (prev === undefined) throw new Error("The conflist has no plugins");
      cached = JSON.stringify(prev);
      return prev;
    },
    async check() {
      if (compareVersions(list.cniVersion, "0.4.0") < 0) {
        throw new Error(
          `configuration version "${list.cniVersion}" does not support the CHECK command`,
        );
      }
      if (list.disableCheck) return;
      const prev = cachedResult();
      if (prev === undefined) throw new Error(`failed to get network "${list.name}" cached result`);
      for (const plugin of list.plugins) {
        await invokePlugin("CHECK", plugin, list, rt, prev);
      }
    },
    async del() {
      // libcni passes the cached result only from 0.4.0 on.
      const prev = compareVersions(list.cniVersion, "0.4.0") >= 0 ? cachedResult() : undefined;
      for (const plugin of [...list.plugins].reverse()) {
        await invokePlugin("DEL", plugin, list, rt, prev);
      }
      cached = undefined;
    },
  };
}

/**
 * The versions a plugin advertises (CNI VERSION), or undefined when it
 * cannot be run.
 *
 * @param path plugin binary
 * @returns supportedVersions
 */
export async function pluginVersions(path: string): Promise<string[] | undefined> {
  let out;
  try {
    out = await runProcess([path], { ...Deno.env.toObject(), CNI_COMMAND: "VERSION" }, "");
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw err;
  }
  if (out.code !== 0) return undefined;
  return (out.json as { supportedVersions?: string[] } | undefined)?.supportedVersions;
}

/**
 * Why the reference plugins cannot be used, or undefined when they can.
 *
 * @returns a reason for `ignore`
 */
export function refPluginsSkipReason(): string | undefined {
  for (const p of REF_PLUGINS) {
    try {
      Deno.statSync(`${REF_PLUGIN_DIR}/${p}`);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      return `needs the reference plugin ${REF_PLUGIN_DIR}/${p} (containernetworking-plugins)`;
    }
  }
  return undefined;
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}

/** A temporary CNI_PATH directory; dispose it to remove it. */
export interface PluginDir extends AsyncDisposable {
  /** The directory. */
  readonly path: string;
  /** The invocation log of the coordinator wrapper, if one was asked for. */
  readonly callLog: string | undefined;
  /** Lines of the call log so far: `COMMAND CONTAINERID IFNAME netns=PATH rc=N`. */
  calls(): string[];
}

/** Options of {@linkcode makePluginDir}. */
export interface PluginDirOptions {
  /** Create the directory here instead of a fresh temp dir. */
  dir?: string;
  /** Add the coordinator wrapper (default true). */
  coordinator?: boolean;
  /** Have the wrapper append one line per call to a log file (default false). */
  logCalls?: boolean;
}

/**
 * Make a CNI_PATH directory: symlinks to every plugin in /usr/lib/cni plus
 * `coordinator`, a `#!/bin/sh` wrapper that runs the plugin command line of
 * tools/lib/plugin.ts (`COORDINATOR_BIN`, or `deno run` of main.ts).
 *
 * @param opts options
 * @returns the directory
 */
export async function makePluginDir(opts: PluginDirOptions = {}): Promise<PluginDir> {
  const ownDir = opts.dir === undefined;
  const path = opts.dir ?? await Deno.makeTempDir({ prefix: "cni-bin-" });
  await Deno.mkdir(path, { recursive: true });
  for await (const e of Deno.readDir(REF_PLUGIN_DIR)) {
    await Deno.symlink(`${REF_PLUGIN_DIR}/${e.name}`, `${path}/${e.name}`);
  }
  let callLog: string | undefined;
  if (opts.coordinator ?? true) {
    // What `deno task install --dir` installs (tools/install.ts): COORDINATOR_BIN's binary, or
    // else the launcher of the bundle; so the install path is what the chains test.
    const bin = Deno.env.get("COORDINATOR_BIN");
    const installed = install(
      bin ? { dir: path, launcher: false, binary: bin } : { dir: path, launcher: true, binary: "" },
    );
    if (opts.logCalls) {
      const real = `${path}/coordinator.installed`;
      await Deno.rename(installed, real);
      callLog = `${path}/coordinator.calls`;
      await Deno.writeTextFile(callLog, "");
      const script = `#!/bin/sh\n${shellQuote(real)} "$@"\nrc=$?\n` +
        `printf '%s %s %s netns=%s rc=%s\\n' "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_IFNAME" ` +
        `"$CNI_NETNS" "$rc" >> ${shellQuote(callLog)}\nexit $rc\n`;
      await Deno.writeTextFile(installed, script, { mode: 0o755 });
    }
  }
  const dir: PluginDir = {
    path,
    callLog,
    calls: () =>
      callLog === undefined
        ? []
        : Deno.readTextFileSync(callLog).split("\n").filter((l) => l !== ""),
    [Symbol.asyncDispose]: async () => {
      if (ownDir) await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
  return dir;
}
