/*
 * Plays the DriverKit extension's role on Linux, through the same arena (hba_abi.h), the same dext-side
 * code (hba_arena.c) and the same bridge (hba_bridge.c) as the Mac: a "kernel" task (CDB + caller's
 * buffer) is copied into a free slot the way driver/iSCSIHBA.cpp does it in UserProcessParallelTask, a
 * "work available" notification is raised with the arguments the dext would send, the bridge's done
 * callback plays the COMPLETE selector, and finishing a slot copies read data back to the caller's buffer.
 * Built as a shared library for bun:ffi (test/attach-macos/); every call except the done callback runs on
 * the one JavaScript thread, which must never block here because it is also the ring's consumer.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../hba_arena.h"
#include "../hba_bridge.h"

/* The dext's private record of a slot in use: never read back from the shared arena. */
struct parked {
  int busy;
  uint8_t *buffer; /* the "kernel" buffer (UserGetDataBuffer's mapping in the dext) */
  uint32_t length; /* the task's transfer length */
  uint8_t direction;
};

typedef struct dext_sim {
  uint8_t *arena;
  iscsi_hba_bridge *bridge;
  struct parked parked[ISCSI_HBA_SLOTS];
  uint64_t posted; /* READY since the last notification */
  uint32_t sequence;
  uint64_t done_mask; /* atomic: slots the bridge reported DONE, not finished yet */
  uint64_t done_calls; /* atomic */
} dext_sim;

/* The COMPLETE selector: on the Mac this is IOConnectCallScalarMethod into the dext. */
static void on_done(void *ctx, uint64_t mask) {
  dext_sim *sim = ctx;
  __atomic_fetch_or(&sim->done_mask, mask, __ATOMIC_ACQ_REL);
  __atomic_fetch_add(&sim->done_calls, 1, __ATOMIC_RELAXED);
}

