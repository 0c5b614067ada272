/**
 * Spiderpool's cluster settings as a node defaults file. A Spiderpool cluster
 * keeps them in the `SpiderCoordinator` object (group spiderpool.spidernet.io,
 * version v2beta1, named `default` unless the chart's `coordinator.name`
 * says otherwise); its agent answered every ADD with them (`GetCoordinatorConfig`,
 * `shared/spec/coordinator.md` 2.2). {@linkcode convertSpiderCoordinator}
 * maps that object to the plugin's fields as the agent did, validates every
 * field with the rules ADD applies to the node defaults file (the same
 * `parseConfig`), and says what it could not carry over.
 *
 * What carries (spec and status of v0.7 to v1.2): `mode`, `hijackCIDR`,
 * `policyRoutes`, `podMACPrefix`, `tunePodRoutes`, `podDefaultRouteNIC` (as
 * `podDefaultRouteNic`), `hostRuleTable`, `podRPFilter`, `txQueueLen`,
 * `vethLinkAddress`, `vethMTU`, `detectIPConflict` and `detectGateway` (v0.9 and
 * older), and the discovered `status.overlayPodCIDR` and `status.serviceCIDR`.
 * Bare addresses in `hijackCIDR` and `policyRoutes[].dst` become /32 or /128,
 * as Spiderpool's webhook stores them; a `podRPFilter` below -1 becomes -1 (both
 * mean "leave it alone"); the values the agent left out when 0
 * (`hostRuleTable`, `vethMTU`) are left out. What does not: `podCIDRType` (the
 * controller follows the cluster's pod CIDRs; the file holds what it had
 * found), `status.phase` (a warning when it is not `Synced`), `hostRPFilter`
 * (the agent never passed it), and unknown fields (each one listed).
 *
 * @example
 * ```ts
 * import { convertSpiderCoordinator } from "./spidercoordinator.ts";
 * const { defaults, notes } = convertSpiderCoordinator([{
 *   apiVersion: "spiderpool.spidernet.io/v2beta1",
 *   kind: "SpiderCoordinator",
 *   metadata: { name: "default" },
 *   spec: { mode: "auto", podCIDRType: "calico", podDefaultRouteNIC: "", hostRuleTable: 500 },
 *   status: { phase: "Synced", overlayPodCIDR: ["10.244.64.0/18"], serviceCIDR: ["10.233.0.0/18"] },
 * }]);
 * if (defaults.hostRuleTable !== 500 || notes[0]?.field !== "spec.podCIDRType") throw new Error();
 * ```
 *
 * @module
 */

import { CniError, ErrorCode, errorMessage } from "../errors.ts";
import { formatIp, parseIp } from "../ip.ts";
import { checkDefaults } from "./defaults.ts";
import { CONFIG_FIELDS } from "./fields.ts";

/** The group and version of the objects read. */
export const SPIDERCOORDINATOR_API_VERSION = "spiderpool.spidernet.io/v2beta1";

/** Something of the object that did not carry over as it is. */
export interface ConversionNote {
  /** "warn": a setting of the cluster is lost or may be wrong; "info": carried with a change, or harmless. */
  level: "info" | "warn";
  /** The object's field, e.g. "spec.podCIDRType" ("" for the object as a whole). */
  field: string;
  msg: string;
}

