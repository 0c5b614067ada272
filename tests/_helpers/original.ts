/**
 * Pods exactly as Spiderpool's Go coordinator (v1.2.1) leaves them, built in a
 * test world without the Go binary and without a state file: what the spec of
 * the original (`spec/coordinator.md` of the shared folder) says its ADD
 * does, step by step (3.3, in the order of 3.1), with plain `ip -batch`,
 * `iptables-restore` / `ip6tables-restore` and sysctl writes in the pod and
 * node namespaces. The end states are those
 * of 3.7 (observed verbatim: 3.7.1 underlay IPv4, 3.7.2 overlay ptp eth0 +
 * macvlan net1) and of 3.6 (worked examples: 3a dual stack with podMACPrefix,
 * 3b a later underlay NIC). IPv6-only follows the same steps with one family.
 *
 * This is a model of the original, written from the spec and not from this
 * plugin's planners (it imports none of `mod/plan/`), so that CHECK and DEL
 * of this plugin are tested against what the original really leaves,
 * including where the original does less or otherwise than this plugin
 * (spec 8.1, docs/network.md "Weaknesses of the original"):
 *
 * - rp_filter is written on `all` only (3.3.12): `default` and the pod's links
 *   keep what they had ({@linkcode distroRpFilter} gives a pod the 2 the pods
 *   of 3.7 had; `veth0`, created later, inherits `default`'s 2);
 * - the veth pair is created in the pod with txqueuelen 0 on both ends, the
 *   host end named `"veth" + containerID[0:11]`, both MACs random (3.3.4, 8.1-22);
 * - the per-NIC `from` rules are added without a priority, so the kernel picks
 *   one (3.3.18 C, 8.1-6): 999 beside the underlay rule at 1000, else 32765, 32764;
 * - table numbers count the UP+BROADCAST+MULTICAST links (3.2, 8.1-8);
 * - "add" ignores "exists" (an existing route is kept as it is, e.g. ptp's
 *   `10.233.100.1 dev eth0` in 3.7.2), and moved routes lose metric,
 *   protocol and flags; non-default routes are copied, not moved (8.1-7);
 * - txQueueLen is applied on the node (8.1-1): only 0 is modelled (the
 *   payloads of 3.6 and 3.7 have 0), anything else is refused;
 * - `eth0` is hard-coded for the source hint and the overlay veth (8.1-9);
 * - the connmark mark is given as `0x00000001` (3.3.17), as the Go code passes it.
 *
 * Requires root and `ip`, `iptables-restore`, `ip6tables-restore`.
 *
 * @example
 * ```ts ignore
 * const prev = await addMacvlanNic(w.node, pod, { ifname: "eth0", addrs, gateways });
 * const made = await originalAdd(w.node, pod, { containerId: cid, ifname: "eth0" }, AGENT_37);
 * const check = await cni(w.node, "CHECK", confOfAgent("net", "log", AGENT_37), call, prev);
 * ```
 *
 * @module
 */

import type { IpAddrLink, IpLink, IpRoute } from "../../mod/kernel/ip_json.ts";
import { parseAddrs, parseLinks, parseRouteGet, parseRoutes } from "../../mod/kernel/ip_json.ts";
import {
  canonicalIp,
  familyOf,
  isDefaultDst,
  isLinkLocalOrMulticast,
  parseIp,
} from "../../mod/ip.ts";
import { exec, type TestNetns } from "./netns.ts";
import { itConf } from "./world.ts";

/**
 * The cluster settings the original gets from the spiderpool-agent (spec 2.2),
 * after its merge with an empty CNI config (2.3, 2.4).
 */
