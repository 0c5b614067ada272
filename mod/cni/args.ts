/**
 * CNI_ARGS: `K=V;K=V` as libcni's `types.LoadArgs` reads it. Unknown keys are
 * an error unless `IgnoreUnknown` is true (`1`/`true`, any case), which every
 * Kubernetes runtime sets. A value may contain `=` (Multus splits on the first).
 *
 * @example
 * ```ts
 * import { parseCniArgs } from "./args.ts";
 * const a = parseCniArgs("IgnoreUnknown=1;K8S_POD_NAME=web-0;K8S_POD_NAMESPACE=default;X=1");
 * if (a.K8S_POD_NAME !== "web-0") throw new Error("parse");
 * ```
 *
 * @module
 */

import { CniError, ErrorCode } from "../errors.ts";

/** The CNI_ARGS keys the plugin knows. */
export interface CniArgs {
  IgnoreUnknown?: boolean;
  IP?: string;
  MAC?: string;
  K8S_POD_NAME?: string;
  K8S_POD_NAMESPACE?: string;
  K8S_POD_INFRA_CONTAINER_ID?: string;
  K8S_POD_UID?: string;
}

const KNOWN = new Set([
  "IgnoreUnknown",
  "IP",
  "MAC",
  "K8S_POD_NAME",
  "K8S_POD_NAMESPACE",
  "K8S_POD_INFRA_CONTAINER_ID",
  "K8S_POD_UID",
]);

function truthy(v: string): boolean | undefined {
  const l = v.toLowerCase();
  if (l === "1" || l === "true") return true;
  if (l === "0" || l === "false" || l === "") return false;
  return undefined;
}

/**
 * Parse CNI_ARGS.
 *
 * @param text the CNI_ARGS value ("" is fine)
 * @returns the known keys
 * @throws CniError code 4 for a malformed pair, a bad IgnoreUnknown, or an unknown key
 *   without IgnoreUnknown
 */
export function parseCniArgs(text: string): CniArgs {
  const pairs: [string, string][] = [];
  for (const item of text.split(";")) {
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq <= 0) {
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `Invalid CNI_ARGS pair "${item}": expected KEY=VALUE`,
      );
    }
    pairs.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  const out: CniArgs = {};
  let ignoreUnknown = false;
  for (const [k, v] of pairs) {
    if (k === "IgnoreUnknown") {
      const b = truthy(v);
      if (b === undefined) {
        throw new CniError(
          ErrorCode.InvalidEnvironment,
          `Invalid CNI_ARGS "IgnoreUnknown=${v}": use 1, 0, true or false`,
        );
      }
      ignoreUnknown = b;
      out.IgnoreUnknown = b;
    }
  }
  const unknown: string[] = [];
  for (const [k, v] of pairs) {
    if (k === "IgnoreUnknown") continue;
    if (!KNOWN.has(k)) {
      unknown.push(k);
      continue;
    }
    (out as Record<string, string>)[k] = v;
  }
  if (unknown.length > 0 && !ignoreUnknown) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `Unknown CNI_ARGS key "${unknown[0]}": set IgnoreUnknown=1 to allow unknown keys`,
    );
  }
  return out;
}
