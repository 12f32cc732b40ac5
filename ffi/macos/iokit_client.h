/*
 * C API of the macOS IOKit client (iokit_client.c) for bun:ffi: open the DriverKit HBA's user client,
 * serve HBA targets from rings, close. Never run on a Mac (docs/macos.md).
 */
#ifndef ISCSI_IOKIT_CLIENT_H
#define ISCSI_IOKIT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "../hba_bridge.h"
#include "../iscsi_ring.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The IOUserClass of driver/'s controller, which IOServiceNameMatching finds. */
#define ISCSI_DK_SERVICE_NAME "IscsiHBA"

typedef struct iscsi_dk_client iscsi_dk_client;

/* Opens the dext's user client (`service_name`, normally ISCSI_DK_SERVICE_NAME), maps the arena, starts
 * the bridge with `workers` threads and registers for notifications. NULL with the reason in `err`. */
iscsi_dk_client *iscsi_dk_open(const char *service_name, uint32_t workers, char *err, size_t errlen);

/* Serves HBA target `target_id` from `ring` (requests carry `ring_lun`) and asks the dext to create the
 * target. 0 or -errno. */
int iscsi_dk_set_target(iscsi_dk_client *c, uint32_t target_id, iscsi_ring *ring, uint32_t ring_lun);

/* First step of removing a target, before its ring is shut down (iscsi_hba_bridge_retire_target). */
int iscsi_dk_retire_target(iscsi_dk_client *c, uint32_t target_id);

/* Asks the dext to destroy the target, then stops serving it: after the ring was shut down and its consumer
 * has settled every request. 0 or -errno. */
int iscsi_dk_remove_target(iscsi_dk_client *c, uint32_t target_id);

void iscsi_dk_stats(iscsi_dk_client *c, struct iscsi_hba_bridge_stats *out);
size_t iscsi_dk_last_error(iscsi_dk_client *c, char *buf, size_t len);

/* Stops the bridge, unmaps the arena, closes the connection: after every served ring was shut down and its
 * consumer has settled every request (the consumer views arena memory). */
void iscsi_dk_close(iscsi_dk_client *c);

#ifdef __cplusplus
}
#endif

#endif /* ISCSI_IOKIT_CLIENT_H */
