/**
 * What the cluster CIDR reads of `coordinator doctor` / `defaults` cost (root):
 * `readClusterFacts()` (iptables-save and ip6tables-save -t nat, one nft -j
 * list table per family, one ip batch of routes and kube-ipvs0) in a
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
 * The rules are a minimal kube-proxy shape (one KUBE-SERVICES rule and one
 * KUBE-SVC chain per Service; the cluster-ips set and service-ips map), made
 * here so the script stands alone. Each case runs once as a warm-up, then
 * `runs` times in one child process inside the netns; the table shows median,
 * min and max ms. Prints one `BENCH_JSON {...}` line last.
 *
 * @module
 */

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

function iptables(n: number, family: 4 | 6): string {
  const ip = family === 4 ? v4 : v6;
  const host = family === 4 ? 32 : 128;
  const lines = ["*nat", ":KUBE-SERVICES - [0:0]", ":KUBE-MARK-MASQ - [0:0]"];
  for (let i = 0; i < n; i++) lines.push(`:KUBE-SVC-B${String(i).padStart(15, "0")} - [0:0]`);
  for (let i = 0; i < n; i++) {
    const svc = `KUBE-SVC-B${String(i).padStart(15, "0")}`;
    lines.push(
      `-A KUBE-SERVICES -d ${
        ip(i)
      }/${host} -p tcp -m comment --comment "ns/svc${i}:http cluster IP" -m tcp --dport 80 -j ${svc}`,
      `-A ${svc} -j KUBE-MARK-MASQ`,
    );
  }
  return [...lines, "COMMIT", ""].join("\n");
}

function nft(n: number, family: 4 | 6): string {
  const ip = family === 4 ? v4 : v6;
  const ipX = family === 4 ? "ip" : "ip6";
  const type = family === 4 ? "ipv4_addr" : "ipv6_addr";
  const ips = Array.from({ length: n }, (_, i) => ip(i));
  const lines = [
    `table ${ipX} kube-proxy {`,
    `\tset cluster-ips { type ${type}; }`,
    `\tmap service-ips { type ${type} . inet_proto . inet_service : verdict; }`,
    "\tchain mark-for-masquerade { mark set mark or 0x4000; }",
    "}",
  ];
  for (let i = 0; i < ips.length; i += 500) {
    const part = ips.slice(i, i + 500);
    lines.push(`add element ${ipX} kube-proxy cluster-ips { ${part.join(", ")} }`);
    lines.push(
      `add element ${ipX} kube-proxy service-ips { ${
        part.map((a) => `${a} . tcp . 80 : goto mark-for-masquerade`).join(", ")
      } }`,
    );
  }
  return lines.join("\n") + "\n";
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
        if (mode === "iptables") {
          await net.exec(["iptables-restore"], { stdin: iptables(n, 4) });
          await net.exec(["ip6tables-restore"], { stdin: iptables(n, 6) });
        } else {
          await net.exec(["nft", "-f", "-"], { stdin: nft(n, 4) + nft(n, 6) });
        }
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
