import assert from "node:assert/strict";
import { sameIgnoringPadding, withTable } from "../../../tools/scripts/gen_config_table.ts";

Deno.test("README.md config table matches CONFIG_FIELDS (run scripts/gen_config_table.ts)", () => {
  const readme = Deno.readTextFileSync(new URL("../../../README.md", import.meta.url));
  assert.ok(sameIgnoringPadding(withTable(readme), readme), "run deno task readme");
});

Deno.test("README.md test command is what .ci/run runs", () => {
  const readme = Deno.readTextFileSync(new URL("../../../README.md", import.meta.url));
  const ci = Deno.readTextFileSync(new URL("../../../.ci/run", import.meta.url));
  assert.match(readme, /npx --yes deno@2\.9\.6 task test/);
  assert.match(ci, /DENO_VERSION=2\.9\.6/);
  assert.match(ci, /npx --yes "deno@\$\{DENO_VERSION\}" task test/);
});
