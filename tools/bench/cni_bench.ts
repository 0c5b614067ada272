/**
 * One file: a command-line tool whose world, runs and report tables belong together.
 *
 * `deno task bench` (root): what one CNI call of the coordinator costs, next to
 * the reference macvlan plugin measured in the same run and the same world.
 *
 * ```sh
 * deno task bench                # 20 pods per pass
 * deno task bench --pods 50
 * deno task bench --burst 32     # also 32 ADDs at once, then 32 DELs at once
 * COORDINATOR_BIN=dist/coordinator deno task bench   # the compiled binary
 * ```
 *
 * First the floors: an empty Deno program (tools/bench/_empty.ts) and the
 * coordinator's VERSION, each started N times with the plugin's own flags.
 * Then for each pass (detection off, detection on) it creates N pods in a netns
 * world (tools/lib/world.ts); for each pod it times macvlan ADD (static
 * IPAM) and then coordinator ADD, one after the other; then coordinator DEL and
 * macvlan DEL for every pod. In the detection-off pass, tools/bench/_process_floor.ts
 * (Deno starting the children of an ADD in the same rounds, with no plugin
 * logic) runs in each pod just before our ADD; in the detection-on pass each
 * pod is first ADDed and DELed without detection, so that the cost of detection
 * is measured on the same pod. Every call is a fresh process started in the node
 * netns with env + stdin, as a runtime does (tools/lib/invoke.ts); the first pod
 * of a pass is a warm-up and is reported apart. With `--burst N`, N more pods
 * get their macvlan NIC one by one, then N coordinator ADDs start at once, and
 * once all have ended N DELs start at once: the walls of both bursts, and the
 * CPU time (user + sys, of the plugin process and the children it waited for,
 * from `/usr/bin/time`) per ADD and per DEL.
 *
 * Then, on a few more pods and untimed: child processes per ADD (`strace -f -e
 * trace=execve`, successful execs only, the plugin's own exec not counted) and
 * peak memory (`/usr/bin/time -f %M`, maximum RSS) of ADD and DEL. Codec
 * throughput comes from `deno bench tools/bench/codec_bench.ts` when that file exists.
 *
 * Prints a table and, last, one line `BENCH_JSON {...}`. Exit 0 when every
 * call succeeded (budgets are reported, not enforced), 1 otherwise.
 *
 * @module
 */

import { createWorld, WORLD, type World } from "../lib/world.ts";
import { invoke, macvlanConf } from "../lib/invoke.ts";
import {
  containerId as randomContainerId,
  denoRunArgv,
  pluginArgv,
  refPluginDir,
} from "../lib/plugin.ts";
import { median } from "../lib/stats.ts";
import { errorMessage } from "../../mod/errors.ts";
import { whichTool } from "../lib/netns.ts";
import { removeRunDirs, runLogFile, useRunDirs } from "../lib/run_dirs.ts";

const encoder = new TextEncoder();

/** The argv of tools/bench/_process_floor.ts: `deno run` with the plugin's own flags. */
function processFloorArgv(): string[] {
  return denoRunArgv(new URL("./_process_floor.ts", import.meta.url).pathname);
}

/** The argv of tools/bench/_empty.ts: `deno run` with the plugin's own flags. */
function emptyArgv(): string[] {
  return denoRunArgv(new URL("./_empty.ts", import.meta.url).pathname);
}

function say(text = ""): void {
  Deno.stdout.writeSync(encoder.encode(text + "\n"));
}

/** Median and 95th percentile (nearest rank) of a sample, plus its size. */
export interface Stats {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
}

/**
 * Summarise a sample.
 *
 * @param values the sample (any order)
 * @returns median, p95 (nearest rank), min, max
 */
export function stats(values: readonly number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { n: 0, median: NaN, p95: NaN, min: NaN, max: NaN };
  const p95 = s[Math.min(n - 1, Math.ceil(0.95 * n) - 1)]!;
  return { n, median: median(s), p95, min: s[0]!, max: s[n - 1]! };
}

/**
 * Count successful execve calls per program in an `strace -f -e trace=execve` log.
 *
 * @param log the strace output
 * @returns total successful execs and a count per basename
 */
export function countExecs(log: string): { total: number; byName: Record<string, number> } {
  const byName: Record<string, number> = {};
  let total = 0;
  for (const line of log.split("\n")) {
    const m = /execve\("([^"]+)".*\) = 0\s*$/.exec(line);
    if (m === null) continue;
    const name = m[1]!.slice(m[1]!.lastIndexOf("/") + 1);
    byName[name] = (byName[name] ?? 0) + 1;
    total++;
  }
  return { total, byName };
}

