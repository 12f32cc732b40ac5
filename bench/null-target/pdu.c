/*
 * null-target's framing and send queue (RFC 7143 §11.2): reads PDUs from a connection into its preallocated
 * buffer, drops the data segments of writes with recv(MSG_TRUNC) (the kernel discards them without a copy),
 * and sends the queued responses with one sendmsg() each time round: small PDUs from the connection's arena,
 * the Data-In PDUs of reads built on the fly with every data segment pointing at one shared buffer of zeros.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "target.h"

#define ITEM_BYTES 0
#define ITEM_ZEROS 1
#define MAX_IOV 1024
#define MAX_HDRS 480
#define MAX_SEND (8u << 20)
#define ZEROS_SIZE (1u << 20)

static uint8_t zeros[ZEROS_SIZE];
static struct iovec iov[MAX_IOV];
static uint8_t hdrs[MAX_HDRS][48];

void conn_fail(struct conn *c, const char *why) {
  fprintf(stderr, "null-target: closing connection (fd %d): %s\n", c->fd, why);
}

int queue_room(const struct conn *c) {
  return c->count + 4 <= MAX_ITEMS && c->arena_used + OUR_MRDSL + 4096 <= ARENA_SIZE;
}

struct item *queue_item(struct conn *c) {
  struct item *it = &c->items[(c->head + c->count++) % MAX_ITEMS];
  memset(it, 0, sizeof *it);
  return it;
}

/* A PDU of 48 bytes + dsl data (padded) in the arena, zeroed; queue_room() was checked before parsing. */
uint8_t *queue_pdu(struct conn *c, uint32_t dsl) {
  struct item *it = queue_item(c);
  it->kind = ITEM_BYTES;
  it->off = c->arena_used;
  it->len = 48 + pad4(dsl);
  c->arena_used += it->len;
  uint8_t *p = c->arena + it->off;
  memset(p, 0, it->len);
  put24(p + 5, dsl);
  return p;
}

/* StatSN (advanced when the PDU carries status, §4.2.2.2), ExpCmdSN and MaxCmdSN. */
void fill_sn(struct conn *c, uint8_t *bhs, int advance) {
  put32(bhs + 24, advance ? c->statsn++ : c->statsn);
  uint32_t exp = c->session ? c->session->expcmdsn : 0;
  put32(bhs + 28, exp);
  put32(bhs + 32, exp + CMD_WINDOW - 1);
}

/* The header of Data-In PDU k of a read of zeros (§11.7); the last one carries the status (S bit). */
static void zeros_header(const struct item *it, uint32_t k, uint32_t len, int last, uint8_t *b) {
  memset(b, 0, 48);
  b[0] = 0x25;
  uint64_t end = (uint64_t)k * it->seg + len;
  if (last)
    b[1] = 0x80 | 0x01 | it->resflags;
  else if (it->burst && end % it->burst == 0)
    b[1] = 0x80; /* end of a Data-In sequence (MaxBurstLength) */
  put24(b + 5, len);
  put32(b + 16, it->itt);
  put32(b + 20, 0xffffffff);
  if (last) put32(b + 24, it->statsn);
  put32(b + 28, it->expcmdsn);
  put32(b + 32, it->maxcmdsn);
  put32(b + 36, k);
  put32(b + 40, (uint32_t)k * it->seg);
  if (last) put32(b + 44, it->residual);
}

/* Add the unsent part of a read's Data-In PDUs to iov; returns 0 when out of room before its end. */
static int add_zeros(const struct item *it, int *n_iov, int *n_hdr, uint64_t *total) {
  uint64_t slot = 48 + (uint64_t)it->seg;
  uint32_t pdus = (it->xfer + it->seg - 1) / it->seg;
  uint64_t pos = it->sent;
  for (uint32_t k = (uint32_t)(pos / slot); k < pdus; k++) {
    uint64_t within = k == pos / slot ? pos % slot : 0;
    uint32_t len = k + 1 == pdus ? it->xfer - k * it->seg : it->seg;
    uint64_t data = pad4(len);
    if (*n_hdr >= MAX_HDRS || *n_iov + 2 + (int)(data / ZEROS_SIZE) >= MAX_IOV || *total >= MAX_SEND) return 0;
    uint8_t *h = hdrs[(*n_hdr)++];
    zeros_header(it, k, len, k + 1 == pdus, h);
    if (within < 48) {
      iov[(*n_iov)++] = (struct iovec){ h + within, 48 - within };
      *total += 48 - within;
      within = 48;
    }
    for (uint64_t d = within - 48; d < data;) {
      uint64_t piece = data - d < ZEROS_SIZE ? data - d : ZEROS_SIZE;
      iov[(*n_iov)++] = (struct iovec){ zeros, piece };
      *total += piece;
      d += piece;
    }
  }
  return 1;
}

/* Mark `n` sent bytes off the queue's head. */
static void consume(struct conn *c, uint64_t n) {
  while (n > 0 && c->count > 0) {
    struct item *it = &c->items[c->head];
    uint64_t take = it->len - it->sent < n ? it->len - it->sent : n;
    it->sent += take;
    n -= take;
    if (it->sent < it->len) return;
    if (it->close_after) c->closing = 1;
    c->head = (c->head + 1) % MAX_ITEMS;
    c->count--;
  }
}

/* Send what is queued; 0 when all went or the socket is full (want_out set), -1 on a broken connection. */
int conn_flush(struct conn *c) {
  while (c->count > 0) {
    int n_iov = 0, n_hdr = 0;
    uint64_t total = 0;
    for (size_t k = 0; k < c->count && n_iov < MAX_IOV - 2 && total < MAX_SEND; k++) {
      struct item *it = &c->items[(c->head + k) % MAX_ITEMS];
      if (it->kind == ITEM_BYTES) {
        iov[n_iov++] = (struct iovec){ c->arena + it->off + it->sent, it->len - it->sent };
        total += it->len - it->sent;
      } else if (!add_zeros(it, &n_iov, &n_hdr, &total)) {
        break;
      }
    }
    struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n_iov };
    ssize_t w = sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c->want_out = 1;
        return 0;
      }
      return -1;
    }
    consume(c, (uint64_t)w);
    if ((uint64_t)w < total) {
      c->want_out = 1;
      return 0;
    }
  }
  c->want_out = 0;
  c->arena_used = 0;
  c->paused = 0;
  return 0;
}

/* Handle every whole PDU in the buffer (and the header of a write whose data is still arriving). */
static int parse(struct conn *c) {
  size_t pos = 0;
  while (!c->paused && !c->closing && c->skip == 0) {
    size_t avail = c->rlen - pos;
    if (avail < 48) break;
    const uint8_t *bhs = c->rbuf + pos;
    uint32_t dsl = get24(bhs + 5);
    size_t hdr = 48 + (size_t)bhs[4] * 4;
    uint32_t limit = c->full_feature ? OUR_MRDSL : LOGIN_MRDSL;
    if (dsl > limit) {
      char why[120];
      snprintf(why, sizeof why, "opcode 0x%02x: DataSegmentLength %u exceeds the %u we declared", bhs[0] & 0x3f, dsl,
               limit);
      conn_fail(c, why);
      return -1;
    }
    if (avail < hdr) break;
    uint64_t padded = pad4(dsl);
    int discard = c->full_feature && data_is_discarded(bhs);
    if (!discard && avail < hdr + padded) break;
    if (!queue_room(c)) {
      c->paused = 1;
      break;
    }
    uint32_t have = avail - hdr < dsl ? (uint32_t)(avail - hdr) : dsl;
    if (handle_pdu(c, bhs, c->rbuf + pos + hdr, have, dsl) < 0) return -1;
    uint64_t in_buf = avail - hdr < padded ? avail - hdr : padded;
    pos += hdr + in_buf;
    c->skip = padded - in_buf;
  }
  memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
  c->rlen -= pos;
  return 0;
}

/* A broken rule ends the connection, after sending what was answered before it (best effort). */
static int broken(struct conn *c) {
  conn_flush(c);
  return -1;
}

/* Read what the socket has (bounded per wake-up, for fairness between connections), then send the answers. */
int conn_receive(struct conn *c) {
  if (parse(c) < 0) return broken(c);
  for (int round = 0; round < 16 && !c->closing; round++) {
    ssize_t n;
    size_t ask;
    if (c->skip > 0) {
      ask = c->skip < (1u << 30) ? c->skip : (1u << 30);
      n = recv(c->fd, NULL, ask, MSG_TRUNC | MSG_DONTWAIT);
    } else {
      if (c->paused) break;
      ask = RBUF_SIZE - c->rlen < RECV_CHUNK ? RBUF_SIZE - c->rlen : RECV_CHUNK;
      if (c->rlen >= 48) { /* a whole PDU that is not dropped must fit: read up to its end at once */
        uint64_t need = 48 + (uint64_t)c->rbuf[4] * 4 + pad4(get24(c->rbuf + 5));
        if (need > c->rlen + ask) ask = RBUF_SIZE - c->rlen < need - c->rlen ? RBUF_SIZE - c->rlen : need - c->rlen;
      }
      n = recv(c->fd, c->rbuf + c->rlen, ask, MSG_DONTWAIT);
    }
    if (n == 0) return -1;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return -1;
    }
    if (c->skip > 0) {
      c->skip -= (uint64_t)n;
    } else {
      c->rlen += (size_t)n;
    }
    if (parse(c) < 0) return broken(c);
    if ((size_t)n < ask) break;
  }
  return conn_flush(c);
}
