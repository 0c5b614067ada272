/**
 * Overlay mode end to end (the overlay example of docs/network.md): eth0 is a ptp-style veth to the node
 * (like Calico), net1 a macvlan; the coordinator runs for net1 only.
 */

import assert from "node:assert/strict";
import { addMacvlanNic, addPtpEth0, itConf, worldTest } from "../_helpers/world.ts";
import {
  addVethPair,
  diffSnapshots,
  macOf,
  ping,
  privilegedSkipReason,
  readback,
  toolsSkipReason,
  waitLinkReady,
} from "../_helpers/netns.ts";
import { cni, containerId } from "../_helpers/cni.ts";
import { statePath } from "../../mod/kernel/state.ts";

const skip = privilegedSkipReason() ?? toolsSkipReason("ping");

const CONF = itConf("it-overlay-net1", "overlay", { hijackCIDR: ["169.254.20.10/32"] });

function sorted(xs: string[] | undefined): string[] {
  return [...(xs ?? [])].sort();
}

worldTest(
  skip,
  "overlay eth0=ptp veth + net1=macvlan: exact state of the overlay example (docs/network.md), traffic, DEL cleans table 500",
  async (w) => {
    await w.addServiceAddress("10.233.0.10/32");
    await w.addServiceAddress("169.254.20.10/32");
    const pod = await w.addPod();
    const ptp = `vethp${Math.floor(Math.random() * 1e6)}`;
    await addPtpEth0(w, pod, ptp);
    const prev = await addMacvlanNic(w.node, pod, {
      ifname: "net1",
      addrs: ["10.6.212.241/16"],
      gateways: ["10.6.0.1"],
    });
    const cid = containerId();
    const node0 = await readback(w.node);
    const pod0 = await readback(pod);
    const call = { containerId: cid, netns: pod.path, ifname: "net1" };
    const add = await cni(w.node, "ADD", CONF, call, prev);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.deepEqual(add.json, prev);
    const hostMac = await macOf(w.node, ptp);
    const eth0Mac = await macOf(pod, "eth0");

    const podD = diffSnapshots(pod0, await readback(pod));
    assert.deepEqual(podD.rules4, {
      added: ["32764:\tfrom 10.233.100.2 lookup 100", "32765:\tfrom 10.6.212.241 lookup 101"],
      removed: [],
    });
    assert.deepEqual(
      sorted(podD.routes4?.added),
      sorted([
        "default via 10.233.100.1 dev eth0 table 100",
        "default via 10.6.0.1 dev net1 table 101",
        "10.6.0.0/16 dev net1 table 101 scope link src 10.6.212.241",
        "10.6.212.101 dev eth0 table 101 scope link src 10.233.100.2",
        "10.233.100.1 dev eth0 table 101 scope link src 10.233.100.2",
        "10.6.212.101 dev eth0 scope link src 10.233.100.2",
        "10.233.0.0/18 via 10.233.100.1 dev eth0 src 10.233.100.2",
        "10.233.64.0/18 via 10.233.100.1 dev eth0 src 10.233.100.2",
        "169.254.20.10 via 10.233.100.1 dev eth0 src 10.233.100.2",
      ]),
    );
    assert.deepEqual(
      podD.routes4?.removed,
      ["default via 10.6.0.1 dev net1"],
      "net1's default moved",
    );
    assert.deepEqual(
      sorted(podD.neigh?.added),
      sorted([
        `10.233.100.1 dev eth0 lladdr ${hostMac} PERMANENT`,
        `10.6.212.101 dev eth0 lladdr ${hostMac} PERMANENT`,
      ]),
    );
    assert.equal(podD.links, undefined, "no veth0 in overlay mode");
    assert.equal(podD.iptables, undefined, "no mangle rules in overlay mode");

    const nodeD = diffSnapshots(node0, await readback(w.node));
    assert.deepEqual(nodeD.routes4, {
      added: [`10.6.212.241 dev ${ptp} table 500 scope link`],
      removed: [],
    });
    assert.deepEqual(nodeD.rules4, { added: ["1000:\tfrom all lookup 500"], removed: [] });
    assert.deepEqual(nodeD.neigh, {
      added: [`10.6.212.241 dev ${ptp} lladdr ${eth0Mac} PERMANENT`],
      removed: [],
    });
    assert.equal(nodeD.links, undefined);

    assert.ok(await ping(pod, "10.6.212.101"), "pod -> node IP through eth0");
    assert.ok(await ping(pod, "10.233.0.10"), "pod -> service address through eth0");
    assert.ok(await ping(w.gw, "10.6.212.241"), "gateway -> net1");
    assert.ok(await ping(w.node, "10.6.212.241"), "node -> net1 IP through the overlay veth");
    assert.match(
      await pod.ip(["route", "get", "10.6.0.1", "from", "10.6.212.241"]),
      /dev net1 table 101/,
    );

    const check = await cni(w.node, "CHECK", CONF, call, add.json);
    assert.equal(check.code, 0, check.stdout);

    // A retried ADD creates no duplicate rules (docs/network.md, weaknesses of the original, 6).
    const again = await cni(w.node, "ADD", CONF, call, prev);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    const rules = (await pod.ip(["-4", "rule"])).trim().split("\n");
    assert.equal(rules.length, 5, rules.join("\n"));

    const del = await cni(w.node, "DEL", CONF, call);
    assert.equal(del.code, 0, del.stdout + del.stderr);
    assert.deepEqual(
      diffSnapshots(node0, await readback(w.node)),
      {},
      "table-500 route, neighbour, rule gone",
    );
    const del2 = await cni(w.node, "DEL", CONF, call);
    assert.equal(del2.code, 0, del2.stdout);
  },
);

