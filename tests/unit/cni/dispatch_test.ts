import assert from "node:assert/strict";
import {
  type CmdContext,
  type Commands,
  runCni,
  SUPPORTED_VERSIONS,
} from "../../../mod/cni/dispatch.ts";
import { CniError } from "../../../mod/errors.ts";
import type { Result } from "../../../mod/cni/types.ts";

const BASE_ENV = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "0b49742cc7cc2b74",
  CNI_NETNS: "/var/run/netns/pod",
  CNI_IFNAME: "eth0",
  CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=web-0;K8S_POD_NAMESPACE=default",
  CNI_PATH: "/opt/cni/bin",
};

function prev(version: string): Record<string, unknown> {
  const legacy = !version.startsWith("1.");
  return {
    cniVersion: version,
    interfaces: [{ name: "eth0", mac: "02:11:22:33:44:55", sandbox: "/var/run/netns/pod" }],
    ips: [{
      ...(legacy ? { version: "4" } : {}),
      address: "10.6.212.241/16",
      gateway: "10.6.0.1",
      interface: 0,
    }, {
      ...(legacy ? { version: "6" } : {}),
      address: "fd00:10:6::f1/64",
      gateway: "fd00:10:6::1",
      interface: 0,
    }],
    routes: [{ dst: "0.0.0.0/0" }],
    dns: {},
  };
}

function conf(version: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: version,
    name: "macvlan-net",
    type: "coordinator",
    logOptions: { logLevel: "fatal" },
    ...extra,
  };
}

/** Fake network logic that records what it was called with. */
function fake(result?: (ctx: CmdContext) => Result) {
  const calls: { cmd: string; ctx: CmdContext; extra?: unknown }[] = [];
  const commands: Commands = {
    cmdAdd: (ctx) => {
      calls.push({ cmd: "ADD", ctx });
      return Promise.resolve(result ? result(ctx) : ctx.prevResult!);
    },
    cmdDel: (ctx) => (calls.push({ cmd: "DEL", ctx }), Promise.resolve()),
    cmdCheck: (ctx) => (calls.push({ cmd: "CHECK", ctx }), Promise.resolve()),
    cmdGc: (ctx, valid) => (calls.push({ cmd: "GC", ctx, extra: valid }), Promise.resolve()),
    cmdStatus: (ctx) => (calls.push({ cmd: "STATUS", ctx }), Promise.resolve()),
  };
  return { calls, load: () => Promise.resolve(commands) };
}

async function run(
  env: Record<string, string | undefined>,
  stdin: unknown,
  commands = fake(),
) {
  const bytes = typeof stdin === "string"
    ? new TextEncoder().encode(stdin)
    : stdin instanceof Uint8Array
    ? stdin
    : new TextEncoder().encode(JSON.stringify(stdin));
  const out = await runCni({ env, stdin: bytes, commands: commands.load, checkNetns: () => {} });
  let json: Record<string, unknown> | undefined;
  try {
    json = out.stdout === "" ? undefined : JSON.parse(out.stdout);
  } catch {
    json = undefined;
  }
  return { ...out, json };
}

function assertError(out: { exitCode: number; json: unknown; stdout: string }, code: number) {
  assert.equal(out.exitCode, 1, out.stdout);
  const j = out.json as { code: unknown; msg: unknown };
  assert.equal(j.code, code, out.stdout);
  assert.equal(typeof j.msg, "string");
  assert.ok(!out.stdout.includes("    at "), "no stack trace on stdout");
}

Deno.test("runCni() without CNI_COMMAND prints the about text on stderr", async () => {
  const out = await run({}, "");
  assert.equal(out.exitCode, 0);
  assert.equal(out.stdout, "");
  assert.match(out.stderr, /coordinator/);
  assert.match(out.stderr, /1\.1\.0/);
});

Deno.test("runCni() VERSION echoes a supported input version, else 1.1.0", async () => {
  for (const v of SUPPORTED_VERSIONS) {
    const out = await run({ CNI_COMMAND: "VERSION" }, { cniVersion: v });
    assert.deepEqual(out.json, { cniVersion: v, supportedVersions: SUPPORTED_VERSIONS });
  }
  for (const stdin of ["", "not json", { cniVersion: "9.9.9" }]) {
    const out = await run({ CNI_COMMAND: "VERSION" }, stdin);
    assert.equal(out.exitCode, 0);
    assert.equal((out.json as { cniVersion: string }).cniVersion, "1.1.0");
  }
});

Deno.test("runCni() rejects an unknown CNI_COMMAND with code 4", async () => {
  assertError(await run({ ...BASE_ENV, CNI_COMMAND: "FOO" }, conf("1.0.0")), 4);
});

