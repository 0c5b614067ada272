/**
 * The plugin's logger: one JSON object per line, appended to the file named by
 * `logOptions.logFile`, rotated by size like lumberjack (the Go library the
 * original coordinator uses). Nothing is ever written to stdout, which belongs
 * to the CNI protocol. One file (about 500 lines): path checks, formatting
 * and rotation act on the same open file and must agree on it.
 *
 * Design points:
 * - Synchronous and unbuffered: every line is one `write(2)` on an `O_APPEND`
 *   descriptor, so several plugin processes can share one file without
 *   interleaving, and nothing is lost when the process exits right after the
 *   CNI answer.
 * - Lazy: the file is opened on the first line that passes the level filter; a
 *   logger whose level filters everything is {@linkcode nullLogger}.
 * - Harmless: no method ever throws. A file that cannot be opened or written
 *   costs one short line on stderr, after which lines are dropped.
 * - Safe path: {@linkcode validateLogPath} only accepts a path under
 *   `/var/log/` with no symlink below `/var/log`; it runs at config parse time
 *   and again just before the file is opened.
 *
 * Requires `--allow-read` and `--allow-write` for the log file's directory.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * const log = createLogger(
 *   { logLevel: "error", logFile: "/var/log/spidernet/coordinator.log", logMaxSize: 0, logMaxAge: 0, logMaxCount: 0 },
 *   { command: "ADD", containerId: "abc", netns: "/var/run/netns/x", ifname: "eth0" },
 * );
 * log.info("Filtered out: nothing is opened or written", { step: "example" });
 * log.flush();
 * ```
 *
 * @module
 */

import { CniError, ErrorCode, errorMessage } from "./errors.ts";

/** Log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "fatal" | "panic";

/** Log file settings. */
export interface LogOptions {
  logLevel: LogLevel;
  /** Absolute path under /var/log (default /var/log/spidernet/coordinator.log). */
  logFile: string;
  /** Rotate at this size, MB (0 = 100). */
  logMaxSize: number;
  /** Delete backups older than this, days (0 = never). */
  logMaxAge: number;
  /** Keep at most this many backups (0 = all). */
  logMaxCount: number;
}

/** A structured, synchronous logger. No method ever throws. */
export interface Logger {
  /** Log at DEBUG. */
  debug(msg: string, fields?: Record<string, unknown>): void;
  /** Log at INFO. */
  info(msg: string, fields?: Record<string, unknown>): void;
  /** Log at WARN. */
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** Log at ERROR. */
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line (and shares the file). */
  child(fields: Record<string, unknown>): Logger;
  /** Close the file; a later line opens it again. */
  flush(): void;
}

/** The CNI call a logger reports on every line. */
export interface LogContext {
  /** CNI_COMMAND, e.g. "ADD". */
  command: string;
  /** CNI_CONTAINERID. */
  containerId: string;
  /** CNI_NETNS. */
  netns: string;
  /** CNI_IFNAME. */
  ifname: string;
  /** K8S_POD_NAME, when known. */
  podName?: string;
  /** K8S_POD_NAMESPACE, when known. */
  podNamespace?: string;
  /** The network name of the config, when known. */
  network?: string;
}

/** Internal knobs, for tests. */
export interface LoggerInternalOptions {
  /** Rotate above this many bytes instead of `logMaxSize` MB. */
  maxBytes?: number;
  /** The clock (backup names and the age limit). */
  now?: () => Date;
  /** Where the one line about a broken log file goes (default: stderr). */
  stderr?: (text: string) => void;
}

/** The directory every log file must be under. */
export const LOG_DIR = "/var/log/";

const LOGGER_NAME = "coordinator";
const MB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_MAX_SIZE_MB = 100;
const FIELD = "logOptions.logFile";

const LEVEL_RANK: Record<LogLevel, number> = {
  debug: 0,
  info: 1,
  warn: 2,
  error: 3,
  fatal: 4,
  panic: 5,
};

