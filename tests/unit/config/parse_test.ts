import assert from "node:assert/strict";
import { type ConfigNote, parseConfig, parseGoDuration } from "../../../mod/config/parse.ts";
import { CONFIG_FIELDS } from "../../../mod/config/fields.ts";
import { CniError } from "../../../mod/errors.ts";
import { INVALID_CASES } from "../../_helpers/config_cases.ts";

const base = { cniVersion: "1.0.0", name: "net1", type: "coordinator" };

function bad(extra: Record<string, unknown>, field: RegExp) {
  try {
    parseConfig({ ...base, ...extra });
  } catch (err) {
    assert.ok(err instanceof CniError, String(err));
    assert.equal(err.code, 7, err.message);
    assert.match(err.message, field);
    return;
  }
  assert.fail(`accepted ${JSON.stringify(extra)}`);
}

Deno.test("parseConfig() applies the original's defaults", () => {
  const c = parseConfig(base);
  assert.equal(c.mode, "auto");
  assert.equal(c.podDefaultCniNic, "eth0");
  assert.equal(c.podDefaultRouteNic, "");
  assert.equal(c.tunePodRoutes, true);
  assert.deepEqual([c.overlayPodCIDR, c.serviceCIDR, c.hijackCIDR, c.policyRoutes], [
    [],
    [],
    [],
    [],
  ]);
  assert.equal(c.hostRuleTable, 500);
  assert.equal(c.podRPFilter, 0);
  assert.equal(c.hostRPFilter, undefined);
  assert.equal(c.txQueueLen, 0);
  assert.equal(c.podMACPrefix, "");
  assert.equal(c.vethLinkAddress, "");
  assert.equal(c.vethMTU, 1500);
  assert.equal(c.detectIPConflict, false);
  assert.equal(c.detectGateway, false);
  assert.deepEqual(c.detectOptions, { retries: 3, intervalMs: 10, timeoutMs: 100 });
  assert.deepEqual(c.logOptions, {
    logLevel: "debug",
    logFile: "/var/log/spidernet/coordinator.log",
    logMaxSize: 100,
    logMaxAge: 0,
    logMaxCount: 0,
  });
});

Deno.test("parseConfig() reads every field when valid", () => {
  const c = parseConfig({
    ...base,
    mode: "underlay",
    podDefaultCniNic: "net0",
    podDefaultRouteNic: "net1",
    multusNicPrefix: "net",
    tunePodRoutes: false,
    overlayPodCIDR: ["10.233.64.0/18", " fd00:10:233:64::/64 "],
    serviceCIDR: ["10.233.0.5/18"],
    hijackCIDR: ["169.254.20.10/32", "FD00::10/128"],
    policyRoutes: [{ dst: "10.1.2.3/16", gw: "10.6.0.1" }, { dst: "fd00:1::1/128", gw: "fd00::1" }],
    hostRuleTable: 1000,
    podRPFilter: 2,
    hostRPFilter: 1,
    txQueueLen: 5000,
    podMACPrefix: "0A:1b",
    vethLinkAddress: "169.254.200.1",
    vethMTU: 9000,
    detectIPConflict: true,
    detectGateway: true,
    detectOptions: { retry: 5, interval: "1ms", timeout: "1.5s" },
    logOptions: {
      logLevel: "INFO",
      logFile: "/var/log/coordinator/c.log",
      maxSize: 10,
      maxAge: 7,
      maxCount: 3,
    },
  });
  assert.equal(c.mode, "underlay");
  assert.equal(c.podDefaultCniNic, "net0");
  assert.equal(c.podDefaultRouteNic, "net1");
  assert.equal(c.tunePodRoutes, false);
  assert.deepEqual(c.overlayPodCIDR, ["10.233.64.0/18", "fd00:10:233:64::/64"]);
  assert.deepEqual(c.serviceCIDR, ["10.233.0.0/18"], "host bits are cleared");
  assert.deepEqual(c.hijackCIDR, ["169.254.20.10/32", "fd00::10/128"]);
  assert.deepEqual(c.policyRoutes, [
    { dst: "10.1.0.0/16", gw: "10.6.0.1", family: 4 },
    { dst: "fd00:1::1/128", gw: "fd00::1", family: 6 },
  ]);
  assert.equal(c.hostRuleTable, 1000);
  assert.equal(c.podRPFilter, 2);
  assert.equal(c.hostRPFilter, 1);
  assert.equal(c.txQueueLen, 5000);
  assert.equal(c.podMACPrefix, "0a:1b");
  assert.equal(c.vethLinkAddress, "169.254.200.1");
  assert.equal(c.vethMTU, 9000);
  assert.deepEqual(c.detectOptions, { retries: 5, intervalMs: 1, timeoutMs: 1500 });
  assert.deepEqual(c.logOptions, {
    logLevel: "info",
    logFile: "/var/log/coordinator/c.log",
    logMaxSize: 10,
    logMaxAge: 7,
    logMaxCount: 3,
  });
});

