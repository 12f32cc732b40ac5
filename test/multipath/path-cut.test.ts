// Issue 17's must-show: one tgtd LU over two paths (two fault proxies), attached, ext4, a writer that fsyncs
// every file; the active path is cut (connections reset, new ones refused): writes go on over the other path
// without an error, `iscsi paths --json` shows 2 paths before, 1 up during the cut and 2 after; failover
// goes back to the first path (failback immediate); every acknowledged file is verified, also through qemu-img.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { createSparseFile } from "../harness/daemon.ts";
import { qemuImgRead, libiscsiUrl } from "../harness/initiators.ts";
import { pollUntil } from "../harness/processes.ts";
import { ok, sh } from "../attach/_util.ts";
import { startLab, upCount, type Lab } from "./_lab.ts";

let lab: Lab;
let mnt = "";
let device = "";
let attachmentId = 0;
let writer: ReturnType<typeof Bun.spawn> | undefined;

const manifestLines = () => readFileSync(`${lab.d.dir}/manifest`, "utf8").split("\n").filter(Boolean);

beforeAll(async () => {
  lab = await startLab({ "node.multipath.polling_interval": "1" });
});

afterAll(async () => {
  writer?.kill();
  if (mnt) await sh(`umount ${mnt}`);
  if (attachmentId) await lab?.d.cli(["detach", "--force", String(attachmentId)]);
  await lab?.stop();
});

test("a path cut under an fsync'ing writer on ext4: no error, no acknowledged byte lost, the path comes back", async () => {
  // -m node -T IQN --login logs in every portal of the target.
  const login = await lab.d.cli(["-m", "node", "-T", lab.iqn, "--login"]);
  expect(login.code).toBe(0);
  expect((await lab.json<{ sessions: unknown[] }>(["sessions"])).sessions).toHaveLength(2);
  const [dev] = await lab.devices();
  expect(dev!.paths).toHaveLength(2);
  expect(upCount(dev!)).toBe(2);
  expect(dev!.policy).toBe("failover");
  expect(dev!.wwid).toMatch(/^naa\./);
  const p1 = (await lab.d.cli(["-m", "session", "-P", "1"])).stdout;
  expect(p1.match(new RegExp(`Path of ${dev!.name} \\(LUN 1\\): up`, "g"))).toHaveLength(2);

  const a = await lab.json<{ id: number; device: string; mpath: string }>(["attach", lab.iqn, "1"]);
  attachmentId = a.id;
  device = a.device;
  expect(a.mpath).toBe(dev!.name);
  mnt = `${lab.d.dir}/mnt`;
  await ok(`mkfs.ext4 -q -F -E nodiscard ${device} && mkdir -p ${mnt} && mount ${device} ${mnt}`);

  // The writer: 64 KiB random files, each fsync'd; a file is acknowledged once dd exited 0 (its sum goes to the manifest).
  writeFileSync(`${lab.d.dir}/manifest`, "");
  const script = `set -e; i=0; while [ ! -e ${lab.d.dir}/stop ]; do i=$((i+1)); head -c 65536 /dev/urandom > ${lab.d.dir}/src; dd if=${lab.d.dir}/src of=${mnt}/f$i bs=64k conv=fsync status=none; echo "$(sha256sum < ${lab.d.dir}/src | cut -c1-64) f$i" >> ${lab.d.dir}/manifest; done`;
  writer = Bun.spawn(["bash", "-c", script], { stdout: "pipe", stderr: "pipe" });
  await pollUntil(
    () => (manifestLines().length >= 20 ? true : undefined),
    60_000,
    () => "the writer did not get going",
  );

  const before = (await lab.devices())[0]!;
  const active = before.paths.find((p) => p.active)!;
  expect(active).toBeDefined();
  const cut = lab.proxyOf(active);
  // Hold the target's answers a moment first, so writes are outstanding on the path when it is cut.
  cut.stall("down");
  await Bun.sleep(500);
  cut.refuse();
  cut.dropAll("rst");

  const during = await pollUntil(
    async () => {
      const x = (await lab.devices())[0]!;
      return upCount(x) === 1 ? x : undefined;
    },
    30_000,
    () => `the cut path never went down:\n${lab.d.log().slice(-3000)}`,
  );
  expect(during.paths).toHaveLength(2);
  expect(during.paths.find((p) => p.sid === active.sid)!.state).toBe("down");
  expect((await lab.d.cli(["-m", "session", "-P", "1"])).stdout).toMatch(/Path of mpath[a-z]+ \(LUN 1\): down/);
  const atCut = manifestLines().length;
  await pollUntil(
    () => (manifestLines().length >= atCut + 20 ? true : undefined),
    60_000,
    () => `the writer stalled during the cut:\n${lab.d.log().slice(-3000)}`,
  );
  expect(upCount((await lab.devices())[0]!)).toBe(1);

  cut.clear();
  const after = await pollUntil(
    async () => {
      const x = (await lab.devices())[0]!;
      return upCount(x) === 2 ? x : undefined;
    },
    90_000,
    () => `the cut path never came back:\n${lab.d.log().slice(-3000)}`,
  );
  expect(after.paths).toHaveLength(2);
  // Failback immediate: the first path is the active one again and carries new commands. Its return and the
  // switch back are two steps (the checker marks it up, the next selection fails back), so a single snapshot
  // may fall between them: wait for the switch, bounded.
  const back = await pollUntil(
    async () => {
      const p = (await lab.devices())[0]!.paths.find((x) => x.sid === active.sid)!;
      return p.active ? p : undefined;
    },
    30_000,
    () => `no failback to the returned path:\n${lab.d.log().slice(-3000)}`,
  );
  expect(back.active).toBe(true);
  const atReturn = manifestLines().length;
  await pollUntil(
    () => (manifestLines().length >= atReturn + 10 ? true : undefined),
    60_000,
    () => "the writer stalled after the return",
  );
  const later = (await lab.devices())[0]!.paths.find((p) => p.sid === active.sid)!;
  expect(later.counters.completed!).toBeGreaterThan(back.counters.completed!);

  writeFileSync(`${lab.d.dir}/stop`, "");
  expect(await writer.exited).toBe(0);
  expect(await new Response(writer.stderr as ReadableStream).text()).toBe("");
  const files = manifestLines();
  expect(files.length).toBeGreaterThan(50);
  const reissued = (await lab.devices())[0]!.stats.reissued!;
  console.log(`path cut: ${files.length} files acknowledged; ${reissued} commands re-issued on the other path`);
  expect(reissued).toBeGreaterThan(0);

  // Every acknowledged file, read back after a remount (cold cache) ...
  await ok(`umount ${mnt} && mount ${device} ${mnt}`);
  const check = (dir: string) =>
    ok(`cd ${dir} && while read sum name; do echo "$sum  $name"; done < ${lab.d.dir}/manifest | sha256sum -c --quiet`);
  await check(mnt);
  await ok(`umount ${mnt}`);
  mnt = "";
  await lab.json(["detach", String(attachmentId)]);
  attachmentId = 0;

  // ... and through another initiator: qemu-img copies the whole LU, the copy is mounted read-only and checked.
  const image = await qemuImgRead(libiscsiUrl({ portal: lab.t.portal, iqn: lab.iqn, lun: 1 }), 0, 64 * 1024 * 1024);
  writeFileSync(`${lab.d.dir}/copy.img`, image);
  const copy = `${lab.d.dir}/copy`;
  await ok(`mkdir -p ${copy} && mount -o loop,ro ${lab.d.dir}/copy.img ${copy}`);
  try {
    await check(copy);
  } finally {
    await sh(`umount ${copy}`);
  }
}, 300_000);

