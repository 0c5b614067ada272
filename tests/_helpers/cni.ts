/**
 * The one helper of the tests that runs the plugin: everything of
 * tools/lib/plugin.ts (`deno run` of `main.ts` with exactly the compiled
 * binary's flags from mod/permissions.ts, or COORDINATOR_BIN; the CNI_*
 * environment; one process per call), plus {@linkcode runCoordinator} and
 * {@linkcode cni}, which start it inside a world's node netns (`ip netns
 * exec`), so that its "host" is the test node and never the machine.
 *
 * With COORDINATOR_IT_DRIVER=1 (and no COORDINATOR_BIN), {@linkcode runCoordinator}
 * runs the same `runCni()` through tools/measure/_driver.ts, which also
 * reports the number of child processes on stderr ("spawns=N").
 *
 * Importing it sets up the run's own state directory, lock and log directory
 * (./run.ts), which every plugin call inherits.
 *
 * @module
 */

import "./run.ts";
import {
  type CniCallEnv,
  driverArgv,
  type NetnsRef,
  pluginArgv,
  type ProcessRun,
  runPlugin,
} from "../../tools/lib/plugin.ts";

export * from "../../tools/lib/plugin.ts";

/** One invocation of the coordinator in a node netns. */
export interface CoordinatorCall extends CniCallEnv {
  command: "ADD" | "DEL" | "CHECK" | "GC" | "STATUS";
  conf: Record<string, unknown>;
  containerId: string;
  netns: string;
  ifname: string;
  /** Extra environment (e.g. a PATH without `ip`). */
  env?: Record<string, string>;
}

/**
 * Run the plugin in the node netns.
 *
 * @param node the node netns (the plugin's host)
 * @param call command, config and CNI_* values
 * @returns exit code, output, parsed stdout, wall time
 */
export function runCoordinator(node: NetnsRef, call: CoordinatorCall): Promise<ProcessRun> {
  const argv = pluginArgv();
  const driver = Deno.env.get("COORDINATOR_IT_DRIVER") === "1" && argv[1] === "run";
  return runPlugin({ ...call, host: node, argv: driver ? driverArgv() : argv });
}

/** The CNI_* values that name one attachment. */
export type Attachment = Pick<CoordinatorCall, "containerId" | "netns" | "ifname">;

/**
 * {@linkcode runCoordinator} for one attachment: `command` with `conf`, with
 * `prevResult` added to it when given.
 *
 * @param node the node netns (the plugin's host)
 * @param command the CNI command
 * @param conf the network config
 * @param call container ID, netns and ifname
 * @param prevResult the previous result, if any
 * @returns exit code, output, parsed stdout, wall time
 */
export function cni(
  node: NetnsRef,
  command: CoordinatorCall["command"],
  conf: Record<string, unknown>,
  call: Attachment,
  prevResult?: unknown,
): Promise<ProcessRun> {
  return runCoordinator(node, {
    command,
    conf: prevResult === undefined ? conf : { ...conf, prevResult },
    ...call,
  });
}
