/**
 * Runs last and checks that the suite left the machine as it found it.
 *
 * Every helper that starts the plugin sets up the run's own places
 * (tools/lib/run_dirs.ts, tests/_helpers/run.ts): a state directory and lock
 * under `/run/cni/coordinator-run-<tag>`, the tests' logs under
 * `/var/log/coordinator-run-<tag>`, removed at the end of each test module
 * unless an ADD was left without its DEL. The run's container IDs start with
 * the tag. So this check can tell the run's own leftovers from those of other
 * suites running on the same machine at the same time (other checkouts), and
 * fails on:
 *
 * - state files left in this run's state directory (an ADD without its DEL),
 *   and this run's places still there after they are removed here;
 * - anything in the plugin's shared locations ({@linkcode WATCHED}) or in a
 *   `/var/log/coordinator-test-*` scratch directory of tests/unit/log_test.ts
 *   that carries the tag: in its name (a state file, a scratch directory), or,
 *   for a file changed since this process started, in its content (a log line
 *   of one of the run's containers).
 *
 * Order: `deno test` (2.9.6) sorts the test files it finds by path and runs
 * them one after the other; `tests/zz_leftovers_test.ts` sorts after
 * `tests/unit/`, `tests/integration/` and `tests/e2e/`. The doc tests of
 * `--doc` run after all test files (none of them starts the plugin).
 *
 * @module
 */

import assert from "node:assert/strict";
import { currentRunDirs, filesUnder, removeRunDirs } from "../tools/lib/run_dirs.ts";

/** The plugin's (and the tests' former) shared locations; a directory with everything below. */
export const WATCHED: readonly string[] = [
  "/run/cni/coordinator", // mod/kernel/state.ts DEFAULT_STATE_DIR
  "/run/cni/coordinator.lock", // mod/kernel/lock.ts DEFAULT_LOCK_PATH
  "/var/log/coordinator-it", // itConf()'s log directory outside a test run
  "/var/log/spidernet", // the default logOptions.logFile
  "/etc/cni/net.d/coordinator.d", // the cluster-wide defaults file
];

/** Scratch directories of tests/unit/log_test.ts: `/var/log/coordinator-test-<tag>-*`. */
const SCRATCH_PREFIX = "coordinator-test-";

/** Only this much of a changed file is searched for the tag (logs rotate well below it). */
const MAX_READ = 16 << 20;

/**
 * When this process started, in ms since the epoch: `/proc/self/stat` field 22
 * (clock ticks after boot) against `/proc/uptime`.
 *
 * @returns the start time, or undefined off Linux
 */
export function processStartMs(): number | undefined {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[22 - 3]);
    const uptime = Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]);
    if (!Number.isFinite(ticks) || !Number.isFinite(uptime)) return undefined;
    return Date.now() - (uptime - ticks / 100) * 1000; // USER_HZ is 100
  } catch {
    return undefined;
  }
}

function lstat(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw err;
  }
}

function carriesTag(path: string, info: Deno.FileInfo, tag: string, sinceMs: number): boolean {
  if ((path.split("/").pop() ?? "").includes(tag)) return true;
  if (!info.isFile || (info.mtime?.getTime() ?? 0) < sinceMs) return false;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  try {
    const size = Math.min(info.size, MAX_READ);
    const buf = new Uint8Array(size);
    if (info.size > size) file.seekSync(info.size - size, Deno.SeekMode.Start);
    let n = 0;
    while (n < size) {
      const got = file.readSync(buf.subarray(n));
      if (got === null) break;
      n += got;
    }
    return new TextDecoder().decode(buf.subarray(0, n)).includes(tag);
  } finally {
    file.close();
  }
}

/**
 * Every entry at and below `paths` that carries `tag` (see the module doc).
 *
 * @param paths files or directories
 * @param tag the run tag
 * @param sinceMs the run's start (files older than it are not read)
 * @returns the paths, sorted
 */
