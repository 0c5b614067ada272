/**
 * Underlay mode end to end, through the plugin process run in a world's node
 * netns: the exact pod and node state of underlay examples 1 and 3 of docs/network.md,
 * real traffic, CHECK, DEL back to the pre-ADD node, re-run, rollback.
 */

import assert from "node:assert/strict";
import { addMacvlanNic, itConf, type World, worldTest } from "../_helpers/world.ts";
import {
  diffSnapshots,
  macOf,
  ping,
  privilegedSkipReason,
  readback,
  toolsSkipReason,
} from "../_helpers/netns.ts";
import { cni, containerId } from "../_helpers/cni.ts";

const skip = privilegedSkipReason() ?? toolsSkipReason("iptables-restore", "ping");

const BASE = itConf("it-underlay", "underlay", { hijackCIDR: ["169.254.20.10/32"] });

function sorted(xs: string[] | undefined): string[] {
  return [...(xs ?? [])].sort();
}

async function world4(w: World): Promise<void> {
  await w.addServiceAddress("10.233.0.10/32");
  await w.addServiceAddress("169.254.20.10/32");
}

worldTest(
  skip,
  "underlay IPv4 single NIC: exact state of underlay example 1 (docs/network.md), traffic, CHECK, DEL leaves nothing",
  async (w) => {
    await world4(w);
    const pod = await w.addPod();
    // A distro default of 2: the plugin must make rp_filter 0 take effect.
    pod.setSysctl("net.ipv4.conf.all.rp_filter", 2);
    pod.setSysctl("net.ipv4.conf.default.rp_filter", 2);
    const prev = await addMacvlanNic(w.node, pod, {
      ifname: "eth0",
      addrs: ["10.6.212.241/16"],
      gateways: ["10.6.0.1"],
    });
    const cid = containerId();
    const hv = `veth${cid.slice(0, 11)}`;
    const node0 = await readback(w.node);
    const pod0 = await readback(pod);
    const call = { containerId: cid, netns: pod.path, ifname: "eth0" };

    const add = await cni(w.node, "ADD", BASE, call, prev);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.deepEqual(add.json, prev, "ADD prints prevResult unchanged");

    const P = await macOf(pod, "veth0");
    const H = await macOf(w.node, hv);
    assert.match(
      P,
      /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/,
      "veth0 MAC is locally administered unicast",
    );
    assert.match(H, /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/);
    const podD = diffSnapshots(pod0, await readback(pod));
    assert.deepEqual(
      sorted(podD.routes4?.added),
      sorted([
        "default via 10.6.212.101 dev veth0 table 100 src 10.6.212.241",
        "10.6.212.101 dev veth0 table 101 scope link src 10.6.212.241",
        "10.6.212.101 dev veth0 scope link src 10.6.212.241",
        "10.233.0.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
        "10.233.64.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
        "169.254.20.10 via 10.6.212.101 dev veth0 src 10.6.212.241",
      ]),
    );
    assert.deepEqual(podD.routes4?.removed, []);
    assert.equal(podD.routes6, undefined, "no IPv6 route for an IPv4 pod");
    assert.deepEqual(podD.rules4, {
      added: ["1000:\tfrom all fwmark 0x1 lookup 100"],
      removed: [],
    });
    assert.equal(podD.rules6, undefined);
    assert.deepEqual(podD.neigh, {
      added: [`10.6.212.101 dev veth0 lladdr ${H} PERMANENT`],
      removed: [],
    });
    assert.deepEqual(podD.links, {
      added: [`veth0 kind=veth mac=${P} mtu=1500 txqlen=0 flags=BROADCAST,LOWER_UP,MULTICAST,UP`],
      removed: [],
    });
    assert.equal(podD.addrs, undefined, "veth0 has no address");
    assert.deepEqual((await readback(pod)).iptables, [
      "*mangle",
      ":PREROUTING ACCEPT",
      ":INPUT ACCEPT",
      ":FORWARD ACCEPT",
      ":OUTPUT ACCEPT",
      ":POSTROUTING ACCEPT",
      "-A PREROUTING -i veth0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff",
      "-A PREROUTING -m mark --mark 0x1 -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff",
      "-A OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff",
    ]);
    for (const k of ["all", "default", "eth0", "veth0"]) {
      assert.equal(pod.sysctl(`net.ipv4.conf.${k}.rp_filter`), "0", `rp_filter ${k}`);
    }

    const nodeD = diffSnapshots(node0, await readback(w.node));
    assert.deepEqual(nodeD.routes4, {
      added: [`10.6.212.241 dev ${hv} table 500 scope link`],
      removed: [],
    });
    assert.deepEqual(nodeD.rules4, { added: ["1000:\tfrom all lookup 500"], removed: [] });
    assert.equal(nodeD.rules6, undefined, "no IPv6 rule for an IPv4 pod");
    assert.deepEqual(nodeD.neigh, {
      added: [`10.6.212.241 dev ${hv} lladdr ${P} PERMANENT`],
      removed: [],
    });
    assert.deepEqual(nodeD.links, {
      added: [`${hv} kind=veth mac=${H} mtu=1500 txqlen=0 flags=BROADCAST,LOWER_UP,MULTICAST,UP`],
      removed: [],
    });
    assert.equal(nodeD.addrs, undefined);
    assert.equal(w.node.sysctl(`net.ipv6.conf.${hv}.accept_ra`), "0");

    assert.ok(await ping(pod, "10.6.212.101"), "pod -> node IP through veth0");
    assert.ok(await ping(pod, "10.233.0.10"), "pod -> service address on the node");
    assert.ok(await ping(pod, "169.254.20.10"), "pod -> hijacked address on the node");
    assert.ok(await ping(pod, "10.6.0.1"), "pod -> gateway");
    assert.ok(await ping(w.gw, "10.6.212.241"), "gateway -> pod");
    assert.ok(await ping(w.node, "10.6.212.241"), "node -> pod through the veth");
    const get = await pod.ip(["route", "get", "10.233.0.10"]);
    assert.match(get, /via 10\.6\.212\.101 dev veth0 src 10\.6\.212\.241/);

    const check = await cni(w.node, "CHECK", BASE, call, add.json);
    assert.equal(check.code, 0, check.stdout);
    assert.equal(check.stdout, "");

    // CHECK sees a removed neighbour.
    await w.node.ip(["neigh", "del", "10.6.212.241", "dev", hv]);
    const bad = await cni(w.node, "CHECK", BASE, call, add.json);
    assert.equal(bad.code, 1);
    assert.equal((bad.json as { code: number }).code, 104);
    assert.match((bad.json as { msg: string }).msg, /node neighbour "10\.6\.212\.241"/);

    const del = await cni(w.node, "DEL", BASE, call, add.json);
    assert.equal(del.code, 0, del.stdout + del.stderr);
    assert.equal(del.stdout, "");
    assert.deepEqual(diffSnapshots(node0, await readback(w.node)), {}, "node as before ADD");
    const del2 = await cni(w.node, "DEL", BASE, call);
    assert.equal(del2.code, 0, del2.stdout);
  },
);

