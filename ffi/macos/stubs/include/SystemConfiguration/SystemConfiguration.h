/* Stand-in for <SystemConfiguration/SystemConfiguration.h>: SCDynamicStore notifications on a dispatch queue. */
#ifndef ISCSI_STUB_SYSTEMCONFIGURATION_H
#define ISCSI_STUB_SYSTEMCONFIGURATION_H
#include <CoreFoundation/CoreFoundation.h>
#include <dispatch/dispatch.h>
typedef const struct __SCDynamicStore *SCDynamicStoreRef;
typedef struct {
  CFIndex version;
  void *info;
  const void *(*retain)(const void *info);
  void (*release)(const void *info);
  CFStringRef (*copyDescription)(const void *info);
} SCDynamicStoreContext;
typedef void (*SCDynamicStoreCallBack)(SCDynamicStoreRef store, CFArrayRef changedKeys, void *info);
SCDynamicStoreRef SCDynamicStoreCreate(CFAllocatorRef allocator, CFStringRef name, SCDynamicStoreCallBack callout,
                                       SCDynamicStoreContext *context);
Boolean SCDynamicStoreSetNotificationKeys(SCDynamicStoreRef store, CFArrayRef keys, CFArrayRef patterns);
Boolean SCDynamicStoreSetDispatchQueue(SCDynamicStoreRef store, dispatch_queue_t queue);
#endif
