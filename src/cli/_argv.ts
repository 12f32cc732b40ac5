// Strict parsing of a native command's argv against its citty argument table: an unknown option, a stray
// positional or a missing value is a usage error (exit 7) that names the word and suggests the closest valid
// one; nothing runs. Every command in the table gets this, including ones added later (main.ts calls it).
import type { ArgsDef } from "citty";
import { IscsiError } from "../contract/errors.ts";

/** Options every command takes (handled by main.ts). */
const GLOBAL = { debug: { type: "boolean", alias: "d" } } as const;

const usage = (message: string) => new IscsiError("INVALID_ARGUMENT", message);

/** Levenshtein distance: the number of single-character edits between a and b. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** The candidate closest to `word` when it is close enough to be a likely typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** " (did you mean X?)" or nothing. */
export function suggestion(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c === undefined ? "" : ` (did you mean ${c}?)`;
}

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

interface Option {
  name: string;
  type: "string" | "boolean";
}

/**
 * Parse `rawArgs` for a command with argument table `def`; `command` names it in messages ("iscsi read").
 * Strings take the next word whatever it is ("-" included); booleans take --no-NAME and --NAME=true|false.
 * Keys are set under both the kebab-case name and its camelCase form, like citty's own parser.
 */
export function parseStrict(def: ArgsDef, rawArgs: string[], command: string): Record<string, unknown> {
  const table = { ...GLOBAL, ...def } as Record<
    string,
    { type?: string; alias?: string | string[]; default?: unknown; required?: boolean }
  >;
  const byFlag = new Map<string, Option>();
  const positionals: string[] = [];
  for (const [name, d] of Object.entries(table)) {
    if (d.type === "positional") {
      positionals.push(name);
      continue;
    }
    const opt: Option = { name, type: d.type === "boolean" ? "boolean" : "string" };
    byFlag.set(`--${name}`, opt);
    if (opt.type === "boolean") byFlag.set(`--no-${name}`, opt);
    for (const a of [d.alias ?? []].flat()) byFlag.set(a.length === 1 ? `-${a}` : `--${a}`, opt);
  }
  const out: Record<string, unknown> = {};
  const set = (name: string, value: unknown) => {
    out[name] = value;
    out[camel(name)] = value;
  };
  const words: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const word = rawArgs[i]!;
    if (word === "--") {
      words.push(...rawArgs.slice(i + 1));
      break;
    }
    if (!word.startsWith("-") || word === "-") {
      words.push(word);
      continue;
    }
    const eq = word.startsWith("--") ? word.indexOf("=") : -1;
    let flag = eq > 0 ? word.slice(0, eq) : word;
    let inline = eq > 0 ? word.slice(eq + 1) : undefined;
    if (!byFlag.has(flag) && /^-[A-Za-z]./.test(word) && byFlag.get(word.slice(0, 2))?.type === "string") {
      [flag, inline] = [word.slice(0, 2), word.slice(2)]; // -oFILE, as getopt allows
    }
    const opt = byFlag.get(flag);
    if (!opt) throw usage(`unknown option ${flag} for \`${command}\`${suggestion(flag, byFlag.keys())}`);
    if (opt.type === "boolean") {
      const negated = flag.startsWith("--no-");
      if (inline !== undefined && inline !== "true" && inline !== "false")
        throw usage(`${flag} takes no value other than true or false, not ${JSON.stringify(inline)}`);
      set(opt.name, inline === undefined ? !negated : (inline === "true") !== negated);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = rawArgs[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) throw usage(`${flag} needs a value`);
      value = next;
      i++;
    }
    set(opt.name, value);
  }
  if (words.length > positionals.length) {
    const stray = words[positionals.length]!;
    throw usage(
      `unexpected argument ${JSON.stringify(stray)} for \`${command}\`${positionals.length === 0 ? " (it takes no positional arguments)" : ` (it takes ${positionals.map((p) => p.toUpperCase()).join(" ")})`}`,
    );
  }
  for (const [name, d] of Object.entries(table)) {
    const given = d.type === "positional" ? words[positionals.indexOf(name)] : out[name];
    if (d.type === "positional" && given !== undefined) set(name, given);
    if (given !== undefined) continue;
    if (d.default !== undefined) set(name, d.default);
    else if (d.required === true || (d.type === "positional" && d.required !== false)) {
      throw usage(
        d.type === "positional" ? `\`${command}\` needs ${name.toUpperCase()}` : `\`${command}\` needs --${name}`,
      );
    }
  }
  out._ = words;
  return out;
}
