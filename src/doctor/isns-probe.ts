// `iscsi doctor --isns HOST[:PORT]`: is the iSNS server reachable, does it accept our registration and answer a
// query, is our node visible in it, does it accept an SCN registration (RFC 4171 §5.6.5). The probe registers under
// its own entity and removes it again; when our node is already registered (a daemon watches this server) it
// leaves that registration alone.
import { deregister, IsnsClient, queryTargets, register, type IsnsServer } from "../discovery/isns-client.ts";
import { listenScn } from "../discovery/isns-scn.ts";
import { errorCodeOf } from "../contract/errors.ts";
import { SCN_BIT } from "../isns/constants.ts";
import { devAttrQryNode, scnReg } from "../isns/messages.ts";
import { readString } from "../isns/tlv.ts";
import { Findings } from "./finding.ts";

export async function probeIsns(opts: {
  server: IsnsServer;
  initiatorName: string;
  timeoutMs: number;
}): Promise<Findings> {
  const where = opts.server.host.includes(":")
    ? `[${opts.server.host}]:${opts.server.port}`
    : `${opts.server.host}:${opts.server.port}`;
  const f = new Findings(`isns ${where}`);
  let client: IsnsClient;
  try {
    client = await IsnsClient.connect(opts.server, opts.timeoutMs);
    f.ok("isns.tcp", `TCP connection to ${where} accepted`);
  } catch (err) {
    f.fail(
      "isns.tcp",
      (err as Error).message,
      `check that an iSNS server listens on ${where} (default port 3205) and that no firewall blocks it`,
      errorCodeOf(err),
    );
    return f;
  }
  const me = opts.initiatorName;
  const entityId = `${me}:doctor`;
  let registeredHere = false;
  const scn = listenScn(client.localAddress, { destination: me, onScn: () => {}, onProblem: () => {} });
  try {
    const already = await visible(client, me);
    if (already) {
      f.ok("isns.register", `${me} is already registered (a daemon watching this server); left as it is`);
    } else {
      const period = await register(client, {
        source: me,
        entityId,
        scn: { host: client.localAddress, port: scn.port },
      });
      registeredHere = true;
      f.ok("isns.register", `DevAttrReg of ${me} accepted${period ? `; registration period ${period} s` : ""}`, {
        registrationPeriod: period,
      });
    }
    const targets = await queryTargets(client, me);
    if (targets.length > 0)
      f.ok(
        "isns.query",
        `DevAttrQry answered: ${targets.length} target(s) visible: ${targets.map((t) => t.name).join(", ")}`,
        { targets: targets.map((t) => t.name) },
      );
    else
      f.warn(
        "isns.query",
        "DevAttrQry answered, but no target is visible to this initiator",
        `put ${me} into a discovery domain with the targets (or enable the server's default discovery domain)`,
      );
    if (await visible(client, me)) f.ok("isns.visible", `the server lists our node ${me}`);
    else
      f.fail(
        "isns.visible",
        `the server does not list our node ${me} after registering it`,
        "check the server's policy for this source name",
        "NOT_FOUND",
      );
    try {
      await client.call(scnReg(me, SCN_BIT.objectAdded | SCN_BIT.objectRemoved | SCN_BIT.objectUpdated));
      f.ok("isns.scn", "SCN registration accepted");
    } catch (err) {
      f.warn(
        "isns.scn",
        `SCN registration refused: ${(err as Error).message}`,
        "set discovery.isns.use_scn = No and rely on discovery.isns.discoveryd_poll_inval",
      );
    }
  } catch (err) {
    const step = f.list.some((x) => x.check === "isns.register") ? "isns.query" : "isns.register";
    f.fail(
      step,
      (err as Error).message,
      "see the iSNS server's log for why it refused; docs/troubleshooting.md has the usual causes",
      errorCodeOf(err),
    );
  } finally {
    if (registeredHere) await deregister(client, me, entityId).catch(() => {});
    scn.stop();
    client.close();
  }
  return f;
}

async function visible(client: IsnsClient, name: string): Promise<boolean> {
  const r = await client.call(devAttrQryNode(name, name), [6, 7, 9]);
  return r.operating.some((a) => a.tag === 32 && readString(a) === name);
}
