// The virtual HBA's task path: a SCSI task is copied into a free arena slot (write payload included) with
// ffi/hba_arena.c, the daemon is notified, and when it reports the slot DONE the outcome (clamped by
// iscsi_hba_slot_finish) and any read payload go back to the SCSI family. Never compiled or run (README.md).
#include <os/log.h>
#include <string.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/IOUserClient.h>

#include "IscsiHBA.h"
#include "IscsiHBAPrivate.h"
#include "IscsiHBAUserClient.h"
#include "hba_arena.h"

#define Log(fmt, ...) os_log(OS_LOG_DEFAULT, "IscsiHBA: " fmt, ##__VA_ARGS__)

// Every response carries the response version constant, or the kernel drops it and the task hangs
// (docs/macos.md, "DriverKit notes the driver relies on").
static SCSIUserParallelResponse responseFor(const IscsiHBAParked &p) {
  SCSIUserParallelResponse response = {};
  response.version = kScsiUserParallelTaskResponseCurrentVersion1;
  response.fTargetID = p.targetID;
  response.fControllerTaskIdentifier = p.taskID;
  return response;
}

static void releaseParked(IscsiHBAParked &p) {
  OSSafeReleaseNULL(p.completion);
  OSSafeReleaseNULL(p.map);
  OSSafeReleaseNULL(p.buffer); // UserGetDataBuffer returned it +1: leaking it exhausts mach ports
  p = IscsiHBAParked{};
}

static void failNow(IscsiHBA *hba, IscsiHBAParked &p) {
  SCSIUserParallelResponse response = responseFor(p);
  response.fServiceResponse = kSCSIServiceResponse_SERVICE_DELIVERY_OR_TARGET_FAILURE;
  response.fCompletionStatus = kSCSITaskStatus_DeliveryFailure;
  hba->ParallelTaskCompletion(p.completion, response);
  releaseParked(p);
}

kern_return_t IMPL(IscsiHBA, UserProcessParallelTask) {
  const uint64_t length = parallelRequest.fRequestedTransferCount;
  const uint8_t direction = parallelRequest.fTransferDirection;
  *response = kSCSIServiceResponse_SERVICE_DELIVERY_OR_TARGET_FAILURE;
  if (parallelRequest.version != kScsiUserParallelTaskCurrentVersion1 || length > ISCSI_HBA_SLOT_DATA_BYTES ||
      direction > ISCSI_HBA_DIR_WRITE) {
    return kIOReturnBadArgument;
  }
  // fBufferIOVMAddr is not mapped in a dext; UserGetDataBuffer + a mapping is the only CPU access.
  IscsiHBAParked p = {};
  if (direction != ISCSI_HBA_DIR_NONE && length > 0) {
    kern_return_t ret =
        UserGetDataBuffer(parallelRequest.fTargetID, parallelRequest.fControllerTaskIdentifier, &p.buffer);
    if (ret == kIOReturnSuccess && p.buffer) {
      ret = p.buffer->CreateMapping(0, 0, 0, 0, 0, &p.map);
    }
    if (ret != kIOReturnSuccess || !p.map || p.map->GetLength() < length) {
      releaseParked(p);
      return ret != kIOReturnSuccess ? ret : kIOReturnNoMemory;
    }
    p.address = reinterpret_cast<uint8_t *>(p.map->GetAddress());
  }
  p.busy = true;
  p.taskID = parallelRequest.fControllerTaskIdentifier;
  p.targetID = parallelRequest.fTargetID;
  p.length = static_cast<uint32_t>(length);
  p.direction = direction;

  struct iscsi_hba_task task = {};
  task.tag = parallelRequest.fControllerTaskIdentifier;
  task.lun = iscsi_hba_decode_lun(parallelRequest.fLogicalUnitBytes);
  task.target_id = static_cast<uint32_t>(parallelRequest.fTargetID);
  task.transfer_length = p.length;
  task.cdb_length = parallelRequest.fCommandSize > sizeof task.cdb ? 0 : parallelRequest.fCommandSize;
  memcpy(task.cdb, parallelRequest.fCommandDescriptorBlock, task.cdb_length);
  task.direction = direction;
  task.timeout_ms = static_cast<uint32_t>(parallelRequest.fTimeoutInMilliSec);

  IOLockLock(ivars->lock);
  uint32_t slot = 0;
  while (slot < ISCSI_HBA_SLOTS && ivars->parked[slot].busy) {
    slot++;
  }
  if (!ivars->client || !ivars->notify || slot == ISCSI_HBA_SLOTS) {
    IOLockUnlock(ivars->lock);
    releaseParked(p);
    return kIOReturnNotReady;
  }
  if (direction == ISCSI_HBA_DIR_WRITE && length > 0) {
    memcpy(iscsi_hba_slot_window(ivars->arenaAddress, slot), p.address, length);
  }
  int posted = iscsi_hba_slot_post(ivars->arenaAddress, slot, &task, ++ivars->sequence);
  if (posted != 0) {
    IOLockUnlock(ivars->lock);
    Log("task %llu not posted: %d", p.taskID, posted);
    releaseParked(p);
    return kIOReturnBadArgument;
  }
  completion->retain();
  p.completion = completion;
  ivars->parked[slot] = p;
  IscsiHBAUserClient *client = ivars->client;
  OSAction *notify = ivars->notify;
  client->retain();
  notify->retain();
  uint32_t sequence = ivars->sequence;
  IOLockUnlock(ivars->lock);

  IOUserClientAsyncArgumentsArray args = {};
  iscsi_hba_notify_args(args, 1ull << slot, sequence);
  client->AsyncCompletion(notify, kIOReturnSuccess, args, ISCSI_HBA_NOTIFY_ARGS);
  notify->release();
  client->release();
  *response = kSCSIServiceResponse_Request_In_Process;
  return kIOReturnSuccess;
}

