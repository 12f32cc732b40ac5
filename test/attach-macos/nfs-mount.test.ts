// The macOS NFS route's command lines (src/attach/macos/nfs-mount.ts): mount_nfs with every option the route
// depends on, umount, and finding our stale mounts in `mount` output. Nothing here runs on a Mac; the `mount`
// lines follow the shape macOS prints (`SOURCE on DIR (nfs, options...)`).
import { expect, test } from "bun:test";
import { exportPathOf } from "../../src/attach/nfs/attachment.ts";
import { mountArgv, mountOptions, ourNfsMounts, unmountArgv } from "../../src/attach/macos/nfs-mount.ts";

test("mount_nfs gets NFSv3 over TCP on one port, a reserved source port, hard+intr, mutejukebox, 1 MiB I/O, nobrowse, no locks", () => {
  const path = exportPathOf("iqn.2026-12.example:disk", 1);
  expect(mountArgv(40123, path, "/var/root/iscsi/attach/nfs-1")).toEqual([
    "/sbin/mount_nfs",
    "-o",
    "vers=3,tcp,port=40123,mountport=40123,resvport,nolocks,hard,intr,mutejukebox,rwsize=1048576,nobrowse",
    `127.0.0.1:${path}`,
    "/var/root/iscsi/attach/nfs-1",
  ]);
  expect(() => mountOptions(0)).toThrow(/NFS port 0 is not 1..65535/);
  expect(() => mountArgv(1, "/etc", "/x")).toThrow(/not an export of ours/);
  expect(() => mountArgv(1, path, "rel")).toThrow(/must be absolute/);
  expect(unmountArgv("/d", true)).toEqual(["/sbin/umount", "-f", "/d"]);
  expect(unmountArgv("/d", false)).toEqual(["/sbin/umount", "/d"]);
});

test("export paths are stable per target and LUN and distinct between them", () => {
  expect(exportPathOf("iqn.a", 1)).toBe(exportPathOf("iqn.a", 1));
  expect(new Set([exportPathOf("iqn.a", 1), exportPathOf("iqn.a", 2), exportPathOf("iqn.b", 1)]).size).toBe(3);
  expect(exportPathOf("iqn.a", 1)).toMatch(/^\/iscsi\/[0-9a-f]{16}$/);
});

test("only mounts of our exports are found as stale, mount points with spaces included", () => {
  const ours = exportPathOf("iqn.a", 1);
  const output = [
    "/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)",
    `127.0.0.1:${ours} on /private/var/root/Library/Application Support/iscsi/attach/nfs-1 (nfs, nodev, nosuid, mounted by root)`,
    "127.0.0.1:/export on /Volumes/other (nfs, asynchronous)",
    "fuse-t:/vol on /Volumes/vol (nfs, nodev, nosuid, mounted by me)",
    `10.0.0.1:${ours} on /Volumes/remote (nfs)`,
  ].join("\n");
  expect(ourNfsMounts(output)).toEqual(["/private/var/root/Library/Application Support/iscsi/attach/nfs-1"]);
});

test("scripts/macos-smoke.sh parses and refuses to run without its confirmation", async () => {
  const script = `${import.meta.dir}/../../scripts/macos-smoke.sh`;
  expect(Bun.spawnSync(["bash", "-n", script]).exitCode).toBe(0);
  const r = Bun.spawnSync(["bash", script, "iqn.x", "1"], { stderr: "pipe" });
  expect(r.exitCode).toBe(64);
  expect(r.stderr.toString()).toContain("--yes   (erases the LUN)");
});
