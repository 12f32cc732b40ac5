/* Internals of the bridge shared by hba_bridge.c (slots, workers) and hba_bridge_targets.c (targets). */
#ifndef ISCSI_HBA_BRIDGE_INTERNAL_H
#define ISCSI_HBA_BRIDGE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "hba_bridge.h"

struct target {
  iscsi_ring *ring;
  uint16_t ring_lun;
  uint32_t in_flight; /* workers using `ring` right now */
  int retiring; /* its ring is being shut down: failed slots are kept in `kept` */
  uint64_t kept; /* slots whose window the ring's consumer may still be using */
};

struct iscsi_hba_bridge {
  uint8_t *arena;
  iscsi_hba_done_fn done;
  void *ctx;
  pthread_mutex_t lock; /* everything below except `pending_done` */
  pthread_cond_t work; /* queue not empty, or stopping */
  pthread_cond_t idle; /* a target's in_flight dropped to 0 */
  struct target targets[ISCSI_HBA_MAX_TARGETS];
  /* Slots claimed and not yet DONE. Private, so a slot the dext flips back to READY while we own it
   * is never claimed twice, and the queue below can never overflow. */
  uint64_t owned;
  uint32_t queue[ISCSI_HBA_SLOTS];
  uint32_t head, count;
  int stopping;
  uint32_t nworkers;
  pthread_t workers[ISCSI_HBA_SLOTS];
  uint64_t pending_done; /* atomic: DONE slots the dext has not been told about */
  uint32_t kept_sequence[ISCSI_HBA_SLOTS], kept_length[ISCSI_HBA_SLOTS];
  struct iscsi_hba_bridge_stats stats;
  char last_error[256];
};

/* Writes a completion into `slot`, marks it DONE and tells the dext (batched). Call without b->lock. */
void iscsi_hba_complete_slot(iscsi_hba_bridge *b, uint32_t slot, uint32_t sequence, int32_t result,
                             uint32_t sense_length, uint32_t residual, uint32_t refusal);
/* Completes, with -EIO, every slot kept by the targets in `which` (a mask of target IDs). */
void iscsi_hba_release_kept(iscsi_hba_bridge *b, uint32_t which);

#endif /* ISCSI_HBA_BRIDGE_INTERNAL_H */
