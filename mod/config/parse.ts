/**
 * Parse and validate the plugin configuration (stdin JSON), with the defaults
 * of Spiderpool's coordinator but taken from the CNI config alone (no agent).
 *
 * Every field is described once in `CONFIG_FIELDS` (`./fields.ts`); the
 * validator below and the JSON Schema generator both read it.
 * Any bad field is a CNI error 7 that names the field and the value.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./parse.ts";
 * const conf = parseConfig({ cniVersion: "1.0.0", name: "net", type: "coordinator",
 *   serviceCIDR: ["10.233.0.0/18"] });
 * if (conf.hostRuleTable !== 500 || conf.mode !== "auto") throw new Error("defaults");
 * ```
 *
 * @module
 */

import { CniError, ErrorCode, errorMessage } from "../errors.ts";
import { type Cidr, formatCidr, formatIp, maskCidr, parseCidr, parseIp } from "../ip.ts";
import { type LogLevel, validateLogPath } from "../log.ts";
import { CONFIG_FIELDS, type FieldSpec } from "./fields.ts";
import { type ConfigNote, type Found, type ReadContext, resolveKeys } from "./keys.ts";
import type { CoordinatorConfig, Mode, PolicyRoute } from "./types.ts";

export type { ConfigNote } from "./keys.ts";

/** Network names (and container IDs) per libcni: `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`. */
export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;

function invalid(field: string, value: unknown, why: string): CniError {
  return new CniError(
    ErrorCode.InvalidNetworkConfig,
    `Invalid "${field}": ${JSON.stringify(value) ?? String(value)} ${why}`,
  );
}

/**
 * Check a Linux interface name.
 *
 * @param name candidate name
 * @returns a reason when it is invalid, else undefined
 */
export function ifnameProblem(name: string): string | undefined {
  const bytes = new TextEncoder().encode(name).length;
  if (bytes === 0) return "is empty";
  if (bytes > 15) return "is longer than 15 bytes";
  if (name === "." || name === "..") return "is not a valid interface name";
  if (/[/:\s]/.test(name)) return "contains '/', ':' or whitespace";
  return undefined;
}

/**
 * Parse a Go duration ("1.5s", "100ms", "1m30s", "250us").
 *
 * @param text the duration
 * @returns milliseconds, or undefined when it does not parse
 */
export function parseGoDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    "µs": 1e-3,
    "μs": 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  let total = 0;
  let pos = 0;
  if (text.length === 0) return undefined;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (m === null) return undefined;
    total += Number(m[1]) * unit[m[2]!]!;
    pos = re.lastIndex;
  }
  return total;
}

function checkValue(path: string, spec: FieldSpec, value: unknown, ctx: ReadContext): unknown {
  switch (spec.kind) {
    case "string":
      if (typeof value !== "string") throw invalid(path, value, "is not a string");
      return value;
    case "boolean":
      if (typeof value !== "boolean") throw invalid(path, value, "is not a boolean");
      return value;
    case "integer": {
      if (typeof value !== "number" || !Number.isInteger(value)) {
        throw invalid(path, value, "is not an integer");
      }
      if (
        (spec.minimum !== undefined && value < spec.minimum) ||
        (spec.maximum !== undefined && value > spec.maximum)
      ) {
        throw invalid(path, value, `is out of range [${spec.minimum}, ${spec.maximum}]`);
      }
      if (spec.forbidden?.includes(value)) throw invalid(path, value, "is a reserved value");
      return value;
    }
    case "enum":
      if (typeof value !== "string" || !spec.enum?.includes(value)) {
        throw invalid(path, value, `is not one of ${spec.enum?.join(", ")}`);
      }
      return value;
    case "logLevel": {
      const v = typeof value === "string" ? value.toLowerCase() : value;
      if (typeof v !== "string" || !spec.enum?.includes(v)) {
        throw invalid(path, value, `is not one of ${spec.enum?.join(", ")}`);
      }
      return v;
    }
    case "ifname": {
      if (typeof value !== "string") throw invalid(path, value, "is not a string");
      const why = ifnameProblem(value);
      if (why !== undefined) throw invalid(path, value, why);
      return value;
    }
    case "cidrList": {
      if (!Array.isArray(value)) throw invalid(path, value, "is not a list of CIDRs");
      return value.map((item, i) => {
        if (typeof item !== "string") throw invalid(`${path}[${i}]`, item, "is not a string");
        return formatCidr(maskCidr(parseCidrOnly(`${path}[${i}]`, item)));
      });
    }
    case "policyRoutes": {
      if (!Array.isArray(value)) throw invalid(path, value, "is not a list of {dst, gw}");
      return value.map((item, i) => checkPolicyRoute(`${path}[${i}]`, item, ctx));
    }
    case "macPrefix": {
      if (typeof value !== "string" || !/^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}$/.test(value)) {
        throw invalid(path, value, 'is not two hex bytes like "0a:1b"');
      }
      if ((parseInt(value.slice(0, 2), 16) & 1) !== 0) {
        throw invalid(path, value, "is a multicast prefix (the first byte must be even)");
      }
      return value.toLowerCase();
    }
    case "ipv4": {
      if (typeof value !== "string") throw invalid(path, value, "is not a string");
      const ip = parseIp(value);
      if (ip === undefined || ip.family !== 4) throw invalid(path, value, "is not an IPv4 address");
      const [a] = ip.bytes;
      if (a === 0 || a === 127 || a! >= 224) {
        throw invalid(path, value, "is not a unicast address");
      }
      return formatIp(ip);
    }
    case "duration": {
      if (typeof value !== "string") throw invalid(path, value, "is not a duration string");
      const ms = parseGoDuration(value);
      if (ms === undefined) throw invalid(path, value, 'is not a duration like "100ms" or "1s"');
      if (
        (spec.minimum !== undefined && ms < spec.minimum) ||
        (spec.maximum !== undefined && ms > spec.maximum)
      ) {
        throw invalid(path, value, `is out of range [${spec.minimum}ms, ${spec.maximum}ms]`);
      }
      return ms;
    }
    case "logFile": {
      if (typeof value !== "string") throw invalid(path, value, "is not a string");
      return validateLogPath(value);
    }
    case "object":
      // Objects are layered in readFields().
      throw new Error(`checkValue() of object field ${path}`);
  }
}

