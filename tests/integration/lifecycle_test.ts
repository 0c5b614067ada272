/**
 * DEL in every awkward situation, ADD rollback, ADD re-run, IPv6-only, GC and
 * 20 concurrent ADDs, all through the plugin process in a world's node netns.
 */

import assert from "node:assert/strict";
import { addMacvlanNic, itConf, type World, worldTest } from "../_helpers/world.ts";
import {
  diffSnapshots,
  exec,
  ping,
  pinNetns,
  privilegedSkipReason,
  readback,
  type TestNetns,
  toolsSkipReason,
} from "../_helpers/netns.ts";
import { cni, containerId, runCoordinator } from "../_helpers/cni.ts";
import type { Result } from "../../mod/cni/types.ts";
import { statePath } from "../../mod/kernel/state.ts";

const skip = privilegedSkipReason() ??
  toolsSkipReason("iptables-restore", "ping", "sleep", "nsenter");

const CONF = itConf("it-life", "lifecycle");

/** A pod whose eth0 is a macvlan on the node's uplink holding `addr`, and its prevResult. */
async function podWithNic(
  w: World,
  addr: string,
  gateway = "10.6.0.1",
): Promise<{ pod: TestNetns; prev: Result }> {
  const pod = await w.addPod();
  const prev = await addMacvlanNic(w.node, pod, {
    ifname: "eth0",
    addrs: [addr],
    gateways: [gateway],
  });
  return { pod, prev };
}

