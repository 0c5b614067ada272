/**
 * The reads of the cluster CIDR checks (`./cluster.ts`), shared by `coordinator
 * doctor` (`./gather.ts`, in its one ip batch) and `coordinator defaults
 * --check / --suggest` ({@linkcode readClusterFacts}): kube-proxy's rules of
 * every mode as the node's own tools print them, and the ip batch's reads of
 * the addresses (kube-ipvs0's) and routes (the overlay CNI's pod blocks).
 * Read-only; what could not be read is named, never taken as empty.
 *
 * Processes: `iptables-save -t nat`, `ip6tables-save -t nat`, `nft -j list
 * table ip kube-proxy`, `nft -j list table ip6 kube-proxy` (and
 * `iptables-legacy-save` / `ip6tables-legacy-save -t nat` when iptables says
 * the legacy backend has tables), all at once; {@linkcode readClusterFacts}
 * adds one `ip -j -batch`. Requires root for the rules and `--allow-run` of
 * those tools (mod/permissions.ts).
 *
 * @module
 */

import { CommandError, errorMessage } from "../errors.ts";
import { run } from "../kernel/exec.ts";
import { READ } from "../kernel/intent.ts";
import { failureMessage, type IpFailure, runIp } from "../kernel/iproute.ts";
import { type ClusterFacts, clusterFacts } from "./cluster.ts";

/** One read of kube-proxy's rules: the output, or why there is none. */
interface Read {
  text: string;
  /** Set when the tool could not give an answer (not installed, no permission). */
  why?: string;
}

/** Every exit code: {@linkcode readTool} sorts them itself. */
const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);

/**
 * Run a read-only tool; a missing tool, a refused permission or an unexpected
 * exit code becomes `why` (an exit whose stderr matches `absent` is an empty answer).
 */
async function readTool(argv: string[], absent?: RegExp): Promise<Read> {
  try {
    const r = await run(argv, { okCodes: ANY_EXIT });
    if (r.code === 0) return { text: r.stdout + r.stderr };
    if (absent?.test(r.stderr)) return { text: "" };
    const tail = r.stderr.trim().split("\n").at(-1) ?? "";
    return { text: r.stdout, why: `${argv[0]}: exit ${r.code}: ${tail}` };
  } catch (err) {
    if (err instanceof CommandError && err.exitCode === 127) {
      return { text: "", why: `${argv[0]}: not installed` };
    }
    // Permission (NotCapable) or a spawn failure: this source is not read.
    return { text: "", why: `${argv[0]}: ${errorMessage(err)}` };
  }
}

/** kube-proxy's rules as the node's tools print them. */
export interface KubeProxyRules {
  /** `iptables-save -t nat` and `ip6tables-save -t nat` (and the legacy backend's when it has tables). */
  iptables: string[];
  /** `nft -j list table ip kube-proxy`, `... ip6 kube-proxy` (empty when absent). */
  nft: string[];
  /** The IPv4 `iptables-save -t nat` text with its warnings (for the backend check). */
  nat4: string;
  /** The sources that could not be read, and why. */
  unread: string[];
}

/**
 * Read kube-proxy's rules of every mode, all at once: one `iptables-save -t
 * nat` and one `ip6tables-save -t nat`, one `nft -j list table` per family.
 * When iptables-nft says legacy tables are present, the legacy backend's
 * save too (kube-proxy may run the other backend). Read-only; requires root
 * and `--allow-run` of those tools.
 *
 * @returns the outputs
 */
export async function readKubeProxyRules(): Promise<KubeProxyRules> {
  const noTable = /No such file or directory/;
  const [v4, v6, n4, n6] = await Promise.all([
    readTool(["iptables-save", "-t", "nat"]),
    readTool(["ip6tables-save", "-t", "nat"]),
    readTool(["nft", "-j", "list", "table", "ip", "kube-proxy"], noTable),
    readTool(["nft", "-j", "list", "table", "ip6", "kube-proxy"], noTable),
  ]);
  const legacy = await Promise.all([
    /iptables-legacy tables present/.test(v4.text)
      ? readTool(["iptables-legacy-save", "-t", "nat"])
      : undefined,
    /ip6tables-legacy tables present/.test(v6.text)
      ? readTool(["ip6tables-legacy-save", "-t", "nat"])
      : undefined,
  ]);
  const reads = [v4, v6, n4, ...legacy.filter((r): r is Read => r !== undefined)];
  // nft's answer for both families is one fact: installed or not.
  if (n6.why !== undefined && n6.why !== n4.why) reads.push(n6);
  return {
    iptables: [v4.text, v6.text, ...legacy.map((r) => r?.text ?? "")].filter((t) => t !== ""),
    nft: [n4.text, n6.text].filter((t) => t !== ""),
    nat4: v4.text,
    unread: reads.flatMap((r) => (r.why === undefined ? [] : [r.why])),
  };
}

/**
 * The reads of the cluster checks in the ip batch: the addresses (of every
 * link, so that a node without kube-ipvs0 fails no line; `./kube_proxy.ts`
 * takes kube-ipvs0's) first, as after a `link show` iproute2 6.1's batch
 * prints an address read as a link dump without addresses; then the routes
 * of both families.
 */
export const CLUSTER_READS = { ipvs: READ.addrs(), routes: READ.routes() } as const;

/**
 * Read what the cluster checks need (kube-proxy's rules, the routes,
 * kube-ipvs0) and parse it. Read-only.
 *
 * @returns the facts; what could not be read is named in `unread`
 */
export async function readClusterFacts(): Promise<ClusterFacts> {
  const [rules, batch] = await Promise.all([
    readKubeProxyRules(),
    runIp({ before: CLUSTER_READS }).catch((err: unknown) => errorMessage(err)),
  ]);
  const ip = typeof batch === "string" ? undefined : batch.before;
  // Without `ip` there are no routes: the checks say "not checked" and why.
  return clusterFacts({
    ...rules,
    unread: [...rules.unread, ...ipUnread(batch)],
    routes: ip?.routes ?? [],
    ipvs: ip?.ipvs ?? [],
  });
}

/**
 * What of an ip batch could not be read: `ip` did not run (its error), or lines that failed.
 *
 * @param batch the batch's outcome, or the error message when it did not run
 * @returns the unread sources, as text (empty when all was read)
 */
export function ipUnread(batch: string | { errors: readonly IpFailure[] }): string[] {
  if (typeof batch === "string") return [`ip: ${batch}`];
  return batch.errors.length === 0 ? [] : [failureMessage("ip", batch.errors)];
}
