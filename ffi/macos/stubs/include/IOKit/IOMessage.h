/* Stand-in for <IOKit/IOMessage.h>: the system power messages, iokit_common_msg(x) = 0xe0000000 | x. */
#ifndef ISCSI_STUB_IOMESSAGE_H
#define ISCSI_STUB_IOMESSAGE_H
#define kIOMessageCanSystemSleep 0xe0000270u
#define kIOMessageSystemWillSleep 0xe0000280u
#define kIOMessageSystemWillNotSleep 0xe0000290u
#define kIOMessageSystemHasPoweredOn 0xe0000300u
#define kIOMessageSystemWillPowerOn 0xe0000320u
#endif
