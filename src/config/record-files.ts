// Reading a folder of JSON records (nodes, discovery, attachments) the same way: each file validated with its
// valibot schema; a damaged one is set aside (quarantine.ts) and reported, never dropped silently or overwritten.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ConsolaInstance } from "consola";
import * as v from "valibot";
import { quarantine } from "./quarantine.ts";

export interface DamagedFile {
  path: string;
  problem: string;
  /** Where it was moved to (only when set aside). */
  movedTo?: string;
}

/** Why `text` is not a valid record of `schema`, or its parsed value. */
export function parseRecord<S extends v.GenericSchema>(
  schema: S,
  text: string,
): { record: v.InferOutput<S> } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { problem: `not valid JSON (${(err as Error).message})` };
  }
  const r = v.safeParse(schema, json);
  if (r.success) return { record: r.output };
  const at = r.issues[0].path?.map((p) => p.key).join(".");
  return { problem: `${at ? `${at}: ` : ""}${r.issues[0].message}` };
}

/** Calls `take` for each valid `*.json` record in `dir`; returns the damaged ones (set aside when asked). */
export function readRecords<S extends v.GenericSchema>(
  dir: string,
  schema: S,
  take: (record: v.InferOutput<S>, name: string) => void,
  opts: { setAside: boolean; log: ConsolaInstance; what: string },
): DamagedFile[] {
  const damaged: DamagedFile[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".json") || name.startsWith(".")) continue;
    const path = join(dir, name);
    let outcome: ReturnType<typeof parseRecord<S>>;
    try {
      outcome = parseRecord(schema, readFileSync(path, "utf8"));
      if ("record" in outcome) take(outcome.record, name);
    } catch (err) {
      outcome = { problem: (err as Error).message };
    }
    if ("record" in outcome) continue;
    const found: DamagedFile = { path, problem: outcome.problem };
    if (opts.setAside) {
      found.movedTo = quarantine(path);
      opts.log.error(
        `${opts.what}: ${path} is damaged (${outcome.problem}); set aside as ${found.movedTo}, never overwritten (see iscsi doctor)`,
      );
    }
    damaged.push(found);
  }
  return damaged;
}
