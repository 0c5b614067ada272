/**
 * The node checks of `coordinator doctor` (and, their cheap part, of STATUS)
 * as pure evaluators: each takes what was read and gives one
 * {@linkcode Finding}: OK / WARN / FAIL, what was found and the remedy. The
 * reads are in `./gather.ts`; the readiness checks STATUS shares in `./ready.ts`.
 *
 * One file (about 540 lines): the evaluators are one table of small rules
 * over the same facts, each short; split, they would only scatter it.
 *
 * @example
 * ```ts
 * import { evalNeighHeadroom } from "./checks.ts";
 * if (evalNeighHeadroom(1024, 1000).level !== "WARN") throw new Error("headroom");
 * ```
 *
 * @module
 */

import type { IpLink, IpRoute, IpRule } from "../kernel/ip_json.ts";
import { REPLY_TABLE, RULE_PRIORITY } from "../plan/mode.ts";
import { REPLY_MARK } from "../plan/underlay.ts";

/** How bad a finding is: FAIL makes doctor exit 1 (and STATUS answer 50). */
export type Level = "OK" | "WARN" | "FAIL";

/** One line of doctor. */
export interface Finding {
  /** Stable name of the check. */
  id: string;
  level: Level;
  found: string;
  /** What to do (empty for OK). */
  remedy: string;
}

function ok(id: string, found: string): Finding {
  return { id, level: "OK", found, remedy: "" };
}

/**
 * The tools the plugin starts.
 *
 * @param missing the tools not found (or `ip` that would not run, with why)
 * @returns the finding
 */
export function evalTools(missing: readonly string[]): Finding {
  if (missing.length === 0) return ok("tools", "ip, iptables-restore, ip6tables-restore present");
  return {
    id: "tools",
    level: "FAIL",
    found: `missing: ${missing.join("; ")}`,
    remedy: "install iproute2 and iptables (both backends' restore tools) on the node's PATH",
  };
}

/**
 * The state directory must be writable and the lock takeable.
 *
 * @param dir the state directory
 * @param problems what went wrong
 * @returns the finding
 */
export function evalStateDir(dir: string, problems: readonly string[]): Finding {
  if (problems.length === 0) return ok("state-dir", `${dir} writable, host lock free`);
  return {
    id: "state-dir",
    level: "FAIL",
    found: problems.join("; "),
    remedy: `make ${dir} and /run/cni writable for the plugin (root, not read-only)`,
  };
}

/**
 * The iptables backend the plugin uses against the one kube-proxy's rules are in.
 *
 * @param version `iptables -V` output (undefined: did not run)
 * @param natSave `iptables-save -t nat` output of that backend
 * @returns the finding
 */
export function evalIptablesBackend(version: string | undefined, natSave: string): Finding {
  const id = "iptables-backend";
  if (version === undefined) {
    return {
      id,
      level: "WARN",
      found: "iptables -V did not run",
      remedy: "install iptables",
    };
  }
  const backend = /nf_tables/.test(version) ? "nft" : /legacy/.test(version) ? "legacy" : "?";
  const kube = /KUBE-/.test(natSave);
  // iptables-nft-save warns "# Warning: iptables-legacy tables present, use iptables-legacy-save".
  const other = /iptables-(legacy|nft) tables present/.test(natSave);
  if (kube) return ok(id, `${backend}; kube-proxy's rules are in it`);
  if (other) {
    return {
      id,
      level: "WARN",
      found: `${backend} has no KUBE- rules, the other backend has tables`,
      remedy:
        "rules in one backend are invisible to the other: switch iptables (update-alternatives) to the backend kube-proxy uses",
    };
  }
  return ok(id, `${backend}; no kube-proxy rules found (none running or IPVS/nft mode)`);
}

/** A file read under --root. */
export interface FileText {
  path: string;
  text: string;
}

/**
 * NetworkManager managing the plugin's veths rewrites or removes their addresses.
 *
 * @param running NetworkManager is running
 * @param confs NetworkManager.conf and conf.d/*.conf
 * @returns the finding
 */
