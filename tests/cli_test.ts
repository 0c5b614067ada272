/**
 * main.ts as a runtime runs it: a subprocess with CNI env + stdin and exactly
 * the compiled binary's permission flags (or COORDINATOR_BIN).
 */
import assert from "node:assert/strict";
import { pluginArgv, runPlugin } from "./_helpers/cni.ts";

const prevResult = {
  cniVersion: "1.0.0",
  interfaces: [{ name: "eth0", mac: "02:11:22:33:44:55", sandbox: "/var/run/netns/x" }],
  ips: [{ address: "10.6.212.241/16", gateway: "10.6.0.1", interface: 0 }],
};
const env = {
  containerId: "cli0b49742cc7cc",
  netns: "/var/run/netns/does-not-exist",
  ifname: "eth0",
};

function assertCniError(run: { code: number; stdout: string; json: unknown }, code: number) {
  assert.equal(run.code, 1, run.stdout);
  const j = run.json as { code?: unknown; msg?: unknown };
  assert.equal(j?.code, code, run.stdout);
  assert.equal(typeof j.msg, "string");
  assert.equal(run.stdout.trim().split("\n").at(-1), "}", "one JSON document only");
  assert.ok(!/\bat .*\.ts:\d+/.test(run.stdout), "no stack trace");
}

Deno.test("main.ts --version and --help print the about line", async () => {
  for (const flag of ["--version", "--help"]) {
    const out = await runPlugin({ command: "", argv: [...pluginArgv(), flag] });
    assert.equal(out.code, 0);
    const text = flag === "--version" ? out.stdout : out.stderr;
    assert.match(text, /CNI coordinator plugin v\d/);
    assert.match(text, /0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0/);
  }
});

Deno.test("main.ts without CNI_COMMAND prints the about text on stderr and exits 0", async () => {
  const out = await runPlugin({ command: "" });
  assert.equal(out.code, 0);
  assert.equal(out.stdout, "");
  assert.match(out.stderr, /coordinator/);
});

Deno.test("main.ts VERSION", async () => {
  const out = await runPlugin({ command: "VERSION", conf: { cniVersion: "0.4.0" } });
  assert.equal(out.code, 0);
  assert.deepEqual(out.json, {
    cniVersion: "0.4.0",
    supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
  });
});

Deno.test("main.ts turns every kind of bad input into a CNI error", async () => {
  assertCniError(await runPlugin({ command: "ADD", ...env, stdin: "" }), 6);
  assertCniError(await runPlugin({ command: "ADD", ...env, stdin: "{not json" }), 6);
  assertCniError(await runPlugin({ command: "ADD", ...env, stdin: "[1,2,3]" }), 6);
  assertCniError(
    await runPlugin({ command: "ADD", ...env, stdin: '{"a":"' + "x".repeat(3 << 20) + '"}' }),
    6,
  );
  assertCniError(await runPlugin({ command: "BOGUS", ...env, conf: { cniVersion: "1.0.0" } }), 4);
  assertCniError(
    await runPlugin({
      command: "ADD",
      ...env,
      ifname: "",
      conf: { cniVersion: "1.0.0", name: "n" },
    }),
    4,
  );
  assertCniError(
    await runPlugin({ command: "ADD", ...env, conf: { cniVersion: "0.2.0", name: "n" } }),
    1,
  );
  assertCniError(
    await runPlugin({ command: "ADD", ...env, conf: { cniVersion: "1.0.0", name: "n" } }),
    7,
  );
  assertCniError(
    await runPlugin({
      command: "ADD",
      ...env,
      conf: { cniVersion: "1.0.0", name: "n", vethLinkAddress: "bogus", prevResult },
    }),
    7,
  );
});

Deno.test("main.ts ADD into a netns path that does not exist is a CNI error, not a crash", async () => {
  const out = await runPlugin({
    command: "ADD",
    ...env,
    conf: { cniVersion: "1.0.0", name: "n", prevResult, logOptions: { logLevel: "fatal" } },
  });
  assertCniError(out, 102);
});

Deno.test("main.ts disable mode: ADD echoes prevResult, DEL/CHECK succeed silently", async () => {
  const conf = { cniVersion: "1.0.0", name: "n", mode: "disabled", prevResult };
  const add = await runPlugin({ command: "ADD", ...env, conf });
  assert.equal(add.code, 0, add.stdout);
  assert.deepEqual(add.json, prevResult);
  for (const command of ["DEL", "CHECK"]) {
    const out = await runPlugin({ command, ...env, conf });
    assert.equal(out.code, 0, out.stdout);
    assert.equal(out.stdout, "");
  }
});
