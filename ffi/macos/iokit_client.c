/*
 * The daemon's IOKit client of the DriverKit virtual HBA (driver/): opens its user client, maps the
 * shared arena (hba_abi.h), receives "work available" notifications on a private serial dispatch queue
 * and hands them to the bridge (ffi/hba_bridge.c), whose done callback calls the COMPLETE selector. The
 * small C API below is what src/attach/macos/driverkit.ts calls over bun:ffi. Notifications never go
 * through a JavaScript callback (threadsafe JSCallbacks from GCD threads are unsafe, docs/macos.md,
 * "DriverKit notes the driver relies on"): JavaScript only sees the ring's doorbell. Written from Apple's IOKitLib documentation; it has
 * been cross-compiled on Linux (ffi/macos/build-check.sh) but never run on a Mac.
 */
#include "iokit_client.h"

#include <IOKit/IOKitLib.h>
#include <dispatch/dispatch.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../hba_bridge.h"

struct iscsi_dk_client {
  io_connect_t connection;
  mach_vm_address_t arena;
  mach_vm_size_t arena_bytes;
  IONotificationPortRef port;
  dispatch_queue_t queue;
  iscsi_hba_bridge *bridge;
  kern_return_t last_complete_error; /* atomic: latest failed COMPLETE call */
};

/* Runs on `queue`: the dext's AsyncCompletion. With ISCSI_HBA_NOTIFY_ARGS ≥ 3 arguments IOKit calls
 * the array form, `args` pointing at that many 64-bit values. */
static void on_notification(void *refcon, IOReturn result, void **args, uint32_t count) {
  struct iscsi_dk_client *c = refcon;
  if (result != kIOReturnSuccess) return;
  iscsi_hba_bridge_notify(c->bridge, (const uint64_t *)args, count);
}

/* Runs on a bridge worker thread: tells the dext which slots are DONE. */
static void on_done(void *ctx, uint64_t mask) {
  struct iscsi_dk_client *c = ctx;
  uint32_t none = 0;
  kern_return_t kr = IOConnectCallScalarMethod(c->connection, ISCSI_HBA_SEL_COMPLETE, &mask, 1, 0, &none);
  /* A failed call leaves the tasks parked in the dext, whose own watchdog and client-close path fail
   * them; nothing here can complete them another way. */
  if (kr != kIOReturnSuccess) __atomic_store_n(&c->last_complete_error, kr, __ATOMIC_RELAXED);
}

static void drain(void *unused) { (void)unused; }

static void release_all(struct iscsi_dk_client *c) {
  if (c->bridge) iscsi_hba_bridge_stop(c->bridge);
  /* Notifications still queued see a stopped bridge and touch nothing; wait for them before unmapping. */
  if (c->queue) dispatch_sync_f(c->queue, 0, drain);
  if (c->arena) IOConnectUnmapMemory64(c->connection, ISCSI_HBA_MEMORY_ARENA, mach_task_self(), c->arena);
  if (c->connection) IOServiceClose(c->connection);
  if (c->port) IONotificationPortDestroy(c->port);
  if (c->queue) {
    dispatch_sync_f(c->queue, 0, drain);
    dispatch_release(c->queue);
  }
  if (c->bridge) iscsi_hba_bridge_destroy(c->bridge);
  free(c);
}

