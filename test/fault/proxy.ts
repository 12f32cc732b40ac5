// A TCP fault proxy on loopback for tests: sits between our initiator and any target (tgtd, istgt, the fake)
// and, on command, delays, stalls, cuts, corrupts, drops or refuses, per direction, at a chosen byte.
//
//   const proxy = await FaultProxy.start({ host: "127.0.0.1", port: target.port });
//   Session.open({ portal: proxy.portal, ... });
//   proxy.cut("down", { after: 100_000, how: "rst" });   // the initiator gets 100 000 more bytes, then RST
//   await proxy.stop();
//
// Directions: "up" is initiator → target, "down" is target → initiator. Byte positions count the bytes the
// proxy has read from the sending side of one connection (a "link"). A rule given `after: n` fires n bytes
// past where each live link stands now, and n bytes into every link opened later; `at: n` is the absolute
// position in every link (a position a link has already passed never fires there). Rules stay armed for
// new links until `clear()`, unless `once` is set. RST (`how: "rst"`) may lose bytes still in flight, as a
// real reset does; FIN delivers everything before it.
import type { Socket, TCPSocketListener } from "bun";
import { Link, type CloseHow, type Delayed, type Direction } from "./link.ts";

export { Link, type CloseHow, type Direction } from "./link.ts";
type Dirs = Direction | "both";

export interface Position {
  /** Bytes past the link's current position (live links) or its start (later links). */
  after?: number;
  /** Absolute byte position in the link's stream. */
  at?: number;
  /** Fire on one link only, then disarm. */
  once?: boolean;
}

interface Rule {
  id: number;
  kind: "cut" | "corrupt";
  dir: Direction;
  pos: Position;
  how: CloseHow;
  mask: number;
}

export interface ProxyOptions {
  /** Port to listen on (default: any free one). */
  port?: number;
}

export class FaultProxy {
  readonly host = "127.0.0.1";
  readonly links: Link[] = [];
  /** Totals over all links: bytes read from each side, and bytes handed on to the other side. */
  readonly received = { up: 0, down: 0 };
  readonly forwarded = { up: 0, down: 0 };
  private listener: TCPSocketListener<{ link?: Link }> | undefined;
  private delays = { up: 0, down: 0 };
  private stalls = { up: false, down: false };
  private rules: Rule[] = [];
  private nextRule = 1;
  private nextLink = 1;
  private stopped = false;
  private timers = new Set<ReturnType<typeof setTimeout>>();

  private constructor(
    readonly upstream: { host: string; port: number },
    readonly port: number,
  ) {}

  /** Listen on 127.0.0.1 and forward every connection to `upstream`. */
  static async start(upstream: { host: string; port: number }, opts: ProxyOptions = {}): Promise<FaultProxy> {
    const proxy = new FaultProxy(upstream, 0);
    const listener = proxy.listen(opts.port ?? 0);
    (proxy as { port: number }).port = listener.port;
    return proxy;
  }