interface PassResult {
  detection: boolean;
  ourAdd: Stats;
  ourDel: Stats;
  macvlanAdd: Stats;
  macvlanDel: Stats;
  /** tools/bench/_process_floor.ts next to each ADD (detection-off pass only). */
  processFloor?: Stats;
  /** Detection-on pass: each pod's ADD minus its own ADD without detection. */
  detectionCost?: Stats;
  /** The plugin's own phase marks (mod/phases.ts): median ms since the process started. */
  addPhases: Record<string, number>;
  delPhases: Record<string, number>;
  firstOurAddMs: number;
  failures: string[];
}

/** The median of each phase mark over the calls that reported it. */
export function medianPhases(runs: readonly Record<string, number>[]): Record<string, number> {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  const out: Record<string, number> = {};
  for (const n of names) {
    const xs = runs.map((r) => r[n]).filter((x): x is number => x !== undefined);
    out[n] = Math.round(median(xs) * 100) / 100;
  }
  return out;
}

interface Options {
  pods: number;
  probePods: number;
  /** Pods of the burst pass (0: none). */
  burst: number;
}

function parseOptions(argv: readonly string[]): Options {
  const opts: Options = { pods: 20, probePods: 3, burst: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = Number(argv[i + 1]);
    if (a === "--pods" && Number.isInteger(v) && v > 0) (opts.pods = v, i++);
    else if (a === "--probe-pods" && Number.isInteger(v) && v > 0) (opts.probePods = v, i++);
    else if (a === "--burst" && Number.isInteger(v) && v > 0 && v <= 200) (opts.burst = v, i++);
    else throw new Error(`Unknown argument "${a}": use --pods N, --probe-pods N, --burst N`);
  }
  return opts;
}

const NET = "bench-underlay";
const CNI_VERSION = "1.0.0";

function coordinatorConf(detection: boolean, logFile: string): Record<string, unknown> {
  return {
    cniVersion: CNI_VERSION,
    name: NET,
    type: "coordinator",
    mode: "auto",
    serviceCIDR: ["10.233.0.0/18"],
    overlayPodCIDR: ["10.233.64.0/18"],
    detectIPConflict: detection,
    detectGateway: detection,
    logOptions: { logLevel: "info", logFile },
  };
}

interface PodRun {
  containerId: string;
  netns: string;
  mv: Record<string, unknown>;
  result: unknown;
}

/** The environment that makes the plugin report its phases (mod/phases.ts). */
const PHASES_ON = { COORDINATOR_PHASES: "1" };

/** The phases one call reported on stderr (`PHASES {...}`), ms since its start. */
export function phasesOf(stderr: string): Record<string, number> | undefined {
  const line = stderr.split("\n").find((l) => l.startsWith("PHASES "));
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line.slice("PHASES ".length));
  } catch {
    return undefined;
  }
}

async function addPod(
  world: World,
  subnetByte: number,
  index: number,
  detection: boolean,
  logFile: string,
  wrapper?: { coordinator?: string[]; macvlan?: string[] },
  floor = false,
): Promise<
  {
    pod: PodRun;
    mvMs: number;
    ourMs: number;
    floorMs?: number;
    plainMs?: number;
    phases?: Record<string, number>;
    error?: string;
  }
