/* The daemon's side of the arena: READY slots → ring requests → completions → DONE (see hba_bridge.h). */
#include "hba_bridge.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hba_arena.h"
#include "hba_bridge_internal.h"
#include "hba_local.h"

static struct iscsi_hba_slot *slot_at(iscsi_hba_bridge *b, uint32_t slot) {
  return (struct iscsi_hba_slot *)(b->arena + ISCSI_HBA_SLOT_TABLE_OFFSET) + slot;
}

const char *iscsi_hba_refusal_text(uint32_t refusal) {
  switch (refusal) {
  case ISCSI_HBA_OK: return "accepted";
  case ISCSI_HBA_REFUSED_CDB_LENGTH: return "CDB length outside 6..16";
  case ISCSI_HBA_REFUSED_DIRECTION: return "bad data direction";
  case ISCSI_HBA_REFUSED_LENGTH: return "transfer length exceeds the slot";
  case ISCSI_HBA_REFUSED_DATA_RANGE: return "data offset outside the slot's window";
  case ISCSI_HBA_REFUSED_NO_TARGET: return "no ring serves this target";
  default: return "unknown refusal";
  }
}

/* Call with b->lock held. */
static void set_error(iscsi_hba_bridge *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->last_error, sizeof b->last_error, fmt, ap);
  va_end(ap);
}

static int check_header(const uint8_t *arena, uint64_t mapped, char *err, size_t errlen) {
  if (mapped < ISCSI_HBA_ARENA_BYTES) {
    snprintf(err, errlen, "arena: %llu bytes mapped, the layout needs %llu", (unsigned long long)mapped,
             (unsigned long long)ISCSI_HBA_ARENA_BYTES);
    return -1;
  }
  struct iscsi_hba_header h;
  memcpy(&h, arena, sizeof h);
  const struct {
    const char *name;
    uint64_t got, want;
  } fields[] = {
    { "magic", h.magic, ISCSI_HBA_MAGIC },
    { "abi_version", h.abi_version, ISCSI_HBA_ABI_VERSION },
    { "slot_count", h.slot_count, ISCSI_HBA_SLOTS },
    { "slot_record_bytes", h.slot_record_bytes, ISCSI_HBA_SLOT_RECORD_BYTES },
    { "slot_table_offset", h.slot_table_offset, ISCSI_HBA_SLOT_TABLE_OFFSET },
    { "data_offset", h.data_offset, ISCSI_HBA_DATA_OFFSET },
    { "slot_data_bytes", h.slot_data_bytes, ISCSI_HBA_SLOT_DATA_BYTES },
    { "arena_bytes", h.arena_bytes, ISCSI_HBA_ARENA_BYTES },
    { "max_targets", h.max_targets, ISCSI_HBA_MAX_TARGETS },
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    if (fields[i].got != fields[i].want) {
      snprintf(err, errlen, "arena header: %s is %llu, expected %llu", fields[i].name,
               (unsigned long long)fields[i].got, (unsigned long long)fields[i].want);
      return -1;
    }
  }
  return 0;
}

void iscsi_hba_complete_slot(iscsi_hba_bridge *b, uint32_t slot, uint32_t sequence, int32_t result,
                             uint32_t sense_length, uint32_t residual, uint32_t refusal) {
  struct iscsi_hba_slot *s = slot_at(b, slot);
  struct iscsi_hba_completion c = { 0 };
  c.result = result;
  c.sense_length = result >= 0 ? sense_length : 0;
  c.residual = residual;
  c.refusal = refusal;
  c.sequence = sequence;
  memcpy(&s->completion, &c, sizeof c);
  pthread_mutex_lock(&b->lock);
  if (result < 0) b->stats.transport_failures++;
  b->owned &= ~(1ull << slot); /* before DONE: once the dext sees DONE it may post here again */
  pthread_mutex_unlock(&b->lock);
  __atomic_store_n(&s->task.state, ISCSI_HBA_DONE, __ATOMIC_RELEASE);
  /* Whoever turns the pending mask from empty to non-empty drains it until it is empty again, so every
   * bit reaches exactly one done() call and completions arriving meanwhile ride along. */
  uint64_t bit = 1ull << slot;
  if (__atomic_fetch_or(&b->pending_done, bit, __ATOMIC_ACQ_REL) != 0) return;
  uint64_t mask;
  while ((mask = __atomic_exchange_n(&b->pending_done, 0, __ATOMIC_ACQ_REL)) != 0) {
    pthread_mutex_lock(&b->lock);
    b->stats.done_calls++;
    pthread_mutex_unlock(&b->lock);
    b->done(b->ctx, mask);
  }
}

