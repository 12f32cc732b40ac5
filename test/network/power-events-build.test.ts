// The macOS sleep/wake and network-change helper (ffi/macos/power_events.c) cross-compiles here for both Mac
// CPUs: each output is a Mach-O 64-bit executable bound two-level to libSystem, IOKit, CoreFoundation and
// SystemConfiguration. Reading the headers is all this can check: the helper has never run on a Mac.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const out = mkdtempSync(join(tmpdir(), "iscsi-power-events-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const MH_EXECUTE = 2;
const LC_LOAD_DYLIB = 0xc;
const CPU = { "darwin-arm64": 0x0100000c, "darwin-x64": 0x01000007 } as const;

/** Magic, CPU, file type and the dylibs a Mach-O 64-bit file loads (<mach-o/loader.h>, little-endian). */
function header(bytes: Uint8Array): { magic: number; cputype: number; filetype: number; dylibs: string[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (at: number) => view.getUint32(at, true);
  const dylibs: string[] = [];
  for (let at = 32, i = 0; i < u32(16); i++, at += u32(at + 4)) {
    if (u32(at) !== LC_LOAD_DYLIB) continue;
    const name = at + u32(at + 8);
    dylibs.push(new TextDecoder().decode(bytes.subarray(name, bytes.indexOf(0, name))));
  }
  return { magic: u32(0), cputype: u32(4), filetype: u32(12), dylibs };
}

test("iscsi-power-events cross-compiles to Mach-O executables for arm64 and x86_64, linked to IOKit, CoreFoundation and SystemConfiguration", async () => {
  const child = Bun.spawn(["bash", join(import.meta.dir, "../../ffi/macos/power-events-build.sh"), out], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expect(stdout.trim().split("\n")).toEqual([
    join(out, "darwin-arm64/iscsi-power-events"),
    join(out, "darwin-x64/iscsi-power-events"),
  ]);
  for (const dir of ["darwin-arm64", "darwin-x64"] as const) {
    const h = header(new Uint8Array(readFileSync(join(out, dir, "iscsi-power-events"))));
    expect(h.magic).toBe(0xfeedfacf);
    expect(h.cputype).toBe(CPU[dir]);
    expect(h.filetype).toBe(MH_EXECUTE);
    expect(h.dylibs.sort()).toEqual([
      "/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation",
      "/System/Library/Frameworks/IOKit.framework/Versions/A/IOKit",
      "/System/Library/Frameworks/SystemConfiguration.framework/Versions/A/SystemConfiguration",
      "/usr/lib/libSystem.B.dylib",
    ]);
  }
}, 120_000);