> {
  const ns = await world.addPod("b");
  const containerId = randomContainerId();
  const mv = macvlanConf({
    name: NET,
    cniVersion: CNI_VERSION,
    master: WORLD.uplink,
    addresses: [{
      address: `10.6.${subnetByte}.${10 + index}/${WORLD.prefix4}`,
      gateway: WORLD.gateway4,
    }],
  });
  const common = { containerId, netns: ns.path, ifname: "eth0", hostNetns: world.node };
  const m = await invoke({
    ...common,
    plugin: "macvlan",
    command: "ADD",
    conf: mv,
    ...wrapperOf(wrapper?.macvlan),
  });
  const pod: PodRun = { containerId, netns: ns.path, mv, result: m.json };
  if (m.code !== 0) {
    return { pod, mvMs: m.ms, ourMs: NaN, error: short(`macvlan ADD: ${m.stdout}`) };
  }
  // The process floor runs in the same pod just before the coordinator's ADD.
  let floorMs: number | undefined;
  if (floor) {
    const f = await invoke({
      ...common,
      plugin: "process-floor",
      argv: processFloorArgv(),
      command: "ADD",
      conf: {},
    });
    if (f.code !== 0) return { pod, mvMs: m.ms, ourMs: NaN, error: short(`floor: ${f.stderr}`) };
    floorMs = f.ms;
  }
  // With detection, the same pod is first ADDed (and DELed) without it: the
  // difference of the two ADDs is what detection costs.
  let plainMs: number | undefined;
  if (detection && wrapper === undefined) {
    const plainConf = { ...coordinatorConf(false, logFile), prevResult: m.json };
    const p = await invoke({ ...common, plugin: "coordinator", command: "ADD", conf: plainConf });
    if (p.code !== 0) {
      return { pod, mvMs: m.ms, ourMs: NaN, error: short(`plain ADD: ${p.stdout}`) };
    }
    const d = await invoke({ ...common, plugin: "coordinator", command: "DEL", conf: plainConf });
    if (d.code !== 0) {
      return { pod, mvMs: m.ms, ourMs: NaN, error: short(`plain DEL: ${d.stdout}`) };
    }
    plainMs = p.ms;
  }
  const c = await invoke({
    ...common,
    plugin: "coordinator",
    command: "ADD",
    conf: { ...coordinatorConf(detection, logFile), prevResult: m.json },
    ...wrapperOf(wrapper?.coordinator),
    env: PHASES_ON,
  });
  if (c.code !== 0) {
    return { pod, mvMs: m.ms, ourMs: c.ms, error: short(`coordinator ADD: ${c.stdout}`) };
  }
  pod.result = c.json;
  const phases = phasesOf(c.stderr);
  return {
    pod,
    mvMs: m.ms,
    ourMs: c.ms,
    ...(floorMs === undefined ? {} : { floorMs }),
    ...(plainMs === undefined ? {} : { plainMs }),
    ...(phases === undefined ? {} : { phases }),
  };
}

/** One line, at most 300 characters: failures go into the table and the JSON line. */
function short(text: string): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > 300 ? t.slice(0, 300) + "..." : t;
}

function wrapperOf(w: string[] | undefined): { wrapper?: string[] } {
  return w === undefined ? {} : { wrapper: w };
}

async function delPod(
  world: World,
  pod: PodRun,
  detection: boolean,
  logFile: string,
  wrapper?: string[],
): Promise<{ ourMs: number; mvMs: number; phases?: Record<string, number>; error?: string }> {
  const common = {
    containerId: pod.containerId,
    netns: pod.netns,
    ifname: "eth0",
    hostNetns: world.node,
  };
  const c = await invoke({
    ...common,
    plugin: "coordinator",
    command: "DEL",
    conf: { ...coordinatorConf(detection, logFile), prevResult: pod.result },
    ...wrapperOf(wrapper),
    env: PHASES_ON,
  });
  const m = await invoke({
    ...common,
    plugin: "macvlan",
    command: "DEL",
    conf: { ...pod.mv, prevResult: pod.result },
  });
  const errors = [
    c.code !== 0 ? short(`coordinator DEL: ${c.stdout}`) : "",
    m.code !== 0 ? short(`macvlan DEL: ${m.stdout}`) : "",
  ].filter((e) => e !== "");
  const phases = phasesOf(c.stderr);
  const base = { ourMs: c.ms, mvMs: m.ms, ...(phases === undefined ? {} : { phases }) };
  return errors.length > 0 ? { ...base, error: errors.join("; ") } : base;
}

