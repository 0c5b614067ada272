/**
 * The parsers of what kube-proxy and the overlay CNI leave on the node, on
 * the captured tool output of tests/testdata/cluster/, and the prefix
 * arithmetic under them. No root.
 */

import assert from "node:assert/strict";
import {
  coveredBy,
  prefixText,
  rangeToPrefixes,
  smallestCovering,
  toPrefix,
} from "../../../mod/doctor/cidrs.ts";
import {
  parseIptablesNat,
  parseIpvsAddrs,
  parseNftKubeProxy,
} from "../../../mod/doctor/kube_proxy.ts";
import { parsePodRoutes } from "../../../mod/doctor/pod_routes.ts";
import {
  CALICO_BLOCKS,
  CILIUM_BLOCKS,
  fixtureProxyConfigs,
} from "../../_helpers/cluster_fixture.ts";
import { ipvsAddresses } from "../../../tools/lib/kube_proxy.ts";
import {
  CALICO,
  CILIUM,
  covers,
  IPT4,
  IPT6,
  IPVS,
  kinds,
  NFT4,
  NFT4_OLD,
  NFT6,
  NFT6_OLD,
  reads,
} from "./_fixtures.ts";

Deno.test("parseIptablesNat() reads the KUBE-SERVICES ClusterIPs by comment, ExternalIP and LB apart", () => {
  const v4 = parseIptablesNat(IPT4);
  assert.equal(v4.present, true);
  assert.deepEqual(kinds(v4), {
    // ns1/idle has no endpoints: its REJECT is in the filter table, not in nat.
    cluster: ["10.104.17.33", "10.96.0.1", "10.96.0.10"],
    external: ["192.0.2.50", "198.51.100.7"],
  });
  assert.equal(v4.addrs.find((a) => a.ip === "10.96.0.1")?.name, "default/kubernetes:https");
  assert.deepEqual(kinds(parseIptablesNat(IPT6)), {
    cluster: ["fd00:10:96::1", "fd00:10:96::3e8f", "fd00:10:96::a"],
    external: ["2001:db8::50"],
  });
});

Deno.test("parseIptablesNat() without comments classifies by the jump target; other tables and no KUBE-SERVICES give nothing", () => {
  const nat = [
    "*filter",
    "-A KUBE-SERVICES -d 10.111.250.4/32 -p tcp -j REJECT",
    "COMMIT",
    "*nat",
    ":KUBE-SERVICES - [0:0]",
    "-A KUBE-SERVICES -d 10.233.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-BACKEND",
    "-A KUBE-SERVICES -d 192.0.2.9/32 -p tcp -m tcp --dport 80 -j KUBE-EXT-X",
    "-A KUBE-SERVICES -d 192.0.2.10/32 -p tcp -m tcp --dport 80 -j SOMETHING",
    "-A KUBE-SERVICES ! -d 10.1.1.1/32 -j KUBE-SVC-NOT",
    "-A KUBE-SERVICES -d 10.96.0.0/12 -j KUBE-SVC-WIDE",
    "COMMIT",
  ].join("\n");
  assert.deepEqual(kinds(parseIptablesNat(nat)), {
    cluster: ["10.233.0.10"],
    external: ["192.0.2.9"],
    unknown: ["192.0.2.10"],
  });
  const none = parseIptablesNat("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n");
  assert.deepEqual([none.present, none.addrs.length], [false, 0]);
});

Deno.test("parseNftKubeProxy() takes the cluster-ips set and kube-proxy's Service CIDRs (recent kube-proxy)", () => {
  const v4 = parseNftKubeProxy(NFT4);
  assert.equal(v4.present, true);
  assert.deepEqual(kinds(v4), {
    // The set has every ClusterIP, ns1/idle without endpoints too.
    cluster: ["10.104.17.33", "10.111.250.4", "10.96.0.1", "10.96.0.10"],
    external: ["192.0.2.50", "198.51.100.7"],
  });
  assert.deepEqual(v4.serviceCidrs, ["10.96.0.0/12"]);
  assert.equal(v4.addrs.find((a) => a.ip === "10.96.0.1")?.name, "default/kubernetes:https");
  const v6 = parseNftKubeProxy(NFT6);
  assert.deepEqual(kinds(v6), {
    cluster: ["fd00:10:96::1", "fd00:10:96::3e8f", "fd00:10:96::a"],
    external: ["2001:db8::50"],
  });
  assert.deepEqual(v6.serviceCidrs, ["fd00:10:96::/112"]);
});

