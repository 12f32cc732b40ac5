// The daemon and the full CLI as users run them, against tgtd and istgt started here: the seed commands,
// node records, login, `-m session -P 3` and --json, settings kept across rediscovery, logout, automatic nodes
// back after a daemon kill -9 while it already answers, dead and silent targets delaying nothing, CHAP secrets
// that never show up in any output, log or record.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Socket, TCPSocketListener } from "bun";
import { startIstgt, type IstgtTarget } from "../harness/istgt.ts";
import { TestDaemon, type CliResult } from "../harness/iscsid.ts";
import { freePort } from "../harness/processes.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";

const CHAP = { username: "dora", secret: "dora-secret-0123" };
const WRONG = "dora-wrong-secret-9";
const CONFIG = [
  "iscsid.startup.retry_initial = 0.2",
  "iscsid.startup.retry_max = 1",
  "node.session.initial_login_retry_max = 0",
  "",
].join("\n");

let tgt: TgtdTarget;
let chapTgt: TgtdTarget;
let ist: IstgtTarget;
let d: TestDaemon;
let silent: TCPSocketListener<undefined>;
const seen: string[] = [];

/** Runs the CLI against our daemon and keeps everything it printed for the secrets check. */
async function cli(args: string[], stdin?: string): Promise<CliResult> {
  const r = await d.cli(args, stdin === undefined ? {} : { stdin });
  seen.push(r.stdout, r.stderr);
  return r;
}
const json = async (args: string[]) => {
  const r = await cli([...args, "--json"]);
  if (r.code !== 0 && r.code !== 21) throw new Error(`${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};
const iqn = (t: { targets: Array<{ iqn: string }> }, i = 0) => t.targets[i]!.iqn;

beforeAll(async () => {
  [tgt, chapTgt, ist] = await Promise.all([
    startTgtd({ targets: 2, luns: [{ sizeMiB: 8 }] }),
    startTgtd({ luns: [{ sizeMiB: 4 }], chap: CHAP }),
    startIstgt({ luns: [{ sizeMiB: 16 }] }),
  ]);
  // A target that accepts TCP and never says a word: logins to it can only time out.
  silent = Bun.listen({
    hostname: "127.0.0.1",
    port: freePort(),
    socket: { data() {}, open(_s: Socket<undefined>) {} },
  });
  d = new TestDaemon({ config: CONFIG });
  await d.start();
});

afterAll(async () => {
  await d?.stop();
  silent?.stop(true);
  await Promise.all([tgt?.stop(), chapTgt?.stop(), ist?.stop()]);
});

describe("seed commands against tgtd", () => {
  test("-m discovery -t sendtargets records every target as a node", async () => {
    const r = await cli(["-m", "discovery", "-t", "sendtargets", "-p", tgt.portal]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").filter(Boolean).sort()).toEqual([
      `${tgt.portal},1 ${iqn(tgt, 0)}`,
      `${tgt.portal},1 ${iqn(tgt, 1)}`,
    ]);
    const { nodes } = await json(["nodes"]);
    expect(nodes.map((n: { target: string }) => n.target)).toEqual([iqn(tgt, 0), iqn(tgt, 1)]);
    expect(nodes.every((n: { startup: string }) => n.startup === "manual")).toBe(true);
    expect((await cli(["-m", "node"])).stdout).toContain(`${tgt.portal},1 ${iqn(tgt, 0)}\n`);
  });

  test("-m node -T IQN -p PORTAL --login logs in; the session lives in the daemon; a second login is exit 15", async () => {
    const r = await cli(["-m", "node", "-T", iqn(tgt), "-p", tgt.portal, "--login"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `Logging in to [iface: default, target: ${iqn(tgt)}, portal: 127.0.0.1,${tgt.port}]\nLogin to [iface: default, target: ${iqn(tgt)}, portal: 127.0.0.1,${tgt.port}] successful.\n`,
    );
    // The daemon's log says which transport its sessions use (native unless the run forces Bun's: .ci/setup builds the shim).
    expect(d.log()).toContain(
      `sessions on the ${process.env.ISCSI_TRANSPORT === "bun" ? "bun" : "native"} transport (`,
    );
    const again = await cli(["-m", "node", "-T", iqn(tgt), "-p", tgt.portal, "--login"]);
    expect(again.code).toBe(15);
    expect(again.stderr).toMatch(/already exists/);
  });

  test("-m session lists it; -P 3 shows state, negotiated parameters and LUNs; --json the same as data", async () => {
    const r = await cli(["-m", "session"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^tcp: \\[\\d+\\] 127\\.0\\.0\\.1:${tgt.port},1 ${iqn(tgt).replace(/\./g, "\\.")} \\(non-flash\\)\\n$`,
      ),
    );
    const p3 = await cli(["-m", "session", "-P", "3"]);
    for (const line of [
      `Target: ${iqn(tgt)} (non-flash)`,
      "iSCSI Connection State: LOGGED IN",
      "Negotiated iSCSI params:",
      "MaxRecvDataSegmentLength: 262144",
      "Attached SCSI devices:",
    ]) {
      expect(p3.stdout).toContain(line);
    }
    expect(p3.stdout).toMatch(
      /\t\tLun: 1 direct access block device, IET VIRTUAL-DISK .*8\.0 MiB \(512-byte blocks\)\n\t\t\tnot attached\n/,
    );
    const { sessions } = await json(["-m", "session", "-P", "3"]);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({
      target: iqn(tgt),
      state: "full-feature",
      portal: { host: "127.0.0.1", port: tgt.port },
      negotiated: { headerDigest: "None", authMethod: "None" },
    });
    expect(sessions[0].luns.find((l: { lun: number }) => l.lun === 1)).toMatchObject({
      bytes: String(8 << 20),
      blockSize: 512,
    });
    // Counters move between the two reads: the multipath path checker sends TEST UNIT READY in the background.
    const withoutStats = (l: Array<{ stats: unknown; connections: unknown }>) =>
      l.map(({ stats: _, connections: __, ...rest }) => rest);
    expect(withoutStats((await json(["sessions"])).sessions)).toEqual(withoutStats(sessions));
    expect((await cli(["-m", "session", "-r", "9999"])).code).toBe(2);
  });
});

