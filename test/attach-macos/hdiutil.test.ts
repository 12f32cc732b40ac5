// hdiutil argv construction and `hdiutil attach -plist` parsing (src/attach/macos/hdiutil.ts, plist.ts).
// Nothing here runs hdiutil: this machine is Linux. The fixtures are written for these tests in the shapes
// public hdiutil -plist captures show: key names and nesting as in Homebrew/brew's
// Library/Homebrew/test/system_command_result_spec.rb (a partitioned image: whole disk + slices, content-hint,
// unmapped-content-hint, potentially-mountable, mount-point, volume-kind, and text printed before the XML);
// the raw-image case (one whole-disk entry, nothing mounted) is what hdiutil(1) describes for -nomount.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { attachArgv, detachArgv, deviceFromAttachPlist } from "../../src/attach/macos/hdiutil.ts";
import { parsePlist, PlistError } from "../../src/attach/macos/plist.ts";

const HEAD = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">`;

/** A raw image with no partition map attached with -nomount: one whole-disk entry. */
const RAW_NOMOUNT = `${HEAD}
<plist version="1.0">
<dict>
	<key>system-entities</key>
	<array>
		<dict>
			<key>dev-entry</key>
			<string>/dev/disk7</string>
			<key>potentially-mountable</key>
			<false/>
		</dict>
	</array>
</dict>
</plist>
`;

/** A LUN that already holds a GUID partition table with an APFS container: disk + slices, one mounted. */
const PARTITIONED = `Checksumming whole disk…
${HEAD}
<plist version="1.0">
<dict>
	<key>system-entities</key>
	<array>
		<dict>
			<key>content-hint</key>
			<string>GUID_partition_scheme</string>
			<key>dev-entry</key>
			<string>/dev/disk12</string>
			<key>potentially-mountable</key>
			<false/>
			<key>unmapped-content-hint</key>
			<string>GUID_partition_scheme</string>
		</dict>
		<dict>
			<key>content-hint</key>
			<string>EFI</string>
			<key>dev-entry</key>
			<string>/dev/disk12s1</string>
			<key>potentially-mountable</key>
			<false/>
		</dict>
		<dict>
			<key>content-hint</key>
			<string>Apple_APFS</string>
			<key>dev-entry</key>
			<string>/dev/disk12s2</string>
			<key>mount-point</key>
			<string>/Volumes/Data &amp; Backups</string>
			<key>potentially-mountable</key>
			<true/>
			<key>volume-kind</key>
			<string>apfs</string>
		</dict>
	</array>
</dict>
</plist>
`;

