/**
 * Start-up cost of logging one line, as a CNI plugin process pays it: times
 * `deno run` of three tiny programs, interleaved, and prints median and p95.
 *
 * - `none`: no logging at all (the floor).
 * - `ours`: `mod/log.ts`, one line, `flush()`.
 * - `logtape`: `npm:@logtape/logtape@2.4.2` + `npm:@logtape/file@2.3.10`
 *   (rotating file sink, JSON lines formatter), one line, `dispose()`.
 *
 * Usage: `deno run --allow-all tools/bench/log_startup.ts [--runs N] [--compile]`
 * (default 20 runs). With `--compile`, each program is also built with
 * `deno compile` (the way the plugin ships) and the binaries are timed too.
 * Needs a writable /var/log (our module only writes there) and, once, the npm
 * registry to fetch LogTape into Deno's cache; the timed runs use
 * `--cached-only`.
 *
 * @module
 */

import { median } from "../lib/stats.ts";
import { errorMessage } from "../../mod/errors.ts";

const LOGTAPE = "npm:@logtape/logtape@2.4.2";
const LOGTAPE_FILE = "npm:@logtape/file@2.3.10";

const encoder = new TextEncoder();
function say(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text + "\n"));
}

function programs(logDir: string): Record<string, string> {
  const ours = new URL("../../mod/log.ts", import.meta.url).href;
  return {
    none: `// No logging: the cost of starting deno and running a module.
const x = Deno.args.length;
if (x < 0) throw new Error("unreachable");
`,
    ours: `import { createLogger } from ${JSON.stringify(ours)};
const log = createLogger(
  { logLevel: "debug", logFile: ${
      JSON.stringify(`${logDir}/ours.log`)
    }, logMaxSize: 100, logMaxAge: 30, logMaxCount: 10 },
  { command: "ADD", containerId: "c0ffee", netns: "/var/run/netns/p", ifname: "eth0", podName: "web-0", podNamespace: "shop" },
);
log.info("Pod network set up", { mtu: 1500 });
log.flush();
`,
    logtape: `import { configure, dispose, getLogger, jsonLinesFormatter } from ${
      JSON.stringify(LOGTAPE)
    };
import { getRotatingFileSink } from ${JSON.stringify(LOGTAPE_FILE)};
await configure({
  sinks: {
    file: getRotatingFileSink(${JSON.stringify(`${logDir}/logtape.log`)}, {
      formatter: jsonLinesFormatter,
      maxSize: 100 * 1024 * 1024,
      maxFiles: 10,
    }),
  },
  loggers: [
    { category: ["coordinator"], lowestLevel: "debug", sinks: ["file"] },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
  ],
});
getLogger(["coordinator"])
  .with({ command: "ADD", containerID: "c0ffee", netns: "/var/run/netns/p", ifname: "eth0", pod: "shop/web-0" })
  .info("Pod network set up", { mtu: 1500 });
await dispose();
`,
  };
}

interface Variant {
  name: string;
  cmd: string;
  args: string[];
  times: number[];
}

function runOnce(cmd: string, args: string[]): number {
  const start = performance.now();
  const out = new Deno.Command(cmd, { args, stdin: "null" }).outputSync();
  const ms = performance.now() - start;
  if (out.code !== 0) {
    throw new Error(
      `Run "${cmd} ${args.join(" ")}" failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return ms;
}

function quantile(sorted: number[], q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] ?? NaN;
}

function lineCount(path: string): number {
  try {
    return Deno.readTextFileSync(path).split("\n").filter((l) => l !== "").length;
  } catch {
    return 0;
  }
}

function main(): void {
  const runsAt = Deno.args.indexOf("--runs");
  const runs = runsAt >= 0 ? Number(Deno.args[runsAt + 1]) : 20;
  if (!Number.isInteger(runs) || runs < 1) {
    throw new Error(`Invalid --runs "${Deno.args[runsAt + 1]}"`);
  }
  const compile = Deno.args.includes("--compile");
  let compiled: boolean | undefined;

  const progDir = Deno.makeTempDirSync({ prefix: "coordinator-bench-" });
  const logDir = Deno.makeTempDirSync({ dir: "/var/log", prefix: "coordinator-bench-" });
  const deno = Deno.execPath();
  try {
    const flags = ["--no-config", "--no-lock", "--no-prompt", "--allow-read", "--allow-env"];
    const variants: Variant[] = [];
    for (const [name, source] of Object.entries(programs(logDir))) {
      const file = `${progDir}/${name}.ts`;
      Deno.writeTextFileSync(file, source);
      const args = ["run", ...flags, `--allow-write=${logDir}`, file];
      // Warm-up: fetch npm packages into the cache and fill the transpile cache.
      runOnce(deno, args);
      args.splice(1, 0, "--cached-only");
      variants.push({ name, cmd: deno, args, times: [] });
      if (compile && compiled !== false) {
        const bin = `${progDir}/${name}`;
        try {
          runOnce(deno, [
            "compile",
            "--quiet",
            ...flags,
            `--allow-write=${logDir}`,
            "-o",
            bin,
            file,
          ]);
        } catch (err) {
          // deno compile needs denort (DENORT_BIN or a download): skip, say why.
          const why = errorMessage(err).split("\n")[0];
          say(`Compiled variants skipped: ${why}`);
          compiled = false;
          continue;
        }
        runOnce(bin, []);
        compiled = true;
        variants.push({ name: `${name} (compiled)`, cmd: bin, args: [], times: [] });
      }
    }
    for (let i = 0; i < runs; i++) {
      for (const v of variants) v.times.push(runOnce(v.cmd, v.args));
    }
    const floorOf = (name: string) =>
      median([...variants.find((v) => v.name === name)!.times].sort((a, b) => a - b));
    say(`deno ${Deno.version.deno}, ${runs} runs each, interleaved; wall time per process\n`);
    say("| variant | median ms | p95 ms | min ms | median - none |");
    say("|---|---:|---:|---:|---:|");
    for (const v of variants) {
      const s = [...v.times].sort((a, b) => a - b);
      const m = median(s);
      const floor = floorOf(v.name.endsWith("(compiled)") ? "none (compiled)" : "none");
      say(
        `| ${v.name} | ${m.toFixed(1)} | ${quantile(s, 0.95).toFixed(1)} | ${
          (s[0] ?? NaN).toFixed(1)
        } | ${(m - floor).toFixed(1)} |`,
      );
    }
    // Both loggers must really have written every line.
    const expected = (runs + 1) * (compiled === true ? 2 : 1);
    for (const name of ["ours", "logtape"]) {
      const got = lineCount(`${logDir}/${name}.log`);
      if (got !== expected) {
        throw new Error(`Expected ${expected} lines from "${name}", got ${got}`);
      }
    }
  } finally {
    Deno.removeSync(progDir, { recursive: true });
    Deno.removeSync(logDir, { recursive: true });
  }
}

if (import.meta.main) main();
