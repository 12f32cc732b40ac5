// A throwaway tgtd on loopback for `iscsi demo` (and `iscsi bench` without a target): its own control
// port and iSCSI port, one target with one LUN backed by a sparse file (or tgt's `null` store), stopped
// by pid. QUIRK(tgt): tgtd ignores SIGTERM while it has targets, so stop() deletes them first, then kills.
import { mkdtempSync, rmSync, closeSync, openSync, ftruncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IscsiError } from "../contract/errors.ts";

export interface LocalTgtd {
  port: number;
  portal: string;
  iqn: string;
  lun: number;
  pid: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

function which(cmd: string): string | undefined {
  return Bun.which(cmd, { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` }) ?? undefined;
}

async function tgtadm(bin: string, control: number, args: string[]): Promise<void> {
  const p = Bun.spawn([bin, "-C", String(control), "--lld", "iscsi", ...args], { stdout: "pipe", stderr: "pipe" });
  const code = await p.exited;
  if (code !== 0)
    throw new IscsiError("GENERIC", `tgtadm ${args.join(" ")} failed: ${(await new Response(p.stderr).text()).trim()}`);
}

/** Start tgtd with one target and LUN 1 of `sizeBytes` (file-backed unless `nullBacking`). */
export async function startLocalTgtd(opts: {
  sizeBytes: number;
  nullBacking?: boolean;
  iqn?: string;
}): Promise<LocalTgtd> {
  const tgtd = which("tgtd");
  const adm = which("tgtadm");
  if (!tgtd || !adm)
    throw new IscsiError("NOT_FOUND", "tgtd/tgtadm not found: install the Debian package `tgt` (apt-get install tgt)");
  const dir = mkdtempSync(join(tmpdir(), "iscsi-demo-"));
  const image = join(dir, "lun1.img");
  if (!opts.nullBacking) {
    const fd = openSync(image, "w");
    ftruncateSync(fd, opts.sizeBytes);
    closeSync(fd);
  }
  const port = await freePort();
  // tgtd's control channel is a Unix socket /var/run/tgtd/socket.N (not TCP); any N unlikely to clash will do.
  const control = 1 + (port % 32000); // tgtd wants a small number here
  const proc = Bun.spawn([tgtd, "-f", "-C", String(control), "--iscsi", `portal=127.0.0.1:${port}`], {
    stdout: "ignore",
    stderr: "pipe",
  });
  const iqn = opts.iqn ?? `iqn.2026-11.dev.iscsi.demo:lun-${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await tgtadm(adm, control, ["--mode", "target", "--op", "delete", "--force", "--tid", "1"]).catch(() => {});
    proc.kill("SIGKILL");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
    // QUIRK(tgt): a killed tgtd leaves its control socket and lock file behind.
    for (const suffix of ["", ".lock"]) rmSync(`/var/run/tgtd/socket.${control}${suffix}`, { force: true });
  };
  try {
    for (let i = 0; ; i++) {
      const ok = await tgtadm(adm, control, ["--mode", "target", "--op", "new", "--tid", "1", "-T", iqn]).then(
        () => true,
        () => false,
      );
      if (ok) break;
      if (proc.exitCode !== null || i > 50)
        throw new IscsiError(
          "GENERIC",
          `tgtd did not start: ${(await new Response(proc.stderr).text()).trim() || "no output"}`,
        );
      await Bun.sleep(100);
    }
    const backing = opts.nullBacking
      ? ["--bstype", "null", "--backing-store", `null${opts.sizeBytes}`]
      : ["--backing-store", image];
    await tgtadm(adm, control, ["--mode", "logicalunit", "--op", "new", "--tid", "1", "--lun", "1", ...backing]);
    await tgtadm(adm, control, ["--mode", "target", "--op", "bind", "--tid", "1", "-I", "ALL"]);
    // tgt offers MaxConnections=1 unless told otherwise; `iscsi bench --local --connections N` needs more (MC/S).
    await tgtadm(adm, control, [
      "--mode",
      "target",
      "--op",
      "update",
      "--tid",
      "1",
      "--name",
      "MaxConnections",
      "--value",
      "8",
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, portal: `127.0.0.1:${port}`, iqn, lun: 1, pid: proc.pid, stop };
}
