/**
 * The reference macvlan of the measuring scripts: its config and one call of
 * it in the node netns, started like the coordinator (`ip netns exec <node>`,
 * a fresh process, tools/lib/plugin.ts).
 *
 * @module
 */

import type { Result } from "../../mod/cni/types.ts";
import { type NetnsRef, runPlugin } from "../lib/plugin.ts";

/** The reference macvlan plugin. */
export const MACVLAN = "/usr/lib/cni/macvlan";

/**
 * The reference macvlan's config: bridge mode on the node's uplink, static
 * IPAM with `address` behind 10.6.0.1.
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

/**
 * Run the reference macvlan once for a pod's `eth0`, in the node netns.
 *
 * @param node the node netns
 * @param command ADD or DEL
 * @param call the pod's container ID and netns path
 * @param address the pod's address (CIDR)
 * @returns the wall time, and the result of an ADD
 */
export async function macvlan(
  node: NetnsRef,
  command: "ADD" | "DEL",
  call: { containerId: string; netns: string },
  address: string,
): Promise<{ ms: number; result: Result | undefined }> {
  const run = await runPlugin({
    command,
    ...call,
    ifname: "eth0",
    path: "/usr/lib/cni",
    conf: measureMacvlanConf(address),
    argv: [MACVLAN],
    host: node,
  });
  if (run.code !== 0) throw new Error(`macvlan ${command} failed: ${run.stdout}`);
  return { ms: run.ms, result: command === "ADD" ? run.json as Result : undefined };
}
