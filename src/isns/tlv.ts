// iSNSP attributes as Tag-Length-Value (RFC 4171 §5.5, §6.1): 4-byte tag, 4-byte length, a value padded to a
// multiple of 4 bytes. Strings are NUL-terminated UTF-8, addresses 16 bytes (IPv4 mapped into IPv6, §6.3.1),
// ports 4 bytes with the UDP flag in bit 15 (§6.3.2). Every length is checked before the value is read.
import { IsnsError } from "./errors.ts";

export interface Attribute {
  tag: number;
  value: Uint8Array;
}

/** Longest attribute value we accept from a server; RFC 4171 §6.1 has none longer than 256 bytes but certificates. */
const MAX_VALUE_BYTES = 65_536;

export function encodeAttributes(attrs: readonly Attribute[]): Uint8Array {
  const total = attrs.reduce((n, a) => n + 8 + a.value.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const a of attrs) {
    if (a.value.length % 4 !== 0)
      throw new IsnsError(`attribute ${a.tag}: value of ${a.value.length} bytes is not a multiple of 4`);
    view.setUint32(at, a.tag);
    view.setUint32(at + 4, a.value.length);
    out.set(a.value, at + 8);
    at += 8 + a.value.length;
  }
  return out;
}

/** Splits a payload into attributes; a truncated header, a length past the end or not a multiple of 4 is an error naming the tag and offset. */
export function decodeAttributes(bytes: Uint8Array, offset = 0): Attribute[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const attrs: Attribute[] = [];
  let at = offset;
  while (at < bytes.length) {
    if (bytes.length - at < 8)
      throw new IsnsError(
        `truncated attribute at byte ${at}: ${bytes.length - at} byte(s) left, a tag and length need 8`,
      );
    const tag = view.getUint32(at);
    const length = view.getUint32(at + 4);
    if (length > bytes.length - at - 8)
      throw new IsnsError(
        `attribute ${tag} at byte ${at}: length ${length} runs past the end of the message (${bytes.length - at - 8} byte(s) left)`,
      );
    if (length % 4 !== 0)
      throw new IsnsError(`attribute ${tag} at byte ${at}: length ${length} is not a multiple of 4`);
    if (length > MAX_VALUE_BYTES)
      throw new IsnsError(`attribute ${tag} at byte ${at}: length ${length} exceeds ${MAX_VALUE_BYTES}`);
    attrs.push({ tag, value: bytes.subarray(at + 8, at + 8 + length) });
    at += 8 + length;
  }
  return attrs;
}

export const delimiter = (): Attribute => ({ tag: 0, value: new Uint8Array(0) });
/** A tag with no value: asks a query for that attribute (RFC 4171 §5.6.5.2). */
export const empty = (tag: number): Attribute => ({ tag, value: new Uint8Array(0) });

export function u32(tag: number, n: number): Attribute {
  const value = new Uint8Array(4);
  new DataView(value.buffer).setUint32(0, n >>> 0);
  return { tag, value };
}

export function str(tag: number, s: string): Attribute {
  const text = new TextEncoder().encode(s);
  // NUL-terminated and padded to 4 bytes (RFC 4171 §5.5).
  const value = new Uint8Array((text.length + 4) & ~3);
  value.set(text);
  return { tag, value };
}

/** A TCP port (UDP flag clear). */
export const port = (tag: number, p: number): Attribute => u32(tag, p & 0xffff);

export function ip(tag: number, address: string): Attribute {
  return { tag, value: encodeIp(address) };
}

export function encodeIp(address: string): Uint8Array {
  const out = new Uint8Array(16);
  // A socket's IPv4-mapped form ("::ffff:10.0.0.1") is the same address.
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/i.exec(address);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((p) => p > 255)) throw new IsnsError(`not an IPv4 address: ${address}`);
    out[10] = 0xff;
    out[11] = 0xff;
    out.set(parts, 12);
    return out;
  }
  const groups = expandIpv6(address.replace(/^\[|\]$/g, ""));
  if (!groups) throw new IsnsError(`not an IP address: ${address}`);
  const view = new DataView(out.buffer);
  for (const [i, g] of groups.entries()) view.setUint16(i * 2, g);
  return out;
}

function expandIpv6(text: string): number[] | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parse = (s: string) =>
    s === "" ? [] : s.split(":").map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? Number.parseInt(g, 16) : Number.NaN));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || fill < 0 || [...head, ...tail].some(Number.isNaN)) return undefined;
  return [...head, ...Array<number>(fill).fill(0), ...tail];
}

/** Readers for a received attribute; each checks the length the type needs and names the tag when it is wrong. */
export function readU32(a: Attribute): number {
  if (a.value.length !== 4)
    throw new IsnsError(`attribute ${a.tag}: a 4-byte value was expected, got ${a.value.length} byte(s)`);
  return new DataView(a.value.buffer, a.value.byteOffset, 4).getUint32(0);
}

export function readString(a: Attribute): string {
  const nul = a.value.indexOf(0);
  if (a.value.length > 0 && nul < 0) throw new IsnsError(`attribute ${a.tag}: string is not NUL-terminated`);
  return new TextDecoder("utf-8", { fatal: false }).decode(a.value.subarray(0, nul < 0 ? 0 : nul));
}

export function readPort(a: Attribute): number {
  return readU32(a) & 0xffff;
}

export function readIp(a: Attribute): string {
  if (a.value.length !== 16)
    throw new IsnsError(`attribute ${a.tag}: a 16-byte IP address was expected, got ${a.value.length} byte(s)`);
  const b = a.value;
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)
    return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const view = new DataView(b.buffer, b.byteOffset, 16);
  const groups = Array.from({ length: 8 }, (_, i) => view.getUint16(i * 2).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}
