/**
 * What `coordinator defaults --suggest` proposes, on the captured tool output
 * of tests/testdata/cluster/: it covers every ClusterIP and pod block (checked
 * with npm ip-address, not mod/), and doctor's evaluator agrees. No root.
 */

import assert from "node:assert/strict";
import type { IpRoute } from "../../../mod/kernel/ip_json.ts";
import {
  type ClusterFacts,
  type ClusterReads,
  evalPodCidr,
  evalServiceCidr,
} from "../../../mod/doctor/cluster.ts";
import { prefixText, toPrefix } from "../../../mod/doctor/cidrs.ts";
import { coverGroups, suggestCidrs } from "../../../mod/doctor/suggest.ts";
import { fixtureIptables, outsideService } from "../../_helpers/cluster_fixture.ts";
import {
  CALICO,
  CILIUM,
  covers,
  IPT4,
  IPT6,
  IPVS,
  NFT4,
  NFT4_OLD,
  NFT6,
  NFT6_OLD,
  reads,
} from "./_fixtures.ts";

/** Every ClusterIP (and kube-ipvs0 address) and every pod block of the facts, as prefixes. */
function everything(f: ClusterFacts): { services: string[]; pods: string[] } {
  const services = f.proxies.flatMap((v) => v.addrs.filter((a) => a.kind !== "external"))
    .map((a) => `${a.ip}/${a.family === 4 ? 32 : 128}`);
  return { services, pods: f.pods.map((p) => p.dst) };
}

for (
  const [name, r] of [
    ["iptables + Calico", { iptables: [IPT4, IPT6], routes: CALICO }],
    ["nftables + Cilium", { nft: [NFT4, NFT6], routes: CILIUM }],
    ["nftables v1.29 + Calico", { nft: [NFT4_OLD, NFT6_OLD], routes: CALICO }],
    ["IPVS + Calico", { ipvs: IPVS, routes: CALICO }],
    ["a Service outside the range", {
      iptables: [fixtureIptables(4, [outsideService(4)]), IPT6],
      routes: CALICO,
    }],
  ] as [string, Partial<ClusterReads>][]
) {
  Deno.test(`suggestCidrs() covers every ClusterIP and pod block (${name}), and doctor agrees`, () => {
    const f = reads(r);
    const s = suggestCidrs(f);
    const all = everything(f);
    for (const ip of all.services) {
      assert.ok(covers(s.serviceCIDR, ip), `${ip} in ${s.serviceCIDR}`);
    }
    for (const b of all.pods) assert.ok(covers(s.overlayPodCIDR, b), `${b} in ${s.overlayPodCIDR}`);
    const conf = { serviceCIDR: s.serviceCIDR, overlayPodCIDR: s.overlayPodCIDR, hijackCIDR: [] };
    assert.notEqual(evalServiceCidr(conf, f).level, "FAIL");
    assert.equal(evalPodCidr(conf, f).level, "OK");
  });
}

Deno.test("suggestCidrs(): kubeadm / kind defaults for the Services, kube-proxy's own CIDRs when it shows them", () => {
  const ipt = suggestCidrs(reads({ iptables: [IPT4, IPT6], routes: CALICO }));
  assert.deepEqual(ipt.serviceCIDR, ["10.96.0.0/12", "fd00:10:96::/112"]);
  assert.match(ipt.notes.join("\n"), /inside kubeadm's default 10\.96\.0\.0\/12/);
  // Calico's IPv4 blocks widen to the flannel/kubeadm default; IPv6 has no default: a lower bound.
  assert.deepEqual(ipt.overlayPodCIDR, ["10.244.0.0/16", "fd00:10:244::/67"]);
  assert.match(ipt.notes.join("\n"), /IPv6 pod blocks: .* proposed as is, a lower bound/);
  const nft = suggestCidrs(reads({ nft: [NFT4, NFT6], routes: CILIUM }));
  assert.deepEqual(nft.serviceCIDR, ["10.96.0.0/12", "fd00:10:96::/112"]);
  assert.match(nft.notes[0]!, /from kube-proxy's rule for unallocated ClusterIPs/);
  assert.deepEqual(nft.overlayPodCIDR, ["10.0.0.0/22", "fd02::/119"]);
});

Deno.test("suggestCidrs(): no widening over the node's own network; a far second range gets its own CIDR", () => {
  // The node's LAN sits inside kubeadm's range: keep the bound.
  const lan: IpRoute = {
    family: 4,
    dst: "10.100.0.0/16",
    dev: "ens192",
    protocol: "kernel",
    scope: "link",
  };
  const s = suggestCidrs(reads({ iptables: [IPT4], routes: [lan] }));
  assert.ok(!s.serviceCIDR.includes("10.96.0.0/12"), s.serviceCIDR.join());
  for (const ip of ["10.96.0.1/32", "10.96.0.10/32", "10.104.17.33/32"]) {
    assert.ok(covers(s.serviceCIDR, ip), `${ip} in ${s.serviceCIDR}`);
  }
  assert.ok(s.serviceCIDR.every((c) => !covers([c], "10.100.0.0/16")), s.serviceCIDR.join());
  // A second Calico pool in 172.16.0.0/16: two pod CIDRs, not one /0.
  const second: IpRoute = { family: 4, type: "blackhole", dst: "172.16.3.0/26", protocol: "bird" };
  const p = suggestCidrs(reads({ routes: [...CALICO, second] }));
  assert.deepEqual(p.overlayPodCIDR.filter((c) => !c.includes(":")), [
    "10.244.0.0/16",
    "172.16.3.0/26",
  ]);
});

Deno.test("coverGroups() splits at the first differing bit while a group is too wide", () => {
  const ps = ["10.96.0.1", "10.96.0.10", "10.111.3.4", "192.0.2.50", "198.51.100.7"].map((t) =>
    toPrefix(t)!
  );
  assert.deepEqual(coverGroups(ps, 12).map(prefixText), [
    "10.96.0.0/12",
    "192.0.2.50/32",
    "198.51.100.7/32",
  ]);
  // ... or overlaps what it must avoid.
  assert.deepEqual(
    coverGroups(["10.1.0.0/24", "10.9.0.0/24"].map((t) => toPrefix(t)!), 8, [
      toPrefix("10.6.0.0/16")!,
    ])
      .map(prefixText),
    ["10.1.0.0/24", "10.9.0.0/24"],
  );
});
