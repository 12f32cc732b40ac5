// One export of the loopback NFS server: a directory holding one fixed-size file, the LUN. Attributes are stable
// (fileid, size and mode never change; times move only with our own writes), because unstable attributes have
// panicked macOS's NFS client (QUIRK(fuse-t): issue 109). Counters show what clients asked.
import { FType, type Fattr3, type NfsTime } from "../../nfs/nfs3-types.ts";
import { encodeHandle, exportIdOf, ObjectKind } from "./handles.ts";

/** The LUN as the NFS server sees it; `health` decides between waiting (JUKEBOX) and failing (IO). */
export interface NfsDisk {
  readonly sizeBytes: number;
  readonly blockSize: number;
  read(offset: number, dst: Uint8Array): Promise<void>;
  write(offset: number, src: Uint8Array, fua: boolean): Promise<void>;
  synchronizeCache(): Promise<void>;
  /** "recovering": the session is being reinstated and may come back; "down": it will not. */
  health(): "up" | "recovering" | "down";
}

export interface NfsCounters {
  reads: number;
  writes: number;
  commits: number;
  jukebox: number;
  bytesRead: number;
  bytesWritten: number;
  errors: number;
}

const DIR_FILEID = 1n;
/** How long after a CREATE of the file a truncation to 0 is taken as that open's O_TRUNC (nfs3-service.ts). */
const OPEN_GRACE_MS = 5_000;
const FILE_FILEID = 2n;

function timeOf(ms: number): NfsTime {
  return { seconds: Math.floor(ms / 1000), nseconds: (ms % 1000) * 1_000_000 };
}

export class NfsExport {
  readonly id: bigint;
  readonly rootHandle: Uint8Array;
  readonly fileHandle: Uint8Array;
  readonly counters: NfsCounters = {
    reads: 0,
    writes: 0,
    commits: 0,
    jukebox: 0,
    bytesRead: 0,
    bytesWritten: 0,
    errors: 0,
  };
  private readonly born: NfsTime;
  private mtime: NfsTime;
  private openedAt = 0;

  /** `path`: the export's directory path (MOUNT dirpath); `fileName`: the one file in it. */
  constructor(
    readonly path: string,
    readonly fileName: string,
    readonly disk: NfsDisk,
    readonly readOnly: boolean,
  ) {
    this.id = exportIdOf(path);
    this.rootHandle = encodeHandle(this.id, ObjectKind.Dir);
    this.fileHandle = encodeHandle(this.id, ObjectKind.File);
    this.born = timeOf(Date.now());
    this.mtime = this.born;
  }

  dirAttr(): Fattr3 {
    return {
      type: FType.Dir,
      mode: 0o755,
      nlink: 2,
      uid: 0,
      gid: 0,
      size: 4096n,
      used: 4096n,
      fsid: this.id,
      fileid: DIR_FILEID,
      atime: this.born,
      mtime: this.born,
      ctime: this.born,
    };
  }

  fileAttr(): Fattr3 {
    const size = BigInt(this.disk.sizeBytes);
    return {
      type: FType.Reg,
      mode: this.readOnly ? 0o400 : 0o600,
      nlink: 1,
      uid: 0,
      gid: 0,
      size,
      used: size,
      fsid: this.id,
      fileid: FILE_FILEID,
      atime: this.mtime,
      mtime: this.mtime,
      ctime: this.mtime,
    };
  }

  /** A CREATE returned the file (a client opening it for writing). */
  opened(): void {
    this.openedAt = Date.now();
  }

  /** Whether a CREATE returned the file within the last OPEN_GRACE_MS (its O_TRUNC may follow). */
  justOpened(): boolean {
    return Date.now() - this.openedAt < OPEN_GRACE_MS;
  }

  /** After a write of ours: mtime and ctime move forward, at least by a nanosecond, so each write is visible. */
  touched(): void {
    const now = timeOf(Date.now());
    const later =
      now.seconds > this.mtime.seconds || (now.seconds === this.mtime.seconds && now.nseconds > this.mtime.nseconds);
    this.mtime = later
      ? now
      : this.mtime.nseconds < 999_999_999
        ? { seconds: this.mtime.seconds, nseconds: this.mtime.nseconds + 1 }
        : { seconds: this.mtime.seconds + 1, nseconds: 0 };
  }
}
