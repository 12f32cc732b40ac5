/*
 * Test helper: `pwrite_many FILE RECORDS` issues every record of RECORDS ([u64 offset][u32 length][bytes], little-
 * endian) as its own pwrite() on FILE from its own thread, all released at once by a barrier, so the writes are
 * in flight together. Exits 0 when every pwrite wrote all its bytes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rec {
  uint64_t offset;
  uint32_t length;
  const uint8_t *bytes;
  int fd;
  int ok;
};

static pthread_barrier_t start;

static void *run(void *arg) {
  struct rec *r = arg;
  pthread_barrier_wait(&start);
  r->ok = pwrite(r->fd, r->bytes, r->length, (off_t)r->offset) == (ssize_t)r->length;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  int direct = argc > 3 && strcmp(argv[3], "direct") == 0;
  FILE *in = fopen(argv[2], "rb");
  if (!in) return 2;
  static uint8_t data[1 << 22];
  size_t n = fread(data, 1, sizeof data, in);
  fclose(in);
  int fd = open(argv[1], O_WRONLY | (direct ? O_DIRECT : 0));
  if (fd < 0) return 3;
  struct rec recs[1024];
  int count = 0;
  for (size_t at = 0; at + 12 <= n && count < 1024; count++) {
    memcpy(&recs[count].offset, data + at, 8);
    memcpy(&recs[count].length, data + at + 8, 4);
    recs[count].bytes = data + at + 12;
    if (direct) {
      void *copy = NULL;
      if (posix_memalign(&copy, 4096, recs[count].length) != 0) return 4;
      memcpy(copy, data + at + 12, recs[count].length);
      recs[count].bytes = copy;
    }
    recs[count].fd = fd;
    at += 12 + recs[count].length;
  }
  pthread_barrier_init(&start, NULL, (unsigned)count);
  pthread_t threads[1024];
  for (int i = 0; i < count; i++) pthread_create(&threads[i], NULL, run, &recs[i]);
  int failed = 0;
  for (int i = 0; i < count; i++) {
    pthread_join(threads[i], NULL);
    failed += !recs[i].ok;
  }
  close(fd);
  return failed ? 1 : 0;
}
