/**
 * The one permission set of the plugin. `build.ts` bakes these flags into the
 * compiled binary and the tests run `main.ts` with exactly the same flags, so
 * the two cannot drift.
 *
 * @module
 */

/** Binaries the plugin may start (resolved through PATH), each for what it is started. */
export const ALLOWED_COMMANDS: readonly string[] = [
  // ADD, DEL, CHECK, GC: links, addresses, routes, rules, neighbours (`ip -batch`); their
  // reads and doctor's (`ip -j`); STATUS's readiness check (`ip -V`).
  "ip",
  // doctor: which backend iptables uses (`iptables -V`).
  "iptables",
  // ADD, DEL: the pod's connmark rules in its mangle table (kernel/iptables.ts).
  "iptables-restore",
  "ip6tables-restore",
  // CHECK and a repeated ADD: those rules read back; doctor (read-only): kube-proxy's nat
  // rules (its ClusterIPs) and the filter table's conntrack INVALID drop.
  "iptables-save",
  "ip6tables-save",
  // doctor, defaults --check / --suggest (read-only): kube-proxy's nat rules when they are in
  // the other iptables backend (iptables-nft says "iptables-legacy tables present").
  "iptables-legacy-save",
  "ip6tables-legacy-save",
  // doctor, defaults --check / --suggest (read-only): kube-proxy's nftables mode
  // (`nft -j list table ip kube-proxy`, `ip6 kube-proxy`).
  "nft",
];

/**
 * Directories the plugin may write through Deno's fs APIs: logs, state, lock,
 * and the node defaults file's directory (config/defaults.ts), which only
 * `coordinator defaults --from-spidercoordinator --out` writes (a CNI call
 * only reads it). Sysctls under /proc/sys and netns files are not listed:
 * Deno refuses those paths to anything short of --allow-all, so they go
 * through libc (--allow-ffi).
 */
export const WRITABLE_PATHS: readonly string[] = [
  "/var/log",
  "/run/cni",
  "/var/run/cni",
  "/etc/cni/net.d/coordinator.d",
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

/**
 * V8 flags of the plugin, baked into the compiled binary and given to every
 * `deno run` of `main.ts` alike. `--single-threaded`: no V8 worker threads
 * (concurrent compilation, marking, sweeping). A CNI call lives ~40 ms and
 * spends much of it next to its own `ip` children on a node's cores; on the
 * 2-core test machine this took 4-10 ms off the ADD median (docs/network.md).
 *
 * @returns the flags
 */
export function v8Flags(): string[] {
  return ["--v8-flags=--single-threaded"];
}

/**
 * The `deno run` flags (besides {@linkcode permissionFlags}) under which
 * `main.ts` starts as the compiled binary does: its {@linkcode v8Flags}, and no
 * config file, lock file, npm or remote module resolution. The binary does
 * none of these; under `deno run` they are start-up time spent on every CNI
 * call (2-6 ms measured, see docs/network.md). The plugin's own modules import
 * only relative paths and `node:` built-ins, so nothing needs them.
 *
 * @returns the flags, in a stable order
 */
export function runFlags(): string[] {
  return ["--no-config", "--no-npm", "--no-remote", ...v8Flags()];
}
