// The 64-session scale run: one tgtd with 64 targets, 64 automatic nodes in one daemon. Measured and printed:
// the daemon's memory per session, its CPU use while idle with 64 sessions, and how long a daemon restart after
// SIGKILL takes until every session is back (numbers reported in docs/reliability.md). Asserted: all 64 come
// back, each logged in to its own target, and none is left failed.
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { TestDaemon } from "../harness/iscsid.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";

const N = 64;
let target: TgtdTarget | undefined;
let daemon: TestDaemon | undefined;
afterAll(async () => {
  await daemon?.stop();
  await target?.stop();
});

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
/** utime + stime of a process, in clock ticks (proc(5): fields 14 and 15). */
const cpuTicks = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
};

async function untilAllUp(d: TestDaemon, timeoutMs: number): Promise<Array<{ target: string; state: string }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await d.cli(["sessions", "--json"]);
    const sessions = r.code === 0 ? (JSON.parse(r.stdout).sessions as Array<{ target: string; state: string }>) : [];
    if (sessions.length === N && sessions.every((s) => s.state === "full-feature")) return sessions;
    if (Date.now() > deadline)
      throw new Error(`${sessions.length} of ${N} sessions up after ${timeoutMs} ms:\n${d.log().slice(-2000)}`);
    await Bun.sleep(200);
  }
}

test(`${N} automatic nodes on one tgtd: memory per session, idle CPU, and a daemon restart after SIGKILL brings all ${N} back`, async () => {
  target = await startTgtd({ targets: N, luns: [{ sizeMiB: 1 }], startTimeoutMs: 60_000 });
  daemon = new TestDaemon();
  await daemon.start();
  const ok = async (args: string[]) => {
    const r = await daemon!.cli(args);
    if (r.code !== 0) throw new Error(`iscsi ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  await ok(["-m", "discovery", "-t", "sendtargets", "-p", target.portal]);
  await ok(["-m", "node", "-o", "update", "-n", "node.startup", "-v", "automatic"]);
  const idleRss = rssKiB(daemon.pid!);
  const loginStart = performance.now();
  await ok(["-m", "node", "--loginall", "automatic"]);
  await untilAllUp(daemon, 120_000);
  const loginSeconds = (performance.now() - loginStart) / 1000;
  await Bun.sleep(2_000);
  const fullRss = rssKiB(daemon.pid!);
  const ticks0 = cpuTicks(daemon.pid!);
  await Bun.sleep(10_000);
  const idleCpu = (cpuTicks(daemon.pid!) - ticks0) / 100 / 10; // USER_HZ is 100 on Linux

  await daemon.kill9();
  const restartStart = performance.now();
  await daemon.start();
  const back = await untilAllUp(daemon, 180_000);
  const restartSeconds = (performance.now() - restartStart) / 1000;
  console.log(
    `scale: ${N} sessions; login of all ${loginSeconds.toFixed(1)} s; RSS ${Math.round(idleRss / 1024)} MiB with none, ${Math.round(fullRss / 1024)} MiB with ${N} ` +
      `(${Math.round((fullRss - idleRss) / N)} KiB per session); idle CPU ${(idleCpu * 100).toFixed(1)} % of one core; after SIGKILL all ${N} back in ${restartSeconds.toFixed(1)} s`,
  );
  expect(new Set(back.map((s) => s.target)).size).toBe(N);
  expect(new Set(back.map((s) => s.target))).toEqual(new Set(target.targets.map((t) => t.iqn)));
}, 600_000);
