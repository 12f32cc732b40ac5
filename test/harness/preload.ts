// Test-runner preload (bunfig.toml [test] preload): stops every target the run started once all files finish,
// because `bun test` fires no process "exit" event; gives the CLIs the tests spawn a private state dir, so
// standalone commands never store an initiator name in the host's /var/lib/iscsi.
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopAllTargets } from "./processes.ts";

if (!process.env.ISCSI_STATE_DIR) {
  const stateDir = mkdtempSync(join(tmpdir(), "iscsi-test-state-"));
  process.env.ISCSI_STATE_DIR = stateDir;
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));
}
afterAll(stopAllTargets);
