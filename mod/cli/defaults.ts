/**
 * `coordinator defaults --check FILE [--entry ENTRY.json]`: validate a node
 * defaults file (`/etc/cni/net.d/coordinator.d/defaults.json`, see
 * `config/defaults.ts`) with the rules ADD applies to it, and print the
 * configuration a conflist/NAD entry gets when merged over it (default entry:
 * just `{"type": "coordinator"}`). Changes nothing, needs no privilege.
 *
 * Exit 0 when the file is valid, 1 when it is not (the reason on stderr, as
 * ADD's code 7 names the file and the field), 2 on a usage error.
 *
 * @module
 */

import { checkDefaultsFile } from "../config/defaults.ts";
import { CniError, errorMessage } from "../errors.ts";
import type { CliIo, Subcommand } from "./_io.ts";

const HELP = `Usage: coordinator defaults --check FILE [--entry ENTRY.json]
  --check FILE   the node defaults file to validate (e.g. /etc/cni/net.d/coordinator.d/defaults.json)
  --entry FILE   a coordinator entry of a conflist or NAD to merge over it (default {"type": "coordinator"})
  Prints the merged configuration as JSON on stdout, and the notes (case variants, ignored keys) on stderr.
`;

/** The `defaults` subcommand. */
export const DEFAULTS: Subcommand = {
  summary: "validate a node defaults file and print the merged configuration",
  async run(io: CliIo): Promise<number> {
    let file: string;
    let entry: Record<string, unknown> | undefined;
    try {
      const { parseArgs } = await import("node:util");
      const { values } = parseArgs({
        args: io.args,
        options: {
          check: { type: "string" },
          entry: { type: "string" },
          help: { type: "boolean", short: "h" },
        },
      });
      if (values.help) {
        io.out(HELP);
        return 0;
      }
      if (values.check === undefined) throw new TypeError("--check FILE is required");
      file = values.check;
      if (values.entry !== undefined) {
        const raw: unknown = JSON.parse(await Deno.readTextFile(values.entry));
        if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
          throw new TypeError(`--entry "${values.entry}" is not a JSON object`);
        }
        entry = raw as Record<string, unknown>;
      }
    } catch (err) {
      io.err(`defaults: ${errorMessage(err)}\n\n${HELP}`);
      return 2;
    }
    try {
      const { conf, notes } = checkDefaultsFile(file, entry);
      for (const n of notes) io.err(`${n.level}: ${n.msg}\n`);
      io.out(JSON.stringify(conf, null, 2) + "\n");
      return 0;
    } catch (err) {
      if (!(err instanceof CniError)) throw err;
      io.err(`defaults: ${err.message}\n`);
      return 1;
    }
  },
};
