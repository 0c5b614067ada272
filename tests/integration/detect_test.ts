/**
 * One file: the raw socket, detection and announce tests share the pod/peer world.
 *
 * Privileged tests of the raw-socket helper, the detection and the announce
 * in worlds of throwaway network namespaces: a "pod" netns and a "peer" netns
 * joined by a veth pair. The peer's kernel answers ARP and NS for the addresses
 * it holds, which makes a conflict or an up gateway. The frames the pod sent
 * are checked by capturing them in the peer with our own AF_PACKET socket and
 * decoding them with the codec, never by timing.
 */

import assert from "node:assert/strict";
import {
  addVethPair,
  createLinkedNetns,
  createNetns,
  ipJson,
  macOf,
  privilegedSkipReason,
  waitLinkReady,
} from "../_helpers/netns.ts";
import type { TestNetns } from "../_helpers/netns.ts";
import { detectGateways, detectIpConflicts } from "../../mod/detect/detect.ts";
import { announce } from "../../mod/detect/announce.ts";
import { openRawSocket } from "../../mod/detect/rawsock.ts";
import type { RawSocket } from "../../mod/detect/rawsock.ts";
import { CodecError, parseFrame } from "../../mod/codec/mod.ts";
import type { ArpFrame, Frame, NdpFrame } from "../../mod/codec/mod.ts";
import { CniError, ErrorCode } from "../../mod/errors.ts";
import type { IpAddrLink } from "../../mod/kernel/ip_json.ts";
import { addMacvlanNic, createWorld, WORLD } from "../_helpers/world.ts";
import { containerId, runCoordinator } from "../_helpers/cni.ts";
import { runLogFile } from "../_helpers/run.ts";
import { pollUntil } from "../../tools/lib/poll.ts";

const skip = privilegedSkipReason();
const ignore = skip !== undefined;
const tag = skip === undefined ? "" : ` [ignored: ${skip}]`;

const POD_MAC = "02:00:00:00:01:0a";
const PEER_MAC = "02:00:00:00:01:0b";
const OPTIONS = { retries: 3, intervalMs: 10, timeoutMs: 100 };

/** A pod netns and a peer netns joined by pod "eth0" <-> peer "eth0", both disposed. */
interface World extends AsyncDisposable {
  pod: TestNetns;
  peer: TestNetns;
}

async function world(): Promise<World> {
  const w = await createLinkedNetns({ prefix: "detp", ifname: "eth0" }, {
    prefix: "detq",
    ifname: "eth0",
  }, {
    aMac: POD_MAC,
    bMac: PEER_MAC,
    // Keep the peer's own chatter (router solicitations, MLD) off the link.
    beforeUp: (_, peer) => peer.setSysctl("net.ipv6.conf.eth0.router_solicitations", 0),
  });
  return { pod: w.a, peer: w.b, [Symbol.asyncDispose]: () => w[Symbol.asyncDispose]() };
}

/** Add addresses to eth0 of `ns` (IPv6 ones without DAD). */
async function addAddrs(ns: TestNetns, ...cidrs: string[]): Promise<void> {
  for (const cidr of cidrs) {
    await ns.ip(["addr", "add", cidr, "dev", "eth0", ...(cidr.includes(":") ? ["nodad"] : [])]);
  }
}

/** Pod 10.20.0.2/24 and fd00:20::2/64, peer (the gateway) 10.20.0.1/24 and fd00:20::1/64. */
async function dualStack(w: World): Promise<void> {
  await addAddrs(w.pod, "10.20.0.2/24", "fd00:20::2/64");
  await addAddrs(w.peer, "10.20.0.1/24", "fd00:20::1/64");
}

/** The arguments of a probe from eth0 of the pod in `netns` with POD_MAC (OPTIONS unless given). */
function onEth0<T extends object>(netns: string, more: T) {
  return { netns, ifname: "eth0", mac: POD_MAC, options: OPTIONS, ...more };
}

