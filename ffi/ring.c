/*
 * The block-request ring of iscsi_ring.h: C producer threads hand requests to the JavaScript consumer and
 * block until it completes them (docs/architecture.md, "Attaching a LUN"). One mutex guards everything; each slot has its own condition
 * variable so a completion wakes exactly its producer. The doorbell is one byte on a socketpair, written when
 * the consumer has drained the queue (armed) and a new request arrives. Plain C11 + pthreads + POSIX sockets.
 */
#include "iscsi_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_DEPTH 1024u
/* Slot index in the low bits of an id, a sequence number above: an id names one request, never a reused slot. */
#define SLOT_BITS 10u
#define SENSE_MAX 252u

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_POPPED, SLOT_DONE };

struct slot {
  struct iscsi_ring_req req;
  enum slot_state state;
  int32_t status;
  uint32_t sense_length;
  uint32_t residual;
  pthread_cond_t done;
};

struct iscsi_ring {
  pthread_mutex_t mu;
  pthread_cond_t space; /* producers waiting for a free slot */
  uint32_t depth;
  struct slot *slots;
  uint32_t *free_list; /* stack of free slot indices */
  uint32_t nfree;
  uint32_t *queue; /* FIFO of queued slot indices, a circular buffer of `depth` entries */
  uint32_t qhead;
  uint32_t qcount;
  uint64_t seq;
  int armed; /* the consumer drained the queue: the next submit rings the doorbell */
  int shut;
  int fds[2]; /* [0] the consumer's end, [1] ours */
  uint64_t submitted, completed, failed_by_shutdown;
};

static int set_flags(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
  return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

iscsi_ring *iscsi_ring_create(uint32_t depth) {
  if (depth < 1 || depth > MAX_DEPTH) {
    errno = EINVAL;
    return NULL;
  }
  iscsi_ring *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->depth = depth;
  r->armed = 1;
  r->slots = calloc(depth, sizeof *r->slots);
  r->free_list = calloc(depth, sizeof *r->free_list);
  r->queue = calloc(depth, sizeof *r->queue);
  if (!r->slots || !r->free_list || !r->queue) goto fail;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, r->fds) != 0) goto fail;
  /* Our end never blocks a producer: a full socket buffer already means the consumer has a wake-up pending. */
  if (set_flags(r->fds[0]) != 0 || set_flags(r->fds[1]) != 0) goto fail_fds;
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->space, NULL);
  for (uint32_t i = 0; i < depth; i++) {
    pthread_cond_init(&r->slots[i].done, NULL);
    r->free_list[i] = depth - 1 - i;
  }
  r->nfree = depth;
  return r;
fail_fds:
  close(r->fds[0]);
  close(r->fds[1]);
fail:
  free(r->slots);
  free(r->free_list);
  free(r->queue);
  free(r);
  errno = ENOMEM;
  return NULL;
}

int iscsi_ring_doorbell_fd(iscsi_ring *ring) { return ring->fds[0]; }

static void ring_doorbell(iscsi_ring *r) {
  const char byte = 1;
  ssize_t w;
  do {
    w = write(r->fds[1], &byte, 1);
  } while (w < 0 && errno == EINTR);
}

int32_t iscsi_ring_submit_wait(iscsi_ring *r, struct iscsi_ring_req *req, uint32_t *sense_length, uint32_t *residual) {
  pthread_mutex_lock(&r->mu);
  while (!r->shut && r->nfree == 0) pthread_cond_wait(&r->space, &r->mu);
  if (r->shut) {
    pthread_mutex_unlock(&r->mu);
    return -EIO;
  }
  uint32_t idx = r->free_list[--r->nfree];
  struct slot *s = &r->slots[idx];
  s->req = *req;
  s->req.id = (++r->seq << SLOT_BITS) | idx;
  req->id = s->req.id;
  s->state = SLOT_QUEUED;
  s->status = 0;
  s->sense_length = 0;
  s->residual = 0;
  r->queue[(r->qhead + r->qcount) % r->depth] = idx;
  r->qcount++;
  r->submitted++;
  int ring_it = r->armed;
  r->armed = 0;
  pthread_mutex_unlock(&r->mu);
  /* Outside the lock: a byte that arrives after the consumer already took the request is a harmless extra wake-up. */
  if (ring_it) ring_doorbell(r);

  pthread_mutex_lock(&r->mu);
  while (s->state != SLOT_DONE) pthread_cond_wait(&s->done, &r->mu);
  int32_t status = s->status;
  if (sense_length) *sense_length = s->sense_length;
  if (residual) *residual = s->residual;
  s->state = SLOT_FREE;
  r->free_list[r->nfree++] = idx;
  pthread_cond_signal(&r->space);
  pthread_mutex_unlock(&r->mu);
  return status;
}

