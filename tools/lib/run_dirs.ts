/**
 * The places one test run gives the plugin instead of the machine's own:
 * its state directory and host lock (`COORDINATOR_STATE_DIR`,
 * `COORDINATOR_LOCK_FILE`, under `/run/cni`, the only runtime directory the
 * plugin may write, mod/permissions.ts) and the tests' log files (under
 * `/var/log`), all named by one run tag, so that nothing of a run lands in
 * `/run/cni/coordinator`, `/run/cni/coordinator.lock` or the log directories
 * that the machine (or another checkout's run) uses.
 *
 * The tag and the two plugin variables live in the process environment
 * (`deno test` runs each test module in its own isolate, one after the other,
 * in one process): the first {@linkcode useRunDirs} sets them, later modules
 * and every child (the plugin, the reference plugins, containerd and the
 * plugins it starts) inherit them. Container IDs made by `containerId()`
 * (./plugin.ts) end with the tag, so state files and log lines of the run
 * carry it.
 *
 * @module
 */

/** The variable holding the run tag (8 hex digits). */
export const RUN_TAG_ENV = "COORDINATOR_TEST_RUN";

/** The per-run places. */
export interface RunDirs {
  /** 8 hex digits, also the start of the run's container IDs. */
  tag: string;
  /** `/run/cni/coordinator-run-<tag>`: the state directory and the lock. */
  runDir: string;
  /** `COORDINATOR_STATE_DIR`. */
  stateDir: string;
  /** `COORDINATOR_LOCK_FILE`. */
  lockFile: string;
  /** `/var/log/coordinator-run-<tag>`: the tests' log files. */
  logDir: string;
}

/**
 * The per-run places of a tag.
 *
 * @param tag the run tag
 * @returns the paths
 */
export function runDirsOf(tag: string): RunDirs {
  const runDir = `/run/cni/coordinator-run-${tag}`;
  return {
    tag,
    runDir,
    stateDir: `${runDir}/state`,
    lockFile: `${runDir}/coordinator.lock`,
    logDir: `/var/log/coordinator-run-${tag}`,
  };
}

/**
 * The current run's places, when a run is set up (in this process or a parent).
 *
 * @returns the paths, or undefined
 */
export function currentRunDirs(): RunDirs | undefined {
  const tag = Deno.env.get(RUN_TAG_ENV);
  return tag === undefined || !/^[0-9a-f]{8}$/.test(tag) ? undefined : runDirsOf(tag);
}

/**
 * Set up the run's places (once per process; later calls return the same):
 * the tag and the plugin's two variables in the environment. The directories
 * themselves are made by whoever writes first (the plugin makes its state
 * directory and lock; {@linkcode runLogFile} callers make the log directory).
 *
 * @returns the paths
 */
export function useRunDirs(): RunDirs {
  const have = currentRunDirs();
  if (have !== undefined) return have;
  const tag = Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const dirs = runDirsOf(tag);
  Deno.env.set(RUN_TAG_ENV, tag);
  Deno.env.set("COORDINATOR_STATE_DIR", dirs.stateDir);
  Deno.env.set("COORDINATOR_LOCK_FILE", dirs.lockFile);
  return dirs;
}

/**
 * A log file for the tests' configs: in the run's log directory (made here)
 * when a run is set up, else `/var/log/coordinator-it/<name>.log`.
 *
 * @param name the file's base name
 * @returns the absolute path
 */
export function runLogFile(name: string): string {
  const dirs = currentRunDirs();
  if (dirs === undefined) return `/var/log/coordinator-it/${name}.log`;
  Deno.mkdirSync(dirs.logDir, { recursive: true });
  return `${dirs.logDir}/${name}.log`;
}

/**
 * The files (not directories) under a directory, recursively.
 *
 * @param dir the directory
 * @returns absolute paths; none when it does not exist
 */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(d)];
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    for (const e of entries) {
      if (e.isDirectory) walk(`${d}/${e.name}`);
      else out.push(`${d}/${e.name}`);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Remove the run's places, unless state files are left in its state
 * directory (an ADD without its DEL): then everything stays for the final
 * check (tests/zz_leftovers_test.ts) to report, with the logs beside it.
 *
 * @param dirs the run's places
 * @returns the state files left (nothing was removed when there are any)
 */
export function removeRunDirs(dirs: RunDirs): string[] {
  const left = filesUnder(dirs.stateDir);
  if (left.length > 0) return left;
  for (const d of [dirs.runDir, dirs.logDir]) {
    try {
      Deno.removeSync(d, { recursive: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return [];
}
