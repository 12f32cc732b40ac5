// Line framing of the control socket: UTF-8 JSON objects separated by "\n", each at most `maxBytes` long.
import { IscsiError } from "../contract/errors.ts";

/** Splits a byte stream into lines; a line longer than `maxBytes` is an error (the peer is cut off). */
export class LineSplitter {
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });
  private pending = "";

  constructor(private readonly maxBytes: number) {}

  push(chunk: Uint8Array): string[] {
    this.pending += this.decoder.decode(chunk, { stream: true });
    const parts = this.pending.split("\n");
    this.pending = parts.pop()!;
    // A string's length never exceeds its UTF-8 size, so comparing lengths is a safe early check.
    if (this.pending.length > this.maxBytes)
      throw new IscsiError("INVALID_REQUEST", `line longer than ${this.maxBytes} bytes`);
    for (const p of parts)
      if (p.length > this.maxBytes) throw new IscsiError("INVALID_REQUEST", `line longer than ${this.maxBytes} bytes`);
    return parts.map((p) => p.replace(/\r$/, "")).filter((p) => p.trim() !== "");
  }

  /** What is left when the peer closed without a final newline. */
  rest(): string {
    return this.pending.trim();
  }
}

export function encodeLine(value: unknown): string {
  return JSON.stringify(value) + "\n";
}
