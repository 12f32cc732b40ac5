// Doctor's look at the daemon's stored files, changing nothing: a damaged secrets file or record (node,
// discovery, attachment) the daemon will set aside at its next start, files it already set aside, and what a
// killed daemon left mounted.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { createConsola } from "consola";
import { listQuarantined } from "../config/quarantine.ts";
import type { DamagedFile } from "../config/record-files.ts";
import { FileSecretStore } from "../config/secrets.ts";
import { AttachmentDb } from "../daemon/attachment-db.ts";
import { DiscoveryDb } from "../daemon/discovery-db.ts";
import { NodeDb } from "../daemon/node-db.ts";
import type { Findings } from "./finding.ts";

const WHAT_TO_DO: Record<string, string> = {
  nodes: "discovery will not recreate that node with defaults while it is set aside (its CHAP settings would be lost)",
  discovery: "discovery at that portal is refused while it is set aside (its CHAP settings would be lost)",
  attachments: "that attachment is not restored",
};

const folderOf = (path: string) => path.split("/").at(-2) ?? "";

/** Every check here needs read access to the state dir; without it (not root) host.state-dir has said so. */
export function stateFiles(f: Findings, stateDir: string): void {
  if (!existsSync(stateDir)) return;
  const quiet = createConsola({ level: -999 });
  const damaged: DamagedFile[] = [];
  const dbs = {
    nodes: new NodeDb(stateDir, quiet),
    discovery: new DiscoveryDb(stateDir, quiet),
    attachments: new AttachmentDb(stateDir, quiet),
  };
  for (const [folder, db] of Object.entries(dbs)) {
    // load() would create a missing folder: doctor creates nothing.
    if (!existsSync(join(stateDir, folder))) continue;
    try {
      damaged.push(...db.load({ setAside: false }));
    } catch {
      return;
    }
  }
  for (const d of damaged) {
    f.fail(
      "host.records",
      `${d.path} is damaged: ${d.problem}`,
      `the daemon sets it aside at its next start and ${WHAT_TO_DO[folderOf(d.path)] ?? "it is not used"}; repair it now (stop the daemon first), or delete it`,
      "NODE_DB",
    );
  }
  const secrets = new FileSecretStore(join(stateDir, "secrets.json"));
  const problem = existsSync(secrets.path) ? secrets.problem() : undefined;
  if (problem?.damaged) {
    f.fail(
      "host.secrets-file",
      problem.message,
      "the daemon sets it aside at its next start; CHAP logins fail until the secrets are set again (`iscsi secret set`) or a backup is restored",
      "NODE_DB",
    );
  }
  const setAside = listQuarantined(stateDir);
  for (const q of setAside) {
    const folder = folderOf(q.original);
    const consequence =
      WHAT_TO_DO[folder] ??
      (q.original.endsWith("secrets.json") ? "CHAP secrets stored in it are not used" : "it is not used");
    f.warn(
      "host.set-aside",
      `${q.original} was damaged and set aside as ${q.path} (${q.since}); ${consequence}`,
      `look at ${q.path}: repair it and rename it back to ${q.original} with the daemon stopped, or delete it to start that record afresh`,
    );
  }
  if (damaged.length === 0 && !problem?.damaged && setAside.length === 0)
    f.ok("host.records", `the records in ${stateDir} are all readable`);
}

/** Linux: FUSE mounts of a killed daemon (they answer ENOTCONN) and the loop devices and mounts on them. */
export async function deadAttachments(f: Findings, stateDir: string): Promise<void> {
  if (process.platform !== "linux") return;
  const { findLeftovers } = await import("../attach/leftovers.ts");
  const found = findLeftovers(join(stateDir, "attach"));
  const dead = found.fuse.filter((m) => {
    try {
      statSync(m);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "ENOTCONN";
    }
  });
  if (dead.length === 0) return;
  const what = [
    ...found.mounts.map((m) => `mount ${m}`),
    ...found.loops.map((l) => `loop device ${l.device}`),
    ...dead.map((m) => `FUSE mount ${m}`),
  ];
  f.warn(
    "host.dead-attachments",
    `a killed daemon left ${what.join(", ")}: their disk no longer answers (I/O errors)`,
    "start the daemon (`sudo iscsi daemon` or the service): it removes them first, then restores each attachment at the same place",
  );
}
