/* Internal: CUDA and cuBLAS error checks for runtime code and kernel launchers (C and CUDA).
 * Every CUDA call and every launch is checked; a failure becomes a seam_status with file and
 * line in the last-error message. */
#ifndef SEAM_CUDA_CHECK_H
#define SEAM_CUDA_CHECK_H

#include <cuda_runtime_api.h>

#include "runtime/error_impl.h"

#define SEAM_CUDA_CHECK(expr)                                                             \
    do {                                                                                  \
        cudaError_t e_cuda_ = (expr);                                                     \
        if (e_cuda_ != cudaSuccess)                                                       \
            return seam_fail_cuda((int)e_cuda_, #expr, __FILE__, __LINE__, __func__);     \
    } while (0)

/* After a <<<...>>> launch: configuration errors show up here, not at the launch. */
#define SEAM_CUDA_CHECK_LAUNCH() SEAM_CUDA_CHECK(cudaGetLastError())

/* In cleanup paths: run every release, remember the first failure in `first` (a
 * seam_status), keep going so nothing else leaks. */
#define SEAM_CUDA_KEEP_FIRST(first, expr)                                                 \
    do {                                                                                  \
        cudaError_t e_keep_ = (expr);                                                     \
        if (e_keep_ != cudaSuccess && (first) == SEAM_OK)                                 \
            (first) = seam_fail_cuda((int)e_keep_, #expr, __FILE__, __LINE__, __func__);  \
    } while (0)

#define SEAM_CUBLAS_CHECK(expr)                                                           \
    do {                                                                                  \
        int e_blas_ = (int)(expr);                                                        \
        if (e_blas_ != 0)                                                                 \
            return seam_fail_cublas(e_blas_, #expr, __FILE__, __LINE__, __func__);        \
    } while (0)

#endif
