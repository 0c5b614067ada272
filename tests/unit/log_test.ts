/**
 * One file, as mod/log.ts is one module: its path rules, format and rotation are tested together.
 *
 * Unit tests of mod/log.ts: path rules, JSON shape, level filter, rotation,
 * pruning and the "never throws, never stdout" promise. Tests that write use
 * a fresh directory under /var/log and remove it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { useRunDirs } from "../../tools/lib/run_dirs.ts";
import type { LogOptions } from "../../mod/log.ts";
import { CniError } from "../../mod/errors.ts";
import {
  createLogger,
  type LogContext,
  type Logger,
  nullLogger,
  validateLogPath,
} from "../../mod/log.ts";

const CTX: LogContext = {
  command: "ADD",
  containerId: "c0ffee",
  netns: "/var/run/netns/pod1",
  ifname: "eth0",
  podName: "web-0",
  podNamespace: "shop",
  network: "macvlan-conf",
};

/** Scratch log directories carry the test run's tag (tools/lib/run_dirs.ts), for tests/zz_leftovers_test.ts. */
const LOG_PREFIX = `coordinator-test-${useRunDirs().tag}-`;

const STAMP = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}$/;

function varLogWritable(): boolean {
  try {
    const dir = Deno.makeTempDirSync({ dir: "/var/log", prefix: LOG_PREFIX });
    Deno.removeSync(dir, { recursive: true });
    return true;
  } catch {
    return false;
  }
}

const NO_VAR_LOG = !varLogWritable();

/** Register a test that needs a scratch directory under /var/log. */
function varLogTest(name: string, fn: (dir: string) => void): void {
  Deno.test({
    name: NO_VAR_LOG ? `${name} (ignored: /var/log is not writable)` : name,
    ignore: NO_VAR_LOG,
    fn() {
      const dir = Deno.makeTempDirSync({ dir: "/var/log", prefix: LOG_PREFIX });
      try {
        fn(dir);
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    },
  });
}

function opts(logFile: string, extra: Partial<LogOptions> = {}): LogOptions {
  return { logLevel: "debug", logFile, logMaxSize: 0, logMaxAge: 0, logMaxCount: 0, ...extra };
}

function readLines(path: string): Record<string, unknown>[] {
  return Deno.readTextFileSync(path).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

function backups(dir: string, prefix = "coordinator", ext = ".log"): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
    n.startsWith(prefix + "-") && n.endsWith(ext)
  ).sort();
}

function assertRefused(path: string): void {
  assert.throws(() => validateLogPath(path), (err: unknown) => {
    assert.ok(err instanceof CniError, `expected a CniError for ${JSON.stringify(path)}`);
    assert.equal(err.code, 7);
    assert.match(err.message, /logOptions\.logFile/);
    assert.ok(err.message.startsWith(`Invalid "logOptions.logFile": ${JSON.stringify(path)} `));
    return true;
  });
}

// ---------------------------------------------------------------- path rules

Deno.test("validateLogPath() accepts a file under /var/log and normalises it", () => {
  assert.equal(
    validateLogPath("/var/log/spidernet/coordinator.log"),
    "/var/log/spidernet/coordinator.log",
  );
  assert.equal(
    validateLogPath("/var/log//spidernet/./x/../coordinator.log"),
    "/var/log/spidernet/coordinator.log",
  );
  assert.equal(validateLogPath("/var/log/no-such-dir/a/b/c.log"), "/var/log/no-such-dir/a/b/c.log");
});

Deno.test("validateLogPath() refuses relative paths", () => {
  for (const p of ["coordinator.log", "var/log/coordinator.log", "./var/log/x.log", ""]) {
    assertRefused(p);
  }
});

Deno.test("validateLogPath() refuses paths outside /var/log", () => {
  for (const p of ["/tmp/x.log", "/etc/passwd", "/var/logs/x.log", "/var/log", "/", "/var/x"]) {
    assertRefused(p);
  }
});

Deno.test("validateLogPath() refuses .. that escapes /var/log", () => {
  for (
    const p of [
      "/var/log/../../etc/passwd",
      "/var/log/..",
      "/var/log/spidernet/../../lib/x.log",
      "/var/log/./..",
    ]
  ) {
    assertRefused(p);
  }
});

Deno.test("validateLogPath() refuses a directory name and a NUL byte", () => {
  assertRefused("/var/log/spidernet/");
  assertRefused("/var/log/.");
  assertRefused("/var/log/a\0b.log");
});

