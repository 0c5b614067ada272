/**
 * The effective configuration the cluster checks compare with, merged as ADD
 * merges it: the coordinator entry of a conflist or NetworkAttachmentDefinition
 * (`doctor --conf FILE`; without one, just `{"type": "coordinator"}`) over the
 * node defaults file over the built-in defaults (`../config/parse.ts`,
 * `../config/defaults.ts`).
 *
 * The entry is found in the documents of the file as the CLI read them (JSON,
 * or YAML as kubectl prints it: `../cli/yaml.ts`): a conflist, a single plugin
 * config, or a NAD whose `spec.config` string holds either; in a file of
 * several documents, the first with a coordinator entry.
 *
 * @example
 * ```ts
 * import { coordinatorEntry } from "./effective.ts";
 * const config = JSON.stringify({ cniVersion: "1.0.0", name: "n",
 *   plugins: [{ type: "coordinator", serviceCIDR: ["10.96.0.0/12"] }] });
 * const nad = { kind: "NetworkAttachmentDefinition", spec: { config } };
 * const e = coordinatorEntry([nad], "nad.yaml");
 * if (JSON.stringify(e["serviceCIDR"]) !== '["10.96.0.0/12"]') throw new Error("entry");
 * ```
 *
 * @module
 */

import { type NodeDefaults, readDefaults } from "../config/defaults.ts";
import { type ConfigNote, parseConfig } from "../config/parse.ts";
import type { CoordinatorConfig } from "../config/types.ts";
import { CniError, ErrorCode } from "../errors.ts";

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function entryOf(raw: unknown, path: string): Json | undefined {
  if (!isObject(raw)) return undefined;
  const spec = raw["spec"];
  if (isObject(spec) && typeof spec["config"] === "string") {
    let inner: unknown;
    try {
      inner = JSON.parse(spec["config"]);
    } catch (err) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `${path}: the NAD's spec.config is not valid JSON: ${(err as Error).message}`,
      );
    }
    return entryOf(inner, path);
  }
  const plugins = raw["plugins"];
  if (Array.isArray(plugins)) {
    const mine = plugins.find((p) => isObject(p) && p["type"] === "coordinator");
    return mine === undefined
      ? undefined
      : { cniVersion: raw["cniVersion"], name: raw["name"], ...(mine as Json) };
  }
  return raw["type"] === "coordinator" ? raw : undefined;
}

/**
 * The coordinator entry of a conflist, a plugin config or a NAD, with the
 * list's `cniVersion` and `name`: the first of the documents that has one.
 *
 * @param docs the documents of the file (JSON values)
 * @param path the file (for messages)
 * @returns the entry
 * @throws CniError 7 naming the file when it holds no coordinator entry, or a NAD's config is not JSON
 */
export function coordinatorEntry(docs: readonly unknown[], path: string): Json {
  for (const doc of docs) {
    const e = entryOf(doc, path);
    if (e !== undefined) return e;
  }
  throw new CniError(
    ErrorCode.InvalidNetworkConfig,
    `${path}: no coordinator entry (expected a conflist, a plugin config or a NetworkAttachmentDefinition naming "coordinator")`,
  );
}

/** The configuration the checks compare with, and where it came from. */
export interface EffectiveConfig {
  conf: CoordinatorConfig;
  /** `/etc/.../defaults.json`, `nad.yaml over /etc/.../defaults.json`, `built-in defaults`. */
  source: string;
  notes: ConfigNote[];
}

/** A coordinator entry and the file it came from ({@linkcode coordinatorEntry}). */
export interface ConfEntry {
  path: string;
  entry: Json;
}

/** Options of {@linkcode effectiveConfig}. */
export interface EffectiveOptions {
  /** The node defaults file (a missing file is no layer). */
  defaultsFile: string;
  /** The entry of a conflist, plugin config or NAD that goes over the defaults. */
  conf?: ConfEntry;
}

/**
 * Merge `conf`'s entry (or a bare `{"type": "coordinator"}`) over the node
 * defaults file, as ADD does. Requires `--allow-read`.
 *
 * @param opts the defaults file and the entry
 * @returns the merged configuration
 * @throws CniError 7 naming the file and field when either is invalid
 */
export function effectiveConfig(opts: EffectiveOptions): EffectiveConfig {
  const defaults: NodeDefaults | undefined = readDefaults(opts.defaultsFile);
  const entry: Json = opts.conf === undefined
    ? { cniVersion: "1.1.0", name: "doctor", type: "coordinator" }
    : { name: "doctor", ...opts.conf.entry };
  const notes: ConfigNote[] = [];
  let conf: CoordinatorConfig;
  try {
    conf = parseConfig(entry, defaults === undefined ? { notes } : { defaults, notes });
  } catch (err) {
    // An error of the entry's own fields names no file: name --conf's.
    if (
      !(err instanceof CniError) || opts.conf === undefined ||
      (defaults !== undefined && err.message.includes(defaults.path))
    ) throw err;
    throw new CniError(err.code, `${opts.conf.path}: ${err.message}`, { cause: err });
  }
  const layers = [
    ...(opts.conf === undefined ? [] : [opts.conf.path]),
    ...(defaults === undefined ? [] : [defaults.path]),
  ];
  return { conf, source: layers.length === 0 ? "built-in defaults" : layers.join(" over "), notes };
}