/** Start capturing in the peer everything that arrives on its eth0. */
function capture(peer: TestNetns): RawSocket {
  return openRawSocket({ netns: peer.path, ifname: "eth0", protocol: "all" });
}

/** Frames the pod's MAC sent that the codec accepts, read from a capture socket. */
function drainFromPod(sock: RawSocket): Frame[] {
  const out: Frame[] = [];
  for (let b = sock.tryRecv(); b !== undefined; b = sock.tryRecv()) {
    const f = parseFrame(b);
    if (!(f instanceof CodecError) && f.eth.src === POD_MAC) out.push(f);
  }
  return out;
}

function arps(frames: Frame[]): ArpFrame[] {
  return frames.filter((f): f is ArpFrame => f.kind === "arp");
}

function ndps(frames: Frame[]): NdpFrame[] {
  return frames.filter((f): f is NdpFrame => f.kind === "ndp");
}

/** The neighbour solicitations for `target` among `frames`. */
function nsFor(frames: Frame[], target: string): NdpFrame[] {
  return ndps(frames).filter((f) => f.ndp.kind === "ns" && f.ndp.target === target);
}

/**
 * The frames the pod sent, read from a capture socket. Frames may still be on
 * their way through the veth (later on a busy machine): wait, bounded, until
 * `enough` says the awaited ones are there (counting only those, as the pod's
 * kernel sends frames of its own meanwhile: DAD for its link-local address,
 * MLD), then take what else is already queued.
 */
async function collect(
  sock: RawSocket,
  what: string,
  enough: (frames: Frame[]) => boolean,
): Promise<Frame[]> {
  const out: Frame[] = [];
  await pollUntil(`${what} from the pod on the peer's capture socket`, () => {
    out.push(...drainFromPod(sock));
    return enough(out);
  }, {
    timeoutMs: 10_000,
    intervalMs: 5,
    show: () =>
      out.map((f) => f.kind === "arp" ? `arp ${f.arp.targetProtocolAddr}` : `ndp ${f.ndp.kind}`)
        .join(", "),
  });
  // A moment more for frames that should not be there (the callers count exactly).
  await new Promise((r) => setTimeout(r, 20));
  out.push(...drainFromPod(sock));
  return out;
}

async function rejectsWith(p: Promise<unknown>, code: number, msg: string | RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CniError, `expected a CniError, got ${err}`);
    assert.equal(err.code, code);
    if (typeof msg === "string") assert.equal(err.message, msg);
    else assert.match(err.message, msg);
    return true;
  });
}

Deno.test({
  name: `detectIpConflicts() finds no conflict and sends RFC 5227 / DAD probes${tag}`,
  ignore,
  fn: async () => {
    await using w = await world();
    await dualStack(w);
    using cap = capture(w.peer);
    await detectIpConflicts(onEth0(w.pod.path, { ips: ["10.20.0.2", "fd00:20::2"] }));
    const frames = await collect(
      cap,
      "3 ARP probes and 3 DAD probes",
      (fs) => arps(fs).length >= 3 && nsFor(fs, "fd00:20::2").length >= 3,
    );
    const probes = arps(frames);
    assert.equal(probes.length, 3);
    for (const f of probes) {
      assert.equal(f.eth.dst, "ff:ff:ff:ff:ff:ff");
      assert.deepEqual(f.arp, {
        operation: 1,
        senderHardwareAddr: POD_MAC,
        senderProtocolAddr: "0.0.0.0",
        targetHardwareAddr: "00:00:00:00:00:00",
        targetProtocolAddr: "10.20.0.2",
      });
    }
    // The pod's kernel may be doing DAD for its link-local address meanwhile.
    const dad = nsFor(frames, "fd00:20::2");
    assert.equal(dad.length, 3);
    for (const f of dad) {
      assert.equal(f.eth.dst, "33:33:ff:00:00:02");
      assert.equal(f.ip6.src, "::");
      assert.equal(f.ip6.dst, "ff02::1:ff00:2");
      assert.equal(f.ip6.hopLimit, 255);
      assert.equal(f.ndp.target, "fd00:20::2");
      assert.deepEqual(f.ndp.options, []);
    }
  },
});

