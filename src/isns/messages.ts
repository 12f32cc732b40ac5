// The iSNSP messages an initiator sends and the answers it reads (RFC 4171 §5.6.5, §5.7.5): each request is
// Source attribute, Message Key attributes, Delimiter, Operating attributes; each response a Status Code and
// attributes. Builders return payloads; parsers check the function ID and every attribute they read.
import { ENTITY_PROTOCOL_ISCSI, FLAG, FUNCTION, NODE_TYPE, RESPONSE_BIT, STATUS_NAMES, TAG } from "./constants.ts";
import { IsnsError } from "./errors.ts";
import { functionName, type Message } from "./pdu.ts";
import {
  decodeAttributes,
  delimiter,
  empty,
  encodeAttributes,
  ip,
  port,
  readIp,
  readPort,
  readString,
  readU32,
  str,
  u32,
  type Attribute,
} from "./tlv.ts";

export interface Request {
  functionId: number;
  flags: number;
  payload: Uint8Array;
}

export interface Registration {
  /** Our iSCSI name: the Source attribute and the node registered. */
  source: string;
  entityId: string;
  /** Where the server reaches our SCN listener (RFC 4171 §6.3.4): registered as a portal with its SCN port. */
  scn?: { host: string; port: number };
  alias?: string;
}

const request = (functionId: number, attrs: Attribute[], flags = 0): Request => ({
  functionId,
  flags: FLAG.client | flags,
  payload: encodeAttributes(attrs),
});

/** DevAttrReg of our entity, its initiator node and (for SCNs) a portal (RFC 4171 §5.6.5.1); Replace drops what an earlier run left. */
export function devAttrReg(r: Registration): Request {
  const portal = r.scn
    ? [ip(TAG.portalIpAddress, r.scn.host), port(TAG.portalTcpUdpPort, r.scn.port), port(TAG.scnPort, r.scn.port)]
    : [];
  return request(
    FUNCTION.DevAttrReg,
    [
      str(TAG.iscsiName, r.source),
      str(TAG.entityIdentifier, r.entityId),
      delimiter(),
      str(TAG.entityIdentifier, r.entityId),
      u32(TAG.entityProtocol, ENTITY_PROTOCOL_ISCSI),
      ...portal,
      str(TAG.iscsiName, r.source),
      u32(TAG.iscsiNodeType, NODE_TYPE.initiator),
      ...(r.alias ? [str(TAG.iscsiAlias, r.alias)] : []),
    ],
    FLAG.replace,
  );
}

/** Attributes asked of each target: name, type, entity portals and portal groups, as open-iscsi asks. */
export const TARGET_QUERY_TAGS = [
  TAG.iscsiName,
  TAG.iscsiNodeType,
  TAG.portalIpAddress,
  TAG.portalTcpUdpPort,
  TAG.pgIscsiName,
  TAG.pgPortalIpAddr,
  TAG.pgPortalTcpUdpPort,
  TAG.pgTag,
] as const;

/** DevAttrQry for every target node our node may see (RFC 4171 §5.6.5.2); the server applies discovery domains. */
export function devAttrQryTargets(source: string): Request {
  return request(FUNCTION.DevAttrQry, [
    str(TAG.iscsiName, source),
    u32(TAG.iscsiNodeType, NODE_TYPE.target),
    delimiter(),
    ...TARGET_QUERY_TAGS.map(empty),
  ]);
}

/** DevAttrQry of one node by name: answers whether the server knows it (used by doctor and after registration). */
export function devAttrQryNode(source: string, name: string): Request {
  return request(FUNCTION.DevAttrQry, [
    str(TAG.iscsiName, source),
    str(TAG.iscsiName, name),
    delimiter(),
    empty(TAG.iscsiName),
    empty(TAG.iscsiNodeType),
  ]);
}

