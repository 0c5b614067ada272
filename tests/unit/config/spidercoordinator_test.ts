/**
 * config/spidercoordinator.ts: SpiderCoordinator objects as Spiderpool's docs
 * and e2e write them (tests/testdata/spidercoordinator/) mapped to node
 * defaults as the agent maps them, every "not carried over" note, and the
 * values ADD's rules refuse (an error naming the object's field, no result).
 */

import assert from "node:assert/strict";
import { parseYaml } from "../../../mod/cli/yaml.ts";
import { checkDefaults } from "../../../mod/config/defaults.ts";
import {
  type Conversion,
  type ConversionNote,
  convertSpiderCoordinator,
} from "../../../mod/config/spidercoordinator.ts";
import { CniError } from "../../../mod/errors.ts";

const TESTDATA = new URL("../../testdata/spidercoordinator/", import.meta.url);

function fixture(name: string): unknown[] {
  return parseYaml(Deno.readTextFileSync(new URL(name, TESTDATA)));
}

function convert(name: string): Conversion {
  return convertSpiderCoordinator(fixture(name));
}

/** The notes as "level field" lines, for exact comparison. */
function noteKeys(notes: readonly ConversionNote[]): string[] {
  return notes.map((n) => `${n.level} ${n.field}`);
}

function note(c: Conversion, field: string): ConversionNote {
  const n = c.notes.find((x) => x.field === field);
  assert.ok(n !== undefined, `no note for ${field}: ${JSON.stringify(c.notes)}`);
  return n;
}

function refused(docs: unknown[], ...res: RegExp[]): void {
  assert.throws(() => convertSpiderCoordinator(docs), (e: unknown) => {
    assert.ok(e instanceof CniError, String(e));
    assert.equal(e.code, 7);
    for (const re of res) assert.match(e.message, re);
    return true;
  });
}

/** A SpiderCoordinator as kubectl prints it after Spiderpool's webhook defaulted it. */
function object(
  spec: Record<string, unknown> = {},
  status: Record<string, unknown> = {},
  name = "default",
): Record<string, unknown> {
  return {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderCoordinator",
    metadata: { name, finalizers: ["spiderpool.spidernet.io"], resourceVersion: "41645" },
    spec: {
      hijackCIDR: ["169.254.0.0/16"],
      hostRuleTable: 500,
      mode: "auto",
      podCIDRType: "none",
      podDefaultRouteNIC: "",
      podMACPrefix: "",
      podRPFilter: 0,
      tunePodRoutes: true,
      txQueueLen: 0,
      vethLinkAddress: "",
      vethMTU: 1500,
      ...spec,
    },
    status: { overlayPodCIDR: [], phase: "Synced", serviceCIDR: ["10.233.0.0/18"], ...status },
  };
}

