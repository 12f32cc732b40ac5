/* The dext's side of the arena (see hba_arena.h): formatting, posting, finishing, notification payload. */
#include "hba_arena.h"

#include <string.h>

static struct iscsi_hba_slot *slot_at(void *arena, uint32_t slot) {
  return (struct iscsi_hba_slot *)((uint8_t *)arena + ISCSI_HBA_SLOT_TABLE_OFFSET) + slot;
}

static uint64_t window_offset(uint32_t slot) {
  return (uint64_t)ISCSI_HBA_DATA_OFFSET + (uint64_t)slot * ISCSI_HBA_SLOT_DATA_BYTES;
}

void iscsi_hba_arena_format(void *arena) {
  memset(arena, 0, ISCSI_HBA_DATA_OFFSET);
  struct iscsi_hba_header *h = (struct iscsi_hba_header *)arena;
  h->magic = ISCSI_HBA_MAGIC;
  h->abi_version = ISCSI_HBA_ABI_VERSION;
  h->slot_count = ISCSI_HBA_SLOTS;
  h->slot_record_bytes = ISCSI_HBA_SLOT_RECORD_BYTES;
  h->slot_table_offset = ISCSI_HBA_SLOT_TABLE_OFFSET;
  h->data_offset = ISCSI_HBA_DATA_OFFSET;
  h->slot_data_bytes = ISCSI_HBA_SLOT_DATA_BYTES;
  h->arena_bytes = ISCSI_HBA_ARENA_BYTES;
  h->max_targets = ISCSI_HBA_MAX_TARGETS;
  /* Publishes the header and the FREE slots before the arena is mapped anywhere else. */
  __atomic_thread_fence(__ATOMIC_RELEASE);
}

uint8_t *iscsi_hba_slot_window(void *arena, uint32_t slot) {
  if (slot >= ISCSI_HBA_SLOTS) return 0;
  return (uint8_t *)arena + window_offset(slot);
}

uint32_t iscsi_hba_task_check(const struct iscsi_hba_task *task, uint32_t slot) {
  if (task->cdb_length < 6 || task->cdb_length > sizeof task->cdb) return ISCSI_HBA_REFUSED_CDB_LENGTH;
  if (task->direction > ISCSI_HBA_DIR_WRITE) return ISCSI_HBA_REFUSED_DIRECTION;
  if (task->direction == ISCSI_HBA_DIR_NONE && task->transfer_length != 0) return ISCSI_HBA_REFUSED_DIRECTION;
  if (task->transfer_length > ISCSI_HBA_SLOT_DATA_BYTES) return ISCSI_HBA_REFUSED_LENGTH;
  /* Subtractions only after the comparisons that keep them from wrapping. */
  uint64_t base = window_offset(slot);
  if (slot >= ISCSI_HBA_SLOTS || task->data_offset < base) return ISCSI_HBA_REFUSED_DATA_RANGE;
  uint64_t into = task->data_offset - base;
  if (into > ISCSI_HBA_SLOT_DATA_BYTES || task->transfer_length > ISCSI_HBA_SLOT_DATA_BYTES - into) {
    return ISCSI_HBA_REFUSED_DATA_RANGE;
  }
  if (task->target_id >= ISCSI_HBA_MAX_TARGETS) return ISCSI_HBA_REFUSED_NO_TARGET;
  return ISCSI_HBA_OK;
}

int iscsi_hba_slot_post(void *arena, uint32_t slot, const struct iscsi_hba_task *task, uint32_t sequence) {
  if (slot >= ISCSI_HBA_SLOTS) return ISCSI_HBA_POST_BUSY;
  struct iscsi_hba_slot *s = slot_at(arena, slot);
  if (__atomic_load_n(&s->task.state, __ATOMIC_ACQUIRE) != ISCSI_HBA_FREE) return ISCSI_HBA_POST_BUSY;
  struct iscsi_hba_task copy = *task;
  copy.data_offset = window_offset(slot);
  copy.sequence = sequence;
  copy.reserved0 = 0;
  uint32_t refusal = iscsi_hba_task_check(&copy, slot);
  if (refusal != ISCSI_HBA_OK) return (int)refusal;
  copy.state = ISCSI_HBA_FREE;
  memcpy(&s->task, &copy, sizeof copy);
  memset(&s->completion, 0, sizeof s->completion);
  __atomic_store_n(&s->task.state, ISCSI_HBA_READY, __ATOMIC_RELEASE);
  return 0;
}

int iscsi_hba_slot_finish(void *arena, uint32_t slot, uint32_t transfer_length, struct iscsi_hba_outcome *out) {
  if (slot >= ISCSI_HBA_SLOTS) return -1;
  struct iscsi_hba_slot *s = slot_at(arena, slot);
  if (__atomic_load_n(&s->task.state, __ATOMIC_ACQUIRE) != ISCSI_HBA_DONE) return -1;
  struct iscsi_hba_completion c;
  memcpy(&c, &s->completion, sizeof c);
  memset(out, 0, sizeof *out);
  out->refusal = c.refusal;
  /* A status the SCSI family cannot represent is a failure, never GOOD. */
  if (c.result < 0 || c.result > 255) {
    out->transport_failed = 1;
    out->error = c.result < 0 ? c.result : -5 /* EIO */;
  } else {
    out->scsi_status = (uint8_t)c.result;
  }
  uint32_t residual = c.residual > transfer_length ? transfer_length : c.residual;
  out->bytes_transferred = out->transport_failed ? 0 : transfer_length - residual;
  out->sense_length = c.sense_length > ISCSI_HBA_SENSE_BYTES ? ISCSI_HBA_SENSE_BYTES : c.sense_length;
  if (out->transport_failed) out->sense_length = 0;
  memcpy(out->sense, s->sense, out->sense_length);
  __atomic_store_n(&s->task.state, ISCSI_HBA_FREE, __ATOMIC_RELEASE);
  return 0;
}

uint64_t iscsi_hba_decode_lun(const uint8_t bytes[8]) {
  for (int i = 2; i < 8; i++) {
    if (bytes[i] != 0) return ISCSI_HBA_LUN_UNSUPPORTED;
  }
  switch (bytes[0] >> 6) {
  case 0: return (bytes[0] & 0x3f) == 0 ? bytes[1] : ISCSI_HBA_LUN_UNSUPPORTED;
  case 1: return ((uint64_t)(bytes[0] & 0x3f) << 8) | bytes[1];
  default: return ISCSI_HBA_LUN_UNSUPPORTED;
  }
}

void iscsi_hba_notify_args(uint64_t args[ISCSI_HBA_NOTIFY_ARGS], uint64_t ready_mask, uint32_t sequence) {
  args[0] = ISCSI_HBA_NOTIFY_WORK;
  args[1] = ready_mask;
  args[2] = sequence;
}