/** DevDereg of our entity and everything under it (RFC 4171 §5.6.5.4). */
export function devDereg(source: string, entityId: string): Request {
  return request(FUNCTION.DevDereg, [str(TAG.iscsiName, source), delimiter(), str(TAG.entityIdentifier, entityId)]);
}

/** SCNReg of our node for the events in `bitmap` (RFC 4171 §5.6.5.5). */
export function scnReg(source: string, bitmap: number): Request {
  return request(FUNCTION.SCNReg, [
    str(TAG.iscsiName, source),
    str(TAG.iscsiName, source),
    delimiter(),
    u32(TAG.iscsiScnBitmap, bitmap),
  ]);
}

/** SCNDereg of `node`'s SCN registration (RFC 4171 §5.6.5.6). */
export function scnDereg(source: string, node: string): Request {
  return request(FUNCTION.SCNDereg, [str(TAG.iscsiName, source), str(TAG.iscsiName, node), delimiter()]);
}

/** SCNRsp: Successful and the Destination attribute (RFC 4171 §5.7.5.8). */
export function scnRsp(destination: string, status = 0): Request {
  return {
    functionId: FUNCTION.SCN | RESPONSE_BIT,
    flags: FLAG.client,
    payload: withStatus(status, encodeAttributes([str(TAG.iscsiName, destination)])),
  };
}

/** ESIRsp: Successful and the ESI's own attributes echoed (RFC 4171 §5.7.5.13). */
export function esiRsp(esiPayload: Uint8Array): Request {
  return { functionId: FUNCTION.ESI | RESPONSE_BIT, flags: FLAG.client, payload: withStatus(0, esiPayload) };
}

function withStatus(status: number, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + rest.length);
  new DataView(out.buffer).setUint32(0, status);
  out.set(rest, 4);
  return out;
}

export interface Response {
  status: number;
  statusName: string;
  /** Attributes before the Delimiter (Message Key) and after it (Operating); without a Delimiter all are operating. */
  keys: Attribute[];
  operating: Attribute[];
}

/** The answer to `sent`: function ID and transaction ID must match, the status and attributes must parse. */
export function parseResponse(m: Message, sent: { functionId: number; transactionId: number }): Response {
  const expected = sent.functionId | RESPONSE_BIT;
  if (m.functionId !== expected)
    throw new IsnsError(`expected ${functionName(expected)}, got ${functionName(m.functionId)}`);
  if (m.transactionId !== sent.transactionId)
    throw new IsnsError(
      `${functionName(m.functionId)} for transaction ${m.transactionId}, expected ${sent.transactionId}`,
    );
  if (m.payload.length < 4)
    throw new IsnsError(`${functionName(m.functionId)}: ${m.payload.length} byte(s) of payload, a status code needs 4`);
  const status = new DataView(m.payload.buffer, m.payload.byteOffset, 4).getUint32(0);
  const attrs = decodeAttributes(m.payload, 4);
  const cut = attrs.findIndex((a) => a.tag === TAG.delimiter);
  return {
    status,
    statusName: STATUS_NAMES[status] ?? `status ${status}`,
    keys: cut < 0 ? [] : attrs.slice(0, cut),
    operating: cut < 0 ? attrs : attrs.slice(cut + 1),
  };
}

export interface IsnsPortal {
  host: string;
  port: number;
  portalGroupTag?: number;
}

export interface IsnsTarget {
  name: string;
  portals: IsnsPortal[];
}

/**
 * Targets out of a DevAttrQry answer. Objects come one after another (RFC 4171 §5.6.5.2): an iSCSI Name starts a
 * node, Portal IP + Port a portal of the entity, PG name/IP/port/tag a portal group. A target's portals are its
 * portal groups with a tag (a PG without tag means "no access through that portal", §6.5); without any portal
 * group, every portal of the answer.
 */
