/**
 * One file: every manifest of deploy/ is read and checked against the same schemas and its broken copies.
 *
 * The Kubernetes manifests under `deploy/` are valid objects: the built-in kinds
 * (DaemonSet, Pod, ConfigMap) against the Kubernetes API schemas of the npm
 * package `kubernetes-models` (offline, ajv-compiled), the Multus
 * NetworkAttachmentDefinitions (a CRD, so no schema there) by their shape, their
 * embedded CNI config, its coordinator entry against
 * `schema/coordinator.schema.json`, and its IPAM's addresses, gateway and routes
 * against each other; the node-defaults ConfigMap's `defaults.json` as a JSON
 * object of coordinator fields (the schema's properties, less the network's
 * own `cniVersion`, `name`, `type`, `prevResult`) with valid values, and the
 * DaemonSet's mount of it. Mutated copies show that each check can fail.
 *
 * kubernetes-models' validators check types, enums, formats and required fields
 * but, like the OpenAPI schemas they come from, not unknown fields (a typo such
 * as `imagePullPolcy` passes); the API server's strict field validation would
 * catch those.
 */

import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Pod } from "kubernetes-models/v1/Pod";
import { parseAllDocuments } from "yaml";

const root = new URL("../../../", import.meta.url);

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function get(v: unknown, ...path: (string | number)[]): unknown {
  let cur = v;
  for (const key of path) {
    if (typeof key === "number") cur = Array.isArray(cur) ? cur[key] : undefined;
    else cur = isObj(cur) ? cur[key] : undefined;
  }
  return cur;
}

/** One YAML document of a file under deploy/. */
interface Manifest {
  file: string;
  index: number;
  obj: Obj;
}

/**
 * Parse a multi-document YAML text strictly (syntax errors and duplicate keys fail).
 *
 * @param text the YAML
 * @param file its name, for messages
 * @returns the non-empty documents
 */
export function parseManifests(text: string, file: string): Manifest[] {
  const out: Manifest[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    if (doc.errors.length > 0) {
      throw new Error(`${file} #${index}: ${doc.errors.map((e) => e.message).join("; ")}`);
    }
    const obj: unknown = doc.toJS();
    if (obj === null || obj === undefined) return;
    if (!isObj(obj)) throw new Error(`${file} #${index}: not a mapping`);
    out.push({ file, index, obj });
  });
  return out;
}

const coordinatorSchema = JSON.parse(
  await Deno.readTextFile(new URL("schema/coordinator.schema.json", root)),
) as Obj;
const validateCoordinator = new Ajv2020({ strict: false, allErrors: true }).compile(
  coordinatorSchema,
);

// ---------------------------------------------------------------- IPv4 helpers