/** The keys of one policyRoutes item, read with the same key rules as the rest. */
const POLICY_ROUTE_FIELDS: Readonly<Record<string, FieldSpec>> = {
  dst: { kind: "string", description: "Destination CIDR" },
  gw: { kind: "string", description: "Gateway address" },
};

function checkPolicyRoute(path: string, item: unknown, ctx: ReadContext): PolicyRoute {
  if (typeof item !== "object" || item === null || Array.isArray(item)) {
    throw invalid(path, item, "is not an object {dst, gw}");
  }
  const keys = resolveKeys(path + ".", POLICY_ROUTE_FIELDS, item as Record<string, unknown>, ctx);
  const dst = keys.get("dst")?.value;
  const gw = keys.get("gw")?.value;
  if (typeof dst !== "string") throw invalid(`${path}.dst`, dst, "is not a string");
  if (typeof gw !== "string") throw invalid(`${path}.gw`, gw, "is not a string");
  const c = parseCidrOnly(`${path}.dst`, dst);
  const g = parseIp(gw.trim());
  if (g === undefined) throw invalid(`${path}.gw`, gw, "is not an IP address");
  if (g.family !== c.ip.family) {
    throw invalid(path, item, "mixes IPv4 and IPv6 in dst and gw");
  }
  return { dst: formatCidr(maskCidr(c)), gw: formatIp(g), family: g.family };
}

/** A CIDR, never a bare address (code 7 suggesting the /32 or /128 form). */
function parseCidrOnly(path: string, item: string): Cidr {
  const text = item.trim();
  const c = parseCidr(text);
  if (c !== undefined) return c;
  const ip = parseIp(text);
  if (ip !== undefined) {
    throw invalid(
      path,
      item,
      `is an address, not a CIDR: write "${formatIp(ip)}/${ip.family === 4 ? 32 : 128}"`,
    );
  }
  throw invalid(path, item, "is not a CIDR");
}

/** How {@linkcode parseConfig} reads. */
export interface ParseOptions {
  /**
   * The node defaults (`./defaults.ts`): the second layer, between the CNI
   * entry and the built-in defaults. `path` names the file in errors.
   */
  defaults?: { path: string; raw: Record<string, unknown> };
  /**
   * DEL and GC: a bad value or a near-miss key is a warning (in `notes`) and
   * the field takes its default; only a missing or bad network name throws.
   */
  lenient?: boolean;
  /** Receives the info and warning notes (case variants, ignored keys, lenient fallbacks). */
  notes?: ConfigNote[];
}

/** One layer of values: the CNI entry, or the node defaults file. */
interface Layer {
  keys: Map<string, Found>;
  where: string;
}

/** An empty string or list in an upper layer means "take the next" (the original's merge). */
function unset(spec: FieldSpec, value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return value === "" && spec.emptyIsDefault === true;
}

function withWhere(err: unknown, where: string): unknown {
  if (where === "" || !(err instanceof CniError)) return err;
  return new CniError(err.code, `${where}: ${err.message}`, { details: err.details ?? "" });
}