describe("other modes", () => {
  test("-m session -R rescans and -s shows counters", async () => {
    const r = await cli(["-m", "session", "-R"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^Rescanning session \\[sid: \\d+, target: ${iqn(tgt).replace(/\./g, "\\.")}, portal: 127\\.0\\.0\\.1,${tgt.port}\\]\\n$`,
      ),
    );
    expect((await cli(["-m", "session", "-s"])).stdout).toMatch(/\tcommands: \d+\n/);
  });

  test("native discover records nodes when a daemon runs, not with --no-record", async () => {
    const recorded = await json(["discover", tgt.portal]);
    expect(recorded).toMatchObject({ recorded: true, nodes: { created: 0, unchanged: 2 } });
    expect((await json(["discover", tgt.portal, "--no-record"])).recorded).toBe(false);
  });

  test("-m discoverydb lists, shows and updates discovery records; its secret comes from stdin", async () => {
    expect((await cli(["-m", "discoverydb"])).stdout).toBe(`${tgt.portal} via sendtargets\n`);
    const db = ["-m", "discoverydb", "-t", "st", "-p", tgt.portal];
    expect((await cli([...db, "-o", "update", "-n", "discovery.sendtargets.auth.username", "-v", "disco"])).code).toBe(
      0,
    );
    expect(
      (await cli([...db, "-o", "update", "-n", "discovery.sendtargets.auth.password", "-v", CHAP.secret])).code,
    ).toBe(7);
    expect(
      (await cli([...db, "-o", "update", "-n", "discovery.sendtargets.auth.password", "--stdin"], CHAP.secret + "\n"))
        .code,
    ).toBe(0);
    const show = (await cli(db)).stdout;
    expect(show).toContain("discovery.sendtargets.auth.username = disco\n");
    expect(show).toContain("discovery.sendtargets.auth.password = ********\n");
    expect(
      (await cli([...db, "-o", "update", "-n", "discovery.sendtargets.auth.password", "--stdin"], "\n")).code,
    ).toBe(7);
    expect((await cli(["secret", "clear", "--discovery", "-p", tgt.portal])).code).toBe(0);
    expect((await cli(db)).stdout).toContain("discovery.sendtargets.auth.password = <empty>\n");
  });
});

describe("istgt, settings and rediscovery", () => {
  test("a node setting reaches the login: HeaderDigest CRC32C is negotiated with istgt", async () => {
    expect((await cli(["-m", "discovery", "-t", "st", "-p", ist.portal])).code).toBe(0);
    expect(
      (
        await cli([
          "-m",
          "node",
          "-T",
          iqn(ist),
          "-p",
          ist.portal,
          "-o",
          "update",
          "-n",
          "node.conn[0].iscsi.HeaderDigest",
          "-v",
          "CRC32C",
        ])
      ).code,
    ).toBe(0);
    expect((await cli(["login", iqn(ist), "-p", ist.portal])).code).toBe(0);
    const s = (await json(["sessions"])).sessions.find((x: { target: string }) => x.target === iqn(ist));
    expect(s.negotiated.headerDigest).toBe("CRC32C");
    expect(s.luns.find((l: { lun: number }) => l.lun === 0)).toMatchObject({ bytes: String(16 << 20) });
    expect((await cli(["-m", "session", "-r", String(s.sid), "-P", "2"])).stdout).toContain("HeaderDigest: CRC32C");
  });

  test("rerunning discovery keeps the settings the user changed", async () => {
    const node2 = ["-m", "node", "-T", iqn(tgt, 1), "-p", tgt.portal];
    expect((await cli([...node2, "-o", "update", "-n", "node.startup", "-v", "automatic"])).code).toBe(0);
    expect((await cli(["set", "node.session.queue_depth", "16", "-T", iqn(tgt, 1), "-p", tgt.portal])).code).toBe(0);
    const bad = await cli([...node2, "-o", "update", "-n", "node.startup", "-v", "sometimes"]);
    expect(bad.code).toBe(7);
    expect(bad.stderr).toMatch(/node\.startup must be one of automatic, manual, onboot/);
    const r = await json(["-m", "discovery", "-t", "st", "-p", tgt.portal]);
    expect(r.nodes).toEqual({ created: 0, updated: 0, unchanged: 2 });
    await cli(["-m", "discovery", "-t", "st", "-p", ist.portal]);
    const show = (await cli(node2)).stdout;
    expect(show).toContain("node.startup = automatic\n");
    expect(show).toContain("node.session.queue_depth = 16\n");
    const { nodes } = await json(["nodes"]);
    expect(nodes.find((n: { target: string }) => n.target === iqn(tgt, 1)).userSet).toEqual([
      "node.startup",
      "node.session.queue_depth",
    ]);
    expect(
      nodes.find((n: { target: string }) => n.target === iqn(ist)).settings["node.conn[0].iscsi.HeaderDigest"],
    ).toBe("CRC32C");
  });

  test("--logout by target and host (any port) ends only that session; again is exit 21", async () => {
    const r = await cli(["-m", "node", "-T", iqn(tgt), "-p", "127.0.0.1", "--logout"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^Logging out of session \\[sid: \\d+, target: ${iqn(tgt).replace(/\./g, "\\.")}, portal: 127\\.0\\.0\\.1,${tgt.port}\\]\\nLogout of .* successful\\.\\n$`,
      ),
    );
    expect((await json(["sessions"])).sessions.map((s: { target: string }) => s.target)).toEqual([iqn(ist)]);
    expect((await cli(["-m", "node", "-T", iqn(tgt), "-p", tgt.portal, "--logout"])).code).toBe(21);
  });
});

