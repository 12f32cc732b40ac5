/*
 * The FUSE backend (iscsi_fuse.h, docs/architecture.md, "Attaching a LUN"): a libfuse3 low-level filesystem with one directory and one
 * file of the LUN's size. Reads, writes, flush/fsync and hole punches become ring requests and block their
 * worker thread until TypeScript completes them, so there are as many requests in flight as worker threads.
 *
 * Low-level API because it lets us run our own worker threads on the session: each reads the kernel's requests
 * into a buffer it owns, so a write's payload is handed to the consumer where it lies (no copy) and a buffer
 * of an abandoned request can be retired instead of reused (see iscsi_fuse.h). It also avoids path lookups.
 * Written against libfuse 3.x (Linux libfuse3; macFUSE and FUSE-T ship the same API); Linux-only bits are
 * guarded. Only Linux is built and tested here.
 */
#define FUSE_USE_VERSION 35
#define _GNU_SOURCE

#include "iscsi_fuse.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#if defined(__linux__)
#include <sys/sysmacros.h>
#endif
#include <time.h>
#include <unistd.h>

#define ROOT_INO 1
#define FILE_INO 2
#define MAX_IO (1u << 20)
/* A request is its headers plus at most max_write bytes of payload (anything longer the kernel refuses with
 * E2BIG instead of writing it). A read's reply data goes into the same buffer, past the page holding the
 * request, so each worker has one buffer. */
#define REPLY_AT 4096u
#define WORKER_BUF (MAX_IO + REPLY_AT)
#define MAX_WORKERS 64u
#define ATTR_TIMEOUT 3600.0

struct retired {
  struct retired *next;
  void *mem;
};

struct worker {
  struct iscsi_fuse *h;
  pthread_t thread;
  int started;
  char *buf; /* the kernel's request lands here, write payload included; read replies at buf + REPLY_AT */
  int lent; /* the current buffer went to a request that shutdown abandoned */
};

struct iscsi_fuse {
  iscsi_ring *ring;
  struct fuse_session *se;
  char *mountpoint;
  char *file_name;
  uint64_t size;
  int read_only;
  time_t started;
  dev_t dev; /* of the mounted filesystem: names its connection in /sys/fs/fuse/connections */
  atomic_int abandoned;
  int stopped;
  uint32_t nworkers;
  struct worker *workers;
  pthread_mutex_t retired_mu;
  struct retired *retired;
};

static _Thread_local struct worker *current_worker;

/* libfuse reports mount problems through its log; keep the last line for iscsi_fuse_start's error. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char last_log[256];

static void capture_log(enum fuse_log_level level, const char *fmt, va_list ap) {
  (void)level;
  pthread_mutex_lock(&log_mu);
  vsnprintf(last_log, sizeof last_log, fmt, ap);
  size_t n = strlen(last_log);
  while (n > 0 && last_log[n - 1] == '\n') last_log[--n] = 0;
  pthread_mutex_unlock(&log_mu);
}

static char *alloc_buf(void) {
  void *p = NULL;
  return posix_memalign(&p, 4096, WORKER_BUF) == 0 ? p : NULL;
}

static void retire(struct iscsi_fuse *h, void *mem) {
  struct retired *r = malloc(sizeof *r);
  if (!r) return; /* leaking is the safe failure: the consumer may still use `mem` */
  r->mem = mem;
  pthread_mutex_lock(&h->retired_mu);
  r->next = h->retired;
  h->retired = r;
  pthread_mutex_unlock(&h->retired_mu);
}

static int32_t submit(struct iscsi_fuse *h, uint32_t op, uint64_t offset, uint32_t length, const void *buffer) {
  if (atomic_load(&h->abandoned)) return -EIO;
  struct iscsi_ring_req req;
  memset(&req, 0, sizeof req);
  req.op = op;
  req.offset = offset;
  req.length = length;
  req.buffer = (uint64_t)(uintptr_t)buffer;
  int32_t status = iscsi_ring_submit_wait(h->ring, &req, NULL, NULL);
  /* Set before the ring was shut down (which took the ring's lock after us), so a request failed by shutdown sees it. */
  if (atomic_load(&h->abandoned) && current_worker) current_worker->lent = 1;
  return status > 0 ? -EIO : status;
}

static void fill_attr(struct iscsi_fuse *h, fuse_ino_t ino, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_ino = ino;
  st->st_uid = getuid();
  st->st_gid = getgid();
  st->st_atime = st->st_mtime = st->st_ctime = h->started;
  if (ino == ROOT_INO) {
    st->st_mode = S_IFDIR | 0700;
    st->st_nlink = 2;
  } else {
    st->st_mode = S_IFREG | (h->read_only ? 0400 : 0600);
    st->st_nlink = 1;
    st->st_size = (off_t)h->size;
    st->st_blksize = 4096;
    st->st_blocks = (blkcnt_t)((h->size + 511) / 512);
  }
}

