/**
 * `coordinator doctor`'s reads, then the evaluators of `./checks.ts` and
 * `./cluster.ts`. Files (NetworkManager, systemd .link files, the CNI bin and
 * conf dirs, the node defaults file) are read under `root`, so tests can plant
 * them; kernel state (links, routes, rules, neighbours, sysctls, iptables,
 * nftables) is read in the current netns; state files under the state dir
 * (`COORDINATOR_STATE_DIR`). Read-only.
 *
 * Processes: `ip -V` (readiness), one `ip -j -batch` (addresses, for kube-ipvs0's;
 * links, routes of both families, IPv4 rules, neighbours) and one `ip -6 -j
 * -batch` (the IPv6 rules) beside it, `iptables -V`, `iptables-save -t
 * filter`, `ip6tables-save -t filter`, and kube-proxy's rules
 * (`./cluster_reads.ts`: `iptables-save -t nat`, `ip6tables-save -t nat`,
 * `nft -j list table ip kube-proxy`, `nft -j list table ip6 kube-proxy`, and
 * the legacy backend's saves when iptables says it has tables), all at once.
 *
 * @module
 */

import { DEFAULTS_FILE, DEFAULTS_FILE_ENV } from "../config/defaults.ts";
import { parseConfig } from "../config/parse.ts";
import { errorMessage } from "../errors.ts";
import { run } from "../kernel/exec.ts";
import { READ } from "../kernel/intent.ts";
import type { IpLink, IpNeigh, IpRoute, IpRule } from "../kernel/ip_json.ts";
import { runIp } from "../kernel/iproute.ts";
import { netnsId, NetnsNotFoundError } from "../kernel/netns.ts";
import { stateDir } from "../kernel/state.ts";
import { readSysctls } from "../kernel/sysctl.ts";
import {
  evalHostTable,
  evalInstall,
  evalInvalidDrop,
  evalIptablesBackend,
  evalLinkPolicy,
  evalNeighHeadroom,
  evalNetworkManager,
  evalOrphans,
  evalReplyMark,
  evalRpFilter,
  type FileText,
  filterTableRead,
  type Finding,
  invalidDrops,
  type StateSeen,
} from "./checks.ts";
import { readyChecks } from "./ready.ts";
import { type ClusterFacts, clusterFacts, evalPodCidr, evalServiceCidr } from "./cluster.ts";
import { CLUSTER_READS, ipUnread, readKubeProxyRules } from "./cluster_reads.ts";
import { type ConfEntry, effectiveConfig } from "./effective.ts";

/** Options of {@linkcode runDoctor}. */
export interface DoctorOptions {
  /** Files are read under this directory (default "/"). */
  root?: string;
  /** The CNI bin dir, under root (default /opt/cni/bin). */
  binDir?: string;
  /** The CNI conf dir, under root (default /etc/cni/net.d). */
  confDir?: string;
  /** The node defaults file (default: COORDINATOR_DEFAULTS_FILE, else the usual path under root). */
  defaultsFile?: string;
  /** The coordinator entry of a conflist, plugin config or NAD, over the defaults file. */
  conf?: ConfEntry;
}

/**
 * The node defaults file doctor reads: `COORDINATOR_DEFAULTS_FILE` when set
 * (as ADD reads it), else `/etc/cni/net.d/coordinator.d/defaults.json` under `root`.
 *
 * @param root the directory files are read under
 * @returns the path
 */
export function doctorDefaultsPath(root = "/"): string {
  return Deno.env.get(DEFAULTS_FILE_ENV) || under(root, DEFAULTS_FILE);
}

function under(root: string, path: string): string {
  return root === "/" ? path : `${root.replace(/\/$/, "")}${path}`;
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    // Missing or unreadable: not there for doctor.
    return undefined;
  }
}

function listDir(dir: string, suffix: RegExp): string[] {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => !e.isDirectory && suffix.test(e.name))
      .map((e) => `${dir}/${e.name}`).sort();
  } catch {
    // A missing directory holds nothing.
    return [];
  }
}

function files(paths: readonly string[]): FileText[] {
  return paths.flatMap((path) => {
    const text = readText(path);
    return text === undefined ? [] : [{ path, text }];
  });
}

