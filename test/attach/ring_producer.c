/*
 * A test producer for the ring (test/attach/ring.test.ts): N threads each submit `count` READ requests whose
 * offset names thread and sequence, then check the status and the bytes the consumer put in their buffer.
 */
#include "iscsi_ring.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 256

struct job {
  iscsi_ring *ring;
  uint32_t thread;
  uint32_t count;
};

static pthread_t threads[MAX_THREADS];
static struct job jobs[MAX_THREADS];
static uint32_t nthreads;
static atomic_uint finished, ok, bad, eio;

/* The consumer's contract in this test: status = -(offset % 5), buffer[0..8) = offset little-endian. */
static void *run(void *arg) {
  struct job *j = arg;
  uint8_t buf[64];
  for (uint32_t i = 0; i < j->count; i++) {
    struct iscsi_ring_req req;
    memset(&req, 0, sizeof req);
    memset(buf, 0xee, sizeof buf);
    req.op = ISCSI_OP_READ;
    req.offset = (uint64_t)j->thread * 1000000u + i;
    req.length = sizeof buf;
    req.buffer = (uint64_t)(uintptr_t)buf;
    uint32_t sense_length = 99, residual = 99;
    int32_t status = iscsi_ring_submit_wait(j->ring, &req, &sense_length, &residual);
    uint64_t seen = 0;
    for (int b = 7; b >= 0; b--) seen = (seen << 8) | buf[b];
    if (status == -EIO)
      atomic_fetch_add(&eio, 1);
    else if (status == -(int32_t)(req.offset % 5) && seen == req.offset && residual == (uint32_t)(req.offset % 3) &&
             sense_length == 0)
      atomic_fetch_add(&ok, 1);
    else
      atomic_fetch_add(&bad, 1);
  }
  atomic_fetch_add(&finished, 1);
  return NULL;
}

int producer_start(iscsi_ring *ring, uint32_t n, uint32_t count) {
  if (n > MAX_THREADS) return -EINVAL;
  nthreads = n;
  atomic_store(&finished, 0);
  atomic_store(&ok, 0);
  atomic_store(&bad, 0);
  atomic_store(&eio, 0);
  for (uint32_t t = 0; t < n; t++) {
    jobs[t].ring = ring;
    jobs[t].thread = t;
    jobs[t].count = count;
    if (pthread_create(&threads[t], NULL, run, &jobs[t]) != 0) return -EAGAIN;
  }
  return 0;
}

/* Threads that have finished (never blocks: completing their requests needs the caller's thread). */
uint32_t producer_finished(void) { return atomic_load(&finished); }

/* Joins all threads (call once producer_finished() == n); out = {ok, bad, eio}. */
void producer_join(uint32_t *out) {
  for (uint32_t t = 0; t < nthreads; t++) pthread_join(threads[t], NULL);
  out[0] = atomic_load(&ok);
  out[1] = atomic_load(&bad);
  out[2] = atomic_load(&eio);
}