uint32_t iscsi_ring_pop(iscsi_ring *r, struct iscsi_ring_req *out, uint32_t max) {
  pthread_mutex_lock(&r->mu);
  uint32_t n = 0;
  while (n < max && r->qcount > 0) {
    uint32_t idx = r->queue[r->qhead];
    r->qhead = (r->qhead + 1) % r->depth;
    r->qcount--;
    r->slots[idx].state = SLOT_POPPED;
    memcpy(&out[n++], &r->slots[idx].req, sizeof *out);
  }
  /* Drained: the consumer goes idle, so the next submit must wake it (header: returning 0 re-arms). */
  if (r->qcount == 0) r->armed = 1;
  pthread_mutex_unlock(&r->mu);
  return n;
}

int32_t iscsi_ring_complete(iscsi_ring *r, uint64_t id, int32_t status, uint32_t sense_length, uint32_t residual) {
  uint32_t idx = (uint32_t)(id & ((1u << SLOT_BITS) - 1));
  pthread_mutex_lock(&r->mu);
  if (idx >= r->depth || r->slots[idx].state != SLOT_POPPED || r->slots[idx].req.id != id) {
    pthread_mutex_unlock(&r->mu);
    return -ENOENT;
  }
  struct slot *s = &r->slots[idx];
  s->status = status;
  s->sense_length = sense_length > SENSE_MAX ? SENSE_MAX : sense_length;
  s->residual = residual;
  s->state = SLOT_DONE;
  r->completed++;
  pthread_cond_signal(&s->done);
  pthread_mutex_unlock(&r->mu);
  return 0;
}

void iscsi_ring_shutdown(iscsi_ring *r) {
  pthread_mutex_lock(&r->mu);
  if (!r->shut) {
    r->shut = 1;
    for (uint32_t i = 0; i < r->depth; i++) {
      struct slot *s = &r->slots[i];
      if (s->state != SLOT_QUEUED && s->state != SLOT_POPPED) continue;
      s->status = -EIO;
      s->state = SLOT_DONE;
      r->failed_by_shutdown++;
      pthread_cond_signal(&s->done);
    }
    r->qcount = 0;
    pthread_cond_broadcast(&r->space);
  }
  pthread_mutex_unlock(&r->mu);
}

void iscsi_ring_destroy(iscsi_ring *r) {
  if (!r) return;
  close(r->fds[0]);
  close(r->fds[1]);
  for (uint32_t i = 0; i < r->depth; i++) pthread_cond_destroy(&r->slots[i].done);
  pthread_cond_destroy(&r->space);
  pthread_mutex_destroy(&r->mu);
  free(r->slots);
  free(r->free_list);
  free(r->queue);
  free(r);
}

void iscsi_ring_get_stats(iscsi_ring *r, struct iscsi_ring_stats *out) {
  pthread_mutex_lock(&r->mu);
  uint32_t in_flight = 0;
  for (uint32_t i = 0; i < r->depth; i++) {
    if (r->slots[i].state == SLOT_QUEUED || r->slots[i].state == SLOT_POPPED) in_flight++;
  }
  out->submitted = r->submitted;
  out->completed = r->completed;
  out->failed_by_shutdown = r->failed_by_shutdown;
  out->in_flight = in_flight;
  out->depth = r->depth;
  pthread_mutex_unlock(&r->mu);
}

uint32_t iscsi_ring_abi_version(void) { return ISCSI_RING_ABI_VERSION; }
