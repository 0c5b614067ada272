/**
 * The subcommands in this process (mod/cli/mod.ts `runCli`), with stdin
 * given and stdout / stderr captured: the unit tests' way to run
 * `coordinator <subcommand>` without the bundle.
 *
 * @module
 */

import { runCli } from "../../mod/cli/mod.ts";

/**
 * Run `coordinator <args>` in this process.
 *
 * @param args the command line after the program
 * @param stdin what the subcommand reads from stdin
 * @returns the exit code and what was written to stdout and stderr
 */
export async function cli(
  args: string[],
  stdin = "",
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli({
    args,
    stdin: () => Promise.resolve(new TextEncoder().encode(stdin)),
    out: (t) => (out += t),
    err: (t) => (err += t),
  });
  return { code, out, err };
}