varLogTest("validateLogPath() refuses a symlinked directory", (dir) => {
  Deno.mkdirSync(`${dir}/real`);
  Deno.symlinkSync(`${dir}/real`, `${dir}/link`);
  assertRefused(`${dir}/link/coordinator.log`);
  assertRefused(`${dir}/link/deeper/coordinator.log`);
  assert.equal(validateLogPath(`${dir}/real/coordinator.log`), `${dir}/real/coordinator.log`);
});

varLogTest("validateLogPath() refuses a symlinked file, even a dangling one", (dir) => {
  Deno.writeTextFileSync(`${dir}/target`, "");
  Deno.symlinkSync(`${dir}/target`, `${dir}/coordinator.log`);
  assertRefused(`${dir}/coordinator.log`);
  Deno.symlinkSync("/etc/shadow-does-not-exist", `${dir}/dangling.log`);
  assertRefused(`${dir}/dangling.log`);
});

varLogTest("validateLogPath() refuses a non-file target and a non-directory parent", (dir) => {
  Deno.mkdirSync(`${dir}/sub`);
  assertRefused(`${dir}/sub`);
  Deno.writeTextFileSync(`${dir}/plain`, "");
  assertRefused(`${dir}/plain/coordinator.log`);
});

// ------------------------------------------------------------ shape, levels

