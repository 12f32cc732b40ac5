/*
 * Tasks the virtual HBA answers itself instead of sending to the target: REPORT LUNS (the HBA shows one
 * logical unit, LUN 0, per target; SPC-4 §6.33) and every task for another LUN (INQUIRY with peripheral
 * qualifier 011b, SPC-4 §6.6.2; anything else CHECK CONDITION / ILLEGAL REQUEST / LOGICAL UNIT NOT
 * SUPPORTED, ASC 25h, fixed-format sense, SPC-4 §4.5.3).
 */
#ifndef ISCSI_HBA_LOCAL_H
#define ISCSI_HBA_LOCAL_H

#include <stdint.h>

#include "hba_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The answer to a task that never reaches the target. */
struct iscsi_hba_local_answer {
  uint8_t status; /* SCSI status byte */
  uint32_t data_length; /* bytes written to the data window (≤ the task's transfer length) */
  uint32_t sense_length; /* bytes written to sense */
};

/*
 * If `task` (already checked by iscsi_hba_task_check) is answered locally, fills `data` (the task's
 * payload window, transfer_length bytes) and `sense` (ISCSI_HBA_SENSE_BYTES), sets `out` and returns 1;
 * returns 0 when the task goes to the target.
 */
int iscsi_hba_answer_locally(const struct iscsi_hba_task *task, uint8_t *data, uint8_t *sense,
                             struct iscsi_hba_local_answer *out);

#ifdef __cplusplus
}
#endif

#endif /* ISCSI_HBA_LOCAL_H */