Deno.test("convertSpiderCoordinator() maps the docs' and e2e's objects as Spiderpool's agent does", () => {
  // docs/reference/crd-spidercoordinator.md: dual-stack status, a policy
  // route, podDefaultRouteNIC -> podDefaultRouteNic, the unknown field listed.
  const crd = convert("docs_crd_reference.yaml");
  assert.equal(crd.name, "default");
  assert.deepEqual(crd.defaults, {
    mode: "underlay",
    podDefaultRouteNic: "eth0",
    tunePodRoutes: true,
    overlayPodCIDR: ["10.233.64.0/18", "fd85:ee78:d8a6:8607::1:0000/112"],
    serviceCIDR: ["10.233.0.0/18", "fd85:ee78:d8a6:8607::1000/116"],
    policyRoutes: [{ dst: "10.10.0.0/16", gw: "172.18.0.1" }],
    hostRuleTable: 500,
    podRPFilter: 0,
    txQueueLen: 0,
  });
  assert.deepEqual(crd.sources["podDefaultRouteNic"], "spec.podDefaultRouteNIC");
  assert.deepEqual(crd.sources["overlayPodCIDR"], "status.overlayPodCIDR");
  assert.deepEqual(noteKeys(crd.notes), [
    "warn spec.enableVethLinkLocalAddress",
    "warn spec.podCIDRType",
  ]);

  // docs/concepts/coordinator.md (v0.9 fields): detect* carried, hostRPFilter
  // not, no overlayPodCIDR in the status, the stray status.conditions listed.
  const concepts = convert("docs_concepts_dual_stack.yaml");
  assert.deepEqual(concepts.defaults, {
    mode: "auto",
    tunePodRoutes: true,
    serviceCIDR: ["10.233.0.0/18", "fd00:10:233::/116"],
    hijackCIDR: ["10.244.64.0/18", "fd00:10:244::/112"],
    hostRuleTable: 500,
    podRPFilter: 0,
    txQueueLen: 0,
    detectIPConflict: false,
    detectGateway: false,
  });
  assert.deepEqual(noteKeys(concepts.notes), [
    "info spec.hostRPFilter",
    "warn spec.podCIDRType",
    "warn status.conditions",
  ]);

  // docs/usage/istio.md: vethLinkAddress and two Calico pools.
  const istio = convert("docs_istio_calico.yaml");
  assert.equal(istio.defaults["vethLinkAddress"], "169.254.100.1");
  assert.deepEqual(istio.defaults["overlayPodCIDR"], ["10.222.64.0/18", "10.223.64.0/18"]);
  assert.equal("podMACPrefix" in istio.defaults, false, '"" is not carried (the default)');

  // docs/usage/cilium-rdma-mtu.md: vethMTU, and a status without CIDRs.
  const cilium = convert("docs_cilium_mtu.yaml");
  assert.equal(cilium.defaults["vethMTU"], 1400);
  assert.equal("serviceCIDR" in cilium.defaults, false);
  assert.equal("overlayPodCIDR" in cilium.defaults, false);
  assert.match(note(cilium, "status.serviceCIDR").msg, /^Empty: no serviceCIDR in the file/);

  // test/e2e: hostRuleTable 200, podMACPrefix 0a:1b, vethMTU, as -o json.
  const e2e = convert("e2e_host_rule_table.json");
  assert.deepEqual(e2e.defaults, {
    mode: "auto",
    tunePodRoutes: true,
    overlayPodCIDR: ["10.244.0.0/16", "fd00:10:244::/64"],
    serviceCIDR: ["10.233.0.0/18", "fd00:10:233::/116"],
    hijackCIDR: ["169.254.0.0/16"],
    policyRoutes: [{ dst: "10.10.0.0/16", gw: "172.18.0.1" }],
    hostRuleTable: 200,
    podRPFilter: 0,
    txQueueLen: 0,
    podMACPrefix: "0a:1b",
    vethMTU: 1450,
  });
});

Deno.test("convertSpiderCoordinator(): the result is what ADD reads from the defaults file", () => {
  const { defaults } = convert("e2e_host_rule_table.json");
  // The same check ADD applies to the file, and the configuration a bare entry gets.
  const { conf } = checkDefaults({ path: "defaults.json", raw: defaults });
  assert.equal(conf.hostRuleTable, 200);
  assert.equal(conf.podMACPrefix, "0a:1b");
  assert.equal(conf.vethMTU, 1450);
  assert.deepEqual(conf.serviceCIDR, ["10.233.0.0/18", "fd00:10:233::/116"]);
  assert.deepEqual(conf.policyRoutes, [{ dst: "10.10.0.0/16", gw: "172.18.0.1", family: 4 }]);
  // The entry still wins, field by field.
  const over = checkDefaults({ path: "defaults.json", raw: defaults }, {
    type: "coordinator",
    hostRuleTable: 300,
  });
  assert.equal(over.conf.hostRuleTable, 300);
  assert.equal(over.conf.vethMTU, 1450);
});

