// The daemon's user client (see IscsiHBAUserClient.iig): argument checks through an
// IOUserClientMethodDispatch table, then one call into the controller per selector. Never compiled or run
// (README.md).
#include <os/log.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOUserClient.h>

#include "IscsiHBA.h"
#include "IscsiHBAUserClient.h"
#include "hba_abi.h"

struct IscsiHBAUserClient_IVars {
  IscsiHBA *controller; // the provider; not retained
};

// Exact scalar counts for every selector; REGISTER must come with a completion, the others without.
static const IOUserClientMethodDispatch dispatchTable[ISCSI_HBA_SEL_COUNT] = {
  [ISCSI_HBA_SEL_REGISTER] = { (IOUserClientMethodFunction)&IscsiHBAUserClient::DoRegister, true, 1, 0, 0, 0 },
  [ISCSI_HBA_SEL_COMPLETE] = { (IOUserClientMethodFunction)&IscsiHBAUserClient::DoComplete, false, 1, 0, 0, 0 },
  [ISCSI_HBA_SEL_SET_TARGET] = { (IOUserClientMethodFunction)&IscsiHBAUserClient::DoSetTarget, false, 1, 0, 0, 0 },
  [ISCSI_HBA_SEL_REMOVE_TARGET] = { (IOUserClientMethodFunction)&IscsiHBAUserClient::DoRemoveTarget, false, 1, 0, 0,
                                    0 },
};

bool IscsiHBAUserClient::init() {
  if (!super::init()) {
    return false;
  }
  ivars = IONewZero(IscsiHBAUserClient_IVars, 1);
  return ivars != nullptr;
}

void IscsiHBAUserClient::free() {
  IOSafeDeleteNULL(ivars, IscsiHBAUserClient_IVars, 1);
  super::free();
}

kern_return_t IMPL(IscsiHBAUserClient, Start) {
  // External methods get their own queue so COMPLETE never waits behind the controller's task queue.
  IODispatchQueue *queue = nullptr;
  kern_return_t ret = IODispatchQueue::Create(kIOUserClientQueueNameExternalMethod, 0, 0, &queue);
  if (ret == kIOReturnSuccess) {
    ret = SetDispatchQueue(kIOUserClientQueueNameExternalMethod, queue);
    queue->release();
  }
  if (ret != kIOReturnSuccess) {
    return ret;
  }
  ret = Start(provider, SUPERDISPATCH);
  if (ret != kIOReturnSuccess) {
    return ret;
  }
  ivars->controller = OSDynamicCast(IscsiHBA, provider);
  if (!ivars->controller) {
    return kIOReturnBadArgument;
  }
  if (!ivars->controller->ClientAttach(this)) {
    ivars->controller = nullptr;
    return kIOReturnExclusiveAccess;
  }
  return kIOReturnSuccess;
}

kern_return_t IMPL(IscsiHBAUserClient, Stop) {
  // The daemon closed the connection or died: every task it still held fails as a delivery failure.
  if (ivars->controller) {
    ivars->controller->ClientDetach(this);
    ivars->controller = nullptr;
  }
  return Stop(provider, SUPERDISPATCH);
}

kern_return_t IscsiHBAUserClient::ExternalMethod(uint64_t selector, IOUserClientMethodArguments *arguments,
                                                 const IOUserClientMethodDispatch *dispatch, OSObject *target,
                                                 void *reference) {
  (void)dispatch;
  (void)target;
  if (selector >= ISCSI_HBA_SEL_COUNT || !ivars->controller) {
    return kIOReturnBadArgument;
  }
  return super::ExternalMethod(selector, arguments, &dispatchTable[selector], this, reference);
}

kern_return_t IMPL(IscsiHBAUserClient, CopyClientMemoryForType) {
  (void)options;
  if (type != ISCSI_HBA_MEMORY_ARENA || !ivars->controller) {
    return kIOReturnBadArgument;
  }
  // The same descriptor every time, as IOUserClient asks; the caller gets a retained reference.
  *memory = ivars->controller->CopyArena();
  return kIOReturnSuccess;
}

kern_return_t IscsiHBAUserClient::DoRegister(OSObject *target, void *reference,
                                             IOUserClientMethodArguments *arguments) {
  (void)reference;
  IscsiHBAUserClient *self = OSDynamicCast(IscsiHBAUserClient, target);
  if (!self || !self->ivars->controller) {
    return kIOReturnNotReady;
  }
  if (arguments->scalarInput[0] != ISCSI_HBA_ABI_VERSION) {
    return kIOReturnUnsupported; // a daemon built against another arena layout
  }
  return self->ivars->controller->ClientRegister(arguments->completion);
}

kern_return_t IscsiHBAUserClient::DoComplete(OSObject *target, void *reference,
                                             IOUserClientMethodArguments *arguments) {
  (void)reference;
  IscsiHBAUserClient *self = OSDynamicCast(IscsiHBAUserClient, target);
  if (!self || !self->ivars->controller) {
    return kIOReturnNotReady;
  }
  return self->ivars->controller->ClientComplete(arguments->scalarInput[0]);
}

kern_return_t IscsiHBAUserClient::DoSetTarget(OSObject *target, void *reference,
                                              IOUserClientMethodArguments *arguments) {
  (void)reference;
  IscsiHBAUserClient *self = OSDynamicCast(IscsiHBAUserClient, target);
  if (!self || !self->ivars->controller) {
    return kIOReturnNotReady;
  }
  return self->ivars->controller->ClientSetTarget(arguments->scalarInput[0], true);
}

kern_return_t IscsiHBAUserClient::DoRemoveTarget(OSObject *target, void *reference,
                                                 IOUserClientMethodArguments *arguments) {
  (void)reference;
  IscsiHBAUserClient *self = OSDynamicCast(IscsiHBAUserClient, target);
  if (!self || !self->ivars->controller) {
    return kIOReturnNotReady;
  }
  return self->ivars->controller->ClientSetTarget(arguments->scalarInput[0], false);
}
