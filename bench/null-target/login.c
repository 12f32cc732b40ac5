/*
 * null-target's login (RFC 7143 §6, §11.12–11.13) and text requests (§11.10–11.11): no authentication
 * (AuthMethod=None), the operational keys of §13 answered with values that suit a benchmark (large segments
 * and bursts, ImmediateData=Yes, InitialR2T=No), MC/S connections joining their session by ISID and TSIH, and
 * SendTargets for discovery. Keys we do not know are answered NotUnderstood (§6.2.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

struct reply {
  char text[LOGIN_MRDSL];
  size_t len;
  int overflow;
};

static void add(struct reply *r, const char *key, const char *value) {
  int n = snprintf(r->text + r->len, sizeof r->text - r->len, "%s=%s", key, value);
  if (n < 0 || (size_t)n + 1 > sizeof r->text - r->len) {
    r->overflow = 1;
    return;
  }
  r->len += (size_t)n + 1; /* keep the NUL: every key=value ends with one (§6.1) */
}

static void add_number(struct reply *r, const char *key, unsigned long v) {
  char s[24];
  snprintf(s, sizeof s, "%lu", v);
  add(r, key, s);
}

/* A decimal or 0x-hex number (§6.1: numerical values); -1 when malformed or out of range. */
static long number(const char *v) {
  char *end;
  int hex = v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
  unsigned long n = strtoul(hex ? v + 2 : v, &end, hex ? 16 : 10);
  return *v && *end == 0 && n <= 0xffffffUL ? (long)n : -1;
}

static int has_value(const char *list, const char *value) {
  size_t n = strlen(value);
  for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
    if (strncmp(p, value, n) == 0 && (p[n] == ',' || p[n] == 0)) return 1;
  }
  return 0;
}

static void queue_login_response(struct conn *c, const uint8_t *bhs, uint8_t flags, uint16_t tsih, uint16_t status,
                                 const struct reply *r) {
  uint8_t *b = queue_pdu(c, (uint32_t)r->len);
  b[0] = 0x23;
  b[1] = flags;
  memcpy(b + 8, bhs + 8, 6);
  put16(b + 14, tsih);
  put32(b + 16, get32(bhs + 16));
  fill_sn(c, b, 1);
  b[36] = status >> 8, b[37] = status & 0xff;
  memcpy(b + 48, r->text, r->len);
}

/* A failed login: status class and detail (§11.13.5), then the connection closes once that is sent. */
static int reject(struct conn *c, const uint8_t *bhs, uint16_t status, const char *why) {
  static const struct reply none;
  fprintf(stderr, "null-target: login refused (0x%04x): %s\n", status, why);
  queue_login_response(c, bhs, 0, 0, status, &none);
  c->items[(c->head + c->count - 1) % MAX_ITEMS].close_after = 1;
  c->closing = 1;
  return 0;
}

/* Answer one key; returns a login status (0 = fine). */
static uint16_t negotiate(struct conn *c, const char *key, const char *v, struct reply *r) {
  struct session *s = c->session;
  long n = number(v);
  if (!strcmp(key, "AuthMethod")) {
    if (!has_value(v, "None")) return 0x0201;
    add(r, key, "None");
  } else if (!strcmp(key, "HeaderDigest") || !strcmp(key, "DataDigest")) {
    if (!has_value(v, "None")) return 0x0200;
    add(r, key, "None");
  } else if (!strcmp(key, "SessionType")) {
    s->discovery = !strcmp(v, "Discovery");
  } else if (!strcmp(key, "TargetName")) {
    if (strcmp(v, TARGET_IQN) != 0) return 0x0203;
  } else if (!strcmp(key, "InitiatorName") || !strcmp(key, "InitiatorAlias")) {
    /* declarative, nothing to answer */
  } else if (!strcmp(key, "MaxRecvDataSegmentLength")) {
    if (n < 512) return 0x0200;
    c->peer_mrdsl = (uint32_t)n;
  } else if (!strcmp(key, "InitialR2T")) {
    s->initial_r2t = strcmp(v, "No") != 0; /* OR: Yes if either side says Yes */
    add(r, key, "No");
  } else if (!strcmp(key, "ImmediateData")) {
    s->immediate_data = !strcmp(v, "Yes"); /* AND */
    add(r, key, "Yes");
  } else if (!strcmp(key, "MaxBurstLength") || !strcmp(key, "FirstBurstLength")) {
    if (n < 512) return 0x0200;
    uint32_t v32 = (uint32_t)n < OUR_BURST ? (uint32_t)n : OUR_BURST;
    *(key[0] == 'M' ? &s->max_burst : &s->first_burst) = v32;
    add_number(r, key, v32);
  } else if (!strcmp(key, "MaxConnections")) {
    if (n < 1) return 0x0200;
    s->max_connections = (uint32_t)n < MAX_CONNECTIONS ? (uint32_t)n : MAX_CONNECTIONS;
    add_number(r, key, s->max_connections);
  } else if (!strcmp(key, "DefaultTime2Wait") || !strcmp(key, "iSCSIProtocolLevel")) {
    if (n < 0) return 0x0200;
    add_number(r, key, key[0] == 'i' && n > 1 ? 1 : (unsigned long)n);
  } else if (!strcmp(key, "DefaultTime2Retain") || !strcmp(key, "ErrorRecoveryLevel")) {
    add(r, key, "0");
  } else if (!strcmp(key, "MaxOutstandingR2T")) {
    add(r, key, "1");
  } else if (!strcmp(key, "DataPDUInOrder") || !strcmp(key, "DataSequenceInOrder")) {
    add(r, key, "Yes");
  } else if (!strcmp(key, "IFMarker") || !strcmp(key, "OFMarker") || !strcmp(key, "RDMAExtensions")) {
    add(r, key, "No");
  } else if (!strcmp(key, "IFMarkInt") || !strcmp(key, "OFMarkInt")) {
    add(r, key, "Irrelevant");
  } else if (!strcmp(key, "TaskReporting")) {
    add(r, key, "RFC3720");
  } else {
    add(r, key, "NotUnderstood");
  }
  return 0;
}

