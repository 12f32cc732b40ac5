/*
 * The FUSE backend of the attach layer (docs/architecture.md, "Attaching a LUN"): one file of the LUN's size in a private mount dir,
 * every read, write, flush/fsync and hole punch on it forwarded through an iscsi_ring to TypeScript.
 *
 * Lifetime: start → (requests) → shutdown (queued and in-flight requests fail with -EIO) → stop (unmount, join
 * the worker threads) → free. Buffers handed to the consumer stay valid and unchanged until iscsi_fuse_free(),
 * even for requests that shutdown failed early: the consumer may still be sending or filling them, and a late
 * write must carry its own bytes, never another request's. So free only after the consumer let go of all of them.
 */
#ifndef ISCSI_FUSE_H
#define ISCSI_FUSE_H

#include <stddef.h>
#include <stdint.h>

#include "iscsi_ring.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct iscsi_fuse iscsi_fuse;

/* Mounts `mountpoint` (an existing empty directory) serving `file_name` of `size_bytes` bytes, with one worker
 * thread per ring slot (at most 64). On failure returns NULL with a message in err[0..errlen). */
iscsi_fuse *iscsi_fuse_start(iscsi_ring *ring, const char *mountpoint, const char *file_name, uint64_t size_bytes,
                             int read_only, char *err, size_t errlen);
/* Fails every queued and in-flight request with -EIO (iscsi_ring_shutdown) and every later one at once, keeping
 * the buffers of abandoned requests out of reuse. Idempotent; call instead of iscsi_ring_shutdown(). */
void iscsi_fuse_shutdown(iscsi_fuse *h);
/* Shuts down, aborts the FUSE connection and detaches the mount (bounded even while a loop device still holds
 * the file), and joins the worker threads. Returns 0, or -errno of the unmount. Idempotent. */
int iscsi_fuse_stop(iscsi_fuse *h);
/* Frees everything, buffers included. Only after iscsi_fuse_stop() and once no buffer is in use any more. */
void iscsi_fuse_free(iscsi_fuse *h);

/* Largest read or write the kernel sends in one request (negotiated max_write / max_read). */
uint32_t iscsi_fuse_max_io(iscsi_fuse *h);

#ifdef __cplusplus
}
#endif

#endif /* ISCSI_FUSE_H */
