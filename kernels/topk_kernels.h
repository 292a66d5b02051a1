/* Internal: what the two top-k backends (topk_radix.cu, topk_sort.cu) share: the checked,
 * resolved arguments of one call, the backends' entry points, and (for CUDA) the device
 * helpers both use for the value order, the row extent and the fused output transform. */
#ifndef SEAM_TOPK_KERNELS_H
#define SEAM_TOPK_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#include "seam/topk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One checked call: seam_topk resolves the params into this (deterministic folded with the
 * tie-break, the page-table stride chosen) and hands it to a backend. */
typedef struct seam_topk_args {
    int rows, stride, k;
    const float *scores;
    const int32_t *lengths, *row_starts;
    int32_t *out;
    int deterministic; /* ascending-index output with the tie rule below */
    int tie_large;     /* deterministic: keep the largest indices among ties */
    int transform;     /* seam_topk_transform */
    const int32_t *page_table;
    int page_table_stride;
    const int32_t *page_table_stride_device;
    const int32_t *row_to_req, *offsets;
} seam_topk_args;

seam_status seam_topk_radix_run(const seam_topk_args *a, cudaStream_t stream);

/* The sort backend's scratch: keys and values in and out, segment offsets, CUB's temp. */
seam_status seam_topk_sort_workspace(int rows, int stride, size_t *bytes);
seam_status seam_topk_sort_run(const seam_topk_args *a, void *workspace, size_t workspace_bytes,
                               cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#ifdef __CUDACC__
/* Order-preserving key of a float: larger key = larger value in the order of seam/topk.h.
 * Positive floats get the sign bit set, negative ones are bit-inverted (so -0.0 sits just
 * below +0.0), and every NaN maps to 0, below -inf (0x007fffff). */
__device__ __forceinline__ uint32_t seam_topk_key(float f) {
    uint32_t u = __float_as_uint(f);
    uint32_t key = u ^ ((uint32_t)((int32_t)u >> 31) | 0x80000000u);
    return f == f ? key : 0u; /* four instructions: this runs once per element read */
}

/* Row i's valid columns [start, start + len), clamped into [0, stride) so a bad length or
 * start read from device memory can never make a kernel read outside its row. */
__device__ __forceinline__ void seam_topk_row_extent(const seam_topk_args &a, int row, int *start,
                                                     int *len) {
    int s = a.row_starts ? a.row_starts[row] : 0;
    s = s < 0 ? 0 : (s > a.stride ? a.stride : s);
    int n = a.lengths[row];
    n = n < 0 ? 0 : (n > a.stride - s ? a.stride - s : n);
    *start = s;
    *len = n;
}

/* Where one row's results go, with its fused transform resolved once per row. */
struct seam_topk_out_row {
    int32_t *out;
    int transform;
    const int32_t *page_row; /* PAGED: this row's request's page-table row */
    int32_t offset;          /* RAGGED */

    __device__ __forceinline__ void write(int pos, int idx) const {
        int32_t v = idx;
        if (idx >= 0) {
            if (transform == SEAM_TOPK_TRANSFORM_PAGED) v = page_row[idx];
            else if (transform == SEAM_TOPK_TRANSFORM_RAGGED) v = idx + offset;
        }
        out[pos] = v;
    }
};

__device__ __forceinline__ seam_topk_out_row seam_topk_out_row_make(const seam_topk_args &a,
                                                                    int row) {
    seam_topk_out_row o;
    o.out = a.out + (size_t)row * a.k;
    o.transform = a.transform;
    o.page_row = NULL;
    o.offset = 0;
    if (a.transform == SEAM_TOPK_TRANSFORM_PAGED) {
        int pts = a.page_table_stride_device ? *a.page_table_stride_device : a.page_table_stride;
        o.page_row = a.page_table + (size_t)a.row_to_req[row] * (size_t)pts;
    } else if (a.transform == SEAM_TOPK_TRANSFORM_RAGGED) {
        o.offset = a.offsets[row];
    }
    return o;
}
#endif

#endif
