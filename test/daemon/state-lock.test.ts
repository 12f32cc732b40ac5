// One daemon per state directory (real tgtd): a second daemon on the same state directory, even with its own
// socket, exits at once naming the pid that holds the lock, and never logs in (it would throw the first one's
// sessions out, same ISIDs); the first keeps its session. Session log tags carry the sid. A lock left by a
// SIGKILLed daemon is taken over.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { MAIN, TestDaemon } from "../harness/iscsid.ts";
import { withParentDeathSignal } from "../harness/processes.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";

let t: TgtdTarget;
let d: TestDaemon;
const iqn = () => t.targets[0]!.iqn;

async function sessions(): Promise<Array<{ sid: number; state: string; stats: Record<string, number> }>> {
  return JSON.parse((await d.cli(["sessions", "--json"])).stdout).sessions;
}

beforeAll(async () => {
  t = await startTgtd({ luns: [{ sizeMiB: 8 }] });
  // Automatic, so a second daemon that got past the lock would log in at once and reinstate the session.
  d = new TestDaemon({ config: "node.startup = automatic\n" });
  await d.start();
  expect((await d.cli(["-m", "discovery", "-t", "sendtargets", "-p", t.portal])).code).toBe(0);
  expect((await d.cli(["login", iqn()])).code).toBe(0);
});

afterAll(async () => {
  await d?.stop();
  await t?.stop();
});

test("a second daemon on the same state directory exits non-zero within 10 s naming the holder; the first keeps its session", async () => {
  const [before] = await sessions();
  expect(before).toMatchObject({ sid: 1, state: "full-feature" });
  const started = Date.now();
  const p = Bun.spawn(
    withParentDeathSignal([
      process.execPath,
      MAIN,
      "daemon",
      "--state-dir",
      d.stateDir,
      "--socket",
      join(d.dir, "second.sock"),
      "--no-ui",
    ]),
    {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ISCSI_CONFIG: d.configPath },
    },
  );
  const timer = setTimeout(() => p.kill("SIGKILL"), 10_000);
  const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  expect(p.signalCode).toBeNull();
  expect(code).toBe(28);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(stderr).toContain(`state directory ${d.stateDir} is in use by another daemon (pid ${d.pid})`);
  // Still the same session, never reinstated by another login.
  await Bun.sleep(1000);
  const [after] = await sessions();
  expect(after).toMatchObject({ sid: 1, state: "full-feature" });
  expect(d.log()).not.toMatch(/session 1 .*(lost|failed)/);
});

test("log tags name the session by the number users see (the discovery session before it does not shift it)", async () => {
  expect((await d.cli(["logout", iqn()])).code).toBe(0);
  expect(d.log()).toMatch(/\[s1:c0\].*full-feature → logging-out/);
  expect(d.log()).not.toMatch(/\[s2:c0\]/);
  expect(d.log()).toContain(`session 1: logged out of ${iqn()}`);
});

test("a lock left by a SIGKILLed daemon is taken over by the next one", async () => {
  await d.kill9();
  await d.start();
  expect(JSON.parse((await d.cli(["status", "--json"])).stdout).daemon.pid).toBe(d.pid);
});
