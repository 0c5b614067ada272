/**
 * Compare plugin trees on the network path (a script, not a test; root):
 *
 *   deno run --allow-all tools/measure/measure_ab.ts ROUNDS TREE[@src][+FLAGS]... [--last-pod] [--check] [--phases]
 *
 * Each TREE is a checkout of this repository (e.g. `git worktree add` or
 * `git archive HEAD | tar -x -C /tmp/base`), optionally with its own `deno run`
 * flags after a "+" (see `plugin` below), so one tree can be compared under
 * two flag sets. Every round runs, for each tree
 * in turn, the reference macvlan ADD (static IPAM) of a fresh pod, our ADD
 * chained after it and our DEL, each a fresh `deno run` process started with
 * `ip netns exec <node>` as in `measure_network.ts`. The trees alternate
 * within every round, so load from other jobs on the machine hits them alike:
 * a difference of 1-2 ms between medians of a single `measure_network.ts` run
 * is noise on a shared 2-core machine, here it shows up over 100+ rounds.
 * A resident pod stays on the node (DEL keeps the shared host rule), unless
 * `--last-pod` is given (every DEL then also drops the rule). With `--check`,
 * a CHECK of the pod runs between its ADD and DEL, timed too. With `--phases`,
 * the calls report their phases (mod/phases.ts; trees without it: none) and
 * the paired differences of their "answered" phase are printed as well.
 *
 * Prints the medians and the 25th percentiles per tree, and for each tree
 * after the first the median of its per-round differences to the first.
 *
 * @module
 */

// deno-lint-ignore-file no-console
import { addMacvlanNic, createWorld, itConf } from "../lib/world.ts";
import { removeRunDirs, useRunDirs } from "../lib/run_dirs.ts";
import { containerId, denoRunArgv, type NetnsRef, runPlugin } from "../lib/plugin.ts";
import { runFlags } from "../../mod/permissions.ts";
import { macvlan } from "./_macvlan.ts";

const args = Deno.args.filter((a) => !["--last-pod", "--check", "--phases"].includes(a));
const WITH_PHASES = Deno.args.includes("--phases");
const LAST_POD = Deno.args.includes("--last-pod");
const WITH_CHECK = Deno.args.includes("--check");
const ROUNDS = Number(args[0] ?? 50);
const TREES = args.slice(1);
if (TREES.length === 0 || !(ROUNDS > 0)) {
  console.error("usage: measure_ab.ts ROUNDS TREE... [--last-pod] [--check] [--phases]");
  Deno.exit(2);
}
// The run's own state directory, lock and log (tools/lib/run_dirs.ts), never
// the node's: removed at the end (the resident pod's DEL first).
const DIRS = useRunDirs();
const CONF = itConf("measure", "measure", { logLevel: "info" });

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo]! + (s[Math.ceil(i)]! - s[lo]!) * (i - lo);
}

/** Our ADD or DEL of `tree` in the node netns, with the tree's own DENO_DIR. */
async function coordinator(
  node: NetnsRef,
  tree: string,
  command: "ADD" | "CHECK" | "DEL",
  call: { containerId: string; netns: string },
  conf: unknown,
): Promise<number> {
  const run = await runPlugin({
    command,
    ...call,
    ifname: "eth0",
    conf,
    argv: plugin(tree),
    env: { DENO_DIR: denoDir(tree), ...(WITH_PHASES ? { COORDINATOR_PHASES: "1" } : {}) },
    host: node,
  });
  if (run.code !== 0) throw new Error(`${tree} ${command} failed: ${run.stdout}`);
  if (WITH_PHASES) {
    const line = run.stderr.split("\n").find((l) => l.startsWith("PHASES "));
    const all: Record<string, number> = line === undefined ? {} : JSON.parse(line.slice(7));
    const key = `${tree} ${command}`;
    answered.set(key, [...answered.get(key) ?? [], all["answered"] ?? NaN]);
    for (const [name, t] of Object.entries(all)) {
      const k = `${key} ${name}`;
      phases.set(k, [...phases.get(k) ?? [], t]);
    }
  }
  return run.ms;
}
/** With --phases: each call's "answered" phase (ms since its process started), by tree and command. */
const answered = new Map<string, number[]>();
/** With --phases: every phase of every call, by tree, command and phase. */
const phases = new Map<string, number[]>();

// A TREE runs as the bundle of its sources, made by the tree's own
// tools/lib/bundle.ts (trees differ in how they bundle), as its tests and its
// binary do; `TREE@src` runs its main.ts module by module instead.
// TREE may carry its own `deno run` flags after a "+", space-separated, in
// place of runFlags() (e.g. `/tmp/base+` for none, `"/tmp/base+--no-config --no-npm"`).
// Every TREE gets its own DENO_DIR (under /tmp, kept between runs): V8 rejects
// a code cache written under other V8 flags, so variants sharing one cache
// would keep overwriting each other's.
const denoDir = (tree: string) =>
  `/tmp/measure_ab_deno_dir/${encodeURIComponent(tree).replaceAll("%", "_")}`;
