// The daemon process and the CLI's errors, as users meet them: no daemon, malformed requests on the socket,
// a bad config file, a socket other users cannot open, a second daemon, stale sockets, bad arguments.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAIN, TestDaemon } from "../harness/iscsid.ts";

let d: TestDaemon;
beforeAll(async () => {
  d = new TestDaemon();
  await d.start();
});
afterAll(() => d?.stop());

/** Raw lines to the control socket; resolves with every answer line once the daemon closes or `count` arrived. */
function raw(socket: string, payload: string, count: number): Promise<Array<Record<string, any>>> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    let buf = "";
    const done = () => {
      c.destroy();
      resolve(
        buf
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      );
    };
    c.on("connect", () => c.write(payload));
    c.on("data", (b) => {
      buf += b.toString();
      if (buf.split("\n").filter(Boolean).length >= count) done();
    });
    c.on("close", done);
    c.on("error", reject);
  });
}

describe("without a daemon", () => {
  const env = { ISCSI_SOCKET: join(tmpdir(), `iscsi-absent-${process.pid}.sock`) };

  test.each([[["-m", "session"]], [["sessions"]], [["status"]], [["-m", "node", "-L", "all"]], [["login", "--all"]]])(
    "%p says the daemon is not running and how to start it (exit 20)",
    async (args) => {
      const r = await d.cli(args, { env });
      expect(r.code).toBe(20);
      expect(r.stderr).toMatch(
        /the iscsi daemon is not running \(no one listens on .*iscsi-absent.*\.sock\); start it with `sudo iscsi daemon`/,
      );
    },
  );
});