Deno.test({
  name: `detectIpConflicts() reports an IPv4 address held by another netns (code 100)${tag}`,
  ignore,
  fn: async () => {
    await using w = await world();
    await addAddrs(w.pod, "10.20.0.5/24");
    await addAddrs(w.peer, "10.20.0.5/24");
    using cap = capture(w.peer);
    await rejectsWith(
      detectIpConflicts(onEth0(w.pod.path, { ips: ["10.20.0.5"] })),
      ErrorCode.IpConflict,
      `IP address "10.20.0.5" on "eth0" is already in use by "${PEER_MAC}"`,
    );
    // The peer answered the first probe; at most a second went out meanwhile.
    const probes = arps(await collect(cap, "an ARP probe", (fs) => arps(fs).length >= 1));
    assert.ok(probes.length >= 1 && probes.length <= 3, `${probes.length} probes`);
    assert.equal(probes[0]?.arp.senderProtocolAddr, "0.0.0.0");
  },
});

Deno.test({
  name: `detectIpConflicts() reports an IPv6 address held by another netns (code 100)${tag}`,
  ignore,
  fn: async () => {
    await using w = await world();
    // The pod holds the address too: its own kernel must not count as the holder.
    await addAddrs(w.pod, "fd00:20::5/64");
    await addAddrs(w.peer, "fd00:20::5/64");
    await rejectsWith(
      detectIpConflicts(onEth0(w.pod.path, { ips: ["fd00:20::5", "10.20.0.9"] })),
      ErrorCode.IpConflict,
      `IP address "fd00:20::5" on "eth0" is already in use by "${PEER_MAC}"`,
    );
  },
});

Deno.test({
  name:
    `detectIpConflicts() reports a conflict while the pod's own address is still tentative${tag}`,
  ignore,
  fn: async () => {
    await using w = await world();
    // As a main plugin leaves it: added with DAD, which has not finished yet.
    await addAddrs(w.peer, "fd00:20::6/64");
    await w.pod.ip(["addr", "add", "fd00:20::6/64", "dev", "eth0"]);
    await rejectsWith(
      detectIpConflicts(onEth0(w.pod.path, { ips: ["fd00:20::6"] })),
      ErrorCode.IpConflict,
      `IP address "fd00:20::6" on "eth0" is already in use by "${PEER_MAC}"`,
    );
  },
});

Deno.test({
  name: `detectGateways() passes when the gateway answers, with SPA = pod IP and SLLA${tag}`,
  ignore,
  fn: async () => {
    await using w = await world();
    await dualStack(w);
    using cap = capture(w.peer);
    await detectGateways(
      onEth0(w.pod.path, {
        ips: ["10.20.0.2", "fd00:20::2"],
        gateways: ["10.20.0.1", "fd00:20::1"],
      }),
    );
    const frames = await collect(
      cap,
      "an ARP request and an NS for the gateways",
      (fs) => arps(fs).length >= 1 && nsFor(fs, "fd00:20::1").length >= 1,
    );
    const req = arps(frames);
    assert.ok(req.length >= 1);
    assert.deepEqual(req[0]!.arp, {
      operation: 1,
      senderHardwareAddr: POD_MAC,
      senderProtocolAddr: "10.20.0.2",
      targetHardwareAddr: "00:00:00:00:00:00",
      targetProtocolAddr: "10.20.0.1",
    });
    const ns = nsFor(frames, "fd00:20::1");
    assert.ok(ns.length >= 1);
    assert.equal(ns[0]!.ip6.src, "fd00:20::2");
    assert.equal(ns[0]!.ip6.dst, "ff02::1:ff00:1");
    assert.equal(ns[0]!.eth.dst, "33:33:ff:00:00:01");
    assert.equal(ns[0]!.ndp.target, "fd00:20::1");
    assert.equal(ns[0]!.ndp.kind === "ns" && ns[0]!.ndp.sourceLinkLayerAddr, POD_MAC);
    // Side effect: the gateway learnt the pod's MAC from the requests.
    const learnt = [`10\\.20\\.0\\.2 lladdr ${POD_MAC}`, `fd00:20::2 lladdr ${POD_MAC}`];
    await pollUntil(
      "the gateway's neighbour entries for the pod",
      () => w.peer.ip(["neigh", "show", "dev", "eth0"]),
      { until: (t) => learnt.every((re) => new RegExp(re).test(t)), timeoutMs: 10_000 },
    );
  },
});

