// The bootstrap nub (see IscsiHBABootstrap.iig): the marker property IscsiVirtualHBA comes from its
// personality in Info.plist; RegisterService() makes the nub matchable by the controller personality.
#include <os/log.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOService.h>

#include "IscsiHBABootstrap.h"

kern_return_t IMPL(IscsiHBABootstrap, Start) {
  kern_return_t ret = Start(provider, SUPERDISPATCH);
  if (ret != kIOReturnSuccess) {
    return ret;
  }
  ret = RegisterService();
  if (ret != kIOReturnSuccess) {
    os_log(OS_LOG_DEFAULT, "IscsiHBABootstrap: RegisterService failed 0x%x", ret);
  }
  return ret;
}
