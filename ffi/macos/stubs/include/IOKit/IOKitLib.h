/* Stand-in for the macOS SDK's <IOKit/IOKitLib.h> (and the Mach and CoreFoundation types it pulls in),
 * declaring only what ffi/macos/iokit_client.c calls, for the Linux cross-compile check only: see
 * ../../README.md. */
#ifndef ISCSI_STUB_IOKITLIB_H
#define ISCSI_STUB_IOKITLIB_H
#include <stdint.h>
#include <dispatch/dispatch.h>

typedef unsigned int mach_port_t; /* natural_t */
typedef mach_port_t task_port_t;
typedef mach_port_t io_object_t;
typedef io_object_t io_service_t;
typedef io_object_t io_connect_t;
typedef int kern_return_t;
typedef kern_return_t IOReturn;
typedef uint32_t IOOptionBits;
typedef uint64_t mach_vm_address_t;
typedef uint64_t mach_vm_size_t;
typedef uint64_t io_user_reference_t;
typedef io_user_reference_t io_async_ref64_t[8];
typedef struct IONotificationPort *IONotificationPortRef;
typedef const struct __CFDictionary *CFDictionaryRef;
typedef struct __CFDictionary *CFMutableDictionaryRef;
typedef void (*IOAsyncCallback)(void *refcon, IOReturn result, void **args, uint32_t numArgs);

#define MACH_PORT_NULL ((mach_port_t)0)
#define IO_OBJECT_NULL ((io_object_t)0)
#define kIOReturnSuccess 0
#define kIOMapAnywhere 0x00000001
enum {
  kIOAsyncReservedIndex = 0,
  kIOAsyncCalloutFuncIndex = 1,
  kIOAsyncCalloutRefconIndex = 2,
  kIOAsyncCalloutCount = 3
};

extern mach_port_t mach_task_self_;
#define mach_task_self() mach_task_self_

IONotificationPortRef IONotificationPortCreate(mach_port_t mainPort);
void IONotificationPortDestroy(IONotificationPortRef notify);
mach_port_t IONotificationPortGetMachPort(IONotificationPortRef notify);
void IONotificationPortSetDispatchQueue(IONotificationPortRef notify, dispatch_queue_t queue);
CFMutableDictionaryRef IOServiceNameMatching(const char *name);
io_service_t IOServiceGetMatchingService(mach_port_t mainPort, CFDictionaryRef matching);
kern_return_t IOServiceOpen(io_service_t service, task_port_t owningTask, uint32_t type, io_connect_t *connect);
kern_return_t IOServiceClose(io_connect_t connect);
kern_return_t IOObjectRelease(io_object_t object);
kern_return_t IOConnectMapMemory64(io_connect_t connect, uint32_t memoryType, task_port_t intoTask,
                                   mach_vm_address_t *atAddress, mach_vm_size_t *ofSize, IOOptionBits options);
kern_return_t IOConnectUnmapMemory64(io_connect_t connect, uint32_t memoryType, task_port_t fromTask,
                                     mach_vm_address_t atAddress);
kern_return_t IOConnectCallScalarMethod(mach_port_t connection, uint32_t selector, const uint64_t *input,
                                        uint32_t inputCnt, uint64_t *output, uint32_t *outputCnt);
kern_return_t IOConnectCallAsyncScalarMethod(mach_port_t connection, uint32_t selector, mach_port_t wake_port,
                                             uint64_t *reference, uint32_t referenceCnt, const uint64_t *input,
                                             uint32_t inputCnt, uint64_t *output, uint32_t *outputCnt);
#endif
