// The key interop cases on the native (bun:ffi) transport, chosen explicitly (and once as "auto", the default):
// login with and without CHAP, 64 MiB at QD16 in 4 KiB, 64 KiB and 1 MiB I/Os read back identical and
// cross-checked by qemu-img, both digests, istgt, and a tgtd killed mid-workload (ERL0 recovery) losing nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readRange, writeRange } from "../../src/session/transfer.ts";
import type { LogicalUnit } from "../../src/session/logical-unit.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";
import { startIstgt } from "../harness/istgt.ts";
import { libiscsiUrl, qemuImgRead, qemuImgWrite } from "../harness/initiators.ts";
import { ensureNativeLib } from "../harness/native.ts";
import {
  digestRoundTrip,
  enc,
  expectSurvivedKill,
  firstDifference,
  mixedRoundTrip,
  openLu,
  openSession,
  randomData,
  writeThroughKill,
} from "./_util.ts";

const MiB = 1 << 20;
const native = { transport: "native" } as const;
const CHAP = { username: "alice", secret: "alice-secret-0123" };

/** The session really runs on the native transport (not the default one). */
const onNative = (lu: LogicalUnit) => expect(lu.session.connection.transport.constructor.name).toBe("NativeTransport");

beforeAll(() => void ensureNativeLib());

describe("tgtd on the native transport", () => {
  let t: TgtdTarget;
  let iqn: string;
  beforeAll(async () => {
    t = await startTgtd({ luns: [{ sizeMiB: 80 }] });
    iqn = t.targets[0]!.iqn;
  });
  afterAll(async () => {
    await t?.stop();
  });

  test("64 MiB of random data at QD16 in 4 KiB, 64 KiB and 1 MiB I/Os reads back identical, also through qemu-img", async () => {
    const lu = await openLu(t.port, iqn, 1, { queueDepth: 32, ...native });
    onNative(lu);
    const data = randomData(64 * MiB);
    expect(await mixedRoundTrip(lu, data)).toEqual([-1, -1, -1]);
    expect(firstDifference(await qemuImgRead(libiscsiUrl({ portal: t.portal, iqn, lun: 1 }), 0, 64 * MiB), data)).toBe(
      -1,
    );
  }, 120_000);

  test("a session on `auto` (the default) runs on the native transport here; `bun` still gives Bun's", async () => {
    for (const [transport, expected] of [
      ["auto", "NativeTransport"],
      ["bun", "TcpTransport"],
    ] as const) {
      const lu = await openLu(t.port, iqn, 1, { transport });
      try {
        expect([transport, lu.session.connection.transport.constructor.name]).toEqual([transport, expected]);
        expect(lu.capacity!.bytes).toBe(BigInt(80 * MiB));
      } finally {
        await lu.session.logout();
      }
    }
  });

  test("data written by qemu-img reads back identical through us", async () => {
    const data = randomData(4 * MiB);
    await qemuImgWrite(libiscsiUrl({ portal: t.portal, iqn, lun: 1 }), 70 * MiB, data);
    const lu = await openLu(t.port, iqn, 1, native);
    try {
      const bs = lu.capacity!.blockSize;
      expect(firstDifference(await lu.read(BigInt((70 * MiB) / bs), (4 * MiB) / bs), data)).toBe(-1);
    } finally {
      await lu.session.logout();
    }
  });

  test("header and data digests (CRC32C) negotiate and carry verified data", async () => {
    const lu = await openLu(t.port, iqn, 1, {
      proposal: { headerDigest: ["CRC32C"], dataDigest: ["CRC32C"] },
      ...native,
    });
    onNative(lu);
    try {
      await digestRoundTrip(lu);
    } finally {
      await lu.session.logout();
    }
  });
});

test("CHAP login on the native transport; a wrong secret is still an authentication error", async () => {
  const t = await startTgtd({ luns: [{ sizeMiB: 8 }], chap: CHAP });
  try {
    const iqn = t.targets[0]!.iqn;
    const s = await openSession(t.port, iqn, {
      auth: { method: "CHAP", username: CHAP.username, secret: enc(CHAP.secret) },
      ...native,
    });
    expect(s.negotiated.authMethod).toBe("CHAP");
    await s.logout();
    const err = await openSession(t.port, iqn, {
      auth: { method: "CHAP", username: CHAP.username, secret: enc("wrong-secret-9999") },
      ...native,
    }).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe("AUTH_FAILED");
  } finally {
    await t.stop();
  }
});

test("istgt: 16 MiB in 1 MiB and 4 KiB I/Os at QD16 read back identical on the native transport", async () => {
  const t = await startIstgt({ luns: [{ sizeMiB: 16 }] });
  try {
    const { iqn, luns } = t.targets[0]!;
    const lu = await openLu(t.port, iqn, luns[0]!.lun, { queueDepth: 16, ...native });
    onNative(lu);
    const data = randomData(16 * MiB);
    try {
      await writeRange(lu, { offset: 0, length: 12 * MiB, ioSize: MiB, queueDepth: 16 }, (at, len) =>
        data.subarray(at, at + len),
      );
      await writeRange(lu, { offset: 12 * MiB, length: 4 * MiB, ioSize: 4096, queueDepth: 16 }, (at, len) =>
        data.subarray(12 * MiB + at, 12 * MiB + at + len),
      );
      const back = new Uint8Array(data.length);
      await readRange(lu, { offset: 0, length: 16 * MiB, ioSize: MiB, queueDepth: 16 }, (at, d) => back.set(d, at));
      expect(firstDifference(back, data)).toBe(-1);
    } finally {
      await lu.session.logout();
    }
  } finally {
    await t.stop();
  }
}, 60_000);

test("tgtd killed mid-workload (QD16) and back 3 s later: nothing acknowledged is lost, I/O resumes", async () => {
  const t = await startTgtd({ luns: [{ sizeMiB: 16 }] });
  try {
    const lu = await openLu(t.port, t.targets[0]!.iqn, 1, { queueDepth: 32, ...native });
    lu.session.recoveryOptions.replacementTimeoutMs = 60_000;
    const bs = lu.capacity!.blockSize;
    const killed = await writeThroughKill(lu, t, { size: 16 * MiB, chunk: 256 * 1024, downMs: 3000 });
    const { model } = killed;
    expectSurvivedKill(lu, killed);
    onNative(lu); // the replacement connection too
    const all = new Uint8Array(16 * MiB);
    for (let at = 0; at < all.length; at += MiB) all.set(await lu.read(BigInt(at / bs), MiB / bs), at);
    expect(firstDifference(all, model)).toBe(-1);
    await lu.session.logout();
    expect(
      firstDifference(
        await qemuImgRead(libiscsiUrl({ portal: t.portal, iqn: t.targets[0]!.iqn, lun: 1 }), 0, 16 * MiB),
        model,
      ),
    ).toBe(-1);
  } finally {
    await t.stop();
  }
}, 60_000);
