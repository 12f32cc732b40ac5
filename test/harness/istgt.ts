// A real istgt (the FreeBSD target) for the suite: a generated istgt.conf and auth.conf in a temp dir,
// its own loopback portal and UnitControl port, file-backed LUNs, optional CHAP / mutual CHAP, digests
// allowed; runs in the foreground (-D) and is stopped by pid.
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, listening, track, waitFor } from "./processes.ts";
import type { StartedTarget } from "./tgtd.ts";

export interface IstgtOptions {
  luns?: Array<{ sizeMiB: number }>;
  chap?: { username: string; secret: string };
  mutual?: { username: string; secret: string };
  requireMutual?: boolean;
  port?: number;
}

export async function startIstgt(opts: IstgtOptions = {}): Promise<StartedTarget> {
  const dir = mkdtempSync(join(tmpdir(), "iscsi-istgt-"));
  const port = opts.port ?? freePort();
  const control = freePort();
  const nodeBase = `iqn.2026-11.dev.iscsi.test.istgt${port}`;
  const luns = (opts.luns ?? [{ sizeMiB: 64 }]).map((l, i) => ({ lun: i, sizeBytes: l.sizeMiB << 20, path: join(dir, `lun${i}.img`) }));
  for (const l of luns) {
    const fd = openSync(l.path, "w");
    ftruncateSync(fd, l.sizeBytes);
    closeSync(fd);
  }
  // "CHAP Mutual" would refuse one-way logins; "CHAP" still answers a mutual challenge when the group has target credentials.
  const auth = opts.requireMutual ? "CHAP Mutual" : opts.chap ? "CHAP" : "Auto";
  const conf = `[Global]
  NodeBase "${nodeBase}"
  PidFile ${join(dir, "istgt.pid")}
  AuthFile ${join(dir, "auth.conf")}
  MediaDirectory ${dir}
  LogFacility "local7"
  Timeout 30
  NopInInterval 20
  DiscoveryAuthMethod Auto
  MaxSessions 16
  MaxConnections 4
  MaxR2T 32
  MaxOutstandingR2T 16
  FirstBurstLength 65536
  MaxBurstLength 262144
  MaxRecvDataSegmentLength 262144
[UnitControl]
  AuthMethod CHAP Mutual
  AuthGroup AuthGroup9999
  Portal UC1 127.0.0.1:${control}
  Netmask 127.0.0.1
[PortalGroup1]
  Portal DA1 127.0.0.1:${port}
[InitiatorGroup1]
  InitiatorName "ALL"
  Netmask 127.0.0.1/32
[LogicalUnit1]
  TargetName disk1
  Mapping PortalGroup1 InitiatorGroup1
  AuthMethod ${auth}
  AuthGroup AuthGroup1
  UseDigest Auto
  UnitType Disk
${luns.map((l) => `  LUN${l.lun} Storage ${l.path} ${l.sizeBytes >> 20}MB`).join("\n")}
`;
  const q = (s: string) => `"${s}"`;
  const authConf = `[AuthGroup1]
  Auth ${opts.chap ? q(opts.chap.username) + " " + q(opts.chap.secret) : '"nobody" "nobody-secret-unused"'}${opts.mutual ? " " + q(opts.mutual.username) + " " + q(opts.mutual.secret) : ""}
[AuthGroup9999]
  Auth "ctl" "ctl-secret-unused-0000"
`;
  writeFileSync(join(dir, "istgt.conf"), conf);
  writeFileSync(join(dir, "auth.conf"), authConf, { mode: 0o600 });

  let proc: Subprocess | undefined;
  let stderr = "";
  const launch = async () => {
    const p = Bun.spawn(["istgt", "-D", "-q", "-c", join(dir, "istgt.conf"), "-p", join(dir, "istgt.pid")], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    track(p);
    proc = p;
    void new Response(p.stderr).text().then((t) => (stderr += t));
    void new Response(p.stdout).text();
    await waitFor(() => listening(port), 10_000, () => `istgt on port ${port} did not start (exit ${p.exitCode}): ${stderr}`);
  };
  const kill9 = async () => {
    if (!proc) return;
    proc.kill("SIGKILL");
    await proc.exited;
    proc = undefined;
  };
  await launch().catch(async (err) => {
    await kill9();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    kind: "istgt",
    port,
    portal: `127.0.0.1:${port}`,
    get pid() {
      return proc?.pid ?? -1;
    },
    targets: [{ iqn: `${nodeBase}:disk1`, luns }],
    kill9,
    restart: async () => {
      await kill9();
      await launch();
    },
    stop: async () => {
      await kill9();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
