/**
 * `coordinator doctor --json` (and the other subcommands) run as the binary runs, inside a node
 * netns, against a planted root (a CNI bin dir holding `coordinator`, and the node defaults file
 * when planted) and a state dir of its own under /run/cni, so that neither the machine's files
 * nor its lock are read.
 *
 * @example
 * ```ts ignore
 * await withPlanted(async (p) => {
 *   const { findings } = await doctor(world.node, p);
 * });
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { pluginArgv, type ProcessRun, runProcess } from "./cni.ts";
import type { TestNetns } from "./netns.ts";
import type { Finding } from "../../mod/doctor/checks.ts";

/** A planted root and state dir. */
export interface Planted {
  root: string;
  stateDir: string;
}

async function plantRoot(): Promise<Planted> {
  const root = await Deno.makeTempDir({ prefix: "doctor-root-" });
  await Deno.mkdir(`${root}/opt/cni/bin`, { recursive: true });
  await Deno.writeTextFile(`${root}/opt/cni/bin/coordinator`, "#!/bin/sh\n", { mode: 0o755 });
  // Under /run/cni: the plugin may write only there (permissions.ts).
  await Deno.mkdir("/run/cni", { recursive: true });
  const stateDir = await Deno.makeTempDir({ dir: "/run/cni", prefix: "doctor-state-" });
  return { root, stateDir };
}

/**
 * Run `fn` with a planted root and state dir, removed afterwards.
 *
 * @param fn the test
 */
export async function withPlanted(fn: (p: Planted) => Promise<void>): Promise<void> {
  const p = await plantRoot();
  try {
    await fn(p);
  } finally {
    await Deno.remove(p.root, { recursive: true });
    await Deno.remove(p.stateDir, { recursive: true });
  }
}

/**
 * Write the node defaults file under the planted root, where doctor reads it
 * (`/etc/cni/net.d/coordinator.d/defaults.json` under `--root`).
 *
 * @param p the planted root
 * @param defaults the file's object
 * @returns the file's path
 */
export async function plantDefaults(
  p: Planted,
  defaults: Record<string, unknown>,
): Promise<string> {
  const dir = `${p.root}/etc/cni/net.d/coordinator.d`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/defaults.json`, JSON.stringify(defaults));
  return `${dir}/defaults.json`;
}

/**
 * `coordinator <args>` (a subcommand) in a node netns, with the planted state dir and lock.
 *
 * @param node the node netns
 * @param p the planted root and state dir
 * @param args the subcommand and its arguments
 * @returns exit code, output, parsed stdout
 */
export function coordinatorCli(
  node: TestNetns,
  p: Planted,
  args: readonly string[],
): Promise<ProcessRun> {
  return runProcess(
    [...pluginArgv(), ...args],
    {
      PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      COORDINATOR_STATE_DIR: p.stateDir,
      // The readiness checks take the host lock: this run's, not the machine's.
      COORDINATOR_LOCK_FILE: `${p.stateDir}/coordinator.lock`,
    },
    "",
    { netns: node },
  );
}

/**
 * `coordinator doctor --json --root <root>` in a node netns.
 *
 * @param node the node netns
 * @param p the planted root and state dir
 * @param extra more arguments (`--conf FILE`, `--defaults FILE`)
 * @returns the exit code and the findings
 */
export async function doctor(
  node: TestNetns,
  p: Planted,
  extra: readonly string[] = [],
): Promise<{ code: number; findings: Finding[] }> {
  const run = await coordinatorCli(node, p, ["doctor", "--json", "--root", p.root, ...extra]);
  const json = run.json as { findings: Finding[] } | undefined;
  assert.ok(json, run.stdout + run.stderr);
  return { code: run.code, findings: json.findings };
}

/**
 * The ids that are not OK.
 *
 * @param findings doctor's findings
 * @returns the ids, sorted
 */
export function problems(findings: readonly Finding[]): string[] {
  return findings.filter((f) => f.level !== "OK").map((f) => f.id).sort();
}
