// The compiled linux-x64 executable as users get it, run from outside the repository against a tgtd started
// here: --version, --help, discovery (native and iscsiadm syntax), a write/read round trip, a bad argument,
// `doctor`, the embedded native transport used by default, and the daemon started from the executable serving
// `-m node --login` and `-m session --json`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { TestDaemon } from "../harness/iscsid.ts";
import { freePort } from "../harness/processes.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";
import { firstDifference, randomData } from "../interop/_util.ts";
import { buildOnce, DIST, runBinary } from "./_build.ts";

const BINARY = join(DIST, "iscsi-linux-x64");
const MiB = 1 << 20;

let t: TgtdTarget;
let dir: string;
const iscsi = (args: string[], env: Record<string, string> = {}) => runBinary(BINARY, args, env);

beforeAll(async () => {
  const [, target] = await Promise.all([buildOnce(), startTgtd({ targets: 2, luns: [{ sizeMiB: 8 }] })]);
  t = target;
  dir = mkdtempSync(join(tmpdir(), "iscsi-dist-"));
}, 300_000);

afterAll(async () => {
  await t?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the compiled executable", () => {
  test("--version prints package.json's version", async () => {
    const r = await iscsi(["--version"]);
    expect(r).toEqual({ stdout: `iscsi ${pkg.version}\n`, stderr: "", code: 0 });
  });

  test("--help lists the commands, doctor among them", async () => {
    const r = await iscsi(["--help"]);
    expect(r.code).toBe(0);
    for (const command of ["discover", "read", "write", "daemon", "doctor"]) expect(r.stdout).toContain(`\`${command}\``);
  });

  test("discover lists both targets, as a table and as JSON", async () => {
    const table = await iscsi(["discover", t.portal]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`${t.portal},1  ${t.targets[0]!.iqn}\n`);
    const json = await iscsi(["discover", t.portal, "--json"]);
    expect(JSON.parse(json.stdout).targets.map((x: { name: string }) => x.name)).toEqual(t.targets.map((x) => x.iqn));
  });

  test("iscsiadm's -m discovery without a daemon lists the targets and records nothing", async () => {
    const r = await iscsi(["-m", "discovery", "-t", "sendtargets", "-p", t.portal]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").filter(Boolean).sort()).toEqual(t.targets.map((x) => `${t.portal},1 ${x.iqn}`).sort());
    expect(r.stderr).toMatch(/not recorded|no daemon|not running/i);
  });

  test("4 MiB written with `write` read back by `read` are identical", async () => {
    const data = randomData(4 * MiB);
    const input = join(dir, "in.bin");
    const output = join(dir, "out.bin");
    writeFileSync(input, data);
    const url = `iscsi://${t.portal}/${t.targets[1]!.iqn}/1`;
    const w = await iscsi(["write", url, "-i", input, "--offset", "1M", "--json"]);
    expect(w.code).toBe(0);
    expect(JSON.parse(w.stdout).bytes).toBe(4 * MiB);
    const r = await iscsi(["read", url, "-o", output, "--offset", "1M", "--length", "4M"]);
    expect(r.code).toBe(0);
    expect(firstDifference(new Uint8Array(readFileSync(output)), data)).toBe(-1);
  });

  test("a bad argument is named on stderr with exit code 7", async () => {
    const r = await iscsi(["read", `iscsi://${t.portal}/${t.targets[0]!.iqn}/1`, "-o", join(dir, "x"), "--length", "12Q"]);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`invalid length "12Q"`);
    expect(r.stdout).toBe("");
  });

  test("doctor probes the local tgtd: reachable, both targets log in, nothing fails", async () => {
    const r = await iscsi(["doctor", t.portal, "--json", "--nop-wait", "0", "--state-dir", join(dir, "no-state")]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.version).toBe(pkg.version);
    const logins = report.findings.filter((f: { check: string }) => f.check === "target.login");
    expect(logins.map((f: { status: string; section: string }) => [f.section, f.status])).toEqual(t.targets.map((x) => [`target ${x.iqn}`, "ok"]));
    expect(report.counts.fail).toBe(0);
  });

  test("sessions run on the native transport from the embedded shim; ISCSI_TRANSPORT=bun still picks Bun's", async () => {
    const url = `iscsi://${t.portal}/${t.targets[1]!.iqn}/1`;
    const bench = (env: Record<string, string>) => iscsi(["bench", url, "--rw", "read", "--bs", "1M", "--qd", "4", "--bytes", "8M", "--warmup", "0", "--json"], env);
    const native = await bench({ ISCSI_TRANSPORT: "" });
    expect(native.code).toBe(0);
    expect(JSON.parse(native.stdout).target.transport).toBe("native");
    expect(JSON.parse(native.stdout).results[0].bytes).toBe(8 * MiB);
    const bun = await bench({ ISCSI_TRANSPORT: "bun" });
    expect(JSON.parse(bun.stdout).target.transport).toBe("bun");
    const doctor = await iscsi(["doctor", "--json", "--state-dir", join(dir, "no-state")], { ISCSI_TRANSPORT: "" });
    const found = JSON.parse(doctor.stdout).findings.find((f: { check: string }) => f.check === "host.transport");
    expect(found).toMatchObject({ status: "ok", data: { transport: "native" } });
    expect(found.summary).toMatch(/^sessions use the native transport \(the default, and its library loads\): libiscsi_net\.so \(\d+ bytes\) is embedded in this executable$/);
  });

  test("doctor against a closed port says unreachable and exits 4", async () => {
    const r = await iscsi(["doctor", `127.0.0.1:${freePort()}`, "--state-dir", join(dir, "no-state")]);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/fail\s+tcp\s+127\.0\.0\.1:\d+ is unreachable: the host answered, but nothing listens/);
  });
});

