// A private istgt (the FreeBSD iSCSI target) for the suite: generated istgt.conf and auth.conf in a temp dir,
// one target on its own loopback portal with sparse-file LUNs, optional CHAP / mutual CHAP and digest policy.
import { writeFileSync } from "node:fs";
import {
  type ChapCredentials,
  type StartedTarget,
  TargetDaemon,
  createSparseFile,
  iqnFor,
  makeTempDir,
  MiB,
} from "./daemon.ts";

export type { ChapCredentials, StartedTarget, TargetInfo } from "./daemon.ts";

export interface IstgtOptions {
  /** Fixed iSCSI port; default: a free one. */
  port?: number;
  /** LUNs of the one target, numbered from 0. Default: one 64 MiB LUN. */
  luns?: Array<{ sizeMiB: number }>;
  /** Initiators must log in with CHAP (AuthMethod CHAP); discovery accepts it too. */
  chap?: ChapCredentials;
  /** Target's credentials, answered when the initiator asks for mutual CHAP. */
  mutual?: ChapCredentials;
  /** Refuse one-way CHAP (AuthMethod "CHAP Mutual"). */
  requireMutual?: boolean;
  /**
   * UseDigest: "Auto" lets the initiator choose; "Header"/"Data"/"Header Data" require CRC32C. Default "Auto".
   * QUIRK(istgt): with "Data", an initiator offering DataDigest=None gets "Reject" yet istgt turns data
   * digests on anyway, so libiscsi/qemu writes hang; cross-check "Data" with our initiator only.
   */
  digests?: "Auto" | "Header" | "Data" | "Header Data";
  /** Seconds between NOP-In pings (NopInInterval). Default 20. */
  nopInInterval?: number;
  /** Overrides or additions to [Global], e.g. { MaxBurstLength: 1048576, ImmediateData: "No" }. */
  global?: Record<string, string | number>;
  startTimeoutMs?: number;
}

export interface IstgtTarget extends StartedTarget {
  readonly configPath: string;
}

const DEFAULT_LUN_MIB = 64;

// Sized so that multi-MiB writes need several R2T sequences (tests rely on that).
const DEFAULT_GLOBAL: Record<string, string | number> = {
  LogFacility: '"local7"',
  Timeout: 30,
  DiscoveryAuthMethod: "Auto",
  MaxSessions: 16,
  MaxConnections: 4,
  MaxR2T: 32,
  MaxOutstandingR2T: 16,
  FirstBurstLength: 65536,
  MaxBurstLength: 262144,
  MaxRecvDataSegmentLength: 262144,
};

const quote = (text: string) => {
  if (/["\n]/.test(text)) throw new Error(`istgt: cannot quote ${JSON.stringify(text)} in a config file`);
  return `"${text}"`;
};

class IstgtDaemon extends TargetDaemon implements IstgtTarget {
  readonly kind = "istgt" as const;

  constructor(private readonly options: IstgtOptions) {
    super(makeTempDir("istgt"), options.port, options.startTimeoutMs ?? 10_000);
    const luns = (options.luns?.length ? options.luns : [{ sizeMiB: DEFAULT_LUN_MIB }]).map((spec, lun) => {
      const path = `${this.dir}/lun${lun}.img`;
      createSparseFile(path, spec.sizeMiB * MiB);
      return { lun, path, sizeBytes: spec.sizeMiB * MiB };
    });
    this.targets = [{ iqn: iqnFor("istgt-disk1"), luns, chap: options.chap, mutual: options.mutual }];
  }

  get configPath(): string {
    return `${this.dir}/istgt.conf`;
  }

  protected argv(): string[] {
    return ["istgt", "-D", "-q", "-c", this.configPath];
  }

  protected portConflict(log: string): boolean {
    return /listen error|address already in use/i.test(log);
  }

  /** Rewrites the config for `port` (the first start may try several ports). */
  protected override prepare(port: number): void {
    const { chap, mutual, requireMutual } = this.options;
    const target = this.targets[0]!;
    const global: Record<string, string | number> = {
      NodeBase: quote(target.iqn.slice(0, target.iqn.lastIndexOf(":"))),
      PidFile: `${this.dir}/istgt.pid`,
      AuthFile: `${this.dir}/auth.conf`,
      MediaDirectory: this.dir,
      NopInInterval: this.options.nopInInterval ?? 20,
      ...DEFAULT_GLOBAL,
      // QUIRK(istgt): with no discovery auth group, an initiator that offers CHAP fails discovery.
      ...(chap ? { DiscoveryAuthGroup: "AuthGroup1" } : {}),
      ...this.options.global,
    };
    // QUIRK(istgt): "CHAP" still answers a mutual challenge when the auth group has target credentials.
    const authMethod = requireMutual ? "CHAP Mutual" : chap ? "CHAP" : "Auto";
    const config = [
      "[Global]",
      ...Object.entries(global).map(([key, value]) => `  ${key} ${value}`),
      // QUIRK(istgt): [UnitControl] is mandatory; without a Portal line it opens no control port.
      "[UnitControl]",
      "  AuthMethod CHAP Mutual",
      "  AuthGroup AuthGroup9999",
      "[PortalGroup1]",
      `  Portal DA1 127.0.0.1:${port}`,
      "[InitiatorGroup1]",
      '  InitiatorName "ALL"',
      "  Netmask 127.0.0.1/32",
      "[LogicalUnit1]",
      `  TargetName ${target.iqn.slice(target.iqn.lastIndexOf(":") + 1)}`,
      "  Mapping PortalGroup1 InitiatorGroup1",
      `  AuthMethod ${authMethod}`,
      "  AuthGroup AuthGroup1",
      `  UseDigest ${this.options.digests ?? "Auto"}`,
      "  UnitType Disk",
      ...target.luns.map(({ lun, path, sizeBytes }) => `  LUN${lun} Storage ${path} ${sizeBytes / MiB}MB`),
      "",
    ].join("\n");
    const user = chap ? [chap.username, chap.secret] : ["nobody", "unused-secret-0000"];
    const auth = [
      "[AuthGroup1]",
      `  Auth ${[...user, ...(mutual ? [mutual.username, mutual.secret] : [])].map(quote).join(" ")}`,
      "[AuthGroup9999]",
      '  Auth "ctl" "unused-secret-0000"',
      "",
    ].join("\n");
    writeFileSync(this.configPath, config);
    writeFileSync(`${this.dir}/auth.conf`, auth, { mode: 0o600 });
  }
}

/** Starts istgt in the foreground (-D) on 127.0.0.1 (free port unless given); see IstgtOptions. */
export async function startIstgt(options: IstgtOptions = {}): Promise<IstgtTarget> {
  if (options.requireMutual && !(options.chap && options.mutual))
    throw new Error("istgt: requireMutual needs chap and mutual");
  const daemon = new IstgtDaemon(options);
  await daemon.start();
  return daemon;
}
