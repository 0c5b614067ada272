/**
 * ip_batch.ts: batch output parsing and line rendering, without root.
 */

import assert from "node:assert/strict";
import {
  matchBatchOutput,
  parseBatchFailures,
  parseJsonArrays,
  renderBatch,
} from "../../../mod/kernel/ip_batch.ts";
import {
  bareIp,
  canonicalIp,
  hostPrefix,
  isDefaultDst,
  isLinkLocalOrMulticast,
  maskCidrText,
} from "../../../mod/ip.ts";

Deno.test("parseJsonArrays() splits concatenated JSON, brackets inside strings included", () => {
  const text = '[{"a":"x]["}]\n[]\n[{"b":[1,2]}]\n';
  assert.deepEqual(parseJsonArrays(text), [[{ a: "x][" }], [], [{ b: [1, 2] }]]);
  assert.deepEqual(parseJsonArrays(""), []);
});

Deno.test("parseBatchFailures() maps each 'Command failed -:N' to the text before it", () => {
  const stderr = 'RTNETLINK answers: File exists\nCommand failed -:5\nCannot find device "x"\n' +
    "Command failed -:7\n";
  assert.deepEqual(
    [...parseBatchFailures(stderr)],
    [[5, "RTNETLINK answers: File exists"], [7, 'Cannot find device "x"']],
  );
});

Deno.test("matchBatchOutput() gives reads their output, skips failed lines, keeps tolerated errors out", () => {
  const lines = [
    { args: ["route", "get", "10.0.0.1"], read: true, optional: true },
    { args: ["route", "get", "10.0.0.2"], read: true, optional: true },
    { args: ["rule", "add", "pref", "1000", "table", "500"], tolerate: /File exists/ },
    { args: ["addr", "show"], read: true },
    { args: ["route", "add", "10.1.0.0/16", "via", "10.9.9.9"] },
  ];
  const stdout = '[{"dst":"10.0.0.2","prefsrc":"10.0.0.9"}]\n[{"ifname":"lo"}]\n';
  const stderr = "RTNETLINK answers: Network is unreachable\nCommand failed -:1\n" +
    "RTNETLINK answers: File exists\nCommand failed -:3\n" +
    "Error: Nexthop has invalid gateway.\nCommand failed -:5\n";
  const r = matchBatchOutput(lines, stdout, stderr);
  assert.equal(r.outcomes[0]?.output, undefined);
  assert.equal(r.outcomes[0]?.error, "RTNETLINK answers: Network is unreachable");
  assert.deepEqual(r.outcomes[1]?.output, [{ dst: "10.0.0.2", prefsrc: "10.0.0.9" }]);
  assert.deepEqual(r.outcomes[3]?.output, [{ ifname: "lo" }]);
  assert.deepEqual(r.errors.map((e) => e.line.args[0] + " " + e.line.args[1]), ["route add"]);
});

Deno.test("renderBatch() writes one command per line and refuses words a shell or ip would split", () => {
  assert.equal(
    renderBatch([{ args: ["link", "set", "eth0", "up"] }, { args: ["addr", "show"] }]),
    "link set eth0 up\naddr show\n",
  );
  assert.throws(() => renderBatch([{ args: ["link", "set", "eth0 up"] }]), { code: 999 });
  assert.throws(() => renderBatch([{ args: ["link", "set", "a\nb"] }]), { code: 999 });
});

Deno.test("address helpers: host prefix, link-local, default, masking", () => {
  assert.equal(hostPrefix("10.0.0.1"), "10.0.0.1/32");
  assert.equal(hostPrefix("fd00::1"), "fd00::1/128");
  assert.equal(bareIp("10.1.2.3/16"), "10.1.2.3");
  assert.ok(isLinkLocalOrMulticast("169.254.1.1"));
  assert.ok(isLinkLocalOrMulticast("fe80::1"));
  assert.ok(isLinkLocalOrMulticast("ff02::1"));
  assert.ok(!isLinkLocalOrMulticast("fd00::1"));
  assert.ok(isDefaultDst("default") && isDefaultDst("0.0.0.0/0") && isDefaultDst("::/0"));
  assert.ok(!isDefaultDst("10.0.0.0/8"));
  assert.equal(maskCidrText("10.1.2.3/16"), "10.1.0.0/16");
  assert.equal(maskCidrText(" fd00:10:233:64::5/64"), "fd00:10:233:64::/64");
  assert.equal(maskCidrText("169.254.20.10"), "169.254.20.10/32");
  assert.throws(() => maskCidrText("10.0.0.0/33"), { code: 7 });
  assert.equal(canonicalIp("FD00:0:0::1"), "fd00::1");
});
