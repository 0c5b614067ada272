/**
 * Run the coordinator (main.ts with the plugin's exact permission flags, or
 * COORDINATOR_BIN) as a runtime does, but inside the world's node netns, so
 * that its "host" is the test node and never the machine.
 *
 * @module
 */

import {
  cniEnv,
  containerId,
  passEnv,
  pluginArgv,
  type PluginRun,
  type ProcessRun,
  runProcess,
} from "../_helpers/cni.ts";
import { type TestNetns, whichTool } from "../_helpers/netns.ts";
import type { Result } from "../../mod/types.ts";

/**
 * The coordinator config the integration tests start from: cniVersion 1.0.0,
 * mode auto, the world's service and pod CIDRs, the log in
 * `/var/log/coordinator-it/<log>.log`.
 *
 * @param name the network name
 * @param log the log file's base name
 * @param opts the log level (default debug) and further settings
 * @returns the config
 */
export function itConf(
  name: string,
  log: string,
  opts: { logLevel?: string; hijackCIDR?: string[] } = {},
) {
  return {
    cniVersion: "1.0.0",
    name,
    type: "coordinator",
    mode: "auto",
    serviceCIDR: ["10.233.0.0/18"],
    overlayPodCIDR: ["10.233.64.0/18"],
    ...(opts.hijackCIDR === undefined ? {} : { hijackCIDR: opts.hijackCIDR }),
    logOptions: {
      logLevel: opts.logLevel ?? "debug",
      logFile: `/var/log/coordinator-it/${log}.log`,
    },
  };
}

/**
 * The reference macvlan's config for the measuring scripts: bridge mode on
 * the node's uplink, static IPAM with `address` behind 10.6.0.1.
 *
 * @param address the pod's address (CIDR)
 * @returns the config
 */
export function measureMacvlanConf(address: string) {
  return {
    cniVersion: "1.0.0",
    name: "measure-mv",
    type: "macvlan",
    master: "ens192",
    mode: "bridge",
    ipam: {
      type: "static",
      addresses: [{ address, gateway: "10.6.0.1" }],
      routes: [{ dst: "0.0.0.0/0" }],
    },
  };
}

/** One invocation. */
export interface CoordinatorCall {
  command: "ADD" | "DEL" | "CHECK" | "GC" | "STATUS";
  conf: Record<string, unknown>;
  containerId: string;
  netns: string;
  ifname: string;
  args?: string;
  /** Extra environment (e.g. a PATH without `ip`). */
  env?: Record<string, string>;
}

/** What the plugin did. */
export type CoordinatorRun = PluginRun;

/**
 * Run a command in the node netns (`ip netns exec`) with exactly `env` and
 * `stdin`, to its exit.
 *
 * @param node name of the node netns
 * @param argv command and arguments
 * @param env the whole environment
 * @param stdin text for stdin
 * @returns exit code, output, parsed stdout, wall time
 */
export function runInNode(
  node: string,
  argv: readonly string[],
  env: Record<string, string>,
  stdin: string,
): Promise<ProcessRun> {
  // Absolute: the child's PATH may be a test's (e.g. one without ip).
  return runProcess([ipBinary(), "netns", "exec", node, ...argv], env, stdin);
}

/**
 * Run the plugin in the node netns.
 *
 * @param node the node netns (the plugin's host)
 * @param call command, config and CNI_* values
 * @returns exit code, output, parsed stdout
 */
export async function runCoordinator(
  node: TestNetns,
  call: CoordinatorCall,
): Promise<CoordinatorRun> {
  const env = passEnv(
    cniEnv(call),
    ["DENO_DIR", "HOME", "COORDINATOR_STATE_DIR", "COORDINATOR_LOCK_FILE"],
  );
  Object.assign(env, call.env ?? {});
  const argv = pluginArgv();
  // COORDINATOR_IT_DRIVER=1: the same runCni() through _driver.ts, which also
  // reports the number of child processes on stderr ("spawns=N").
  if (Deno.env.get("COORDINATOR_IT_DRIVER") === "1" && argv[1] === "run") {
    argv[argv.length - 1] = new URL("./_driver.ts", import.meta.url).pathname;
  }
  const { ms: _, ...run } = await runInNode(node.name, argv, env, JSON.stringify(call.conf));
  return run;
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
 * @returns exit code, output, parsed stdout
 */
export function cni(
  node: TestNetns,
  command: CoordinatorCall["command"],
  conf: Record<string, unknown>,
  call: Attachment,
  prevResult?: unknown,
): Promise<CoordinatorRun> {
  return runCoordinator(node, {
    command,
    conf: prevResult === undefined ? conf : { ...conf, prevResult },
    ...call,
  });
}

function ipBinary(): string {
  return whichTool("ip") ?? "ip";
}

/** A random 64-hex container ID. */
export { containerId };

/**
 * Give a pod an `eth0` macvlan on the node's uplink with addresses and a
 * default route, as the macvlan + static IPAM plugins would, and return the
 * matching prevResult.
 *
 * @param node node netns
 * @param pod pod netns
 * @param opts NIC name, addresses (CIDR), gateways, uplink
 * @returns the 1.0.0 prevResult
 */
export async function addMacvlanNic(
  node: TestNetns,
  pod: TestNetns,
  opts: { ifname: string; addrs: string[]; gateways: string[]; uplink?: string },
): Promise<Result> {
  const tmp = `mv${Math.floor(Math.random() * 1e6)}`;
  await node.ip([
    "link",
    "add",
    tmp,
    "link",
    opts.uplink ?? "ens192",
    "type",
    "macvlan",
    "mode",
    "bridge",
  ]);
  await node.ip(["link", "set", tmp, "netns", pod.name]);
  await pod.ip(["link", "set", tmp, "name", opts.ifname]);
  for (const a of opts.addrs) {
    await pod.ip(["addr", "add", a, "dev", opts.ifname, ...(a.includes(":") ? ["nodad"] : [])]);
  }
  await pod.ip(["link", "set", opts.ifname, "up"]);
  for (const gw of opts.gateways) {
    // The main plugins add routes without "exclusive": a second default is kept.
    await pod.ip([
      "route",
      "append",
      gw.includes(":") ? "::/0" : "0.0.0.0/0",
      "via",
      gw,
      "dev",
      opts.ifname,
    ]);
  }
  const link = JSON.parse(await pod.ip(["-j", "link", "show", opts.ifname]))[0];
  return {
    cniVersion: "1.0.0",
    interfaces: [{ name: opts.ifname, mac: link.address, sandbox: pod.path }],
    ips: opts.addrs.map((a, i) => ({
      address: a,
      interface: 0,
      ...(opts.gateways.find((g) => g.includes(":") === a.includes(":")) === undefined
        ? {}
        : { gateway: opts.gateways.find((g) => g.includes(":") === a.includes(":"))! }),
      ...(i < 0 ? {} : {}),
    })),
    routes: opts.gateways.map((g) => ({ dst: g.includes(":") ? "::/0" : "0.0.0.0/0", gw: g })),
  };
}
