/**
 * The kube-proxy rules writer of the test worlds (tools/lib/kube_proxy.ts): chain names and
 * the lines that name a ClusterIP are kube-proxy's own (the expected values are those of
 * kube-proxy's proxier tests for the same Services), in both modes; ExternalIPs, LoadBalancer
 * IPs and Services without endpoints as kube-proxy writes them, the 1.29 nftables layout, and
 * the addresses of IPVS mode's kube-ipvs0.
 */

import assert from "node:assert/strict";
import {
  iptablesChains,
  iptablesEndpointChain,
  iptablesRules,
  ipvsAddresses,
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

/** svc1 with an ExternalIP and a LoadBalancer IP; a Service without endpoints with both too. */
const web: ServicePort = {
  ...svc1,
  externalIps: ["192.0.2.50"],
  loadBalancerIps: ["198.51.100.7"],
};
const idle: ServicePort = {
  namespace: "ns1",
  name: "idle",
  portName: "http",
  clusterIp: "172.30.0.43",
  port: 8080,
  nodePort: 3003,
  externalIps: ["192.0.2.51"],
  endpoints: [],
};
const withExternal: ProxyConfig = { ...cfg, services: [web, idle] };

Deno.test("iptablesRules() writes ExternalIPs and LoadBalancer IPs into KUBE-EXT-, with kube-proxy's comments", () => {
  const lines = iptablesRules(withExternal).split("\n");
  for (
    const want of [
      `-A KUBE-SERVICES -d 192.0.2.50/32 -p tcp -m comment --comment "ns1/svc1:p80 external IP" -m tcp --dport 80 -j KUBE-EXT-XPGD46QRK7WJZT7O`,
      `-A KUBE-SERVICES -d 198.51.100.7/32 -p tcp -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp --dport 80 -j KUBE-EXT-XPGD46QRK7WJZT7O`,
      `-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j KUBE-MARK-MASQ`,
      "-A KUBE-EXT-XPGD46QRK7WJZT7O -j KUBE-SVC-XPGD46QRK7WJZT7O",
      ":KUBE-EXT-XPGD46QRK7WJZT7O - [0:0]",
    ]
  ) assert.ok(lines.includes(want), `missing: ${want}`);
  assert.ok(
    !lines.some((l) => l.startsWith("-A KUBE-NODEPORTS ")),
    "no NodePort, no KUBE-NODEPORTS rule",
  );
});

Deno.test("iptablesRules(): a Service without endpoints is a REJECT in filter and nothing in nat", () => {
  const text = iptablesRules(withExternal);
  const [nat, filter] = text.split("*filter");
  assert.doesNotMatch(nat!, /172\.30\.0\.43|192\.0\.2\.51|ns1\/idle/);
  for (
    const want of [
      `-A KUBE-SERVICES -d 172.30.0.43/32 -p tcp -m comment --comment "ns1/idle:http has no endpoints" -m tcp --dport 8080 -j REJECT --reject-with icmp-port-unreachable`,
      `-A KUBE-EXTERNAL-SERVICES -d 192.0.2.51/32 -p tcp -m comment --comment "ns1/idle:http has no endpoints" -m tcp --dport 8080 -j REJECT --reject-with icmp-port-unreachable`,
      `-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "ns1/idle:http has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 3003 -j REJECT --reject-with icmp-port-unreachable`,
    ]
  ) assert.ok(filter!.split("\n").includes(want), `missing: ${want}`);
  const v6 = iptablesRules({
    ...cfg,
    family: 6,
    clusterCidr: "fd00:10::/64",
    services: [{ ...svc1, clusterIp: "fd00:30::43", endpoints: [] }],
  });
  assert.match(
    v6,
    /^-A KUBE-SERVICES -d fd00:30::43\/128 .* -j REJECT --reject-with icmp6-port-unreachable$/m,
  );
});

Deno.test("nftablesRules(): ExternalIPs and LB IPs go to the external- chain; without endpoints, to reject-chain", () => {
  const lines = nftablesRules(withExternal).split("\n");
  const t = "ip kube-proxy";
  for (
    const want of [
      `add element ${t} service-ips { 192.0.2.50 . tcp . 80 : goto external-ULMVA6XW-ns1/svc1/tcp/p80 }`,
      `add element ${t} service-ips { 198.51.100.7 . tcp . 80 : goto external-ULMVA6XW-ns1/svc1/tcp/p80 }`,
      `add rule ${t} external-ULMVA6XW-ns1/svc1/tcp/p80 goto service-ULMVA6XW-ns1/svc1/tcp/p80`,
      // The set has every ClusterIP, one without endpoints too.
      `add element ${t} cluster-ips { 172.30.0.43 }`,
      `add element ${t} no-endpoint-services { 172.30.0.43 . tcp . 8080 comment "ns1/idle:http" : goto reject-chain }`,
      `add element ${t} no-endpoint-services { 192.0.2.51 . tcp . 8080 comment "ns1/idle:http" : goto reject-chain }`,
      `add element ${t} no-endpoint-nodeports { tcp . 3003 comment "ns1/idle:http" : goto reject-chain }`,
    ]
  ) assert.ok(lines.includes(want), `missing: ${want}`);
  assert.ok(
    !lines.some((l) => l.includes("service-ips { 172.30.0.43 ") || l.includes("ns1/idle/tcp")),
    "no service-ips entry and no chain without endpoints",
  );
});

Deno.test("nftablesRules() of kube-proxy 1.29: no cluster-ips set, no cluster-ips-check chain", () => {
  const text = nftablesRules({ ...withExternal, nftablesLayout: "1.29" });
  assert.doesNotMatch(text, /cluster-ips/);
  assert.match(
    text,
    /^add element ip kube-proxy service-ips \{ 172\.30\.0\.41 \. tcp \. 80 : goto /m,
  );
  assert.match(text, /^add element ip kube-proxy no-endpoint-services \{ 172\.30\.0\.43 /m);
  assert.match(nftablesRules(withExternal), /Drop traffic to unallocated ClusterIPs/);
});

Deno.test("ipvsAddresses(): every ClusterIP (one without endpoints too), ExternalIP and LB IP, once", () => {
  assert.deepEqual(ipvsAddresses({ ...withExternal, services: [svc1, web, idle] }), [
    "172.30.0.41",
    "192.0.2.50",
    "198.51.100.7",
    "172.30.0.43",
    "192.0.2.51",
  ]);
});

Deno.test("the writers refuse what they do not model (a wrong family, external IPs of a Local Service without a local endpoint)", () => {
  assert.throws(() => nftablesRules({ ...cfg, family: 6 }), /not of family IPv6/);
  assert.throws(
    () => iptablesRules({ ...cfg, services: [{ ...svc1, externalIps: ["fd00::50"] }] }),
    /"fd00::50" is not of family IPv4/,
  );
  const remote: ServicePort = {
    ...web,
    externalTrafficPolicy: "Local",
    endpoints: [{ ip: "10.180.0.1", port: 80, node: "node2" }],
  };
  for (const write of [iptablesRules, nftablesRules, ipvsAddresses]) {
    assert.throws(() => write({ ...cfg, services: [remote] }), /not modelled/);
  }
  // A NodePort alone of such a Service is modelled (dropped, as kube-proxy does).
  const np = { ...remote, externalIps: [], loadBalancerIps: [], nodePort: 3004 };
  assert.match(
    iptablesRules({ ...cfg, services: [np] }),
    /"ns1\/svc1:p80 has no local endpoints" .* --dport 3004 -j DROP/,
  );
});
