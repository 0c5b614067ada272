/**
 * Build the single `coordinator` binary.
 *
 * ```sh
 * deno task build               # Wasm codec, version stamp, deno compile -> dist/coordinator
 * deno task build --check       # only verify the generated files are current (CI)
 * deno task build:wasm          # only the Wasm codec
 * DENORT_BIN=/path/to/denort deno task build
 * ```
 *
 * Steps:
 * 1. the Wasm codec: `buildWasm({check})` from `wasm/build_wasm.ts` (when it exists);
 * 2. the JSON Schema `schema/coordinator.schema.json` (from the config table);
 * 3. the version stamp: `mod/version.ts` `VERSION` is set to `deno.json` `version`;
 * 4. `deno compile` of the plugin's bundle (`deno bundle` of `main.ts`, see
 *    `tools/lib/bundle.ts`) with exactly {@linkcode permissionFlags} into
 *    `dist/coordinator`, then a smoke run (`CNI_COMMAND=VERSION`).
 *
 * `deno compile` writes the program into a copy of `denort`, the Deno runtime
 * without the tool subcommands. Deno 2.9 takes it from the `DENORT_BIN`
 * environment variable (the path of an unpacked `denort` executable; Deno then
 * never touches the network), or else from its cache
 * `$DENO_DIR/dl/release/v<deno version>/denort-<target>.zip`, and only when
 * neither exists does it download that zip (which fills the cache). This
 * script lets it download; only when that download fails (no network, no such
 * release, a proxy in the way) does it stop with a {@linkcode RuntimeMissingError}
 * saying how to provide a runtime by hand.
 *
 * Exit codes: 0 success, 1 failure (messages on stderr).
 *
 * @module
 */

import { permissionFlags, v8Flags } from "./mod/permissions.ts";
import { errorMessage } from "./mod/errors.ts";
import { BUNDLE_PARTS, ensureBundle } from "./tools/lib/bundle.ts";

/** Where the binary goes. */
export const DEFAULT_OUTPUT = "dist/coordinator";

/** Where a runtime comes from. */
export type RuntimeSource =
  | { kind: "env"; path: string }
  | { kind: "cache"; path: string }
  | { kind: "download"; path: string; url: string };

/** Why no runtime could be used. */
export class RuntimeMissingError extends Error {
  /**
   * @param message the whole explanation, with the remedies
   */
  constructor(message: string) {
    super(message);
    this.name = "RuntimeMissingError";
  }
}

/** `deno compile` failed for a reason other than a missing runtime. */
export class CompileError extends Error {
  /** Exit code of `deno compile`. */
  readonly code: number;
  /**
   * @param code the exit code of `deno compile`
   */
  constructor(code: number) {
    super(`compile: deno compile failed with exit code ${code}`);
    this.name = "CompileError";
    this.code = code;
  }
}

/** Inputs of {@linkcode resolveRuntime}, injectable for tests. */
export interface ResolveRuntimeOptions {
  /** Value of `DENORT_BIN` (undefined when unset). */
  denortBin: string | undefined;
  /** The Deno cache directory (`deno info --json` `denoDir`). */
  denoDir: string;
  /** Deno version, e.g. "2.9.6". */
  denoVersion: string;
  /** Target triple, e.g. "x86_64-unknown-linux-gnu". */
  target: string;
  /** Reports whether a path is a regular file. */
  isFile?: (path: string) => boolean;
}

function isFileSync(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw err;
  }
}

