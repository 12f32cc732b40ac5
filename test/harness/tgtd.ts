// A private tgtd (Linux SCSI target framework) for the suite: own management channel and loopback portal,
// targets with sparse-file or `null` LUNs, ACL ALL, optional CHAP / mutual CHAP and NOP-In, configured by tgtadm.
import { rmSync } from "node:fs";
import {
  type ChapCredentials,
  type StartedTarget,
  type TargetInfo,
  TargetDaemon,
  createSparseFile,
  iqnFor,
  makeTempDir,
  MiB,
} from "./daemon.ts";
import { expectSuccess, runTool } from "./processes.ts";

export type { ChapCredentials, StartedTarget, TargetInfo } from "./daemon.ts";

export interface TgtdLunSpec {
  /** Size of the sparse backing file; default 64. Ignored for `null`. */
  sizeMiB?: number;
  /** tgtd's `null` backing store: reads return zeros, writes are dropped, size is always 1 TiB. */
  null?: boolean;
  /** Advertise thin provisioning (UNMAP punches holes in the backing file). */
  thin?: boolean;
  /** Logical block size in bytes (tgtadm --blocksize); default 512. */
  blockSize?: number;
}

export interface TgtdOptions {
  /** Fixed iSCSI port; default: a free one. */
  port?: number;
  /** LUNs of every target, numbered from 1 (LUN 0 is tgtd's controller). Default: one 64 MiB LUN. */
  luns?: TgtdLunSpec[];
  /** How many targets (tgtd-disk1, tgtd-disk2, ...), each with the same LUN layout. Default 1. */
  targets?: number;
  /** Base of the target names instead of "tgtd-disk" (targets <base>1, <base>2, ...), for several tgtd in one iSNS. */
  targetBase?: string;
  /** Initiators must log in with CHAP (tgtd incoming account, bound to every target). */
  chap?: ChapCredentials;
  /** The target's own credentials for mutual CHAP (outgoing account). tgtd still accepts one-way CHAP. */
  mutual?: ChapCredentials;
  /** Seconds between NOP-In pings (nop_interval); absent or 0 = off. */
  nopInterval?: number;
  /** Unanswered NOP-Ins before tgtd drops the connection (nop_count). */
  nopCount?: number;
  /** Extra `tgtadm --op update --name K --value V` per target, e.g. { MaxRecvDataSegmentLength: 16384 }. */
  params?: Record<string, string | number>;
  startTimeoutMs?: number;
  /** Run inside this network namespace (netlab.ts), listening on every address there; `host` is the portal to use. */
  netns?: { name: string; host: string; portals?: string[] };
}

export interface TgtdTarget extends StartedTarget {
  /** tgtd's management channel (-C NNNN, a unix socket /var/run/tgtd/socket.NNNN); equals the iSCSI port. */
  readonly controlPort: number;
  /** Runs `tgtadm -C <control> --lld iscsi <args>` and returns stdout; throws with stderr on failure. */
  tgtadm(args: string[]): Promise<string>;
}

// QUIRK(tgt): the null backing store always reports 1 TiB.
const NULL_STORE_BYTES = 2 ** 40;
const DEFAULT_LUN_MIB = 64;
// QUIRK(tgt): digests are off unless allowed per target; allow both so tests can negotiate either.
const DEFAULT_PARAMS = { HeaderDigest: "CRC32C,None", DataDigest: "CRC32C,None" };

class TgtdDaemon extends TargetDaemon implements TgtdTarget {
  readonly kind = "tgtd" as const;
  private readonly thin = new Set<string>();
  private readonly blockSizes = new Map<string, number>();

  constructor(private readonly options: TgtdOptions) {
    super(makeTempDir("tgtd"), options.port, options.startTimeoutMs ?? 10_000);
    if (options.netns) this.host = options.netns.host;
    const lunSpecs = options.luns?.length ? options.luns : [{}];
    // Backing files are created once here, so restart() serves the same data.
    this.targets = Array.from({ length: options.targets ?? 1 }, (_, index): TargetInfo => {
      const tid = index + 1;
      const luns = lunSpecs.map((spec, lunIndex) => {
        const lun = lunIndex + 1;
        if (spec.thin) this.thin.add(`${tid}/${lun}`);
        if (spec.blockSize) this.blockSizes.set(`${tid}/${lun}`, spec.blockSize);
        if (spec.null) return { lun, sizeBytes: NULL_STORE_BYTES };
        const path = `${this.dir}/tid${tid}-lun${lun}.img`;
        const sizeBytes = (spec.sizeMiB ?? DEFAULT_LUN_MIB) * MiB;
        createSparseFile(path, sizeBytes);
        return { lun, path, sizeBytes };
      });
      return {
        iqn: iqnFor(`${options.targetBase ?? "tgtd-disk"}${tid}`),
        luns,
        chap: options.chap,
        mutual: options.mutual,
      };
    });
  }