export interface OriginalAgent {
  serviceCIDR: string[];
  overlayPodCIDR: string[];
  hijackCIDR: string[];
  /** "" = none. */
  podMACPrefix: string;
  tunePodRoutes: boolean;
  hostRuleTable: number;
  /** -1: not written. */
  podRPFilter: number;
  /** Only 0: the original would set it on a node link (8.1-1). */
  txQueueLen: number;
  vethMTU: number;
  /** The CNI config's `podDefaultCniNic` (default "eth0"). */
  podDefaultCniNic: string;
  /**
   * `podDefaultRouteNIC`: the pod annotation `ipam.spidernet.io/default-route-nic`,
   * else the SpiderCoordinator's (2.2); "" = none.
   */
  podDefaultRouteNic: string;
}

/** The agent payload of the world of 3.7 (and the defaults of 3.6). */
export const AGENT_37: OriginalAgent = {
  serviceCIDR: ["10.233.0.0/18"],
  overlayPodCIDR: ["10.233.64.0/18"],
  hijackCIDR: ["169.254.20.10/32"],
  podMACPrefix: "",
  tunePodRoutes: true,
  hostRuleTable: 500,
  podRPFilter: 0,
  txQueueLen: 0,
  vethMTU: 1500,
  podDefaultCniNic: "eth0",
  podDefaultRouteNic: "",
};

/** The agent payload of example 3 of 3.6 (dual stack, podMACPrefix `0a:1b`, no hijack CIDR). */
export const AGENT_3A: OriginalAgent = {
  ...AGENT_37,
  serviceCIDR: ["10.233.0.0/18", "fd00:10:233::/116"],
  overlayPodCIDR: ["10.233.64.0/18", "fd00:10:233:64::/64"],
  hijackCIDR: [],
  podMACPrefix: "0a:1b",
};

/**
 * The CNI config of this plugin that the agent payload implies (what a NAD
 * gets when the cluster's SpiderCoordinator settings move into the config):
 * {@linkcode itConf} with every field of the payload.
 *
 * @param name the network name
 * @param log the log file's base name
 * @param agent the payload
 * @returns the config (cniVersion 1.0.0)
 */
export function confOfAgent(name: string, log: string, agent: OriginalAgent) {
  return {
    ...itConf(name, log),
    serviceCIDR: agent.serviceCIDR,
    overlayPodCIDR: agent.overlayPodCIDR,
    hijackCIDR: agent.hijackCIDR,
    ...(agent.podMACPrefix === "" ? {} : { podMACPrefix: agent.podMACPrefix }),
    tunePodRoutes: agent.tunePodRoutes,
    hostRuleTable: agent.hostRuleTable,
    podRPFilter: agent.podRPFilter,
    txQueueLen: agent.txQueueLen,
    vethMTU: agent.vethMTU,
    podDefaultCniNic: agent.podDefaultCniNic,
    ...(agent.podDefaultRouteNic === "" ? {} : { podDefaultRouteNic: agent.podDefaultRouteNic }),
  };
}

/** What {@linkcode originalAdd} made, for the tests to break and to find. */
export interface OriginalPod {
  mode: "underlay" | "overlay";
  firstInvoke: boolean;
  /** currentRuleTable (3.2). */
  table: number;
  /** `veth0`, or `eth0` in overlay mode. */
  podVeth: string;
  /** The node end: `veth<cid11>`, or eth0's peer in overlay mode. */
  hostVeth: string;
  /** The MACs of the two ends (random for a pair the original made). */
  podVethMac: string;
  hostVethMac: string;
  /** The current NIC's addresses (family-filtered). */
  current: string[];
  /** hostIPRouteForPod (3.3.3). */
  nodeIps: string[];
  /** The NIC's MAC after podMACPrefix (undefined: unchanged). */
  mac?: string;
}

type Family = 4 | 6;
type PodFamily = "v4" | "v6" | "dual";

/**
 * One `ip -batch` line, the error it may end with (the original ignores it),
 * and whether it needs an `ip -6` process (a rule without an address).
 */
interface Line {
  line: string;
  ok?: RegExp;
  six?: true;
}

const EXISTS = /^RTNETLINK answers: File exists$/;
const GONE = /^(RTNETLINK answers: No such process|Error: FIB table does not exist\.)$/;

