// Independent initiators to cross-check our data: qemu-img/qemu-io over libiscsi, and libiscsi's iscsi-ls.
// CHAP for them goes in the URL (user%password), which is on their argv: acceptable for throwaway test
// secrets only; the product never does this.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./processes.ts";

export function libiscsiUrl(o: { portal: string; iqn: string; lun: number; user?: string; password?: string }): string {
  const auth = o.user ? `${encodeURIComponent(o.user)}%${encodeURIComponent(o.password ?? "")}@` : "";
  return `iscsi://${auth}${o.portal}/${o.iqn}/${o.lun}`;
}

const INITIATOR = "iqn.2026-11.dev.iscsi:crosscheck";

/** Read `length` bytes at `offset` with qemu-img (libiscsi underneath). */
export async function qemuImgRead(url: string, offset: number, length: number): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), "iscsi-qemu-"));
  try {
    const out = join(dir, "out.bin");
    const opts = `driver=raw,offset=${offset},size=${length},file.driver=iscsi,file.transport=tcp,file.portal=${portalOf(url)},file.target=${targetOf(url)},file.lun=${lunOf(url)},file.initiator-name=${INITIATOR}`;
    const r = await run(["qemu-img", "convert", "--image-opts", opts, "-O", "raw", out]);
    if (r.code !== 0) throw new Error(`qemu-img convert failed: ${r.stderr.trim()}`);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Write `data` at `offset` with qemu-io (libiscsi underneath). */
export async function qemuImgWrite(url: string, offset: number, data: Uint8Array): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "iscsi-qemu-"));
  try {
    const src = join(dir, "in.bin");
    writeFileSync(src, data);
    const dst = `driver=raw,offset=${offset},size=${data.length},file.driver=iscsi,file.transport=tcp,file.portal=${portalOf(url)},file.target=${targetOf(url)},file.lun=${lunOf(url)},file.initiator-name=${INITIATOR}`;
    const r = await run(["qemu-img", "convert", "-n", "-f", "raw", src, "--target-image-opts", dst]);
    if (r.code !== 0) throw new Error(`qemu-img convert (write) failed: ${r.stderr.trim()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Target names iscsi-ls finds at a portal. */
export async function iscsiLs(portal: string): Promise<string[]> {
  const r = await run(["iscsi-ls", "-i", INITIATOR, `iscsi://${portal}`]);
  if (r.code !== 0) throw new Error(`iscsi-ls failed: ${r.stderr.trim()}`);
  return [...r.stdout.matchAll(/Target:(\S+)/g)].map((m) => m[1]!);
}

function parts(url: string): RegExpExecArray {
  const m = /^iscsi:\/\/(?:[^@]*@)?([^/]+)\/([^/]+)\/(\d+)$/.exec(url);
  if (!m) throw new Error(`bad libiscsi URL ${url}`);
  return m;
}
const portalOf = (url: string) => parts(url)[1]!;
const targetOf = (url: string) => parts(url)[2]!;
const lunOf = (url: string) => parts(url)[3]!;
