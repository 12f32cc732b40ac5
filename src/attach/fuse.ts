// The LUN as one file on a private FUSE mount (ffi/fuse_backend.c): start it over a ring, shut it down so every
// waiting request fails with EIO, stop it (unmount, join its threads), and free it once no buffer is in use.
import { ptr } from "bun:ffi";
import { IscsiError } from "../contract/errors.ts";
import type { AttachLibrary } from "./native.ts";
import type { Ring } from "./ring.ts";

const cString = (s: string) => new TextEncoder().encode(`${s}\0`);

export class FuseFile {
  private handle: ReturnType<AttachLibrary["symbols"]["iscsi_fuse_start"]>;
  private stopped = false;
  private freed = false;
  private markShut!: () => void;
  /** Resolves when the backend is shut down (waiting I/O failed): an orderly detach in progress stops waiting. */
  readonly shutDown = new Promise<void>((resolve) => (this.markShut = resolve));

  private constructor(
    private readonly lib: AttachLibrary,
    private readonly ring: Ring,
    handle: NonNullable<ReturnType<AttachLibrary["symbols"]["iscsi_fuse_start"]>>,
    readonly path: string,
  ) {
    this.handle = handle;
  }

  /** Mounts `dir` (empty, existing) with one file `name` of `sizeBytes` bytes served through `ring`. */
  static start(
    lib: AttachLibrary,
    ring: Ring,
    dir: string,
    name: string,
    sizeBytes: number,
    readOnly: boolean,
  ): FuseFile {
    const err = new Uint8Array(512);
    const h = lib.symbols.iscsi_fuse_start(
      ring.ptr,
      cString(dir),
      cString(name),
      sizeBytes,
      readOnly ? 1 : 0,
      ptr(err),
      err.length,
    );
    if (!h) {
      const message = new TextDecoder().decode(err.subarray(0, err.indexOf(0) < 0 ? err.length : err.indexOf(0)));
      throw new IscsiError(
        "ATTACH_UNAVAILABLE",
        `cannot serve the LUN through FUSE at ${dir}: ${message || "unknown error"} (needs root and /dev/fuse)`,
      );
    }
    return new FuseFile(lib, ring, h, `${dir}/${name}`);
  }

  /** Every queued and in-flight request fails with EIO now, later ones at once; their buffers stay valid until free(). */
  shutdown(): void {
    if (this.freed || this.stopped) return;
    this.ring.markShutdown();
    this.lib.symbols.iscsi_fuse_shutdown(this.handle);
    this.markShut();
  }

  /** Shuts down, aborts the connection, detaches the mount and joins the worker threads (bounded). */
  stop(): void {
    if (this.stopped) return;
    this.ring.markShutdown();
    this.markShut();
    this.stopped = true;
    const r = this.lib.symbols.iscsi_fuse_stop(this.handle);
    if (r < 0) throw new IscsiError("GENERIC", `unmounting the FUSE file ${this.path} failed (errno ${-r})`);
  }

  /** Frees the backend and its buffers: only once no request's buffer is used by a command any more. */
  free(): void {
    if (this.freed) return;
    this.stop();
    this.freed = true;
    this.lib.symbols.iscsi_fuse_free(this.handle);
  }
}
