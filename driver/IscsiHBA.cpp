// The virtual HBA's lifecycle, characteristics and the user client's entry points (the task path is in
// IscsiHBATasks.cpp). Written from Apple's SCSIControllerDriverKit documentation and the public dexts listed
// in docs/macos.md, "DriverKit notes the driver relies on"; never compiled or run (README.md).
#include <os/log.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSDictionary.h>
#include <DriverKit/OSNumber.h>
#include <SCSIControllerDriverKit/IOSCSIParallelControllerCharacteristics.h>

#include "IscsiHBA.h"
#include "IscsiHBAPrivate.h"
#include "IscsiHBAUserClient.h"
#include "hba_arena.h"

#define Log(fmt, ...) os_log(OS_LOG_DEFAULT, "IscsiHBA: " fmt, ##__VA_ARGS__)

bool IscsiHBA::init() {
  if (!super::init()) {
    return false;
  }
  ivars = IONewZero(IscsiHBA_IVars, 1);
  if (!ivars) {
    return false;
  }
  ivars->lock = IOLockAlloc();
  return ivars->lock != nullptr;
}

void IscsiHBA::free() {
  if (ivars) {
    OSSafeReleaseNULL(ivars->notify);
    OSSafeReleaseNULL(ivars->lifecycle);
    OSSafeReleaseNULL(ivars->arena);
    if (ivars->lock) {
      IOLockFree(ivars->lock);
    }
    IOSafeDeleteNULL(ivars, IscsiHBA_IVars, 1);
  }
  super::free();
}

kern_return_t IMPL(IscsiHBA, Start) {
  // The family dispatches UserCreateTargetForID through a queue named AuxiliaryQueue that the dext must
  // create before the super Start, or controller start wedges (docs/macos.md, "DriverKit notes the driver relies on").
  IODispatchQueue *auxiliary = nullptr;
  kern_return_t ret = IODispatchQueue::Create("AuxiliaryQueue", 0, 0, &auxiliary);
  if (ret != kIOReturnSuccess) {
    return ret;
  }
  ret = SetDispatchQueue("AuxiliaryQueue", auxiliary);
  auxiliary->release();
  if (ret != kIOReturnSuccess) {
    return ret;
  }
  // Target creation blocks until the kernel's probe completes, so it must run on neither the default
  // queue nor AuxiliaryQueue.
  ret = IODispatchQueue::Create("IscsiHBALifecycle", 0, 0, &ivars->lifecycle);
  if (ret != kIOReturnSuccess) {
    return ret;
  }
  ret = IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, ISCSI_HBA_ARENA_BYTES, 16384, &ivars->arena);
  if (ret != kIOReturnSuccess) {
    Log("arena allocation failed: 0x%x", ret);
    return ret;
  }
  IOAddressSegment range = {};
  ret = ivars->arena->GetAddressRange(&range);
  if (ret != kIOReturnSuccess || range.length < ISCSI_HBA_ARENA_BYTES) {
    return ret != kIOReturnSuccess ? ret : kIOReturnNoMemory;
  }
  ivars->arenaAddress = reinterpret_cast<uint8_t *>(range.address);
  iscsi_hba_arena_format(ivars->arenaAddress);
  return Start(provider, SUPERDISPATCH);
}

kern_return_t IMPL(IscsiHBA, Stop) {
  // No UserDestroyTargetForID here: the framework terminates child targets itself (docs/macos.md, "DriverKit notes the driver relies on").
  FailAllParked();
  return Stop(provider, SUPERDISPATCH);
}

kern_return_t IMPL(IscsiHBA, NewUserClient) {
  (void)type;
  IOService *service = nullptr;
  kern_return_t ret = Create(this, "UserClientProperties", &service);
  if (ret != kIOReturnSuccess) {
    return ret;
  }
  *userClient = OSDynamicCast(IOUserClient, service);
  if (!*userClient) {
    service->release();
    return kIOReturnError;
  }
  return kIOReturnSuccess;
}

static void setNumber(OSDictionary *dict, const char *key, uint64_t value) {
  OSNumber *number = OSNumber::withNumber(value, 64);
  if (number) {
    dict->setObject(key, number);
    number->release();
  }
}

kern_return_t IMPL(IscsiHBA, UserInitializeController) {
  // Every key is required (a missing one panicked HERKO's test machine). 32 segments: with 1 the block
  // layer's break size became 0 and APFS wedged (docs/macos.md, "Why the DriverKit path is parked").
  OSDictionary *constraints = OSDictionary::withCapacity(7);
  if (!constraints) {
    return kIOReturnNoMemory;
  }
  setNumber(constraints, kIOMaximumSegmentCountReadKey, ISCSI_HBA_SEGMENTS);
  setNumber(constraints, kIOMaximumSegmentCountWriteKey, ISCSI_HBA_SEGMENTS);
  setNumber(constraints, kIOMaximumSegmentByteCountReadKey, ISCSI_HBA_SEGMENT_BYTES);
  setNumber(constraints, kIOMaximumSegmentByteCountWriteKey, ISCSI_HBA_SEGMENT_BYTES);
  setNumber(constraints, kIOMinimumSegmentAlignmentByteCountKey, 4);
  setNumber(constraints, kIOMaximumSegmentAddressableBitCountKey, 64);
  setNumber(constraints, kIOMinimumHBADataAlignmentMaskKey, 0xFFFFFFFFFFFFFFFFull);
  kern_return_t ret = UserReportHBAConstraints(constraints);
  constraints->release();
  if (ret != kIOReturnSuccess) {
    return ret;
  }
  // The per-command ceiling is read from these properties, not from the constraints (TAUNAIS' finding).
  OSDictionary *limits = OSDictionary::withCapacity(2);
  if (!limits) {
    return kIOReturnNoMemory;
  }
  setNumber(limits, kIOMaximumByteCountReadKey, ISCSI_HBA_SLOT_DATA_BYTES);
  setNumber(limits, kIOMaximumByteCountWriteKey, ISCSI_HBA_SLOT_DATA_BYTES);
  ret = SetProperties(limits);
  limits->release();
  return ret;
}

kern_return_t IMPL(IscsiHBA, UserStartController) {
  // Targets are created when the daemon asks (ClientSetTarget): a target probed with no daemon to
  // answer would be failed for good (docs/macos.md, "DriverKit notes the driver relies on").
  return kIOReturnSuccess;
}

kern_return_t IMPL(IscsiHBA, UserInitializeTargetForID) {
  Log("target %llu initialized", targetID);
  return kIOReturnSuccess;
}

kern_return_t IMPL(IscsiHBA, UserReportInitiatorIdentifier) {
  *id = 7;
  return kIOReturnSuccess;
}
kern_return_t IMPL(IscsiHBA, UserReportHighestSupportedDeviceID) {
  *id = ISCSI_HBA_MAX_TARGETS - 1;
  return kIOReturnSuccess;
}
kern_return_t IMPL(IscsiHBA, UserReportMaximumTaskCount) {
  *count = ISCSI_HBA_SLOTS;
  return kIOReturnSuccess;
}
kern_return_t IMPL(IscsiHBA, UserReportHBAHighestLogicalUnitNumber) {
  *value = 0;
  return kIOReturnSuccess;
}
kern_return_t IMPL(IscsiHBA, UserDoesHBAPerformDeviceManagement) {
  *result = true;
  return kIOReturnSuccess;
}
kern_return_t IMPL(IscsiHBA, UserDoesHBAPerformAutoSense) {
  *result = true;
  return kIOReturnSuccess;
}
kern_return_t IMPL(IscsiHBA, UserDoesHBASupportMultiPathing) {
  *result = false;
  return kIOReturnSuccess;
}

kern_return_t IMPL(IscsiHBA, UserDoesHBASupportSCSIParallelFeature) {
  (void)theValue;
  *result = false;
  return kIOReturnSuccess;
}

kern_return_t IMPL(IscsiHBA, UserGetDMASpecification) {
  *maxTransferSize = ISCSI_HBA_SLOT_DATA_BYTES;
  *alignment = 4;
  *numAddressBits = 64;
  *segmentType =
      kDMAOutputSegmentHost64; // Big32 broke INQUIRY in ASFireWire (docs/macos.md, "DriverKit notes the driver relies on")
  return kIOReturnSuccess;
}

