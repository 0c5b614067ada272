/**
 * Measure the network logic (a script, not a test; root):
 *
 *   deno run --allow-all tools/measure/measure_network.ts [rounds]
 *
 * In one world and one run: the wall time of the reference macvlan plugin's
 * ADD (static IPAM), of our ADD chained after it and of our DEL, all started
 * the same way (`ip netns exec <node> ...`, a fresh process each, as a
 * runtime does), medians over `rounds` pods (default 20); then the number of
 * child processes one ADD/DEL starts per mode and family (spawnCount()).
 *
 * @module
 */

// deno-lint-ignore-file no-console
import { addMacvlanNic, createWorld, itConf } from "../lib/world.ts";
import { removeRunDirs, useRunDirs } from "../lib/run_dirs.ts";
import { addVethPair, exec, type TestNetns } from "../lib/netns.ts";
import { containerId, driverArgv, pluginArgv, type ProcessRun, runPlugin } from "../lib/plugin.ts";
import { median } from "../lib/stats.ts";
import { macvlan } from "./_macvlan.ts";

const ROUNDS = Number(Deno.args[0] ?? 20);

// The run's own state directory, lock and log (tools/lib/run_dirs.ts), never the node's.
const DIRS = useRunDirs();
const CONF = itConf("measure", "measure", { logLevel: "info" });

/** One attachment of a pod. */
interface Attachment {
  containerId: string;
  netns: string;
  ifname: string;
}

/**
 * Our plugin in the node netns (`ip netns exec`), `prevResult` added to the config.
 *
 * @param argv the plugin's argv (default pluginArgv())
 */
function coordinator(
  node: TestNetns,
  command: "ADD" | "DEL",
  call: Attachment,
  prevResult?: unknown,
  argv: readonly string[] = pluginArgv(),
): Promise<ProcessRun> {
  const conf = prevResult === undefined ? CONF : { ...CONF, prevResult };
  return runPlugin({ command, ...call, conf, host: node, argv });
}

async function timing(): Promise<void> {
  await using w = await createWorld({ ipv6: false });
  // A resident pod, as on any real node: the shared host rule stays, and DEL
  // removes only its own veth (the last pod's DEL also drops the rule).
  const resident = await w.addPod("r");
  const rprev = await addMacvlanNic(w.node, resident, {
    ifname: "eth0",
    addrs: ["10.6.49.1/16"],
    gateways: ["10.6.0.1"],
  });
  const rcall = { containerId: containerId(), netns: resident.path, ifname: "eth0" };
  const r0 = await coordinator(w.node, "ADD", rcall, rprev);
  if (r0.code !== 0) throw new Error(`resident ADD failed: ${r0.stdout}`);
  const mv: number[] = [];
  const add: number[] = [];
  const del: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const pod = await w.addPod("m");
    const cid = containerId();
    const m = await macvlan(
      w.node,
      "ADD",
      { containerId: cid, netns: pod.path },
      `10.6.50.${i + 10}/16`,
    );
    mv.push(m.ms);
    const call = { containerId: cid, netns: pod.path, ifname: "eth0" };
    let t0 = performance.now();
    const a = await coordinator(w.node, "ADD", call, m.result);
    add.push(performance.now() - t0);
    if (a.code !== 0) throw new Error(`ADD failed: ${a.stdout}`);
    t0 = performance.now();
    const d = await coordinator(w.node, "DEL", call);
    del.push(performance.now() - t0);
    if (d.code !== 0) throw new Error(`DEL failed: ${d.stdout}`);
    await macvlan(w.node, "DEL", { containerId: cid, netns: pod.path }, `10.6.50.${i + 10}/16`);
    await pod.destroy();
  }
  const r = (x: number) => x.toFixed(1);
  console.log(`rounds: ${ROUNDS}; plugin: ${pluginArgv().slice(0, 2).join(" ")} ...`);
  console.log(`macvlan ADD median ${r(median(mv))} ms`);
  console.log(
    `coordinator ADD median ${r(median(add))} ms (${r(median(add) / median(mv))}x macvlan)`,
  );
  console.log(
    `coordinator DEL median ${r(median(del))} ms (${r(median(del) / median(add))}x our ADD)`,
  );
}

async function spawns(): Promise<void> {
  // Through _driver.ts, which reports spawnCount(); a COORDINATOR_BIN cannot.
  const argv = pluginArgv()[1] === "run" ? driverArgv() : pluginArgv();
  const count = (stderr: string) => /spawns=(\d+)/.exec(stderr)?.[1] ?? "?";
  await using w = await createWorld();
  for (
    const [label, addrs, gws] of [
      ["underlay IPv4", ["10.6.60.1/16"], ["10.6.0.1"]],
      ["underlay IPv6", ["fd00:6::61/64"], ["fd00:6::1"]],
      ["underlay dual stack", ["10.6.60.2/16", "fd00:6::62/64"], ["10.6.0.1", "fd00:6::1"]],
    ] as const
  ) {
    const pod = await w.addPod("s");
    const prev = await addMacvlanNic(w.node, pod, {
      ifname: "eth0",
      addrs: [...addrs],
      gateways: [...gws],
    });
    const call = { containerId: containerId(), netns: pod.path, ifname: "eth0" };
    const a = await coordinator(w.node, "ADD", call, prev, argv);
    const d = await coordinator(w.node, "DEL", call, undefined, argv);
    console.log(`${label}: ADD ${count(a.stderr)} processes, DEL ${count(d.stderr)}`);
  }
  // Overlay: eth0 a veth to the node, net1 a macvlan.
  const pod = await w.addPod("s");
  await addVethPair(w.node, "vethov1", pod, "eth0", { up: "a" });
  await pod.ip(["addr", "add", "10.233.100.2/32", "dev", "eth0"]);
  await pod.ip(["link", "set", "eth0", "up"]);
  await pod.ip(["route", "add", "169.254.1.1", "dev", "eth0", "scope", "link"]);
  await pod.ip(["route", "add", "default", "via", "169.254.1.1", "dev", "eth0"]);
  await exec(["true"]);
  const prev = await addMacvlanNic(w.node, pod, {
    ifname: "net1",
    addrs: ["10.6.60.3/16"],
    gateways: ["10.6.0.1"],
  });
  const call = { containerId: containerId(), netns: pod.path, ifname: "net1" };
  const a = await coordinator(w.node, "ADD", call, prev, argv);
  const d = await coordinator(w.node, "DEL", call, undefined, argv);
  console.log(`overlay IPv4 net1: ADD ${count(a.stderr)} processes, DEL ${count(d.stderr)}`);
}

try {
  await timing();
  await spawns();
} finally {
  const left = removeRunDirs(DIRS);
  if (left.length > 0) console.error(`left in the run's state directory: ${left.join(", ")}`);
}
