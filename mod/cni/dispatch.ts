/**
 * The CNI skeleton: read the CNI_* environment and the stdin config, check
 * versions and inputs, dispatch ADD / DEL / CHECK / VERSION / STATUS / GC, and
 * produce exactly one stdout document and an exit code. `main.ts` passes the
 * environment and stdin in and writes the outcome out, so tests can run a
 * whole command in-process. Its own I/O is small and injectable: it reads the
 * node defaults file (`config/defaults.ts`), checks CNI_NETNS
 * (`checkNetns`), asks whether an ADD was recorded (`hasRecord`: the state
 * file) and opens the log file (`log.ts`); the commands' I/O goes through
 * their kernel port (`commands/port.ts`).
 *
 * @example
 * ```ts
 * import { runCni } from "./dispatch.ts";
 * // VERSION needs no network logic: the loader is never called.
 * const commands = () => Promise.reject(new Error("not loaded for VERSION"));
 * const out = await runCni({ env: { CNI_COMMAND: "VERSION" }, stdin: new Uint8Array(), commands });
 * if (out.exitCode !== 0 || !out.stdout.includes("supportedVersions")) throw new Error("VERSION");
 * ```
 *
 * @module
 */

import { type CniArgs, parseCniArgs } from "./args.ts";
import { readDefaults } from "../config/defaults.ts";
import { type ConfigNote, ifnameProblem, NAME_RE, parseConfig } from "../config/parse.ts";
import { type CoordinatorConfig } from "../config/types.ts";
import { CniError, ErrorCode, toCniError } from "../errors.ts";
import { createLogger, type Logger, nullLogger } from "../log.ts";
import { mark } from "../phases.ts";
import { validateNetns } from "../kernel/netns.ts";
import { loadState } from "../kernel/state.ts";
import { formatResult, parseResult } from "./result.ts";
import type { CniEnv, Result } from "./types.ts";
import {
  aboutText,
  compareVersions,
  MAX_STDIN_BYTES,
  SUPPORTED_VERSIONS,
  versionAnswer,
} from "./versions.ts";

export { aboutText, compareVersions, MAX_STDIN_BYTES, SUPPORTED_VERSIONS };

/** What a command implementation receives. */
export interface CmdContext {
  env: CniEnv;
  conf: CoordinatorConfig;
  /** The prevResult in the internal 1.x model (undefined when absent). */
  prevResult: Result | undefined;
  cniArgs: CniArgs;
  log: Logger;
}

/** A GC attachment that is still valid. */
export interface Attachment {
  containerID: string;
  ifname: string;
}

/** The network logic, injected so the skeleton is testable without root. */
export interface Commands {
  cmdAdd(ctx: CmdContext): Promise<Result>;
  cmdDel(ctx: CmdContext): Promise<void>;
  cmdCheck(ctx: CmdContext): Promise<void>;
  cmdGc(ctx: CmdContext, valid: Attachment[]): Promise<void>;
  cmdStatus(ctx: CmdContext): Promise<void>;
}

/** Inputs of one plugin run. */
export interface CniIo {
  /** The environment (only CNI_* keys are read). */
  env: Readonly<Record<string, string | undefined>>;
  /** All of stdin. */
  stdin: Uint8Array;
  /**
   * Where the network logic comes from, loaded only when a command needs it
   * (main.ts passes `mod/commands/mod.ts`, through `mod/plugin.ts`): the skeleton depends on the
   * {@linkcode Commands} contract, never on their implementation.
   */
  commands: () => Promise<Commands>;
  /** How CNI_NETNS is checked before ADD/CHECK (default: {@linkcode validateNetns}). */
  checkNetns?: (path: string) => void;
  /**
   * Whether an ADD recorded this attachment (default: its state file exists):
   * a DEL in disable mode still cleans up what an earlier ADD made.
   */
  hasRecord?: (network: string, containerId: string, ifname: string) => boolean;
}

