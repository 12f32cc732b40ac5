// `iscsi doctor PORTAL` against real tgtd: a plain target with digests allowed and NOP-In pings, one with
// digests refused, one with CHAP (no secret, wrong secret, right secret, secrets from the daemon's node record),
// one whose ACL allows another initiator name, and a closed port; each gives the findings a user needs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeTarget } from "../fake/target.ts";
import { TestDaemon } from "../harness/iscsid.ts";
import { freePort } from "../harness/processes.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";
import { doctor } from "./_doctor.ts";

const CHAP = { username: "erin", secret: "erin-secret-0123" };
const MUTUAL = { username: "nas-erin", secret: "nas-erin-secret-45" };
const WRONG = "erin-wrong-secret-9";
const ALLOWED = "iqn.2026-11.dev.iscsi:doctor-allowed";
const OTHER = "iqn.2026-11.dev.iscsi:doctor-other";

let plain: TgtdTarget;
let noDigests: TgtdTarget;
let chap: TgtdTarget;
let acl: TgtdTarget;
let mutual: TgtdTarget;
let dir: string;

beforeAll(async () => {
  [plain, noDigests, chap, acl, mutual] = await Promise.all([
    startTgtd({ luns: [{ sizeMiB: 4 }], nopInterval: 1, nopCount: 3 }),
    startTgtd({ luns: [{ sizeMiB: 4 }], params: { HeaderDigest: "None", DataDigest: "None" } }),
    startTgtd({ luns: [{ sizeMiB: 4 }], chap: CHAP, targets: 2 }),
    startTgtd({ luns: [{ sizeMiB: 4 }] }),
    startTgtd({ luns: [{ sizeMiB: 4 }], chap: CHAP, mutual: MUTUAL }),
  ]);
  // Only ALLOWED may see and use the ACL target (tgt's ACL by initiator name).
  await acl.tgtadm(["--mode", "target", "--op", "unbind", "--tid", "1", "--initiator-address", "ALL"]);
  await acl.tgtadm(["--mode", "target", "--op", "bind", "--tid", "1", "--initiator-name", ALLOWED]);
  dir = mkdtempSync(join(tmpdir(), "iscsi-doctor-"));
});

