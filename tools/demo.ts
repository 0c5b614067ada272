/**
 * One file: the demo's world, its exchanges and its checks read as one script.
 *
 * `deno task demo` (root): the coordinator's main job, end to end, in a
 * throwaway world of network namespaces.
 *
 * ```
 *   [gw]  eth0 10.6.0.1/16 ──┐
 *                            br0 [switch]
 *   [node] ens192 10.6.212.101/16 ──┘   kube-ipvs0 10.233.0.10 (a "Service" address)
 *        └─ macvlan ──> [pod] eth0 10.6.212.241/16, default via 10.6.0.1
 * ```
 *
 * 1. builds the world (tools/lib/world.ts);
 * 2. runs the main CNI as a runtime would: the reference `macvlan` plugin with
 *    `static` IPAM (from /usr/lib/cni or /opt/cni/bin), and shows that the
 *    node cannot reach its own macvlan pod;
 * 3. runs the coordinator ADD (env + stdin) as installed by
 *    `deno task install --launcher --dir <the demo's temp plugin dir>`
 *    (tools/install.ts: the bundle and its launcher with the binary's flags;
 *    with `COORDINATOR_BIN` set, `install --binary` of that binary instead),
 *    so the demo tests the install path; then CHECK of the whole chain;
 * 4. prints the pod's and the node's rules, routes and neighbours;
 * 5. proves connectivity: pod -> Service address, pod -> node, node -> pod,
 *    gateway -> pod (ping from iputils-ping);
 * 6. DEL in reverse order (coordinator, then macvlan), and compares both
 *    netns with their state before the main CNI ran;
 * 7. removes every namespace, its plugin directory and its log directory,
 *    also on failure or Ctrl-C.
 *
 * `deno task demo --dual-stack` gives the pod an IPv6 address as well
 * (fd00:6::f1/64, Service fd00:10:233::10) and proves both families.
 *
 * Exit code 0 when every step and check passed, else 1.
 *
 * @module
 */

import { errorMessage } from "../mod/errors.ts";
import { createWorld, WORLD, type World } from "./lib/world.ts";
import { diffSnapshots, readback, type Snapshot, type TestNetns, whichTool } from "./lib/netns.ts";
import { type InvocationResult, invoke, macvlanConf } from "./lib/invoke.ts";
import { containerId as randomContainerId, REF_PLUGIN_DIRS, refPluginDir } from "./lib/plugin.ts";
import { install } from "./install.ts";

const CNI_VERSION = "1.0.0";
const NET_NAME = "demo-underlay";
const POD_IP = "10.6.212.241";
const SERVICE_IP = "10.233.0.10";
const SERVICE_CIDR = "10.233.0.0/18";
const POD_CIDR = "10.233.64.0/18";
const POD_IP6 = "fd00:6::f1";
const SERVICE_IP6 = "fd00:10:233::10";
const SERVICE_CIDR6 = "fd00:10:233::/116";
const POD_CIDR6 = "fd00:10:233:64::/64";

/** `--dual-stack` (or `--ipv6`): give the pod an IPv6 address too and prove both families. */
const DUAL = Deno.args.includes("--dual-stack") || Deno.args.includes("--ipv6");

const encoder = new TextEncoder();

function say(text = ""): void {
  Deno.stdout.writeSync(encoder.encode(text + "\n"));
}

function heading(text: string): void {
  say();
  say(`== ${text}`);
}

function indent(text: string, prefix = "   "): string {
  return text.trimEnd().split("\n").map((l) => prefix + l).join("\n");
}

/** Things the demo needs before it touches anything; empty when all is there. */
function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (Deno.uid() !== 0) {
    missing.push(
      "root: the demo creates network namespaces (ip netns add), a bridge, veth and macvlan links",
    );
  }
  for (const tool of ["ip", "ping", "iptables"]) {
    if (whichTool(tool) === undefined) {
      missing.push(`${tool} on PATH (Debian: apt-get install iproute2 iputils-ping iptables)`);
    }
  }
  for (const plugin of ["macvlan", "static"]) {
    if (refPluginDir(plugin) === undefined) {
      missing.push(
        `the reference CNI plugin "${plugin}" in ${REF_PLUGIN_DIRS.join(" or ")} ` +
          "(Debian: apt-get install containernetworking-plugins)",
      );
    }
  }
  return missing;
}

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const checks: Check[] = [];

