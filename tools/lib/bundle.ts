/**
 * The plugin in three files: `deno bundle` of `main.ts` alone (the entry,
 * which answers VERSION), of `mod/plugin.ts` (every other CNI command),
 * and of `mod/cli/mod.ts` (the subcommands), each part with every module it
 * reaches inlined (the detection modules too: they are literal dynamic
 * imports, evaluated only when detection runs). The entry imports a part only
 * when the call needs it. These files are what the tests, the benchmark and
 * the demo start with `deno run` and the binary's flags, what the launcher
 * runs and what `deno compile` embeds, so they all run the same program.
 *
 * Why a bundle: every CNI call is a fresh process, and Deno pays for each
 * module it loads (resolution, cache look-ups, compilation). The layout of
 * `mod/` in folders (46 modules) cost about 3-5 ms of every ADD and DEL over
 * the 25 modules before it; one file costs less than either. Measured on
 * 2026-12-01, 60 rounds, ADD / DEL medians in one run: 25-module tree 81.4 /
 * 61.4 ms, 46-module tree 84.9 / 67.2 ms, the bundle of the 46-module tree
 * 80.0 / 60.1 ms (macvlan ADD 12.7 ms).
 *
 * Why not one file: V8 still scans a whole file it loads, and VERSION (asked
 * often by containerd and CRI-O) needs 3 KB of the 274 KB. Why not
 * `deno bundle --code-splitting`: it makes a file of every set of modules the
 * dynamic imports share (24 files), and each file a call loads costs about
 * 0.35 ms: VERSION loaded 4 of them. Measured on 2026-12-07, 40 rounds, VERSION
 * against an empty program in one run: one file 1.12-1.14x, code splitting
 * 1.07x, a one-file VERSION entry 1.01x.
 *
 * Why minified: less to scan and evaluate at every start. Measured on
 * 2026-12-07, 100 rounds A/B in one run (tools/measure/measure_ab.ts), medians
 * of the paired differences, ADD / DEL / CHECK: the three files -0.9 / -0.7 /
 * -1.2 ms, minified too -2.0 / -2.0 / -2.9 ms, against the one plain file (the
 * CNI part 215 -> 117 KB). Nothing in the plugin reads a function's or
 * class's name; errors carry their messages.
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
  hash.update(`${BUNDLE_ENTRY} ${BUNDLE_FILES.join(" ")}\0`); // the layout of the bundle
  for (const path of sources(root)) {
    hash.update(`${path}\0`);
    hash.update(Deno.readFileSync(`${root}/${path}`));
    hash.update("\0");
  }
  return hash.digest("hex");
}

/** A part of the bundle: a module main.ts imports on demand, and its file. */
export interface BundlePart {
  /** The module as main.ts imports it (a literal dynamic import). */
  specifier: string;
  /** The part's file, next to the entry. */
  file: string;
}

/** The entry file of the bundle: main.ts with VERSION and nothing else of the plugin. */
export const BUNDLE_ENTRY = "coordinator.js";

/**
 * The parts main.ts loads on demand: the CNI commands, and the subcommands a
 * person runs. Each is bundled whole into a file of its own.
 */
export const BUNDLE_PARTS: readonly BundlePart[] = [
  { specifier: "./mod/plugin.ts", file: "coordinator-cni.js" },
  { specifier: "./mod/cli/mod.ts", file: "coordinator-cli.js" },
];

/** Every file of the bundle, the parts first (an installer writes the entry last). */
export const BUNDLE_FILES: readonly string[] = [...BUNDLE_PARTS.map((p) => p.file), BUNDLE_ENTRY];

/**
 * The `deno bundle` runs (argv without `deno`) that write the bundle into
 * `dir`: each part on its own, then main.ts with the parts left as imports
 * (`--external`), which {@linkcode linkEntry} then points at the parts' files.
 *
 * @param dir the directory to write
 * @returns one argv per file
 */
export function bundleArgs(dir: string): string[][] {
  const base = ["bundle", "--no-config", "--platform", "deno", "--minify", "--output"];
  return [
    ...BUNDLE_PARTS.map((p) => [...base, `${dir}/${p.file}`, p.specifier]),
    [
      ...base,
      `${dir}/${BUNDLE_ENTRY}`,
      ...BUNDLE_PARTS.map((p) => `--external=${p.specifier}`),
      "main.ts",
    ],
  ];
}

/**
 * The entry bundle with each part's import pointed at the part's file.
 *
 * @param entry the text `deno bundle` wrote for main.ts
 * @returns the linked text
 * @throws Error when a part is not imported exactly once (main.ts and
 *   {@linkcode BUNDLE_PARTS} disagree)
 */
export function linkEntry(entry: string): string {
  let out = entry;
  for (const p of BUNDLE_PARTS) {
    const from = `import(${JSON.stringify(p.specifier)})`;
    const count = out.split(from).length - 1;
    if (count !== 1) {
      throw new Error(`The bundled main.ts has ${count} ${from}, not one: BUNDLE_PARTS is stale`);
    }
    out = out.replace(from, `import(${JSON.stringify(`./${p.file}`)})`);
  }
  return out;
}

function removeTree(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/**
 * The plugin's bundle for the current sources of `root`, made when missing
 * (in a temporary directory, then renamed, so that concurrent callers never
 * see half a bundle).
 *
 * @param root a checkout
 * @returns the absolute path of the bundle's entry ({@linkcode BUNDLE_ENTRY};
 *   the parts are next to it)
 * @throws Error with deno's output when bundling fails
 */
export function ensureBundle(root: string = REPO_ROOT): string {
  const dir = `${root}/dist/bundle/coordinator-${sourceDigest(root).slice(0, 16)}`;
  const path = `${dir}/${BUNDLE_ENTRY}`;
  try {
    if (Deno.statSync(path).isFile) return path;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  Deno.mkdirSync(`${root}/dist/bundle`, { recursive: true });
  const tmp = `${dir}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  Deno.mkdirSync(tmp);
  try {
    for (const args of bundleArgs(tmp)) {
      const out = new Deno.Command(Deno.execPath(), {
        args,
        cwd: root,
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      if (!out.success) {
        const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
        throw new Error(`Cannot bundle the plugin in "${root}": ${text.trim()}`);
      }
    }
    const entry = `${tmp}/${BUNDLE_ENTRY}`;
    Deno.writeTextFileSync(entry, linkEntry(Deno.readTextFileSync(entry)));
    try {
      Deno.renameSync(tmp, dir);
    } catch (err) {
      // Another caller made the same bundle first: theirs is as good.
      if (!Deno.statSync(path).isFile) throw err;
    }
  } finally {
    removeTree(tmp);
  }
  return path;
}