/**
 * Run lines in a netns with `ip -force -batch`, one process per run of lines
 * of the same family switch, in order: every line runs, like the Go code's
 * calls one by one; an error is fine only where the original ignores it.
 */
async function ipLines(ns: TestNetns, lines: readonly (string | Line)[]): Promise<void> {
  const all = lines.map((l) => (typeof l === "string" ? { line: l } : l));
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j]!.six === all[i]!.six) j++;
    await ipRun(ns, all.slice(i, j));
    i = j;
  }
}

async function ipRun(ns: TestNetns, lines: readonly Line[]): Promise<void> {
  const six = lines[0]?.six ? ["-6"] : [];
  const res = await exec(["ip", ...six, "-n", ns.name, "-force", "-batch", "-"], {
    stdin: lines.map((l) => l.line).join("\n") + "\n",
    allowFail: true,
  });
  const bad: string[] = [];
  let said: string[] = [];
  for (const text of res.stderr.split("\n").map((t) => t.trim()).filter((t) => t !== "")) {
    const m = /^Command failed -:(\d+)$/.exec(text);
    if (m === null) {
      said.push(text);
      continue;
    }
    const l = lines[Number(m[1]) - 1];
    const why = said.join(" ");
    said = [];
    if (l?.ok === undefined || !l.ok.test(why)) bad.push(`"${l?.line}": ${why}`);
  }
  if (bad.length > 0 || (res.code !== 0 && res.stderr.trim() === "")) {
    throw new Error(`The original's ip lines failed in ${ns.name}: ${bad.join("; ")}`);
  }
}

/** An `ip -j` answer; `ip` prints `[]` for an empty list, so no output is an error, not "none". */
async function ipJson(ns: TestNetns, args: readonly string[]): Promise<unknown> {
  const out = await ns.ip(["-j", ...args]);
  if (out.trim() === "") throw new Error(`"ip -j ${args.join(" ")}" in ${ns.name} printed nothing`);
  return JSON.parse(out);
}

function hasFamily(f: PodFamily, v: Family): boolean {
  return f === "dual" || f === (v === 4 ? "v4" : "v6");
}

/** Addresses of a link (link-local and multicast left out), family-filtered, in dump order. */
function addrsOf(addrs: readonly IpAddrLink[], ifname: string, f?: PodFamily): string[] {
  return (addrs.find((a) => a.ifname === ifname)?.addr_info ?? [])
    .filter((i) => i.family === "inet" || i.family === "inet6")
    .map((i) => canonicalIp(i.local))
    .filter((ip) => !isLinkLocalOrMulticast(ip))
    .filter((ip) => f === undefined || hasFamily(f, familyOf(ip)));
}

/** 6 random bytes, locally administered and unicast (3.3.4 step 1). */
function randomMac(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  b[0] = (b[0]! | 0x02) & 0xfe;
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
}

/** podMACPrefix + the last 4 bytes of the address (3.3.8). */
function macOfPrefix(prefix: string, ip: string): string {
  const bytes = parseIp(ip)!.bytes;
  const tail = Array.from(bytes.subarray(bytes.length - 4), (x) => x.toString(16).padStart(2, "0"));
  return [prefix.toLowerCase(), ...tail].join(":");
}

/** Node links whose addresses are not node IPs for the pod (3.3.3). */
const EXCLUDED =
  /^(docker.*|cbr.*|dummy.*|virbr.*|lxcbr.*|veth.*|lo|cali.*|flannel.*|kube-ipvs.*|cni.*|vx-submariner)$|^ciliu/;

/** hostIPRouteForPod: the node's route sources to every pod IP, then its other addresses (3.3.3). */
async function nodeIpsForPod(
  node: TestNetns,
  podIps: readonly string[],
  f: PodFamily,
): Promise<string[]> {
  const out: string[] = [];
  const add = (ip: string | undefined) => {
    if (ip === undefined) return;
    const c = canonicalIp(ip);
    if (hasFamily(f, familyOf(c)) && !out.includes(c)) out.push(c);
  };
  for (const ip of podIps) {
    add(parseRouteGet(await ipJson(node, ["route", "get", ip]))?.prefsrc);
  }
  const nodeAddrs = parseAddrs(await ipJson(node, ["addr", "show"]));
  for (const l of nodeAddrs) {
    if (!EXCLUDED.test(l.ifname)) { for (const ip of addrsOf(nodeAddrs, l.ifname, f)) add(ip); }
  }
  return out;
}

