// Where the daemon keeps its state and socket (docs/architecture.md, "The daemon"): per-platform defaults, overridden by flags
// (--state-dir, --socket, --config) or the environment ($ISCSI_STATE_DIR, $ISCSI_SOCKET, $ISCSI_CONFIG).
import { join } from "node:path";

export type Platform = "linux" | "darwin";

export interface Paths {
  /** Node database, discovery records, initiator name, the secrets file (Linux). */
  stateDir: string;
  /** The daemon's control socket. */
  socket: string;
  /** The iscsid.conf-style defaults file; a missing file means built-in defaults. */
  config: string;
}

export function currentPlatform(): Platform {
  return process.platform === "darwin" ? "darwin" : "linux";
}

export function defaultStateDir(platform: Platform = currentPlatform()): string {
  return platform === "darwin" ? "/Library/Application Support/iscsi" : "/var/lib/iscsi";
}

export function defaultSocket(platform: Platform = currentPlatform()): string {
  return platform === "darwin" ? "/var/run/iscsid.sock" : "/var/run/iscsi/iscsid.sock";
}

const nonEmpty = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** Flags first, then the environment, then the platform defaults. The config file lives in the state dir. */
export function resolvePaths(
  flags: { stateDir?: unknown; socket?: unknown; config?: unknown },
  env: Record<string, string | undefined> = process.env,
): Paths {
  const stateDir = nonEmpty(flags.stateDir) ?? nonEmpty(env.ISCSI_STATE_DIR) ?? defaultStateDir();
  return {
    stateDir,
    socket: nonEmpty(flags.socket) ?? nonEmpty(env.ISCSI_SOCKET) ?? defaultSocket(),
    config: nonEmpty(flags.config) ?? nonEmpty(env.ISCSI_CONFIG) ?? join(stateDir, "iscsid.conf"),
  };
}
