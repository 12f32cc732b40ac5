// Loopback port helpers for the test harness: pick a free TCP port and see (via Linux /proc) who listens on one.
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

// Below Linux's default ephemeral range (32768-60999), so an outgoing connection made by
// another test cannot grab the port between freePort() and the target binding it.
const PORT_RANGE_LOW = 20_000;
const PORT_RANGE_HIGH = 32_767;

function canBind(port: number): boolean {
  try {
    Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
    return true;
  } catch {
    return false;
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on right now (racy by nature: the harness retries on bind failure). */
export function freePort(): number {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = PORT_RANGE_LOW + Math.floor(Math.random() * (PORT_RANGE_HIGH - PORT_RANGE_LOW));
    if (!isListening(port) && canBind(port)) return port;
  }
  throw new Error("freePort: no free port found in 100 attempts");
}

/** Socket inodes of TCP listeners on `port` (any local address, IPv4 or IPv6). */
function listenerInodes(port: number, proc = "self"): Set<string> {
  const inodes = new Set<string>();
  for (const table of [`/proc/${proc}/net/tcp`, `/proc/${proc}/net/tcp6`]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      // fields[3] is the socket state; 0A is TCP_LISTEN. fields[9] is the inode.
      if (!local || fields[3] !== "0A") continue;
      if (Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16) === port) inodes.add(fields[9] ?? "");
    }
  }
  return inodes;
}

/** True if any socket listens on `port`. */
export function isListening(port: number): boolean {
  return listenerInodes(port).size > 0;
}

/** True if process `pid` itself owns a listening socket on `port` (not merely someone else on that port), in its own network namespace. */
export function isListeningBy(pid: number, port: number): boolean {
  const inodes = listenerInodes(port, String(pid));
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith("socket:[") && inodes.has(link.slice(8, -1))) return true;
    } catch {
      // The fd closed while we looked.
    }
  }
  return false;
}
