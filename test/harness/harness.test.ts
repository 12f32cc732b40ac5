// Proves the harness with independent initiators: real tgtd and istgt start, libiscsi and qemu see them,
// data written through qemu survives kill -9 + restart, CHAP is enforced, and stop leaves nothing behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { type StartedTarget } from "./daemon.ts";
import { iscsiInq, iscsiLs, libiscsiUrl, qemuImgRead, qemuImgWrite } from "./initiators.ts";
import { startIstgt } from "./istgt.ts";
import { freePort, isListening, isListeningBy } from "./net.ts";
import { stopAllTargets } from "./processes.ts";
import { startTgtd } from "./tgtd.ts";

const MiB = 1024 * 1024;
const CHAP = { username: "harness-user", secret: "harness-secret-01" };
const MUTUAL = { username: "harness-target", secret: "harness-target-02" };
const WRONG = { username: CHAP.username, secret: "not-the-secret-99" };

afterAll(stopAllTargets);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** Pids of processes whose command line mentions `needle` (no pgrep: match exactly what we started). */
const processesWith = (needle: string) =>
  readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(needle);
      } catch {
        return false;
      }
    });
const urlOf = (t: StartedTarget) =>
  libiscsiUrl({ portal: t.portal, iqn: t.targets[0]!.iqn, lun: t.targets[0]!.luns[0]!.lun });
const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

const kinds = [
  {
    name: "tgtd",
    start: (o: { chap?: typeof CHAP; mutual?: typeof MUTUAL } = {}) => startTgtd({ luns: [{ sizeMiB: 16 }], ...o }),
  },
  {
    name: "istgt",
    start: (o: { chap?: typeof CHAP; mutual?: typeof MUTUAL } = {}) => startIstgt({ luns: [{ sizeMiB: 16 }], ...o }),
  },
];

for (const kind of kinds) {
  describe(`${kind.name} harness`, () => {
    let t: StartedTarget;
    beforeAll(async () => {
      t = await kind.start();
    });

    test("listens on its own loopback port and iscsi-ls lists the target and its LUN", async () => {
      expect(t.portal).toBe(`127.0.0.1:${t.port}`);
      expect(isListeningBy(t.pid, t.port)).toBe(true);
      const found = await iscsiLs(t.portal, { showLuns: true });
      const mine = found.find((x) => x.iqn === t.targets[0]!.iqn);
      expect(mine?.portal).toBe(t.portal);
      expect(mine?.luns.find((l) => l.lun === t.targets[0]!.luns[0]!.lun)?.type).toBe("DIRECT_ACCESS");
      expect((await iscsiInq(urlOf(t)))["Peripheral Device Type"]).toBe("DIRECT_ACCESS");
    });

    test("1 MiB written by qemu at an unaligned offset reads back identical and lands in the backing file", async () => {
      const data = crypto.getRandomValues(new Uint8Array(MiB));
      const offset = 3 * MiB + 12345;
      await qemuImgWrite(urlOf(t), offset, data);
      expect(same(await qemuImgRead(urlOf(t), offset, MiB), data)).toBe(true);
      const file = readFileSync(t.targets[0]!.luns[0]!.path!);
      expect(same(file.subarray(offset, offset + MiB), data)).toBe(true);
    });

    test("kill9 + restart keeps the port, the config and the data; a held connection does not block the rebind", async () => {
      const data = crypto.getRandomValues(new Uint8Array(MiB));
      await qemuImgWrite(urlOf(t), 7 * MiB, data);
      const held = await Bun.connect({ hostname: "127.0.0.1", port: t.port, socket: { data() {} } });
      const [oldPid, port] = [t.pid, t.port];
      await t.kill9();
      expect(alive(oldPid)).toBe(false);
      expect(isListening(port)).toBe(false);
      await t.restart();
      held.end();
      expect(t.port).toBe(port);
      expect(t.pid).not.toBe(oldPid);
      expect(same(await qemuImgRead(urlOf(t), 7 * MiB, MiB), data)).toBe(true);
    });

    test("stop() kills the daemon, frees the port and removes the temp dir", async () => {
      const [pid, port, dir] = [t.pid, t.port, t.dir];
      await t.stop();
      await t.stop();
      expect(alive(pid)).toBe(false);
      expect(isListening(port)).toBe(false);
      expect(existsSync(dir)).toBe(false);
      expect([...processesWith(dir), ...processesWith(`portal=127.0.0.1:${port}`)]).toEqual([]);
    });
  });

  describe(`${kind.name} harness with CHAP`, () => {
    let t: StartedTarget;
    beforeAll(async () => {
      t = await kind.start({ chap: CHAP, mutual: MUTUAL });
    });

    test("libiscsi is refused without CHAP or with a wrong secret, and accepted with the right one", async () => {
      await expect(iscsiInq(urlOf(t))).rejects.toThrow(/fail/i);
      await expect(iscsiInq(urlOf(t), { chap: WRONG })).rejects.toThrow(/fail/i);
      expect((await iscsiInq(urlOf(t), { chap: CHAP }))["Peripheral Device Type"]).toBe("DIRECT_ACCESS");
    });

    test("mutual CHAP: libiscsi accepts the target's right secret and rejects a wrong one", async () => {
      expect((await iscsiInq(urlOf(t), { chap: CHAP, mutual: MUTUAL }))["Peripheral Device Type"]).toBe(
        "DIRECT_ACCESS",
      );
      await expect(
        iscsiInq(urlOf(t), { chap: CHAP, mutual: { ...MUTUAL, secret: "wrong-target-003" } }),
      ).rejects.toThrow(/fail/i);
    });

    test("qemu reads and writes with CHAP from a secret file and is refused with a wrong secret", async () => {
      const data = crypto.getRandomValues(new Uint8Array(64 * 1024));
      await qemuImgWrite(urlOf(t), 4096, data, { chap: CHAP });
      expect(same(await qemuImgRead(urlOf(t), 4096, data.length, { chap: CHAP }), data)).toBe(true);
      await expect(qemuImgRead(urlOf(t), 0, 4096, { chap: WRONG })).rejects.toThrow(/Authentication failure/);
    });

    test("iscsi-ls discovers with CHAP credentials offered", async () => {
      expect((await iscsiLs(t.portal, { chap: CHAP })).map((x) => x.iqn)).toContain(t.targets[0]!.iqn);
    });
  });
}

