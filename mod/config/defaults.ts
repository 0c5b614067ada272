/**
 * The node defaults file: cluster-wide values for any coordinator field, kept
 * on each node (no agent). Precedence: the conflist / NAD entry, then this
 * file, then the built-in defaults, with the original's merge rule (an empty
 * string or list in the entry means "take the next layer").
 *
 * Read on every ADD and CHECK (measured: see `tests/unit/config/defaults_test.ts`,
 * well under 1 ms, a missing file one failed `open`). DEL and GC read it
 * leniently (for settings such as the log; an invalid file or field is a
 * warning): they clean up from what ADD recorded.
 *
 * @example
 * ```ts ignore
 * import { checkDefaultsFile } from "./defaults.ts";
 * const { conf, notes } = checkDefaultsFile("/etc/cni/net.d/coordinator.d/defaults.json");
 * ```
 *
 * @module
 */

import { CniError, ErrorCode } from "../errors.ts";
import { type ConfigNote, parseConfig } from "./parse.ts";
import type { CoordinatorConfig } from "./types.ts";

/** Where the file lives: a subdirectory, so runtimes do not load it as a network. */
export const DEFAULTS_FILE = "/etc/cni/net.d/coordinator.d/defaults.json";

/** The environment variable that moves the file (tests). */
export const DEFAULTS_FILE_ENV = "COORDINATOR_DEFAULTS_FILE";

/** The file's decoded object and its path (for messages). */
export interface NodeDefaults {
  path: string;
  raw: Record<string, unknown>;
}

/**
 * The path of the node defaults file: `COORDINATOR_DEFAULTS_FILE` when set, else
 * {@linkcode DEFAULTS_FILE}.
 *
 * @returns the path
 */
export function defaultsPath(): string {
  return Deno.env.get(DEFAULTS_FILE_ENV) || DEFAULTS_FILE;
}

/**
 * Read the node defaults file.
 *
 * @param path the file (default {@linkcode defaultsPath})
 * @returns its object, or undefined when there is no file
 * @throws CniError 7 naming the file when it cannot be read or is not a JSON object
 */
export function readDefaults(path: string = defaultsPath()): NodeDefaults | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `${path}: cannot read the node defaults file: ${(err as Error).message}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `${path}: the node defaults file is not valid JSON`,
      { details: (err as Error).message },
    );
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `${path}: the node defaults file is not a JSON object`,
    );
  }
  return { path, raw: raw as Record<string, unknown> };
}

/** The entry `checkDefaultsFile` merges with when none is given: just the plugin. */
const BARE_ENTRY = { cniVersion: "1.1.0", name: "defaults-check", type: "coordinator" };

/**
 * Validate node defaults (the object of a defaults file) with ADD's rules and
 * merge an entry over them.
 *
 * Every field of the defaults is checked, also those the entry overrides.
 *
 * @param defaults the object, and the name its errors start with (`path`)
 * @param entry the conflist / NAD entry to merge over it (default: `{"type": "coordinator"}`
 *   with a name); an entry without `name` gets "defaults-check"
 * @returns the merged configuration and the notes (case variants, ignored keys)
 * @throws CniError 7 naming `path` and the field
 */
export function checkDefaults(
  defaults: NodeDefaults,
  entry: Record<string, unknown> = BARE_ENTRY,
): { conf: CoordinatorConfig; notes: ConfigNote[] } {
  const notes: ConfigNote[] = [];
  const conf = parseConfig({ name: BARE_ENTRY.name, ...entry }, { defaults, notes });
  return { conf, notes };
}

/**
 * Validate a node defaults file and merge it (for `coordinator defaults --check FILE`):
 * {@linkcode readDefaults} as ADD reads it, then {@linkcode checkDefaults}.
 *
 * @param path the file
 * @param entry the conflist / NAD entry to merge over it (default: `{"type": "coordinator"}`
 *   with a name); an entry without `name` gets "defaults-check"
 * @returns the merged configuration and the notes (case variants, ignored keys)
 * @throws CniError 7 naming the file and the field (a missing file too)
 */
export function checkDefaultsFile(
  path: string,
  entry: Record<string, unknown> = BARE_ENTRY,
): { conf: CoordinatorConfig; notes: ConfigNote[] } {
  const defaults = readDefaults(path);
  if (defaults === undefined) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `${path}: no such node defaults file`);
  }
  return checkDefaults(defaults, entry);
}
