/**
 * commands/del.ts on the fake kernel (tests/_helpers/fake_kernel.ts), without
 * root: DEL without a state file (lost, or a pod of an older version or of
 * Spiderpool's coordinator) finds what ADD made as ADD finds it; DEL after the
 * pod netns vanished (its path unmounted while the netns lives on, or the
 * netns destroyed with its veths) cleans the node from the record, and
 * without one as far as it can; DEL reports a failure and keeps the record
 * for the next try.
 */

import assert from "node:assert/strict";
import { cmdAdd } from "../../../mod/commands/add.ts";
import { cmdDel } from "../../../mod/commands/del.ts";
import { CniError } from "../../../mod/errors.ts";
import {
  buildScenario,
  type Call,
  cmdContext,
  diffSnapshots,
  HOST_VETH,
  nodeWorld,
  POD,
  type Scenario,
  SCENARIOS,
} from "../../_helpers/fake_kernel.ts";

/** A scenario after its ADD, with the node and pod as they were before it. */
async function added(name: (typeof SCENARIOS)[number]) {
  const s = await buildScenario(name, cmdAdd);
  const node0 = s.k.snapshot();
  const pod0 = s.k.snapshot(POD);
  await cmdAdd(cmdContext("ADD", s.conf, s.call, s.prev), s.k);
  return { s, node0, pod0 };
}

function removeState(s: Scenario, conf: Record<string, unknown>, call: Call): void {
  s.k.state.remove(String(conf["name"]), call.containerId, call.ifname);
}

const FIRST_NICS = ["underlay IPv4", "underlay dual stack", "underlay IPv6 only"] as const;

for (const name of SCENARIOS) {
  Deno.test(`cmdDel() without a state file cleans the node as ADD made it (${name})`, async () => {
    const { s, node0 } = await added(name);
    removeState(s, s.conf, s.call);
    s.k.reset();
    await cmdDel(cmdContext("DEL", s.conf, s.call), s.k);
    assert.deepEqual(diffSnapshots(node0, s.k.snapshot()), {}, "the node as before ADD");
    if (name === "underlay dual stack") {
      // Issue 20: the shared IPv6 rule goes too, not only the IPv4 one.
      assert.ok(!s.k.snapshot().rules6.some((r) => r.includes("lookup 500")));
    }
    const changes = s.k.ops.filter((o) => o.kind === "ip").map((o) => o.text);
    if (s.first === undefined && name !== "overlay net1") {
      // The first NIC: the veth by its name, without entering the pod.
      assert.equal(changes[0], `link del dev ${HOST_VETH}`);
      assert.deepEqual(s.k.ops.filter((o) => o.netns === POD), []);
    } else {
      // A later NIC: the node end found as ADD finds it (by name and peer in underlay
      // mode, as the peer of eth0 in overlay mode), its table routes and neighbours.
      const end = name === "overlay net1" ? "vethptp1" : HOST_VETH;
      const ip = name === "overlay net1" ? "10.6.212.241" : "10.7.212.5";
      assert.deepEqual(changes.slice(0, 2), [
        `route del ${ip}/32 dev ${end} table 500`,
        `neigh flush to ${ip} dev ${end} nud all`,
      ]);
      assert.ok(s.k.ns().links.some((l) => l.ifname === end), "the pair stays");
    }
    await cmdDel(cmdContext("DEL", s.conf, s.call), s.k);
    assert.deepEqual(diffSnapshots(node0, s.k.snapshot()), {}, "a second DEL changes nothing");
  });
}

for (const name of SCENARIOS) {
  Deno.test(`cmdDel() after the pod netns path vanished (the netns lives on) cleans the node from the record (${name})`, async () => {
    const { s, node0 } = await added(name);
    s.k.unmountNetns(POD);
    await cmdDel(cmdContext("DEL", s.conf, s.call), s.k);
    assert.deepEqual(diffSnapshots(node0, s.k.snapshot()), {}, "the node as before ADD");
    assert.deepEqual(s.k.stateFiles().filter((f) => f.includes(s.call.ifname)), []);
  });
}

