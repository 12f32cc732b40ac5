/*
 * A TCP socket read and written by the JavaScript thread through bun:ffi, without Bun's socket layer
 * (src/transport/native.ts; measured in docs/performance.md, "A native transport").
 *
 * JavaScript calls nt_recv() into buffers it owns (a reused receive buffer, or a read's destination) and
 * nt_send() with pointers to the bytes it queued, so no byte is copied in user space here. Bun gives no
 * way to learn that a foreign fd is readable, so one poller thread per connection waits on epoll with
 * EPOLLONESHOT and, when the socket is ready, writes one byte to a socketpair (the "doorbell") whose
 * other end JavaScript reads with Bun.connect({fd}). The poller never touches data, never runs
 * JavaScript, and is disarmed after each report until JavaScript re-arms it with nt_arm(), so there is
 * at most one doorbell byte per read cycle. nt_close() wakes the poller, joins it and only then closes
 * the descriptors and frees the handle: after it returns nothing else refers to them.
 *
 * Return values: byte counts (>= 0), NT_WOULD_BLOCK, or -errno. Every length from JavaScript is checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef __linux__
#error "native_tcp.c uses epoll and MSG_NOSIGNAL: Linux only (the Bun transport serves other systems)"
#endif
#include <sys/epoll.h>
#include <sys/eventfd.h>

#define NT_ABI_VERSION 1
#define NT_WOULD_BLOCK (-1000000)
#define NT_READABLE 1
#define NT_WRITABLE 2
/* Largest single recv or send: keeps every count representable in the int32 results. */
#define NT_MAX_IO (1 << 30)
/* Most pieces one nt_send() takes (IOV_MAX is 1024 on Linux). */
#define NT_MAX_PIECES 1024

struct nt_conn {
    int sock;      /* the TCP socket, non-blocking */
    int ep;        /* epoll set: sock (one-shot) and stop */
    int stop;      /* eventfd: nt_close() wakes the poller through it */
    int bell[2];   /* socketpair: [0] for JavaScript, [1] written by the poller */
    pthread_t poller;
    int poller_started;
};

int32_t nt_abi_version(void) { return NT_ABI_VERSION; }
int32_t nt_would_block(void) { return NT_WOULD_BLOCK; }

static void *poll_loop(void *arg) {
    struct nt_conn *c = arg;
    struct epoll_event ev[2];
    for (;;) {
        int n = epoll_wait(c->ep, ev, 2, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            return NULL;
        }
        uint8_t bits = 0;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.fd == c->stop) return NULL;
            /* Errors and hang-ups are reported as both: the next recv/send call learns what happened. */
            if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) bits |= NT_READABLE;
            if (ev[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) bits |= NT_WRITABLE;
        }
        if (bits == 0) continue;
        /* A full doorbell means JavaScript has not read earlier bytes yet; it will look at the socket anyway. */
        while (send(c->bell[1], &bits, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno == EINTR) {}
    }
}

static void release(struct nt_conn *c) {
    if (c->sock >= 0) close(c->sock);
    if (c->ep >= 0) close(c->ep);
    if (c->stop >= 0) close(c->stop);
    if (c->bell[1] >= 0) close(c->bell[1]);
    /* bell[0] belongs to JavaScript once nt_open() returned: Bun closes it with its socket. */
    free(c);
}

/*
 * Start connecting to a numeric IPv4 or IPv6 address. On success returns the handle and the doorbell fd
 * in *bell_fd; the caller arms NT_WRITABLE and calls nt_connect_result() when the doorbell rings. On
 * failure returns NULL and -errno (or -EINVAL for a bad address or port) in *bell_fd.
 */