/** What to print and how to exit. */
export interface CniOutcome {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const COMMANDS = ["ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"] as const;
type Command = (typeof COMMANDS)[number];

/** Minimum config version per command (skel's rules). */
const MIN_VERSION: Partial<Record<Command, string>> = {
  CHECK: "0.4.0",
  GC: "1.1.0",
  STATUS: "1.1.0",
};

function envOf(env: CniIo["env"]): CniEnv {
  return {
    command: env["CNI_COMMAND"] ?? "",
    containerId: env["CNI_CONTAINERID"] ?? "",
    netns: env["CNI_NETNS"] ?? "",
    ifname: env["CNI_IFNAME"] ?? "",
    args: env["CNI_ARGS"] ?? "",
    path: env["CNI_PATH"] ?? "",
  };
}

function errorOutcome(err: unknown, cniVersion: string, log: Logger): CniOutcome {
  const e = toCniError(err);
  if (e.code === ErrorCode.Internal) {
    log.error("Internal error", { error: String(err), stack: (err as Error)?.stack ?? "" });
  } else {
    log.error(e.message, { code: e.code, details: e.details ?? "" });
  }
  const body: Record<string, unknown> = { cniVersion, code: e.code, msg: e.message };
  if (e.details !== undefined && e.details !== "") body["details"] = e.details;
  return { stdout: JSON.stringify(body, null, 4) + "\n", stderr: "", exitCode: 1 };
}

function checkEnv(cmd: Command, io: CniIo, env: CniEnv): void {
  const required: string[] = [];
  if (cmd === "ADD" || cmd === "DEL" || cmd === "CHECK") {
    required.push("CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH");
    if (cmd !== "DEL") required.push("CNI_NETNS");
  }
  if (cmd === "GC") required.push("CNI_PATH");
  // libcni always sets every variable, possibly empty: an empty container ID is
  // "container unknown" (code 3), as in the Go skel; a missing one is code 4.
  const missing = required.filter((k) => {
    const v = io.env[k];
    return v === undefined || (v === "" && k !== "CNI_CONTAINERID");
  });
  if (missing.length > 0) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `Required environment variables missing: ${missing.join(", ")}`,
    );
  }
  if (!required.includes("CNI_CONTAINERID")) return;
  if (env.containerId === "") {
    throw new CniError(
      ErrorCode.UnknownContainer,
      "Missing container ID: CNI_CONTAINERID is empty",
    );
  }
  if (!NAME_RE.test(env.containerId)) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `Invalid CNI_CONTAINERID "${env.containerId}": use letters, digits, '_', '.', '-'`,
    );
  }
  const why = ifnameProblem(env.ifname);
  if (why !== undefined) {
    throw new CniError(ErrorCode.InvalidEnvironment, `Invalid CNI_IFNAME "${env.ifname}": ${why}`);
  }
}

function decodeStdin(stdin: Uint8Array): Record<string, unknown> {
  if (stdin.length > MAX_STDIN_BYTES) {
    throw new CniError(
      ErrorCode.DecodeFailure,
      `Config on stdin is ${stdin.length} bytes: the limit is ${MAX_STDIN_BYTES}`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(stdin);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    throw new CniError(ErrorCode.DecodeFailure, "Config on stdin is not UTF-8 text");
  }
  if (text.trim() === "") {
    throw new CniError(ErrorCode.DecodeFailure, "Config on stdin is empty: expected a JSON object");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw new CniError(ErrorCode.DecodeFailure, "Config on stdin is not valid JSON", {
      details: err.message,
    });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new CniError(ErrorCode.DecodeFailure, "Config on stdin is not a JSON object");
  }
  return raw as Record<string, unknown>;
}

function checkVersion(cmd: Command, raw: Record<string, unknown>): string {
  const v = raw["cniVersion"];
  if (typeof v !== "string" || !SUPPORTED_VERSIONS.includes(v)) {
    throw new CniError(ErrorCode.IncompatibleVersion, "Incompatible CNI versions", {
      details: `config is ${JSON.stringify(v ?? "")}, plugin supports ${
        JSON.stringify(SUPPORTED_VERSIONS)
      }`,
    });
  }
  const min = MIN_VERSION[cmd];
  if (min !== undefined && compareVersions(v, min) < 0) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `Config version "${v}" does not allow ${cmd}: it needs ${min} or later`,
    );
  }
  return v;
}

/**
 * The node defaults file, when there is one (`config/defaults.ts`). With
 * `notes` (DEL, GC), an unreadable file is a warning there instead of an error.
 */
function withDefaults(
  notes?: ConfigNote[],
): { defaults?: { path: string; raw: Record<string, unknown> } } {
  let defaults;
  try {
    defaults = readDefaults();
  } catch (err) {
    if (notes === undefined || !(err instanceof CniError)) throw err;
    notes.push({ level: "warn", msg: `${err.message} (ignored)` });
  }
  return defaults === undefined ? {} : { defaults };
}

function hasState(network: string, containerId: string, ifname: string): boolean {
  return loadState(network, containerId, ifname) !== undefined;
}

function readAttachments(raw: Record<string, unknown>): Attachment[] {
  const list = raw["cni.dev/valid-attachments"] ?? raw["cni.dev/attachments"] ?? [];
  if (!Array.isArray(list)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'Invalid "cni.dev/valid-attachments"', {
      details: "expected a list of {containerID, ifname}",
    });
  }
  return list.map((a, i) => {
    const o = a as { containerID?: unknown; ifname?: unknown } | null;
    if (typeof o?.containerID !== "string" || typeof o.ifname !== "string") {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `Invalid "cni.dev/valid-attachments[${i}]": ${JSON.stringify(a)}`,
        { details: "expected {containerID, ifname} strings" },
      );
    }
    return { containerID: o.containerID, ifname: o.ifname };
  });
}