static void op_init(void *userdata, struct fuse_conn_info *conn) {
  struct iscsi_fuse *h = userdata;
  /* Loop's direct I/O is "background" to FUSE (default limit 12 in flight): allow one per worker thread. */
  conn->max_background = h->nworkers;
  conn->congestion_threshold = h->nworkers * 3 / 4;
  conn->max_write = MAX_IO;
  conn->max_read = MAX_IO;
  conn->max_readahead = 0;
  /* Loop's direct I/O arrives as async direct I/O: let the kernel keep several requests of one file in flight. */
  if (conn->capable & FUSE_CAP_ASYNC_DIO) conn->want |= FUSE_CAP_ASYNC_DIO;
  conn->want &=
      ~(unsigned)(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE | FUSE_CAP_WRITEBACK_CACHE);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct iscsi_fuse *h = fuse_req_userdata(req);
  if (parent != ROOT_INO || strcmp(name, h->file_name) != 0) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  e.ino = FILE_INO;
  e.attr_timeout = ATTR_TIMEOUT;
  e.entry_timeout = ATTR_TIMEOUT;
  fill_attr(h, FILE_INO, &e.attr);
  fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)fi;
  struct iscsi_fuse *h = fuse_req_userdata(req);
  if (ino != ROOT_INO && ino != FILE_INO) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  struct stat st;
  fill_attr(h, ino, &st);
  fuse_reply_attr(req, &st, ATTR_TIMEOUT);
}

/* The LUN has a fixed size: a truncate to any other size is refused; mode and time changes are ignored. */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
  struct iscsi_fuse *h = fuse_req_userdata(req);
  if ((to_set & FUSE_SET_ATTR_SIZE) && (ino != FILE_INO || (uint64_t)attr->st_size != h->size)) {
    fuse_reply_err(req, h->read_only ? EROFS : EPERM);
    return;
  }
  op_getattr(req, ino, fi);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct iscsi_fuse *h = fuse_req_userdata(req);
  if (ino != FILE_INO) {
    fuse_reply_err(req, ino == ROOT_INO ? EISDIR : ENOENT);
    return;
  }
  int accmode = fi->flags & O_ACCMODE;
  if (h->read_only && accmode != O_RDONLY) {
    fuse_reply_err(req, EROFS);
    return;
  }
  /* No page cache between the kernel and the LUN: every read and write reaches us, and so the target. */
  fi->direct_io = 1;
  fi->keep_cache = 0;
  fi->fh = (uint64_t)accmode;
  fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)ino;
  (void)fi;
  struct iscsi_fuse *h = fuse_req_userdata(req);
  if (off < 0) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  if ((uint64_t)off >= h->size || size == 0) {
    fuse_reply_buf(req, NULL, 0);
    return;
  }
  if (size > MAX_IO) size = MAX_IO;
  if ((uint64_t)off + size > h->size) size = (size_t)(h->size - (uint64_t)off);
  /* The request's arguments are read by now: the rest of the worker's buffer takes the data. */
  char *data = current_worker->buf + REPLY_AT;
  int32_t status = submit(h, ISCSI_OP_READ, (uint64_t)off, (uint32_t)size, data);
  if (status < 0)
    fuse_reply_err(req, -status);
  else
    fuse_reply_buf(req, data, size);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi) {
  (void)ino;
  (void)fi;
  struct iscsi_fuse *h = fuse_req_userdata(req);
  if (h->read_only) {
    fuse_reply_err(req, EROFS);
    return;
  }
  if (off < 0) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  if ((uint64_t)off >= h->size) {
    fuse_reply_err(req, size == 0 ? 0 : ENOSPC);
    return;
  }
  /* A write running past the end is cut there; the kernel retries the rest and gets ENOSPC. */
  if ((uint64_t)off + size > h->size) size = (size_t)(h->size - (uint64_t)off);
  int32_t status = size == 0 ? 0 : submit(h, ISCSI_OP_WRITE, (uint64_t)off, (uint32_t)size, buf);
  if (status < 0)
    fuse_reply_err(req, -status);
  else
    fuse_reply_write(req, size);
}

/* flush (every close) and fsync both end with SYNCHRONIZE CACHE answered by the target. */
static void sync_file(fuse_req_t req, struct fuse_file_info *fi) {
  struct iscsi_fuse *h = fuse_req_userdata(req);
  if (h->read_only || (fi && fi->fh == O_RDONLY)) {
    fuse_reply_err(req, 0);
    return;
  }
  fuse_reply_err(req, -submit(h, ISCSI_OP_FLUSH, 0, 0, NULL));
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  sync_file(req, fi);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  (void)ino;
  (void)datasync;
  (void)fi;
  sync_file(req, NULL);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  (void)fi;
  fuse_reply_err(req, 0);
}

