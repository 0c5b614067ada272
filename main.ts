/**
 * Entry point of the coordinator CNI plugin: gather the environment and stdin,
 * run the command, write stdout/stderr, exit. Nothing else lives here.
 *
 * Run by a container runtime with CNI_COMMAND set; run by a person, it prints
 * what it is (`--help`, `--version`).
 *
 * @module
 */

import { aboutText, MAX_STDIN_BYTES, runCni } from "./mod/cni/dispatch.ts";
import { errorMessage } from "./mod/errors.ts";

const CLI_HELP = `Usage: coordinator (as a CNI plugin: CNI_COMMAND=ADD|DEL|CHECK|VERSION|STATUS|GC,
       config JSON on stdin, result or error JSON on stdout)
       coordinator --version | --help

A chained CNI meta-plugin for underlay and multi-NIC pods (Spiderpool coordinator compatible).
Install it in /opt/cni/bin and add {"type": "coordinator"} after the main CNI in a conflist.
`;

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
  const command = Deno.env.get("CNI_COMMAND") ?? "";
  if (command === "") {
    const { parseArgs } = await import("node:util");
    let values: { help?: boolean; version?: boolean };
    try {
      ({ values } = parseArgs({
        args: Deno.args,
        options: {
          help: { type: "boolean", short: "h" },
          version: { type: "boolean", short: "v" },
        },
      }));
    } catch (err) {
      writeAll(Deno.stderr, `${errorMessage(err)}\n\n${CLI_HELP}`);
      return 2;
    }
    if (values.version) {
      writeAll(Deno.stdout, aboutText());
      return 0;
    }
    writeAll(Deno.stderr, aboutText() + (values.help ? "\n" + CLI_HELP : ""));
    return 0;
  }
  // Every command but VERSION needs the network logic: start loading it now,
  // so that module loading overlaps with reading stdin.
  const commands = command === "VERSION" ? undefined : import("./mod/commands/mod.ts");
  commands?.catch(() => {}); // a load error surfaces where it is awaited
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
  const out = await runCni({
    env: Deno.env.toObject(),
    stdin,
    commands: () => commands ?? import("./mod/commands/mod.ts"),
  });
  if (out.stdout !== "") writeAll(Deno.stdout, out.stdout);
  if (out.stderr !== "") writeAll(Deno.stderr, out.stderr);
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