/* Walk key=value pairs; data must end with a NUL (§6.1), checked by the caller. */
static uint16_t each_key(struct conn *c, char *data, uint32_t dsl, struct reply *r,
                         uint16_t (*fn)(struct conn *, const char *, const char *, struct reply *)) {
  for (char *p = data; p < data + dsl; p += strlen(p) + 1) {
    if (*p == 0) continue;
    char *eq = strchr(p, '=');
    if (!eq) return 0x0207;
    *eq = 0;
    uint16_t st = fn(c, p, eq + 1, r);
    *eq = '=';
    if (st) return st;
  }
  return r->overflow ? 0x0200 : 0;
}

int handle_login(struct conn *c, const uint8_t *bhs, const uint8_t *data, uint32_t dsl) {
  static char text[LOGIN_MRDSL + 1];
  struct reply r = { .len = 0 };
  uint8_t flags = bhs[1];
  int transit = flags & 0x80, csg = (flags >> 2) & 3, nsg = flags & 3;
  uint16_t tsih = get16(bhs + 14);
  if (flags & 0x40) return reject(c, bhs, 0x0200, "continued login text (C bit) is not supported");
  if (bhs[3] > 0) return reject(c, bhs, 0x0205, "only iSCSI version 0 is supported");
  if (csg == 2 || (transit && (nsg == 2 || nsg <= csg))) return reject(c, bhs, 0x0200, "invalid CSG/NSG");
  if (dsl > 0 && data[dsl - 1] != 0) return reject(c, bhs, 0x0200, "login text does not end with a NUL");
  if (!c->login_started) {
    c->login_started = 1;
    if (tsih == 0) {
      struct session *s = session_new();
      if (!s) return reject(c, bhs, 0x0302, "out of sessions");
      memcpy(s->isid, bhs + 8, 6);
      s->expcmdsn = get32(bhs + 24);
      s->initial_r2t = 1, s->immediate_data = 1, s->first_burst = 65536, s->max_burst = 262144, s->max_connections = 1;
      c->session = s;
    } else {
      struct session *s = session_find(bhs + 8, tsih);
      if (!s) return reject(c, bhs, 0x020a, "no session with that ISID and TSIH");
      if ((uint32_t)s->connections >= s->max_connections) return reject(c, bhs, 0x0209, "MaxConnections reached");
      c->session = s;
    }
    c->session->connections++;
    c->cid = get16(bhs + 20);
  }
  memcpy(text, data, dsl);
  uint16_t status = each_key(c, text, dsl, &r, negotiate);
  if (status) return reject(c, bhs, status, "a key's value cannot be accepted");
  if (!c->sent_tpgt && !c->session->discovery) {
    add(&r, "TargetPortalGroupTag", "1");
    c->sent_tpgt = 1;
  }
  if (csg == 1 && !c->sent_mrdsl) {
    add_number(&r, "MaxRecvDataSegmentLength", OUR_MRDSL);
    c->sent_mrdsl = 1;
  }
  int done = transit && nsg == 3;
  /* The final response names the session; earlier ones echo the request's TSIH (0 for a new session). */
  queue_login_response(c, bhs, (uint8_t)(transit ? 0x80 | csg << 2 | nsg : csg << 2), done ? c->session->tsih : tsih, 0,
                       &r);
  if (done) c->full_feature = 1;
  return 0;
}

static uint16_t send_targets(struct conn *c, const char *key, const char *v, struct reply *r) {
  if (strcmp(key, "SendTargets") != 0) {
    add(r, key, "NotUnderstood");
  } else if (!strcmp(v, "All") || !strcmp(v, TARGET_IQN) || (*v == 0 && !c->session->discovery)) {
    char addr[40];
    snprintf(addr, sizeof addr, "127.0.0.1:%d,1", listen_port);
    add(r, "TargetName", TARGET_IQN);
    add(r, "TargetAddress", addr);
  }
  return 0;
}

int handle_text(struct conn *c, const uint8_t *bhs, const uint8_t *data, uint32_t dsl) {
  static char text[OUR_MRDSL + 1];
  struct reply r = { .len = 0 };
  if (bhs[1] & 0x40) {
    conn_fail(c, "continued text request (C bit) is not supported");
    return -1;
  }
  if (dsl > 0 && data[dsl - 1] != 0) {
    conn_fail(c, "text request does not end with a NUL");
    return -1;
  }
  memcpy(text, data, dsl);
  if (each_key(c, text, dsl, &r, send_targets) != 0) {
    conn_fail(c, "malformed text request");
    return -1;
  }
  uint8_t *b = queue_pdu(c, (uint32_t)r.len);
  b[0] = 0x24, b[1] = 0x80;
  put32(b + 16, get32(bhs + 16));
  put32(b + 20, 0xffffffff);
  fill_sn(c, b, 1);
  memcpy(b + 48, r.text, r.len);
  return 0;
}
