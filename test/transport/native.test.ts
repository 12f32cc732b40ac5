// The native (bun:ffi) TCP transport against real loopback sockets: bytes both ways in order, reads placed
// straight into a named buffer, a stopped receiver (EAGAIN and the writable doorbell), close by us or the
// peer (FIN and RST) reported once, refused connects, and no descriptor or thread left behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import type { Socket, TCPSocketListener } from "bun";
import { connectNative } from "../../src/transport/native.ts";
import { loadNative } from "../../src/transport/native-lib.ts";
import type { TransportHandlers } from "../../src/transport/types.ts";
import { ensureNativeLib } from "../harness/native.ts";
import { freePort } from "../harness/net.ts";

const fds = () => readdirSync("/proc/self/fd").length;
const threads = () => readdirSync("/proc/self/task").length;
const pattern = (n: number, seed: number) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 131 + seed + (i >> 8)) & 0xff;
  return out;
};
const sha = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

/** Collects what a transport delivers, copying lent chunks, and how it closed. */
function collector() {
  const got: Uint8Array[] = [];
  let closes = 0;
  let error: Error | undefined;
  let onClose: () => void = () => {};
  const closed = new Promise<void>((r) => (onClose = r));
  const handlers: TransportHandlers = {
    data: (chunk, lent) => void got.push(lent ? chunk.slice() : chunk),
    close: (e) => {
      closes++;
      error = e;
      onClose();
    },
  };
  const bytes = () => Bun.concatArrayBuffers(got, Infinity, true);
  return { handlers, bytes, closed, closes: () => closes, error: () => error };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("condition not met in time");
    await Bun.sleep(5);
  }
}

/** A loopback server whose `onSocket` decides what each accepted connection does. */
let server: TCPSocketListener<undefined>;
let onSocket: (s: Socket<undefined>) => void = () => {};
let onData: (s: Socket<undefined>, d: Uint8Array) => void = () => {};
beforeAll(() => {
  ensureNativeLib();
  server = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: { binaryType: "uint8array", open: (s) => onSocket(s), data: (s, d) => onData(s, d) },
  });
});
afterAll(() => server.stop(true));