dext_sim *dext_sim_create(uint32_t workers, char *err, size_t errlen) {
  dext_sim *sim = calloc(1, sizeof *sim);
  if (!sim) return 0;
  void *arena = mmap(0, ISCSI_HBA_ARENA_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (arena == MAP_FAILED) {
    free(sim);
    return 0;
  }
  sim->arena = arena;
  iscsi_hba_arena_format(arena);
  sim->bridge = iscsi_hba_bridge_create(arena, ISCSI_HBA_ARENA_BYTES, workers, on_done, sim, err, errlen);
  if (!sim->bridge) {
    munmap(arena, ISCSI_HBA_ARENA_BYTES);
    free(sim);
    return 0;
  }
  return sim;
}

/* A bridge over an arena whose header field at `offset` (a uint32 or uint64 per hba_abi.h) holds
 * `value`: returns 0 when the bridge refused it (reason in err), 1 when it was accepted. */
int dext_sim_try_header(uint32_t offset, uint32_t width, uint64_t value, uint64_t mapped, char *err, size_t errlen) {
  void *arena = mmap(0, ISCSI_HBA_ARENA_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (arena == MAP_FAILED) return -errno;
  iscsi_hba_arena_format(arena);
  if (width == 8 && offset + 8 <= sizeof(struct iscsi_hba_header)) memcpy((uint8_t *)arena + offset, &value, 8);
  if (width == 4 && offset + 4 <= sizeof(struct iscsi_hba_header)) {
    uint32_t v = (uint32_t)value;
    memcpy((uint8_t *)arena + offset, &v, 4);
  }
  iscsi_hba_bridge *b = iscsi_hba_bridge_create(arena, mapped, 1, on_done, 0, err, errlen);
  if (b) {
    iscsi_hba_bridge_stop(b);
    iscsi_hba_bridge_destroy(b);
  }
  munmap(arena, ISCSI_HBA_ARENA_BYTES);
  return b ? 1 : 0;
}

int dext_sim_set_target(dext_sim *sim, uint32_t target_id, iscsi_ring *ring, uint32_t ring_lun) {
  return iscsi_hba_bridge_set_target(sim->bridge, target_id, ring, (uint16_t)ring_lun);
}

int dext_sim_retire_target(dext_sim *sim, uint32_t target_id) {
  return iscsi_hba_bridge_retire_target(sim->bridge, target_id);
}

int dext_sim_remove_target(dext_sim *sim, uint32_t target_id) {
  return iscsi_hba_bridge_remove_target(sim->bridge, target_id);
}

/*
 * UserProcessParallelTask: takes a free slot, copies a write's payload from `buffer` into the slot's
 * window, posts the task. Returns the slot, or -(enum iscsi_hba_refusal) when the task cannot be
 * carried (the dext fails it at once), or -EBUSY when every slot is in use. `buffer` must stay valid
 * until dext_sim_finish() of that slot.
 */
int dext_sim_submit(dext_sim *sim, const uint8_t *cdb, uint32_t cdb_length, uint32_t direction, uint64_t lun,
                    uint32_t target_id, uint32_t transfer_length, uint8_t *buffer, uint64_t tag) {
  uint32_t slot = 0;
  while (slot < ISCSI_HBA_SLOTS && sim->parked[slot].busy) slot++;
  if (slot == ISCSI_HBA_SLOTS) return -EBUSY;
  struct iscsi_hba_task task = { 0 };
  task.tag = tag;
  task.lun = lun;
  task.target_id = target_id;
  task.transfer_length = transfer_length;
  task.cdb_length = (uint8_t)(cdb_length > 255 ? 255 : cdb_length);
  task.direction = (uint8_t)(direction > 255 ? 255 : direction);
  memcpy(task.cdb, cdb, cdb_length < sizeof task.cdb ? cdb_length : sizeof task.cdb);
  /* Checked before touching the window, as the dext must: a too-long write would overrun it. */
  task.data_offset = (uint64_t)ISCSI_HBA_DATA_OFFSET + (uint64_t)slot * ISCSI_HBA_SLOT_DATA_BYTES;
  uint32_t refusal = iscsi_hba_task_check(&task, slot);
  if (refusal != ISCSI_HBA_OK) return -(int)refusal;
  if (direction == ISCSI_HBA_DIR_WRITE && transfer_length) {
    memcpy(iscsi_hba_slot_window(sim->arena, slot), buffer, transfer_length);
  }
  int rc = iscsi_hba_slot_post(sim->arena, slot, &task, ++sim->sequence);
  if (rc != 0) return rc > 0 ? -rc : -EBUSY;
  sim->parked[slot] = (struct parked){ 1, buffer, transfer_length, (uint8_t)direction };
  sim->posted |= 1ull << slot;
  return (int)slot;
}

/* Overwrites `width` (4 or 8) bytes of a posted slot's task record at `offset`: what a buggy or
 * hostile dext could do behind the bridge's back. 0, or -EINVAL. */
int dext_sim_poke_task(dext_sim *sim, uint32_t slot, uint32_t offset, uint32_t width, uint64_t value) {
  if (slot >= ISCSI_HBA_SLOTS || (width != 4 && width != 8) || offset + width > sizeof(struct iscsi_hba_task)) {
    return -EINVAL;
  }
  uint8_t *record = sim->arena + ISCSI_HBA_SLOT_TABLE_OFFSET + (uint64_t)slot * ISCSI_HBA_SLOT_RECORD_BYTES;
  if (width == 8)
    memcpy(record + offset, &value, 8);
  else {
    uint32_t v = (uint32_t)value;
    memcpy(record + offset, &v, 4);
  }
  return 0;
}

/* The dext's AsyncCompletion to the client, which hands the arguments to the bridge. Returns the
 * number of slots the bridge claimed, or -EINVAL. */
int dext_sim_notify(dext_sim *sim) {
  uint64_t args[ISCSI_HBA_NOTIFY_ARGS];
  iscsi_hba_notify_args(args, sim->posted, sim->sequence);
  sim->posted = 0;
  return iscsi_hba_bridge_notify(sim->bridge, args, ISCSI_HBA_NOTIFY_ARGS);
}

/* A notification with arbitrary arguments (malformed-notification tests). */
int dext_sim_notify_raw(dext_sim *sim, uint64_t kind, uint64_t mask, uint64_t sequence, uint32_t count) {
  uint64_t args[ISCSI_HBA_NOTIFY_ARGS] = { kind, mask, sequence };
  return iscsi_hba_bridge_notify(sim->bridge, args, count > ISCSI_HBA_NOTIFY_ARGS ? ISCSI_HBA_NOTIFY_ARGS : count);
}

uint64_t dext_sim_done_mask(dext_sim *sim) { return __atomic_load_n(&sim->done_mask, __ATOMIC_ACQUIRE); }

uint64_t dext_sim_done_calls(dext_sim *sim) { return __atomic_load_n(&sim->done_calls, __ATOMIC_RELAXED); }

/*
 * The COMPLETE selector's work for one slot: reads the completion through iscsi_hba_slot_finish (with
 * the dext's own copy of the transfer length), copies read data back to the caller's buffer, frees the
 * slot. Fills `out` (struct iscsi_hba_outcome). 0, or -EAGAIN when the slot is not DONE or not in use.
 */
int dext_sim_finish(dext_sim *sim, uint32_t slot, struct iscsi_hba_outcome *out) {
  if (slot >= ISCSI_HBA_SLOTS || !sim->parked[slot].busy) return -EAGAIN;
  struct parked *p = &sim->parked[slot];
  if (iscsi_hba_slot_finish(sim->arena, slot, p->length, out) != 0) return -EAGAIN;
  __atomic_fetch_and(&sim->done_mask, ~(1ull << slot), __ATOMIC_ACQ_REL);
  if (p->direction == ISCSI_HBA_DIR_READ && out->bytes_transferred) {
    memcpy(p->buffer, iscsi_hba_slot_window(sim->arena, slot), out->bytes_transferred);
  }
  *p = (struct parked){ 0 };
  return 0;
}

void dext_sim_stats(dext_sim *sim, struct iscsi_hba_bridge_stats *out) { iscsi_hba_bridge_get_stats(sim->bridge, out); }

size_t dext_sim_last_error(dext_sim *sim, char *buf, size_t len) {
  return iscsi_hba_bridge_last_error(sim->bridge, buf, len);
}

uint32_t dext_sim_outcome_bytes(void) { return (uint32_t)sizeof(struct iscsi_hba_outcome); }

void dext_sim_destroy(dext_sim *sim) {
  iscsi_hba_bridge_stop(sim->bridge);
  iscsi_hba_bridge_destroy(sim->bridge);
  munmap(sim->arena, ISCSI_HBA_ARENA_BYTES);
  free(sim);
}
