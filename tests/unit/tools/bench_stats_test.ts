/** The pure helpers of bench/cni_bench.ts. */

import assert from "node:assert/strict";
import { countExecs, stats } from "../../../tools/bench/cni_bench.ts";

Deno.test("stats() gives median and nearest-rank p95", () => {
  const s = stats([5, 1, 4, 2, 3]);
  assert.deepEqual(s, { n: 5, median: 3, p95: 5, min: 1, max: 5 });
  assert.equal(stats([1, 2, 3, 4]).median, 2.5);
  const twenty = Array.from({ length: 20 }, (_, i) => i + 1);
  assert.equal(stats(twenty).p95, 19);
  assert.equal(stats([]).n, 0);
});

Deno.test("countExecs() counts successful execve calls per program", () => {
  const log = [
    '100 execve("/usr/bin/deno", ["deno", "run"], 0x7ffd /* 9 vars */) = 0',
    '101 execve("/usr/local/sbin/ip", ["ip", "-j"], 0x7ffd /* 9 vars */) = -1 ENOENT (No such file or directory)',
    '101 execve("/usr/sbin/ip", ["ip", "-j"], 0x7ffd /* 9 vars */) = 0',
    '102 execve("/usr/sbin/iptables-restore", ["iptables-restore"], 0x7ffd /* 9 vars */) = 0',
    "101 +++ exited with 0 +++",
  ].join("\n");
  assert.deepEqual(countExecs(log), {
    total: 3,
    byName: { deno: 1, ip: 1, "iptables-restore": 1 },
  });
});
