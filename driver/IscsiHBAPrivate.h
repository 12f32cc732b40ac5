// State shared by IscsiHBA.cpp (lifecycle) and IscsiHBATasks.cpp (task path). Never compiled: see README.md.
#ifndef IscsiHBAPrivate_h
#define IscsiHBAPrivate_h

#include <DriverKit/IOLib.h>
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOMemoryMap.h>
#include <DriverKit/OSAction.h>

#include "hba_abi.h"

class IscsiHBAUserClient;

// The dext's private record of a slot in use. Never read back from the arena, which the daemon can write.
struct IscsiHBAParked {
  bool busy;
  OSAction *completion; // retained until the task is completed
  IOBufferMemoryDescriptor *buffer; // from UserGetDataBuffer, retained (+1 on return) until completion
  IOMemoryMap *map; // our mapping of `buffer`
  uint8_t *address; // map->GetAddress()
  uint64_t taskID; // fControllerTaskIdentifier
  uint64_t targetID;
  uint32_t length; // fRequestedTransferCount, ≤ ISCSI_HBA_SLOT_DATA_BYTES
  uint8_t direction; // enum iscsi_hba_dir
};

struct IscsiHBA_IVars {
  IOLock *lock; // parked[], client, notify, sequence, and the arena's slot states
  IOBufferMemoryDescriptor *arena; // ISCSI_HBA_ARENA_BYTES, shared with the daemon
  uint8_t *arenaAddress;
  IODispatchQueue *lifecycle; // UserCreateTargetForID / UserDestroyTargetForID run here only
  IscsiHBAUserClient *client; // not retained; cleared by ClientDetach
  OSAction *notify; // the daemon's "work available" completion, retained
  uint32_t sequence; // post counter
  uint32_t nextTaskID; // UserMapHBAData
  IscsiHBAParked parked[ISCSI_HBA_SLOTS];
};

#endif