Deno.test("convertSpiderCoordinator() takes the object named default from a List, and says so", () => {
  const two = convert("list_two.yaml");
  assert.equal(two.name, "default");
  assert.equal(two.defaults["podDefaultRouteNic"], "net1");
  assert.equal(two.defaults["txQueueLen"], 1000);
  assert.equal(two.defaults["hostRuleTable"], 500, "not the other object's 600");
  assert.match(
    note(two, "metadata.name").msg,
    /^2 SpiderCoordinators: took "default", ignored "canary" \(Spiderpool's agent reads the first one listed, "canary"\)$/,
  );
  // The bare address in hijackCIDR becomes /32, as the webhook stores it.
  assert.deepEqual(two.defaults["hijackCIDR"], ["169.254.0.0/16", "10.96.0.10/32"]);
  assert.match(
    note(two, "spec.hijackCIDR[1]").msg,
    /"10\.96\.0\.10" carried as "10\.96\.0\.10\/32"/,
  );

  const one = convert("list.json");
  assert.deepEqual(noteKeys(one.notes), ["warn spec.podCIDRType"], "one item: nothing to choose");
  assert.deepEqual(one.defaults["overlayPodCIDR"], ["10.244.64.0/18"]);

  // Several documents count as a List; other kinds are skipped with a note.
  const docs = [
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "coordinator-defaults" } },
    object({}, {}, "default"),
  ];
  const mixed = convertSpiderCoordinator(docs);
  assert.match(
    note(mixed, "").msg,
    /^Skipped ConfigMap "coordinator-defaults": not a SpiderCoordinator$/,
  );
  // One object under another name (the chart's coordinator.name): taken, noted.
  const renamed = convertSpiderCoordinator([object({}, {}, "spiderpool")]);
  assert.equal(renamed.name, "spiderpool");
  assert.match(note(renamed, "metadata.name").msg, /named "spiderpool", not "default"/);
  // A List whose objects are all named otherwise: which one is the cluster's?
  refused(
    [{ apiVersion: "v1", kind: "List", items: [object({}, {}, "a"), object({}, {}, "b")] }],
    /2 SpiderCoordinators \("a", "b"\) and none is named "default"/,
    /kubectl get spidercoordinator NAME -o yaml/,
  );
});