function isDirSync(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * The cache path Deno looks at before it downloads a runtime.
 *
 * @param denoDir the Deno cache directory
 * @param denoVersion e.g. "2.9.6"
 * @param target e.g. "x86_64-unknown-linux-gnu"
 * @returns the zip path
 */
export function cachedRuntimePath(denoDir: string, denoVersion: string, target: string): string {
  return `${denoDir}/dl/release/v${denoVersion}/denort-${target}.zip`;
}

/**
 * Where `deno compile` downloads the runtime from when it is not cached.
 *
 * @param denoVersion e.g. "2.9.6"
 * @param target e.g. "x86_64-unknown-linux-gnu"
 * @returns the URL
 */
export function runtimeDownloadUrl(denoVersion: string, target: string): string {
  return `https://dl.deno.land/release/v${denoVersion}/denort-${target}.zip`;
}

/**
 * The text shown when no runtime is at hand and `deno compile` could not download one.
 *
 * @param opts the resolved inputs
 * @param cause deno compile's own words for the failed download (one line), if known
 * @returns the message (several lines)
 */
export function runtimeMissingMessage(opts: ResolveRuntimeOptions, cause?: string): string {
  const zip = cachedRuntimePath(opts.denoDir, opts.denoVersion, opts.target);
  const name = `denort-${opts.target}.zip`;
  return [
    `Cannot compile: no Deno runtime (denort ${opts.denoVersion}) is at hand and deno compile could not download one`,
    ...(cause === undefined || cause === "" ? [] : [`  (${cause})`]),
    "",
    "deno compile embeds the program into denort, the Deno runtime without the CLI tools.",
    `It downloads ${runtimeDownloadUrl(opts.denoVersion, opts.target)}`,
    "when it is not cached; this machine could not. Provide it in one of two ways, then run",
    "`deno task build` again:",
    `  1. DENORT_BIN=/path/to/denort deno task build`,
    `     (an unpacked denort ${opts.denoVersion} executable for ${opts.target})`,
    `  2. put ${name} into the Deno cache: ${zip}`,
    "",
    `Both come from the Deno ${opts.denoVersion} release assets (${name}); on a machine with`,
    "access to them, running `deno task build` once fills the cache, which can then be copied.",
    "No npm package ships denort: the npm package `deno` (and @deno/linux-x64-glibc) carries",
    "only the full deno CLI, which cannot serve as the runtime (the compiled file would",
    "run the CLI, not the plugin).",
  ].join("\n");
}

/**
 * Find the runtime `deno compile` will use, without any network access:
 * `DENORT_BIN`, else the Deno cache, else a download by `deno compile` itself.
 *
 * @param opts where to look
 * @returns the source of the runtime
 * @throws RuntimeMissingError when DENORT_BIN is set but names no file
 */
export function resolveRuntime(opts: ResolveRuntimeOptions): RuntimeSource {
  const isFile = opts.isFile ?? isFileSync;
  if (opts.denortBin !== undefined && opts.denortBin !== "") {
    if (!isFile(opts.denortBin)) {
      throw new RuntimeMissingError(
        `Cannot compile: DENORT_BIN points to "${opts.denortBin}", which is not a file\n\n` +
          runtimeMissingMessage(opts),
      );
    }
    return { kind: "env", path: opts.denortBin };
  }
  const zip = cachedRuntimePath(opts.denoDir, opts.denoVersion, opts.target);
  if (isFile(zip)) return { kind: "cache", path: zip };
  return { kind: "download", path: zip, url: runtimeDownloadUrl(opts.denoVersion, opts.target) };
}

// deno compile 2.9.6, runtime not cached and no network, prints (exit 1):
//   Download https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip
//   error: Writing deno compile executable to temporary file '/x/coordinator.tmp-0123'
//   Caused by:
//       0: Setting up base binary.
//       1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-...zip): client error (Connect): dns error: ...
// (or "tcp connect error: Connection refused" behind a dead proxy), and for a
// release that is not there "Download could not be found, aborting".
const DOWNLOAD_FAILURE_RES: readonly RegExp[] = [
  /Setting up base binary/,
  /Download could not be found/,
  /error sending request for url \(https:\/\/dl\.deno\.land\//,
];

// deno prints colours unless NO_COLOR: strip them before matching.
// deno-lint-ignore no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*m/g;

/**
 * Whether a failed `deno compile` failed for want of its runtime (the download
 * of `denort` did not work), judged by its exit code and stderr.
 *
 * @param code exit code of `deno compile`
 * @param stderr everything it wrote to stderr
 * @returns the cause to show (deno's innermost reason, or its first error line), or undefined
 * when the failure is something else
 */
export function runtimeDownloadFailure(code: number, stderr: string): string | undefined {
  if (code === 0) return undefined;
  const text = stderr.replace(ANSI_RE, "");
  if (!DOWNLOAD_FAILURE_RES.some((re) => re.test(text))) return undefined;
  // The "Caused by:" chain ends with the innermost reason ("Name or service not known");
  // a "Stack backtrace:" list with the same "  0: ..." shape may follow it.
  const chain = /^Caused by:\n((?:[ \t]+\d+: .*\n?)+)/m.exec(text)?.[1] ?? "";
  const last = chain.trimEnd().split("\n").at(-1)?.replace(/^\s+\d+: /, "").trim();
  if (last !== undefined && last !== "") return last;
  const line = text.split("\n").find((l) => /could not be found|^error:/.test(l));
  return line?.trim();
}

/** Runs `deno <args>` with extra environment; resolves to its exit code and stderr. */
export type CompileRunner = (
  args: readonly string[],
  env: Record<string, string>,
) => Promise<{ code: number; stderr: string }>;

/** Inputs of {@linkcode compileBinary}. */
export interface CompileBinaryOptions extends ResolveRuntimeOptions {
  /** Output path. */
  output: string;
  /** The program to compile: the plugin's bundle (`tools/lib/bundle.ts`). */
  input: string;
  /** The files the program imports on demand (the bundle's parts), embedded too. */
  include?: readonly string[];
  /** Runs deno compile (the real one streams its stderr through). */
  run: CompileRunner;
  /** Refuses a DENORT_BIN that is the full deno CLI (throws RuntimeMissingError). */
  checkDenortBin?: (path: string) => Promise<void>;
  /** Progress lines. */
  log?: (line: string) => void;
}

/**
 * Run `deno compile` with the runtime {@linkcode resolveRuntime} finds, letting
 * Deno download it when it is neither in `DENORT_BIN` nor cached.
 *
 * @param opts runtime inputs, output, and the injected runner
 * @returns where the runtime came from
 * @throws RuntimeMissingError when DENORT_BIN is wrong, or the runtime had to be
 * downloaded and the download failed
 * @throws CompileError when deno compile failed for any other reason (its stderr
 * has already been shown)
 */
export async function compileBinary(opts: CompileBinaryOptions): Promise<RuntimeSource> {
  const say = opts.log ?? (() => {});
  const source = resolveRuntime(opts);
  if (source.kind === "env") await opts.checkDenortBin?.(source.path);
  say(
    source.kind === "env"
      ? `compile: runtime from DENORT_BIN: ${source.path}`
      : source.kind === "cache"
      ? `compile: runtime from the Deno cache: ${source.path}`
      : `compile: runtime not cached (${source.path}): deno compile downloads ${source.url}`,
  );
  const args = compileArgs({ output: opts.output, input: opts.input, include: opts.include ?? [] });
  say(`compile: deno ${args.join(" ")}`);
  const env: Record<string, string> = {};
  if (source.kind === "env") env["DENORT_BIN"] = source.path;
  const { code, stderr } = await opts.run(args, env);
  if (code === 0) return source;
  if (source.kind === "download") {
    const cause = runtimeDownloadFailure(code, stderr);
    if (cause !== undefined) throw new RuntimeMissingError(runtimeMissingMessage(opts, cause));
  }
  throw new CompileError(code);
}

/** Options of {@linkcode compileArgs}. */
export interface CompileArgsOptions {
  /** Output path (default `dist/coordinator`). */
  output?: string;
  /** Extra files to embed that are not imported statically. */
  include?: readonly string[];
  /** The program to compile: the plugin's bundle (`tools/lib/bundle.ts`). */
  input: string;
}

/**
 * The `deno compile` argv (without the leading `deno`).
 *
 * @param opts the program, output path and extra includes
 * @returns the arguments: exactly {@linkcode permissionFlags} and {@linkcode v8Flags}, the output,
 * `--include` for each of `opts.include`, and the program (the bundle's entry; its parts are
 * literal dynamic imports, which deno compile follows, and are passed as includes as well)
 */
export function compileArgs(opts: CompileArgsOptions): string[] {
  const args = [
    "compile",
    ...permissionFlags(),
    ...v8Flags(),
    "--output",
    opts.output ?? DEFAULT_OUTPUT,
  ];
  for (const path of opts.include ?? []) args.push("--include", path);
  args.push(opts.input);
  return args;
}

const VERSION_RE = /^export const VERSION = "([^"]*)";$/m;