  /** Where the initiator should connect. */
  get portal(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  get liveLinks(): Link[] {
    return this.links.filter((l) => l.open);
  }

  /** Hold every chunk `ms` milliseconds before forwarding it (order kept); 0 turns it off. */
  delay(dir: Dirs, ms: number): void {
    for (const d of dirs(dir)) this.delays[d] = ms;
  }

  /**
   * Stop forwarding: the proxy stops reading the sending side, so nothing passes, no FIN or RST is sent and
   * the sender's TCP window closes once its buffers fill (a half-open or zero-window peer). Also for new links.
   */
  stall(dir: Dirs): void {
    for (const d of dirs(dir)) {
      this.stalls[d] = true;
      for (const l of this.liveLinks) l.source(d)?.pause();
    }
  }

  /** Undo `stall`: reading and forwarding go on where they stopped. */
  resume(dir: Dirs = "both"): void {
    for (const d of dirs(dir)) {
      this.stalls[d] = false;
      for (const l of this.liveLinks) l.source(d)?.resume();
    }
  }

  /** Forward bytes up to the position, then close both sockets of that link with FIN (default) or RST. */
  cut(dir: Direction, pos: Position & { how?: CloseHow }): void {
    this.arm({ kind: "cut", dir, pos, how: pos.how ?? "fin", mask: 0 });
  }

  /** XOR the byte at the position with `mask` (default 0xff) before forwarding it. */
  corrupt(dir: Direction, pos: Position & { mask?: number }): void {
    const mask = pos.mask ?? 0xff;
    if (mask < 1 || mask > 0xff) throw new RangeError(`corrupt: mask ${mask} outside 1..255`);
    this.arm({ kind: "corrupt", dir, pos, how: "fin", mask });
  }

  /** Close every live link now, both sides, with FIN or RST. */
  dropAll(how: CloseHow = "fin"): void {
    for (const l of this.liveLinks) this.closeLink(l, how);
  }

  /** Stop listening: new connections are refused by the kernel (ECONNREFUSED). Live links are kept. */
  refuse(): void {
    this.listener?.stop(false);
    this.listener = undefined;
  }

  /** Listen again on the same port after `refuse()`. */
  accept(): void {
    if (!this.listener && !this.stopped) this.listen(this.port);
  }

  /** Remove every fault: no delay, no stall, rules disarmed, listening. Links stay as they are. */
  clear(): void {
    this.delays = { up: 0, down: 0 };
    this.resume("both");
    this.rules = [];
    for (const l of this.links) l.armed.clear();
    this.accept();
  }

  /** Resolves once `received[dir]` (all links) reaches `n` bytes; rejects after `timeoutMs`. */
  async waitFor(dir: Direction, n: number, timeoutMs = 10_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.received[dir] < n) {
      if (performance.now() > deadline)
        throw new Error(`proxy: ${dir} reached ${this.received[dir]} of ${n} bytes in ${timeoutMs} ms`);
      await Bun.sleep(5);
    }
  }

