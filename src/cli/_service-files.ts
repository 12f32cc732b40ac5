// The service definitions `iscsi service install` writes (docs/architecture.md, "One executable, three roles"): a systemd unit (Linux) and a launchd
// property list (macOS) that run `iscsi daemon` at boot and restart it if it dies. Pure text; no I/O here.
import { resolve } from "node:path";
import type { Platform } from "../config/paths.ts";

export const SYSTEMD_UNIT = "iscsi.service";
export const LAUNCHD_LABEL = "dev.iscsi.daemon";

export function serviceFilePath(platform: Platform, root = "/"): string {
  return platform === "darwin"
    ? resolve(root, `Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`)
    : resolve(root, `etc/systemd/system/${SYSTEMD_UNIT}`);
}

/** argv that starts this very program: the compiled binary, or bun plus the entry script when run from source. */
export function selfCommand(argv: string[] = process.argv, execPath: string = process.execPath): string[] {
  const script = argv[1];
  if (script === undefined || script.startsWith("/$bunfs/") || script.startsWith("B:/~BUN/")) return [execPath];
  return [execPath, resolve(script)];
}

/** systemd's quoting for ExecStart words (systemd.syntax(7)): double quotes, backslash escapes. */
function systemdWord(word: string): string {
  if (/^[A-Za-z0-9_\/.:=@+-]+$/.test(word)) return word;
  return `"${word.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%").replace(/\$/g, "$$$$")}"`;
}

export interface ServiceOptions {
  command: string[];
  /** Extra daemon arguments (tests: --state-dir, --socket). */
  daemonArgs?: string[];
}

export function systemdUnit(o: ServiceOptions): string {
  const exec = [...o.command, "daemon", ...(o.daemonArgs ?? [])].map(systemdWord).join(" ");
  return `# Written by \`iscsi service install\`; remove with \`iscsi service uninstall\`.
[Unit]
Description=iSCSI initiator daemon (sessions, node database, automatic logins, attached LUNs)
# Logins of automatic nodes retry in the background, so the daemon never waits for the network or delays boot.
After=network.target
# Its disks are network disks: up before remote-fs-pre.target, where _netdev mounts wait (and so stopped only
# after they are unmounted). Not before local-fs.target: that is reached before the network exists.
Before=remote-fs-pre.target
Wants=remote-fs-pre.target

[Service]
Type=simple
ExecStart=${exec}
Restart=on-failure
RestartSec=2
TimeoutStopSec=30
RuntimeDirectory=iscsi
RuntimeDirectoryMode=0755
StateDirectory=iscsi
StateDirectoryMode=0700
UMask=0077
NoNewPrivileges=yes

[Install]
WantedBy=multi-user.target
`;
}

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function launchdPlist(o: ServiceOptions): string {
  const args = [...o.command, "daemon", ...(o.daemonArgs ?? [])]
    .map((a) => `\t\t<string>${xml(a)}</string>`)
    .join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>Label</key>
\t<string>${LAUNCHD_LABEL}</string>
\t<key>ProgramArguments</key>
\t<array>
${args}
\t</array>
\t<key>RunAtLoad</key>
\t<true/>
\t<key>KeepAlive</key>
\t<dict>
\t\t<key>SuccessfulExit</key>
\t\t<false/>
\t</dict>
\t<key>StandardErrorPath</key>
\t<string>/var/log/iscsi.log</string>
\t<key>StandardOutPath</key>
\t<string>/var/log/iscsi.log</string>
</dict>
</plist>
`;
}