/**
 * Write `version` into the `VERSION` constant of a `mod/version.ts` text.
 *
 * @param source the file text
 * @param version the version to stamp
 * @returns the new text (unchanged when already stamped)
 */
export function stampVersion(source: string, version: string): string {
  if (!VERSION_RE.test(source)) {
    throw new Error('mod/version.ts has no line `export const VERSION = "..."`');
  }
  return source.replace(VERSION_RE, `export const VERSION = "${version}";`);
}

function log(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"));
}

async function denoDirOf(): Promise<string> {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir?: string };
  if (info.denoDir === undefined) {
    throw new Error("Cannot find the Deno cache directory: deno info --json has no denoDir");
  }
  return info.denoDir;
}

/** The full deno CLI prints "deno 2.x" for --version; denort does not. */
async function refuseFullDeno(path: string): Promise<void> {
  try {
    const out = await new Deno.Command(path, {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).output();
    if (/^deno \d/.test(new TextDecoder().decode(out.stdout))) {
      throw new RuntimeMissingError(
        `Cannot compile: DENORT_BIN "${path}" is the full deno CLI, not denort: the compiled file would run the CLI, not the plugin`,
      );
    }
  } catch (err) {
    if (err instanceof RuntimeMissingError) throw err;
    // denort without an embedded program may fail in any way: that is fine.
  }
}

async function buildWasmStep(check: boolean): Promise<boolean> {
  const url = new URL("./wasm/build_wasm.ts", import.meta.url);
  try {
    Deno.statSync(url);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      log("wasm: wasm/build_wasm.ts not present, skipping the codec build");
      return true;
    }
    throw err;
  }
  const mod = await import(url.href) as {
    buildWasm?: (opts: { check: boolean }) => Promise<{ wasm: Uint8Array; changed: boolean }>;
  };
  if (typeof mod.buildWasm !== "function") {
    log("wasm: wasm/build_wasm.ts does not export buildWasm()");
    return false;
  }
  try {
    const { wasm, changed } = await mod.buildWasm({ check });
    const what = check ? "is current" : changed ? "was regenerated" : "was already current";
    log(`wasm: mod/codec/_wasm.ts ${what} (${wasm.length} bytes of Wasm)`);
    return true;
  } catch (err) {
    // buildWasm() throws on a compile error and, with check, when the file is stale.
    log(`wasm: ${errorMessage(err)}`);
    return false;
  }
}