worldTest(
  skip,
  "overlay eth0=Calico-style veth (169.254.1.1 gateway) + net1: overlay example 2 of docs/network.md, then podDefaultRouteNic=net1",
  async (w) => {
    await w.addServiceAddress("10.233.0.10/32");
    for (const moveDefault of [false, true]) {
      // A fresh address per round: the gateway's ARP cache still holds the last pod's MAC.
      const ip = moveDefault ? "10.6.212.228" : "10.6.212.227";
      const pod = await w.addPod();
      const cali = `cali${Math.floor(Math.random() * 1e6)}`;
      // Calico: host end without address, MAC ee:ee:ee:ee:ee:ee, /32 route to the pod.
      await addVethPair(w.node, cali, pod, "eth0", { aMac: "ee:ee:ee:ee:ee:ee", up: "a" });
      w.node.setSysctl(`net.ipv4.conf.${cali}.proxy_arp`, 1);
      await w.node.ip(["route", "add", "10.233.100.2/32", "dev", cali, "scope", "link"]);
      await pod.ip(["addr", "add", "10.233.100.2/32", "dev", "eth0"]);
      await pod.ip(["link", "set", "eth0", "up"]);
      await waitLinkReady(pod, "eth0");
      await waitLinkReady(w.node, cali);
      await pod.ip(["route", "add", "169.254.1.1", "dev", "eth0", "scope", "link"]);
      await pod.ip(["route", "add", "default", "via", "169.254.1.1", "dev", "eth0"]);
      const prev = await addMacvlanNic(w.node, pod, {
        ifname: "net1",
        addrs: [`${ip}/16`],
        gateways: ["10.6.0.1"],
      });
      const cid = containerId();
      const pod0 = await readback(pod);
      const node0 = await readback(w.node);
      const conf = {
        ...CONF,
        hijackCIDR: [],
        ...(moveDefault ? { podDefaultRouteNic: "net1" } : {}),
      };
      const call = { containerId: cid, netns: pod.path, ifname: "net1" };
      const add = await cni(w.node, "ADD", conf, call, prev);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      const d = diffSnapshots(pod0, await readback(pod));
      if (!moveDefault) {
        assert.deepEqual(d.rules4?.added, [
          "32764:\tfrom 10.233.100.2 lookup 100",
          `32765:\tfrom ${ip} lookup 101`,
        ]);
        assert.deepEqual(
          sorted(d.routes4?.added),
          sorted([
            "10.6.212.101 dev eth0 scope link src 10.233.100.2",
            "10.233.0.0/18 via 10.6.212.101 dev eth0 src 10.233.100.2",
            "10.233.64.0/18 via 10.6.212.101 dev eth0 src 10.233.100.2",
            "default via 169.254.1.1 dev eth0 table 100",
            "default via 10.6.0.1 dev net1 table 101",
            `10.6.0.0/16 dev net1 table 101 scope link src ${ip}`,
            "10.6.212.101 dev eth0 table 101 scope link src 10.233.100.2",
          ]),
        );
        assert.deepEqual(d.routes4?.removed, ["default via 10.6.0.1 dev net1"]);
        assert.deepEqual(d.neigh?.added, [
          "10.6.212.101 dev eth0 lladdr ee:ee:ee:ee:ee:ee PERMANENT",
        ]);
        assert.ok(await ping(pod, "10.233.0.10"), "pod -> service address via eth0");
      } else {
        // The default route goes to net1: eth0's default moves into table 101.
        assert.deepEqual(d.rules4?.added, ["32765:\tfrom 10.233.100.2 lookup 101"]);
        assert.deepEqual(d.routes4?.removed, ["default via 169.254.1.1 dev eth0"]);
        const t101 = await pod.ip(["-4", "route", "show", "table", "101"]);
        assert.match(t101, /default via 169\.254\.1\.1 dev eth0/);
        assert.match(t101, /169\.254\.1\.1 dev eth0 scope link/);
        assert.match(
          await pod.ip(["-4", "route", "show", "table", "main"]),
          /default via 10\.6\.0\.1 dev net1/,
        );
        assert.doesNotMatch(await pod.ip(["-4", "rule"]), /lookup 100/);
      }
      const nodeD = diffSnapshots(node0, await readback(w.node));
      assert.deepEqual(nodeD.routes4?.added, [`${ip} dev ${cali} table 500 scope link`]);
      assert.ok(await ping(w.gw, ip), `gateway -> net1 (moveDefault ${moveDefault})`);
      const del = await cni(w.node, "DEL", conf, call);
      assert.equal(del.code, 0, del.stdout);
      assert.deepEqual(diffSnapshots(node0, await readback(w.node)), {});
      // Calico's DEL: its veth goes now (a netns is torn down in the background, and the
      // next round's route to 10.233.100.2 must not meet this one's).
      await w.node.ip(["link", "del", cali]);
      await pod.destroy();
    }
  },
  { ipv6: false },
);

