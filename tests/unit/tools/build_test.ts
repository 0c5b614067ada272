/** build.ts: the compile argv, the runtime lookup and the compile decision, without network. */

import assert from "node:assert/strict";
import {
  cachedRuntimePath,
  compileArgs,
  compileBinary,
  CompileError,
  type CompileRunner,
  parseBuildArgs,
  resolveRuntime,
  runtimeDownloadFailure,
  RuntimeMissingError,
  stampVersion,
} from "../../../build.ts";
import { permissionFlags, runFlags, v8Flags } from "../../../mod/permissions.ts";
import { ensureBundle } from "../../../tools/lib/bundle.ts";

const opts = {
  denoDir: "/cache/deno",
  denoVersion: "2.9.6",
  target: "x86_64-unknown-linux-gnu",
};

Deno.test("compileArgs() carries exactly permissionFlags()", () => {
  const args = compileArgs({ output: "dist/coordinator", input: "dist/bundle/coordinator.js" });
  assert.deepEqual(args, [
    "compile",
    ...permissionFlags(),
    ...v8Flags(),
    "--output",
    "dist/coordinator",
    "dist/bundle/coordinator.js",
  ]);
  assert.ok(!args.some((a) => a === "-A" || a === "--allow-all"));
});

Deno.test("deno run gets the binary's V8 flags", () => {
  for (const f of v8Flags()) assert.ok(runFlags().includes(f), f);
});

Deno.test("mod/ imports modules by literal specifiers only, so deno compile embeds them all", async () => {
  const computed: string[] = [];
  const scan = async (dir: URL): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) await scan(new URL(`${e.name}/`, dir));
      if (!e.isFile || !e.name.endsWith(".ts")) continue;
      const text = await Deno.readTextFile(new URL(e.name, dir));
      for (const m of text.matchAll(/\bimport\(\s*([^"'\s)][^)]*)\)/g)) {
        computed.push(`${e.name}: ${m[1]}`);
      }
    }
  };
  await scan(new URL("../../../mod/", import.meta.url));
  assert.deepEqual(computed, []);
});

const ZIP = "/cache/deno/dl/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip";
const URL_ = "https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip";

Deno.test("resolveRuntime() prefers DENORT_BIN, then the Deno cache, then a download", () => {
  const files = new Set([
    "/opt/denort",
    cachedRuntimePath(opts.denoDir, opts.denoVersion, opts.target),
  ]);
  const isFile = (p: string) => files.has(p);
  assert.deepEqual(resolveRuntime({ ...opts, denortBin: "/opt/denort", isFile }), {
    kind: "env",
    path: "/opt/denort",
  });
  assert.deepEqual(resolveRuntime({ ...opts, denortBin: undefined, isFile }), {
    kind: "cache",
    path: ZIP,
  });
  assert.deepEqual(resolveRuntime({ ...opts, denortBin: "", isFile: () => false }), {
    kind: "download",
    path: ZIP,
    url: URL_,
  });
});

Deno.test("resolveRuntime() refuses a DENORT_BIN that is not a file", () => {
  assert.throws(
    () => resolveRuntime({ ...opts, denortBin: "/missing/denort", isFile: () => false }),
    (err: unknown) =>
      err instanceof RuntimeMissingError &&
      err.message.includes('DENORT_BIN points to "/missing/denort", which is not a file'),
  );
});

/** What deno compile 2.9.6 printed here (no DNS), NO_COLOR unset, exit 1. */
const DNS_FAILURE = [
  "\x1b[0m\x1b[32mCheck\x1b[0m main.ts",
  "\x1b[0m\x1b[32mCompile\x1b[0m main.ts to dist/coordinator",
  `\x1b[0m\x1b[32mDownload\x1b[0m ${URL_}`,
  "\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: Writing deno compile executable to temporary file 'dist/coordinator.tmp-502aab06456d977b'",
  "",
  "Caused by:",
  "    0: Setting up base binary.",
  `    1: error sending request for url (${URL_}): client error (Connect): dns error: failed to lookup address information: Name or service not known`,
  "    2: client error (Connect)",
  "    3: dns error",
  "    4: failed to lookup address information: Name or service not known",
  "",
  "Stack backtrace:",
  "   0: <unknown>",
  "",
].join("\n");

/** The same behind an unreachable proxy (HTTPS_PROXY=http://127.0.0.1:9), NO_COLOR=1. */
const PROXY_FAILURE = [
  "Check main.ts",
  "Compile main.ts to dist/coordinator",
  `Download ${URL_}`,
  "error: Writing deno compile executable to temporary file 'dist/coordinator.tmp-94a3243fb57b61a2'",
  "",
  "Caused by:",
  "    0: Setting up base binary.",
  `    1: error sending request for url (${URL_}): client error (Connect): tcp connect error: Connection refused (os error 111)`,
  "    2: client error (Connect)",
  "    3: tcp connect error",
  "    4: Connection refused (os error 111)",
  "",
].join("\n");

/** A type error: not a runtime problem. */
const TYPE_ERROR = [
  "Check main.ts",
  "TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.",
  "    at file:///src/main.ts:3:7",
  "",
  "error: Type checking failed.",
  "",
].join("\n");

Deno.test("runtimeDownloadFailure() recognises deno compile's failed runtime download", () => {
  assert.equal(
    runtimeDownloadFailure(1, DNS_FAILURE),
    "failed to lookup address information: Name or service not known",
  );
  assert.equal(runtimeDownloadFailure(1, PROXY_FAILURE), "Connection refused (os error 111)");
  assert.equal(
    runtimeDownloadFailure(1, `Download ${URL_}\nDownload could not be found, aborting\n`),
    "Download could not be found, aborting",
  );
  assert.equal(runtimeDownloadFailure(1, TYPE_ERROR), undefined);
  assert.equal(runtimeDownloadFailure(0, DNS_FAILURE), undefined, "exit 0 is success");
  // The progress line alone (download started, later failure elsewhere) is not enough.
  assert.equal(
    runtimeDownloadFailure(1, `Download ${URL_}\nerror: Permission denied (os error 13)\n`),
    undefined,
  );
});

interface Call {
  args: readonly string[];
  env: Record<string, string>;
}

function runner(code: number, stderr: string): { run: CompileRunner; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    run: (args, env) => {
      calls.push({ args, env });
      return Promise.resolve({ code, stderr });
    },
  };
}

