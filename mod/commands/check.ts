/**
 * CHECK: compare the live state with what ADD made.
 *
 * @module
 */

import type { CmdContext } from "../cni/dispatch.ts";
import { CniError, ErrorCode } from "../errors.ts";
import { readHostFacts, readPodFacts } from "../kernel/facts.ts";
import { readMangle } from "../kernel/iptables.ts";
import { loadState } from "../kernel/state.ts";
import { readSysctls } from "../kernel/sysctl.ts";
import { type IpRoute, runBatch } from "../kernel/iproute.ts";
import { checkDifferences, mangleFamilies, sysctlKeys } from "../plan/check.ts";

/**
 * CHECK: compare the live pod and node with what ADD made (from its state
 * file) and fail with code 104 listing every difference.
 *
 * @param ctx the call
 */
export async function cmdCheck(ctx: CmdContext): Promise<void> {
  const { env, conf } = ctx;
  const state = loadState(conf.name, env.containerId, env.ifname);
  if (state === undefined) {
    throw new CniError(
      ErrorCode.CheckFailed,
      `No record of an ADD for container "${env.containerId}" interface "${env.ifname}"`,
    );
  }
  const [pod, host] = await Promise.all([
    readPodFacts(env.netns, { rules6: true, neigh: true }),
    readHostFacts(),
  ]);
  const mangle = new Map<4 | 6, string[]>();
  for (const f of mangleFamilies(state)) mangle.set(f, await readMangle(f, env.netns));
  const keys = sysctlKeys(state, env.ifname, conf.podRPFilter);
  const sysctls = keys.length > 0
    ? readSysctls(keys, env.netns)
    : new Map<string, string | undefined>();
  const v6 = (state.pod?.routes ?? []).some((r) => r.family === 6);
  const routes6 = v6
    ? ((await runBatch([{ args: ["route", "show", "table", "all"], read: true }], {
      netns: env.netns,
      family: 6,
    })).outcomes[0]?.output ?? []) as IpRoute[]
    : undefined;
  const missing = checkDifferences(
    { state, ifname: env.ifname, txQueueLen: conf.txQueueLen, podRPFilter: conf.podRPFilter },
    { pod, host, mangle, sysctls, ...(routes6 === undefined ? {} : { routes6 }) },
  );
  if (missing.length > 0) {
    throw new CniError(
      ErrorCode.CheckFailed,
      `CHECK of "${env.ifname}" found differences: ${missing.join("; ")}`,
    );
  }
}
