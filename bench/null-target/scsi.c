/*
 * null-target's logical unit: the answers to the SCSI commands that move no bulk data (SPC-4 INQUIRY with
 * VPD pages 0x00, 0x80, 0x83, 0xb0, 0xb1; SBC-3 READ CAPACITY 10/16; REPORT LUNS; MODE SENSE 6/10 with the
 * caching and control pages; TEST UNIT READY, SYNCHRONIZE CACHE and friends), and fixed-format sense.
 */
#include <string.h>

#include "target.h"

#define ASC_INVALID_OPCODE 0x20
#define ASC_INVALID_FIELD 0x24
#define ASC_LUN_NOT_SUPPORTED 0x25

void scsi_sense(uint8_t *out, uint8_t key, uint8_t asc) {
  memset(out, 0, 20);
  put16(out, 18); /* SenseLength, then 18 bytes of fixed-format sense (SPC-4 §4.5.3) */
  out[2] = 0x70, out[4] = key, out[9] = 10, out[14] = asc;
}

static int vpd(uint8_t page, uint8_t *o) {
  static const uint8_t pages[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1 };
  static const char serial[] = "NULLTARGET0001";
  static const uint8_t naa[8] = { 0x60, 0x01, 0x40, 0x50, 0x00, 0x00, 0x00, 0x01 };
  o[1] = page;
  switch (page) {
  case 0x00:
    memcpy(o + 4, pages, sizeof pages);
    o[3] = sizeof pages;
    break;
  case 0x80:
    memcpy(o + 4, serial, sizeof serial - 1);
    o[3] = sizeof serial - 1;
    break;
  case 0x83: /* an NAA designator and a T10 vendor ID, both naming the LU */
    o[4] = 0x01, o[5] = 0x03, o[7] = 8;
    memcpy(o + 8, naa, 8);
    o[16] = 0x02, o[17] = 0x01, o[19] = 8 + sizeof serial - 1;
    memcpy(o + 20, "ISCSIDEV", 8);
    memcpy(o + 28, serial, sizeof serial - 1);
    o[3] = (uint8_t)(16 + 4 + 8 + sizeof serial - 1);
    break;
  case 0xb0: /* block limits: 16 MiB per command at most, 1 MiB optimal */
    o[3] = 0x3c;
    put32(o + 8, 32768);
    put32(o + 12, 2048);
    break;
  case 0xb1: /* block device characteristics: not rotating */
    o[3] = 0x3c;
    put16(o + 4, 1);
    break;
  default: return -1;
  }
  return 4 + o[3];
}

/* Mode pages 0x08 (caching: write cache off, so nothing ever waits in one) and 0x0a (control). */
static int mode_pages(uint8_t page, uint8_t *o) {
  int n = 0;
  if (page == 0x08 || page == 0x3f) o[n] = 0x08, o[n + 1] = 0x12, n += 20;
  if (page == 0x0a || page == 0x3f) o[n] = 0x0a, o[n + 1] = 0x0a, n += 12;
  return n ? n : -1;
}

static int limit(int n, uint32_t alloc) { return (uint32_t)n < alloc ? n : (int)alloc; }

int scsi_answer(const uint8_t *cdb, int lun_ok, uint8_t *o, size_t cap, uint8_t *asc) {
  int n;
  memset(o, 0, cap);
  if (!lun_ok && cdb[0] != 0x12 && cdb[0] != 0xa0 && cdb[0] != 0x03) return *asc = ASC_LUN_NOT_SUPPORTED, -1;
  switch (cdb[0]) {
  case 0x00:
  case 0x35:
  case 0x91:
  case 0x1b:
  case 0x1e: /* TEST UNIT READY, SYNCHRONIZE CACHE 10/16, START STOP, PREVENT ALLOW */ return 0;
  case 0x03: /* REQUEST SENSE: nothing to report */ o[0] = 0x70, o[7] = 10; return limit(18, cdb[4]);
  case 0x12: /* INQUIRY */
    if (cdb[1] & 0x01) {
      if (!lun_ok) return *asc = ASC_LUN_NOT_SUPPORTED, -1;
      n = vpd(cdb[2], o);
      if (n < 0) return *asc = ASC_INVALID_FIELD, -1;
      return limit(n, get16(cdb + 3));
    }
    if (cdb[2] != 0) return *asc = ASC_INVALID_FIELD, -1;
    o[0] = lun_ok ? 0x00 : 0x7f; /* direct-access block device, or no LU here */
    o[2] = 0x06, o[3] = 0x02, o[4] = 31, o[7] = 0x02; /* SPC-4, CmdQue */
    memcpy(o + 8, "ISCSIDEVNULL-TARGET     0001", 28);
    return limit(36, get16(cdb + 3));
  case 0x25: /* READ CAPACITY (10) */
    put32(o, (uint32_t)(LU_BLOCKS - 1));
    put32(o + 4, LU_BLOCK_SIZE);
    return 8;
  case 0x9e: /* SERVICE ACTION IN (16): READ CAPACITY (16) */
    if ((cdb[1] & 0x1f) != 0x10) return *asc = ASC_INVALID_OPCODE, -1;
    put32(o + 4, (uint32_t)(LU_BLOCKS - 1));
    put32(o + 8, LU_BLOCK_SIZE);
    return limit(32, get32(cdb + 10));
  case 0xa0: /* REPORT LUNS: LUN 0 only */ put32(o, 8); return limit(16, get32(cdb + 6));
  case 0x1a: /* MODE SENSE (6) */
    if ((n = mode_pages(cdb[2] & 0x3f, o + 4)) < 0) return *asc = ASC_INVALID_FIELD, -1;
    o[0] = (uint8_t)(n + 3);
    return limit(n + 4, cdb[4]);
  case 0x5a: /* MODE SENSE (10) */
    if ((n = mode_pages(cdb[2] & 0x3f, o + 8)) < 0) return *asc = ASC_INVALID_FIELD, -1;
    put16(o, (uint16_t)(n + 6));
    return limit(n + 8, get16(cdb + 7));
  default: return *asc = ASC_INVALID_OPCODE, -1;
  }
}
