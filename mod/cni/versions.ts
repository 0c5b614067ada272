/**
 * The versions this plugin speaks, and the answer to VERSION: small and
 * without dependencies, so that main.ts can answer VERSION (and print the
 * about text) before it loads the rest of the plugin.
 *
 * @example
 * ```ts
 * import { versionAnswer } from "./versions.ts";
 * const out = versionAnswer(new TextEncoder().encode('{"cniVersion":"0.4.0"}'));
 * if (!out.includes('"cniVersion":"0.4.0"')) throw new Error("VERSION");
 * ```
 *
 * @module
 */

import { ABOUT } from "../version.ts";

/** Spec versions we accept and advertise (chaining exists from 0.3.0 on). */
export const SUPPORTED_VERSIONS: readonly string[] = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/** Largest stdin config accepted. */
export const MAX_STDIN_BYTES = 1 << 20;

/**
 * Compare two CNI spec versions numerically (major.minor.patch).
 *
 * @param a version
 * @param b version
 * @returns negative, 0 or positive
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The stdout of VERSION: the request's version when it is one we support
 * (else 1.1.0) and the supported list. A missing or unreadable stdin is
 * ignored, as the Go skeleton does.
 *
 * @param stdin the request
 * @returns the JSON line
 */
export function versionAnswer(stdin: Uint8Array): string {
  let version = "1.1.0";
  try {
    const raw = JSON.parse(new TextDecoder().decode(stdin)) as { cniVersion?: unknown };
    if (typeof raw.cniVersion === "string" && SUPPORTED_VERSIONS.includes(raw.cniVersion)) {
      version = raw.cniVersion;
    }
  } catch (err) {
    // VERSION ignores a missing or unreadable stdin, as skel does.
    if (!(err instanceof SyntaxError)) throw err;
  }
  return JSON.stringify({ cniVersion: version, supportedVersions: SUPPORTED_VERSIONS }) + "\n";
}

/** The text printed when a person runs the binary without CNI_COMMAND. */
export function aboutText(): string {
  return `${ABOUT}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(", ")}\n`;
}