#if defined(__linux__)
#include <linux/falloc.h>

/* Punching a hole (what loop does for discard and write-zeroes) becomes TRIM; the consumer answers -EOPNOTSUPP
 * unless the LUN reads unmapped blocks back as zeros. Allocation inside the LUN is a no-op; anything else is refused. */
static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len, struct fuse_file_info *fi) {
  (void)ino;
  (void)fi;
  struct iscsi_fuse *h = fuse_req_userdata(req);
  if (off < 0 || len <= 0) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  if (h->read_only) {
    fuse_reply_err(req, EROFS);
    return;
  }
  uint64_t end = (uint64_t)off + (uint64_t)len;
  if (mode == 0 || mode == FALLOC_FL_KEEP_SIZE) {
    fuse_reply_err(req, end > h->size && mode == 0 ? ENOSPC : 0);
    return;
  }
  if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) {
    fuse_reply_err(req, EOPNOTSUPP);
    return;
  }
  if ((uint64_t)off >= h->size) {
    fuse_reply_err(req, 0);
    return;
  }
  if (end > h->size) end = h->size;
  /* One ring request carries at most 4 GiB - 1; longer punches go in pieces. */
  int32_t status = 0;
  for (uint64_t at = (uint64_t)off; at < end && status == 0;) {
    uint64_t n = end - at > 0x80000000u ? 0x80000000u : end - at;
    status = submit(h, ISCSI_OP_TRIM, at, (uint32_t)n, NULL);
    at += n;
  }
  fuse_reply_err(req, -status);
}
#endif

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)fi;
  struct iscsi_fuse *h = fuse_req_userdata(req);
  if (ino != ROOT_INO) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  char buf[1024];
  size_t used = 0;
  const char *names[3] = { ".", "..", h->file_name };
  const fuse_ino_t inos[3] = { ROOT_INO, ROOT_INO, FILE_INO };
  for (off_t i = off; i < 3; i++) {
    struct stat st;
    fill_attr(h, inos[i], &st);
    size_t need = fuse_add_direntry(req, buf + used, sizeof buf - used, names[i], &st, i + 1);
    if (used + need > sizeof buf || used + need > size) break;
    used += need;
  }
  fuse_reply_buf(req, buf, used);
}

static const struct fuse_lowlevel_ops OPS = {
  .init = op_init,
  .lookup = op_lookup,
  .getattr = op_getattr,
  .setattr = op_setattr,
  .open = op_open,
  .read = op_read,
  .write = op_write,
  .flush = op_flush,
  .fsync = op_fsync,
  .release = op_release,
  .readdir = op_readdir,
#if defined(__linux__)
  .fallocate = op_fallocate,
#endif
};

static void *worker_main(void *arg) {
  struct worker *w = arg;
  struct iscsi_fuse *h = w->h;
  current_worker = w;
  while (!fuse_session_exited(h->se)) {
    struct fuse_buf fbuf;
    memset(&fbuf, 0, sizeof fbuf);
    fbuf.mem = w->buf;
    fbuf.size = WORKER_BUF;
    int res = fuse_session_receive_buf(h->se, &fbuf);
    if (res == -EINTR) continue;
    if (res <= 0) break;
    fuse_session_process_buf(h->se, &fbuf);
    if (w->lent) {
      /* The consumer may still read or fill it: retire it (freed by iscsi_fuse_free) and take a fresh one. */
      retire(h, w->buf);
      w->buf = alloc_buf();
      w->lent = 0;
      if (!w->buf) break;
    }
  }
  return NULL;
}

static void set_err(char *err, size_t errlen, const char *what) {
  if (!err || errlen == 0) return;
  pthread_mutex_lock(&log_mu);
  if (last_log[0])
    snprintf(err, errlen, "%s: %s", what, last_log);
  else
    snprintf(err, errlen, "%s: %s", what, strerror(errno ? errno : EIO));
  pthread_mutex_unlock(&log_mu);
}

static void free_handle(struct iscsi_fuse *h) {
  if (h->se) fuse_session_destroy(h->se);
  for (uint32_t i = 0; h->workers && i < h->nworkers; i++) free(h->workers[i].buf);
  for (struct retired *r = h->retired, *next; r; r = next) {
    next = r->next;
    free(r->mem);
    free(r);
  }
  pthread_mutex_destroy(&h->retired_mu);
  free(h->workers);
  free(h->mountpoint);
  free(h->file_name);
  free(h);
}

