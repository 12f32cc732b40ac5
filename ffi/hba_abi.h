/*
 * The shared-memory arena between the DriverKit virtual HBA (driver/) and the daemon's bridge
 * (ffi/hba_bridge.c), plus the user-client selectors and the "work available" notification: one fixed
 * layout both sides compile against (docs/architecture.md, "Attaching a LUN"; docs/macos.md). Little-endian (arm64, x86_64).
 *
 *   arena  [0, 4096)              header: magic, version, geometry (written once by the dext)
 *          [4096, 36864)          64 slot records of 512 bytes: one SCSI task each
 *          [65536, 65536+64×512K) 64 data windows of 512 KiB: slot i's payload at DATA_OFFSET + i×512K
 *
 * A slot's `state` moves FREE → READY (dext posted a task) → CLAIMED (bridge took it) → DONE (bridge
 * wrote the completion) → FREE (dext finished the SCSI task). Each side changes only its own
 * transitions, with atomic release stores after writing the fields and acquire loads before reading
 * them. Both sides treat every other field written by the other process as hostile: the bridge copies
 * a task once and checks it before use, the dext clamps what it reads back from a completion.
 *
 * Plain C (no <stdatomic.h>): the dext compiles this as C++ and uses the __atomic builtins.
 */
#ifndef ISCSI_HBA_ABI_H
#define ISCSI_HBA_ABI_H

#include <stdint.h>

#define ISCSI_HBA_MAGIC 0x41424869u /* "iHBA" little-endian */
#define ISCSI_HBA_ABI_VERSION 1u

#define ISCSI_HBA_SLOTS 64u /* one uint64 bitmask covers every slot */
#define ISCSI_HBA_SLOT_RECORD_BYTES 512u
#define ISCSI_HBA_SLOT_TABLE_OFFSET 4096u
/* 32 segments × 16 KiB: the constraint set that avoided the APFS wedge (docs/macos.md, "Why the DriverKit path is parked"). */
#define ISCSI_HBA_SEGMENTS 32u
#define ISCSI_HBA_SEGMENT_BYTES 16384u
#define ISCSI_HBA_SLOT_DATA_BYTES (ISCSI_HBA_SEGMENTS * ISCSI_HBA_SEGMENT_BYTES)
/* Data starts on a 64 KiB boundary so every window is 16 KiB-page aligned on arm64. */
#define ISCSI_HBA_DATA_OFFSET 65536u
#define ISCSI_HBA_ARENA_BYTES ((uint64_t)ISCSI_HBA_DATA_OFFSET + (uint64_t)ISCSI_HBA_SLOTS * ISCSI_HBA_SLOT_DATA_BYTES)
#define ISCSI_HBA_SENSE_BYTES 252u /* iscsi_ring.h's sense buffer size */
#define ISCSI_HBA_MAX_TARGETS 16u /* target IDs 0..15; UserReportHighestSupportedDeviceID = 15 */

/* Slot states. */
enum iscsi_hba_state { ISCSI_HBA_FREE = 0, ISCSI_HBA_READY = 1, ISCSI_HBA_CLAIMED = 2, ISCSI_HBA_DONE = 3 };

/* Data direction of a task: the values of iscsi_ring_dir and of SCSIControllerDriverKit's
 * kSCSIDataTransfer_NoDataTransfer / _FromTargetToInitiator / _FromInitiatorToTarget. */
enum iscsi_hba_dir { ISCSI_HBA_DIR_NONE = 0, ISCSI_HBA_DIR_READ = 1, ISCSI_HBA_DIR_WRITE = 2 };

/* Why the bridge refused a task without sending it (slot.refusal; result is then -EINVAL or -ENXIO). */
enum iscsi_hba_refusal {
  ISCSI_HBA_OK = 0,
  ISCSI_HBA_REFUSED_CDB_LENGTH = 1, /* cdb_length outside 6..16 */
  ISCSI_HBA_REFUSED_DIRECTION = 2, /* direction not 0..2, or NONE with a transfer length */
  ISCSI_HBA_REFUSED_LENGTH = 3, /* transfer_length larger than a slot's data window */
  ISCSI_HBA_REFUSED_DATA_RANGE = 4, /* data_offset + transfer_length outside the slot's own window */
  ISCSI_HBA_REFUSED_NO_TARGET = 5, /* target_id out of range or not served by a ring */
};

/* The task half of a slot: written by the dext while the slot is FREE, read by the bridge. 64 bytes. */
struct iscsi_hba_task {
  uint32_t state; /*  0: enum iscsi_hba_state, atomic */
  uint32_t sequence; /*  4: the dext's post counter: the bridge submits in this order */
  uint64_t tag; /*  8: the dext's fControllerTaskIdentifier, echoed for diagnostics */
  uint64_t lun; /* 16: LUN the kernel addressed (SAM single-level, byte 1 of fLogicalUnitBytes) */
  uint32_t target_id; /* 24: HBA target ID */
  uint32_t transfer_length; /* 28: bytes of payload */
  uint64_t data_offset; /* 32: arena offset of the payload, inside this slot's window */
  uint8_t cdb[16]; /* 40 */
  uint8_t cdb_length; /* 56: 6..16 */
  uint8_t direction; /* 57: enum iscsi_hba_dir */
  uint16_t reserved0; /* 58 */
  uint32_t timeout_ms; /* 60: the kernel's fTimeoutInMilliSec, informational */
};

