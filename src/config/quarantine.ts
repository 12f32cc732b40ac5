// Damaged state files are set aside, never overwritten or silently dropped: renamed to `<name>.corrupt-<time>`
// beside where they were, found again by a scan of the state directory for listings, `doctor` and the dashboard.
import { existsSync, readdirSync, renameSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export const QUARANTINE_MARK = ".corrupt-";

/** A file set aside: where it is now, what it was, and when. */
export interface QuarantinedFile {
  path: string;
  /** The name it had (what the daemon would have read or written). */
  original: string;
  since: string;
}

/** Renames `path` out of the way; returns the new path. The reason is for the caller's log line. */
export function quarantine(path: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const to = `${path}${QUARANTINE_MARK}${stamp}`;
  renameSync(path, to);
  return to;
}

/** Is there a quarantined copy of `path` (a record discovery must then not recreate with defaults)? */
export function isQuarantined(path: string): boolean {
  const dir = dirname(path);
  const prefix = `${basename(path)}${QUARANTINE_MARK}`;
  return existsSync(dir) && readdirSync(dir).some((n) => n.startsWith(prefix));
}

/** Every quarantined file in the state directory and its record folders, oldest first. */
export function listQuarantined(stateDir: string): QuarantinedFile[] {
  const found: QuarantinedFile[] = [];
  for (const dir of [stateDir, ...["nodes", "discovery", "attachments"].map((d) => join(stateDir, d))]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const at = name.indexOf(QUARANTINE_MARK);
      if (at <= 0) continue;
      const path = join(dir, name);
      found.push({ path, original: join(dir, name.slice(0, at)), since: statSync(path).ctime.toISOString() });
    }
  }
  return found.sort((a, b) => a.since.localeCompare(b.since));
}
