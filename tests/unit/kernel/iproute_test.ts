/**
 * iproute.ts: the translator of intents and reads into `ip -batch` lines, and
 * the runner's named answers. The runner is exercised with reads only, in the
 * test's own netns: nothing is changed anywhere, no root is needed.
 */

import assert from "node:assert/strict";
import { type IpIntent, READ } from "../../../mod/kernel/intent.ts";
import { intentLine, readLine, runIp } from "../../../mod/kernel/iproute.ts";

const ROUTE = { kind: "route", dst: "10.233.0.0/18", dev: "veth0" } as const;

Deno.test("intentLine() writes each intent as iproute2 reads it, with what it tolerates", () => {
  const cases: [IpIntent, string, string | undefined][] = [
    [
      {
        kind: "veth",
        name: "vethabc",
        mac: "02:00:00:00:00:02",
        mtu: 1480,
        txqueuelen: 0,
        peer: "veth0",
        peerMac: "02:00:00:00:00:01",
        netns: "/var/run/netns/p",
      },
      "link add vethabc address 02:00:00:00:00:02 mtu 1480 txqueuelen 0 type veth peer name veth0 address 02:00:00:00:00:01 mtu 1480 txqueuelen 0 netns /var/run/netns/p",
      undefined,
    ],
    [{ kind: "link", dev: "eth0", up: true }, "link set dev eth0 up", undefined],
    [
      { kind: "link", dev: "eth0", txqueuelen: 500, mac: "0a:1b:0a:06:d4:f1" },
      "link set dev eth0 txqueuelen 500 address 0a:1b:0a:06:d4:f1",
      undefined,
    ],
    [
      { kind: "link-del", dev: "vethabc", tolerate: "gone" },
      "link del dev vethabc",
      "Cannot find device",
    ],
    [
      { kind: "addr", dev: "veth0", cidr: "169.254.200.1/32", tolerate: "exists" },
      "addr add 169.254.200.1/32 dev veth0",
      "RTNETLINK answers: File exists",
    ],
    [
      {
        ...ROUTE,
        op: "add",
        via: "10.6.212.101",
        src: "10.6.212.241",
        table: "main",
        tolerate: "exists",
      },
      "route add 10.233.0.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
      "RTNETLINK answers: File exists",
    ],
    [
      { ...ROUTE, op: "replace", scope: "link", table: 500 },
      "route replace 10.233.0.0/18 dev veth0 scope link table 500",
      undefined,
    ],
    [
      { ...ROUTE, op: "del", table: "main" },
      "route del 10.233.0.0/18 dev veth0 table main",
      undefined,
    ],
    [
      { kind: "rule", op: "add", family: 6, priority: 999, from: "fd00::5", table: 101 },
      "rule add from fd00::5 table 101 pref 999",
      undefined,
    ],
    [
      { kind: "rule", op: "del", family: 4, priority: 1000, table: 500, tolerate: "gone" },
      "rule del table 500 pref 1000",
      "RTNETLINK answers: No such file or directory",
    ],
    [
      { kind: "neigh", dst: "10.6.212.241", lladdr: "02:00:00:00:00:01", dev: "vethabc" },
      "neigh replace 10.6.212.241 lladdr 02:00:00:00:00:01 dev vethabc nud permanent",
      undefined,
    ],
    [
      { kind: "neigh-flush", dst: "10.6.212.241", dev: "vethabc", tolerate: "gone" },
      "neigh flush to 10.6.212.241 dev vethabc nud all",
      "Cannot find device",
    ],
  ];
  for (const [intent, text, tolerated] of cases) {
    const line = intentLine(intent);
    assert.equal(line.args.join(" "), text);
    if (tolerated === undefined) assert.equal(line.tolerate, undefined, text);
    else assert.ok(line.tolerate?.test(tolerated), text);
    assert.equal(line.read, undefined);
  }
  const flush = intentLine({ kind: "neigh-flush", dst: "10.0.0.5", optional: true });
  assert.equal(flush.args.join(" "), "neigh flush to 10.0.0.5 nud all");
  assert.equal(flush.optional, true);
});

Deno.test("readLine() writes each read; only a route lookup may fail", () => {
  assert.deepEqual(
    [
      READ.links(),
      READ.addrs(),
      READ.addrs("eth0"),
      READ.routes(),
      READ.rules(6),
      READ.neighs(true),
      READ.routeGet("10.0.0.1"),
    ].map((r) => [readLine(r).args.join(" "), readLine(r).optional ?? false]),
    [
      ["link show", false],
      ["addr show", false],
      ["addr show dev eth0", false],
      ["route show table all", false],
      ["rule show", false],
      ["neigh show nud permanent", false],
      ["route get 10.0.0.1", true],
    ],
  );
});

const canRunIp = (() => {
  try {
    return new Deno.Command("ip", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: `runIp() answers reads by name, checked, IPv6 rules from an \`ip -6\` beside${
    canRunIp ? "" : " (ignored: needs ip)"
  }`,
  ignore: !canRunIp,
  async fn() {
    const out = await runIp({
      before: {
        lo: READ.addrs("lo"),
        rules4: READ.rules(4),
        rules6: READ.rules(6),
        gets: [READ.routeGet("127.0.0.1"), READ.routeGet("127.0.0.2")],
      },
    });
    assert.deepEqual(out.errors, []);
    assert.equal(out.before.lo[0]?.ifname, "lo");
    assert.ok(out.before.lo[0]?.addr_info.some((a) => a.local === "127.0.0.1"));
    assert.ok(out.before.rules4.some((r) => r.table === "local"));
    assert.ok(out.before.rules6.every((r) => !r.src.includes(".")), "IPv6 rules only");
    assert.equal(out.before.gets.length, 2);
    assert.equal(out.before.gets[0]?.dev, "lo");
  },
});

Deno.test({
  name: `runIp() reports a failed read with its line, and refuses an IPv4 rule in an IPv6 batch${
    canRunIp ? "" : " (ignored: needs ip)"
  }`,
  ignore: !canRunIp,
  async fn() {
    const out = await runIp({ before: { none: READ.addrs("no-such-link0") } });
    assert.deepEqual(out.before.none, []);
    assert.equal(out.errors.length, 1);
    assert.equal(out.errors[0]?.line.args.join(" "), "addr show dev no-such-link0");
    assert.match(out.errors[0]?.error ?? "", /does not exist|Cannot find device/);
    await assert.rejects(
      runIp(
        { changes: [{ kind: "rule", op: "del", family: 4, priority: 1, table: 1 }] },
        { family: 6 },
      ),
      { code: 999 },
    );
  },
});
