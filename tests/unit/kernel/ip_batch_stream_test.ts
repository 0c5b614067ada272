/**
 * ip_batch.ts: incremental batch output (JsonValueStream, matchBatchValues) and
 * BatchSession fed in parts. The session runs `ip` on unknown objects only:
 * nothing is read or changed in any netns, and no root is needed.
 */

import assert from "node:assert/strict";
import {
  type BatchLine,
  BatchSession,
  JsonValueStream,
  matchBatchOutput,
  matchBatchValues,
  parseBatchFailures,
  parseJsonArrays,
} from "../../../mod/kernel/ip_batch.ts";

Deno.test("JsonValueStream gives the same values however the text is split", () => {
  const text = '[{"a":"x][\\"}{"}]\n[]\n[{"b":[1,{"c":"\\\\"}]}]\n{"d":1}\n';
  const whole = parseJsonArrays(text);
  assert.equal(whole.length, 4);
  for (let i = 0; i <= text.length; i++) {
    const s = new JsonValueStream();
    const got = [...s.push(text.slice(0, i)), ...s.push(text.slice(i))];
    assert.deepEqual(got, whole, `split at ${i}`);
  }
  // One character at a time.
  const s = new JsonValueStream();
  const got: unknown[] = [];
  for (const ch of text) got.push(...s.push(ch));
  assert.deepEqual(got, whole);
});

Deno.test("matchBatchValues() agrees with matchBatchOutput()", () => {
  const lines: BatchLine[] = [
    { args: ["link", "show"], read: true },
    { args: ["route", "get", "10.0.0.1"], read: true, optional: true },
    { args: ["rule", "add", "pref", "1000", "table", "500"], tolerate: /File exists/ },
    { args: ["addr", "show"], read: true },
    { args: ["link", "set", "x", "up"] },
  ];
  const stdout = '[{"ifname":"lo"}]\n[{"ifname":"eth0"}]\n';
  const stderr = "RTNETLINK answers: Network is unreachable\nCommand failed -:2\n" +
    "RTNETLINK answers: File exists\nCommand failed -:3\n" +
    'Cannot find device "x"\nCommand failed -:5\n';
  const a = matchBatchOutput(lines, stdout, stderr);
  const b = matchBatchValues(lines, parseJsonArrays(stdout), parseBatchFailures(stderr));
  assert.deepEqual(b, a);
  assert.deepEqual(a.outcomes[3]?.output, [{ ifname: "eth0" }]);
  assert.deepEqual(a.errors.map((e) => e.line.args[0]), ["link"]);
});

Deno.test("BatchSession: lines sent in parts, failures numbered across parts", async () => {
  const s = BatchSession.open();
  await s.send([{ args: ["nosuchobject1"], read: true }]);
  // The first part's outcome is known while stdin is still open.
  assert.equal(await s.until((p) => p.failures.has(1)), true);
  assert.equal(s.snapshot().errors.length, 1);
  await s.send([{ args: ["nosuchobject2"], optional: true }, { args: ["nosuchobject3"] }]);
  assert.equal(s.lineCount, 3);
  const res = await s.finish();
  assert.deepEqual(
    res.outcomes.map((o) => o.error?.includes("is unknown") ?? false),
    [true, true, true],
  );
  assert.deepEqual(res.errors.map((e) => e.line.args[0]), ["nosuchobject1", "nosuchobject3"]);
  // After the end: until() reports that nothing more will come.
  assert.equal(await s.until((p) => p.values.length > 0), false);
  await assert.rejects(() => s.send([{ args: ["nosuchobject4"] }]));
});
