// A network lab for tests of link loss, address changes and interface switches: network namespaces and veth
// links that the test creates and removes, addressed from 198.18.16.0/20 (inside the RFC 2544 benchmarking
// range 198.18.0.0/15). Names carry the prefix "ne" plus the pid and a counter, so parallel runs never clash.
// Before any link can go down an `unreachable` route for the lab prefix is in place in every namespace
// involved (the main one with a metric of this lab's own), so reconnect attempts never leave the machine.
import { readFileSync } from "node:fs";
import { expectSuccess, runTool } from "./processes.ts";

/** The lab's IPv4 prefix: a /20 of 198.18.0.0/15 owned by these tests. */
export const LAB_PREFIX = "198.18.16.0/20";
/** A ULA /48 the machine does not carry (checked in `create`). */
export const LAB_PREFIX6 = "fd16:5c51:e5c0::/48";
const NAME_PREFIX = "ne";
/** /28 slots inside the /20: 256 of them; a lab takes one per link. */
const SLOTS = 256;

let labsMade = 0;
/** Slots taken by labs of this process (their routes may not exist yet while another lab picks). */
const slotsInUse = new Set<number>();

export interface VethEnd {
  /** Interface name. */
  name: string;
  /** Namespace; undefined = the main one (where the test and our daemon run). */
  netns: string | undefined;
  /** Address without prefix length. */
  address: string;
}

export interface Veth {
  a: VethEnd;
  b: VethEnd;
  /** The /28 both ends sit in. */
  subnet: string;
}

/** `ip` argv for a namespace (undefined = main). */
function ipIn(netns: string | undefined, args: string[]): string[] {
  return netns ? ["ip", "-n", netns, ...args] : ["ip", ...args];
}

/** Run `ip …` and throw with its stderr on failure. */
export async function ip(netns: string | undefined, args: string[]): Promise<string> {
  const argv = ipIn(netns, args);
  return expectSuccess(argv, await runTool(argv, { timeoutMs: 10_000 })).stdout;
}