function upLinks(links: readonly IpLink[]): IpLink[] {
  return links.filter((l) => ["UP", "BROADCAST", "MULTICAST"].every((x) => l.flags.includes(x)));
}

const host = (ip: string) => `${ip}/${familyOf(ip) === 4 ? 32 : 128}`;
const defaultOf = (f: Family) => (f === 4 ? "0.0.0.0/0" : "::/0");

/**
 * The original's ADD of one NIC (3.1 steps 5 to 19), after its main CNI: the
 * mode as `auto` resolves it (3.2), then the veth pair or the overlay NIC's
 * peer, the MAC, the sysctls, the neighbours, the routes, the rules, the
 * mangle rules and the route tuning, each as the spec says.
 *
 * @param node the node netns (the original's host netns)
 * @param pod the pod netns, its NIC(s) made by the main CNI(s)
 * @param call CNI_CONTAINERID and CNI_IFNAME
 * @param agent the agent payload
 * @returns what was made
 */
export async function originalAdd(
  node: TestNetns,
  pod: TestNetns,
  call: { containerId: string; ifname: string },
  agent: OriginalAgent,
): Promise<OriginalPod> {
  if (agent.txQueueLen !== 0) {
    throw new Error("The original sets txQueueLen on a node link (8.1-1): not modelled");
  }
  const { ifname } = call;
  const first = agent.podDefaultCniNic;
  // Step 5: the current NIC up.
  await ipLines(pod, [`link set ${ifname} up`]);
  const links = parseLinks(await ipJson(pod, ["-d", "link", "show"]));
  let addrs = parseAddrs(await ipJson(pod, ["addr", "show"]));
  // Step 4 (HEAD): the family from the NIC's addresses.
  const nicAll = addrsOf(addrs, ifname);
  const family: PodFamily = nicAll.some((ip) => familyOf(ip) === 4)
    ? (nicAll.some((ip) => familyOf(ip) === 6) ? "dual" : "v4")
    : "v6";
  const families = ([4, 6] as const).filter((f) => hasFamily(family, f));
  // Step 6 (3.2): auto.
  const vethExists = links.some((l) => l.ifname === "veth0");
  const mode = ifname === first || vethExists ? "underlay" : "overlay";
  const up = upLinks(links).length;
  const firstInvoke = mode === "underlay" ? ifname === first : up === 2;
  const table = firstInvoke ? 101 : mode === "underlay" ? up + 98 : up + 99;
  // Step 7: the inventory.
  const allPodIps = addrs.filter((a) => a.ifname !== "lo").flatMap((a) =>
    addrsOf(addrs, a.ifname, family)
  );
  const nodeIps = await nodeIpsForPod(node, allPodIps, family);
  // Step 8: the veth pair (underlay, first NIC), or eth0's peer (overlay).
  let podVeth: string;
  let hostVeth: string;
  if (mode === "underlay") {
    podVeth = "veth0";
    hostVeth = `veth${call.containerId.slice(0, 11)}`;
    if (firstInvoke) await originalVeth(node, pod, podVeth, hostVeth, agent.vethMTU);
  } else {
    podVeth = "eth0";
    const peer = links.find((l) => l.ifname === "eth0")?.link_index;
    const nodeLinks = parseLinks(await ipJson(node, ["link", "show"]));
    const h = nodeLinks.find((l) => l.ifindex === peer);
    if (h === undefined) throw new Error("The original finds no peer of eth0 on the node");
    hostVeth = h.ifname;
  }
  // Step 9: currentAddress.
  const current = addrsOf(addrs, ifname, family);
  // Step 10: the fixed MAC, set while the NIC is up (3.3.8); no announce modelled.
  const mac = agent.podMACPrefix === "" ? undefined : macOfPrefix(agent.podMACPrefix, nicAll[0]!);
  if (mac !== undefined) await ipLines(pod, [`link set ${ifname} address ${mac}`]);
  // Step 12: sysctls on `all` only (3.3.12).
  if (family !== "v4") pod.setSysctl("net.ipv6.conf.all.disable_ipv6", 0);
  if (agent.podRPFilter !== -1) pod.setSysctl("net.ipv4.conf.all.rp_filter", agent.podRPFilter);
  // Step 13: neighbours (3.3.13).
  const macOf = async (ns: TestNetns, dev: string) =>
    parseLinks(await ipJson(ns, ["link", "show", dev]))[0]!.address!;
  const podVethMac = await macOf(pod, podVeth);
  const hostVethMac = await macOf(node, hostVeth);
  const nodeLines: (string | Line)[] = [];
  for (const ip of current) nodeLines.push({ line: `neigh flush to ${ip} nud all` });
  for (const ip of current) {
    nodeLines.push({
      line: `neigh add ${ip} lladdr ${podVethMac} dev ${hostVeth} nud permanent`,
      ok: EXISTS,
    });
  }
  const podLines: (string | Line)[] = [];
  if (firstInvoke) {
    for (const h of nodeIps) {
      podLines.push({
        line: `neigh add ${h} lladdr ${hostVethMac} dev ${podVeth} nud permanent`,
        ok: EXISTS,
      });
    }
  }
  // Step 14: the source hint, eth0's first IPv4, whatever the mode (3.3.14).
  const src4 = addrsOf(addrs, "eth0", "v4")[0];
  const src = (ip: string) => (familyOf(ip) === 4 && src4 !== undefined ? ` src ${src4}` : "");
  // Step 15: host routes in the pod; the shared rule and the table routes on the node.
  for (const h of nodeIps) {
    const scope = familyOf(h) === 4 ? " scope link" : "";
    const route = `route add ${host(h)} dev ${podVeth}${scope}${src(h)}`;
    podLines.push({ line: `${route} table ${table}`, ok: EXISTS });
    if (firstInvoke) podLines.push({ line: route, ok: EXISTS });
  }
  for (const f of families) {
    nodeLines.push({
      line: `rule add from all lookup ${agent.hostRuleTable} pref 1000`,
      ok: EXISTS,
      ...(f === 6 ? { six: true as const } : {}),
    });
  }
  for (const ip of current) {
    nodeLines.push({ line: `route del ${host(ip)} table ${agent.hostRuleTable}`, ok: GONE });
    const scope = familyOf(ip) === 4 ? " scope link" : "";
    nodeLines.push(`route add ${host(ip)} dev ${hostVeth}${scope} table ${agent.hostRuleTable}`);
  }
  // Step 16: hijack routes (3.3.16).
  const gw = (f: Family) => (hasFamily(family, f) ? nodeIps.find((h) => familyOf(h) === f) : "");
  for (const cidr of [...agent.overlayPodCIDR, ...agent.serviceCIDR, ...agent.hijackCIDR]) {
    const f = familyOf(cidr.split("/")[0]!);
    const via = gw(f);
    if (!via) continue; // a warning in the original
    const where = firstInvoke ? "" : ` table ${table}`;
    podLines.push({
      line: `route add ${cidr} via ${via} dev ${podVeth}${src(cidr)}${where}`,
      ok: EXISTS,
    });
  }
  // Step 17: the reply path of an underlay first NIC (3.3.17).
  const mangle = mode === "underlay" && firstInvoke;
  if (mangle) {
    for (const f of families) {
      podLines.push({
        line: "rule add fwmark 0x1 lookup 100 pref 1000",
        ok: EXISTS,
        ...(f === 6 ? { six: true as const } : {}),
      });
      const via = gw(f) ? ` via ${gw(f)}` : "";
      const hint = f === 4 && src4 !== undefined ? ` src ${src4}` : "";
      podLines.push({
        line: `route add ${defaultOf(f)}${via} dev veth0${hint} table 100`,
        ok: EXISTS,
      });
    }
  }
  await ipLines(node, nodeLines);
  await ipLines(pod, podLines);
  if (mangle) { for (const f of families) await originalMangle(pod, f); }
  // Step 18: route tuning (3.3.18).
  if (agent.tunePodRoutes && (!firstInvoke || mode === "overlay")) {
    addrs = parseAddrs(await ipJson(pod, ["addr", "show"]));
    await originalTune(pod, {
      ifname,
      family,
      mode,
      firstInvoke,
      table,
      current,
      addrs,
      cfg: agent.podDefaultRouteNic,
    });
  }
  return {
    mode,
    firstInvoke,
    table,
    podVeth,
    hostVeth,
    podVethMac,
    hostVethMac,
    current,
    nodeIps,
    ...(mac === undefined ? {} : { mac }),
  };
}