Deno.test('parseConfig() reads mode "disabled" as "disable" and "" as auto', () => {
  assert.equal(parseConfig({ ...base, mode: "disabled" }).mode, "disable");
  assert.equal(parseConfig({ ...base, mode: "disable" }).mode, "disable");
  assert.equal(parseConfig({ ...base, mode: "" }).mode, "auto");
});

Deno.test("parseConfig() keeps explicit false/0 (pointer semantics)", () => {
  const c = parseConfig({ ...base, tunePodRoutes: false, podRPFilter: -1, txQueueLen: 0 });
  assert.equal(c.tunePodRoutes, false);
  assert.equal(c.podRPFilter, -1);
  assert.equal(parseConfig({ ...base, detectOptions: { retries: 0 } }).detectOptions.retries, 3);
});

Deno.test("parseConfig() rejects every bad field with code 7 naming it", () => {
  bad({ mode: "fast" }, /"mode": "fast"/);
  bad({ mode: 1 }, /"mode"/);
  bad({ podDefaultCniNic: "a".repeat(16) }, /podDefaultCniNic/);
  bad({ podDefaultCniNic: "eth/0" }, /podDefaultCniNic/);
  bad({ podDefaultRouteNic: "net 1" }, /podDefaultRouteNic/);
  bad({ podDefaultRouteNic: "net:1" }, /podDefaultRouteNic/);
  bad({ podDefaultRouteNic: "net\n1" }, /podDefaultRouteNic/);
  bad({ tunePodRoutes: "yes" }, /tunePodRoutes/);
  bad({ overlayPodCIDR: "10.0.0.0/8" }, /overlayPodCIDR/);
  bad({ overlayPodCIDR: ["10.0.0.0/33"] }, /overlayPodCIDR\[0\]": "10.0.0.0\/33"/);
  bad({ serviceCIDR: ["10.0.0.0/8", "300.1.1.1/8"] }, /serviceCIDR\[1\]/);
  bad({ serviceCIDR: [42] }, /serviceCIDR\[0\]/);
  bad({ hijackCIDR: ["fd00::/129"] }, /hijackCIDR\[0\]/);
  bad({ hijackCIDR: ["010.1.1.1/32"] }, /hijackCIDR\[0\]/);
  bad({ policyRoutes: [{ dst: "10.0.0.0/8" }] }, /policyRoutes\[0\]\.gw/);
  bad({ policyRoutes: [{ dst: "x", gw: "10.0.0.1" }] }, /policyRoutes\[0\]\.dst/);
  bad({ policyRoutes: [{ dst: "10.0.0.0/8", gw: "fd00::1" }] }, /policyRoutes\[0\]/);
  bad({ policyRoutes: {} }, /policyRoutes/);
  bad({ hostRuleTable: 0 }, /hostRuleTable/);
  bad({ hostRuleTable: -5 }, /hostRuleTable/);
  bad({ hostRuleTable: 254 }, /hostRuleTable": 254 is a reserved/);
  bad({ hostRuleTable: 2 ** 32 }, /hostRuleTable/);
  bad({ hostRuleTable: 1.5 }, /hostRuleTable/);
  bad({ hostRuleTable: "500" }, /hostRuleTable/);
  bad({ podRPFilter: 3 }, /podRPFilter/);
  bad({ podRPFilter: -2 }, /podRPFilter/);
  bad({ hostRPFilter: 7 }, /hostRPFilter/);
  bad({ txQueueLen: -1 }, /txQueueLen/);
  bad({ txQueueLen: 2 ** 32 }, /txQueueLen/);
  bad({ podMACPrefix: "0a-1b" }, /podMACPrefix/);
  bad({ podMACPrefix: "0b:1b" }, /podMACPrefix": "0b:1b" is a multicast/);
  bad({ podMACPrefix: "0a:1b:2c" }, /podMACPrefix/);
  bad({ podMACPrefix: "0,:1b" }, /podMACPrefix/);
  bad({ vethLinkAddress: "not-an-ip" }, /vethLinkAddress/);
  bad({ vethLinkAddress: "fe80::1" }, /vethLinkAddress/);
  bad({ vethLinkAddress: "224.0.0.1" }, /vethLinkAddress/);
  bad({ vethMTU: 0 }, /vethMTU/);
  bad({ vethMTU: -1 }, /vethMTU/);
  bad({ vethMTU: 70000 }, /vethMTU/);
  bad({ detectIPConflict: 1 }, /detectIPConflict/);
  bad({ detectGateway: "true" }, /detectGateway/);
  bad({ detectOptions: [] }, /detectOptions/);
  bad({ detectOptions: { retries: -1 } }, /detectOptions\.retries/);
  bad({ detectOptions: { interval: "10" } }, /detectOptions\.interval/);
  bad({ detectOptions: { timeout: "1x" } }, /detectOptions\.timeout/);
  bad({ detectOptions: { timeout: "2m" } }, /detectOptions\.timeout/);
  bad({ logOptions: { logLevel: "" } }, /logOptions\.logLevel/);
  bad({ logOptions: { logLevel: "trace" } }, /logOptions\.logLevel/);
  bad({ logOptions: { logFile: "/etc/passwd" } }, /logOptions\.logFile/);
  bad({ logOptions: { logFile: "/var/log/../etc/x.log" } }, /logOptions\.logFile/);
  bad({ logOptions: { logFile: "relative.log" } }, /logOptions\.logFile/);
  bad({ logOptions: { logMaxSize: -1 } }, /logOptions\.logMaxSize/);
  bad({ logOptions: { maxCount: "3" } }, /logOptions\.maxCount/);
  bad({ name: "bad name" }, /"name"/);
});

Deno.test("parseConfig() refuses a missing name with code 7", () => {
  for (const raw of [{ cniVersion: "1.0.0" }, { cniVersion: "1.0.0", name: "" }]) {
    assert.throws(() => parseConfig(raw), (e: unknown) => e instanceof CniError && e.code === 7);
  }
});

Deno.test("parseConfig() tolerates unknown keys (controllers add their own)", () => {
  const notes: ConfigNote[] = [];
  const c = parseConfig({ ...base, capabilities: { ips: true }, args: { cni: {} }, foo: 1 }, {
    notes,
  });
  assert.equal(c.name, "net1");
  assert.deepEqual(notes.map((n) => [n.level, n.msg]), [["warn", 'Unknown key "foo" ignored']]);
});

Deno.test("parseConfig() reads keys as Go's encoding/json: case variants, exact match first", () => {
  const notes: ConfigNote[] = [];
  const c = parseConfig({
    ...base,
    vethMtu: 9000,
    hijackCidr: ["10.9.0.0/16"],
    podMacPrefix: "0a:1b",
    DetectOptions: { RETRIES: 5 },
    logoptions: { loglevel: "info", MaxSize: 7 },
    policyRoutes: [{ Dst: "10.1.0.0/16", GW: "10.6.0.1" }],
    // The exact spelling wins over a case variant, wherever it comes.
    TXQUEUELEN: 7,
    txQueueLen: 100,
  }, { notes });
  assert.equal(c.vethMTU, 9000);
  assert.deepEqual(c.hijackCIDR, ["10.9.0.0/16"]);
  assert.equal(c.podMACPrefix, "0a:1b");
  assert.equal(c.detectOptions.retries, 5);
  assert.equal(c.logOptions.logLevel, "info");
  assert.equal(c.logOptions.logMaxSize, 7);
  assert.deepEqual(c.policyRoutes, [{ dst: "10.1.0.0/16", gw: "10.6.0.1", family: 4 }]);
  assert.equal(c.txQueueLen, 100);
  const infos = notes.filter((n) => n.level === "info").map((n) => n.msg);
  assert.ok(infos.includes('Key "vethMtu" read as "vethMTU"'), infos.join("\n"));
  assert.ok(infos.includes('Key "DetectOptions.RETRIES" read as "DetectOptions.retries"'));
  assert.ok(infos.includes('Key "policyRoutes[0].Dst" read as "policyRoutes[0].dst"'));
  assert.equal(notes.filter((n) => n.level === "warn").length, 0);
});

Deno.test("parseConfig() refuses a near-miss key with a suggestion, at every level", () => {
  bad(
    { serviceCIRD: ["10.233.0.0/18"] },
    /^Unknown key "serviceCIRD": did you mean "serviceCIDR"\?$/,
  );
  bad({ overlayPodCIDRs: [] }, /Unknown key "overlayPodCIDRs": did you mean "overlayPodCIDR"\?/);
  bad(
    { detectOptions: { retires: 3 } },
    /"detectOptions\.retires": did you mean "detectOptions\.retries"/,
  );
  bad({ logOptions: { logLevle: "info" } }, /did you mean "logOptions\.logLevel"/);
  bad(
    { policyRoutes: [{ dst: "10.0.0.0/8", gww: "10.6.0.1" }] },
    /did you mean "policyRoutes\[0\]\.gw"/,
  );
  // Standard CNI keys and keys with a "/" are never flagged.
  const notes: ConfigNote[] = [];
  parseConfig({
    ...base,
    ipam: {},
    dns: {},
    args: {},
    runtimeConfig: {},
    capabilities: {},
    prevResult: {},
    "cni.dev/valid-attachments": [],
    "cni.dev/nodeNane": 1,
  }, { notes });
  assert.deepEqual(notes, []);
});

Deno.test("parseConfig() takes only CIDRs in CIDR lists: a bare address names the /32 form", () => {
  bad(
    { overlayPodCIDR: ["10.233.64.0"] },
    /"overlayPodCIDR\[0\]": "10.233.64.0" .*"10.233.64.0\/32"/,
  );
  bad({ serviceCIDR: ["fd00::1"] }, /"serviceCIDR\[0\]".*"fd00::1\/128"/);
  bad({ hijackCIDR: ["169.254.20.10"] }, /"hijackCIDR\[0\]".*"169.254.20.10\/32"/);
  bad({ policyRoutes: [{ dst: "10.1.2.3", gw: "10.6.0.1" }] }, /"policyRoutes\[0\]\.dst".*\/32/);
});

Deno.test("parseConfig({lenient}) (DEL, GC): bad fields are warnings and take their default", () => {
  const notes: ConfigNote[] = [];
  const c = parseConfig({
    ...base,
    vethLinkAddress: "169.254.100.1/32",
    hostRuleTable: 254,
    serviceCIRD: [],
    detectOptions: { retires: 1, timeout: "x" },
    logOptions: "no",
  }, { lenient: true, notes });
  assert.equal(c.vethLinkAddress, "");
  assert.equal(c.hostRuleTable, 500);
  assert.equal(c.detectOptions.timeoutMs, 100);
  assert.equal(c.logOptions.logLevel, "debug");
  assert.equal(notes.filter((n) => n.level === "warn").length, 6, JSON.stringify(notes));
  // The network name still decides which attachment is meant.
  assert.throws(() => parseConfig({ cniVersion: "1.0.0" }, { lenient: true }));
});

Deno.test("parseGoDuration() reads Go duration syntax", () => {
  assert.equal(parseGoDuration("10ms"), 10);
  assert.equal(parseGoDuration("1.5s"), 1500);
  assert.equal(parseGoDuration("1m30s"), 90_000);
  assert.equal(parseGoDuration("250us"), 0.25);
  assert.equal(parseGoDuration("0"), 0);
  for (const bad of ["", "10", "ms", "1.5", "-1s", "1 s", "1d"]) {
    assert.equal(parseGoDuration(bad), undefined, bad);
  }
});

Deno.test("CONFIG_FIELDS describes every key with a description", () => {
  for (const [key, spec] of Object.entries(CONFIG_FIELDS)) {
    assert.ok(spec.description.length > 5, key);
    for (const [sub, s] of Object.entries(spec.properties ?? {})) {
      assert.ok(s.description.length > 5, `${key}.${sub}`);
    }
  }
});

Deno.test("parseConfig() refuses every case of tests/_helpers/config_cases.ts; lenient takes them", () => {
  for (const c of INVALID_CASES) {
    bad(c.extra, c.field);
    const notes: ConfigNote[] = [];
    parseConfig({ ...base, ...c.extra }, { lenient: true, notes });
    assert.ok(notes.some((n) => n.level === "warn"), JSON.stringify(c.extra));
  }
});