Deno.test({
  name: `detectGateways() probes an IPv6 gateway from the link-local address, or from "::"${tag}`,
  ignore,
  fn: async () => {
    await using w = await world();
    await addAddrs(w.pod, "10.20.0.2/24", "fe80::20:2/64");
    await addAddrs(w.peer, "fd00:20::1/64");
    using cap = capture(w.peer);
    const args = onEth0(w.pod.path, { ips: ["10.20.0.2"], gateways: ["fd00:20::1"] });
    await detectGateways(args);
    const linkLocals =
      (await ipJson<IpAddrLink[]>(w.pod, ["-6", "addr", "show", "dev", "eth0"]))[0]!
        .addr_info.filter((a) => a.scope === "link").map((a) => a.local);
    const toGw = (fs: Frame[]) => nsFor(fs, "fd00:20::1");
    const ns = toGw(await collect(cap, "an NS for the gateway", (fs) => toGw(fs).length >= 1));
    assert.ok(ns.length >= 1);
    assert.ok(linkLocals.includes(ns[0]!.ip6.src), `${ns[0]!.ip6.src} not in ${linkLocals}`);
    // With IPv6 off in the pod there is no source address: a DAD-style NS still
    // makes the gateway answer (to ff02::1).
    w.pod.setSysctl("net.ipv6.conf.eth0.disable_ipv6", 1);
    await detectGateways(args);
    const dad = toGw(await collect(cap, "a DAD-style NS", (fs) => toGw(fs).length >= 1));
    assert.ok(dad.length >= 1);
    assert.equal(dad[0]!.ip6.src, "::");
    assert.deepEqual(dad[0]!.ndp.options, []);
  },
});

Deno.test({
  name: `detectGateways() fails with code 101 after all probes when nobody answers${tag}`,
  ignore,
  fn: async () => {
    await using w = await world();
    await addAddrs(w.pod, "10.20.0.2/24", "fd00:20::2/64");
    using cap = capture(w.peer);
    await rejectsWith(
      detectGateways(
        onEth0(w.pod.path, { ips: ["10.20.0.2", "fd00:20::2"], gateways: ["10.20.0.1"] }),
      ),
      ErrorCode.GatewayUnreachable,
      `Gateway "10.20.0.1" did not answer on "eth0" after 3 probes`,
    );
    const req = arps(await collect(cap, "3 ARP requests", (fs) => arps(fs).length >= 3));
    assert.equal(req.length, 3);
    for (const f of req) assert.equal(f.arp.targetProtocolAddr, "10.20.0.1");
    await rejectsWith(
      detectGateways(
        onEth0(w.pod.path, {
          ips: ["fd00:20::2"],
          gateways: ["fd00:20::1"],
          options: { retries: 2, intervalMs: 10, timeoutMs: 50 },
        }),
      ),
      ErrorCode.GatewayUnreachable,
      `Gateway "fd00:20::1" did not answer on "eth0" after 2 probes`,
    );
    const ns = nsFor(
      await collect(cap, "2 NS", (fs) => nsFor(fs, "fd00:20::1").length >= 2),
      "fd00:20::1",
    );
    assert.equal(ns.length, 2);
  },
});