/**
 * A pod as the distribution gives it to the CNIs: the pods of 3.7 had
 * rp_filter 2 on `all`, `default` and every link before the coordinator ran
 * (3.7.1 "Sysctls observed"). Call it once the main CNIs' NICs exist, so
 * that what the original leaves (only `all` changed, `veth0` inheriting
 * `default`'s 2) is what CHECK sees.
 *
 * @param pod the pod netns
 */
export async function distroRpFilter(pod: TestNetns): Promise<void> {
  const links = parseLinks(await ipJson(pod, ["link", "show"]));
  for (const n of ["all", "default", ...links.map((l) => l.ifname).filter((l) => l !== "lo")]) {
    pod.setSysctl(`net.ipv4.conf.${n}.rp_filter`, 2);
  }
}

/** The veth pair of 3.3.4: made in the pod, txqueuelen 0, random MACs, accept_ra 0 on the node end. */
async function originalVeth(
  node: TestNetns,
  pod: TestNetns,
  podVeth: string,
  hostVeth: string,
  mtu: number,
): Promise<void> {
  const [podMac, hostMac] = [randomMac(), randomMac()];
  await ipLines(pod, [
    `link add ${podVeth} address ${podMac} mtu ${mtu} txqueuelen 0 type veth ` +
    `peer name ${hostVeth} mtu ${mtu} txqueuelen 0 netns ${node.name}`,
  ]);
  await ipLines(node, [`link set ${hostVeth} up`]);
  node.setSysctl(`net.ipv6.conf.${hostVeth}.accept_ra`, 0);
  await ipLines(pod, [`link set ${podVeth} up`]);
  await ipLines(node, [`link set ${hostVeth} address ${hostMac}`]);
}