/** The JSON Schema is generated from the config table too: `--check` keeps it honest. */
async function schemaStep(check: boolean): Promise<boolean> {
  const { SCHEMA_PATH, schemaText } = await import("./tools/scripts/gen_schema.ts");
  const text = schemaText();
  let current = "";
  try {
    current = await Deno.readTextFile(SCHEMA_PATH);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (current === text) {
    log(`schema: ${SCHEMA_PATH} is current`);
    return true;
  }
  if (check) {
    log(`schema: ${SCHEMA_PATH} is stale: run \`deno task schema\``);
    return false;
  }
  await Deno.writeTextFile(SCHEMA_PATH, text);
  log(`schema: regenerated ${SCHEMA_PATH}`);
  return true;
}

async function versionStep(check: boolean): Promise<boolean> {
  const config = JSON.parse(await Deno.readTextFile("deno.json")) as { version?: string };
  const version = Deno.env.get("COORDINATOR_VERSION") ?? config.version;
  if (version === undefined) {
    log("version: deno.json has no version");
    return false;
  }
  const path = "mod/version.ts";
  const before = await Deno.readTextFile(path);
  const after = stampVersion(before, version);
  if (before === after) {
    log(`version: ${version}`);
    return true;
  }
  if (check) {
    log(`version: mod/version.ts is not stamped with ${version}: run \`deno task build\``);
    return false;
  }
  await Deno.writeTextFile(path, after);
  log(`version: stamped ${version} into mod/version.ts`);
  return true;
}

/** The real {@linkcode CompileRunner}: stdout inherited, stderr shown and kept. */
const runDeno: CompileRunner = async (args, env) => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args],
    env,
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let stderr = "";
  for await (const chunk of child.stderr) {
    await Deno.stderr.write(chunk);
    // Only the end matters for the diagnosis; keep memory bounded.
    stderr = (stderr + decoder.decode(chunk, { stream: true })).slice(-65536);
  }
  const status = await child.status;
  return { code: status.code, stderr };
};