function record(name: string, ok: boolean, detail = ""): boolean {
  checks.push({ name, ok, detail });
  say(`   [${ok ? " ok " : "FAIL"}] ${name}${detail ? `  (${detail})` : ""}`);
  return ok;
}

async function ping(from: TestNetns, to: string): Promise<{ ok: boolean; detail: string }> {
  const r = await from.exec(["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", to], {
    allowFail: true,
  });
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(r.stdout)?.[1];
  const loss = /(\d+)% packet loss/.exec(r.stdout)?.[1];
  return {
    ok: r.code === 0,
    detail: r.code === 0 ? `rtt avg ${rtt} ms` : `${loss ?? "100"}% loss`,
  };
}

function showPlugin(label: string, r: InvocationResult): void {
  say(`   ${label}: exit ${r.code} in ${r.ms.toFixed(0)} ms`);
  if (r.stdout.trim() !== "") say(indent(r.stdout, "   | "));
  if (r.code !== 0 && r.stderr.trim() !== "") say(indent(r.stderr, "   ! "));
}

async function show(ns: TestNetns, title: string, cmds: string[][]): Promise<void> {
  say(`   -- ${title} (${ns.name})`);
  for (const args of cmds) {
    const [bin, ...rest] = args;
    const r = bin === "ip"
      ? { stdout: await ns.ip(rest, { allowFail: true }) }
      : await ns.exec(args, { allowFail: true });
    say(`   # ${args.join(" ")}`);
    say(indent(r.stdout.trim() === "" ? "(nothing)" : r.stdout, "     "));
  }
}

/**
 * The lines of a snapshot diff, split into what is expected to stay and the rest.
 *
 * @param before state before the main CNI ran
 * @param after state after DEL
 * @param expected which added lines may stay (section, line)
 * @returns the unexpected and the expected differences, as printable lines
 */
function leftovers(
  before: Snapshot,
  after: Snapshot,
  expected: (section: keyof Snapshot, line: string) => boolean,
): { unexpected: string[]; kept: string[] } {
  const diff = diffSnapshots(before, after);
  const unexpected: string[] = [];
  const kept: string[] = [];
  for (const k of Object.keys(diff) as (keyof Snapshot)[]) {
    for (const l of diff[k]!.added) (expected(k, l) ? kept : unexpected).push(`+ [${k}] ${l}`);
    for (const l of diff[k]!.removed) unexpected.push(`- [${k}] ${l}`);
  }
  return { unexpected, kept };
}

/** The node rule shared by every pod (`from all lookup <hostRuleTable>`), kept on purpose. */
const SHARED_NODE_RULE = /^1000:\s+from all lookup \d+$/;

function stateFiles(containerId: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    try {
      for (const e of Deno.readDirSync(dir)) {
        const path = `${dir}/${e.name}`;
        if (e.isDirectory) walk(path);
        else if (e.name.includes(containerId)) found.push(path);
      }
    } catch {
      // absent directory: nothing there
    }
  };
  walk("/run/cni/coordinator");
  return found;
}

/**
 * Install the coordinator into the demo's plugin directory as `deno task install` does:
 * `--launcher` (bundle + launcher), or `--binary $COORDINATOR_BIN` when that is set.
 *
 * @param dir the demo's temp plugin directory
 * @returns the installed `coordinator`
 */
function installPlugin(dir: string): string {
  const bin = Deno.env.get("COORDINATOR_BIN");
  return install(bin ? { dir, launcher: false, binary: bin } : { dir, launcher: true, binary: "" });
}

