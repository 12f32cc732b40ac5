// An in-memory disk for the NFS server's tests that need no target (codec-level behaviour, fuzzing): the same
// NfsDisk contract as an attached LUN, with a health the test can set and counters of what was asked.
import type { NfsDisk } from "../../src/attach/nfs/export.ts";

export class MemDisk implements NfsDisk {
  readonly bytes: Uint8Array;
  state: "up" | "recovering" | "down" = "up";
  flushes = 0;
  fuaWrites = 0;

  constructor(
    readonly sizeBytes: number,
    readonly blockSize = 512,
  ) {
    this.bytes = new Uint8Array(sizeBytes);
  }

  health() {
    return this.state;
  }

  async read(offset: number, dst: Uint8Array): Promise<void> {
    dst.set(this.bytes.subarray(offset, offset + dst.length));
  }

  async write(offset: number, src: Uint8Array, fua: boolean): Promise<void> {
    this.bytes.set(src, offset);
    if (fua) this.fuaWrites++;
  }

  async synchronizeCache(): Promise<void> {
    this.flushes++;
  }
}
