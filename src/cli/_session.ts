// Opening a Normal session to the LUN a command names, ready for block I/O (used by read, write, luns, demo):
// a LUN that does not exist is named with the ones that do, and an address without a LUN means the target's
// only disk (peripheral device type 0, SPC-4 §6.6.2) rather than LUN 0, which is often a controller.
import { IscsiError } from "../contract/errors.ts";
import { Session } from "../session/session.ts";
import { LogicalUnit } from "../session/logical-unit.ts";
import { ScsiStatusError } from "../scsi/errors.ts";
import type { TransportChoice } from "../transport/connect.ts";
import { connectionsFrom, loginTimeoutFrom, normalLogin, type LunAddress } from "./_shared.ts";

/** SPC-4 additional sense code 25h: LOGICAL UNIT NOT SUPPORTED. */
const ASC_LU_NOT_SUPPORTED = 0x25;
const DIRECT_ACCESS = 0;

export async function openLun(
  addr: LunAddress,
  args: Record<string, unknown>,
  opts: { queueDepth?: number; transport?: TransportChoice } = {},
): Promise<LogicalUnit> {
  const timeout = args["command-timeout"];
  const seconds = timeout === undefined ? undefined : Number(timeout);
  if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0))
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `--command-timeout ${JSON.stringify(timeout)}: expected a number of seconds above 0`,
    );
  const login = normalLogin(args, addr.target, addr.user);
  const session = await Session.open({
    portal: addr.portal,
    login: { ...login, proposal: { ...login.proposal, maxConnections: connectionsFrom(args) } },
    ...loginTimeoutFrom(args),
    ...(opts.queueDepth ? { queueDepth: opts.queueDepth } : {}),
    ...(opts.transport ? { transport: opts.transport } : {}),
    ...(seconds ? { recovery: { commandTimeoutMs: seconds * 1000 } } : {}),
  });
  try {
    const lu = new LogicalUnit(session, addr.lunGiven ? addr.lun : await onlyDisk(session, addr.target));
    try {
      await lu.testUnitReady();
    } catch (err) {
      if (err instanceof ScsiStatusError && err.sense?.asc === ASC_LU_NOT_SUPPORTED) {
        throw new IscsiError(
          "NOT_FOUND",
          `${addr.target} has no LUN ${addr.lun}; its LUNs: ${(await describeLuns(session)).join(", ")}`,
        );
      }
      throw err;
    }
    await lu.open();
    return lu;
  } catch (err) {
    await session.logout().catch(() => session.close());
    throw err;
  }
}

export async function closeLun(lu: LogicalUnit): Promise<void> {
  await lu.session.logout().catch(() => lu.session.close());
}

/** Each LUN with its device type, e.g. "0 (controller)", "1 (disk)". */
async function lunTypes(session: Session): Promise<Array<{ lun: number; type: number; name: string }>> {
  const lun0 = new LogicalUnit(session, 0);
  await lun0.testUnitReady().catch(() => {}); // a pending unit attention must not fail REPORT LUNS
  const out = [];
  for (const lun of await lun0.reportLuns()) {
    const inq = await new LogicalUnit(session, lun).inquiry();
    out.push({
      lun,
      type: inq.peripheralDeviceType,
      name: inq.peripheralDeviceType === DIRECT_ACCESS ? "disk" : inq.deviceTypeName,
    });
  }
  return out;
}

async function describeLuns(session: Session): Promise<string[]> {
  return (await lunTypes(session)).map((l) => `${l.lun} (${l.name})`);
}

async function onlyDisk(session: Session, target: string): Promise<number> {
  const all = await lunTypes(session);
  const disks = all.filter((l) => l.type === DIRECT_ACCESS);
  if (disks.length === 1) return disks[0]!.lun;
  const listed = all.map((l) => `${l.lun} (${l.name})`).join(", ") || "none";
  if (disks.length === 0) throw new IscsiError("NOT_FOUND", `${target} has no disk LUN; its LUNs: ${listed}`);
  throw new IscsiError(
    "INVALID_ARGUMENT",
    `${target} has ${disks.length} disk LUNs: name one in the URL (iscsi://HOST/IQN/LUN) or with --lun; its LUNs: ${listed}`,
  );
}
