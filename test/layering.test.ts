// Imports point one way (STYLE.md): cli → ipc → daemon → session → connection → login/transport;
// pdu, nfs, scsi, transport, errors and log import nothing of ours (or only within themselves).
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, dirname, resolve } from "node:path";

const SRC = join(import.meta.dir, "../src");
const RANK: Record<string, number> = { main: 9, cli: 8, demo: 7, bench: 7, doctor: 7, ipc: 7, daemon: 6, discovery: 5, attach: 5, session: 4, connection: 3, login: 2, transport: 1, pdu: 0, nfs: 0, scsi: 0, errors: 0, log: 0, version: 0, config: 1 };
const LEAVES = new Set(["pdu", "scsi", "transport", "errors", "log", "nfs"]);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}
const layerOf = (file: string) => relative(SRC, file).split("/")[0]!.replace(/\.ts$/, "");

test("every import inside src/ points to the same or a lower layer; leaves import nothing of ours", () => {
  const problems: string[] = [];
  for (const file of files(SRC)) {
    const from = layerOf(file);
    for (const m of readFileSync(file, "utf8").matchAll(/from "(\.[^"]+)"/g)) {
      const target = resolve(dirname(file), m[1]!);
      if (!target.startsWith(SRC + "/")) continue; // package.json and the like
      const to = layerOf(target);
      if (to === from) continue;
      if (LEAVES.has(from)) problems.push(`${relative(SRC, file)} (leaf ${from}) imports ${to}`);
      else if ((RANK[to] ?? 99) > (RANK[from] ?? -1)) problems.push(`${relative(SRC, file)} (${from}) imports upward into ${to}`);
    }
  }
  expect(problems).toEqual([]);
});
