// The session registry: sessions live here, in the daemon, and outlive the CLI that asked for them. One
// session per node (iscsiadm's "session exists"), concurrent logins of one node joined, SIDs from 1.
import type { ConsolaInstance } from "consola";
import { IscsiError } from "../contract/errors.ts";
import type { LunInfo } from "../contract/views.ts";
import { scanLuns, type EngineSession } from "./engine.ts";
import { withTimeout } from "../transport/deadline.ts";
import type { Portal } from "../transport/portal.ts";

export interface SessionEntry {
  sid: number;
  key: string;
  target: string;
  /** The node's portal (iscsiadm's "Persistent Portal"); `session.portal` is where a redirect took us. */
  portal: Portal;
  tpgt: number;
  isid: number;
  initiatorName: string;
  session: EngineSession;
  luns: LunInfo[];
  since: string;
  /** The interface the node's connections must leave through (iface.net_ifacename), if any. */
  netdev?: string;
}

const SCAN_TIMEOUT_MS = 10_000;
/** States a session does not come back from by itself (the engine's own recovery has given up). */
export const GONE: ReadonlySet<string> = new Set(["failed", "closed"]);

export class SessionRegistry {
  private nextSid = 1;
  private readonly entries = new Map<string, SessionEntry>();
  private readonly inflight = new Map<string, Promise<SessionEntry>>();

  constructor(private readonly log: ConsolaInstance) {}

  list(): SessionEntry[] {
    return [...this.entries.values()].sort((a, b) => a.sid - b.sid);
  }

  byKey(key: string): SessionEntry | undefined {
    return this.entries.get(key);
  }

  bySid(sid: number): SessionEntry | undefined {
    return this.list().find((e) => e.sid === sid);
  }

  /** True while a session of this node exists and has not failed or closed. */
  active(key: string): boolean {
    const e = this.entries.get(key);
    return e !== undefined && !GONE.has(e.session.state.kind);
  }

  /**
   * Logs the node in once: a second caller during the login shares its outcome; a live session is an error. The
   * sid is chosen first and handed to `open`, so the session's log tag names it as listings do.
   */
  login(
    key: string,
    meta: Omit<SessionEntry, "sid" | "key" | "session" | "luns" | "since">,
    open: (sid: number) => Promise<EngineSession>,
  ): Promise<SessionEntry> {
    const running = this.inflight.get(key);
    if (running) return running;
    if (this.active(key)) {
      const e = this.entries.get(key)!;
      return Promise.reject(
        new IscsiError(
          "SESSION_EXISTS",
          `session ${e.sid} to ${meta.target} at ${meta.portal.host}:${meta.portal.port} already exists`,
        ),
      );
    }
    const attempt = (async () => {
      const sid = this.nextSid++;
      let session: EngineSession;
      try {
        session = await open(sid);
      } catch (err) {
        // A failed login gives its number back unless a later login took one meanwhile: sids stay dense.
        if (this.nextSid === sid + 1) this.nextSid = sid;
        throw err;
      }
      const entry: SessionEntry = { ...meta, sid, key, session, luns: [], since: new Date().toISOString() };
      this.entries.set(key, entry);
      await this.rescan(entry);
      return entry;
    })().finally(() => this.inflight.delete(key));
    this.inflight.set(key, attempt);
    return attempt;
  }

  /** REPORT LUNS and friends again; a slow or failing scan leaves the session up with what it had. */
  async rescan(entry: SessionEntry): Promise<void> {
    try {
      entry.luns = await withTimeout(
        scanLuns(entry.session),
        SCAN_TIMEOUT_MS,
        () => new Error(`LUN scan took longer than ${SCAN_TIMEOUT_MS} ms`),
      );
    } catch (err) {
      this.log.warn(`session ${entry.sid}: LUN scan failed: ${(err as Error).message}`);
    }
  }

  /** Drops an entry whose session is gone, so the node can log in anew. */
  forget(entry: SessionEntry): void {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
  }

  /** Logout (bounded by `timeoutMs`), falling back to dropping the connection; the entry goes either way. */
  async logout(entry: SessionEntry, timeoutMs: number): Promise<void> {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    try {
      await entry.session.logout(timeoutMs);
    } catch (err) {
      entry.session.close();
      if (!GONE.has(entry.session.state.kind)) throw err;
      throw new IscsiError(
        "LOGOUT",
        `logout of session ${entry.sid} failed, connection dropped: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}
