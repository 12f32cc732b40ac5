// `iscsi doctor` without a portal: the host checks on this machine (root, FUSE, loop present), and each state
// of the daemon's files it can meet: missing, too open, broken, a stray file where the socket should be.
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureNativeLib } from "../harness/native.ts";
import { doctor } from "./_doctor.ts";

const ROOT = join(import.meta.dir, "../..");
const base = mkdtempSync(join(tmpdir(), "iscsi-doctor-host-"));
let n = 0;
let stateDir: string;
let socket: string;

beforeEach(() => {
  const dir = join(base, String(n++));
  mkdirSync(dir);
  stateDir = join(dir, "state");
  socket = join(dir, "iscsid.sock");
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

const host = (env: Record<string, string> = {}, extra: string[] = []) =>
  doctor(["--state-dir", stateDir, "--socket", socket, ...extra], { env });

describe("this machine", () => {
  test("root, FUSE (/dev/fuse, fusermount3) and loop devices (losetup, /dev/loop-control) are present", async () => {
    const r = await host();
    expect(r.one("host.root")).toMatchObject({ status: "ok", summary: "running as root" });
    expect(r.one("host.fuse").status).toBe("ok");
    expect(r.one("host.fuse").summary).toMatch(/^\/dev\/fuse and \S*fusermount3 present$/);
    expect(r.one("host.loop").status).toBe("ok");
    expect(r.one("host.loop").summary).toMatch(/losetup and \/dev\/loop-control present$/);
  });

  test("nothing set up yet: warnings that say the daemon creates what is missing; exit 0", async () => {
    const r = await host();
    expect(r.code).toBe(0);
    expect(r.one("host.daemon")).toMatchObject({ status: "warn" });
    expect(r.one("host.daemon").summary).toContain(`no one listens on ${socket}`);
    expect(r.one("host.state-dir")).toMatchObject({ status: "warn", summary: `${stateDir} does not exist yet` });
    expect(r.one("host.initiator-name").status).toBe("warn");
    expect(r.report.findings.every((f) => f.section === "host")).toBe(true);
  });

  test("the attach library from source: found when built, else how to build it; $ISCSI_ATTACH_LIB is checked", async () => {
    const built = existsSync(join(ROOT, "ffi/build/linux-x64/libiscsi_attach.so"));
    expect((await host()).one("host.attach-library").status).toBe(built ? "ok" : "warn");
    const missing = await host({ ISCSI_ATTACH_LIB: join(base, "nope.so") });
    expect(missing.one("host.attach-library")).toMatchObject({
      status: "warn",
      summary: `attaching LUNs is unavailable: $ISCSI_ATTACH_LIB names ${join(base, "nope.so")}, which does not exist`,
      fix: "unset ISCSI_ATTACH_LIB or point it at libiscsi_attach.so",
    });
    writeFileSync(join(base, "lib.so"), "x");
    expect((await host({ ISCSI_ATTACH_LIB: join(base, "lib.so") })).one("host.attach-library")).toMatchObject({
      status: "ok",
      summary: `$ISCSI_ATTACH_LIB names ${join(base, "lib.so")}`,
    });
  });

  test("the transport sessions use: native by default (the shim built here), Bun's when ISCSI_TRANSPORT=bun", async () => {
    ensureNativeLib();
    const native = (await host({ ISCSI_TRANSPORT: "" })).one("host.transport");
    expect(native).toMatchObject({ status: "ok", data: { transport: "native" } });
    expect(native.summary).toMatch(
      /^sessions use the native transport \(the default, and its library loads\): \S+\/ffi\/build\/linux-x64\/libiscsi_net\.so \(running from source\)$/,
    );
    const bun = (await host({ ISCSI_TRANSPORT: "bun" })).one("host.transport");
    expect(bun).toMatchObject({
      status: "ok",
      summary: "sessions use Bun's transport (ISCSI_TRANSPORT=bun)",
      data: { transport: "bun", why: "ISCSI_TRANSPORT=bun" },
    });
  });

  test("a transport sessions cannot use fails with its exit code: a missing ISCSI_NET_LIB (4), an unknown ISCSI_TRANSPORT (7)", async () => {
    const missing = await host({ ISCSI_NET_LIB: join(base, "nope-net.so") });
    expect(missing.code).toBe(4);
    expect(missing.one("host.transport")).toMatchObject({
      status: "fail",
      code: "TRANSPORT",
      fix: "unset ISCSI_NET_LIB or point it at a working libiscsi_net.so",
      summary: `sessions cannot connect: $ISCSI_NET_LIB names ${join(base, "nope-net.so")}, which does not exist: unset ISCSI_NET_LIB or point it at libiscsi_net.so`,
    });
    const unknown = await host({ ISCSI_TRANSPORT: "rdma" });
    expect(unknown.code).toBe(7);
    expect(unknown.one("host.transport")).toMatchObject({
      status: "fail",
      code: "INVALID_ARGUMENT",
      fix: "set ISCSI_TRANSPORT to one of auto, bun, native",
    });
  });
});

describe("the daemon's files", () => {
  test("a private state dir with a valid initiator name is ok, and that name is the one probes use", async () => {
    mkdirSync(stateDir, { mode: 0o700 });
    writeFileSync(join(stateDir, "initiatorname.iscsi"), "InitiatorName=iqn.2026-11.dev.iscsi:doctor-host\n");
    const r = await host({ ISCSI_INITIATOR_NAME: "" });
    expect(r.one("host.state-dir")).toMatchObject({ status: "ok", summary: `${stateDir}: mode 700, owner uid 0` });
    expect(r.one("host.initiator-name").status).toBe("ok");
    expect(r.report.initiatorName).toBe("iqn.2026-11.dev.iscsi:doctor-host");
  });

  test("a state dir others can read is a warning with the chmod to run", async () => {
    mkdirSync(stateDir);
    chmodSync(stateDir, 0o755);
    const f = (await host()).one("host.state-dir");
    expect(f).toMatchObject({ status: "warn", fix: `chmod 700 ${stateDir}` });
  });

  test("a secrets file others can read fails (exit 13): the daemon refuses it and the secrets may be known", async () => {
    mkdirSync(stateDir, { mode: 0o700 });
    writeFileSync(join(stateDir, "secrets.json"), '{"version":1,"secrets":{}}\n', { mode: 0o644 });
    chmodSync(join(stateDir, "secrets.json"), 0o644);
    const r = await host();
    expect(r.code).toBe(13);
    expect(r.one("host.secrets")).toMatchObject({ status: "fail", code: "ACCESS" });
    expect(r.one("host.secrets").fix).toContain(`chmod 600 ${join(stateDir, "secrets.json")}`);
  });

  test("a broken initiator name file fails (exit 7) with how to set a valid one", async () => {
    mkdirSync(stateDir, { mode: 0o700 });
    writeFileSync(join(stateDir, "initiatorname.iscsi"), "InitiatorName=not-an-iqn\n");
    const r = await host();
    expect(r.code).toBe(7);
    const f = r.one("host.initiator-name");
    expect([f.status, f.code]).toEqual(["fail", "CONFIG"]);
    expect(f.summary).toContain("iqn.YYYY-MM");
    expect(f.fix).toContain("iscsi initiator-name --set");
  });

  test("the config file: absent means defaults, a valid one is ok, a bad one fails (exit 7) as the daemon would", async () => {
    mkdirSync(stateDir, { mode: 0o700 });
    expect((await host()).one("host.config")).toMatchObject({
      status: "ok",
      summary: `no config file at ${join(stateDir, "iscsid.conf")}: built-in defaults`,
    });
    writeFileSync(join(stateDir, "iscsid.conf"), "node.startup = automatic\n");
    expect((await host()).one("host.config").status).toBe("ok");
    writeFileSync(join(stateDir, "iscsid.conf"), "node.startup = sometimes\n");
    const bad = await host();
    expect(bad.code).toBe(7);
    expect(bad.one("host.config")).toMatchObject({ status: "fail", code: "CONFIG" });
    expect(bad.one("host.config").summary).toContain(
      "iscsid.conf:1: node.startup: must be one of automatic, manual, onboot",
    );
  });

  test("a plain file where the socket should be: not a socket, a failure", async () => {
    writeFileSync(socket, "");
    const r = await host();
    expect(r.one("host.socket")).toMatchObject({
      status: "fail",
      summary: `${socket} exists but is not a socket`,
      code: "DAEMON_COMM",
    });
    expect(r.code).toBe(18);
  });
});

describe("arguments", () => {
  test("--target without a portal and a bad --timeout are refused with exit 7", async () => {
    const noPortal = await host({}, ["--target", "iqn.2026-11.dev.iscsi:x"]);
    expect(noPortal.code).toBe(7);
    expect(noPortal.stderr).toContain("--target needs a PORTAL");
    const badTimeout = await host({}, ["127.0.0.1:3260", "--timeout", "soon"]);
    expect(badTimeout.code).toBe(7);
    expect(badTimeout.stderr).toContain('invalid --timeout "soon"');
  });
});
