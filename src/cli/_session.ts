// Opening a Normal session to the LUN a command names, ready for block I/O (used by read, write, luns, demo).
import { Session } from "../session/session.ts";
import { LogicalUnit } from "../session/logical-unit.ts";
import type { TransportChoice } from "../transport/connect.ts";
import { authFrom, connectionsFrom, initiatorNameFrom, type LunAddress } from "./_shared.ts";

export async function openLun(addr: LunAddress, args: Record<string, unknown>, opts: { queueDepth?: number; transport?: TransportChoice } = {}): Promise<LogicalUnit> {
  const session = await Session.open({
    portal: addr.portal,
    login: { initiatorName: initiatorNameFrom(args), targetName: addr.target, sessionType: "Normal", auth: authFrom(args, addr.user), proposal: { maxConnections: connectionsFrom(args) } },
    ...(opts.queueDepth ? { queueDepth: opts.queueDepth } : {}),
    ...(opts.transport ? { transport: opts.transport } : {}),
  });
  const lu = new LogicalUnit(session, addr.lun);
  try {
    await lu.testUnitReady();
    await lu.readCapacity();
  } catch (err) {
    await session.logout().catch(() => session.close());
    throw err;
  }
  return lu;
}

export async function closeLun(lu: LogicalUnit): Promise<void> {
  await lu.session.logout().catch(() => lu.session.close());
}
