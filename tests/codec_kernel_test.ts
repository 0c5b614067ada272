/**
 * The codec against a real Linux stack: frames built by the codec are sent on
 * a veth from one throwaway netns, the kernel in the other netns answers (or
 * updates its neighbour table), and the codec parses what comes back. The raw
 * socket on our side is a few lines of plain Python (AF_PACKET), so these
 * tests depend on nothing but the codec; the last one drains the plugin's own
 * socket (mod/detect/rawsock.ts) into the codec's buffers.
 *
 * Privileged: needs root, iproute2 and /usr/bin/python3; ignored otherwise,
 * with the reason in the test name.
 */

import assert from "node:assert/strict";
import {
  buildArpAnnouncement,
  buildArpProbe,
  buildArpRequest,
  buildDadSolicitation,
  buildNeighborSolicitation,
  buildUnsolicitedAdvertisement,
  CodecError,
  type Frame,
  parseFrame,
  receiveBuffer,
  Status,
} from "../mod/codec/mod.ts";
import {
  batchTable,
  ipv4ToNumber,
  macToNumber,
  parseArpInto,
  parseReceivedArpBatch,
  readArpBatchInto,
} from "../mod/codec/batch.ts";
import type { IpNeigh } from "../mod/kernel/ip_json.ts";
import {
  createLinkedNetns,
  ipJson,
  type LinkedNetns,
  privilegedSkipReason,
  testNamer,
  type TestNetns,
} from "./_helpers/netns.ts";
import { zeroArpNumbers } from "../tools/lib/ref_codec.ts";

const PYTHON = "/usr/bin/python3";

function skipReason(): string | undefined {
  const reason = privilegedSkipReason();
  if (reason) return reason;
  try {
    Deno.statSync(PYTHON);
  } catch {
    return `needs ${PYTHON}`;
  }
  return undefined;
}

const SKIP = skipReason();

/**
 * Send frames on an interface and print every frame received in a window, as
 * hex lines. Frames already queued when the window ends are still read (a
 * process that a busy machine did not run for the whole window still reports
 * the replies the kernel queued for it).
 */
const SEND_AND_COLLECT = `
import select, socket, sys, time
iface, window, frames = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((iface, 0))
for f in frames:
    s.send(bytes.fromhex(f))
end = time.time() + window
while True:
    left = max(0.0, end - time.time())
    if not select.select([s], [], [], left)[0]:
        break
    data, addr = s.recvfrom(65535)
    if addr[2] != socket.PACKET_OUTGOING:
        print(data.hex())
`;

const MAC_A = "02:aa:00:00:00:01";
const MAC_B = "02:bb:00:00:00:02";
const IP4_A = "10.99.0.1";
const IP4_B = "10.99.0.2";
const IP6_A = "2001:db8:99::1";
const IP6_B = "2001:db8:99::2";
const LL_A = "fe80::aa:ff:fe00:1";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const fromHex = (s: string) => new Uint8Array(s.match(/../g)?.map((x) => parseInt(x, 16)) ?? []);

type World = LinkedNetns;

/** Netns "a" (our side, veth0, no addresses) and "b" (a kernel with IPv4 and IPv6 on veth1). */
function world(): Promise<World> {
  return createLinkedNetns({ prefix: "cka", ifname: "veth0" }, { prefix: "ckb", ifname: "veth1" }, {
    setup: async (a, b) => {
      await a.ip(["link", "set", "veth0", "address", MAC_A]);
      await b.ip(["link", "set", "veth1", "address", MAC_B]);
      // a's kernel stays quiet: no IPv6 of its own, so only our frames leave veth0.
      a.setSysctl("net.ipv6.conf.veth0.disable_ipv6", 1);
      await b.ip(["addr", "add", `${IP4_B}/24`, "dev", "veth1"]);
      await b.ip(["addr", "add", `${IP6_B}/64`, "dev", "veth1", "nodad"]);
    },
  });
}

/** Send `frames` from a's veth0 and return the bytes of the frames received in the next 0.6 s. */
async function sendAndCollect(w: World, frames: Uint8Array[]): Promise<Uint8Array[]> {
  const res = await w.a.exec([PYTHON, "-c", SEND_AND_COLLECT, "veth0", "0.6", ...frames.map(hex)]);
  return res.stdout.split("\n").filter((l) => l !== "").map(fromHex);
}

