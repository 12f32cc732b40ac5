// One rig of the network tests: a lab namespace with tgtd behind a veth link, our daemon in the main namespace
// with the LUN attached (FUSE + loop) and ext4 mounted on it (or the raw device), a writer that records each
// acknowledged fsync (fsync_writer.c), and the checks at the end: every acknowledged step read back through the
// mount, then, after detaching, by an independent initiator (qemu-img over libiscsi) from the raw LU.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { fuseMounts, loopDevices, ok, sh, TMP } from "../attach/_util.ts";
import { libiscsiUrl } from "../harness/initiators.ts";
import { TestDaemon } from "../harness/iscsid.ts";
import { NetLab, type Veth } from "../harness/netlab.ts";
import { expectSuccess, runTool } from "../harness/processes.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";

export const STEP_BYTES = 16384;
/** Compile fsync_writer.c into `dir` (each rig its own copy, removed with the rig). */
async function writer(dir: string): Promise<string> {
  const path = join(dir, "fsync_writer");
  if (!existsSync(path)) await ok(`gcc -O2 -Wall -Werror -o ${path} ${import.meta.dir}/fsync_writer.c`);
  return path;
}

/** The 16 KiB the writer puts down in step `i`. */
export function stepBytes(i: number): Uint8Array {
  const out = new Uint8Array(STEP_BYTES);
  const view = new DataView(out.buffer);
  for (let w = 0; w < STEP_BYTES / 8; w++) {
    view.setUint32(w * 8, w, true);
    view.setUint32(w * 8 + 4, i, true);
  }
  return out;
}

export interface WriterResult {
  acked: number[];
  failed: Array<{ step: number; errno: number }>;
  /** Longest single step (write + fsync) in ms: how long an application saw its fsync stall. */
  longestStallMs: number;
  /** Steps that finished between two marks of time (ms since the writer started). */
  steps: Array<{ step: number; ok: boolean; startMs: number; endMs: number }>;
}

export class Writer {
  private constructor(
    private readonly child: Subprocess,
    private readonly ackLog: string,
    private readonly stopFile: string,
  ) {}

  static async start(mode: "files" | "blocks", path: string, work: string, pauseMs = 0): Promise<Writer> {
    const ackLog = join(work, `acks-${mode}`);
    const stopFile = join(work, `stop-${mode}`);
    rmSync(stopFile, { force: true });
    writeFileSync(ackLog, "");
    const child = Bun.spawn([await writer(work), mode, path, ackLog, stopFile, String(pauseMs)], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    });
    return new Writer(child, ackLog, stopFile);
  }

  /** What the writer recorded so far. */
  read(): WriterResult {
    const r: WriterResult = { acked: [], failed: [], longestStallMs: 0, steps: [] };
    let origin: number | undefined;
    for (const line of readFileSync(this.ackLog, "utf8").split("\n")) {
      const f = line.split(" ");
      if (f[0] !== "ok" && f[0] !== "err") continue;
      const step = Number(f[1]);
      const [start, end] = (f[0] === "ok" ? [f[2], f[3]] : [f[3], f[4]]).map((x) => Number(BigInt(x!) / 1000n) / 1000);
      origin ??= start!;
      r.steps.push({ step, ok: f[0] === "ok", startMs: start! - origin, endMs: end! - origin });
      r.longestStallMs = Math.max(r.longestStallMs, end! - start!);
      if (f[0] === "ok") r.acked.push(step);
      else r.failed.push({ step, errno: Number(f[2]) });
    }
    return r;
  }

  /** Steps acknowledged so far. */
  get ackedCount(): number {
    return this.read().acked.length;
  }

  async stop(timeoutMs = 120_000): Promise<WriterResult> {
    writeFileSync(this.stopFile, "");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await this.child.exited;
    clearTimeout(timer);
    return this.read();
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}

export interface RigOptions {
  /** node.session.timeo.replacement_timeout in seconds (default 120). */
  replacementTimeout?: number;
  /** "ext4" (default): mkfs and mount; "raw": the writer uses the block device. */
  fs?: "ext4" | "raw";
  /** Size of the LUN (default 64 MiB; the writer puts down 16 KiB per step and never reuses a name). */
  lunMiB?: number;
  /** Extra links from the main namespace to the target's namespace (interface switch). */
  links?: number;
  /** The target's address (default: its end of the first link). */
  targetHost?: (rig: Rig) => Promise<string>;
  /** The portal the node is recorded with and attached through (default: the target's portal). */
  portal?: (rig: Rig) => Promise<string>;
  /** Before the first discovery (more addresses, discovery records, host names). */
  prepare?: (rig: Rig) => Promise<void>;
}