describe("native transport", () => {
  test("8 MiB from the peer arrive in order (read by Bun: no large segment is placed)", async () => {
    const data = pattern(8 << 20, 1);
    let at = 0;
    // The peer writes as fast as its socket takes it, resuming on drain, then closes (FIN).
    const push = (s: Socket<undefined>) => {
      while (at < data.length) {
        const n = s.write(data.subarray(at, Math.min(data.length, at + (1 << 20))));
        if (n <= 0) return;
        at += n;
      }
      s.end();
    };
    const source = Bun.listen<undefined>({
      hostname: "127.0.0.1",
      port: 0,
      socket: { open: push, drain: push, data() {} },
    });
    try {
      const t = await connectNative("127.0.0.1", source.port);
      const c = collector();
      t.attach(c.handlers);
      await c.closed;
      expect(c.bytes().length).toBe(data.length);
      expect(sha(c.bytes())).toBe(sha(data));
      expect(c.closes()).toBe(1);
      expect(c.error()?.message).toMatch(/closed by the target/);
    } finally {
      source.stop(true);
    }
  });

  test("a large segment goes straight into the buffer placement() names, through the watcher while it trickles in", async () => {
    const data = pattern(1 << 20, 2);
    const start = 100 * 1024;
    const r = segmentReceiver(start, 512 * 1024);
    const th0 = threads();
    onSocket = (s) => void trickle(s, data, start, 16);
    const t = await connectNative("127.0.0.1", server.port);
    t.attach(r.handlers);
    await until(() => r.streamAt >= start + 64 * 1024);
    const during = threads();
    await until(() => r.closed);
    expect(r.streamAt).toBe(data.length);
    expect(r.dest).toEqual(data.subarray(start, start + r.dest.length));
    expect(r.placedBytes).toBeGreaterThan(256 * 1024);
    expect(r.bytes()).toEqual(
      Bun.concatArrayBuffers([data.subarray(0, start), data.subarray(start + r.dest.length)], Infinity, true),
    );
    expect(during).toBe(th0 + 1); // the watcher thread, started once large segments flowed
    await until(() => threads() === th0);
  });

  test("32 MiB in 5000 pieces to a stopped receiver: the queue waits for writability and delivers in order", async () => {
    const pieces: Uint8Array[] = [];
    for (let i = 0, left = 32 << 20; left > 0; i++) {
      const n = Math.min(left, i % 7 === 0 ? 48 : 1 + ((i * 7919) % 13000));
      pieces.push(pattern(n, i));
      left -= n;
    }
    const total = pieces.reduce((n, p) => n + p.length, 0);
    const all = Bun.concatArrayBuffers(pieces, Infinity, true);
    // The receiver is a separate process, so SIGSTOP really stops it reading.
    const sink = Bun.spawn([process.execPath, "-e", SINK], {
      stdout: "pipe",
      stderr: "inherit",
      env: { ...process.env, BYTES: String(total) },
    });
    const reader = sink.stdout.getReader();
    const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
    try {
      const t = await connectNative("127.0.0.1", port);
      const c = collector();
      t.attach(c.handlers);
      sink.kill("SIGSTOP");
      for (let i = 0; i < pieces.length; i += 100) t.send(pieces.slice(i, i + 100));
      await Bun.sleep(300);
      expect(t.queuedBytes).toBeGreaterThan(0); // the kernel's buffers are full; the rest waits with us
      expect(t.queuedBytes).toBeLessThan(total);
      sink.kill("SIGCONT");
      await t.drained();
      expect(t.queuedBytes).toBe(0);
      const answer = new TextDecoder().decode((await reader.read()).value).trim();
      expect(answer).toBe(`${total} ${sha(all)}`);
      t.close();
      expect(c.closes()).toBe(1);
      expect(c.error()).toBeUndefined();
    } finally {
      sink.kill("SIGKILL");
      await sink.exited;
    }
  });

  test("a peer reset (RST) is reported once, as an error naming the peer", async () => {
    onSocket = (s) => setTimeout(() => s.terminate(), 50);
    const t = await connectNative("127.0.0.1", server.port);
    const c = collector();
    t.attach(c.handlers);
    await c.closed;
    await Bun.sleep(50);
    expect(c.closes()).toBe(1);
    expect(c.error()?.message).toContain(`127.0.0.1:${server.port}`);
    expect(t.closed).toBe(true);
    t.send([new Uint8Array(10)]); // ignored once closed
    expect(t.queuedBytes).toBe(0);
    await t.drained();
  });

  test("closed by us while the watcher waits, 10 times: close reported once each, no descriptor or thread left", async () => {
    const data = pattern(300 * 1024, 3);
    // The peer sends the start of a large segment, a little more once our watcher runs, then nothing:
    // we end up with Bun's reading paused and the watcher armed.
    onSocket = (s) => {
      s.write(data.subarray(0, 150 * 1024));
      setTimeout(() => s.write(data.subarray(150 * 1024, 170 * 1024)), 30);
    };
    const round = async () => {
      const threadsBefore = threads();
      const r = segmentReceiver(100 * 1024, 200 * 1024);
      const t = await connectNative("127.0.0.1", server.port);
      t.attach(r.handlers);
      t.send([pattern(1000, 1)]);
      await t.drained();
      await until(() => r.streamAt === 170 * 1024);
      await Bun.sleep(20);
      expect(threads()).toBeGreaterThan(threadsBefore);
      t.close();
      t.close();
      expect(r.closes).toBe(1);
      expect(r.dest.subarray(0, 70 * 1024)).toEqual(data.subarray(100 * 1024, 170 * 1024));
    };
    await round(); // lazily created runtime threads and descriptors go into the baseline
    await Bun.sleep(100);
    const [fd0, th0] = [fds(), threads()];
    for (let i = 0; i < 10; i++) await round();
    await until(() => fds() <= fd0 && threads() <= th0, 5000);
    expect(fds()).toBeLessThanOrEqual(fd0);
    expect(threads()).toBeLessThanOrEqual(th0);
  });

  test("a peer reset in the middle of a placed segment is reported once, as an error", async () => {
    const data = pattern(400 * 1024, 4);
    onSocket = (s) => {
      s.write(data.subarray(0, 150 * 1024));
      setTimeout(() => s.terminate(), 100);
    };
    const r = segmentReceiver(10 * 1024, 300 * 1024);
    const t = await connectNative("127.0.0.1", server.port);
    t.attach(r.handlers);
    await until(() => r.closed);
    await Bun.sleep(50);
    expect(r.closes).toBe(1);
    expect(r.error?.message).toContain(`127.0.0.1:${server.port}`);
    expect(r.streamAt).toBe(150 * 1024);
    expect(r.dest.subarray(0, 140 * 1024)).toEqual(data.subarray(10 * 1024, 150 * 1024));
  });

  test("a refused connect rejects with a TransportError naming the peer, and leaves nothing open", async () => {
    const port = freePort();
    const fd0 = fds();
    const err = await connectNative("127.0.0.1", port).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe("TRANSPORT");
    expect(err?.message).toContain(`127.0.0.1:${port}`);
    await until(() => fds() <= fd0, 2000);
  });

  test("an unknown host name is a TransportError naming it", async () => {
    const err = await connectNative("no-such-host.invalid", 3260).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe("TRANSPORT");
    expect(err?.message).toContain("no-such-host.invalid:3260");
  });
});