/** Keys a caller's fields cannot overwrite. */
const RESERVED = new Set([
  "ts",
  "level",
  "logger",
  "msg",
  "command",
  "containerID",
  "netns",
  "ifname",
  "pod",
  "network",
]);

function noop(): void {}

/** A logger that drops everything. */
export const nullLogger: Logger = Object.freeze({
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => nullLogger,
  flush: noop,
});

/** The message shape of mod/config/parse.ts: `Invalid "field": "value" why`. */
function refuse(path: string, why: string): never {
  throw new CniError(
    ErrorCode.InvalidNetworkConfig,
    `Invalid "${FIELD}": ${JSON.stringify(path)} ${why}`,
  );
}

/** Lexical POSIX normalisation of an absolute path ("." and ".." resolved). */
function normalise(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}

/**
 * Check a log file path and return it normalised. The rule: an absolute path
 * that, after resolving `.` and `..`, names a file strictly below `/var/log/`;
 * no existing component below `/var/log` (directory or the file itself) may be
 * a symlink, an existing parent must be a directory and an existing file must
 * be a regular file. Pure string checks plus one `lstat` per existing
 * component.
 *
 * Requires `--allow-read`.
 *
 * @param path the configured `logOptions.logFile`
 * @returns the normalised path
 * @throws {CniError} code 7 naming `logOptions.logFile` and the value
 */
export function validateLogPath(path: string): string {
  if (typeof path !== "string" || path === "") refuse(String(path), "is empty");
  if (path.includes("\0")) refuse(path, "contains a NUL byte");
  if (!path.startsWith("/")) refuse(path, `is not an absolute path under "${LOG_DIR}"`);
  if (path.endsWith("/")) refuse(path, "names a directory, not a file");
  const norm = normalise(path);
  if (!norm.startsWith(LOG_DIR) || norm.length === LOG_DIR.length) {
    refuse(path, `is not a file under "${LOG_DIR}" once ".." is resolved`);
  }
  const parts = norm.slice(LOG_DIR.length).split("/");
  let current = LOG_DIR.slice(0, -1);
  for (let i = 0; i < parts.length; i++) {
    current += "/" + parts[i];
    const isFile = i === parts.length - 1;
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(current);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) break;
      const reason = errorMessage(err);
      refuse(path, `cannot be checked at "${current}": ${reason}`);
    }
    if (info.isSymlink) refuse(path, `has a symlink at "${current}"`);
    if (isFile && !info.isFile) refuse(path, "is not a regular file");
    if (!isFile && !info.isDirectory) refuse(path, `has a non-directory at "${current}"`);
  }
  return norm;
}