describe("startup logins", () => {
  const dead = "iqn.2026-11.dev.iscsi.test:dead";
  const mute = "iqn.2026-11.dev.iscsi.test:silent";

  test("after kill -9 and restart, automatic nodes come back by themselves; dead and silent targets delay nothing", async () => {
    const deadPortal = `127.0.0.1:${freePort()}`;
    const silentPortal = `127.0.0.1:${silent.port}`;
    for (const [t, p] of [
      [dead, deadPortal],
      [mute, silentPortal],
    ]) {
      expect((await cli(["-m", "node", "-o", "new", "-T", t!, "-p", p!])).code).toBe(0);
      expect((await cli(["set", "node.startup", "automatic", "-T", t!, "-p", p!])).code).toBe(0);
    }
    expect((await cli(["set", "node.conn[0].timeo.login_timeout", "30", "-T", mute, "-p", silentPortal])).code).toBe(0);
    await d.kill9();
    const started = performance.now();
    await d.start();
    const answeredMs = performance.now() - started;
    // The daemon answers while the silent target holds a login open for up to 30 s.
    const status = await json(["status"]);
    expect(status.daemon.startup.find((p: { label: string }) => p.label.startsWith(mute))?.state).toBe("trying");
    let backMs = 0;
    for (;;) {
      const { sessions } = await json(["sessions"]);
      if (
        sessions.some((s: { target: string; state: string }) => s.target === iqn(tgt, 1) && s.state === "full-feature")
      )
        break;
      backMs = performance.now() - started;
      if (backMs > 10_000) throw new Error(`automatic node not back after 10 s:\n${d.log()}`);
      await Bun.sleep(100);
    }
    backMs = performance.now() - started;
    expect(answeredMs).toBeLessThan(5000);
    expect(backMs).toBeLessThan(10_000);
    // The automatic node and only it; istgt's node was manual.
    expect((await json(["sessions"])).sessions.map((s: { target: string }) => s.target)).toEqual([iqn(tgt, 1)]);
    await Bun.sleep(800);
    const pending = (await json(["status"])).daemon.startup;
    const deadLoop = pending.find((p: { label: string }) => p.label.startsWith(dead));
    expect(deadLoop).toMatchObject({ state: "waiting", lastError: { code: "TRANSPORT" } });
    expect(deadLoop.attempts).toBeGreaterThanOrEqual(2);
    expect(d.log()).toMatch(
      new RegExp(
        `startup login ${dead.replace(/\./g, "\\.")} at ${deadPortal}: attempt 1 failed \\(TRANSPORT\\).*next attempt in \\d+\\.\\d s`,
      ),
    );
    process.stderr.write(
      `[daemon.test] restart: answered after ${answeredMs.toFixed(0)} ms, automatic node back after ${backMs.toFixed(0)} ms\n`,
    );
  });

  test("when the target dies the session shows it is recovering, and is back by itself when the target returns", async () => {
    const state = async () =>
      (await json(["sessions"])).sessions.find((s: { target: string }) => s.target === iqn(tgt, 1))?.state;
    const waitFor = async (want: (s: string | undefined) => boolean, ms: number) => {
      const until = performance.now() + ms;
      for (let s = await state(); !want(s); s = await state()) {
        if (performance.now() > until) throw new Error(`session state ${s} after ${ms} ms:\n${d.log()}`);
        await Bun.sleep(100);
      }
    };
    await tgt.kill9();
    await waitFor((s) => s === "recovering", 5000);
    const p1 = (await cli(["-m", "session", "-P", "1"])).stdout;
    expect(p1).toContain("iSCSI Connection State: TRANSPORT WAIT");
    expect(p1).toMatch(/Last Error: /);
    await tgt.restart();
    await waitFor((s) => s === "full-feature", 20_000);
  });

  test("deleting a node stops its retries; -L all logs in the rest although one target is down (exit 4)", async () => {
    expect((await cli(["-m", "node", "-T", mute, "-o", "delete"])).code).toBe(0);
    expect((await cli(["set", "node.startup", "manual", "-T", dead])).code).toBe(0);
    expect((await cli(["logout", dead])).code).toBe(21); // no session, but its retry loop ends
    expect((await json(["status"])).daemon.startup).toEqual([]);
    const t0 = performance.now();
    const r = await cli(["-m", "node", "-L", "all"]);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(r.code).toBe(4);
    expect(r.stdout).toContain(
      `Login to [iface: default, target: ${iqn(tgt)}, portal: 127.0.0.1,${tgt.port}] successful.`,
    );
    expect(r.stdout).toContain(
      `Login to [iface: default, target: ${iqn(ist)}, portal: 127.0.0.1,${ist.port}] successful.`,
    );
    expect(r.stderr).toMatch(
      new RegExp(`could not log in to \\[iface: default, target: ${dead.replace(/\./g, "\\.")}.*cannot connect`),
    );
    expect((await json(["sessions"])).sessions).toHaveLength(3);
    expect((await cli(["-m", "node", "-T", dead, "-o", "delete"])).code).toBe(0);
    const out = await cli(["-m", "node", "-U", "all"]);
    expect(out.code).toBe(0);
    expect(out.stdout.match(/successful\./g)).toHaveLength(3);
    expect((await cli(["-m", "session"])).stderr).toMatch(/No active sessions/);
  });
});

