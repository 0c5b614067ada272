/**
 * Invalid values for the fields of the config table (mod/config/fields.ts),
 * one or more per field: each must make ADD fail with code 7 naming the field,
 * and must never make DEL or GC fail (issue 12).
 *
 * @module
 */

/** One invalid case: the keys to merge into a valid config, and the field it names. */
export interface InvalidCase {
  extra: Record<string, unknown>;
  field: RegExp;
}

/** Every invalid-value case, by field of the table. */
export const INVALID_CASES: readonly InvalidCase[] = [
  { extra: { mode: "fast" }, field: /"mode": "fast"/ },
  { extra: { mode: 1 }, field: /"mode"/ },
  { extra: { podDefaultCniNic: "a".repeat(16) }, field: /podDefaultCniNic/ },
  { extra: { podDefaultCniNic: "eth/0" }, field: /podDefaultCniNic/ },
  { extra: { podDefaultRouteNic: "net 1" }, field: /podDefaultRouteNic/ },
  { extra: { multusNicPrefix: 5 }, field: /multusNicPrefix/ },
  { extra: { tunePodRoutes: "yes" }, field: /tunePodRoutes/ },
  { extra: { overlayPodCIDR: "10.0.0.0/8" }, field: /overlayPodCIDR/ },
  { extra: { overlayPodCIDR: ["10.233.64.0"] }, field: /overlayPodCIDR\[0\].*\/32/ },
  { extra: { serviceCIDR: ["10.0.0.0/8", "300.1.1.1/8"] }, field: /serviceCIDR\[1\]/ },
  { extra: { serviceCIDR: [42] }, field: /serviceCIDR\[0\]/ },
  { extra: { hijackCIDR: ["fd00::/129"] }, field: /hijackCIDR\[0\]/ },
  { extra: { hijackCIDR: ["169.254.20.10"] }, field: /hijackCIDR\[0\].*\/32/ },
  { extra: { policyRoutes: [{ dst: "10.0.0.0/8" }] }, field: /policyRoutes\[0\]\.gw/ },
  {
    extra: { policyRoutes: [{ dst: "10.1.2.3", gw: "10.6.0.1" }] },
    field: /policyRoutes\[0\]\.dst/,
  },
  { extra: { policyRoutes: [{ dst: "10.0.0.0/8", gw: "fd00::1" }] }, field: /policyRoutes\[0\]/ },
  { extra: { policyRoutes: {} }, field: /policyRoutes/ },
  { extra: { hostRuleTable: 0 }, field: /hostRuleTable/ },
  { extra: { hostRuleTable: 254 }, field: /hostRuleTable/ },
  { extra: { hostRuleTable: 2 ** 32 }, field: /hostRuleTable/ },
  { extra: { hostRuleTable: "500" }, field: /hostRuleTable/ },
  { extra: { podRPFilter: 3 }, field: /podRPFilter/ },
  { extra: { podRPFilter: -2 }, field: /podRPFilter/ },
  { extra: { hostRPFilter: 7 }, field: /hostRPFilter/ },
  { extra: { txQueueLen: -1 }, field: /txQueueLen/ },
  { extra: { podMACPrefix: "0b:1b" }, field: /podMACPrefix/ },
  { extra: { podMACPrefix: "0a-1b" }, field: /podMACPrefix/ },
  { extra: { vethLinkAddress: "169.254.100.1/32" }, field: /vethLinkAddress/ },
  { extra: { vethLinkAddress: "fe80::1" }, field: /vethLinkAddress/ },
  { extra: { vethLinkAddress: "224.0.0.1" }, field: /vethLinkAddress/ },
  { extra: { vethMTU: 0 }, field: /vethMTU/ },
  { extra: { vethMTU: 70000 }, field: /vethMTU/ },
  { extra: { detectIPConflict: 1 }, field: /detectIPConflict/ },
  { extra: { detectGateway: "true" }, field: /detectGateway/ },
  { extra: { detectOptions: [] }, field: /detectOptions/ },
  { extra: { detectOptions: { retries: -1 } }, field: /detectOptions\.retries/ },
  { extra: { detectOptions: { interval: "10" } }, field: /detectOptions\.interval/ },
  { extra: { detectOptions: { timeout: "2m" } }, field: /detectOptions\.timeout/ },
  { extra: { logOptions: { logLevel: "trace" } }, field: /logOptions\.logLevel/ },
  { extra: { logOptions: { logFile: "/etc/passwd" } }, field: /logOptions\.logFile/ },
  { extra: { logOptions: { logMaxSize: -1 } }, field: /logOptions\.logMaxSize/ },
  { extra: { logOptions: { maxCount: "3" } }, field: /logOptions\.maxCount/ },
  // Near-miss keys (edit distance 2 or less) are code 7 too.
  { extra: { serviceCIRD: ["10.233.0.0/18"] }, field: /did you mean "serviceCIDR"/ },
  { extra: { detectOptions: { retires: 3 } }, field: /did you mean "detectOptions\.retries"/ },
];