/** Send `frames` from a's veth0 and return the parsed frames received in the next 0.6 s. */
async function exchange(w: World, frames: Uint8Array[]): Promise<Frame[]> {
  const out: Frame[] = [];
  for (const bytes of await sendAndCollect(w, frames)) {
    const f = parseFrame(bytes);
    if (!(f instanceof CodecError)) out.push(f);
  }
  return out;
}

async function neighbour(
  ns: TestNetns,
  ip: string,
): Promise<{ lladdr?: string; state?: string[] }> {
  const list = await ipJson<IpNeigh[]>(ns, ["neigh", "show", "dev", "veth1"]);
  return list.find((n) => n.dst === ip) ?? {};
}

/** A test that needs root and Python: ignored (with the reason in its name) without them. */
function kernelTest(title: string, fn: () => Promise<void>): void {
  Deno.test({ name: testNamer(SKIP)(title), ignore: SKIP !== undefined, fn });
}

kernelTest(
  "the kernel answers buildArpRequest() and buildArpProbe(); parseFrame() reads its replies",
  async () => {
    await using w = await world();
    const replies = await exchange(w, [
      buildArpRequest({ srcMac: MAC_A, srcIp: IP4_A, targetIp: IP4_B }),
    ]);
    const reply = replies.find((f) => f.kind === "arp" && f.arp.operation === 2);
    assert.ok(reply && reply.kind === "arp", `no ARP reply among ${replies.length} frames`);
    assert.deepEqual(reply.eth, { dst: MAC_A, src: MAC_B, ethertype: 0x0806 });
    assert.deepEqual(reply.arp, {
      operation: 2,
      senderHardwareAddr: MAC_B,
      senderProtocolAddr: IP4_B,
      targetHardwareAddr: MAC_A,
      targetProtocolAddr: IP4_A,
    });

    // RFC 5227 probe: Linux answers a probe for its own address (the D1 conflict case).
    const probeReplies = await exchange(w, [buildArpProbe(MAC_A, IP4_B)]);
    const conflict = probeReplies.find((f) =>
      f.kind === "arp" && f.arp.operation === 2 && f.arp.senderProtocolAddr === IP4_B
    );
    assert.ok(conflict && conflict.kind === "arp", "no reply to the probe");
    assert.equal(conflict.arp.senderHardwareAddr, MAC_B);
    assert.equal(conflict.arp.targetProtocolAddr, "0.0.0.0");
  },
);

kernelTest("parseArpInto() reads the kernel's ARP reply as numbers", async () => {
  await using w = await world();
  const received = await sendAndCollect(w, [
    buildArpRequest({ srcMac: MAC_A, srcIp: IP4_A, targetIp: IP4_B }),
  ]);
  const out = zeroArpNumbers();
  const found = received.some((bytes) => parseArpInto(bytes, out) === 0 && out.operation === 2);
  assert.ok(found, "no ARP reply");
  assert.equal(out.senderProtocolAddr, ipv4ToNumber(IP4_B));
  assert.equal(out.senderHardwareAddr, macToNumber(MAC_B));
  assert.equal(out.targetHardwareAddr, macToNumber(MAC_A));
});

kernelTest(
  "the kernel accepts buildNeighborSolicitation() (checksum, hop limit) and answers with an NA",
  async () => {
    await using w = await world();
    const ns = buildNeighborSolicitation({
      srcMac: MAC_A,
      src: LL_A,
      target: IP6_B,
      sourceLinkLayerAddr: MAC_A,
    });
    // Control: the same NS with one checksum bit flipped is dropped by the kernel.
    const corrupt = ns.slice();
    corrupt[14 + 40 + 3]! ^= 1;
    const ignored = await exchange(w, [corrupt]);
    assert.equal(ignored.filter((f) => f.kind === "ndp" && f.ndp.kind === "na").length, 0);
    const frames = await exchange(w, [ns]);
    const na = frames.find((f) => f.kind === "ndp" && f.ndp.kind === "na");
    assert.ok(
      na && na.kind === "ndp" && na.ndp.kind === "na",
      `no NA among ${frames.length} frames`,
    );
    assert.equal(na.eth.src, MAC_B);
    assert.equal(na.eth.dst, MAC_A);
    assert.equal(na.ip6.dst, LL_A);
    assert.equal(na.ip6.hopLimit, 255);
    assert.equal(na.ndp.target, IP6_B);
    assert.equal(na.ndp.solicited, true);
    assert.equal(na.ndp.override, true);
    assert.equal(na.ndp.targetLinkLayerAddr, MAC_B);
  },
);