worldTest(
  skip,
  "underlay dual stack + podMACPrefix, then net1: underlay example 3 of docs/network.md (3a, 3b)",
  async (w) => {
    await w.gw.ip(["addr", "add", "10.7.0.1/16", "dev", "eth0"]);
    await w.gw.ip(["addr", "add", "fd00:10:7::1/64", "dev", "eth0", "nodad"]);
    const pod = await w.addPod();
    const conf = {
      ...BASE,
      name: "it-dual",
      serviceCIDR: ["10.233.0.0/18", "fd00:10:233::/116"],
      overlayPodCIDR: ["10.233.64.0/18", "fd00:10:233:64::/64"],
      hijackCIDR: [],
      podMACPrefix: "0a:1b",
    };
    const prev = await addMacvlanNic(w.node, pod, {
      ifname: "eth0",
      addrs: ["10.6.212.241/16", "fd00:6::f1/64"],
      gateways: ["10.6.0.1", "fd00:6::1"],
    });
    const cid = containerId();
    const hv = `veth${cid.slice(0, 11)}`;
    const eth0 = { containerId: cid, netns: pod.path, ifname: "eth0" };
    const net1 = { ...eth0, ifname: "net1" };
    const node0 = await readback(w.node);
    const pod0 = await readback(pod);
    const add = await cni(w.node, "ADD", conf, eth0, prev);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.equal(await macOf(pod, "eth0"), "0a:1b:0a:06:d4:f1", "MAC = prefix + IPv4 bytes");
    const res = add.json as { interfaces: { name: string; mac: string }[] };
    assert.equal(res.interfaces[0]?.mac, "0a:1b:0a:06:d4:f1", "the result carries the new MAC");
    const P = await macOf(pod, "veth0");
    const H = await macOf(w.node, hv);
    const podD = diffSnapshots(pod0, await readback(pod));
    assert.deepEqual(
      sorted(podD.routes4?.added),
      sorted([
        "default via 10.6.212.101 dev veth0 table 100 src 10.6.212.241",
        "10.6.212.101 dev veth0 table 101 scope link src 10.6.212.241",
        "10.6.212.101 dev veth0 scope link src 10.6.212.241",
        "10.233.0.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
        "10.233.64.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
      ]),
    );
    assert.deepEqual(
      sorted(podD.routes6?.added),
      sorted([
        "default via fd00:6::101 dev veth0 table 100 metric 1024",
        "fd00:6::101 dev veth0 table 101 metric 1024",
        "fd00:6::101 dev veth0 metric 1024",
        "fd00:10:233::/116 via fd00:6::101 dev veth0 metric 1024",
        "fd00:10:233:64::/64 via fd00:6::101 dev veth0 metric 1024",
      ]),
    );
    assert.deepEqual(podD.rules4?.added, ["1000:\tfrom all fwmark 0x1 lookup 100"]);
    assert.deepEqual(podD.rules6?.added, ["1000:\tfrom all fwmark 0x1 lookup 100"]);
    assert.deepEqual(
      sorted(podD.neigh?.added),
      sorted([
        `10.6.212.101 dev veth0 lladdr ${H} PERMANENT`,
        `fd00:6::101 dev veth0 lladdr ${H} PERMANENT`,
      ]),
    );
    assert.equal((await readback(pod)).ip6tables.filter((l) => l.startsWith("-A")).length, 3);
    const nodeD = diffSnapshots(node0, await readback(w.node));
    assert.deepEqual(sorted(nodeD.routes4?.added), [`10.6.212.241 dev ${hv} table 500 scope link`]);
    assert.deepEqual(sorted(nodeD.routes6?.added), [`fd00:6::f1 dev ${hv} table 500 metric 1024`]);
    assert.deepEqual(nodeD.rules6?.added, ["1000:\tfrom all lookup 500"]);
    assert.deepEqual(
      sorted(nodeD.neigh?.added),
      sorted([
        `10.6.212.241 dev ${hv} lladdr ${P} PERMANENT`,
        `fd00:6::f1 dev ${hv} lladdr ${P} PERMANENT`,
      ]),
    );
    assert.ok(await ping(pod, "fd00:6::101"), "pod -> node IPv6 through veth0");
    assert.ok(await ping(w.gw, "fd00:6::f1"), "gateway -> pod IPv6 (after the MAC change)");
    assert.ok(await ping(w.gw, "10.6.212.241"), "gateway -> pod IPv4 (after the MAC change)");

    // 3b: net1 in another subnet; the node has no address there.
    const prev1 = await addMacvlanNic(w.node, pod, {
      ifname: "net1",
      addrs: ["10.7.212.5/16", "fd00:10:7::5/64"],
      gateways: ["10.7.0.1", "fd00:10:7::1"],
    });
    const pod1 = await readback(pod);
    const add1 = await cni(w.node, "ADD", { ...conf, name: "it-dual-net1" }, net1, prev1);
    assert.equal(add1.code, 0, add1.stdout + add1.stderr);
    assert.equal(await macOf(pod, "net1"), "0a:1b:0a:07:d4:05");
    const d1 = diffSnapshots(pod1, await readback(pod));
    assert.deepEqual(d1.rules4?.added, ["999:\tfrom 10.7.212.5 lookup 101"]);
    assert.deepEqual(d1.rules6?.added, ["999:\tfrom fd00:10:7::5 lookup 101"]);
    const t101v4 = (await pod.ip(["-4", "route", "show", "table", "101"])).trim().split("\n")
      .map((l) => l.trimEnd()).sort();
    assert.deepEqual(
      t101v4,
      sorted([
        "default via 10.7.0.1 dev net1",
        "10.6.212.101 dev veth0 scope link src 10.6.212.241",
        "10.7.0.0/16 dev net1 scope link src 10.7.212.5",
        "10.233.0.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
        "10.233.64.0/18 via 10.6.212.101 dev veth0 src 10.6.212.241",
      ]),
    );
    const t101v6 = (await pod.ip(["-6", "route", "show", "table", "101"])).trim().split("\n")
      .map((l) => l.trimEnd().replace(/ pref medium$/, "")).sort();
    assert.deepEqual(
      t101v6,
      sorted([
        "fd00:6::101 dev veth0 metric 1024",
        "fd00:10:7::/64 dev net1 metric 1024",
        "fd00:10:233::/116 via fd00:6::101 dev veth0 metric 1024",
        "fd00:10:233:64::/64 via fd00:6::101 dev veth0 metric 1024",
        "default via fd00:10:7::1 dev net1 metric 1024",
      ]),
    );
    const main4 = await pod.ip(["-4", "route", "show", "table", "main"]);
    assert.doesNotMatch(main4, /default via 10\.7\.0\.1/, "net1's IPv4 default left main");
    const main6 = await pod.ip(["-6", "route", "show", "table", "main"]);
    assert.doesNotMatch(main6, /fd00:10:7::1/, "net1's IPv6 nexthop left main");
    assert.match(main6, /default via fd00:6::1 dev eth0/);
    const n1 = diffSnapshots(pod1, await readback(w.node));
    void n1;
    const nodeNow = await w.node.ip(["route", "show", "table", "500"]);
    assert.match(nodeNow, new RegExp(`10\\.7\\.212\\.5 dev ${hv} scope link`));
    const neigh = await w.node.ip(["neigh", "show", "dev", hv]);
    assert.match(
      neigh,
      new RegExp(`10\\.7\\.212\\.5 lladdr ${P} PERMANENT`),
      "net1 IPs point at veth0's MAC",
    );
    assert.ok(await ping(w.gw, "10.7.212.5"), "gateway -> net1 through table 101");
    assert.ok(await ping(w.node, "10.7.212.5"), "node -> net1 IP through the veth");

    // DEL of net1 keeps the veth pair that eth0 relies on (docs/network.md, weaknesses of the original, 4).
    const del1 = await cni(w.node, "DEL", { ...conf, name: "it-dual-net1" }, net1);
    assert.equal(del1.code, 0, del1.stdout);
    assert.ok(await ping(pod, "10.6.212.101"), "eth0's veth path still works");
    assert.doesNotMatch(await w.node.ip(["route", "show", "table", "500"]), /10\.7\.212\.5/);
    assert.doesNotMatch(
      await pod.ip(["-4", "rule"]),
      /10\.7\.212\.5/,
      "net1's rule removed (hot-unplug)",
    );
    const del0 = await cni(w.node, "DEL", conf, eth0);
    assert.equal(del0.code, 0, del0.stdout);
    assert.deepEqual(diffSnapshots(node0, await readback(w.node)), {}, "node as before ADD");
  },
);
