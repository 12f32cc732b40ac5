// XDR (RFC 4506) reading and writing: big-endian 4-byte units, opaque data padded to 4 bytes. The reader checks
// every length against the bytes present and a caller's bound before it makes a view; it never allocates.

/** A message that breaks XDR or RPC rules; `code` matches the shared error catalogue. */
export class XdrError extends Error {
  readonly code = "PROTOCOL";
}

// Arithmetic, not bit operations: lengths up to 2^32 - 1 must not wrap to negative numbers.
const pad4 = (n: number) => n + ((4 - (n % 4)) % 4);

export class XdrReader {
  private readonly view: DataView;
  pos = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.remaining)
      throw new XdrError(`${what}: needs ${n} bytes at offset ${this.pos}, only ${this.remaining} left`);
  }

  u32(what = "uint32"): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(what = "uint64"): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  bool(what = "bool"): boolean {
    const v = this.u32(what);
    if (v > 1) throw new XdrError(`${what}: boolean is ${v}, not 0 or 1`);
    return v === 1;
  }

  /** Fixed-length opaque (RFC 4506 §4.9): a view into the message. */
  fixed(n: number, what = "opaque"): Uint8Array {
    this.need(pad4(n), what);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += pad4(n);
    return v;
  }

  /** Variable-length opaque (RFC 4506 §4.10), refused when longer than `max` or than the message. */
  opaque(max: number, what = "opaque"): Uint8Array {
    const n = this.u32(`${what} length`);
    if (n > max) throw new XdrError(`${what}: length ${n} exceeds the limit of ${max}`);
    return this.fixed(n, what);
  }

  /** String (RFC 4506 §4.11); names on the wire are UTF-8 here. */
  string(max: number, what = "string"): string {
    return new TextDecoder("utf-8", { fatal: false }).decode(this.opaque(max, what));
  }

  /** Checks that the whole message was used: trailing bytes mean the sender and we disagree on its shape. */
  end(what: string): void {
    if (this.remaining !== 0) throw new XdrError(`${what}: ${this.remaining} unexpected bytes after the arguments`);
  }
}

/** Writes XDR into one growing buffer; `finish()` hands out a copy-free view that no later write touches. */
export class XdrWriter {
  private buf: Uint8Array;
  private view: DataView;
  pos = 0;

  /** `into`: a buffer to write into first (a pooled one); it grows into a fresh one when too small. */
  constructor(capacity = 256, into?: Uint8Array) {
    this.buf = into ?? new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0);
    this.pos += 4;
    return this;
  }

  u64(v: bigint | number): this {
    this.ensure(8);
    this.view.setBigUint64(this.pos, BigInt(v));
    this.pos += 8;
    return this;
  }

  bool(v: boolean): this {
    return this.u32(v ? 1 : 0);
  }

  /**
   * Room for `n` bytes of opaque data (length, data, padding), filled in later through the view returned; the last
   * thing written (a later write could move the buffer).
   */
  room(n: number): Uint8Array {
    this.u32(n);
    const padded = pad4(n);
    this.ensure(padded);
    const view = this.buf.subarray(this.pos, this.pos + n);
    this.buf.fill(0, this.pos + n, this.pos + padded);
    this.pos += padded;
    return view;
  }

  fixed(bytes: Uint8Array): this {
    const n = pad4(bytes.length);
    this.ensure(n);
    this.buf.set(bytes, this.pos);
    this.buf.fill(0, this.pos + bytes.length, this.pos + n);
    this.pos += n;
    return this;
  }

  opaque(bytes: Uint8Array): this {
    return this.u32(bytes.length).fixed(bytes);
  }

  string(s: string): this {
    return this.opaque(new TextEncoder().encode(s));
  }

  /** Overwrites a 4-byte unit written earlier (a length or record mark known only at the end). */
  patch32(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0);
  }

  finish(): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.buf = new Uint8Array(0);
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
    return out;
  }
}