kern_return_t IMPL(IscsiHBA, UserMapHBAData) {
  *uniqueTaskID = __atomic_add_fetch(&ivars->nextTaskID, 1, __ATOMIC_RELAXED);
  return kIOReturnSuccess;
}

kern_return_t IMPL(IscsiHBA, UserMapBundledParallelTaskCommandAndResponseBuffers) {
  (void)parallelCommandIOMemoryDescriptor;
  (void)parallelResponseIOMemoryDescriptor;
  return kIOReturnError; // declines bundled mode
}

void IMPL(IscsiHBA, UserProcessBundledParallelTasks) {
  (void)parallelRequestSlotIndices;
  (void)parallelRequestSlotIndicesCount;
  (void)completion;
}

kern_return_t IMPL(IscsiHBA, UserAbortTaskRequest) {
  *response = kSCSIServiceResponse_FUNCTION_REJECTED;
  return kIOReturnSuccess;
}
kern_return_t IMPL(IscsiHBA, UserAbortTaskSetRequest) {
  *response = kSCSIServiceResponse_FUNCTION_REJECTED;
  return kIOReturnSuccess;
}
kern_return_t IMPL(IscsiHBA, UserClearACARequest) {
  *response = kSCSIServiceResponse_FUNCTION_REJECTED;
  return kIOReturnSuccess;
}
kern_return_t IMPL(IscsiHBA, UserClearTaskSetRequest) {
  *response = kSCSIServiceResponse_FUNCTION_REJECTED;
  return kIOReturnSuccess;
}
kern_return_t IMPL(IscsiHBA, UserLogicalUnitResetRequest) {
  *response = kSCSIServiceResponse_FUNCTION_REJECTED;
  return kIOReturnSuccess;
}
kern_return_t IMPL(IscsiHBA, UserTargetResetRequest) {
  *response = kSCSIServiceResponse_FUNCTION_REJECTED;
  return kIOReturnSuccess;
}

bool IscsiHBA::ClientAttach(IscsiHBAUserClient *client) {
  IOLockLock(ivars->lock);
  // One daemon at a time: a second one must not take over the targets the first one serves.
  bool ok = ivars->client == nullptr;
  if (ok) {
    ivars->client = client;
  }
  IOLockUnlock(ivars->lock);
  return ok;
}

void IscsiHBA::ClientDetach(IscsiHBAUserClient *client) {
  IOLockLock(ivars->lock);
  bool ours = ivars->client == client;
  if (ours) {
    ivars->client = nullptr;
    OSSafeReleaseNULL(ivars->notify);
  }
  IOLockUnlock(ivars->lock);
  if (ours) {
    FailAllParked();
  }
}

kern_return_t IscsiHBA::ClientRegister(OSAction *notify) {
  notify->retain();
  IOLockLock(ivars->lock);
  OSAction *old = ivars->notify;
  ivars->notify = notify;
  IOLockUnlock(ivars->lock);
  OSSafeReleaseNULL(old);
  return kIOReturnSuccess;
}

kern_return_t IscsiHBA::ClientSetTarget(uint64_t targetID, bool present) {
  if (targetID >= ISCSI_HBA_MAX_TARGETS) {
    return kIOReturnBadArgument;
  }
  // Fire and forget: UserCreateTargetForID blocks until the probe, whose I/O needs the daemon, is done.
  retain();
  ivars->lifecycle->DispatchAsync(^{
    if (present) {
      OSDictionary *properties = OSDictionary::withCapacity(1);
      kern_return_t ret = properties ? UserCreateTargetForID(targetID, properties) : kIOReturnNoMemory;
      OSSafeReleaseNULL(properties);
      Log("create target %llu: 0x%x", targetID, ret);
    } else {
      kern_return_t ret = UserDestroyTargetForID(targetID);
      Log("destroy target %llu: 0x%x", targetID, ret);
    }
    release();
  });
  return kIOReturnSuccess;
}

IOBufferMemoryDescriptor *IscsiHBA::CopyArena() {
  ivars->arena->retain();
  return ivars->arena;
}
