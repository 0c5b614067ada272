/**
 * GC: clean up stale attachments.
 *
 * @module
 */

import type { Attachment, CmdContext } from "../cni/dispatch.ts";
import { cleanHost } from "./_host.ts";
import { CniError, ErrorCode } from "../errors.ts";
import { withHostLock } from "../kernel/lock.ts";
import { listStates, removeState } from "../kernel/state.ts";
import { hostCleanupFromState } from "../plan/cleanup.ts";

/**
 * GC: clean the node for every attachment of this network that has state but
 * is not in the valid list (a state is removed once its cleanup succeeded).
 *
 * @param ctx the call
 * @param valid the attachments the runtime still uses
 */
export async function cmdGc(ctx: CmdContext, valid: Attachment[]): Promise<void> {
  const keep = new Set(valid.map((a) => `${a.containerID}\u0000${a.ifname}`));
  const failures: string[] = [];
  for (const s of listStates(ctx.conf.name)) {
    if (keep.has(`${s.containerId}\u0000${s.ifname}`)) continue;
    const f = await withHostLock(() => cleanHost([hostCleanupFromState(s)]));
    if (f.length === 0) removeState(s.network, s.containerId, s.ifname);
    failures.push(...f);
    ctx.log.info("GC removed a stale attachment", { containerId: s.containerId, ifname: s.ifname });
  }
  if (failures.length > 0) throw new CniError(ErrorCode.NetworkSetupFailed, failures.join("; "));
}
