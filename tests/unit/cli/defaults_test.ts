/**
 * `coordinator defaults --from-spidercoordinator FILE [--out FILE]` in-process:
 * YAML, JSON, a List and stdin; the file written by temp file + rename and
 * checked as ADD reads it; nothing written when a value is refused; usage
 * errors. (tests/cli_test.ts runs it through the bundle with the binary's
 * permissions.)
 */

import assert from "node:assert/strict";
import { writeDefaultsFile } from "../../../mod/cli/defaults.ts";
import { readDocuments } from "../../../mod/cli/yaml.ts";
import { cli } from "../../_helpers/cli.ts";
import { checkDefaultsFile, DEFAULTS_FILE } from "../../../mod/config/defaults.ts";
import { CniError } from "../../../mod/errors.ts";
import { WRITABLE_PATHS } from "../../../mod/permissions.ts";

const TESTDATA = new URL("../../testdata/spidercoordinator/", import.meta.url).pathname;

async function withDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "coordinator-defaults-sc-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("defaults --from-spidercoordinator prints the node defaults of kubectl's YAML, JSON and Lists", async () => {
  const yaml = await cli([
    "defaults",
    "--from-spidercoordinator",
    `${TESTDATA}docs_istio_calico.yaml`,
  ]);
  assert.equal(yaml.code, 0, yaml.err);
  assert.deepEqual(JSON.parse(yaml.out), {
    mode: "auto",
    tunePodRoutes: true,
    overlayPodCIDR: ["10.222.64.0/18", "10.223.64.0/18"],
    serviceCIDR: ["10.233.0.0/18"],
    hijackCIDR: ["169.254.0.0/16"],
    hostRuleTable: 500,
    podRPFilter: 0,
    vethLinkAddress: "169.254.100.1",
    detectIPConflict: false,
    detectGateway: false,
  });
  assert.ok(yaml.out.endsWith("}\n"));
  // stderr: what did not carry over, then a summary.
  assert.match(yaml.err, /^info: spec\.hostRPFilter: Not carried over/m);
  assert.match(yaml.err, /^warn: spec\.podCIDRType: "calico": /m);
  assert.match(
    yaml.err,
    /^defaults: SpiderCoordinator "default": 10 field\(s\) carried over \(mode, tunePodRoutes, .*, detectGateway\)$/m,
  );

  const json = await cli([
    "defaults",
    "--from-spidercoordinator",
    `${TESTDATA}e2e_host_rule_table.json`,
  ]);
  assert.equal(json.code, 0, json.err);
  assert.equal(JSON.parse(json.out).hostRuleTable, 200);

  // A List from stdin ("-"): the one named default.
  const list = await cli(
    ["defaults", "--from-spidercoordinator", "-"],
    await Deno.readTextFile(`${TESTDATA}list_two.yaml`),
  );
  assert.equal(list.code, 0, list.err);
  assert.equal(JSON.parse(list.out).podDefaultRouteNic, "net1");
  assert.match(list.err, /^warn: metadata\.name: 2 SpiderCoordinators: took "default"/m);
  const listJson = await cli(["defaults", "--from-spidercoordinator", `${TESTDATA}list.json`]);
  assert.equal(listJson.code, 0, listJson.err);
  assert.deepEqual(JSON.parse(listJson.out).overlayPodCIDR, ["10.244.64.0/18"]);

  // What it prints passes `defaults --check`, i.e. ADD's reading of the file.
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/defaults.json`, yaml.out);
    const check = await cli(["defaults", "--check", `${dir}/defaults.json`, "--no-node"]);
    assert.equal(check.code, 0, check.err);
    assert.equal(JSON.parse(check.out).vethLinkAddress, "169.254.100.1");
  });
});

Deno.test("defaults --from-spidercoordinator --out writes by temp file + rename, and nothing when refused", async () => {
  await withDir(async (dir) => {
    const out = `${dir}/coordinator.d/defaults.json`;
    const first = await cli([
      "defaults",
      "--from-spidercoordinator",
      `${TESTDATA}docs_crd_reference.yaml`,
      "--out",
      out,
    ]);
    assert.equal(first.code, 0, first.err);
    assert.equal(first.out, "", "nothing on stdout");
    assert.match(first.err, new RegExp(`^defaults: wrote ${out.replaceAll(".", "\\.")}$`, "m"));
    assert.equal(checkDefaultsFile(out).conf.mode, "underlay");
    assert.equal(Deno.statSync(out).mode! & 0o777, 0o644);

    // Replaced by rename: a reader holding the old file keeps the old content.
    const old = await Deno.open(out);
    const second = await cli([
      "defaults",
      "--from-spidercoordinator",
      `${TESTDATA}docs_cilium_mtu.yaml`,
      "--out",
      out,
    ]);
    assert.equal(second.code, 0, second.err);
    const held = new TextDecoder().decode(await new Response(old.readable).arrayBuffer());
    assert.equal(JSON.parse(held).mode, "underlay");
    assert.equal(JSON.parse(await Deno.readTextFile(out)).vethMTU, 1400);
    assert.deepEqual([...Deno.readDirSync(`${dir}/coordinator.d`)].map((e) => e.name), [
      "defaults.json",
    ]);

    // Refused (test/e2e's multicast podMACPrefix): a clear error, the old file untouched.
    const before = await Deno.readTextFile(out);
    const bad = await cli([
      "defaults",
      "--from-spidercoordinator",
      `${TESTDATA}e2e_mac_prefix_invalid.yaml`,
      "--out",
      out,
    ]);
    assert.equal(bad.code, 1);
    assert.equal(bad.out, "");
    assert.equal(
      bad.err,
      'defaults: Cannot convert SpiderCoordinator "default", ADD\'s rules refuse: ' +
        'spec.podMACPrefix: Invalid "podMACPrefix": "01:10" is a multicast prefix (the first ' +
        "byte must be even); nothing written\n",
    );
    assert.equal(await Deno.readTextFile(out), before);
    assert.deepEqual([...Deno.readDirSync(`${dir}/coordinator.d`)].map((e) => e.name), [
      "defaults.json",
    ]);
    // Without --out too: no half output on stdout.
    const badOut = await cli([
      "defaults",
      "--from-spidercoordinator",
      `${TESTDATA}e2e_mac_prefix_invalid.yaml`,
    ]);
    assert.equal(badOut.code, 1);
    assert.equal(badOut.out, "");

    // A directory in the way: the error, and no temporary file left.
    Deno.mkdirSync(`${dir}/taken`);
    const taken = await cli([
      "defaults",
      "--from-spidercoordinator",
      `${TESTDATA}list.json`,
      "--out",
      `${dir}/taken`,
    ]);
    assert.equal(taken.code, 1);
    assert.match(taken.err, /^defaults: Cannot write ".*\/taken": .*; nothing written$/m);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "coordinator.d",
      "taken",
    ]);
  });
});

Deno.test("defaults --from-spidercoordinator: unreadable input and usage errors", async () => {
  const missing = await cli(["defaults", "--from-spidercoordinator", "/nonexistent/sc.yaml"]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /^defaults: Cannot read "\/nonexistent\/sc\.yaml": /);

  const huge = await cli(["defaults", "--from-spidercoordinator", "-"], "#".repeat((1 << 20) + 1));
  assert.equal(huge.code, 1);
  assert.match(
    huge.err,
    /^defaults: Cannot read "-": more than 1048576 bytes on stdin: give a file$/m,
  );

  const notYaml = await cli(["defaults", "--from-spidercoordinator", "-"], "spec:\n\tmode: auto\n");
  assert.equal(notYaml.code, 1);
  assert.match(notYaml.err, /Cannot read "-": not YAML as kubectl prints it: .*tab.*line 2/);
  const notJson = await cli(["defaults", "--from-spidercoordinator", "-"], '{"kind": ');
  assert.equal(notJson.code, 1);
  assert.match(notJson.err, /Cannot read "-": .*JSON/);
  const other = await cli(
    ["defaults", "--from-spidercoordinator", "-"],
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
  );
  assert.equal(other.code, 1);
  assert.match(other.err, /No SpiderCoordinator found \(read: ConfigMap "x"\)/);

  for (
    const args of [
      ["defaults"],
      ["defaults", "--check", "a.json", "--from-spidercoordinator", "b.yaml"],
      ["defaults", "--check", "a.json", "--out", "c.json"],
      ["defaults", "--from-spidercoordinator", "b.yaml", "--entry", "e.json"],
      ["defaults", "--from-spidercoordinator"],
      ["defaults", "--suggest", "--check", "a.json"],
      ["defaults", "--suggest", "--from-spidercoordinator", "b.yaml"],
      ["defaults", "--suggest", "--out", "c.json"],
      ["defaults", "--suggest", "--no-node"],
      ["defaults", "--check", "a.json", "--defaults", "d.json"],
      ["defaults", "--from-spidercoordinator", "b.yaml", "--no-node"],
    ]
  ) {
    const r = await cli(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.err, /Usage: coordinator defaults --check FILE/);
  }
  const help = await cli(["defaults", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /--from-spidercoordinator FILE/);
  assert.match(
    (await cli(["--help"])).err,
    /defaults +check a node defaults file against this node, suggest one from it, or make one from/,
  );
});

Deno.test("readDocuments(): JSON as JSON, anything else as YAML", () => {
  assert.deepEqual(readDocuments('{"a": [1]}', "x"), [{ a: [1] }]);
  assert.deepEqual(readDocuments("{a: [1]}", "x"), [{ a: [1] }], "YAML's flow style");
  assert.deepEqual(readDocuments("a: 1\n---\nb: 2\n", "x"), [{ a: 1 }, { b: 2 }]);
  assert.throws(() => readDocuments("a: [1\n", "f.yaml"), (e: unknown) => {
    assert.ok(e instanceof CniError && e.code === 7);
    assert.match(e.message, /^Cannot read "f\.yaml": not YAML as kubectl prints it: .*line 1/);
    return true;
  });
});

Deno.test("writeDefaultsFile() refuses a file ADD would refuse and leaves nothing", async () => {
  await withDir((dir) => {
    assert.throws(
      () => writeDefaultsFile(`${dir}/defaults.json`, '{"vethMTU": 9}\n'),
      (e: unknown) => e instanceof CniError && /vethMTU/.test(e.message),
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("the binary may write the node defaults file's directory (for --out), and no other of /etc", () => {
  const dir = DEFAULTS_FILE.slice(0, DEFAULTS_FILE.lastIndexOf("/"));
  assert.ok(WRITABLE_PATHS.includes(dir), dir);
  assert.deepEqual(WRITABLE_PATHS.filter((p) => p.startsWith("/etc")), [dir]);
});
