/**
 * One file: the daemon, its mount namespace and the `ctr` calls share one life cycle.
 *
 * A private containerd for end-to-end tests, living inside a test world's
 * node netns and a private mount namespace, so nothing of the machine's own
 * CNI set-up (/etc/cni, /opt/cni, /var/lib/cni) or containerd state is seen
 * or touched.
 *
 * How it is put together:
 * - A "holder" process (`nsenter --net=<node> unshare -m --propagation private
 *   sh ...`, then `sleep infinity`) owns the mount namespace. It first drops
 *   its copies of the /run/netns mounts (so other tests' namespaces are not
 *   kept alive by them), lays overlays with upper dirs on a private tmpfs over
 *   /etc, /opt, /var/lib and /run (so mount points can be made and
 *   containerd's /run/containerd stays private), and bind-mounts three temp
 *   directories over /etc/cni/net.d, /opt/cni/bin and /var/lib/cni: ctr 1.6
 *   always reads the first conflist there, finds plugins there and libcni
 *   caches results there.
 * - containerd runs with its own config, root, state and socket in the temp
 *   dir, the cri and `io.containerd.internal.v1.opt` plugins disabled, entered
 *   into the holder's namespaces with `nsenter --mount --net` (`ip netns exec`
 *   would remount /sys and hide the cgroup mounts from runc).
 * - Every `ctr` call is entered the same way, so `ctr run --cni` runs the CNI
 *   plugins in the node netns, as a runtime on a node does.
 *
 * Requires root, containerd, ctr, runc, containerd-shim-runc-v2, nsenter,
 * unshare and overlayfs.
 *
 * @module
 */

import type { Conflist } from "../_helpers/refplugins.ts";
import { hasTool, netnsAt, type NetnsView, type TestNetns } from "../_helpers/netns.ts";
import { pollUntil, within } from "../../tools/lib/poll.ts";
import { IMAGE_REF } from "./_image.ts";

/** What a finished command left. */
export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

const dec = new TextDecoder();

async function collect(child: Deno.ChildProcess): Promise<CmdResult> {
  const out = await child.output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function spawn(argv: readonly string[], env?: Record<string, string>): Deno.ChildProcess {
  const [cmd, ...args] = argv;
  return new Deno.Command(cmd!, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(env ? { env } : {}),
  }).spawn();
}

/** How long containerd may take to answer, and a container to start or stop, on a busy machine. */
const START_TIMEOUT_MS = 60_000;

/**
 * Why the containerd tests cannot run here, or undefined when they can.
 *
 * @returns a reason for `ignore`
 */
export function containerdSkipReason(): string | undefined {
  if (Deno.uid() !== 0) return "needs root";
  for (
    const tool of [
      "containerd",
      "ctr",
      "runc",
      "containerd-shim-runc-v2",
      "nsenter",
      "unshare",
      "tar",
      "ip",
    ]
  ) {
    if (!hasTool(tool)) return `needs ${tool}`;
  }
  try {
    if (!/\boverlay\b/.test(Deno.readTextFileSync("/proc/filesystems"))) return "needs overlayfs";
  } catch {
    return "needs /proc/filesystems";
  }
  return undefined;
}

/** A container started with `ctr run --rm --cni` and kept running. */
export interface Container {
  /** The ctr container ID. */
  readonly id: string;
  /** What CNI sees as CNI_CONTAINERID: `<namespace>-<id>`. */
  readonly cniContainerId: string;
  /** The task's init PID (host view). */
  readonly pid: number;
  /** `/proc/<pid>/ns/net`. */
  readonly netnsPath: string;
  /**
   * The container's netns entered from the host (`nsenter --net=<netnsPath>`):
   * where its network state is read when going through the runtime is not
   * the point, as nothing but a pipe is between the kernel and the answer.
   */
  readonly netns: NetnsView;
  /**
   * Run a command inside the container (`ctr task exec`). Its output passes
   * through FIFOs that ctr may close before they are drained: ctr returns on
   * the exit status, and on a busy machine an answer can arrive empty.
   */
  exec(argv: readonly string[]): Promise<CmdResult>;
  /**
   * SIGKILL the task and wait until `ctr run --rm` has run CNI DEL and
   * removed the container.
   *
   * @returns the output of the `ctr run` process
   */
  stop(): Promise<CmdResult>;
}

