/**
 * Issue 12: a node never wedges. ADD with an invalid config fails with 7 and
 * changes nothing, DEL of the same input succeeds; a pod made with a valid
 * config is cleaned up by a DEL whose config has since become invalid.
 */

import assert from "node:assert/strict";
import { addMacvlanNic, itConf, worldTest } from "../_helpers/world.ts";
import {
  diffSnapshots,
  privilegedSkipReason,
  readback,
  toolsSkipReason,
} from "../_helpers/netns.ts";
import { cni, containerId } from "../_helpers/cni.ts";
import { INVALID_CASES } from "../_helpers/config_cases.ts";
import { runLogFile } from "../_helpers/run.ts";
import { DEFAULTS_FILE_ENV } from "../../mod/config/defaults.ts";

const skip = privilegedSkipReason() ?? toolsSkipReason("iptables-restore");

const CONF = itConf("it-delbad", "delbad");

/** A case merged into the valid config (its logOptions keys into the test's). */
function withCase(extra: Record<string, unknown>): Record<string, unknown> {
  const lo = extra["logOptions"];
  if (typeof lo !== "object" || lo === null || Array.isArray(lo)) return { ...CONF, ...extra };
  return { ...CONF, ...extra, logOptions: { ...CONF.logOptions, ...lo } };
}

/**
 * A DEL whose logOptions are invalid ignores them and logs where the node
 * defaults file says: point COORDINATOR_DEFAULTS_FILE at a file of this run
 * whose logFile is in the run's log directory, so that nothing reaches the
 * default log file on the machine. Returns the restore.
 */
function runDefaultsFile(): () => void {
  const dir = Deno.makeTempDirSync({ prefix: "coordinator-delbad-" });
  const path = `${dir}/defaults.json`;
  Deno.writeTextFileSync(path, JSON.stringify({ logOptions: { logFile: runLogFile("delbad") } }));
  const before = Deno.env.get(DEFAULTS_FILE_ENV);
  Deno.env.set(DEFAULTS_FILE_ENV, path);
  return () => {
    if (before === undefined) Deno.env.delete(DEFAULTS_FILE_ENV);
    else Deno.env.set(DEFAULTS_FILE_ENV, before);
    Deno.removeSync(dir, { recursive: true });
  };
}

worldTest(
  skip,
  "ADD with every invalid-value case fails with 7 and changes nothing; DEL of it succeeds",
  async (w) => {
    const restoreLog = runDefaultsFile();
    try {
      const pod = await w.addPod();
      const prev = await addMacvlanNic(w.node, pod, {
        ifname: "eth0",
        addrs: ["10.6.212.70/16"],
        gateways: ["10.6.0.1"],
      });
      const node0 = await readback(w.node);
      const pod0 = await readback(pod);
      for (const c of INVALID_CASES) {
        const conf = withCase(c.extra);
        const call = { containerId: containerId(), netns: pod.path, ifname: "eth0" };
        const add = await cni(w.node, "ADD", conf, call, prev);
        const what = JSON.stringify(c.extra);
        assert.equal(add.code, 1, `${what}: ${add.stdout}`);
        assert.equal((add.json as { code: number }).code, 7, `${what}: ${add.stdout}`);
        assert.match((add.json as { msg: string }).msg, c.field, what);
        const del = await cni(w.node, "DEL", conf, call, prev);
        assert.equal(del.code, 0, `${what}: DEL ${del.stdout}${del.stderr}`);
        assert.equal(del.stdout, "", what);
      }
      assert.deepEqual(diffSnapshots(node0, await readback(w.node)), {}, "node unchanged");
      assert.deepEqual(diffSnapshots(pod0, await readback(pod)), {}, "pod unchanged");
    } finally {
      restoreLog();
    }
  },
);

worldTest(
  skip,
  "DEL of a pod made with a valid config cleans the node after the config became invalid",
  async (w) => {
    const restoreLog = runDefaultsFile();
    try {
      const node0 = await readback(w.node);
      const broken = [
        { vethLinkAddress: "169.254.100.1/32", hostRuleTable: 254 },
        { serviceCIRD: ["10.233.0.0/18"], overlayPodCIDR: ["10.233.64.0"] },
        // A valid but different table and mode: DEL follows the record.
        { hostRuleTable: 777, mode: "disable" },
        { logOptions: { logLevel: "trace", logFile: "relative.log" }, detectOptions: [] },
      ];
      for (const [i, extra] of broken.entries()) {
        const pod = await w.addPod();
        const prev = await addMacvlanNic(w.node, pod, {
          ifname: "eth0",
          addrs: [`10.6.212.${80 + i}/16`],
          gateways: ["10.6.0.1"],
        });
        const call = { containerId: containerId(), netns: pod.path, ifname: "eth0" };
        const add = await cni(w.node, "ADD", CONF, call, prev);
        assert.equal(add.code, 0, add.stdout + add.stderr);
        const del = await cni(w.node, "DEL", withCase(extra), call, prev);
        assert.equal(del.code, 0, `${JSON.stringify(extra)}: ${del.stdout}${del.stderr}`);
        assert.deepEqual(
          diffSnapshots(node0, await readback(w.node)),
          {},
          `${JSON.stringify(extra)}: node clean`,
        );
      }
    } finally {
      restoreLog();
    }
  },
);
