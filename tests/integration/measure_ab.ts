/**
 * Compare plugin trees on the network path (a script, not a test; root):
 *
 *   deno run --allow-all tests/integration/measure_ab.ts ROUNDS TREE... [--last-pod]
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
 * `--last-pod` is given (every DEL then also drops the rule).
 *
 * Prints the medians and the 25th percentiles per tree.
 *
 * @module
 */

// deno-lint-ignore-file no-console
import { createWorld } from "../_helpers/world.ts";
import {
  addMacvlanNic,
  containerId,
  itConf,
  measureMacvlanConf,
  runInNode,
} from "./_coordinator.ts";
import { cniEnv, denoRunArgv } from "../_helpers/cni.ts";
import { runFlags } from "../../mod/permissions.ts";
import type { Result } from "../../mod/types.ts";

const args = Deno.args.filter((a) => a !== "--last-pod");
const LAST_POD = args.length !== Deno.args.length;
const ROUNDS = Number(args[0] ?? 50);
const TREES = args.slice(1);
if (TREES.length === 0 || !(ROUNDS > 0)) {
  console.error("usage: measure_ab.ts ROUNDS TREE... [--last-pod]");
  Deno.exit(2);
}
const MACVLAN = "/usr/lib/cni/macvlan";
const CONF = itConf("measure", "measure", { logLevel: "info" });

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo]! + (s[Math.ceil(i)]! - s[lo]!) * (i - lo);
}

async function call(node: string, argv: string[], env: Record<string, string>, stdin: unknown) {
  const { ms, stdout: text, code } = await runInNode(node, argv, env, JSON.stringify(stdin));
  if (code !== 0) throw new Error(`${argv.join(" ")} ${env.CNI_COMMAND} failed: ${text}`);
  return { ms, text };
}

// TREE may carry its own `deno run` flags after a "+", space-separated, in
// place of runFlags() (e.g. `/tmp/base+` for none, `"/tmp/base+--no-config --no-npm"`).
// Every TREE gets its own DENO_DIR (under /tmp, kept between runs): V8 rejects
// a code cache written under other V8 flags, so variants sharing one cache
// would keep overwriting each other's.
const denoDir = (tree: string) =>
  `/tmp/measure_ab_deno_dir/${encodeURIComponent(tree).replaceAll("%", "_")}`;
const plugin = (tree: string) => {
  const [dir, extra] = tree.split("+", 2) as [string, string | undefined];
  const flags = extra === undefined ? runFlags() : extra.split(" ").filter((f) => f !== "");
  return denoRunArgv(`${dir}/main.ts`, flags);
};
const podEnv = (command: string, cid: string, netns: string, path = "/opt/cni/bin") =>
  cniEnv({ command, containerId: cid, netns, ifname: "eth0", path });

const treeEnv = (tree: string, command: string, cid: string, netns: string) => ({
  ...podEnv(command, cid, netns),
  DENO_DIR: denoDir(tree),
});

await using w = await createWorld({ ipv6: false });
if (!LAST_POD) {
  const resident = await w.addPod("r");
  const prevResult = await addMacvlanNic(w.node, resident, {
    ifname: "eth0",
    addrs: ["10.6.49.1/16"],
    gateways: ["10.6.0.1"],
  });
  await call(
    w.node.name,
    plugin(TREES[0]!),
    treeEnv(TREES[0]!, "ADD", containerId(), resident.path),
    {
      ...CONF,
      prevResult,
    },
  );
}
const mv: number[] = [];
const add = new Map<string, number[]>(TREES.map((t) => [t, []]));
const del = new Map<string, number[]>(TREES.map((t) => [t, []]));
for (let i = 0; i < ROUNDS; i++) {
  for (const tree of TREES) {
    const pod = await w.addPod("m");
    const cid = containerId();
    const mconf = measureMacvlanConf(`10.6.50.${(i % 200) + 10}/16`);
    const mvEnv = podEnv("ADD", cid, pod.path, "/usr/lib/cni");
    const m = await call(w.node.name, [MACVLAN], mvEnv, mconf);
    mv.push(m.ms);
    const prevResult = JSON.parse(m.text) as Result;
    const a = await call(w.node.name, plugin(tree), treeEnv(tree, "ADD", cid, pod.path), {
      ...CONF,
      prevResult,
    });
    add.get(tree)!.push(a.ms);
    const d = await call(w.node.name, plugin(tree), treeEnv(tree, "DEL", cid, pod.path), CONF);
    del.get(tree)!.push(d.ms);
    await call(w.node.name, [MACVLAN], { ...mvEnv, CNI_COMMAND: "DEL" }, mconf);
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
      ` (p25 ${r(quantile(d, 0.25))})`,
  );
}
