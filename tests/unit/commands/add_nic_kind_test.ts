/**
 * ADD on the fake kernel when the main CNI's NIC cannot do what the
 * configuration asks (plan/view.ts nicKindProblem): code 7 before anything
 * changes. No root.
 */

import assert from "node:assert/strict";
import { cmdAdd } from "../../../mod/commands/add.ts";
import { toCniError } from "../../../mod/errors.ts";
import { buildScenario, cmdContext, POD } from "../../_helpers/fake_kernel.ts";

Deno.test("cmdAdd() refuses podMACPrefix on an ipvlan NIC with 7, having changed nothing", async () => {
  const s = await buildScenario("underlay IPv4", cmdAdd);
  s.k.link(POD, "eth0").kind = "ipvlan";
  const node0 = s.k.snapshot();
  const pod0 = s.k.snapshot(POD);
  const conf = { ...s.conf, podMACPrefix: "0a:1b" };
  let code = 0;
  let msg = "";
  try {
    await cmdAdd(cmdContext("ADD", conf, s.call, s.prev), s.k);
  } catch (err) {
    code = toCniError(err).code;
    msg = toCniError(err).message;
  }
  assert.equal(code, 7);
  assert.match(msg, /"eth0" is an ipvlan .*set podMACPrefix to ""/);
  assert.deepEqual(s.k.ops.filter((o) => o.kind !== "read"), [], "only the pod was read");
  assert.deepEqual(s.k.snapshot(), node0);
  assert.deepEqual(s.k.snapshot(POD), pod0);
  assert.deepEqual(s.k.stateFiles(), []);
});
