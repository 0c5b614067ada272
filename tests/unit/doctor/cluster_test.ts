/**
 * doctor's cluster CIDR evaluators on the captured tool output of
 * tests/testdata/cluster/: OK, FAIL naming the Services outside serviceCIDR,
 * WARN for what may be external and for pod blocks outside overlayPodCIDR.
 * No root.
 */

import assert from "node:assert/strict";
import { evalPodCidr, evalServiceCidr } from "../../../mod/doctor/cluster.ts";
import { fixtureIptables, outsideService } from "../../_helpers/cluster_fixture.ts";
import {
  CALICO,
  CILIUM,
  CONF,
  IPT4,
  IPT6,
  IPVS,
  NFT4,
  NFT4_OLD,
  NFT6,
  NFT6_OLD,
  reads,
} from "./_fixtures.ts";

Deno.test("evalServiceCidr(): the right serviceCIDR is OK and says how many and which modes", () => {
  const iptables = evalServiceCidr(CONF, reads({ iptables: [IPT4, IPT6] }), "defaults.json");
  assert.equal(iptables.level, "OK", iptables.found);
  assert.match(iptables.found, /^6 ClusterIPs checked \(3 IPv4, 3 IPv6; iptables\)/);
  assert.match(iptables.found, /3 ExternalIP\/LoadBalancer IPs not checked/);
  assert.match(iptables.found, /from defaults\.json/);
  const nft = evalServiceCidr(CONF, reads({ nft: [NFT4, NFT6] }));
  assert.equal(nft.level, "OK", nft.found);
  assert.match(nft.found, /^7 ClusterIPs checked \(4 IPv4, 3 IPv6; nftables\)/);
  const both = evalServiceCidr(CONF, reads({ iptables: [IPT4], nft: [NFT4_OLD] }));
  assert.match(both.found, /iptables \+ nftables/);
});

Deno.test("evalServiceCidr(): a Service outside serviceCIDR FAILs, naming it", () => {
  const nat = fixtureIptables(4, [outsideService(4)]);
  const f = evalServiceCidr(CONF, reads({ iptables: [nat, IPT6] }));
  assert.equal(f.level, "FAIL");
  assert.match(f.found, /^1 of 7 ClusterIPs \(iptables\) outside serviceCIDR/);
  assert.match(f.found, /10\.200\.0\.7 \(ns9\/outside:http\)/);
  assert.match(f.remedy, /defaults --suggest/);
  // IPv6 too, in nftables mode.
  const v6 = evalServiceCidr(
    { ...CONF, serviceCIDR: ["10.96.0.0/12"] },
    reads({ nft: [NFT4, NFT6] }),
  );
  assert.equal(v6.level, "FAIL");
  assert.match(v6.found, /^3 of 7 ClusterIPs/);
  assert.match(v6.found, /fd00:10:96::1 \(default\/kubernetes:https\)/);
});

Deno.test("evalServiceCidr(): names five, then how many more; an empty serviceCIDR FAILs them all", () => {
  const many = Array.from({ length: 8 }, (_, i) => outsideService(4, i + 1));
  const f = evalServiceCidr(CONF, reads({ iptables: [fixtureIptables(4, many)] }));
  assert.equal(f.level, "FAIL");
  assert.match(f.found, /^8 of 11 ClusterIPs/);
  assert.match(f.found, /and 3 more$/);
  const empty = evalServiceCidr({ ...CONF, serviceCIDR: [] }, reads({ iptables: [IPT4] }));
  assert.equal(empty.level, "FAIL");
  assert.match(empty.found, /^3 of 3 ClusterIPs \(iptables\) outside serviceCIDR \(empty\)/);
});

