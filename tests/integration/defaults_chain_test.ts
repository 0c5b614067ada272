/**
 * Issue 16: cluster-wide defaults without an agent. A whole chain (macvlan +
 * static IPAM through Debian's reference plugins, then the coordinator) whose
 * coordinator entry is just `{"type": "coordinator"}`, the cluster's CIDRs
 * coming from the node defaults file (COORDINATOR_DEFAULTS_FILE): ADD, the
 * Service and hijack routes through veth0, CHECK, DEL, a clean node. An
 * invalid file fails ADD with code 7 naming it, and DEL goes on regardless.
 */

import assert from "node:assert/strict";
import { privilegedSkipReason, readback, toolsSkipReason } from "../_helpers/netns.ts";
import {
  type Conflist,
  makePluginDir,
  PluginError,
  refPluginsSkipReason,
  runChain,
} from "../_helpers/refplugins.ts";
import { createWorld, WORLD } from "../_helpers/world.ts";
import { containerId } from "../_helpers/cni.ts";
import { runLogFile } from "../_helpers/run.ts";

const skip = privilegedSkipReason() ?? refPluginsSkipReason() ?? toolsSkipReason("iptables");
const POD_IP = "10.6.212.231";
const SERVICE_IP = "10.233.0.10";
const HIJACK_IP = "169.254.20.10";
const NETWORK = "it-defaults-net";

function list(): Conflist {
  return {
    cniVersion: "1.0.0",
    name: NETWORK,
    plugins: [
      {
        type: "macvlan",
        master: WORLD.uplink,
        mode: "bridge",
        ipam: {
          type: "static",
          addresses: [{ address: `${POD_IP}/16`, gateway: WORLD.gateway4 }],
          routes: [{ dst: "0.0.0.0/0" }],
        },
      },
      { type: "coordinator" },
    ],
  };
}

Deno.test({
  name: "a chain whose coordinator entry is {type: coordinator} takes the cluster CIDRs from " +
    "the node defaults file" + (skip === undefined ? "" : ` (ignored: ${skip})`),
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using world = await createWorld();
    await world.addServiceAddress(`${SERVICE_IP}/32`);
    await using dir = await makePluginDir();
    const pod = await world.addPod();
    const file = await Deno.makeTempFile({ prefix: "coordinator-defaults-", suffix: ".json" });
    try {
      await Deno.writeTextFile(
        file,
        JSON.stringify({
          serviceCIDR: ["10.233.0.0/18"],
          overlayPodCIDR: ["10.233.64.0/18"],
          hijackCIDR: [`${HIJACK_IP}/32`],
          logOptions: { logFile: runLogFile("defaults") },
        }),
      );
      const node0 = await readback(world.node);
      const rt = {
        containerId: containerId(),
        netns: pod.path,
        ifname: "eth0",
        cniPath: [dir.path],
        hostNetns: world.node,
        env: { COORDINATOR_DEFAULTS_FILE: file },
      };
      const chain = runChain(list(), rt);
      await chain.add();
      const service = await pod.ip(["route", "get", SERVICE_IP]);
      assert.match(service, /via 10\.6\.212\.101 dev veth0/, service);
      const hijack = await pod.ip(["route", "get", HIJACK_IP]);
      assert.match(hijack, /via 10\.6\.212\.101 dev veth0/, hijack);
      const pods = await pod.ip(["route", "get", "10.233.64.9"]);
      assert.match(pods, /dev veth0/, pods);
      const ping = await pod.exec(["ping", "-c", "1", "-w", "5", SERVICE_IP], { allowFail: true });
      assert.equal(ping.code, 0, `ping Service from the pod: ${ping.stdout}${ping.stderr}`);
      await chain.check();
      await chain.del();
      const after = await readback(world.node);
      for (const key of ["links", "routes4", "routes6", "neigh"] as const) {
        assert.deepEqual(after[key], node0[key], `node ${key} clean`);
      }

      // An invalid file: ADD fails with 7 naming the file and the field; DEL goes on.
      // (its logOptions stay valid: DEL reads the file leniently and logs where it says)
      await Deno.writeTextFile(
        file,
        JSON.stringify({
          serviceCIDR: ["10.233.0.0"],
          logOptions: { logFile: runLogFile("defaults") },
        }),
      );
      const bad = runChain(list(), { ...rt, containerId: containerId() });
      await assert.rejects(bad.add(), (err: unknown) => {
        assert.ok(err instanceof PluginError, String(err));
        assert.equal(err.plugin, "coordinator");
        assert.equal(err.error.code, 7, err.message);
        assert.ok(err.error.msg.includes(file), err.error.msg);
        assert.match(err.error.msg, /serviceCIDR\[0\]/);
        return true;
      });
      await bad.del();

      // No serviceCIDR anywhere (no file): ADD goes on and warns once.
      const log = runLogFile(`defaults-nosvc-${containerId().slice(0, 8)}`);
      await Deno.writeTextFile(file, JSON.stringify({ logOptions: { logFile: log } }));
      const bare = runChain(list(), { ...rt, containerId: containerId() });
      try {
        await bare.add();
        const warns = (await Deno.readTextFile(log)).split("\n").filter((l) =>
          l.includes("Services will not be reached") && l.includes('"level":"WARN"')
        );
        assert.equal(warns.length, 1, warns.join("\n"));
        await bare.del();
      } finally {
        await Deno.remove(log).catch(() => {});
      }
      const after2 = await readback(world.node);
      for (const key of ["links", "routes4", "routes6", "neigh"] as const) {
        assert.deepEqual(after2[key], node0[key], `node ${key} clean after the failed ADD`);
      }
    } finally {
      await Deno.remove(file);
    }
  },
});