function readFields(
  prefix: string,
  fields: Readonly<Record<string, FieldSpec>>,
  layers: readonly Layer[],
  ctx: ReadContext,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(fields)) {
    if (spec.kind === "object") {
      const sub: Layer[] = [];
      for (const l of layers) {
        const f = l.keys.get(key);
        if (f === undefined || f.value === null || f.value === undefined) continue;
        const c = { ...ctx, where: l.where };
        try {
          if (typeof f.value !== "object" || Array.isArray(f.value)) {
            throw invalid(prefix + f.name, f.value, "is not an object");
          }
          sub.push({
            keys: resolveKeys(prefix + f.name + ".", spec.properties ?? {}, f.value as never, c),
            where: l.where,
          });
        } catch (err) {
          if (!ctx.lenient) throw withWhere(err, l.where);
          ctx.notes.push({
            level: "warn",
            msg: `${errorMessage(withWhere(err, l.where))} (ignored)`,
          });
        }
      }
      out[key] = readFields(prefix + key + ".", spec.properties ?? {}, sub, ctx);
      continue;
    }
    // The layers in precedence order (the entry, then the node defaults file),
    // then the built-in default. Strictly, the first set value must be valid;
    // leniently (DEL, GC), an invalid one is noted and the next one is taken.
    const candidates: { f: Found; where: string }[] = [];
    for (const l of layers) {
      const f = l.keys.get(key);
      if (f !== undefined && !unset(spec, f.value)) candidates.push({ f, where: l.where });
    }
    let done = false;
    for (const c of candidates) {
      try {
        out[key] = checkValue(prefix + c.f.name, spec, c.f.value, ctx);
        done = true;
        break;
      } catch (err) {
        if (!ctx.lenient || !(err instanceof CniError)) throw withWhere(err, c.where);
        ctx.notes.push({
          level: "warn",
          msg: `${errorMessage(withWhere(err, c.where))} (ignored)`,
        });
      }
    }
    if (done) continue;
    // An empty default ("" = feature off) needs no validation.
    out[key] = spec.default === undefined || spec.default === ""
      ? spec.default
      : checkValue(prefix + key, spec, spec.default, ctx);
  }
  return out;
}

/**
 * Validate the plugin's stdin object and merge defaults.
 *
 * @param raw the parsed stdin JSON
 * @returns the validated configuration
 * @throws CniError code 7 naming the first bad field and its value
 */
export function parseConfig(raw: unknown, opts: ParseOptions = {}): CoordinatorConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new CniError(ErrorCode.DecodeFailure, "Config is not a JSON object");
  }
  const obj = raw as Record<string, unknown>;
  const name = obj["name"];
  if (typeof name !== "string" || name === "") {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'Missing network name: set "name"');
  }
  if (!NAME_RE.test(name)) {
    throw invalid("name", name, "must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$");
  }
  const ctx: ReadContext = { lenient: opts.lenient ?? false, notes: opts.notes ?? [], where: "" };
  const layers: Layer[] = [{ keys: resolveKeys("", CONFIG_FIELDS, obj, ctx), where: "" }];
  if (opts.defaults !== undefined) {
    const where = opts.defaults.path;
    let keys: Map<string, Found> | undefined;
    try {
      keys = resolveKeys("", CONFIG_FIELDS, opts.defaults.raw, { ...ctx, where });
    } catch (err) {
      if (!ctx.lenient) throw withWhere(err, where);
      ctx.notes.push({ level: "warn", msg: `${errorMessage(withWhere(err, where))} (ignored)` });
    }
    if (keys !== undefined) {
      const layer = { keys, where };
      // Every field of the file is checked, also those the entry overrides
      // (readFields names the file in its errors).
      if (!ctx.lenient) readFields("", CONFIG_FIELDS, [layer], { ...ctx, notes: [] });
      layers.push(layer);
    }
  }
  const f = readFields("", CONFIG_FIELDS, layers, ctx);
  const detect = f["detectOptions"] as Record<string, number>;
  const log = f["logOptions"] as Record<string, unknown>;
  const mode = f["mode"] === "disabled" ? "disable" : f["mode"] as Mode;
  return {
    cniVersion: typeof obj["cniVersion"] === "string" ? obj["cniVersion"] : "",
    name,
    type: typeof obj["type"] === "string" ? obj["type"] : "coordinator",
    mode,
    podDefaultCniNic: f["podDefaultCniNic"] as string,
    podDefaultRouteNic: f["podDefaultRouteNic"] as string,
    tunePodRoutes: f["tunePodRoutes"] as boolean,
    overlayPodCIDR: f["overlayPodCIDR"] as string[],
    serviceCIDR: f["serviceCIDR"] as string[],
    hijackCIDR: f["hijackCIDR"] as string[],
    policyRoutes: f["policyRoutes"] as PolicyRoute[],
    hostRuleTable: f["hostRuleTable"] as number,
    podRPFilter: f["podRPFilter"] as number,
    hostRPFilter: f["hostRPFilter"] as number | undefined,
    txQueueLen: f["txQueueLen"] as number,
    podMACPrefix: f["podMACPrefix"] as string,
    vethLinkAddress: f["vethLinkAddress"] as string,
    vethMTU: f["vethMTU"] as number,
    detectIPConflict: f["detectIPConflict"] as boolean,
    detectGateway: f["detectGateway"] as boolean,
    detectOptions: {
      retries: detect["retries"] === 0 ? 3 : detect["retries"]!,
      intervalMs: detect["interval"]!,
      timeoutMs: detect["timeout"]!,
    },
    logOptions: {
      logLevel: log["logLevel"] as LogLevel,
      logFile: log["logFile"] as string,
      logMaxSize: log["logMaxSize"] as number,
      logMaxAge: log["logMaxAge"] as number,
      logMaxCount: log["logMaxCount"] as number,
    },
  };
}
