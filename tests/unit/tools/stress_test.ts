import assert from "node:assert/strict";
import {
  errorsBlock,
  failedTests,
  parseStressArgs,
  parseSummary,
  runLine,
  startBusyLoops,
  SUITES,
  testFiles,
} from "../../../tools/scripts/stress.ts";

Deno.test("parseStressArgs() defaults to 3 loops, 3 runs and the privileged suites", () => {
  assert.deepEqual(parseStressArgs([]), {
    loops: 3,
    runs: 3,
    timeoutMin: 30,
    keepLogs: false,
    paths: [...SUITES],
  });
  assert.deepEqual(
    parseStressArgs([
      "--loops",
      "0",
      "--runs=2",
      "--timeout-min",
      "5",
      "--keep-logs",
      "tests/e2e/",
    ]),
    { loops: 0, runs: 2, timeoutMin: 5, keepLogs: true, paths: ["tests/e2e/"] },
  );
});

Deno.test("parseStressArgs() rejects unknown flags and values that are not whole numbers", () => {
  assert.throws(() => parseStressArgs(["--loop", "3"]), /Unknown argument "--loop"/);
  assert.throws(() => parseStressArgs(["--runs", "0"]), /Invalid value for "--runs": "0"/);
  assert.throws(() => parseStressArgs(["--loops", "2.5"]), /Invalid value for "--loops"/);
  assert.throws(() => parseStressArgs(["--loops"]), /Invalid value for "--loops": ""/);
});

const OUTPUT = `running 2 tests from ./tests/e2e/containerd_test.ts
a ... ok (3s)
b ... FAILED (2s)

 ERRORS 

b => ./tests/e2e/containerd_test.ts:308:6
error: AssertionError: container main routes

 FAILURES 

b => ./tests/e2e/containerd_test.ts:308:6

\x1b[31mFAILED\x1b[0m | 1 passed (2 steps) | 1 failed | 3 ignored (27s)

error: Test failed
`;

Deno.test("parseSummary(), failedTests() and errorsBlock() read deno test's report", () => {
  assert.deepEqual(parseSummary(OUTPUT), { passed: 1, failed: 1, ignored: 3 });
  assert.deepEqual(parseSummary("ok | 472 passed | 0 failed (2m)\n"), {
    passed: 472,
    failed: 0,
    ignored: 0,
  });
  assert.equal(parseSummary("error: Module not found\n"), undefined);
  assert.deepEqual(failedTests(OUTPUT), ["b => ./tests/e2e/containerd_test.ts:308:6"]);
  assert.equal(
    errorsBlock(OUTPUT),
    "ERRORS \n\nb => ./tests/e2e/containerd_test.ts:308:6\nerror: AssertionError: container main routes",
  );
});

Deno.test("runLine() prints one line per run", () => {
  const o = { code: 0, seconds: 190.04, load: 5.123, timedOut: false, ok: true, runs: 3, loops: 3 };
  assert.equal(
    runLine(1, { ...o, passed: 120, failed: 0, ignored: 1 }),
    "run 1/3: ok | 120 passed, 0 failed, 1 ignored | 190.0 s | 3 busy loops, load 5.12",
  );
  assert.equal(
    runLine(2, { ...o, code: 130, ok: false, timedOut: true }),
    "run 2/3: FAILED | no test summary (exit 130) | 190.0 s | 3 busy loops, load 5.12 | timed out",
  );
});

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \([^)]*\) Z/.test(stat);
  } catch {
    return false;
  }
}

Deno.test({
  name: "startBusyLoops() starts spinning processes and stop() ends every one",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await using loops = startBusyLoops(2);
    assert.equal(loops.pids.length, 2);
    assert.ok(loops.pids.every(alive), "both loops run");
    await loops.stop();
    assert.ok(!loops.pids.some(alive), "both loops gone");
    await loops.stop();
  },
});

Deno.test("testFiles() lists a directory's test files sorted and keeps given files in order", () => {
  const root = Deno.makeTempDirSync();
  try {
    for (const d of ["a/b", "c"]) Deno.mkdirSync(`${root}/${d}`, { recursive: true });
    for (
      const f of ["a/z_test.ts", "a/b/y_test.ts", "a/_helper.ts", "a/x.test.ts", "c/w_test.ts"]
    ) {
      Deno.writeTextFileSync(`${root}/${f}`, "");
    }
    Deno.writeTextFileSync(`${root}/zz_test.ts`, "");
    assert.deepEqual(testFiles(["zz_test.ts", "a/", "c"], root), [
      "zz_test.ts",
      "a/b/y_test.ts",
      "a/x.test.ts",
      "a/z_test.ts",
      "c/w_test.ts",
    ]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("testFiles() ends the default suites with the leftover check", () => {
  const files = testFiles(SUITES);
  assert.equal(files.at(-1), "tests/zz_leftovers_test.ts");
  assert.ok(files.includes("tests/e2e/containerd_test.ts"));
  assert.ok(files.includes("tests/integration/service_test.ts"));
  assert.ok(files.includes("tests/integration/cluster_test.ts"), "the two-node suite");
  assert.ok(!files.some((f) => f.includes("/_")), "no helper modules");
});
