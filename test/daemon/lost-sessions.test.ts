// A session the engine's recovery gave up on: an automatic node goes back to background logins, a manual
// node's session stays listed as failed.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSettings } from "../../src/config/node-settings.ts";
import { Daemon } from "../../src/daemon/daemon.ts";
import type { EngineSession } from "../../src/daemon/engine.ts";
import { nodeKey } from "../../src/daemon/node-db.ts";
import { setLogLevel } from "../../src/log.ts";
import { freePort } from "../harness/processes.ts";

const dir = mkdtempSync(join(tmpdir(), "iscsi-lost-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function failedSession(): EngineSession & { closed: boolean } {
  return {
    id: 1,
    closed: false,
    portal: { host: "127.0.0.1", port: 1 },
    stats: {},
    state: { kind: "failed", error: new Error("reinstatement refused") },
    negotiated: {} as EngineSession["negotiated"],
    async logout() {},
    close() {
      this.closed = true;
    },
  };
}

setLogLevel(0);

test("a failed session of an automatic node is dropped and retried in the background; a manual one stays", async () => {
  const d = Daemon.open({ stateDir: join(dir, "state"), configPath: join(dir, "none.conf") });
  const auto = { target: "iqn.2026-11.dev.iscsi.test:auto", portal: { host: "127.0.0.1", port: freePort() } };
  const manual = { target: "iqn.2026-11.dev.iscsi.test:manual", portal: { host: "127.0.0.1", port: freePort() } };
  d.nodes.create(auto.target, auto.portal, 1, { ...defaultSettings(), "node.startup": "automatic" });
  d.nodes.create(manual.target, manual.portal, 1, defaultSettings());
  const sessions = [failedSession(), failedSession()];
  for (const [i, n] of [auto, manual].entries()) {
    await d.registry.login(
      nodeKey(n.target, n.portal),
      { ...n, tpgt: 1, isid: 1, initiatorName: "iqn.2026-11.dev.iscsi:t" },
      async () => sessions[i]!,
    );
  }
  d.restartLostSessions();
  expect(d.registry.list().map((e) => e.target)).toEqual([manual.target]);
  expect(sessions.map((s) => s.closed)).toEqual([true, false]);
  expect(d.startup.pending().map((p) => p.key)).toEqual([nodeKey(auto.target, auto.portal)]);
  await d.stop();
  setLogLevel(2);
});