function ipv4(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

function cidr4(text: unknown): { net: number; bits: number } | undefined {
  if (typeof text !== "string") return undefined;
  const [addr, len, ...rest] = text.split("/");
  const ip = ipv4(addr);
  const bits = Number(len);
  if (ip === undefined || rest.length > 0 || !/^\d{1,2}$/.test(len ?? "") || bits > 32) {
    return undefined;
  }
  const size = 2 ** (32 - bits);
  return { net: ip - (ip % size), bits };
}

function inCidr(ip: number, c: { net: number; bits: number }): boolean {
  return ip >= c.net && ip < c.net + 2 ** (32 - c.bits);
}

/**
 * IPAM consistency of one plugin: the range lies in the subnet, the gateway and
 * every route's gw are on-link (inside the subnet), a default route has a gateway.
 * Understands host-local (`ranges`, `subnet`) and whereabouts (`range`, `range_start`,
 * `range_end`); IPv4 only (the examples are IPv4); other IPAMs are not judged.
 *
 * @param ipam the plugin's `ipam` object
 * @returns the problems found
 */
export function ipamProblems(ipam: unknown): string[] {
  if (!isObj(ipam)) return [];
  const problems: string[] = [];
  interface Pool {
    subnet: string;
    start?: unknown;
    end?: unknown;
    gateway?: unknown;
  }
  const pools: Pool[] = [];
  if (ipam["type"] === "whereabouts") {
    pools.push({
      subnet: String(ipam["range"]),
      start: ipam["range_start"],
      end: ipam["range_end"],
      gateway: ipam["gateway"],
    });
  } else if (ipam["type"] === "host-local") {
    const sets = Array.isArray(ipam["ranges"])
      ? ipam["ranges"]
      : ipam["subnet"] !== undefined
      ? [[ipam]]
      : [];
    for (const set of sets as unknown[]) {
      for (const r of Array.isArray(set) ? set : []) {
        pools.push({
          subnet: String(get(r, "subnet")),
          start: get(r, "rangeStart"),
          end: get(r, "rangeEnd"),
          gateway: get(r, "gateway"),
        });
      }
    }
  } else {
    return [];
  }
  const nets: { net: number; bits: number }[] = [];
  const gateways: number[] = [];
  for (const pool of pools) {
    const net = cidr4(pool.subnet);
    if (net === undefined) {
      problems.push(`IPAM subnet/range "${pool.subnet}" is not an IPv4 CIDR`);
      continue;
    }
    nets.push(net);
    for (const [what, v] of [["start", pool.start], ["end", pool.end]] as const) {
      if (v === undefined) continue;
      const ip = ipv4(v);
      if (ip === undefined || !inCidr(ip, net)) {
        problems.push(`IPAM range ${what} ${String(v)} is not inside ${pool.subnet}`);
      }
    }
    if (pool.gateway !== undefined) {
      const gw = ipv4(pool.gateway);
      if (gw === undefined || !inCidr(gw, net)) {
        problems.push(
          `IPAM gateway ${
            String(pool.gateway)
          } is not inside ${pool.subnet} (network is unreachable)`,
        );
      } else gateways.push(gw);
    }
  }
  const routes = Array.isArray(ipam["routes"]) ? ipam["routes"] as unknown[] : [];
  for (const route of routes) {
    const dst = get(route, "dst");
    const gwText = get(route, "gw");
    if (gwText === undefined) {
      if (dst === "0.0.0.0/0" && gateways.length === 0) {
        problems.push("IPAM default route without gw and without a gateway");
      }
      continue;
    }
    const gw = ipv4(gwText);
    if (gw === undefined || !nets.some((n) => inCidr(gw, n))) {
      problems.push(`IPAM route to ${String(dst)} via ${String(gwText)}: gw is not on-link`);
    }
  }
  return problems;
}

// ------------------------------------------------------------ CNI config checks

/**
 * Problems of a CNI network config (conflist or single plugin) as Multus and
 * libcni read it, with every coordinator entry checked against the JSON Schema.
 *
 * @param conf the parsed config
 * @returns the problems found
 */
export function cniConfigProblems(conf: unknown): string[] {
  if (!isObj(conf)) return ["CNI config is not a JSON object"];
  const problems: string[] = [];
  if (typeof conf["cniVersion"] !== "string") problems.push("CNI config has no cniVersion");
  if (typeof conf["name"] !== "string" || conf["name"] === "") {
    problems.push("CNI config has no name");
  }
  const plugins = conf["plugins"] !== undefined ? conf["plugins"] : [conf];
  if (!Array.isArray(plugins) || plugins.length === 0) {
    return [...problems, "CNI config: plugins is not a non-empty list"];
  }
  plugins.forEach((plugin: unknown, i) => {
    if (!isObj(plugin) || typeof plugin["type"] !== "string" || plugin["type"] === "") {
      problems.push(`plugins[${i}] has no type`);
      return;
    }
    problems.push(...ipamProblems(plugin["ipam"]).map((p) => `plugins[${i}]: ${p}`));
    if (plugin["type"] !== "coordinator") return;
    if (i === 0) problems.push("the coordinator is chained: it must follow the main plugin");
    const entry = { ...plugin, cniVersion: conf["cniVersion"], name: conf["name"] };
    if (!validateCoordinator(entry)) {
      const errs = (validateCoordinator.errors ?? []).map((e) =>
        `${e.instancePath || "/"} ${e.message ?? ""}`
      );
      problems.push(`plugins[${i}] (coordinator) fails the schema: ${errs.join("; ")}`);
    }
  });
  if (!plugins.some((p) => get(p, "type") === "coordinator")) {
    problems.push("no coordinator entry");
  }
  return problems;
}

// ------------------------------------------------------------- manifest checks

/** The ConfigMap that carries the node defaults (configmap-defaults.yaml). */
const DEFAULTS_CONFIGMAP = "coordinator-defaults";
/** Schema properties that belong to the network or the runtime, never to the defaults file. */
const NOT_DEFAULTS = new Set(["cniVersion", "name", "type", "prevResult"]);

/**
 * Problems of a node-defaults file's text: a JSON object whose keys are coordinator fields
 * and whose values pass the schema.
 *
 * @param text the file's content
 * @returns the problems found
 */
export function defaultsProblems(text: unknown): string[] {
  if (typeof text !== "string") return ["defaults.json is missing"];
  let defaults: unknown;
  try {
    defaults = JSON.parse(text);
  } catch (err) {
    return [`defaults.json is not JSON: ${(err as Error).message}`];
  }
  if (!isObj(defaults)) return ["defaults.json is not a JSON object"];
  const fields = coordinatorSchema["properties"] as Obj;
  const problems: string[] = [];
  for (const key of Object.keys(defaults)) {
    if (!(key in fields) || NOT_DEFAULTS.has(key)) {
      problems.push(`defaults.json: "${key}" is not a coordinator field`);
    }
  }
  const entry = { ...defaults, cniVersion: "1.0.0", name: "defaults", type: "coordinator" };
  if (!validateCoordinator(entry)) {
    const errs = (validateCoordinator.errors ?? []).map((e) =>
      `${e.instancePath || "/"} ${e.message ?? ""}`
    );
    problems.push(`defaults.json fails the schema: ${errs.join("; ")}`);
  }
  return problems;
}

function configMapProblems(obj: Obj): string[] {
  const problems = modelProblems(() => new ConfigMap(obj as never).validate());
  if (get(obj, "metadata", "name") === DEFAULTS_CONFIGMAP) {
    problems.push(...defaultsProblems(get(obj, "data", "defaults.json")));
  }
  return problems;
}

/**
 * The DaemonSet's init container gets the defaults ConfigMap's defaults.json at DEFAULTS_SRC and
 * the node's /etc/cni/net.d/coordinator.d at DEFAULTS_DIR.
 *
 * @param obj the DaemonSet
 * @returns the problems found
 */
function defaultsMountProblems(obj: Obj): string[] {
  const spec = get(obj, "spec", "template", "spec");
  const volumes = (get(spec, "volumes") ?? []) as unknown[];
  const init = get(spec, "initContainers", 0);
  const env = new Map(
    ((get(init, "env") ?? []) as unknown[]).map((e) => [get(e, "name"), get(e, "value")]),
  );
  const mountOf = (volume: unknown) =>
    ((get(init, "volumeMounts") ?? []) as unknown[]).find((m) =>
      get(m, "name") === get(volume, "name")
    );
  const problems: string[] = [];
  const cm = volumes.find((v) => get(v, "configMap", "name") === DEFAULTS_CONFIGMAP);
  const cmMount = mountOf(cm);
  if (cm === undefined || cmMount === undefined) {
    problems.push(`the init container does not mount the ConfigMap ${DEFAULTS_CONFIGMAP}`);
  } else {
    const items = (get(cm, "configMap", "items") ?? []) as unknown[];
    const item = items.find((i) => get(i, "key") === "defaults.json");
    const path = items.length === 0 ? "defaults.json" : get(item, "path");
    if (typeof path !== "string") {
      problems.push(`the ConfigMap volume does not project defaults.json`);
    } else if (env.get("DEFAULTS_SRC") !== `${String(get(cmMount, "mountPath"))}/${path}`) {
      problems.push(
        `DEFAULTS_SRC ${String(env.get("DEFAULTS_SRC"))} is not the mounted ` +
          `${String(get(cmMount, "mountPath"))}/${path}`,
      );
    }
  }
  const host = volumes.find((v) => get(v, "hostPath", "path") === "/etc/cni/net.d/coordinator.d");
  const hostMount = mountOf(host);
  if (host === undefined || hostMount === undefined) {
    problems.push("the init container does not mount the node's /etc/cni/net.d/coordinator.d");
  } else if (env.get("DEFAULTS_DIR") !== get(hostMount, "mountPath")) {
    problems.push(
      `DEFAULTS_DIR ${String(env.get("DEFAULTS_DIR"))} is not the mounted ${
        String(get(hostMount, "mountPath"))
      }`,
    );
  }
  return problems;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function nadProblems(obj: Obj): string[] {
  const problems: string[] = [];
  const name = get(obj, "metadata", "name");
  if (typeof name !== "string" || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    problems.push(`metadata.name ${JSON.stringify(name)} is not a DNS-1123 subdomain`);
  }
  const ns = get(obj, "metadata", "namespace");
  if (ns !== undefined && (typeof ns !== "string" || !DNS1123_LABEL.test(ns))) {
    problems.push(`metadata.namespace ${JSON.stringify(ns)} is not a DNS-1123 label`);
  }
  const config = get(obj, "spec", "config");
  if (typeof config !== "string") return [...problems, "spec.config is not a string"];
  let conf: unknown;
  try {
    conf = JSON.parse(config);
  } catch (err) {
    return [...problems, `spec.config is not JSON: ${(err as Error).message}`];
  }
  problems.push(...cniConfigProblems(conf));
  if (isObj(conf) && typeof name === "string" && conf["name"] !== name) {
    problems.push(`spec.config name "${String(conf["name"])}" differs from metadata.name`);
  }
  return problems;
}

function modelProblems(validate: () => void): string[] {
  try {
    validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/** Cross-field rules the API server enforces that the schemas cannot express. */
function podSpecProblems(spec: unknown, where: string): string[] {
  const problems: string[] = [];
  const volumes = new Set(
    ((get(spec, "volumes") ?? []) as unknown[]).map((v) => get(v, "name")),
  );
  for (const list of ["initContainers", "containers"]) {
    for (const c of (get(spec, list) ?? []) as unknown[]) {
      for (const m of (get(c, "volumeMounts") ?? []) as unknown[]) {
        if (!volumes.has(get(m, "name"))) {
          problems.push(
            `${where}.${list} ${String(get(c, "name"))} mounts unknown volume ${
              String(get(m, "name"))
            }`,
          );
        }
      }
    }
  }
  return problems;
}

function daemonSetProblems(obj: Obj): string[] {
  const problems = modelProblems(() => new DaemonSet(obj as never).validate());
  const selector = get(obj, "spec", "selector", "matchLabels");
  const labels = get(obj, "spec", "template", "metadata", "labels");
  if (!isObj(selector) || Object.keys(selector).length === 0) {
    problems.push("spec.selector.matchLabels is empty");
  } else {
    for (const [k, v] of Object.entries(selector)) {
      if (!isObj(labels) || labels[k] !== v) {
        problems.push(`spec.selector ${k}=${String(v)} does not match the template's labels`);
      }
    }
  }
  if (((get(obj, "spec", "template", "spec", "containers") ?? []) as unknown[]).length === 0) {
    problems.push("spec.template.spec.containers is empty");
  }
  problems.push(...podSpecProblems(get(obj, "spec", "template", "spec"), "template"));
  problems.push(...defaultsMountProblems(obj));
  return problems;
}

function podProblems(obj: Obj, nads: ReadonlySet<string>): string[] {
  const problems = modelProblems(() => new Pod(obj as never).validate());
  if (((get(obj, "spec", "containers") ?? []) as unknown[]).length === 0) {
    problems.push("spec.containers is empty");
  }
  problems.push(...podSpecProblems(get(obj, "spec"), "spec"));
  // Multus: the networks a Pod asks for must be NADs defined here.
  const annotations = get(obj, "metadata", "annotations");
  const podNs = String(get(obj, "metadata", "namespace") ?? "default");
  const wanted: string[] = [];
  if (isObj(annotations)) {
    for (const key of ["k8s.v1.cni.cncf.io/networks", "v1.multus-cni.io/default-network"]) {
      const v = annotations[key];
      if (typeof v === "string") wanted.push(...v.split(",").map((s) => s.trim()));
    }
  }
  for (const ref of wanted) {
    const bare = ref.split("@")[0]!;
    const full = bare.includes("/") ? bare : `${podNs}/${bare}`;
    if (!nads.has(full)) problems.push(`asks for network ${ref}, which deploy/ does not define`);
  }
  return problems;
}

/**
 * Every problem of one manifest.
 *
 * @param obj the parsed document
 * @param nads `namespace/name` of the NetworkAttachmentDefinitions known (for Pod annotations)
 * @returns the problems (empty when valid)
 */
export function manifestProblems(obj: Obj, nads: ReadonlySet<string> = new Set()): string[] {
  const type = `${String(obj["apiVersion"])}/${String(obj["kind"])}`;
  switch (type) {
    case "apps/v1/DaemonSet":
      return daemonSetProblems(obj);
    case "v1/Pod":
      return podProblems(obj, nads);
    case "v1/ConfigMap":
      return configMapProblems(obj);
    case "k8s.cni.cncf.io/v1/NetworkAttachmentDefinition":
      return nadProblems(obj);
    default:
      return [`no validator for ${type}: add one to tests/unit/deploy/deploy_test.ts`];
  }
}

async function deployManifests(): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for await (const e of Deno.readDir(new URL("deploy/", root))) {
    if (!e.isFile || !/\.ya?ml$/.test(e.name)) continue;
    out.push(...parseManifests(await Deno.readTextFile(new URL(`deploy/${e.name}`, root)), e.name));
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.index - b.index);
}

function nadNames(manifests: readonly Manifest[]): Set<string> {
  return new Set(
    manifests.filter((m) => m.obj["kind"] === "NetworkAttachmentDefinition").map((m) =>
      `${String(get(m.obj, "metadata", "namespace") ?? "default")}/${
        String(get(m.obj, "metadata", "name"))
      }`
    ),
  );
}

// ------------------------------------------------------------------------ tests

const manifests = await deployManifests();
const nads = nadNames(manifests);

Deno.test("deploy/ has the DaemonSet, both NADs and a Pod for each", () => {
  const kinds = manifests.map((m) => `${m.file}:${String(m.obj["kind"])}`);
  for (
    const k of [
      "daemonset.yaml:DaemonSet",
      "configmap-defaults.yaml:ConfigMap",
      "nad-underlay.yaml:NetworkAttachmentDefinition",
      "nad-underlay.yaml:Pod",
      "nad-overlay.yaml:NetworkAttachmentDefinition",
      "nad-overlay.yaml:Pod",
    ]
  ) {
    assert.ok(kinds.includes(k), `${k} missing (have ${kinds.join(", ")})`);
  }
  // The overlay Pod asks for the macvlan as an extra NIC with the standard annotation.
  const overlayPod = manifests.find((m) =>
    m.file === "nad-overlay.yaml" && m.obj["kind"] === "Pod"
  );
  assert.equal(
    get(overlayPod?.obj, "metadata", "annotations", "k8s.v1.cni.cncf.io/networks"),
    "kube-system/macvlan-overlay",
  );
});

for (const m of manifests) {
  const name = String(get(m.obj, "metadata", "name"));
  Deno.test(`deploy/${m.file}: ${String(m.obj["kind"])} ${name} is valid`, () => {
    assert.deepEqual(manifestProblems(m.obj, nads), []);
  });
}

Deno.test("deploy/10-macvlan-coordinator.conflist is a valid chain with consistent IPAM", async () => {
  const conf: unknown = JSON.parse(
    await Deno.readTextFile(new URL("deploy/10-macvlan-coordinator.conflist", root)),
  );
  assert.deepEqual(cniConfigProblems(conf), []);
});

Deno.test("the README's and docs/operators.md's conflists are valid chains", async () => {
  for (const doc of ["README.md", "docs/operators.md"]) {
    const text = await Deno.readTextFile(new URL(doc, root));
    const blocks = [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const lists = blocks.filter((b) => b.includes('"plugins"'));
    assert.ok(lists.length > 0, `${doc} shows no conflist`);
    for (const block of lists) {
      const conf = JSON.parse(block) as Obj;
      assert.deepEqual(cniConfigProblems(conf), [], `${doc}: ${block}`);
      // A single-NIC underlay pod needs its default route from IPAM.
      for (const p of (conf["plugins"] as Obj[])) {
        const ipam = get(p, "ipam");
        if (!isObj(ipam) || ipam["type"] === undefined) continue;
        const routes = (ipam["routes"] ?? []) as unknown[];
        assert.ok(
          routes.some((r) => get(r, "dst") === "0.0.0.0/0"),
          `${doc}: IPAM gives the pod no default route`,
        );
      }
    }
  }
});

// ------------------------------------------------- the checks fail when they should

function clone<T>(v: T): T {
  return structuredClone(v);
}

function find(file: string, kind: string): Obj {
  const m = manifests.find((x) => x.file === file && x.obj["kind"] === kind);
  assert.ok(m !== undefined, `${file} has no ${kind}`);
  return m.obj;
}

function withConfig(nad: Obj, edit: (conf: Obj) => void): Obj {
  const out = clone(nad);
  const spec = out["spec"] as Obj;
  const conf = JSON.parse(spec["config"] as string) as Obj;
  edit(conf);
  spec["config"] = JSON.stringify(conf);
  return out;
}

Deno.test("a broken DaemonSet is caught", () => {
  const ds = find("daemonset.yaml", "DaemonSet");
  const cases: [string, (o: Obj) => void, RegExp][] = [
    ["container without name", (o) => {
      delete (get(o, "spec", "template", "spec", "containers", 0) as Obj)["name"];
    }, /must have required property name/],
    ["command as a string", (o) => {
      (get(o, "spec", "template", "spec", "initContainers", 0) as Obj)["command"] = "/install.sh";
    }, /command must be array/],
    ["bad imagePullPolicy", (o) => {
      (get(o, "spec", "template", "spec", "initContainers", 0) as Obj)["imagePullPolicy"] =
        "Sometimes";
    }, /imagePullPolicy must be equal to one of the allowed values/],
    ["bad memory quantity", (o) => {
      (get(o, "spec", "template", "spec", "containers", 0, "resources", "limits") as Obj)[
        "memory"
      ] = "16 megs";
    }, /memory must match format "quantity"/],
    ["wrong apiVersion", (o) => {
      o["apiVersion"] = "apps/v1beta9";
    }, /no validator for apps\/v1beta9\/DaemonSet/],
    ["selector not matching the template", (o) => {
      (get(o, "spec", "selector", "matchLabels") as Obj)["app.kubernetes.io/name"] = "other";
    }, /does not match the template's labels/],
    ["mount of an undefined volume", (o) => {
      (get(o, "spec", "template", "spec", "volumes", 0) as Obj)["name"] = "renamed";
    }, /mounts unknown volume cni-bin/],
  ];
  assert.deepEqual(manifestProblems(ds), []);
  for (const [what, edit, re] of cases) {
    const broken = clone(ds);
    edit(broken);
    const problems = manifestProblems(broken);
    assert.ok(problems.some((p) => re.test(p)), `${what}: ${problems.join(" | ") || "accepted"}`);
  }
});

Deno.test("deploy/configmap-defaults.yaml: defaults.json is a JSON object of coordinator fields", () => {
  const cm = find("configmap-defaults.yaml", "ConfigMap");
  assert.equal(get(cm, "metadata", "name"), DEFAULTS_CONFIGMAP);
  assert.equal(
    get(cm, "metadata", "namespace"),
    get(find("daemonset.yaml", "DaemonSet"), "metadata", "namespace"),
  );
  const text = get(cm, "data", "defaults.json");
  assert.deepEqual(defaultsProblems(text), []);
  const defaults = JSON.parse(String(text)) as Obj;
  const fields = Object.keys(coordinatorSchema["properties"] as Obj);
  for (const key of Object.keys(defaults)) assert.ok(fields.includes(key), key);
  // The cluster values every NAD used to repeat.
  for (const key of ["serviceCIDR", "overlayPodCIDR", "hijackCIDR"]) {
    assert.ok(Array.isArray(defaults[key]), `defaults.json sets ${key}`);
  }
});

Deno.test("a broken defaults ConfigMap or its mount is caught", () => {
  const cm = find("configmap-defaults.yaml", "ConfigMap");
  const withDefaults = (text: unknown): Obj => {
    const o = clone(cm);
    (o["data"] as Obj)["defaults.json"] = text;
    return o;
  };
  const cases: [string, Obj, RegExp][] = [
    ["not JSON", withDefaults("{ serviceCIDR: "), /defaults\.json is not JSON/],
    ["a list", withDefaults('["10.233.0.0/18"]'), /not a JSON object/],
    [
      "unknown key",
      withDefaults('{"serviceCidr": ["10.233.0.0/18"]}'),
      /"serviceCidr" is not a coordinator field/,
    ],
    ["the network's name", withDefaults('{"name": "x"}'), /"name" is not a coordinator field/],
    [
      "bad value",
      withDefaults('{"serviceCIDR": ["10.233.0.0/33"]}'),
      /fails the schema: \/serviceCIDR/,
    ],
    ["key missing", withDefaults(undefined), /defaults\.json is missing/],
    ["data as a number", withDefaults(42), /must be string/],
  ];
  for (const [what, broken, re] of cases) {
    const problems = manifestProblems(broken);
    assert.ok(problems.some((p) => re.test(p)), `${what}: ${problems.join(" | ") || "accepted"}`);
  }
  const ds = find("daemonset.yaml", "DaemonSet");
  const dsCases: [string, (o: Obj) => void, RegExp][] = [
    ["no ConfigMap volume", (o) => {
      const vols = get(o, "spec", "template", "spec", "volumes") as Obj[];
      (get(o, "spec", "template", "spec") as Obj)["volumes"] = vols.filter((v) =>
        !("configMap" in v)
      );
    }, /does not mount the ConfigMap coordinator-defaults/],
    ["DEFAULTS_SRC elsewhere", (o) => {
      const env = get(o, "spec", "template", "spec", "initContainers", 0, "env") as Obj[];
      env.find((e) => e["name"] === "DEFAULTS_SRC")!["value"] = "/etc/defaults.json";
    }, /DEFAULTS_SRC \/etc\/defaults\.json is not the mounted \/defaults\/defaults\.json/],
    ["no node directory", (o) => {
      const vols = get(o, "spec", "template", "spec", "volumes") as Obj[];
      (get(o, "spec", "template", "spec") as Obj)["volumes"] = vols.filter((v) =>
        get(v, "hostPath", "path") !== "/etc/cni/net.d/coordinator.d"
      );
    }, /does not mount the node's \/etc\/cni\/net\.d\/coordinator\.d/],
  ];
  for (const [what, edit, re] of dsCases) {
    const broken = clone(ds);
    edit(broken);
    const problems = manifestProblems(broken);
    assert.ok(problems.some((p) => re.test(p)), `${what}: ${problems.join(" | ") || "accepted"}`);
  }
});

Deno.test("a broken Pod is caught", () => {
  const pod = find("nad-overlay.yaml", "Pod");
  assert.deepEqual(manifestProblems(pod, nads), []);
  const noContainers = clone(pod);
  (noContainers["spec"] as Obj)["containers"] = [];
  assert.ok(manifestProblems(noContainers, nads).some((p) => /containers is empty/.test(p)));
  const badNet = clone(pod);
  (get(badNet, "metadata", "annotations") as Obj)["k8s.v1.cni.cncf.io/networks"] =
    "kube-system/macvlan-nowhere";
  assert.ok(
    manifestProblems(badNet, nads).some((p) =>
      /macvlan-nowhere, which deploy\/ does not define/.test(p)
    ),
  );
  const badPort = clone(pod);
  (get(badPort, "spec", "containers", 0) as Obj)["ports"] = [{ containerPort: "eighty" }];
  assert.ok(manifestProblems(badPort, nads).some((p) => /containerPort must be/.test(p)));
});

Deno.test("a broken NetworkAttachmentDefinition is caught", () => {
  const nad = find("nad-underlay.yaml", "NetworkAttachmentDefinition");
  assert.deepEqual(manifestProblems(nad), []);
  const cases: [string, Obj, RegExp][] = [
    [
      "config as an object",
      (() => {
        const o = clone(nad);
        (o["spec"] as Obj)["config"] = { cniVersion: "1.0.0" };
        return o;
      })(),
      /spec\.config is not a string/,
    ],
    [
      "config not JSON",
      (() => {
        const o = clone(nad);
        (o["spec"] as Obj)["config"] = "{ not json";
        return o;
      })(),
      /spec\.config is not JSON/,
    ],
    [
      "bad name",
      (() => {
        const o = clone(nad);
        (o["metadata"] as Obj)["name"] = "Macvlan_Underlay";
        return o;
      })(),
      /not a DNS-1123 subdomain/,
    ],
    ["wrong kind", { ...clone(nad), kind: "NetworkAttachment" }, /no validator for/],
    [
      "coordinator mode bogus",
      withConfig(nad, (c) => {
        (get(c, "plugins", 1) as Obj)["mode"] = "bogus";
      }),
      /coordinator\) fails the schema: \/mode/,
    ],
    [
      "coordinator serviceCIDR not a CIDR",
      withConfig(nad, (c) => {
        (get(c, "plugins", 1) as Obj)["serviceCIDR"] = ["10.233.0.0/33"];
      }),
      /fails the schema: \/serviceCIDR/,
    ],
    [
      "coordinator first in the chain",
      withConfig(nad, (c) => {
        (c["plugins"] as unknown[]).reverse();
      }),
      /must follow the main plugin/,
    ],
    [
      "no coordinator",
      withConfig(nad, (c) => {
        (c["plugins"] as unknown[]).pop();
      }),
      /no coordinator entry/,
    ],
    [
      "config name differs",
      withConfig(nad, (c) => {
        c["name"] = "other";
      }),
      /differs from metadata\.name/,
    ],
    // The bug of issue 16: a /24 range with a gateway outside it.
    [
      "gateway outside the range's subnet",
      withConfig(nad, (c) => {
        const ipam = get(c, "plugins", 0, "ipam") as Obj;
        ipam["range"] = "10.6.212.0/24";
        delete ipam["range_start"];
        delete ipam["range_end"];
      }),
      /gateway 10\.6\.0\.1 is not inside 10\.6\.212\.0\/24/,
    ],
    [
      "range_start outside the subnet",
      withConfig(nad, (c) => {
        (get(c, "plugins", 0, "ipam") as Obj)["range_start"] = "10.9.0.10";
      }),
      /range start 10\.9\.0\.10 is not inside/,
    ],
    [
      "route via an off-link gw",
      withConfig(nad, (c) => {
        (get(c, "plugins", 0, "ipam", "routes", 0) as Obj)["gw"] = "192.168.0.1";
      }),
      /via 192\.168\.0\.1: gw is not on-link/,
    ],
  ];
  for (const [what, broken, re] of cases) {
    const problems = manifestProblems(broken);
    assert.ok(problems.some((p) => re.test(p)), `${what}: ${problems.join(" | ") || "accepted"}`);
  }
});

Deno.test("parseManifests() refuses broken YAML and duplicate keys", () => {
  assert.throws(() => parseManifests("a: [1, 2\n", "x.yaml"), /x\.yaml #0/);
  assert.throws(() => parseManifests("a: 1\na: 2\n", "x.yaml"), /x\.yaml #0/);
  assert.deepEqual(parseManifests("---\na: 1\n---\n", "x.yaml").map((m) => m.obj), [{ a: 1 }]);
});

Deno.test("ipamProblems() accepts consistent host-local and whereabouts pools", () => {
  assert.deepEqual(
    ipamProblems({
      type: "host-local",
      ranges: [[{ subnet: "10.6.0.0/16", rangeStart: "10.6.212.10", gateway: "10.6.0.1" }]],
      routes: [{ dst: "0.0.0.0/0" }],
    }),
    [],
  );
  assert.deepEqual(
    ipamProblems({
      type: "host-local",
      ranges: [[{ subnet: "10.6.0.0/16" }]],
      routes: [{ dst: "0.0.0.0/0" }],
    }),
    ["IPAM default route without gw and without a gateway"],
  );
  assert.deepEqual(
    ipamProblems({ type: "whereabouts", range: "10.7.0.0/16", gateway: "10.7.0.1" }),
    [],
  );
  assert.deepEqual(ipamProblems({ type: "static" }), [], "other IPAMs are not judged");
});