async function runDemo(world: World, logDir: string, pluginDir: string): Promise<void> {
  const six = DUAL ? 6 : undefined;
  const { node, gw } = world;
  heading("1. World (network namespaces; the machine's own network is not touched)");
  await world.addServiceAddress(`${SERVICE_IP}/32`);
  if (six) await world.addServiceAddress(`${SERVICE_IP6}/128`);
  const pod = await world.addPod("pod");
  say(`   switch ${world.sw.name}: bridge br0`);
  say(`   gateway ${gw.name}: eth0 ${WORLD.gateway4}/${WORLD.prefix4}`);
  say(
    `   node ${node.name}: ${WORLD.uplink} ${WORLD.nodeIp4}/${WORLD.prefix4}, ` +
      `${WORLD.serviceIf} ${SERVICE_IP}/32 (stands for a Service IP)`,
  );
  if (six) {
    say(
      `   IPv6: gateway ${WORLD.gateway6}/${WORLD.prefix6}, node ${WORLD.nodeIp6}/${WORLD.prefix6}, ` +
        `Service ${SERVICE_IP6}/128`,
    );
  }
  say(`   pod ${pod.name}: empty (lo only)`);
  const coordinatorBin = installPlugin(pluginDir);
  const how = Deno.env.get("COORDINATOR_BIN")
    ? `--binary ${Deno.env.get("COORDINATOR_BIN")}`
    : "--launcher";
  say(`   coordinator: ${coordinatorBin}, from \`deno task install ${how} --dir ${pluginDir}\``);
  // The plugin runs as the installed file, as a runtime runs it from its CNI bin directory.
  const coordinatorArgv = [coordinatorBin];
  const containerId = randomContainerId();
  const hostVeth = `veth${containerId.slice(0, 11)}`;
  const nodeBefore = await readback(node);
  const podBefore = await readback(pod);

  heading(
    `2. Main CNI: macvlan ADD (pod eth0 = ${POD_IP}/${WORLD.prefix4}` +
      `${six ? ` + ${POD_IP6}/${WORLD.prefix6}` : ""} on ${WORLD.uplink})`,
  );
  const common = { containerId, netns: pod.path, ifname: "eth0", hostNetns: node };
  const mv = macvlanConf({
    name: NET_NAME,
    cniVersion: CNI_VERSION,
    master: WORLD.uplink,
    addresses: [
      { address: `${POD_IP}/${WORLD.prefix4}`, gateway: WORLD.gateway4 },
      ...(six ? [{ address: `${POD_IP6}/${WORLD.prefix6}`, gateway: WORLD.gateway6 }] : []),
    ],
  });
  const mvAdd = await invoke({ ...common, plugin: "macvlan", command: "ADD", conf: mv });
  showPlugin("macvlan ADD", mvAdd);
  if (!record("macvlan ADD", mvAdd.code === 0)) return;
  const prevResult = mvAdd.json as Record<string, unknown>;
  const before = await ping(node, POD_IP);
  record(
    "node -> pod fails before the coordinator (a macvlan child cannot talk to its parent)",
    !before.ok,
    before.detail,
  );

  heading(
    "3. coordinator ADD (chained after macvlan, as in deploy/10-macvlan-coordinator.conflist)",
  );
  const coord = {
    cniVersion: CNI_VERSION,
    name: NET_NAME,
    type: "coordinator",
    mode: "auto",
    serviceCIDR: six ? [SERVICE_CIDR, SERVICE_CIDR6] : [SERVICE_CIDR],
    overlayPodCIDR: six ? [POD_CIDR, POD_CIDR6] : [POD_CIDR],
    logOptions: { logLevel: "debug", logFile: `${logDir}/coordinator.log` },
  };
  say(indent(JSON.stringify(coord), "   stdin: "));
  const add = await invoke({
    ...common,
    plugin: "coordinator",
    argv: coordinatorArgv,
    cniPath: pluginDir,
    command: "ADD",
    conf: { ...coord, prevResult },
  });
  showPlugin("coordinator ADD", add);
  if (!record("coordinator ADD", add.code === 0)) return;
  const result = add.json as Record<string, unknown>;
  for (const f of stateFiles(containerId)) say(`   state recorded for DEL and CHECK: ${f}`);

  heading("4. What ADD left in the pod and on the node");
  await show(pod, "pod", [
    ["ip", "-br", "link"],
    ["ip", "-br", "addr"],
    ["ip", "rule"],
    ["ip", "route", "show", "table", "main"],
    ["ip", "route", "show", "table", "100"],
    ["ip", "route", "show", "table", "101"],
    ["ip", "neigh", "show", "nud", "permanent"],
    ["iptables", "-t", "mangle", "-S"],
    ...(six
      ? [
        ["ip", "-6", "rule"],
        ["ip", "-6", "route", "show", "table", "main"],
        ["ip", "-6", "route", "show", "table", "100"],
        ["ip", "-6", "route", "show", "table", "101"],
        ["ip6tables", "-t", "mangle", "-S"],
      ]
      : []),
  ]);
  await show(node, "node", [
    ["ip", "-br", "link", "show", "dev", hostVeth],
    ["ip", "rule"],
    ["ip", "route", "show", "table", "500"],
    ["ip", "neigh", "show", "nud", "permanent"],
    ...(six ? [["ip", "-6", "rule"], ["ip", "-6", "route", "show", "table", "500"]] : []),
  ]);

  heading("5. Connectivity (ping)");
  const paths: [string, TestNetns, string][] = [
    [`pod -> Service address ${SERVICE_IP} (via veth0 and the node)`, pod, SERVICE_IP],
    [`pod -> node ${WORLD.nodeIp4}`, pod, WORLD.nodeIp4],
    [`node -> pod ${POD_IP}`, node, POD_IP],
    [`gateway ${WORLD.gateway4} -> pod ${POD_IP}`, gw, POD_IP],
    [`pod -> gateway ${WORLD.gateway4} (still via eth0)`, pod, WORLD.gateway4],
  ];
  if (six) {
    paths.push(
      [`pod -> Service address ${SERVICE_IP6} (via veth0 and the node)`, pod, SERVICE_IP6],
      [`pod -> node ${WORLD.nodeIp6}`, pod, WORLD.nodeIp6],
      [`node -> pod ${POD_IP6}`, node, POD_IP6],
      [`gateway ${WORLD.gateway6} -> pod ${POD_IP6}`, gw, POD_IP6],
    );
  }
  for (const [label, from, to] of paths) {
    const r = await ping(from, to);
    record(label, r.ok, r.detail);
  }
  const routeGet = await pod.ip(["route", "get", SERVICE_IP], { allowFail: true });
  say(indent(`ip route get ${SERVICE_IP} (pod): ${routeGet.trim()}`));

  heading("6. CHECK of the chain (macvlan, then coordinator, both with the final result)");
  const mvCheck = await invoke({
    ...common,
    plugin: "macvlan",
    command: "CHECK",
    conf: { ...mv, prevResult: result },
  });
  showPlugin("macvlan CHECK", mvCheck);
  record("macvlan CHECK", mvCheck.code === 0);
  const check = await invoke({
    ...common,
    plugin: "coordinator",
    argv: coordinatorArgv,
    cniPath: pluginDir,
    command: "CHECK",
    conf: { ...coord, prevResult: result },
  });
  showPlugin("coordinator CHECK", check);
  record("coordinator CHECK", check.code === 0);

  heading("7. DEL in reverse order (coordinator, then macvlan), then a second coordinator DEL");
  const del = await invoke({
    ...common,
    plugin: "coordinator",
    argv: coordinatorArgv,
    cniPath: pluginDir,
    command: "DEL",
    conf: { ...coord, prevResult: result },
  });
  showPlugin("coordinator DEL", del);
  record("coordinator DEL", del.code === 0 && del.stdout.trim() === "");
  const mvDel = await invoke({
    ...common,
    plugin: "macvlan",
    command: "DEL",
    conf: { ...mv, prevResult: result },
  });
  showPlugin("macvlan DEL", mvDel);
  record("macvlan DEL", mvDel.code === 0);
  const del2 = await invoke({
    ...common,
    plugin: "coordinator",
    argv: coordinatorArgv,
    cniPath: pluginDir,
    command: "DEL",
    conf: coord,
  });
  showPlugin("coordinator DEL again (no prevResult)", del2);
  record("second coordinator DEL succeeds", del2.code === 0);

  heading("8. Nothing left behind");
  const node8 = leftovers(
    nodeBefore,
    await readback(node),
    (k, l) => k.startsWith("rules") && SHARED_NODE_RULE.test(l),
  );
  for (const l of node8.unexpected) say(`   node: ${l}`);
  for (const l of node8.kept) {
    say(`   node: ${l}   (shared by every pod on the node; kept on purpose, as in Spiderpool)`);
  }
  record(
    `node: ${hostVeth}, its table-500 route and its neighbour are gone, nothing else changed`,
    node8.unexpected.length === 0,
  );
  const leftState = stateFiles(containerId);
  record(
    "node: no state file of this container left under /run/cni/coordinator",
    leftState.length === 0,
    leftState.join(", "),
  );
  // The runtime deletes the pod netns right after DEL; what only lives inside it goes with it.
  const podAfter = await readback(pod);
  const pod8 = leftovers(
    podBefore,
    podAfter,
    (k) =>
      k === "rules4" || k === "rules6" || k === "iptables" || k === "ip6tables" || k === "sysctls",
  );
  for (const l of pod8.unexpected) say(`   pod: ${l}`);
  if (pod8.kept.length > 0) {
    say(
      `   pod: ${pod8.kept.length} rule/iptables/sysctl lines stay inside the pod netns until the runtime deletes it (as in Spiderpool)`,
    );
  }
  record("pod: eth0, veth0 and every route are gone", pod8.unexpected.length === 0);

  try {
    const log = await Deno.readTextFile(`${logDir}/coordinator.log`);
    const lines = log.trimEnd().split("\n");
    say();
    say(`   the plugin's log (${logDir}/coordinator.log, ${lines.length} lines; last 3):`);
    for (const l of lines.slice(-3)) {
      say(indent(l.length > 200 ? l.slice(0, 200) + "..." : l, "     "));
    }
  } catch {
    say(`   (no log file at ${logDir}/coordinator.log)`);
  }
}