describe("control socket", () => {
  test("malformed requests each get an INVALID_REQUEST answer naming the problem; the connection and daemon go on", async () => {
    const answers = await raw(
      d.socket,
      'garbage\n{"op":"nope"}\n{"op":"discover","id":3}\n{"op":"node.update","name":"x"}\n{"op":"ping","id":5}\n',
      5,
    );
    expect(answers.slice(0, 4).map((a) => [a.ok, a.error.code])).toEqual(Array(4).fill([false, "INVALID_REQUEST"]));
    expect(answers[0]!.error.message).toBe("request is not valid JSON");
    expect(answers[1]!.error.message).toMatch(/^unknown op "nope"/);
    expect(answers[2]).toMatchObject({
      id: 3,
      error: { message: expect.stringMatching(/^invalid discover request: portal: /) },
    });
    expect(answers[3]!.error.message).toMatch(/^invalid node\.update request: value: /);
    expect(answers[4]).toMatchObject({ id: 5, ok: true, result: { pid: d.pid } });
    expect(d.log()).toMatch(/refused a request: unknown op "nope"/);
  });

  test("a flood without newline is cut off; the daemon still answers others", async () => {
    const answers = await raw(d.socket, "x".repeat(100_000), 1);
    expect(answers[0]).toMatchObject({
      ok: false,
      error: { code: "INVALID_REQUEST", message: "line longer than 65536 bytes" },
    });
    expect((await raw(d.socket, '{"op":"ping"}\n', 1))[0]!.ok).toBe(true);
  });

  test("the socket is mode 0600 and owned by root; another user cannot connect (and could with 0666)", async () => {
    const st = statSync(d.socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(process.getuid!());
    chmodSync(d.dir, 0o755); // only the socket's own mode stands in the way now
    const asNobody = async () => {
      const p = Bun.spawn(
        [
          "setpriv",
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          process.execPath,
          MAIN,
          "-m",
          "session",
          "--socket",
          d.socket,
        ],
        {
          stdout: "pipe",
          stderr: "pipe",
          env: { PATH: process.env.PATH ?? "", HOME: d.dir },
        },
      );
      const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
      return { stderr, code };
    };
    const refused = await asNobody();
    expect(refused.code).toBe(13);
    expect(refused.stderr).toMatch(
      /permission denied on the daemon's socket .*: it is root-only; run this command as root/,
    );
    chmodSync(d.socket, 0o666);
    try {
      expect((await asNobody()).code).toBe(21); // connected: "No active sessions"
    } finally {
      chmodSync(d.socket, 0o600);
      chmodSync(d.dir, 0o700);
    }
  });

  test("a second daemon on the same socket refuses to start (exit 28) and leaves the first alone", async () => {
    const other = new TestDaemon();
    try {
      const p = Bun.spawn([process.execPath, MAIN, "daemon", "--state-dir", other.stateDir, "--socket", d.socket], {
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
      expect(code).toBe(28);
      expect(stderr).toMatch(/another daemon already listens on/);
      expect((await d.cli(["status", "--json"])).code).toBe(0);
    } finally {
      await other.stop();
    }
  });

  test("a stale socket left by kill -9 does not stop the next start; SIGTERM removes the socket", async () => {
    const t = new TestDaemon();
    try {
      await t.start();
      await t.kill9();
      expect(existsSync(t.socket)).toBe(true);
      await t.start();
      expect(await t.terminate()).toBe(0);
      expect(existsSync(t.socket)).toBe(false);
      expect(t.log()).toMatch(/SIGTERM: logging out and stopping/);
    } finally {
      await t.stop();
    }
  });
});

describe("config", () => {
  test("a bad config file stops the daemon before it listens, naming file, line, key and problem (exit 7)", async () => {
    const t = new TestDaemon({ config: "# ok\nnode.startup = sometimes\n" });
    try {
      const code = await t.spawn().exited;
      expect(code).toBe(7);
      expect(t.log()).toContain(`iscsi: ${t.configPath}:2: node.startup: must be one of automatic, manual, onboot`);
      expect(existsSync(t.socket)).toBe(false);
    } finally {
      await t.stop();
    }
  });
});

describe("arguments", () => {
  test.each([
    [["-m", "node", "-o", "frob"], 7, /-o must be new, delete, update or show/],
    [["-m", "frob"], 7, /unknown mode "frob"/],
    [["-m", "session", "-P", "7"], 7, /-P must be a number from 0 to 3/],
    [["-m", "discovery", "-t", "slp", "-p", "127.0.0.1"], 27, /discovery type slp is not supported/],
    [["-m", "discovery", "-t", "st"], 7, /discovery needs -p PORTAL/],
    [["-m", "node", "-T", "iqn.2026-11.x:y", "-o", "new"], 7, /-o new needs -T IQN and -p PORTAL/],
    [["-m", "node", "-o", "new", "-T", "../../etc", "-p", "127.0.0.1"], 7, /invalid target name/],
    [
      ["-m", "node", "-p", "h", "-o", "update", "-n", "node.session.auth.password", "-v", "abcdefabcdef"],
      7,
      /refusing node\.session\.auth\.password from -v/,
    ],
    [["-m", "node", "-o", "update", "-n", "node.name", "-v", "x"], 7, /node\.name cannot be changed/],
    [
      ["set", "node.session.auth.password_in", "abcdefabcdef", "-p", "h"],
      7,
      /refusing node\.session\.auth\.password_in from -v/,
    ],
    [["sessions", "-P", "x"], 7, /-P must be 0, 1, 2 or 3/],
    [["login"], 7, /name a target, a --portal, or use --all/],
    [["logout", "--sid", "abc"], 7, /--sid must be a session number/],
  ])("%p exits %p with a clear message", async (args, code, message) => {
    const r = await d.cli(args);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(code);
  });

  test("-m iface lists the one default interface; iscsi -m --help prints the syntax", async () => {
    expect((await d.cli(["-m", "iface"])).stdout).toBe("default tcp,<empty>,<empty>,<empty>,<empty>\n");
    expect(JSON.parse((await d.cli(["-m", "iface", "--json"])).stdout).ifaces[0].name).toBe("default");
    expect((await d.cli(["-m", "node", "--help"])).stdout).toMatch(/iscsi -m discovery -t sendtargets\|st -p PORTAL/);
  });

  test("initiator-name is generated once in the state dir and can be set", async () => {
    const dir = mkdtempSync(join(tmpdir(), "iscsi-iname-"));
    try {
      const a = await d.cli(["initiator-name", "--state-dir", dir]);
      expect(a.stdout).toMatch(/^InitiatorName=iqn\.2026-11\.dev\.iscsi:/);
      expect((await d.cli(["initiator-name", "--state-dir", dir])).stdout).toBe(a.stdout);
      expect(
        (await d.cli(["initiator-name", "--state-dir", dir, "--set", "iqn.2026-01.com.example:h1", "--json"])).stdout,
      ).toContain('"initiatorName": "iqn.2026-01.com.example:h1"');
      expect((await d.cli(["initiator-name", "--state-dir", dir, "--set", "bad name"])).code).toBe(7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
