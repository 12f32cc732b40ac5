// The CLI as a user runs it (`bun src/main.ts …`), against a tgtd started by the test: stdout, stderr and
// exit codes; a 16 MiB write/read round trip; secrets kept off argv.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTgtd, type StartedTarget } from "../harness/tgtd.ts";
import { freePort } from "../harness/processes.ts";
import { libiscsiUrl, qemuImgRead } from "../harness/initiators.ts";
import { firstDifference, randomData } from "./_util.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const CHAP = { username: "carol", secret: "carol-secret-abcdef" };

async function cli(args: string[], env: Record<string, string> = {}) {
  // No daemon for these: point the CLI at a socket that does not exist so it never records into a real one.
  const p = Bun.spawn([process.execPath, MAIN, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ISCSI_SOCKET: "/nonexistent/iscsi-test.sock", ...env },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { stdout, stderr, code };
}

let t: StartedTarget;
let chapTarget: StartedTarget;
let dir: string;
beforeAll(async () => {
  [t, chapTarget] = await Promise.all([
    startTgtd({ luns: [{ sizeMiB: 32 }] }),
    startTgtd({ luns: [{ sizeMiB: 8 }], chap: CHAP }),
  ]);
  dir = mkdtempSync(join(tmpdir(), "iscsi-cli-"));
});
afterAll(async () => {
  await Promise.all([t?.stop(), chapTarget?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("iscsi discover", () => {
  test("--json lists the target and its portal", async () => {
    const r = await cli(["discover", t.portal, "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.targets.map((x: { name: string }) => x.name)).toContain(t.targets[0]!.iqn);
    expect(out.targets[0].portals[0].port).toBe(t.port);
  });

  test("discover --json and -m discovery --json print the same object, with a schemaVersion", async () => {
    const native = await cli(["discover", t.portal, "--json"]);
    const adm = await cli(["-m", "discovery", "-t", "st", "-p", t.portal, "--json"]);
    expect(native.code).toBe(0);
    expect(adm.code).toBe(0);
    const out = JSON.parse(native.stdout);
    expect(out).toEqual(JSON.parse(adm.stdout));
    expect(out).toMatchObject({ schemaVersion: 1, portal: { host: "127.0.0.1", port: t.port }, recorded: false });
    expect(out.targets[0].portals[0]).toEqual({ host: "127.0.0.1", port: t.port, tpgt: 1 });
  });

  test("the human form is iscsiadm's PORTAL,TPGT IQN", async () => {
    const r = await cli(["discover", t.portal]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`127.0.0.1:${t.port},1  ${t.targets[0]!.iqn}`);
  });

  test("a closed port is a transport error with exit code 4 on stderr", async () => {
    const r = await cli(["discover", `127.0.0.1:${freePort()}`]);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/cannot connect to 127\.0\.0\.1:\d+: connection refused/);
  });
});

describe("iscsi luns", () => {
  test("lists LUN 1 as a 32 MiB disk, in JSON and as a table", async () => {
    const url = `iscsi://${t.portal}/${t.targets[0]!.iqn}`;
    const j = await cli(["luns", url, "--json"]);
    expect(j.code).toBe(0);
    const lun1 = JSON.parse(j.stdout).luns.find((l: { lun: number }) => l.lun === 1);
    expect(lun1.bytes).toBe(String(32 << 20));
    expect(lun1.deviceType).toBe("direct access block device");
    const h = await cli(["luns", "--portal", t.portal]);
    expect(h.stdout).toMatch(/32\.0 MiB/);
  });
});

describe("iscsi write / read", () => {
  test("16 MiB written then read back are identical, and qemu-img sees the same bytes", async () => {
    const data = randomData(16 << 20);
    const input = join(dir, "in.bin");
    const output = join(dir, "out.bin");
    writeFileSync(input, data);
    const url = `iscsi://${t.portal}/${t.targets[0]!.iqn}/1`;
    const w = await cli(["write", url, "-i", input, "--offset", "4M", "--json"]);
    expect(w.code).toBe(0);
    expect(JSON.parse(w.stdout).bytes).toBe(16 << 20);
    const r = await cli([
      "read",
      "--portal",
      t.portal,
      "--target",
      t.targets[0]!.iqn,
      "--lun",
      "1",
      "-o",
      output,
      "--offset",
      "4M",
      "--length",
      "16M",
    ]);
    expect(r.code).toBe(0);
    expect(firstDifference(new Uint8Array(readFileSync(output)), data)).toBe(-1);
    const independent = await qemuImgRead(
      libiscsiUrl({ portal: t.portal, iqn: t.targets[0]!.iqn, lun: 1 }),
      4 << 20,
      16 << 20,
    );
    expect(firstDifference(independent, data)).toBe(-1);
  });

  test("a range past the end of the LUN is refused before any I/O (exit 7) and leaves an existing file intact", async () => {
    const existing = join(dir, "existing.txt");
    writeFileSync(existing, "precious\n");
    for (const range of [
      ["--offset", "31M", "--length", "2M"],
      ["--length", "10G"],
    ]) {
      const r = await cli(["read", `iscsi://${t.portal}/${t.targets[0]!.iqn}/1`, "-o", existing, ...range]);
      expect(r.code).toBe(7);
      expect(r.stderr).toMatch(/beyond the end of the LUN/);
      expect(readFileSync(existing, "utf8")).toBe("precious\n");
    }
    expect(readdirSync(dir).filter((f) => f.includes(".tmp"))).toEqual([]);
  });

  test("-i - reads stdin and -o - streams to stdout, in order", async () => {
    const data = randomData(3 << 20);
    const url = `iscsi://${t.portal}/${t.targets[0]!.iqn}/1`;
    const w = Bun.spawn([process.execPath, MAIN, "write", url, "-i", "-", "--offset", "1M", "--io-size", "64k"], {
      stdin: new Blob([data]),
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ISCSI_SOCKET: "/nonexistent/iscsi-test.sock" },
    });
    const [wErr, wCode] = await Promise.all([new Response(w.stderr).text(), w.exited]);
    expect({ wCode, wErr }).toMatchObject({ wCode: 0 });
    const r = Bun.spawn(
      [process.execPath, MAIN, "read", url, "-o", "-", "--offset", "1M", "--length", "3M", "--io-size", "64k"],
      { stdout: "pipe", stderr: "pipe", env: { ...process.env, ISCSI_SOCKET: "/nonexistent/iscsi-test.sock" } },
    );
    const [out, rErr, code] = await Promise.all([
      new Response(r.stdout).bytes(),
      new Response(r.stderr).text(),
      r.exited,
    ]);
    expect({ code, rErr }).toMatchObject({ code: 0 });
    expect(firstDifference(out, data)).toBe(-1);
  });

  test("a reader that closes the pipe early (| head) ends the read quietly, without a stack trace", async () => {
    const url = `iscsi://${t.portal}/${t.targets[0]!.iqn}/1`;
    const p = Bun.spawn(
      [
        "bash",
        "-c",
        `"$0" "$1" read "$2" -o - | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"`,
        process.execPath,
        MAIN,
        url,
      ],
      { stdout: "pipe", stderr: "pipe", env: { ...process.env, ISCSI_SOCKET: "/nonexistent/iscsi-test.sock" } },
    );
    const [stdout, stderr] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    expect(stdout.trim()).toBe("141"); // what a shell reports for a tool stopped by SIGPIPE
    expect(stderr).toBe("");
  });
});

describe("errors a user can act on", () => {
  test("a LUN that does not exist is named with the LUNs that do (exit 21)", async () => {
    const r = await cli(["read", `iscsi://${t.portal}/${t.targets[0]!.iqn}/7`, "-o", join(dir, "none.bin")]);
    expect(r.code).toBe(21);
    expect(r.stderr).toBe(
      `iscsi: ${t.targets[0]!.iqn} has no LUN 7; its LUNs: 0 (storage array controller device), 1 (disk)\n`,
    );
  });

  test("a URL without a LUN reads the target's only disk LUN, not the controller at LUN 0", async () => {
    const r = await cli([
      "read",
      `iscsi://${t.portal}/${t.targets[0]!.iqn}`,
      "-o",
      join(dir, "only.bin"),
      "--length",
      "4k",
      "--json",
    ]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(r.stdout).lun).toBe(1);
  });

  test("a port that accepts and never answers fails after the login timeout, saying so (exit 8)", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const r = await cli(["luns", `iscsi://127.0.0.1:${silent.port}/${t.targets[0]!.iqn}`, "--login-timeout", "1"]);
      expect(r.code).toBe(8);
      expect(r.stderr).toBe(
        `iscsi: login to 127.0.0.1:${silent.port} timed out after 1 s: the target accepted the connection but did not answer the login (is this an iSCSI port?)\n`,
      );
    } finally {
      silent.stop(true);
    }
  });

  test("a target name the portal does not have fails at once, printed once (exit 19)", async () => {
    const r = await cli(["luns", `iscsi://${t.portal}/iqn.2026-11.dev.iscsi.test:no-such-target`]);
    expect(r.code).toBe(19);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/target not found/);
  });
});

describe("arguments and secrets", () => {
  test("a malformed URL names what is wrong (exit 7)", async () => {
    const r = await cli(["luns", "iscsi:/nohost"]);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/invalid iSCSI URL/);
  });

  test("a password in the URL is refused: it would be visible in ps", async () => {
    const r = await cli(["luns", `iscsi://carol%secret@${chapTarget.portal}/${chapTarget.targets[0]!.iqn}`]);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/visible in `ps`/);
  });

  test("CHAP with the secret from the environment works; a wrong one is exit 24 and is never printed", async () => {
    const url = `iscsi://${CHAP.username}@${chapTarget.portal}/${chapTarget.targets[0]!.iqn}`;
    const ok = await cli(["luns", url, "--json"], { ISCSI_CHAP_SECRET: CHAP.secret });
    expect(ok.code).toBe(0);
    expect(ok.stdout + ok.stderr).not.toContain(CHAP.secret);
    const bad = await cli(["luns", url], { ISCSI_CHAP_SECRET: "carol-wrong-secret-1" });
    expect(bad.code).toBe(24);
    expect(bad.stderr).toMatch(/authentication failure/);
    expect(bad.stdout + bad.stderr).not.toContain("carol-wrong-secret-1");
  });

  test("CHAP with the secret from a file works", async () => {
    const file = join(dir, "secret");
    writeFileSync(file, CHAP.secret + "\n", { mode: 0o600 });
    const r = await cli([
      "luns",
      `iscsi://${CHAP.username}@${chapTarget.portal}/${chapTarget.targets[0]!.iqn}`,
      "--chap-secret-file",
      file,
    ]);
    expect(r.code).toBe(0);
  });

  test("an unknown subcommand exits 7 and suggests the closest one", async () => {
    const r = await cli(["frobnicate"]);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/unknown command "frobnicate"/);
    expect((await cli(["wirte"])).stderr).toMatch(/did you mean write\?/);
  });

  test("-m discoverydb -o delete without -p is refused, not taken as a listing (exit 7)", async () => {
    const r = await cli(["-m", "discoverydb", "-o", "delete"]);
    expect(r.code).toBe(7);
    expect(r.stderr).toBe("iscsi: -m discoverydb -o delete needs the record: -t st|isns -p PORTAL[:PORT]\n");
  });

  test("--help of a nested command shows that command's usage", async () => {
    const r = await cli(["service", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("USAGE `iscsi service install|uninstall|status`");
  });

  test("--version prints the version", async () => {
    const r = await cli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^iscsi \d+\.\d+\.\d+/);
  });
});

describe("iscsi demo", () => {
  test("runs end to end and leaves no tgtd behind", async () => {
    const r = await cli(["demo", "--size", "8M", "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.steps.map((s: { step: string }) => s.step)).toEqual([
      "target",
      "discover",
      "login",
      "inquiry",
      "write",
      "read",
      "verify",
      "logout",
      "stop",
    ]);
    const pid = Number(/tgtd pid (\d+)/.exec(out.steps[0].detail)![1]);
    expect(() => process.kill(pid, 0)).toThrow();
  }, 60_000);
});