worldTest(
  skip,
  "overlay net1: DEL without the state file finds the node end as eth0's peer and cleans table 500",
  async (w) => {
    const pod = await w.addPod();
    const ptp = `vethp${Math.floor(Math.random() * 1e6)}`;
    await addPtpEth0(w, pod, ptp);
    const prev = await addMacvlanNic(w.node, pod, {
      ifname: "net1",
      addrs: ["10.6.212.242/16"],
      gateways: ["10.6.0.1"],
    });
    const node0 = await readback(w.node);
    const call = { containerId: containerId(), netns: pod.path, ifname: "net1" };
    const add = await cni(w.node, "ADD", CONF, call, prev);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    // The record is lost (a wiped /run): DEL reads the pod and the node instead.
    await Deno.remove(statePath(CONF.name, call.containerId, call.ifname));
    const del = await cni(w.node, "DEL", CONF, call, add.json);
    assert.equal(del.code, 0, del.stdout + del.stderr);
    const d = diffSnapshots(node0, await readback(w.node));
    if (d.rules4 && d.rules4.removed.length === 0) delete d.rules4;
    assert.deepEqual(d, {}, "node clean after a DEL without state");
  },
);

worldTest(
  skip,
  "overlay net1: an ADD failing in the pod batch puts the pod back (net1's default in main again, no rule, route or neighbour of its own) and the node",
  async (w) => {
    const pod = await w.addPod();
    const ptp = `vethp${Math.floor(Math.random() * 1e6)}`;
    await addPtpEth0(w, pod, ptp);
    const prev = await addMacvlanNic(w.node, pod, {
      ifname: "net1",
      addrs: ["10.6.212.243/16"],
      gateways: ["10.6.0.1"],
    });
    const node0 = await readback(w.node);
    const pod0 = await readback(pod);
    const call = { containerId: containerId(), netns: pod.path, ifname: "net1" };
    // The kernel refuses a policy route whose gateway is not on-link.
    const bad = { ...CONF, policyRoutes: [{ dst: "10.99.0.0/16", gw: "10.98.0.1" }] };
    const fail = await cni(w.node, "ADD", bad, call, prev);
    assert.equal(fail.code, 1, fail.stdout);
    assert.equal((fail.json as { code: number }).code, 103, fail.stdout);
    assert.deepEqual(diffSnapshots(node0, await readback(w.node)), {}, "node rolled back");
    const podD = diffSnapshots(pod0, await readback(pod));
    delete podD.sysctls; // rp_filter written by the failed ADD stays (the pod goes anyway)
    assert.deepEqual(podD, {}, "pod rolled back, net1's default route in main again");
    const ok = await cni(w.node, "ADD", CONF, call, prev);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const del = await cni(w.node, "DEL", CONF, call);
    assert.equal(del.code, 0, del.stdout + del.stderr);
  },
  { ipv6: false },
);