describe("hdiutil argv", () => {
  test("attach: raw image class, no mount, no verify, plist output, file last", () => {
    expect(attachArgv("/var/run/iscsi/attach-3/lun0.img")).toEqual([
      "/usr/bin/hdiutil",
      "attach",
      "-imagekey",
      "diskimage-class=CRawDiskImage",
      "-nomount",
      "-noverify",
      "-plist",
      "/var/run/iscsi/attach-3/lun0.img",
    ]);
  });

  test("attach read-only adds -readonly before the file", () => {
    const argv = attachArgv("/tmp/x/lun0.img", { readOnly: true });
    expect(argv.slice(-2)).toEqual(["-readonly", "/tmp/x/lun0.img"]);
  });

  test("attach refuses a relative path (it could also start with '-' and read as an option)", () => {
    expect(() => attachArgv("-nomount")).toThrow(/must be absolute/);
    expect(() => attachArgv("lun0.img")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  test("detach: whole-disk device, -force only when asked", () => {
    expect(detachArgv("/dev/disk7")).toEqual(["/usr/bin/hdiutil", "detach", "/dev/disk7"]);
    expect(detachArgv("/dev/disk7", { force: true })).toEqual(["/usr/bin/hdiutil", "detach", "-force", "/dev/disk7"]);
  });

  test("detach refuses slices, raw nodes and anything else", () => {
    for (const bad of ["/dev/disk7s1", "/dev/rdisk7", "disk7", "/dev/disk", "/dev/disk7; rm -rf /", "/Volumes/Data"]) {
      expect(() => detachArgv(bad)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    }
  });
});

describe("hdiutil attach -plist output", () => {
  test("raw image, nothing mounted: the one whole disk", () => {
    expect(deviceFromAttachPlist(RAW_NOMOUNT)).toBe("/dev/disk7");
  });

  test("partitioned image after a progress line: the whole disk, not a slice", () => {
    expect(deviceFromAttachPlist(PARTITIONED)).toBe("/dev/disk12");
  });

  test("entities decode fully: booleans, entities in strings, every dev-entry in order", () => {
    const root = parsePlist(PARTITIONED) as { "system-entities": Array<Record<string, unknown>> };
    const entities = root["system-entities"];
    expect(entities.map((e) => e["dev-entry"])).toEqual(["/dev/disk12", "/dev/disk12s1", "/dev/disk12s2"]);
    expect(entities[2]!["mount-point"]).toBe("/Volumes/Data & Backups");
    expect(entities.map((e) => e["potentially-mountable"])).toEqual([false, false, true]);
  });

  test("no whole disk, or two, is an error naming the entries", () => {
    const slicesOnly = RAW_NOMOUNT.replace("/dev/disk7", "/dev/disk7s1");
    expect(() => deviceFromAttachPlist(slicesOnly)).toThrow(/0 whole disks .*\/dev\/disk7s1/);
    const two = PARTITIONED.replace("/dev/disk12s1", "/dev/disk13");
    expect(() => deviceFromAttachPlist(two)).toThrow(/2 whole disks/);
  });

  test("output that is not a plist, or lacks system-entities, is a clear error", () => {
    expect(() => deviceFromAttachPlist("hdiutil: attach failed - no such file or directory")).toThrow(
      /not a property list.*no <plist> element/,
    );
    expect(() => deviceFromAttachPlist(`${HEAD}<plist version="1.0"><dict/></plist>`)).toThrow(/no system-entities/);
    expect(() => deviceFromAttachPlist(RAW_NOMOUNT.replace("</array>", ""))).toThrow(
      expect.objectContaining({ code: "GENERIC" }),
    );
  });
});

describe("property list reader", () => {
  test("every value type", () => {
    const value = parsePlist(`<plist version="1.0"><dict>
      <key>s</key><string>a &lt;b&gt; &#x41;&#66;</string><key>empty</key><string/>
      <key>i</key><integer>-42</integer><key>r</key><real>2.5</real>
      <key>t</key><true/><key>f</key><false/>
      <key>d</key><data>AAEC
        /w==</data>
      <key>when</key><date>2026-11-01T10:00:00Z</date>
      <key>list</key><array><integer>1</integer><array/><dict/></array>
      <!-- a comment between entries -->
    </dict></plist>`) as Record<string, unknown>;
    expect(value.s).toBe("a <b> AB");
    expect(value.empty).toBe("");
    expect(value.i).toBe(-42);
    expect(value.r).toBe(2.5);
    expect(value.t).toBe(true);
    expect(value.f).toBe(false);
    expect(value.d).toEqual(new Uint8Array([0, 1, 2, 255]));
    expect((value.when as Date).toISOString()).toBe("2026-11-01T10:00:00.000Z");
    expect(value.list).toEqual([1, [], {}]);
  });

  test("malformed input names what and where", () => {
    const cases: Array<[string, RegExp]> = [
      [`<plist><dict><string>x</string></dict></plist>`, /expected <key> in <dict>/],
      [`<plist><dict><key>k</key></dict></plist>`, /<key>k<\/key> has no value/],
      [`<plist><integer>12x</integer></plist>`, /bad <integer> 12x/],
      [`<plist><integer>99999999999999999999</integer></plist>`, /bad <integer>/],
      [`<plist><string>a &nbsp; b</string></plist>`, /unknown entity &nbsp;/],
      [`<plist><string>x</plist>`, /missing <\/string>/],
      [`<plist><dict><key>k</key><string>v</string>`, /unexpected end of input/],
      [`<plist><blob>1</blob></plist>`, /unknown element <blob>/],
      [`<plist><array>stray<true/></array></plist>`, /unexpected text/],
    ];
    for (const [text, message] of cases) {
      let caught: unknown;
      try {
        parsePlist(text);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(PlistError);
      expect((caught as Error).message).toMatch(message);
      expect((caught as Error).message).toMatch(/at offset \d+$/);
    }
  });
});

describe("driver/Info.plist", () => {
  const driver = join(import.meta.dir, "../../driver");
  const info = parsePlist(readFileSync(join(driver, "Info.plist"), "utf8")) as Record<string, any>;
  const classesIn = (file: string) =>
    [...readFileSync(join(driver, file), "utf8").matchAll(/^class (\w+)\s*:/gm)].map((m) => m[1]);

  test("personalities: bootstrap nub on IOUserResources, the controller on the nub, the user client class", () => {
    const { IscsiHBABootstrap: nub, IscsiHBA: hba } = info.IOKitPersonalities;
    expect(nub.IOProviderClass).toBe("IOUserResources");
    expect(nub.IscsiVirtualHBA).toBe(true);
    expect(hba.IOProviderClass).toBe("IOUserService");
    expect(hba.IOPropertyMatch).toEqual({ IscsiVirtualHBA: true });
    expect(hba.IOClass).toBe("IOUserSCSIParallelInterfaceController");
    expect(hba.CFBundleIdentifierKernel).toBe("com.apple.iokit.IOSCSIParallelFamily");
    for (const p of [nub, hba]) expect(p.IOUserServerName).toBe(info.CFBundleIdentifier);
    expect(classesIn("IscsiHBABootstrap.iig")).toEqual([nub.IOUserClass]);
    expect(classesIn("IscsiHBA.iig")).toEqual([hba.IOUserClass]);
    expect(classesIn("IscsiHBAUserClient.iig")).toEqual([hba.UserClientProperties.IOUserClass]);
  });

  test("the IOKit client looks the controller up by its IOUserClass", () => {
    const header = readFileSync(join(import.meta.dir, "../../ffi/macos/iokit_client.h"), "utf8");
    expect(header).toContain(`#define ISCSI_DK_SERVICE_NAME "${info.IOKitPersonalities.IscsiHBA.IOUserClass}"`);
  });

  test("the app's user-client entitlement names the dext's bundle identifier", () => {
    const app = parsePlist(readFileSync(join(driver, "iscsi.entitlements"), "utf8")) as Record<string, unknown>;
    expect(app["com.apple.developer.driverkit.userclient-access"]).toEqual([info.CFBundleIdentifier]);
  });
});
