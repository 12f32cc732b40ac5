// The daemon's loopback NFSv3 server: one TCP port on 127.0.0.1 serving MOUNT and NFS (no portmapper: clients
// are given both ports), one export per attachment. Records are framed by RFC 5531 §11 record marking; a
// connection from a source port ≥ 1024 is answered only with AUTH_TOOWEAK. Calls on one connection run
// concurrently; replies go out in completion order, queued while the socket is full.
import type { Socket, TCPSocketListener } from "bun";
import type { ConsolaInstance } from "consola";
import { BufferPool } from "../../nfs/pool.ts";
import { markRecord, RecordReader } from "../../nfs/record.ts";
import { IscsiError } from "../../contract/errors.ts";
import type { NfsExport } from "./export.ts";
import { MAX_IO } from "./nfs3-service.ts";
import { answer, UnanswerableCall, type ProgramContext } from "./programs.ts";

/** A WRITE of MAX_IO bytes with its headers fits; anything larger is refused before it is stored. */
const MAX_RECORD = MAX_IO + 4096;
/**
 * After the server starts, handles of exports it does not serve are answered JUKEBOX rather than STALE for this
 * long: a restarted daemon re-creates its attachments, and their clients must wait, not fail (like an NFS
 * server's grace period after a reboot).
 */
const GRACE_MS = 90_000;
/** Reserved ports (below IPPORT_RESERVED) can be bound only by root. */
const IPPORT_RESERVED = 1024;

interface Conn {
  reader: RecordReader;
  privileged: boolean;
  /** Replies waiting for the socket; `sent` of the first is already written. */
  queue: Uint8Array[];
  sent: number;
  closed: boolean;
}

/** Buffers of records and READ replies in use at once at most: a client's requests in flight, a few clients. */
const POOLED_BUFFERS = 64;

export class NfsServer implements ProgramContext {
  /** The write verifier of this server start (RFC 1813 §3.3.7): clients resend uncommitted writes when it changes. */
  readonly verifier = crypto.getRandomValues(new Uint8Array(8));
  /** Calls refused because the client's source port was not reserved. */
  refusedCalls = 0;
  private readonly byId = new Map<bigint, NfsExport>();
  private readonly byPath = new Map<string, NfsExport>();
  private readonly sockets = new Set<Socket<Conn>>();
  private readonly started = Date.now();
  private readonly pool = new BufferPool(MAX_RECORD, POOLED_BUFFERS);

  private constructor(
    private readonly listener: TCPSocketListener<Conn>,
    private readonly log: ConsolaInstance,
  ) {}

  /** Listens on 127.0.0.1:`port` (0: a free port). */
  static listen(port: number, log: ConsolaInstance): NfsServer {
    let server: NfsServer | undefined;
    let listener: TCPSocketListener<Conn>;
    try {
      listener = Bun.listen<Conn>({
        hostname: "127.0.0.1",
        port,
        socket: {
          open: (s) => server!.opened(s),
          data: (s, chunk) => server!.received(s, chunk),
          drain: (s) => server!.flush(s),
          close: (s) => server!.closed(s),
          error: (s) => server!.closed(s),
        },
      });
    } catch (err) {
      throw new IscsiError("GENERIC", `NFS server cannot listen on 127.0.0.1:${port}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    server = new NfsServer(listener, log);
    return server;
  }

  get port(): number {
    return this.listener.port;
  }

  add(x: NfsExport): void {
    if (this.byPath.has(x.path)) throw new IscsiError("BUSY", `NFS export ${x.path} is already served`);
    this.byId.set(x.id, x);
    this.byPath.set(x.path, x);
  }

  remove(x: NfsExport): void {
    if (this.byPath.get(x.path) !== x) return;
    this.byId.delete(x.id);
    this.byPath.delete(x.path);
  }

  take(n: number): Uint8Array {
    return this.pool.take(n);
  }

  inGrace(): boolean {
    return Date.now() - this.started < GRACE_MS;
  }

  exportById(id: bigint): NfsExport | undefined {
    return this.byId.get(id);
  }

  exportByPath(path: string): NfsExport | undefined {
    return this.byPath.get(path);
  }

  exportPaths(): string[] {
    return [...this.byPath.keys()];
  }

  get exports(): number {
    return this.byId.size;
  }

  stop(): void {
    this.listener.stop(true);
    for (const s of this.sockets) s.end();
  }

  private opened(s: Socket<Conn>): void {
    const privileged = s.remotePort > 0 && s.remotePort < IPPORT_RESERVED;
    s.data = {
      reader: new RecordReader(MAX_RECORD, (n) => this.pool.take(n)),
      privileged,
      queue: [],
      sent: 0,
      closed: false,
    };
    this.sockets.add(s);
    if (!privileged)
      this.log.warn(`NFS client 127.0.0.1:${s.remotePort} is on an unreserved port (not root): its calls are refused`);
  }

  private closed(s: Socket<Conn>): void {
    if (s.data) s.data.closed = true;
    this.sockets.delete(s);
  }

  private received(s: Socket<Conn>, chunk: Uint8Array): void {
    const c = s.data;
    let records: Uint8Array[];
    try {
      records = c.reader.push(chunk);
    } catch (err) {
      // The stream cannot be resynchronised after a bad record mark.
      this.log.warn(`NFS client 127.0.0.1:${s.remotePort}: ${(err as Error).message}; closing the connection`);
      s.end();
      return;
    }
    for (const record of records) {
      if (!c.privileged) this.refusedCalls++;
      // The record's buffer is free once the call is answered: every command that used it has settled.
      answer(this, record, c.privileged).then(
        (reply) => {
          this.pool.give(record);
          this.send(s, markRecord(reply));
        },
        (err) => {
          this.pool.give(record);
          if (!(err instanceof UnanswerableCall)) this.log.error(`NFS call failed: ${(err as Error).message}`);
          else this.log.warn(`NFS client 127.0.0.1:${s.remotePort}: ${err.message}; closing the connection`);
          s.end();
        },
      );
    }
  }

  private send(s: Socket<Conn>, bytes: Uint8Array): void {
    const c = s.data;
    if (c.closed) return;
    c.queue.push(bytes);
    if (c.queue.length === 1) this.flush(s);
  }

  /** Writes queued replies while the socket takes them; a reply fully written gives its buffer back. */
  private flush(s: Socket<Conn>): void {
    const c = s.data;
    while (c.queue.length > 0 && !c.closed) {
      const head = c.queue[0]!;
      const n = s.write(head.subarray(c.sent));
      c.sent += Math.max(n, 0);
      if (c.sent < head.length) return;
      c.queue.shift();
      c.sent = 0;
      this.pool.give(head);
    }
  }
}
