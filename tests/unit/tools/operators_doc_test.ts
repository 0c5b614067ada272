/** docs/operators.md names every config field, every error code and the real permission flags. */

import assert from "node:assert/strict";
import { CONFIG_FIELDS } from "../../../mod/config/fields.ts";
import { ErrorCode } from "../../../mod/errors.ts";
import { permissionFlags } from "../../../mod/permissions.ts";

const doc = await Deno.readTextFile(new URL("../../../docs/operators.md", import.meta.url));

Deno.test("docs/operators.md documents every configuration field", () => {
  for (const [key, spec] of Object.entries(CONFIG_FIELDS)) {
    if (spec.properties === undefined) {
      assert.ok(doc.includes(`| \`${key}\``), `field "${key}" is not in the table`);
      continue;
    }
    for (const sub of Object.keys(spec.properties)) {
      assert.ok(doc.includes(`| \`${key}.${sub}\``), `field "${key}.${sub}" is not in the table`);
    }
  }
});

Deno.test("docs/operators.md explains every error code", () => {
  for (const [name, code] of Object.entries(ErrorCode)) {
    if (name === "UnsupportedField") continue; // never raised: unknown keys are ignored
    assert.match(
      doc,
      new RegExp(`^\\| ${code}\\s+\\|`, "m"),
      `error code ${code} (${name}) is not in the table`,
    );
  }
});

Deno.test("docs/operators.md shows the permission flags build.ts bakes in", () => {
  for (const flag of permissionFlags()) assert.ok(doc.includes(`\n${flag}\n`), flag);
});