async function main(): Promise<number> {
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    Deno.stderr.writeSync(
      encoder.encode(
        `The demo cannot run; it needs:\n${missing.map((m) => `  - ${m}`).join("\n")}\n` +
          "Run it as root: sudo deno task demo\n",
      ),
    );
    return 1;
  }
  const logDir = `/var/log/coordinator-demo-${randomContainerId().slice(0, 8)}`;
  const pluginDir = await Deno.makeTempDir({ prefix: "coordinator-demo-bin-" });
  let world: World | undefined;
  const cleanup = async () => {
    await world?.destroy().catch((err) => say(`cleanup: ${err}`));
    await Deno.remove(logDir, { recursive: true }).catch(() => {});
    await Deno.remove(pluginDir, { recursive: true }).catch(() => {});
  };
  const onSignal = () => {
    say("\ninterrupted: removing the demo's namespaces");
    cleanup().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    world = await createWorld({ ipv6: DUAL });
    await runDemo(world, logDir, pluginDir);
  } catch (err) {
    record("demo ran to the end", false, errorMessage(err));
  } finally {
    await cleanup();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  const failed = checks.filter((c) => !c.ok);
  heading(`Summary: ${checks.length - failed.length} of ${checks.length} checks passed`);
  for (const c of failed) say(`   FAIL ${c.name}${c.detail ? `: ${c.detail}` : ""}`);
  say("   all namespaces removed");
  return failed.length === 0 && checks.length > 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