export function parseTargets(operating: Attribute[]): IsnsTarget[] {
  const nodes: Array<{ name: string; type?: number }> = [];
  const portals: IsnsPortal[] = [];
  const groups: Array<{ name?: string; host?: string; port?: number; tag?: number; tagless?: boolean }> = [];
  let portalHost: string | undefined;
  for (const a of operating) {
    if (a.tag === TAG.iscsiName) nodes.push({ name: readString(a) });
    else if (a.tag === TAG.iscsiNodeType && nodes.length > 0) nodes[nodes.length - 1]!.type = readU32(a);
    else if (a.tag === TAG.portalIpAddress) portalHost = readIp(a);
    else if (a.tag === TAG.portalTcpUdpPort && portalHost !== undefined) {
      portals.push({ host: portalHost, port: readPort(a) });
      portalHost = undefined;
    } else if (a.tag === TAG.pgIscsiName) groups.push({ name: readString(a) });
    else if (a.tag === TAG.pgPortalIpAddr && groups.length > 0) groups[groups.length - 1]!.host = readIp(a);
    else if (a.tag === TAG.pgPortalTcpUdpPort && groups.length > 0) groups[groups.length - 1]!.port = readPort(a);
    else if (a.tag === TAG.pgTag && groups.length > 0) {
      const g = groups[groups.length - 1]!;
      if (a.value.length === 0) g.tagless = true;
      else g.tag = readU32(a);
    }
  }
  const targets = new Map<string, IsnsTarget>();
  for (const n of nodes) {
    if (n.type !== undefined && (n.type & NODE_TYPE.target) === 0) continue;
    if (!targets.has(n.name)) targets.set(n.name, { name: n.name, portals: [] });
  }
  for (const t of targets.values()) {
    const mine = groups.filter((g) => g.name === t.name && g.host !== undefined && g.port !== undefined);
    const chosen =
      mine.length > 0
        ? mine.filter((g) => !g.tagless).map((g) => ({ host: g.host!, port: g.port!, portalGroupTag: g.tag }))
        : portals.map((p) => ({ ...p }));
    const seen = new Set<string>();
    t.portals = chosen.filter((p) => !seen.has(`${p.host}|${p.port}`) && seen.add(`${p.host}|${p.port}`));
  }
  return [...targets.values()];
}

export interface ScnEvent {
  name: string;
  bitmap: number;
}

/** An SCN (RFC 4171 §5.6.5.8): Destination attribute, Timestamp, then each changed object's name and SCN bitmap. */
export function parseScn(m: Message): { destination: string; events: ScnEvent[] } {
  if (m.functionId !== FUNCTION.SCN) throw new IsnsError(`expected SCN, got ${functionName(m.functionId)}`);
  const attrs = decodeAttributes(m.payload);
  const first = attrs[0];
  if (!first || first.tag !== TAG.iscsiName)
    throw new IsnsError("SCN without a Destination attribute (iSCSI Name) first");
  const events: ScnEvent[] = [];
  // QUIRK(open-isns): isnsd puts each SCN Bitmap before the name it belongs to; the RFC's examples put it after.
  // A bitmap goes to the name before it when that one has none yet, else to the next name.
  let pending: number | undefined;
  for (const a of attrs.slice(1)) {
    if (a.tag === TAG.iscsiName) {
      events.push({ name: readString(a), bitmap: pending ?? 0 });
      pending = undefined;
    } else if (a.tag === TAG.iscsiScnBitmap) {
      const bits = readU32(a);
      const last = events[events.length - 1];
      if (last && last.bitmap === 0 && pending === undefined) last.bitmap = bits;
      else pending = bits;
    }
  }
  return { destination: readString(first), events };
}

/** The Registration Period (seconds) a DevAttrRegRsp grants, if it names one (RFC 4171 §6.2.6). */
export function registrationPeriod(r: Response): number | undefined {
  const a = [...r.operating, ...r.keys].find((x) => x.tag === TAG.registrationPeriod);
  return a ? readU32(a) : undefined;
}