/** "2006-01-02T15:04:05.000+07:00" in the local zone. */
function isoLocal(d: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `.${pad(d.getMilliseconds(), 3)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** lumberjack's backup time stamp: UTC "2006-01-02T15-04-05.000". */
function backupStamp(d: Date): string {
  return d.toISOString().slice(0, 23).replaceAll(":", "-");
}

function splitName(path: string): { dir: string; prefix: string; ext: string } {
  const slash = path.lastIndexOf("/");
  const dir = path.slice(0, slash) || "/";
  const base = path.slice(slash + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0
    ? { dir, prefix: base.slice(0, dot), ext: base.slice(dot) }
    : { dir, prefix: base, ext: "" };
}

function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return value.message;
  if (value instanceof Uint8Array) return Array.from(value);
  return value;
}

/** The file, shared by a logger and its children. */
class Sink {
  readonly #path: string;
  readonly #maxBytes: number;
  readonly #maxAgeMs: number;
  readonly #maxCount: number;
  readonly #now: () => Date;
  readonly #stderr: (text: string) => void;
  readonly #encoder = new TextEncoder();
  #file: Deno.FsFile | undefined;
  #broken = false;

  constructor(opts: LogOptions, internal: LoggerInternalOptions) {
    this.#path = opts.logFile;
    const mb = opts.logMaxSize > 0 ? opts.logMaxSize : DEFAULT_MAX_SIZE_MB;
    this.#maxBytes = internal.maxBytes ?? mb * MB;
    this.#maxAgeMs = opts.logMaxAge > 0 ? opts.logMaxAge * DAY_MS : 0;
    this.#maxCount = opts.logMaxCount > 0 ? Math.floor(opts.logMaxCount) : 0;
    this.#now = internal.now ?? (() => new Date());
    this.#stderr = internal.stderr ?? ((text) => {
      Deno.stderr.writeSync(this.#encoder.encode(text));
    });
  }

  now(): Date {
    return this.#now();
  }

  write(line: string): void {
    if (this.#broken) return;
    try {
      const bytes = this.#encoder.encode(line);
      const file = this.#file ?? this.#open();
      this.#writeAll(this.#rotateIfNeeded(file, bytes.length), bytes);
    } catch (err) {
      this.#fail(err);
    }
  }

  close(): void {
    const file = this.#file;
    this.#file = undefined;
    try {
      file?.close();
    } catch {
      // Already closed: nothing to do.
    }
  }

  #fail(err: unknown): void {
    this.#broken = true;
    this.close();
    const reason = errorMessage(err);
    try {
      this.#stderr(`${LOGGER_NAME}: cannot write log file "${this.#path}": ${reason}\n`);
    } catch {
      // stderr is gone too: drop.
    }
  }

  /** Open (creating the parent 0755 and the file 0600), refusing symlinks. */
  #open(): Deno.FsFile {
    const path = validateLogPath(this.#path);
    Deno.mkdirSync(splitName(path).dir, { recursive: true, mode: 0o755 });
    const file = Deno.openSync(path, { append: true, create: true, mode: 0o600 });
    try {
      // Deno has no O_NOFOLLOW: check that what we opened is what the name is.
      const named = Deno.lstatSync(path);
      if (named.isSymlink || !named.isFile || named.ino !== file.statSync().ino) {
        throw new Error(`"${path}" changed while being opened`);
      }
    } catch (err) {
      file.close();
      throw err;
    }
    this.#file = file;
    return file;
  }

  /** lumberjack: rotate when the line would take the file over the limit. */
  #rotateIfNeeded(file: Deno.FsFile, len: number): Deno.FsFile {
    for (let attempt = 0; attempt < 3; attempt++) {
      const size = file.statSync().size;
      if (size === 0 || size + len <= this.#maxBytes) return file;
      // Another process may be rotating too: one rotates, the others notice
      // that the name now points at a new file and append there.
      file.lockSync(true);
      let rotated = false;
      try {
        const named = Deno.lstatSync(this.#path);
        const held = file.statSync();
        if (named.ino === held.ino && held.size > 0 && held.size + len > this.#maxBytes) {
          Deno.renameSync(this.#path, this.#freeBackupName());
          rotated = true;
        }
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      } finally {
        file.unlockSync();
      }
      this.close();
      file = this.#open();
      if (rotated) this.#prune();
    }
    return file;
  }

  #freeBackupName(): string {
    const { dir, prefix, ext } = splitName(this.#path);
    let t = this.#now().getTime();
    for (let i = 0; i < 1000; i++, t++) {
      const name = `${dir}/${prefix}-${backupStamp(new Date(t))}${ext}`;
      try {
        Deno.lstatSync(name);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return name;
        throw err;
      }
    }
    throw new Error(`No free backup name for "${this.#path}"`);
  }

  /** Delete backups beyond logMaxCount (newest kept) and older than logMaxAge. */
  #prune(): void {
    if (this.#maxCount === 0 && this.#maxAgeMs === 0) return;
    const { dir, prefix, ext } = splitName(this.#path);
    const stamp = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}$/;
    const backups: string[] = [];
    for (const entry of Deno.readDirSync(dir)) {
      const name = entry.name;
      if (!entry.isFile || !name.startsWith(prefix + "-") || !name.endsWith(ext)) continue;
      if (stamp.test(name.slice(prefix.length + 1, name.length - ext.length))) backups.push(name);
    }
    // Fixed-width UTC stamps sort by time: newest first.
    backups.sort().reverse();
    const cutoff = this.#now().getTime() - this.#maxAgeMs;
    backups.forEach((name, index) => {
      const full = `${dir}/${name}`;
      try {
        let drop = this.#maxCount > 0 && index >= this.#maxCount;
        if (!drop && this.#maxAgeMs > 0) {
          const mtime = Deno.lstatSync(full).mtime;
          drop = mtime !== null && mtime.getTime() < cutoff;
        }
        if (drop) Deno.removeSync(full);
      } catch {
        // Gone already (another process pruned): fine.
      }
    });
  }

  #writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
    let done = file.writeSync(bytes);
    while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
  }
}

class FileLogger implements Logger {
  readonly #sink: Sink;
  readonly #rank: number;
  readonly #base: Record<string, unknown>;
  readonly #extra: Record<string, unknown>;

  constructor(
    sink: Sink,
    rank: number,
    base: Record<string, unknown>,
    extra: Record<string, unknown>,
  ) {
    this.#sink = sink;
    this.#rank = rank;
    this.#base = base;
    this.#extra = extra;
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    if (this.#rank <= 0) this.#log("DEBUG", msg, fields);
  }

  info(msg: string, fields?: Record<string, unknown>): void {
    if (this.#rank <= 1) this.#log("INFO", msg, fields);
  }

  warn(msg: string, fields?: Record<string, unknown>): void {
    if (this.#rank <= 2) this.#log("WARN", msg, fields);
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    if (this.#rank <= 3) this.#log("ERROR", msg, fields);
  }

  child(fields: Record<string, unknown>): Logger {
    try {
      return new FileLogger(this.#sink, this.#rank, this.#base, { ...this.#extra, ...fields });
    } catch {
      return this;
    }
  }

  flush(): void {
    this.#sink.close();
  }

  #log(level: string, msg: string, fields: Record<string, unknown> | undefined): void {
    try {
      this.#sink.write(this.#format(level, msg, fields));
    } catch {
      // Formatting failed in a way #format did not foresee: drop the line.
    }
  }

  #format(level: string, msg: string, fields: Record<string, unknown> | undefined): string {
    const record: Record<string, unknown> = {
      ts: isoLocal(this.#sink.now()),
      level,
      logger: LOGGER_NAME,
      msg: String(msg),
      ...this.#base,
    };
    for (const source of [this.#extra, fields]) {
      if (source === undefined || source === null) continue;
      for (const [key, value] of Object.entries(source)) {
        if (!RESERVED.has(key)) record[key] = value;
      }
    }
    try {
      return JSON.stringify(record, jsonValue) + "\n";
    } catch (err) {
      // A cycle or a throwing toJSON in the fields: keep the line, lose them.
      const plain: Record<string, unknown> = {};
      for (const key of RESERVED) if (key in record) plain[key] = record[key];
      plain.fieldsError = errorMessage(err);
      return JSON.stringify(plain) + "\n";
    }
  }
}

/**
 * Create the logger of one CNI call. Nothing is opened until the first line
 * that passes the level filter; with a level above `error` (fatal, panic) the
 * result is {@linkcode nullLogger}.
 *
 * Requires `--allow-read` and `--allow-write` for the log file's directory.
 *
 * @param opts the validated `logOptions`
 * @param context the CNI call, put on every line
 * @param internal test knobs (`maxBytes`, `now`, `stderr`)
 * @returns a logger that never throws
 */
export function createLogger(
  opts: LogOptions,
  context: LogContext,
  internal: LoggerInternalOptions = {},
): Logger {
  const rank = LEVEL_RANK[opts.logLevel] ?? LEVEL_RANK.debug;
  if (rank > LEVEL_RANK.error) return nullLogger;
  const base: Record<string, unknown> = {
    command: context.command,
    containerID: context.containerId,
    netns: context.netns,
    ifname: context.ifname,
  };
  if (context.podName !== undefined || context.podNamespace !== undefined) {
    base.pod = `${context.podNamespace ?? ""}/${context.podName ?? ""}`;
  }
  if (context.network !== undefined) base.network = context.network;
  return new FileLogger(new Sink(opts, internal), rank, base, {});
}
