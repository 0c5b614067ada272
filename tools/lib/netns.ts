/**
 * One file: namespaces, veth builders and readback snapshots share the naming and the clean-up.
 *
 * Throwaway network namespaces for the privileged tests, the demo and the
 * benchmarks: uniquely named netns that are always removed, commands inside
 * them, and readback snapshots of their network state (links, addresses,
 * routes in all tables, rules, neighbours, iptables, sysctls) that can be
 * compared and diffed.
 *
 * Everything that uses them builds its world inside namespaces created here
 * and never touches the machine's own interfaces, routes, rules or sysctls.
 *
 * @example
 * ```ts ignore
 * await using ns = await createNetns("pod");
 * await ns.ip(["link", "set", "lo", "up"]);
 * const snap = await readback(ns);
 * ```
 *
 * @module
 */

import type { IpAddrLink, IpLink } from "../../mod/kernel/ip_json.ts";
import { inNetns } from "../../mod/kernel/netns.ts";
import { pollUntil } from "./poll.ts";

const decoder = new TextDecoder();

/** The result of one command run by the helpers. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode exec}. */
export interface ExecOptions {
  /** Text for stdin. */
  stdin?: string;
  /** Do not throw on a non-zero exit code. */
  allowFail?: boolean;
}

/**
 * Run a command (argument array, no shell) in the test process's netns.
 *
 * @param argv command and arguments
 * @param opts stdin and failure handling
 * @returns exit code, stdout, stderr
 */
