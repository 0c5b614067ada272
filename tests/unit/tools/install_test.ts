/** tools/install.ts: the binary or a launcher of the bundle, by temp file + rename. */

import assert from "node:assert/strict";
import { install, launcherScript, parseInstallArgs } from "../../../tools/install.ts";
import { permissionFlags, runFlags } from "../../../mod/permissions.ts";

const INSTALL = new URL("../../../tools/install.ts", import.meta.url).pathname;

Deno.test("parseInstallArgs(): /opt/cni/bin and the built binary by default", () => {
  const o = parseInstallArgs([]);
  assert.equal(o.dir, "/opt/cni/bin");
  assert.equal(o.launcher, false);
  assert.match(o.binary, /\/dist\/coordinator$/);
  assert.deepEqual(parseInstallArgs(["--dir", "/x", "--launcher"]).dir, "/x");
  assert.throws(() => parseInstallArgs(["--bogus"]));
});

Deno.test("launcherScript() runs the bundle with exactly the binary's flags", () => {
  const text = launcherScript("/usr/bin/deno", "/opt/cni/bin/coordinator.js");
  const q = (s: string) => `'${s}'`;
  const argv = ["/usr/bin/deno", "run", ...runFlags(), ...permissionFlags()].map(q).join(" ");
  assert.ok(text.startsWith("#!/bin/sh\n"));
  assert.ok(text.includes(`exec ${argv} '/opt/cni/bin/coordinator.js' "$@"\n`), text);
});

Deno.test("deno task install --launcher: a working plugin and subcommand, nothing else left in the dir", async () => {
  const dir = await Deno.makeTempDir({ prefix: "install-test-" });
  try {
    const res = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", INSTALL, "--dir", dir, "--launcher"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(res.code, 0, new TextDecoder().decode(res.stderr));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "coordinator",
      "coordinator-cli.js",
      "coordinator-cni.js",
      "coordinator.js",
    ]);
    assert.equal(Deno.statSync(`${dir}/coordinator`).mode! & 0o777, 0o755);
    // As a runtime starts it: only PATH and CNI_* in the environment.
    const child = new Deno.Command(`${dir}/coordinator`, {
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", CNI_COMMAND: "VERSION" },
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode('{"cniVersion":"1.0.0"}'));
    await w.close();
    const out = await child.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const v = JSON.parse(new TextDecoder().decode(out.stdout)) as { supportedVersions: string[] };
    assert.ok(v.supportedVersions.includes("1.0.0"));
    // Another CNI command loads the bundle's CNI part: a config without a
    // name is refused by the dispatcher (code 7), not an internal error.
    const add = new Deno.Command(`${dir}/coordinator`, {
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        CNI_COMMAND: "ADD",
        CNI_CONTAINERID: "install-test",
        CNI_NETNS: "/proc/self/ns/net",
        CNI_IFNAME: "eth0",
        CNI_PATH: "/opt/cni/bin",
      },
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const aw = add.stdin.getWriter();
    await aw.write(new TextEncoder().encode('{"cniVersion":"1.0.0","type":"coordinator"}'));
    await aw.close();
    const addOut = await add.output();
    const err = JSON.parse(new TextDecoder().decode(addOut.stdout)) as {
      code: number;
      msg: string;
    };
    assert.equal(addOut.code, 1);
    assert.equal(err.code, 7, err.msg);
    // A subcommand as a person runs it, with the YAML kubectl prints (issue 21).
    const sc = new URL("../../testdata/spidercoordinator/list_two.yaml", import.meta.url).pathname;
    const conv = await new Deno.Command(`${dir}/coordinator`, {
      args: ["defaults", "--from-spidercoordinator", sc],
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(conv.code, 0, new TextDecoder().decode(conv.stderr));
    const d = JSON.parse(new TextDecoder().decode(conv.stdout)) as Record<string, unknown>;
    assert.deepEqual(d["hijackCIDR"], ["169.254.0.0/16", "10.96.0.10/32"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install(): the binary by rename, replacing a launcher; a missing one is explained", () => {
  const dir = Deno.makeTempDirSync({ prefix: "install-test-" });
  try {
    Deno.writeTextFileSync(`${dir}/bin`, "#!/bin/sh\necho new\n");
    Deno.writeTextFileSync(`${dir}/coordinator`, "old");
    for (const f of ["coordinator.js", "coordinator-cni.js", "coordinator-cli.js"]) {
      Deno.writeTextFileSync(`${dir}/${f}`, "old bundle");
    }
    assert.equal(
      install({ dir, launcher: false, binary: `${dir}/bin` }),
      `${dir}/coordinator`,
    );
    assert.equal(Deno.readTextFileSync(`${dir}/coordinator`), "#!/bin/sh\necho new\n");
    assert.equal(Deno.statSync(`${dir}/coordinator`).mode! & 0o777, 0o755);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["bin", "coordinator"]);
    assert.throws(
      () => install({ dir, launcher: false, binary: `${dir}/missing` }),
      /is not built: run `deno task build` first, or install a launcher with --launcher/,
    );
    assert.throws(
      () => install({ dir: `${dir}/nope`, launcher: false, binary: `${dir}/bin` }),
      /is not a directory/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
