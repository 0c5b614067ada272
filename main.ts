/**
 * Entry point of the coordinator CNI plugin: gather the environment and stdin,
 * run the command, write stdout/stderr, exit. Nothing else lives here.
 *
 * Run by a container runtime with CNI_COMMAND set; run by a person (no
 * CNI_COMMAND), it hands the command line to `mod/cli/mod.ts` (`--help`,
 * `--version`, the subcommands), loaded only then.
 *
 * @module
 */

import { MAX_STDIN_BYTES, versionAnswer } from "./mod/cni/versions.ts";
import { errorMessage } from "./mod/errors.ts";
import { mark, phaseReport } from "./mod/phases.ts";

function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
}

async function readStdin(limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(64 * 1024);
  // Read one byte past the limit so that "too large" is detected without
  // buffering an endless stream.
  while (total <= limit) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

async function main(): Promise<number> {
  mark("main");
  const command = Deno.env.get("CNI_COMMAND") ?? "";
  if (command === "") {
    // A person at the command line: --help, --version, the subcommands (mod/cli/).
    const { runCli } = await import("./mod/cli/mod.ts");
    return await runCli({
      args: Deno.args,
      stdin: () => readStdin(MAX_STDIN_BYTES),
      out: (t) => writeAll(Deno.stdout, t),
      err: (t) => writeAll(Deno.stderr, t),
    });
  }
  // VERSION is answered before the rest of the plugin is loaded (containerd and
  // CRI-O ask it often; in the bundle, the rest is another file); every other
  // command needs the skeleton and the network logic: their loading starts now,
  // so that it overlaps with reading stdin.
  const plugin = command === "VERSION" ? undefined : import("./mod/plugin.ts");
  plugin?.catch(() => {}); // a load error surfaces where it is awaited
  let stdin: Uint8Array;
  try {
    stdin = await readStdin(MAX_STDIN_BYTES);
  } catch (err) {
    writeAll(
      Deno.stdout,
      JSON.stringify({ code: 5, msg: `Cannot read the config from stdin: ${errorMessage(err)}` }) +
        "\n",
    );
    return 1;
  }
  mark("stdin");
  if (plugin === undefined) {
    writeAll(Deno.stdout, versionAnswer(stdin));
    return 0;
  }
  const { runCni, commands } = await plugin;
  mark("loaded");
  const out = await runCni({
    env: Deno.env.toObject(),
    stdin,
    commands: () => Promise.resolve(commands),
  });
  if (out.stdout !== "") writeAll(Deno.stdout, out.stdout);
  if (out.stderr !== "") writeAll(Deno.stderr, out.stderr);
  mark("answered");
  const phases = phaseReport();
  if (phases !== undefined) writeAll(Deno.stderr, phases + "\n");
  return out.exitCode;
}

if (import.meta.main) {
  let code = 1;
  try {
    code = await main();
  } catch (err) {
    // Last resort: never a stack trace instead of the CNI answer.
    writeAll(
      Deno.stdout,
      JSON.stringify({ code: 999, msg: `Internal error: ${errorMessage(err)}` }) + "\n",
    );
  }
  Deno.exit(code);
}
