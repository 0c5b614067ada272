/**
 * `coordinator doctor` in a world's node netns: a clean node reports no
 * problem; each planted problem (a foreign rule at 1000, an orphan state
 * file, an orphan host veth, rp_filter 1 on the uplink, NetworkManager without
 * the veth rule, a persistent MAC policy, kube-proxy's conntrack INVALID drop)
 * is reported, and only it. STATUS starts at most one child process.
 */

import assert from "node:assert/strict";
import { itConf, WORLD, type World, worldTest } from "../_helpers/world.ts";
import { privilegedSkipReason } from "../_helpers/netns.ts";
import { applyKubeProxy } from "../../tools/lib/kube_proxy.ts";
import { KUBE, kubeProxyConfig } from "../../tools/lib/kube_world.ts";
import { driverArgv, runProcess } from "../_helpers/cni.ts";
import { RUN } from "../_helpers/run.ts";
import {
  doctor as doctorIn,
  plantDefaults,
  type Planted,
  problems,
  withPlanted,
} from "../_helpers/doctor.ts";

const doctor = (w: World, p: Planted) => doctorIn(w.node, p);

const skip = privilegedSkipReason();

worldTest(skip, "doctor: a clean node reports no problem and exits 0", async (w) => {
  await withPlanted(async (p) => {
    const { code, findings } = await doctor(w, p);
    assert.deepEqual(problems(findings), [], JSON.stringify(findings, null, 1));
    assert.equal(code, 0);
  });
});

worldTest(skip, "doctor: a foreign rule at priority 1000 (FAIL, exit 1)", async (w) => {
  await withPlanted(async (p) => {
    await w.node.ip(["rule", "add", "pref", "1000", "from", "10.9.0.0/16", "table", "77"]);
    const { code, findings } = await doctor(w, p);
    assert.deepEqual(problems(findings), ["host-rule-table"]);
    assert.match(findings.find((f) => f.id === "host-rule-table")!.found, /10\.9\.0\.0\/16/);
    assert.equal(code, 1);
  });
});

worldTest(skip, "doctor: an orphan state file", async (w) => {
  await withPlanted(async (p) => {
    await Deno.mkdir(`${p.stateDir}/net-a`);
    await Deno.writeTextFile(
      `${p.stateDir}/net-a/abc_eth0.json`,
      JSON.stringify({ version: 1, netns: "/var/run/netns/gone-pod-xyz", hostVeth: "vethabc" }),
    );
    const { code, findings } = await doctor(w, p);
    assert.deepEqual(problems(findings), ["orphan-state"]);
    assert.equal(code, 0, "a WARN is not a failure");
  });
});

worldTest(skip, "doctor: an orphan host veth (named like ours, no state)", async (w) => {
  await withPlanted(async (p) => {
    await w.node.ip(["link", "add", "veth0123456789a", "type", "veth", "peer", "name", "pp0"]);
    const { findings } = await doctor(w, p);
    assert.deepEqual(problems(findings), ["orphan-veth"]);
  });
});

worldTest(skip, "doctor: rp_filter 1 on the uplink", async (w) => {
  await withPlanted(async (p) => {
    w.node.setSysctl(`net.ipv4.conf.${WORLD.uplink}.rp_filter`, 1);
    const { findings } = await doctor(w, p);
    assert.deepEqual(problems(findings), ["rp_filter"]);
    assert.match(findings.find((f) => f.id === "rp_filter")!.found, /ens192=1/);
  });
});

worldTest(skip, "doctor: NetworkManager and .link files under --root", async (w) => {
  await withPlanted(async (p) => {
    await Deno.mkdir(`${p.root}/run/NetworkManager`, { recursive: true });
    await Deno.writeTextFile(`${p.root}/run/NetworkManager/NetworkManager.pid`, "1\n");
    await Deno.mkdir(`${p.root}/usr/lib/systemd/network`, { recursive: true });
    await Deno.writeTextFile(
      `${p.root}/usr/lib/systemd/network/99-default.link`,
      "[Match]\nOriginalName=*\n\n[Link]\nNamePolicy=keep kernel database onboard\nMACAddressPolicy=persistent\n",
    );
    const { findings } = await doctor(w, p);
    assert.deepEqual(problems(findings), ["link-policy", "networkmanager"]);
    // The remedies make both go away.
    await Deno.mkdir(`${p.root}/etc/NetworkManager/conf.d`, { recursive: true });
    await Deno.writeTextFile(
      `${p.root}/etc/NetworkManager/conf.d/coordinator.conf`,
      "[keyfile]\nunmanaged-devices=interface-name:veth*\n",
    );
    await Deno.mkdir(`${p.root}/etc/systemd/network`, { recursive: true });
    await Deno.writeTextFile(
      `${p.root}/etc/systemd/network/10-coordinator-veth.link`,
      "[Match]\nOriginalName=veth*\n\n[Link]\nMACAddressPolicy=none\n",
    );
    assert.deepEqual(problems((await doctor(w, p)).findings), []);
  });
});

worldTest(
  skip,
  "doctor: kube-proxy's INVALID drop (iptables mode) with be_liberal 0, then 1, then without the rule",
  async (w) => {
    await withPlanted(async (p) => {
      // The node's own netns: nf_conntrack_tcp_be_liberal is per netns.
      w.node.setSysctl("net.netfilter.nf_conntrack_tcp_be_liberal", 0);
      await applyKubeProxy(w.node, "iptables", [kubeProxyConfig(4), kubeProxyConfig(6)]);
      // The node's CIDRs configured: its ClusterIPs are no problem (service-cidr is OK).
      await plantDefaults(p, {
        serviceCIDR: KUBE.serviceCIDR,
        overlayPodCIDR: KUBE.overlayPodCIDR,
      });
      const strict = await doctor(w, p);
      assert.deepEqual(problems(strict.findings), ["conntrack-invalid"]);
      const f = strict.findings.find((x) => x.id === "conntrack-invalid")!;
      assert.match(
        f.found,
        /"-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP" \(IPv4, IPv6\)/,
      );
      assert.match(f.remedy, /nf_conntrack_tcp_be_liberal=1/);
      assert.equal(strict.code, 0, "a WARN is not a failure");
      w.node.setSysctl("net.netfilter.nf_conntrack_tcp_be_liberal", 1);
      const liberal = await doctor(w, p);
      assert.match(
        liberal.findings.find((x) => x.id === "conntrack-invalid")!.found,
        /although net\.netfilter\.nf_conntrack_tcp_be_liberal=1/,
      );
      // kube-proxy 1.29+ leaves the rule out while the setting is 1.
      await applyKubeProxy(w.node, "iptables", [
        { ...kubeProxyConfig(4), dropInvalid: false },
        { ...kubeProxyConfig(6), dropInvalid: false },
      ]);
      assert.deepEqual(problems((await doctor(w, p)).findings), []);
    });
  },
);

worldTest(skip, "STATUS starts at most one child process", async (w) => {
  // STATUS makes the state directory and takes the lock: this run's places.
  const run = await runProcess(
    driverArgv(),
    {
      PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      CNI_COMMAND: "STATUS",
      CNI_PATH: "/opt/cni/bin",
      COORDINATOR_STATE_DIR: RUN.stateDir,
      COORDINATOR_LOCK_FILE: RUN.lockFile,
    },
    JSON.stringify(itConf("it-status", "status")).replace('"1.0.0"', '"1.1.0"'),
    { netns: w.node },
  );
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const spawns = Number(/spawns=(\d+)/.exec(run.stderr)?.[1]);
  assert.ok(spawns <= 1, `STATUS started ${spawns} processes`);
});
