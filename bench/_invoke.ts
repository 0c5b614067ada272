/**
 * Invoke CNI plugins the way a runtime does, for the demo and the benchmark:
 * a fresh process per call, `CNI_*` in the environment, the config on stdin,
 * started in the "host" netns of the world (the node netns) without any
 * wrapper process: the parent enters the node netns with `setns(2)` only for
 * the synchronous spawn (mod/netns.ts), so the child starts there and timing
 * sees no `ip netns exec` overhead.
 *
 * The coordinator runs as `deno run <permissionFlags()> main.ts` (the same
 * flags the compiled binary carries), or as the binary in `COORDINATOR_BIN`.
 * Reference plugins (macvlan, static IPAM) come from the first of
 * `/usr/lib/cni` and `/opt/cni/bin` that has them.
 *
 * Requires root (netns) and `--allow-run`, `--allow-ffi`.
 *
 * @module
 */

import {
  cniEnv,
  containerId,
  denoRunArgv,
  passEnv,
  pluginArgv,
  runProcess,
} from "../tests/_helpers/cni.ts";
import { inNetns } from "../mod/netns.ts";

/** The "plugin" name of bench/_process_floor.ts in an {@linkcode Invocation}. */
export const PROCESS_FLOOR = "process-floor";

/**
 * The argv of bench/_process_floor.ts: `deno run` with the plugin's own flags.
 *
 * @returns the argv
 */
export function processFloorArgv(): string[] {
  return denoRunArgv(new URL("./_process_floor.ts", import.meta.url).pathname);
}

/** Directories searched for the reference plugins, first match wins. */
export const REF_PLUGIN_DIRS: readonly string[] = ["/usr/lib/cni", "/opt/cni/bin"];

/**
 * The argv that starts the coordinator: the tests' own
 * ({@linkcode pluginArgv}, `COORDINATOR_BIN` or `deno run <permissionFlags()> main.ts`).
 *
 * @returns the argv
 */
export function coordinatorArgv(): string[] {
  return pluginArgv();
}

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
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** One plugin call. */
export interface Invocation {
  /** "coordinator", {@linkcode PROCESS_FLOOR} or a reference plugin type ("macvlan", ...). */
  plugin: string;
  command: "ADD" | "DEL" | "CHECK" | "VERSION" | "STATUS" | "GC";
  /** The plugin's config object (with cniVersion, name, prevResult as needed). */
  conf: Record<string, unknown>;
  containerId: string;
  /** CNI_NETNS path ("" allowed for DEL). */
  netns: string;
  ifname: string;
  /** The netns path the plugin process starts in (the node); default: ours. */
  hostNetns?: string;
  /** CNI_ARGS. */
  cniArgs?: string;
  /** Argv put before the plugin's (e.g. strace, /usr/bin/time). */
  wrapper?: readonly string[];
}

/** What one call did. */
export interface InvocationResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is JSON. */
  json: unknown;
  /** Wall time from spawn to exit, milliseconds. */
  ms: number;
}

/**
 * Run one plugin call to completion.
 *
 * @param inv what to run
 * @returns exit code, output, parsed result and wall time
 */
export async function invoke(inv: Invocation): Promise<InvocationResult> {
  let argv: string[];
  let cniPath: string;
  if (inv.plugin === "coordinator") {
    argv = coordinatorArgv();
    cniPath = refPluginDir("macvlan") ?? "/opt/cni/bin";
  } else if (inv.plugin === PROCESS_FLOOR) {
    argv = processFloorArgv();
    cniPath = "/opt/cni/bin";
  } else {
    const dir = refPluginDir(inv.plugin);
    if (dir === undefined) {
      throw new Error(
        `Cannot find the reference plugin "${inv.plugin}" in ${REF_PLUGIN_DIRS.join(", ")}`,
      );
    }
    argv = [`${dir}/${inv.plugin}`];
    cniPath = dir;
  }
  argv = [...(inv.wrapper ?? []), ...argv];
  const env = passEnv({
    ...cniEnv({ ...inv, args: inv.cniArgs ?? "", path: cniPath }),
    NO_COLOR: "1",
  }, ["HOME", "DENO_DIR"]);
  const hostNetns = inv.hostNetns;
  return await runProcess(argv, env, JSON.stringify(inv.conf), {
    ignoreStdinErrors: true,
    ...(hostNetns === undefined ? {} : { spawnIn: (spawn) => inNetns(hostNetns, spawn) }),
  });
}

/**
 * A random 64-hex-digit container ID, like the ones runtimes use.
 *
 * @returns the ID
 */
export const randomContainerId: () => string = containerId;

/** One static address of {@linkcode macvlanConf}: CIDR with host bits and its gateway. */
export interface StaticAddress {
  address: string;
  gateway: string;
}

/**
 * The config of a macvlan main CNI with static IPAM: the addresses, and a
 * default route per family through that family's gateway.
 *
 * @param opts name, cniVersion, master and the addresses
 * @returns the plugin config object
 */
export function macvlanConf(
  opts: { name: string; cniVersion: string; master: string; addresses: readonly StaticAddress[] },
): Record<string, unknown> {
  const routes = opts.addresses.map((a) => ({
    dst: a.address.includes(":") ? "::/0" : "0.0.0.0/0",
    gw: a.gateway,
  }));
  return {
    cniVersion: opts.cniVersion,
    name: opts.name,
    type: "macvlan",
    master: opts.master,
    mode: "bridge",
    ipam: { type: "static", addresses: opts.addresses, routes },
  };
}
