/**
 * The bundle's layout (tools/lib/bundle.ts): an entry that answers VERSION
 * alone and imports each part by its file.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  BUNDLE_ENTRY,
  BUNDLE_FILES,
  BUNDLE_PARTS,
  ensureBundle,
  linkEntry,
} from "../../../tools/lib/bundle.ts";

Deno.test("linkEntry() points each part's import at its file, and refuses a missing or doubled one", () => {
  const text = BUNDLE_PARTS.map((p) => `await import(${JSON.stringify(p.specifier)});`).join("\n");
  const linked = linkEntry(text);
  for (const p of BUNDLE_PARTS) {
    assert.ok(linked.includes(`import("./${p.file}")`), linked);
    assert.ok(!linked.includes(p.specifier), linked);
  }
  assert.throws(() => linkEntry(""), /has 0 import\(".*"\), not one: BUNDLE_PARTS is stale/);
  assert.throws(() => linkEntry(text + "\n" + text), /has 2 import/);
});

Deno.test("ensureBundle(): the entry imports no module but the parts, which sit next to it", () => {
  const entry = ensureBundle();
  const dir = entry.slice(0, entry.lastIndexOf("/"));
  assert.ok(entry.endsWith(`/${BUNDLE_ENTRY}`));
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [...BUNDLE_FILES].sort());
  const text = Deno.readTextFileSync(entry);
  const imports = [...text.matchAll(/\bimport\s*\(?\s*"([^"]+)"|\bfrom\s+"([^"]+)"/g)]
    .map((m) => m[1] ?? m[2]);
  assert.deepEqual(imports.sort(), BUNDLE_PARTS.map((p) => `./${p.file}`).sort());
  // VERSION needs a few KB; the network logic is in the CNI part.
  assert.ok(text.length < 16 * 1024, `entry is ${text.length} bytes`);
  for (const p of BUNDLE_PARTS) {
    const part = Deno.readTextFileSync(`${dir}/${p.file}`);
    assert.ok(!/\bimport\s*\(\s*"\.\/coordinator/.test(part), `${p.file} imports another part`);
  }
});
