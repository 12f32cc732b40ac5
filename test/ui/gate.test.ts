// The dashboard's door, over plain HTTP against a real daemon: `iscsi ui` gives the address with the token;
// requests without it, with a wrong one, from a foreign Origin or Host are refused in plain words; the first URL
// becomes a cookie; the API answers through the same ops and schemas as the control socket; secrets never echo.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAIN, TestDaemon } from "../harness/iscsid.ts";
import { freePort, pollUntil, withParentDeathSignal } from "../harness/processes.ts";

const NO_DESKTOP = { DISPLAY: "", WAYLAND_DISPLAY: "" };
const SECRET = "gate-secret-0123456789";

let d: TestDaemon;
let port: number;
let origin: string;
let token: string;

const uiInfo = async (args: string[] = []) => {
  const r = await d.cli(["ui", "--json", ...args], { env: NO_DESKTOP });
  if (r.code !== 0) throw new Error(`iscsi ui exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { enabled: boolean; url: string; port: number };
};

/** A request as the page makes it: token cookie, own Origin, JSON. */
function api(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${origin}/api/op`, {
    method: "POST",
    headers: { cookie: `iscsi_ui_${port}=${token}`, origin, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** The JSON answer of one API request. */
const ask = async (body: unknown): Promise<any> => (await api(body)).json();

beforeAll(async () => {
  port = freePort();
  origin = `http://127.0.0.1:${port}`;
  d = new TestDaemon({ uiPort: port });
  await d.start();
  token = new URL((await uiInfo()).url).searchParams.get("token")!;
});

afterAll(async () => {
  await d?.stop();
});

describe("iscsi ui", () => {
  test("prints the loopback address with the per-install token, which is the 0600 file in the state dir", async () => {
    const info = await uiInfo();
    expect(info).toEqual({ enabled: true, port, url: `${origin}/?token=${token}` });
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    const file = join(d.stateDir, "ui-token");
    expect(readFileSync(file, "utf8").trim()).toBe(token);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const plain = await d.cli(["ui"], { env: NO_DESKTOP });
    expect(plain).toEqual({ code: 0, stdout: `${origin}/?token=${token}\n`, stderr: "" });
  });

  test("--open without a desktop still prints the address and says why nothing opened", async () => {
    const r = await d.cli(["ui", "--open"], { env: NO_DESKTOP });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${origin}/?token=${token}\n`);
    expect(r.stderr).toMatch(/no desktop here \(DISPLAY and WAYLAND_DISPLAY are unset\)/);
  });

  test("the daemon never logs the token", () => {
    expect(d.log()).not.toContain(token);
  });
});

describe("the gate", () => {
  test("no token: 401 with what to do, for the page and the API alike", async () => {
    for (const r of [
      await fetch(`${origin}/`),
      await fetch(`${origin}/app.js`),
      await api({ op: "ping" }, { cookie: "" }),
    ]) {
      expect(r.status).toBe(401);
      expect(await r.text()).toBe("This dashboard needs its token: run `iscsi ui` and open the address it prints.\n");
    }
  });

  test("a wrong token is refused in a cookie, a header and the first URL", async () => {
    const wrong = "0".repeat(64);
    expect((await fetch(`${origin}/`, { headers: { cookie: `iscsi_ui_${port}=${wrong}` } })).status).toBe(403);
    expect((await fetch(`${origin}/`, { headers: { "x-iscsi-token": wrong } })).status).toBe(403);
    const first = await fetch(`${origin}/?token=${wrong}`, { redirect: "manual" });
    expect(first.status).toBe(403);
    expect(first.headers.get("set-cookie")).toBeNull();
    expect(await first.text()).toMatch(/token in this address is wrong/);
  });

  test("the first URL sets an HttpOnly, SameSite=Strict cookie and drops the token from the address", async () => {
    const r = await fetch(`${origin}/?token=${token}`, { redirect: "manual" });
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/");
    expect(r.headers.get("set-cookie")).toBe(
      `iscsi_ui_${port}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000`,
    );
    expect(r.headers.get("referrer-policy")).toBe("no-referrer");
    const page = await fetch(`${origin}/`, { headers: { cookie: `iscsi_ui_${port}=${token}` } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
  });

  test("a POST from a foreign Origin, or with none, is refused even with the token", async () => {
    const foreign = await api({ op: "ping" }, { origin: "http://evil.example" });
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toMatch(/must come from this dashboard's own page \(Origin http:\/\/evil\.example\)/);
    const bare = await fetch(`${origin}/api/op`, {
      method: "POST",
      headers: { "x-iscsi-token": token, "content-type": "application/json" },
      body: '{"op":"ping"}',
    });
    expect(bare.status).toBe(403);
    expect((await api({ op: "ping" }, { origin: "http://localhost:1" })).status).toBe(403);
  });

  test("a request naming another Host (DNS rebinding) is refused even with the token", async () => {
    const r = await fetch(`${origin}/`, { headers: { host: `attacker.example:${port}`, "x-iscsi-token": token } });
    expect(r.status).toBe(403);
    expect(await r.text()).toMatch(/answers only as 127\.0\.0\.1:\d+ or localhost:\d+/);
  });

  test("the API takes JSON only (a form post from elsewhere cannot reach it)", async () => {
    const r = await api({ op: "ping" }, { "content-type": "text/plain" });
    expect(r.status).toBe(415);
  });

  test("a single-use code works once, then is refused", async () => {
    const { url } = await ask({ op: "ui.info", once: true }).then((b) => b.result);
    expect(url).toMatch(new RegExp(`^${origin}/\\?code=[0-9a-f]{32}$`));
    const first = await fetch(url, { redirect: "manual" });
    expect(first.status).toBe(303);
    expect(first.headers.get("set-cookie")).toContain(`iscsi_ui_${port}=${token};`);
    const again = await fetch(url, { redirect: "manual" });
    expect(again.status).toBe(403);
    expect(await again.text()).toMatch(/used up or expired/);
  });
});

describe("the API is the control protocol", () => {
  test("answers with the same envelopes and the same validation messages as the socket", async () => {
    const ping = await ask({ op: "ping" });
    expect(ping).toEqual({ ok: true, result: { version: expect.any(String), pid: d.pid } });
    const bad = await ask({ op: "discover" });
    expect(bad.ok).toBe(false);
    expect(bad.error.code).toBe("INVALID_REQUEST");
    expect(bad.error.message).toMatch(/^invalid discover request: portal: /);
    const unknown = await ask({ op: "frobnicate" });
    expect(unknown.error.message).toMatch(/unknown op "frobnicate"/);
    const errors = (await (
      await fetch(`${origin}/api/errors`, { headers: { "x-iscsi-token": token } })
    ).json()) as Record<string, string>;
    expect(errors.AUTH_FAILED).toBe("authentication failed");
  });

  test("a secret stored through the API shows up nowhere: not in answers, the log buffer or the daemon's log", async () => {
    const portal = { host: "127.0.0.1", port: 3260 };
    const target = "iqn.2026-11.dev.iscsi.test:gate";
    expect((await ask({ op: "node.new", target, portal })).ok).toBe(true);
    const set = await ask({ op: "secret.set", scope: "node", target, portal, name: "password", value: SECRET });
    expect(set).toEqual({ ok: true, result: { count: 1 } });
    const short = await ask({ op: "secret.set", scope: "node", target, portal, name: "password_in", value: "short" });
    expect(short.error.message).toMatch(/at least 12 bytes/);
    const { result } = await ask({ op: "nodes.list" });
    expect(result.nodes[0].secrets).toEqual({ password: true, password_in: false });
    const log = await ask({ op: "log.recent" });
    expect(log.result.entries.some((e: { message: string }) => e.message.includes("node secret password stored"))).toBe(
      true,
    );
    expect(JSON.stringify([result, log])).not.toContain(SECRET);
    expect(d.log()).not.toContain(SECRET);
  });

  test("preferences: a node default written to the config file applies to the next node; the initiator name changes", async () => {
    const set = await ask({ op: "config.set", name: "node.startup", value: "automatic" });
    expect(set.result.nodeDefaults["node.startup"]).toBe("automatic");
    expect(set.result.inFile).toEqual(["node.startup"]);
    expect(readFileSync(d.configPath, "utf8")).toBe("node.startup = automatic\n");
    const created = await ask({
      op: "node.new",
      target: "iqn.2026-11.dev.iscsi.test:after",
      portal: { host: "127.0.0.1", port: 3261 },
    });
    expect(created.result.node.startup).toBe("automatic");
    const refused = await ask({ op: "config.set", name: "iscsid.secrets", value: "keychain" });
    expect(refused.error).toEqual({ code: "INVALID_ARGUMENT", message: expect.stringMatching(/not a node setting/) });
    await api({ op: "config.set", name: "node.startup" });
    expect(readFileSync(d.configPath, "utf8")).toBe("");
    const name = "iqn.2026-11.dev.iscsi.test:renamed";
    expect((await ask({ op: "initiator-name.set", name })).result).toEqual({ initiatorName: name });
    expect((await d.cli(["initiator-name", "--state-dir", d.stateDir])).stdout).toBe(`InitiatorName=${name}\n`);
  });
});

describe("restart and turning it off", () => {
  test("the token survives a daemon restart", async () => {
    await d.terminate();
    await d.start();
    expect((await uiInfo()).url).toBe(`${origin}/?token=${token}`);
  });

  test("a daemon started with --no-ui, or with iscsid.ui = off, says so to `iscsi ui` (exit 27)", async () => {
    const off = new TestDaemon();
    const configured = new TestDaemon({ config: "iscsid.ui = off\n", uiPort: freePort() });
    try {
      await Promise.all([off.start(), configured.start()]);
      const a = await off.cli(["ui"], { env: NO_DESKTOP });
      expect(a.code).toBe(27);
      expect(a.stderr).toBe("iscsi: the dashboard is not running: the daemon was started with --no-ui\n");
      const b = await configured.cli(["ui"], { env: NO_DESKTOP });
      expect(b.code).toBe(27);
      expect(b.stderr).toBe(
        `iscsi: the dashboard is not running: the dashboard is turned off in ${configured.configPath} (iscsid.ui = off)\n`,
      );
    } finally {
      await Promise.all([off.stop(), configured.stop()]);
    }
  });

  test("a port already taken leaves the daemon running and `iscsi ui` naming the problem", async () => {
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("other") });
    const busy = new TestDaemon({ uiPort: taken.port });
    try {
      await busy.start();
      const r = await busy.cli(["ui"], { env: NO_DESKTOP });
      expect(r.code).toBe(27);
      expect(r.stderr).toMatch(
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken.port}: .*change iscsid\\.ui\\.port`),
      );
      expect((await busy.cli(["status", "--json"])).code).toBe(0);
    } finally {
      await busy.stop();
      taken.stop(true);
    }
  });
});

test("the compiled binary serves the same page files, embedded (run from elsewhere, no source tree at hand)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "iscsi-ui-bin-"));
  const binary = join(dir, "iscsi");
  const build = Bun.spawnSync(
    [
      process.execPath,
      "build",
      MAIN,
      "--compile",
      "--no-compile-autoload-bunfig",
      "--no-compile-autoload-dotenv",
      "--outfile",
      binary,
    ],
    { stderr: "pipe" },
  );
  expect(build.exitCode).toBe(0);
  const binPort = freePort();
  const env = { ...process.env, ISCSI_SOCKET: join(dir, "sock"), DISPLAY: "", WAYLAND_DISPLAY: "" };
  const daemon = Bun.spawn(
    withParentDeathSignal([binary, "daemon", "--state-dir", join(dir, "state"), "--ui-port", String(binPort)]),
    { cwd: dir, env, stdout: "ignore", stderr: "ignore" },
  );
  try {
    const url = await pollUntil(
      async () => {
        const r = Bun.spawnSync([binary, "ui"], { cwd: dir, env });
        return r.exitCode === 0 ? r.stdout.toString().trim() : undefined;
      },
      15_000,
      () => "the compiled daemon did not answer",
    );
    const binToken = new URL(url).searchParams.get("token")!;
    for (const [path, file] of [
      ["/app.js", "app.js"],
      ["/pages/sessions.js", "pages/sessions.js"],
      ["/app.css", "app.css"],
    ]) {
      const r = await fetch(`http://127.0.0.1:${binPort}${path}`, { headers: { "x-iscsi-token": binToken } });
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(readFileSync(join(import.meta.dir, "../../src/daemon/ui/assets", file!), "utf8"));
    }
  } finally {
    daemon.kill("SIGTERM");
    await daemon.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
