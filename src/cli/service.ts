// `iscsi service install|uninstall|status`: the daemon as a boot service — a systemd unit checked with
// `systemd-analyze verify` (Linux) or a launchd plist checked with `plutil -lint` (macOS), then loaded.
// --root DIR writes under DIR and loads nothing (tests, image builds).
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { defineCommand } from "citty";
import { currentPlatform, type Platform } from "../config/paths.ts";
import { IscsiError } from "../contract/errors.ts";
import { jsonArg, printJson } from "./_shared.ts";
import {
  LAUNCHD_LABEL,
  launchdPlist,
  selfCommand,
  serviceFilePath,
  SYSTEMD_UNIT,
  systemdUnit,
} from "./_service-files.ts";

const common = {
  root: { type: "string", description: "Write under this directory instead of / and load nothing" },
  platform: { type: "string", description: "linux or darwin (default: this machine's)" },
  ...jsonArg,
} as const;

/** The service asked about: its platform, its file, and whether it is this machine's own (no --root, same OS). */
function serviceOf(args: { platform?: string; root?: string }): { platform: Platform; path: string; local: boolean } {
  const platform = args.platform ?? currentPlatform();
  if (platform !== "linux" && platform !== "darwin")
    throw new IscsiError("INVALID_ARGUMENT", `--platform must be linux or darwin, not ${JSON.stringify(platform)}`);
  return {
    platform,
    path: serviceFilePath(platform, args.root ?? "/"),
    local: !args.root && platform === currentPlatform(),
  };
}

function run(argv: string[]): { code: number; output: string } {
  if (!Bun.which(argv[0]!)) return { code: 127, output: `${argv[0]} not found` };
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? 1, output: (r.stdout.toString() + r.stderr.toString()).trim() };
}

function mustRun(argv: string[]): void {
  const r = run(argv);
  if (r.code !== 0) throw new IscsiError("GENERIC", `${argv.join(" ")} failed (${r.code}): ${r.output}`);
}

/** The platform's own checker, when installed: any complaint makes the install fail. */
function verify(platform: Platform, path: string): string {
  const argv = platform === "darwin" ? ["plutil", "-lint", path] : ["systemd-analyze", "verify", path];
  const r = run(argv);
  if (r.code === 127) return `${argv[0]} not available; not checked`;
  const complaint = platform === "darwin" ? r.code !== 0 : r.code !== 0 || r.output !== "";
  if (complaint) throw new IscsiError("CONFIG", `${argv.join(" ")} rejects the generated file: ${r.output}`);
  return `checked with ${argv[0]}`;
}

const install = defineCommand({
  meta: { name: "install", description: "Write and load the boot service that runs `iscsi daemon`" },
  args: { ...common, "no-load": { type: "boolean", description: "Write the file but do not load it" } },
  async run({ args }) {
    const { platform, path, local } = serviceOf(args);
    const text =
      platform === "darwin" ? launchdPlist({ command: selfCommand() }) : systemdUnit({ command: selfCommand() });
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    writeFileSync(path, text, { mode: 0o644 });
    const checked = verify(platform, path);
    const load = local && !args["no-load"];
    if (load && platform === "linux") {
      mustRun(["systemctl", "daemon-reload"]);
      mustRun(["systemctl", "enable", "--now", SYSTEMD_UNIT]);
    } else if (load) {
      mustRun(["launchctl", "bootstrap", "system", path]);
    }
    if (args.json) printJson({ path, platform, checked, loaded: load });
    else process.stdout.write(`wrote ${path} (${checked})${load ? "; loaded and started" : "; not loaded"}\n`);
  },
});

const uninstall = defineCommand({
  meta: { name: "uninstall", description: "Stop and remove the boot service" },
  args: common,
  async run({ args }) {
    const { platform, path, local: unload } = serviceOf(args);
    if (unload && platform === "linux") run(["systemctl", "disable", "--now", SYSTEMD_UNIT]);
    else if (unload) run(["launchctl", "bootout", `system/${LAUNCHD_LABEL}`]);
    const existed = existsSync(path);
    rmSync(path, { force: true });
    if (unload && platform === "linux") run(["systemctl", "daemon-reload"]);
    if (args.json) printJson({ path, removed: existed });
    else process.stdout.write(existed ? `removed ${path}\n` : `${path} was not installed\n`);
  },
});

const status = defineCommand({
  meta: { name: "status", description: "Is the boot service installed and running?" },
  args: common,
  async run({ args }) {
    const { platform, path, local } = serviceOf(args);
    const installed = existsSync(path);
    let active: string = "unknown";
    if (local) {
      const r =
        platform === "linux"
          ? run(["systemctl", "is-active", SYSTEMD_UNIT])
          : run(["launchctl", "print", `system/${LAUNCHD_LABEL}`]);
      active =
        r.code === 127
          ? "unknown"
          : platform === "linux"
            ? r.output.split("\n")[0] || "unknown"
            : r.code === 0
              ? "loaded"
              : "not loaded";
    }
    if (args.json) printJson({ path, platform, installed, active });
    else process.stdout.write(`${path}: ${installed ? "installed" : "not installed"}; service ${active}\n`);
  },
});

export default defineCommand({
  meta: { name: "service", description: "Install, remove or inspect the boot service (systemd or launchd)" },
  subCommands: { install, uninstall, status },
});
