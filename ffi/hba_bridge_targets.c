/* The bridge's target table (see hba_bridge.h): which ring serves which HBA target, and the two-step removal
 * that keeps a failed slot's window away from the dext while the ring's consumer may still use it. */
#include <errno.h>
#include <string.h>

#include "hba_bridge_internal.h"

int iscsi_hba_bridge_set_target(iscsi_hba_bridge *b, uint32_t target_id, iscsi_ring *ring, uint16_t ring_lun) {
  if (target_id >= ISCSI_HBA_MAX_TARGETS || !ring) return -EINVAL;
  pthread_mutex_lock(&b->lock);
  int rc = 0;
  if (b->targets[target_id].ring) {
    rc = -EBUSY;
  } else {
    b->targets[target_id].ring = ring;
    b->targets[target_id].ring_lun = ring_lun;
  }
  pthread_mutex_unlock(&b->lock);
  return rc;
}

int iscsi_hba_bridge_retire_target(iscsi_hba_bridge *b, uint32_t target_id) {
  if (target_id >= ISCSI_HBA_MAX_TARGETS) return -ENOENT;
  pthread_mutex_lock(&b->lock);
  struct target *t = &b->targets[target_id];
  int rc = t->ring ? 0 : -ENOENT;
  if (t->ring) t->retiring = 1;
  pthread_mutex_unlock(&b->lock);
  return rc;
}

void iscsi_hba_release_kept(iscsi_hba_bridge *b, uint32_t which) {
  uint32_t sequence[ISCSI_HBA_SLOTS], length[ISCSI_HBA_SLOTS];
  pthread_mutex_lock(&b->lock);
  uint64_t kept = 0;
  for (uint32_t id = 0; id < ISCSI_HBA_MAX_TARGETS; id++) {
    if (!(which & (1u << id))) continue;
    kept |= b->targets[id].kept;
    b->targets[id].kept = 0;
    b->targets[id].retiring = 0;
  }
  memcpy(sequence, b->kept_sequence, sizeof sequence);
  memcpy(length, b->kept_length, sizeof length);
  pthread_mutex_unlock(&b->lock);
  for (uint32_t slot = 0; slot < ISCSI_HBA_SLOTS; slot++) {
    if (kept & (1ull << slot)) iscsi_hba_complete_slot(b, slot, sequence[slot], -EIO, 0, length[slot], ISCSI_HBA_OK);
  }
}

int iscsi_hba_bridge_remove_target(iscsi_hba_bridge *b, uint32_t target_id) {
  if (target_id >= ISCSI_HBA_MAX_TARGETS) return -ENOENT;
  pthread_mutex_lock(&b->lock);
  struct target *t = &b->targets[target_id];
  int rc = t->ring ? 0 : -ENOENT;
  t->ring = 0;
  while (t->in_flight > 0) pthread_cond_wait(&b->idle, &b->lock);
  pthread_mutex_unlock(&b->lock);
  iscsi_hba_release_kept(b, 1u << target_id);
  return rc;
}