export async function exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error("exec() needs a command");
  const child = new Deno.Command(cmd, {
    args,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const res = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  if (res.code !== 0 && !opts.allowFail) {
    throw new Error(
      `Command "${argv.join(" ")}" failed with exit code ${res.code}: ${res.stderr.trim()}`,
    );
  }
  return res;
}

/** A throwaway named netns; `await using` deletes it. */
export interface TestNetns extends AsyncDisposable {
  /** The name under /var/run/netns. */
  readonly name: string;
  /** `/var/run/netns/<name>`. */
  readonly path: string;
  /** Run `argv` inside the netns (`ip netns exec`). */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Run `ip <args>` inside the netns and return stdout. */
  ip(args: readonly string[], opts?: ExecOptions): Promise<string>;
  /** Read a sysctl (dotted or slashed key under /proc/sys) inside the netns. */
  sysctl(key: string): string;
  /** Write a sysctl inside the netns. */
  setSysctl(key: string, value: string | number): void;
  /** Delete the netns now (idempotent). */
  destroy(): Promise<void>;
}

function randomSuffix(): string {
  const b = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function sysctlPath(key: string): string {
  return "/proc/sys/" + (key.includes("/") ? key : key.replaceAll(".", "/"));
}

/**
 * Create a uniquely named netns (`<prefix>-<random>`) with `lo` up.
 * Requires root.
 *
 * @param prefix short name prefix (the whole name stays well below 32 chars)
 * @returns the netns handle; dispose it (or call destroy) to delete it
 */
export async function createNetns(prefix = "t"): Promise<TestNetns> {
  const name = `ct-${prefix}-${randomSuffix()}`;
  await exec(["ip", "netns", "add", name]);
  let gone = false;
  const ns: TestNetns = {
    name,
    path: `/var/run/netns/${name}`,
    exec: (argv, opts) => exec(["ip", "netns", "exec", name, ...argv], opts),
    ip: async (args, opts) => (await exec(["ip", "-n", name, ...args], opts)).stdout,
    sysctl: (key) =>
      inNetns(`/var/run/netns/${name}`, () => Deno.readTextFileSync(sysctlPath(key)).trim()),
    setSysctl: (key, value) =>
      inNetns(
        `/var/run/netns/${name}`,
        () => Deno.writeTextFileSync(sysctlPath(key), `${value}\n`),
      ),
    destroy: async () => {
      if (gone) return;
      gone = true;
      await exec(["ip", "netns", "del", name], { allowFail: true });
    },
    [Symbol.asyncDispose]: () => ns.destroy(),
  };
  try {
    await ns.ip(["link", "set", "lo", "up"]);
  } catch (err) {
    await ns.destroy();
    throw err;
  }
  return ns;
}

/** Options of {@linkcode addVethPair}. */
export interface VethPairOptions {
  /** MAC address of the first end. */
  aMac?: string;
  /** MAC address of the second end. */
  bMac?: string;
  /** Which ends to set up: both (the default) or only the first. */
  up?: "both" | "a";
  /** Runs after the pair is created and before any end is set up. */
  beforeUp?: () => unknown;
}

/**
 * Create a veth pair with one end in each netns (names given), both set up
 * unless `opts.up` says otherwise.
 *
 * @param a netns of the first end
 * @param aName name of the first end
 * @param b netns of the second end
 * @param bName name of the second end
 * @param opts MAC addresses, which ends to set up, a hook before that
 */
export async function addVethPair(
  a: TestNetns,
  aName: string,
  b: TestNetns,
  bName: string,
  opts: VethPairOptions = {},
): Promise<void> {
  const aMac = opts.aMac === undefined ? [] : ["address", opts.aMac];
  const bMac = opts.bMac === undefined ? [] : ["address", opts.bMac];
  await a.ip([
    "link",
    "add",
    aName,
    ...aMac,
    "type",
    "veth",
    "peer",
    "name",
    bName,
    ...bMac,
    "netns",
    b.name,
  ]);
  await opts.beforeUp?.();
  await a.ip(["link", "set", aName, "up"]);
  if (opts.up !== "a") {
    await b.ip(["link", "set", bName, "up"]);
    await waitLinkReady(a, aName);
    await waitLinkReady(b, bName);
  }
}

/**
 * Wait until a link that was set up can send: operstate UP and its qdisc
 * attached. `ip link set up` returns before the kernel's link watch (a work
 * queue, late on a busy machine) has done both, and until then the link
 * drops what is sent on it (the "noop" qdisc).
 *
 * @param ns its netns
 * @param ifname its name
 * @throws {PollTimeoutError} after 20 s, with the link's last state
 */
export async function waitLinkReady(ns: IpRunner, ifname: string): Promise<void> {
  type LinkState = IpLink & { operstate?: string; qdisc?: string };
  await pollUntil(
    `${ifname} in ${ns.path} to be ready to send (operstate UP, a qdisc attached)`,
    async () =>
      (await ipJson<LinkState[]>(ns, [
        "link",
        "show",
        "dev",
        ifname,
      ]))[0],
    {
      until: (l) => l?.operstate === "UP" && l.qdisc !== undefined && l.qdisc !== "noop",
      intervalMs: 10,
      show: (l) =>
        l === undefined
          ? "no such link"
          : `operstate ${l.operstate}, qdisc ${l.qdisc}, flags ${l.flags.join(",")}`,
    },
  );
}

/** Two throwaway netns joined by a veth pair; `await using` deletes both. */
export interface LinkedNetns extends AsyncDisposable {
  /** The netns of the first end. */
  a: TestNetns;
  /** The netns of the second end. */
  b: TestNetns;
}

/** Options of {@linkcode createLinkedNetns}. */
export interface LinkedNetnsOptions extends Omit<VethPairOptions, "beforeUp"> {
  /** Runs after the pair is created and before any end is set up. */
  beforeUp?: (a: TestNetns, b: TestNetns) => unknown;
  /** Runs after the pair is up; a failure deletes both netns. */
  setup?: (a: TestNetns, b: TestNetns) => Promise<unknown>;
}

/**
 * Create two netns joined by a veth pair (see {@linkcode addVethPair}); when
 * any step fails, both are deleted again.
 *
 * @param a prefix of the first netns and the name of its end
 * @param b prefix of the second netns and the name of its end
 * @param opts the pair's options and a set-up step
 * @returns both netns; dispose to delete them (second first)
 */
export async function createLinkedNetns(
  a: { prefix: string; ifname: string },
  b: { prefix: string; ifname: string },
  opts: LinkedNetnsOptions = {},
): Promise<LinkedNetns> {
  const nsA = await createNetns(a.prefix);
  let nsB: TestNetns | undefined;
  try {
    const created = nsB = await createNetns(b.prefix);
    const { beforeUp, setup, ...veth } = opts;
    await addVethPair(nsA, a.ifname, created, b.ifname, {
      ...veth,
      ...(beforeUp === undefined ? {} : { beforeUp: () => beforeUp(nsA, created) }),
    });
    await setup?.(nsA, created);
  } catch (err) {
    await nsB?.destroy();
    await nsA.destroy();
    throw err;
  }
  const done = nsB;
  return {
    a: nsA,
    b: done,
    [Symbol.asyncDispose]: async () => {
      await done.destroy();
      await nsA.destroy();
    },
  };
}

/** A process that keeps a netns alive; dispose it (or `release()`) to end it. */
export interface NetnsPin extends AsyncDisposable {
  /** The process's PID: `/proc/<pid>/ns/net` is the pinned netns. */
  readonly pid: number;
  /** End the process (idempotent). */
  release(): Promise<void>;
}

function nsInode(path: string): string | undefined {
  try {
    const st = Deno.statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * Keep the netns at `path` alive with a process of its own (`nsenter
 * --net=<path> sleep`), as a leaked bind mount or a lingering process of a
 * runtime would, and return once that process is in it (its
 * `/proc/<pid>/ns/net` is the netns at `path`); a caller may then remove
 * `path` or end the netns' other processes.
 *
 * @param path the netns, e.g. `/var/run/netns/<name>` or `/proc/<pid>/ns/net`
 * @returns the pin
 * @throws {PollTimeoutError} when the process is not in the netns within 30 s
 */
export async function pinNetns(path: string): Promise<NetnsPin> {
  const want = nsInode(path);
  if (want === undefined) throw new Error(`No netns at "${path}" to pin`);
  const child = new Deno.Command("nsenter", {
    args: [`--net=${path}`, "sleep", "3600"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let ended: Deno.CommandStatus | undefined;
  const status = child.status.then((st) => ended = st);
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already ended */ }
    await status;
    await child.stderr.cancel().catch(() => {});
  };
  try {
    await pollUntil(`nsenter (PID ${child.pid}) to be in the netns ${path}`, async () => {
      if (ended !== undefined) {
        const stderr = await new Response(child.stderr).text().catch(() => "");
        throw new Error(`nsenter --net=${path} exited (${ended.code}): ${stderr.trim()}`);
      }
      return nsInode(`/proc/${child.pid}/ns/net`);
    }, { until: (ino) => ino === want, timeoutMs: 30_000, intervalMs: 5 });
  } catch (err) {
    await release();
    throw err;
  }
  return { pid: child.pid, release, [Symbol.asyncDispose]: release };
}

/** A snapshot of a netns' network state, as sorted text lines per section. */
export interface Snapshot {
  /** `name kind=.. mac=.. mtu=.. txqlen=.. flags=.. [peer-ifindex]` */
  links: string[];
  /** `ifname family address/prefix scope` (IPv6 link-local left out). */
  addrs: string[];
  /** `ip -4 route show table all` minus kernel-owned local/broadcast/multicast entries. */
  routes4: string[];
  /** `ip -6 route show table all` minus local, fe80::/64, multicast; "pref medium" stripped. */
  routes6: string[];
  rules4: string[];
  rules6: string[];
  /** `ip neigh show nud permanent` (both families). */
  neigh: string[];
  /** `iptables-save` without comments and counters. */
  iptables: string[];
  ip6tables: string[];
  /** Selected sysctls `key=value` for all, default and every link. */
  sysctls: string[];
}

const SYSCTL_V4 = ["rp_filter", "forwarding", "arp_notify", "proxy_arp", "accept_local"];
const SYSCTL_V6 = ["disable_ipv6", "accept_ra", "accept_dad", "forwarding"];

function lines(s: string): string[] {
  return s.split("\n").map((l) => l.trimEnd()).filter((l) => l.length > 0);
}

function keepRoute(line: string, v6: boolean): boolean {
  if (/\btable local\b/.test(line)) return false;
  if (/^(broadcast|local|multicast|anycast) /.test(line)) return false;
  if (v6 && /^(fe80::\/64|ff00::\/8|multicast ff)/.test(line)) return false;
  return true;
}

function iptablesLines(s: string): string[] {
  return lines(s)
    .filter((l) => !l.startsWith("#") && l !== "COMMIT")
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ""));
}

/**
 * Parse the answer of an `ip -j` command. `ip -j` prints at least `[]`, so an
 * empty answer is an answer that was lost, never an empty state: it is an
 * error, as is text that is not JSON (both with the raw answer).
 *
 * @param answer stdout of `ip -j ...`
 * @param what the command, for the message
 * @returns the parsed JSON
 */
export function parseIpJson<T>(answer: string, what: string): T {
  if (answer.trim() === "") {
    throw new Error(`"${what}" exited 0 and printed nothing (ip -j prints at least "[]")`);
  }
  try {
    return JSON.parse(answer) as T;
  } catch (err) {
    throw new Error(`"${what}" printed no JSON: ${JSON.stringify(answer.slice(0, 2000))}`, {
      cause: err,
    });
  }
}

/** Anything that runs `ip` in a netns: a {@linkcode TestNetns} or a {@linkcode netnsAt} view. */
export interface IpRunner {
  /** `/var/run/netns/<name>` or `/proc/<pid>/ns/net`. */
  readonly path: string;
  /** Run `ip <args>` inside the netns and return stdout. */
  ip(args: readonly string[], opts?: ExecOptions): Promise<string>;
}

/**
 * `ip -j <args>` inside a netns, parsed; an empty answer is an error
 * ({@linkcode parseIpJson}).
 *
 * @param ns where to run it
 * @param args the arguments after `-j`
 * @returns the parsed JSON
 */
export async function ipJson<T>(ns: IpRunner, args: readonly string[]): Promise<T> {
  return parseIpJson<T>(await ns.ip(["-j", ...args]), `ip -j ${args.join(" ")} in ${ns.path}`);
}

/** A netns known only by its path (a container's `/proc/<pid>/ns/net`), entered with nsenter. */
export interface NetnsView extends IpRunner {
  /** Run `argv` inside the netns (`nsenter --net=<path>`). */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
}

/**
 * Commands in the netns at `path` through `nsenter --net=<path>` (iproute2's
 * `ip -n` only resolves names under /var/run/netns). Reads there see the
 * kernel's state directly, with nothing between the kernel and the answer
 * but a pipe.
 *
 * @param path a netns path, e.g. `/proc/<pid>/ns/net`
 * @returns the view
 */
export function netnsAt(path: string): NetnsView {
  const run = (argv: readonly string[], opts?: ExecOptions) =>
    exec(["nsenter", `--net=${path}`, ...argv], opts);
  return {
    path,
    exec: run,
    ip: async (args, opts) => (await run(["ip", ...args], opts)).stdout,
  };
}

/**
 * Read back the whole network state of a netns.
 *
 * @param ns the netns
 * @returns sorted sections
 */
export async function readback(ns: TestNetns): Promise<Snapshot> {
  const ipj = (args: string[]) => ipJson(ns, args);
  const [linksJ, addrsJ, r4, r6, ru4, ru6, n4, n6, ipt, ip6t] = await Promise.all([
    ipj(["-d", "link", "show"]) as Promise<IpLink[]>,
    ipj(["addr", "show"]) as Promise<IpAddrLink[]>,
    ns.ip(["-4", "route", "show", "table", "all"]),
    ns.ip(["-6", "route", "show", "table", "all"]),
    ns.ip(["-4", "rule", "show"]),
    ns.ip(["-6", "rule", "show"]),
    ns.ip(["-4", "neigh", "show", "nud", "permanent"]),
    ns.ip(["-6", "neigh", "show", "nud", "permanent"]),
    ns.exec(["iptables-save"], { allowFail: true }),
    ns.exec(["ip6tables-save"], { allowFail: true }),
  ]);
  const links = linksJ.map((l) => {
    const kind = l.linkinfo?.info_kind ?? "none";
    const mode = l.linkinfo?.info_data?.["mode"];
    return `${l.ifname} kind=${kind}${mode ? ` mode=${String(mode)}` : ""} mac=${
      l.address ?? ""
    } mtu=${l.mtu} ` +
      `txqlen=${l.txqlen ?? 0} flags=${[...l.flags].sort().join(",")}`;
  });
  const addrs = addrsJ.flatMap((a) =>
    a.addr_info
      .filter((i) => !(i.family === "inet6" && i.scope === "link"))
      .map((i) => `${a.ifname} ${i.family} ${i.local}/${i.prefixlen} scope ${i.scope}`)
  );
  const sysctls: string[] = [];
  const names = ["all", "default", ...linksJ.map((l) => l.ifname)];
  inNetns(ns.path, () => {
    for (const n of names) {
      for (const k of SYSCTL_V4) {
        try {
          sysctls.push(
            `ipv4.${n}.${k}=${Deno.readTextFileSync(`/proc/sys/net/ipv4/conf/${n}/${k}`).trim()}`,
          );
        } catch { /* key absent for this link */ }
      }
      for (const k of SYSCTL_V6) {
        try {
          sysctls.push(
            `ipv6.${n}.${k}=${Deno.readTextFileSync(`/proc/sys/net/ipv6/conf/${n}/${k}`).trim()}`,
          );
        } catch { /* key absent for this link */ }
      }
    }
    sysctls.push(
      `ipv4.ip_forward=${Deno.readTextFileSync("/proc/sys/net/ipv4/ip_forward").trim()}`,
    );
  });
  return {
    links: links.sort(),
    addrs: addrs.sort(),
    routes4: lines(r4).filter((l) => keepRoute(l, false)).sort(),
    routes6: lines(r6).filter((l) => keepRoute(l, true)).map((l) => l.replace(/ pref medium$/, ""))
      .sort(),
    rules4: lines(ru4),
    rules6: lines(ru6),
    neigh: [...lines(n4), ...lines(n6)].sort(),
    iptables: iptablesLines(ipt.stdout),
    ip6tables: iptablesLines(ip6t.stdout),
    sysctls: sysctls.sort(),
  };
}

/** Lines added and removed in each section between two snapshots. */
export type SnapshotDiff = Partial<Record<keyof Snapshot, { added: string[]; removed: string[] }>>;

/**
 * Compare two snapshots section by section (multiset difference).
 *
 * @param before the earlier snapshot
 * @param after the later snapshot
 * @returns only the sections that differ
 */
export function diffSnapshots(before: Snapshot, after: Snapshot): SnapshotDiff {
  const out: SnapshotDiff = {};
  for (const key of Object.keys(before) as (keyof Snapshot)[]) {
    const a = [...before[key]];
    const b = [...after[key]];
    const removed: string[] = [];
    for (const l of a) {
      const i = b.indexOf(l);
      if (i >= 0) b.splice(i, 1);
      else removed.push(l);
    }
    if (removed.length > 0 || b.length > 0) out[key] = { added: b, removed };
  }
  return out;
}

/**
 * Whether the test can build netns worlds: root and `ip` present.
 *
 * @returns a reason to ignore privileged tests, or undefined when they can run
 */
export function privilegedSkipReason(): string | undefined {
  if (Deno.uid() !== 0) return "needs root";
  for (const tool of ["/usr/sbin/ip", "/usr/bin/ip", "/sbin/ip", "/bin/ip"]) {
    try {
      Deno.statSync(tool);
      return undefined;
    } catch { /* try next */ }
  }
  return "needs iproute2 (ip)";
}

/**
 * Where a tool is on PATH.
 *
 * @param name binary name
 * @returns its path in the first PATH directory that has it, or undefined
 */
export function whichTool(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    try {
      Deno.statSync(`${dir}/${name}`);
      return `${dir}/${name}`;
    } catch { /* next */ }
  }
  return undefined;
}

/**
 * Whether a tool is on PATH.
 *
 * @param name binary name
 * @returns true when found
 */
export function hasTool(name: string): boolean {
  return whichTool(name) !== undefined;
}

/**
 * Whether `dst` answers a ping from `ns` within 5 s. ping sends one echo
 * request a second until one is answered (`-c 1 -w 5`), so a first request
 * lost while a link just set up still settles (its qdisc is attached by the
 * kernel's link watch, later on a busy machine) does not count as no path.
 *
 * @param ns where to ping from
 * @param dst the address
 * @returns true on a reply
 */
export async function ping(ns: TestNetns, dst: string): Promise<boolean> {
  return (await ns.exec(["ping", "-c", "1", "-w", "5", dst], { allowFail: true })).code === 0;
}

/**
 * The MAC address of a link.
 *
 * @param ns its netns
 * @param ifname its name
 * @returns the address
 */
export async function macOf(ns: IpRunner, ifname: string): Promise<string> {
  const [link] = await ipJson<IpLink[]>(ns, ["link", "show", ifname]);
  if (link?.address === undefined) throw new Error(`No MAC address of "${ifname}" in ${ns.path}`);
  return link.address;
}
