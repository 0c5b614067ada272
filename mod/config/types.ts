/**
 * The validated configuration the plugin works with: what {@linkcode parseConfig}
 * of `./parse.ts` returns and every later layer reads.
 *
 * @module
 */

import type { LogOptions } from "../log.ts";

/** How the plugin treats the pod (see README "Modes"). "disabled" is read as "disable". */
export type Mode = "auto" | "underlay" | "overlay" | "disable";

/** A static policy route (`policyRoutes`), validated and normalised. */
export interface PolicyRoute {
  /** Destination prefix, host bits cleared (a bare IP is refused), e.g. "10.1.2.0/24". */
  dst: string;
  /** Gateway address, canonical text. */
  gw: string;
  /** 4 or 6. */
  family: 4 | 6;
}

/** Detection timing (`detectOptions`, see docs/detection.md). */
export interface DetectOptions {
  /** Probes per address (default 3). */
  retries: number;
  /** Gap between probes, ms (default 10). */
  intervalMs: number;
  /** Wait after the last probe, ms (default 100). */
  timeoutMs: number;
}

/** The merged, validated plugin configuration. */
export interface CoordinatorConfig {
  cniVersion: string;
  name: string;
  type: string;
  mode: Mode;
  /** The first NIC (default "eth0"). */
  podDefaultCniNic: string;
  /** NIC that should hold the default route ("" = keep the current one). */
  podDefaultRouteNic: string;
  /** Multi-NIC policy routing (default true). */
  tunePodRoutes: boolean;
  /** Normalised CIDRs (host bits cleared, canonical text). */
  overlayPodCIDR: string[];
  serviceCIDR: string[];
  hijackCIDR: string[];
  policyRoutes: PolicyRoute[];
  /** Host table for routes to pods (default 500). */
  hostRuleTable: number;
  /** Pod rp_filter (default 0; -1 = leave alone). */
  podRPFilter: number;
  /** Parsed, ignored (deprecated in the original). */
  hostRPFilter: number | undefined;
  /** Pod NIC txqueuelen (0 = leave alone). */
  txQueueLen: number;
  /** Two-byte unicast MAC prefix, lower case, e.g. "0a:1b" ("" = none). */
  podMACPrefix: string;
  /** IPv4 address for veth0 ("" = none). */
  vethLinkAddress: string;
  /** veth MTU (default 1500). */
  vethMTU: number;
  detectIPConflict: boolean;
  detectGateway: boolean;
  detectOptions: DetectOptions;
  logOptions: LogOptions;
}