  /** Close every link with RST and stop listening. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.dropAll("rst");
    this.listener?.stop(true);
    this.listener = undefined;
    await Bun.sleep(0);
  }

  private listen(port: number): TCPSocketListener<{ link?: Link }> {
    const proxy = this;
    this.listener = Bun.listen<{ link?: Link }>({
      hostname: this.host,
      port,
      socket: {
        binaryType: "uint8array",
        open(socket) {
          socket.data = { link: proxy.onClient(socket as unknown as Socket<unknown>) };
        },
        data(socket, chunk) {
          const link = socket.data.link;
          if (link) proxy.onChunk(link, "up", chunk);
        },
        drain(socket) {
          socket.data.link?.to.down.flush();
        },
        end(socket) {
          const link = socket.data.link;
          if (link) proxy.peerClosed(link, "up");
        },
        close(socket) {
          const link = socket.data.link;
          if (link) proxy.peerClosed(link, "up");
        },
        error(socket) {
          const link = socket.data.link;
          if (link) proxy.closeLink(link, "rst");
        },
      },
      data: {},
    });
    return this.listener;
  }

  private onClient(client: Socket<unknown>): Link {
    const link = new Link(this.nextLink++);
    this.links.push(link);
    link.client = client;
    link.to.down.socket = client;
    for (const r of this.rules) this.armOn(link, r, false);
    if (this.stalls.up) client.pause();
    const proxy = this;
    Bun.connect<undefined>({
      hostname: this.upstream.host,
      port: this.upstream.port,
      socket: {
        binaryType: "uint8array",
        open(server) {
          if (!link.open) {
            server.terminate();
            return;
          }
          link.server = server as unknown as Socket<unknown>;
          if (proxy.stalls.down) server.pause();
          link.to.up.socket = link.server;
          link.to.up.flush();
        },
        data(_s, chunk) {
          proxy.onChunk(link, "down", chunk);
        },
        drain() {
          link.to.up.flush();
        },
        end() {
          proxy.peerClosed(link, "down");
        },
        close() {
          proxy.peerClosed(link, "down");
        },
        error() {
          proxy.closeLink(link, "rst");
        },
        connectError() {
          proxy.closeLink(link, "rst");
        },
      },
    }).catch(() => proxy.closeLink(link, "rst"));
    return link;
  }

  private arm(r: Omit<Rule, "id">): void {
    const pos = r.pos;
    if ((pos.after === undefined) === (pos.at === undefined))
      throw new RangeError(`${r.kind}: give exactly one of 'after' and 'at'`);
    const n = pos.after ?? pos.at!;
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${r.kind}: position ${n} is not a byte count`);
    const rule: Rule = { ...r, id: this.nextRule++ };
    this.rules.push(rule);
    for (const l of this.liveLinks) this.armOn(l, rule, true);
  }

  private armOn(link: Link, r: Rule, live: boolean): void {
    const base = live && r.pos.after !== undefined ? link.received[r.dir] : 0;
    link.armed.set(r.id, base + (r.pos.after ?? r.pos.at!));
  }

  private onChunk(link: Link, dir: Direction, chunk: Uint8Array): void {
    if (!link.open) return;
    const start = link.received[dir];
    const end = start + chunk.length;
    let data = chunk;
    let cut: Rule | undefined;
    let cutAt = end;
    for (const r of this.rules) {
      if (r.dir !== dir) continue;
      const at = link.armed.get(r.id);
      if (at === undefined || at < start || at >= end) continue;
      if (r.kind === "corrupt") {
        if (data === chunk) data = chunk.slice();
        data[at - start]! ^= r.mask;
      } else if (!cut || at < cutAt) {
        cut = r;
        cutAt = at;
      }
      this.fire(link, r);
    }
    if (cut) data = data.subarray(0, cutAt - start);
    link.received[dir] += data.length;
    this.received[dir] += data.length;
    this.deliver(link, dir, data);
    if (cut) this.deliverAction(link, dir, () => this.closeLink(link, cut.how));
  }

  private fire(link: Link, r: Rule): void {
    link.armed.delete(r.id);
    if (!r.pos.once) return;
    this.rules = this.rules.filter((x) => x !== r);
    for (const l of this.links) l.armed.delete(r.id);
  }

  private deliver(link: Link, dir: Direction, data: Uint8Array): void {
    if (data.length === 0) return;
    this.deliverAction(link, dir, () => {
      link.forwarded[dir] += data.length;
      this.forwarded[dir] += data.length;
      link.to[dir].write(data);
    });
  }

  /** Run `action` in order with the data of this direction, after the configured delay. */
  private deliverAction(link: Link, dir: Direction, action: () => void): void {
    const ms = this.delays[dir];
    const queue = link.delayed[dir];
    if (ms <= 0 && queue.length === 0) {
      action();
      return;
    }
    queue.push({ due: performance.now() + ms, action });
    if (queue.length === 1) this.drainDelayed(link, queue);
  }

  /**
   * Delayed actions leave strictly in arrival order from one FIFO per direction: one timer per link and
   * direction, never a timer per chunk (timers due within the same millisecond may fire out of order,
   * which reordered the byte stream).
   */
  private drainDelayed(link: Link, queue: Delayed[]): void {
    const head = queue[0];
    if (!head) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        while (queue.length > 0 && queue[0]!.due <= performance.now() + 1) {
          const item = queue.shift()!;
          if (link.open) item.action();
        }
        this.drainDelayed(link, queue);
      },
      Math.max(0, head.due - performance.now()),
    );
    this.timers.add(timer);
  }

  /** A side sent FIN: pass it on after the data it sent before (which may still be delayed). */
  private peerClosed(link: Link, dir: Direction): void {
    if (link.open) this.deliverAction(link, dir, () => this.closeLink(link, "fin"));
  }

  private closeLink(link: Link, how: CloseHow): void {
    if (!link.open) return;
    link.open = false;
    link.to.up.end(how);
    link.to.down.end(how);
    // A side whose socket never connected still needs closing.
    if (!link.server) link.client?.[how === "rst" ? "terminate" : "end"]();
  }
}

function dirs(d: Dirs): Direction[] {
  return d === "both" ? ["up", "down"] : [d];
}
