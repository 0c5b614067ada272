/**
 * main.ts as a runtime runs it: a subprocess with CNI env + stdin and exactly
 * the compiled binary's permission flags (or COORDINATOR_BIN).
 */
import assert from "node:assert/strict";
import { pluginArgv, runPlugin } from "./_helpers/cni.ts";
import { RUN } from "./_helpers/run.ts";

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

Deno.test("main.ts defaults --from-spidercoordinator: YAML, JSON and a List through the bundle, --out where the binary may write", async () => {
  const testdata = new URL("./testdata/spidercoordinator/", import.meta.url).pathname;
  const run = (args: string[], stdin = "") =>
    runPlugin({ command: "", argv: [...pluginArgv(), "defaults", ...args], stdin });
  const yaml = await run(["--from-spidercoordinator", `${testdata}docs_crd_reference.yaml`]);
  assert.equal(yaml.code, 0, yaml.stderr);
  assert.equal((yaml.json as { mode: string }).mode, "underlay");
  assert.match(
    yaml.stderr,
    /^warn: spec\.enableVethLinkLocalAddress: Unknown field, not carried over$/m,
  );
  const json = await run(["--from-spidercoordinator", `${testdata}e2e_host_rule_table.json`]);
  assert.equal(json.code, 0, json.stderr);
  assert.equal((json.json as { hostRuleTable: number }).hostRuleTable, 200);
  const list = await run(
    ["--from-spidercoordinator", "-"],
    await Deno.readTextFile(`${testdata}list_two.yaml`),
  );
  assert.equal(list.code, 0, list.stderr);
  assert.equal((list.json as { podDefaultRouteNic: string }).podDefaultRouteNic, "net1");
  const bad = await run(["--from-spidercoordinator", `${testdata}e2e_mac_prefix_invalid.yaml`]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, "");
  assert.match(bad.stderr, /spec\.podMACPrefix: Invalid "podMACPrefix": "01:10"/);

  // --out: under /run/cni the binary may write (this run's directory there).
  const dir = `${RUN.runDir}/defaults-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const out = await run([
      "--from-spidercoordinator",
      `${testdata}list.json`,
      "--out",
      `${dir}/defaults.json`,
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, "");
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/defaults.json`)).overlayPodCIDR, [
      "10.244.64.0/18",
    ]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["defaults.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  // Elsewhere the binary's permissions refuse, and say what to do.
  const tmp = await Deno.makeTempDir({ prefix: "coordinator-cli-out-" });
  try {
    const refused = await run([
      "--from-spidercoordinator",
      `${testdata}list.json`,
      "--out",
      `${tmp}/defaults.json`,
    ]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /Cannot write ".*\/defaults\.json": this binary may write only under \/var\/log, \/run\/cni, \/var\/run\/cni, \/etc\/cni\/net\.d\/coordinator\.d: give --out a path there, or write to stdout/,
    );
    assert.deepEqual([...Deno.readDirSync(tmp)], []);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