export function evalNetworkManager(running: boolean, confs: readonly FileText[]): Finding {
  const id = "networkmanager";
  if (!running) return ok(id, "NetworkManager not running");
  const rule = confs.find((f) =>
    f.text.split("\n").some((l) =>
      /^\s*unmanaged-devices\s*=/.test(l) && /interface-name:\s*veth\*/.test(l)
    )
  );
  if (rule) return ok(id, `NetworkManager running; ${rule.path} leaves veth* unmanaged`);
  return {
    id,
    level: "WARN",
    found: "NetworkManager running without a rule that leaves veth* unmanaged",
    remedy:
      "add /etc/NetworkManager/conf.d/coordinator.conf with [keyfile] unmanaged-devices=interface-name:veth* and reload NetworkManager",
  };
}

/** `[Section] Key=Value` pairs of a systemd unit file (last one wins). */
function unitKeys(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let section = "";
  for (const raw of text.split("\n")) {
    const l = raw.trim();
    if (l === "" || l.startsWith("#") || l.startsWith(";")) continue;
    const s = /^\[(.+)\]$/.exec(l);
    if (s) {
      section = s[1]!;
      continue;
    }
    const i = l.indexOf("=");
    if (i > 0) out.set(`${section}.${l.slice(0, i).trim()}`, l.slice(i + 1).trim());
  }
  return out;
}

/**
 * systemd-udev's link policy: `MACAddressPolicy=persistent` in the .link file
 * that matches veths rewrites the MAC the plugin gave them.
 *
 * @param links the .link files in systemd's search order, each name once (the
 *   first directory of /etc, /run, /usr/lib, /lib that holds it), sorted by name
 * @returns the finding
 */
export function evalLinkPolicy(links: readonly FileText[]): Finding {
  const id = "link-policy";
  // udev applies the first file (by name) whose [Match] matches; a veth is
  // matched by OriginalName=*, Kind=veth, Driver=veth or OriginalName=veth*.
  for (const f of [...links].sort((a, b) => base(a.path).localeCompare(base(b.path)))) {
    const k = unitKeys(f.text);
    const name = k.get("Match.OriginalName");
    const kind = k.get("Match.Kind") ?? k.get("Match.Driver");
    const matches = (name !== undefined && (name === "*" || /(^|\s)veth\*?/.test(name))) ||
      kind === "veth";
    if (!matches) continue;
    const policy = k.get("Link.MACAddressPolicy");
    if (policy === "persistent" || policy === "random") {
      return {
        id,
        level: "WARN",
        found: `${f.path} sets MACAddressPolicy=${policy} for veths`,
        remedy:
          "add /etc/systemd/network/10-coordinator-veth.link with [Match] OriginalName=veth* and [Link] MACAddressPolicy=none",
      };
    }
    return ok(id, `${f.path} leaves veth MACs alone`);
  }
  return ok(id, "no .link file matches veths");
}