kernelTest(
  "the kernel defends its address against buildDadSolicitation() with an NA to ff02::1",
  async () => {
    await using w = await world();
    const frames = await exchange(w, [buildDadSolicitation(MAC_A, IP6_B)]);
    const na = frames.find((f) =>
      f.kind === "ndp" && f.ndp.kind === "na" && f.ndp.target === IP6_B
    );
    assert.ok(
      na && na.kind === "ndp" && na.ndp.kind === "na",
      `no NA among ${frames.length} frames`,
    );
    assert.equal(na.ip6.dst, "ff02::1");
    assert.equal(na.eth.dst, "33:33:00:00:00:01");
    assert.equal(na.ndp.solicited, false);
    assert.equal(na.ndp.targetLinkLayerAddr, MAC_B);
  },
);

kernelTest(
  "buildArpAnnouncement() and buildUnsolicitedAdvertisement() update the kernel's neighbour entries",
  async () => {
    await using w = await world();
    const old = "02:00:00:00:00:99";
    await w.b.ip(["neigh", "add", IP4_A, "lladdr", old, "dev", "veth1", "nud", "stale"]);
    await w.b.ip(["neigh", "add", IP6_A, "lladdr", old, "dev", "veth1", "nud", "stale"]);
    assert.equal((await neighbour(w.b, IP4_A)).lladdr, old);
    assert.equal((await neighbour(w.b, IP6_A)).lladdr, old);
    await exchange(w, [
      buildArpAnnouncement(MAC_A, IP4_A, { targetHardwareAddr: "ff:ff:ff:ff:ff:ff" }),
      buildUnsolicitedAdvertisement({ srcMac: MAC_A, src: IP6_A, target: IP6_A }),
    ]);
    assert.equal((await neighbour(w.b, IP4_A)).lladdr, MAC_A);
    assert.equal((await neighbour(w.b, IP6_A)).lladdr, MAC_A);
  },
);

kernelTest(
  "RawSocket.recvAll() drains the kernel's ARP replies into receiveBuffer(); parseReceivedArpBatch() reads them in one call",
  async () => {
    await using w = await world();
    // This one goes through the plugin's own socket (mod/detect/rawsock.ts), not Python.
    const { openRawSocket } = await import("../mod/detect/rawsock.ts");
    using sock = openRawSocket({ netns: w.a.path, ifname: "veth0", protocol: "arp" });
    const senders = Array.from({ length: 40 }, (_, i) => `10.99.0.${100 + i}`);
    for (const srcIp of senders) {
      sock.send(buildArpRequest({ srcMac: MAC_A, srcIp, targetIp: IP4_B }));
    }
    const answered = new Set<number>();
    let drains = 0;
    const out = zeroArpNumbers();
    // Not a wait for the replies (the loop below waits for every one, bounded):
    // a pause that lets them pile up, so one recvAll() drains several.
    await new Promise((r) => setTimeout(r, 50));
    const deadline = performance.now() + 10_000;
    while (answered.size < senders.length && performance.now() < deadline) {
      const n = sock.recvAll(receiveBuffer(), batchTable());
      if (n === 0) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      drains++;
      const table = batchTable();
      for (let i = 1; i < n; i++) assert.equal(table[2 * i], table[2 * i - 2]! + table[2 * i - 1]!);
      parseReceivedArpBatch(n);
      for (let i = 0; i < n; i++) {
        if (readArpBatchInto(i, out) !== Status.Ok || out.operation !== 2) continue;
        assert.equal(out.senderHardwareAddr, macToNumber(MAC_B));
        assert.equal(out.senderProtocolAddr, ipv4ToNumber(IP4_B));
        assert.equal(out.targetHardwareAddr, macToNumber(MAC_A));
        answered.add(out.targetProtocolAddr);
      }
    }
    assert.deepEqual([...answered].sort(), senders.map(ipv4ToNumber).sort());
    assert.ok(drains < senders.length, `${drains} drains for ${senders.length} replies`);
    assert.equal(sock.recvAll(receiveBuffer(), batchTable()), 0);
  },
);
