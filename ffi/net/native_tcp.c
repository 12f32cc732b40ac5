/*
 * Socket calls for src/transport/native.ts, reached through bun:ffi: recv() into memory JavaScript names
 * (a reused receive buffer, or a read's destination) and sendmsg() straight from the queued pieces, so no
 * byte is copied in user space; and a watcher for when Bun must not read the socket itself
 * (docs/performance.md, "A native transport").
 *
 * The socket belongs to Bun (Bun.connect); these calls only read and write it. While large data segments
 * flow, JavaScript pauses Bun's reading and arms the watcher instead: one thread per connection waits on
 * epoll with EPOLLONESHOT and, when the socket is readable, writes one byte to a socketpair (the
 * "doorbell") whose other end JavaScript reads with Bun.connect({fd}). The watcher never touches data,
 * never runs JavaScript, and is disarmed after each report until nt_arm(). nt_unwatch() wakes it, joins
 * it, and only then closes its own descriptors (never the socket) and frees the handle.
 *
 * Return values: byte counts (>= 0), NT_WOULD_BLOCK, or -errno. Every length from JavaScript is checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef __linux__
#error "native_tcp.c uses epoll, eventfd and MSG_NOSIGNAL: Linux only (the Bun transport serves other systems)"
#endif
#include <sys/epoll.h>
#include <sys/eventfd.h>

#define NT_ABI_VERSION 3
#define NT_WOULD_BLOCK (-1000000)
/* Largest single recv or send: keeps every count representable in the int32 results. */
#define NT_MAX_IO (1 << 30)
/* Most pieces one nt_send() takes (IOV_MAX is 1024 on Linux). */
#define NT_MAX_PIECES 1024

int32_t nt_abi_version(void) { return NT_ABI_VERSION; }
int32_t nt_would_block(void) { return NT_WOULD_BLOCK; }

/* Read up to len bytes from socket fd into buf: the count (0 at end of stream), NT_WOULD_BLOCK, or -errno. */
int32_t nt_recv(int32_t fd, uint8_t *buf, int32_t len) {
  if (fd < 0 || buf == NULL || len <= 0 || len > NT_MAX_IO) return -EINVAL;
  for (;;) {
    ssize_t n = recv(fd, buf, (size_t)len, MSG_DONTWAIT);
    if (n >= 0) return (int32_t)n;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? NT_WOULD_BLOCK : -errno;
  }
}

/*
 * Send on socket fd `count` pieces described by `desc` as (address, length) pairs of doubles (bun:ffi
 * pointers are numbers, exact below 2^53), in one sendmsg: the count written (maybe partial),
 * NT_WOULD_BLOCK, or -errno.
 */
int32_t nt_send(int32_t fd, const double *desc, int32_t count) {
  if (fd < 0 || desc == NULL || count <= 0 || count > NT_MAX_PIECES) return -EINVAL;
  struct iovec iov[NT_MAX_PIECES];
  size_t total = 0;
  for (int32_t i = 0; i < count; i++) {
    double at = desc[2 * i], len = desc[2 * i + 1];
    if (!(at > 0 && at < 9007199254740992.0) || !(len > 0 && len <= NT_MAX_IO)) return -EINVAL;
    if (at != (double)(uintptr_t)at || len != (double)(size_t)len) return -EINVAL;
    total += (size_t)len;
    if (total > NT_MAX_IO) return -EINVAL;
    iov[i].iov_base = (void *)(uintptr_t)at;
    iov[i].iov_len = (size_t)len;
  }
  struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)count };
  for (;;) {
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return (int32_t)n;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? NT_WOULD_BLOCK : -errno;
  }
}

/* The message for a -errno result (static storage: copy it before the next call). */
const char *nt_strerror(int32_t code) {
  if (code == NT_WOULD_BLOCK) return "operation would block";
  return strerror(code < 0 ? -code : code);
}

struct nt_watch {
  int sock; /* watched, not owned */
  int ep; /* epoll set: sock (one-shot) and stop */
  int stop; /* eventfd: nt_unwatch() wakes the thread through it */
  int bell[2]; /* socketpair: [0] for JavaScript, [1] written by the thread */
  pthread_t thread;
  int started;
};

static void *watch_loop(void *arg) {
  struct nt_watch *w = arg;
  struct epoll_event ev[2];
  for (;;) {
    int n = epoll_wait(w->ep, ev, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return NULL;
    }
    int ring = 0;
    for (int i = 0; i < n; i++) {
      if (ev[i].data.fd == w->stop) return NULL;
      ring = 1; /* readable, hang-up or error: the next nt_recv() learns which */
    }
    if (!ring) continue;
    /* A full doorbell means JavaScript has not read earlier bytes yet; it will look at the socket anyway. */
    uint8_t one = 1;
    while (send(w->bell[1], &one, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno == EINTR) {}
  }
}

static void release(struct nt_watch *w) {
  if (w->ep >= 0) close(w->ep);
  if (w->stop >= 0) close(w->stop);
  if (w->bell[1] >= 0) close(w->bell[1]);
  /* bell[0] belongs to JavaScript once nt_watch() returned: Bun closes it with its socket. */
  free(w);
}

/*
 * Start watching socket fd (disarmed). Returns the handle and the doorbell fd in *bell_fd, or NULL and
 * -errno in *bell_fd.
 */
struct nt_watch *nt_watch(int32_t fd, int32_t *bell_fd) {
  if (bell_fd == NULL) return NULL;
  *bell_fd = -EINVAL;
  if (fd < 0) return NULL;
  struct nt_watch *w = calloc(1, sizeof *w);
  if (w == NULL) {
    *bell_fd = -ENOMEM;
    return NULL;
  }
  w->sock = fd;
  w->ep = w->stop = w->bell[0] = w->bell[1] = -1;
  int err = 0;
  if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) err = errno;
  if (!err && (w->stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) err = errno;
  if (!err && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, w->bell) != 0) err = errno;
  struct epoll_event stop_ev = { .events = EPOLLIN, .data.fd = w->stop };
  struct epoll_event sock_ev = { .events = EPOLLONESHOT, .data.fd = fd }; /* disarmed until nt_arm() */
  if (!err && epoll_ctl(w->ep, EPOLL_CTL_ADD, w->stop, &stop_ev) != 0) err = errno;
  if (!err && epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &sock_ev) != 0) err = errno;
  if (!err && (err = pthread_create(&w->thread, NULL, watch_loop, w)) == 0) w->started = 1;
  if (err) {
    if (w->bell[0] >= 0) close(w->bell[0]);
    release(w);
    *bell_fd = -err;
    return NULL;
  }
  *bell_fd = w->bell[0];
  return w;
}

/* Ask for one doorbell byte when the socket is readable (or hangs up, or fails). */
int32_t nt_arm(struct nt_watch *w) {
  if (w == NULL) return -EINVAL;
  struct epoll_event ev = { .events = EPOLLONESHOT | EPOLLIN | EPOLLRDHUP, .data.fd = w->sock };
  return epoll_ctl(w->ep, EPOLL_CTL_MOD, w->sock, &ev) == 0 ? 0 : -errno;
}

/*
 * Stop the thread (waking it if it waits), join it, close the watcher's descriptors (not the socket) and
 * free the handle. Call exactly once, before the socket is closed; JavaScript closes its doorbell end.
 */
void nt_unwatch(struct nt_watch *w) {
  if (w == NULL) return;
  if (w->started) {
    uint64_t one = 1;
    while (write(w->stop, &one, sizeof one) < 0 && errno == EINTR) {}
    pthread_join(w->thread, NULL);
  }
  release(w);
}