iscsi_fuse *iscsi_fuse_start(iscsi_ring *ring, const char *mountpoint, const char *file_name, uint64_t size_bytes,
                             int read_only, char *err, size_t errlen) {
  if (err && errlen) err[0] = 0;
  if (!ring || !mountpoint || !file_name || !file_name[0] || strchr(file_name, '/') || size_bytes == 0) {
    if (err && errlen) snprintf(err, errlen, "iscsi_fuse_start: invalid arguments");
    return NULL;
  }
  struct iscsi_fuse *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  pthread_mutex_init(&h->retired_mu, NULL);
  h->ring = ring;
  h->size = size_bytes;
  h->read_only = read_only != 0;
  h->started = time(NULL);
  h->mountpoint = strdup(mountpoint);
  h->file_name = strdup(file_name);
  struct iscsi_ring_stats rs;
  iscsi_ring_get_stats(ring, &rs);
  h->nworkers = rs.depth < MAX_WORKERS ? rs.depth : MAX_WORKERS;
  h->workers = calloc(h->nworkers, sizeof *h->workers);
  if (!h->mountpoint || !h->file_name || !h->workers) goto fail;
  for (uint32_t i = 0; i < h->nworkers; i++) {
    h->workers[i].h = h;
    h->workers[i].buf = alloc_buf();
    if (!h->workers[i].buf) goto fail;
  }

  pthread_mutex_lock(&log_mu);
  last_log[0] = 0;
  pthread_mutex_unlock(&log_mu);
  fuse_set_log_func(capture_log);
  char opts[128];
  snprintf(opts, sizeof opts, "fsname=iscsi,subtype=iscsi,max_read=%u%s", MAX_IO, h->read_only ? ",ro" : "");
  char *argv[] = { "iscsi", "-o", opts, NULL };
  struct fuse_args args = FUSE_ARGS_INIT(3, argv);
  h->se = fuse_session_new(&args, &OPS, sizeof OPS, h);
  if (!h->se) {
    set_err(err, errlen, "fuse_session_new");
    goto fail;
  }
  if (fuse_session_mount(h->se, mountpoint) != 0) {
    set_err(err, errlen, "cannot mount FUSE");
    goto fail;
  }
  /* Workers never take signals meant for the runtime's own threads. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int failed = 0;
  for (uint32_t i = 0; i < h->nworkers && !failed; i++) {
    failed = pthread_create(&h->workers[i].thread, NULL, worker_main, &h->workers[i]) != 0;
    if (!failed) h->workers[i].started = 1;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  /* Only now: stat() of the mount point is a FUSE request, answered by the workers. */
  struct stat mst;
  if (!failed && stat(mountpoint, &mst) == 0) h->dev = mst.st_dev;
  if (failed) {
    if (err && errlen) snprintf(err, errlen, "cannot start FUSE worker threads");
    iscsi_fuse_stop(h);
    free_handle(h);
    return NULL;
  }
  return h;
fail:
  if (h->se) {
    fuse_session_unmount(h->se);
  }
  free_handle(h);
  return NULL;
}

/* Someone unmounted us already while the file is still held: abort through fusectl where it is mounted. */
static void abort_connection(struct iscsi_fuse *h) {
#if defined(__linux__)
  char path[96];
  snprintf(path, sizeof path, "/sys/fs/fuse/connections/%u/abort", (unsigned)minor(h->dev));
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t w = write(fd, "1", 1);
  (void)w;
  close(fd);
#else
  (void)h;
#endif
}

void iscsi_fuse_shutdown(iscsi_fuse *h) {
  atomic_store(&h->abandoned, 1);
  iscsi_ring_shutdown(h->ring);
}

int iscsi_fuse_stop(iscsi_fuse *h) {
  if (h->stopped) return 0;
  h->stopped = 1;
  iscsi_fuse_shutdown(h);
  fuse_session_exit(h->se);
  /* MNT_FORCE makes the kernel abort the connection (workers blocked on /dev/fuse wake with ENODEV, pending
   * requests fail) even while a loop device still holds the file; MNT_DETACH takes the mount out of the tree. */
#if defined(__linux__)
  int res = umount2(h->mountpoint, MNT_FORCE | MNT_DETACH);
#else
  int res = unmount(h->mountpoint, MNT_FORCE);
#endif
  int saved = res == 0 ? 0 : errno;
  if (res != 0) abort_connection(h);
  for (uint32_t i = 0; i < h->nworkers; i++) {
    if (h->workers[i].started) pthread_join(h->workers[i].thread, NULL);
    h->workers[i].started = 0;
  }
  /* Closes /dev/fuse; the connection is already gone, so libfuse does not unmount a second time. */
  fuse_session_unmount(h->se);
  return saved == EINVAL ? 0 : -saved;
}

void iscsi_fuse_free(iscsi_fuse *h) {
  if (!h) return;
  if (!h->stopped) iscsi_fuse_stop(h);
  free_handle(h);
}

uint32_t iscsi_fuse_max_io(iscsi_fuse *h) {
  (void)h;
  return MAX_IO;
}
