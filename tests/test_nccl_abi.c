/* Suite comm: seam declares the part of NCCL's ABI it uses itself (runtime/nccl_api.h), so it
 * builds without nccl.h and loads NCCL at run time. Where nccl.h is installed this program
 * checks those declarations against it at compile time; running it only reports the result. */
#include <stdio.h>

#include <nccl.h>

#include "runtime/nccl_api.h"

_Static_assert(sizeof(seam_nccl_unique_id) == sizeof(ncclUniqueId), "ncclUniqueId size");
_Static_assert(sizeof(seam_nccl_unique_id) == NCCL_UNIQUE_ID_BYTES, "NCCL_UNIQUE_ID_BYTES");
_Static_assert(sizeof(seam_nccl_result_t) == sizeof(ncclResult_t), "ncclResult_t size");
_Static_assert(sizeof(seam_nccl_data_type_t) == sizeof(ncclDataType_t), "ncclDataType_t size");
/* Different enums: compared as int. */
#define SAME(seam, nccl) _Static_assert((int)(seam) == (int)(nccl), #nccl)
SAME(SEAM_NCCL_SUCCESS, ncclSuccess);
SAME(SEAM_NCCL_UNHANDLED_CUDA_ERROR, ncclUnhandledCudaError);
SAME(SEAM_NCCL_SYSTEM_ERROR, ncclSystemError);
SAME(SEAM_NCCL_INTERNAL_ERROR, ncclInternalError);
SAME(SEAM_NCCL_INVALID_ARGUMENT, ncclInvalidArgument);
SAME(SEAM_NCCL_INVALID_USAGE, ncclInvalidUsage);
SAME(SEAM_NCCL_REMOTE_ERROR, ncclRemoteError);
SAME(SEAM_NCCL_IN_PROGRESS, ncclInProgress);
SAME(SEAM_NCCL_INT8, ncclInt8);
SAME(SEAM_NCCL_UINT8, ncclUint8);
SAME(SEAM_NCCL_INT32, ncclInt32);
SAME(SEAM_NCCL_UINT32, ncclUint32);
SAME(SEAM_NCCL_INT64, ncclInt64);
SAME(SEAM_NCCL_UINT64, ncclUint64);
SAME(SEAM_NCCL_FLOAT16, ncclFloat16);
SAME(SEAM_NCCL_FLOAT32, ncclFloat32);
SAME(SEAM_NCCL_FLOAT64, ncclFloat64);
SAME(SEAM_NCCL_BFLOAT16, ncclBfloat16);
_Static_assert(SEAM_NCCL_VERSION(2, 9, 0) == NCCL_VERSION(2, 9, 0), "NCCL_VERSION");

int main(void) {
    printf("runtime/nccl_api.h matches nccl.h of NCCL %d.%d\n", NCCL_MAJOR, NCCL_MINOR);
    return 0;
}
