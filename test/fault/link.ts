// One connection through the fault proxy (test/fault/proxy.ts): its two sockets, a writer for each side that
// copes with partial writes, byte counters, armed rule positions and the queue of delayed actions.
import type { Socket } from "bun";

export type Direction = "up" | "down";
export type CloseHow = "fin" | "rst";

/** Writes to a socket that may accept only part of a buffer (Bun does not queue the rest). */
export class Writer {
  socket: Socket<unknown> | undefined;
  private pending: Uint8Array[] = [];
  private endAfter: CloseHow | undefined;
  closed = false;

  get queued(): number {
    let n = 0;
    for (const p of this.pending) n += p.length;
    return n;
  }

  write(chunk: Uint8Array): void {
    if (this.closed || chunk.length === 0) return;
    this.pending.push(chunk);
    this.flush();
  }

  flush(): void {
    const s = this.socket;
    if (!s || this.closed) return;
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      const n = s.write(head);
      if (n < 0) return this.close("rst");
      if (n < head.length) {
        this.pending[0] = head.subarray(n);
        return;
      }
      this.pending.shift();
    }
    if (this.endAfter) this.close(this.endAfter);
  }

  /** FIN after what is queued has gone out; RST at once (queued bytes may be lost, as with a real RST). */
  end(how: CloseHow): void {
    if (how === "rst" || (this.socket && this.pending.length === 0)) this.close(how);
    else this.endAfter = how;
  }

  close(how: CloseHow): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    const s = this.socket;
    if (!s) return;
    if (how === "rst") s.terminate();
    else s.end();
  }
}

/** An action (a chunk to forward, a FIN or cut) waiting out a delay. */
export interface Delayed {
  due: number;
  action: () => void;
}

/** One proxied connection: the initiator's socket ("client"), the target's ("server"), counters each way. */
export class Link {
  readonly received = { up: 0, down: 0 };
  readonly forwarded = { up: 0, down: 0 };
  /** Absolute positions of armed rules on this link, by rule id. */
  readonly armed = new Map<number, number>();
  readonly to: Record<Direction, Writer> = { up: new Writer(), down: new Writer() };
  client: Socket<unknown> | undefined;
  server: Socket<unknown> | undefined;
  open = true;
  /** Chunks (and FIN/cut actions) waiting out a delay, in arrival order. */
  readonly delayed: Record<Direction, Delayed[]> = { up: [], down: [] };

  constructor(readonly id: number) {}

  /** The socket bytes of `dir` are read from. */
  source(dir: Direction): Socket<unknown> | undefined {
    return dir === "up" ? this.client : this.server;
  }
}