describe("tgtd specifics", () => {
  test("several tgtd side by side; null LUNs, several targets, NOP-In and extra params are configured", async () => {
    const [a, b] = await Promise.all([
      startTgtd({ luns: [{ null: true }, { sizeMiB: 4, thin: true }], targets: 2, nopInterval: 5, nopCount: 3 }),
      startTgtd({ params: { MaxRecvDataSegmentLength: 16384 } }),
    ]);
    expect(a.controlPort).not.toBe(b.controlPort);
    expect(a.targets.map((x) => x.luns.map((l) => l.sizeBytes))).toEqual([
      [2 ** 40, 4 * MiB],
      [2 ** 40, 4 * MiB],
    ]);
    const found = await iscsiLs(a.portal, { showLuns: true });
    expect(found.map((x) => x.iqn).sort()).toEqual(a.targets.map((x) => x.iqn).sort());
    expect(found[0]!.luns.find((l) => l.lun === 1)?.size).toBe("1023G");
    const show = await a.tgtadm(["--mode", "target", "--op", "show", "--tid", "2"]);
    expect(show).toContain("nop_interval=5");
    expect(show).toContain("nop_count=3");
    // tgtd shows only the first value of the "CRC32C,None" list it was given.
    expect(show).toContain("HeaderDigest=CRC32C");
    expect(await b.tgtadm(["--mode", "target", "--op", "show", "--tid", "1"])).toContain(
      "MaxRecvDataSegmentLength=16384",
    );
    await Promise.all([a.stop(), b.stop()]);
    expect(existsSync(`/var/run/tgtd/socket.${a.controlPort}`)).toBe(false);
  });

  test("a requested port that is taken fails with a clear error and leaves nothing running", async () => {
    const port = freePort();
    const squatter = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    try {
      await expect(startTgtd({ port })).rejects.toThrow(
        new RegExp(`tgtd failed to bind while starting on 127.0.0.1:${port}`),
      );
      expect(processesWith(`portal=127.0.0.1:${port}`)).toEqual([]);
    } finally {
      squatter.stop(true);
    }
  });

  test("stopAllTargets() kills every target this process started", async () => {
    const [a, b] = await Promise.all([startTgtd(), startIstgt()]);
    await stopAllTargets();
    for (const t of [a, b]) {
      expect(alive(t.pid)).toBe(false);
      expect(isListening(t.port)).toBe(false);
    }
  });
});

describe("istgt specifics", () => {
  // Only header digests: libiscsi never offers DataDigest=CRC32C (see IstgtOptions.digests).
  test("UseDigest Header makes libiscsi run with header CRC32C, and data still checks out", async () => {
    const t = await startIstgt({ luns: [{ sizeMiB: 8 }], digests: "Header" });
    const data = crypto.getRandomValues(new Uint8Array(256 * 1024));
    await qemuImgWrite(urlOf(t), MiB, data);
    expect(same(await qemuImgRead(urlOf(t), MiB, data.length), data)).toBe(true);
    expect(t.log()).toContain("HeaderDigest=on, DataDigest=off");
    expect(readFileSync(t.configPath, "utf8")).toContain("UseDigest Header");
    await t.stop();
  });
});
