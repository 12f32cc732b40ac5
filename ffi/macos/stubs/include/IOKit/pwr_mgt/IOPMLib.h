/* Stand-in for <IOKit/pwr_mgt/IOPMLib.h>: system power registration, as Apple documents it. */
#ifndef ISCSI_STUB_IOPMLIB_H
#define ISCSI_STUB_IOPMLIB_H
#include <IOKit/IOKitLib.h>
#include <stdint.h>
typedef void (*IOServiceInterestCallback)(void *refcon, io_service_t service, uint32_t messageType,
                                          void *messageArgument);
io_connect_t IORegisterForSystemPower(void *refcon, IONotificationPortRef *thePortRef,
                                      IOServiceInterestCallback callback, io_object_t *notifier);
IOReturn IODeregisterForSystemPower(io_object_t *notifier);
IOReturn IOAllowPowerChange(io_connect_t kernelPort, intptr_t notificationID);
#endif