static void run_slot(iscsi_hba_bridge *b, uint32_t slot) {
  struct iscsi_hba_slot *s = slot_at(b, slot);
  /* One copy of the task, read once: the dext can still write the arena while we work. */
  struct iscsi_hba_task t;
  memcpy(&t, &s->task, sizeof t);
  uint32_t refusal = iscsi_hba_task_check(&t, slot);
  pthread_mutex_lock(&b->lock);
  struct target *target = refusal == ISCSI_HBA_OK ? &b->targets[t.target_id] : 0;
  if (target && !target->ring) refusal = ISCSI_HBA_REFUSED_NO_TARGET;
  if (refusal != ISCSI_HBA_OK) {
    b->stats.refused++;
    set_error(b,
              "slot %u (tag %llu): %s (cdb_length %u, direction %u, transfer length %u, data offset %llu, "
              "target %u; a slot holds %u bytes)",
              slot, (unsigned long long)t.tag, iscsi_hba_refusal_text(refusal), t.cdb_length, t.direction,
              t.transfer_length, (unsigned long long)t.data_offset, t.target_id, ISCSI_HBA_SLOT_DATA_BYTES);
    pthread_mutex_unlock(&b->lock);
    int32_t result = refusal == ISCSI_HBA_REFUSED_NO_TARGET ? -ENXIO : -EINVAL;
    iscsi_hba_complete_slot(b, slot, t.sequence, result, 0, t.transfer_length, refusal);
    return;
  }
  if (b->stopping) {
    pthread_mutex_unlock(&b->lock);
    iscsi_hba_complete_slot(b, slot, t.sequence, -EIO, 0, t.transfer_length, ISCSI_HBA_OK);
    return;
  }
  uint8_t *data = b->arena + t.data_offset;
  struct iscsi_hba_local_answer local;
  if (iscsi_hba_answer_locally(&t, data, s->sense, &local)) {
    b->stats.answered_locally++;
    pthread_mutex_unlock(&b->lock);
    iscsi_hba_complete_slot(b, slot, t.sequence, local.status, local.sense_length,
                            t.transfer_length - local.data_length, ISCSI_HBA_OK);
    return;
  }
  iscsi_ring *ring = target->ring;
  struct iscsi_ring_req req = { 0 };
  req.op = ISCSI_OP_SCSI;
  req.length = t.transfer_length;
  req.cdb_length = t.cdb_length;
  req.dir = t.direction;
  req.lun = target->ring_lun;
  req.buffer = t.transfer_length ? (uint64_t)(uintptr_t)data : 0;
  memcpy(req.cdb, t.cdb, sizeof req.cdb);
  req.sense = (uint64_t)(uintptr_t)s->sense;
  target->in_flight++;
  b->stats.submitted++;
  pthread_mutex_unlock(&b->lock);

  uint32_t sense_length = 0, residual = 0;
  int32_t status = iscsi_ring_submit_wait(ring, &req, &sense_length, &residual);

  pthread_mutex_lock(&b->lock);
  if (--target->in_flight == 0) pthread_cond_broadcast(&b->idle);
  if (status < 0)
    set_error(b, "slot %u (tag %llu): no SCSI status, transport error %d", slot, (unsigned long long)t.tag, status);
  if (status < 0 && target->retiring) {
    target->kept |= 1ull << slot;
    b->kept_sequence[slot] = t.sequence;
    b->kept_length[slot] = t.transfer_length;
    pthread_mutex_unlock(&b->lock);
    return;
  }
  pthread_mutex_unlock(&b->lock);
  if (sense_length > ISCSI_HBA_SENSE_BYTES) sense_length = ISCSI_HBA_SENSE_BYTES;
  if (residual > t.transfer_length) residual = t.transfer_length;
  iscsi_hba_complete_slot(b, slot, t.sequence, status, sense_length, residual, ISCSI_HBA_OK);
}

static void *worker_main(void *arg) {
  iscsi_hba_bridge *b = arg;
  pthread_mutex_lock(&b->lock);
  for (;;) {
    while (!b->stopping && b->count == 0) pthread_cond_wait(&b->work, &b->lock);
    if (b->count == 0) break; /* stopping and drained */
    uint32_t slot = b->queue[b->head];
    b->head = (b->head + 1) % ISCSI_HBA_SLOTS;
    b->count--;
    pthread_mutex_unlock(&b->lock);
    run_slot(b, slot);
    pthread_mutex_lock(&b->lock);
  }
  pthread_mutex_unlock(&b->lock);
  return 0;
}

