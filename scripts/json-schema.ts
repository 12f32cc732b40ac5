// Writes docs/json-schema/<kind>.json, the JSON Schema of each kind of object the CLI prints with --json,
// generated from the valibot schemas in src/cli/_json.ts (test/cli/json-schema.test.ts checks they match).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toJsonSchema } from "@valibot/to-json-schema";
import { OUTPUTS, SCHEMA_VERSION } from "../src/cli/_json.ts";

export const SCHEMA_DIR = join(import.meta.dir, "../docs/json-schema");

/** File name → text of every schema. */
export function jsonSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [kind, schema] of Object.entries(OUTPUTS)) {
    const json = {
      title: `iscsi --json: ${kind}, schemaVersion ${SCHEMA_VERSION}`,
      ...toJsonSchema(schema, { errorMode: "throw" }),
    };
    out[`${kind}.json`] = JSON.stringify(json, null, 2) + "\n";
  }
  return out;
}

if (import.meta.main) {
  mkdirSync(SCHEMA_DIR, { recursive: true });
  for (const [name, text] of Object.entries(jsonSchemas())) writeFileSync(join(SCHEMA_DIR, name), text);
  process.stdout.write(`wrote ${Object.keys(jsonSchemas()).length} schemas to ${SCHEMA_DIR}\n`);
}
