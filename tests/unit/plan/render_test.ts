/** The renderer of explain: batch lines as `ip ... show` prints their result. */

import assert from "node:assert/strict";
import { renderLine, renderText } from "../../../mod/plan/render.ts";
import { factsFromResult } from "../../../mod/plan/explain.ts";

const text = (args: string[], six = false) => renderLine({ args }, "pod", six)?.text;

Deno.test("routes render as ip route show prints them", () => {
  assert.equal(
    text([
      "route",
      "replace",
      "0.0.0.0/0",
      "via",
      "10.6.212.101",
      "dev",
      "veth0",
      "src",
      "10.6.212.241",
      "table",
      "100",
    ]),
    "default via 10.6.212.101 dev veth0 table 100 src 10.6.212.241",
  );
  assert.equal(
    text([
      "route",
      "add",
      "10.6.212.101/32",
      "dev",
      "veth0",
      "scope",
      "link",
      "src",
      "10.6.212.241",
      "table",
      "101",
    ]),
    "10.6.212.101 dev veth0 table 101 scope link src 10.6.212.241",
  );
  assert.equal(
    text(["route", "add", "fd00:6::101/128", "dev", "veth0", "scope", "link"]),
    "fd00:6::101 dev veth0",
    "IPv6 routes have no scope",
  );
  const del = renderLine({
    args: ["route", "del", "0.0.0.0/0", "via", "10.7.0.1", "dev", "net1", "table", "main"],
  }, "pod");
  assert.equal(del?.op, "delete");
  assert.equal(del?.text, "default via 10.7.0.1 dev net1");
});

Deno.test("rules, neighbours and reads", () => {
  assert.equal(text(["rule", "add", "pref", "1000", "table", "500"]), "1000: from all lookup 500");
  assert.equal(
    text(["rule", "add", "fwmark", "0x1", "table", "100", "pref", "1000"]),
    "1000: from all fwmark 0x1 lookup 100",
  );
  assert.equal(
    renderLine({ args: ["rule", "add", "pref", "1000", "table", "500"] }, "node", true)?.family,
    6,
  );
  assert.equal(
    text([
      "neigh",
      "replace",
      "10.6.212.101",
      "lladdr",
      "aa:bb:cc:dd:ee:ff",
      "dev",
      "veth0",
      "nud",
      "permanent",
    ]),
    "10.6.212.101 dev veth0 lladdr aa:bb:cc:dd:ee:ff PERMANENT",
  );
  assert.equal(renderLine({ args: ["addr", "show"], read: true }, "node"), undefined);
});

Deno.test("renderText groups by place, then by table", () => {
  const items = [
    renderLine({ args: ["route", "add", "10.0.0.0/8", "dev", "veth0", "table", "101"] }, "pod")!,
    renderLine({ args: ["rule", "add", "pref", "1000", "table", "500"] }, "node")!,
  ];
  assert.deepEqual(renderText(items, { pod: "pod:", node: "node:" }), [
    "pod:",
    "  routes, table 101 (IPv4):",
    "    + 10.0.0.0/8 dev veth0 table 101",
    "node:",
    "  rules (IPv4):",
    "    + 1000: from all lookup 500",
  ]);
});

Deno.test("pod facts from a prevResult: the NIC, its addresses, connected and given routes", () => {
  const f = factsFromResult({
    cniVersion: "1.0.0",
    interfaces: [{ name: "eth0", mac: "aa:bb:cc:dd:ee:ff", sandbox: "/x" }],
    ips: [{ address: "10.6.212.241/16", interface: 0 }],
    routes: [{ dst: "0.0.0.0/0", gw: "10.6.0.1" }],
  }, "eth0");
  assert.deepEqual(f.links.map((l) => l.ifname), ["lo", "eth0"]);
  assert.equal(f.addrs[1]?.addr_info[0]?.local, "10.6.212.241");
  assert.deepEqual(f.routes.map((r) => `${r.dst} ${r.gateway ?? ""}`), [
    "10.6.0.0/16 ",
    "default 10.6.0.1",
  ]);
});
