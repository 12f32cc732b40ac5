// From a node (or discovery) record and the secret store to what the engine's login needs: CHAP per
// node.session.auth.* (RFC 7143 §12.1.3), digests and the operational proposal (§13), time limits.
import type { NodeSettings, SecretName } from "../config/node-settings.ts";
import type { SecretStore } from "../config/secrets.ts";
import { IscsiError } from "../contract/errors.ts";
import type { SendTargetsRecord } from "./discovery-db.ts";
import type { EngineAuth, OpenParams } from "./engine.ts";
import type { Portal } from "../transport/portal.ts";
import type { NodeRecord } from "./node-db.ts";

export const nodeSecretKey = (target: string, portal: Portal, name: SecretName) =>
  `node:${target}|${portal.host}|${portal.port}:${name}`;
export const discoverySecretKey = (portal: Portal, name: SecretName) =>
  `discovery:${portal.host}|${portal.port}:${name}`;

const CHAP_A: Record<string, number> = { MD5: 5, SHA1: 6, SHA256: 7, "SHA3-256": 8 };
const bytes = (s: string) => new TextEncoder().encode(s);

interface AuthSettings {
  method: string;
  username: string;
  usernameIn: string;
  algorithms?: string;
  password: () => Promise<string | undefined>;
  passwordIn: () => Promise<string | undefined>;
  where: string;
}

async function authFrom(a: AuthSettings): Promise<EngineAuth> {
  if (a.method !== "CHAP") return { method: "None" };
  if (a.username === "") throw new IscsiError("CONFIG", `${a.where}: authmethod is CHAP but no username is set`);
  const secret = await a.password();
  if (secret === undefined)
    throw new IscsiError("CONFIG", `${a.where}: authmethod is CHAP but no password is stored (iscsi secret set)`);
  let mutual: { username: string; secret: Uint8Array } | undefined;
  if (a.usernameIn !== "") {
    const secretIn = await a.passwordIn();
    if (secretIn === undefined)
      throw new IscsiError(
        "CONFIG",
        `${a.where}: username_in is set but no password_in is stored (iscsi secret set --mutual)`,
      );
    mutual = { username: a.usernameIn, secret: bytes(secretIn) };
  }
  const algorithms = a.algorithms?.split(",").map((x) => CHAP_A[x]!);
  return {
    method: "CHAP",
    username: a.username,
    secret: bytes(secret),
    ...(algorithms ? { algorithms } : {}),
    ...(mutual ? { mutual } : {}),
  };
}

const digestList = (s: string) => s.split(",") as Array<"None" | "CRC32C">;

export async function nodeOpenParams(
  record: NodeRecord,
  secrets: SecretStore,
  initiatorName: string,
): Promise<OpenParams> {
  const s: NodeSettings = record.settings;
  const auth = await authFrom({
    method: s["node.session.auth.authmethod"],
    username: s["node.session.auth.username"],
    usernameIn: s["node.session.auth.username_in"],
    algorithms: s["node.session.auth.chap_algs"],
    password: () => secrets.get(nodeSecretKey(record.target, record.portal, "password")),
    passwordIn: () => secrets.get(nodeSecretKey(record.target, record.portal, "password_in")),
    where: `node ${record.target} at ${record.portal.host}:${record.portal.port}`,
  });
  return {
    portal: record.portal,
    initiatorName,
    targetName: record.target,
    auth,
    isid: record.isid,
    proposal: {
      headerDigest: digestList(s["node.conn[0].iscsi.HeaderDigest"]),
      dataDigest: digestList(s["node.conn[0].iscsi.DataDigest"]),
      maxRecvDataSegmentLength: s["node.conn[0].iscsi.MaxRecvDataSegmentLength"],
      initialR2T: s["node.session.iscsi.InitialR2T"] === "Yes",
      immediateData: s["node.session.iscsi.ImmediateData"] === "Yes",
      firstBurstLength: Math.min(s["node.session.iscsi.FirstBurstLength"], s["node.session.iscsi.MaxBurstLength"]),
      maxBurstLength: s["node.session.iscsi.MaxBurstLength"],
      maxConnections: s["node.session.iscsi.MaxConnections"],
    },
    loginTimeoutMs: s["node.conn[0].timeo.login_timeout"] * 1000,
    queueDepth: s["node.session.queue_depth"],
    replacementTimeoutMs:
      s["node.session.timeo.replacement_timeout"] < 0 ? -1 : s["node.session.timeo.replacement_timeout"] * 1000,
    ...(s["iface.net_ifacename"] || s["iface.ipaddress"]
      ? { source: { netIfaceName: s["iface.net_ifacename"], ipAddress: s["iface.ipaddress"] } }
      : {}),
  };
}

export async function discoveryAuth(record: SendTargetsRecord, secrets: SecretStore): Promise<EngineAuth> {
  const s = record.settings;
  return authFrom({
    method: s["discovery.sendtargets.auth.authmethod"],
    username: s["discovery.sendtargets.auth.username"],
    usernameIn: s["discovery.sendtargets.auth.username_in"],
    password: () => secrets.get(discoverySecretKey(record.portal, "password")),
    passwordIn: () => secrets.get(discoverySecretKey(record.portal, "password_in")),
    where: `discovery portal ${record.portal.host}:${record.portal.port}`,
  });
}
