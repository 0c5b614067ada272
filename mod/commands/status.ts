/**
 * STATUS: is the plugin ready.
 *
 * @module
 */

import type { CmdContext } from "../cni/dispatch.ts";
import { run } from "../kernel/exec.ts";
import { CniError, ErrorCode, errorMessage } from "../errors.ts";
import { withHostLock } from "../kernel/lock.ts";
import { stateDir } from "../kernel/state.ts";

/** Whether an executable file `name` is in a directory of PATH. */
function onPath(name: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      if (st.isFile && ((st.mode ?? 0o755) & 0o111) !== 0) return true;
    } catch {
      // Missing, or a directory that cannot be looked into: the next one.
    }
  }
  return false;
}

/**
 * STATUS: ready when `ip` runs, the iptables restore tools are on PATH and
 * the state and lock directories are writable; else code 50 listing every
 * problem. The network itself is not probed.
 *
 * @param _ctx the call
 */
export async function cmdStatus(_ctx: CmdContext): Promise<void> {
  const problems: string[] = [];
  try {
    await run(["ip", "-V"]);
  } catch (err) {
    // Whatever keeps `ip` from running is a reason not to be ready.
    problems.push(`"ip" cannot run: ${errorMessage(err)}`);
  }
  for (const tool of ["iptables-restore", "ip6tables-restore"]) {
    if (!onPath(tool)) problems.push(`"${tool}" is not on PATH`);
  }
  const dir = stateDir();
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const probe = `${dir}/.status-${Deno.pid}`;
    Deno.writeTextFileSync(probe, "");
    Deno.removeSync(probe);
  } catch (err) {
    // Any failure to create, write or remove there is a reason not to be ready.
    problems.push(`State directory "${dir}" is not writable: ${errorMessage(err)}`);
  }
  try {
    await withHostLock(() => Promise.resolve());
  } catch (err) {
    // Opening (CniError) or locking the file: either way not ready.
    problems.push(errorMessage(err));
  }
  if (problems.length > 0) {
    throw new CniError(ErrorCode.StatusNotAvailable, `Plugin not ready: ${problems.join("; ")}`);
  }
}