const compileOpts = { ...opts, output: "dist/coordinator", input: "dist/bundle/coordinator.js" };

Deno.test("compileBinary(): runtime cached: compiles with it, no DENORT_BIN", async () => {
  const { run, calls } = runner(0, "");
  const source = await compileBinary({
    ...compileOpts,
    denortBin: undefined,
    isFile: (p) => p === ZIP,
    run,
  });
  assert.deepEqual(source, { kind: "cache", path: ZIP });
  assert.equal(calls.length, 1);
  assert.deepEqual(
    calls[0]!.args,
    compileArgs({ output: "dist/coordinator", input: "dist/bundle/coordinator.js" }),
  );
  assert.deepEqual(calls[0]!.env, {});
});

Deno.test("compileBinary(): DENORT_BIN set: checked, passed on, compiled", async () => {
  const { run, calls } = runner(0, "");
  const checked: string[] = [];
  const source = await compileBinary({
    ...compileOpts,
    denortBin: "/opt/denort",
    isFile: (p) => p === "/opt/denort",
    run,
    checkDenortBin: (p) => {
      checked.push(p);
      return Promise.resolve();
    },
  });
  assert.deepEqual(source, { kind: "env", path: "/opt/denort" });
  assert.deepEqual(checked, ["/opt/denort"]);
  assert.deepEqual(calls[0]!.env, { DENORT_BIN: "/opt/denort" });
});

Deno.test("compileBinary(): DENORT_BIN is the full deno CLI: refused before compiling", async () => {
  const { run, calls } = runner(0, "");
  await assert.rejects(
    compileBinary({
      ...compileOpts,
      denortBin: "/usr/bin/deno",
      isFile: () => true,
      run,
      checkDenortBin: () => Promise.reject(new RuntimeMissingError("is the full deno CLI")),
    }),
    RuntimeMissingError,
  );
  assert.equal(calls.length, 0);
});

Deno.test("compileBinary(): not cached, download allowed and working: compiles", async () => {
  const { run, calls } = runner(0, `Download ${URL_}\n`);
  const source = await compileBinary({
    ...compileOpts,
    denortBin: undefined,
    isFile: () => false,
    run,
  });
  assert.deepEqual(source, { kind: "download", path: ZIP, url: URL_ });
  assert.equal(calls.length, 1, "deno compile ran and fetched the runtime itself");
  assert.deepEqual(calls[0]!.env, {});
});

