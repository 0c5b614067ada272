/**
 * Generate `schema/coordinator.schema.json`, the JSON Schema (draft 2020-12) of
 * the plugin's configuration object, from {@linkcode CONFIG_FIELDS}: the same
 * table `parseConfig()` validates with, so the two cannot drift.
 *
 * ```sh
 * deno task schema            # write schema/coordinator.schema.json
 * deno task schema --check    # exit 1 when the committed file is stale
 * ```
 *
 * Patterns are as strict as a regular expression can reasonably be (IPv4 exact,
 * IPv6 by shape); `parseConfig()` stays the final judge. JSON `null` is
 * accepted wherever the plugin reads it as "not set".
 *
 * @module
 */

import { NAME_RE } from "../../mod/config/parse.ts";
import { CONFIG_FIELDS, type FieldSpec } from "../../mod/config/fields.ts";

/** Where the schema is committed, relative to the repository root. */
export const SCHEMA_PATH = "schema/coordinator.schema.json";

type Schema = Record<string, unknown>;

const V4_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const V4 = `${V4_OCTET}(\\.${V4_OCTET}){3}`;
/** IPv6 by shape only (hex groups, "::", optional dotted tail); the plugin checks the rest. */
const V6 = "[0-9a-fA-F:]*:[0-9a-fA-F:]*(:" + V4 + ")?";
const V4_PREFIX = "(3[0-2]|[12]?[0-9])";
const V6_PREFIX = "(12[0-8]|1[01][0-9]|[1-9]?[0-9])";
/** A CIDR, never a bare IP (the plugin asks for the /32 or /128 form); spaces are trimmed. */
const CIDR = `^\\s*(${V4}/${V4_PREFIX}|${V6}/${V6_PREFIX})\\s*$`;
const IP = `^\\s*(${V4}|${V6})\\s*$`;
const DURATION = "^(0|((\\d+(\\.\\d*)?|\\.\\d+)(ns|us|µs|μs|ms|s|m|h))+)$";
/** Two unicast hex bytes: the low bit of the first byte is 0. */
const MAC_PREFIX = "^[0-9a-fA-F][02468aceACE]:[0-9a-fA-F]{2}$";
/** 1-15 characters without '/', ':' or whitespace, not "." or "..". */
const IFNAME = "^(?!\\.\\.?$)[^/:\\s]{1,15}$";

/** A case-insensitive alternative of words, without the `i` flag JSON Schema lacks. */
function caseless(words: readonly string[]): string {
  const alt = words.map((w) =>
    [...w].map((c) =>
      c.toLowerCase() === c.toUpperCase() ? c : `[${c.toLowerCase()}${c.toUpperCase()}]`
    )
      .join("")
  );
  return `^(${alt.join("|")})$`;
}

/** `pattern` for strings that may also be "" (meaning "use the default"). */
function orEmpty(pattern: string, spec: FieldSpec): string {
  return spec.emptyIsDefault ? `^$|${pattern}` : pattern;
}

function nullable(type: string): string[] {
  return [type, "null"];
}

/**
 * The schema of one field.
 *
 * @param spec the field's entry in the table
 * @returns a JSON Schema object
 */