kern_return_t IscsiHBA::ClientComplete(uint64_t doneMask) {
  for (uint32_t slot = 0; slot < ISCSI_HBA_SLOTS; slot++) {
    if (!(doneMask & (1ull << slot))) {
      continue;
    }
    struct iscsi_hba_outcome outcome;
    IOLockLock(ivars->lock);
    IscsiHBAParked p = ivars->parked[slot];
    // A bit for a slot we did not park, or that is not DONE, is ignored: the daemon cannot make us
    // complete a task twice or early.
    if (!p.busy || iscsi_hba_slot_finish(ivars->arenaAddress, slot, p.length, &outcome) != 0) {
      IOLockUnlock(ivars->lock);
      continue;
    }
    if (p.direction == ISCSI_HBA_DIR_READ && outcome.bytes_transferred > 0) {
      memcpy(p.address, iscsi_hba_slot_window(ivars->arenaAddress, slot), outcome.bytes_transferred);
    }
    ivars->parked[slot] = IscsiHBAParked{};
    IOLockUnlock(ivars->lock);

    SCSIUserParallelResponse response = responseFor(p);
    if (outcome.transport_failed) {
      response.fServiceResponse = kSCSIServiceResponse_SERVICE_DELIVERY_OR_TARGET_FAILURE;
      response.fCompletionStatus = kSCSITaskStatus_DeliveryFailure;
    } else {
      response.fServiceResponse = kSCSIServiceResponse_TASK_COMPLETE;
      response.fCompletionStatus = static_cast<SCSITaskStatus>(outcome.scsi_status);
      response.fBytesTransferred = outcome.bytes_transferred;
      uint32_t sense =
          outcome.sense_length < sizeof response.fSenseBuffer ? outcome.sense_length : sizeof response.fSenseBuffer;
      response.fSenseLength = static_cast<uint8_t>(sense);
      memcpy(response.fSenseBuffer, outcome.sense, sense);
    }
    ParallelTaskCompletion(p.completion, response);
    releaseParked(p);
  }
  return kIOReturnSuccess;
}

void IscsiHBA::FailAllParked() {
  IscsiHBAParked failed[ISCSI_HBA_SLOTS];
  uint32_t count = 0;
  IOLockLock(ivars->lock);
  for (uint32_t slot = 0; slot < ISCSI_HBA_SLOTS; slot++) {
    if (ivars->parked[slot].busy) {
      failed[count++] = ivars->parked[slot];
      ivars->parked[slot] = IscsiHBAParked{};
    }
  }
  // Whatever the departed daemon left in the slot states, the next one starts from a clean arena.
  if (ivars->arenaAddress) {
    iscsi_hba_arena_format(ivars->arenaAddress);
  }
  IOLockUnlock(ivars->lock);
  for (uint32_t i = 0; i < count; i++) {
    failNow(this, failed[i]);
  }
}
