// An independent NFSv3 client check of the loopback NFS route, on libnfs's async RPC API: random offsets and
// sizes (unaligned too) written UNSTABLE with several requests in flight, random reads checked against a local
// copy, COMMIT at barriers with the write verifier compared (RFC 1813 section 3.3.7: writes answered under
// another verifier are resent), NFS3ERR_JUKEBOX retried after a pause, and a final read-back of everything,
// byte for byte. `--bench` instead times 1 MiB sequential writes (UNSTABLE, then COMMIT) and reads.
// Usage: nfs_checker URL BYTES SEED DEPTH OVERWRITES [--bench]. Prints one JSON line; exit 0 only when all matched.
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-nfs.h>

// QUIRK(libnfs 4.0): struct nfs_fh (what nfs_get_fh returns) is not in the public headers; this is its layout.
struct nfs_fh {
  int len;
  char *val;
};

#define MAX_IO (1u << 20)
enum kind { K_WRITE, K_READ, K_COMMIT };
struct req {
  enum kind kind;
  uint64_t off;
  uint32_t len;
  char *buf;
  double due;
};

static struct rpc_context *rpc;
static struct nfs_fh3 fh;
static uint8_t *shadow;
static uint64_t size;
static int depth, inflight, failed, bench;
static uint64_t rng;
static char verf[8], commit_verf[8];
static int have_verf;
// Per write since the last good COMMIT: offset, length, and the verifier it was answered with.
struct pending {
  uint64_t off;
  uint32_t len;
  char verf[8];
};
static struct pending *pend;
static size_t npend, cap_pend;
static struct {
  uint64_t writes, reads, commits, resent, jukebox, verifier_changes, mismatches, bytes_written, bytes_read;
} st;
static struct req *waiting[4096];
static int nwaiting;
// Byte ranges of reads and writes in flight: nothing overlapping one is read or written meanwhile, so every
// read has one right answer.
static struct {
  uint64_t off, end;
  int used;
} busy[1024];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static int overlaps_busy(uint64_t off, uint64_t end) {
  for (int i = 0; i < 1024; i++)
    if (busy[i].used && busy[i].off < end && off < busy[i].end) return 1;
  return 0;
}
static void mark_busy(uint64_t off, uint64_t end, int on) {
  for (int i = 0; i < 1024; i++) {
    if (on && !busy[i].used) {
      busy[i].off = off;
      busy[i].end = end;
      busy[i].used = 1;
      return;
    }
    if (!on && busy[i].used && busy[i].off == off && busy[i].end == end) {
      busy[i].used = 0;
      return;
    }
  }
}

static void issue(struct req *r);

static void retry_later(struct req *r) {
  st.jukebox++;
  r->due = now() + 0.1;
  waiting[nwaiting++] = r;
}

static void done(struct req *r) {
  inflight--;
  if (r->kind != K_COMMIT) mark_busy(r->off, r->off + r->len, 0);
  free(r);
}

static void fail(const char *what, int status) {
  fprintf(stderr, "nfs_checker: %s failed: %s (%d)\n", what, nfsstat3_to_str(status), status);
  failed = 1;
}

static void on_write(struct rpc_context *c, int status, void *data, void *priv) {
  struct req *r = priv;
  WRITE3res *res = data;
  (void)c;
  if (status != RPC_STATUS_SUCCESS) {
    fprintf(stderr, "nfs_checker: WRITE rpc: %s\n", status == RPC_STATUS_ERROR ? (char *)data : "cancelled");
    failed = 1;
    done(r);
    return;
  }
  if (res->status == NFS3ERR_JUKEBOX) {
    retry_later(r);
    return;
  }
  if (res->status != NFS3_OK || res->WRITE3res_u.resok.count != r->len) {
    fail("WRITE", res->status);
    done(r);
    return;
  }
  WRITE3resok *ok = &res->WRITE3res_u.resok;
  if (have_verf && memcmp(verf, ok->verf, 8) != 0) st.verifier_changes++;
  memcpy(verf, ok->verf, 8);
  have_verf = 1;
  if (ok->committed == UNSTABLE) {
    if (npend == cap_pend) pend = realloc(pend, (cap_pend = cap_pend ? cap_pend * 2 : 1024) * sizeof *pend);
    pend[npend++] = (struct pending){ r->off, r->len, { 0 } };
    memcpy(pend[npend - 1].verf, ok->verf, 8);
  }
  st.writes++;
  st.bytes_written += r->len;
  done(r);
}