async function timedPass(
  world: World,
  opts: Options,
  detection: boolean,
  subnetByte: number,
  logFile: string,
): Promise<PassResult> {
  const ourAdd: number[] = [];
  const ourDel: number[] = [];
  const mvAdd: number[] = [];
  const mvDel: number[] = [];
  const floor: number[] = [];
  const detectionCost: number[] = [];
  const addPhases: Record<string, number>[] = [];
  const delPhases: Record<string, number>[] = [];
  const failures: string[] = [];
  const pods: PodRun[] = [];
  let firstOurAddMs = NaN;
  // Pod 0 is the warm-up (deno's module cache, page cache): reported apart.
  for (let i = 0; i <= opts.pods; i++) {
    const r = await addPod(world, subnetByte, i, detection, logFile, undefined, !detection);
    pods.push(r.pod);
    if (r.error !== undefined) {
      failures.push(r.error);
      continue;
    }
    if (i === 0) firstOurAddMs = r.ourMs;
    else {
      ourAdd.push(r.ourMs);
      mvAdd.push(r.mvMs);
      if (r.phases !== undefined) addPhases.push(r.phases);
      if (r.floorMs !== undefined) floor.push(r.floorMs);
      if (r.plainMs !== undefined) detectionCost.push(r.ourMs - r.plainMs);
    }
  }
  for (const [i, pod] of pods.entries()) {
    const r = await delPod(world, pod, detection, logFile);
    if (r.error !== undefined) failures.push(r.error);
    else if (i > 0) {
      ourDel.push(r.ourMs);
      mvDel.push(r.mvMs);
      if (r.phases !== undefined) delPhases.push(r.phases);
    }
  }
  return {
    detection,
    ourAdd: stats(ourAdd),
    ourDel: stats(ourDel),
    macvlanAdd: stats(mvAdd),
    macvlanDel: stats(mvDel),
    ...(floor.length > 0 ? { processFloor: stats(floor) } : {}),
    ...(detectionCost.length > 0 ? { detectionCost: stats(detectionCost) } : {}),
    addPhases: medianPhases(addPhases),
    delPhases: medianPhases(delPhases),
    firstOurAddMs,
    failures,
  };
}

/**
 * The floors under every call, interleaved call by call: an empty Deno
 * program with the plugin's flags, and the coordinator's VERSION (the runtime,
 * the plugin's module and the answer, without touching the network).
 */
async function floorPass(world: World, n: number): Promise<{ empty: Stats; version: Stats }> {
  const empty: number[] = [];
  const version: number[] = [];
  const call = {
    command: "VERSION" as const,
    conf: { cniVersion: CNI_VERSION },
    containerId: "",
    netns: "",
    ifname: "",
    hostNetns: world.node,
  };
  for (let i = 0; i <= n; i++) {
    const e = await invoke({ ...call, plugin: "empty", argv: emptyArgv() });
    const v = await invoke({ ...call, plugin: "coordinator" });
    if (i === 0) continue; // warm-up
    if (e.code === 0) empty.push(e.ms);
    if (v.code === 0) version.push(v.ms);
  }
  return { empty: stats(empty), version: stats(version) };
}

/** The bursts: N ADDs at once, then N DELs at once. */
interface BurstResult {
  pods: number;
  addWallMs: number;
  delWallMs: number;
  /** CPU ms (user + sys) per call, from /usr/bin/time (undefined without it). */
  addCpu: Stats | undefined;
  delCpu: Stats | undefined;
  failures: string[];
}

async function burstPass(
  world: World,
  n: number,
  logFile: string,
  tmp: string,
): Promise<BurstResult> {
  const failures: string[] = [];
  const time = whichTool("time");
  const pods: PodRun[] = [];
  for (let i = 0; i < n; i++) {
    const ns = await world.addPod("u");
    const containerId = randomContainerId();
    const mv = macvlanConf({
      name: NET,
      cniVersion: CNI_VERSION,
      master: WORLD.uplink,
      addresses: [{ address: `10.6.120.${10 + i}/${WORLD.prefix4}`, gateway: WORLD.gateway4 }],
    });
    const m = await invoke({
      plugin: "macvlan",
      command: "ADD",
      conf: mv,
      containerId,
      netns: ns.path,
      ifname: "eth0",
      hostNetns: world.node,
    });
    if (m.code !== 0) failures.push(short(`burst macvlan ADD: ${m.stdout}`));
    else pods.push({ containerId, netns: ns.path, mv, result: m.json });
  }
  const burst = async (command: "ADD" | "DEL") => {
    const t0 = performance.now();
    const runs = await Promise.all(pods.map(async (pod, i) => {
      const out = `${tmp}/burst-${command}-${i}`;
      const r = await invoke({
        plugin: "coordinator",
        command,
        conf: { ...coordinatorConf(false, logFile), prevResult: pod.result },
        containerId: pod.containerId,
        netns: pod.netns,
        ifname: "eth0",
        hostNetns: world.node,
        ...(time === undefined ? {} : { wrapper: [time, "-f", "%U %S", "-o", out] }),
      });
      if (r.code !== 0) failures.push(short(`burst coordinator ${command}: ${r.stdout}`));
      else if (command === "ADD") pod.result = r.json;
      if (time === undefined) return undefined;
      const [user, sys] = (await Deno.readTextFile(out)).trim().split("\n").at(-1)!.split(" ");
      return (Number(user) + Number(sys)) * 1000;
    }));
    const wall = performance.now() - t0;
    const cpu = runs.filter((c): c is number => c !== undefined && Number.isFinite(c));
    return { wall, cpu: cpu.length > 0 ? stats(cpu) : undefined };
  };
  const add = await burst("ADD");
  const del = await burst("DEL");
  for (const pod of pods) {
    const m = await invoke({
      plugin: "macvlan",
      command: "DEL",
      conf: { ...pod.mv, prevResult: pod.result },
      containerId: pod.containerId,
      netns: pod.netns,
      ifname: "eth0",
      hostNetns: world.node,
    });
    if (m.code !== 0) failures.push(short(`burst macvlan DEL: ${m.stdout}`));
  }
  return {
    pods: pods.length,
    addWallMs: add.wall,
    delWallMs: del.wall,
    addCpu: add.cpu,
    delCpu: del.cpu,
    failures,
  };
}

