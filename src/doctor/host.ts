// Host checks of `iscsi doctor`: who we are to targets (initiator name), whether the daemon runs, whether its
// socket and state dir are private and its config file valid, root, what attaching a LUN needs (FUSE + loop on
// Linux; macFUSE or FUSE-T + hdiutil on macOS; the attach library), and the TCP transport sessions will use.
import { existsSync, lstatSync, statSync, type Stats } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../config/config-file.ts";
import { readInitiatorName } from "../config/initiator-name.ts";
import { iscsiNameProblem } from "../pdu/iscsi-name.ts";
import type { Platform } from "../config/paths.ts";
import { errorCodeOf } from "../contract/errors.ts";
import { call } from "../ipc/client.ts";
import { VERSION } from "../version.ts";
import { Findings } from "./finding.ts";
import { attachLibrary, transport } from "./libraries.ts";
import { deadAttachments, stateFiles } from "./state-files.ts";

export interface HostContext {
  platform: Platform;
  stateDir: string;
  socket: string;
  config: string;
  /** A name given to standalone commands (flag, $ISCSI_INITIATOR_NAME); otherwise they use the daemon's. */
  standaloneName?: string;
  /** Files embedded in this executable (Bun.embeddedFiles); empty when run from source. */
  embedded: Array<{ name: string; bytes: number }>;
  uid: number;
}

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(3, "0");