Deno.test("parseNftKubeProxy() of the v1.29 layout: service-ips verdicts; a no-endpoint entry is of unknown kind", () => {
  assert.deepEqual(kinds(parseNftKubeProxy(NFT4_OLD)), {
    cluster: ["10.104.17.33", "10.96.0.1", "10.96.0.10"],
    external: ["192.0.2.50", "198.51.100.7"],
    unknown: ["10.111.250.4"],
  });
  assert.deepEqual(parseNftKubeProxy(NFT6_OLD).serviceCidrs, []);
});

Deno.test("parseNftKubeProxy() reads merged CIDR ranges, and nothing from an error text or another table", () => {
  const doc = {
    nftables: [
      { table: { family: "ip", name: "kube-proxy", handle: 1 } },
      {
        rule: {
          family: "ip",
          table: "kube-proxy",
          chain: "cluster-ips-check",
          expr: [
            {
              match: {
                op: "==",
                left: { payload: { protocol: "ip", field: "daddr" } },
                // nft prints 10.96.0.0/12 + 10.112.0.0/16 as one interval.
                right: { set: [{ range: ["10.96.0.0", "10.112.255.255"] }] },
              },
            },
            { drop: null },
          ],
        },
      },
    ],
  };
  assert.deepEqual(parseNftKubeProxy(doc).serviceCidrs, ["10.96.0.0/12", "10.112.0.0/16"]);
  assert.equal(parseNftKubeProxy("Error: No such file or directory").present, false);
  assert.equal(
    parseNftKubeProxy({ nftables: [{ table: { family: "ip", name: "filter" } }] }).present,
    false,
  );
});

Deno.test("parseIpvsAddrs() takes every kube-ipvs0 address, kind unknown", () => {
  const v = parseIpvsAddrs(IPVS);
  assert.equal(v.present, true);
  const want = fixtureProxyConfigs().flatMap(ipvsAddresses);
  assert.deepEqual(kinds(v), {
    unknown: want.map((ip) => toPrefix(ip)!).map((p) => prefixText(p).split("/")[0]!).sort(),
  });
  assert.equal(parseIpvsAddrs([]).present, false);
});

Deno.test("parsePodRoutes() finds Calico's and Cilium's blocks, not the coordinator's table 500 nor link-local", () => {
  assert.deepEqual(parsePodRoutes(CALICO).map((p) => p.dst).sort(), [...CALICO_BLOCKS].sort());
  assert.deepEqual(parsePodRoutes(CILIUM).map((p) => p.dst).sort(), [...CILIUM_BLOCKS].sort());
  assert.ok(parsePodRoutes(CALICO).every((p) => p.cni === "calico"));
  assert.ok(parsePodRoutes(CILIUM).every((p) => p.cni === "cilium"));
  const how = new Map(parsePodRoutes(CALICO).map((p) => [p.dst, p.how]));
  assert.equal(how.get("10.244.12.0/26"), "blackhole proto bird");
  assert.equal(how.get("10.244.41.0/26"), "dev vxlan.calico");
});

Deno.test("clusterFacts() keeps the node's other networks for the suggestion to avoid", () => {
  const f = reads({ routes: CALICO });
  assert.deepEqual(f.connected.sort(), ["10.6.0.0/16", "fd00:6::/64"]);
});

Deno.test("the prefix helpers: covering, ranges, union cover; they agree with ip-address", () => {
  assert.equal(
    prefixText(smallestCovering([toPrefix("fd00::1")!, toPrefix("fd00::3e8f")!])!),
    "fd00::/114",
  );
  assert.deepEqual(
    rangeToPrefixes(4, toPrefix("10.0.0.1")!.base, toPrefix("10.0.0.6")!.base).map(prefixText),
    ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"],
  );
  assert.ok(coveredBy([toPrefix("10.96.0.0/12")!], toPrefix("10.100.0.0/16")!));
  assert.ok(!coveredBy([toPrefix("10.96.0.0/16")!], toPrefix("10.96.0.0/12")!));
  const parts = (ts: string[]) => ts.map((t) => toPrefix(t)!);
  assert.ok(
    coveredBy(parts(["10.96.0.0/13", "10.104.0.0/14", "10.108.0.0/14"]), toPrefix("10.96.0.0/12")!),
  );
  assert.ok(!coveredBy(parts(["10.96.0.0/13", "10.108.0.0/14"]), toPrefix("10.96.0.0/12")!));
  assert.ok(covers(["10.96.0.0/12"], "10.100.0.0/16") && !covers(["10.96.0.0/16"], "10.96.0.0/12"));
});
