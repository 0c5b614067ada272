/**
 * CNI results across spec versions: read a `prevResult` of 0.3.0, 0.3.1,
 * 0.4.0, 1.0.0 or 1.1.0 into the internal 1.x model (validating every field),
 * and write the internal model in any of those versions.
 *
 * Rules (the CNI spec's result conversion between versions): 0.3.x/0.4.0 `ips[]` carry `version`
 * ("4"/"6"), interfaces have only name/mac/sandbox; 1.x drops `version`;
 * 1.1.0 adds interface mtu/socketPath/pciID and route mtu/advmss/priority/
 * table/scope. Empty `dns` is omitted; absent optional fields are never `null`.
 *
 * @example
 * ```ts
 * import { formatResult, parseResult } from "./result.ts";
 * const r = parseResult({ cniVersion: "0.4.0", interfaces: [{ name: "eth0" }],
 *   ips: [{ version: "4", address: "10.1.0.5/16", interface: 0 }] }, "0.4.0");
 * const out = formatResult(r, "1.0.0") as { ips: { version?: string }[] };
 * if (out.ips[0]?.version !== undefined) throw new Error("1.0.0 has no ips[].version");
 * ```
 *
 * @module
 */

import { CniError, ErrorCode } from "../errors.ts";
import type { Dns, Interface, IpConfig, Result, Route } from "./types.ts";
import { formatIp, parseCidr, parseIp } from "../ip.ts";

/** Versions whose `ips[]` entries carry `version`. */
const LEGACY = new Set(["0.3.0", "0.3.1", "0.4.0"]);

function bad(what: string, value: unknown, why: string): CniError {
  return new CniError(
    ErrorCode.InvalidNetworkConfig,
    `Invalid prevResult: "${what}" ${JSON.stringify(value) ?? String(value)} ${why}`,
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function optString(o: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw bad(`${path}.${key}`, v, "is not a string");
  return v;
}

function optInt(o: Record<string, unknown>, key: string, path: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw bad(`${path}.${key}`, v, "is not a non-negative integer");
  }
  return v;
}

function optStrings(o: Record<string, unknown>, key: string, path: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
    throw bad(`${path}.${key}`, v, "is not a list of strings");
  }
  return v as string[];
}

function list(o: Record<string, unknown>, key: string): unknown[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(key, v, "is not a list");
  return v;
}

function canonicalAddress(text: string, path: string): string {
  const c = parseCidr(text);
  if (c === undefined) throw bad(path, text, "is not an address in CIDR form");
  return `${formatIp(c.ip)}/${c.prefix}`;
}

function checkedIp(text: string, path: string): string {
  const ip = parseIp(text);
  if (ip === undefined) throw bad(path, text, "is not an IP address");
  return formatIp(ip);
}

/**
 * Read a result object of any supported version into the internal model.
 *
 * @param raw the JSON object (e.g. `prevResult`)
 * @param fallbackVersion the version to assume when `raw.cniVersion` is missing
 * @returns the internal (1.x) result, carrying the version it was read as
 * @throws CniError code 7 naming the first bad field
 */