worldTest(
  skip,
  "DEL succeeds without ADD, with empty or missing CNI_NETNS, without prevResult, twice",
  async (w) => {
    const node0 = await readback(w.node);
    const cid = containerId();
    for (
      const netns of ["", "/var/run/netns/ct-does-not-exist", "/var/run/netns/ct-does-not-exist"]
    ) {
      const r = await cni(w.node, "DEL", CONF, { containerId: cid, netns, ifname: "eth0" });
      assert.equal(r.code, 0, `${netns}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, "");
      const r1 = await cni(w.node, "DEL", CONF, { containerId: cid, netns, ifname: "net1" });
      assert.equal(r1.code, 0, `${netns}: ${r1.stdout}${r1.stderr}`);
    }
    assert.deepEqual(diffSnapshots(node0, await readback(w.node)), {});
  },
);

worldTest(
  skip,
  "DEL after the netns path was unmounted while the netns lives on cleans the node",
  async (w) => {
    const { pod, prev } = await podWithNic(w, "10.6.212.50/16");
    const node0 = await readback(w.node);
    const cid = containerId();
    const call = { containerId: cid, netns: pod.path, ifname: "eth0" };
    const add = await cni(w.node, "ADD", CONF, call, prev);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    // Keep the netns alive with a process, then remove its mount point.
    await using _holder = await pinNetns(pod.path);
    await exec(["ip", "netns", "del", pod.name]);
    const del = await cni(w.node, "DEL", CONF, call);
    assert.equal(del.code, 0, del.stdout + del.stderr);
    assert.deepEqual(
      diffSnapshots(node0, await readback(w.node)),
      {},
      "host veth, route, neighbour gone",
    );
  },
);

worldTest(
  skip,
  "ADD failing part-way rolls back; a retried ADD and a repeated ADD make no duplicates",
  async (w) => {
    const { pod, prev } = await podWithNic(w, "10.6.212.60/16");
    const node0 = await readback(w.node);
    const pod0 = await readback(pod);
    const cid = containerId();
    const call = { containerId: cid, netns: pod.path, ifname: "eth0" };
    // The kernel rejects a policy route whose gateway is not on-link.
    const bad = { ...CONF, policyRoutes: [{ dst: "10.99.0.0/16", gw: "10.98.0.1" }] };
    const fail = await cni(w.node, "ADD", bad, call, prev);
    assert.equal(fail.code, 1, fail.stdout);
    assert.equal((fail.json as { code: number }).code, 103);
    assert.match((fail.json as { msg: string }).msg, /10\.99\.0\.0\/16/);
    assert.deepEqual(diffSnapshots(node0, await readback(w.node)), {}, "node rolled back");
    const podD = diffSnapshots(pod0, await readback(pod));
    assert.equal(podD.links, undefined, "veth0 gone with the host veth");
    // The (now empty) mangle table stays loaded; no rule is left in it.
    assert.deepEqual(
      (podD.iptables?.added ?? []).filter((l) => l.startsWith("-A")),
      [],
      "mangle rules rolled back",
    );

    const ok = await cni(w.node, "ADD", CONF, call, prev);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const once = await readback(pod);
    const again = await cni(w.node, "ADD", CONF, call, prev);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    const twice = await readback(pod);
    assert.deepEqual(twice.rules4, once.rules4, "no duplicate rules");
    assert.deepEqual(twice.iptables, once.iptables, "no duplicate mangle rules");
    assert.deepEqual(twice.routes4, once.routes4);
    assert.ok(await ping(pod, "10.6.212.101"));
    const del = await cni(w.node, "DEL", CONF, call);
    assert.equal(del.code, 0, del.stdout);
    assert.deepEqual(diffSnapshots(node0, await readback(w.node)), {});
  },
);

worldTest(skip, "underlay IPv6 only: routes, rules, ip6tables, traffic, DEL", async (w) => {
  await w.addServiceAddress("fd00:10:233::10/128");
  const { pod, prev } = await podWithNic(w, "fd00:6::f1/64", "fd00:6::1");
  const node0 = await readback(w.node);
  const pod0 = await readback(pod);
  const cid = containerId();
  const hv = `veth${cid.slice(0, 11)}`;
  const conf = { ...CONF, serviceCIDR: ["10.233.0.0/18", "fd00:10:233::/116"] };
  const call = { containerId: cid, netns: pod.path, ifname: "eth0" };
  const add = await cni(w.node, "ADD", conf, call, prev);
  assert.equal(add.code, 0, add.stdout + add.stderr);
  const podD = diffSnapshots(pod0, await readback(pod));
  assert.equal(podD.routes4, undefined, "IPv4 CIDRs skipped for an IPv6 pod");
  assert.deepEqual([...(podD.routes6?.added ?? [])].sort(), [
    "default via fd00:6::101 dev veth0 table 100 metric 1024",
    "fd00:10:233::/116 via fd00:6::101 dev veth0 metric 1024",
    "fd00:6::101 dev veth0 metric 1024",
    "fd00:6::101 dev veth0 table 101 metric 1024",
  ]);
  assert.deepEqual(podD.rules6?.added, ["1000:\tfrom all fwmark 0x1 lookup 100"]);
  assert.equal(podD.rules4, undefined);
  assert.equal((await readback(pod)).ip6tables.filter((l) => l.startsWith("-A")).length, 3);
  const nodeD = diffSnapshots(node0, await readback(w.node));
  assert.deepEqual(nodeD.routes6?.added, [`fd00:6::f1 dev ${hv} table 500 metric 1024`]);
  assert.deepEqual(nodeD.rules6?.added, ["1000:\tfrom all lookup 500"]);
  assert.equal(nodeD.rules4, undefined);
  assert.ok(await ping(pod, "fd00:6::101"), "pod -> node IPv6");
  assert.ok(await ping(pod, "fd00:10:233::10"), "pod -> IPv6 service address");
  assert.ok(await ping(w.gw, "fd00:6::f1"), "gateway -> pod IPv6");
  const check = await cni(w.node, "CHECK", conf, call, add.json);
  assert.equal(check.code, 0, check.stdout);
  const del = await cni(w.node, "DEL", conf, call);
  assert.equal(del.code, 0, del.stdout);
  assert.deepEqual(diffSnapshots(node0, await readback(w.node)), {});
});

worldTest(
  skip,
  "dual stack: DEL after the state file was lost lets both shared node rules go",
  async (w) => {
    const pod = await w.addPod();
    const prev = await addMacvlanNic(w.node, pod, {
      ifname: "eth0",
      addrs: ["10.6.212.55/16", "fd00:6::55/64"],
      gateways: ["10.6.0.1", "fd00:6::1"],
    });
    const node0 = await readback(w.node);
    const call = { containerId: containerId(), netns: pod.path, ifname: "eth0" };
    const add = await cni(w.node, "ADD", CONF, call, prev);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const added = diffSnapshots(node0, await readback(w.node));
    assert.deepEqual(added.rules4?.added, ["1000:\tfrom all lookup 500"]);
    assert.deepEqual(added.rules6?.added, ["1000:\tfrom all lookup 500"]);
    // The record is lost (a wiped /run, or a pod of an older version or of
    // Spiderpool's coordinator): DEL finds the veth by name and drops both rules.
    await Deno.remove(statePath(CONF.name, call.containerId, call.ifname));
    const del = await cni(w.node, "DEL", CONF, call);
    assert.equal(del.code, 0, del.stdout + del.stderr);
    assert.deepEqual(diffSnapshots(node0, await readback(w.node)), {}, "no shared rule left");
  },
);

worldTest(
  skip,
  "20 pods ADDed in parallel all come out right; GC removes the stale ones",
  async (w) => {
    const node0 = await readback(w.node);
    const pods = await Promise.all(Array.from({ length: 20 }, () => w.addPod("c")));
    const prevs: Result[] = [];
    for (const [i, pod] of pods.entries()) {
      prevs.push(
        await addMacvlanNic(w.node, pod, {
          ifname: "eth0",
          addrs: [`10.6.100.${i + 10}/16`],
          gateways: ["10.6.0.1"],
        }),
      );
    }
    const cids = pods.map(() => containerId());
    const conf = { ...CONF, name: "it-par" };
    const adds = await Promise.all(
      pods.map((pod, i) =>
        cni(
          w.node,
          "ADD",
          conf,
          { containerId: cids[i]!, netns: pod.path, ifname: "eth0" },
          prevs[i],
        )
      ),
    );
    adds.forEach((a, i) => assert.equal(a.code, 0, `pod ${i}: ${a.stdout}${a.stderr}`));
    const table = (await w.node.ip(["route", "show", "table", "500"])).trim().split("\n");
    assert.equal(table.length, 20, table.join("\n"));
    const rules = (await w.node.ip(["-4", "rule"])).trim().split("\n").filter((l) =>
      l.includes("lookup 500")
    );
    assert.equal(rules.length, 1, "one shared host rule");
    const pings = await Promise.all(pods.map((p) => ping(p, "10.6.212.101")));
    assert.deepEqual(pings, pods.map(() => true));
    for (const [i, pod] of pods.entries()) {
      const n = await pod.ip(["neigh", "show", "nud", "permanent"]);
      const hv =
        JSON.parse(await w.node.ip(["-j", "link", "show", `veth${cids[i]!.slice(0, 11)}`]))[0];
      assert.match(n, new RegExp(`10\\.6\\.212\\.101 dev veth0 lladdr ${hv.address} PERMANENT`));
    }
    // GC with only the first 10 valid: the other 10 leave the node.
    const gc = await runCoordinator(w.node, {
      command: "GC",
      conf: {
        ...conf,
        cniVersion: "1.1.0",
        "cni.dev/valid-attachments": cids.slice(0, 10).map((c) => ({
          containerID: c,
          ifname: "eth0",
        })),
      },
      containerId: "",
      netns: "",
      ifname: "",
    });
    assert.equal(gc.code, 0, gc.stdout + gc.stderr);
    const after = (await w.node.ip(["route", "show", "table", "500"])).trim().split("\n");
    assert.equal(after.length, 10, after.join("\n"));
    await Promise.all(
      pods.map((pod, i) =>
        cni(w.node, "DEL", conf, { containerId: cids[i]!, netns: pod.path, ifname: "eth0" })
          .then((r) => assert.equal(r.code, 0, r.stdout))
      ),
    );
    assert.deepEqual(diffSnapshots(node0, await readback(w.node)), {});
  },
  { ipv6: false },
);

worldTest(skip, "ADD, CHECK and DEL with CNI_NETNS=/proc/PID/ns/net", async (w) => {
  const { pod, prev } = await podWithNic(w, "10.6.212.70/16");
  const node0 = await readback(w.node);
  await using holder = await pinNetns(pod.path);
  const call = {
    containerId: containerId(),
    netns: `/proc/${holder.pid}/ns/net`,
    ifname: "eth0",
  };
  const add = await cni(w.node, "ADD", CONF, call, prev);
  assert.equal(add.code, 0, add.stdout + add.stderr);
  assert.match(await pod.ip(["link", "show", "veth0"]), /veth0@/);
  assert.ok(await ping(pod, "10.6.212.101"));
  const check = await cni(w.node, "CHECK", CONF, call, add.json);
  assert.equal(check.code, 0, check.stdout);
  const del = await cni(w.node, "DEL", CONF, call);
  assert.equal(del.code, 0, del.stdout);
  assert.deepEqual(diffSnapshots(node0, await readback(w.node)), {});
}, { ipv6: false });

worldTest(
  skip,
  "ADD follows the NIC, not prevResult, when they disagree (node batch guess undone)",
  async (w) => {
    const { pod, prev } = await podWithNic(w, "10.6.212.81/16");
    // prevResult names another address than the one on the NIC.
    const lying: Result = { ...prev, ips: [{ address: "10.6.212.80/16", interface: 0 }] };
    const node0 = await readback(w.node);
    const cid = containerId();
    const call = { containerId: cid, netns: pod.path, ifname: "eth0" };
    const add = await cni(w.node, "ADD", CONF, call, lying);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const t500 = await w.node.ip(["route", "show", "table", "500"]);
    assert.match(t500, /^10\.6\.212\.81 dev veth/m);
    assert.doesNotMatch(t500, /10\.6\.212\.80/);
    assert.ok(await ping(w.node, "10.6.212.81"));
    const del = await cni(w.node, "DEL", CONF, call);
    assert.equal(del.code, 0, del.stdout);
    assert.deepEqual(diffSnapshots(node0, await readback(w.node)), {});
  },
  { ipv6: false },
);

worldTest(
  skip,
  "STATUS is ready with ip and the restore tools, code 50 without them",
  async (w) => {
    const conf = { ...CONF, cniVersion: "1.1.0" };
    const call = { containerId: "", netns: "", ifname: "" };
    const ok = await cni(w.node, "STATUS", conf, call);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(ok.stdout, "");
    const empty = await Deno.makeTempDir();
    try {
      const bad = await runCoordinator(w.node, {
        command: "STATUS",
        conf,
        ...call,
        env: { PATH: empty },
      });
      assert.equal(bad.code, 1, bad.stdout);
      assert.equal((bad.json as { code: number }).code, 50);
      assert.match((bad.json as { msg: string }).msg, /"ip" cannot run/);
      assert.match((bad.json as { msg: string }).msg, /"iptables-restore" is not on PATH/);
    } finally {
      await Deno.remove(empty);
    }
  },
  { ipv6: false },
);

worldTest(
  skip,
  "txQueueLen, podRPFilter, vethLinkAddress, policyRoutes land in the pod, never on the node",
  async (w) => {
    const { pod, prev } = await podWithNic(w, "10.6.212.90/16");
    const nodeLinks0 = (await readback(w.node)).links.filter((l) => !l.startsWith("veth"));
    const conf = {
      ...CONF,
      txQueueLen: 500,
      podRPFilter: 1,
      vethLinkAddress: "169.254.100.1",
      policyRoutes: [{ dst: "10.99.0.0/16", gw: "10.6.0.1" }],
    };
    const call = { containerId: containerId(), netns: pod.path, ifname: "eth0" };
    const add = await cni(w.node, "ADD", conf, call, prev);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const link = JSON.parse(await pod.ip(["-j", "link", "show", "eth0"]))[0];
    assert.equal(link.txqlen, 500, "txqueuelen set on the pod's eth0");
    const nodeLinks = (await readback(w.node)).links.filter((l) => !l.startsWith("veth"));
    assert.deepEqual(nodeLinks, nodeLinks0, "no node link changed (the original's bug 1)");
    for (const k of ["all", "default", "eth0", "veth0"]) {
      assert.equal(pod.sysctl(`net.ipv4.conf.${k}.rp_filter`), "1", k);
    }
    assert.match(await pod.ip(["addr", "show", "veth0"]), /inet 169\.254\.100\.1\/32/);
    assert.match(
      await pod.ip(["route", "show", "table", "main"]),
      /^10\.99\.0\.0\/16 via 10\.6\.0\.1 dev eth0/m,
      "policy route in main for the first underlay NIC",
    );
    assert.ok(await ping(pod, "10.6.212.101"));
    const check = await cni(w.node, "CHECK", conf, call, add.json);
    assert.equal(check.code, 0, check.stdout);
    pod.setSysctl("net.ipv4.conf.eth0.rp_filter", 2);
    const bad = await cni(w.node, "CHECK", conf, call, add.json);
    assert.equal((bad.json as { code: number }).code, 104);
    assert.match((bad.json as { msg: string }).msg, /rp_filter" is 2, not 1/);
    const del = await cni(w.node, "DEL", conf, call);
    assert.equal(del.code, 0, del.stdout);
  },
  { ipv6: false },
);

worldTest(
  skip,
  "detectIPConflict: an address held by another host fails ADD with code 100 and rolls back",
  async (w) => {
    // Another "host" on the segment already holds the pod's address.
    await w.gw.ip(["addr", "add", "10.6.212.99/16", "dev", "eth0"]);
    const { pod, prev } = await podWithNic(w, "10.6.212.99/16");
    const node0 = await readback(w.node);
    const conf = { ...CONF, detectIPConflict: true, detectGateway: true };
    const call = { containerId: containerId(), netns: pod.path, ifname: "eth0" };
    const add = await cni(w.node, "ADD", conf, call, prev);
    assert.equal(add.code, 1, add.stdout + add.stderr);
    assert.equal((add.json as { code: number }).code, 100, add.stdout);
    assert.deepEqual(diffSnapshots(node0, await readback(w.node)), {}, "node rolled back");
    // Without the conflict the same detection passes (gateway answers).
    await w.gw.ip(["addr", "del", "10.6.212.99/16", "dev", "eth0"]);
    const ok = await cni(w.node, "ADD", conf, call, prev);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const del = await cni(w.node, "DEL", conf, call);
    assert.equal(del.code, 0, del.stdout);
    assert.deepEqual(diffSnapshots(node0, await readback(w.node)), {});
  },
  { ipv6: false },
);