struct nt_conn *nt_open(const char *address, int32_t port, int32_t *bell_fd) {
    *bell_fd = -EINVAL;
    if (address == NULL || port <= 0 || port > 65535) return NULL;
    struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM };
    struct addrinfo *ai = NULL;
    char service[8];
    snprintf(service, sizeof service, "%d", (int)port);
    if (getaddrinfo(address, service, &hints, &ai) != 0 || ai == NULL) return NULL;

    struct nt_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        freeaddrinfo(ai);
        *bell_fd = -ENOMEM;
        return NULL;
    }
    c->sock = c->ep = c->stop = c->bell[0] = c->bell[1] = -1;
    int one = 1;
    int err = 0;
    c->sock = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->sock < 0) err = errno;
    if (!err && setsockopt(c->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) err = errno;
    if (!err && connect(c->sock, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) err = errno;
    freeaddrinfo(ai);
    if (!err && (c->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) err = errno;
    if (!err && (c->stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) err = errno;
    if (!err && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c->bell) != 0) err = errno;
    struct epoll_event stop_ev = { .events = EPOLLIN, .data.fd = c->stop };
    struct epoll_event sock_ev = { .events = EPOLLONESHOT, .data.fd = c->sock }; /* disarmed until nt_arm() */
    if (!err && epoll_ctl(c->ep, EPOLL_CTL_ADD, c->stop, &stop_ev) != 0) err = errno;
    if (!err && epoll_ctl(c->ep, EPOLL_CTL_ADD, c->sock, &sock_ev) != 0) err = errno;
    if (!err && (err = pthread_create(&c->poller, NULL, poll_loop, c)) == 0) c->poller_started = 1;
    if (err) {
        if (c->bell[0] >= 0) close(c->bell[0]);
        release(c);
        *bell_fd = -err;
        return NULL;
    }
    *bell_fd = c->bell[0];
    return c;
}

/* 0 once connected, else -errno of the failed connect (SO_ERROR). */
int32_t nt_connect_result(struct nt_conn *c) {
    if (c == NULL) return -EINVAL;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(c->sock, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) return -errno;
    return soerr ? -soerr : 0;
}

/* Ask for one doorbell byte when the socket becomes readable and/or writable (NT_READABLE | NT_WRITABLE). */
int32_t nt_arm(struct nt_conn *c, int32_t interest) {
    if (c == NULL || (interest & ~(NT_READABLE | NT_WRITABLE)) != 0) return -EINVAL;
    struct epoll_event ev = { .events = EPOLLONESHOT, .data.fd = c->sock };
    if (interest & NT_READABLE) ev.events |= EPOLLIN | EPOLLRDHUP;
    if (interest & NT_WRITABLE) ev.events |= EPOLLOUT;
    return epoll_ctl(c->ep, EPOLL_CTL_MOD, c->sock, &ev) == 0 ? 0 : -errno;
}

/* Read up to len bytes into buf: the count (0 at end of stream), NT_WOULD_BLOCK, or -errno. */
int32_t nt_recv(struct nt_conn *c, uint8_t *buf, int32_t len) {
    if (c == NULL || buf == NULL || len <= 0 || len > NT_MAX_IO) return -EINVAL;
    for (;;) {
        ssize_t n = recv(c->sock, buf, (size_t)len, 0);
        if (n >= 0) return (int32_t)n;
        if (errno == EINTR) continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? NT_WOULD_BLOCK : -errno;
    }
}

/*
 * Send `count` pieces described by `desc` as (address, length) pairs of doubles (bun:ffi pointers are
 * numbers, exact below 2^53), in one sendmsg: the count written (maybe partial), NT_WOULD_BLOCK, or -errno.
 */
int32_t nt_send(struct nt_conn *c, const double *desc, int32_t count) {
    if (c == NULL || desc == NULL || count <= 0 || count > NT_MAX_PIECES) return -EINVAL;
    struct iovec iov[NT_MAX_PIECES];
    size_t total = 0;
    for (int32_t i = 0; i < count; i++) {
        double at = desc[2 * i], len = desc[2 * i + 1];
        if (!(at > 0 && at < 9007199254740992.0) || !(len > 0 && len <= NT_MAX_IO) || at != (double)(uintptr_t)at || len != (double)(size_t)len) return -EINVAL;
        total += (size_t)len;
        if (total > NT_MAX_IO) return -EINVAL;
        iov[i].iov_base = (void *)(uintptr_t)at;
        iov[i].iov_len = (size_t)len;
    }
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)count };
    for (;;) {
        ssize_t n = sendmsg(c->sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
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

/*
 * Stop the poller (waking it if it waits), join it, close the socket and the poller's descriptors, free
 * the handle. Call exactly once; JavaScript closes its doorbell end itself.
 */
void nt_close(struct nt_conn *c) {
    if (c == NULL) return;
    if (c->poller_started) {
        uint64_t one = 1;
        while (write(c->stop, &one, sizeof one) < 0 && errno == EINTR) {}
        pthread_join(c->poller, NULL);
    }
    release(c);
}
