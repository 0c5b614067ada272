/**
 * Captured `ip -j` facts of tests/testdata/ip-json/, read through the
 * plugin's own checked parsers (`mod/kernel/ip_json.ts`), as the kernel's
 * reads give them to the planners; and the translator's lines of intents, for
 * comparing plans with the `ip -batch` text they become.
 *
 * @module
 */

import type { PodFacts } from "../../mod/kernel/facts.ts";
import type { IpIntent } from "../../mod/kernel/intent.ts";
import {
  type IpAddrLink,
  type IpRouteGet,
  parseAddrs,
  parseLinks,
  parseRouteGet,
  parseRoutes,
  parseRules,
} from "../../mod/kernel/ip_json.ts";
import { intentLine } from "../../mod/kernel/iproute.ts";

const DATA = new URL("../testdata/ip-json/", import.meta.url);

function raw(file: string): Record<string, unknown> {
  return JSON.parse(Deno.readTextFileSync(new URL(file, DATA)));
}

/**
 * A pod's facts from a capture (`links`, `addrs`, `routes`, `rules4`, `rules6`).
 *
 * @param file the file name under tests/testdata/ip-json/
 * @returns the facts
 */
export function loadPodFacts(file: string): PodFacts {
  const r = raw(file);
  const facts: PodFacts = {
    links: parseLinks(r["links"]),
    addrs: parseAddrs(r["addrs"]),
    routes: parseRoutes(r["routes"]),
    rules4: parseRules(r["rules4"]),
  };
  if (r["rules6"] !== undefined) facts.rules6 = parseRules(r["rules6"]);
  return facts;
}

/**
 * A node's reads from a capture (`routeGet`: `ip -j route get` answers, `addrs`).
 *
 * @param file the file name under tests/testdata/ip-json/
 * @returns the answers
 */
export function loadNodeReads(file: string): { routeGet: IpRouteGet[]; addrs: IpAddrLink[] } {
  const r = raw(file);
  return {
    routeGet: (r["routeGet"] as unknown[]).map((g) => parseRouteGet([g])!),
    addrs: parseAddrs(r["addrs"]),
  };
}

/**
 * The translator's `ip -batch` lines of intents, as text.
 *
 * @param intents the intents
 * @returns one line each, without the leading `ip`
 */
export function lines(intents: readonly IpIntent[]): string[] {
  return intents.map((i) => intentLine(i).args.join(" "));
}
