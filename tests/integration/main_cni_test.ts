/**
 * The main CNIs the README names, as far as this kernel lets them be run for
 * real: macvlan (every other suite), and an SR-IOV VF stood in for by a plain
 * L2 device with its own MAC on the underlay (a veth end whose peer is a port
 * of the switch: a VF in the pod is a plain device, and the plugin looks at a
 * NIC's kind only for ipvlan). ipvlan links do not exist in this kernel: its
 * rules are unit-tested on `ip -d -j` fixtures (tests/unit/plan/nic_kind_test.ts).
 */

import assert from "node:assert/strict";
import { addSwitchPortNic, itConf, worldTest } from "../_helpers/world.ts";
import {
  diffSnapshots,
  ping,
  privilegedSkipReason,
  readback,
  toolsSkipReason,
} from "../_helpers/netns.ts";
import { cni, containerId } from "../_helpers/cni.ts";

const skip = privilegedSkipReason() ?? toolsSkipReason("iptables-restore", "ping");

const CONF = {
  ...itConf("it-vf", "maincni", { hijackCIDR: ["169.254.20.10/32"] }),
  podMACPrefix: "0a:1b",
  detectIPConflict: true,
  detectGateway: true,
};

worldTest(
  skip,
  "SR-IOV stand-in (a plain L2 NIC of its own MAC on the underlay): ADD with podMACPrefix and detection, traffic, CHECK, DEL",
  async (w) => {
    await w.addServiceAddress("10.233.0.10/32");
    const pod = await w.addPod();
    const prev = await addSwitchPortNic(w, pod, {
      ifname: "eth0",
      addrs: ["10.6.212.77/16"],
      gateways: ["10.6.0.1"],
    });
    const node0 = await readback(w.node);
    const call = { containerId: containerId(), netns: pod.path, ifname: "eth0" };
    const add = await cni(w.node, "ADD", CONF, call, prev);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const mac = JSON.parse(await pod.ip(["-j", "link", "show", "eth0"]))[0].address;
    assert.equal(mac, "0a:1b:0a:06:d4:4d", "the MAC of podMACPrefix");
    assert.ok(await ping(pod, "10.6.212.101"), "pod -> node through veth0");
    assert.ok(await ping(pod, "10.233.0.10"), "pod -> Service address");
    assert.ok(await ping(pod, "10.6.0.1"), "pod -> gateway on the underlay");
    assert.ok(await ping(w.gw, "10.6.212.77"), "gateway -> pod (its new MAC learnt)");
    const check = await cni(w.node, "CHECK", CONF, call, add.json);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const del = await cni(w.node, "DEL", CONF, call);
    assert.equal(del.code, 0, del.stdout + del.stderr);
    const d = diffSnapshots(node0, await readback(w.node));
    if (d.rules4 && d.rules4.removed.length === 0) delete d.rules4;
    assert.deepEqual(d, {}, "node clean after DEL");
  },
  { ipv6: false },
);
