/* Shared by the GPU test programs: a CUDA call that fails the test with CUDA's message, and
 * device allocation for test data. Include after tests/test_util.h. */
#ifndef SEAM_TEST_GPU_UTIL_H
#define SEAM_TEST_GPU_UTIL_H

#include <cuda_runtime_api.h>

#define CUDA_OK(expr)                                                                         \
    do {                                                                                      \
        cudaError_t e_ = (expr);                                                              \
        if (e_ != cudaSuccess) fail_msg("%s: %s", #expr, cudaGetErrorString(e_));             \
    } while (0)

/* Device memory for test data (at least one byte, so empty cases still get a pointer). */
static inline void *dev_alloc(size_t bytes) {
    void *p = NULL;
    CUDA_OK(cudaMalloc(&p, bytes ? bytes : 1));
    return p;
}

#endif