varLogTest("createLogger() writes one JSON object per line with the context", (dir) => {
  const file = `${dir}/coordinator.log`;
  const log = createLogger(opts(file), CTX);
  log.info("Pod network set up", { ips: ["10.0.0.5/24"], mtu: 1500 });
  log.child({ step: "routes" }).warn("Route exists", { dst: "10.0.0.0/24" });
  log.flush();
  const lines = readLines(file);
  assert.equal(lines.length, 2);
  const first = lines[0]!;
  assert.deepEqual(Object.keys(first).slice(0, 10), [
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
  assert.match(String(first.ts), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
  assert.deepEqual({ ...first, ts: "" }, {
    ts: "",
    level: "INFO",
    logger: "coordinator",
    msg: "Pod network set up",
    command: "ADD",
    containerID: "c0ffee",
    netns: "/var/run/netns/pod1",
    ifname: "eth0",
    pod: "shop/web-0",
    network: "macvlan-conf",
    ips: ["10.0.0.5/24"],
    mtu: 1500,
  });
  assert.equal(lines[1]!.level, "WARN");
  assert.equal(lines[1]!.step, "routes");
  assert.equal(lines[1]!.dst, "10.0.0.0/24");
});

varLogTest("createLogger() leaves out pod and network when unknown", (dir) => {
  const file = `${dir}/coordinator.log`;
  const log = createLogger(opts(file), {
    command: "DEL",
    containerId: "c1",
    netns: "",
    ifname: "eth0",
  });
  log.debug("Nothing to do");
  log.flush();
  const [line] = readLines(file);
  assert.ok(line);
  assert.equal("pod" in line, false);
  assert.equal("network" in line, false);
  assert.equal(line.command, "DEL");
  assert.equal(line.level, "DEBUG");
});

varLogTest("createLogger() keeps reserved keys and survives odd field values", (dir) => {
  const file = `${dir}/coordinator.log`;
  const log = createLogger(opts(file), CTX);
  log.error("Odd values", {
    level: "NOPE",
    containerID: "spoofed",
    big: 12n,
    err: new Error("Boom"),
  });
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  log.child({ msg: "spoofed" }).info("Cyclic", { cyclic });
  log.flush();
  const [odd, cyc] = readLines(file);
  assert.ok(odd && cyc);
  assert.equal(odd.level, "ERROR");
  assert.equal(odd.containerID, "c0ffee");
  assert.equal(odd.big, "12");
  assert.equal(odd.err, "Boom");
  assert.equal(cyc.msg, "Cyclic");
  assert.equal(typeof cyc.fieldsError, "string");
  assert.equal("cyclic" in cyc, false);
});

varLogTest("createLogger() filters by level", (dir) => {
  const levels = ["debug", "info", "warn", "error"] as const;
  for (const level of levels) {
    const file = `${dir}/${level}.log`;
    const log = createLogger(opts(file, { logLevel: level }), CTX);
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    log.flush();
    const got = readLines(file).map((l) => l.msg);
    assert.deepEqual(got, ["d", "i", "w", "e"].slice(levels.indexOf(level)), level);
  }
});

varLogTest("createLogger() with fatal or panic writes nothing and opens nothing", (dir) => {
  for (const level of ["fatal", "panic"] as const) {
    const file = `${dir}/sub-${level}/coordinator.log`;
    const log = createLogger(opts(file, { logLevel: level }), CTX);
    assert.equal(log, nullLogger);
    log.error("e");
    log.child({ a: 1 }).error("e");
    log.flush();
    assert.throws(() => Deno.lstatSync(`${dir}/sub-${level}`), Deno.errors.NotFound);
  }
});

varLogTest("createLogger() opens lazily: a filtered line creates no file", (dir) => {
  const file = `${dir}/lazy/coordinator.log`;
  const log = createLogger(opts(file, { logLevel: "warn" }), CTX);
  log.debug("d");
  log.info("i");
  log.flush();
  assert.throws(() => Deno.lstatSync(`${dir}/lazy`), Deno.errors.NotFound);
});

varLogTest("createLogger() creates the directory 0755 and the file 0600", (dir) => {
  const file = `${dir}/a/b/coordinator.log`;
  const log = createLogger(opts(file), CTX);
  log.info("hello");
  log.flush();
  assert.equal(Deno.statSync(`${dir}/a/b`).mode! & 0o777, 0o755);
  assert.equal(Deno.statSync(file).mode! & 0o777, 0o600);
});

// ----------------------------------------------------------------- rotation

varLogTest("createLogger() rotates by size into lumberjack-named backups", (dir) => {
  const file = `${dir}/coordinator.log`;
  const log = createLogger(opts(file), CTX, { maxBytes: 600 });
  const n = 20;
  for (let i = 0; i < n; i++) log.info(`line ${i}`);
  log.flush();
  const names = backups(dir);
  assert.ok(names.length >= 3, `expected backups, got ${names.join(", ")}`);
  for (const name of names) {
    assert.match(name.slice("coordinator-".length, -".log".length), STAMP);
    assert.ok(Deno.statSync(`${dir}/${name}`).size <= 600);
    assert.equal(Deno.statSync(`${dir}/${name}`).mode! & 0o777, 0o600);
  }
  assert.ok(Deno.statSync(file).size <= 600);
  // Nothing lost, order kept: backups (oldest first) then the live file.
  const all = [...names.map((n) => `${dir}/${n}`), file].flatMap(readLines).map((l) => l.msg);
  assert.deepEqual(all, Array.from({ length: n }, (_, i) => `line ${i}`));
});

varLogTest("createLogger() names backups after the file's base name, in UTC", (dir) => {
  const file = `${dir}/audit.txt`;
  const fixed = new Date("2026-01-02T03:04:05.678Z");
  const log = createLogger(opts(file), CTX, { maxBytes: 1, now: () => fixed });
  log.info("one");
  log.info("two");
  log.info("three");
  log.flush();
  // Same instant twice: the second backup takes the next free millisecond.
  assert.deepEqual(backups(dir, "audit", ".txt"), [
    "audit-2026-01-02T03-04-05.678.txt",
    "audit-2026-01-02T03-04-05.679.txt",
  ]);
  assert.equal(readLines(file)[0]!.msg, "three");
});

varLogTest("createLogger() writes a line larger than the limit into a fresh file", (dir) => {
  const file = `${dir}/coordinator.log`;
  const log = createLogger(opts(file), CTX, { maxBytes: 50 });
  log.info("x".repeat(200));
  log.info("y".repeat(200));
  log.flush();
  assert.equal(readLines(file).length, 1);
  assert.equal(backups(dir).length, 1);
});

varLogTest("createLogger() keeps at most logMaxCount backups, newest first", (dir) => {
  const file = `${dir}/coordinator.log`;
  let t = Date.parse("2026-03-01T00:00:00Z");
  const log = createLogger(opts(file, { logMaxCount: 2 }), CTX, {
    maxBytes: 1,
    now: () => new Date(t += 1000),
  });
  for (let i = 0; i < 6; i++) log.info(`line ${i}`);
  log.flush();
  const names = backups(dir);
  assert.equal(names.length, 2);
  assert.deepEqual(names.map((n) => readLines(`${dir}/${n}`)[0]!.msg), ["line 3", "line 4"]);
});

varLogTest("createLogger() deletes backups older than logMaxAge days", (dir) => {
  const file = `${dir}/coordinator.log`;
  const now = Date.parse("2026-03-10T12:00:00Z");
  const day = 24 * 60 * 60;
  const make = (name: string, ageDays: number) => {
    Deno.writeTextFileSync(`${dir}/${name}`, "{}\n");
    const when = now / 1000 - ageDays * day;
    Deno.utimeSync(`${dir}/${name}`, when, when);
  };
  make("coordinator-2026-03-01T00-00-00.000.log", 9);
  make("coordinator-2026-03-05T00-00-00.000.log", 5);
  make("coordinator-2026-03-09T00-00-00.000.log", 1);
  make("coordinator-not-a-stamp.log", 30); // not a backup: left alone
  make("other-2026-01-01T00-00-00.000.log", 30); // another log's backup
  Deno.writeTextFileSync(file, "{}\n");
  const log = createLogger(opts(file, { logMaxAge: 3 }), CTX, {
    maxBytes: 1,
    now: () => new Date(now),
  });
  log.info("rotate now");
  log.flush();
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
    "coordinator-2026-03-09T00-00-00.000.log",
    "coordinator-2026-03-10T12-00-00.000.log",
    "coordinator-not-a-stamp.log",
    "coordinator.log",
    "other-2026-01-01T00-00-00.000.log",
  ]);
});

varLogTest("createLogger() loses no line when two writers share and rotate a file", (dir) => {
  const file = `${dir}/coordinator.log`;
  const a = createLogger(opts(file), { ...CTX, containerId: "a" }, { maxBytes: 700 });
  const b = createLogger(opts(file), { ...CTX, containerId: "b" }, { maxBytes: 700 });
  for (let i = 0; i < 30; i++) {
    a.info(`a${i}`);
    b.info(`b${i}`);
  }
  a.flush();
  b.flush();
  const lines = [...backups(dir).map((n) => `${dir}/${n}`), file].flatMap(readLines);
  assert.ok(backups(dir).length >= 2);
  assert.equal(lines.length, 60);
  assert.equal(new Set(lines.map((l) => l.msg)).size, 60);
});

// ------------------------------------------------------------ never throws

varLogTest("createLogger() never throws on a path it cannot use", (dir) => {
  Deno.writeTextFileSync(`${dir}/plain`, "");
  Deno.mkdirSync(`${dir}/real`);
  Deno.symlinkSync(`${dir}/real`, `${dir}/link`);
  const bad = [
    "/tmp/coordinator-outside.log", // outside /var/log (config would refuse it)
    "relative.log",
    `${dir}/plain/coordinator.log`, // parent is a file
    `${dir}/link/coordinator.log`, // through a symlink
    `${dir}/real`, // a directory
  ];
  for (const path of bad) {
    const errs: string[] = [];
    const log: Logger = createLogger(opts(path), CTX, { stderr: (t) => errs.push(t) });
    log.info("first");
    log.child({ x: 1 }).error("second");
    log.flush();
    assert.equal(errs.length, 1, path);
    assert.match(errs[0]!, /^coordinator: cannot write log file ".*": .+\n$/);
  }
  assert.deepEqual([...Deno.readDirSync(`${dir}/real`)], []);
  assert.throws(() => Deno.lstatSync("/tmp/coordinator-outside.log"), Deno.errors.NotFound);
});

varLogTest("createLogger() puts nothing on stdout, even when the file is unusable", (dir) => {
  const mod = new URL("../../mod/log.ts", import.meta.url).href;
  const script = `
    import { createLogger } from ${JSON.stringify(mod)};
    const o = { logLevel: "debug", logMaxSize: 0, logMaxAge: 0, logMaxCount: 0 };
    const c = { command: "ADD", containerId: "c", netns: "n", ifname: "eth0" };
    const good = createLogger({ ...o, logFile: ${JSON.stringify(`${dir}/ok.log`)} }, c);
    good.info("ok"); good.flush();
    const bad = createLogger({ ...o, logFile: ${JSON.stringify(`${dir}/ok.log/x.log`)} }, c);
    bad.info("lost"); bad.info("lost again"); bad.flush();
  `;
  const out = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", "--no-prompt", "--allow-read", `--allow-write=${dir}`, script],
    stdin: "null",
  }).outputSync();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(out.stdout.length, 0);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(stderr.split("\n").filter((l) => l !== "").length, 1, stderr);
  assert.equal(readLines(`${dir}/ok.log`).length, 1);
});

Deno.test("nullLogger drops everything and its child is itself", () => {
  nullLogger.debug("d");
  nullLogger.info("i", { a: 1 });
  nullLogger.warn("w");
  nullLogger.error("e");
  nullLogger.flush();
  assert.equal(nullLogger.child({ a: 1 }), nullLogger);
});