describe("the daemon started from the executable", () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = new TestDaemon({ command: [BINARY] });
    await d.start();
  });
  afterAll(async () => {
    await d?.stop();
  });

  test("-m discovery records nodes, -m node --login logs in, -m session --json shows the session", async () => {
    const disc = await d.cli(["-m", "discovery", "-t", "st", "-p", t.portal]);
    expect(disc.code).toBe(0);
    const iqn = t.targets[0]!.iqn;
    const login = await d.cli(["-m", "node", "-T", iqn, "-p", t.portal, "--login"]);
    expect(login.stdout).toContain(`Login to [iface: default, target: ${iqn}, portal: 127.0.0.1,${t.port}] successful.`);
    const sessions = await d.cli(["-m", "session", "--json"]);
    expect(sessions.code).toBe(0);
    const [s] = JSON.parse(sessions.stdout).sessions;
    expect([s.target, s.state, s.portal]).toEqual([iqn, "full-feature", { host: "127.0.0.1", port: t.port }]);
    const status = await d.cli(["status", "--json"]);
    expect(JSON.parse(status.stdout).daemon.version).toBe(pkg.version);
    const logout = await d.cli(["-m", "node", "-T", iqn, "-p", t.portal, "--logout"]);
    expect(logout.code).toBe(0);
  });

  test("doctor finds the daemon running on its socket, same version, socket mode 600", async () => {
    const r = await d.cli(["doctor", "--json", "--state-dir", d.stateDir, "--socket", d.socket]);
    const findings = JSON.parse(r.stdout).findings as Array<{ check: string; status: string; summary: string }>;
    const byCheck = Object.fromEntries(findings.map((f) => [f.check, f]));
    expect(byCheck["host.daemon"]!.status).toBe("ok");
    expect(byCheck["host.daemon"]!.summary).toMatch(/^running \(pid \d+/);
    expect(byCheck["host.socket"]!.summary).toContain("mode 600");
    expect(byCheck["host.initiator-name"]!.status).toBe("ok");
  });
});