interface ProbeResult {
  /** Child processes per coordinator ADD (median over the probe pods). */
  childrenPerAdd: number | undefined;
  childrenByName: Record<string, number>;
  /** Child processes per coordinator DEL (median over the probe pods). */
  childrenPerDel: number | undefined;
  childrenByNameDel: Record<string, number>;
  /** Max RSS in KiB (median over the probe pods). */
  ourAddPeakKiB: number | undefined;
  ourDelPeakKiB: number | undefined;
  macvlanAddPeakKiB: number | undefined;
  failures: string[];
}

async function probePass(
  world: World,
  opts: Options,
  detection: boolean,
  subnetByte: number,
  logFile: string,
  tmp: string,
): Promise<ProbeResult> {
  const failures: string[] = [];
  const children: number[] = [];
  let byName: Record<string, number> = {};
  const delChildren: number[] = [];
  let delByName: Record<string, number> = {};
  const hasStrace = whichTool("strace");
  const hasTime = whichTool("time");
  const addPeak: number[] = [];
  const delPeak: number[] = [];
  const mvPeak: number[] = [];
  for (let i = 0; i < opts.probePods; i++) {
    if (hasStrace !== undefined) {
      const log = `${tmp}/strace-${detection}-${i}.log`;
      const r = await addPod(world, subnetByte, 100 + i, detection, logFile, {
        coordinator: [hasStrace, "-f", "-qq", "-e", "trace=execve", "-o", log],
      });
      if (r.error !== undefined) failures.push(r.error);
      else {
        const counted = childExecs(await Deno.readTextFile(log));
        children.push(counted.total);
        byName = counted.byName;
      }
      const delLog = `${tmp}/strace-del-${detection}-${i}.log`;
      const d = await delPod(world, r.pod, detection, logFile, [
        hasStrace,
        "-f",
        "-qq",
        "-e",
        "trace=execve",
        "-o",
        delLog,
      ]);
      if (d.error !== undefined) failures.push(d.error);
      else {
        const counted = childExecs(await Deno.readTextFile(delLog));
        delChildren.push(counted.total);
        delByName = counted.byName;
      }
    }
    if (hasTime !== undefined) {
      const addOut = `${tmp}/time-add-${detection}-${i}`;
      const mvOut = `${tmp}/time-mv-${detection}-${i}`;
      const delOut = `${tmp}/time-del-${detection}-${i}`;
      const r = await addPod(world, subnetByte, 150 + i, detection, logFile, {
        coordinator: [hasTime, "-f", "%M", "-o", addOut],
        macvlan: [hasTime, "-f", "%M", "-o", mvOut],
      });
      if (r.error !== undefined) failures.push(r.error);
      else {
        addPeak.push(Number((await Deno.readTextFile(addOut)).trim().split("\n").at(-1)));
        mvPeak.push(Number((await Deno.readTextFile(mvOut)).trim().split("\n").at(-1)));
      }
      const d = await delPod(world, r.pod, detection, logFile, [hasTime, "-f", "%M", "-o", delOut]);
      if (d.error !== undefined) failures.push(d.error);
      else delPeak.push(Number((await Deno.readTextFile(delOut)).trim().split("\n").at(-1)));
    }
  }
  const med = (v: number[]) => (v.length === 0 ? undefined : stats(v).median);
  return {
    childrenPerAdd: med(children),
    childrenByName: byName,
    childrenPerDel: med(delChildren),
    childrenByNameDel: delByName,
    ourAddPeakKiB: med(addPeak),
    ourDelPeakKiB: med(delPeak),
    macvlanAddPeakKiB: med(mvPeak),
    failures,
  };
}