Deno.test("runCni() names each missing required env variable (code 4)", async () => {
  for (const cmd of ["ADD", "CHECK", "DEL"]) {
    for (const key of ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH", "CNI_NETNS"]) {
      if (cmd === "DEL" && key === "CNI_NETNS") continue;
      const env: Record<string, string | undefined> = { ...BASE_ENV, CNI_COMMAND: cmd };
      delete env[key];
      const out = await run(env, conf("1.0.0", { prevResult: prev("1.0.0") }));
      assertError(out, 4);
      assert.match((out.json as { msg: string }).msg, new RegExp(key));
    }
  }
});

Deno.test("runCni() DEL accepts an empty CNI_NETNS", async () => {
  const f = fake();
  const out = await run({ ...BASE_ENV, CNI_COMMAND: "DEL", CNI_NETNS: "" }, conf("1.0.0"), f);
  assert.equal(out.exitCode, 0, out.stdout);
  assert.equal(out.stdout, "");
  assert.equal(f.calls[0]?.cmd, "DEL");
});

Deno.test("runCni() checks container ID and interface name", async () => {
  const c = conf("1.0.0", { prevResult: prev("1.0.0") });
  assertError(await run({ ...BASE_ENV, CNI_CONTAINERID: "" }, c), 3);
  assertError(await run({ ...BASE_ENV, CNI_CONTAINERID: "-bad" }, c), 4);
  assertError(await run({ ...BASE_ENV, CNI_CONTAINERID: "a/b" }, c), 4);
  for (const ifname of ["a".repeat(16), "a/b", "a:b", "a b", ".", ".."]) {
    assertError(await run({ ...BASE_ENV, CNI_IFNAME: ifname }, c), 4);
  }
  const ok = await run({ ...BASE_ENV, CNI_IFNAME: "a".repeat(15) }, c);
  assert.equal(ok.exitCode, 0, ok.stdout);
});

Deno.test("runCni() turns bad stdin into decode errors (code 6)", async () => {
  for (const stdin of ["", "   ", "{", "[1,2]", "null", "42", '"str"']) {
    assertError(await run(BASE_ENV, stdin), 6);
  }
  assertError(await run(BASE_ENV, new Uint8Array([0xff, 0xfe, 0x7b])), 6);
  const huge = new TextEncoder().encode(JSON.stringify({ pad: "x".repeat(2 << 20) }));
  assertError(await run(BASE_ENV, huge), 6);
});

Deno.test("runCni() version checks: unsupported (1), CHECK < 0.4.0 (1), GC/STATUS < 1.1.0 (1)", async () => {
  for (const v of ["0.2.0", "0.1.0", "", "9.9.9", "1.0"]) {
    assertError(await run(BASE_ENV, conf(v, { prevResult: prev("1.0.0") })), 1);
  }
  assertError(await run(BASE_ENV, { name: "n", prevResult: prev("1.0.0") }), 1);
  for (const v of ["0.3.0", "0.3.1"]) {
    const out = await run({ ...BASE_ENV, CNI_COMMAND: "CHECK" }, conf(v, { prevResult: prev(v) }));
    assertError(out, 1);
  }
  for (const cmd of ["GC", "STATUS"]) {
    assertError(await run({ ...BASE_ENV, CNI_COMMAND: cmd }, conf("1.0.0")), 1);
  }
});

Deno.test("runCni() missing name is code 7", async () => {
  assertError(await run(BASE_ENV, { cniVersion: "1.0.0", prevResult: prev("1.0.0") }), 7);
});

Deno.test("runCni() ADD without prevResult is code 7, also in disable mode", async () => {
  assertError(await run(BASE_ENV, conf("1.0.0")), 7);
  assertError(await run(BASE_ENV, conf("1.0.0", { mode: "disable" })), 7);
  assertError(await run(BASE_ENV, conf("1.0.0", { prevResult: { ips: "x" } })), 7);
  assertError(
    await run(BASE_ENV, conf("1.0.0", { prevResult: { ips: [{ address: "nope" }] } })),
    7,
  );
});

for (const inV of SUPPORTED_VERSIONS) {
  for (const outV of SUPPORTED_VERSIONS) {
    Deno.test(`[${outV}] disable-mode ADD passes a ${inV} prevResult through`, async () => {
      for (const mode of ["disable", "disabled"]) {
        const f = fake();
        const out = await run(BASE_ENV, conf(outV, { mode, prevResult: prev(inV) }), f);
        assert.equal(out.exitCode, 0, out.stdout);
        assert.equal(f.calls.length, 0, "the network logic is not called");
        const r = out.json as { cniVersion: string; ips: Record<string, unknown>[] };
        assert.equal(r.cniVersion, outV);
        const legacy = !outV.startsWith("1.");
        assert.deepEqual(
          r.ips.map((ip) => ip["version"]),
          legacy ? ["4", "6"] : [undefined, undefined],
        );
        assert.deepEqual(r.ips.map((ip) => ip["address"]), ["10.6.212.241/16", "fd00:10:6::f1/64"]);
        assert.ok(!("dns" in r), "empty dns is omitted");
      }
    });
  }
}