test("logging out one path of an attached device is allowed and I/O goes on; the last path is refused; a new login joins again", async () => {
  const a = await lab.json<{ id: number; device: string; mpath: string }>(["attach", lab.iqn, "1"]);
  attachmentId = a.id;
  const [dev] = await lab.devices();
  expect(upCount(dev!)).toBe(2);
  const human = (await lab.d.cli(["paths"])).stdout;
  expect(human).toContain(`${dev!.name} ${dev!.wwid} ${lab.iqn}`);
  expect(human.match(/ up /g)).toHaveLength(2);

  const [first, second] = dev!.paths;
  expect((await lab.d.cli(["logout", "--sid", String(first!.sid)])).code).toBe(0);
  expect((await lab.devices())[0]!.paths.map((p) => p.sid)).toEqual([second!.sid]);
  await ok(
    `dd if=/dev/urandom of=${lab.d.dir}/blk bs=64k count=4 status=none && dd if=${lab.d.dir}/blk of=${a.device} bs=64k oflag=direct conv=fsync status=none`,
  );
  const refused = await lab.d.cli(["logout", "--sid", String(second!.sid)]);
  expect(refused.code).toBe(28);
  expect(refused.stderr).toContain(`has LUN 1 as ${a.device} (attachment ${a.id}) attached`);

  expect(
    (await lab.d.cli(["-m", "node", "-T", lab.iqn, "-p", `${first!.portal.host}:${first!.portal.port}`, "--login"]))
      .code,
  ).toBe(0);
  const again = await pollUntil(
    async () => {
      const x = (await lab.devices())[0]!;
      return upCount(x) === 2 ? x : undefined;
    },
    30_000,
    () => "the path did not join again",
  );
  expect(again.name).toBe(dev!.name);
  const sum = (await ok(`sha256sum < ${lab.d.dir}/blk`)).slice(0, 64);
  expect((await ok(`dd if=${a.device} bs=64k count=4 iflag=direct status=none | sha256sum`)).slice(0, 64)).toBe(sum);
  await lab.json(["detach", String(a.id)]);
  attachmentId = 0;
}, 120_000);

test("a LU added while logged in becomes a second device with both paths after -m session -R", async () => {
  const file = `${lab.d.dir}/lun2.img`;
  createSparseFile(file, 16 * 1024 * 1024);
  await lab.t.tgtadm(["--mode", "logicalunit", "--op", "new", "--tid", "1", "--lun", "2", "--backing-store", file]);
  expect((await lab.devices()).length).toBe(1);
  expect((await lab.d.cli(["-m", "session", "-R"])).code).toBe(0);
  const devices = await lab.devices();
  expect(devices).toHaveLength(2);
  const added = devices.find((x) => x.paths.every((p) => p.lun === 2))!;
  expect(added.paths).toHaveLength(2);
  expect(new Set(added.paths.map((p) => p.sid)).size).toBe(2);
  expect(added.wwid).not.toBe(devices.find((x) => x !== added)!.wwid);
}, 60_000);
