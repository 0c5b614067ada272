/**
 * Contract drift between the Wasm module, its sources and the facade: no
 * imports, the expected exports, a fixed memory, status codes and struct
 * offsets mirrored exactly, and a generated file that matches its sources.
 */

import assert from "node:assert/strict";
import { SOURCE_SHA256, WASM_BASE64, WASM_SHA256 } from "../mod/codec/_wasm.ts";
import { codecModule, EXPORTS, Status, statusKind } from "../mod/codec/mod.ts";
import { ARP_BATCH_CAPACITY, ArpRecord } from "../mod/codec/batch.ts";
import { errorMessage } from "../mod/errors.ts";
import { buildWasm, sourceHash } from "../wasm/build_wasm.ts";

const read = (path: string) => Deno.readTextFileSync(new URL(path, import.meta.url));

/** The codec's TypeScript files that hold copies of the struct offsets. */
const CODEC_SOURCES = ["../mod/codec/mod.ts", "../mod/codec/batch.ts", "../mod/codec/_core.ts"];

/** `export const NAME: type = value;` lines of an AssemblyScript file. */
function asConstants(path: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of read(path).matchAll(/^export const ([A-Z0-9_]+): \w+ = (0x[0-9a-f]+|\d+);/gm)) {
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

const pascal = (snake: string) =>
  snake.toLowerCase().split("_").map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");

Deno.test("the codec module imports nothing (no env.abort, no host functions)", () => {
  assert.deepEqual(WebAssembly.Module.imports(codecModule()), []);
});

Deno.test("the codec module exports exactly the ABI mod/codec/ uses", () => {
  const exports = WebAssembly.Module.exports(codecModule());
  assert.deepEqual(exports.map((e) => e.name), [...EXPORTS]);
  for (const e of exports) {
    assert.equal(e.kind, e.name === "memory" ? "memory" : "function", e.name);
  }
});

Deno.test("the codec memory is fixed at two pages and cannot grow", () => {
  const instance = new WebAssembly.Instance(codecModule(), {});
  const memory = instance.exports.memory as WebAssembly.Memory;
  assert.equal(memory.buffer.byteLength, 2 * 65536);
  assert.throws(() => memory.grow(1), RangeError);
});

Deno.test("Status in mod/codec/ mirrors wasm/assembly/status.ts, and statusKind() names each", () => {
  const wasm = asConstants("../wasm/assembly/status.ts");
  assert.ok(wasm.size >= 17);
  const mirrored = Object.fromEntries([...wasm].map(([name, value]) => [pascal(name), value]));
  assert.deepEqual(mirrored, { ...Status });
  for (const [name, value] of Object.entries(Status)) {
    if (value === 0) continue;
    assert.equal(statusKind(value), name[0]!.toLowerCase() + name.slice(1));
  }
  assert.throws(() => statusKind(Status.Ok), RangeError);
  assert.throws(() => statusKind(99), RangeError);
});

Deno.test("the ARG_* / RES_* / REC_* / BATCH_* offsets in mod/codec/ match wasm/assembly/_fields.ts", () => {
  const fields = asConstants("../wasm/assembly/_fields.ts");
  const facade = new Map<string, number>();
  for (const file of CODEC_SOURCES) {
    for (
      const m of read(file).matchAll(/^const ((?:ARG|RES|REC|BATCH|KIND)_[A-Z0-9_]+) = (\d+);/gm)
    ) {
      assert.ok(!facade.has(m[1]!), `${m[1]} is defined twice (again in ${file})`);
      facade.set(m[1]!, Number(m[2]));
    }
  }
  assert.ok(facade.size >= 40, `only ${facade.size} offsets found in mod/codec/`);
  for (const [name, value] of facade) assert.equal(value, fields.get(name), name);
  assert.equal(ARP_BATCH_CAPACITY, fields.get("BATCH_CAPACITY"));
  assert.deepEqual(
    Object.values(ArpRecord).sort((a, b) => a - b),
    [...fields].filter(([name]) => name.startsWith("REC_")).map(([, v]) => v / 4).sort((a, b) =>
      a - b
    ),
  );
});

Deno.test("mod/codec/_wasm.ts is generated from the current sources (hash check, no compiler)", async () => {
  assert.equal(SOURCE_SHA256, await sourceHash(), 'stale: run "deno run -A wasm/build_wasm.ts"');
  const bytes = Uint8Array.fromBase64(WASM_BASE64);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  assert.equal(WASM_SHA256, Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
  assert.match(read("../mod/codec/_wasm.ts"), /^\/\/ @generated .*do not edit/);
});

let compilerMissing = "";
try {
  await import("assemblyscript/asc");
} catch (e) {
  // Broad on purpose: whatever keeps the compiler from loading (not cached, no
  // network for npm) only turns the build test below into an ignored one.
  compilerMissing = errorMessage(e);
}

Deno.test({
  name: compilerMissing
    ? `build is deterministic and up to date (ignored: assemblyscript cannot be loaded: ${compilerMissing})`
    : "buildWasm({check}) compiles the same bytes twice, equal to the committed module",
  ignore: compilerMissing !== "",
  fn: async () => {
    const first = await buildWasm({ check: true });
    const second = await buildWasm({ check: true });
    assert.deepEqual(first.wasm, second.wasm);
    assert.deepEqual(first.wasm, Uint8Array.fromBase64(WASM_BASE64));
    assert.equal(first.changed, false);
  },
});
