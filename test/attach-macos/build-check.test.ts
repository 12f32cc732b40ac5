// The macOS C code (ring + HBA bridge + IOKit client) cross-compiles on Linux for both Mac CPUs
// (ffi/macos/build-check.sh, clang + ld64.lld + the stand-ins in ffi/macos/stubs/): each output is a Mach-O
// 64-bit dylib for the right CPU, bound two-level to IOKit and libSystem, exporting the client's C API.
// Reading the headers is all this can check; the libraries have never been loaded on a Mac.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FFI = join(import.meta.dir, "../../ffi");
const MH_MAGIC_64 = 0xfeedfacf;
const MH_DYLIB = 6;
const MH_NOUNDEFS = 0x1;
const MH_TWOLEVEL = 0x80;
const LC_LOAD_DYLIB = 0xc;
const LC_ID_DYLIB = 0xd;
const LC_CODE_SIGNATURE = 0x1d;
const LC_BUILD_VERSION = 0x32;
const PLATFORM_MACOS = 1;
const CPU = { arm64: 0x0100000c, x86_64: 0x01000007 } as const;

interface MachO {
  magic: number;
  cputype: number;
  filetype: number;
  flags: number;
  idDylib?: string;
  loads: string[];
  platform?: number;
  minos?: string;
  signed: boolean;
}

/** mach_header_64 and the load commands after it (<mach-o/loader.h> layouts, little-endian). */
function readMachO(bytes: Uint8Array): MachO {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (at: number) => view.getUint32(at, true);
  const cstring = (at: number) => new TextDecoder().decode(bytes.subarray(at, bytes.indexOf(0, at)));
  const out: MachO = { magic: u32(0), cputype: u32(4), filetype: u32(12), flags: u32(24), loads: [], signed: false };
  let at = 32;
  for (let i = 0, n = u32(16); i < n; i++) {
    const cmd = u32(at);
    const size = u32(at + 4);
    if (cmd === LC_LOAD_DYLIB) out.loads.push(cstring(at + u32(at + 8)));
    if (cmd === LC_ID_DYLIB) out.idDylib = cstring(at + u32(at + 8));
    if (cmd === LC_CODE_SIGNATURE) out.signed = true;
    if (cmd === LC_BUILD_VERSION) {
      out.platform = u32(at + 8);
      const minos = u32(at + 12);
      out.minos = `${minos >>> 16}.${(minos >>> 8) & 0xff}`;
    }
    at += size;
  }
  return out;
}

const outDir = mkdtempSync(join(tmpdir(), "iscsi-build-check-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("ffi/macos/build-check.sh", () => {
  test("builds libiscsi_hba.dylib for darwin-arm64 and darwin-x64", async () => {
    const child = Bun.spawn(["bash", join(FFI, "macos/build-check.sh"), "--out", outDir], {
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
      join(outDir, "darwin-arm64/libiscsi_hba.dylib"),
      join(outDir, "darwin-x64/libiscsi_hba.dylib"),
    ]);
  }, 180_000);

  for (const [dir, arch] of [
    ["darwin-arm64", "arm64"],
    ["darwin-x64", "x86_64"],
  ] as const) {
    test(`${dir}: Mach-O 64-bit ${arch} dylib bound to IOKit and libSystem, macOS 11+`, () => {
      const bytes = new Uint8Array(readFileSync(join(outDir, dir, "libiscsi_hba.dylib")));
      const macho = readMachO(bytes);
      expect(macho.magic).toBe(MH_MAGIC_64);
      expect(macho.cputype).toBe(CPU[arch]);
      expect(macho.filetype).toBe(MH_DYLIB);
      // Two-level namespace with no undefined symbol left unbound: every import names its library.
      expect(macho.flags & (MH_NOUNDEFS | MH_TWOLEVEL)).toBe(MH_NOUNDEFS | MH_TWOLEVEL);
      expect(macho.idDylib).toBe("@rpath/libiscsi_hba.dylib");
      expect(macho.loads.sort()).toEqual([
        "/System/Library/Frameworks/IOKit.framework/Versions/A/IOKit",
        "/usr/lib/libSystem.B.dylib",
      ]);
      expect({ platform: macho.platform, minos: macho.minos }).toEqual({ platform: PLATFORM_MACOS, minos: "11.0" });
      // Apple Silicon runs only signed code, so the linker signs arm64 output ad hoc; x86_64 needs none.
      expect(macho.signed).toBe(arch === "arm64");
      const text = new TextDecoder("latin1").decode(bytes);
      for (const symbol of [
        "_iscsi_dk_open",
        "_iscsi_dk_set_target",
        "_iscsi_dk_close",
        "_iscsi_hba_bridge_notify",
        "_iscsi_ring_create",
        "_IOConnectMapMemory64",
      ]) {
        expect(text).toContain(`${symbol}\0`);
      }
    });
  }
});