export class Rig {
  lab!: NetLab;
  ns!: string;
  links: Veth[] = [];
  target!: TgtdTarget;
  daemon!: TestDaemon;
  work!: string;
  device = "";
  mnt = "";
  iqn = "";
  portal = "";
  private readonly writers: Writer[] = [];
  /** Where an independent initiator reaches the target now (a test that moves the target sets it). */
  targetPortal = "";

  /** Build it all; on failure everything made so far is removed before the error is rethrown. */
  static async start(opts: RigOptions = {}): Promise<Rig> {
    const r = new Rig();
    try {
      await r.build(opts);
    } catch (err) {
      await r.destroy().catch(() => {});
      throw err;
    }
    return r;
  }

  private async build(opts: RigOptions): Promise<void> {
    this.work = mkdtempSync(join(TMP, "iscsi-netev-"));
    this.lab = await NetLab.create();
    this.ns = await this.lab.namespace();
    for (let i = 0; i < (opts.links ?? 1); i++)
      this.links.push(await this.lab.veth(undefined, this.ns, { metric: 100 * (i + 1) }));
    const host = opts.targetHost ? await opts.targetHost(this) : this.links[0]!.b.address;
    this.target = await startTgtd({ luns: [{ sizeMiB: opts.lunMiB ?? 64 }], netns: { name: this.ns, host } });
    this.iqn = this.target.targets[0]!.iqn;
    this.daemon = new TestDaemon();
    await this.daemon.start();
    await opts.prepare?.(this);
    this.portal = opts.portal ? await opts.portal(this) : this.target.portal;
    await this.cliOk(["-m", "discovery", "-t", "sendtargets", "-p", this.target.portal]);
    if (this.portal !== this.target.portal)
      await this.cliOk(["-m", "node", "-o", "new", "-T", this.iqn, "-p", this.portal]);
    const update = (n: string, v: string) =>
      this.cliOk(["-m", "node", "-T", this.iqn, "-p", this.portal, "-o", "update", "-n", n, "-v", v]);
    await update("node.session.timeo.replacement_timeout", String(opts.replacementTimeout ?? 120));
    const a = JSON.parse(await this.cliOk(["attach", "--portal", this.portal, this.iqn, "1", "--json"]));
    this.device = a.device;
    if ((opts.fs ?? "ext4") === "ext4") {
      await ok(`mkfs.ext4 -q -F -E nodiscard ${this.device}`);
      this.mnt = join(this.work, "mnt");
      mkdirSync(this.mnt);
      await ok(`mount ${this.device} ${this.mnt} && mkdir ${this.mnt}/w`);
    }
  }

