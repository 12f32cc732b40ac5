/* Tasks the virtual HBA answers itself (see hba_local.h). */
#include "hba_local.h"

#include <string.h>

#define OP_INQUIRY 0x12
#define OP_REPORT_LUNS 0xa0
#define STATUS_GOOD 0x00
#define STATUS_CHECK_CONDITION 0x02
#define SENSE_ILLEGAL_REQUEST 0x05
#define ASC_LOGICAL_UNIT_NOT_SUPPORTED 0x25

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

static uint32_t be16_at(const uint8_t *p) { return ((uint32_t)p[0] << 8) | p[1]; }

static uint32_t be32_at(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Copies as much of `answer` as both the allocation length and the task's buffer allow. */
static void give(const struct iscsi_hba_task *task, uint8_t *data, const uint8_t *answer, uint32_t length,
                 uint32_t allocation, struct iscsi_hba_local_answer *out) {
  uint32_t n = min_u32(min_u32(length, allocation), task->transfer_length);
  if (task->direction != ISCSI_HBA_DIR_READ) n = 0;
  memcpy(data, answer, n);
  out->status = STATUS_GOOD;
  out->data_length = n;
  out->sense_length = 0;
}

int iscsi_hba_answer_locally(const struct iscsi_hba_task *task, uint8_t *data, uint8_t *sense,
                             struct iscsi_hba_local_answer *out) {
  const uint8_t *cdb = task->cdb;
  if (cdb[0] == OP_REPORT_LUNS && task->cdb_length >= 12) {
    /* LUN LIST LENGTH 8, then one 8-byte entry: LUN 0. */
    static const uint8_t list[16] = { 0, 0, 0, 8 };
    give(task, data, list, sizeof list, be32_at(cdb + 6), out);
    return 1;
  }
  if (task->lun == 0) return 0;
  if (cdb[0] == OP_INQUIRY) {
    /* Peripheral qualifier 011b, device type 1Fh: no logical unit here; additional length 31. */
    uint8_t inquiry[36] = { 0x7f, 0, 0x06, 0x02, 31 };
    give(task, data, inquiry, sizeof inquiry, be16_at(cdb + 3), out);
    return 1;
  }
  memset(sense, 0, 18);
  sense[0] = 0x70; /* current error, fixed format */
  sense[2] = SENSE_ILLEGAL_REQUEST;
  sense[7] = 10; /* additional sense length */
  sense[12] = ASC_LOGICAL_UNIT_NOT_SUPPORTED;
  out->status = STATUS_CHECK_CONDITION;
  out->data_length = 0;
  out->sense_length = 18;
  return 1;
}