describe("the shim library", () => {
  test("is loaded once per process", async () => {
    expect(loadNative()).toBe(loadNative());
    expect((await loadNative()).symbols.nt_abi_version()).toBe(3);
  });

  test("a missing one named by ISCSI_NET_LIB is a TransportError naming the path", async () => {
    const code = `import { connectNative } from "${import.meta.dir}/../../src/transport/native.ts";
      connectNative("127.0.0.1", 1).then(() => console.log("connected"), (e) => console.log(e.code, e.message));`;
    const r = Bun.spawnSync([process.execPath, "-e", code], {
      env: { ...process.env, ISCSI_NET_LIB: "/nonexistent/libiscsi_net.so" },
    });
    expect(r.stdout.toString().trim()).toBe(
      "TRANSPORT $ISCSI_NET_LIB names /nonexistent/libiscsi_net.so, which does not exist: unset ISCSI_NET_LIB or point it at libiscsi_net.so",
    );
  });
});

/** Plays the framer: bytes [start, start + length) of the stream belong in `dest`, the rest is collected. */
interface SegmentReceiver {
  dest: Uint8Array;
  streamAt: number;
  placedBytes: number;
  closes: number;
  closed: boolean;
  error: Error | undefined;
  bytes(): Uint8Array;
  handlers: TransportHandlers;
}

function segmentReceiver(start: number, length: number): SegmentReceiver {
  const dest = new Uint8Array(length);
  const got: Uint8Array[] = [];
  const r: SegmentReceiver = {
    dest,
    streamAt: 0,
    placedBytes: 0,
    closes: 0,
    closed: false,
    error: undefined,
    bytes: () => Bun.concatArrayBuffers(got, Infinity, true),
    handlers: {
      data: (chunk, lent) => {
        // Bytes of the segment that arrive in a chunk are copied into place, as the framer does.
        const from = Math.max(r.streamAt, start);
        const to = Math.min(r.streamAt + chunk.length, start + length);
        if (from < to) dest.set(chunk.subarray(from - r.streamAt, to - r.streamAt), from - start);
        const before = chunk.subarray(0, Math.max(0, Math.min(chunk.length, start - r.streamAt)));
        const after = chunk.subarray(Math.max(0, Math.min(chunk.length, start + length - r.streamAt)));
        for (const part of [before, after]) if (part.length) got.push(lent ? part.slice() : part);
        r.streamAt += chunk.length;
      },
      placement: () =>
        r.streamAt >= start && r.streamAt < start + length
          ? { rest: dest.subarray(r.streamAt - start), segmentLength: length }
          : undefined,
      placed: (n) => {
        if (n <= 0 || r.streamAt + n > start + length)
          throw new Error(`placed ${n} at ${r.streamAt}: outside the segment`);
        r.placedBytes += n;
        r.streamAt += n;
      },
      close: (e) => {
        r.closes++;
        r.closed = true;
        r.error = e;
      },
    },
  };
  return r;
}

/** Send `data`: everything before `start` at once, then the rest in `pieces` writes 10 ms apart, then FIN. */
async function trickle(s: Socket<undefined>, data: Uint8Array, start: number, pieces: number): Promise<void> {
  s.write(data.subarray(0, start));
  const step = Math.ceil((data.length - start) / pieces);
  for (let at = start; at < data.length; at += step) {
    await Bun.sleep(10);
    const piece = data.subarray(at, Math.min(data.length, at + step));
    let off = 0;
    while (off < piece.length) {
      const n = s.write(piece.subarray(off));
      if (n < 0) return;
      off += n;
      if (off < piece.length) await Bun.sleep(1);
    }
  }
  s.end();
}

/** Receiver process: prints its port, then "<bytes> <sha256>" once it has read $BYTES bytes. */
const SINK = `
const want = Number(process.env.BYTES);
const hash = new Bun.CryptoHasher("sha256");
let got = 0;
const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data(s, d) {
  hash.update(d); got += d.length;
  if (got >= want) { console.log(got + " " + hash.digest("hex")); }
} } });
console.log(l.port);
setInterval(() => {}, 1000);
`;