afterAll(async () => {
  await Promise.all([plain?.stop(), noDigests?.stop(), chap?.stop(), acl?.stop(), mutual?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("a target without CHAP", () => {
  test("reachable, lists its target, logs in with CRC32C digests, LUNs, NOP-Out answered, NOP-In pings seen; exit 0", async () => {
    const r = await doctor([plain.portal, "--nop-wait", "2.5"]);
    expect(r.code).toBe(0);
    expect(r.one("portal.tcp").status).toBe("ok");
    expect(r.one("portal.sendtargets").data!.targets.map((t: { name: string }) => t.name)).toEqual([
      plain.targets[0]!.iqn,
    ]);
    const login = r.one("target.login");
    expect([login.status, login.section]).toEqual(["ok", `target ${plain.targets[0]!.iqn}`]);
    expect(login.data!.negotiated).toMatchObject({
      authMethod: "None",
      headerDigest: true,
      dataDigest: true,
      maxXmitDataSegmentLength: 8192,
    });
    expect(r.one("target.digests")).toMatchObject({
      status: "ok",
      summary: "the target accepts CRC32C header and data digests (REPORT LUNS and INQUIRY ran with them on)",
    });
    expect(r.one("target.luns").summary).toContain("LUN 1 direct access block device 4.0 MiB");
    expect(r.one("target.nop-out").status).toBe("ok");
    expect(r.one("target.nop-in").data!.nopIn).toBeGreaterThanOrEqual(1);
    expect(r.one("target.chap").summary).toBe(
      "the target does not use CHAP for this target (it answered AuthMethod=Reject to an offer of CHAP)",
    );
    expect(r.report.counts.fail).toBe(0);
  }, 30_000);

  test("the human report: one line per finding under its section, then the counts", async () => {
    const r = await doctor([plain.portal, "--nop-wait", "0"], { human: true });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`\\nportal ${plain.portal.replace(/\./g, "\\.")}\\n  ok    tcp +TCP connect to`),
    );
    expect(r.stdout).toContain(`\ntarget ${plain.targets[0]!.iqn}\n  ok    login`);
    expect(r.stdout).toMatch(/\n\d+ ok, \d+ warning\(s\), 0 failed\n$/);
  });

  test("a target that refuses digests: the login still works and the finding says to keep None", async () => {
    const r = await doctor([noDigests.portal, "--nop-wait", "1"]);
    expect(r.code).toBe(0);
    expect(r.one("target.login").data!.negotiated).toMatchObject({ headerDigest: false, dataDigest: false });
    const digests = r.one("target.digests");
    expect(digests.status).toBe("ok");
    expect(digests.summary).toContain("does not do CRC32C header and data digests");
    expect(digests.data).toEqual({ headerDigest: "None", dataDigest: "None" });
    expect(r.one("target.nop-in").data!.nopIn).toBe(0);
  });
});

describe("a target with CHAP", () => {
  const iqn = () => chap.targets[0]!.iqn;

  test("without credentials: the login fails saying CHAP is required and how to store it; algorithms listed; exit 24", async () => {
    const r = await doctor([chap.portal, "--target", iqn(), "--nop-wait", "0"]);
    expect(r.code).toBe(24);
    const login = r.one("target.login");
    expect([login.status, login.code]).toEqual(["fail", "AUTH_FAILED"]);
    expect(login.summary).toContain("requires authentication (CHAP)");
    expect(login.fix).toContain(`iscsi secret set -T ${iqn()} -p ${chap.portal}`);
    const algorithms = r.one("target.chap");
    expect(algorithms.data).toMatchObject({
      accepted: ["MD5", "SHA-256"],
      refused: ["SHA-1", "SHA3-256"],
      verified: {},
    });
    expect(r.stderr).toMatch(/^iscsi: 1 check\(s\) failed; first: the target requires authentication/);
  });

  test("a wrong secret: the target refused our CHAP response; the secret shows up nowhere", async () => {
    const r = await doctor([chap.portal, "-T", iqn(), "--chap-user", CHAP.username, "--nop-wait", "0"], {
      env: { ISCSI_CHAP_SECRET: WRONG },
    });
    expect(r.code).toBe(24);
    expect(r.one("target.login").summary).toContain("the target refused our CHAP response");
    const algorithms = r.one("target.chap");
    expect(algorithms.status).toBe("warn");
    expect(algorithms.summary).toContain("none of them logs in with our credentials");
    expect(r.stdout + r.stderr).not.toContain(WRONG);
  });

  test("the right secret from a file: logged in; tgt's SHA-256 that only MD5 survives is pointed out", async () => {
    const file = join(dir, "secret");
    writeFileSync(file, CHAP.secret + "\n", { mode: 0o600 });
    const r = await doctor([
      chap.portal,
      "-T",
      iqn(),
      "--chap-user",
      CHAP.username,
      "--chap-secret-file",
      file,
      "--nop-wait",
      "0",
    ]);
    expect(r.code).toBe(0);
    expect(r.one("target.login").data!.negotiated).toMatchObject({ authMethod: "CHAP", chapAlgorithm: 5 });
    const algorithms = r.one("target.chap");
    expect(algorithms.status).toBe("warn");
    expect(algorithms.data!.verified.MD5).toBe("works");
    expect(algorithms.data!.verified["SHA-256"]).toContain("target refused the login");
    expect(algorithms.fix).toContain("-n node.session.auth.chap_algs -v MD5");
    expect(r.stdout).not.toContain(CHAP.secret);
  });

  test("mutual CHAP: the right target secret logs in; a wrong one says the target did not prove itself", async () => {
    const args = [mutual.portal, "--chap-user", CHAP.username, "--mutual-user", MUTUAL.username, "--nop-wait", "0"];
    const ok = await doctor(args, { env: { ISCSI_CHAP_SECRET: CHAP.secret, ISCSI_MUTUAL_SECRET: MUTUAL.secret } });
    expect(ok.code).toBe(0);
    expect(ok.one("target.credentials").summary).toBe(
      `CHAP as ${CHAP.username} (--chap-user), mutual with ${MUTUAL.username}`,
    );
    const bad = await doctor(args, {
      env: { ISCSI_CHAP_SECRET: CHAP.secret, ISCSI_MUTUAL_SECRET: "nas-erin-wrong-secret" },
    });
    expect(bad.code).toBe(24);
    const login = bad.one("target.login");
    expect(login.summary).toContain("mutual CHAP failed");
    expect(login.summary).toContain("target failed mutual CHAP: wrong CHAP_R");
    expect(login.fix).toContain("username_in and password_in");
    expect(bad.stdout + bad.stderr).not.toContain("nas-erin-wrong-secret");
  });

  describe("with the daemon's node records", () => {
    let d: TestDaemon;
    beforeAll(async () => {
      // A refused login fails at once instead of being retried (the digest test logs in through the daemon).
      d = new TestDaemon({ config: "node.session.initial_login_retry_max = 0\n" });
      await d.start();
      expect((await d.cli(["-m", "discovery", "-t", "st", "-p", chap.portal])).code).toBe(0);
      for (const t of chap.targets) {
        for (const [name, value] of [
          ["node.session.auth.authmethod", "CHAP"],
          ["node.session.auth.username", CHAP.username],
        ]) {
          expect(
            (await d.cli(["-m", "node", "-T", t.iqn, "-p", chap.portal, "-o", "update", "-n", name!, "-v", value!]))
              .code,
          ).toBe(0);
        }
      }
      // Only the first target gets its secret; the second is a record that says CHAP without one.
      expect((await d.cli(["secret", "set", "-T", iqn(), "-p", chap.portal], { stdin: CHAP.secret + "\n" })).code).toBe(
        0,
      );
    });
    afterAll(async () => {
      await d?.stop();
    });

    const run = (args: string[]) =>
      doctor([chap.portal, ...args, "--nop-wait", "0", "--state-dir", d.stateDir, "--socket", d.socket]);

    test("probes as the daemon's initiator name with the stored CHAP secret", async () => {
      const r = await run(["-T", iqn()]);
      expect(r.code).toBe(0);
      const name = JSON.parse((await d.cli(["initiator-name", "--json"])).stdout).initiatorName;
      expect(r.report.initiatorName).toBe(name);
      expect(r.one("host.daemon").status).toBe("ok");
      expect(r.one("target.credentials").summary).toBe(`CHAP as ${CHAP.username} (node record ${chap.portal})`);
      expect(r.one("target.login").data!.negotiated.authMethod).toBe("CHAP");
    });

    test("a record set to CHAP without a stored secret is named, and the login explains what is missing", async () => {
      const r = await run(["-T", chap.targets[1]!.iqn]);
      expect(r.code).toBe(24);
      expect(r.one("target.node-record").summary).toContain("authmethod is CHAP but no password is stored");
      expect(r.one("target.login").summary).toContain("no CHAP credentials");
    });

    test("a node that requires CRC32C on a target that refuses digests: the daemon's login would fail, exit 5", async () => {
      expect((await d.cli(["-m", "discovery", "-t", "st", "-p", noDigests.portal])).code).toBe(0);
      const iqnNd = noDigests.targets[0]!.iqn;
      expect(
        (
          await d.cli([
            "-m",
            "node",
            "-T",
            iqnNd,
            "-p",
            noDigests.portal,
            "-o",
            "update",
            "-n",
            "node.conn[0].iscsi.HeaderDigest",
            "-v",
            "CRC32C",
          ])
        ).code,
      ).toBe(0);
      const r = await doctor([noDigests.portal, "--nop-wait", "0", "--state-dir", d.stateDir, "--socket", d.socket]);
      expect(r.code).toBe(5);
      const digests = r.one("target.digests");
      expect([digests.status, digests.code]).toEqual(["fail", "LOGIN"]);
      expect(digests.summary).toContain("this node requires CRC32C: the daemon's login will fail");
      expect((await d.cli(["-m", "node", "-T", iqnNd, "-p", noDigests.portal, "--login"])).code).not.toBe(0);
    });

    test("a wrong stored secret fails the login as a CHAP mismatch", async () => {
      expect((await d.cli(["secret", "set", "-T", iqn(), "-p", chap.portal], { stdin: WRONG + "\n" })).code).toBe(0);
      const r = await run(["-T", iqn()]);
      expect(r.code).toBe(24);
      expect(r.one("target.login").summary).toContain("the target refused our CHAP response");
      expect(r.one("target.login").fix).toContain(`iscsi secret set -T ${iqn()} -p ${chap.portal}`);
      expect(r.stdout + r.stderr).not.toContain(WRONG);
    });
  });
});

describe("ACL and reachability", () => {
  test("an initiator name the ACL does not allow: SendTargets lists nothing, the login says not found or hidden; exit 19", async () => {
    const r = await doctor([acl.portal, "-T", acl.targets[0]!.iqn, "--initiator-name", OTHER, "--nop-wait", "0"]);
    expect(r.code).toBe(19);
    expect(r.one("portal.sendtargets")).toMatchObject({
      status: "warn",
      summary: `SendTargets lists no targets for ${OTHER}`,
    });
    const login = r.one("target.login");
    expect(login.summary).toContain(`or hides it from initiator ${OTHER}`);
    expect(login.fix).toContain(`ACL allows ${OTHER}`);
    expect(r.all("target.chap")).toEqual([]);
  });

  test("the allowed initiator name logs in", async () => {
    const r = await doctor([acl.portal, "--initiator-name", ALLOWED, "--nop-wait", "0"]);
    expect(r.code).toBe(0);
    expect(r.report.initiatorName).toBe(ALLOWED);
    expect(r.one("target.login").status).toBe("ok");
  });

  test("a portal the targets advertise that cannot be reached is named, with the portal to log in through", async () => {
    const closed = freePort();
    // A scripted target whose SendTargets lists only an address nobody listens on, and which refuses normal logins.
    const fake = FakeTarget.listen({
      sendTargets: [
        ["TargetName", "iqn.2026-11.dev.iscsi.test:elsewhere"],
        ["TargetAddress", `127.0.0.1:${closed},1`],
      ],
      loginTamper: ({ res, pairs }) => {
        if (pairs.some(([k]) => k === "TargetPortalGroupTag"))
          Object.assign(res, { statusClass: 2, statusDetail: 3, transit: false, nsg: 0 });
      },
    });
    try {
      const r = await doctor([`127.0.0.1:${fake.port}`, "--nop-wait", "0", "--timeout", "3"]);
      const advertised = r.one("portal.advertised");
      expect(advertised.status).toBe("warn");
      expect(advertised.summary).toContain(
        `the targets also advertise 127.0.0.1:${closed}, which is unreachable from here`,
      );
      expect(advertised.fix).toContain(`(\`-p 127.0.0.1:${fake.port}\`)`);
      expect(r.one("target.login").code).toBe("LOGIN_FATAL");
    } finally {
      fake.stop();
    }
  });

  test("a closed port: one plain unreachable finding, nothing probed after it, exit 4", async () => {
    const port = freePort();
    const r = await doctor([`127.0.0.1:${port}`]);
    expect(r.code).toBe(4);
    expect(r.one("portal.tcp")).toMatchObject({
      status: "fail",
      code: "TRANSPORT",
      summary: `127.0.0.1:${port} is unreachable: the host answered, but nothing listens on port ${port} (connection refused)`,
    });
    expect(r.report.findings.filter((f) => f.section !== "host").map((f) => f.check)).toEqual(["portal.tcp"]);
  });

  test("a name that does not resolve is said to be one", async () => {
    const r = await doctor(["no-such-host.invalid:3260", "--timeout", "3"]);
    expect(r.code).toBe(4);
    expect(r.one("portal.tcp").summary).toBe(
      "no-such-host.invalid:3260 is unreachable: the name no-such-host.invalid does not resolve",
    );
  });
});