/** A running private containerd; dispose it to stop everything. */
export interface Containerd extends AsyncDisposable {
  readonly dir: string;
  readonly socket: string;
  readonly namespace: string;
  /** containerd's PID. */
  readonly pid: number;
  /** Host path shown as /var/lib/cni to ctr (libcni's cache). */
  readonly cacheDir: string;
  /** Replace the conflist ctr reads (the only file in /etc/cni/net.d). */
  writeConflist(list: Conflist): Promise<void>;
  /** Run ctr with the given arguments. */
  ctr(args: readonly string[]): Promise<CmdResult>;
  /** Import an image tarball. */
  importImage(tarball: string): Promise<void>;
  /**
   * Start `ctr run --rm --cni IMAGE <id> argv...` in the background and wait
   * until the task runs (CNI ADD has then succeeded).
   */
  run(id: string, argv: readonly string[]): Promise<Container>;
  /** Stop containers, containerd, the holder; remove the temp dir. */
  destroy(): Promise<void>;
}

/** Options of {@linkcode startContainerd}. */
export interface ContainerdOptions {
  /** The node netns containerd and ctr run in. */
  node: TestNetns;
  /** The directory shown as /opt/cni/bin. */
  pluginDir: string;
  /** The containerd namespace (default "e2e"). */
  namespace?: string;
  /** Extra environment for ctr (and thus the plugins). */
  env?: Record<string, string>;
}

const HOLDER_SCRIPT = `set -e
D="$1"
umount -R -l /run/netns 2>/dev/null || true
# Upper dirs on a tmpfs of this namespace: overlayfs refuses some upper
# filesystems (an overlayfs /tmp in a CI container), a tmpfs always works.
mount -t tmpfs e2e-ov "$D/ov"
for n in etc opt varlib run; do mkdir -p "$D/ov/$n/upper" "$D/ov/$n/work"; done
ov() { mount -t overlay "e2e-$2" -o "lowerdir=$1,upperdir=$D/ov/$2/upper,workdir=$D/ov/$2/work" "$1"; }
ov /etc etc
ov /opt opt
ov /var/lib varlib
ov /run run
mkdir -p /etc/cni/net.d /opt/cni/bin /var/lib/cni
mount --bind "$D/netd" /etc/cni/net.d
mount --bind "$2" /opt/cni/bin
mount --bind "$D/cache" /var/lib/cni
echo ready
exec sleep infinity
`;

function configToml(dir: string): string {
  const disabled = [
    "io.containerd.grpc.v1.cri",
    "io.containerd.internal.v1.opt",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.tracing.processor.v1.otlp",
  ];
  return [
    "version = 2",
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    `disabled_plugins = [${disabled.map((p) => `"${p}"`).join(", ")}]`,
    "[grpc]",
    `  address = "${dir}/containerd.sock"`,
    "[ttrpc]",
    `  address = "${dir}/containerd.sock.ttrpc"`,
    "[debug]",
    `  address = ""`,
    "[metrics]",
    `  address = ""`,
    "",
  ].join("\n");
}