export function fieldSchema(spec: FieldSpec): Schema {
  const s: Schema = { description: spec.description };
  switch (spec.kind) {
    case "string":
    case "logFile":
      s["type"] = nullable("string");
      break;
    case "boolean":
      s["type"] = nullable("boolean");
      break;
    case "integer":
      s["type"] = nullable("integer");
      if (spec.minimum !== undefined) s["minimum"] = spec.minimum;
      if (spec.maximum !== undefined) s["maximum"] = spec.maximum;
      if (spec.forbidden !== undefined) s["not"] = { enum: [...spec.forbidden] };
      break;
    case "enum":
      s["type"] = nullable("string");
      s["enum"] = spec.emptyIsDefault
        ? [...(spec.enum ?? []), "", null]
        : [...(spec.enum ?? []), null];
      break;
    case "logLevel":
      s["type"] = nullable("string");
      s["pattern"] = caseless(spec.enum ?? []);
      break;
    case "ifname":
      s["type"] = nullable("string");
      s["pattern"] = orEmpty(IFNAME, spec);
      break;
    case "cidrList":
      s["type"] = nullable("array");
      s["items"] = { type: "string", pattern: CIDR };
      break;
    case "policyRoutes":
      s["type"] = nullable("array");
      s["items"] = {
        type: "object",
        properties: {
          dst: { type: "string", pattern: CIDR, description: "Destination CIDR" },
          gw: { type: "string", pattern: IP, description: "Gateway (same family as dst)" },
        },
        patternProperties: {
          [caseless(["dst"])]: { type: "string", pattern: CIDR },
          [caseless(["gw"])]: { type: "string", pattern: IP },
        },
        // Go's decoder matches keys case-insensitively: some spelling of each is required.
        allOf: ["dst", "gw"].map((k) => ({
          not: { propertyNames: { not: { pattern: caseless([k]) } } },
        })),
      };
      break;
    case "macPrefix":
      s["type"] = nullable("string");
      s["pattern"] = orEmpty(MAC_PREFIX, spec);
      break;
    case "ipv4":
      s["type"] = nullable("string");
      s["pattern"] = orEmpty(`^${V4}$`, spec);
      break;
    case "duration":
      s["type"] = nullable("string");
      s["pattern"] = orEmpty(DURATION, spec);
      break;
    case "object":
      s["type"] = nullable("object");
      s["properties"] = propertiesOf(spec.properties ?? {});
      s["patternProperties"] = caseVariantsOf(spec.properties ?? {});
      break;
  }
  if (spec.default !== undefined) s["default"] = spec.default;
  if (spec.ignored) s["deprecated"] = true;
  return s;
}

function propertiesOf(fields: Readonly<Record<string, FieldSpec>>): Schema {
  const props: Schema = {};
  for (const [key, spec] of Object.entries(fields)) {
    props[key] = fieldSchema(spec);
    for (const alias of spec.aliases ?? []) {
      props[alias] = {
        ...fieldSchema(spec),
        description: `Alias of "${key}". ${spec.description}`,
      };
    }
  }
  return props;
}

/**
 * Case variants of every key (Go's encoding/json reads "vethMtu" as "vethMTU"):
 * one case-insensitive pattern per field, with the field's schema. The plugin's
 * other key rules (a near-miss like "serviceCIRD" is an error, other unknown keys
 * are ignored with a warning) are beyond JSON Schema; the schema allows them.
 */
function caseVariantsOf(fields: Readonly<Record<string, FieldSpec>>): Schema {
  const out: Schema = {};
  for (const [key, spec] of Object.entries(fields)) {
    out[caseless([key, ...(spec.aliases ?? [])])] = fieldSchema(spec);
  }
  return out;
}

/**
 * The whole schema of the plugin's configuration object.
 *
 * @returns the schema (plain JSON data)
 */
export function generateSchema(): Schema {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "coordinator CNI plugin configuration",
    description: "One entry of a conflist's `plugins` (chained after the main CNI). " +
      "Generated by tools/scripts/gen_schema.ts from CONFIG_FIELDS in mod/config/fields.ts: do not edit.",
    type: "object",
    required: ["type"],
    properties: {
      cniVersion: { type: "string", description: "Injected by the runtime from the conflist" },
      name: {
        type: "string",
        pattern: NAME_RE.source,
        description: "Network name, injected by the runtime from the conflist",
      },
      type: { type: "string", description: 'The binary name in CNI_PATH, normally "coordinator"' },
      prevResult: { type: "object", description: "Injected by the runtime" },
      ...propertiesOf(CONFIG_FIELDS),
    },
    patternProperties: caseVariantsOf(CONFIG_FIELDS),
    additionalProperties: true,
  };
}

/**
 * The file text: 2-space JSON and a final newline.
 *
 * @returns the text of `schema/coordinator.schema.json`
 */
export function schemaText(): string {
  return JSON.stringify(generateSchema(), null, 2) + "\n";
}

if (import.meta.main) {
  const root = new URL("../../", import.meta.url);
  const path = new URL(SCHEMA_PATH, root);
  const text = schemaText();
  if (Deno.args.includes("--check")) {
    let current = "";
    try {
      current = await Deno.readTextFile(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    if (current !== text) {
      Deno.stderr.writeSync(
        new TextEncoder().encode(`${SCHEMA_PATH} is stale: run \`deno task schema\`\n`),
      );
      Deno.exit(1);
    }
  } else {
    await Deno.writeTextFile(path, text);
    Deno.stderr.writeSync(new TextEncoder().encode(`wrote ${SCHEMA_PATH}\n`));
  }
}
