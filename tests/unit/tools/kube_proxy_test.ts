/**
 * The kube-proxy rules writer of the test worlds (tools/lib/kube_proxy.ts): chain names and
 * the lines that name a ClusterIP are kube-proxy's own (the expected values are those of
 * kube-proxy's proxier tests for the same Services), in both modes.
 */

import assert from "node:assert/strict";
import {
  iptablesChains,
  iptablesEndpointChain,
  iptablesRules,
  nftablesChains,
  nftablesEndpointChain,
  nftablesRules,
  type ProxyConfig,
  type ServicePort,
} from "../../../tools/lib/kube_proxy.ts";

const svc1: ServicePort = {
  namespace: "ns1",
  name: "svc1",
  portName: "p80",
  clusterIp: "172.30.0.41",
  port: 80,
  endpoints: [{ ip: "10.180.0.1", port: 80, node: "node1" }],
};

const svc2: ServicePort = {
  namespace: "ns2",
  name: "svc2",
  portName: "p80",
  clusterIp: "172.30.0.42",
  port: 80,
  nodePort: 3001,
  externalTrafficPolicy: "Local",
  endpoints: [{ ip: "10.180.0.2", port: 80, node: "node1" }],
};

const cfg: ProxyConfig = {
  family: 4,
  node: "node1",
  nodeIps: ["192.168.0.2"],
  clusterCidr: "10.0.0.0/8",
  serviceCidr: "172.30.0.0/16",
  services: [svc1, svc2],
};

Deno.test("iptablesChains() and iptablesEndpointChain() hash names as kube-proxy does", () => {
  assert.deepEqual(iptablesChains(svc1), {
    svc: "KUBE-SVC-XPGD46QRK7WJZT7O",
    svl: "KUBE-SVL-XPGD46QRK7WJZT7O",
    ext: "KUBE-EXT-XPGD46QRK7WJZT7O",
  });
  assert.equal(iptablesChains(svc2).ext, "KUBE-EXT-GNZBNJ2PO5MGZ6GT");
  assert.equal(iptablesEndpointChain(svc1, svc1.endpoints[0]!), "KUBE-SEP-SXIVWICOYRO3J4NJ");
});

Deno.test("nftablesChains() and nftablesEndpointChain() hash names as kube-proxy does", () => {
  assert.equal(nftablesChains(svc1).svc, "service-ULMVA6XW-ns1/svc1/tcp/p80");
  assert.equal(nftablesChains(svc2).ext, "external-42NFTM6N-ns2/svc2/tcp/p80");
  assert.equal(
    nftablesEndpointChain(svc1, svc1.endpoints[0]!),
    "endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80",
  );
  assert.equal(
    nftablesEndpointChain(svc2, svc2.endpoints[0]!),
    "endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80",
  );
  // nft names have no colon: IPv6 endpoints use dots.
  assert.match(
    nftablesEndpointChain(svc1, { ip: "fd00::1", port: 80, node: "n" }),
    /^endpoint-[A-Z2-7]{8}-ns1\/svc1\/tcp\/p80__fd00\.\.1\/80$/,
  );
});

Deno.test("iptablesRules() writes the ClusterIP as iptables-save prints kube-proxy's rule", () => {
  const lines = iptablesRules(cfg).split("\n");
  for (
    const want of [
      `-A KUBE-SERVICES -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O`,
      `-A KUBE-SVC-XPGD46QRK7WJZT7O ! -s 10.0.0.0/8 -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`,
      `-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ`,
      `-A KUBE-SEP-SXIVWICOYRO3J4NJ -p tcp -m comment --comment ns1/svc1:p80 -m tcp -j DNAT --to-destination 10.180.0.1:80`,
      `-A KUBE-NODEPORTS -p tcp -m comment --comment ns2/svc2:p80 -m tcp --dport 3001 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT`,
      `-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -j KUBE-SVL-GNZBNJ2PO5MGZ6GT`,
      "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
    ]
  ) assert.ok(lines.includes(want), `missing: ${want}`);
  assert.deepEqual(lines.filter((l) => l === "*nat" || l === "*filter"), ["*nat", "*filter"]);
});

Deno.test("iptablesRules() leaves the INVALID drop out when dropInvalid is false (kube-proxy 1.29+ with be_liberal)", () => {
  assert.doesNotMatch(iptablesRules({ ...cfg, dropInvalid: false }), /INVALID/);
});

Deno.test("nftablesRules() writes the transaction of kube-proxy's nftables mode", () => {
  const lines = nftablesRules(cfg).split("\n");
  for (
    const want of [
      `add table ip kube-proxy { comment "rules for kube-proxy" ; }`,
      "add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips",
      "add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports",
      "add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 tcp dport 80 ip saddr != 10.0.0.0/8 jump mark-for-masquerade",
      "add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 numgen random mod 1 vmap { 0 : goto endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 }",
      "add rule ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 ip saddr 10.180.0.1 jump mark-for-masquerade",
      "add rule ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 meta l4proto tcp dnat to 10.180.0.1:80",
      "add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80 }",
      `add rule ip kube-proxy external-42NFTM6N-ns2/svc2/tcp/p80 ip saddr 10.0.0.0/8 goto service-42NFTM6N-ns2/svc2/tcp/p80 comment "short-circuit pod traffic"`,
      "add element ip kube-proxy service-nodeports { tcp . 3001 : goto external-42NFTM6N-ns2/svc2/tcp/p80 }",
      "add element ip kube-proxy nodeport-ips { 192.168.0.2 }",
    ]
  ) assert.ok(lines.includes(want), `missing: ${want}`);
  assert.doesNotMatch(
    nftablesRules(cfg),
    /ct state invalid/,
    "nftables mode drops no INVALID packet",
  );
  const v6 = nftablesRules({
    ...cfg,
    family: 6,
    nodeIps: ["fd00::2"],
    clusterCidr: "fd00:10::/64",
    serviceCidr: "fd00:30::/112",
    services: [{
      ...svc1,
      clusterIp: "fd00:30::41",
      endpoints: [{ ...svc1.endpoints[0]!, ip: "fd00:10::1" }],
    }],
  });
  assert.match(v6, /^add element ip6 kube-proxy service-ips \{ fd00:30::41 \. tcp \. 80 : goto /m);
  assert.match(v6, / meta l4proto tcp dnat to \[fd00:10::1\]:80$/m);
});

Deno.test("the writers refuse what they do not model (a Service without endpoints, a wrong family)", () => {
  assert.throws(
    () => iptablesRules({ ...cfg, services: [{ ...svc1, endpoints: [] }] }),
    /no endpoint/,
  );
  assert.throws(() => nftablesRules({ ...cfg, family: 6 }), /not of family IPv6/);
});