Deno.test({
  name: `detectGateways() fails when the gateway sits behind a NIC that is down (code 105)${tag}`,
  ignore,
  fn: async () => {
    await using w = await world();
    await w.pod.ip(["link", "set", "eth0", "down"]);
    await rejectsWith(
      detectGateways(onEth0(w.pod.path, { ips: ["10.20.0.2"], gateways: ["10.20.0.1"] })),
      ErrorCode.RawSocketFailed,
      `Interface "eth0" in netns "${w.pod.path}" is down: it must be up before probing`,
    );
  },
});

Deno.test({
  name:
    `openRawSocket() turns a missing interface into code 105 and a missing netns into 102${tag}`,
  ignore,
  fn: async () => {
    await using w = await world();
    assert.throws(
      () => openRawSocket({ netns: w.pod.path, ifname: "nope0", protocol: "arp" }),
      (err: unknown) =>
        err instanceof CniError && err.code === ErrorCode.RawSocketFailed &&
        err.message ===
          `Cannot open a raw socket on "nope0" in netns "${w.pod.path}": the interface does not exist (No such device (errno 19))`,
    );
    assert.throws(
      () => openRawSocket({ netns: `${w.pod.path}-gone`, ifname: "eth0", protocol: "arp" }),
      (err: unknown) => err instanceof CniError && err.code === ErrorCode.NotFound,
    );
  },
});

Deno.test({
  name: `openRawSocket() sends and receives frames between two namespaces${tag}`,
  ignore,
  fn: async () => {
    await using w = await world();
    using a = openRawSocket({ netns: w.pod.path, ifname: "eth0", protocol: "arp" });
    using b = openRawSocket({ netns: w.peer.path, ifname: "eth0", protocol: "arp" });
    assert.deepEqual(a.linkFlags().up, true);
    assert.equal(a.hardwareAddr(), POD_MAC);
    const { buildArpProbe } = await import("../../mod/codec/mod.ts");
    const frame = buildArpProbe(POD_MAC, "10.20.0.77");
    a.send(frame);
    const got = await b.recv(performance.now() + 10_000);
    assert.ok(got !== undefined, "no frame arrived");
    assert.deepEqual(got.subarray(0, frame.length), frame);
    // Our own frame is not read back on the sending socket.
    assert.equal(a.tryRecv(), undefined);
    a.close();
    assert.throws(() => a.send(frame), /already closed/);
  },
});

Deno.test({
  name: `announce() updates the peer's stale neighbour entries to the new MAC${tag}`,
  ignore,
  fn: async () => {
    await using w = await world();
    const newMac = "0a:1b:0a:14:00:02";
    await dualStack(w);
    // The peer still knows the pod by its old MAC.
    await w.peer.ip([
      "neigh",
      "replace",
      "10.20.0.2",
      "lladdr",
      POD_MAC,
      "dev",
      "eth0",
      "nud",
      "stale",
    ]);
    await w.peer.ip([
      "neigh",
      "replace",
      "fd00:20::2",
      "lladdr",
      POD_MAC,
      "dev",
      "eth0",
      "nud",
      "stale",
    ]);
    await w.pod.ip(["link", "set", "eth0", "address", newMac]);
    // Control: changing the MAC alone tells the peer nothing (nothing to wait
    // for: a short grace in which a frame that should not come could).
    await new Promise((r) => setTimeout(r, 50));
    const before = await w.peer.ip(["neigh", "show", "dev", "eth0"]);
    assert.match(before, new RegExp(`10\\.20\\.0\\.2 lladdr ${POD_MAC}`));
    assert.match(before, new RegExp(`fd00:20::2 lladdr ${POD_MAC}`));
    using cap = openRawSocket({ netns: w.peer.path, ifname: "eth0", protocol: "all" });
    const failures = await announce({
      netns: w.pod.path,
      ifname: "eth0",
      mac: newMac,
      ips: ["10.20.0.2", "fd00:20::2"],
    });
    assert.deepEqual(failures, []);
    // The pod's kernel may send frames of its own with the new MAC (MLD).
    const frames: Frame[] = [];
    const until = performance.now() + 10_000;
    const both = () => arps(frames).length > 0 && ndps(frames).some((f) => f.ndp.kind === "na");
    while (!both() && performance.now() < until) {
      const b = await cap.recv(until);
      if (b === undefined) break;
      const f = parseFrame(b);
      if (!(f instanceof CodecError) && f.eth.src === newMac) frames.push(f);
    }
    const garp = arps(frames)[0];
    assert.ok(garp !== undefined, "no gratuitous ARP captured");
    assert.equal(garp.arp.senderProtocolAddr, "10.20.0.2");
    assert.equal(garp.arp.targetProtocolAddr, "10.20.0.2");
    const na = ndps(frames).find((f) => f.ndp.kind === "na");
    assert.ok(na !== undefined, "no neighbour advertisement captured");
    assert.equal(na.ndp.kind, "na");
    assert.equal(na.ip6.dst, "ff02::1");
    // The peer's kernel accepted both and now has the new MAC.
    const neigh = await pollUntil(
      "the peer's neighbour entries to have the new MAC",
      () => w.peer.ip(["neigh", "show", "dev", "eth0"]),
      {
        until: (t) =>
          new RegExp(`10\\.20\\.0\\.2 lladdr ${newMac}`).test(t) &&
          new RegExp(`fd00:20::2 lladdr ${newMac}`).test(t),
        timeoutMs: 10_000,
      },
    );
    assert.match(neigh, new RegExp(`fd00:20::2 lladdr ${newMac}`));
  },
});