Deno.test("runCni() disable mode: DEL and CHECK succeed without touching anything", async () => {
  for (const cmd of ["DEL", "CHECK"]) {
    const f = fake();
    const out = await run(
      { ...BASE_ENV, CNI_COMMAND: cmd },
      conf("1.0.0", { mode: "disabled", prevResult: prev("1.0.0") }),
      f,
    );
    assert.equal(out.exitCode, 0);
    assert.equal(out.stdout, "");
    assert.equal(f.calls.length, 0);
  }
});

Deno.test("runCni() ADD prints the command's result in the request version", async () => {
  const f = fake((ctx) => ({
    ...ctx.prevResult!,
    interfaces: [{ name: "eth0", mac: "0a:1b:0a:06:d4:f1", sandbox: "/var/run/netns/pod" }],
  }));
  const out = await run(BASE_ENV, conf("0.4.0", { prevResult: prev("0.4.0") }), f);
  assert.equal(out.exitCode, 0, out.stdout);
  const r = out.json as { cniVersion: string; interfaces: { mac: string }[] };
  assert.equal(r.cniVersion, "0.4.0");
  assert.equal(r.interfaces[0]?.mac, "0a:1b:0a:06:d4:f1");
  const ctx = f.calls[0]!.ctx;
  assert.equal(ctx.cniArgs.K8S_POD_NAME, "web-0");
  assert.equal(ctx.conf.hostRuleTable, 500);
  assert.equal(ctx.env.ifname, "eth0");
});

Deno.test("runCni() maps errors: CniError passes through, others become 999 without a stack", async () => {
  const f = fake();
  const load = async () => ({
    ...(await f.load()),
    cmdAdd: () => Promise.reject(new CniError(100, 'IP address "10.0.0.1" is in use')),
  });
  const out1 = await runCni({
    env: BASE_ENV,
    stdin: new TextEncoder().encode(JSON.stringify(conf("1.0.0", { prevResult: prev("1.0.0") }))),
    commands: load,
    checkNetns: () => {},
  });
  assert.equal(JSON.parse(out1.stdout).code, 100);
  const boom = async () => ({
    ...(await f.load()),
    cmdAdd: () => Promise.reject(new TypeError("x is undefined")),
  });
  const out2 = await runCni({
    env: BASE_ENV,
    stdin: new TextEncoder().encode(JSON.stringify(conf("1.1.0", { prevResult: prev("1.1.0") }))),
    commands: boom,
    checkNetns: () => {},
  });
  const j = JSON.parse(out2.stdout);
  assert.equal(j.code, 999);
  assert.equal(j.cniVersion, "1.1.0");
  assert.ok(!out2.stdout.includes("at "), "no stack");
});

Deno.test("runCni() GC passes valid attachments (and the legacy key)", async () => {
  for (const key of ["cni.dev/valid-attachments", "cni.dev/attachments"]) {
    const f = fake();
    const out = await run(
      { CNI_COMMAND: "GC", CNI_PATH: "/opt/cni/bin" },
      conf("1.1.0", { [key]: [{ containerID: "abc", ifname: "eth0" }] }),
      f,
    );
    assert.equal(out.exitCode, 0, out.stdout);
    assert.deepEqual(f.calls[0]?.extra, [{ containerID: "abc", ifname: "eth0" }]);
  }
  const bad = await run(
    { CNI_COMMAND: "GC", CNI_PATH: "/opt/cni/bin" },
    conf("1.1.0", { "cni.dev/valid-attachments": [{ containerID: 1 }] }),
  );
  assertError(bad, 7);
});

Deno.test("runCni() STATUS runs with no container variables", async () => {
  const f = fake();
  const out = await run({ CNI_COMMAND: "STATUS" }, conf("1.1.0"), f);
  assert.equal(out.exitCode, 0, out.stdout);
  assert.equal(f.calls[0]?.cmd, "STATUS");
});

Deno.test("runCni() CNI_ARGS: unknown key without IgnoreUnknown is code 4", async () => {
  const out = await run(
    { ...BASE_ENV, CNI_ARGS: "FOO=bar" },
    conf("1.0.0", { prevResult: prev("1.0.0") }),
  );
  assertError(out, 4);
});
