/**
 * commands/gc.ts on the fake kernel (tests/_helpers/fake_kernel.ts), without
 * root: GC cleans the node for every recorded attachment of the network that
 * the runtime no longer lists, removes its record once that worked, keeps it
 * (and says so) when it did not, and never touches an attachment without a
 * record (a pod of Spiderpool's original coordinator) or of another network.
 */

import assert from "node:assert/strict";
import type { Attachment } from "../../../mod/cni/dispatch.ts";
import { cmdAdd } from "../../../mod/commands/add.ts";
import { cmdGc } from "../../../mod/commands/gc.ts";
import { CniError } from "../../../mod/errors.ts";
import {
  addMacvlanNic,
  type Call,
  cmdContext,
  diffSnapshots,
  type FakeKernel,
  nodeWorld,
  UNDERLAY_CONF,
  WORLD,
} from "../../_helpers/fake_kernel.ts";

const CONF = { ...UNDERLAY_CONF, cniVersion: "1.1.0", name: "ut-gc" };
const GC_CALL: Call = { containerId: "", netns: "", ifname: "" };

/** A pod with a macvlan eth0 at 10.6.212.<n>/16, ADDed by the coordinator. */
async function addPod(k: FakeKernel, id: string, n: number, conf = CONF): Promise<Call> {
  const call = { containerId: id, netns: `/var/run/netns/ut-${id}`, ifname: "eth0" };
  k.addNetns(call.netns);
  const prev = addMacvlanNic(k, call.netns, {
    ifname: "eth0",
    addrs: [`10.6.212.${n}/16`],
    gateways: [WORLD.gateway4],
  });
  await cmdAdd(cmdContext("ADD", conf, call, prev), k);
  return call;
}

/**
 * A pod as Spiderpool's coordinator makes it, built by hand: its veth pair,
 * its table 500 route and neighbour on the node, no state file of ours.
 */
function addOriginalPod(k: FakeKernel, id: string, n: number): void {
  const netns = `/var/run/netns/ut-${id}`;
  const hostVeth = `veth${id.slice(0, 11)}`;
  k.addNetns(netns);
  addMacvlanNic(k, netns, {
    ifname: "eth0",
    addrs: [`10.6.212.${n}/16`],
    gateways: [WORLD.gateway4],
  });
  k.addVeth({ name: hostVeth, mac: "02:00:00:00:0c:01" }, {
    netns,
    name: "veth0",
    mac: "02:00:00:00:0c:02",
  });
  k.link(undefined, hostVeth).flags.push("UP", "LOWER_UP");
  k.ns().routes.push({
    family: 4,
    type: "unicast",
    dst: `10.6.212.${n}`,
    dev: hostVeth,
    table: "500",
    protocol: "boot",
    scope: "link",
  });
  k.ns().neigh.push({
    dst: `10.6.212.${n}`,
    dev: hostVeth,
    lladdr: "02:00:00:00:0c:02",
    state: ["PERMANENT"],
  });
}

const valid = (...calls: Call[]): Attachment[] =>
  calls.map((c) => ({ containerID: c.containerId, ifname: c.ifname }));

Deno.test("cmdGc() cleans a stale attachment and removes its record; the valid one, one without a record and another network's stay", async () => {
  const k = nodeWorld();
  const a = await addPod(k, "aaaaaaaaaaaa0001", 11);
  addOriginalPod(k, "cccccccccccc0003", 33);
  const other = await addPod(k, "dddddddddddd0004", 44, { ...CONF, name: "ut-gc-other" });
  const before = k.snapshot();
  const b = await addPod(k, "bbbbbbbbbbbb0002", 22);
  const ctx = cmdContext("GC", CONF, GC_CALL);

  await cmdGc(ctx, valid(a), k);

  assert.deepEqual(
    diffSnapshots(before, k.snapshot()),
    {},
    "only B's veth, route and neighbour went",
  );
  assert.deepEqual(k.stateFiles(), [
    `ut-gc-other/${other.containerId}_eth0`,
    `ut-gc/${a.containerId}_eth0`,
  ]);
  assert.deepEqual(
    ctx.log.lines.filter((l) => l.level !== "debug").map((l) => [l.level, l.msg, l.fields]),
    [["info", "GC removed a stale attachment", { containerId: b.containerId, ifname: "eth0" }]],
  );
});

Deno.test("cmdGc() of every attachment drops the shared rule with the last one", async () => {
  const k = nodeWorld();
  const node0 = k.snapshot();
  await addPod(k, "aaaaaaaaaaaa0001", 11);
  await addPod(k, "bbbbbbbbbbbb0002", 22);
  await cmdGc(cmdContext("GC", CONF, GC_CALL), [], k);
  assert.deepEqual(diffSnapshots(node0, k.snapshot()), {});
  assert.deepEqual(k.stateFiles(), []);
});

Deno.test("cmdGc() keeps the record of a cleanup that failed and reports it (103); the next GC finishes", async () => {
  const k = nodeWorld();
  const a = await addPod(k, "aaaaaaaaaaaa0001", 11);
  const before = k.snapshot();
  const b = await addPod(k, "bbbbbbbbbbbb0002", 22);
  const withB = k.snapshot();
  k.failWhen((op) => op.text === "link del dev vethbbbbbbbbbbb");
  const ctx = cmdContext("GC", CONF, GC_CALL);
  await assert.rejects(
    () => cmdGc(ctx, valid(a), k),
    (err: unknown) =>
      err instanceof CniError && err.code === 103 &&
      err.message.includes(
        '"ip link del dev vethbbbbbbbbbbb": RTNETLINK answers: Operation not permitted',
      ),
  );
  assert.deepEqual(k.snapshot(), withB, "nothing of B removed");
  assert.ok(k.stateFiles().includes(`ut-gc/${b.containerId}_eth0`), "B's record kept");
  const said = ctx.log.lines.filter((l) => l.level !== "debug");
  assert.deepEqual(said.map((l) => [l.level, l.msg]), [
    ["warn", "GC could not remove a stale attachment"],
  ]);
  k.reset();
  await cmdGc(cmdContext("GC", CONF, GC_CALL), valid(a), k);
  assert.deepEqual(diffSnapshots(before, k.snapshot()), {});
  assert.deepEqual(k.stateFiles(), [`ut-gc/${a.containerId}_eth0`]);
});
