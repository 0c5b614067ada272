import assert from "node:assert/strict";
import fc from "fast-check";
import { Address4, Address6 } from "ip-address";
import {
  formatCidr,
  formatIp,
  formatIpv4At,
  formatIpv6At,
  maskCidr,
  parseCidr,
  parseIp,
  parseIpv4Into,
  parseIpv6Into,
} from "../../mod/ip.ts";

// The plugin parses addresses with its own small module (the npm ip-address
// package costs ~35 ms of start-up per CNI call); ip-address is the oracle here.

Deno.test("parseIp()/formatIp() agree with ip-address on random IPv6", () => {
  fc.assert(
    fc.property(fc.ipV6(), (text) => {
      const ours = parseIp(text);
      assert.ok(ours, text);
      assert.equal(formatIp(ours), new Address6(text).correctForm(), text);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("parseIp() agrees with ip-address on random IPv4", () => {
  fc.assert(
    fc.property(fc.ipV4(), (text) => {
      const ours = parseIp(text);
      assert.ok(ours);
      assert.equal(formatIp(ours), new Address4(text).correctForm());
    }),
    { numRuns: 2000 },
  );
});

Deno.test("maskCidr() matches ip-address's network start", () => {
  fc.assert(
    fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (ip, len) => {
      const c = parseCidr(`${ip}/${len}`)!;
      const want = new Address4(`${ip}/${len}`).startAddress().correctForm();
      assert.equal(formatCidr(maskCidr(c)), `${want}/${len}`);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.ipV6(), fc.integer({ min: 0, max: 128 }), (ip, len) => {
      const c = parseCidr(`${ip}/${len}`)!;
      const want = new Address6(`${ip}/${len}`).startAddress().correctForm();
      assert.equal(formatCidr(maskCidr(c)), `${want}/${len}`);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("parseIp() refuses what is not an address", () => {
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.1.1.1",
      "1.2.3.4 ",
      "fe80::1%eth0",
      ":::",
      "1::2::3",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "::ffff:1.2.3",
      "g::1",
      // A dotted quad only as the very last group, never before "::".
      "1.2.3.4::1",
      "1.2.3.4::",
      "::1.2.3.4:1",
      "1:1.2.3.4::",
    ]
  ) {
    assert.equal(parseIp(bad), undefined, bad);
  }
  assert.equal(parseCidr("10.0.0.0/33"), undefined);
  assert.equal(parseCidr("10.0.0.0/08"), undefined);
  assert.equal(parseCidr("10.0.0.0"), undefined);
  assert.deepEqual(formatCidr(parseCidr("10.0.0.1", true)!), "10.0.0.1/32");
  assert.equal(formatIp(parseIp("::ffff:1.2.3.4")!), "::ffff:102:304");
  assert.equal(formatIp(parseIp("1::1.2.3.4")!), "1::102:304");
});

Deno.test("parseIpv4Into()/parseIpv6Into() write at the offset, and nothing when they refuse", () => {
  const to = new Uint8Array(24).fill(0xa5);
  assert.equal(parseIpv4Into("10.65.66.255", to, 3), true);
  assert.deepEqual(Array.from(to.subarray(2, 8)), [0xa5, 10, 65, 66, 255, 0xa5]);
  assert.equal(parseIpv6Into("2001:db8::1:2.3.4.5", to, 5), true);
  assert.deepEqual(
    Array.from(to.subarray(4, 22)),
    [65, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 0xa5],
  );
  const untouched = new Uint8Array(16).fill(0xa5);
  for (const bad of ["", "1.2.3", "01.1.1.1", "1.2.3.4 ", "::1", "fe80::1"]) {
    assert.equal(parseIpv4Into(bad, untouched, 0), false, bad);
  }
  for (const bad of ["", ":", "1.2.3.4", "1::2::3", "1.2.3.4::1", "1:2:3:4:5:6:7:8:9", "::g"]) {
    assert.equal(parseIpv6Into(bad, untouched, 0), false, bad);
  }
  assert.ok(untouched.every((b) => b === 0xa5));
  // Not a string: refused, never a TypeError.
  assert.equal(parseIp(7 as unknown as string), undefined);
  assert.equal(parseIpv6Into(undefined as unknown as string, untouched, 0), false);
});

Deno.test("formatIpv6At() prints any 16 bytes as ip-address's correctForm(); formatIpv4At() as a dotted quad", () => {
  const byte = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 }));
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 20, maxLength: 20 }),
      fc.array(byte, { minLength: 16, maxLength: 16 }),
      (pad, bytes) => {
        const b = pad.slice();
        b.set(bytes, 2);
        assert.equal(formatIpv6At(b, 2), Address6.fromUnsignedByteArray(bytes).correctForm());
        assert.equal(formatIpv4At(b, 2), bytes.slice(0, 4).join("."));
      },
    ),
    { numRuns: 2000 },
  );
});
