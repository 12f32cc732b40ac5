// `iscsi luns`: REPORT LUNS, INQUIRY and capacity of every LUN of a target (or of every target at a portal).
import { defineCommand } from "citty";
import { discover } from "../discovery/send-targets.ts";
import { Session } from "../session/session.ts";
import { LogicalUnit } from "../session/logical-unit.ts";
import { IscsiError } from "../contract/errors.ts";
import { formatPortal, type Portal } from "../transport/portal.ts";
import {
  authFrom,
  digestsFrom,
  loginTimeoutFrom,
  normalLogin,
  formatBytes,
  initiatorNameFrom,
  jsonArg,
  lunArgs,
  parseIscsiUrl,
  parsePortal,
  printJson,
  printTable,
} from "./_shared.ts";

interface LunInfo {
  target: string;
  lun: number;
  deviceType: string;
  vendor: string;
  product: string;
  revision: string;
  serial?: string;
  blockSize?: number;
  blocks?: string;
  bytes?: string;
  error?: string;
}

async function lunsOf(
  portal: Portal,
  target: string,
  args: Record<string, unknown>,
  user?: string,
): Promise<LunInfo[]> {
  const session = await Session.open({
    portal,
    login: normalLogin(args, target, user),
    ...loginTimeoutFrom(args),
  });
  try {
    const lun0 = new LogicalUnit(session, 0);
    await lun0.testUnitReady().catch(() => {});
    const numbers = await lun0.reportLuns();
    const out: LunInfo[] = [];
    for (const n of numbers) {
      const lu = new LogicalUnit(session, n);
      const inq = await lu.inquiry();
      const info: LunInfo = {
        target,
        lun: n,
        deviceType: inq.deviceTypeName,
        vendor: inq.vendor,
        product: inq.product,
        revision: inq.revision,
      };
      if (inq.peripheralDeviceType === 0x00) {
        try {
          await lu.testUnitReady();
          const cap = await lu.open();
          Object.assign(info, { blockSize: cap.blockSize, blocks: cap.blocks.toString(), bytes: cap.bytes.toString() });
          info.serial = await lu.unitSerialNumber().catch(() => undefined);
        } catch (err) {
          info.error = (err as Error).message;
        }
      }
      out.push(info);
    }
    return out;
  } finally {
    await session.logout().catch(() => session.close());
  }
}

export default defineCommand({
  meta: { name: "luns", description: "List the LUNs of a target (or of all targets at a portal)" },
  args: { ...lunArgs, ...jsonArg },
  async run({ args }) {
    let portal: Portal;
    let targets: string[];
    let user: string | undefined;
    if (args.url) {
      const u = parseIscsiUrl(args.url);
      portal = u.portal;
      targets = [u.target];
      user = u.user;
    } else if (args.portal) {
      portal = parsePortal(args.portal);
      targets = args.target
        ? [args.target]
        : (
            await discover({
              portal,
              initiatorName: initiatorNameFrom(args),
              auth: authFrom(args),
              proposal: digestsFrom(args),
              ...loginTimeoutFrom(args),
            })
          ).map((t) => t.name);
    } else {
      throw new IscsiError(
        "INVALID_ARGUMENT",
        "name a target with iscsi://host[:port]/IQN or --portal HOST[:PORT] [--target IQN]",
      );
    }
    const all: LunInfo[] = [];
    for (const t of targets) all.push(...(await lunsOf(portal, t, args, user)));
    if (args.json) {
      printJson({ portal: formatPortal(portal), luns: all });
      return;
    }
    printTable(
      ["TARGET", "LUN", "TYPE", "VENDOR", "PRODUCT", "SIZE", "BLOCK"],
      all.map((l) => [
        l.target,
        l.lun,
        l.deviceType,
        l.vendor,
        l.product,
        l.bytes ? formatBytes(Number(l.bytes)) : l.error ? `(${l.error})` : "-",
        l.blockSize ?? "-",
      ]),
    );
  },
});
