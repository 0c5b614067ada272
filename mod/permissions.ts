/**
 * The one permission set of the plugin. `build.ts` bakes these flags into the
 * compiled binary and the tests run `main.ts` with exactly the same flags, so
 * the two cannot drift.
 *
 * @module
 */

/** Binaries the plugin may start (resolved through PATH). */
export const ALLOWED_COMMANDS: readonly string[] = [
  "ip",
  "iptables",
  "ip6tables",
  "iptables-restore",
  "ip6tables-restore",
  "iptables-save",
  "ip6tables-save",
];

/** Directories the plugin may write: logs, state, lock, pod sysctls. */
export const WRITABLE_PATHS: readonly string[] = [
  "/var/log",
  "/run/cni",
  "/var/run/cni",
  "/proc/sys/net",
  "/proc/thread-self/ns",
];

/**
 * The `deno run` / `deno compile` permission flags.
 *
 * @returns the flags, in a stable order
 */
export function permissionFlags(): string[] {
  return [
    "--no-prompt",
    `--allow-run=${ALLOWED_COMMANDS.join(",")}`,
    "--allow-read",
    `--allow-write=${WRITABLE_PATHS.join(",")}`,
    "--allow-env",
    "--allow-ffi",
  ];
}