/** The execs of an strace log minus the plugin's own (the first one). */
function childExecs(log: string): { total: number; byName: Record<string, number> } {
  const counted = countExecs(log);
  const first = pluginArgv()[0]!;
  const own = first.slice(first.lastIndexOf("/") + 1);
  if (counted.byName[own] !== undefined) counted.byName[own]--;
  if (counted.byName[own] === 0) delete counted.byName[own];
  return { total: Math.max(0, counted.total - 1), byName: counted.byName };
}

interface CodecBench {
  name: string;
  avgNs: number;
  opsPerSec: number;
}

async function codecBench(): Promise<CodecBench[] | undefined> {
  const path = new URL("./codec_bench.ts", import.meta.url);
  try {
    Deno.statSync(path);
  } catch {
    return undefined;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "--allow-read", "--json", path.pathname],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  try {
    const report = JSON.parse(text) as {
      benches: { name: string; group?: string; results: { ok?: { avg: number } }[] }[];
    };
    return report.benches.flatMap((b) => {
      const avg = b.results[0]?.ok?.avg;
      const name = b.group ? `${b.group}: ${b.name}` : b.name;
      return avg === undefined ? [] : [{ name, avgNs: avg, opsPerSec: 1e9 / avg }];
    });
  } catch {
    say(
      `codec bench did not produce JSON (exit ${out.code}): ${
        new TextDecoder().decode(out.stderr).slice(-500)
      }`,
    );
    return [];
  }
}

function machine(): Record<string, string> {
  const read = (p: string) => {
    try {
      return Deno.readTextFileSync(p);
    } catch {
      return "";
    }
  };
  const cpu = /model name\s*:\s*(.*)/.exec(read("/proc/cpuinfo"))?.[1] ?? "unknown";
  const cores = read("/proc/cpuinfo").split("\n").filter((l) => l.startsWith("processor")).length;
  const memKb = Number(/MemTotal:\s*(\d+)/.exec(read("/proc/meminfo"))?.[1] ?? 0);
  return {
    date: new Date().toISOString(),
    cpu: `${cpu} (${cores} cores visible)`,
    memory: `${(memKb / 1048576).toFixed(1)} GiB`,
    kernel: read("/proc/sys/kernel/osrelease").trim(),
    deno: Deno.version.deno,
    load: read("/proc/loadavg").split(" ").slice(0, 3).join(" "),
    runner: Deno.env.get("COORDINATOR_BIN")
      ? `binary ${Deno.env.get("COORDINATOR_BIN")}`
      : "deno run main.ts",
  };
}

