/**
 * The configuration doctor compares with: the coordinator entry of a NAD
 * (YAML or JSON), a conflist or a plugin config, over the node defaults file,
 * as ADD merges them. No root.
 */

import assert from "node:assert/strict";
import { coordinatorEntry, effectiveConfig } from "../../../mod/doctor/effective.ts";
import { readDocuments } from "../../../mod/cli/yaml.ts";
import { CniError } from "../../../mod/errors.ts";

const ROOT = new URL("../../../", import.meta.url);
const read = (p: string) => Deno.readTextFileSync(new URL(p, ROOT));

/** The entry of a file as `doctor --conf` reads it (JSON or YAML). */
const entryOfFile = (text: string, path: string) =>
  coordinatorEntry(readDocuments(text, path), path);

Deno.test("coordinatorEntry() of the shipped NADs (YAML block scalar) and conflist", () => {
  for (const f of ["deploy/nad-underlay.yaml", "deploy/nad-overlay.yaml"]) {
    const e = entryOfFile(read(f), f);
    assert.equal(e["type"], "coordinator", f);
    assert.deepEqual(e["serviceCIDR"], ["10.233.0.0/18"], f);
    assert.equal(typeof e["name"], "string");
  }
  const list = entryOfFile(
    read("deploy/10-macvlan-coordinator.conflist"),
    "10-macvlan-coordinator.conflist",
  );
  assert.equal(list["type"], "coordinator");
  assert.equal(typeof list["cniVersion"], "string");
});

Deno.test("coordinatorEntry() of a NAD as kubectl prints it: spec.config quoted and folded", () => {
  const single = [
    "apiVersion: k8s.cni.cncf.io/v1",
    "kind: NetworkAttachmentDefinition",
    "metadata:",
    "  name: m",
    "spec:",
    `  config: '{"cniVersion": "1.0.0", "name": "m", "plugins": [{"type": "macvlan"},`,
    `    {"type": "coordinator", "serviceCIDR": ["10.96.0.0/12"], "podMACPrefix": "0a:1b", "x": "it''s"}]}'`,
  ].join("\n");
  const e = entryOfFile(single, "m.yaml");
  assert.deepEqual(e["serviceCIDR"], ["10.96.0.0/12"]);
  assert.equal(e["x"], "it's");
  const double =
    'spec:\n  config: "{\\"cniVersion\\": \\"1.0.0\\", \\"name\\": \\"d\\",\n    \\"type\\": \\"coordinator\\"}"\n';
  assert.equal(entryOfFile(double, "d.yaml")["name"], "d");
  const folded =
    'spec:\n  config: >-\n    {"cniVersion": "1.0.0",\n     "name": "f", "type": "coordinator"}\nother: 1\n';
  assert.equal(entryOfFile(folded, "f.yaml")["name"], "f");
  assert.throws(
    () => entryOfFile('metadata:\n  config: \'{"type": "coordinator"}\'\n', "m.yaml"),
    (err: unknown) => err instanceof CniError && /no coordinator entry/.test(err.message),
    "config only under spec",
  );
});

Deno.test("coordinatorEntry(): a NAD as JSON, a file of several YAML documents, and no coordinator at all", () => {
  const conf = {
    cniVersion: "1.0.0",
    name: "j",
    type: "coordinator",
    serviceCIDR: ["10.43.0.0/16"],
  };
  const nadJson = JSON.stringify({
    kind: "NetworkAttachmentDefinition",
    spec: { config: JSON.stringify(conf) },
  });
  assert.deepEqual(entryOfFile(nadJson, "nad.json")["serviceCIDR"], ["10.43.0.0/16"]);
  const two = [
    "kind: NetworkAttachmentDefinition",
    "spec:",
    `  config: '{"cniVersion": "1.0.0", "name": "a", "type": "macvlan"}'`,
    "---",
    "kind: NetworkAttachmentDefinition",
    "spec:",
    `  config: '${JSON.stringify(conf)}'`,
  ].join("\n");
  assert.equal(entryOfFile(two, "two.yaml")["name"], "j");
  assert.throws(
    () => entryOfFile(JSON.stringify({ name: "x", plugins: [{ type: "macvlan" }] }), "x.conflist"),
    (err: unknown) =>
      err instanceof CniError && err.code === 7 &&
      /x\.conflist: no coordinator entry/.test(err.message),
  );
  assert.throws(
    () => entryOfFile(JSON.stringify({ spec: { config: "{not json" } }), "bad.json"),
    (err: unknown) =>
      err instanceof CniError &&
      /bad\.json: the NAD's spec\.config is not valid JSON/.test(err.message),
  );
});

Deno.test("effectiveConfig(): the entry over the defaults file over the built-ins, errors naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "coordinator-effective-" });
  try {
    const defaults = `${dir}/defaults.json`;
    await Deno.writeTextFile(
      defaults,
      JSON.stringify({ serviceCIDR: ["10.96.0.0/12"], overlayPodCIDR: ["10.244.0.0/16"] }),
    );
    const alone = effectiveConfig({ defaultsFile: defaults });
    assert.deepEqual(alone.conf.serviceCIDR, ["10.96.0.0/12"]);
    assert.equal(alone.source, defaults);
    const nad = "nad.yaml";
    const conf = (serviceCIDR: unknown) => ({
      path: nad,
      entry: { cniVersion: "1.0.0", name: "n", type: "coordinator", serviceCIDR },
    });
    const over = effectiveConfig({ defaultsFile: defaults, conf: conf(["10.43.0.0/16"]) });
    assert.deepEqual(over.conf.serviceCIDR, ["10.43.0.0/16"]);
    assert.deepEqual(
      over.conf.overlayPodCIDR,
      ["10.244.0.0/16"],
      "the file fills what the entry leaves",
    );
    assert.equal(over.source, `${nad} over ${defaults}`);
    assert.equal(effectiveConfig({ defaultsFile: `${dir}/none.json` }).source, "built-in defaults");
    assert.throws(
      () => effectiveConfig({ defaultsFile: defaults, conf: conf(["10.43.0.1"]) }),
      (err: unknown) =>
        err instanceof CniError && err.message.startsWith(`${nad}: `) &&
        /serviceCIDR/.test(err.message),
    );
    await Deno.writeTextFile(defaults, JSON.stringify({ serviceCIDR: "10.96.0.0/12" }));
    assert.throws(
      () => effectiveConfig({ defaultsFile: defaults }),
      (err: unknown) => err instanceof CniError && err.message.includes(defaults),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
