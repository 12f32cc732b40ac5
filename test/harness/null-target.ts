// The benchmark null target (bench/null-target, C) for tests and benches: built on first use when missing or
// older than its sources, started on a free loopback port, stopped by pid like the other target daemons.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, TargetDaemon, type StartedTarget } from "./daemon.ts";

export const NULL_TARGET_IQN = "iqn.2026-12.dev.iscsi:null";
/** Its one LU: LUN 0, 1 TiB of 512-byte blocks. */
export const NULL_TARGET_BYTES = 2 ** 40;

const SOURCES = join(import.meta.dir, "../../bench/null-target");
export const NULL_TARGET_BIN = join(import.meta.dir, "../../bench/build/null-target");

/** Builds bench/build/null-target when it is missing or any source is newer (what .ci/setup does too). */
export function ensureNullTarget(): string {
  const built = existsSync(NULL_TARGET_BIN) ? statSync(NULL_TARGET_BIN).mtimeMs : 0;
  const stale = readdirSync(SOURCES).some((f) => statSync(join(SOURCES, f)).mtimeMs > built);
  if (stale) {
    const p = Bun.spawnSync(["sh", join(SOURCES, "build.sh")], { stdout: "ignore", stderr: "pipe" });
    if (p.exitCode !== 0) throw new Error(`building the null target failed:\n${p.stderr.toString()}`);
  }
  return NULL_TARGET_BIN;
}

export interface NullTarget extends StartedTarget {
  /** iscsi://127.0.0.1:PORT/iqn.2026-12.dev.iscsi:null/0 */
  readonly url: string;
}

class NullTargetDaemon extends TargetDaemon implements NullTarget {
  readonly kind = "null-target" as const;

  constructor(port: number | undefined) {
    super(makeTempDir("null-target"), port, 10_000);
    this.targets = [{ iqn: NULL_TARGET_IQN, luns: [{ lun: 0, sizeBytes: NULL_TARGET_BYTES }] }];
  }

  get url(): string {
    return `iscsi://${this.portal}/${NULL_TARGET_IQN}/0`;
  }

  protected argv(port: number): string[] {
    return [NULL_TARGET_BIN, "--port", String(port)];
  }

  protected portConflict(log: string): boolean {
    return /Address already in use/.test(log);
  }
}

/** Starts the null target (building it first if needed) on a free port, or `port`. */
export async function startNullTarget(options: { port?: number } = {}): Promise<NullTarget> {
  ensureNullTarget();
  const t = new NullTargetDaemon(options.port);
  await t.start();
  return t;
}
