/** ip_json.ts: `ip -j` answers as checked types; a malformed answer is a clear error. */

import assert from "node:assert/strict";
import {
  parseAddrs,
  parseLinks,
  parseRouteGet,
  parseRoutes,
  parseRules,
} from "../../../mod/kernel/ip_json.ts";

Deno.test("parseRoutes() gives every route its family, also a default one", () => {
  const routes = parseRoutes([
    { dst: "default", gateway: "10.6.0.1", dev: "eth0" },
    { dst: "default", gateway: "fd00:6::1", dev: "eth0", pref: "medium" },
    { dst: "default", dev: "veth0", table: "100", pref: "medium" },
    { dst: "default", dev: "veth0", table: "100" },
    { dst: "default", nexthops: [{ gateway: "fd00:7::1", dev: "net1" }] },
    { dst: "10.6.212.101", dev: "veth0", scope: "link" },
    { type: "blackhole", dst: "10.233.64.0/26" },
  ]);
  assert.deepEqual(routes.map((r) => r.family), [4, 6, 6, 4, 6, 4, 4]);
  assert.deepEqual(routes[4]?.nexthops, [{ gateway: "fd00:7::1", dev: "net1" }]);
  assert.equal(routes[6]?.type, "blackhole");
  assert.ok(!("pref" in routes[1]!), "fields the plugin does not use are not kept");
});

Deno.test("parsers refuse an answer of another shape, naming the read, the item and the field", () => {
  assert.throws(() => parseLinks({ ifname: "lo" }), {
    code: 103,
    message: 'Malformed answer of "ip -j link show": not a list',
  });
  assert.throws(
    () => parseLinks([{ ifindex: 1, ifname: "lo", flags: [], mtu: 1 }, { ifindex: 2 }]),
    {
      code: 103,
      message: 'Malformed answer of "ip -j link show": item 1 has no "ifname"',
    },
  );
  assert.throws(() => parseRules([{ priority: "0", src: "all" }], "rule show"), {
    message: /item 0 has a "priority" that is not a number/,
  });
  assert.throws(() => parseAddrs([{ ifindex: 1, ifname: "lo", addr_info: [{ family: "inet" }] }]), {
    message: /item 0 has no "local"/,
  });
  assert.throws(() => parseRoutes(["default"]), { message: /item 0 is not an object/ });
  // iproute2 6.1 answers `addr show dev X` after a `link show` in one batch with a link dump.
  assert.throws(() => parseAddrs([{ ifindex: 3, ifname: "d0", flags: [], mtu: 1500 }]), {
    message: /item 0 has no "addr_info"/,
  });
});

Deno.test("parseAddrs() and parseRouteGet() keep what the planners use", () => {
  const [lo] = parseAddrs([{
    ifindex: 1,
    ifname: "lo",
    flags: ["LOOPBACK", "UP"],
    addr_info: [{ family: "inet6", local: "fd00::5", prefixlen: 64, tentative: true }],
  }]);
  assert.deepEqual(lo?.addr_info, [
    { family: "inet6", local: "fd00::5", prefixlen: 64, scope: "global", tentative: true },
  ]);
  assert.equal(parseRouteGet([]), undefined);
  assert.deepEqual(
    parseRouteGet([{ dst: "10.6.212.241", dev: "ens192", prefsrc: "10.6.212.101", uid: 0 }]),
    { dst: "10.6.212.241", dev: "ens192", prefsrc: "10.6.212.101" },
  );
  const [veth] = parseLinks([{
    ifindex: 9,
    ifname: "veth0",
    flags: ["UP"],
    mtu: 1500,
    link_index: 3,
    link_netnsid: 0,
    linkinfo: { info_kind: "veth" },
  }]);
  assert.equal(veth?.linkinfo?.info_kind, "veth");
  assert.equal(veth?.link_index, 3);
});
