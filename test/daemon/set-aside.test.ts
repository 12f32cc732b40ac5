// Damaged state files (real daemon, tgtd, chromium): a torn node record, a damaged secrets file and attachment
// record. Doctor names each and changes nothing; the next daemon start sets them aside (renamed .corrupt-…),
// listings warn on stderr and carry them in JSON, the dashboard names them; a discovery does not recreate the
// node with defaults (its CHAP user would be lost), and the set-aside file is never overwritten.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { doctor } from "../doctor/_doctor.ts";
import { startDashboard, visit, type Dashboard } from "../ui/setup.ts";

let ui: Dashboard;
const iqn = () => ui.tgt.targets[0]!.iqn;
const TORN = '{\n  "version": 1,\n  "target": "iqn.2026-11.dev.iscsi.test:t';
let nodeFile: string;
const state = (...p: string[]) => join(ui.d.stateDir, ...p);
const jsonFiles = (dir: string) => readdirSync(state(dir)).filter((n) => n.endsWith(".json"));
const asideIn = (dir: string) => readdirSync(dir).filter((n) => n.includes(".corrupt-"));
const runDoctor = () => doctor(["--state-dir", ui.d.stateDir, "--socket", join(ui.d.dir, "none.sock")]);

beforeAll(async () => {
  ui = await startDashboard({ luns: [{ sizeMiB: 8 }] });
  expect((await ui.d.cli(["-m", "discovery", "-t", "st", "-p", ui.tgt.portal])).code).toBe(0);
  expect((await ui.d.cli(["set", "node.session.auth.username", "bob", "-T", iqn(), "-p", ui.tgt.portal])).code).toBe(0);
  expect(await ui.d.terminate()).toBe(0);
  nodeFile = state("nodes", jsonFiles("nodes")[0]!);
  writeFileSync(nodeFile, TORN);
  writeFileSync(state("secrets.json"), '{"version": 1, "secrets": {"k": "not-a-secr', { mode: 0o600 });
  writeFileSync(state("attachments", "3.json"), JSON.stringify({ version: 1, id: 3 }));
});

afterAll(async () => {
  await ui?.stop();
});

test("doctor names every damaged file with what to do, fails, and changes nothing", async () => {
  const r = await runDoctor();
  expect(r.code).toBe(6);
  const records = r.all("host.records").filter((f) => f.status === "fail");
  expect(records.map((f) => f.summary.split(" is damaged")[0]).sort()).toEqual(
    [state("attachments", "3.json"), nodeFile].sort(),
  );
  expect(records.find((f) => f.summary.startsWith(nodeFile))!.fix).toContain(
    "discovery will not recreate that node with defaults",
  );
  expect(r.one("host.secrets-file")).toMatchObject({ status: "fail", code: "NODE_DB" });
  expect(r.one("host.secrets-file").summary).toContain("is damaged: not valid JSON");
  expect(r.stdout).not.toContain("not-a-secr");
  expect(readFileSync(nodeFile, "utf8")).toBe(TORN);
  expect([...asideIn(state()), ...asideIn(state("nodes")), ...asideIn(state("attachments"))]).toEqual([]);
});

test("the daemon sets them aside at start; listings warn and carry them; discovery does not recreate the node", async () => {
  await ui.d.start();
  expect(ui.d.log()).toMatch(/node database: .* is damaged .*; set aside as /);
  expect(existsSync(nodeFile)).toBe(false);
  const [aside] = asideIn(state("nodes"));
  expect(aside).toStartWith(`${nodeFile.split("/").at(-1)}.corrupt-`);
  expect(asideIn(state())).toHaveLength(1);
  expect(asideIn(state("attachments"))).toHaveLength(1);

  const table = await ui.d.cli(["nodes"]);
  expect(table.stderr).toContain(
    `iscsi: warning: ${nodeFile} was damaged and is set aside as ${state("nodes", aside!)}`,
  );
  expect(table.stderr.match(/iscsi: warning: /g)).toHaveLength(3);
  const listed = JSON.parse((await ui.d.cli(["nodes", "--json"])).stdout);
  expect(listed.nodes).toEqual([]);
  expect(listed.quarantined.map((q: { original: string }) => q.original).sort()).toEqual(
    [nodeFile, state("attachments", "3.json"), state("secrets.json")].sort(),
  );
  expect(JSON.parse((await ui.d.cli(["status", "--json"])).stdout).daemon.quarantined).toHaveLength(3);
  expect((await ui.d.cli(["attach", "--list"])).stderr).toContain(
    `iscsi: warning: ${state("attachments", "3.json")} was damaged and is set aside as`,
  );
  const attachments = JSON.parse((await ui.d.cli(["attach", "--list", "--json"])).stdout);
  expect(attachments.attachments).toEqual([]);
  expect(attachments.quarantined.map((q: { original: string }) => q.original)).toContain(
    state("attachments", "3.json"),
  );

  const again = await ui.d.cli(["-m", "discovery", "-t", "st", "-p", ui.tgt.portal]);
  expect(again.code).toBe(0);
  expect(again.stderr).toContain(
    "1 node record(s) found by discovery are set aside as damaged and were not recreated with defaults",
  );
  expect(JSON.parse((await ui.d.cli(["nodes", "--json"])).stdout).nodes).toEqual([]);
  expect(existsSync(nodeFile)).toBe(false);
  expect(readFileSync(state("nodes", aside!), "utf8")).toBe(TORN);
  const byHand = await ui.d.cli(["-m", "node", "-o", "new", "-T", iqn(), "-p", ui.tgt.portal]);
  expect(byHand.code).toBe(6);
  expect(byHand.stderr).toContain("was damaged and set aside");
});

test("doctor then warns about each set-aside file; the dashboard names them on the nodes page", async () => {
  const r = await runDoctor();
  const aside = r.all("host.set-aside");
  expect(aside).toHaveLength(3);
  expect(aside.every((f) => f.status === "warn" && /rename it back/.test(f.fix ?? ""))).toBe(true);
  expect(r.all("host.records").filter((f) => f.status === "fail")).toEqual([]);

  await ui.page.goto(ui.url);
  await visit(ui.page, "nodes", "Nodes");
  const alert = ui.page.getByRole("alert").filter({ hasText: nodeFile });
  await alert.waitFor();
  expect(await alert.textContent()).toContain("Discovery will not recreate it with defaults");
});
