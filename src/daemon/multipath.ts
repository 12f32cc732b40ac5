// The daemon's multipath devices (docs/multipath.md): after each login and LUN scan, every disk LU of the
// session becomes a path of the device that has its identity (WWID from VPD 0x83, serial and capacity), a
// new device when none does. A logout takes the session's paths away; a device with no path left and no
// attachment is dropped.
import type { ConsolaInstance } from "consola";
import type { NodeSettings } from "../config/node-settings.ts";
import { MultipathDevice, type DeviceSettings } from "../multipath/device.ts";
import { Path } from "../multipath/path.ts";
import type { Failback, PolicyName } from "../multipath/policy.ts";
import { wwidOf } from "../multipath/wwid.ts";
import { LogicalUnit } from "../session/logical-unit.ts";
import type { Session } from "../session/session.ts";
import type { NodeFilter } from "./node-db.ts";
import { GONE, type SessionEntry } from "./registry.ts";

export function deviceSettings(s: NodeSettings): DeviceSettings {
  const replacement = s["node.session.timeo.replacement_timeout"];
  return {
    policy: s["node.multipath.policy"] as PolicyName,
    failback: s["node.multipath.failback"] as Failback,
    // no_path_retry defaults to the replacement timeout, so an attached disk waits as long as a lone session would.
    noPathRetryMs: secondsToMs(
      s["node.multipath.no_path_retry"] === -2 ? replacement : s["node.multipath.no_path_retry"],
    ),
    pollingIntervalMs: s["node.multipath.polling_interval"] * 1000,
  };
}

/** Seconds (-1 = forever) to the device's ms (-1 = forever). */
const secondsToMs = (s: number) => (s < 0 ? -1 : s * 1000);

export class Multipath {
  private readonly devices: MultipathDevice[] = [];
  private named = 0;

  constructor(private readonly log: ConsolaInstance) {}

  list(): MultipathDevice[] {
    return [...this.devices];
  }

  byName(name: string): MultipathDevice | undefined {
    return this.devices.find((d) => d.name === name);
  }

  /** Devices with a path to LUN `lun` of the target (and portal) named by `f`. */
  find(f: NodeFilter, lun?: number): MultipathDevice[] {
    return this.devices.filter((d) =>
      d.paths.some(
        (p) =>
          (lun === undefined || p.lun === lun) &&
          p.meta.target === f.target &&
          (!f.portal ||
            (p.meta.portal.host === f.portal.host && (!f.portal.port || p.meta.portal.port === f.portal.port))),
      ),
    );
  }

  /** The devices session `sid` is a path of. */
  ofSession(sid: number): MultipathDevice[] {
    return this.devices.filter((d) => d.paths.some((p) => p.meta.sid === sid));
  }

  /** Make each disk LU of `entry`'s session not yet a path one (after a login, and after a rescan); `keep` names devices not to drop (they carry attachments). */
  async join(entry: SessionEntry, settings: NodeSettings, keep: (d: MultipathDevice) => boolean): Promise<void> {
    const session = entry.session as Session;
    for (const [lun, identity] of session.recordedIdentities()) {
      if (this.devices.some((d) => d.paths.some((p) => p.session === session && p.lun === lun))) continue; // already a path (a rescan)
      let wwid: string;
      try {
        const lu = new LogicalUnit(session, lun);
        const pages = await lu.vpdPages().catch(() => [] as number[]);
        wwid = wwidOf(
          pages.includes(0x83) ? await lu.deviceIdentification() : [],
          pages.includes(0x80) ? await lu.unitSerialNumber() : "",
          entry.target,
        );
      } catch (err) {
        this.log.warn(`session ${entry.sid}: LUN ${lun} not made a path: ${(err as Error).message}`);
        continue;
      }
      let device = this.devices.find((d) => d.wwid === wwid && d.identity === identity);
      if (!device) {
        device = new MultipathDevice(this.nextName(), wwid, identity, entry.target, deviceSettings(settings));
        this.devices.push(device);
        this.log.info(`multipath device ${device.name}: ${wwid} (LUN ${lun} of ${entry.target})`);
      } else device.settings = deviceSettings(settings);
      device.addPath(
        new Path(session, lun, { sid: entry.sid, key: entry.key, target: entry.target, portal: { ...entry.portal } }),
      );
    }
    this.prune(keep);
  }

  /** `entry` logged out: its paths leave their devices. */
  leave(entry: SessionEntry, keep: (d: MultipathDevice) => boolean): void {
    for (const d of this.ofSession(entry.sid))
      for (const p of d.paths.filter((x) => x.meta.sid === entry.sid)) d.removePath(p);
    this.prune(keep);
  }

  /** Drops devices whose every path is gone for good and which carry no attachment. */
  private prune(keep: (d: MultipathDevice) => boolean): void {
    for (const d of [...this.devices]) {
      if (keep(d) || d.paths.some((p) => !GONE.has(p.session.state.kind))) continue;
      d.close();
      this.devices.splice(this.devices.indexOf(d), 1);
      this.log.info(`multipath device ${d.name} removed (no path left)`);
    }
  }

  /** dm-multipath's friendly names: mpatha … mpathz, mpathaa … */
  private nextName(): string {
    let n = this.named++;
    let s = "";
    do {
      s = String.fromCharCode(97 + (n % 26)) + s;
      n = Math.floor(n / 26) - 1;
    } while (n >= 0);
    return `mpath${s}`;
  }
}
