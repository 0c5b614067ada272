/**
 * `deno task install [--dir DIR] [--launcher] [--binary FILE]`: put the plugin
 * into a CNI bin directory (default `/opt/cni/bin`) as `coordinator`.
 *
 * - Default: the compiled binary (`dist/coordinator`, from `deno task build`;
 *   `--binary` names another), for nodes and images.
 * - `--launcher`, on a host that has Deno (a dev machine, a CI runner): the
 *   plugin's bundle (tools/lib/bundle.ts, made from the sources now: the
 *   entry `coordinator.js` and its parts `coordinator-cni.js` and
 *   `coordinator-cli.js`) next to a `coordinator` shell launcher that runs the
 *   entry with this Deno and exactly the binary's flags (mod/permissions.ts
 *   `runFlags()` and `permissionFlags()`).
 *
 * Every file is written to a temporary file in the target directory and then
 * renamed over the old one (as deploy/install.sh does), so a runtime calling
 * the plugin meanwhile runs the old or the new one, never half a file. The
 * bundle's parts go first, then its entry, then the launcher.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { permissionFlags, runFlags } from "../mod/permissions.ts";
import { errorMessage } from "../mod/errors.ts";
import { BUNDLE_ENTRY, BUNDLE_FILES, ensureBundle, REPO_ROOT } from "./lib/bundle.ts";

/** The default CNI bin directory. */
export const DEFAULT_DIR = "/opt/cni/bin";

/** What to install where. */
export interface InstallOptions {
  dir: string;
  launcher: boolean;
  binary: string;
}

/**
 * Read the command line.
 *
 * @param args the arguments
 * @returns the options
 */
export function parseInstallArgs(args: readonly string[]): InstallOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      dir: { type: "string" },
      launcher: { type: "boolean" },
      binary: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  return {
    dir: values.dir ?? DEFAULT_DIR,
    launcher: values.launcher ?? false,
    binary: values.binary ?? `${REPO_ROOT}/dist/coordinator`,
  };
}

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The launcher script: `exec` of `deno run` of the bundle with the binary's flags.
 *
 * @param deno the Deno executable
 * @param bundle the installed bundle
 * @returns the script text
 */
export function launcherScript(deno: string, bundle: string): string {
  const argv = [deno, "run", ...runFlags(), ...permissionFlags(), bundle].map(shQuote);
  return [
    "#!/bin/sh",
    "# coordinator CNI plugin launcher, written by `deno task install --launcher`:",
    "# the plugin's bundle under Deno with exactly the compiled binary's flags.",
    `exec ${argv.join(" ")} "$@"`,
    "",
  ].join("\n");
}

/**
 * Write `data` to `dir/name` by temp file + rename.
 *
 * @param dir the target directory (must exist)
 * @param name the file name
 * @param data the content
 * @param mode the file mode
 */
export function installFile(dir: string, name: string, data: Uint8Array, mode: number): void {
  const tmp = `${dir}/.${name}.tmp.${Deno.pid}`;
  try {
    Deno.writeFileSync(tmp, data, { mode });
    Deno.chmodSync(tmp, mode);
    Deno.renameSync(tmp, `${dir}/${name}`);
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch { /* not made */ }
    throw err;
  }
}

/**
 * Install the plugin.
 *
 * @param opts what and where
 * @returns the installed `coordinator` path
 * @throws Error when the directory or the binary is missing
 */
export function install(opts: InstallOptions): string {
  let info: Deno.FileInfo | undefined;
  try {
    info = Deno.statSync(opts.dir);
  } catch { /* below */ }
  if (!info?.isDirectory) throw new Error(`install: ${opts.dir} is not a directory`);
  if (opts.launcher) {
    const entry = ensureBundle();
    const from = entry.slice(0, entry.lastIndexOf("/"));
    // The parts first, then the entry that imports them, then the launcher.
    for (const file of BUNDLE_FILES) {
      installFile(opts.dir, file, Deno.readFileSync(`${from}/${file}`), 0o644);
    }
    const script = launcherScript(Deno.execPath(), `${opts.dir}/${BUNDLE_ENTRY}`);
    installFile(opts.dir, "coordinator", new TextEncoder().encode(script), 0o755);
  } else {
    let data: Uint8Array;
    try {
      data = Deno.readFileSync(opts.binary);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      throw new Error(
        `install: ${opts.binary} is not built: run \`deno task build\` first, or install a ` +
          "launcher with --launcher on a host that has Deno",
      );
    }
    installFile(opts.dir, "coordinator", data, 0o755);
    for (const file of BUNDLE_FILES) { // a former launcher's bundle
      try {
        Deno.removeSync(`${opts.dir}/${file}`);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
  }
  return `${opts.dir}/coordinator`;
}

if (import.meta.main) {
  try {
    const opts = parseInstallArgs(Deno.args);
    const path = install(opts);
    // deno-lint-ignore no-console
    console.log(`install: ${path} (${opts.launcher ? "launcher of the bundle" : "binary"})`);
  } catch (err) {
    // deno-lint-ignore no-console
    console.error(errorMessage(err));
    Deno.exit(1);
  }
}