/** Read `stream` until `marker` or its end, within `timeoutMs`; returns what was read. */
async function readUntil(
  stream: ReadableStream<Uint8Array>,
  marker: string,
  timeoutMs: number,
): Promise<string> {
  const reader = stream.getReader();
  let text = "";
  const read = async () => {
    while (!text.includes(marker)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
    return text;
  };
  const reading = read();
  // After a timeout, releasing the lock rejects the pending read: nobody waits for it any more.
  reading.catch(() => {});
  try {
    return await within(`"${marker}" from the mount namespace holder`, reading, {
      timeoutMs,
      lastSeen: () => JSON.stringify(text),
    });
  } finally {
    reader.releaseLock();
  }
}

function mntNs(pid: number): string | undefined {
  try {
    return Deno.readLinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

function killPid(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch { /* already gone */ }
}

async function waitExit(child: Deno.ChildProcess, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  const done = await Promise.race([child.status.then(() => true), timeout]);
  clearTimeout(timer);
  return done;
}

/**
 * Start a private containerd in the node netns of a world.
 *
 * @param opts options
 * @returns the handle; dispose it to stop everything
 */
export async function startContainerd(opts: ContainerdOptions): Promise<Containerd> {
  const dir = await Deno.makeTempDir({ prefix: "ctrd-e2e-" });
  const namespace = opts.namespace ?? "e2e";
  const socket = `${dir}/containerd.sock`;
  for (const d of ["netd", "cache", "root", "state"]) await Deno.mkdir(`${dir}/${d}`);
  await Deno.mkdir(`${dir}/ov`);
  await Deno.writeTextFile(`${dir}/config.toml`, configToml(dir));

  const env = { ...opts.env };
  const containers = new Map<string, { child: Deno.ChildProcess; stopped: boolean }>();
  let holder: Deno.ChildProcess | undefined;
  let daemon: Deno.ChildProcess | undefined;
  let holderMnt: string | undefined;
  let execSeq = 0;

  const enter = (argv: readonly string[]): string[] => {
    if (holder === undefined) throw new Error("containerd holder is not running");
    return [
      "nsenter",
      `--mount=/proc/${holder.pid}/ns/mnt`,
      `--net=/proc/${holder.pid}/ns/net`,
      ...argv,
    ];
  };
  const ctrArgv = (args: readonly string[]) =>
    enter(["ctr", "--address", socket, "--namespace", namespace, ...args]);
  const ctr = (args: readonly string[]) => collect(spawn(ctrArgv(args), env));
  const mustCtr = async (args: readonly string[]) => {
    const r = await ctr(args);
    if (r.code !== 0) {
      throw new Error(`ctr ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
    }
    return r;
  };

  const destroy = async () => {
    const errors: string[] = [];
    if (holder !== undefined && daemon !== undefined) {
      for (const [id, c] of containers) {
        if (c.stopped) continue;
        await ctr(["task", "kill", "-s", "SIGKILL", id]);
        if (!await waitExit(c.child, 15_000)) {
          errors.push(`ctr run ${id} did not exit`);
          killPid(c.child.pid, "SIGKILL");
        }
      }
      const tasks = await ctr(["task", "ls", "-q"]);
      for (const id of tasks.stdout.split("\n").filter((s) => s !== "")) {
        await ctr(["task", "kill", "-s", "SIGKILL", id]);
        await ctr(["task", "rm", "-f", id]);
      }
      const cs = await ctr(["container", "ls", "-q"]);
      for (const id of cs.stdout.split("\n").filter((s) => s !== "")) {
        await ctr(["container", "rm", id]);
      }
    }
    if (daemon !== undefined) {
      killPid(daemon.pid, "SIGTERM");
      if (!await waitExit(daemon, 10_000)) {
        killPid(daemon.pid, "SIGKILL");
        await daemon.status;
      }
    }
    if (holder !== undefined) {
      // Shims and anything else still inside the private mount namespace
      // were started by this containerd: end them by PID.
      if (holderMnt !== undefined) {
        for (const e of Deno.readDirSync("/proc")) {
          const pid = Number(e.name);
          if (!Number.isInteger(pid) || pid === holder.pid) continue;
          if (mntNs(pid) === holderMnt) killPid(pid, "SIGKILL");
        }
      }
      killPid(holder.pid, "SIGKILL");
      await holder.status;
    }
    await Deno.remove(dir, { recursive: true }).catch((err) => {
      errors.push(`cannot remove ${dir}: ${err}`);
    });
    if (errors.length > 0) throw new Error(errors.join("; "));
  };

  try {
    holder = new Deno.Command("nsenter", {
      args: [
        `--net=${opts.node.path}`,
        "unshare",
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        HOLDER_SCRIPT,
        "sh",
        dir,
        opts.pluginDir,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const said = await readUntil(holder.stdout, "ready", START_TIMEOUT_MS);
    if (!said.includes("ready")) {
      throw new Error(
        `The mount namespace holder ended before it was ready: ${JSON.stringify(said)}`,
      );
    }
    holderMnt = mntNs(holder.pid);
    if (holderMnt === undefined || holderMnt === mntNs(Deno.pid)) {
      throw new Error("The holder has no private mount namespace");
    }

    daemon = new Deno.Command("nsenter", {
      args: [
        `--mount=/proc/${holder.pid}/ns/mnt`,
        `--net=/proc/${holder.pid}/ns/net`,
        "sh",
        "-c",
        'exec containerd --config "$1" >>"$2" 2>&1',
        "sh",
        `${dir}/config.toml`,
        `${dir}/containerd.log`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const started = daemon;
    let ended: Deno.CommandStatus | undefined;
    started.status.then((st) => ended = st);
    try {
      await pollUntil("containerd to answer `ctr version`", async () => {
        if (ended !== undefined) throw new Error(`containerd exited (code ${ended.code})`);
        return await ctr(["version"]);
      }, {
        until: (r) => r.code === 0,
        timeoutMs: START_TIMEOUT_MS,
        show: (r) => `exit ${r.code}, stderr ${JSON.stringify(r.stderr.trim())}`,
      });
    } catch (err) {
      const log = await Deno.readTextFile(`${dir}/containerd.log`).catch(() => "");
      throw new Error(`containerd did not come up: ${err}\ncontainerd.log: ${log.slice(-2000)}`, {
        cause: err,
      });
    }
  } catch (err) {
    await destroy().catch(() => {});
    throw err;
  }

  const handle: Containerd = {
    dir,
    socket,
    namespace,
    get pid() {
      return daemon?.pid ?? -1;
    },
    cacheDir: `${dir}/cache`,
    writeConflist: async (list) => {
      await Deno.writeTextFile(`${dir}/netd/10-${list.name}.conflist`, JSON.stringify(list));
    },
    ctr,
    importImage: async (tarball) => {
      await mustCtr(["image", "import", tarball]);
    },
    run: async (id, argv) => {
      const child = spawn(ctrArgv(["run", "--rm", "--cni", IMAGE_REF, id, ...argv]), env);
      const entry = { child, stopped: false };
      containers.set(id, entry);
      let exited: CmdResult | undefined;
      const output = collect(child).then((r) => exited = r);
      // The task is listed RUNNING once ctr has run CNI ADD and started it; an
      // answer without the task (even an empty one) only means "not yet".
      const running = async (): Promise<{ pid: number; ls: string }> => {
        if (exited !== undefined) {
          throw new Error(`ctr run ${id} exited (${exited.code}): ${exited.stderr.trim()}`);
        }
        const ls = await ctr(["task", "ls"]);
        for (const line of ls.stdout.split("\n")) {
          const [task, p, status] = line.trim().split(/\s+/);
          if (task === id && status === "RUNNING") return { pid: Number(p), ls: ls.stdout };
        }
        return { pid: 0, ls: `exit ${ls.code}, stdout ${JSON.stringify(ls.stdout)}` };
      };
      let pid: number;
      try {
        ({ pid } = await pollUntil(`task ${id} to be RUNNING in \`ctr task ls\``, running, {
          until: (r) => r.pid > 0,
          timeoutMs: START_TIMEOUT_MS,
          show: (r) => r.ls,
        }));
      } catch (err) {
        await ctr(["task", "kill", "-s", "SIGKILL", id]);
        const r = await within(`ctr run ${id} to exit`, output, { timeoutMs: START_TIMEOUT_MS })
          .catch(() => undefined);
        entry.stopped = r !== undefined;
        throw new Error(
          `Container ${id} did not start: ${err}` +
            (r === undefined ? "" : ` (ctr exit ${r.code}: ${r.stderr.trim()})`),
          { cause: err },
        );
      }
      const netnsPath = `/proc/${pid}/ns/net`;
      return {
        id,
        cniContainerId: `${namespace}-${id}`,
        pid,
        netnsPath,
        netns: netnsAt(netnsPath),
        exec: (cmd) => ctr(["task", "exec", "--exec-id", `x${++execSeq}`, id, ...cmd]),
        stop: async () => {
          await ctr(["task", "kill", "-s", "SIGKILL", id]);
          const r = await within(`ctr run ${id} to exit after SIGKILL`, output, {
            timeoutMs: START_TIMEOUT_MS,
          });
          entry.stopped = true;
          return r;
        },
      };
    },
    destroy,
    [Symbol.asyncDispose]: destroy,
  };
  return handle;
}
