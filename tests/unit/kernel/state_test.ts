/**
 * state.ts, lock.ts, sysctl.ts paths and settle.ts link listing, without root
 * (state files go to a temporary directory). The cleanup lines are in
 * tests/unit/plan/cleanup_test.ts.
 */

import assert from "node:assert/strict";
import {
  type AttachmentState,
  listStates,
  loadState,
  removeState,
  saveState,
  statePath,
} from "../../../mod/kernel/state.ts";
import { withHostLock } from "../../../mod/kernel/lock.ts";
import { sysctlPath } from "../../../mod/kernel/sysctl.ts";
import { listedLinks, parseNetDev } from "../../../mod/kernel/settle.ts";

function sample(ifname: string): AttachmentState {
  return {
    version: 1,
    network: "net-a",
    containerId: "c0ffee",
    ifname,
    netns: "/var/run/netns/x",
    mode: "underlay",
    firstInvoke: ifname === "eth0",
    hostVeth: "vethc0ffee",
    hostVethCreated: ifname === "eth0",
    podVeth: "veth0",
    podVethMac: "02:00:00:00:00:01",
    hostVethMac: "02:00:00:00:00:02",
    hostRuleTable: 500,
    table: 101,
    podIPs: ["10.0.0.5"],
    nodeIPs: ["10.0.0.1"],
    podRules: [],
  };
}

Deno.test("saveState() / loadState() / listStates() / removeState() round-trip per network", () => {
  const dir = Deno.makeTempDirSync();
  Deno.env.set("COORDINATOR_STATE_DIR", dir);
  try {
    saveState(sample("eth0"));
    saveState(sample("net1"));
    assert.equal(statePath("net-a", "c0ffee", "eth0"), `${dir}/net-a/c0ffee_eth0.json`);
    assert.deepEqual(loadState("net-a", "c0ffee", "eth0"), sample("eth0"));
    assert.equal(loadState("net-b", "c0ffee", "eth0"), undefined);
    assert.deepEqual(listStates("net-a").map((s) => s.ifname).sort(), ["eth0", "net1"]);
    removeState("net-a", "c0ffee", "eth0");
    removeState("net-a", "c0ffee", "eth0");
    assert.deepEqual(listStates("net-a").map((s) => s.ifname), ["net1"]);
    assert.throws(() => statePath("../x", "c", "eth0"), { code: 4 });
  } finally {
    Deno.env.delete("COORDINATOR_STATE_DIR");
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("loadState() and listStates() count a corrupt state file as none", () => {
  const dir = Deno.makeTempDirSync();
  Deno.env.set("COORDINATOR_STATE_DIR", dir);
  try {
    assert.deepEqual(listStates("net-a"), []);
    saveState(sample("eth0"));
    Deno.writeTextFileSync(statePath("net-a", "c0ffee", "net1"), "{not json");
    assert.equal(loadState("net-a", "c0ffee", "net1"), undefined);
    assert.deepEqual(listStates("net-a").map((s) => s.ifname), ["eth0"]);
  } finally {
    Deno.env.delete("COORDINATOR_STATE_DIR");
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("withHostLock() serialises callers", async () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/lock`;
  const order: string[] = [];
  const slow = withHostLock(async () => {
    order.push("a-in");
    await new Promise((r) => setTimeout(r, 30));
    order.push("a-out");
  }, path);
  await new Promise((r) => setTimeout(r, 5));
  const fast = withHostLock(() => {
    order.push("b");
    return Promise.resolve();
  }, path);
  await Promise.all([slow, fast]);
  assert.deepEqual(order, ["a-in", "a-out", "b"]);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("sysctlPath() keeps dotted interface names whole and refuses keys outside net.*", () => {
  assert.equal(sysctlPath("net.ipv4.conf.all.rp_filter"), "/proc/sys/net/ipv4/conf/all/rp_filter");
  assert.equal(
    sysctlPath("net.ipv6.conf.eth0.100.accept_ra"),
    "/proc/sys/net/ipv6/conf/eth0.100/accept_ra",
  );
  assert.equal(sysctlPath("net.ipv4.ip_forward"), "/proc/sys/net/ipv4/ip_forward");
  assert.throws(() => sysctlPath("kernel.panic"), { code: 7 });
});

Deno.test("parseNetDev() lists the names of /proc/net/dev, headers skipped", () => {
  const text = [
    "Inter-|   Receive                            |  Transmit",
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes",
    "    lo:    1234      10    0    0    0     0          0         0     1234",
    "veth8ce28684bb1: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0",
    "  eth0:       0       0    0    0    0     0          0         0        0",
    "",
  ].join("\n");
  assert.deepEqual([...parseNetDev(text)], ["lo", "veth8ce28684bb1", "eth0"]);
});

Deno.test("listedLinks() sees this netns's lo and not a name that cannot exist", () => {
  const listed = listedLinks();
  assert.equal(listed.has("lo"), true);
  assert.equal(listed.has("no-such-link!"), false);
});

Deno.test("removeState() removes the network's folder with its last attachment, and saveState() makes it again", () => {
  const dir = Deno.makeTempDirSync();
  Deno.env.set("COORDINATOR_STATE_DIR", dir);
  try {
    saveState(sample("eth0"));
    saveState(sample("net1"));
    removeState("net-a", "c0ffee", "net1");
    assert.ok(Deno.statSync(`${dir}/net-a`).isDirectory, "eth0's state keeps the folder");
    removeState("net-a", "c0ffee", "eth0");
    assert.throws(() => Deno.statSync(`${dir}/net-a`), Deno.errors.NotFound);
    removeState("net-a", "c0ffee", "eth0");
    saveState(sample("eth0"));
    assert.deepEqual(loadState("net-a", "c0ffee", "eth0"), sample("eth0"));
  } finally {
    Deno.env.delete("COORDINATOR_STATE_DIR");
    Deno.removeSync(dir, { recursive: true });
  }
});
