/*
 * null-target's full-feature phase (RFC 7143 §11): the CmdSN window, SCSI commands (reads become Data-In of
 * zeros, writes take immediate, unsolicited and R2T-solicited data and drop it), NOP-Out, task management,
 * logout, and a Reject for anything else. Every field a peer sends is checked against the command's state.
 */
#include <stdio.h>
#include <string.h>

#include "target.h"

#define OP_NOP_OUT 0x00
#define OP_SCSI_CMD 0x01
#define OP_TMF 0x02
#define OP_LOGIN 0x03
#define OP_TEXT 0x04
#define OP_DATA_OUT 0x05
#define OP_LOGOUT 0x06
#define NO_TAG 0xffffffffu
#define CHECK_CONDITION 0x02

int data_is_discarded(const uint8_t *bhs) {
  uint8_t op = bhs[0] & 0x3f;
  return op == OP_SCSI_CMD || op == OP_DATA_OUT;
}

static int fail(struct conn *c, const char *fmt, uint32_t a, uint32_t b) {
  char why[160];
  snprintf(why, sizeof why, fmt, a, b);
  conn_fail(c, why);
  return -1;
}

/* A non-immediate request takes its CmdSN: it must lie in the window; ExpCmdSN passes every CmdSN seen (§4.2.2.1). */
static int take_cmdsn(struct conn *c, uint32_t cmdsn) {
  struct session *s = c->session;
  if (cmdsn - s->expcmdsn >= CMD_WINDOW)
    return fail(c, "CmdSN %u outside the window from ExpCmdSN %u", cmdsn, s->expcmdsn);
  s->seen[cmdsn % CMD_WINDOW] = 1;
  while (s->seen[s->expcmdsn % CMD_WINDOW]) s->seen[s->expcmdsn++ % CMD_WINDOW] = 0;
  return 0;
}

/* SCSI Response (§11.4), with fixed-format sense when asc is set (ILLEGAL REQUEST). */
static void respond(struct conn *c, uint32_t itt, uint8_t asc, uint8_t resflags, uint32_t residual,
                    uint32_t expdatasn) {
  uint8_t *b = queue_pdu(c, asc ? 20 : 0);
  b[0] = 0x21;
  b[1] = 0x80 | resflags;
  b[3] = asc ? CHECK_CONDITION : 0;
  put32(b + 16, itt);
  fill_sn(c, b, 1);
  put32(b + 36, expdatasn);
  put32(b + 44, residual);
  if (asc) scsi_sense(b + 48, 0x05, asc);
}

/* Residual of a transfer of `n` bytes against the initiator's ExpectedDataTransferLength (§11.4.5). */
static uint32_t residual_of(uint64_t n, uint32_t edtl, uint8_t *flags) {
  if (n > edtl) return *flags = 0x04, (uint32_t)(n - edtl > NO_TAG ? NO_TAG : n - edtl);
  if (n < edtl) return *flags = 0x02, (uint32_t)(edtl - n);
  return *flags = 0, 0;
}

static void read_zeros(struct conn *c, uint32_t itt, uint32_t edtl, uint64_t bytes) {
  uint8_t flags;
  uint32_t residual = residual_of(bytes, edtl, &flags);
  uint32_t xfer = bytes < edtl ? (uint32_t)bytes : edtl;
  if (xfer == 0) return respond(c, itt, 0, flags, residual, 0);
  struct item *it = queue_item(c);
  struct session *s = c->session;
  it->kind = 1;
  it->itt = itt;
  it->xfer = xfer;
  it->seg = c->peer_mrdsl & ~(LU_BLOCK_SIZE - 1);
  it->burst = s->max_burst % it->seg == 0 ? s->max_burst : 0;
  it->resflags = flags;
  it->residual = residual;
  it->statsn = c->statsn++;
  it->expcmdsn = s->expcmdsn;
  it->maxcmdsn = s->expcmdsn + CMD_WINDOW - 1;
  uint32_t pdus = (xfer + it->seg - 1) / it->seg;
  it->len = (uint64_t)pdus * 48 + (uint64_t)(pdus - 1) * it->seg + pad4(xfer - (pdus - 1) * it->seg);
}

/* The answer of a command that moves no write data: its data in one Data-In with status, or a response. */
static void answer(struct conn *c, const uint8_t *bhs, int lun_ok) {
  uint8_t data[256], asc = 0;
  uint32_t itt = get32(bhs + 16), edtl = get32(bhs + 20);
  int n = scsi_answer(bhs + 32, lun_ok, data, sizeof data, &asc);
  if (n < 0) return respond(c, itt, asc, 0, 0, 0);
  uint8_t flags;
  uint32_t residual = residual_of((uint64_t)n, edtl, &flags);
  uint32_t xfer = (uint32_t)n < edtl ? (uint32_t)n : edtl;
  if (xfer == 0) return respond(c, itt, 0, flags, residual, 0);
  uint8_t *b = queue_pdu(c, xfer);
  b[0] = 0x25;
  b[1] = 0x80 | 0x01 | flags;
  put32(b + 16, itt);
  put32(b + 20, NO_TAG);
  fill_sn(c, b, 1);
  put32(b + 44, residual);
  memcpy(b + 48, data, xfer);
}

