/**
 * Per-interface tuning: the MAC from podMACPrefix, random veth MACs and the pod
 * sysctls (rp_filter, IPv6).
 *
 * @example
 * ```ts
 * import { macFromPrefix } from "./tune.ts";
 * if (macFromPrefix("0a:1b", "10.6.212.241") !== "0a:1b:0a:06:d4:f1") throw new Error("mac");
 * ```
 *
 * @module
 */

import type { CoordinatorConfig } from "../config/types.ts";
import { CniError, ErrorCode } from "../errors.ts";
import type { SysctlIntent } from "../kernel/intent.ts";
import { parseIp } from "../ip.ts";
import type { Family } from "./mode.ts";

/**
 * A random locally administered unicast MAC (for the veth pair's two ends).
 *
 * @param bytes 6 random bytes (injectable for tests)
 * @returns "xx:xx:xx:xx:xx:xx"
 */
export function randomMac(bytes: Uint8Array = crypto.getRandomValues(new Uint8Array(6))): string {
  const b = Uint8Array.from(bytes.subarray(0, 6));
  b[0] = ((b[0] ?? 0) | 0x02) & 0xfe;
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
}

/**
 * The fixed MAC of podMACPrefix: prefix + the last 4 bytes of the address
 * (without the original's bug that drops leading zeros of each byte).
 *
 * @param prefix "0a:1b"
 * @param ip the NIC's first address
 * @returns the MAC
 */
export function macFromPrefix(prefix: string, ip: string): string {
  const p = parseIp(ip);
  if (p === undefined) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `Cannot derive a MAC from address "${ip}"`);
  }
  const tail = Array.from(
    p.bytes.subarray(p.bytes.length - 4),
    (x) => x.toString(16).padStart(2, "0"),
  );
  return [prefix.toLowerCase(), ...tail].join(":");
}

/**
 * Pod sysctls: IPv6 on for v6/dual; rp_filter on `all`,
 * `default` and every pod interface, because the kernel uses the larger of
 * `all` and the interface value (the original only sets `all`).
 *
 * @param conf configuration
 * @param family pod family
 * @param links pod links (after veth creation: include veth0)
 * @returns dotted keys and values
 */
export function podSysctls(
  conf: CoordinatorConfig,
  family: Family,
  links: readonly string[],
): SysctlIntent[] {
  const out: SysctlIntent[] = [];
  if (family !== "v4") out.push({ key: "net.ipv6.conf.all.disable_ipv6", value: 0 });
  if (conf.podRPFilter >= 0) {
    for (const n of ["all", "default", ...links.filter((l) => l !== "lo")]) {
      out.push({ key: `net.ipv4.conf.${n}.rp_filter`, value: conf.podRPFilter, optional: true });
    }
  }
  return out;
}

/**
 * Node sysctls of a veth pair ADD creates: no router advertisements on the
 * node end (its address must stay the node's).
 *
 * @param hostVeth the node end
 * @returns dotted keys and values
 */
export function nodeSysctls(hostVeth: string): SysctlIntent[] {
  return [{ key: `net.ipv6.conf.${hostVeth}.accept_ra`, value: 0 }];
}

/**
 * The MAC podMACPrefix gives the NIC, and whether that is a change.
 *
 * @param prefix podMACPrefix ("" = off)
 * @param firstAddr the NIC's first address
 * @param currentMac the NIC's MAC now
 * @returns the new MAC (undefined: none) and whether it differs
 */
export function plannedMac(
  prefix: string,
  firstAddr: string | undefined,
  currentMac: string,
): { mac: string | undefined; changed: boolean } {
  const mac = prefix !== "" && firstAddr !== undefined
    ? macFromPrefix(prefix, firstAddr)
    : undefined;
  return { mac, changed: mac !== undefined && mac !== currentMac.toLowerCase() };
}