export function tagged(paths: readonly string[], tag: string, sinceMs: number): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    const info = lstat(path);
    if (info === undefined) return;
    if (carriesTag(path, info, tag, sinceMs)) out.push(path);
    if (!info.isDirectory) return;
    let names: string[];
    try {
      names = [...Deno.readDirSync(path)].map((e) => e.name);
    } catch (err) {
      if (err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotFound) {
        return; // not root: nothing we made; or gone meanwhile (another run)
      }
      throw err;
    }
    for (const name of names) walk(`${path}/${name}`);
  };
  for (const p of paths) walk(p);
  return out.sort();
}

/**
 * The watched paths and the log tests' scratch directories.
 *
 * @returns the paths
 */
export function watchedPaths(): string[] {
  const out = [...WATCHED];
  try {
    for (const e of Deno.readDirSync("/var/log")) {
      if (e.name.startsWith(SCRATCH_PREFIX)) out.push(`/var/log/${e.name}`);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied)) {
      throw err;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------

const RUN = currentRunDirs();
const START = processStartMs() ?? 0;

Deno.test({
  name: RUN === undefined
    ? "the suite left nothing behind (ignored: no test in this run started the plugin)"
    : "the suite left nothing behind: no state file, its own places removed, nothing of it in " +
      "the plugin's shared locations",
  ignore: RUN === undefined,
  fn: () => {
    const run = RUN!;
    const state = removeRunDirs(run);
    assert.deepEqual(
      state,
      [],
      `ADDs without their DEL (the run's places are kept for a look, remove ${run.runDir} ` +
        `and ${run.logDir} afterwards):\n  ${state.join("\n  ")}`,
    );
    assert.deepEqual([run.runDir, run.logDir].filter((p) => lstat(p) !== undefined), []);
    const found = tagged(watchedPaths(), run.tag, START);
    assert.deepEqual(
      found,
      [],
      `made by this run (tag ${run.tag}) in the machine's own locations (a config without ` +
        `the run's logFile, a call without the run's state dir, a scratch dir not removed):\n  ` +
        found.join("\n  "),
    );
    // What carries no tag: a location itself (a folder, the lock) born during the run.
    const born = WATCHED.filter((p) => {
      const t = lstat(p)?.birthtime?.getTime();
      return t !== undefined && t >= START;
    });
    assert.deepEqual(
      born,
      [],
      `created while this run went on (a call without the run's state dir or lock, a config ` +
        `without the run's logFile; or another suite on this machine at the same time):\n  ` +
        born.join("\n  "),
    );
  },
});

Deno.test("tagged() finds the tag in names and in files changed since the start only", () => {
  const dir = Deno.makeTempDirSync({ prefix: "zz-leftovers-" });
  try {
    Deno.mkdirSync(`${dir}/net`);
    Deno.writeTextFileSync(`${dir}/net/0badc0de77_eth0.json`, "{}");
    Deno.writeTextFileSync(`${dir}/net/other_eth0.json`, "{}");
    Deno.writeTextFileSync(`${dir}/a.log`, "x\ncontainerID=0badc0de77 y\n");
    Deno.writeTextFileSync(`${dir}/b.log`, "nothing of ours\n");
    Deno.writeTextFileSync(`${dir}/old.log`, "containerID=0badc0de77\n");
    Deno.utimeSync(`${dir}/old.log`, 1, 1);
    assert.deepEqual(tagged([dir, `${dir}/missing`], "0badc0de", Date.now() - 60_000), [
      `${dir}/a.log`,
      `${dir}/net/0badc0de77_eth0.json`,
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("filesUnder() lists state files, not the per-network directories", () => {
  const dir = Deno.makeTempDirSync({ prefix: "zz-leftovers-" });
  try {
    Deno.mkdirSync(`${dir}/net-a`);
    Deno.mkdirSync(`${dir}/net-b`);
    Deno.writeTextFileSync(`${dir}/net-b/cid_eth0.json`, "{}");
    assert.deepEqual(filesUnder(dir), [`${dir}/net-b/cid_eth0.json`]);
    assert.deepEqual(filesUnder(`${dir}/missing`), []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
