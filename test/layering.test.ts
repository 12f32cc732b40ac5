// Imports point one way (docs/architecture.md, "Layers"): cli → daemon → session → connection → login/transport,
// with ipc (client and framing), config and log below; pdu, scsi, transport and contract import nothing of ours.
// Inside a folder the files import each other without a cycle. `LAYERING_PRINT=1` writes the import graph as
// DOT (one cluster per folder) to stdout, or to the file named by LAYERING_PRINT when it is not "1".
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = join(import.meta.dir, "../src");
const RANK: Record<string, number> = {
  main: 9,
  cli: 8,
  demo: 7,
  bench: 7,
  doctor: 7,
  daemon: 6,
  discovery: 5,
  attach: 5,
  multipath: 5,
  session: 4,
  connection: 3,
  login: 2,
  ipc: 1,
  transport: 1,
  config: 1,
  log: 1,
  pdu: 0,
  nfs: 0,
  isns: 0,
  scsi: 0,
  contract: 0,
  version: 0,
};
const LEAVES = new Set(["pdu", "nfs", "isns", "scsi", "transport", "contract"]);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}
const layerOf = (file: string) => relative(SRC, file).split("/")[0]!.replace(/\.ts$/, "");

/** Every file of src/ (relative) and the files of ours it imports, type-only imports included. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files(SRC)) {
    const targets: string[] = [];
    for (const m of readFileSync(file, "utf8").matchAll(/from "(\.[^"]+)"/g)) {
      const target = resolve(dirname(file), m[1]!);
      if (target.startsWith(SRC + "/")) targets.push(relative(SRC, target)); // not package.json and the like
    }
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}

/** Import cycles among the files of one folder (strongly connected components of more than one file, or a self-import). */
function cyclesWithinFolders(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (dirname(w) !== dirname(v) || !graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = stack.splice(stack.indexOf(v));
    if (component.length > 1 || graph.get(v)!.includes(v)) cycles.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

function dot(graph: Map<string, string[]>): string {
  const folders = new Map<string, string[]>();
  for (const f of graph.keys()) folders.set(dirname(f), [...(folders.get(dirname(f)) ?? []), f]);
  const lines = ["digraph imports {", "  rankdir=LR; node [shape=box, fontsize=10];"];
  for (const [folder, members] of [...folders].sort()) {
    lines.push(
      `  subgraph "cluster_${folder}" { label="${folder}";`,
      ...members.sort().map((f) => `    "${f}";`),
      "  }",
    );
  }
  for (const [from, targets] of [...graph].sort())
    for (const to of [...new Set(targets)].sort()) lines.push(`  "${from}" -> "${to}";`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

const graph = importGraph();

if (process.env.LAYERING_PRINT) {
  const out = dot(graph);
  if (process.env.LAYERING_PRINT === "1") process.stdout.write(out);
  else writeFileSync(process.env.LAYERING_PRINT, out);
}

test("every import inside src/ points to the same or a lower layer; leaves import nothing of ours", () => {
  const problems: string[] = [];
  for (const [file, targets] of graph) {
    const from = layerOf(join(SRC, file));
    for (const target of targets) {
      const to = layerOf(join(SRC, target));
      if (to === from) continue;
      if (LEAVES.has(from)) problems.push(`${file} (leaf ${from}) imports ${to}`);
      else if ((RANK[to] ?? 99) > (RANK[from] ?? -1)) problems.push(`${file} (${from}) imports upward into ${to}`);
    }
  }
  expect(problems).toEqual([]);
});

test("no folder of src/ has an import cycle among its files", () => {
  expect(cyclesWithinFolders(graph).map((c) => c.join(" → "))).toEqual([]);
});

test("the cycle check finds a cycle, and the drawing names every file", () => {
  const made = new Map([
    ["a/x.ts", ["a/y.ts"]],
    ["a/y.ts", ["a/x.ts", "b/z.ts"]],
    ["b/z.ts", []],
  ]);
  expect(cyclesWithinFolders(made)).toEqual([["a/x.ts", "a/y.ts"]]);
  const drawn = dot(graph);
  for (const f of graph.keys()) expect(drawn).toContain(`"${f}"`);
});