iscsi_dk_client *iscsi_dk_open(const char *service_name, uint32_t workers, char *err, size_t errlen) {
  struct iscsi_dk_client *c = calloc(1, sizeof *c);
  if (!c) {
    snprintf(err, errlen, "out of memory");
    return 0;
  }
  /* IOServiceGetMatchingService consumes the matching dictionary. MACH_PORT_NULL is the default main
   * port on every macOS version (kIOMainPortDefault only exists from macOS 12). */
  io_service_t service = IOServiceGetMatchingService(MACH_PORT_NULL, IOServiceNameMatching(service_name));
  if (service == IO_OBJECT_NULL) {
    snprintf(err, errlen, "no IOService named %s: is the iSCSI HBA driver extension installed and activated?",
             service_name);
    free(c);
    return 0;
  }
  kern_return_t kr = IOServiceOpen(service, mach_task_self(), 0, &c->connection);
  IOObjectRelease(service);
  if (kr != kIOReturnSuccess) {
    snprintf(err, errlen,
             "IOServiceOpen(%s) failed: 0x%08x (kIOReturnNotPermitted 0xe00002e2 means this "
             "process lacks the userclient-access entitlement)",
             service_name, (unsigned)kr);
    c->connection = 0;
    release_all(c);
    return 0;
  }
  kr = IOConnectMapMemory64(c->connection, ISCSI_HBA_MEMORY_ARENA, mach_task_self(), &c->arena, &c->arena_bytes,
                            kIOMapAnywhere);
  if (kr != kIOReturnSuccess) {
    snprintf(err, errlen, "IOConnectMapMemory64(arena) failed: 0x%08x", (unsigned)kr);
    c->arena = 0;
    release_all(c);
    return 0;
  }
  c->bridge = iscsi_hba_bridge_create((void *)(uintptr_t)c->arena, c->arena_bytes, workers, on_done, c, err, errlen);
  if (!c->bridge) {
    release_all(c);
    return 0;
  }
  c->queue = dispatch_queue_create("dev.iscsi.hba.notify", DISPATCH_QUEUE_SERIAL);
  c->port = IONotificationPortCreate(MACH_PORT_NULL);
  if (!c->queue || !c->port) {
    snprintf(err, errlen, "cannot create the notification port or its dispatch queue");
    release_all(c);
    return 0;
  }
  IONotificationPortSetDispatchQueue(c->port, c->queue);
  io_async_ref64_t ref = { 0 };
  ref[kIOAsyncCalloutFuncIndex] = (io_user_reference_t)(uintptr_t)on_notification;
  ref[kIOAsyncCalloutRefconIndex] = (io_user_reference_t)(uintptr_t)c;
  uint64_t version = ISCSI_HBA_ABI_VERSION;
  uint32_t none = 0;
  kr = IOConnectCallAsyncScalarMethod(c->connection, ISCSI_HBA_SEL_REGISTER, IONotificationPortGetMachPort(c->port),
                                      ref, kIOAsyncCalloutCount, &version, 1, 0, &none);
  if (kr != kIOReturnSuccess) {
    snprintf(err, errlen,
             "registering for notifications failed: 0x%08x (the driver extension speaks another "
             "arena ABI than %u?)",
             (unsigned)kr, ISCSI_HBA_ABI_VERSION);
    release_all(c);
    return 0;
  }
  /* Tasks the dext posted before we registered get no notification of their own. */
  uint64_t args[ISCSI_HBA_NOTIFY_ARGS] = { ISCSI_HBA_NOTIFY_WORK, ~0ull, 0 };
  iscsi_hba_bridge_notify(c->bridge, args, ISCSI_HBA_NOTIFY_ARGS);
  return c;
}

int iscsi_dk_set_target(iscsi_dk_client *c, uint32_t target_id, iscsi_ring *ring, uint32_t ring_lun) {
  int rc = iscsi_hba_bridge_set_target(c->bridge, target_id, ring, (uint16_t)ring_lun);
  if (rc != 0) return rc;
  uint64_t id = target_id;
  uint32_t none = 0;
  kern_return_t kr = IOConnectCallScalarMethod(c->connection, ISCSI_HBA_SEL_SET_TARGET, &id, 1, 0, &none);
  if (kr != kIOReturnSuccess) {
    iscsi_hba_bridge_remove_target(c->bridge, target_id);
    return -EIO;
  }
  return 0;
}

int iscsi_dk_retire_target(iscsi_dk_client *c, uint32_t target_id) {
  return iscsi_hba_bridge_retire_target(c->bridge, target_id);
}

int iscsi_dk_remove_target(iscsi_dk_client *c, uint32_t target_id) {
  uint64_t id = target_id;
  uint32_t none = 0;
  IOConnectCallScalarMethod(c->connection, ISCSI_HBA_SEL_REMOVE_TARGET, &id, 1, 0, &none);
  return iscsi_hba_bridge_remove_target(c->bridge, target_id);
}

void iscsi_dk_stats(iscsi_dk_client *c, struct iscsi_hba_bridge_stats *out) {
  iscsi_hba_bridge_get_stats(c->bridge, out);
}

size_t iscsi_dk_last_error(iscsi_dk_client *c, char *buf, size_t len) {
  kern_return_t kr = __atomic_load_n(&c->last_complete_error, __ATOMIC_RELAXED);
  if (kr != kIOReturnSuccess) return (size_t)snprintf(buf, len, "COMPLETE selector failed: 0x%08x", (unsigned)kr);
  return iscsi_hba_bridge_last_error(c->bridge, buf, len);
}

void iscsi_dk_close(iscsi_dk_client *c) {
  if (c) release_all(c);
}
