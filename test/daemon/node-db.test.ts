// The node database: records on disk, discovery never clobbering what the user changed, damaged files skipped;
// and the backoff of background logins.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConsola } from "consola";
import { defaultSettings } from "../../src/config/node-settings.ts";
import { NodeDb, nodeKey } from "../../src/daemon/node-db.ts";
import { backoffDelay, isRetryable } from "../../src/daemon/startup.ts";
import { IscsiError } from "../../src/contract/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "iscsi-nodedb-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const messages: string[] = [];
const log = createConsola({ level: 5, reporters: [{ log: (o) => void messages.push(o.args.join(" ")) }] });
const T = "iqn.2026-11.dev.iscsi.test:a";
const P = { host: "127.0.0.1", port: 3260 };
const D = { host: "127.0.0.1", port: 3260, type: "sendtargets" as const };

describe("node database", () => {
  test("a stale mark survives a reload and keeps the user's settings; rediscovery clears it", () => {
    const sub = mkdtempSync(join(dir, "stale-"));
    const db = new NodeDb(sub, log);
    db.load();
    const I = { host: "127.0.0.1", port: 3205, type: "isns" as const };
    db.mergeDiscovered(T, P, 1, defaultSettings(), I);
    const mine = db.update(db.get(nodeKey(T, P))!, "node.startup", "automatic");
    db.markStale(mine);
    const again = new NodeDb(sub, log);
    again.load();
    const r = again.get(nodeKey(T, P))!;
    expect(r.stale).toBeString();
    expect(r.settings["node.startup"]).toBe("automatic");
    expect(r.discovery).toEqual(I);
    expect(again.mergeDiscovered(T, P, 1, defaultSettings(), I)).toBe("updated");
    expect(again.get(nodeKey(T, P))!.stale).toBeUndefined();
    expect(again.get(nodeKey(T, P))!.settings["node.startup"]).toBe("automatic");
  });

  test("records are files of mode 0600 under nodes/, read back by a new instance", () => {
    const db = new NodeDb(dir, log);
    db.load();
    expect(db.mergeDiscovered(T, P, 1, defaultSettings(), D)).toBe("created");
    expect(db.mergeDiscovered(T, P, 1, defaultSettings(), D)).toBe("unchanged");
    const files = readdirSync(join(dir, "nodes"));
    expect(files.length).toBe(1);
    expect(statSync(join(dir, "nodes", files[0]!)).mode & 0o777).toBe(0o600);
    const again = new NodeDb(dir, log);
    again.load();
    expect(again.get(nodeKey(T, P))?.isid).toBe(db.get(nodeKey(T, P))?.isid);
  });

  test("rediscovery keeps what the user changed and follows new defaults for the rest", () => {
    const db = new NodeDb(dir, log);
    db.load();
    db.update(db.get(nodeKey(T, P))!, "node.startup", "automatic");
    const defaults = { ...defaultSettings(), "node.startup": "manual", "node.session.queue_depth": 32 };
    expect(db.mergeDiscovered(T, P, 2, defaults, D)).toBe("updated");
    const r = db.get(nodeKey(T, P))!;
    expect(r.settings["node.startup"]).toBe("automatic");
    expect(r.settings["node.session.queue_depth"]).toBe(32);
    expect(r.tpgt).toBe(2);
    expect(r.userSet).toEqual(["node.startup"]);
  });

  test("a damaged record is reported and set aside (renamed, kept as it was); the others load", () => {
    writeFileSync(join(dir, "nodes", "broken.json"), "{ nope");
    writeFileSync(
      join(dir, "nodes", "evil.json"),
      JSON.stringify({
        ...JSON.parse(
          readFileSync(join(dir, "nodes", readdirSync(join(dir, "nodes")).find((n) => n !== "broken.json")!), "utf8"),
        ),
        target: "../../x",
      }),
    );
    const db = new NodeDb(dir, log);
    const damaged = db.load();
    expect(db.list().map((r) => r.target)).toEqual([T]);
    expect(damaged.map((x) => x.path.split("/").at(-1)).sort()).toEqual(["broken.json", "evil.json"]);
    expect(messages.join("\n")).toMatch(
      /broken\.json is damaged \(not valid JSON.*\); set aside as .*broken\.json\.corrupt-/,
    );
    expect(messages.join("\n")).toMatch(/evil\.json is damaged \(target: not a valid iSCSI name\)/);
    const aside = readdirSync(join(dir, "nodes")).find((n) => n.startsWith("broken.json.corrupt-"))!;
    expect(readFileSync(join(dir, "nodes", aside), "utf8")).toBe("{ nope");
    expect(readdirSync(join(dir, "nodes")).filter((n) => n === "broken.json" || n === "evil.json")).toEqual([]);
  });

  test("filters: -p HOST matches any port, HOST:PORT one", () => {
    const db = new NodeDb(dir, log);
    db.load();
    db.create(T, { host: "127.0.0.1", port: 3261 }, 1, defaultSettings());
    expect(db.list({ portal: { host: "127.0.0.1" } }).length).toBe(2);
    expect(db.list({ portal: { host: "127.0.0.1", port: 3261 } }).length).toBe(1);
    expect(db.list({ target: "iqn.2026-11.dev.iscsi.test:other" }).length).toBe(0);
  });
});

describe("startup backoff", () => {
  test("doubles from the initial delay, is capped, and jitters between 50 and 100 %", () => {
    expect([1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, 1000, 8000, () => 1))).toEqual([
      1000, 2000, 4000, 8000, 8000, 8000,
    ]);
    expect(backoffDelay(3, 1000, 8000, () => 0)).toBe(2000);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(40, 1000, 60_000);
      expect(d).toBeGreaterThanOrEqual(30_000);
      expect(d).toBeLessThanOrEqual(60_000);
    }
  });

  test("transport errors are retried; authentication failures are not", () => {
    expect(isRetryable(new IscsiError("TRANSPORT", "x"))).toBe(true);
    expect(isRetryable(new IscsiError("TIMEOUT", "x"))).toBe(true);
    expect(isRetryable(new IscsiError("AUTH_FAILED", "x"))).toBe(false);
  });
});
