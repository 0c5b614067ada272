import assert from "node:assert/strict";
import { parseCniArgs } from "../../../mod/cni/args.ts";
import { CniError } from "../../../mod/errors.ts";

Deno.test("parseCniArgs() reads the Kubernetes keys", () => {
  const a = parseCniArgs(
    "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;" +
      "K8S_POD_INFRA_CONTAINER_ID=0b49742cc7cc;K8S_POD_UID=7c2e;IP=10.0.0.5;MAC=0a:1b:00:00:00:01",
  );
  assert.deepEqual(a, {
    IgnoreUnknown: true,
    K8S_POD_NAMESPACE: "default",
    K8S_POD_NAME: "web-0",
    K8S_POD_INFRA_CONTAINER_ID: "0b49742cc7cc",
    K8S_POD_UID: "7c2e",
    IP: "10.0.0.5",
    MAC: "0a:1b:00:00:00:01",
  });
});

Deno.test("parseCniArgs() accepts empty input, empty items and '=' inside values", () => {
  assert.deepEqual(parseCniArgs(""), {});
  assert.deepEqual(parseCniArgs(";K8S_POD_NAME=a=b;"), { K8S_POD_NAME: "a=b" });
  assert.deepEqual(parseCniArgs("K8S_POD_UID="), { K8S_POD_UID: "" });
});

Deno.test("parseCniArgs() ignores unknown keys only with IgnoreUnknown true", () => {
  for (const v of ["1", "true", "True", "TRUE"]) {
    assert.deepEqual(parseCniArgs(`FOO=1;IgnoreUnknown=${v}`), { IgnoreUnknown: true });
  }
  for (const text of ["FOO=1", "IgnoreUnknown=0;FOO=1", "IgnoreUnknown=false;FOO=1"]) {
    assert.throws(() => parseCniArgs(text), (e: unknown) => e instanceof CniError && e.code === 4);
  }
});

Deno.test("parseCniArgs() rejects malformed pairs with code 4", () => {
  for (const text of ["K8S_POD_NAME", "=x", "IgnoreUnknown=maybe"]) {
    assert.throws(
      () => parseCniArgs(text),
      (e: unknown) => e instanceof CniError && e.code === 4 && e.message.includes("CNI_ARGS"),
      text,
    );
  }
});
