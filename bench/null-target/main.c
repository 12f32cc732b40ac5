/*
 * null-target's entry: `null-target --port PORT` listens on 127.0.0.1 only and serves every connection from
 * one epoll loop (level-triggered; a connection whose send queue is full stops being read until it drains).
 * Also the session table: sessions are shared by the connections of one MC/S session (RFC 7143 §4.2.2).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "target.h"

#define MAX_SESSIONS 256

int listen_port;
static struct session sessions[MAX_SESSIONS];
static uint16_t next_tsih = 1;
static int epfd;

struct session *session_new(void) {
  for (int i = 0; i < MAX_SESSIONS; i++) {
    if (sessions[i].used) continue;
    memset(&sessions[i], 0, sizeof sessions[i]);
    sessions[i].used = 1;
    sessions[i].tsih = next_tsih++;
    if (next_tsih == 0) next_tsih = 1; /* TSIH 0 means "new session" (§11.12.8) */
    return &sessions[i];
  }
  return NULL;
}

struct session *session_find(const uint8_t *isid, uint16_t tsih) {
  for (int i = 0; i < MAX_SESSIONS; i++) {
    if (sessions[i].used && sessions[i].tsih == tsih && memcmp(sessions[i].isid, isid, 6) == 0) return &sessions[i];
  }
  return NULL;
}

void session_release(struct session *s) {
  if (s && --s->connections <= 0) s->used = 0;
}

static void usage(void) {
  fprintf(stderr, "usage: null-target --port PORT   (serves %s on 127.0.0.1:PORT)\n", TARGET_IQN);
  exit(2);
}

static int open_listener(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 64) < 0) {
    fprintf(stderr, "null-target: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
    exit(1);
  }
  return fd;
}

static struct conn *conn_new(int fd) {
  struct conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->rbuf = malloc(RBUF_SIZE);
  c->arena = malloc(ARENA_SIZE);
  if (!c->rbuf || !c->arena) {
    free(c->rbuf), free(c->arena), free(c);
    return NULL;
  }
  c->fd = fd;
  c->peer_mrdsl = LOGIN_MRDSL;
  c->statsn = 1;
  return c;
}

static void conn_free(struct conn *c) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  session_release(c->session);
  free(c->rbuf), free(c->arena), free(c);
}

/* Register what the connection waits for now: input unless paused, output while the queue is stuck. */
static void update_interest(struct conn *c) {
  uint32_t want = (c->paused ? 0 : EPOLLIN) | (c->want_out ? EPOLLOUT : 0) | EPOLLRDHUP;
  if (want == c->events) return;
  struct epoll_event ev = { .events = want, .data.ptr = c };
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->events = want;
}

static void accept_all(int lfd) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = conn_new(fd);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
    ev.data.ptr = c;
    if (!c || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
      fprintf(stderr, "null-target: dropping a connection: out of memory\n");
      if (c) free(c->rbuf), free(c->arena), free(c);
      close(fd);
      continue;
    }
    c->events = ev.events;
  }
}

int main(int argc, char **argv) {
  int port = -1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end || v < 1 || v > 65535) usage();
      port = (int)v;
    } else {
      usage();
    }
  }
  if (port < 0) usage();
  listen_port = port;
  signal(SIGPIPE, SIG_IGN);
  int lfd = open_listener(port);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
  printf("null-target: serving %s on 127.0.0.1:%d\n", TARGET_IQN, port);
  fflush(stdout);

  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(epfd, evs, 64, -1);
    if (n < 0 && errno != EINTR) return 1;
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if (!c) {
        accept_all(lfd);
        continue;
      }
      int ok = 1, was_paused = c->paused;
      if (evs[i].events & EPOLLOUT) ok = conn_flush(c) >= 0;
      /* A queue that drained un-pauses the connection: PDUs already buffered are handled now, not when more arrive. */
      int resume = was_paused && !c->paused;
      if (ok && (resume || evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) ok = conn_receive(c) >= 0;
      if (!ok || (c->closing && c->count == 0)) {
        conn_free(c);
        continue;
      }
      update_interest(c);
    }
  }
}