Deno.test({
  name: `detectIpConflicts() does not see an address held in another, unconnected world${tag}`,
  ignore,
  fn: async () => {
    await using w1 = await world();
    await using w2 = await world();
    await addAddrs(w2.peer, "10.20.0.5/24");
    await detectIpConflicts(onEth0(w1.pod.path, { ips: ["10.20.0.5"] }));
  },
});

Deno.test({
  name: `detection works through a macvlan NIC whose parent links to the peer${tag}`,
  ignore,
  fn: async () => {
    // node: veth "uplink" <-> peer "eth0"; pod "eth0" = macvlan (bridge) on "uplink".
    await using node = await createNetns("detn");
    await using pod = await createNetns("detp");
    await using peer = await createNetns("detq");
    await addVethPair(node, "uplink", peer, "eth0");
    await node.ip([
      "link",
      "add",
      "link",
      "uplink",
      "name",
      "mv0",
      "address",
      POD_MAC,
      "type",
      "macvlan",
      "mode",
      "bridge",
    ]);
    await node.ip(["link", "set", "mv0", "netns", pod.name]);
    await pod.ip(["link", "set", "mv0", "name", "eth0"]);
    await pod.ip(["link", "set", "eth0", "up"]);
    await waitLinkReady(pod, "eth0");
    await addAddrs(pod, "10.30.0.2/24", "fd00:30::2/64");
    await addAddrs(peer, "10.30.0.1/24", "fd00:30::1/64");
    const base = { netns: pod.path, ifname: "eth0", mac: POD_MAC, options: OPTIONS };
    await detectIpConflicts({ ...base, ips: ["10.30.0.2", "fd00:30::2"] });
    await detectGateways({
      ...base,
      ips: ["10.30.0.2", "fd00:30::2"],
      gateways: ["10.30.0.1", "fd00:30::1"],
    });
    const peerMac = await macOf(peer, "eth0");
    await rejectsWith(
      detectIpConflicts({ ...base, ips: ["10.30.0.3", "fd00:30::1"] }),
      ErrorCode.IpConflict,
      `IP address "fd00:30::1" on "eth0" is already in use by "${peerMac}"`,
    );
  },
});

