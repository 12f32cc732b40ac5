/*
 * Test helper: a writer that records every acknowledged fsync, for the link-loss and sleep tests.
 *
 *   fsync_writer files DIR ACKLOG STOPFILE [PAUSE_MS]   new file DIR/fNNNNNN per step: write, fsync, fsync DIR
 *   fsync_writer blocks DEV ACKLOG STOPFILE [PAUSE_MS]  block NNNNNN of DEV (16 KiB each): pwrite, fdatasync
 *
 * Step i writes 16 KiB whose every 8-byte word is (i << 32 | word index). After the kernel acknowledged a step
 * the writer appends "ok I START_NS END_NS" to ACKLOG; a failed step appends "err I ERRNO START_NS END_NS" and
 * is never retried under the same number (its outcome is unknown). Times are CLOCK_MONOTONIC. It stops when
 * STOPFILE exists, or in blocks mode when DEV is full. PAUSE_MS between steps bounds the space a long run takes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STEP_BYTES 16384

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fill(uint64_t *buf, uint64_t step) {
  for (uint64_t w = 0; w < STEP_BYTES / 8; w++) buf[w] = step << 32 | w;
}

static int write_all(int fd, const void *buf, size_t len, off_t at) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = at >= 0 ? pwrite(fd, (const char *)buf + done, len - done, at + (off_t)done)
                        : write(fd, (const char *)buf + done, len - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    done += (size_t)n;
  }
  return 0;
}

/* One step in files mode: 0 or -errno. */
static int file_step(int dirfd, uint64_t step, const uint64_t *buf) {
  char name[32];
  snprintf(name, sizeof name, "f%06llu", (unsigned long long)step);
  int fd = openat(dirfd, name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) return -errno;
  int rc = write_all(fd, buf, STEP_BYTES, -1);
  if (rc == 0 && fsync(fd) != 0) rc = -errno;
  if (close(fd) != 0 && rc == 0) rc = -errno;
  if (rc == 0 && fsync(dirfd) != 0) rc = -errno;
  return rc;
}

int main(int argc, char **argv) {
  if ((argc != 5 && argc != 6) || (strcmp(argv[1], "files") != 0 && strcmp(argv[1], "blocks") != 0)) {
    fprintf(stderr, "usage: fsync_writer files|blocks DIR|DEV ACKLOG STOPFILE [PAUSE_MS]\n");
    return 2;
  }
  useconds_t pause = argc == 6 ? (useconds_t)atoi(argv[5]) * 1000 : 0;
  int files = strcmp(argv[1], "files") == 0;
  int fd = files ? open(argv[2], O_RDONLY | O_DIRECTORY) : open(argv[2], O_WRONLY);
  if (fd < 0) {
    perror(argv[2]);
    return 1;
  }
  off_t capacity = files ? 0 : lseek(fd, 0, SEEK_END);
  FILE *log = fopen(argv[3], "a");
  if (!log) {
    perror(argv[3]);
    return 1;
  }
  setvbuf(log, NULL, _IOLBF, 0);
  static uint64_t buf[STEP_BYTES / 8];
  for (uint64_t step = 0;; step++) {
    if (access(argv[4], F_OK) == 0) break;
    if (!files && (off_t)((step + 1) * STEP_BYTES) > capacity) break;
    fill(buf, step);
    uint64_t start = now_ns();
    int rc;
    if (files)
      rc = file_step(fd, step, buf);
    else {
      rc = write_all(fd, buf, STEP_BYTES, (off_t)(step * STEP_BYTES));
      if (rc == 0 && fdatasync(fd) != 0) rc = -errno;
    }
    uint64_t end = now_ns();
    if (rc == 0) {
      fprintf(log, "ok %llu %llu %llu\n", (unsigned long long)step, (unsigned long long)start, (unsigned long long)end);
      if (pause) usleep(pause);
    } else {
      fprintf(log, "err %llu %d %llu %llu\n", (unsigned long long)step, -rc, (unsigned long long)start,
              (unsigned long long)end);
      usleep(200000);
    }
  }
  fclose(log);
  close(fd);
  return 0;
}
