/**
 * Measurement entry point: `runCni()` exactly as main.ts calls it, then the
 * number of child processes the call started (`spawnCount()`) on stderr as
 * `spawns=N`, with the time runCni() took and the time before it
 * (`runCni_ms=`, `startup_ms=`). Used by measure_network.ts with the plugin's own permission flags.
 *
 * @module
 */

import { runCni } from "../../mod/cni/dispatch.ts";
import { spawnCount } from "../../mod/kernel/exec.ts";

const stdin = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
const t0 = performance.now();
const out = await runCni({
  env: Deno.env.toObject(),
  stdin,
  commands: () => import("../../mod/commands/mod.ts"),
});
const ms = performance.now() - t0;
await Deno.stdout.write(new TextEncoder().encode(out.stdout));
await Deno.stderr.write(
  new TextEncoder().encode(
    `${out.stderr}spawns=${spawnCount()} runCni_ms=${ms.toFixed(1)} startup_ms=${t0.toFixed(1)}\n`,
  ),
);
Deno.exit(out.exitCode);