const plugin = (tree: string) => {
  const [spec, extra] = tree.split("+", 2) as [string, string | undefined];
  const flags = extra === undefined ? runFlags() : extra.split(" ").filter((f) => f !== "");
  const src = spec.endsWith("@src");
  const dir = src ? spec.slice(0, -"@src".length) : spec;
  return denoRunArgv(src ? `${dir}/main.ts` : bundleOf(dir), flags);
};
/** The bundle of a tree, made by that tree's own bundler (once per run). */
const bundles = new Map<string, string>();
function bundleOf(dir: string): string {
  const known = bundles.get(dir);
  if (known !== undefined) return known;
  const code = `import { ensureBundle } from "${dir}/tools/lib/bundle.ts";\n` +
    `console.log(ensureBundle(${JSON.stringify(dir)}));`;
  const out = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", code],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success || text === "") {
    throw new Error(`Cannot bundle ${dir}: ${new TextDecoder().decode(out.stderr)}`);
  }
  bundles.set(dir, text);
  return text;
}
await using w = await createWorld({ ipv6: false });
const residentCall = { containerId: containerId(), netns: "" };
if (!LAST_POD) {
  const resident = await w.addPod("r");
  residentCall.netns = resident.path;
  const prevResult = await addMacvlanNic(w.node, resident, {
    ifname: "eth0",
    addrs: ["10.6.49.1/16"],
    gateways: ["10.6.0.1"],
  });
  await coordinator(w.node, TREES[0]!, "ADD", residentCall, { ...CONF, prevResult });
}
const mv: number[] = [];
const add = new Map<string, number[]>(TREES.map((t) => [t, []]));
const del = new Map<string, number[]>(TREES.map((t) => [t, []]));
const check = new Map<string, number[]>(TREES.map((t) => [t, []]));
for (let i = 0; i < ROUNDS; i++) {
  for (const tree of TREES) {
    const pod = await w.addPod("m");
    const cid = containerId();
    const address = `10.6.50.${(i % 200) + 10}/16`;
    const call = { containerId: cid, netns: pod.path };
    const m = await macvlan(w.node, "ADD", call, address);
    mv.push(m.ms);
    add.get(tree)!.push(
      await coordinator(w.node, tree, "ADD", call, { ...CONF, prevResult: m.result }),
    );
    if (WITH_CHECK) {
      check.get(tree)!.push(
        await coordinator(w.node, tree, "CHECK", call, { ...CONF, prevResult: m.result }),
      );
    }
    del.get(tree)!.push(await coordinator(w.node, tree, "DEL", call, CONF));
    await macvlan(w.node, "DEL", call, address);
    await pod.destroy();
  }
}
const r = (x: number) => x.toFixed(1);
console.log(`rounds: ${ROUNDS}${LAST_POD ? " (every DEL is the node's last pod)" : ""}`);
console.log(`macvlan ADD median ${r(quantile(mv, 0.5))} ms`);
for (const tree of TREES) {
  const a = add.get(tree)!;
  const d = del.get(tree)!;
  console.log(
    `${tree}: ADD median ${r(quantile(a, 0.5))} ms (${r(quantile(a, 0.5) / quantile(mv, 0.5))}x` +
      ` macvlan, p25 ${r(quantile(a, 0.25))}), DEL median ${r(quantile(d, 0.5))} ms` +
      ` (p25 ${r(quantile(d, 0.25))})` +
      (WITH_CHECK ? `, CHECK median ${r(quantile(check.get(tree)!, 0.5))} ms` : ""),
  );
}
// Paired: the same round's calls of two trees ran seconds apart, so their
// difference carries less of the machine's drift than two medians do.
const base = TREES[0]!;
for (const tree of TREES.slice(1)) {
  const diffs = (m: Map<string, number[]>) => {
    const a = m.get(base)!;
    return m.get(tree)!.map((x, i) => x - a[i]!);
  };
  const line = (name: string, m: Map<string, number[]>) => {
    const d = diffs(m);
    const faster = d.filter((x) => x < 0).length;
    return `${name} ${d[0] === undefined ? "-" : r(quantile(d, 0.5))} ms ` +
      `(faster in ${faster}/${d.length} rounds)`;
  };
  console.log(
    `${tree} - ${base}, median of the rounds' differences: ${line("ADD", add)}, ` +
      `${line("DEL", del)}${WITH_CHECK ? `, ${line("CHECK", check)}` : ""}`,
  );
  if (WITH_PHASES) {
    const cmds = WITH_CHECK ? ["ADD", "CHECK", "DEL"] : ["ADD", "DEL"];
    const byCmd = new Map(cmds.map((c) => [c, answered.get(`${tree} ${c}`) ?? []]));
    const baseBy = new Map(cmds.map((c) => [c, answered.get(`${base} ${c}`) ?? []]));
    console.log(
      `${tree} - ${base}, "answered" phase (in the process, start-up and exit left out): ` +
        cmds.map((c) => {
          const d = byCmd.get(c)!.map((x, i) => x - baseBy.get(c)![i]!).filter((x) => !isNaN(x));
          return `${c} ${d.length === 0 ? "-" : r(quantile(d, 0.5))} ms (n ${d.length})`;
        }).join(", "),
    );
  }
}
if (WITH_PHASES) {
  for (const tree of TREES) {
    for (const c of ["ADD", "CHECK", "DEL"]) {
      const names = [...phases.keys()].filter((k) => k.startsWith(`${tree} ${c} `));
      if (names.length === 0) continue;
      const cells = names.map((k) =>
        `${k.slice(tree.length + c.length + 2)} ${r(quantile(phases.get(k)!, 0.5))}`
      );
      console.log(`${tree} ${c} phases (medians, ms since start): ${cells.join(", ")}`);
    }
  }
}
if (!LAST_POD) await coordinator(w.node, TREES[0]!, "DEL", residentCall, CONF);
const left = removeRunDirs(DIRS);
if (left.length > 0) console.error(`left in the run's state directory: ${left.join(", ")}`);