/** A SpiderCoordinator as node defaults. */
export interface Conversion {
  /** The object's `metadata.name`. */
  name: string;
  /** The node defaults file's object, in the plugin's field order, valid for ADD. */
  defaults: Record<string, unknown>;
  /** Plugin field -> the object's field it came from ("podDefaultRouteNic" -> "spec.podDefaultRouteNIC"). */
  sources: Record<string, string>;
  notes: ConversionNote[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function refuse(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

const TOP_FIELDS = new Set(["apiVersion", "kind", "metadata", "spec", "status"]);
const STATUS_FIELDS = new Set(["phase", "reason", "overlayPodCIDR", "serviceCIDR"]);

/**
 * The spec fields of every release, and the plugin field each becomes
 * (undefined: read, not carried).
 */
const SPEC_FIELDS: Readonly<Record<string, string | undefined>> = {
  mode: "mode",
  podCIDRType: undefined,
  hijackCIDR: "hijackCIDR",
  policyRoutes: "policyRoutes",
  podMACPrefix: "podMACPrefix",
  tunePodRoutes: "tunePodRoutes",
  podDefaultRouteNIC: "podDefaultRouteNic",
  hostRuleTable: "hostRuleTable",
  hostRPFilter: undefined,
  podRPFilter: "podRPFilter",
  txQueueLen: "txQueueLen",
  vethLinkAddress: "vethLinkAddress",
  vethMTU: "vethMTU",
  detectIPConflict: "detectIPConflict",
  detectGateway: "detectGateway",
};

function describe(o: unknown): string {
  if (!isObj(o)) return Array.isArray(o) ? "a list" : JSON.stringify(o) ?? String(o);
  const kind = typeof o["kind"] === "string" ? o["kind"] : "(no kind)";
  const name = isObj(o["metadata"]) && typeof o["metadata"]["name"] === "string"
    ? ` "${o["metadata"]["name"]}"`
    : "";
  return `${kind}${name}`;
}

function nameOf(o: Obj): string {
  const md = o["metadata"];
  return isObj(md) && typeof md["name"] === "string" ? md["name"] : "";
}

/** The one SpiderCoordinator of the documents (a List's items count one by one). */
function select(docs: readonly unknown[], notes: ConversionNote[]): Obj {
  const objects: unknown[] = [];
  for (const doc of docs) {
    if (doc === null || doc === undefined) continue;
    if (isObj(doc) && typeof doc["kind"] === "string" && doc["kind"].endsWith("List")) {
      if (!Array.isArray(doc["items"])) throw refuse(`A ${doc["kind"]} without "items"`);
      objects.push(...doc["items"]);
    } else {
      objects.push(doc);
    }
  }
  const found = objects.filter((o): o is Obj => isObj(o) && o["kind"] === "SpiderCoordinator");
  const others = objects.filter((o) => !found.includes(o as Obj));
  if (found.length === 0) {
    const what = objects.length === 0 ? "nothing" : objects.map(describe).join(", ");
    throw refuse(
      `No SpiderCoordinator found (read: ${what}): give the output of ` +
        "`kubectl get spidercoordinator default -o yaml` (or -o json)",
    );
  }
  for (const o of others) {
    notes.push({
      level: "warn",
      field: "",
      msg: `Skipped ${describe(o)}: not a SpiderCoordinator`,
    });
  }
  let chosen: Obj;
  if (found.length === 1) {
    chosen = found[0]!;
    const name = nameOf(chosen);
    if (name !== "default") {
      notes.push({
        level: "info",
        field: "metadata.name",
        msg: `The SpiderCoordinator is named "${name}", not "default" (the chart's ` +
          "coordinator.name); read it as the cluster's settings",
      });
    }
  } else {
    const names = found.map(nameOf);
    const i = names.indexOf("default");
    if (i < 0) {
      throw refuse(
        `${found.length} SpiderCoordinators (${names.map((n) => `"${n}"`).join(", ")}) and ` +
          'none is named "default": give the one the cluster uses ' +
          "(`kubectl get spidercoordinator NAME -o yaml`)",
      );
    }
    chosen = found[i]!;
    const rest = names.filter((_, j) => j !== i).map((n) => `"${n}"`).join(", ");
    notes.push({
      level: "warn",
      field: "metadata.name",
      msg: `${found.length} SpiderCoordinators: took "default", ignored ${rest}` +
        (i === 0 ? "" : ` (Spiderpool's agent reads the first one listed, "${names[0]}")`),
    });
  }
  const apiVersion = chosen["apiVersion"];
  if (apiVersion !== SPIDERCOORDINATOR_API_VERSION) {
    throw refuse(
      `SpiderCoordinator "${nameOf(chosen)}" has apiVersion ${JSON.stringify(apiVersion)}: ` +
        `only "${SPIDERCOORDINATOR_API_VERSION}" is read`,
    );
  }
  return chosen;
}

/** A bare address as /32 or /128 (Spiderpool's webhook stores it so), else the text as it is. */
function asPrefix(text: string): string | undefined {
  if (text.includes("/")) return undefined;
  const ip = parseIp(text.trim());
  return ip === undefined ? undefined : `${formatIp(ip)}/${ip.family === 4 ? 32 : 128}`;
}

/**
 * Map a SpiderCoordinator to a node defaults object, validated field by field
 * and as a whole with ADD's rules for the defaults file.
 *
 * @param docs the documents of the file: one SpiderCoordinator, a List
 *   holding it (the one named "default" is taken), or several documents
 * @returns the defaults object, where each field came from, and the notes
 * @throws CniError 7 when no SpiderCoordinator can be chosen, or when a value
 *   would fail ADD (every failing field named, with the object's field)
 */
export function convertSpiderCoordinator(docs: readonly unknown[]): Conversion {
  const notes: ConversionNote[] = [];
  const obj = select(docs, notes);
  const name = nameOf(obj);
  const label = `SpiderCoordinator "${name}"`;
  const spec = obj["spec"] ?? {};
  const status = obj["status"] ?? {};
  if (!isObj(spec)) throw refuse(`${label}: "spec" is not an object`);
  if (!isObj(status)) throw refuse(`${label}: "status" is not an object`);
  const warn = (field: string, msg: string) => notes.push({ level: "warn", field, msg });
  const info = (field: string, msg: string) => notes.push({ level: "info", field, msg });

  for (const key of Object.keys(obj)) {
    if (!TOP_FIELDS.has(key)) warn(key, "Unknown field, not carried over");
  }

  const carried: Obj = {};
  const sources: Record<string, string> = {};
  const carry = (from: string, to: string, value: unknown) => {
    carried[to] = value;
    sources[to] = from;
  };

  for (const [key, value] of Object.entries(spec)) {
    const field = `spec.${key}`;
    if (!Object.hasOwn(SPEC_FIELDS, key)) {
      warn(field, "Unknown field, not carried over");
      continue;
    }
    const to = SPEC_FIELDS[key];
    if (value === null) continue;
    switch (key) {
      case "podCIDRType":
        if (value === "none") {
          info(
            field,
            '"none": Spiderpool discovers no pod CIDR (status.overlayPodCIDR is empty); ' +
              "routes to other pods come only from hijackCIDR and the entries' overlayPodCIDR",
          );
        } else {
          warn(
            field,
            `${JSON.stringify(value)}: Spiderpool's controller keeps status.overlayPodCIDR and ` +
              "status.serviceCIDR following the cluster (kubeadm-config, kube-controller-manager, " +
              "Calico IP pools, Cilium's config); this file holds the CIDRs found when the object " +
              "was read: convert it again when the cluster's pod or Service CIDRs change",
          );
        }
        continue;
      case "hostRPFilter":
        info(
          field,
          "Not carried over: Spiderpool's agent never passed it, and the plugin never " +
            "writes the node's sysctls",
        );
        continue;
      case "hijackCIDR": {
        if (!Array.isArray(value)) break;
        const list = value.map((item, i) => {
          const p = typeof item === "string" ? asPrefix(item) : undefined;
          if (p === undefined) return item;
          info(
            `${field}[${i}]`,
            `${JSON.stringify(item)} carried as "${p}" (as Spiderpool's webhook stores it)`,
          );
          return p;
        });
        if (list.length > 0) carry(field, to!, list);
        continue;
      }
      case "policyRoutes": {
        if (!Array.isArray(value)) break;
        const list = value.map((item, i) => {
          if (!isObj(item)) return item;
          const route: Obj = {};
          for (const [k, v] of Object.entries(item)) {
            if (k !== "dst" && k !== "gw") {
              warn(`${field}[${i}].${k}`, "Unknown field, not carried over");
            } else if (k === "dst" && typeof v === "string" && asPrefix(v) !== undefined) {
              const p = asPrefix(v)!;
              info(
                `${field}[${i}].dst`,
                `${JSON.stringify(v)} carried as "${p}" (as Spiderpool's webhook stores it)`,
              );
              route[k] = p;
            } else {
              route[k] = v;
            }
          }
          return route;
        });
        if (list.length > 0) carry(field, to!, list);
        continue;
      }
      case "hostRuleTable":
      case "vethMTU":
        if (value === 0) {
          info(
            field,
            `0: left out, as Spiderpool's agent left it out (the plugin then uses ${
              CONFIG_FIELDS[to!]!.default
            })`,
          );
          continue;
        }
        break;
      case "podRPFilter":
        if (typeof value === "number" && Number.isInteger(value) && value < -1) {
          info(field, `${value} carried as -1: both leave the pod's rp_filter as it is`);
          carry(field, to!, -1);
          continue;
        }
        break;
      case "mode":
      case "podMACPrefix":
      case "podDefaultRouteNIC":
      case "vethLinkAddress":
        // "" is the original's "not set": the plugin's default applies.
        if (value === "") continue;
        break;
    }
    carry(field, to!, value);
  }

  for (const key of Object.keys(status)) {
    if (!STATUS_FIELDS.has(key)) warn(`status.${key}`, "Unknown field, not carried over");
  }
  const phase = status["phase"];
  if (phase !== "Synced") {
    const reason = typeof status["reason"] === "string" && status["reason"] !== ""
      ? ` (reason: ${status["reason"]})`
      : "";
    warn(
      "status.phase",
      (phase === undefined || phase === null
        ? "Missing (not an object read from a cluster?)"
        : `${JSON.stringify(phase)}, not "Synced"${reason}`) +
        ": Spiderpool's agent refuses every pod in this phase, and status.overlayPodCIDR " +
        "and status.serviceCIDR may be stale or empty; carried over as they are",
    );
  }
  for (const key of ["overlayPodCIDR", "serviceCIDR"]) {
    const value = status[key];
    if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
      if (key === "serviceCIDR") {
        warn(
          `status.${key}`,
          "Empty: no serviceCIDR in the file; pods reach Services through the node only " +
            "when their entries set serviceCIDR",
        );
      }
      continue;
    }
    carry(`status.${key}`, key, value);
  }

  // Every field on its own with ADD's rules, so that each failure names the
  // object's field; then the whole file, exactly as ADD will read it.
  const failures: string[] = [];
  for (const [to, value] of Object.entries(carried)) {
    try {
      checkDefaults({ path: sources[to]!, raw: { [to]: value } });
    } catch (err) {
      if (!(err instanceof CniError)) throw err;
      failures.push(errorMessage(err));
    }
  }
  if (failures.length > 0) {
    throw refuse(`Cannot convert ${label}, ADD's rules refuse: ${failures.join("; ")}`);
  }
  const defaults: Obj = {};
  for (const key of Object.keys(CONFIG_FIELDS)) {
    if (Object.hasOwn(carried, key)) defaults[key] = carried[key];
  }
  checkDefaults({ path: label, raw: defaults });
  return { name, defaults, sources, notes };
}
