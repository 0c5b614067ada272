/**
 * The readiness checks STATUS answers with and doctor starts with: the tools
 * the plugin starts, the state directory and the host lock. Cheap on purpose
 * (containerd calls STATUS every few seconds): one child process (`ip -V`),
 * the rest are stat calls and one flock.
 *
 * doctor's cluster CIDR checks (`./cluster.ts`) stay out on purpose: a
 * `serviceCIDR` that misses a ClusterIP is not "cannot serve ADD", and code 50
 * would have the runtime report the node's network not ready (kubelet marks
 * the node NotReady); their reads would also add five processes, 10 ms on an
 * empty node to 1.1 s (iptables mode) or 2.3 s (nftables mode) with 5000
 * Services per family (`tools/bench/cluster_reads_bench.ts`), to every STATUS.
 *
 * @module
 */

import { run } from "../kernel/exec.ts";
import { errorMessage } from "../errors.ts";
import { withHostLock } from "../kernel/lock.ts";
import { stateDir } from "../kernel/state.ts";
import { evalStateDir, evalTools, type Finding } from "./checks.ts";

/** Whether an executable file `name` is in a directory of PATH. */
export function onPath(name: string): boolean {
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
 * The tools and the state directory: two findings.
 *
 * @returns the findings (FAIL when not ready)
 */
export async function readyChecks(): Promise<Finding[]> {
  const missing: string[] = [];
  try {
    await run(["ip", "-V"]);
  } catch (err) {
    // Whatever keeps `ip` from running is a reason not to be ready.
    missing.push(`"ip" cannot run: ${errorMessage(err)}`);
  }
  for (const tool of ["iptables-restore", "ip6tables-restore"]) {
    if (!onPath(tool)) missing.push(`"${tool}" is not on PATH`);
  }
  const dir = stateDir();
  const problems: string[] = [];
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
  return [evalTools(missing), evalStateDir(dir, problems)];
}