export function parseResult(raw: unknown, fallbackVersion: string): Result {
  if (!isObject(raw)) throw bad("prevResult", raw, "is not an object");
  const version = typeof raw["cniVersion"] === "string" && raw["cniVersion"] !== ""
    ? raw["cniVersion"]
    : fallbackVersion;
  if (raw["ip4"] !== undefined || raw["ip6"] !== undefined) {
    throw bad("prevResult", version, "uses the 0.2.0 shape (ip4/ip6), which cannot be chained");
  }
  const interfaces: Interface[] = list(raw, "interfaces").map((item, i) => {
    const path = `interfaces[${i}]`;
    if (!isObject(item)) throw bad(path, item, "is not an object");
    const name = optString(item, "name", path);
    if (name === undefined || name === "") throw bad(`${path}.name`, name, "is missing");
    const out: Interface = { name };
    const mac = optString(item, "mac", path);
    if (mac !== undefined && mac !== "") out.mac = mac;
    const mtu = optInt(item, "mtu", path);
    if (mtu !== undefined) out.mtu = mtu;
    const sandbox = optString(item, "sandbox", path);
    if (sandbox !== undefined && sandbox !== "") out.sandbox = sandbox;
    const socketPath = optString(item, "socketPath", path);
    if (socketPath !== undefined && socketPath !== "") out.socketPath = socketPath;
    const pciID = optString(item, "pciID", path);
    if (pciID !== undefined && pciID !== "") out.pciID = pciID;
    return out;
  });
  const ips: IpConfig[] = list(raw, "ips").map((item, i) => {
    const path = `ips[${i}]`;
    if (!isObject(item)) throw bad(path, item, "is not an object");
    const address = optString(item, "address", path);
    if (address === undefined) throw bad(`${path}.address`, address, "is missing");
    const out: IpConfig = { address: canonicalAddress(address, `${path}.address`) };
    const gateway = optString(item, "gateway", path);
    if (gateway !== undefined && gateway !== "") {
      out.gateway = checkedIp(gateway, `${path}.gateway`);
    }
    const iface = optInt(item, "interface", path);
    if (iface !== undefined) {
      if (iface >= interfaces.length) {
        throw bad(`${path}.interface`, iface, "points past the interfaces list");
      }
      out.interface = iface;
    }
    const ver = item["version"];
    if (ver !== undefined && ver !== "4" && ver !== "6") {
      throw bad(`${path}.version`, ver, 'is not "4" or "6"');
    }
    return out;
  });
  const routes: Route[] = list(raw, "routes").map((item, i) => {
    const path = `routes[${i}]`;
    if (!isObject(item)) throw bad(path, item, "is not an object");
    const dst = optString(item, "dst", path);
    if (dst === undefined) throw bad(`${path}.dst`, dst, "is missing");
    const c = parseCidr(dst);
    if (c === undefined) throw bad(`${path}.dst`, dst, "is not a CIDR");
    const out: Route = { dst };
    const gw = optString(item, "gw", path);
    if (gw !== undefined && gw !== "") out.gw = checkedIp(gw, `${path}.gw`);
    for (const k of ["mtu", "advmss", "priority", "table", "scope"] as const) {
      const v = optInt(item, k, path);
      if (v !== undefined) out[k] = v;
    }
    return out;
  });
  const result: Result = { cniVersion: version };
  if (interfaces.length > 0) result.interfaces = interfaces;
  if (ips.length > 0) result.ips = ips;
  if (routes.length > 0) result.routes = routes;
  const dns = raw["dns"];
  if (dns !== undefined && dns !== null) {
    if (!isObject(dns)) throw bad("dns", dns, "is not an object");
    const d: Dns = {};
    const nameservers = optStrings(dns, "nameservers", "dns");
    if (nameservers?.length) d.nameservers = nameservers;
    const domain = optString(dns, "domain", "dns");
    if (domain) d.domain = domain;
    const search = optStrings(dns, "search", "dns");
    if (search?.length) d.search = search;
    const options = optStrings(dns, "options", "dns");
    if (options?.length) d.options = options;
    if (Object.keys(d).length > 0) result.dns = d;
  }
  return result;
}

/**
 * Write the internal model as a result of `version`.
 *
 * @param result the internal result
 * @param version the request's cniVersion
 * @returns a plain JSON object for stdout
 */
export function formatResult(result: Result, version: string): Record<string, unknown> {
  const legacy = LEGACY.has(version);
  const out: Record<string, unknown> = { cniVersion: version };
  if (result.interfaces?.length) {
    out["interfaces"] = result.interfaces.map((i) => {
      const o: Record<string, unknown> = { name: i.name };
      if (i.mac !== undefined) o["mac"] = i.mac;
      if (!legacy && i.mtu !== undefined) o["mtu"] = i.mtu;
      if (i.sandbox !== undefined) o["sandbox"] = i.sandbox;
      if (!legacy && i.socketPath !== undefined) o["socketPath"] = i.socketPath;
      if (!legacy && i.pciID !== undefined) o["pciID"] = i.pciID;
      return o;
    });
  }
  if (result.ips?.length) {
    out["ips"] = result.ips.map((ip) => {
      const o: Record<string, unknown> = {};
      if (legacy) o["version"] = ip.address.includes(":") ? "6" : "4";
      if (ip.interface !== undefined) o["interface"] = ip.interface;
      o["address"] = ip.address;
      if (ip.gateway !== undefined) o["gateway"] = ip.gateway;
      return o;
    });
  }
  if (result.routes?.length) out["routes"] = result.routes.map((r) => ({ ...r }));
  if (result.dns !== undefined && Object.keys(result.dns).length > 0) {
    out["dns"] = { ...result.dns };
  }
  return out;
}