/** NetworkManager: running (its pid file) and its config files. */
function networkManager(root: string): { running: boolean; confs: FileText[] } {
  const pid = [
    "/run/NetworkManager/NetworkManager.pid",
    "/var/run/NetworkManager/NetworkManager.pid",
  ]
    .some((p) => readText(under(root, p)) !== undefined);
  const confs = files([
    under(root, "/etc/NetworkManager/NetworkManager.conf"),
    ...[
      "/usr/lib/NetworkManager/conf.d",
      "/run/NetworkManager/conf.d",
      "/etc/NetworkManager/conf.d",
    ]
      .flatMap((d) => listDir(under(root, d), /\.conf$/)),
  ]);
  return { running: pid, confs };
}

/** The .link files by name, the first of /etc, /run, /usr/lib, /lib winning. */
function linkFiles(root: string): FileText[] {
  const byName = new Map<string, string>();
  for (
    const d of [
      "/etc/systemd/network",
      "/run/systemd/network",
      "/usr/lib/systemd/network",
      "/lib/systemd/network",
    ]
  ) {
    for (const p of listDir(under(root, d), /\.link$/)) {
      const name = p.slice(p.lastIndexOf("/") + 1);
      if (!byName.has(name)) byName.set(name, p);
    }
  }
  return files([...byName.values()]);
}

/** The configs under confDir that name the coordinator, parsed. */
function cniConfs(dir: string): { path: string; error?: string; hostRuleTable?: number }[] {
  const out: { path: string; error?: string; hostRuleTable?: number }[] = [];
  for (const path of listDir(dir, /\.(conflist|conf|json)$/)) {
    const text = readText(path) ?? "";
    if (!/"coordinator"/.test(text)) continue;
    try {
      const raw = JSON.parse(text) as Record<string, unknown>;
      const plugins = Array.isArray(raw["plugins"]) ? raw["plugins"] : [raw];
      for (const p of plugins as Record<string, unknown>[]) {
        if (p?.["type"] !== "coordinator") continue;
        const conf = parseConfig({ cniVersion: raw["cniVersion"], name: raw["name"], ...p });
        out.push({ path, hostRuleTable: conf.hostRuleTable });
      }
    } catch (err) {
      out.push({ path, error: errorMessage(err) });
    }
  }
  return out;
}

/** The state files of every network, with whether their netns is gone. */
function states(): StateSeen[] {
  const out: StateSeen[] = [];
  const root = stateDir();
  let nets: Deno.DirEntry[] = [];
  try {
    nets = [...Deno.readDirSync(root)].filter((e) => e.isDirectory);
  } catch {
    // No state dir: no ADD yet.
  }
  for (const n of nets) {
    for (const path of listDir(`${root}/${n.name}`, /\.json$/)) {
      try {
        const s = JSON.parse(readText(path) ?? "null") as { netns?: string; hostVeth?: string };
        if (typeof s?.netns !== "string") continue;
        let gone = false;
        try {
          netnsId(s.netns);
        } catch (err) {
          gone = err instanceof NetnsNotFoundError;
        }
        out.push({ path, netns: s.netns, hostVeth: s.hostVeth ?? "", gone });
      } catch {
        // A corrupt file: GC ignores it too.
      }
    }
  }
  return out;
}

/**
 * The two cluster CIDR findings against the effective configuration, or one
 * FAIL naming the file when that configuration does not parse.
 */
function clusterChecks(opts: DoctorOptions, facts: ClusterFacts): Finding[] {
  try {
    const eff = effectiveConfig({
      defaultsFile: opts.defaultsFile ?? doctorDefaultsPath(opts.root ?? "/"),
      ...(opts.conf === undefined ? {} : { conf: opts.conf }),
    });
    return [evalServiceCidr(eff.conf, facts, eff.source), evalPodCidr(eff.conf, facts, eff.source)];
  } catch (err) {
    return [{
      id: "cluster-config",
      level: "FAIL",
      found: errorMessage(err),
      remedy: "fix the file (coordinator defaults --check FILE names the field)",
    }];
  }
}

/**
 * Run every check.
 *
 * @param opts where files are read
 * @returns the findings, in a stable order
 */
