/**
 * GC: clean up stale attachments.
 *
 * @module
 */

import type { Attachment, CmdContext } from "../cni/dispatch.ts";
import { cleanHost } from "./_host.ts";
import { CniError, ErrorCode } from "../errors.ts";
import { hostCleanupFromState } from "../plan/cleanup.ts";
import { type Kernel, REAL_KERNEL } from "./port.ts";

/**
 * GC: clean the node for every attachment of this network that has state but
 * is not in the valid list (a state is removed once its cleanup succeeded).
 * An attachment without a record (a pod of an older version, or of the
 * original plugin) is never touched.
 *
 * @param ctx the call
 * @param valid the attachments the runtime still uses
 * @param k the kernel (the plugin's own by default; tests pass a fake)
 */
export async function cmdGc(
  ctx: CmdContext,
  valid: Attachment[],
  k: Kernel = REAL_KERNEL,
): Promise<void> {
  const keep = new Set(valid.map((a) => `${a.containerID}\u0000${a.ifname}`));
  const failures: string[] = [];
  for (const s of k.state.list(ctx.conf.name)) {
    if (keep.has(`${s.containerId}\u0000${s.ifname}`)) continue;
    const f = await k.withLock(() => cleanHost(k, [hostCleanupFromState(s)]));
    const at = { containerId: s.containerId, ifname: s.ifname };
    if (f.length === 0) {
      k.state.remove(s.network, s.containerId, s.ifname);
      ctx.log.info("GC removed a stale attachment", at);
    } else {
      ctx.log.warn("GC could not remove a stale attachment", { ...at, failures: f });
    }
    failures.push(...f);
  }
  if (failures.length > 0) throw new CniError(ErrorCode.NetworkSetupFailed, failures.join("; "));
}
