/**
 * DEL, CHECK and GC read a state file of every version (tests/testdata/state/,
 * see its README.md): version 1 (no pod record), version 2 (the pod's routes
 * and sysctls) and version 3 (the intents ADD applied), all three of one
 * underlay first NIC. The world they describe is made by running the
 * version 3 record's intents through the fake kernel
 * (tests/_helpers/fake_kernel.ts), so it has the records' MACs.
 */

import assert from "node:assert/strict";
import { cmdAdd } from "../../../mod/commands/add.ts";
import { cmdCheck } from "../../../mod/commands/check.ts";
import { cmdDel } from "../../../mod/commands/del.ts";
import { cmdGc } from "../../../mod/commands/gc.ts";
import { CniError } from "../../../mod/errors.ts";
import { type AttachmentState, STATE_VERSION } from "../../../mod/kernel/state.ts";
import {
  addMacvlanNic,
  buildScenario,
  cmdContext,
  diffSnapshots,
  type FakeKernel,
  HOST_VETH,
  nodeWorld,
  POD,
  UNDERLAY_CONF,
  WORLD,
} from "../../_helpers/fake_kernel.ts";

const DATA = new URL("../../testdata/state/", import.meta.url);
const VERSIONS = [1, 2, 3] as const;

function fixture(v: 1 | 2 | 3): AttachmentState {
  return JSON.parse(Deno.readTextFileSync(new URL(`v${v}_underlay_eth0.json`, DATA)));
}

const CALL = { containerId: "0123456789abcdef", netns: POD, ifname: "eth0" };

/**
 * The node and the pod as the ADD of the fixtures left them, with the
 * record of version `v` in place.
 */
async function world(
  v: 1 | 2 | 3,
): Promise<{ k: FakeKernel; node0: ReturnType<FakeKernel["snapshot"]> }> {
  const k = nodeWorld();
  k.addNetns(POD);
  addMacvlanNic(k, POD, { ifname: "eth0", addrs: ["10.6.212.241/16"], gateways: [WORLD.gateway4] });
  const node0 = k.snapshot();
  const a = fixture(3).applied!;
  for (const [changes, where] of [[a.node, {}], [a.pod, { netns: POD }]] as const) {
    const out = await k.run({ changes }, where);
    assert.deepEqual(out.errors, []);
  }
  k.writeSysctls(a.sysctls, POD);
  k.writeSysctls(a.nodeSysctls);
  await k.mangle("-A", a.mangle, POD);
  k.putState(fixture(v));
  k.reset();
  return { k, node0 };
}

Deno.test(`cmdAdd() records what the version 3 fixture holds (MACs aside)`, {
  ignore: STATE_VERSION !== 3,
}, async () => {
  const s = await buildScenario("underlay IPv4", cmdAdd);
  await cmdAdd(cmdContext("ADD", s.conf, s.call, s.prev), s.k);
  const mac = /([0-9a-f]{2}:){5}[0-9a-f]{2}/g;
  const text = (r: unknown) => JSON.stringify(r).replace(mac, "<mac>");
  const now = s.k.state.load(UNDERLAY_CONF.name, s.call.containerId, "eth0");
  assert.equal(text(now), text(fixture(3)));
});

for (const v of VERSIONS) {
  Deno.test(`cmdCheck() reads a version ${v} state file: passes on its world, names a broken item`, async () => {
    const { k } = await world(v);
    assert.equal(k.state.load(UNDERLAY_CONF.name, CALL.containerId, "eth0")?.version, v);
    const ctx = () => cmdContext("CHECK", { ...UNDERLAY_CONF }, CALL);
    await cmdCheck(ctx(), k);
    k.ns().routes = k.ns().routes.filter((r) => r.table !== "500");
    k.ns(POD).neigh = [];
    await assert.rejects(() => cmdCheck(ctx(), k), (err: unknown) => {
      assert.ok(err instanceof CniError && err.code === 104);
      assert.equal(
        err.message,
        'CHECK of "eth0" found differences: ' +
          `node route "10.6.212.241 dev ${HOST_VETH} table 500"; ` +
          `pod neighbour "10.6.212.101" lladdr "${fixture(v).hostVethMac}" dev "veth0"`,
      );
      return true;
    });
  });

  Deno.test(`cmdDel() reads a version ${v} state file and cleans the node`, async () => {
    const { k, node0 } = await world(v);
    await cmdDel(cmdContext("DEL", { ...UNDERLAY_CONF }, CALL), k);
    assert.deepEqual(diffSnapshots(node0, k.snapshot()), {});
    assert.deepEqual(k.stateFiles(), []);
  });

  Deno.test(`cmdGc() reads a version ${v} state file and cleans the stale attachment`, async () => {
    const { k, node0 } = await world(v);
    const call = { containerId: "", netns: "", ifname: "" };
    await cmdGc(cmdContext("GC", { ...UNDERLAY_CONF, cniVersion: "1.1.0" }, call), [], k);
    assert.deepEqual(diffSnapshots(node0, k.snapshot()), {});
    assert.deepEqual(k.stateFiles(), []);
  });
}

Deno.test("cmdCheck() of a version 2 state file checks the routes it recorded, of version 1 the node-IP routes only", async () => {
  for (const v of [1, 2] as const) {
    const { k } = await world(v);
    k.ns(POD).routes = k.ns(POD).routes.filter((r) => r.dst !== "169.254.20.10");
    const check = cmdCheck(cmdContext("CHECK", { ...UNDERLAY_CONF }, CALL), k);
    if (v === 1) await check;
    else {
      await assert.rejects(
        () => check,
        /found differences: pod route "169\.254\.20\.10 via 10\.6\.212\.101 dev veth0"$/,
      );
    }
  }
});