  async cliOk(args: string[]): Promise<string> {
    const r = await this.daemon.cli(args);
    if (r.code !== 0) throw new Error(`iscsi ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  async sessions(): Promise<
    Array<{
      sid: number;
      state: string;
      portal: { host: string; port: number };
      stats: Record<string, number>;
      history: Array<{ event: string; detail: string }>;
    }>
  > {
    return JSON.parse(await this.cliOk(["sessions", "--json"])).sessions;
  }

  /** Wait until the (only) session is in full feature phase again with at least `reinstatements`. */
  async untilReinstated(reinstatements: number, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = (await this.sessions())[0];
      if (s && s.state === "full-feature" && (s.stats.reinstatements ?? 0) >= reinstatements) return;
      if (Date.now() > deadline)
        throw new Error(
          `session not reinstated within ${timeoutMs} ms: ${JSON.stringify(s?.state)} ${JSON.stringify(s?.history?.slice(-3))}\ndaemon log:\n${this.daemon.log().slice(-3000)}`,
        );
      await Bun.sleep(250);
    }
  }

  /** `pauseMs` between steps bounds the space a long run takes (each step keeps 16 KiB for good). */
  async startWriter(pauseMs = 0): Promise<Writer> {
    const w = this.mnt
      ? await Writer.start("files", join(this.mnt, "w"), this.work, pauseMs)
      : await Writer.start("blocks", this.device, this.work, pauseMs);
    this.writers.push(w);
    return w;
  }

  /** Let the writer get `n` more steps acknowledged (proof that I/O flows). */
  async progress(w: Writer, n: number, timeoutMs = 60_000): Promise<void> {
    const want = w.ackedCount + n;
    const deadline = Date.now() + timeoutMs;
    while (w.ackedCount < want) {
      if (Date.now() > deadline) {
        const s = (await this.sessions())[0];
        throw new Error(
          `writer made no progress for ${timeoutMs} ms (${w.ackedCount} acked, want ${want}); session ${JSON.stringify(s?.state)} ${JSON.stringify(s?.history?.slice(-4))}\ndaemon log:\n${this.daemon.log().slice(-3000)}`,
        );
      }
      await Bun.sleep(100);
    }
  }

  /** Every acknowledged step, read back through the mount (or the device): a list of the ones that differ. */
  async checkThroughMount(result: WriterResult): Promise<number[]> {
    const bad: number[] = [];
    if (this.mnt) {
      // A child reads (never this thread, which serves the FUSE file behind the mount), the names from a file.
      const list = join(this.work, "acked-files");
      writeFileSync(list, result.acked.map((i) => `${this.mnt}/w/f${String(i).padStart(6, "0")}\n`).join(""));
      const p = Bun.spawn(["bash", "-c", `echo 3 > /proc/sys/vm/drop_caches; xargs -d '\\n' -a ${list} cat`], {
        stdout: "pipe",
        stderr: "pipe",
      });
      const all = new Uint8Array(await new Response(p.stdout).arrayBuffer());
      await p.exited;
      result.acked.forEach((i, k) => {
        if (!same(all.subarray(k * STEP_BYTES, (k + 1) * STEP_BYTES), stepBytes(i))) bad.push(i);
      });
      return bad;
    }
    const dump = join(this.work, "device.bin");
    await ok(`dd if=${this.device} of=${dump} bs=1M iflag=direct status=none`);
    const all = new Uint8Array(readFileSync(dump));
    for (const i of result.acked)
      if (!same(all.subarray(i * STEP_BYTES, (i + 1) * STEP_BYTES), stepBytes(i))) bad.push(i);
    rmSync(dump, { force: true });
    return bad;
  }

  /** Unmount and detach, then read the raw LU with qemu-img (libiscsi) and check every acknowledged step there. */
  async checkIndependently(result: WriterResult): Promise<number[]> {
    if (this.mnt) await ok(`umount ${this.mnt}`);
    await this.cliOk(["detach", this.device]);
    const image = join(this.work, "lu.raw");
    const url = libiscsiUrl({ portal: this.targetPortal || this.target.portal, iqn: this.iqn, lun: 1 });
    const argv = ["qemu-img", "convert", "-f", "raw", "-O", "raw", url, image];
    expectSuccess(argv, await runTool(argv, { timeoutMs: 120_000 }));
    const bad: number[] = [];
    if (this.mnt) {
      const fsck = await sh(`e2fsck -fn ${image}`);
      if (fsck.code !== 0)
        throw new Error(`e2fsck of the LU read by qemu-img found problems:\n${fsck.stdout.slice(-2000)}`);
      const out = join(this.work, "rdump");
      mkdirSync(out);
      await ok(`debugfs -R "rdump /w ${out}" ${image}`);
      for (const i of result.acked) {
        const path = join(out, "w", `f${String(i).padStart(6, "0")}`);
        if (!existsSync(path) || !same(new Uint8Array(readFileSync(path)), stepBytes(i))) bad.push(i);
      }
    } else {
      const all = new Uint8Array(readFileSync(image));
      for (const i of result.acked)
        if (!same(all.subarray(i * STEP_BYTES, (i + 1) * STEP_BYTES), stepBytes(i))) bad.push(i);
    }
    rmSync(image, { force: true });
    this.device = "";
    return bad;
  }

  /** Remove everything, whatever state the rig is in; checks that nothing of it is left. */
  async destroy(): Promise<void> {
    for (const w of this.writers) w.kill(); // a failed test leaves its writer running
    if (this.mnt) await sh(`mountpoint -q ${this.mnt} && umount -l ${this.mnt}`);
    if (this.daemon) {
      if (this.device) await this.daemon.cli(["detach", this.device, "--force"]).catch(() => undefined);
      if (this.daemon.pid) process.kill(this.daemon.pid, "SIGCONT"); // a sleep test may have stopped it
      await this.daemon.stop();
      const left = [...fuseMounts(this.daemon.stateDir), ...loopDevices(this.daemon.stateDir)];
      if (left.length > 0) throw new Error(`left behind: ${left.join(", ")}`);
    }
    await this.target?.stop();
    await this.lab?.destroy();
    if (this.work) rmSync(this.work, { recursive: true, force: true });
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a.length === b.length &&
    Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0
  );
}

/**
 * Start a scenario now and collect its outcome later: rigs run side by side (started in beforeAll), each test
 * awaits its own. A failure is kept until then (no unhandled rejection meanwhile) and rethrown there.
 */
export function inBackground<T>(run: () => Promise<T>): () => Promise<T> {
  const settled = run().then(
    (value) => ({ value }),
    (error: Error) => ({ error }),
  );
  return async () => {
    const r = await settled;
    if ("error" in r) throw r.error;
    return r.value;
  };
}
