/**
 * The subcommands in-process: explain without root (prevResult + --node-ip), --help,
 * defaults --check / --suggest over node facts made of captured tool output, doctor's bad
 * --conf / --defaults arguments.
 */

import assert from "node:assert/strict";
import { cli } from "../../_helpers/cli.ts";
import { spawnCount } from "../../../mod/kernel/exec.ts";
import { defaultsCommand } from "../../../mod/cli/defaults.ts";
import type { ClusterFacts } from "../../../mod/doctor/cluster.ts";
import { CALICO, IPT4, IPT6, reads } from "../doctor/_fixtures.ts";

const CONF = {
  cniVersion: "1.0.0",
  name: "macvlan-ens192",
  type: "coordinator",
  serviceCIDR: ["10.233.0.0/18"],
  overlayPodCIDR: ["10.233.64.0/18"],
  podMACPrefix: "0a:1b",
};
const PREV = {
  cniVersion: "1.0.0",
  interfaces: [{ name: "eth0", mac: "aa:bb:cc:dd:ee:ff", sandbox: "/var/run/netns/p" }],
  ips: [{ address: "10.6.212.241/16", gateway: "10.6.0.1", interface: 0 }],
  routes: [{ dst: "0.0.0.0/0", gw: "10.6.0.1" }],
};

Deno.test("--help lists the subcommands", async () => {
  const r = await cli(["--help"]);
  assert.equal(r.code, 0);
  assert.match(r.err, /explain +show what ADD would do/);
  assert.match(r.err, /doctor +check this node/);
});

Deno.test("explain from prevResult with --node-ip starts no process and marks the random MACs", async () => {
  const before = spawnCount();
  const r = await cli(
    ["explain", "--node-ip", "10.6.212.101", "--container-id", "7f3c0d5e9a1b2c3d"],
    JSON.stringify({ ...CONF, prevResult: PREV }),
  );
  assert.equal(r.code, 0, r.err);
  assert.equal(spawnCount(), before, "no child process");
  assert.match(r.out, /underlay mode, first NIC, policy table 101/);
  assert.match(r.out, /\+ 10\.233\.0\.0\/18 via 10\.6\.212\.101 dev veth0 src 10\.6\.212\.241/);
  assert.match(r.out, /\+ 1000: from all lookup 500/);
  assert.match(r.out, /\+ 10\.6\.212\.241 dev veth7f3c0d5e9a1 table 500 scope link/);
  assert.match(r.out, /eth0 address 0a:1b:0a:06:d4:f1/);
  assert.match(r.out, /\? veth0 MAC: random, chosen by ADD/);
});

Deno.test("explain takes a conflist with --prev-result FILE, and --json", async () => {
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, JSON.stringify(PREV));
  const { type: _t, cniVersion, name, ...rest } = CONF;
  const list = {
    cniVersion,
    name,
    plugins: [{ type: "macvlan" }, { type: "coordinator", ...rest }],
  };
  const r = await cli(
    ["explain", "--json", "--prev-result", file, "--node-ip", "10.6.212.101"],
    JSON.stringify(list),
  );
  await Deno.remove(file);
  assert.equal(r.code, 0, r.err);
  const ex = JSON.parse(r.out);
  assert.equal(ex.mode, "underlay");
  assert.deepEqual(ex.nodeIps, ["10.6.212.101"]);
  assert.ok(
    ex.items.some((i: { text: string }) => i.text === "1000: from all fwmark 0x1 lookup 100"),
  );
});

Deno.test("explain: a later NIC without --netns is overlay unless --veth0", async () => {
  const prev = { ...PREV, interfaces: [{ name: "net1", sandbox: "/p" }] };
  const conf = JSON.stringify({ ...CONF, prevResult: prev });
  const args = ["explain", "--json", "--ifname", "net1", "--node-ip", "10.6.212.101"];
  const over = JSON.parse((await cli(args, conf)).out);
  assert.equal(over.mode, "overlay");
  const under = JSON.parse((await cli([...args, "--veth0"], conf)).out);
  assert.equal(under.mode, "underlay");
  assert.equal(under.firstInvoke, false);
});

