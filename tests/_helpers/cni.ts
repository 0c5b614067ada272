/**
 * Run the plugin as a runtime does: a subprocess with CNI_* env and the config
 * on stdin. By default `deno run` of `main.ts` with exactly the permission
 * flags the compiled binary gets (mod/permissions.ts); with COORDINATOR_BIN set,
 * that binary instead.
 *
 * @module
 */

import { permissionFlags } from "../../mod/permissions.ts";

/** Absolute path of main.ts. */
export const MAIN_TS = new URL("../../main.ts", import.meta.url).pathname;

/** The argv that starts the plugin (binary or `deno run ... main.ts`). */
export function pluginArgv(): string[] {
  const bin = Deno.env.get("COORDINATOR_BIN");
  if (bin) return [bin];
  return [Deno.execPath(), "run", ...permissionFlags(), MAIN_TS];
}

/** One plugin invocation. */
export interface RunPluginOptions {
  command: string;
  /** Config object (serialised to stdin) or raw stdin text/bytes. */
  conf?: unknown;
  stdin?: string | Uint8Array;
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  path?: string;
  /** Extra env; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>;
}

/** What the plugin did. */
export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when it is JSON. */
  json: unknown;
}

/**
 * Run the plugin once.
 *
 * @param opts command, config and CNI_* values
 * @returns exit code, output and parsed stdout
 */
export async function runPlugin(opts: RunPluginOptions): Promise<PluginRun> {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    CNI_COMMAND: opts.command,
    CNI_CONTAINERID: opts.containerId ?? "",
    CNI_NETNS: opts.netns ?? "",
    CNI_IFNAME: opts.ifname ?? "",
    CNI_ARGS: opts.args ?? "",
    CNI_PATH: opts.path ?? "/opt/cni/bin",
  };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env["DENO_DIR"] = denoDir;
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const stdinData = opts.stdin ?? (opts.conf === undefined ? "" : JSON.stringify(opts.conf));
  const [cmd, ...args] = pluginArgv();
  const child = new Deno.Command(cmd!, {
    args,
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(
    typeof stdinData === "string" ? new TextEncoder().encode(stdinData) : stdinData,
  )
    .catch(() => {});
  await writer.close().catch(() => {});
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  let json: unknown = undefined;
  try {
    json = stdout.trim() === "" ? undefined : JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code: out.code, stdout, stderr: new TextDecoder().decode(out.stderr), json };
}