/**
 * Run one CNI command.
 *
 * @param io environment, stdin and (for tests) the network logic
 * @returns stdout text, stderr text and the exit code
 */
export async function runCni(io: CniIo): Promise<CniOutcome> {
  const env = envOf(io.env);
  let log: Logger = nullLogger;
  let cniVersion = "1.1.0";
  if (env.command === "") return { stdout: "", stderr: aboutText(), exitCode: 0 };
  try {
    if (!(COMMANDS as readonly string[]).includes(env.command)) {
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `Unknown CNI_COMMAND "${env.command}": use one of ${COMMANDS.join(", ")}`,
      );
    }
    const cmd = env.command as Command;
    if (cmd === "VERSION") return { stdout: versionAnswer(io.stdin), stderr: "", exitCode: 0 };
    checkEnv(cmd, io, env);
    const raw = decodeStdin(io.stdin);
    if (typeof raw["cniVersion"] === "string") cniVersion = raw["cniVersion"];
    cniVersion = checkVersion(cmd, raw);
    // DEL and GC clean up from what ADD recorded: a bad field (of the entry or
    // of the node defaults file, read there only for settings like the log) is
    // a warning, never the answer.
    const cleanup = cmd === "DEL" || cmd === "GC";
    const notes: ConfigNote[] = [];
    const conf = cleanup
      ? parseConfig(raw, { lenient: true, notes, ...withDefaults(notes) })
      : parseConfig(raw, { notes, ...withDefaults() });
    const cniArgs = parseCniArgs(env.args);
    mark("config");

    let prevResult: Result | undefined;
    if (raw["prevResult"] !== undefined && raw["prevResult"] !== null) {
      try {
        prevResult = parseResult(raw["prevResult"], cniVersion);
      } catch (err) {
        // DEL and GC must clean up whatever the cache holds: a bad prevResult is ignored there.
        if (!cleanup) throw err;
      }
    }
    if (cmd === "ADD" && prevResult === undefined) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        "Missing prevResult: coordinator must run chained after a main CNI plugin",
      );
    }
    const recorded = () => (io.hasRecord ?? hasState)(conf.name, env.containerId, env.ifname);
    if (conf.mode === "disable" && !(cmd === "DEL" && recorded())) {
      // Nothing is touched; ADD passes the previous result through.
      if (cmd !== "ADD") return { stdout: "", stderr: "", exitCode: 0 };
      const body = formatResult(prevResult!, cniVersion);
      return { stdout: JSON.stringify(body, null, 4) + "\n", stderr: "", exitCode: 0 };
    }
    if (cmd === "CHECK" && prevResult === undefined) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, "Missing prevResult: CHECK needs it");
    }

    const logContext = {
      command: cmd,
      containerId: env.containerId,
      netns: env.netns,
      ifname: env.ifname,
      network: conf.name,
      ...(cniArgs.K8S_POD_NAME === undefined ? {} : { podName: cniArgs.K8S_POD_NAME }),
      ...(cniArgs.K8S_POD_NAMESPACE === undefined
        ? {}
        : { podNamespace: cniArgs.K8S_POD_NAMESPACE }),
    };
    log = createLogger(conf.logOptions, logContext);
    for (const n of notes) log[n.level](n.msg, n.fields ?? {});
    // Before anything is changed: the netns must exist, be a netns, and not be ours.
    if (cmd === "ADD" || cmd === "CHECK") (io.checkNetns ?? validateNetns)(env.netns);
    mark("netns");
    const commands = await io.commands();
    const ctx: CmdContext = { env, conf, prevResult, cniArgs, log };
    switch (cmd) {
      case "ADD": {
        const result = await commands.cmdAdd(ctx);
        log.info("ADD done");
        const body = formatResult(result, cniVersion);
        return { stdout: JSON.stringify(body, null, 4) + "\n", stderr: "", exitCode: 0 };
      }
      case "DEL":
        await commands.cmdDel(ctx);
        log.info("DEL done");
        break;
      case "CHECK":
        await commands.cmdCheck(ctx);
        break;
      case "GC":
        await commands.cmdGc(ctx, readAttachments(raw));
        break;
      case "STATUS":
        await commands.cmdStatus(ctx);
        break;
      default: {
        const never: never = cmd;
        throw new Error(`Unhandled command ${String(never)}`);
      }
    }
    return { stdout: "", stderr: "", exitCode: 0 };
  } catch (err) {
    return errorOutcome(err, cniVersion, log);
  } finally {
    log.flush();
  }
}
