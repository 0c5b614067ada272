/**
 * `coordinator explain`: what ADD would do for one NIC, changing nothing.
 * Reads the stdin a runtime sends (the coordinator's config entry with its
 * prevResult, or a whole conflist with `--prev-result FILE`), the pod facts
 * from `--netns` (else from prevResult), the node facts from the current netns
 * with the same reads ADD's node batch starts with (else `--node-ip`), and
 * prints the plan of `plan/explain.ts`: the planners ADD runs, rendered.
 *
 * Without `--netns` and with `--node-ip` it starts no process and needs no
 * privilege.
 *
 * @module
 */

import type { Result } from "../cni/types.ts";
import { parseResult } from "../cni/result.ts";
import { defaultsPath, type NodeDefaults, readDefaults } from "../config/defaults.ts";
import { parseConfig } from "../config/parse.ts";
import type { CoordinatorConfig } from "../config/types.ts";
import { CniError, ErrorCode, errorMessage } from "../errors.ts";
import { type PodFacts, readNodeLinks, readPodFacts } from "../kernel/facts.ts";
import type { IpLink } from "../kernel/ip_json.ts";
import { runIpChecked } from "../kernel/iproute.ts";
import { canonicalIp, familyOf } from "../ip.ts";
import { hasFamily } from "../plan/mode.ts";
import {
  explainItems,
  type Explanation,
  factsFromResult,
  modeWhy,
  pairEnds,
} from "../plan/explain.ts";
import { nodeIpsForPod, planNode } from "../plan/node.ts";
import { renderText } from "../plan/render.ts";
import { addView, planNic } from "../plan/view.ts";
import type { CliIo, Subcommand } from "./_io.ts";

const HELP = `Usage: coordinator explain [--ifname eth0] [--netns PATH] [--json]
         [--prev-result FILE] [--node-ip IP]... [--node-iface NAME] [--container-id ID] [--veth0]
  stdin: the coordinator's config entry with prevResult, or a whole conflist with --prev-result.
  --netns PATH     read the pod from its netns (else it is made from prevResult)
  --node-ip IP     the node IPs the pod is routed to (else read from the current netns)
  --node-iface N   take the node IPs from this node link only
  --container-id   CNI_CONTAINERID (names the node veth)
  --veth0          without --netns: assume veth0 is in the pod (the first NIC runs underlay)
  --defaults FILE  the node defaults file (default: the one ADD reads, /etc/cni/net.d/coordinator.d/defaults.json)
`;

/** The config entry and prevResult of stdin (an entry, or a conflist and a result file). */
export function confOfStdin(
  raw: unknown,
  prevFile: unknown,
  defaults?: NodeDefaults,
): { conf: CoordinatorConfig; prev: Result } {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new CniError(ErrorCode.DecodeFailure, "stdin is not a JSON object");
  }
  let entry = raw as Record<string, unknown>;
  const plugins = entry["plugins"];
  if (Array.isArray(plugins)) {
    const mine = plugins.find((p) => (p as { type?: unknown })?.type === "coordinator");
    if (mine === undefined) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, 'The conflist has no "coordinator"');
    }
    entry = { cniVersion: entry["cniVersion"], name: entry["name"], ...mine };
  }
  // The node defaults file as ADD reads it: the entry, then the file, then built-in.
  const conf = parseConfig(entry, defaults === undefined ? {} : { defaults });
  const rawPrev = prevFile ?? entry["prevResult"];
  if (rawPrev === undefined || rawPrev === null) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "No prevResult: give the config entry with prevResult, or --prev-result FILE",
    );
  }
  const version = typeof entry["cniVersion"] === "string" ? entry["cniVersion"] : "1.0.0";
  return { conf, prev: parseResult(rawPrev, version) };
}

/** The node facts explain used. */
interface NodeFacts {
  source: "given" | "read";
  nodeIps: string[];
  /** `ip route get <podIP>` answers. */
  routeGets: { podIp: string; dev?: string; prefsrc?: string; gateway?: string }[];
}