const ms = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? "-" : v.toFixed(1));

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(Deno.args);
  } catch (err) {
    Deno.stderr.writeSync(encoder.encode(`${errorMessage(err)}\n`));
    return 1;
  }
  if (
    Deno.uid() !== 0 || refPluginDir("macvlan") === undefined ||
    refPluginDir("static") === undefined
  ) {
    Deno.stderr.writeSync(encoder.encode(
      "The benchmark needs root (network namespaces) and the reference CNI plugins macvlan and static\n" +
        "(Debian: apt-get install containernetworking-plugins). Run: sudo deno task bench\n",
    ));
    return 1;
  }
  // The run's own state directory, lock and log directory (tools/lib/run_dirs.ts):
  // nothing of the benchmark lands where the node's plugin keeps its own.
  const dirs = useRunDirs();
  const logFile = runLogFile("bench");
  const tmp = await Deno.makeTempDir({ prefix: "coordinator-bench-" });
  let world: World | undefined;
  const cleanup = async () => {
    await world?.destroy().catch((err) => say(`cleanup: ${err}`));
    const left = removeRunDirs(dirs);
    if (left.length > 0) say(`left in the run's state directory: ${left.join(", ")}`);
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  };
  const onSignal = () => {
    cleanup().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const info = machine();
  const passes: PassResult[] = [];
  const probes: ProbeResult[] = [];
  let codec: CodecBench[] | undefined;
  let floors: { empty: Stats; version: Stats } | undefined;
  let burst: BurstResult | undefined;
  try {
    world = await createWorld({ ipv6: false });
    await world.addServiceAddress("10.233.0.10/32");
    say(
      `coordinator: ${
        pluginArgv().slice(0, 2).join(" ")
      } ...; pods per pass: ${opts.pods} (+1 warm-up)`,
    );
    floors = await floorPass(world, opts.pods);
    for (const [k, detection] of [false, true].entries()) {
      say(`pass: detection ${detection ? "on" : "off"} ...`);
      passes.push(await timedPass(world, opts, detection, 100 + k, logFile));
      probes.push(await probePass(world, opts, detection, 110 + k, logFile, tmp));
    }
    if (opts.burst > 0) {
      say(`burst: ${opts.burst} ADDs at once, then ${opts.burst} DELs at once ...`);
      burst = await burstPass(world, opts.burst, logFile, tmp);
    }
    codec = await codecBench();
  } finally {
    await cleanup();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }

  say();
  say(
    `machine: ${info.cpu}, ${info.memory}, kernel ${info.kernel}, deno ${info.deno}, load ${info.load}`,
  );
  say(`date: ${info.date}; coordinator as ${info.runner}`);
  say();
  say("| detection | call | n | median ms | p95 ms | min ms | max ms |");
  say("|---|---|---|---|---|---|---|");
  if (floors !== undefined) {
    for (
      const [label, v] of [
        ["empty Deno program, same flags (runtime floor)", floors.empty],
        ["coordinator VERSION", floors.version],
      ] as const
    ) {
      say(
        `| - | ${label} | ${v.n} | ${ms(v.median)} | ${ms(v.p95)} | ${ms(v.min)} | ${ms(v.max)} |`,
      );
    }
  }
  for (const p of passes) {
    const d = p.detection ? "on" : "off";
    for (
      const [label, s] of [
        ["macvlan ADD (reference)", p.macvlanAdd],
        ["coordinator ADD", p.ourAdd],
        ["coordinator DEL", p.ourDel],
        ["macvlan DEL (reference)", p.macvlanDel],
      ] as const
    ) {
      say(
        `| ${d} | ${label} | ${s.n} | ${ms(s.median)} | ${ms(s.p95)} | ${ms(s.min)} | ${
          ms(s.max)
        } |`,
      );
    }
    const f = p.processFloor;
    if (f !== undefined) {
      say(
        `| ${d} | process floor of ADD (Deno + its 4 children, no plugin logic) | ${f.n} | ` +
          `${ms(f.median)} | ${ms(f.p95)} | ${ms(f.min)} | ${ms(f.max)} |`,
      );
    }
    const c = p.detectionCost;
    if (c !== undefined) {
      say(
        `| ${d} | detection's cost (same pod: ADD with - ADD without) | ${c.n} | ` +
          `${ms(c.median)} | ${ms(c.p95)} | ${ms(c.min)} | ${ms(c.max)} |`,
      );
    }
    say(`| ${d} | coordinator ADD, first call (warm-up) | 1 | ${ms(p.firstOurAddMs)} | | | |`);
  }
  say();
  say(
    "| detection | children per ADD | by program | children per DEL | by program | peak RSS ADD | peak RSS DEL | macvlan ADD peak RSS |",
  );
  say("|---|---|---|---|---|---|---|---|");
  for (const [i, p] of probes.entries()) {
    const kib = (v: number | undefined) => (v === undefined ? "-" : `${(v / 1024).toFixed(1)} MiB`);
    const list = (m: Record<string, number>) =>
      Object.entries(m).map(([n, c]) => `${n} ${c}`).join(", ") || "-";
    say(
      `| ${passes[i]!.detection ? "on" : "off"} | ${p.childrenPerAdd ?? "-"} | ${
        list(p.childrenByName)
      } | ` +
        `${p.childrenPerDel ?? "-"} | ${list(p.childrenByNameDel)} | ` +
        `${kib(p.ourAddPeakKiB)} | ${kib(p.ourDelPeakKiB)} | ${kib(p.macvlanAddPeakKiB)} |`,
    );
  }
  if (codec !== undefined) {
    say();
    say("| codec benchmark | avg | ops/s |");
    say("|---|---|---|");
    for (const c of codec) {
      say(`| ${c.name} | ${c.avgNs.toFixed(0)} ns | ${c.opsPerSec.toFixed(0)} |`);
    }
  }
  for (const p of passes) {
    const marks = [...new Set([...Object.keys(p.addPhases), ...Object.keys(p.delPhases)])];
    if (marks.length === 0) continue;
    say();
    say(
      `| phase (detection ${p.detection ? "on" : "off"}; median ms since the process started, ` +
        "COORDINATOR_PHASES) | ADD | DEL |",
    );
    say("|---|---|---|");
    const at = (m: Record<string, number>, n: string) => (n in m ? ms(m[n]!) : "");
    for (const n of marks) say(`| ${n} | ${at(p.addPhases, n)} | ${at(p.delPhases, n)} |`);
  }
  if (burst !== undefined) {
    const cpu = (c: Stats | undefined) => (c === undefined ? "-" : `${ms(c.median)} ms`);
    say();
    say("| burst | pods | wall ms | CPU per call (median, user + sys) |");
    say("|---|---|---|---|");
    say(`| ADD at once | ${burst.pods} | ${ms(burst.addWallMs)} | ${cpu(burst.addCpu)} |`);
    say(`| DEL at once | ${burst.pods} | ${ms(burst.delWallMs)} | ${cpu(burst.delCpu)} |`);
  }
  const off = passes[0]!;
  const on = passes[1];
  const empty = floors?.empty.median ?? NaN;
  // Detection window with the default detectOptions: (retries - 1) * interval + timeout.
  const window = (3 - 1) * 10 + 100;
  // Issue 23's targets: each call against the empty Deno start of the same run.
  const targets = {
    versionToEmpty: (floors?.version.median ?? NaN) / empty,
    versionMet: (floors?.version.median ?? NaN) <= 1.05 * empty,
    addToEmpty: off.ourAdd.median / empty,
    addMet: off.ourAdd.median <= 2.0 * empty,
    delToEmpty: off.ourDel.median / empty,
    delMet: off.ourDel.median <= 2.0 * empty,
    burstDelToAdd: burst === undefined ? null : burst.delWallMs / burst.addWallMs,
    burstMet: burst === undefined ? null : burst.delWallMs <= burst.addWallMs,
    detectionCostMs: on?.detectionCost?.median ?? null,
    detectionLimitMs: window + 10,
    detectionMet: on?.detectionCost === undefined ? null : on.detectionCost.median <= window + 10,
    macvlanAddToEmpty: off.macvlanAdd.median / empty,
    addRatioToMacvlan: off.ourAdd.median / off.macvlanAdd.median,
    floorToEmpty: (off.processFloor?.median ?? NaN) / empty,
  };
  const met = (v: boolean | null) => (v === null ? "not run" : v ? "met" : "NOT met");
  const x = (v: number) => `${v.toFixed(2)} x`;
  say();
  say(`empty Deno start (the yardstick): ${ms(empty)} ms`);
  say(`target VERSION <= 1.05 x empty: ${x(targets.versionToEmpty)}: ${met(targets.versionMet)}`);
  say(
    `target ADD <= 2.0 x empty: ${ms(off.ourAdd.median)} ms = ${x(targets.addToEmpty)}: ` +
      met(targets.addMet),
  );
  say(
    `target DEL <= 2.0 x empty: ${ms(off.ourDel.median)} ms = ${x(targets.delToEmpty)}: ` +
      met(targets.delMet),
  );
  say(
    `target burst DEL wall <= burst ADD wall: ${
      targets.burstDelToAdd === null ? "-" : targets.burstDelToAdd.toFixed(2)
    }: ${met(targets.burstMet)}`,
  );
  say(
    `detection cost <= window + 10 = ${targets.detectionLimitMs} ms: ` +
      `${targets.detectionCostMs === null ? "-" : ms(targets.detectionCostMs)} ms: ` +
      met(targets.detectionMet),
  );
  say(
    `process floor of ADD = ${x(targets.floorToEmpty)} empty; macvlan ADD = ` +
      `${x(targets.macvlanAddToEmpty)} empty; ADD / macvlan ADD = ${
        targets.addRatioToMacvlan.toFixed(2)
      }`,
  );
  const failures = [
    ...passes.flatMap((p) => p.failures),
    ...probes.flatMap((p) => p.failures),
    ...(burst?.failures ?? []),
  ];
  for (const f of failures.slice(0, 10)) say(`failure: ${f.slice(0, 400)}`);
  if (failures.length > 10) say(`... ${failures.length - 10} more failures`);
  say(
    "BENCH_JSON " +
      JSON.stringify({
        machine: info,
        pods: opts.pods,
        floors: floors ?? null,
        burst: burst ?? null,
        passes,
        probes,
        codec: codec ?? null,
        targets,
        failures: failures.length,
      }),
  );
  return failures.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
