/**
 * Time to a verdict of the detection (root): how long `detectIpConflicts()`
 * and `detectGateways()` take with the default options (3 probes, 10 ms apart,
 * 100 ms wait after the last), in a world of two network namespaces joined by a
 * veth pair. The peer holds the gateway addresses and a "taken" address.
 *
 * ```sh
 * deno run --allow-all tools/bench/detect_bench.ts            # 21 runs per case
 * deno run --allow-all tools/bench/detect_bench.ts --runs 51
 * ```
 *
 * Each case runs once untimed as a warm-up (the first call also loads and
 * instantiates the Wasm codec; that call is reported apart), then `runs` times;
 * the table shows median, min and max wall time in ms, from the call to its
 * verdict (sockets opened in the pod netns and closed included). Prints one
 * `BENCH_JSON {...}` line last.
 *
 * @module
 */

import { createLinkedNetns, privilegedSkipReason } from "../lib/netns.ts";
import { CniError } from "../../mod/errors.ts";
import type { DetectOptions } from "../../mod/config/types.ts";
import { median } from "../lib/stats.ts";

const encoder = new TextEncoder();

function say(text = ""): void {
  Deno.stdout.writeSync(encoder.encode(text + "\n"));
}

const DEFAULTS: DetectOptions = { retries: 3, intervalMs: 10, timeoutMs: 100 };
const POD_MAC = "02:00:00:00:02:0a";

interface Case {
  name: string;
  /** The expected verdict: resolves, or rejects with this CNI code. */
  expect: "ok" | 100 | 101;
  run: () => Promise<void>;
}

async function verdictOf(run: () => Promise<void>): Promise<"ok" | number> {
  try {
    await run();
    return "ok";
  } catch (err) {
    if (err instanceof CniError) return err.code;
    throw err;
  }
}

async function main(): Promise<number> {
  const skip = privilegedSkipReason();
  if (skip !== undefined) {
    say(`detect_bench: skipped (${skip})`);
    return 0;
  }
  const runsArg = Deno.args.indexOf("--runs");
  const runs = runsArg >= 0 ? Number(Deno.args[runsArg + 1]) : 21;
  if (!Number.isInteger(runs) || runs < 1) {
    throw new Error(`Invalid --runs "${Deno.args[runsArg + 1]}"`);
  }

  const t0 = performance.now();
  const { detectGateways, detectIpConflicts } = await import("../../mod/detect/detect.ts");
  const codec = await import("../../mod/codec/mod.ts");
  codec.buildArpProbe(POD_MAC, "10.40.0.2"); // instantiate the Wasm module
  const loadMs = performance.now() - t0;

  await using net = await createLinkedNetns({ prefix: "dbp", ifname: "eth0" }, {
    prefix: "dbq",
    ifname: "eth0",
  }, {
    aMac: POD_MAC,
    beforeUp: (_, q) => q.setSysctl("net.ipv6.conf.eth0.router_solicitations", 0),
  });
  const { a: pod, b: peer } = net;
  await pod.ip(["addr", "add", "10.40.0.2/24", "dev", "eth0"]);
  await pod.ip(["addr", "add", "fd00:40::2/64", "dev", "eth0", "nodad"]);
  await peer.ip(["addr", "add", "10.40.0.1/24", "dev", "eth0"]);
  await peer.ip(["addr", "add", "fd00:40::1/64", "dev", "eth0", "nodad"]);
  await peer.ip(["addr", "add", "10.40.0.9/24", "dev", "eth0"]);

  const base = { netns: pod.path, ifname: "eth0", mac: POD_MAC, options: DEFAULTS };
  const dual = ["10.40.0.2", "fd00:40::2"];
  const cases: Case[] = [
    {
      name: "no conflict, IPv4",
      expect: "ok",
      run: () => detectIpConflicts({ ...base, ips: ["10.40.0.2"] }),
    },
    {
      name: "no conflict, IPv6",
      expect: "ok",
      run: () => detectIpConflicts({ ...base, ips: ["fd00:40::2"] }),
    },
    {
      name: "no conflict, dual stack",
      expect: "ok",
      run: () => detectIpConflicts({ ...base, ips: dual }),
    },
    {
      name: "gateway up, IPv4",
      expect: "ok",
      run: () => detectGateways({ ...base, ips: dual, gateways: ["10.40.0.1"] }),
    },
    {
      name: "gateway up, dual stack",
      expect: "ok",
      run: () => detectGateways({ ...base, ips: dual, gateways: ["10.40.0.1", "fd00:40::1"] }),
    },
    {
      name: "conflict, IPv4 (first reply)",
      expect: 100,
      run: () => detectIpConflicts({ ...base, ips: ["10.40.0.9"] }),
    },
    {
      name: "gateway down, IPv4",
      expect: 101,
      run: () => detectGateways({ ...base, ips: dual, gateways: ["10.40.0.254"] }),
    },
  ];

  const window = (DEFAULTS.retries - 1) * DEFAULTS.intervalMs + DEFAULTS.timeoutMs;
  say(`detection time to verdict, default options ${JSON.stringify(DEFAULTS)}`);
  say(`expected window without an answer: ${window} ms; runs per case: ${runs}`);
  say(
    `codec + detect module load and Wasm instantiation: ${loadMs.toFixed(1)} ms (once per process)`,
  );
  say();
  say("| case | verdict | first call ms | median ms | min ms | max ms |");
  say("|---|---|---|---|---|---|");
  const results: Record<string, { first: number; median: number; min: number; max: number }> = {};
  let bad = 0;
  for (const c of cases) {
    const f0 = performance.now();
    const firstVerdict = await verdictOf(c.run);
    const first = performance.now() - f0;
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const s = performance.now();
      const v = await verdictOf(c.run);
      times.push(performance.now() - s);
      if (v !== c.expect) bad++;
    }
    if (firstVerdict !== c.expect) bad++;
    const r = {
      first,
      median: median(times),
      min: Math.min(...times),
      max: Math.max(...times),
    };
    results[c.name] = r;
    say(
      `| ${c.name} | ${c.expect === "ok" ? "ok" : `code ${c.expect}`} | ${r.first.toFixed(1)} | ${
        r.median.toFixed(1)
      } | ${r.min.toFixed(1)} | ${r.max.toFixed(1)} |`,
    );
  }
  say();
  if (bad > 0) say(`${bad} run(s) gave an unexpected verdict`);
  say(`BENCH_JSON ${JSON.stringify({ options: DEFAULTS, runs, loadMs, results, bad })}`);
  return bad === 0 ? 0 : 1;
}

Deno.exit(await main());