async function explain(io: CliIo): Promise<{ ex: Explanation; node: NodeFacts }> {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({
    args: io.args,
    options: {
      ifname: { type: "string", default: "eth0" },
      netns: { type: "string" },
      json: { type: "boolean" },
      "prev-result": { type: "string" },
      "node-ip": { type: "string", multiple: true },
      "node-iface": { type: "string" },
      "container-id": { type: "string" },
      veth0: { type: "boolean" },
      defaults: { type: "string" },
    },
  });
  const ifname = values.ifname ?? "eth0";
  const prevFile = values["prev-result"] === undefined
    ? undefined
    : JSON.parse(Deno.readTextFileSync(values["prev-result"]));
  const stdin = new TextDecoder().decode(await io.stdin());
  const defaults = readDefaults(values.defaults ?? defaultsPath());
  const { conf, prev } = confOfStdin(JSON.parse(stdin), prevFile, defaults);
  const netns = values.netns;
  let facts: PodFacts;
  if (netns !== undefined) {
    facts = await readPodFacts(netns, { rules6: true });
  } else {
    facts = factsFromResult(prev, ifname);
    if (values.veth0) {
      facts.links.push({ ifindex: 99, ifname: "veth0", flags: ["UP"], mtu: conf.vethMTU });
    }
  }
  const podFacts = netns === undefined ? "prevResult" : "netns";
  const nic = planNic(conf, facts, ifname, netns ?? "<pod>");
  const containerId = values["container-id"] ?? (Deno.env.get("CNI_CONTAINERID") || undefined);
  const readNode = values["node-ip"] === undefined;
  let nodeLinks: IpLink[] | undefined;
  if (!nic.create && (readNode || netns !== undefined)) nodeLinks = await readNodeLinks();
  const { ends, undecided } = pairEnds(conf, nic, facts, containerId, nodeLinks);
  const view = addView(
    conf,
    { containerId: containerId ?? "", ifname, netns: netns ?? "<pod>" },
    facts,
    nic,
    ends,
  );
  const node = await nodeFacts(view, nic.family, values["node-ip"], values["node-iface"]);
  if (podFacts === "prevResult") {
    undecided.push("pod links, routes and rules beyond prevResult: not known without --netns");
  }
  const rest = explainItems(view, nic, node.nodeIps, ends.hostMac);
  const ex: Explanation = {
    network: conf.name,
    ifname,
    mode: nic.decision.mode,
    firstInvoke: nic.decision.firstInvoke,
    table: nic.decision.table,
    why: modeWhy(conf, ifname, nic, podFacts),
    podFacts,
    nodeIps: node.nodeIps,
    ...rest,
    undecided,
  };
  return { ex, node };
}

/** The node IPs: given, or from the reads ADD's node batch starts with. */
async function nodeFacts(
  view: Parameters<typeof planNode>[0],
  family: Parameters<typeof nodeIpsForPod>[2],
  given: string[] | undefined,
  iface: string | undefined,
): Promise<NodeFacts> {
  if (given !== undefined) {
    return {
      source: "given",
      nodeIps: given.map(canonicalIp).filter((ip) => hasFamily(family, familyOf(ip))),
      routeGets: [],
    };
  }
  const { reads } = planNode(view, undefined);
  const { before } = await runIpChecked({ before: reads }, {}, "Cannot read the node");
  const gets = before.routeGets;
  let addrs = before.nodeAddrs;
  let usable = gets;
  if (iface !== undefined) {
    addrs = addrs.filter((a) => a.ifname === iface);
    usable = gets.map((g) => (g?.dev === iface ? g : undefined));
  }
  return {
    source: "read",
    nodeIps: nodeIpsForPod(usable, addrs, family),
    routeGets: view.allPodIps.map((podIp, i) => ({
      podIp,
      ...(gets[i]?.dev === undefined ? {} : { dev: gets[i]!.dev }),
      ...(gets[i]?.prefsrc === undefined ? {} : { prefsrc: gets[i]!.prefsrc }),
      ...(gets[i]?.gateway === undefined ? {} : { gateway: gets[i]!.gateway }),
    })),
  };
}

function text(ex: Explanation, node: NodeFacts, netns: string | undefined): string {
  const out: string[] = [];
  out.push(
    `network "${ex.network}", NIC "${ex.ifname}": ${ex.mode} mode, ${
      ex.firstInvoke ? "first NIC" : "later NIC"
    }, policy table ${ex.table}`,
  );
  for (const w of ex.why) out.push(`  ${w}`);
  out.push(
    `node facts (${node.source === "given" ? "given with --node-ip" : "read from this netns"}):`,
  );
  out.push(`  node IPs for the pod: ${ex.nodeIps.join(", ") || "none"}`);
  for (const g of node.routeGets) {
    out.push(
      `  ip route get ${g.podIp}: ${
        g.dev === undefined
          ? "no route"
          : `${g.gateway ? `via ${g.gateway} ` : ""}dev ${g.dev}${
            g.prefsrc ? ` src ${g.prefsrc}` : ""
          }`
      }`,
    );
  }
  out.push(...renderText(ex.items, {
    pod: `pod (${netns === undefined ? "facts from prevResult" : `netns ${netns}`}):`,
    node: "node (this netns):",
  }));
  if (ex.detection.length > 0) {
    out.push(
      "detection ADD runs first:",
      ...ex.detection.map((d) => `  ${d}`),
    );
  }
  if (ex.undecided.length > 0) {
    out.push(
      "not decided until ADD runs in the pod:",
      ...ex.undecided.map((u) => `  ? ${u}`),
    );
  }
  if (ex.warnings.length > 0) out.push("warnings:", ...ex.warnings.map((w) => `  ! ${w}`));
  return out.join("\n") + "\n";
}

/** The `explain` subcommand. */
export const EXPLAIN: Subcommand = {
  summary: "show what ADD would do for one NIC (changes nothing)",
  async run(io: CliIo): Promise<number> {
    if (io.args.includes("--help") || io.args.includes("-h")) {
      io.out(HELP);
      return 0;
    }
    try {
      const { ex, node } = await explain(io);
      const netnsAt = io.args.indexOf("--netns");
      const netns = netnsAt >= 0 ? io.args[netnsAt + 1] : undefined;
      io.out(
        io.args.includes("--json")
          ? JSON.stringify({ ...ex, nodeFacts: node }, null, 2) + "\n"
          : text(ex, node, netns),
      );
      return 0;
    } catch (err) {
      io.err(`explain: ${errorMessage(err)}\n`);
      return err instanceof CniError ? 1 : 2;
    }
  },
};
