// Config file, node settings, safe names, atomic writes, initiator name and the file secret store.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_UI_PORT, loadConfig, parseConfig, setConfigLine } from "../../src/config/config-file.ts";
import { ensureInitiatorName, readInitiatorName, writeInitiatorName } from "../../src/config/initiator-name.ts";
import { discoveryFileName, nodeFileName, printable } from "../../src/config/names.ts";
import { iscsiNameProblem } from "../../src/pdu/iscsi-name.ts";
import { defaultSettings, parseSetting } from "../../src/config/node-settings.ts";
import { resolvePaths } from "../../src/config/paths.ts";
import { FileSecretStore, secretProblem } from "../../src/config/secrets.ts";
import { writeFileAtomic } from "../../src/config/atomic.ts";

const dir = mkdtempSync(join(tmpdir(), "iscsi-config-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("config file", () => {
  test("node defaults and daemon keys are read; comments and blank lines are skipped", () => {
    const c = parseConfig(
      "# defaults\nnode.startup = automatic\n\nnode.conn[0].iscsi.HeaderDigest = CRC32C,None  # prefer digests\niscsid.startup.retry_initial = 0.5\n",
      "x.conf",
      "linux",
    );
    expect(c.nodeDefaults["node.startup"]).toBe("automatic");
    expect(c.nodeDefaults["node.conn[0].iscsi.HeaderDigest"]).toBe("CRC32C,None");
    expect(c.startup.retryInitialMs).toBe(500);
    expect(c.secrets).toBe("file");
    expect(parseConfig("", "x.conf", "darwin").secrets).toBe("keychain");
  });

  test("the dashboard is on at port 8339 unless the config turns it off or moves it", () => {
    expect(parseConfig("", "x.conf", "linux").ui).toEqual({ enabled: true, port: DEFAULT_UI_PORT });
    expect(parseConfig("iscsid.ui = off\niscsid.ui.port = 9000\n", "x.conf", "linux").ui).toEqual({
      enabled: false,
      port: 9000,
    });
    expect(() => parseConfig("iscsid.ui = maybe", "x.conf", "linux")).toThrow(
      /x\.conf:1: iscsid\.ui: must be on or off/,
    );
    expect(() => parseConfig("iscsid.ui.port = 70000", "x.conf", "linux")).toThrow(
      /iscsid\.ui\.port: must be 1 to 65535/,
    );
    expect(parseConfig("iscsid.nfs.port = 2049\n", "x.conf", "linux").nfs).toEqual({ port: 2049 });
    expect(parseConfig("", "x.conf", "linux").nfs).toEqual({ port: 0 });
    expect(() => parseConfig("iscsid.nfs.port = 65536", "x.conf", "linux")).toThrow(
      /iscsid\.nfs\.port: must be 0 to 65535/,
    );
    expect(() => parseConfig("iscsid.nfs.port = -1", "x.conf", "linux")).toThrow(
      /iscsid\.nfs\.port: must be a port number/,
    );
  });

  test("discovery.isns.* keys set the defaults of new iSNS records; a bad value names the key and line", () => {
    const c = parseConfig("discovery.isns.use_scn = No\ndiscovery.isns.discoveryd_poll_inval = 5\n", "x.conf", "linux");
    expect(c.isnsDefaults).toEqual({
      "discovery.isns.use_discoveryd": "Yes",
      "discovery.isns.discoveryd_poll_inval": 5,
      "discovery.isns.use_scn": "No",
      "discovery.isns.timeo.query_timeout": 10,
    });
    expect(() => parseConfig("\ndiscovery.isns.use_scn = Maybe\n", "x.conf", "linux")).toThrow(
      "x.conf:2: discovery.isns.use_scn: must be Yes or No",
    );
    expect(() => parseConfig("discovery.isns.timeo.query_timeout = 0\n", "x.conf", "linux")).toThrow(
      "must be at least 1 s",
    );
  });

  test("setConfigLine replaces a key where it stands, keeps comments, appends new keys and removes on undefined", () => {
    const text = "# my defaults\nnode.startup = manual  # for now\n\nnode.session.queue_depth = 32\n";
    expect(setConfigLine(text, "node.startup", "automatic")).toBe(
      "# my defaults\nnode.startup = automatic  # for now\n\nnode.session.queue_depth = 32\n",
    );
    expect(setConfigLine(text, "node.conn[0].timeo.login_timeout", "5")).toBe(
      text + "node.conn[0].timeo.login_timeout = 5\n",
    );
    expect(setConfigLine(text, "node.session.queue_depth", undefined)).toBe(
      "# my defaults\nnode.startup = manual  # for now\n\n",
    );
    expect(setConfigLine("", "node.startup", "onboot")).toBe("node.startup = onboot\n");
    expect(() => setConfigLine(text, "node.session.auth.username", "a\niscsid.secrets = keychain")).toThrow(
      /cannot hold control characters or #/,
    );
    expect(() => setConfigLine(text, "node.session.auth.username", "bob #1")).toThrow(
      /cannot hold control characters or #/,
    );
  });

  test.each([
    ["node.startup = sometimes", /x\.conf:1: node\.startup: must be one of automatic, manual, onboot/],
    ["\nnode.conn[0].timeo.login_timeout = 0", /x\.conf:2: node\.conn\[0\]\.timeo\.login_timeout: must be at least 1/],
    ["node.session.queue_depth = many", /queue_depth: must be a whole number/],
    ["no.such.key = 1", /x\.conf:1: no\.such\.key: unknown key/],
    ["node.startup", /x\.conf:1: expected "key = value"/],
    ["node.startup = manual\nnode.startup = automatic", /x\.conf:2: node\.startup: set twice \(first on line 1\)/],
    ["iscsid.startup.retry_initial = 10\niscsid.startup.retry_max = 1", /retry_max must not be below/],
  ])("%p is refused with file, line, key and what is wrong", (text, message) => {
    expect(() => parseConfig(text, "x.conf", "linux")).toThrow(message);
  });

  test("a secret in the config file is refused without echoing it", () => {
    let err: Error | undefined;
    try {
      parseConfig("node.session.auth.password = hunter2hunter2", "x.conf", "linux");
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toMatch(/secrets do not belong in the config file/);
    expect(err?.message).not.toContain("hunter2");
    expect((err as { code?: string }).code).toBe("CONFIG");
  });

  test("a missing file means defaults; an unreadable path is an error naming it", () => {
    expect(loadConfig(join(dir, "absent.conf")).nodeDefaults).toEqual(defaultSettings());
    expect(() => loadConfig(dir)).toThrow(new RegExp(`cannot read the config file ${dir}`));
  });
});

describe("node settings", () => {
  test("values are parsed and normalized; bad ones say why", () => {
    expect(parseSetting("node.session.auth.chap_algs", "md5, sha-256")).toEqual({ value: "MD5,SHA256" });
    expect(parseSetting("node.session.timeo.replacement_timeout", "-1")).toEqual({ value: -1 });
    expect(parseSetting("node.session.auth.chap_algs", "MD4")).toEqual({
      problem: "must be a comma-separated list of SHA3-256, SHA256, SHA1, MD5",
    });
    expect(parseSetting("node.session.auth.username", "a\u0001b")).toEqual({
      problem: "must not contain control characters",
    });
  });
});

describe("names", () => {
  test("iSCSI names are checked", () => {
    expect(iscsiNameProblem("iqn.2004-04.com.qnap:ts-453:iscsi.disk1")).toBeUndefined();
    expect(iscsiNameProblem("eui.0123456789ABCDEF")).toBeUndefined();
    expect(iscsiNameProblem("../../etc/passwd")).toMatch(/slashes/);
    expect(iscsiNameProblem("iqn.x")).toMatch(/starts with iqn/);
  });

  test("hostile names never become paths: one plain file name, no separators, no leading dot, bounded", () => {
    for (const [target, host] of [
      ["../../../etc/cron.d/x", ".."],
      ["iqn.2020-01.a:" + "x".repeat(300), "h"],
      ["..", "/"],
      ["iqn.2020-01.a:b\u0000c", "a\nb"],
    ] as const) {
      const name = nodeFileName(target, host, 3260);
      expect(name).not.toContain("/");
      expect(name.startsWith(".")).toBe(false);
      expect(name.length).toBeLessThan(255);
      expect(/^[A-Za-z0-9._-]+$/.test(name)).toBe(true);
    }
    expect(nodeFileName("iqn.2020-01.a:b", "h", 1)).not.toBe(nodeFileName("iqn.2020-01.a:b", "h", 2));
    expect(discoveryFileName("..", 3260)).not.toContain("/");
  });

  test("control characters from targets are escaped for terminals", () => {
    expect(printable("disk\u001b[2Jx")).toBe("disk\\x1b[2Jx");
  });
});

describe("files", () => {
  test("atomic write replaces the file, leaves no temp file, applies the mode", () => {
    const p = join(dir, "rec.json");
    writeFileAtomic(p, "one");
    writeFileAtomic(p, "two", 0o600);
    expect(readFileSync(p, "utf8")).toBe("two");
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  test("the initiator name is generated once and kept; a bad one is refused", () => {
    const state = join(dir, "state-a");
    const first = ensureInitiatorName(state);
    expect(first).toMatch(/^iqn\.2026-11\.dev\.iscsi:[a-z0-9.-]+\.[0-9a-f]{12}$/);
    expect(ensureInitiatorName(state)).toBe(first);
    expect(readFileSync(join(state, "initiatorname.iscsi"), "utf8")).toContain(`InitiatorName=${first}\n`);
    writeInitiatorName(state, "iqn.2026-01.com.example:host1");
    expect(readInitiatorName(state)).toBe("iqn.2026-01.com.example:host1");
    expect(() => writeInitiatorName(state, "not a name")).toThrow(/invalid initiator name/);
  });

  test("secrets: 0600 file; a file others can read is refused; short secrets refused without quoting them", async () => {
    const store = new FileSecretStore(join(dir, "secrets.json"));
    await store.set("k", "abcdefghijkl");
    expect(await store.get("k")).toBe("abcdefghijkl");
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    chmodSync(store.path, 0o644);
    await expect(store.get("k")).rejects.toThrow(/readable by others \(mode 644\)/);
    chmodSync(store.path, 0o600);
    await store.delete("k");
    expect(await store.get("k")).toBeUndefined();
    expect(secretProblem("short")).toMatch(/at least 12 bytes/);
    expect(secretProblem("short")).not.toContain("short");
  });

  test("paths come from flags, then the environment, then the defaults", () => {
    expect(resolvePaths({}, {}).socket).toMatch(/iscsid\.sock$/);
    expect(resolvePaths({}, { ISCSI_SOCKET: "/e.sock", ISCSI_STATE_DIR: "/e" })).toEqual({
      socket: "/e.sock",
      stateDir: "/e",
      config: "/e/iscsid.conf",
    });
    expect(resolvePaths({ socket: "/f.sock", stateDir: "/f" }, { ISCSI_SOCKET: "/e.sock" })).toEqual({
      socket: "/f.sock",
      stateDir: "/f",
      config: "/f/iscsid.conf",
    });
  });
});
