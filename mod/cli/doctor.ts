/**
 * `coordinator doctor [--json] [--root DIR] [--conf FILE] [--defaults FILE]`:
 * read-only checks of the node, one line each (`doctor/gather.ts`,
 * `doctor/checks.ts`, `doctor/cluster.ts`); exit 0 when nothing FAILs, 1 when
 * something does.
 *
 * @module
 */

import { CniError, ErrorCode, errorMessage } from "../errors.ts";
import { runDoctor } from "../doctor/gather.ts";
import type { Finding } from "../doctor/checks.ts";
import { type ConfEntry, coordinatorEntry } from "../doctor/effective.ts";
import type { CliIo, Subcommand } from "./_io.ts";
import { readDocuments } from "./yaml.ts";

const HELP = `Usage: coordinator doctor [--json] [--root DIR] [--bin-dir DIR] [--conf-dir DIR]
                         [--conf FILE] [--defaults FILE]
  Read-only checks of this node for underlay pods: OK / WARN / FAIL, what was found, the remedy.
  --root DIR       read files (NetworkManager, systemd, CNI dirs, the defaults file) under DIR (default /)
  --conf FILE      compare serviceCIDR / overlayPodCIDR of this conflist, plugin config or NAD
                   (JSON or YAML), merged over the node defaults file as ADD merges them
  --defaults FILE  the node defaults file (default: COORDINATOR_DEFAULTS_FILE, else
                   /etc/cni/net.d/coordinator.d/defaults.json under --root)
  The ClusterIPs kube-proxy programs (iptables, nftables and IPVS mode) must be inside serviceCIDR
  (FAIL), the overlay CNI's pod blocks (Calico, Cilium, Flannel) inside overlayPodCIDR (WARN).
  Exit 0 when nothing FAILs, 1 when something does, 2 when --conf or --defaults cannot be read
  (or --conf holds no coordinator entry).
`;

/**
 * The coordinator entry of the file `--conf` names: a conflist, a plugin
 * config or a NAD, as JSON or as YAML (`kubectl get net-attach-def -o yaml`,
 * a manifest; `./yaml.ts`). Requires `--allow-read`.
 *
 * @param path the file
 * @returns the entry and the file
 * @throws CniError 7 when the file cannot be read, is neither JSON nor YAML, or has no coordinator entry
 */
export function readConfEntry(path: string): ConfEntry {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    throw cannotRead(path, err);
  }
  return { path, entry: coordinatorEntry(readDocuments(text, path), path) };
}

function cannotRead(path: string, err: unknown): CniError {
  const why = err instanceof Deno.errors.NotFound ? "no such file" : errorMessage(err);
  return new CniError(ErrorCode.InvalidNetworkConfig, `Cannot read "${path}": ${why}`);
}

/** An explicit `--defaults FILE` must be there: a typo would compare with the built-ins. */
function mustExist(path: string): void {
  try {
    Deno.statSync(path);
  } catch (err) {
    throw cannotRead(path, err);
  }
}

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
          conf: { type: "string" },
          defaults: { type: "string" },
          help: { type: "boolean", short: "h" },
        },
      });
      if (values.help) {
        io.out(HELP);
        return 0;
      }
      if (values.defaults !== undefined) mustExist(values.defaults);
      const conf = values.conf === undefined ? undefined : readConfEntry(values.conf);
      const findings = await runDoctor({
        root: values.root ?? "/",
        ...(values["bin-dir"] === undefined ? {} : { binDir: values["bin-dir"] }),
        ...(values["conf-dir"] === undefined ? {} : { confDir: values["conf-dir"] }),
        ...(conf === undefined ? {} : { conf }),
        ...(values.defaults === undefined ? {} : { defaultsFile: values.defaults }),
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
