/**
 * `coordinator doctor [--json] [--root DIR]`: read-only checks of the node,
 * one line each (`doctor/gather.ts`, `doctor/checks.ts`); exit 0 when nothing
 * FAILs, 1 when something does.
 *
 * @module
 */

import { errorMessage } from "../errors.ts";
import { runDoctor } from "../doctor/gather.ts";
import type { Finding } from "../doctor/checks.ts";
import type { CliIo, Subcommand } from "./_io.ts";

const HELP = `Usage: coordinator doctor [--json] [--root DIR] [--bin-dir DIR] [--conf-dir DIR]
  Read-only checks of this node for underlay pods: OK / WARN / FAIL, what was found, the remedy.
  --root DIR      read files (NetworkManager, systemd, CNI dirs) under DIR (default /)
  Exit 0 when nothing FAILs.
`;

/**
 * One finding as a line of text.
 *
 * @param f the finding
 * @returns `FAIL host-rule-table: ... -> remedy`
 */
export function findingLine(f: Finding): string {
  const remedy = f.remedy === "" ? "" : `\n       -> ${f.remedy}`;
  return `${f.level.padEnd(4)} ${f.id}: ${f.found}${remedy}`;
}

/** The `doctor` subcommand. */
export const DOCTOR: Subcommand = {
  summary: "check this node for what breaks underlay pods (read-only)",
  async run(io: CliIo): Promise<number> {
    try {
      const { parseArgs } = await import("node:util");
      const { values } = parseArgs({
        args: io.args,
        options: {
          json: { type: "boolean" },
          root: { type: "string", default: "/" },
          "bin-dir": { type: "string" },
          "conf-dir": { type: "string" },
          help: { type: "boolean", short: "h" },
        },
      });
      if (values.help) {
        io.out(HELP);
        return 0;
      }
      const findings = await runDoctor({
        root: values.root ?? "/",
        ...(values["bin-dir"] === undefined ? {} : { binDir: values["bin-dir"] }),
        ...(values["conf-dir"] === undefined ? {} : { confDir: values["conf-dir"] }),
      });
      const failed = findings.some((f) => f.level === "FAIL");
      io.out(
        values.json
          ? JSON.stringify({ ok: !failed, findings }, null, 2) + "\n"
          : findings.map(findingLine).join("\n") + "\n",
      );
      return failed ? 1 : 0;
    } catch (err) {
      io.err(`doctor: ${errorMessage(err)}\n`);
      return 2;
    }
  },
};
