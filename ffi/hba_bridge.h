/*
 * The daemon's side of the arena (hba_abi.h): turns READY slots into ISCSI_OP_SCSI requests on the
 * block-request ring (iscsi_ring.h), one blocking iscsi_ring_submit_wait() per task on a pool of worker
 * threads, writes each completion back into its slot and tells the dext which slots are DONE, batched.
 * Portable C11 + pthreads: the macOS IOKit client (ffi/macos/iokit_client.c) and the Linux harness
 * (ffi/harness/dext_sim.c) drive it through the same calls.
 *
 * The HBA presents each served target with one logical unit, LUN 0, standing for the iSCSI LUN its ring
 * serves. REPORT LUNS is answered here (one LUN, 0), and any task for a LUN other than 0 is answered here
 * the way SPC-4 §4.6.21 (INQUIRY: peripheral qualifier 011b) and SAM-5 (CHECK CONDITION, ILLEGAL
 * REQUEST, LOGICAL UNIT NOT SUPPORTED) describe, without reaching the target.
 */
#ifndef ISCSI_HBA_BRIDGE_H
#define ISCSI_HBA_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#include "hba_abi.h"
#include "iscsi_ring.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct iscsi_hba_bridge iscsi_hba_bridge;

/* Called from a worker thread with a mask of slots just made DONE; may run on several threads at once,
 * each call with different bits. The macOS client passes the mask to the COMPLETE selector. */
typedef void (*iscsi_hba_done_fn)(void *ctx, uint64_t done_mask);

/*
 * Checks the arena header against hba_abi.h (every field, and that `arena_bytes` mapped bytes hold
 * the whole layout) and starts `workers` threads (1..ISCSI_HBA_SLOTS). NULL on failure, with the reason
 * (which field, its value, what was expected) in `err`.
 */
iscsi_hba_bridge *iscsi_hba_bridge_create(void *arena, uint64_t arena_bytes, uint32_t workers, iscsi_hba_done_fn done,
                                          void *ctx, char *err, size_t errlen);

/* Serves HBA target `target_id` with `ring`, whose requests carry `ring_lun`. 0, -EINVAL (id out of
 * range, NULL ring) or -EBUSY (already served). */
int iscsi_hba_bridge_set_target(iscsi_hba_bridge *b, uint32_t target_id, iscsi_ring *ring, uint16_t ring_lun);

/*
 * First step of removing `target_id`, before its ring is shut down. A shut-down ring fails a request at once
 * although its consumer may still fill or read the buffer (iscsi_ring_shutdown()), so from now on a task of
 * this target that fails keeps its slot (not DONE: the dext cannot reuse the window) until
 * iscsi_hba_bridge_remove_target(), which the caller calls once the consumer has settled every request.
 * 0 or -ENOENT when the target is not served.
 */
int iscsi_hba_bridge_retire_target(iscsi_hba_bridge *b, uint32_t target_id);

/* Stops serving `target_id`: later tasks for it are refused; waits until no worker still uses its ring (shut
 * the ring down first so blocked submits return at once), then completes the slots retire kept, with -EIO.
 * 0 or -ENOENT when the target was not served. */
int iscsi_hba_bridge_remove_target(iscsi_hba_bridge *b, uint32_t target_id);

/*
 * A "work available" notification (the dext's AsyncCompletion arguments): claims every READY slot, in
 * the dext's sequence order, and queues it for the workers. Never blocks on I/O. Returns the number of
 * slots claimed, or -EINVAL for a malformed notification (counted; nothing claimed).
 */
int iscsi_hba_bridge_notify(iscsi_hba_bridge *b, const uint64_t *args, uint32_t count);

/* Refuses further work, fails queued tasks with -EIO (never GOOD), and joins the workers: a worker
 * blocked in iscsi_ring_submit_wait() returns when that ring completes or is shut down. Slots kept by
 * retired targets are completed with -EIO: call it only once every ring's consumer has settled. Idempotent. */
void iscsi_hba_bridge_stop(iscsi_hba_bridge *b);
/* Frees the bridge; after iscsi_hba_bridge_stop(). */
void iscsi_hba_bridge_destroy(iscsi_hba_bridge *b);

struct iscsi_hba_bridge_stats {
  uint64_t notifications; /* well-formed notifications */
  uint64_t bad_notifications; /* refused as malformed */
  uint64_t claimed; /* slots taken from READY */
  uint64_t submitted; /* tasks sent to a ring */
  uint64_t answered_locally; /* REPORT LUNS and tasks for LUNs other than 0 */
  uint64_t refused; /* tasks refused for a bad field (see last_error) */
  uint64_t transport_failures; /* completions with a negative result */
  uint64_t done_calls; /* calls of the done callback (≤ completions: batched) */
};
void iscsi_hba_bridge_get_stats(iscsi_hba_bridge *b, struct iscsi_hba_bridge_stats *out);

/* The latest refusal or failure as text (e.g. "slot 3: transfer length 532480 exceeds the slot's 524288
 * bytes"); copies at most len-1 bytes plus NUL and returns the full length. */
size_t iscsi_hba_bridge_last_error(iscsi_hba_bridge *b, char *buf, size_t len);

/* A short English name for an enum iscsi_hba_refusal. */
const char *iscsi_hba_refusal_text(uint32_t refusal);

#ifdef __cplusplus
}
#endif

#endif /* ISCSI_HBA_BRIDGE_H */