/** The three connmark rules of 3.3.17, check-then-append in the Go code: appended once here. */
async function originalMangle(pod: TestNetns, f: Family): Promise<void> {
  const script = [
    "*mangle",
    "-A PREROUTING -i veth0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x00000001",
    "-A PREROUTING -m mark --mark 0x1 -j CONNMARK --save-mark",
    "-A OUTPUT -j CONNMARK --restore-mark",
    "COMMIT",
    "",
  ].join("\n");
  await pod.exec([f === 4 ? "iptables-restore" : "ip6tables-restore", "--noflush"], {
    stdin: script,
  });
}

const isDefault = (r: IpRoute) => isDefaultDst(r.dst);

/** `from <ip> lookup <table>` without a priority (`ip rule` needs `-6` for an IPv6 source). */
function ruleFrom(ip: string, table: number): Line {
  const line = `rule add from ${ip} lookup ${table}`;
  return familyOf(ip) === 6 ? { line, six: true } : { line };
}

/** `ip route` words for a route's gateway, scope and source, as the Go copy keeps them. */
function copyWords(r: IpRoute, keepSrc: boolean): string {
  const scope = r.family === 4 && r.scope !== undefined && r.scope !== "global" &&
      r.scope !== "universe"
    ? ` scope ${r.scope}`
    : "";
  const src = keepSrc && r.prefsrc !== undefined ? ` src ${r.prefsrc}` : "";
  return `${r.gateway === undefined ? "" : ` via ${r.gateway}`}${scope}${src}`;
}

