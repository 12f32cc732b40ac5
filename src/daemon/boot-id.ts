// Which boot this is, to tell a daemon restart (attachments all come back) from a reboot (only those of
// automatic nodes do). Linux: the kernel's random boot id; macOS: the boot time (never run on a Mac).
import { readFileSync } from "node:fs";

let cached: string | undefined | null = null;

export function bootId(): string | undefined {
  if (cached !== null) return cached;
  try {
    if (process.platform === "linux")
      cached = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || undefined;
    else cached = Bun.spawnSync(["sysctl", "-n", "kern.boottime"]).stdout.toString().trim() || undefined;
  } catch {
    cached = undefined;
  }
  return cached;
}
