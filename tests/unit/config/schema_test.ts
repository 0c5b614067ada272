/**
 * The JSON Schema is generated, current, and agrees with `parseConfig()`; the
 * example configurations under `deploy/` are valid for both.
 */

import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parseConfig } from "../../../mod/config/parse.ts";
import { generateSchema, SCHEMA_PATH, schemaText } from "../../../tools/scripts/gen_schema.ts";

const root = new URL("../../../", import.meta.url);

function compileSchema(): (data: unknown) => boolean {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  return ajv.compile(generateSchema());
}

/** The `config: |` block scalars of a YAML file (NetworkAttachmentDefinitions). */
export function nadConfigs(yaml: string): string[] {
  const lines = yaml.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)config: \|\s*$/.exec(lines[i]!);
    if (m === null) continue;
    const indent = m[1]!.length;
    const body: string[] = [];
    for (i++; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.trim() !== "" && line.length - line.trimStart().length <= indent) break;
      body.push(line);
    }
    i--;
    out.push(body.join("\n"));
  }
  return out;
}

interface Example {
  file: string;
  conf: Record<string, unknown>;
}

/** Every coordinator entry of every conflist under deploy/, with name and cniVersion injected. */
async function deployExamples(): Promise<Example[]> {
  const examples: Example[] = [];
  for await (const entry of Deno.readDir(new URL("deploy/", root))) {
    const text = await Deno.readTextFile(new URL(`deploy/${entry.name}`, root));
    let lists: string[] = [];
    if (entry.name.endsWith(".conflist") || entry.name.endsWith(".json")) lists = [text];
    else if (entry.name.endsWith(".yaml") || entry.name.endsWith(".yml")) lists = nadConfigs(text);
    for (const listText of lists) {
      const list = JSON.parse(listText) as {
        cniVersion: string;
        name: string;
        plugins: Record<string, unknown>[];
      };
      for (const plugin of list.plugins) {
        if (plugin["type"] !== "coordinator") continue;
        examples.push({
          file: entry.name,
          conf: { ...plugin, cniVersion: list.cniVersion, name: list.name },
        });
      }
    }
  }
  return examples;
}

Deno.test("schema/coordinator.schema.json is what scripts/gen_schema.ts generates", async () => {
  const committed = await Deno.readTextFile(new URL(SCHEMA_PATH, root));
  assert.equal(committed, schemaText(), "stale schema: run `deno task schema`");
});

Deno.test("generateSchema() covers every top-level key parseConfig() reads", () => {
  const props = Object.keys(generateSchema()["properties"] as Record<string, unknown>);
  for (
    const key of [
      "mode",
      "serviceCIDR",
      "overlayPodCIDR",
      "hijackCIDR",
      "policyRoutes",
      "podMACPrefix",
      "detectOptions",
      "logOptions",
    ]
  ) {
    assert.ok(props.includes(key), key);
  }
});

Deno.test("deploy/ example configs pass parseConfig() and the schema", async () => {
  const examples = await deployExamples();
  const files = new Set(examples.map((e) => e.file));
  for (const f of ["10-macvlan-coordinator.conflist", "nad-underlay.yaml", "nad-overlay.yaml"]) {
    assert.ok(files.has(f), `no coordinator config found in deploy/${f}`);
  }
  const validate = compileSchema();
  for (const { file, conf } of examples) {
    assert.doesNotThrow(() => parseConfig(conf), `parseConfig() rejects deploy/${file}`);
    assert.ok(validate(conf), `schema rejects deploy/${file}`);
  }
});

const BASE = { cniVersion: "1.0.0", name: "net", type: "coordinator" };

/** Configurations both validators must accept. */
const GOOD: Record<string, unknown>[] = [
  {},
  { mode: "underlay" },
  { mode: "disabled" },
  { mode: "" },
  { serviceCIDR: ["10.233.0.0/18", "fd00:10:233::/116"], hijackCIDR: ["169.254.20.10/32"] },
  // Go's decoder reads keys case-insensitively (issue 12).
  { vethMtu: 9000, hijackCidr: ["10.0.0.0/8"], detectoptions: { Retries: 2 } },
  { policyRoutes: [{ DST: "10.1.2.0/24", Gw: "10.6.0.1" }] },
  { serviceCIDR: [" 10.233.0.0/18 "] },
  { policyRoutes: [{ dst: "10.1.2.0/24", gw: "10.6.0.1" }] },
  { podMACPrefix: "0a:1b" },
  { podMACPrefix: "" },
  { hostRuleTable: 1000, podRPFilter: -1, txQueueLen: 1000, vethMTU: 9000 },
  { vethLinkAddress: "169.254.200.1" },
  { detectIPConflict: true, detectGateway: false },
  { detectOptions: { retries: 5, interval: "1ms", timeout: "1.5s" } },
  { detectOptions: { retry: 2 } },
  { logOptions: { logLevel: "INFO", logMaxSize: 10, maxCount: 3 } },
  { podDefaultCniNic: "net1", podDefaultRouteNic: "eth0" },
  { tunePodRoutes: null },
  { unknownKey: { anything: true } },
];

/** Configurations both validators must reject. */
const BAD: Record<string, unknown>[] = [
  { mode: "bogus" },
  { serviceCIDR: ["10.0.0.0/33"] },
  { serviceCIDR: "10.0.0.0/8" },
  { hijackCIDR: ["300.1.1.1"] },
  // A bare address is not a CIDR (issue 12).
  { hijackCIDR: ["169.254.20.10"] },
  { overlayPodCIDR: ["10.233.64.0"] },
  { policyRoutes: [{ dst: "10.1.2.3", gw: "10.6.0.1" }] },
  { vethmtu: 0 },
  { logOptions: { LOGLEVEL: "verbose" } },
  { policyRoutes: [{ DST: "10.1.2.0/24" }] },
  { policyRoutes: [{ dst: "10.1.2.0/24" }] },
  { podMACPrefix: "0b:1b" },
  { podMACPrefix: "0a-1b" },
  { podMACPrefix: "0a:1b:2c" },
  { hostRuleTable: 254 },
  { hostRuleTable: 0 },
  { podRPFilter: 3 },
  { podRPFilter: -2 },
  { vethMTU: 0 },
  { txQueueLen: -1 },
  { txQueueLen: 1.5 },
  { tunePodRoutes: "yes" },
  { vethLinkAddress: "fd00::1" },
  { detectOptions: { interval: "10 ms" } },
  { detectOptions: { timeout: "forever" } },
  { logOptions: { logLevel: "verbose" } },
  { podDefaultCniNic: "a/b" },
  { podDefaultCniNic: "much-too-long-name" },
];

Deno.test("the schema and parseConfig() agree on sample configurations", () => {
  const validate = compileSchema();
  for (const extra of GOOD) {
    const conf = { ...BASE, ...extra };
    assert.doesNotThrow(() => parseConfig(conf), `parseConfig() rejects ${JSON.stringify(extra)}`);
    assert.ok(validate(conf), `schema rejects ${JSON.stringify(extra)}`);
  }
  for (const extra of BAD) {
    const conf = { ...BASE, ...extra };
    assert.throws(() => parseConfig(conf), `parseConfig() accepts ${JSON.stringify(extra)}`);
    assert.ok(!validate(conf), `schema accepts ${JSON.stringify(extra)}`);
  }
});
