/**
 * `coordinator defaults`: the node defaults file
 * (`/etc/cni/net.d/coordinator.d/defaults.json`, see `config/defaults.ts`).
 *
 * - `--check FILE [--entry ENTRY.json]`: validate a file with the rules ADD
 *   applies to it, and print the configuration a conflist/NAD entry gets when
 *   merged over it (default entry: just `{"type": "coordinator"}`). Changes
 *   nothing.
 * - `--from-spidercoordinator FILE [--out FILE]`: make the file from a
 *   Spiderpool cluster's settings, the `SpiderCoordinator` object as
 *   `kubectl get spidercoordinator default -o yaml` (or `-o json`) prints it,
 *   also a List (`config/spidercoordinator.ts`; YAML read by `./yaml.ts`).
 *   The file is checked with ADD's rules before it is printed (stdout) or
 *   written (`--out`: a temporary file in the same directory, checked again
 *   as ADD reads it, then renamed over the old one, as deploy/install.sh
 *   does); what did not carry over goes to stderr. An invalid value writes
 *   nothing.
 *
 * Needs no privilege; `--out` needs write access to the file's directory (the
 * binary's permissions allow `/etc/cni/net.d/coordinator.d`, mod/permissions.ts).
 * Exit 0 when the file is valid (or written), 1 when it is not (the reason on
 * stderr, naming the field), 2 on a usage error.
 *
 * @module
 */

import { MAX_STDIN_BYTES } from "../cni/versions.ts";
import { checkDefaults, checkDefaultsFile } from "../config/defaults.ts";
import { convertSpiderCoordinator } from "../config/spidercoordinator.ts";
import { CniError, ErrorCode, errorMessage } from "../errors.ts";
import { WRITABLE_PATHS } from "../permissions.ts";
import type { CliIo, Subcommand } from "./_io.ts";
import { parseYaml, YamlError } from "./yaml.ts";

const HELP = `Usage: coordinator defaults --check FILE [--entry ENTRY.json]
       coordinator defaults --from-spidercoordinator FILE [--out FILE]
  --check FILE   the node defaults file to validate (e.g. /etc/cni/net.d/coordinator.d/defaults.json)
  --entry FILE   a coordinator entry of a conflist or NAD to merge over it (default {"type": "coordinator"})
                 Prints the merged configuration as JSON on stdout, the notes (case variants,
                 ignored keys) on stderr.
  --from-spidercoordinator FILE
                 a Spiderpool cluster's settings as \`kubectl get spidercoordinator default -o yaml\`
                 (or -o json) prints them, or a List of them ("-": stdin). Prints the node defaults
                 file made from them, checked with ADD's rules, and on stderr what did not carry
                 over (podCIDRType, a phase other than Synced, unknown fields).
  --out FILE     write that file there instead of stdout (temporary file + rename), e.g.
                 /etc/cni/net.d/coordinator.d/defaults.json
`;