Deno.test("compileBinary(): not cached and the download fails: RuntimeMissingError with the remedy", async () => {
  for (const stderr of [DNS_FAILURE, PROXY_FAILURE]) {
    const { run } = runner(1, stderr);
    await assert.rejects(
      compileBinary({ ...compileOpts, denortBin: undefined, isFile: () => false, run }),
      (err: unknown) =>
        err instanceof RuntimeMissingError &&
        err.message.startsWith(
          "Cannot compile: no Deno runtime (denort 2.9.6) is at hand and deno compile could not download one",
        ) &&
        err.message.includes("DENORT_BIN=/path/to/denort deno task build") &&
        err.message.includes(ZIP) && err.message.includes(URL_) &&
        /\((failed to lookup|Connection refused)/.test(err.message),
    );
  }
});

Deno.test("compileBinary(): any other compile failure passes through as CompileError", async () => {
  for (
    const [denortBin, isFile, stderr] of [
      [undefined, () => false, TYPE_ERROR],
      [undefined, (p: string) => p === ZIP, TYPE_ERROR],
      // With a runtime at hand, even download-like words are not a missing runtime.
      ["/opt/denort", () => true, DNS_FAILURE],
    ] as const
  ) {
    const { run } = runner(1, stderr);
    await assert.rejects(
      compileBinary({ ...compileOpts, denortBin, isFile, run }),
      (err: unknown) =>
        err instanceof CompileError && err.code === 1 &&
        err.message === "compile: deno compile failed with exit code 1",
    );
  }
});

Deno.test("stampVersion() rewrites only the VERSION constant", () => {
  const src = 'export const VERSION = "0.1.0";\nexport const ABOUT = `x v${VERSION}`;\n';
  assert.equal(stampVersion(src, "1.2.3"), src.replace("0.1.0", "1.2.3"));
  assert.throws(() => stampVersion("nothing here", "1.2.3"));
});

Deno.test("parseBuildArgs() reads the flags and refuses unknown ones", () => {
  assert.deepEqual(parseBuildArgs(["--check", "--output", "x/y"]), {
    check: true,
    wasmOnly: false,
    skipWasm: false,
    output: "x/y",
  });
  assert.throws(() => parseBuildArgs(["--bogus"]), /Unknown argument "--bogus"/);
});

Deno.test("build.ts lets deno compile download the runtime and stops clearly when it cannot", async () => {
  // A fresh DENO_DIR (no cached runtime) and an unreachable proxy make the download fail the
  // same way on every machine, online or not, without any network traffic. The bundle is made
  // first with the usual DENO_DIR (deno bundle needs esbuild from it); build.ts finds it current.
  ensureBundle();
  const denoDir = await Deno.makeTempDir({ prefix: "build-test-deno-dir-" });
  const out = await Deno.makeTempDir({ prefix: "build-test-out-" });
  try {
    const env: Record<string, string> = {
      DENO_DIR: denoDir,
      NO_COLOR: "1",
      HTTPS_PROXY: "http://127.0.0.1:9",
      "https_proxy": "http://127.0.0.1:9",
    };
    for (const k of ["PATH", "HOME"]) {
      const v = Deno.env.get(k);
      if (v !== undefined) env[k] = v;
    }
    const res = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        new URL("../../../build.ts", import.meta.url).pathname,
        "--skip-wasm",
        "--output",
        `${out}/bin/coordinator`,
      ],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(res.stderr);
    assert.equal(res.code, 1, stderr);
    assert.match(stderr, /Download https:\/\/dl\.deno\.land\/release\/v[^/]+\/denort-/, "it tried");
    assert.match(
      stderr,
      /Cannot compile: no Deno runtime \(denort [^)]+\) is at hand and deno compile could not download one\n {2}\(Connection refused/,
    );
    assert.ok(stderr.includes("DENORT_BIN=/path/to/denort deno task build"), stderr);
    assert.ok(stderr.includes(`${denoDir}/dl/release/v${Deno.version.deno}/denort-`), stderr);
    assert.deepEqual([...Deno.readDirSync(out)], [], "nothing was written");
  } finally {
    await Deno.remove(denoDir, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});
