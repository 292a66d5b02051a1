/* Shared by the C benchmarks: the helper kernels of tools/bench_kernels.cu and the checks
 * that end a benchmark on the first failed CUDA or seam call (a benchmark has nothing to
 * recover; it must not print numbers after an error). */
#ifndef SEAM_BENCH_UTIL_H
#define SEAM_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include <cuda_runtime_api.h>

#include "seam.h"

/* Fill n floats with data of the given kind (see tools/bench_kernels.cu). */
int bench_fill(float *p, size_t n, int kind, uint32_t seed, cudaStream_t s);
/* Read bytes once (measures read bandwidth); the sum lands in *sink. */
int bench_read(const void *p, size_t bytes, float *sink, cudaStream_t s);
/* Keep the GPU busy for ns so the host can queue timed work ahead of it. */
int bench_spin(long long ns, cudaStream_t s);

#define CK(expr)                                                                             \
    do {                                                                                     \
        cudaError_t e_ = (cudaError_t)(expr);                                                \
        if (e_ != cudaSuccess) {                                                             \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr,                    \
                    cudaGetErrorString(e_));                                                 \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)
#define SK(expr)                                                                             \
    do {                                                                                     \
        seam_status s_ = (expr);                                                             \
        if (s_ != SEAM_OK) {                                                                 \
            fprintf(stderr, "%s: %s: %s\n", #expr, seam_status_string(s_), seam_last_error()); \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

#endif