function statOrError(path: string): Stats | NodeJS.ErrnoException {
  try {
    return lstatSync(path);
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
}

/** The initiator name the daemon logs in with; returns it (if readable) for the probes. */
function initiatorName(f: Findings, c: HostContext): string | undefined {
  let daemonName: string | undefined;
  try {
    daemonName = readInitiatorName(c.stateDir);
  } catch (err) {
    const e = err as Error;
    if (/EACCES|EPERM|permission/i.test(e.message)) {
      f.warn(
        "host.initiator-name",
        `cannot read the daemon's initiator name in ${c.stateDir} (permission denied)`,
        "run `sudo iscsi doctor` to check it",
      );
    } else {
      f.fail(
        "host.initiator-name",
        `the daemon's initiator name file is unusable: ${e.message}`,
        "set a valid one with `sudo iscsi initiator-name --set iqn.YYYY-MM.reversed.domain:name`",
        "CONFIG",
      );
    }
    return undefined;
  }
  const standalone = c.standaloneName ?? daemonName;
  const data = { daemon: daemonName ?? null, standalone: standalone ?? null };
  const standaloneProblem = standalone === undefined ? undefined : iscsiNameProblem(standalone);
  if (!daemonName) {
    f.warn(
      "host.initiator-name",
      `no initiator name yet (${join(c.stateDir, "initiatorname.iscsi")} does not exist)${c.standaloneName ? `; standalone commands are told to use ${c.standaloneName}` : ""}`,
      "the first command that logs in (daemon or standalone) makes and stores one; `sudo iscsi initiator-name` shows (and creates) it, `--set IQN` chooses it",
      data,
    );
  } else if (standaloneProblem) {
    f.warn(
      "host.initiator-name",
      `the daemon uses ${daemonName}, but standalone commands are told to use ${JSON.stringify(standalone)}: ${standaloneProblem}`,
      "set $ISCSI_INITIATOR_NAME or pass --initiator-name with a valid name",
      data,
    );
  } else if (daemonName !== standalone) {
    f.ok(
      "host.initiator-name",
      `the daemon logs in as ${daemonName}; standalone commands (discover, luns, read, write) are told to use ${standalone}: a target's ACL must allow the one you use`,
      data,
    );
  } else {
    f.ok("host.initiator-name", `${daemonName} (daemon and standalone commands)`, data);
  }
  return daemonName;
}

async function daemon(f: Findings, c: HostContext): Promise<void> {
  try {
    const s = await call(c.socket, { op: "status" }, 3000);
    const data = { pid: s.pid, version: s.version, sessions: s.sessions, nodes: s.nodes, socket: c.socket };
    if (s.version !== VERSION) {
      f.warn(
        "host.daemon",
        `the daemon (pid ${s.pid}) runs version ${s.version}, this program is ${VERSION}`,
        "restart it so both match: `sudo iscsi service install` again, or restart `iscsi daemon`",
        data,
      );
    } else {
      f.ok("host.daemon", `running (pid ${s.pid}, ${s.sessions} session(s), ${s.nodes} node(s)) on ${c.socket}`, data);
    }
  } catch (err) {
    const code = errorCodeOf(err);
    if (code === "DAEMON_NOT_RUNNING") {
      f.warn(
        "host.daemon",
        `not running (no one listens on ${c.socket}); discover, luns, read, write and doctor work without it`,
        "for logins that persist: `sudo iscsi service install` (systemd/launchd) or `sudo iscsi daemon` in the foreground",
      );
    } else if (code === "ACCESS") {
      f.warn(
        "host.daemon",
        `the daemon's socket ${c.socket} is root-only and we are not root`,
        "run `sudo iscsi doctor`",
      );
    } else {
      f.fail(
        "host.daemon",
        `something is on ${c.socket} but it does not answer as the daemon: ${(err as Error).message}`,
        "stop whatever owns that socket, or remove a stale file and restart the daemon",
        code === "GENERIC" ? "DAEMON_COMM" : code,
      );
    }
  }
  const st = statOrError(c.socket);
  if (st instanceof Error) return;
  if (!st.isSocket()) {
    f.fail("host.socket", `${c.socket} exists but is not a socket`, "remove it and restart the daemon", "DAEMON_COMM");
  } else if ((st.mode & 0o077) !== 0) {
    f.warn(
      "host.socket",
      `${c.socket} is mode ${octal(st.mode)}: other users can send the daemon commands`,
      `chmod 600 ${c.socket} (the daemon creates it 600; restart it)`,
    );
  } else if (st.uid !== 0 && st.uid !== c.uid) {
    f.warn(
      "host.socket",
      `${c.socket} belongs to uid ${st.uid}, not root`,
      "run the daemon as root (`sudo iscsi service install`)",
    );
  } else {
    f.ok("host.socket", `${c.socket}: a socket, mode ${octal(st.mode)}, owner uid ${st.uid}`);
  }
}

function stateDir(f: Findings, c: HostContext): void {
  const st = statOrError(c.stateDir);
  if (st instanceof Error) {
    if (st.code === "ENOENT")
      f.warn(
        "host.state-dir",
        `${c.stateDir} does not exist yet`,
        "the daemon creates it (mode 700) when it first starts",
      );
    else f.warn("host.state-dir", `cannot look at ${c.stateDir}: ${st.code}`, "run `sudo iscsi doctor`");
    return;
  }
  if (st.isSymbolicLink() || !st.isDirectory()) {
    f.fail(
      "host.state-dir",
      `${c.stateDir} is not a plain directory (a symlink or a file)`,
      "move it away; the daemon refuses to use it",
      "NODE_DB",
    );
    return;
  }
  if ((st.mode & 0o077) !== 0) {
    f.warn(
      "host.state-dir",
      `${c.stateDir} is mode ${octal(st.mode)}: others can look at node records`,
      `chmod 700 ${c.stateDir}`,
    );
  } else {
    f.ok("host.state-dir", `${c.stateDir}: mode ${octal(st.mode)}, owner uid ${st.uid}`);
  }
  const secrets = statOrError(join(c.stateDir, "secrets.json"));
  if (!(secrets instanceof Error) && (secrets.mode & 0o077) !== 0) {
    f.fail(
      "host.secrets",
      `${join(c.stateDir, "secrets.json")} is mode ${octal(secrets.mode)}: CHAP secrets are readable by others, and the daemon refuses to use it`,
      `chmod 600 ${join(c.stateDir, "secrets.json")}, then change the CHAP secrets (others may have read them)`,
      "ACCESS",
    );
  }
}

/** The daemon refuses to start with a bad config file: say so before it does. */
function config(f: Findings, c: HostContext): void {
  if (!existsSync(c.config)) {
    f.ok("host.config", `no config file at ${c.config}: built-in defaults`);
    return;
  }
  try {
    loadConfig(c.config, c.platform);
    f.ok("host.config", `${c.config} is valid`);
  } catch (err) {
    const e = err as Error;
    if (/EACCES|EPERM/.test(e.message))
      f.warn("host.config", `cannot read ${c.config} (permission denied)`, "run `sudo iscsi doctor` to check it");
    else
      f.fail(
        "host.config",
        `the daemon will refuse to start: ${e.message}`,
        `fix or remove ${c.config} (docs/configuration.md lists every key)`,
        "CONFIG",
      );
  }
}

function root(f: Findings, c: HostContext): void {
  if (c.uid === 0) f.ok("host.root", "running as root");
  else
    f.warn(
      "host.root",
      `running as uid ${c.uid}, not root`,
      "the daemon, `iscsi service install` and attaching a LUN need root (sudo); probing a portal does not",
    );
}

function isCharDevice(path: string): boolean {
  try {
    return statSync(path).isCharacterDevice();
  } catch {
    return false;
  }
}

function attachTools(f: Findings, c: HostContext): void {
  if (c.platform === "linux") {
    const fuse = isCharDevice("/dev/fuse");
    const fusermount = Bun.which("fusermount3");
    if (fuse && fusermount) f.ok("host.fuse", `/dev/fuse and ${fusermount} present`);
    else
      f.warn(
        "host.fuse",
        `attaching a LUN needs FUSE: ${[fuse ? "" : "/dev/fuse is missing", fusermount ? "" : "fusermount3 is not on PATH"].filter(Boolean).join(", ")}`,
        "install fuse3 (`sudo apt-get install fuse3`) and load the module (`sudo modprobe fuse`)",
      );
    const losetup = Bun.which("losetup");
    const control = isCharDevice("/dev/loop-control");
    if (losetup && control) f.ok("host.loop", `${losetup} and /dev/loop-control present`);
    else
      f.warn(
        "host.loop",
        `attaching a LUN as a block device needs loop devices: ${[losetup ? "" : "losetup is not on PATH", control ? "" : "/dev/loop-control is missing"].filter(Boolean).join(", ")}`,
        "install util-linux and load the loop module (`sudo modprobe loop`)",
      );
  } else {
    const macfuse = existsSync("/Library/Filesystems/macfuse.fs");
    const fuseT = existsSync("/usr/local/lib/libfuse-t.dylib") || existsSync("/Library/Application Support/fuse-t");
    if (macfuse || fuseT)
      f.ok("host.fuse", `${[macfuse ? "macFUSE" : "", fuseT ? "FUSE-T" : ""].filter(Boolean).join(" and ")} installed`);
    else
      f.warn(
        "host.fuse",
        "neither macFUSE nor FUSE-T is installed: attaching a LUN needs one",
        "`brew install --cask macfuse` (then allow its system extension), or install FUSE-T from https://www.fuse-t.org",
      );
    if (existsSync("/usr/bin/hdiutil")) f.ok("host.hdiutil", "/usr/bin/hdiutil present");
    else
      f.warn(
        "host.hdiutil",
        "/usr/bin/hdiutil is missing: the FUSE file cannot become a disk",
        "it ships with macOS; check the system installation",
      );
  }
  attachLibrary(f, c.embedded);
}

export interface HostResult {
  findings: Findings;
  /** The daemon's initiator name when readable. */
  daemonName: string | undefined;
}

export async function checkHost(c: HostContext): Promise<HostResult> {
  const f = new Findings("host");
  const daemonName = initiatorName(f, c);
  await daemon(f, c);
  stateDir(f, c);
  stateFiles(f, c.stateDir);
  await deadAttachments(f, c.stateDir);
  config(f, c);
  root(f, c);
  attachTools(f, c);
  await transport(f);
  return { findings: f, daemonName };
}
