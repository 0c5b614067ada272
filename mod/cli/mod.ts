/**
 * The subcommands a person runs (CNI_COMMAND unset): `--help` / `--version`
 * and one entry per subcommand in {@linkcode SUBCOMMANDS}, each module loaded
 * only when named. main.ts loads this module only when CNI_COMMAND is unset,
 * so a CNI call never loads any of it.
 *
 * Adding a subcommand is one entry: a name, a summary line and a literal
 * dynamic import of a module that exports a {@linkcode Subcommand}.
 *
 * @module
 */

import { aboutText } from "../cni/versions.ts";
import { errorMessage } from "../errors.ts";
import type { CliIo, Subcommand } from "./_io.ts";

/** The subcommands: name -> summary and loader. */
export const SUBCOMMANDS: Readonly<
  Record<string, { summary: string; load(): Promise<Subcommand> }>
> = {
  explain: {
    summary: "show what ADD would do for one NIC, in the pod and on the node (changes nothing)",
    load: async () => (await import("./explain.ts")).EXPLAIN,
  },
  doctor: {
    summary: "check this node for what breaks underlay pods (read-only)",
    load: async () => (await import("./doctor.ts")).DOCTOR,
  },
  defaults: {
    summary:
      "check a node defaults file against this node, suggest one from it, or make one from a Spiderpool SpiderCoordinator",
    load: async () => (await import("./defaults.ts")).DEFAULTS,
  },
};

/** The text of `coordinator --help`. */
export function helpText(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((n) => n.length));
  const subs = Object.entries(SUBCOMMANDS)
    .map(([n, s]) => `  ${n.padEnd(width)}  ${s.summary}`).join("\n");
  return `Usage: coordinator (as a CNI plugin: CNI_COMMAND=ADD|DEL|CHECK|VERSION|STATUS|GC,
       config JSON on stdin, result or error JSON on stdout)
       coordinator <subcommand> [options]   (CNI_COMMAND unset; <subcommand> --help for its options)
       coordinator --version | --help

Subcommands:
${subs}

A chained CNI meta-plugin for underlay and multi-NIC pods (Spiderpool coordinator compatible).
Install it in /opt/cni/bin and add {"type": "coordinator"} after the main CNI in a conflist.
`;
}

/**
 * Run the command line of a person (CNI_COMMAND unset).
 *
 * @param io the arguments, stdin and output
 * @returns the exit code
 */
export async function runCli(io: CliIo): Promise<number> {
  const [first, ...rest] = io.args;
  const sub = first === undefined ? undefined : SUBCOMMANDS[first];
  if (sub !== undefined) return await (await sub.load()).run({ ...io, args: rest });
  let values: { help?: boolean; version?: boolean };
  try {
    const { parseArgs } = await import("node:util");
    ({ values } = parseArgs({
      args: io.args,
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    }));
  } catch (err) {
    io.err(`${errorMessage(err)}\n\n${helpText()}`);
    return 2;
  }
  if (values.version) {
    io.out(aboutText());
    return 0;
  }
  io.err(aboutText() + (values.help ? "\n" + helpText() : ""));
  return 0;
}
