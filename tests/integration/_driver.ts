/**
 * Test-only entry point: `runCni()` exactly as main.ts calls it, but with the
 * netns pre-check replaced by a plain existence check. Used by the
 * integration tests when COORDINATOR_IT_DRIVER=1 (while main.ts's netns
 * validation is being fixed), with the plugin's own permission flags.
 *
 * @module
 */

import { runCni } from "../../mod/cni.ts";

const chunks: Uint8Array[] = [];
const buf = new Uint8Array(65536);
for (;;) {
  const n = await Deno.stdin.read(buf);
  if (n === null) break;
  chunks.push(buf.slice(0, n));
}
const stdin = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
let off = 0;
for (const c of chunks) {
  stdin.set(c, off);
  off += c.length;
}
const out = await runCni({
  env: Deno.env.toObject(),
  stdin,
  checkNetns: (path) => {
    Deno.statSync(path);
  },
});
await Deno.stdout.write(new TextEncoder().encode(out.stdout));
await Deno.stderr.write(new TextEncoder().encode(out.stderr));
Deno.exit(out.exitCode);
