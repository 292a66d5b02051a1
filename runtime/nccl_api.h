/* Internal: the part of NCCL's C API seam uses, declared here from the NCCL documentation so
 * that seam builds without nccl.h and loads NCCL at run time (dlopen). Only the types and
 * functions seam calls are declared; values are NCCL's documented, stable ABI. */
#ifndef SEAM_NCCL_API_H
#define SEAM_NCCL_API_H

#include <stddef.h>

#include "seam/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct seam_nccl_comm_opaque *seam_nccl_comm_t; /* ncclComm_t */
typedef struct seam_nccl_unique_id {                     /* ncclUniqueId */
    char internal[128];
} seam_nccl_unique_id;
typedef int seam_nccl_result_t;                          /* ncclResult_t */
typedef int seam_nccl_data_type_t;                       /* ncclDataType_t */
typedef struct CUstream_st *seam_nccl_stream_t;          /* cudaStream_t */

enum {
    SEAM_NCCL_SUCCESS = 0,
    SEAM_NCCL_UNHANDLED_CUDA_ERROR = 1,
    SEAM_NCCL_SYSTEM_ERROR = 2,
    SEAM_NCCL_INTERNAL_ERROR = 3,
    SEAM_NCCL_INVALID_ARGUMENT = 4,
    SEAM_NCCL_INVALID_USAGE = 5,
    SEAM_NCCL_REMOTE_ERROR = 6,
    SEAM_NCCL_IN_PROGRESS = 7
};

enum {
    SEAM_NCCL_INT8 = 0,
    SEAM_NCCL_UINT8 = 1,
    SEAM_NCCL_INT32 = 2,
    SEAM_NCCL_UINT32 = 3,
    SEAM_NCCL_INT64 = 4,
    SEAM_NCCL_UINT64 = 5,
    SEAM_NCCL_FLOAT16 = 6,
    SEAM_NCCL_FLOAT32 = 7,
    SEAM_NCCL_FLOAT64 = 8,
    SEAM_NCCL_BFLOAT16 = 9
};

/* NCCL_VERSION(major, minor, patch) for NCCL >= 2.9. */
#define SEAM_NCCL_VERSION(x, y, z) ((x) * 10000 + (y) * 100 + (z))

/* The loaded library. Filled once per process; read-only afterwards. */
typedef struct seam_nccl_api {
    int version; /* ncclGetVersion */
    seam_nccl_result_t (*get_version)(int *version);
    seam_nccl_result_t (*get_unique_id)(seam_nccl_unique_id *id);
    seam_nccl_result_t (*comm_init_rank)(seam_nccl_comm_t *comm, int nranks,
                                         seam_nccl_unique_id id, int rank);
    seam_nccl_result_t (*broadcast)(const void *sendbuff, void *recvbuff, size_t count,
                                    seam_nccl_data_type_t datatype, int root,
                                    seam_nccl_comm_t comm, seam_nccl_stream_t stream);
    seam_nccl_result_t (*all_gather)(const void *sendbuff, void *recvbuff, size_t sendcount,
                                     seam_nccl_data_type_t datatype, seam_nccl_comm_t comm,
                                     seam_nccl_stream_t stream);
    seam_nccl_result_t (*comm_get_async_error)(seam_nccl_comm_t comm,
                                               seam_nccl_result_t *async_error);
    seam_nccl_result_t (*comm_abort)(seam_nccl_comm_t comm);
    seam_nccl_result_t (*comm_destroy)(seam_nccl_comm_t comm);
    seam_nccl_result_t (*comm_count)(const seam_nccl_comm_t comm, int *count);
    seam_nccl_result_t (*comm_user_rank)(const seam_nccl_comm_t comm, int *rank);
    seam_nccl_result_t (*comm_cu_device)(const seam_nccl_comm_t comm, int *device);
    const char *(*get_error_string)(seam_nccl_result_t result);
    const char *(*get_last_error)(seam_nccl_comm_t comm); /* NCCL >= 2.13; may be NULL */
} seam_nccl_api;

/* The loaded API, loading it on first use (thread-safe). SEAM_ERR_NCCL, naming the library
 * and dlerror(), when NCCL is not installed or lacks a needed function. */
seam_status seam_nccl_load(const seam_nccl_api **api, const char *func);

/* Records an NCCL failure with ncclGetErrorString and ncclGetLastError text. */
seam_status seam_nccl_fail(const seam_nccl_api *api, seam_nccl_comm_t comm, int result,
                           const char *expr, const char *file, int line, const char *func);

#define SEAM_NCCL_CHECK(api, comm, expr)                                                  \
    do {                                                                                  \
        seam_nccl_result_t r_nccl_ = (expr);                                              \
        if (r_nccl_ != SEAM_NCCL_SUCCESS)                                                 \
            return seam_nccl_fail((api), (comm), r_nccl_, #expr, __FILE__, __LINE__, __func__); \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif
