/*
 * null-target: a small iSCSI target (RFC 7143) for benchmarks only. One LU of 1 TiB that reads zeros and
 * discards writes, served from one epoll thread with preallocated buffers, so that a benchmark measures the
 * initiator and not the target. This header holds the limits, the per-connection and per-session state and
 * the functions the files share (main.c: sockets and the loop; pdu.c: framing and the send queue; login.c:
 * login and text negotiation; command.c: SCSI commands, R2T and Data-Out; scsi.c: the LU's answers).
 */
#ifndef NULL_TARGET_H
#define NULL_TARGET_H

#include <stddef.h>
#include <stdint.h>

#define TARGET_IQN "iqn.2026-12.dev.iscsi:null"
#define LU_BLOCK_SIZE 512u
#define LU_BLOCKS (1ull << 31) /* 1 TiB */

/* What we declare and accept (RFC 7143 §13). */
#define OUR_MRDSL (1u << 20) /* MaxRecvDataSegmentLength: largest segment we take */
#define LOGIN_MRDSL 8192u /* a login PDU's data segment never exceeds this (§6.2) */
#define OUR_BURST 16776192u /* MaxBurstLength and FirstBurstLength: 2^24 - 1024 */
#define CMD_WINDOW 128u /* MaxCmdSN - ExpCmdSN + 1 */
#define MAX_CONNECTIONS 8u /* per session (MC/S) */
#define MAX_WRITE_TASKS 256u /* writes waiting for data, per connection */
#define MAX_ITEMS 2048u /* queued responses, per connection */
#define ARENA_SIZE (OUR_MRDSL * 2 + 65536)
#define RBUF_SIZE (OUR_MRDSL + 2048)
#define RECV_CHUNK 65536u

/* A queued response: bytes in the connection's arena, or the Data-In PDUs of a read of zeros. */
struct item {
  uint8_t kind; /* ITEM_BYTES or ITEM_ZEROS */
  uint8_t close_after;
  uint64_t len; /* bytes on the wire */
  uint64_t sent; /* of len */
  /* ITEM_BYTES */
  size_t off;
  /* ITEM_ZEROS: the read's Data-In sequence, with the values fixed when it was queued */
  uint8_t lun[8];
  uint32_t itt, statsn, expcmdsn, maxcmdsn, seg, burst, residual;
  uint32_t xfer; /* data bytes */
  uint8_t resflags; /* O/U bits of the last PDU */
};

struct write_task {
  uint8_t used, unsolicited_done, r2t_outstanding, failed;
  uint8_t lun[8];
  uint8_t sense_asc;
  uint32_t itt, edtl, received, r2tsn, r2t_end;
};

struct session;

struct conn {
  int fd;
  int full_feature, closing, paused, want_out;
  uint32_t events; /* the epoll interest set now registered */
  struct session *session;
  uint16_t cid;
  uint32_t statsn;
  uint32_t peer_mrdsl; /* the initiator's MaxRecvDataSegmentLength: our Data-In segments */
  uint8_t *rbuf;
  size_t rlen;
  uint64_t skip; /* bytes of discarded data still to drop from the socket */
  uint8_t *arena;
  size_t arena_used;
  struct item items[MAX_ITEMS];
  size_t head, count;
  struct write_task tasks[MAX_WRITE_TASKS];
  /* login in progress */
  int login_started, sent_tpgt, sent_mrdsl;
};

struct session {
  int used, discovery;
  uint8_t isid[6];
  uint16_t tsih;
  int connections;
  uint32_t expcmdsn;
  uint8_t seen[CMD_WINDOW]; /* CmdSNs received at or above ExpCmdSN, by CmdSN mod CMD_WINDOW */
  int initial_r2t, immediate_data;
  uint32_t first_burst, max_burst, max_connections;
};

/* Big-endian fields of a BHS. */
static inline uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint32_t get24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline void put32(uint8_t *p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}
static inline void put24(uint8_t *p, uint32_t v) {
  p[0] = v >> 16;
  p[1] = v >> 8;
  p[2] = v;
}
static inline void put16(uint8_t *p, uint16_t v) {
  p[0] = v >> 8;
  p[1] = v;
}
static inline uint64_t pad4(uint64_t n) { return (n + 3) & ~(uint64_t)3; }

/* pdu.c */
int conn_receive(struct conn *c);
int conn_flush(struct conn *c);
uint8_t *queue_pdu(struct conn *c, uint32_t dsl);
struct item *queue_item(struct conn *c);
int queue_room(const struct conn *c);
void fill_sn(struct conn *c, uint8_t *bhs, int advance);
void conn_fail(struct conn *c, const char *why);

/* login.c */
int handle_login(struct conn *c, const uint8_t *bhs, const uint8_t *data, uint32_t dsl);
int handle_text(struct conn *c, const uint8_t *bhs, const uint8_t *data, uint32_t dsl);
extern int listen_port;

/* command.c */
int handle_pdu(struct conn *c, const uint8_t *bhs, const uint8_t *data, uint32_t have, uint32_t dsl);
int data_is_discarded(const uint8_t *bhs);

/* scsi.c: answers of the null LU for non-I/O commands; returns the data length, or -1 with *asc set. */
int scsi_answer(const uint8_t *cdb, int lun_ok, uint8_t *out, size_t cap, uint8_t *asc);
void scsi_sense(uint8_t *out, uint8_t key, uint8_t asc); /* 20 bytes: SenseLength + fixed sense */

/* main.c */
struct session *session_new(void);
struct session *session_find(const uint8_t *isid, uint16_t tsih);
void session_release(struct session *s);

#endif
