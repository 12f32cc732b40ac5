// The key=value text of Login and Text data segments, RFC 7143 §6.1 (grammar, C-bit continuation), with the
// value grammars of §6.1/§6.2, binary values of §12.1.3 and TargetAddress of §13.8. Leaf module, strict parser.

import { isIPv4, isIPv6 } from "node:net";

/** Malformed text from the peer; the message names the key or byte offset and what was wrong. */
export class TextFormatError extends Error {
  readonly code = "PROTOCOL" as const;
  constructor(message: string) {
    super(message);
    this.name = "TextFormatError";
  }
}

export const MAX_KEY_BYTES = 63; // RFC 7143 §6.1
export const MAX_VALUE_BYTES = 255; // §6.1: simple values unless the key says otherwise
export const MAX_ISCSI_NAME_BYTES = 223; // §4.2.7.1
export const MAX_BINARY_BYTES = 1024; // §12.1.3: CHAP_C and CHAP_R, decoded
/** Caps on reassembled (C-bit) text: far above what any honest peer sends, small enough to bound memory. */
export const LOGIN_TEXT_CAP = 64 * 1024;
export const SENDTARGETS_TEXT_CAP = 1024 * 1024;

/** Longest encoded value per key: "0x" + 2 hex digits per byte for binary values, 223 B for names. */
export function defaultValueLimit(key: string): number {
  if (key === "CHAP_C" || key === "CHAP_R") return 2 + 2 * MAX_BINARY_BYTES;
  if (key === "TargetName" || key === "InitiatorName") return MAX_ISCSI_NAME_BYTES;
  return MAX_VALUE_BYTES;
}

export interface TextLimits {
  /** Longest value accepted for `key`, in bytes; defaults to `defaultValueLimit`. */
  valueLimit?: (key: string) => number;
}

