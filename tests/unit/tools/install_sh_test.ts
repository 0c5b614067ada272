/**
 * deploy/install.sh: installs the binary and the node defaults (the ConfigMap's defaults.json) by
 * temp file + rename, idempotent, refuses a missing directory or an empty defaults file, leaves the
 * node's defaults alone without a source.
 */

import assert from "node:assert/strict";

const SCRIPT = new URL("../../../deploy/install.sh", import.meta.url).pathname;

async function install(env: Record<string, string>): Promise<{ code: number; out: string }> {
  const res = await new Deno.Command("sh", {
    args: [SCRIPT],
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: res.code, out: dec.decode(res.stdout) + dec.decode(res.stderr) };
}

Deno.test("deploy/install.sh renames a complete copy into place and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "install-sh-" });
  try {
    const src = `${dir}/src`;
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(src, "new binary\n");
    await Deno.writeTextFile(`${dir}/bin/coordinator`, "old binary\n");
    const oldIno = (await Deno.stat(`${dir}/bin/coordinator`)).ino;
    const env = {
      COORDINATOR_SRC: src,
      CNI_BIN_DIR: `${dir}/bin`,
      DEFAULTS_SRC: `${dir}/no-configmap/defaults.json`,
      DEFAULTS_DIR: `${dir}/coordinator.d`,
    };

    const first = await install(env);
    assert.equal(first.code, 0, first.out);
    const st = await Deno.stat(`${dir}/bin/coordinator`);
    assert.equal(await Deno.readTextFile(`${dir}/bin/coordinator`), "new binary\n");
    assert.notEqual(st.ino, oldIno, "a new inode (rename), not an in-place copy");
    assert.equal((st.mode ?? 0) & 0o777, 0o755);
    assert.deepEqual([...Deno.readDirSync(`${dir}/bin`)].map((e) => e.name), ["coordinator"]);

    const second = await install(env);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /already up to date/);
    assert.equal((await Deno.stat(`${dir}/bin/coordinator`)).ino, st.ino);
    assert.match(second.out, /no node defaults at .*left as it is/);
    await assert.rejects(Deno.stat(`${dir}/coordinator.d`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deploy/install.sh fails when the CNI bin directory is missing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "install-sh-" });
  try {
    await Deno.writeTextFile(`${dir}/src`, "x");
    const res = await install({
      COORDINATOR_SRC: `${dir}/src`,
      CNI_BIN_DIR: `${dir}/nope`,
      DEFAULTS_SRC: `${dir}/no-configmap/defaults.json`,
    });
    assert.equal(res.code, 1);
    assert.match(res.out, /does not exist/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A defaults source laid out as a ConfigMap volume: `defaults.json` -> `..data/defaults.json`. */
async function configMapVolume(dir: string, text: string): Promise<string> {
  await Deno.mkdir(`${dir}/cm/..data`, { recursive: true });
  await Deno.writeTextFile(`${dir}/cm/..data/defaults.json`, text);
  await Deno.symlink("..data/defaults.json", `${dir}/cm/defaults.json`);
  return `${dir}/cm/defaults.json`;
}

Deno.test("deploy/install.sh installs defaults.json after the binary, by rename, also when the binary is current", async () => {
  const dir = await Deno.makeTempDir({ prefix: "install-sh-" });
  try {
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(`${dir}/src`, "binary\n");
    await Deno.writeTextFile(`${dir}/bin/coordinator`, "binary\n"); // already current
    const defaults = '{"serviceCIDR": ["10.233.0.0/18"]}\n';
    const env = {
      COORDINATOR_SRC: `${dir}/src`,
      CNI_BIN_DIR: `${dir}/bin`,
      DEFAULTS_SRC: await configMapVolume(dir, defaults),
      DEFAULTS_DIR: `${dir}/etc/cni/net.d/coordinator.d`,
    };
    const target = `${env.DEFAULTS_DIR}/defaults.json`;

    const first = await install(env);
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /bin\/coordinator is already up to date/);
    assert.match(first.out, /installed .*coordinator\.d\/defaults\.json/);
    assert.equal(await Deno.readTextFile(target), defaults);
    const st = await Deno.lstat(target);
    assert.ok(st.isFile, "a regular file, not the ConfigMap's symlink");
    assert.equal((st.mode ?? 0) & 0o777, 0o644);
    assert.deepEqual([...Deno.readDirSync(env.DEFAULTS_DIR)].map((e) => e.name), [
      "defaults.json",
    ]);

    const second = await install(env);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /defaults\.json is already up to date/);
    assert.equal((await Deno.stat(target)).ino, st.ino);

    // A changed ConfigMap: a new inode (temp file + rename), never a rewrite in place.
    const changed = '{"serviceCIDR": ["10.96.0.0/12"]}\n';
    await Deno.writeTextFile(`${dir}/cm/..data/defaults.json`, changed);
    const third = await install(env);
    assert.equal(third.code, 0, third.out);
    assert.equal(await Deno.readTextFile(target), changed);
    assert.notEqual((await Deno.stat(target)).ino, st.ino);
    assert.deepEqual([...Deno.readDirSync(env.DEFAULTS_DIR)].map((e) => e.name), [
      "defaults.json",
    ]);

    // The ConfigMap gone: the node's file stays.
    const fourth = await install({ ...env, DEFAULTS_SRC: `${dir}/gone/defaults.json` });
    assert.equal(fourth.code, 0, fourth.out);
    assert.equal(await Deno.readTextFile(target), changed);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deploy/install.sh refuses an empty defaults.json and keeps the node's file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "install-sh-" });
  try {
    await Deno.mkdir(`${dir}/bin`);
    await Deno.mkdir(`${dir}/coordinator.d`);
    await Deno.writeTextFile(`${dir}/src`, "binary\n");
    await Deno.writeTextFile(`${dir}/coordinator.d/defaults.json`, "{}\n");
    const res = await install({
      COORDINATOR_SRC: `${dir}/src`,
      CNI_BIN_DIR: `${dir}/bin`,
      DEFAULTS_SRC: await configMapVolume(dir, ""),
      DEFAULTS_DIR: `${dir}/coordinator.d`,
    });
    assert.equal(res.code, 1, res.out);
    assert.match(res.out, /are empty/);
    assert.equal(await Deno.readTextFile(`${dir}/coordinator.d/defaults.json`), "{}\n");
    assert.deepEqual([...Deno.readDirSync(`${dir}/coordinator.d`)].map((e) => e.name), [
      "defaults.json",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
