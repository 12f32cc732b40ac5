// `iscsi service`: the systemd unit passes `systemd-analyze verify` without a complaint (a broken one does not),
// the launchd plist is well-formed XML with the keys launchd needs, and --root keeps everything in a temp dir.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchdPlist, selfCommand, systemdUnit } from "../../src/cli/_service-files.ts";
import { MAIN } from "../harness/iscsid.ts";

const dir = mkdtempSync(join(tmpdir(), "iscsi-service-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ANALYZE = Bun.which("systemd-analyze");

function verify(text: string): { code: number; output: string } {
  const path = join(dir, "iscsi.service");
  writeFileSync(path, text);
  const r = Bun.spawnSync([ANALYZE!, "verify", path], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? 1, output: (r.stdout.toString() + r.stderr.toString()).trim() };
}

/** A small XML well-formedness check: one root, tags nested and closed, attributes quoted, entities known. */
function xmlProblem(text: string): string | undefined {
  const body = text.replace(/^<\?xml[^?]*\?>\s*/, "").replace(/^<!DOCTYPE[^>]*>\s*/, "");
  const stack: string[] = [];
  let roots = 0;
  const re = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  for (const m of body.matchAll(re)) {
    if (m[6]) return `stray "<" at ${m.index}`;
    if (m[5] !== undefined) {
      if (stack.length === 0 && m[5].trim() !== "") return "text outside the root element";
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(m[5])) return "unknown entity";
      continue;
    }
    const [, close, name, , selfClose] = m;
    if (close) {
      if (stack.pop() !== name) return `</${name}> does not close the open element`;
    } else {
      if (stack.length === 0) roots++;
      if (!selfClose) stack.push(name!);
    }
  }
  if (stack.length) return `<${stack.at(-1)}> is never closed`;
  return roots === 1 ? undefined : `${roots} root elements`;
}

describe("service files", () => {
  const command = selfCommand([process.execPath, MAIN]);

  test("from source the service runs bun with the entry script; compiled, the binary alone", () => {
    expect(command).toEqual([process.execPath, MAIN]);
    expect(selfCommand(["bun", "/$bunfs/root/iscsi"], "/usr/local/bin/iscsi")).toEqual(["/usr/local/bin/iscsi"]);
  });

  test.skipIf(!ANALYZE)(
    "systemd-analyze verify accepts the unit without a word, and does complain about a broken one",
    () => {
      const unit = systemdUnit({ command: [...command.slice(0, 1), "/path with space/main.ts"] });
      expect(unit).toContain("ExecStart=" + process.execPath + ' "/path with space/main.ts" daemon');
      expect(verify(systemdUnit({ command }))).toEqual({ code: 0, output: "" });
      expect(verify(systemdUnit({ command }).replace("Restart=on-failure", "Restart=sometimes")).output).toMatch(
        /restart/i,
      );
    },
  );

  test("the unit comes up before remote filesystems (where _netdev mounts of its disks wait), not before local ones", () => {
    const unit = systemdUnit({ command: ["/usr/local/bin/iscsi"] });
    expect(unit).toMatch(/^Before=remote-fs-pre\.target$/m);
    expect(unit).toMatch(/^Wants=remote-fs-pre\.target$/m);
    expect(unit).toMatch(/^After=network\.target$/m);
    expect(unit).not.toContain("local-fs.target\n");
    expect(unit).not.toMatch(/^(After|Wants)=network-online\.target/m);
  });

  test("the plist is well-formed XML with Label, ProgramArguments, RunAtLoad and KeepAlive; XML in paths is escaped", () => {
    const plist = launchdPlist({ command: ["/opt/a&b/<iscsi>"] });
    expect(xmlProblem(plist)).toBeUndefined();
    expect(xmlProblem(plist.replace("</array>", ""))).toBeDefined();
    expect(xmlProblem("<a><b></a></b>")).toBeDefined();
    for (const key of ["Label", "ProgramArguments", "RunAtLoad", "KeepAlive"])
      expect(plist).toContain(`<key>${key}</key>`);
    expect(plist).toContain("<string>dev.iscsi.daemon</string>");
    expect(plist).toContain("<string>/opt/a&amp;b/&lt;iscsi&gt;</string>\n\t\t<string>daemon</string>");
  });

  test("install/status/uninstall under --root write only there (both platforms), as a user runs them", async () => {
    const root = join(dir, "root");
    const run = async (args: string[]) => {
      const p = Bun.spawn([process.execPath, MAIN, "service", ...args, "--root", root, "--json"], {
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr, code] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
        p.exited,
      ]);
      return { out: code === 0 ? JSON.parse(stdout) : undefined, stderr, code };
    };
    const linux = await run(["install", "--platform", "linux"]);
    expect(linux.code).toBe(0);
    expect(linux.out).toMatchObject({ path: join(root, "etc/systemd/system/iscsi.service"), loaded: false });
    if (ANALYZE) expect(linux.out.checked).toBe("checked with systemd-analyze");
    expect(readFileSync(linux.out.path, "utf8")).toContain(`ExecStart=${process.execPath} ${MAIN} daemon`);
    const mac = await run(["install", "--platform", "darwin"]);
    expect(mac.out.path).toBe(join(root, "Library/LaunchDaemons/dev.iscsi.daemon.plist"));
    expect(xmlProblem(readFileSync(mac.out.path, "utf8"))).toBeUndefined();
    expect((await run(["status", "--platform", "linux"])).out).toMatchObject({ installed: true });
    expect((await run(["uninstall", "--platform", "linux"])).out).toMatchObject({ removed: true });
    expect(existsSync(linux.out.path)).toBe(false);
    expect((await run(["status", "--platform", "linux"])).out).toMatchObject({ installed: false });
    expect((await run(["install", "--platform", "windows"])).code).toBe(7);
  });
});