async function compileStep(output: string): Promise<boolean> {
  const outDir = output.includes("/") ? output.slice(0, output.lastIndexOf("/")) : ".";
  const made = !isDirSync(outDir);
  if (made) await Deno.mkdir(outDir, { recursive: true });
  try {
    const input = ensureBundle(Deno.cwd());
    log(`bundle: ${input}`);
    const dir = input.slice(0, input.lastIndexOf("/"));
    await compileBinary({
      input,
      include: BUNDLE_PARTS.map((p) => `${dir}/${p.file}`),
      denortBin: Deno.env.get("DENORT_BIN"),
      denoDir: await denoDirOf(),
      denoVersion: Deno.version.deno,
      target: Deno.build.target,
      output,
      run: runDeno,
      checkDenortBin: refuseFullDeno,
      log,
    });
  } catch (err) {
    // A failed build leaves no empty output directory behind (deno compile removes its temp file).
    if (made) await Deno.remove(outDir).catch(() => {});
    if (err instanceof CompileError) {
      log(err.message);
      return false;
    }
    throw err;
  }
  return await smokeTest(output);
}

async function smokeTest(output: string): Promise<boolean> {
  const child = new Deno.Command(output, {
    env: { CNI_COMMAND: "VERSION" },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  // VERSION does not read stdin: the child may be gone before the write.
  await writer.write(new TextEncoder().encode('{"cniVersion":"1.0.0"}')).catch(() => {});
  await writer.close().catch(() => {});
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  try {
    const parsed = JSON.parse(text) as { supportedVersions?: unknown };
    if (out.success && Array.isArray(parsed.supportedVersions)) {
      const size = (await Deno.stat(output)).size;
      log(
        `compile: ${output} (${(size / 1048576).toFixed(1)} MiB) answers VERSION: ${text.trim()}`,
      );
      return true;
    }
  } catch {
    // fall through to the failure message
  }
  log(`compile: ${output} did not answer VERSION (exit ${out.code}): ${text.trim()}`);
  log(new TextDecoder().decode(out.stderr).trim());
  return false;
}

/** Parsed command line. */
export interface BuildArgs {
  check: boolean;
  wasmOnly: boolean;
  skipWasm: boolean;
  output: string;
}

/**
 * Parse the command line.
 *
 * @param argv `Deno.args`
 * @returns the options
 * @throws Error on an unknown argument
 */
export function parseBuildArgs(argv: readonly string[]): BuildArgs {
  const args: BuildArgs = {
    check: false,
    wasmOnly: false,
    skipWasm: false,
    output: DEFAULT_OUTPUT,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--check") args.check = true;
    else if (a === "--wasm-only") args.wasmOnly = true;
    else if (a === "--skip-wasm") args.skipWasm = true;
    else if (a === "--output" && argv[i + 1] !== undefined) args.output = argv[++i] as string;
    else if (a?.startsWith("--output=")) args.output = a.slice("--output=".length);
    else {throw new Error(
        `Unknown argument "${a}": use --check, --wasm-only, --skip-wasm or --output PATH`,
      );}
  }
  return args;
}

async function main(argv: readonly string[]): Promise<number> {
  // Paths below (deno.json, mod/, schema/, dist/) are relative to the repository root.
  Deno.chdir(new URL(".", import.meta.url));
  let args: BuildArgs;
  try {
    args = parseBuildArgs(argv);
  } catch (err) {
    log((err as Error).message);
    return 1;
  }
  try {
    if (!args.skipWasm && !(await buildWasmStep(args.check))) return 1;
    if (args.wasmOnly) return 0;
    if (!(await schemaStep(args.check))) return 1;
    if (!(await versionStep(args.check))) return 1;
    if (args.check) return 0;
    return (await compileStep(args.output)) ? 0 : 1;
  } catch (err) {
    log(
      err instanceof RuntimeMissingError
        ? err.message
        : `Build failed: ${(err as Error).stack ?? err}`,
    );
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