Deno.test("evalServiceCidr(): WARN, not FAIL, for what may be external, for hijackCIDR cover and for a range kube-proxy knows wider", () => {
  // IPVS: kube-ipvs0 holds the ExternalIP and the LB IP too.
  const ipvs = evalServiceCidr(CONF, reads({ ipvs: IPVS }));
  assert.equal(ipvs.level, "WARN", ipvs.found);
  assert.match(ipvs.found, /3 Service addresses of unknown kind \(ipvs/);
  assert.match(ipvs.found, /192\.0\.2\.50/);
  // v1.29 nftables: a no-endpoint entry outside.
  const narrow = { ...CONF, serviceCIDR: ["10.96.0.0/13", "10.104.0.0/16", "fd00:10:96::/112"] };
  const old = evalServiceCidr(narrow, reads({ nft: [NFT4_OLD, NFT6_OLD] }));
  assert.equal(old.level, "WARN", old.found);
  assert.match(old.found, /10\.111\.250\.4 \(ns1\/idle:http\)/);
  // Routed through the node by hijackCIDR only.
  const hijack = evalServiceCidr(
    { ...CONF, serviceCIDR: ["10.96.0.0/16", "fd00:10:96::/112"], hijackCIDR: ["10.104.0.0/16"] },
    reads({ iptables: [IPT4, IPT6] }),
  );
  assert.equal(hijack.level, "WARN", hijack.found);
  assert.match(hijack.found, /1 ClusterIPs only inside hijackCIDR\/overlayPodCIDR/);
  // Every ClusterIP covered, but kube-proxy's own range is wider.
  const wider = evalServiceCidr(
    {
      ...CONF,
      serviceCIDR: ["10.96.0.0/13", "10.104.0.0/14", "10.111.0.0/16", "fd00:10:96::/112"],
    },
    reads({ nft: [NFT4, NFT6] }),
  );
  assert.equal(wider.level, "WARN", wider.found);
  assert.match(wider.found, /kube-proxy's Service CIDRs 10\.96\.0\.0\/12 are not inside/);
  // Two halves cover the whole range.
  const halves = evalServiceCidr(
    { ...CONF, serviceCIDR: ["10.96.0.0/13", "10.104.0.0/13", "fd00:10:96::/112"] },
    reads({ nft: [NFT4, NFT6] }),
  );
  assert.equal(halves.level, "OK", halves.found);
});

Deno.test("evalServiceCidr(): no kube-proxy rules is OK, saying it was not checked and what could not be read", () => {
  const f = evalServiceCidr(CONF, { ...reads({}), unread: ["nft: not installed"] });
  assert.equal(f.level, "OK");
  assert.match(f.found, /not checked; not read: nft: not installed/);
  // With addresses found, a mode that could not be read is not worth a word.
  const found = evalServiceCidr(CONF, {
    ...reads({ iptables: [IPT4, IPT6] }),
    unread: ["nft: not installed"],
  });
  assert.doesNotMatch(found.found, /not read/);
  const pods = evalPodCidr(CONF, { ...reads({}), unread: ["ip: not installed"] });
  assert.match(pods.found, /not checked; not read: ip: not installed/);
});

Deno.test("evalPodCidr(): inside is OK, a block outside overlayPodCIDR WARNs naming it, none is not checked", () => {
  const ok = evalPodCidr(CONF, reads({ routes: CALICO }));
  assert.equal(ok.level, "OK", ok.found);
  assert.match(ok.found, /^10 pod routes \(6 IPv4, 4 IPv6; calico\) inside overlayPodCIDR/);
  const narrow = evalPodCidr(
    { ...CONF, overlayPodCIDR: ["10.244.0.0/20", "fd00:10:244::/56"] },
    reads({ routes: CALICO }),
  );
  assert.equal(narrow.level, "WARN");
  assert.match(narrow.found, /^2 of 10 pod routes \(calico\) outside/);
  assert.match(narrow.found, /10\.244\.30\.64\/26 \(dev tunl0\)/);
  assert.match(narrow.found, /10\.244\.41\.0\/26 \(dev vxlan\.calico\)/);
  const cilium = evalPodCidr(CONF, reads({ routes: CILIUM }));
  assert.equal(cilium.level, "WARN");
  assert.match(cilium.found, /^7 of 7 pod routes \(cilium\)/);
  assert.equal(evalPodCidr(CONF, reads({})).level, "OK");
  assert.match(evalPodCidr(CONF, reads({})).found, /not checked/);
});
