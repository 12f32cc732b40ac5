// A real tgtd for the suite: its own control port and loopback iSCSI port, targets with file-backed
// (sparse) or `null` LUNs, optional CHAP and mutual CHAP, NOP-In pings; stop, kill -9 and restart
// with the same backing files. QUIRK(tgt): tgtd ignores SIGTERM while it has targets, so we SIGKILL.
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, listening, run, track, waitFor } from "./processes.ts";

export interface TgtdOptions {
  luns?: Array<{ sizeMiB: number; null?: boolean; thin?: boolean }>;
  targets?: number;
  chap?: { username: string; secret: string };
  mutual?: { username: string; secret: string };
  /** tgtd's NOP-In interval in seconds (0 = off). */
  nopInterval?: number;
  port?: number;
}

export interface StartedTarget {
  kind: "tgtd" | "istgt";
  port: number;
  portal: string;
  pid: number;
  targets: Array<{ iqn: string; luns: Array<{ lun: number; sizeBytes: number; path?: string }> }>;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  restart(): Promise<void>;
}

let controlSeq = 100 + (process.pid % 20000);

export async function startTgtd(opts: TgtdOptions = {}): Promise<StartedTarget & { tgtadm(args: string[]): Promise<string> }> {
  const dir = mkdtempSync(join(tmpdir(), "iscsi-tgtd-"));
  const port = opts.port ?? freePort();
  const control = controlSeq++;
  const lunSpecs = opts.luns ?? [{ sizeMiB: 64 }];
  const targets = Array.from({ length: opts.targets ?? 1 }, (_, t) => ({
    iqn: `iqn.2026-11.dev.iscsi.test:tgtd-${port}-${t + 1}`,
    luns: lunSpecs.map((l, i) => ({ lun: i + 1, sizeBytes: l.sizeMiB << 20, thin: l.thin ?? false, ...(l.null ? {} : { path: join(dir, `t${t + 1}-lun${i + 1}.img`) }) })),
  }));
  for (const t of targets) {
    for (const l of t.luns) {
      if (!l.path) continue;
      const fd = openSync(l.path, "w");
      ftruncateSync(fd, l.sizeBytes);
      closeSync(fd);
    }
  }
  let proc: Subprocess | undefined;
  const tgtadm = async (args: string[]) => {
    const r = await run(["tgtadm", "-C", String(control), "--lld", "iscsi", ...args]);
    if (r.code !== 0) throw new Error(`tgtadm ${args.join(" ")}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const configure = async () => {
    for (const [i, t] of targets.entries()) {
      const tid = String(i + 1);
      await tgtadm(["--mode", "target", "--op", "new", "--tid", tid, "-T", t.iqn]);
      for (const l of t.luns) {
        const backing = l.path ? ["--backing-store", l.path] : ["--bstype", "null", "--backing-store", `null${l.lun}`];
        await tgtadm(["--mode", "logicalunit", "--op", "new", "--tid", tid, "--lun", String(l.lun), ...backing]);
        if (l.thin) await tgtadm(["--mode", "logicalunit", "--op", "update", "--tid", tid, "--lun", String(l.lun), "--params", "thin_provisioning=1"]);
      }
      await tgtadm(["--mode", "target", "--op", "bind", "--tid", tid, "-I", "ALL"]);
      // QUIRK(tgt): digests are off unless allowed per target; it then answers None even to a CRC32C-only offer.
      for (const key of ["HeaderDigest", "DataDigest"]) await tgtadm(["--mode", "target", "--op", "update", "--tid", tid, "--name", key, "--value", "CRC32C,None"]);
      if (opts.nopInterval) await tgtadm(["--mode", "target", "--op", "update", "--tid", tid, "--name", "nop_interval", "--value", String(opts.nopInterval)]);
    }
    if (opts.chap) {
      await tgtadm(["--mode", "account", "--op", "new", "--user", opts.chap.username, "--password", opts.chap.secret]);
      for (let i = 0; i < targets.length; i++) await tgtadm(["--mode", "account", "--op", "bind", "--tid", String(i + 1), "--user", opts.chap.username]);
    }
    if (opts.mutual) {
      await tgtadm(["--mode", "account", "--op", "new", "--user", opts.mutual.username, "--password", opts.mutual.secret]);
      for (let i = 0; i < targets.length; i++) await tgtadm(["--mode", "account", "--op", "bind", "--tid", String(i + 1), "--user", opts.mutual.username, "--outgoing"]);
    }
  };
  const launch = async () => {
    const p = Bun.spawn(["tgtd", "-f", "-C", String(control), "--iscsi", `portal=127.0.0.1:${port}`], { stdout: "ignore", stderr: "pipe" });
    track(p);
    proc = p;
    await waitFor(
      async () => (await run(["tgtadm", "-C", String(control), "--lld", "iscsi", "--mode", "sys", "--op", "show"])).code === 0 && (await listening(port)),
      10_000,
      async () => `tgtd on port ${port} did not start: ${p.exitCode !== null ? await new Response(p.stderr).text() : "no answer"}`,
    );
    await configure();
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
    kind: "tgtd",
    port,
    portal: `127.0.0.1:${port}`,
    get pid() {
      return proc?.pid ?? -1;
    },
    targets,
    tgtadm,
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
