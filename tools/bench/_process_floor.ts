/**
 * The process floor of an ADD (run by tools/bench/cni_bench.ts, not a plugin): a
 * Deno program that starts the children of an underlay IPv4 ADD in the same
 * three rounds as mod/commands/add.ts, and does nothing else. Round one: an
 * `ip -batch` in the pod netns (the pod read); round two: an `ip -batch` on
 * the node (the node batch); round three: an `ip -batch` and an
 * `iptables-restore` in the pod netns, together. The lines only read (the pod's links, addresses, routes and rules,
 * the node's route to an address) and the iptables script is an empty commit,
 * so the network is left as it was. It is started like the plugin (same `deno
 * run` flags, CNI_NETNS in the environment) and spawns through the plugin's
 * own mod/kernel/exec.ts, so its time is what process start-up and the two rounds of
 * children cost any plugin with this design before its own logic runs.
 *
 * @module
 */

import { run } from "../../mod/kernel/exec.ts";

const netns = Deno.env.get("CNI_NETNS") ?? "";
const batch = ["ip", "-j", "-d", "-force", "-batch", "-"];
await run(batch, { stdin: "link show\naddr show\nroute show table all\nrule show\n", netns });
await run(batch, { stdin: "route get 127.0.0.1\naddr show\n" });
await Promise.all([
  run(batch, { stdin: "addr show\n", netns }),
  run(["iptables-restore", "--noflush"], { stdin: "*mangle\nCOMMIT\n", netns }),
]);
Deno.stdout.writeSync(new TextEncoder().encode("{}\n"));
