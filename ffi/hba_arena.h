/*
 * The dext's side of the arena (hba_abi.h), in portable C with no allocation, locks or libc beyond
 * memcpy/memset, so the same code runs in the DriverKit extension (driver/) and in the Linux harness
 * that plays the dext (ffi/harness/dext_sim.c): format the arena, post a task into a slot, read a
 * completion back with every field the daemon wrote clamped to what the task allows.
 */
#ifndef ISCSI_HBA_ARENA_H
#define ISCSI_HBA_ARENA_H

#include <stdint.h>

#include "hba_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes the header and marks every slot FREE. `arena` is ISCSI_HBA_ARENA_BYTES long, zeroed or not. */
void iscsi_hba_arena_format(void *arena);

/* The payload window of `slot` (ISCSI_HBA_SLOT_DATA_BYTES long), or 0 for an index out of range. */
uint8_t *iscsi_hba_slot_window(void *arena, uint32_t slot);

/*
 * Checks a task record against the arena's geometry for `slot`: CDB length, direction, transfer length,
 * payload range and target ID. Returns ISCSI_HBA_OK or the enum iscsi_hba_refusal. Both sides call it:
 * the dext before posting, the bridge on its private copy of what the dext posted.
 */
uint32_t iscsi_hba_task_check(const struct iscsi_hba_task *task, uint32_t slot);

/* Result of iscsi_hba_slot_post(): 0, a refusal the dext answers itself without posting, or BUSY. */
#define ISCSI_HBA_POST_BUSY (-1) /* index out of range or the slot is not FREE */

/*
 * Posts `task` (state and data_offset ignored) into FREE `slot` with `sequence`, then marks it READY.
 * A write's payload must already be in iscsi_hba_slot_window(arena, slot). Returns 0, a positive
 * enum iscsi_hba_refusal when the task cannot be carried (the dext fails it at once), or
 * ISCSI_HBA_POST_BUSY.
 */
int iscsi_hba_slot_post(void *arena, uint32_t slot, const struct iscsi_hba_task *task, uint32_t sequence);

/* What the dext reports to the SCSI family for one finished task. */
struct iscsi_hba_outcome {
  uint8_t transport_failed; /* 1: no SCSI status (service delivery or target failure) */
  uint8_t scsi_status; /* valid when !transport_failed */
  uint8_t reserved[2];
  uint32_t refusal; /* enum iscsi_hba_refusal the bridge reported, for logs */
  int32_t error; /* the -errno behind a transport failure, for logs */
  uint32_t bytes_transferred; /* transfer_length - residual, never more than transfer_length */
  uint32_t sense_length; /* ≤ ISCSI_HBA_SENSE_BYTES */
  uint8_t sense[ISCSI_HBA_SENSE_BYTES];
};

/*
 * Reads the completion of DONE `slot` whose task carried `transfer_length` bytes (the dext's own copy,
 * not the arena's), clamps it into `out`, and marks the slot FREE. For a read, the data is in the
 * slot's window until the dext posts into that slot again. Returns 0, or -1 if the slot is not DONE.
 */
int iscsi_hba_slot_finish(void *arena, uint32_t slot, uint32_t transfer_length, struct iscsi_hba_outcome *out);

/*
 * The LUN number of SAM-5 §4.7 LUN bytes (SCSIUserParallelTask.fLogicalUnitBytes): single-level
 * peripheral device addressing on bus 0 (00b) or flat space addressing (01b); anything else, or a
 * second level, gives ISCSI_HBA_LUN_UNSUPPORTED, which the bridge answers as LOGICAL UNIT NOT SUPPORTED.
 */
#define ISCSI_HBA_LUN_UNSUPPORTED UINT64_MAX
uint64_t iscsi_hba_decode_lun(const uint8_t bytes[8]);

/* Fills the ISCSI_HBA_NOTIFY_ARGS values of a "work available" notification. */
void iscsi_hba_notify_args(uint64_t args[ISCSI_HBA_NOTIFY_ARGS], uint64_t ready_mask, uint32_t sequence);

#ifdef __cplusplus
}
#endif

#endif /* ISCSI_HBA_ARENA_H */