/* The completion half: written by the bridge while the slot is CLAIMED, read by the dext once DONE. */
struct iscsi_hba_completion {
  int32_t result; /*  0: SCSI status byte 0..255, or -errno: no SCSI status (transport failure) */
  uint32_t sense_length; /*  4: bytes valid in sense[], ≤ ISCSI_HBA_SENSE_BYTES */
  uint32_t residual; /*  8: bytes of transfer_length not transferred */
  uint32_t refusal; /* 12: enum iscsi_hba_refusal */
  uint32_t sequence; /* 16: the task's sequence, as the bridge read it */
  uint32_t reserved1[11]; /* 20..63 */
};

/* One slot record: 512 bytes. */
struct iscsi_hba_slot {
  struct iscsi_hba_task task; /*   0 */
  struct iscsi_hba_completion completion; /*  64 */
  uint8_t sense[ISCSI_HBA_SENSE_BYTES]; /* 128 */
  uint8_t reserved2[132]; /* 380..511 */
};

/* The arena header, written once by the dext before the arena is handed out. */
struct iscsi_hba_header {
  uint32_t magic; /*  0: ISCSI_HBA_MAGIC */
  uint32_t abi_version; /*  4: ISCSI_HBA_ABI_VERSION */
  uint32_t slot_count; /*  8: ISCSI_HBA_SLOTS */
  uint32_t slot_record_bytes; /* 12: ISCSI_HBA_SLOT_RECORD_BYTES */
  uint64_t slot_table_offset; /* 16 */
  uint64_t data_offset; /* 24 */
  uint64_t slot_data_bytes; /* 32 */
  uint64_t arena_bytes; /* 40 */
  uint32_t max_targets; /* 48 */
  uint32_t reserved[3]; /* 52..63 */
};

/*
 * IOUserClient external methods (IOConnectCall*Method selectors), all scalar:
 *   REGISTER  async; in: [abi_version]. Keeps the completion OSAction for WORK notifications.
 *   COMPLETE  in: [mask of DONE slots]. The dext finishes those SCSI tasks and frees the slots.
 *   SET_TARGET     in: [target_id]. The dext creates the target (UserCreateTargetForID) off its queues.
 *   REMOVE_TARGET  in: [target_id]. The dext destroys it (UserDestroyTargetForID).
 * Memory type for CopyClientMemoryForType / IOConnectMapMemory64: ISCSI_HBA_MEMORY_ARENA.
 */
enum iscsi_hba_selector {
  ISCSI_HBA_SEL_REGISTER = 0,
  ISCSI_HBA_SEL_COMPLETE = 1,
  ISCSI_HBA_SEL_SET_TARGET = 2,
  ISCSI_HBA_SEL_REMOVE_TARGET = 3,
  ISCSI_HBA_SEL_COUNT = 4,
};
#define ISCSI_HBA_MEMORY_ARENA 0u

/* AsyncCompletion payload: always ISCSI_HBA_NOTIFY_ARGS uint64 values, because with 3 or more the
 * client's callback gets the array form (IOAsyncCallback) whatever the count (docs/macos.md, "DriverKit notes the driver relies on"). */
#define ISCSI_HBA_NOTIFY_ARGS 3u
enum iscsi_hba_notify_kind { ISCSI_HBA_NOTIFY_WORK = 1 };
/* args[0] = ISCSI_HBA_NOTIFY_WORK, args[1] = mask of slots made READY (a hint: the bridge scans every
 * slot anyway, so a lost or merged notification loses nothing), args[2] = the dext's latest sequence. */

#if defined(__cplusplus)
static_assert(sizeof(struct iscsi_hba_task) == 64, "iscsi_hba_task is 64 bytes");
static_assert(sizeof(struct iscsi_hba_completion) == 64, "iscsi_hba_completion is 64 bytes");
static_assert(sizeof(struct iscsi_hba_slot) == ISCSI_HBA_SLOT_RECORD_BYTES, "slot record size");
static_assert(sizeof(struct iscsi_hba_header) == 64, "iscsi_hba_header is 64 bytes");
static_assert(ISCSI_HBA_SLOT_TABLE_OFFSET + ISCSI_HBA_SLOTS * ISCSI_HBA_SLOT_RECORD_BYTES <= ISCSI_HBA_DATA_OFFSET,
              "slot table ends before the data windows");
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct iscsi_hba_task) == 64, "iscsi_hba_task is 64 bytes");
_Static_assert(sizeof(struct iscsi_hba_completion) == 64, "iscsi_hba_completion is 64 bytes");
_Static_assert(sizeof(struct iscsi_hba_slot) == ISCSI_HBA_SLOT_RECORD_BYTES, "slot record size");
_Static_assert(sizeof(struct iscsi_hba_header) == 64, "iscsi_hba_header is 64 bytes");
_Static_assert(ISCSI_HBA_SLOT_TABLE_OFFSET + ISCSI_HBA_SLOTS * ISCSI_HBA_SLOT_RECORD_BYTES <= ISCSI_HBA_DATA_OFFSET,
               "slot table ends before the data windows");
#endif

#endif /* ISCSI_HBA_ABI_H */