for (const name of FIRST_NICS) {
  Deno.test(`cmdDel() after the pod netns path vanished, without a state file, deletes the veth by name (${name})`, async () => {
    const { s, node0 } = await added(name);
    s.k.unmountNetns(POD);
    removeState(s, s.conf, s.call);
    await cmdDel(cmdContext("DEL", s.conf, s.call), s.k);
    assert.deepEqual(diffSnapshots(node0, s.k.snapshot()), {}, "the node as before ADD");
  });

  Deno.test(`cmdDel() after the pod netns was destroyed with its veths drops the shared rules, with or without a state file (${name})`, async () => {
    for (const record of [true, false]) {
      const { s, node0 } = await added(name);
      s.k.destroyNetns(POD);
      assert.ok(!s.k.ns().links.some((l) => l.ifname === HOST_VETH), "the kernel took the pair");
      if (!record) removeState(s, s.conf, s.call);
      await cmdDel(cmdContext("DEL", s.conf, s.call), s.k);
      assert.deepEqual(diffSnapshots(node0, s.k.snapshot()), {}, `record: ${record}`);
    }
  });
}

Deno.test("cmdDel() of a later NIC without a state file and without its netns cannot find its node routes; the first NIC's DEL takes them with the pair", async () => {
  const { s, node0 } = await added("underlay net1 after eth0");
  s.k.unmountNetns(POD);
  removeState(s, s.conf, s.call);
  await cmdDel(cmdContext("DEL", s.conf, s.call), s.k);
  // docs/network.md: a later NIC's DEL without a record reads the pod, when its netns is there.
  assert.deepEqual(diffSnapshots(node0, s.k.snapshot()).routes?.added, [
    `10.7.212.5 dev ${HOST_VETH} table 500 scope link`,
  ]);
  const first = s.first!;
  removeState(s, first.conf, first.call);
  await cmdDel(cmdContext("DEL", first.conf, first.call), s.k);
  assert.deepEqual(s.k.snapshot(), nodeWorld().snapshot(), "the node as before any ADD");
});

Deno.test("cmdDel() succeeds without an ADD, with an empty or a missing netns, twice", async () => {
  const k = nodeWorld();
  const node0 = k.snapshot();
  for (const netns of ["", "/var/run/netns/ut-gone", "/var/run/netns/ut-gone"]) {
    for (const ifname of ["eth0", "net1"]) {
      const call = { containerId: "0123456789abcdef", netns, ifname };
      await cmdDel(
        cmdContext("DEL", { cniVersion: "1.0.0", name: "ut", type: "coordinator" }, call),
        k,
      );
    }
  }
  assert.deepEqual(diffSnapshots(node0, k.snapshot()), {});
});

Deno.test("cmdDel() reports a failed node cleanup (103), keeps the record, and a later DEL finishes", async () => {
  const { s, node0 } = await added("underlay dual stack");
  s.k.failWhen((op) => op.text === `link del dev ${HOST_VETH}`);
  await assert.rejects(
    () => cmdDel(cmdContext("DEL", s.conf, s.call), s.k),
    (err: unknown) =>
      err instanceof CniError && err.code === 103 &&
      err.message.includes(
        `"ip link del dev ${HOST_VETH}": RTNETLINK answers: Operation not permitted`,
      ),
  );
  assert.equal(s.k.stateFiles().length, 1, "the record stays for the next DEL");
  const now = s.k.snapshot();
  assert.deepEqual([now.rules4, now.rules6], [
    [...node0.rules4.slice(0, 1), "1000:\tfrom all lookup 500", ...node0.rules4.slice(1)],
    [...node0.rules6.slice(0, 1), "1000:\tfrom all lookup 500", ...node0.rules6.slice(1)],
  ], "the shared rules are put back while their routes stay");
  s.k.reset();
  await cmdDel(cmdContext("DEL", s.conf, s.call), s.k);
  assert.deepEqual(diffSnapshots(node0, s.k.snapshot()), {});
  assert.deepEqual(s.k.stateFiles(), []);
});

Deno.test("cmdDel() of a later NIC removes its pod rules (hot-unplug), also when the node cleanup fails", async () => {
  const { s, pod0 } = await added("underlay net1 after eth0");
  s.k.failWhen((op) => op.text.startsWith("route del 10.7.212.5/32"));
  await assert.rejects(() => cmdDel(cmdContext("DEL", s.conf, s.call), s.k), CniError);
  assert.deepEqual(s.k.snapshot(POD).rules4, pod0.rules4, "the from rule is gone");
});