Deno.test({
  name: `detectIpConflicts() finds the holder on a busy bridged segment${tag}`,
  ignore,
  fn: async () => {
    // switch netns with br0; pod, holder and a noisy host each on a port.
    await using sw = await createNetns("dets");
    await using pod = await createNetns("detp");
    await using holder = await createNetns("deth");
    await using noisy = await createNetns("detn");
    await sw.ip(["link", "add", "br0", "type", "bridge"]);
    await sw.ip(["link", "set", "br0", "up"]);
    const hosts: [TestNetns, string][] = [[pod, POD_MAC], [holder, PEER_MAC], [
      noisy,
      "02:00:00:00:01:0c",
    ]];
    for (const [i, [ns, mac]] of hosts.entries()) {
      await sw.ip([
        "link",
        "add",
        `p${i}`,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        ns.name,
      ]);
      await sw.ip(["link", "set", `p${i}`, "master", "br0", "up"]);
      await ns.ip(["link", "set", "eth0", "address", mac, "up"]);
    }
    for (const [i, [ns]] of hosts.entries()) {
      await waitLinkReady(sw, `p${i}`);
      await waitLinkReady(ns, "eth0");
    }
    await addAddrs(pod, "10.50.0.5/24");
    await addAddrs(holder, "10.50.0.5/24");
    const { buildArpRequest } = await import("../../mod/codec/mod.ts");
    using noise = openRawSocket({ netns: noisy.path, ifname: "eth0", protocol: "none" });
    let stop = false;
    let sent = 0;
    const flood = (async () => {
      while (!stop) {
        for (let k = 0; k < 20; k++) {
          noise.send(buildArpRequest({
            srcMac: "02:00:00:00:01:0c",
            srcIp: "10.50.0.9",
            targetIp: `10.50.1.${(sent++ % 250) + 1}`,
          }));
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    try {
      await pollUntil("the noise flood to be on", () => sent, { until: (n) => n >= 100 });
      await rejectsWith(
        detectIpConflicts(onEth0(pod.path, { ips: ["10.50.0.5"] })),
        ErrorCode.IpConflict,
        `IP address "10.50.0.5" on "eth0" is already in use by "${PEER_MAC}"`,
      );
    } finally {
      stop = true;
      await flood;
    }
    assert.ok(sent > 20, `only ${sent} noise frames`);
  },
});

// ---- end to end: the plugin (main.ts) with detection on -------------------

const POD_CIDR4 = "10.6.212.241/16";
const POD_CIDR6 = "fd00:6::f1/64";

type World2 = Awaited<ReturnType<typeof createWorld>>;

function coordinatorConf(prevResult: unknown, extra: Record<string, unknown>) {
  return {
    cniVersion: "1.0.0",
    name: "detect-net",
    type: "coordinator",
    mode: "underlay",
    detectOptions: { retries: 3, interval: "10ms", timeout: "100ms" },
    logOptions: { logLevel: "debug", logFile: runLogFile("detect") },
    prevResult,
    ...extra,
  };
}

function gwMac(world: World2): Promise<string> {
  return macOf(world.gw, "eth0");
}

async function podWithNic(world: World2) {
  const pod = await world.addPod("detpod");
  const prevResult = await addMacvlanNic(world.node, pod, {
    ifname: "eth0",
    addrs: [POD_CIDR4, POD_CIDR6],
    gateways: [WORLD.gateway4, WORLD.gateway6],
  });
  return { pod, prevResult };
}

/** ADD (or, given the ADD's container ID, DEL) of the pod's eth0 with `extra` in the config. */
async function addWith(
  world: World2,
  pod: TestNetns,
  prevResult: unknown,
  extra: Record<string, unknown>,
  del?: string,
) {
  const id = del ?? containerId();
  const r = await runCoordinator(world.node, {
    command: del === undefined ? "ADD" : "DEL",
    conf: coordinatorConf(prevResult, extra),
    containerId: id,
    netns: pod.path,
    ifname: "eth0",
  });
  return { ...r, id };
}

/** An end-to-end test in a fresh world, removed afterwards. */
function e2eTest(title: string, fn: (world: World2) => Promise<void>): void {
  Deno.test({
    name: `${title}${tag}`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await using world = await createWorld();
      await fn(world);
    },
  });
}

function cniError(json: unknown): { code?: number; msg?: string } {
  return (json ?? {}) as { code?: number; msg?: string };
}

e2eTest(
  "[1.0.0] ADD with detectIPConflict and detectGateway passes in a clean world",
  async (world) => {
    const { pod, prevResult } = await podWithNic(world);
    const extra = { detectIPConflict: true, detectGateway: true };
    const r = await addWith(world, pod, prevResult, extra);
    assert.equal(r.code, 0, `ADD failed: ${r.stdout} ${r.stderr}`);
    const d = await addWith(world, pod, prevResult, extra, r.id);
    assert.equal(d.code, 0, `DEL failed: ${d.stdout} ${d.stderr}`);
  },
);

e2eTest("[1.0.0] ADD fails with code 100 when another host holds the pod's IPv4", async (world) => {
  await world.gw.ip(["addr", "add", POD_CIDR4, "dev", "eth0"]);
  const { pod, prevResult } = await podWithNic(world);
  const r = await addWith(world, pod, prevResult, { detectIPConflict: true });
  assert.notEqual(r.code, 0);
  const err = cniError(r.json);
  assert.equal(err.code, ErrorCode.IpConflict, r.stdout);
  assert.equal(
    err.msg,
    `IP address "10.6.212.241" on "eth0" is already in use by "${await gwMac(world)}"`,
  );
});

e2eTest("[1.0.0] ADD fails with code 100 when another host holds the pod's IPv6", async (world) => {
  await world.gw.ip(["addr", "add", POD_CIDR6, "dev", "eth0", "nodad"]);
  const { pod, prevResult } = await podWithNic(world);
  const r = await addWith(world, pod, prevResult, { detectIPConflict: true });
  const err = cniError(r.json);
  assert.equal(err.code, ErrorCode.IpConflict, r.stdout);
  assert.equal(
    err.msg,
    `IP address "fd00:6::f1" on "eth0" is already in use by "${await gwMac(world)}"`,
  );
});

e2eTest("[1.0.0] ADD fails with code 101 when the IPv4 gateway is gone", async (world) => {
  await world.gw.ip(["addr", "del", `${WORLD.gateway4}/${WORLD.prefix4}`, "dev", "eth0"]);
  const { pod, prevResult } = await podWithNic(world);
  const r = await addWith(world, pod, prevResult, { detectGateway: true });
  const err = cniError(r.json);
  assert.equal(err.code, ErrorCode.GatewayUnreachable, r.stdout);
  assert.equal(err.msg, `Gateway "10.6.0.1" did not answer on "eth0" after 3 probes`);
});

e2eTest("[1.0.0] ADD with podMACPrefix announces the new MAC to the gateway", async (world) => {
  const { pod, prevResult } = await podWithNic(world);
  const oldMac = await macOf(pod, "eth0");
  // The gateway knows the pod by the macvlan's MAC.
  for (const ip of ["10.6.212.241", "fd00:6::f1"]) {
    await world.gw.ip(["neigh", "replace", ip, "lladdr", oldMac, "dev", "eth0", "nud", "stale"]);
  }
  const r = await addWith(world, pod, prevResult, { podMACPrefix: "0a:1b" });
  assert.equal(r.code, 0, `ADD failed: ${r.stdout} ${r.stderr}`);
  const neigh = await world.gw.ip(["neigh", "show", "dev", "eth0"]);
  assert.match(neigh, /10\.6\.212\.241 lladdr 0a:1b:0a:06:d4:f1/);
  assert.match(neigh, /fd00:6::f1 lladdr 0a:1b:0a:06:d4:f1/);
  const d = await addWith(world, pod, prevResult, { podMACPrefix: "0a:1b" }, r.id);
  assert.equal(d.code, 0, `DEL failed: ${d.stdout} ${d.stderr}`);
});
