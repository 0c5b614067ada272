/** deploy/install.sh: installs by temp file + rename, idempotent, refuses a missing directory. */

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
    const env = { COORDINATOR_SRC: src, CNI_BIN_DIR: `${dir}/bin` };

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
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deploy/install.sh fails when the CNI bin directory is missing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "install-sh-" });
  try {
    await Deno.writeTextFile(`${dir}/src`, "x");
    const res = await install({ COORDINATOR_SRC: `${dir}/src`, CNI_BIN_DIR: `${dir}/nope` });
    assert.equal(res.code, 1);
    assert.match(res.out, /does not exist/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
