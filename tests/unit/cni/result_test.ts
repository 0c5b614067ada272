import assert from "node:assert/strict";
import { CniError } from "../../../mod/errors.ts";
import { formatResult, parseResult } from "../../../mod/cni/result.ts";

const VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

function sample(version: string) {
  const legacy = !version.startsWith("1.");
  const iface: Record<string, unknown> = { name: "eth0", mac: "02:00:00:00:00:01", sandbox: "/ns" };
  if (version === "1.1.0") {
    Object.assign(iface, { mtu: 1500, socketPath: "/s", pciID: "0000:01:00.0" });
  }
  return {
    cniVersion: version,
    interfaces: [{ name: "host0" }, iface],
    ips: [
      {
        ...(legacy ? { version: "4" } : {}),
        address: "10.1.0.5/16",
        gateway: "10.1.0.1",
        interface: 1,
      },
      { ...(legacy ? { version: "6" } : {}), address: "FD00:0:0::5/64", interface: 0 },
    ],
    routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.1" }, { dst: "::/0", priority: 10, table: 101 }],
    dns: { nameservers: ["10.1.0.10"], search: ["svc.cluster.local"] },
  };
}

for (const inV of VERSIONS) {
  for (const outV of VERSIONS) {
    Deno.test(`[${outV}] formatResult() writes a ${inV} result in ${outV}`, () => {
      const out = formatResult(parseResult(sample(inV), inV), outV) as {
        cniVersion: string;
        interfaces: Record<string, unknown>[];
        ips: Record<string, unknown>[];
        routes: Record<string, unknown>[];
        dns: unknown;
      };
      const legacy = !outV.startsWith("1.");
      assert.equal(out.cniVersion, outV);
      assert.deepEqual(
        out.ips.map((i) => i["version"]),
        legacy ? ["4", "6"] : [undefined, undefined],
      );
      assert.deepEqual(out.ips.map((i) => i["address"]), ["10.1.0.5/16", "fd00::5/64"]);
      assert.deepEqual(out.ips.map((i) => i["interface"]), [1, 0], "interface index 0 is kept");
      assert.equal(out.ips[0]!["gateway"], "10.1.0.1");
      assert.ok(!("gateway" in out.ips[1]!), "absent fields are omitted, never null");
      assert.equal(out.interfaces[1]!["mac"], "02:00:00:00:00:01");
      const extras = out.interfaces[1]!["mtu"] !== undefined;
      assert.equal(extras, inV === "1.1.0" && !legacy, "mtu only in 1.x output when given");
      assert.deepEqual(out.routes[1], { dst: "::/0", priority: 10, table: 101 });
      assert.deepEqual(out.dns, { nameservers: ["10.1.0.10"], search: ["svc.cluster.local"] });
    });
  }
}

Deno.test("parseResult() assumes the config version when cniVersion is missing", () => {
  const raw = { ...sample("0.4.0") } as Record<string, unknown>;
  delete raw["cniVersion"];
  assert.equal(parseResult(raw, "0.4.0").cniVersion, "0.4.0");
});

Deno.test("formatResult() omits an empty dns", () => {
  const r = parseResult({ cniVersion: "1.0.0", dns: {}, ips: [] }, "1.0.0");
  assert.deepEqual(formatResult(r, "1.0.0"), { cniVersion: "1.0.0" });
});

Deno.test("parseResult() rejects malformed results with code 7", () => {
  const cases: unknown[] = [
    "x",
    [],
    { ips: "x" },
    { ips: [{}] },
    { ips: [{ address: "10.0.0.1" }] },
    { ips: [{ address: "10.0.0.1/24", gateway: "nope" }] },
    { ips: [{ address: "10.0.0.1/24", interface: 3 }] },
    { ips: [{ address: "10.0.0.1/24", version: "5" }] },
    { interfaces: [{}] },
    { interfaces: [{ name: 5 }] },
    { routes: [{ gw: "10.0.0.1" }] },
    { routes: [{ dst: "10.0.0.0/8", gw: "x" }] },
    { dns: [] },
    { ip4: { ip: "10.0.0.1/24" } },
  ];
  for (const raw of cases) {
    assert.throws(
      () => parseResult(raw, "1.0.0"),
      (e: unknown) => e instanceof CniError && e.code === 7,
      JSON.stringify(raw),
    );
  }
});
