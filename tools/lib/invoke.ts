/**
 * Invoke CNI plugins by type the way a runtime does, for the demo and the
 * benchmark: {@linkcode runPlugin} (tools/lib/plugin.ts) with the
 * coordinator or a reference plugin (macvlan, static IPAM, from the first of
 * `/usr/lib/cni` and `/opt/cni/bin` that has them), started in the "host"
 * netns of the world (the node netns) with `setns(2)` around the spawn only,
 * so that timing sees no `ip netns exec` overhead.
 *
 * Requires root (netns) and `--allow-run`, `--allow-ffi`.
 *
 * @module
 */

import {
  type NetnsRef,
  pluginArgv,
  type ProcessRun,
  REF_PLUGIN_DIRS,
  refPluginDir,
  runPlugin,
} from "./plugin.ts";

/** One plugin call. */
export interface Invocation {
  /** "coordinator" or a reference plugin type ("macvlan", ...). */
  plugin: string;
  /** The argv to run instead of the plugin's (e.g. bench/_process_floor.ts, an installed plugin). */
  argv?: readonly string[];
  /** CNI_PATH with `argv` (default /opt/cni/bin). */
  cniPath?: string;
  command: "ADD" | "DEL" | "CHECK" | "VERSION" | "STATUS" | "GC";
  /** The plugin's config object (with cniVersion, name, prevResult as needed). */
  conf: Record<string, unknown>;
  containerId: string;
  /** CNI_NETNS path ("" allowed for DEL). */
  netns: string;
  ifname: string;
  /** The netns the plugin process starts in (the node); default: ours. */
  hostNetns?: NetnsRef;
  /** CNI_ARGS. */
  cniArgs?: string;
  /** Argv put before the plugin's (e.g. strace, /usr/bin/time). */
  wrapper?: readonly string[];
  /** More environment for the plugin (e.g. COORDINATOR_PHASES). */
  env?: Record<string, string>;
}

/** What one call did. */
export type InvocationResult = ProcessRun;

function argvAndPath(inv: Invocation): { argv: readonly string[]; path: string } {
  if (inv.argv !== undefined) return { argv: inv.argv, path: inv.cniPath ?? "/opt/cni/bin" };
  if (inv.plugin === "coordinator") {
    return { argv: pluginArgv(), path: refPluginDir("macvlan") ?? "/opt/cni/bin" };
  }
  const dir = refPluginDir(inv.plugin);
  if (dir === undefined) {
    throw new Error(
      `Cannot find the reference plugin "${inv.plugin}" in ${REF_PLUGIN_DIRS.join(", ")}`,
    );
  }
  return { argv: [`${dir}/${inv.plugin}`], path: dir };
}

/**
 * Run one plugin call to completion.
 *
 * @param inv what to run
 * @returns exit code, output, parsed result and wall time
 */
export function invoke(inv: Invocation): Promise<InvocationResult> {
  const { argv, path } = argvAndPath(inv);
  return runPlugin({
    command: inv.command,
    containerId: inv.containerId,
    netns: inv.netns,
    ifname: inv.ifname,
    args: inv.cniArgs ?? "",
    path,
    conf: inv.conf,
    argv,
    ...(inv.wrapper === undefined ? {} : { wrapper: inv.wrapper }),
    env: { NO_COLOR: "1", ...inv.env },
    ...(inv.hostNetns === undefined ? {} : { host: inv.hostNetns }),
    enter: "setns",
  });
}

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
