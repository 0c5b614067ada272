/**
 * What the cluster CIDR reads of `coordinator doctor` / `defaults` cost (root):
 * `readClusterFacts()` (iptables-save and ip6tables-save -t nat, one nft -j
 * list table per family, one ip batch of the addresses and routes) in a
 * throwaway netns holding N ClusterIPs per family in kube-proxy's iptables
 * mode, then in its nftables mode; next to STATUS as it is (its readiness
 * checks, one `ip -V`), timed in the same process. The numbers behind the
 * decision to keep these reads out of STATUS (docs/operators.md).
 *
 * ```sh
 * deno run --allow-all tools/bench/cluster_reads_bench.ts                 # N = 0, 100, 1000, 5000
 * deno run --allow-all tools/bench/cluster_reads_bench.ts --runs 21 --n 0,1000
 * ```
 *
 * The rules are kube-proxy's as the test worlds write them (tools/lib/kube_proxy.ts: per
 * Service its KUBE-SERVICES rule, KUBE-SVC and KUBE-SEP chains in iptables mode; its
 * cluster-ips and service-ips entries, service and endpoint chains in nftables mode), one
 * endpoint per Service. Each case runs once as a warm-up, then
 * `runs` times in one child process inside the netns; the table shows median,
 * min and max ms. Prints one `BENCH_JSON {...}` line last.
 *
 * @module
 */

import { applyKubeProxy, type ProxyConfig } from "../lib/kube_proxy.ts";
import { createNetns, privilegedSkipReason, type TestNetns, whichTool } from "../lib/netns.ts";
import { median } from "../lib/stats.ts";

const encoder = new TextEncoder();

function say(text = ""): void {
  Deno.stdout.writeSync(encoder.encode(text + "\n"));
}

function v4(i: number): string {
  return `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

function v6(i: number): string {
  return `fd00:10:96::${(i + 1).toString(16)}`;
}

/** kube-proxy's view of n Services of one family, each with one endpoint. */
function proxyConfig(n: number, family: 4 | 6): ProxyConfig {
  const ip = family === 4 ? v4 : v6;
  const pod = (i: number) =>
    family === 4 ? `10.244.${(i >> 8) & 255}.${i & 255}` : `fd00:10:244::${(i + 1).toString(16)}`;
  return {
    family,
    node: "node-1",
    nodeIps: [family === 4 ? "10.6.212.101" : "fd00:6::101"],
    clusterCidr: family === 4 ? "10.244.0.0/16" : "fd00:10:244::/56",
    serviceCidr: family === 4 ? "10.96.0.0/12" : "fd00:10:96::/112",
    services: Array.from({ length: n }, (_, i) => ({
      namespace: "ns",
      name: `svc${i}`,
      portName: "http",
      clusterIp: ip(i),
      port: 80,
      endpoints: [{ ip: pod(i), port: 8080, node: "node-1" }],
    })),
  };
}

const CHILD = `
import { readClusterFacts } from "${
  new URL("../../mod/doctor/cluster_reads.ts", import.meta.url).href
}";
import { readyChecks } from "${new URL("../../mod/doctor/ready.ts", import.meta.url).href}";
const runs = Number(Deno.args[0]);
const time = async (f) => { const t = performance.now(); await f(); return performance.now() - t; };
await readClusterFacts(); await readyChecks();
const reads = [], ready = [];
let seen = 0;
for (let i = 0; i < runs; i++) {
  reads.push(await time(async () => { const f = await readClusterFacts(); seen = f.proxies.reduce((n, v) => n + v.addrs.length, 0); }));
  ready.push(await time(() => readyChecks()));
}
console.log(JSON.stringify({ reads, ready, seen }));
`;

interface Row {
  mode: string;
  n: number;
  seen: number;
  reads: number[];
  ready: number[];
}

async function measure(ns: TestNetns, runs: number, dir: string): Promise<Omit<Row, "mode" | "n">> {
  const r = await ns.exec(
    [Deno.execPath(), "run", "--allow-all", "--no-config", `${dir}/child.ts`, String(runs)],
    { allowFail: true },
  );
  if (r.code !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

function fmt(xs: number[]): string {
  return `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)})`;
}

async function main(): Promise<number> {
  const skip = privilegedSkipReason() ??
    (whichTool("nft") === undefined ? "needs nft" : undefined);
  if (skip !== undefined) {
    say(`cluster_reads_bench: skipped (${skip})`);
    return 0;
  }
  const arg = (name: string, dflt: string) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Deno.args[i + 1] ?? dflt : dflt;
  };
  const runs = Number(arg("--runs", "11"));
  const ns = arg("--n", "0,100,1000,5000").split(",").map(Number);
  // The child stays outside the repository: no config, no lock file to touch.
  const dir = await Deno.makeTempDir({ prefix: "cluster-reads-bench-" });
  const rows: Row[] = [];
  try {
    await Deno.writeTextFile(`${dir}/child.ts`, CHILD);
    // STATUS's checks write a probe and take the lock: the bench's own places, not the node's.
    Deno.env.set("COORDINATOR_STATE_DIR", `${dir}/state`);
    Deno.env.set("COORDINATOR_LOCK_FILE", `${dir}/coordinator.lock`);
    for (const mode of ["iptables", "nftables"] as const) {
      for (const n of ns) {
        await using net = await createNetns("crb");
        await applyKubeProxy(net, mode, [proxyConfig(n, 4), proxyConfig(n, 6)]);
        rows.push({ mode, n, ...(await measure(net, runs, dir)) });
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  say(`runs per case: ${runs}; ms, median (min-max)`);
  say(
    "| mode     | Services per family | addresses read | cluster reads      | STATUS's readiness checks |",
  );
  say(
    "| -------- | ------------------- | -------------- | ------------------ | ------------------------- |",
  );
  for (const r of rows) {
    say(
      `| ${r.mode.padEnd(8)} | ${String(r.n).padStart(19)} | ${String(r.seen).padStart(14)} | ${
        fmt(r.reads).padEnd(18)
      } | ${fmt(r.ready).padEnd(25)} |`,
    );
  }
  say(
    "BENCH_JSON " +
      JSON.stringify(rows.map((r) => ({
        mode: r.mode,
        n: r.n,
        seen: r.seen,
        readsMs: median(r.reads),
        readyMs: median(r.ready),
      }))),
  );
  return 0;
}

Deno.exit(await main());