static void on_read(struct rpc_context *c, int status, void *data, void *priv) {
  struct req *r = priv;
  READ3res *res = data;
  (void)c;
  if (status != RPC_STATUS_SUCCESS) {
    fprintf(stderr, "nfs_checker: READ rpc: %s\n", status == RPC_STATUS_ERROR ? (char *)data : "cancelled");
    failed = 1;
    done(r);
    return;
  }
  if (res->status == NFS3ERR_JUKEBOX) {
    retry_later(r);
    return;
  }
  if (res->status != NFS3_OK || res->READ3res_u.resok.count != r->len) {
    fail("READ", res->status);
    done(r);
    return;
  }
  if (!bench && memcmp(res->READ3res_u.resok.data.data_val, shadow + r->off, r->len) != 0) {
    st.mismatches++;
    fprintf(stderr, "nfs_checker: READ of %u bytes at %" PRIu64 " differs from what was written\n", r->len, r->off);
  }
  st.reads++;
  st.bytes_read += r->len;
  done(r);
}

static void on_commit(struct rpc_context *c, int status, void *data, void *priv) {
  struct req *r = priv;
  COMMIT3res *res = data;
  (void)c;
  if (status != RPC_STATUS_SUCCESS) {
    fprintf(stderr, "nfs_checker: COMMIT rpc failed\n");
    failed = 1;
    done(r);
    return;
  }
  if (res->status == NFS3ERR_JUKEBOX) {
    retry_later(r);
    return;
  }
  if (res->status != NFS3_OK) {
    fail("COMMIT", res->status);
    done(r);
    return;
  }
  memcpy(commit_verf, res->COMMIT3res_u.resok.verf, 8);
  st.commits++;
  done(r);
}

static void issue(struct req *r) {
  int rc;
  if (r->kind == K_WRITE) {
    WRITE3args a = { .file = fh, .offset = r->off, .count = r->len, .stable = UNSTABLE };
    a.data.data_len = r->len;
    a.data.data_val = r->buf;
    rc = rpc_nfs3_write_async(rpc, on_write, &a, r);
  } else if (r->kind == K_READ) {
    READ3args a = { .file = fh, .offset = r->off, .count = r->len };
    rc = rpc_nfs3_read_async(rpc, on_read, &a, r);
  } else {
    COMMIT3args a = { .file = fh, .offset = 0, .count = 0 };
    rc = rpc_nfs3_commit_async(rpc, on_commit, &a, r);
  }
  if (rc != 0) {
    fprintf(stderr, "nfs_checker: queueing failed: %s\n", rpc_get_error(rpc));
    failed = 1;
  }
}

static void submit(enum kind k, uint64_t off, uint32_t len) {
  struct req *r = calloc(1, sizeof *r);
  r->kind = k;
  r->off = off;
  r->len = len;
  // Straight from the local copy: nothing changes a range while a request on it is in flight.
  if (k == K_WRITE) r->buf = (char *)shadow + off;
  if (k != K_COMMIT) mark_busy(off, off + len, 1);
  inflight++;
  issue(r);
}

/** Runs the event loop until at most `limit` requests are in flight (JUKEBOX retries resent when due). */
static void pump(int limit) {
  while (inflight > limit && !failed) {
    double t = now();
    for (int i = 0; i < nwaiting;) {
      if (waiting[i]->due <= t) {
        struct req *r = waiting[i];
        waiting[i] = waiting[--nwaiting];
        issue(r);
      } else
        i++;
    }
    struct pollfd p = { .fd = rpc_get_fd(rpc), .events = rpc_which_events(rpc) };
    if (poll(&p, 1, 20) < 0 && errno != EINTR) {
      perror("poll");
      failed = 1;
      return;
    }
    if (rpc_service(rpc, p.revents) < 0) {
      fprintf(stderr, "nfs_checker: rpc_service: %s\n", rpc_get_error(rpc));
      failed = 1;
      return;
    }
  }
}

/** Drains, COMMITs, and resends every write answered under another verifier than the COMMIT's, until none is. */
static void barrier(void) {
  for (int round = 0; round < 100 && !failed; round++) {
    pump(0);
    submit(K_COMMIT, 0, 0);
    pump(0);
    size_t kept = 0;
    for (size_t i = 0; i < npend; i++) {
      if (memcmp(pend[i].verf, commit_verf, 8) == 0) continue;
      pend[kept++] = pend[i];
    }
    if (kept == 0) {
      npend = 0;
      return;
    }
    struct pending *again = malloc(kept * sizeof *again);
    memcpy(again, pend, kept * sizeof *again);
    npend = 0;
    for (size_t i = 0; i < kept; i++) {
      st.resent++;
      submit(K_WRITE, again[i].off, again[i].len);
      pump(depth - 1);
    }
    free(again);
  }
}

