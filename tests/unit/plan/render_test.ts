/** The renderer of explain: intents as `ip ... show` prints what they leave. */

import assert from "node:assert/strict";
import type { IpIntent } from "../../../mod/kernel/intent.ts";
import { itemOf, renderText } from "../../../mod/plan/render.ts";
import { factsFromResult } from "../../../mod/plan/explain.ts";

const text = (i: IpIntent) => itemOf(i, "pod").text;

Deno.test("itemOf() renders routes as ip route show prints them, beside the translator's line", () => {
  const reply: IpIntent = {
    kind: "route",
    op: "replace",
    dst: "0.0.0.0/0",
    via: "10.6.212.101",
    dev: "veth0",
    src: "10.6.212.241",
    table: 100,
  };
  assert.equal(text(reply), "default via 10.6.212.101 dev veth0 table 100 src 10.6.212.241");
  assert.equal(
    itemOf(reply, "pod").args.join(" "),
    "route replace 0.0.0.0/0 via 10.6.212.101 dev veth0 src 10.6.212.241 table 100",
  );
  assert.equal(
    text({
      kind: "route",
      op: "add",
      dst: "10.6.212.101/32",
      dev: "veth0",
      scope: "link",
      src: "10.6.212.241",
      table: 101,
    }),
    "10.6.212.101 dev veth0 table 101 scope link src 10.6.212.241",
  );
  assert.equal(
    text({
      kind: "route",
      op: "add",
      dst: "fd00:6::101/128",
      dev: "veth0",
      scope: "link",
      table: "main",
    }),
    "fd00:6::101 dev veth0",
    "IPv6 routes have no scope",
  );
  const del = itemOf({
    kind: "route",
    op: "del",
    dst: "0.0.0.0/0",
    via: "10.7.0.1",
    dev: "net1",
    table: "main",
  }, "pod");
  assert.equal(del.op, "delete");
  assert.equal(del.text, "default via 10.7.0.1 dev net1");
  assert.equal(del.args.join(" "), "route del 0.0.0.0/0 via 10.7.0.1 dev net1 table main");
});

Deno.test("itemOf() renders rules, neighbours, links", () => {
  const shared: IpIntent = { kind: "rule", op: "add", family: 6, priority: 1000, table: 500 };
  assert.equal(text(shared), "1000: from all lookup 500");
  assert.equal(itemOf(shared, "node").family, 6);
  assert.equal(
    text({ kind: "rule", op: "add", family: 4, priority: 1000, fwmark: "0x1", table: 100 }),
    "1000: from all fwmark 0x1 lookup 100",
  );
  assert.equal(
    text({ kind: "neigh", dst: "10.6.212.101", lladdr: "aa:bb:cc:dd:ee:ff", dev: "veth0" }),
    "10.6.212.101 dev veth0 lladdr aa:bb:cc:dd:ee:ff PERMANENT",
  );
  assert.equal(text({ kind: "link", dev: "eth0", txqueuelen: 2000 }), "eth0 txqueuelen 2000");
  assert.equal(itemOf({ kind: "neigh-flush", dst: "10.0.0.5" }, "node").op, "flush");
});

Deno.test("renderText groups by place, then by table", () => {
  const items = [
    itemOf({ kind: "route", op: "add", dst: "10.0.0.0/8", dev: "veth0", table: 101 }, "pod"),
    itemOf({ kind: "rule", op: "add", family: 4, priority: 1000, table: 500 }, "node"),
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
  assert.deepEqual(f.routes.map((r) => `${r.dst} ${r.gateway ?? ""} ${r.family}`), [
    "10.6.0.0/16  4",
    "default 10.6.0.1 4",
  ]);
});
