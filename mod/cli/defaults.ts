/**
 * `coordinator defaults`: the node defaults file
 * (`/etc/cni/net.d/coordinator.d/defaults.json`, see `config/defaults.ts`).
 *
 * - `--check FILE [--entry ENTRY.json] [--no-node]`: validate the file with
 *   the rules ADD applies to it, print the configuration a conflist/NAD entry
 *   gets when merged over it (default entry: just `{"type": "coordinator"}`),
 *   then compare its `serviceCIDR` and `overlayPodCIDR` with what this node
 *   shows, with doctor's evaluator (`doctor/cluster.ts`). `--no-node` skips
 *   the comparison: no process started, no privilege needed.
 * - `--suggest [--defaults FILE]`: print a node defaults file built from what
 *   this node shows: the current file's fields with `serviceCIDR` and
 *   `overlayPodCIDR` from kube-proxy's rules and the overlay CNI's routes (the
 *   covering rule of `doctor/suggest.ts`), and on stderr how each CIDR was
 *   derived and doctor's verdict on the result. No API server is consulted.
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
 * `--check` and `--suggest` change nothing. Reading the node (kube-proxy's
 * rules, the routes) needs root; without it, what could not be read is named
 * and not checked. `--out` needs write access to the file's directory (the
 * binary's permissions allow `/etc/cni/net.d/coordinator.d`, mod/permissions.ts).
 * Exit 0 when the file is valid (and nothing FAILs against the node), a
 * suggestion was printed or a file made; 1 when the file is invalid (the
 * reason on stderr, as ADD's code 7 names the file and the field), a check
 * FAILs, or the node shows nothing to suggest; 2 on a usage error.
 *
 * @module
 */

import { MAX_STDIN_BYTES } from "../cni/versions.ts";
import {
  checkDefaults,
  checkDefaultsFile,
  defaultsPath,
  readDefaults,
} from "../config/defaults.ts";
import { convertSpiderCoordinator } from "../config/spidercoordinator.ts";
import { type ClusterFacts, evalPodCidr, evalServiceCidr } from "../doctor/cluster.ts";
import { readClusterFacts } from "../doctor/cluster_reads.ts";
import { suggestCidrs } from "../doctor/suggest.ts";
import { CniError, ErrorCode, errorMessage } from "../errors.ts";
import { WRITABLE_PATHS } from "../permissions.ts";
import type { CliIo, Subcommand } from "./_io.ts";
import { findingLine } from "./doctor.ts";
import { readDocuments } from "./yaml.ts";

const HELP = `Usage: coordinator defaults --check FILE [--entry ENTRY.json] [--no-node]
       coordinator defaults --suggest [--defaults FILE]
       coordinator defaults --from-spidercoordinator FILE [--out FILE]
  --check FILE     the node defaults file to validate (e.g. /etc/cni/net.d/coordinator.d/defaults.json);
                   prints the merged configuration as JSON on stdout, the notes (case variants, ignored
                   keys) and the comparison of serviceCIDR / overlayPodCIDR with this node on stderr
  --entry FILE     a coordinator entry of a conflist or NAD to merge over it (default {"type": "coordinator"})
  --no-node        with --check: validate only (reads nothing of the node)
  --suggest        print a node defaults file with serviceCIDR and overlayPodCIDR as this node shows them
                   (kube-proxy's ClusterIPs, the overlay CNI's pod routes); how each was derived on stderr.
                   A set of ClusterIPs gives only a lower bound of the Service range: review before use
  --defaults FILE  with --suggest: the file whose other fields are kept (default: the node's)
  --from-spidercoordinator FILE
                   a Spiderpool cluster's settings as \`kubectl get spidercoordinator default -o yaml\`
                   (or -o json) prints them, or a List of them ("-": stdin). Prints the node defaults
                   file made from them, checked with ADD's rules, and on stderr what did not carry
                   over (podCIDRType, a phase other than Synced, unknown fields).
  --out FILE       write that file there instead of stdout (temporary file + rename), e.g.
                   /etc/cni/net.d/coordinator.d/defaults.json
`;

/** Where the node's facts come from (tests inject them). */
export interface DefaultsDeps {
  readFacts(): Promise<ClusterFacts>;
}

const NODE: DefaultsDeps = { readFacts: readClusterFacts };

async function check(
  io: CliIo,
  file: string,
  entry: Record<string, unknown> | undefined,
  deps: DefaultsDeps | undefined,
): Promise<number> {
  const { conf, notes } = checkDefaultsFile(file, entry);
  for (const n of notes) io.err(`${n.level}: ${n.msg}\n`);
  io.out(JSON.stringify(conf, null, 2) + "\n");
  if (deps === undefined) return 0;
  const facts = await deps.readFacts();
  const source = entry === undefined ? file : `the entry over ${file}`;
  const findings = [evalServiceCidr(conf, facts, source), evalPodCidr(conf, facts, source)];
  io.err(findings.map(findingLine).join("\n") + "\n");
  return findings.some((f) => f.level === "FAIL") ? 1 : 0;
}