int iscsi_hba_bridge_notify(iscsi_hba_bridge *b, const uint64_t *args, uint32_t count) {
  pthread_mutex_lock(&b->lock);
  if (!args || count < ISCSI_HBA_NOTIFY_ARGS || args[0] != ISCSI_HBA_NOTIFY_WORK) {
    b->stats.bad_notifications++;
    set_error(b, "malformed notification: %u arguments, kind %llu", count,
              args && count ? (unsigned long long)args[0] : 0ull);
    pthread_mutex_unlock(&b->lock);
    return -EINVAL;
  }
  b->stats.notifications++;
  if (b->stopping) {
    pthread_mutex_unlock(&b->lock);
    return 0;
  }
  /* Claim every READY slot we do not already own, then queue them in the dext's posting order
   * (serial-number order of `sequence`, which wraps). */
  uint32_t found[ISCSI_HBA_SLOTS], seq[ISCSI_HBA_SLOTS], n = 0;
  for (uint32_t i = 0; i < ISCSI_HBA_SLOTS; i++) {
    if (b->owned & (1ull << i)) continue;
    struct iscsi_hba_slot *s = slot_at(b, i);
    uint32_t expected = ISCSI_HBA_READY;
    if (!__atomic_compare_exchange_n(&s->task.state, &expected, ISCSI_HBA_CLAIMED, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
      continue;
    b->owned |= 1ull << i;
    uint32_t sequence = __atomic_load_n(&s->task.sequence, __ATOMIC_RELAXED);
    uint32_t at = n++;
    while (at > 0 && (int32_t)(sequence - seq[at - 1]) < 0) {
      found[at] = found[at - 1];
      seq[at] = seq[at - 1];
      at--;
    }
    found[at] = i;
    seq[at] = sequence;
  }
  for (uint32_t k = 0; k < n; k++) b->queue[(b->head + b->count++) % ISCSI_HBA_SLOTS] = found[k];
  b->stats.claimed += n;
  if (n) pthread_cond_broadcast(&b->work);
  pthread_mutex_unlock(&b->lock);
  return (int)n;
}

iscsi_hba_bridge *iscsi_hba_bridge_create(void *arena, uint64_t arena_bytes, uint32_t workers, iscsi_hba_done_fn done,
                                          void *ctx, char *err, size_t errlen) {
  if (!arena || !done || workers < 1 || workers > ISCSI_HBA_SLOTS) {
    snprintf(err, errlen, "bridge: arena and done callback are required, workers must be 1..%u (got %u)",
             ISCSI_HBA_SLOTS, workers);
    return 0;
  }
  if (check_header(arena, arena_bytes, err, errlen) != 0) return 0;
  iscsi_hba_bridge *b = calloc(1, sizeof *b);
  if (!b) {
    snprintf(err, errlen, "bridge: out of memory");
    return 0;
  }
  b->arena = arena;
  b->done = done;
  b->ctx = ctx;
  pthread_mutex_init(&b->lock, 0);
  pthread_cond_init(&b->work, 0);
  pthread_cond_init(&b->idle, 0);
  for (uint32_t i = 0; i < workers; i++) {
    int rc = pthread_create(&b->workers[i], 0, worker_main, b);
    if (rc != 0) {
      snprintf(err, errlen, "bridge: cannot start worker thread %u: %s", i, strerror(rc));
      iscsi_hba_bridge_stop(b);
      iscsi_hba_bridge_destroy(b);
      return 0;
    }
    b->nworkers++;
  }
  return b;
}

void iscsi_hba_bridge_stop(iscsi_hba_bridge *b) {
  pthread_mutex_lock(&b->lock);
  b->stopping = 1;
  pthread_cond_broadcast(&b->work);
  uint32_t n = b->nworkers;
  b->nworkers = 0;
  pthread_mutex_unlock(&b->lock);
  for (uint32_t i = 0; i < n; i++) pthread_join(b->workers[i], 0);
  iscsi_hba_release_kept(b, (1u << ISCSI_HBA_MAX_TARGETS) - 1);
}

void iscsi_hba_bridge_destroy(iscsi_hba_bridge *b) {
  if (!b) return;
  pthread_cond_destroy(&b->idle);
  pthread_cond_destroy(&b->work);
  pthread_mutex_destroy(&b->lock);
  free(b);
}

void iscsi_hba_bridge_get_stats(iscsi_hba_bridge *b, struct iscsi_hba_bridge_stats *out) {
  pthread_mutex_lock(&b->lock);
  *out = b->stats;
  pthread_mutex_unlock(&b->lock);
}

size_t iscsi_hba_bridge_last_error(iscsi_hba_bridge *b, char *buf, size_t len) {
  pthread_mutex_lock(&b->lock);
  size_t n = strlen(b->last_error);
  if (len) snprintf(buf, len, "%s", b->last_error);
  pthread_mutex_unlock(&b->lock);
  return n;
}