function base(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Strict reverse-path filtering (1) drops the underlay's asymmetric traffic
 * on the node's uplinks; the kernel uses the larger of `all` and the link's value.
 *
 * @param all net.ipv4.conf.all.rp_filter
 * @param uplinks the links of the node's default routes and their rp_filter
 * @returns the finding
 */
export function evalRpFilter(
  all: number | undefined,
  uplinks: readonly { ifname: string; value: number | undefined }[],
): Finding {
  const id = "rp_filter";
  const strict = uplinks.filter((u) => Math.max(all ?? 0, u.value ?? 0) === 1);
  const seen = [`all=${all ?? "?"}`, ...uplinks.map((u) => `${u.ifname}=${u.value ?? "?"}`)];
  if (strict.length === 0) return ok(id, seen.join(", "));
  return {
    id,
    level: "WARN",
    found: `strict rp_filter (${seen.join(", ")}) on ${strict.map((s) => s.ifname).join(", ")}`,
    remedy:
      "set rp_filter to 0 or 2 (loose) on `all` and the uplinks (sysctl -w net.ipv4.conf.<if>.rp_filter=2)",
  };
}

/**
 * The plugin's node rule `1000: from all lookup <hostRuleTable>` and its
 * table: another rule at priority 1000, or another rule or route in that
 * table, means other software uses them.
 *
 * @param rules IPv4 and IPv6 node rules
 * @param routes node routes of every table
 * @param hostRuleTable the table (500)
 * @returns the finding
 */
export function evalHostTable(
  rules: readonly IpRule[],
  routes: readonly IpRoute[],
  hostRuleTable: number,
): Finding {
  const id = "host-rule-table";
  const t = String(hostRuleTable);
  const ours = (r: IpRule) =>
    r.priority === RULE_PRIORITY && r.table === t && r.src === "all" && r.fwmark === undefined &&
    r.dst === undefined;
  const foreign = rules.filter((r) => !ours(r) && (r.priority === RULE_PRIORITY || r.table === t));
  const badRoutes = routes.filter((r) => r.table === t && !/^veth/.test(r.dev ?? ""));
  if (foreign.length === 0 && badRoutes.length === 0) {
    return ok(id, `priority ${RULE_PRIORITY} and table ${t} used by this plugin only`);
  }
  const found = [
    ...foreign.map((r) => `rule "${ruleText(r)}"`),
    ...badRoutes.map((r) => `route "${r.dst} dev ${r.dev ?? "?"} table ${t}"`),
  ];
  return {
    id,
    level: "FAIL",
    found: `used by something else: ${found.join(", ")}`,
    remedy:
      `give the coordinator another hostRuleTable, or move the other software off priority ${RULE_PRIORITY} / table ${t}`,
  };
}

function ruleText(r: IpRule): string {
  const mark = r.fwmark === undefined ? "" : ` fwmark ${r.fwmark}`;
  const src = r.srclen === undefined ? r.src : `${r.src}/${r.srclen}`;
  return `${r.priority}: from ${src}${mark} lookup ${r.table ?? "?"}`;
}

/**
 * Table 100 and fwmark 0x1 are the pod's reply path; on the node they are
 * someone else's, and a pod's marked reply would meet that software's rules.
 *
 * @param rules node rules
 * @param routes node routes
 * @returns the finding
 */
export function evalReplyMark(rules: readonly IpRule[], routes: readonly IpRoute[]): Finding {
  const id = "reply-table";
  const t = String(REPLY_TABLE);
  const marked = rules.filter((r) => r.fwmark === REPLY_MARK || r.table === t);
  const inTable = routes.filter((r) => r.table === t);
  if (marked.length === 0 && inTable.length === 0) {
    return ok(id, `table ${t} and fwmark ${REPLY_MARK} unused on the node`);
  }
  return {
    id,
    level: "WARN",
    found: `in use on the node: ${
      [
        ...marked.map((r) => `rule "${ruleText(r)}"`),
        ...inTable.map((r) => `route "${r.dst} table ${t}"`),
      ].join(", ")
    }`,
    remedy:
      `check that the software using table ${t} / fwmark ${REPLY_MARK} (Cilium, kube-router, a VPN) does not meet pod traffic`,
  };
}

/**
 * Neighbour table headroom: the plugin adds PERMANENT neighbours, which the
 * kernel never collects; at gc_thresh3 new entries fail.
 *
 * @param thresh3 net.ipv4.neigh.default.gc_thresh3
 * @param permanent PERMANENT entries now
 * @returns the finding
 */
export function evalNeighHeadroom(thresh3: number | undefined, permanent: number): Finding {
  const id = "neigh-headroom";
  if (thresh3 === undefined) return ok(id, `${permanent} PERMANENT neighbours, gc_thresh3 unknown`);
  const found = `${permanent} PERMANENT neighbours of gc_thresh3 ${thresh3}`;
  if (permanent < thresh3 * 0.8) return ok(id, found);
  return {
    id,
    level: permanent >= thresh3 ? "FAIL" : "WARN",
    found,
    remedy:
      "raise net.ipv4.neigh.default.gc_thresh3 (and net.ipv6.neigh.default.gc_thresh3) above the pods' needs",
  };
}

/** A state file as doctor reads it. */
export interface StateSeen {
  path: string;
  netns: string;
  hostVeth: string;
  /** The netns is gone. */
  gone: boolean;
}

/**
 * What GC would remove: state files whose netns is gone, host veths named
 * like ours with no state, and hostRuleTable routes to a link that is not a veth.
 *
 * @param states the state files
 * @param links node links
 * @param routes node routes
 * @param hostRuleTable the table (500)
 * @returns three findings
 */
export function evalOrphans(
  states: readonly StateSeen[],
  links: readonly IpLink[],
  routes: readonly IpRoute[],
  hostRuleTable: number,
): Finding[] {
  const goneStates = states.filter((s) => s.gone);
  const known = new Set(states.map((s) => s.hostVeth));
  const ourName = /^veth[0-9a-f]{11}$/;
  const strays = links.filter((l) => ourName.test(l.ifname) && !known.has(l.ifname));
  const t = String(hostRuleTable);
  const veths = new Set(
    links.filter((l) => l.linkinfo?.info_kind === "veth" || ourName.test(l.ifname)).map((l) =>
      l.ifname
    ),
  );
  const strayRoutes = routes.filter((r) =>
    r.table === t && /^veth/.test(r.dev ?? "") && !veths.has(r.dev ?? "")
  );
  const gc = "run the runtime's CNI GC (or DEL the attachments) to remove them";
  return [
    goneStates.length === 0
      ? ok("orphan-state", `${states.length} state file(s), every netns present`)
      : {
        id: "orphan-state",
        level: "WARN",
        found: `state files whose netns is gone: ${
          goneStates.map((s) => `${s.path} (${s.netns})`).join(", ")
        }`,
        remedy: gc,
      },
    strays.length === 0 ? ok("orphan-veth", "every veth named like ours has state") : {
      id: "orphan-veth",
      level: "WARN",
      found: `host veths with no state: ${strays.map((l) => l.ifname).join(", ")}`,
      remedy: `${gc}; or delete them (ip link del <name>) if no pod uses them`,
    },
    strayRoutes.length === 0 ? ok("orphan-route", `table ${t} routes all reach a veth`) : {
      id: "orphan-route",
      level: "WARN",
      found: `table ${t} routes to no veth: ${
        strayRoutes.map((r) => `${r.dst} dev ${r.dev}`).join(", ")
      }`,
      remedy: gc,
    },
  ];
}

/**
 * The plugin installed, and the configs that name it parse.
 *
 * @param binDir the CNI bin dir
 * @param binPresent `coordinator` is in it
 * @param confs each config naming the coordinator, with its parse error
 * @returns two findings
 */
export function evalInstall(
  binDir: string,
  binPresent: boolean,
  confs: readonly { path: string; error?: string }[],
): Finding[] {
  const bad = confs.filter((c) => c.error !== undefined);
  return [
    binPresent ? ok("cni-bin", `${binDir}/coordinator present`) : {
      id: "cni-bin",
      level: "FAIL",
      found: `${binDir}/coordinator missing`,
      remedy: "install the binary (deploy/install.sh, or the DaemonSet) into the CNI bin dir",
    },
    bad.length === 0 ? ok("cni-conf", `${confs.length} config(s) naming coordinator parse`) : {
      id: "cni-conf",
      level: "FAIL",
      found: bad.map((c) => `${c.path}: ${c.error}`).join("; "),
      remedy: "fix the config (coordinator explain shows what a config does)",
    },
  ];
}

/** A rule on the node's forward path that drops packets conntrack calls INVALID. */
export interface InvalidDrop {
  family: 4 | 6;
  chain: string;
  /** The rule as `iptables-save` prints it. */
  rule: string;
}

const IFACE = /(^|\s)(!\s+)?-[io]\s/;

/**
 * The rules of `iptables-save -t filter` (or ip6tables-save) output that drop conntrack
 * INVALID packets on the forward path: in FORWARD or a chain it jumps to, following only
 * jumps that hold for every interface. A rule or jump limited to interfaces (`-i`/`-o`, as
 * Calico's per-workload chains are) is left out.
 *
 * @param save the save output (other tables in it are ignored)
 * @param family which family it is of
 * @returns the dropping rules, in the order they were found
 */
export function invalidDrops(save: string, family: 4 | 6): InvalidDrop[] {
  const chains = new Map<string, string[]>();
  let inFilter = false;
  for (const line of save.split("\n")) {
    if (line.startsWith("*")) inFilter = line.trim() === "*filter";
    const m = /^-A (\S+) /.exec(line);
    if (!inFilter || !m) continue;
    chains.set(m[1]!, [...(chains.get(m[1]!) ?? []), line.trim()]);
  }
  const out: InvalidDrop[] = [];
  const seen = new Set<string>();
  const walk = (chain: string) => {
    if (seen.has(chain)) return;
    seen.add(chain);
    for (const rule of chains.get(chain) ?? []) {
      if (IFACE.test(rule)) continue;
      if (/\s-j DROP\b/.test(rule) && /--(ct)?state (\S+,)?INVALID\b/.test(rule)) {
        out.push({ family, chain, rule });
      }
      const target = /\s-[jg] (\S+)/.exec(rule)?.[1];
      if (target !== undefined && chains.has(target)) walk(target);
    }
  };
  walk("FORWARD");
  return out;
}

/**
 * Whether `iptables-save -t filter` output holds the filter table: a read that worked prints
 * it even when it has no rule (its built-in chains), so output without it is a read that
 * failed (no permission, no iptables), never a table without an INVALID drop.
 *
 * @param save the save output (stdout and stderr)
 * @returns the filter table was read
 */
export function filterTableRead(save: string): boolean {
  return /^\*filter\s*$/m.test(save);
}

/** Options of {@linkcode evalInvalidDrop}. */
export interface InvalidDropOptions {
  /** The families whose filter table could not be read ({@linkcode filterTableRead}). */
  unread?: readonly (4 | 6)[];
}

/**
 * A rule dropping conntrack INVALID packets on the forward path (kube-proxy's iptables mode
 * writes `-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP`) breaks TCP between an
 * underlay pod and an overlay pod on another node: that path crosses this node one way
 * only (out by the pod's veth0 and the hijack route, back straight over the underlay, or
 * the other way round), so conntrack never sees the handshake complete and calls every
 * later packet INVALID. `nf_conntrack_tcp_be_liberal=1` does not change that (it relaxes
 * the window check, not the state table; docs/network.md has the measurements); kube-proxy
 * 1.29+ leaves the rule out while it is 1, its nftables mode never writes one.
 *
 * A family whose filter table could not be read is never taken as one without the rule: with
 * no rule found elsewhere, the finding is a WARN that says what could not be read.
 *
 * @param drops the rules found ({@linkcode invalidDrops}), both families
 * @param liberal net.netfilter.nf_conntrack_tcp_be_liberal (undefined: no conntrack)
 * @param opts the families not read
 * @returns the finding
 */
export function evalInvalidDrop(
  drops: readonly InvalidDrop[],
  liberal: number | undefined,
  opts: InvalidDropOptions = {},
): Finding {
  const id = "conntrack-invalid";
  const setting = `net.netfilter.nf_conntrack_tcp_be_liberal=${liberal ?? "?"}`;
  const unread = opts.unread ?? [];
  const notRead = unread.length === 0
    ? ""
    : `; the filter table of ${unread.map((f) => `IPv${f}`).join(", ")} could not be read`;
  if (drops.length === 0 && unread.length > 0) {
    return {
      id,
      level: "WARN",
      found:
        `whether a rule drops conntrack INVALID packets on the forward path is unknown${notRead} (iptables-save -t filter; ${setting})`,
      remedy:
        "run coordinator doctor as root in the node's network namespace, with iptables installed",
    };
  }
  if (drops.length === 0) return ok(id, `no INVALID drop on the forward path (${setting})`);
  const rules = [...new Set(drops.map((d) => d.rule))].map((r) => `"${r}"`).join(", ");
  const families = [...new Set(drops.map((d) => `IPv${d.family}`))].join(", ");
  const found = `conntrack INVALID dropped on the forward path: ${rules} (${families})${notRead}`;
  const path =
    'TCP between an underlay pod and an overlay pod on another node crosses this node one way only and is dropped here (docs/network.md, "Two nodes")';
  if (liberal === 1) {
    return {
      id,
      level: "WARN",
      found: `${found} although ${setting}`,
      remedy:
        `${path}; the setting alone does not let it through (conntrack's state table, not its window check, calls those packets INVALID): kube-proxy before 1.29 writes the rule whatever the setting, so upgrade it (1.29+ leaves the rule out while the setting is 1) or run it in nftables mode; if other software wrote the rule, remove it there`,
    };
  }
  return {
    id,
    level: "WARN",
    found: `${found}; ${setting}`,
    remedy:
      `${path}: set net.netfilter.nf_conntrack_tcp_be_liberal=1 (kube-proxy: conntrack.tcpBeLiberal: true) and restart kube-proxy 1.29 or later, which then leaves the rule out; or run kube-proxy in nftables mode`,
  };
}
