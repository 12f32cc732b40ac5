// The committed docs/json-schema/*.json are what scripts/json-schema.ts generates from the valibot schemas of
// the CLI's JSON output (run `bun scripts/json-schema.ts` after changing src/cli/_json.ts).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { jsonSchemas, SCHEMA_DIR } from "../../scripts/json-schema.ts";

describe("JSON Schema of the CLI's --json output", () => {
  test("the committed files match the valibot schemas, one per kind of object", () => {
    const generated = jsonSchemas();
    expect(readdirSync(SCHEMA_DIR).sort()).toEqual(Object.keys(generated).sort());
    for (const [name, text] of Object.entries(generated))
      expect({ name, text: readFileSync(join(SCHEMA_DIR, name), "utf8") }).toEqual({ name, text });
  });

  test("every kind is an object with a schemaVersion", () => {
    for (const text of Object.values(jsonSchemas())) {
      const schema = JSON.parse(text);
      expect(schema.type).toBe("object");
      expect(schema.required).toContain("schemaVersion");
    }
  });
});
