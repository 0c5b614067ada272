/**
 * Build a tiny OCI image (busybox-static and its applet links) as an image
 * tarball that `ctr image import` accepts, without any registry.
 *
 * Layout of the tarball (OCI image layout 1.0.0):
 * `oci-layout`, `index.json` (one manifest, named through the
 * `io.containerd.image.name` annotation) and `blobs/sha256/<digest>` for the
 * uncompressed layer, the image config and the manifest.
 *
 * Requires `busybox` (statically linked) and `tar`.
 *
 * @module
 */

/** The name the image is imported under. */
export const IMAGE_REF = "localhost/coordinator-e2e/busybox:1";

/** Where Debian's busybox-static installs the binary. */
export const BUSYBOX_CANDIDATES = ["/bin/busybox", "/usr/bin/busybox"] as const;

const PT_INTERP = 3;

/**
 * Whether an ELF64 little-endian file has no program interpreter (is static).
 *
 * @param bytes the file
 * @returns true for a static executable
 */
export function isStaticElf(bytes: Uint8Array): boolean {
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[4] !== 2) return false;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = Number(v.getBigUint64(32, true));
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > bytes.length) return false;
    if (v.getUint32(off, true) === PT_INTERP) return false;
  }
  return true;
}

/**
 * The static busybox binary to put into the image, or undefined.
 *
 * @returns its path
 */
export function findStaticBusybox(): string | undefined {
  for (const p of BUSYBOX_CANDIDATES) {
    try {
      if (isStaticElf(Deno.readFileSync(p))) return p;
    } catch { /* next */ }
  }
  return undefined;
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function run(argv: string[]): Promise<string> {
  const [cmd, ...args] = argv;
  const out = await new Deno.Command(cmd!, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (out.code !== 0) {
    throw new Error(`Command "${argv.join(" ")}" failed: ${dec.decode(out.stderr).trim()}`);
  }
  return dec.decode(out.stdout);
}

function goArch(): string {
  return Deno.build.arch === "x86_64" ? "amd64" : "arm64";
}

/**
 * Build the image tarball in `dir` (created if needed).
 *
 * @param dir work directory
 * @returns the path of the tarball
 */
export async function buildBusyboxImage(dir: string): Promise<string> {
  const busybox = findStaticBusybox();
  if (busybox === undefined) throw new Error("No statically linked busybox found");
  const rootfs = `${dir}/rootfs`;
  const layout = `${dir}/oci`;
  for (const d of ["bin", "sbin", "usr/bin", "etc", "proc", "sys", "dev", "tmp", "root"]) {
    await Deno.mkdir(`${rootfs}/${d}`, { recursive: true });
  }
  await Deno.mkdir(`${layout}/blobs/sha256`, { recursive: true });
  await Deno.copyFile(busybox, `${rootfs}/bin/busybox`);
  await Deno.chmod(`${rootfs}/bin/busybox`, 0o755);
  const applets = (await run([busybox, "--list"])).split("\n").map((s) => s.trim())
    .filter((s) => s !== "" && s !== "busybox");
  // The applets the tests run; an empty list is a lost answer, not a busybox without them.
  const missing = ["ip", "ping", "sleep", "cat"].filter((a) => !applets.includes(a));
  if (missing.length > 0) {
    throw new Error(
      `"${busybox} --list" lacks ${missing.join(", ")} (${applets.length} applets listed)`,
    );
  }
  for (const a of applets) await Deno.symlink("busybox", `${rootfs}/bin/${a}`);
  await Deno.writeTextFile(`${rootfs}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\n");
  await Deno.writeTextFile(`${rootfs}/etc/group`, "root:x:0:\n");

  const layerPath = `${dir}/layer.tar`;
  await run([
    "tar",
    "--sort=name",
    "--mtime=@0",
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "-C",
    rootfs,
    "-cf",
    layerPath,
    ".",
  ]);
  const putBlob = async (data: Uint8Array) => {
    const hex = await sha256Hex(data);
    await Deno.writeFile(`${layout}/blobs/sha256/${hex}`, data);
    return { digest: `sha256:${hex}`, size: data.length };
  };
  const enc = new TextEncoder();
  const layer = await putBlob(await Deno.readFile(layerPath));
  const config = await putBlob(enc.encode(JSON.stringify({
    architecture: goArch(),
    os: "linux",
    config: { Env: ["PATH=/bin:/sbin:/usr/bin"], Cmd: ["/bin/sh"] },
    rootfs: { type: "layers", diff_ids: [layer.digest] },
  })));
  const manifest = await putBlob(enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer }],
  })));
  await Deno.writeTextFile(`${layout}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await Deno.writeTextFile(
    `${layout}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        ...manifest,
        annotations: {
          "io.containerd.image.name": IMAGE_REF,
          "org.opencontainers.image.ref.name": IMAGE_REF.split(":").at(-1),
        },
      }],
    }),
  );
  const tarball = `${dir}/image.tar`;
  await run(["tar", "-C", layout, "-cf", tarball, "."]);
  await Deno.remove(rootfs, { recursive: true });
  await Deno.remove(layerPath);
  return tarball;
}
