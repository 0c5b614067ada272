/**
 * The plugin as one file: `deno bundle` of `main.ts` with every module of
 * `mod/` inlined (the detection modules too: they are literal dynamic
 * imports, evaluated only when detection runs). This one file is what the
 * tests, the benchmark and the demo start with `deno run` and the binary's
 * flags, what the launcher runs and what `deno compile` embeds, so they all run
 * the same program.
 *
 * Why a bundle: every CNI call is a fresh process, and Deno pays for each
 * module it loads (resolution, cache look-ups, compilation). The layout of
 * `mod/` in folders (46 modules) cost about 3-5 ms of every ADD and DEL over
 * the 25 modules before it; one file costs less than either. Measured on
 * 2026-12-01, 60 rounds, ADD / DEL medians in one run: 25-module tree 81.4 /
 * 61.4 ms, 46-module tree 84.9 / 67.2 ms, the bundle of the 46-module tree
 * 80.0 / 60.1 ms (macvlan ADD 12.7 ms).
 *
 * The bundle is made from the sources on first use and kept under `dist/`,
 * named by a digest of `main.ts` and `mod/`, so an edited source is never run
 * from a stale bundle.
 *
 * Requires `--allow-read`, `--allow-write` of `dist/`, `--allow-run` of deno.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** The checkout this module belongs to. */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

function sources(root: string): string[] {
  const out = ["main.ts"];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(`${root}/${dir}`)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else if (e.name.endsWith(".ts")) out.push(path);
    }
  };
  walk("mod");
  return out.sort();
}

/**
 * A digest of the plugin's sources: `main.ts` and every module under `mod/`,
 * path and content.
 *
 * @param root a checkout
 * @returns hex SHA-256
 */
export function sourceDigest(root: string = REPO_ROOT): string {
  const hash = createHash("sha256");
  for (const path of sources(root)) {
    hash.update(`${path}\0`);
    hash.update(Deno.readFileSync(`${root}/${path}`));
    hash.update("\0");
  }
  return hash.digest("hex");
}

/**
 * The `deno bundle` argv (without `deno`) that writes the plugin's one file.
 *
 * @param output the file to write
 * @returns the arguments
 */
export function bundleArgs(output: string): string[] {
  return ["bundle", "--no-config", "--platform", "deno", "--output", output, "main.ts"];
}

/**
 * The plugin's bundle for the current sources of `root`, made when missing
 * (in a temporary file, then renamed, so concurrent callers never see half a
 * file).
 *
 * @param root a checkout
 * @returns the absolute path of the bundle
 * @throws Error with deno's output when bundling fails
 */
export function ensureBundle(root: string = REPO_ROOT): string {
  const dir = `${root}/dist/bundle`;
  const path = `${dir}/coordinator-${sourceDigest(root).slice(0, 16)}.js`;
  try {
    if (Deno.statSync(path).isFile) return path;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const out = new Deno.Command(Deno.execPath(), {
    args: bundleArgs(tmp),
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!out.success) {
    try {
      Deno.removeSync(tmp);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`Cannot bundle the plugin in "${root}": ${text.trim()}`);
  }
  Deno.renameSync(tmp, path);
  return path;
}
