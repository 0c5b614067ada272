/** build.ts: the compile argv and the runtime lookup, without compiling. */

import assert from "node:assert/strict";
import {
  cachedRuntimePath,
  compileArgs,
  parseBuildArgs,
  resolveRuntime,
  RuntimeMissingError,
  stampVersion,
} from "../../../build.ts";
import { permissionFlags, runFlags, v8Flags } from "../../../mod/permissions.ts";

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

Deno.test("resolveRuntime() prefers DENORT_BIN, then the Deno cache", () => {
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
    path: "/cache/deno/dl/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip",
  });
});

Deno.test("resolveRuntime() stops with instructions when no runtime is at hand", () => {
  const isFile = () => false;
  assert.throws(
    () => resolveRuntime({ ...opts, denortBin: undefined, isFile }),
    (err: unknown) =>
      err instanceof RuntimeMissingError && err.message.includes("DENORT_BIN=") &&
      err.message.includes("denort-x86_64-unknown-linux-gnu.zip"),
  );
  assert.throws(
    () => resolveRuntime({ ...opts, denortBin: "/missing/denort", isFile }),
    /DENORT_BIN points to "\/missing\/denort", which is not a file/,
  );
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

Deno.test("build.ts exits 1 before compiling when no runtime is at hand", async () => {
  const denoDir = await Deno.makeTempDir({ prefix: "build-test-deno-dir-" });
  const out = await Deno.makeTempDir({ prefix: "build-test-out-" });
  try {
    const env: Record<string, string> = { DENO_DIR: denoDir, NO_COLOR: "1" };
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
        `${out}/coordinator`,
      ],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(res.stderr);
    assert.equal(res.code, 1, stderr);
    assert.match(stderr, /no Deno runtime \(denort/);
    assert.ok(stderr.includes(`${denoDir}/dl/release/v${Deno.version.deno}/denort-`), stderr);
    assert.deepEqual([...Deno.readDirSync(out)], [], "nothing was written");
  } finally {
    await Deno.remove(denoDir, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});
