// The daemon's config file, in the spirit of open-iscsi's iscsid.conf: `key = value` lines, `#` comments.
// Node keys give the defaults of new node records; iscsid.* keys tune the daemon. Every value is checked with
// valibot and a bad file is refused with its path, line, key and what is wrong (never echoing a value).
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { IscsiError } from "../contract/errors.ts";
import { defaultIsnsSettings, isIsnsSettingName, parseIsnsSetting, type IsnsSettings } from "./isns-settings.ts";
import { defaultSettings, isSettingName, parseSetting, SECRET_SETTINGS, type NodeSettings } from "./node-settings.ts";
import { currentPlatform, type Platform } from "./paths.ts";

export interface DaemonConfig {
  /** Settings every new node record starts with. */
  nodeDefaults: NodeSettings;
  /** Settings every new iSNS discovery record starts with (discovery.isns.* keys). */
  isnsDefaults: IsnsSettings;
  /** Background logins of automatic nodes: capped exponential backoff with jitter. */
  startup: { retryInitialMs: number; retryMaxMs: number };
  /** Where secrets live: the macOS Keychain or a root-only file in the state dir. */
  secrets: "file" | "keychain";
  /** The web dashboard on 127.0.0.1 (docs/architecture.md, "The dashboard"). */
  ui: { enabled: boolean; port: number };
  /** The loopback NFS server of `attach --via nfs` on 127.0.0.1 (0: a free port at each start). */
  nfs: { port: number };
}

/** The dashboard's port when the config names none. */
export const DEFAULT_UI_PORT = 8339;

const seconds = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+(\.\d+)?$/, "must be a number of seconds"),
    v.transform(Number),
    v.minValue(min, `must be at least ${min} s`),
    v.maxValue(max, `must be at most ${max} s`),
    v.transform((s) => Math.round(s * 1000)),
  );

const DAEMON_KEYS = {
  "iscsid.startup.retry_initial": seconds(0.05, 3600),
  "iscsid.startup.retry_max": seconds(0.05, 86400),
  "iscsid.secrets": v.picklist(["file", "keychain"], "must be file or keychain"),
  "iscsid.ui": v.picklist(["on", "off"], "must be on or off"),
  "iscsid.ui.port": v.pipe(
    v.string(),
    v.regex(/^\d{1,5}$/, "must be a port number"),
    v.transform(Number),
    v.minValue(1, "must be 1 to 65535"),
    v.maxValue(65535, "must be 1 to 65535"),
  ),
  "iscsid.nfs.port": v.pipe(
    v.string(),
    v.regex(/^\d{1,5}$/, "must be a port number"),
    v.transform(Number),
    v.maxValue(65535, "must be 0 to 65535"),
  ),
} as const;
type DaemonKey = keyof typeof DAEMON_KEYS;

export function defaultConfig(platform: Platform = currentPlatform()): DaemonConfig {
  return {
    nodeDefaults: defaultSettings(),
    isnsDefaults: defaultIsnsSettings(),
    startup: { retryInitialMs: 1000, retryMaxMs: 60_000 },
    secrets: platform === "darwin" ? "keychain" : "file",
    ui: { enabled: true, port: DEFAULT_UI_PORT },
    nfs: { port: 0 },
  };
}

/** Parses config text; `file` only names the source in errors. */
export function parseConfig(text: string, file: string, platform: Platform = currentPlatform()): DaemonConfig {
  const config = defaultConfig(platform);
  const seen = new Map<string, number>();
  const bad = (line: number, key: string, what: string) => new IscsiError("CONFIG", `${file}:${line}: ${key}: ${what}`);
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = index + 1;
    const content = raw.replace(/(^|\s)#.*$/, "").trim();
    if (content === "") continue;
    const eq = content.indexOf("=");
    if (eq < 0) throw new IscsiError("CONFIG", `${file}:${line}: expected "key = value"`);
    const key = content.slice(0, eq).trim();
    const value = content.slice(eq + 1).trim();
    if (seen.has(key)) throw bad(line, key, `set twice (first on line ${seen.get(key)})`);
    seen.set(key, line);
    if (Object.hasOwn(SECRET_SETTINGS, key) || /\.password(_in)?$/.test(key)) {
      throw bad(line, key, "secrets do not belong in the config file; use `iscsi secret set` (stdin or a file)");
    }
    if (isSettingName(key)) {
      const r = parseSetting(key, value);
      if ("problem" in r) throw bad(line, key, r.problem);
      (config.nodeDefaults as Record<string, string | number>)[key] = r.value;
    } else if (isIsnsSettingName(key)) {
      const r = parseIsnsSetting(key, value);
      if ("problem" in r) throw bad(line, key, r.problem);
      (config.isnsDefaults as unknown as Record<string, string | number>)[key] = r.value;
    } else if (Object.hasOwn(DAEMON_KEYS, key)) {
      const r = v.safeParse(DAEMON_KEYS[key as DaemonKey], value);
      if (!r.success) throw bad(line, key, r.issues[0].message);
      applyDaemonKey(config, key as DaemonKey, r.output);
    } else {
      throw bad(line, key, "unknown key (see docs/cli.md for the keys this daemon knows)");
    }
  }
  if (config.startup.retryMaxMs < config.startup.retryInitialMs) {
    throw new IscsiError("CONFIG", `${file}: iscsid.startup.retry_max must not be below iscsid.startup.retry_initial`);
  }
  return config;
}

function applyDaemonKey(config: DaemonConfig, key: DaemonKey, value: unknown): void {
  switch (key) {
    case "iscsid.startup.retry_initial":
      config.startup.retryInitialMs = value as number;
      return;
    case "iscsid.startup.retry_max":
      config.startup.retryMaxMs = value as number;
      return;
    case "iscsid.secrets":
      config.secrets = value as DaemonConfig["secrets"];
      return;
    case "iscsid.ui":
      config.ui.enabled = value === "on";
      return;
    case "iscsid.ui.port":
      config.ui.port = value as number;
      return;
    case "iscsid.nfs.port":
      config.nfs.port = value as number;
      return;
  }
}

/**
 * `text` with `key = value`: the key's line replaced where it stands (comments, its own too, and order kept), appended when
 * absent; `value` undefined removes the line. The caller validates the result with parseConfig.
 */
export function setConfigLine(text: string, key: string, value: string | undefined): string {
  if (/[\x00-\x1f\x7f#]/.test(value ?? ""))
    throw new IscsiError("INVALID_ARGUMENT", `${key}: a config value cannot hold control characters or #`);
  const lines = text === "" ? [] : text.replace(/\r?\n$/, "").split(/\r?\n/);
  const at = lines.findIndex(
    (l) =>
      l
        .replace(/(^|\s)#.*$/, "")
        .split("=")[0]!
        .trim() === key,
  );
  const comment = at >= 0 ? (/\s+#.*$/.exec(lines[at]!)?.[0] ?? "") : "";
  const line = value === undefined ? [] : [`${key} = ${value}${comment}`];
  if (at >= 0) lines.splice(at, 1, ...line);
  else lines.push(...line);
  return lines.length > 0 ? lines.join("\n") + "\n" : "";
}

/** Reads the config file; a missing file means the built-in defaults. */
export function loadConfig(file: string, platform: Platform = currentPlatform()): DaemonConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return defaultConfig(platform);
    throw new IscsiError("CONFIG", `cannot read the config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(text, file, platform);
}