describe("CHAP secrets", () => {
  const node = () => ["-m", "node", "-T", iqn(chapTgt), "-p", chapTgt.portal];

  test("set from stdin, never from argv; login with CHAP; a wrong secret is exit 24", async () => {
    expect((await cli(["-m", "discovery", "-t", "st", "-p", chapTgt.portal])).code).toBe(0);
    expect((await cli([...node(), "-o", "update", "-n", "node.session.auth.authmethod", "-v", "CHAP"])).code).toBe(0);
    expect((await cli([...node(), "-o", "update", "-n", "node.session.auth.username", "-v", CHAP.username])).code).toBe(
      0,
    );
    const argv = await cli([...node(), "-o", "update", "-n", "node.session.auth.password", "-v", CHAP.secret]);
    expect(argv.code).toBe(7);
    expect(argv.stderr).toMatch(/visible in ps.*--stdin/);
    expect(
      (await cli([...node(), "-o", "update", "-n", "node.session.auth.password", "--stdin"], "short\n")).stderr,
    ).toMatch(/at least 12 bytes/);
    expect(
      (await cli([...node(), "-o", "update", "-n", "node.session.auth.password", "--stdin"], WRONG + "\n")).code,
    ).toBe(0);
    const wrong = await cli(["login", iqn(chapTgt), "-p", chapTgt.portal]);
    expect(wrong.code).toBe(24);
    expect((await cli(["secret", "set", "-T", iqn(chapTgt), "-p", chapTgt.portal], CHAP.secret + "\n")).code).toBe(0);
    const same = await cli(["secret", "set", "--mutual", "-T", iqn(chapTgt), "-p", chapTgt.portal], CHAP.secret);
    expect(same.code).toBe(7);
    expect(same.stderr).toMatch(/must differ/);
    expect((await cli([...node(), "--login"])).code).toBe(0);
    const s = (await json(["-m", "session", "-P", "3"])).sessions[0];
    expect(s.negotiated.authMethod).toBe("CHAP");
    expect((await cli([...node()])).stdout).toContain("node.session.auth.password = ********\n");
    expect((await json(["nodes", iqn(chapTgt), "-p", chapTgt.portal])).nodes[0].secrets).toEqual({
      password: true,
      password_in: false,
    });
    await cli(["status"]);
    await cli(["-m", "session", "-P", "3"]);
    expect((await cli(["logout", "--all"])).code).toBe(0);
  });

  test("no secret in any output, in the daemon's log, or in any state file but the 0600 secrets file", () => {
    const files = readdirSync(d.stateDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    const secretsFile = join(d.stateDir, "secrets.json");
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(secretsFile, "utf8")).toContain(CHAP.secret);
    const everything = [
      ...seen,
      d.log(),
      ...files
        .map((f) => join(f.parentPath, f.name))
        .filter((p) => p !== secretsFile)
        .map((p) => readFileSync(p, "utf8")),
    ].join("\n");
    expect(everything).toContain(CHAP.username);
    for (const secret of [CHAP.secret, WRONG]) expect(everything).not.toContain(secret);
  });
});
