import assert from "node:assert/strict";
import {
  describeAnswers,
  EmptyAnswerError,
  PollTimeoutError,
  pollUntil,
  retryNonEmpty,
  within,
} from "../../../tools/lib/poll.ts";

Deno.test("pollUntil() returns the first value that is done", async () => {
  let n = 0;
  const v = await pollUntil("n to reach 3", () => ++n, { until: (x) => x >= 3, intervalMs: 1 });
  assert.equal(v, 3);
  assert.equal(n, 3);
});

Deno.test("pollUntil() waits for a defined value by default", async () => {
  const seen = [undefined, false, null, "ready"];
  assert.equal(await pollUntil("a value", () => seen.shift(), { intervalMs: 1 }), "ready");
});

Deno.test("pollUntil() gives up at the deadline, naming what it waited for and what it saw", async () => {
  let n = 0;
  await assert.rejects(
    pollUntil("the link to come up", () => `state ${++n}`, {
      until: () => false,
      timeoutMs: 30,
      intervalMs: 5,
    }),
    (err: unknown) => {
      assert.ok(err instanceof PollTimeoutError);
      assert.match(
        err.message,
        /^Timed out waiting for the link to come up: not there after \d+ ms/,
      );
      assert.match(err.message, new RegExp(`last seen: "state ${n}"$`));
      return true;
    },
  );
  assert.ok(n >= 2, `${n} probes`);
});

Deno.test("pollUntil() ends at once when the probe throws", async () => {
  let n = 0;
  await assert.rejects(
    pollUntil("never", () => {
      n++;
      throw new Error("the child exited");
    }),
    /the child exited/,
  );
  assert.equal(n, 1);
});

Deno.test("within() passes a value through and rejects at its deadline with what it saw", async () => {
  assert.equal(await within("a value", Promise.resolve(7), { timeoutMs: 1000 }), 7);
  await assert.rejects(
    within("ctr run c1 to exit", new Promise(() => {}), {
      timeoutMs: 10,
      lastSeen: () => "still running",
    }),
    (err: unknown) => {
      assert.ok(err instanceof PollTimeoutError);
      assert.equal(
        err.message,
        "Timed out waiting for ctr run c1 to exit after 10 ms; last seen: still running",
      );
      return true;
    },
  );
});

const answer = (code: number, stdout: string, stderr = "") => ({ code, stdout, stderr });

Deno.test("retryNonEmpty() asks again after an empty answer and returns the first real one", async () => {
  const answers = [answer(0, ""), answer(0, " \n"), answer(0, "default via 10.6.0.1\n")];
  let n = 0;
  const r = await retryNonEmpty("ip route", () => {
    n++;
    return Promise.resolve(answers.shift()!);
  }, { pauseMs: 0 });
  assert.equal(r.stdout, "default via 10.6.0.1\n");
  assert.equal(n, 3);
});

Deno.test("retryNonEmpty() fails after its tries with every try's raw answer", async () => {
  let n = 0;
  await assert.rejects(
    retryNonEmpty("ip route in c1", () => Promise.resolve(answer(0, "", `warn ${++n}`)), {
      tries: 3,
      pauseMs: 0,
    }),
    (err: unknown) => {
      assert.ok(err instanceof EmptyAnswerError);
      assert.equal(err.answers.length, 3);
      assert.equal(
        err.message,
        "ip route in c1 exited 0 with nothing on stdout 3 times; its answer cannot be empty:\n" +
          '  try 1: exit 0, stdout "", stderr "warn 1"\n' +
          '  try 2: exit 0, stdout "", stderr "warn 2"\n' +
          '  try 3: exit 0, stdout "", stderr "warn 3"',
      );
      return true;
    },
  );
});

Deno.test("retryNonEmpty() does not retry a non-zero exit", async () => {
  let n = 0;
  await assert.rejects(
    retryNonEmpty("ip link in c1", () => {
      n++;
      return Promise.resolve(answer(n === 1 ? 0 : 1, "", n === 1 ? "" : "ctr: not found"));
    }, { pauseMs: 0 }),
    (err: unknown) => {
      assert.ok(err instanceof EmptyAnswerError);
      assert.match(err.message, /^ip link in c1 failed with exit code 1 \(try 2 of 5\):/);
      assert.match(err.message, /try 2: exit 1, stdout "", stderr "ctr: not found"$/);
      return true;
    },
  );
  assert.equal(n, 2);
});

Deno.test("describeAnswers() shortens a long answer", () => {
  const text = describeAnswers([answer(0, "x".repeat(5000))]);
  assert.ok(text.length < 2200, `${text.length} chars`);
  assert.match(text, /\.\.\. \(5002 chars\)/);
});
