// What a killed daemon leaves behind on Linux, found and removed by the next one before it restores anything:
// its FUSE mounts (dead: the process serving them is gone), loop devices backed by files on them, and mounts of
// those loop devices. Found from /proc/self/mountinfo and the loop devices' sysfs entries, only under `root`
// (the daemon's own attach directory), so nothing of anyone else's is touched.
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loopBackingFile, loopDetach, unmountDir } from "./loop.ts";

interface MountLine {
  devno: string;
  mountPoint: string;
  fsType: string;
}

const unescapeOctal = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** proc(5): "id parent major:minor root mountpoint options [optional…] - fstype source superoptions". */
function mounts(): MountLine[] {
  if (!existsSync("/proc/self/mountinfo")) return [];
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const f = line.split(" ");
      const dash = f.indexOf("-");
      return { devno: f[2] ?? "", mountPoint: unescapeOctal(f[4] ?? ""), fsType: f[dash + 1] ?? "" };
    });
}

export interface Leftovers {
  /** Mount points of filesystems on our loop devices. */
  mounts: string[];
  loops: Array<{ device: string; file: string }>;
  /** Our (dead) FUSE mount points. */
  fuse: string[];
}

const inside = (path: string, root: string) => path.startsWith(root.endsWith("/") ? root : `${root}/`);

export function findLeftovers(root: string): Leftovers {
  const all = mounts();
  const loops: Leftovers["loops"] = [];
  const devnos = new Set<string>();
  if (existsSync("/sys/block")) {
    for (const name of readdirSync("/sys/block").filter((n) => n.startsWith("loop"))) {
      const file = loopBackingFile(`/dev/${name}`);
      if (!file || !inside(file, root)) continue;
      loops.push({ device: `/dev/${name}`, file });
      devnos.add(readFileSync(`/sys/block/${name}/dev`, "utf8").trim());
    }
  }
  return {
    mounts: all.filter((m) => devnos.has(m.devno)).map((m) => m.mountPoint),
    loops,
    fuse: all.filter((m) => m.fsType.startsWith("fuse") && inside(m.mountPoint, root)).map((m) => m.mountPoint),
  };
}

/**
 * Unmounts (lazily: the disk under them is gone, nothing can be flushed), detaches the loop devices, unmounts the
 * dead FUSE mounts and removes `root`'s per-attachment folders. Returns one line per thing removed; a step that
 * fails is reported in `problems` and the rest still runs.
 */
export async function cleanLeftovers(root: string): Promise<{ removed: string[]; problems: string[] }> {
  const found = findLeftovers(root);
  const removed: string[] = [];
  const problems: string[] = [];
  const step = async (what: string, run: () => Promise<void>) => {
    try {
      await run();
      removed.push(what);
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`);
    }
  };
  for (const m of found.mounts) await step(`mount ${m}`, () => unmountDir(m, { lazy: true }));
  for (const l of found.loops)
    await step(`loop device ${l.device} (${l.file})`, () => loopDetach(l.device, l.file, 2_000));
  for (const f of found.fuse) await step(`FUSE mount ${f}`, () => unmountDir(f, { lazy: true }));
  if (existsSync(root) && problems.length === 0) {
    for (const name of readdirSync(root)) rmSync(`${root}/${name}`, { recursive: true, force: true });
  }
  return { removed, problems };
}
