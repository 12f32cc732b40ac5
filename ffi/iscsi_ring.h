/*
 * The one ABI between kernel-facing backends written in C (FUSE file, DriverKit user client, the test
 * harness that plays the dext) and the TypeScript attach layer (src/attach), docs/architecture.md, "Attaching a LUN".
 *
 *   kernel ─▶ backend (C) ─▶ iscsi_ring + doorbell fd ─▶ src/attach (TS) ─▶ session.execute()
 *                           ◀──────── iscsi_ring_complete() (bun:ffi) ◀───────┘
 *
 * Producers are C threads (FUSE worker threads, the IOKit notification thread): they submit a request
 * and block until TypeScript completes it. The consumer is the single JavaScript thread: it reads the
 * doorbell fd (a socketpair end read with Bun.connect({fd})), pops request descriptors with
 * iscsi_ring_pop(), views each request's buffer with bun:ffi toArrayBuffer(buffer, 0, length) without
 * copying, and calls iscsi_ring_complete() once per request. All cross-thread ordering lives in C (a
 * mutex and condition variables); TypeScript never reads shared memory that another thread is writing.
 *
 * Layouts are fixed (static asserts below) because TypeScript decodes them with a DataView, little-endian
 * on every platform we build for (x86_64, arm64).
 */
#ifndef ISCSI_RING_H
#define ISCSI_RING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ISCSI_RING_ABI_VERSION 1u

/* Request operations. Block ops use offset/length in bytes on the LUN; SCSI passes a CDB through. */
enum iscsi_ring_op {
  ISCSI_OP_READ = 1, /* fill buffer[0..length) from LUN bytes [offset, offset+length) */
  ISCSI_OP_WRITE = 2, /* write buffer[0..length) to LUN bytes [offset, offset+length); done only after GOOD */
  ISCSI_OP_FLUSH = 3, /* SYNCHRONIZE CACHE; completes only after the target answered */
  ISCSI_OP_TRIM = 4, /* UNMAP [offset, offset+length) where the LUN supports it, else -EOPNOTSUPP */
  ISCSI_OP_SCSI = 5, /* pass cdb[0..cdb_length) through (the DriverKit HBA); data in buffer per dir */
};

/* Request flags. */
#define ISCSI_REQ_FUA 0x1u /* write: Force Unit Access (SBC-4), used where no flush barrier exists */

/* Data direction of an ISCSI_OP_SCSI request. */
enum iscsi_ring_dir { ISCSI_DIR_NONE = 0, ISCSI_DIR_READ = 1, ISCSI_DIR_WRITE = 2 };

/* One request descriptor as iscsi_ring_pop() hands it to TypeScript: 64 bytes. */
struct iscsi_ring_req {
  uint64_t id; /*  0: unique among requests in flight; echoed by iscsi_ring_complete() */
  uint32_t op; /*  8: enum iscsi_ring_op */
  uint32_t flags; /* 12: ISCSI_REQ_* */
  uint64_t offset; /* 16: byte offset on the LUN (block ops) */
  uint32_t length; /* 24: bytes in buffer (block ops: also the LUN range; SCSI: transfer length) */
  uint8_t cdb_length; /* 28: SCSI only, 6..16 */
  uint8_t dir; /* 29: SCSI only, enum iscsi_ring_dir */
  uint16_t lun; /* 30: SCSI only, LUN the HBA addressed */
  uint64_t buffer; /* 32: address of C-owned memory valid until completion; 0 when length is 0 */
  uint8_t cdb[16]; /* 40: SCSI only */
  uint64_t sense; /* 56: SCSI only: address of a 252-byte sense buffer owned by the producer, or 0 */
};

/*
 * Completion status passed to iscsi_ring_complete():
 *   block ops: 0 on success, or a negative errno (-EIO for a failed or undecidable command, -ENOSPC,
 *              -EROFS for a write-protected LUN, -EOPNOTSUPP for TRIM without UNMAP support, -EINVAL).
 *   SCSI op:   0..255 is the SCSI status byte from the target (GOOD, CHECK CONDITION, ...), with
 *              sense_length bytes already copied to req.sense; a negative errno means no SCSI status
 *              (transport failure): the HBA reports it as a transport error, never as GOOD.
 * `residual` is the SCSI residual count (bytes not transferred); 0 for block ops.
 */

typedef struct iscsi_ring iscsi_ring;

/* Creates a ring for up to `depth` requests in flight (1..1024). NULL on failure (errno set). */
iscsi_ring *iscsi_ring_create(uint32_t depth);
/* The consumer's end of the doorbell socketpair; readable when requests may be waiting. Owned by the ring. */
int iscsi_ring_doorbell_fd(iscsi_ring *ring);

/* Producer side (any C thread). Blocks while the ring is full and until the request completes; returns its
 * status. After iscsi_ring_shutdown() it returns -EIO at once (and wakes every waiting producer with -EIO). */
int32_t iscsi_ring_submit_wait(iscsi_ring *ring, struct iscsi_ring_req *req, uint32_t *sense_length,
                               uint32_t *residual);

/* Consumer side (the JavaScript thread, through bun:ffi). Copies up to `max` waiting descriptors into
 * `out` and returns how many. Returning 0 re-arms the doorbell: the next submit writes one byte to it. */
uint32_t iscsi_ring_pop(iscsi_ring *ring, struct iscsi_ring_req *out, uint32_t max);
/* Completes request `id` (0 or -errno for block ops; see above for SCSI). Returns 0, or -ENOENT when no
 * request with that id is in flight (already completed, or failed by shutdown). */
int32_t iscsi_ring_complete(iscsi_ring *ring, uint64_t id, int32_t status, uint32_t sense_length, uint32_t residual);
/* Fails every queued and in-flight request with -EIO and refuses new ones; idempotent. A request the consumer
 * already popped may still have its buffer read or filled by the consumer afterwards (its command is still out at
 * the target, or queued for a reconnect): a producer keeps such a buffer valid and unchanged until the consumer
 * says it is done with it (the FUSE backend retires them until iscsi_fuse_free()). */
void iscsi_ring_shutdown(iscsi_ring *ring);
/* Frees the ring; call only after shutdown and after every producer thread has returned. */
void iscsi_ring_destroy(iscsi_ring *ring);

/* Counters for status output: requests submitted, completed, failed by shutdown, and currently in flight. */
struct iscsi_ring_stats {
  uint64_t submitted;
  uint64_t completed;
  uint64_t failed_by_shutdown;
  uint32_t in_flight;
  uint32_t depth;
};
void iscsi_ring_get_stats(iscsi_ring *ring, struct iscsi_ring_stats *out);

uint32_t iscsi_ring_abi_version(void);

#ifdef __cplusplus
}
#endif

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct iscsi_ring_req) == 64, "iscsi_ring_req is 64 bytes");
_Static_assert(sizeof(struct iscsi_ring_stats) == 32, "iscsi_ring_stats is 32 bytes");
#endif

#endif /* ISCSI_RING_H */