/** The `defaults` subcommand. */
export const DEFAULTS: Subcommand = {
  summary: "check a node defaults file, or make one from a Spiderpool SpiderCoordinator",
  async run(io: CliIo): Promise<number> {
    let values: {
      check?: string;
      entry?: string;
      "from-spidercoordinator"?: string;
      out?: string;
      help?: boolean;
    };
    let entry: Record<string, unknown> | undefined;
    try {
      const { parseArgs } = await import("node:util");
      ({ values } = parseArgs({
        args: io.args,
        options: {
          check: { type: "string" },
          entry: { type: "string" },
          "from-spidercoordinator": { type: "string" },
          out: { type: "string" },
          help: { type: "boolean", short: "h" },
        },
      }));
      if (values.help) {
        io.out(HELP);
        return 0;
      }
      const from = values["from-spidercoordinator"];
      if ((values.check === undefined) === (from === undefined)) {
        throw new TypeError("give one of --check FILE and --from-spidercoordinator FILE");
      }
      if (values.entry !== undefined && values.check === undefined) {
        throw new TypeError("--entry goes with --check");
      }
      if (values.out !== undefined && from === undefined) {
        throw new TypeError("--out goes with --from-spidercoordinator");
      }
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
    const from = values["from-spidercoordinator"];
    try {
      if (from !== undefined) return await fromSpiderCoordinator(io, from, values.out);
      const { conf, notes } = checkDefaultsFile(values.check!, entry);
      for (const n of notes) io.err(`${n.level}: ${n.msg}\n`);
      io.out(JSON.stringify(conf, null, 2) + "\n");
      return 0;
    } catch (err) {
      if (!(err instanceof CniError)) throw err;
      io.err(`defaults: ${err.message}${from === undefined ? "" : "; nothing written"}\n`);
      return 1;
    }
  },
};

/**
 * The documents of a file as kubectl prints it: JSON (`-o json`), else YAML.
 *
 * @param text the file
 * @param source its name, for messages
 * @returns the documents
 * @throws CniError 7 with the parser's reason and the place
 */
export function readDocuments(text: string, source: string): unknown[] {
  let jsonError: string | undefined;
  if (/^\s*[{[]/.test(text)) {
    try {
      return [JSON.parse(text)];
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      jsonError = err.message; // maybe YAML's flow style; tried next
    }
  }
  try {
    return parseYaml(text);
  } catch (err) {
    if (!(err instanceof YamlError)) throw err;
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `Cannot read "${source}": ${
        jsonError === undefined ? `not YAML as kubectl prints it: ${err.message}` : jsonError
      }`,
    );
  }
}

async function fromSpiderCoordinator(
  io: CliIo,
  source: string,
  out: string | undefined,
): Promise<number> {
  let text: string;
  try {
    if (source === "-") {
      const bytes = await io.stdin();
      if (bytes.length > MAX_STDIN_BYTES) {
        throw new RangeError(`more than ${MAX_STDIN_BYTES} bytes on stdin: give a file`);
      }
      text = new TextDecoder().decode(bytes);
    } else {
      text = await Deno.readTextFile(source);
    }
  } catch (err) {
    io.err(`defaults: Cannot read "${source}": ${errorMessage(err)}\n`);
    return 1;
  }
  const { name, defaults, notes } = convertSpiderCoordinator(readDocuments(text, source));
  const label = `SpiderCoordinator "${name}"`;
  const json = JSON.stringify(defaults, null, 2) + "\n";
  // The text as written, with the rules ADD applies to the file.
  checkDefaults({ path: `the defaults made from ${label}`, raw: JSON.parse(json) });
  for (const n of notes) io.err(`${n.level}: ${n.field === "" ? "" : `${n.field}: `}${n.msg}\n`);
  const fields = Object.keys(defaults);
  const summary = `defaults: ${label}: ${fields.length} field(s) carried over` +
    (fields.length === 0 ? "" : ` (${fields.join(", ")})`);
  if (out === undefined) {
    io.out(json);
    io.err(`${summary}\n`);
    return 0;
  }
  try {
    writeDefaultsFile(out, json);
  } catch (err) {
    if (err instanceof CniError) throw err;
    const why = err instanceof Deno.errors.NotCapable
      ? `this binary may write only under ${WRITABLE_PATHS.join(", ")}: give --out a path ` +
        "there, or write to stdout (without --out) and redirect it"
      : errorMessage(err);
    io.err(`defaults: Cannot write "${out}": ${why}; nothing written\n`);
    return 1;
  }
  io.err(`${summary}\ndefaults: wrote ${out}\n`);
  return 0;
}

/**
 * Write a node defaults file as deploy/install.sh does: a temporary file in
 * the same directory (made when missing), synced, checked as ADD reads it,
 * then renamed over the old one, so that a CNI call reads the old or the new
 * file, never half of one. Nothing is left behind when a step fails.
 *
 * Requires `--allow-read` and `--allow-write` of the file's directory.
 *
 * @param path the file
 * @param text its content
 * @throws CniError 7 when the written file fails ADD's check; the file system's errors
 */
export function writeDefaultsFile(path: string, text: string): void {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  const tmp = `${dir}/.${path.slice(slash + 1)}.tmp.${Deno.pid}`;
  Deno.mkdirSync(dir, { recursive: true });
  const file = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o644 });
  try {
    try {
      let bytes = new TextEncoder().encode(text);
      while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
      file.syncSync();
    } finally {
      file.close();
    }
    Deno.chmodSync(tmp, 0o644);
    checkDefaultsFile(tmp);
    Deno.renameSync(tmp, path);
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    throw err;
  }
}