/** Every /28 of the lab prefix that has a route in the main namespace (taken by some lab right now). */
function takenSlots(): Set<number> {
  const taken = new Set<number>();
  for (const line of readFileSync("/proc/net/route", "utf8").split("\n").slice(1)) {
    const dest = line.split("\t")[1];
    if (!dest) continue;
    const n = Number.parseInt(dest, 16); // little-endian dotted quad
    const [a, b, c, d] = [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
    if (a === 198 && b === 18 && c >= 16 && c < 32) taken.add(((c - 16) << 4) | (d >> 4));
  }
  return taken;
}

function slotBase(slot: number): [number, number] {
  return [16 + (slot >> 4), (slot & 0xf) << 4];
}

export class NetLab {
  /** Unique per lab: "ne" + pid (base 36) + counter; interface names stay under 16 bytes. */
  readonly tag: string;
  /** Metric of this lab's own unreachable route in the main namespace. */
  readonly metric: number;
  private readonly namespaces: string[] = [];
  private readonly links: Veth[] = [];
  private readonly slots: number[] = [];
  private guarded = false;
  private destroyed = false;

  private constructor() {
    const n = labsMade++;
    this.tag = `${NAME_PREFIX}${process.pid.toString(36)}${n.toString(36)}`;
    this.metric = 100_000 + ((process.pid * 64 + n) % 1_000_000_000);
  }

  /** A lab with the main namespace's unreachable guard in place. */
  static async create(): Promise<NetLab> {
    const lab = new NetLab();
    const carried = (await ip(undefined, ["-6", "route", "show"]))
      .split("\n")
      .filter((l) => l.includes("fd16:5c51:e5c0") && !l.startsWith("unreachable"));
    if (carried.length > 0)
      throw new Error(
        `the machine already routes ${LAB_PREFIX6} (${carried[0]}); the lab needs a prefix it does not carry`,
      );
    await ip(undefined, ["route", "add", "unreachable", LAB_PREFIX, "metric", String(lab.metric)]);
    await ip(undefined, ["-6", "route", "add", "unreachable", LAB_PREFIX6, "metric", String(lab.metric)]);
    lab.guarded = true;
    return lab;
  }

  /** A new namespace with loopback up and the unreachable guard routes. */
  async namespace(): Promise<string> {
    const name = `${this.tag}-n${this.namespaces.length}`;
    await ip(undefined, ["netns", "add", name]);
    this.namespaces.push(name);
    await ip(name, ["link", "set", "lo", "up"]);
    await ip(name, ["route", "add", "unreachable", LAB_PREFIX]);
    await ip(name, ["-6", "route", "add", "unreachable", LAB_PREFIX6]);
    return name;
  }

  /** A veth pair from `aNs` (undefined = main) to `bNs`, both ends up and addressed in a fresh /28 (a = .1, b = .2). */
  async veth(aNs: string | undefined, bNs: string, opts: { metric?: number } = {}): Promise<Veth> {
    const slot = this.freeSlot();
    const [third, fourth] = slotBase(slot);
    const base = `198.18.${third}`;
    const i = this.links.length;
    const link: Veth = {
      a: { name: `${this.tag}v${i}a`, netns: aNs, address: `${base}.${fourth + 1}` },
      b: { name: `${this.tag}v${i}b`, netns: bNs, address: `${base}.${fourth + 2}` },
      subnet: `${base}.${fourth}/28`,
    };
    await ip(undefined, ["link", "add", link.a.name, "type", "veth", "peer", "name", link.b.name]);
    this.links.push(link);
    for (const end of [link.a, link.b]) {
      if (end.netns) await ip(undefined, ["link", "set", end.name, "netns", end.netns]);
      await ip(end.netns, ["link", "set", end.name, "up"]);
      await ip(end.netns, [
        "addr",
        "add",
        `${end.address}/28`,
        "dev",
        end.name,
        ...(opts.metric !== undefined ? ["metric", String(opts.metric)] : []),
      ]);
    }
    return link;
  }

  /**
   * An address of its own /28 on the loopback of `netns`, routed from the main namespace over `via` links
   * in order of preference (metric 100, 200, …): one address reachable over several links.
   */
  async hostAddress(netns: string, via: Veth[]): Promise<string> {
    const [third, fourth] = slotBase(this.freeSlot());
    const address = `198.18.${third}.${fourth + 1}`;
    await ip(netns, ["addr", "add", `${address}/32`, "dev", "lo"]);
    for (const [k, link] of via.entries())
      await ip(link.a.netns, ["route", "add", `${address}/32`, "via", link.b.address, "metric", String(100 * (k + 1))]);
    return address;
  }

  /** One more address on an end (its /28 slot gets a /32 host address), e.g. for an address change. */
  async addAddress(end: VethEnd, address: string, prefixLen = 28): Promise<void> {
    await ip(end.netns, ["addr", "add", `${address}/${prefixLen}`, "dev", end.name]);
  }

  async deleteAddress(end: VethEnd, address: string, prefixLen = 28): Promise<void> {
    await ip(end.netns, ["addr", "del", `${address}/${prefixLen}`, "dev", end.name]);
  }

  /** Link loss: the interface goes down (its peer loses carrier). The guards are already in place. */
  async down(end: VethEnd): Promise<void> {
    this.assertGuarded();
    await ip(end.netns, ["link", "set", end.name, "down"]);
  }

  async up(end: VethEnd): Promise<void> {
    await ip(end.netns, ["link", "set", end.name, "up"]);
  }

  /** Address loss: every address of the interface goes (as when DHCP lets a lease go). */
  async flush(end: VethEnd): Promise<void> {
    this.assertGuarded();
    await ip(end.netns, ["addr", "flush", "dev", end.name]);
  }

  /** argv that runs `argv` inside namespace `netns` (its network only: `ip netns exec` would copy the mount table too). */
  exec(netns: string, argv: string[]): string[] {
    return ["nsenter", `--net=/var/run/netns/${netns}`, ...argv];
  }

  /** Remove every link, namespace, slot route and guard of this lab; safe to call twice and after failures. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const problems: string[] = [];
    const attempt = async (argv: string[]) => {
      const r = await runTool(argv, { timeoutMs: 10_000 });
      if (r.exitCode !== 0 && !/Cannot find device|No such file|does not exist|No such process/.test(r.stderr))
        problems.push(`${argv.join(" ")}: ${r.stderr.trim()}`);
    };
    // Deleting one end of a veth deletes its peer; deleting a namespace deletes the ends inside it.
    for (const l of this.links) await attempt(ipIn(l.a.netns, ["link", "del", l.a.name]));
    for (const ns of this.namespaces) await attempt(["ip", "netns", "del", ns]);
    for (const s of this.slots) slotsInUse.delete(s);
    if (this.guarded) {
      await attempt(["ip", "route", "del", "unreachable", LAB_PREFIX, "metric", String(this.metric)]);
      await attempt(["ip", "-6", "route", "del", "unreachable", LAB_PREFIX6, "metric", String(this.metric)]);
    }
    const left = await this.leftovers();
    if (problems.length > 0 || left.length > 0)
      throw new Error(
        `network lab ${this.tag} cleanup: ${[...problems, ...left.map((x) => `left behind: ${x}`)].join("; ")}`,
      );
  }

  /** Anything of this lab still present: namespaces, interfaces in the main namespace, its guard routes. */
  async leftovers(): Promise<string[]> {
    const left: string[] = [];
    for (const ns of (await ip(undefined, ["netns", "list"])).split("\n")) {
      const name = ns.split(" ")[0] ?? "";
      if (name.startsWith(`${this.tag}-`)) left.push(`namespace ${name}`);
    }
    for (const line of (await ip(undefined, ["-o", "link", "show"])).split("\n")) {
      const name = line.split(":")[1]?.trim().split("@")[0] ?? "";
      if (name.startsWith(`${this.tag}v`)) left.push(`interface ${name}`);
    }
    for (const v of ["-4", "-6"]) {
      for (const line of (await ip(undefined, [v, "route", "show"])).split("\n")) {
        if (line.startsWith("unreachable") && line.includes(`metric ${this.metric}`)) left.push(`route ${line.trim()}`);
      }
    }
    return left;
  }

  private freeSlot(): number {
    const taken = takenSlots();
    for (const s of slotsInUse) taken.add(s);
    const start = (process.pid * 7) % SLOTS;
    for (let k = 0; k < SLOTS; k++) {
      const slot = (start + k) % SLOTS;
      if (!taken.has(slot)) {
        this.slots.push(slot);
        slotsInUse.add(slot);
        return slot;
      }
    }
    throw new Error(`network lab: every /28 of ${LAB_PREFIX} is in use`);
  }

  private assertGuarded(): void {
    if (!this.guarded)
      throw new Error("network lab: no link may go down before the unreachable guard routes are in place");
  }
}
