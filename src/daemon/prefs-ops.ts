// Preferences the dashboard edits: the defaults new node records start with (node.* keys of the config file,
// written back line by line so the user's comments stay) and our initiator name.
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../config/atomic.ts";
import { parseConfig, setConfigLine } from "../config/config-file.ts";
import { writeInitiatorName } from "../config/initiator-name.ts";
import { isSettingName, SETTING_NAMES } from "../config/node-settings.ts";
import { IscsiError } from "../contract/errors.ts";
import type { DaemonState } from "./state.ts";
import type { ConfigView } from "../contract/views.ts";

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw new IscsiError("CONFIG", `cannot read the config file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

const keysIn = (text: string): string[] =>
  text.split(/\r?\n/).flatMap((l) => {
    const content = l.replace(/(^|\s)#.*$/, "").trim();
    return content.includes("=") ? [content.slice(0, content.indexOf("=")).trim()] : [];
  });

export function showConfig(d: DaemonState): ConfigView {
  return {
    path: d.configPath,
    nodeDefaults: Object.fromEntries(SETTING_NAMES.map((n) => [n, d.config.nodeDefaults[n]])),
    inFile: keysIn(readText(d.configPath)),
    ui: { ...d.config.ui },
  };
}

/**
 * Sets (or with `value` undefined removes) the default of one node setting in the config file. The whole new
 * file is checked before it replaces the old one; the new defaults apply to records created from now on.
 */
export function setConfig(d: DaemonState, name: string, value: string | undefined): ConfigView {
  if (!isSettingName(name))
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `${name} is not a node setting; only node defaults are changed here (see docs/cli.md)`,
    );
  const text = setConfigLine(readText(d.configPath), name, value);
  const parsed = parseConfig(text, d.configPath);
  writeFileAtomic(d.configPath, text, 0o644);
  Object.assign(d.config.nodeDefaults, parsed.nodeDefaults);
  d.log.info(`config: default of ${name} ${value === undefined ? "back to built-in" : "changed"}`);
  return showConfig(d);
}

export function setInitiatorName(d: DaemonState, name: string): { initiatorName: string } {
  writeInitiatorName(d.stateDir, name);
  d.log.info(`initiator name is now ${name}`);
  return { initiatorName: d.initiatorName() };
}