async function suggest(
  io: CliIo,
  defaultsFile: string | undefined,
  deps: DefaultsDeps,
): Promise<number> {
  // The node's file may be missing; a file named on the command line must be there.
  const current = readDefaults(defaultsFile ?? defaultsPath());
  if (defaultsFile !== undefined && current === undefined) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `Cannot read "${defaultsFile}": no such file (--defaults names the file whose other fields are kept)`,
    );
  }
  const facts = await deps.readFacts();
  const s = suggestCidrs(facts);
  for (const n of s.notes) io.err(`note: ${n}\n`);
  for (const u of facts.unread) io.err(`note: not read: ${u}\n`);
  if (s.serviceCIDR.length === 0 && s.overlayPodCIDR.length === 0) {
    io.err("defaults: this node shows no ClusterIP and no pod route: nothing to suggest\n");
    return 1;
  }
  const out: Record<string, unknown> = { ...(current?.raw ?? {}) };
  const fields = [["serviceCIDR", s.serviceCIDR], ["overlayPodCIDR", s.overlayPodCIDR]] as const;
  const kept: Record<string, string[]> = {};
  for (const [field, cidrs] of fields) {
    // A case variant of the field in the file would win over ours in the merge: replace it too.
    for (const k of Object.keys(out)) {
      if (k !== field && k.toLowerCase() === field.toLowerCase()) {
        if (cidrs.length === 0) out[field] = out[k];
        delete out[k];
      }
    }
    if (cidrs.length > 0) out[field] = cidrs;
    else if (out[field] !== undefined) io.err(`note: ${field}: kept from ${current!.path}\n`);
    const v = out[field];
    kept[field] = Array.isArray(v) ? v.filter((c): c is string => typeof c === "string") : [];
  }
  if (current !== undefined) io.err(`note: the other fields are ${current.path}'s\n`);
  io.err(
    "note: no API server was consulted; a ClusterIP set gives only a lower bound of the Service range\n",
  );
  const conf = {
    serviceCIDR: kept["serviceCIDR"] ?? [],
    overlayPodCIDR: kept["overlayPodCIDR"] ?? [],
    hijackCIDR: [],
  };
  const verdict = [
    evalServiceCidr(conf, facts, "the suggestion"),
    evalPodCidr(conf, facts, "the suggestion"),
  ];
  io.err(verdict.map(findingLine).join("\n") + "\n");
  io.out(JSON.stringify(out, null, 2) + "\n");
  return 0;
}

/** The options of `coordinator defaults`. */
interface Values {
  check?: string;
  entry?: string;
  "no-node"?: boolean;
  suggest?: boolean;
  defaults?: string;
  "from-spidercoordinator"?: string;
  out?: string;
  help?: boolean;
}

/** The usage errors of a combination of options, first one first. */
function usageError(values: Values): string | undefined {
  const from = values["from-spidercoordinator"];
  const modes = [values.check !== undefined, values.suggest === true, from !== undefined];
  if (modes.filter((m) => m).length !== 1) {
    return "give one of --check FILE, --suggest and --from-spidercoordinator FILE";
  }
  if (values.entry !== undefined && values.check === undefined) return "--entry goes with --check";
  if (values["no-node"] && values.check === undefined) return "--no-node goes with --check";
  if (values.defaults !== undefined && !values.suggest) return "--defaults goes with --suggest";
  if (values.out !== undefined && from === undefined) {
    return "--out goes with --from-spidercoordinator";
  }
  return undefined;
}

/**
 * The `defaults` subcommand over given node reads (tests); {@linkcode DEFAULTS} reads the node.
 *
 * @param deps where the node's facts come from
 * @returns the subcommand
 */
export function defaultsCommand(deps: DefaultsDeps = NODE): Subcommand {
  return {
    summary:
      "check a node defaults file against this node, suggest one from it, or make one from a Spiderpool SpiderCoordinator",
    async run(io: CliIo): Promise<number> {
      let values: Values;
      let entry: Record<string, unknown> | undefined;
      try {
        const { parseArgs } = await import("node:util");
        ({ values } = parseArgs({
          args: io.args,
          options: {
            check: { type: "string" },
            entry: { type: "string" },
            "no-node": { type: "boolean" },
            suggest: { type: "boolean" },
            defaults: { type: "string" },
            "from-spidercoordinator": { type: "string" },
            out: { type: "string" },
            help: { type: "boolean", short: "h" },
          },
        }));
        if (values.help) {
          io.out(HELP);
          return 0;
        }
        const usage = usageError(values);
        if (usage !== undefined) throw new TypeError(usage);
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
        if (values.suggest) return await suggest(io, values.defaults, deps);
        return await check(io, values.check!, entry, values["no-node"] ? undefined : deps);
      } catch (err) {
        if (!(err instanceof CniError)) throw err;
        io.err(`defaults: ${err.message}${from === undefined ? "" : "; nothing written"}\n`);
        return 1;
      }
    },
  };
}

/** The `defaults` subcommand. */
export const DEFAULTS: Subcommand = defaultsCommand();

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
