/**
 * Codec throughput, Wasm vs the plain-TS reference (tests/_helpers/ref_codec.ts):
 * one frame per iteration, so iter/s is frames/s. Run with
 * `deno bench bench/codec_bench.ts` (or `deno task bench:codec`).
 * Results and the machine they came from: docs/codec.md.
 *
 * @module
 */

import * as codec from "../mod/codec.ts";
import {
  refBuildArp,
  refBuildNdp,
  refParse,
  refParseArpInto,
} from "../tests/_helpers/ref_codec.ts";

const MAC = "02:11:12:13:14:15";
const GW_MAC = "02:21:22:23:24:25";

const arpReply = codec.buildArp({ dst: MAC, src: GW_MAC }, {
  operation: 2,
  senderHardwareAddr: GW_MAC,
  senderProtocolAddr: "10.65.66.1",
  targetHardwareAddr: MAC,
  targetProtocolAddr: "10.65.66.67",
});
const ns = codec.buildNeighborSolicitation({
  srcMac: MAC,
  src: "fe80::11:1213:1415",
  target: "2001:db8:41::1",
  sourceLinkLayerAddr: MAC,
});
const na = codec.buildNeighborAdvertisement({
  srcMac: GW_MAC,
  dstMac: MAC,
  src: "2001:db8:41::1",
  dst: "fe80::11:1213:1415",
  target: "2001:db8:41::1",
  flags: { router: true, solicited: true, override: true },
  targetLinkLayerAddr: GW_MAC,
});

const out: codec.ArpNumbers = {
  operation: 0,
  senderHardwareAddr: 0,
  senderProtocolAddr: 0,
  targetHardwareAddr: 0,
  targetProtocolAddr: 0,
};
let sink = 0;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`Benchmark input is not what it should be: ${what}`);
}
check(codec.parseArpInto(arpReply, out) === codec.Status.Ok && out.operation === 2, "ARP reply");
check(!(codec.parseFrame(ns) instanceof codec.CodecError), "NS");
check(!(codec.parseFrame(na) instanceof codec.CodecError), "NA");

// --- parse ---

Deno.bench({
  name: "wasm parseArpInto (numbers)",
  group: "ARP parse",
  baseline: true,
  fn: () => {
    sink += codec.parseArpInto(arpReply, out) + out.senderProtocolAddr;
  },
});
// A frame received straight into the codec's buffer (recv(2) into receiveBuffer()).
codec.receiveBuffer().set(arpReply);
Deno.bench({
  name: "wasm parseReceivedArpInto (zero copy)",
  group: "ARP parse",
  fn: () => {
    sink += codec.parseReceivedArpInto(arpReply.length, out) + out.senderProtocolAddr;
  },
});
Deno.bench({
  name: "ref  parseArpInto (numbers)",
  group: "ARP parse",
  fn: () => {
    sink += refParseArpInto(arpReply, out) + out.senderProtocolAddr;
  },
});
Deno.bench({
  name: "wasm parseFrame (objects)",
  group: "ARP parse",
  fn: () => {
    sink += codec.parseFrame(arpReply).kind.length;
  },
});
Deno.bench({
  name: "ref  parseFrame (objects)",
  group: "ARP parse",
  fn: () => {
    sink += (refParse(arpReply) as codec.Frame).kind.length;
  },
});

Deno.bench({
  name: "wasm parseFrame NS",
  group: "NS parse",
  baseline: true,
  fn: () => {
    sink += codec.parseFrame(ns).kind.length;
  },
});
Deno.bench({
  name: "ref  parseFrame NS",
  group: "NS parse",
  fn: () => {
    sink += (refParse(ns) as codec.Frame).kind.length;
  },
});
Deno.bench({
  name: "wasm parseFrame NA",
  group: "NA parse",
  baseline: true,
  fn: () => {
    sink += codec.parseFrame(na).kind.length;
  },
});
Deno.bench({
  name: "ref  parseFrame NA",
  group: "NA parse",
  fn: () => {
    sink += (refParse(na) as codec.Frame).kind.length;
  },
});

// --- build ---

const arpArgs = {
  operation: 1 as const,
  senderHardwareAddr: MAC,
  senderProtocolAddr: "10.65.66.67",
  targetHardwareAddr: "00:00:00:00:00:00",
  targetProtocolAddr: "10.65.66.1",
};
const arpEth = { dst: "ff:ff:ff:ff:ff:ff", src: MAC };
Deno.bench({
  name: "wasm buildArp",
  group: "ARP build",
  baseline: true,
  fn: () => {
    sink += codec.buildArp(arpEth, arpArgs).length;
  },
});
Deno.bench({
  name: "ref  buildArp",
  group: "ARP build",
  fn: () => {
    sink += refBuildArp(arpEth, arpArgs).length;
  },
});

const nsArgs = {
  srcMac: MAC,
  src: "fe80::11:1213:1415",
  target: "2001:db8:41::1",
  sourceLinkLayerAddr: MAC,
};
Deno.bench({
  name: "wasm buildNeighborSolicitation",
  group: "NS build",
  baseline: true,
  fn: () => {
    sink += codec.buildNeighborSolicitation(nsArgs).length;
  },
});
Deno.bench({
  name: "ref  buildNeighborSolicitation",
  group: "NS build",
  fn: () => {
    sink += refBuildNdp({
      eth: { dst: "33:33:ff:00:00:01", src: MAC },
      src: nsArgs.src,
      dst: "ff02::1:ff00:1",
      target: nsArgs.target,
      type: 135,
      lla: MAC,
    }).length;
  },
});

const naArgs = { srcMac: MAC, src: "fe80::11:1213:1415", target: "2001:db8:41::5" };
Deno.bench({
  name: "wasm buildUnsolicitedAdvertisement",
  group: "NA build",
  baseline: true,
  fn: () => {
    sink += codec.buildUnsolicitedAdvertisement(naArgs).length;
  },
});
Deno.bench({
  name: "ref  buildUnsolicitedAdvertisement",
  group: "NA build",
  fn: () => {
    sink += refBuildNdp({
      eth: { dst: "33:33:00:00:00:01", src: MAC },
      src: naArgs.src,
      dst: "ff02::1",
      target: naArgs.target,
      type: 136,
      flags: { router: false, solicited: false, override: true },
      lla: MAC,
    }).length;
  },
});

addEventListener("unload", () => {
  if (sink === 0.5) throw new Error("unreachable: keeps the results alive");
});