/** tunePodRoutes (3.3.18): the default-route NIC, `from` rules without priority, the moves. */
async function originalTune(pod: TestNetns, t: {
  ifname: string;
  family: PodFamily;
  mode: "underlay" | "overlay";
  firstInvoke: boolean;
  table: number;
  current: readonly string[];
  addrs: readonly IpAddrLink[];
  /** podDefaultRouteNic ("" = none). */
  cfg: string;
}): Promise<void> {
  const links = parseLinks(await ipJson(pod, ["link", "show"]));
  const main = parseRoutes(await ipJson(pod, ["route", "show", "table", "main"]))
    .concat(parseRoutes(await ipJson(pod, ["-6", "route", "show", "table", "main"])))
    .filter((r) => hasFamily(t.family, r.family));
  // A: the first link by ifindex (not lo, not this NIC) holding a default route or a nexthop.
  const defNic = [...links].sort((a, b) => a.ifindex - b.ifindex).find((l) =>
    l.ifname !== "lo" && l.ifname !== t.ifname &&
    main.some((r) =>
      (isDefault(r) && r.dev === l.ifname) || (r.nexthops ?? []).some((n) => n.dev === l.ifname)
    )
  )?.ifname;
  if (defNic === undefined) return; // "podDefaultRouteNIC no found in pod, ignore tuneRoutes"
  // B: which NIC gives up its routes.
  let cfg = t.cfg;
  let moveIf = t.ifname;
  if (cfg === "" || cfg === defNic) cfg = defNic;
  else if (!links.some((l) => l.ifname === cfg)) {
    throw new Error(`podDefaultRouteNIC: ${cfg} don't exist in pod`);
  } else moveIf = defNic;
  // C: rules without priority (the kernel picks).
  const lines: (string | Line)[] = [];
  const defAddrs = addrsOf(t.addrs, defNic, t.family);
  if (cfg === t.ifname) {
    for (const ip of defAddrs) lines.push(ruleFrom(ip, t.table));
  } else {
    for (const ip of t.current) lines.push(ruleFrom(ip, t.table));
  }
  if (cfg !== t.ifname && t.mode === "overlay" && t.firstInvoke) {
    for (const ip of defAddrs) {
      lines.push(ruleFrom(ip, 100));
    }
    // The copy-only variant: eth0's default routes into table 100.
    for (const r of main.filter((r) => isDefault(r) && r.dev === "eth0")) {
      lines.push({
        line: `route add ${defaultOf(r.family)}${copyWords(r, false)} dev eth0 table 100`,
        ok: EXISTS,
      });
    }
  }
  // D: moveIf's main routes: a default one moves, the others are copied.
  for (const r of main) {
    if (r.dst === "fe80::/64") continue;
    if (r.dev === moveIf) {
      const dst = isDefault(r) ? defaultOf(r.family) : r.dst;
      lines.push({
        line: `route add ${dst}${copyWords(r, !isDefault(r))} dev ${moveIf} table ${t.table}`,
        ok: EXISTS,
      });
      if (isDefault(r)) {
        const via = r.gateway === undefined ? "" : ` via ${r.gateway}`;
        lines.push(`route del ${dst}${via} dev ${moveIf} table main`);
      }
    } else if (r.dev === undefined) {
      for (const nh of (r.nexthops ?? []).filter((n) => n.dev === moveIf)) {
        const via = nh.gateway === undefined ? "" : ` via ${nh.gateway}`;
        lines.push(
          {
            line: `route add ${defaultOf(r.family)}${via} dev ${moveIf} table ${t.table}`,
            ok: EXISTS,
          },
          `route del ${defaultOf(r.family)}${via} dev ${moveIf} table main`,
        );
      }
    }
  }
  await ipLines(pod, lines);
}