/* Ask for the next burst (R2T, §11.8), or answer once every byte has come. */
static void write_progress(struct conn *c, struct write_task *t) {
  if (!t->unsolicited_done || t->r2t_outstanding) return;
  if (t->received >= t->edtl) {
    respond(c, t->itt, t->sense_asc, 0, 0, t->r2tsn);
    t->used = 0;
    return;
  }
  uint32_t len = t->edtl - t->received < c->session->max_burst ? t->edtl - t->received : c->session->max_burst;
  uint8_t *b = queue_pdu(c, 0);
  b[0] = 0x31;
  b[1] = 0x80;
  memcpy(b + 8, t->lun, 8);
  put32(b + 16, t->itt);
  put32(b + 20, (uint32_t)(t - c->tasks));
  fill_sn(c, b, 0);
  put32(b + 36, t->r2tsn++);
  put32(b + 40, t->received);
  put32(b + 44, len);
  t->r2t_end = t->received + len;
  t->r2t_outstanding = 1;
}

static int write_start(struct conn *c, const uint8_t *bhs, uint32_t dsl, uint8_t asc) {
  struct session *s = c->session;
  uint32_t itt = get32(bhs + 16), edtl = get32(bhs + 20);
  int final = bhs[1] & 0x80;
  if (dsl > edtl) return fail(c, "immediate data of %u bytes exceeds ExpectedDataTransferLength %u", dsl, edtl);
  if (dsl > 0 && !s->immediate_data) return fail(c, "immediate data (%u bytes) but ImmediateData=No", dsl, 0);
  if (dsl > s->first_burst)
    return fail(c, "immediate data of %u bytes exceeds FirstBurstLength %u", dsl, s->first_burst);
  if (!final && s->initial_r2t) return fail(c, "unsolicited Data-Out announced (F=0) under InitialR2T=Yes", 0, 0);
  if (!final && dsl == edtl) return fail(c, "F=0 but all %u bytes came as immediate data", dsl, 0);
  struct write_task *t = NULL;
  for (uint32_t i = 0; i < MAX_WRITE_TASKS && !t; i++) {
    if (!c->tasks[i].used) t = &c->tasks[i];
  }
  if (!t) return fail(c, "more than %u writes waiting for data", MAX_WRITE_TASKS, 0);
  *t = (struct write_task){
    .used = 1, .unsolicited_done = final != 0, .itt = itt, .edtl = edtl, .received = dsl, .sense_asc = asc
  };
  memcpy(t->lun, bhs + 8, 8);
  write_progress(c, t);
  return 0;
}

/* Data-Out (§11.7): in order, inside the burst it answers, then drop its data. */
static int data_out(struct conn *c, const uint8_t *bhs, uint32_t dsl) {
  uint32_t itt = get32(bhs + 16), ttt = get32(bhs + 20), offset = get32(bhs + 40);
  struct write_task *t = NULL;
  if (ttt != NO_TAG && ttt < MAX_WRITE_TASKS && c->tasks[ttt].used && c->tasks[ttt].itt == itt) t = &c->tasks[ttt];
  for (uint32_t i = 0; ttt == NO_TAG && i < MAX_WRITE_TASKS && !t; i++) {
    if (c->tasks[i].used && c->tasks[i].itt == itt) t = &c->tasks[i];
  }
  if (!t) return fail(c, "Data-Out for ITT 0x%08x, TTT 0x%08x: no such write waits for data", itt, ttt);
  if (offset != t->received)
    return fail(c, "Data-Out at BufferOffset %u, expected %u (DataPDUInOrder=Yes)", offset, t->received);
  if (dsl > t->edtl - t->received)
    return fail(c, "Data-Out of %u bytes runs past ExpectedDataTransferLength %u", dsl, t->edtl);
  if (ttt == NO_TAG) {
    if (t->unsolicited_done) return fail(c, "unsolicited Data-Out for ITT 0x%08x after its last one", itt, 0);
    if (t->received + dsl > c->session->first_burst)
      return fail(c, "unsolicited data beyond FirstBurstLength %u (ITT 0x%08x)", c->session->first_burst, itt);
  } else if (!t->r2t_outstanding || t->received + dsl > t->r2t_end) {
    return fail(c, "Data-Out for ITT 0x%08x runs past the R2T's end %u", itt, t->r2t_end);
  }
  t->received += dsl;
  if (bhs[1] & 0x80) {
    if (ttt == NO_TAG) {
      t->unsolicited_done = 1;
    } else {
      if (t->received != t->r2t_end)
        return fail(c, "last Data-Out of an R2T ends at %u, not %u", t->received, t->r2t_end);
      t->r2t_outstanding = 0;
    }
    write_progress(c, t);
  }
  return 0;
}

static int scsi_command(struct conn *c, const uint8_t *bhs, uint32_t dsl) {
  const uint8_t *cdb = bhs + 32;
  static const uint8_t lun0[8];
  int lun_ok = memcmp(bhs + 8, lun0, 8) == 0;
  uint64_t lba = 0, blocks = 0;
  int io = 1;
  switch (cdb[0]) {
  case 0x28:
  case 0x2a: /* READ(10), WRITE(10) */ lba = get32(cdb + 2), blocks = get16(cdb + 7); break;
  case 0x88:
  case 0x8a: /* READ(16), WRITE(16) */
    lba = (uint64_t)get32(cdb + 2) << 32 | get32(cdb + 6), blocks = get32(cdb + 10);
    break;
  default: io = 0;
  }
  uint8_t asc = !lun_ok ? 0x25 : io && (lba > LU_BLOCKS || blocks > LU_BLOCKS - lba) ? 0x21 : io ? 0 : 0x20;
  if (bhs[1] & 0x20) return write_start(c, bhs, dsl, io && (cdb[0] & 0x02) ? asc : 0x20); /* W bit */
  if (io && !(cdb[0] & 0x02)) {
    if (asc)
      respond(c, get32(bhs + 16), asc, 0, 0, 0);
    else
      read_zeros(c, get32(bhs + 16), get32(bhs + 20), blocks * LU_BLOCK_SIZE);
    return 0;
  }
  if (io) { /* a WRITE without the W bit: no data to take */
    respond(c, get32(bhs + 16), asc ? asc : 0x24, 0, 0, 0);
    return 0;
  }
  answer(c, bhs, lun_ok);
  return 0;
}

int handle_pdu(struct conn *c, const uint8_t *bhs, const uint8_t *data, uint32_t have, uint32_t dsl) {
  uint8_t op = bhs[0] & 0x3f;
  if (!c->full_feature) {
    if (op != OP_LOGIN) return fail(c, "opcode 0x%02x before login completed", op, 0);
    return handle_login(c, bhs, data, dsl);
  }
  (void)have;
  int immediate = bhs[0] & 0x40;
  if (op != OP_DATA_OUT && !immediate && take_cmdsn(c, get32(bhs + 24)) < 0) return -1;
  if (c->session->discovery && (op == OP_SCSI_CMD || op == OP_DATA_OUT || op == OP_TMF))
    return fail(c, "opcode 0x%02x in a discovery session", op, 0);
  uint8_t *b;
  switch (op) {
  case OP_SCSI_CMD: return scsi_command(c, bhs, dsl);
  case OP_DATA_OUT: return data_out(c, bhs, dsl);
  case OP_NOP_OUT: /* §11.18: answer a ping (ITT set), echoing its data */
    if (get32(bhs + 16) == NO_TAG) return 0;
    b = queue_pdu(c, dsl);
    b[0] = 0x20, b[1] = 0x80;
    memcpy(b + 8, bhs + 8, 12);
    put32(b + 20, NO_TAG);
    fill_sn(c, b, 1);
    memcpy(b + 48, data, dsl);
    return 0;
  case OP_TEXT: return handle_text(c, bhs, data, dsl);
  case OP_TMF: /* §11.5: nothing is ever queued at the LU, so every function is complete */
    if ((bhs[1] & 0x7f) == 1) {
      for (uint32_t i = 0; i < MAX_WRITE_TASKS; i++) {
        if (c->tasks[i].used && c->tasks[i].itt == get32(bhs + 20)) c->tasks[i].used = 0;
      }
    }
    b = queue_pdu(c, 0);
    b[0] = 0x22, b[1] = 0x80;
    put32(b + 16, get32(bhs + 16));
    fill_sn(c, b, 1);
    return 0;
  case OP_LOGOUT: /* §11.14: answer, then close once the answer is sent */
    b = queue_pdu(c, 0);
    b[0] = 0x26, b[1] = 0x80;
    put32(b + 16, get32(bhs + 16));
    fill_sn(c, b, 1);
    c->items[(c->head + c->count - 1) % MAX_ITEMS].close_after = 1;
    return 0;
  default: /* §11.17: Reject, "command not supported", carrying the header */
    b = queue_pdu(c, 48);
    b[0] = 0x3f, b[1] = 0x80, b[2] = 0x04;
    put32(b + 16, NO_TAG);
    fill_sn(c, b, 1);
    memcpy(b + 48, bhs, 48);
    return 0;
  }
}