// §6.1: a standard-label starts with an upper-case letter and holds letters, digits and . - + @ _;
// X# keys are IANA-registered extensions (X- keys already match the standard-label form).
const KEY_NAME = /^(?:[A-Z][A-Za-z0-9.\-+@_]*|X#[A-Za-z0-9.\-+@_]+)$/;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** A short, printable rendering of peer input for error messages. */
export function show(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

function showBytes(bytes: Uint8Array): string {
  return show(Array.from(bytes.subarray(0, 65), (b) => String.fromCharCode(b)).join(""));
}

/** Parses a whole data segment into ordered pairs; every pair, the last included, must end in NUL. */
export function parseTextKeys(data: Uint8Array, limits: TextLimits = {}): Array<[string, string]> {
  const valueLimit = limits.valueLimit ?? defaultValueLimit;
  const pairs: Array<[string, string]> = [];
  for (let start = 0; start < data.length; ) {
    const end = data.indexOf(0, start);
    if (end < 0) {
      throw new TextFormatError(`text ends without a NUL: the last key=value pair is unterminated (RFC 7143 §6.1)`);
    }
    const pair = data.subarray(start, end);
    if (pair.length === 0) throw new TextFormatError(`empty key=value pair at byte ${start}`);
    const eq = pair.indexOf(0x3d);
    if (eq < 0) throw new TextFormatError(`pair ${showBytes(pair)} at byte ${start} has no '='`);
    const keyBytes = pair.subarray(0, eq);
    const key = String.fromCharCode(...keyBytes.subarray(0, MAX_KEY_BYTES + 1));
    if (keyBytes.length > MAX_KEY_BYTES) {
      throw new TextFormatError(`key ${showBytes(keyBytes)} is ${keyBytes.length} bytes, over ${MAX_KEY_BYTES}`);
    }
    if (!KEY_NAME.test(key)) throw new TextFormatError(`key ${show(key)} at byte ${start} is not a valid key name`);
    const valueBytes = pair.subarray(eq + 1);
    const limit = valueLimit(key);
    if (valueBytes.length > limit) {
      throw new TextFormatError(`value of ${key} is ${valueBytes.length} bytes, over ${limit}`);
    }
    let value: string;
    try {
      value = utf8.decode(valueBytes);
    } catch {
      throw new TextFormatError(`value of ${key} is not valid UTF-8`);
    }
    pairs.push([key, value]);
    start = end + 1;
  }
  return pairs;
}

/** Encodes our own pairs, each followed by NUL. A bad key or a NUL in a value is our bug, not the peer's. */
export function encodeTextKeys(pairs: Iterable<readonly [string, string]>): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const [key, value] of pairs) {
    if (key.length > MAX_KEY_BYTES || !KEY_NAME.test(key)) throw new RangeError(`invalid key name ${show(key)}`);
    if (value.includes("\0")) throw new RangeError(`value of ${key} contains NUL`);
    const bytes = utf8Encoder.encode(`${key}=${value}\0`);
    parts.push(bytes);
    size += bytes.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Reassembles text continued over several PDUs (C bit, RFC 7143 §6.1), refusing to grow past `cap`. */
export class TextAccumulator {
  #chunks: Uint8Array[] = [];
  #size = 0;
  constructor(
    readonly cap: number,
    readonly what: string,
  ) {}

  get size(): number {
    return this.#size;
  }

  /** Keeps a copy: the caller's buffer may be a view on a reused receive buffer. */
  append(segment: Uint8Array): void {
    if (this.#size + segment.length > this.cap) {
      throw new TextFormatError(
        `${this.what} continued (C bit) past ${this.cap} bytes (${this.#size + segment.length} so far)`,
      );
    }
    if (segment.length > 0) this.#chunks.push(segment.slice());
    this.#size += segment.length;
  }

  /** Parses the complete text and empties the accumulator. */
  finish(limits?: TextLimits): Array<[string, string]> {
    const all = new Uint8Array(this.#size);
    let at = 0;
    for (const chunk of this.#chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    this.#chunks = [];
    this.#size = 0;
    return parseTextKeys(all, limits);
  }
}

// ---- value grammars, RFC 7143 §6.1 ----

const DECIMAL = /^(?:0|[1-9][0-9]*)$/; // decimal-constant: "0" or digits not starting with 0
const HEX = /^0[xX][0-9A-Fa-f]+$/; // hex-constant
const TWO_64 = 1n << 64n;

function unsigned(value: string, key: string): bigint {
  let n: bigint;
  if (DECIMAL.test(value)) n = BigInt(value);
  else if (HEX.test(value)) n = BigInt(`0x${value.slice(2)}`);
  else throw new TextFormatError(`${key}=${show(value)} is not a number (decimal or 0x-hex, no sign or spaces)`);
  // §6.1: a numerical-value is an unsigned integer below 2^64
  if (n >= TWO_64) throw new TextFormatError(`${key}=${show(value)} is not below 2^64`);
  return n;
}

/** A numerical-value in [min, max]; number bounds give a number, bigint bounds a bigint. */
export function parseNumber(value: string, key: string, min?: number, max?: number): number;
export function parseNumber(value: string, key: string, min: bigint, max: bigint): bigint;
export function parseNumber(
  value: string,
  key: string,
  min: number | bigint = 0,
  max: number | bigint = Number.MAX_SAFE_INTEGER,
): number | bigint {
  const n = unsigned(value, key);
  if (n < BigInt(min) || n > BigInt(max)) {
    throw new TextFormatError(`${key}=${show(value)} is outside ${min}–${max}`);
  }
  return typeof min === "bigint" ? n : Number(n);
}

/** boolean-value: exactly "Yes" or "No" (§6.1, case-sensitive). */
export function parseBoolean(value: string, key: string): boolean {
  if (value === "Yes") return true;
  if (value === "No") return false;
  throw new TextFormatError(`${key}=${show(value)} is not Yes or No`);
}

/** numeric-range "n1~n2" with n1 ≤ n2, both within [min, max]. */
export function parseRange(value: string, key: string, min = 0, max = Number.MAX_SAFE_INTEGER): [number, number] {
  const parts = value.split("~");
  if (parts.length !== 2) throw new TextFormatError(`${key}=${show(value)} is not a range n1~n2`);
  const lo = parseNumber(parts[0] ?? "", key, min, max);
  const hi = parseNumber(parts[1] ?? "", key, min, max);
  if (hi < lo) throw new TextFormatError(`${key}=${show(value)}: upper bound is below lower bound`);
  return [lo, hi];
}

/** list-of-values: comma-separated, no empty items. */
export function parseList(value: string, key: string): string[] {
  const items = value.split(",");
  if (items.some((item) => item.length === 0)) throw new TextFormatError(`${key}=${show(value)} has an empty item`);
  return items;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** binary-value (§6.1, §12.1.3): 0x hex (even length) or 0b base64 (canonical), 1..maxBytes bytes decoded. */
export function decodeBinary(value: string, key: string, maxBytes = MAX_BINARY_BYTES): Uint8Array {
  const prefix = value.slice(0, 2);
  const body = value.slice(2);
  let bytes: Uint8Array;
  if (prefix === "0x" || prefix === "0X") {
    if (!/^[0-9A-Fa-f]*$/.test(body)) throw new TextFormatError(`${key} has a non-hex character`);
    if (body.length % 2 !== 0) throw new TextFormatError(`${key} has an odd number of hex digits`);
    if (body.length / 2 > maxBytes) throw new TextFormatError(`${key} is ${body.length / 2} bytes, over ${maxBytes}`);
    bytes = new Uint8Array(Buffer.from(body, "hex"));
  } else if (prefix === "0b" || prefix === "0B") {
    if (body.length % 4 !== 0 || !BASE64.test(body)) throw new TextFormatError(`${key} is not valid base64`);
    const padding = body.endsWith("==") ? 2 : body.endsWith("=") ? 1 : 0;
    const length = (body.length / 4) * 3 - padding;
    if (length > maxBytes) throw new TextFormatError(`${key} is ${length} bytes, over ${maxBytes}`);
    bytes = new Uint8Array(Buffer.from(body, "base64"));
    // Non-zero bits in the last character would decode to the same bytes: insist on the canonical form.
    if (Buffer.from(bytes).toString("base64") !== body) throw new TextFormatError(`${key} is not canonical base64`);
  } else {
    throw new TextFormatError(`${key} is neither 0x-hex nor 0b-base64`);
  }
  if (bytes.length === 0) throw new TextFormatError(`${key} is empty (0 bytes)`);
  return bytes;
}

/** Our binary values go out as 0x-prefixed lower-case hex. */
export function encodeHex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;
}

// ---- TargetAddress, RFC 7143 §13.8: domainname[:port][,portal-group-tag] ----

export interface TargetAddress {
  host: string; // DNS name, dotted IPv4, or IPv6 without brackets
  port: number;
  portalGroupTag?: number;
}

export const DEFAULT_ISCSI_PORT = 3260;
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function validHost(host: string, bracketed: boolean): boolean {
  if (bracketed) return isIPv6(host) && !host.includes("%"); // a zone index means nothing on our side
  if (/^[0-9.]+$/.test(host)) return isIPv4(host);
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  return name.length > 0 && name.length <= 253 && name.split(".").every((label) => DNS_LABEL.test(label));
}

export function parseTargetAddress(value: string): TargetAddress {
  const bad = (why: string) => new TextFormatError(`TargetAddress=${show(value)}: ${why}`);
  let host: string;
  let rest: string;
  const bracketed = value.startsWith("[");
  if (bracketed) {
    const close = value.indexOf("]");
    if (close < 0) throw bad("unclosed '['");
    host = value.slice(1, close);
    rest = value.slice(close + 1);
  } else {
    const end = value.search(/[:,]/);
    host = end < 0 ? value : value.slice(0, end);
    rest = end < 0 ? "" : value.slice(end);
  }
  if (!validHost(host, bracketed)) throw bad("not a DNS name, IPv4 address or bracketed IPv6 address");
  const m = /^(?::([^,]*))?(?:,(.*))?$/.exec(rest);
  if (!m) throw bad("junk after the host");
  const [, portText, tagText] = m;
  let port = DEFAULT_ISCSI_PORT;
  if (portText !== undefined) {
    if (!DECIMAL.test(portText)) throw bad(`port ${show(portText)} is not a decimal number`);
    port = Number(portText);
    if (port < 1 || port > 65535) throw bad(`port ${port} is outside 1–65535`);
  }
  const address: TargetAddress = { host, port };
  if (tagText !== undefined) address.portalGroupTag = parseNumber(tagText, "TargetAddress portal group tag", 0, 65535);
  return address;
}
