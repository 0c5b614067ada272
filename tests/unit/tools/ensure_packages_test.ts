/**
 * `deno task test` and `deno task demo` install their Debian packages first
 * (tools/scripts/ensure_packages.sh), .ci/run leaves that to the test task, and the
 * README names what gets installed.
 */

import assert from "node:assert/strict";

const root = new URL("../../../", import.meta.url);
const read = (p: string) => Deno.readTextFileSync(new URL(p, root));
const SCRIPT = new URL("tools/scripts/ensure_packages.sh", root).pathname;

/** The package list of one group in the script. */
function packages(group: "test" | "demo"): string[] {
  const m = new RegExp(`\\n  ${group}\\)\\n(?:\\s*#.*\\n)*\\s*PACKAGES=\\(([^)]*)\\)`).exec(
    read("tools/scripts/ensure_packages.sh"),
  );
  assert.ok(m, `no PACKAGES for ${group}`);
  return m[1]!.trim().split(/\s+/);
}

Deno.test("the test and demo tasks run tools/scripts/ensure_packages.sh first", () => {
  const tasks = (JSON.parse(read("deno.json")) as { tasks: Record<string, string> }).tasks;
  assert.match(tasks["test"]!, /^bash tools\/scripts\/ensure_packages\.sh test && /);
  assert.match(tasks["demo"]!, /^bash tools\/scripts\/ensure_packages\.sh demo && /);
});

Deno.test("the script holds the package lists; .ci/run and the README install nothing themselves", () => {
  const test = packages("test");
  for (
    const p of ["iptables", "containernetworking-plugins", "containerd", "runc", "busybox-static"]
  ) {
    assert.ok(test.includes(p), p);
  }
  for (const p of packages("demo")) {
    assert.ok(test.includes(p), `demo's ${p} is a test package too`);
  }
  assert.doesNotMatch(read(".ci/run"), /apt-get|dpkg/);
  const readme = read("README.md");
  assert.doesNotMatch(readme, /^apt-get /m, "no separate apt line in the README");
  for (const p of test) assert.ok(readme.includes(`\`${p}\``), `README does not name ${p}`);
});

Deno.test("tools/scripts/ensure_packages.sh parses and refuses an unknown group", async () => {
  const syntax = await new Deno.Command("bash", { args: ["-n", SCRIPT] }).output();
  assert.equal(syntax.code, 0, new TextDecoder().decode(syntax.stderr));
  const bad = await new Deno.Command("bash", { args: [SCRIPT, "bogus"], stderr: "piped" }).output();
  assert.equal(bad.code, 2);
  assert.match(new TextDecoder().decode(bad.stderr), /usage: .* test\|demo/);
});