  get controlPort(): number {
    return this.port;
  }

  protected argv(port: number): string[] {
    // -C gives this tgtd its own management socket, so several tgtd run side by side. In a lab namespace
    // it listens on every address there, so it stays reachable when the test changes its address.
    const ns = this.options.netns;
    const portals = (ns?.portals ?? [ns ? "0.0.0.0" : "127.0.0.1"]).map((a) => `portal=${a}:${port}`).join(",");
    const argv = ["tgtd", "-f", "-C", String(port), "--iscsi", portals];
    // nsenter joins only the network namespace: `ip netns exec` would also give tgtd a private copy of the
    // mount table, which keeps every mount of that moment (an ext4 on one of our loop devices) busy.
    return ns ? ["nsenter", `--net=/var/run/netns/${ns.name}`, ...argv] : argv;
  }

  protected portConflict(log: string): boolean {
    // QUIRK(tgt): when the portal cannot be bound tgtd logs it and keeps running without a listener;
    // a management channel in use by another tgtd makes it exit.
    return log.includes("failed to create/bind to portal") || log.includes("another tgtd is using");
  }

  protected override async ready(): Promise<boolean> {
    const result = await runTool(this.tgtadmArgv(["--mode", "sys", "--op", "show"]), { timeoutMs: 2000 });
    return result.exitCode === 0;
  }

  async tgtadm(args: string[]): Promise<string> {
    const argv = this.tgtadmArgv(args);
    return expectSuccess(argv, await runTool(argv, { timeoutMs: 10_000 })).stdout;
  }

  private tgtadmArgv(args: string[]): string[] {
    const lld = args.includes("--lld") || args.includes("-L") ? [] : ["--lld", "iscsi"];
    return ["tgtadm", "-C", String(this.controlPort), ...lld, ...args];
  }

  protected override async configure(): Promise<void> {
    const { chap, mutual } = this.options;
    if (chap)
      await this.tgtadm(["--mode", "account", "--op", "new", "--user", chap.username, "--password", chap.secret]);
    if (mutual)
      await this.tgtadm(["--mode", "account", "--op", "new", "--user", mutual.username, "--password", mutual.secret]);
    const params: Record<string, string | number> = { ...DEFAULT_PARAMS, ...this.options.params };
    if (this.options.nopInterval) params.nop_interval = this.options.nopInterval;
    if (this.options.nopCount) params.nop_count = this.options.nopCount;
    for (const [index, target] of this.targets.entries()) {
      const tid = String(index + 1);
      await this.tgtadm(["--mode", "target", "--op", "new", "--tid", tid, "--targetname", target.iqn]);
      for (const { lun, path } of target.luns) {
        const store = path ? ["--backing-store", path] : ["--bstype", "null", "--backing-store", "/dev/null"];
        const blockSize = this.blockSizes.get(`${tid}/${lun}`);
        await this.tgtadm([
          "--mode",
          "logicalunit",
          "--op",
          "new",
          "--tid",
          tid,
          "--lun",
          String(lun),
          ...store,
          ...(blockSize ? [`--blocksize=${blockSize}`] : []),
        ]);
        if (this.thin.has(`${tid}/${lun}`)) {
          await this.tgtadm([
            "--mode",
            "logicalunit",
            "--op",
            "update",
            "--tid",
            tid,
            "--lun",
            String(lun),
            "--params",
            "thin_provisioning=1",
          ]);
        }
      }
      await this.tgtadm(["--mode", "target", "--op", "bind", "--tid", tid, "--initiator-address", "ALL"]);
      if (chap) await this.tgtadm(["--mode", "account", "--op", "bind", "--tid", tid, "--user", chap.username]);
      if (mutual)
        await this.tgtadm(["--mode", "account", "--op", "bind", "--tid", tid, "--user", mutual.username, "--outgoing"]);
      for (const [name, value] of Object.entries(params)) {
        await this.tgtadm([
          "--mode",
          "target",
          "--op",
          "update",
          "--tid",
          tid,
          "--name",
          name,
          "--value",
          String(value),
        ]);
      }
    }
  }

  protected override cleanup(): void {
    // tgtd leaves its management socket and lock file behind when killed.
    for (const suffix of ["", ".lock"]) rmSync(`/var/run/tgtd/socket.${this.controlPort}${suffix}`, { force: true });
  }
}

/** Starts tgtd in the foreground on 127.0.0.1 (free port unless given) and configures it; see TgtdOptions. */
export async function startTgtd(options: TgtdOptions = {}): Promise<TgtdTarget> {
  const daemon = new TgtdDaemon(options);
  await daemon.start();
  return daemon;
}