Deno.test("defaults --check: a valid file prints the merged config, an invalid one names file and field", async () => {
  const dir = await Deno.makeTempDir({ prefix: "coordinator-defaults-cli-" });
  try {
    const good = `${dir}/defaults.json`;
    await Deno.writeTextFile(
      good,
      JSON.stringify({ serviceCIDR: ["10.233.0.0/18"], hijackCidr: ["169.254.0.0/16"] }),
    );
    const ok = await cli(["defaults", "--check", good, "--no-node"]);
    assert.equal(ok.code, 0, ok.err);
    const merged = JSON.parse(ok.out) as { serviceCIDR: string[]; hijackCIDR: string[] };
    assert.deepEqual(merged.serviceCIDR, ["10.233.0.0/18"]);
    assert.deepEqual(merged.hijackCIDR, ["169.254.0.0/16"]);
    assert.match(ok.err, /hijackCidr/, "the case variant is noted");

    const entry = `${dir}/entry.json`;
    await Deno.writeTextFile(
      entry,
      JSON.stringify({ type: "coordinator", serviceCIDR: ["10.96.0.0/12"] }),
    );
    const over = await cli(["defaults", "--check", good, "--entry", entry, "--no-node"]);
    assert.equal(over.code, 0, over.err);
    assert.deepEqual((JSON.parse(over.out) as { serviceCIDR: string[] }).serviceCIDR, [
      "10.96.0.0/12",
    ]);

    const bad = `${dir}/bad.json`;
    await Deno.writeTextFile(bad, JSON.stringify({ serviceCIDR: ["10.233.0.1"] }));
    const no = await cli(["defaults", "--check", bad, "--no-node"]);
    assert.equal(no.code, 1);
    assert.equal(no.out, "");
    assert.match(no.err, new RegExp(`${bad.replaceAll(".", "\\.")}.*serviceCIDR`));

    assert.equal((await cli(["defaults"])).code, 2, "--check or --suggest is required");
    assert.equal((await cli(["defaults", "--check", good, "--suggest"])).code, 2, "not both");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** `defaults` in-process over given node facts. */
async function defaults(
  args: string[],
  facts: ClusterFacts,
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await defaultsCommand({ readFacts: () => Promise.resolve(facts) }).run({
    args,
    stdin: () => Promise.resolve(new Uint8Array()),
    out: (t) => (out += t),
    err: (t) => (err += t),
  });
  return { code, out, err };
}

Deno.test("defaults --check compares the file with the node as doctor does: a Service outside FAILs (exit 1)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "coordinator-defaults-cli-" });
  try {
    const facts = reads({ iptables: [IPT4, IPT6], routes: CALICO });
    const good = `${dir}/good.json`;
    await Deno.writeTextFile(
      good,
      JSON.stringify({
        serviceCIDR: ["10.96.0.0/12", "fd00:10:96::/112"],
        overlayPodCIDR: ["10.244.0.0/16", "fd00:10:244::/56"],
      }),
    );
    const ok = await defaults(["--check", good], facts);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.err, /^OK {3}service-cidr: 6 ClusterIPs checked .*iptables/m);
    assert.match(ok.err, /^OK {3}overlay-pod-cidr: 10 pod routes/m);
    const narrow = `${dir}/narrow.json`;
    await Deno.writeTextFile(narrow, JSON.stringify({ serviceCIDR: ["10.96.0.0/16"] }));
    const no = await defaults(["--check", narrow], facts);
    assert.equal(no.code, 1);
    assert.match(
      no.err,
      /^FAIL service-cidr: 4 of 6 ClusterIPs .*10\.104\.17\.33 \(ns1\/web:http\)/m,
    );
    assert.match(no.err, /^WARN overlay-pod-cidr: 10 of 10 pod routes/m);
    assert.ok(JSON.parse(no.out), "the merged configuration is still printed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("defaults --suggest prints a defaults file covering the node, keeps the file's other fields, says how", async () => {
  const dir = await Deno.makeTempDir({ prefix: "coordinator-defaults-cli-" });
  try {
    const current = `${dir}/defaults.json`;
    await Deno.writeTextFile(
      current,
      JSON.stringify({ serviceCidr: ["10.233.0.0/18"], hijackCIDR: ["169.254.0.0/16"] }),
    );
    const r = await defaults(
      ["--suggest", "--defaults", current],
      reads({ iptables: [IPT4, IPT6], routes: CALICO }),
    );
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), {
      hijackCIDR: ["169.254.0.0/16"],
      serviceCIDR: ["10.96.0.0/12", "fd00:10:96::/112"],
      overlayPodCIDR: ["10.244.0.0/16", "fd00:10:244::/67"],
    });
    assert.match(r.err, /lower bound/);
    assert.match(r.err, /no API server was consulted/);
    assert.match(r.err, /^OK {3}service-cidr: .*from the suggestion/m);
    const empty = `${dir}/empty.json`;
    await Deno.writeTextFile(empty, "{}");
    const none = await defaults(["--suggest", "--defaults", empty], reads({}));
    assert.equal(none.code, 1);
    assert.equal(none.out, "");
    assert.match(none.err, /nothing to suggest/);
    // A typo in --defaults is an error, not a suggestion that drops the file's fields.
    const typo = await defaults(["--suggest", "--defaults", `${dir}/defualts.json`], reads({}));
    assert.equal(typo.code, 1);
    assert.equal(typo.out, "");
    assert.match(typo.err, /^defaults: Cannot read ".*defualts\.json": no such file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("doctor --conf / --defaults: a file that cannot be read or holds no coordinator entry is exit 2, before any read of the node", async () => {
  const dir = await Deno.makeTempDir({ prefix: "coordinator-doctor-cli-" });
  try {
    const none = `${dir}/nad.yaml`;
    await Deno.writeTextFile(
      none,
      `kind: NetworkAttachmentDefinition\nspec:\n  config: '{"cniVersion": "1.0.0", "name": "m", "plugins": [{"type": "macvlan"}]}'\n`,
    );
    const tabs = `${dir}/tabs.yaml`;
    await Deno.writeTextFile(tabs, "spec:\n\tconfig: x\n");
    const notJson = `${dir}/bad.yaml`;
    await Deno.writeTextFile(notJson, `spec:\n  config: '{"type": "coordinator",}'\n`);
    const spawned = spawnCount();
    for (
      const [args, message] of [
        [["--conf", `${dir}/nad.yml`], /^doctor: Cannot read ".*nad\.yml": no such file$/m],
        [["--conf", none], /nad\.yaml: no coordinator entry \(expected a conflist/],
        [["--conf", tabs], /Cannot read ".*tabs\.yaml": not YAML as kubectl prints it: A tab/],
        [["--conf", notJson], /bad\.yaml: the NAD's spec\.config is not valid JSON/],
        [["--defaults", `${dir}/defualts.json`], /Cannot read ".*defualts\.json": no such file/],
      ] as [string[], RegExp][]
    ) {
      const r = await cli(["doctor", "--root", dir, ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
      assert.equal(r.out, "");
      assert.match(r.err, message);
    }
    assert.equal(spawnCount(), spawned, "nothing was started: the node was not read");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