Deno.test("convertSpiderCoordinator() says what it could not carry over", () => {
  // podCIDRType: only the status values of the moment carry.
  for (const type of ["auto", "cluster", "calico", "cilium"]) {
    const n = note(convertSpiderCoordinator([object({ podCIDRType: type })]), "spec.podCIDRType");
    assert.equal(n.level, "warn");
    assert.match(
      n.msg,
      new RegExp(`^"${type}": Spiderpool's controller keeps status\\.overlayPodCIDR`),
    );
    assert.match(n.msg, /convert it again when the cluster's pod or Service CIDRs change$/);
  }
  const none = note(
    convertSpiderCoordinator([object({ podCIDRType: "none" })]),
    "spec.podCIDRType",
  );
  assert.equal(none.level, "info");
  assert.match(none.msg, /^"none": Spiderpool discovers no pod CIDR/);

  // A phase other than Synced: stale or empty CIDRs, with the controller's reason.
  const notReady = convert("e2e_not_ready.yaml");
  const phase = note(notReady, "status.phase");
  assert.equal(phase.level, "warn");
  assert.match(
    phase.msg,
    /^"NotReady", not "Synced" \(reason: failed to get restmapping: no matches for kind "IPPool" in group "crd\.projectcalico\.org"\): Spiderpool's agent refuses every pod in this phase, and status\.overlayPodCIDR and status\.serviceCIDR may be stale or empty; carried over as they are$/,
  );
  assert.deepEqual(notReady.defaults["serviceCIDR"], ["10.233.0.0/18"], "the stale one, as it is");
  assert.equal("overlayPodCIDR" in notReady.defaults, false);
  const noPhase = object();
  delete (noPhase["status"] as Record<string, unknown>)["phase"];
  assert.match(
    note(convertSpiderCoordinator([noPhase]), "status.phase").msg,
    /^Missing \(not an object read from a cluster\?\)/,
  );
  assert.equal(
    convertSpiderCoordinator([object()]).notes.some((n) => n.field === "status.phase"),
    false,
    "Synced: nothing to say",
  );

  // Unknown fields, wherever they are; the rest still carries.
  const unknown = convertSpiderCoordinator([{
    ...object(
      { detectgateway: true, policyRoutes: [{ dst: "10.10.0.0/16", gw: "172.18.0.1", via: "x" }] },
      { observedGeneration: 3 },
    ),
    extra: 1,
  }]);
  assert.deepEqual(
    unknown.notes.filter((n) => /^Unknown field/.test(n.msg)).map((n) => n.field).sort(),
    ["extra", "spec.detectgateway", "spec.policyRoutes[0].via", "status.observedGeneration"],
  );
  assert.ok(unknown.notes.every((n) => !/^Unknown/.test(n.msg) || n.level === "warn"));
  assert.deepEqual(unknown.defaults["policyRoutes"], [{ dst: "10.10.0.0/16", gw: "172.18.0.1" }]);
  assert.equal("detectGateway" in unknown.defaults, false, "a case variant is another field");

  // The original's "not set" values, and the ones carried with a change.
  const odd = convertSpiderCoordinator([object({
    hostRuleTable: 0,
    vethMTU: 0,
    podRPFilter: -5,
    hostRPFilter: 1,
    policyRoutes: [{ dst: "fd00:10::1", gw: "fd00::1" }],
  })]);
  assert.equal("hostRuleTable" in odd.defaults, false);
  assert.equal("vethMTU" in odd.defaults, false);
  assert.match(note(odd, "spec.hostRuleTable").msg, /^0: left out, .*the plugin then uses 500/);
  assert.match(note(odd, "spec.vethMTU").msg, /^0: left out, .*the plugin then uses 1500/);
  assert.equal(odd.defaults["podRPFilter"], -1);
  assert.match(note(odd, "spec.podRPFilter").msg, /^-5 carried as -1: both leave/);
  assert.match(note(odd, "spec.hostRPFilter").msg, /^Not carried over: Spiderpool's agent never/);
  assert.deepEqual(odd.defaults["policyRoutes"], [{ dst: "fd00:10::1/128", gw: "fd00::1" }]);
  assert.match(note(odd, "spec.policyRoutes[0].dst").msg, /carried as "fd00:10::1\/128"/);
  // Every note says something, and names a field of the object (or the object).
  for (const n of [...odd.notes, ...unknown.notes, ...notReady.notes]) {
    assert.ok(n.msg.length > 10 && /^[A-Z"0-9-]/.test(n.msg), JSON.stringify(n));
  }
});

Deno.test("convertSpiderCoordinator() refuses a value ADD would refuse, naming the object's field", () => {
  // test/e2e: "01:10", which Spiderpool's webhook refuses too (multicast).
  refused(
    fixture("e2e_mac_prefix_invalid.yaml"),
    /^Cannot convert SpiderCoordinator "default", ADD's rules refuse: spec\.podMACPrefix: Invalid "podMACPrefix": "01:10" is a multicast prefix \(the first byte must be even\)$/,
  );
  // Values Spiderpool accepted that this plugin does not: every one named at once.
  refused(
    [object(
      { vethLinkAddress: "fe80::1", vethMTU: 9, hostRuleTable: 254, txQueueLen: "1000" },
      { overlayPodCIDR: ["10.244.0.0/16", "10.245.0.1"] },
    )],
    /spec\.vethLinkAddress: Invalid "vethLinkAddress": "fe80::1" is not an IPv4 address/,
    /spec\.vethMTU: Invalid "vethMTU": 9 is out of range \[68, 65535\]/,
    /spec\.hostRuleTable: Invalid "hostRuleTable": 254 is a reserved value/,
    /spec\.txQueueLen: Invalid "txQueueLen": "1000" is not an integer/,
    /status\.overlayPodCIDR: Invalid "overlayPodCIDR\[1\]": "10\.245\.0\.1" is an address, not a CIDR/,
  );
  refused([object({ mode: "bridge" })], /spec\.mode: Invalid "mode": "bridge" is not one of/);
  refused(
    [object({ policyRoutes: [{ dst: "10.10.0.0/16", gw: "fd00::1" }] })],
    /spec\.policyRoutes/,
  );
});

Deno.test("convertSpiderCoordinator() refuses what is not a SpiderCoordinator", () => {
  refused([], /^No SpiderCoordinator found \(read: nothing\)/);
  refused([null], /No SpiderCoordinator found/);
  refused(
    [{
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderMultusConfig",
      metadata: { name: "m" },
    }],
    /read: SpiderMultusConfig "m"\).*kubectl get spidercoordinator default -o yaml/,
  );
  refused([{ apiVersion: "v1", kind: "List", items: [] }], /read: nothing/);
  refused([{ apiVersion: "v1", kind: "List" }], /A List without "items"/);
  refused(
    [{ ...object(), apiVersion: "spiderpool.spidernet.io/v1" }],
    /only "spiderpool\.spidernet\.io\/v2beta1"/,
  );
  refused([{ ...object(), spec: ["x"] }], /"spec" is not an object/);
  refused([{ ...object(), status: "Synced" }], /"status" is not an object/);
});
