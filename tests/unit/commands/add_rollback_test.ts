/**
 * The ADD rollback of commands/add.ts, step by step, on the fake kernel
 * (tests/_helpers/fake_kernel.ts): a successful ADD is run once and its
 * operations recorded (every read and change line of every batch, every
 * sysctl write, the host lock, detection, the MAC change, each
 * `iptables-restore`, the state save); then, for each of them, ADD runs again
 * in a fresh world with exactly that operation failing. ADD must fail with
 * the error the runtime would print (103 for the kernel, 100/101 for
 * detection, 11 for the lock, 5 for the state file), leave the node exactly
 * as it was, the pod without the pair's end, ADD's routes, rules,
 * neighbours or mangle rules, and no state file. The sysctls ADD wrote in
 * the pod and the NIC's up flag may stay (the pod is torn down after a
 * failed ADD).
 * Operations whose failure ADD tolerates (an optional line, a `route get`
 * without answer, the node end's accept_ra, the announcement) must leave a
 * working attachment: CHECK passes and DEL restores the node.
 */

import assert from "node:assert/strict";
import { cmdAdd } from "../../../mod/commands/add.ts";
import { cmdCheck } from "../../../mod/commands/check.ts";
import { cmdDel } from "../../../mod/commands/del.ts";
import { ErrorCode, toCniError } from "../../../mod/errors.ts";
import {
  buildScenario,
  cmdContext,
  diffSnapshots,
  type Op,
  POD,
  type ScenarioName,
  SCENARIOS,
  type Snapshot,
} from "../../_helpers/fake_kernel.ts";

/** How ADD answers the failure of one operation: a CNI code, or "ok" when it goes on. */
function outcomeOf(op: Op): number | "ok" {
  if (op.optional) return "ok";
  switch (op.kind) {
    case "sysctl":
      // The node end's accept_ra is a warning; a pod sysctl fails ADD.
      return op.netns === undefined ? "ok" : ErrorCode.NetworkSetupFailed;
    case "detect":
      return op.text === "detect conflicts"
        ? ErrorCode.IpConflict
        : op.text === "detect gateways"
        ? ErrorCode.GatewayUnreachable
        : "ok";
    case "lock":
      return ErrorCode.TryAgainLater;
    case "state":
      // A state file that cannot be written: an I/O failure.
      return ErrorCode.IoFailure;
    default:
      return ErrorCode.NetworkSetupFailed;
  }
}

/** The pod sections a rolled-back ADD must leave as they were. */
const POD_SECTIONS = ["routes", "rules4", "rules6", "neigh", "mangle4", "mangle6"] as const;
type PodSection = (typeof POD_SECTIONS)[number];

const MAC = /([0-9a-f]{2}:){5}[0-9a-f]{2}/g;
const masked = (op: Op) => `${op.kind} ${op.netns ?? "node"} ${op.text.replace(MAC, "<mac>")}`;

function podSections(s: Snapshot, sections: readonly PodSection[]): Partial<Snapshot> {
  return Object.fromEntries(sections.map((k) => [k, s[k]]));
}

/**
 * Fail each operation of a successful ADD in turn and check what is left.
 *
 * @param name the scenario
 * @param sections the pod sections to compare with the pod before ADD
 * @returns how many operations were failed
 */
async function failEachStep(name: ScenarioName, sections: readonly PodSection[]): Promise<number> {
  const ref = await buildScenario(name, cmdAdd);
  await cmdAdd(cmdContext("ADD", ref.conf, ref.call, ref.prev), ref.k);
  const steps = [...ref.k.ops];
  for (const [n, step] of steps.entries()) {
    const s = await buildScenario(name, cmdAdd);
    const node0 = s.k.snapshot();
    const pod0 = s.k.snapshot(POD);
    const links0 = s.k.ns(POD).links.map((l) => l.ifname).sort();
    const files0 = s.k.stateFiles();
    s.k.failWhen((_op, i) => i === n);
    const ctx = cmdContext("ADD", s.conf, s.call, s.prev);
    const at = `${name}, step ${n} "${masked(step)}"`;
    let code: number | "ok" = "ok";
    try {
      await cmdAdd(ctx, s.k);
    } catch (err) {
      code = toCniError(err).code;
    }
    assert.equal(masked(s.k.ops[n]!), masked(step), `${at}: the same operation failed`);
    assert.equal(code, outcomeOf(step), at);
    if (code === "ok") {
      await cmdCheck(cmdContext("CHECK", s.conf, s.call, s.prev), s.k);
      await cmdDel(cmdContext("DEL", s.conf, s.call), s.k);
      assert.deepEqual(diffSnapshots(node0, s.k.snapshot()), {}, `${at}: DEL restores the node`);
      continue;
    }
    assert.deepEqual(diffSnapshots(node0, s.k.snapshot()), {}, `${at}: the node as before`);
    assert.deepEqual(s.k.ns(POD).links.map((l) => l.ifname).sort(), links0, `${at}: pod links`);
    assert.deepEqual(
      podSections(s.k.snapshot(POD), sections),
      podSections(pod0, sections),
      `${at}: the pod's ${sections.join(", ")}`,
    );
    assert.deepEqual(s.k.stateFiles(), files0, `${at}: no state file`);
    const incomplete = ctx.log.lines.filter((l) => l.msg.startsWith("ADD rollback"));
    assert.deepEqual(incomplete, [], `${at}: the rollback itself had no failure`);
  }
  return steps.length;
}

/** Operations of a successful ADD per scenario (the count the suite covers). */
const STEPS: Record<ScenarioName, number> = {
  "underlay IPv4": 30,
  "underlay dual stack": 50,
  "underlay IPv6 only": 31,
  "overlay net1": 34,
  "underlay net1 after eth0": 30,
};

for (const name of SCENARIOS) {
  Deno.test(`cmdAdd() rolls back the node, the pod's routes, rules, neighbours and mangle rules, and the record after a failure at each step (${name})`, async () => {
    assert.equal(await failEachStep(name, POD_SECTIONS), STEPS[name], "steps covered");
  });
}

Deno.test("cmdAdd() throws its own error when the rollback fails too, and logs what the rollback left", async () => {
  const s = await buildScenario("underlay IPv4", cmdAdd);
  s.k.failWhen((op) => op.text === "state save ut-underlay/0123456789abcdef_eth0");
  s.k.failWhen((op) => op.text === "link del dev veth0123456789a");
  const ctx = cmdContext("ADD", s.conf, s.call, s.prev);
  await assert.rejects(() => cmdAdd(ctx, s.k), { code: ErrorCode.IoFailure });
  const warned = ctx.log.lines.filter((l) => l.msg === "ADD rollback incomplete");
  assert.equal(warned.length, 1);
  assert.match(
    JSON.stringify(warned[0]?.fields),
    /ip link del dev veth0123456789a\\": RTNETLINK answers: Operation not permitted/,
  );
});
