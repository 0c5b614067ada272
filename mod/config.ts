/**
 * Parse and validate the plugin configuration (stdin JSON), with the defaults
 * of Spiderpool's coordinator but taken from the CNI config alone (no agent).
 *
 * @module
 */

/** How the plugin treats the pod (spec 3.2). "disable" also accepts "disabled". */
export type Mode = "auto" | "underlay" | "overlay" | "disable";

/** Log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "fatal" | "panic";

/** A static policy route (spec 3.3.19), validated and normalised. */
export interface PolicyRoute {
  /** Destination prefix as given (bare IPs get /32 or /128), e.g. "10.1.2.0/24". */
  dst: string;
  /** Gateway address, canonical text. */
  gw: string;
  /** 4 or 6. */
  family: 4 | 6;
}

/** Detection timing (spec 3.5.9). */
export interface DetectOptions {
  /** Probes per address (default 3). */
  retries: number;
  /** Gap between probes, ms (default 10). */
  intervalMs: number;
  /** Wait after the last probe, ms (default 100). */
  timeoutMs: number;
}

/** Log file settings. */
export interface LogOptions {
  logLevel: LogLevel;
  /** Absolute path under /var/log (default /var/log/spidernet/coordinator.log). */
  logFile: string;
  /** Rotate at this size, MB (0 = 100). */
  logMaxSize: number;
  /** Delete backups older than this, days (0 = never). */
  logMaxAge: number;
  /** Keep at most this many backups (0 = all). */
  logMaxCount: number;
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
  /** Normalised CIDRs (network text as given, prefix kept). */
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
  /** Two-byte unicast MAC prefix "0a:1b" ("" = none). */
  podMACPrefix: string;
  /** IPv4 link-local address for veth0 ("" = none). */
  vethLinkAddress: string;
  /** veth MTU (default 1500). */
  vethMTU: number;
  detectIPConflict: boolean;
  detectGateway: boolean;
  detectOptions: DetectOptions;
  logOptions: LogOptions;
}
