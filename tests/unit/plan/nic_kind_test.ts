/**
 * plan/view.ts nicKindProblem() and planNic() on the kinds of main-CNI NIC the
 * README names: macvlan (captured), ipvlan l2 / l3 and an SR-IOV VF (fixtures
 * of `ip -d -j` output, see tests/testdata/ip-json/README.md). No root.
 */

import assert from "node:assert/strict";
import { parseConfig } from "../../../mod/config/parse.ts";
import { nicKindProblem, planNic } from "../../../mod/plan/view.ts";
import { loadPodFacts } from "../../_helpers/facts.ts";

const conf = (over: Record<string, unknown> = {}) =>
  parseConfig({ cniVersion: "1.0.0", name: "net", type: "coordinator", ...over });

const eth0 = (file: string) => loadPodFacts(file).links.find((l) => l.ifname === "eth0")!;

Deno.test("nicKindProblem() refuses podMACPrefix on an ipvlan NIC of any mode, naming the field", () => {
  for (const file of ["ipvlan_l2_pod.json", "ipvlan_l3_pod.json"]) {
    const why = nicKindProblem(conf({ podMACPrefix: "0a:1b" }), eth0(file));
    assert.match(why ?? "", /"eth0" is an ipvlan .* podMACPrefix "0a:1b": set podMACPrefix to ""/);
  }
  assert.equal(
    nicKindProblem(conf({ podMACPrefix: "0a:1b" }), eth0("underlay_v4_pod.json")),
    undefined,
  );
  assert.equal(
    nicKindProblem(conf({ podMACPrefix: "0a:1b" }), eth0("sriov_vf_pod.json")),
    undefined,
  );
});

Deno.test("nicKindProblem() refuses detection on an ipvlan in mode l3 (no ARP of its own), not in l2", () => {
  const detect = conf({ detectGateway: true });
  assert.match(
    nicKindProblem(detect, eth0("ipvlan_l3_pod.json")) ?? "",
    /ipvlan in mode l3, which does no ARP .* detectIPConflict and detectGateway to false/,
  );
  assert.equal(
    nicKindProblem(conf({ detectIPConflict: true }), eth0("ipvlan_l2_pod.json")),
    undefined,
  );
  assert.equal(nicKindProblem(conf(), eth0("ipvlan_l3_pod.json")), undefined);
});

Deno.test("planNic() fails with 7 before anything is planned; plain NICs plan as macvlan does", () => {
  assert.throws(
    () =>
      planNic(conf({ podMACPrefix: "0a:1b" }), loadPodFacts("ipvlan_l2_pod.json"), "eth0", "/p"),
    { code: 7 },
  );
  for (
    const file of [
      "underlay_v4_pod.json",
      "ipvlan_l2_pod.json",
      "ipvlan_l3_pod.json",
      "sriov_vf_pod.json",
    ]
  ) {
    const nic = planNic(conf(), loadPodFacts(file), "eth0", "/p");
    assert.deepEqual(nic.decision, {
      mode: "underlay",
      firstInvoke: true,
      table: 101,
      vethExists: false,
    }, file);
    assert.deepEqual(nic.current, ["10.6.212.241"], file);
  }
});
