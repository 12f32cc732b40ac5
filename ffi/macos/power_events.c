/*
 * iscsi-power-events: the macOS source of the daemon's system events (src/daemon/system-events.ts). It prints
 * one line per event on stdout and reads acknowledgements on stdin:
 *
 *   will-sleep ID      the system will sleep (kIOMessageSystemWillSleep); the daemon flushes, then writes "ack ID"
 *   did-wake           the system has powered on (kIOMessageSystemHasPoweredOn; not at WillPowerOn, when the
 *                      network may not be up yet)
 *   network-changed K  a watched SCDynamicStore key changed (global IPv4/IPv6 state, any interface's addresses)
 *
 * Sleep is acknowledged with IOAllowPowerChange when the daemon answers, or by ourselves after ACK_BUDGET_S
 * seconds, well within the 30 s after which macOS sleeps anyway. Sleep is never vetoed (CanSystemSleep is
 * allowed at once). Plain C: callbacks through function pointers on one serial dispatch queue, no blocks.
 * Cross-compiled on Linux against ffi/macos/stubs (build-check.sh); it has never run on a Mac.
 */
#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOMessage.h>
#include <IOKit/pwr_mgt/IOPMLib.h>
#include <SystemConfiguration/SystemConfiguration.h>
#include <dispatch/dispatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ACK_BUDGET_S 20

static dispatch_queue_t queue;
static io_connect_t root_port;
static intptr_t pending_id;
static int pending;
static char input[256];
static size_t input_len;

static void emit(const char *line) {
  size_t len = strlen(line), done = 0;
  while (done < len) {
    ssize_t n = write(1, line + done, len - done);
    if (n <= 0) exit(0); /* the daemon is gone */
    done += (size_t)n;
  }
}

static void allow(intptr_t id) {
  if (pending && pending_id == id) {
    IOAllowPowerChange(root_port, id);
    pending = 0;
  }
}

static void budget_expired(void *context) { allow((intptr_t)context); }

static void power_callback(void *refcon, io_service_t service, uint32_t message, void *argument) {
  (void)refcon;
  (void)service;
  char line[64];
  switch (message) {
  case kIOMessageCanSystemSleep: IOAllowPowerChange(root_port, (intptr_t)argument); break;
  case kIOMessageSystemWillSleep:
    pending_id = (intptr_t)argument;
    pending = 1;
    snprintf(line, sizeof line, "will-sleep %ld\n", (long)pending_id);
    emit(line);
    dispatch_after_f(dispatch_time(DISPATCH_TIME_NOW, (int64_t)ACK_BUDGET_S * 1000000000LL), queue, argument,
                     budget_expired);
    break;
  case kIOMessageSystemHasPoweredOn: emit("did-wake\n"); break;
  default: break;
  }
}

static void network_callback(SCDynamicStoreRef store, CFArrayRef keys, void *info) {
  (void)store;
  (void)info;
  char key[200] = "?";
  if (keys != NULL && CFArrayGetCount(keys) > 0)
    CFStringGetCString((CFStringRef)CFArrayGetValueAtIndex(keys, 0), key, sizeof key, kCFStringEncodingUTF8);
  char line[256];
  snprintf(line, sizeof line, "network-changed %s\n", key);
  emit(line);
}

/* stdin: "ack ID" lines from the daemon; end of input means the daemon is gone. */
static void input_ready(void *context) {
  (void)context;
  ssize_t n = read(0, input + input_len, sizeof input - 1 - input_len);
  if (n <= 0) exit(0);
  input_len += (size_t)n;
  input[input_len] = '\0';
  char *nl;
  while ((nl = strchr(input, '\n')) != NULL) {
    *nl = '\0';
    if (strncmp(input, "ack ", 4) == 0) allow((intptr_t)strtol(input + 4, NULL, 10));
    size_t rest = input_len - (size_t)(nl + 1 - input);
    memmove(input, nl + 1, rest + 1);
    input_len = rest;
  }
  if (input_len == sizeof input - 1) input_len = 0; /* a line this long is no acknowledgement */
}

static CFStringRef cfstr(const char *s) { return CFStringCreateWithCString(NULL, s, kCFStringEncodingUTF8); }

int main(void) {
  queue = dispatch_queue_create("dev.iscsi.power-events", DISPATCH_QUEUE_SERIAL);
  IONotificationPortRef port = NULL;
  io_object_t notifier = 0;
  root_port = IORegisterForSystemPower(NULL, &port, power_callback, &notifier);
  if (root_port == MACH_PORT_NULL) {
    fprintf(stderr, "iscsi-power-events: IORegisterForSystemPower failed\n");
    return 1;
  }
  IONotificationPortSetDispatchQueue(port, queue);

  SCDynamicStoreRef store = SCDynamicStoreCreate(NULL, cfstr("dev.iscsi.power-events"), network_callback, NULL);
  if (store != NULL) {
    const void *patterns[] = {
      cfstr("State:/Network/Global/IPv4"),          cfstr("State:/Network/Global/IPv6"),
      cfstr("State:/Network/Interface/[^/]+/IPv4"), cfstr("State:/Network/Interface/[^/]+/IPv6"),
      cfstr("State:/Network/Interface/[^/]+/Link"),
    };
    CFArrayRef list = CFArrayCreate(NULL, patterns, 5, &kCFTypeArrayCallBacks);
    if (!SCDynamicStoreSetNotificationKeys(store, NULL, list) || !SCDynamicStoreSetDispatchQueue(store, queue))
      fprintf(stderr, "iscsi-power-events: network changes are not watched\n");
  } else {
    fprintf(stderr, "iscsi-power-events: SCDynamicStoreCreate failed; network changes are not watched\n");
  }

  dispatch_source_t in = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, 0, 0, queue);
  dispatch_source_set_event_handler_f(in, input_ready);
  dispatch_resume(in);
  dispatch_main();
}