static uint32_t random_len(void) {
  uint32_t pick = next() % 4;
  uint32_t len = pick == 0 ? 1 + next() % 4096 : pick == 1 ? 4096 * (1 + next() % 16) : 1 + next() % MAX_IO;
  return len;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: nfs_checker URL BYTES SEED DEPTH OVERWRITES [--bench]\n");
    return 64;
  }
  size = strtoull(argv[2], 0, 10);
  rng = strtoull(argv[3], 0, 10) * 2654435761u + 1;
  depth = atoi(argv[4]);
  long overwrites = atol(argv[5]);
  bench = argc > 6 && strcmp(argv[6], "--bench") == 0;
  struct nfs_context *nfs = nfs_init_context();
  struct nfs_url *url = nfs_parse_url_full(nfs, argv[1]);
  if (!url) {
    fprintf(stderr, "nfs_checker: bad URL: %s\n", nfs_get_error(nfs));
    return 64;
  }
  nfs_set_autoreconnect(nfs, -1);
  if (nfs_mount(nfs, url->server, url->path) != 0) {
    fprintf(stderr, "nfs_checker: mount: %s\n", nfs_get_error(nfs));
    return 2;
  }
  struct nfsfh *f;
  if (nfs_open(nfs, url->file, O_RDWR, &f) != 0) {
    fprintf(stderr, "nfs_checker: open: %s\n", nfs_get_error(nfs));
    return 2;
  }
  struct nfs_fh *h = nfs_get_fh(f);
  fh.data.data_len = h->len;
  fh.data.data_val = h->val;
  rpc = nfs_get_rpc_context(nfs);
  shadow = malloc(size);
  for (uint64_t i = 0; i + 8 <= size; i += 8) {
    uint64_t v = next();
    memcpy(shadow + i, &v, 8);
  }
  double t0 = now(), t_write = 0;
  if (bench) {
    for (uint64_t off = 0; off < size; off += MAX_IO) {
      submit(K_WRITE, off, size - off < MAX_IO ? size - off : MAX_IO);
      pump(depth - 1);
    }
    barrier();
    t_write = now() - t0;
    fprintf(stderr, "progress written\n");
  } else {
    // Fill in random-length pieces, then random overwrites and checked reads, with COMMIT barriers between.
    for (uint64_t off = 0; off < size && !failed;) {
      uint32_t len = random_len();
      if (len > size - off) len = size - off;
      submit(K_WRITE, off, len);
      pump(depth - 1);
      off += len;
    }
    barrier();
    fprintf(stderr, "progress filled\n");
    for (long i = 0; i < overwrites && !failed; i++) {
      uint32_t len = random_len();
      uint64_t off = next() % (size - len + 1);
      if (overlaps_busy(off, off + len)) continue;
      if (next() % 3 == 0)
        submit(K_READ, off, len);
      else {
        for (uint32_t j = 0; j < len; j++) shadow[off + j] = (uint8_t)next();
        submit(K_WRITE, off, len);
      }
      pump(depth - 1);
      if (i % 256 == 255) {
        barrier();
        fprintf(stderr, "progress overwrites %ld\n", i + 1);
      }
    }
    barrier();
    t_write = now() - t0;
  }
  double t1 = now();
  for (uint64_t off = 0; off < size && !failed;) {
    uint32_t len = bench ? MAX_IO : random_len();
    if (len > size - off) len = size - off;
    submit(K_READ, off, len);
    pump(depth - 1);
    off += len;
  }
  pump(0);
  double t_read = now() - t1;
  printf("{\"ok\":%s,\"writes\":%" PRIu64 ",\"reads\":%" PRIu64 ",\"commits\":%" PRIu64 ",\"resent\":%" PRIu64
         ",\"jukebox\":%" PRIu64 ",\"verifierChanges\":%" PRIu64 ",\"mismatches\":%" PRIu64 ",\"bytesWritten\":%" PRIu64
         ",\"bytesRead\":%" PRIu64 ",\"writeSeconds\":%.3f,\"readSeconds\":%.3f}\n",
         !failed && st.mismatches == 0 ? "true" : "false", st.writes, st.reads, st.commits, st.resent, st.jukebox,
         st.verifier_changes, st.mismatches, st.bytes_written, st.bytes_read, t_write, t_read);
  nfs_close(nfs, f);
  nfs_destroy_url(url);
  nfs_destroy_context(nfs);
  return !failed && st.mismatches == 0 ? 0 : 1;
}