export async function runDoctor(opts: DoctorOptions = {}): Promise<Finding[]> {
  const root = opts.root ?? "/";
  const findings: Finding[] = await readyChecks();
  // Exit codes 1-4: a table the kernel lacks, no permission; read as nothing there.
  const save = (argv: string[]) =>
    run(argv, { okCodes: [0, 1, 2, 3, 4] }).then((r) => r.stdout + r.stderr, () => "");
  const [batch, ver, kube, filter4, filter6] = await Promise.all([
    runIp({
      before: {
        ...CLUSTER_READS,
        links: READ.links(),
        rules4: READ.rules(4),
        rules6: READ.rules(6),
        neigh: READ.neighs(true),
      },
    }).catch((err: unknown) => errorMessage(err)),
    run(["iptables", "-V"]).then((r) => r.stdout + r.stderr, () => undefined),
    readKubeProxyRules(),
    save(["iptables-save", "-t", "filter"]),
    save(["ip6tables-save", "-t", "filter"]),
  ]);
  // A read that failed reads as empty (its answer is empty), as a node without them.
  const ip = typeof batch === "string" ? undefined : batch.before;
  const links: IpLink[] = ip?.links ?? [];
  const routes: IpRoute[] = ip?.routes ?? [];
  const neigh: IpNeigh[] = ip?.neigh ?? [];
  const rules: IpRule[] = [...ip?.rules4 ?? [], ...ip?.rules6 ?? []];

  findings.push(evalIptablesBackend(ver, kube.nat4));
  const facts = clusterFacts({
    ...kube,
    unread: [...kube.unread, ...ipUnread(batch)],
    routes,
    ipvs: ip?.ipvs ?? [],
  });
  findings.push(...clusterChecks(opts, facts));
  const nm = networkManager(root);
  findings.push(evalNetworkManager(nm.running, nm.confs));
  findings.push(evalLinkPolicy(linkFiles(root)));

  const uplinks = [
    ...new Set(
      routes.filter((r) => (r.table ?? "main") === "main" && r.dst === "default")
        .flatMap((r) => [r.dev, ...(r.nexthops ?? []).map((n) => n.dev)])
        .filter((d): d is string => d !== undefined),
    ),
  ].sort();
  const keys = [
    "net.ipv4.conf.all.rp_filter",
    ...uplinks.map((u) => `net.ipv4.conf.${u}.rp_filter`),
    "net.ipv4.neigh.default.gc_thresh3",
    "net.netfilter.nf_conntrack_tcp_be_liberal",
  ];
  const sys = readSysctls(keys);
  const num = (k: string) => {
    const v = sys.get(k);
    return v === undefined ? undefined : Number(v);
  };
  findings.push(
    evalRpFilter(
      num("net.ipv4.conf.all.rp_filter"),
      uplinks.map((ifname) => ({ ifname, value: num(`net.ipv4.conf.${ifname}.rp_filter`) })),
    ),
  );
  const confs = cniConfs(under(root, opts.confDir ?? "/etc/cni/net.d"));
  const hostRuleTable = confs.find((c) => c.hostRuleTable !== undefined)?.hostRuleTable ?? 500;
  findings.push(evalHostTable(rules, routes, hostRuleTable));
  findings.push(evalReplyMark(rules, routes));
  findings.push(evalNeighHeadroom(num("net.ipv4.neigh.default.gc_thresh3"), neigh.length));
  const filters = [{ family: 4, save: filter4 }, { family: 6, save: filter6 }] as const;
  findings.push(
    evalInvalidDrop(
      filters.flatMap((f) => invalidDrops(f.save, f.family)),
      num("net.netfilter.nf_conntrack_tcp_be_liberal"),
      { unread: filters.filter((f) => !filterTableRead(f.save)).map((f) => f.family) },
    ),
  );
  findings.push(...evalOrphans(states(), links, routes, hostRuleTable));
  const binDir = under(root, opts.binDir ?? "/opt/cni/bin");
  let bin = false;
  try {
    bin = Deno.statSync(`${binDir}/coordinator`).isFile;
  } catch {
    // Missing.
  }
  findings.push(...evalInstall(binDir, bin, confs));
  return findings;
}
