/* Graph-safe top-k over rows of scores (the DSA indexer's selection of k = 2048 cached
 * tokens per query).
 *
 * Semantics
 * - scores: fp32 [rows, stride] row-major, device memory. Row i's valid columns are
 *   [row_starts[i], row_starts[i] + lengths[i]) (row_starts NULL: 0); returned indices are
 *   relative to the row start. lengths and row_starts are device memory, read by the kernel,
 *   so a captured graph sees new values on every replay. Values read on the device are
 *   clamped, never trusted: start into [0, stride], length into [0, stride - start] (a
 *   negative length is 0), so a bad entry cannot make the kernel read outside its row.
 * - Output int32 [rows, k]. A row with length <= k returns 0..length-1 then -1; length 0
 *   returns all -1.
 * - Order of values: one total order, from low to high:
 *     NaN (any payload) < -inf < negative finite < -0.0 < +0.0 < positive finite < +inf.
 *   (-0.0 and +0.0 are distinct: the order of the IEEE bit patterns, sign-flipped.) The CPU
 *   reference in the tests uses the same order.
 * - Default mode: any correct top-k set, order of the k indices unspecified.
 * - Deterministic mode (deterministic = 1 or tie_break small/large): among values equal to
 *   the k-th largest, keep the smallest (SMALL, also the choice of tie_break NONE) or
 *   largest (LARGE) indices; output in ascending index order. The output is bitwise
 *   identical whatever the rows around it, the row count, the stride, and eager vs replay.
 * - Transforms, applied to every index that is not -1:
 *     SEAM_TOPK_TRANSFORM_PAGED:  out[i][j] = page_table[row_to_req[i] * stride + idx]
 *                                 (page size 1: token -> cache slot)
 *     SEAM_TOPK_TRANSFORM_RAGGED: out[i][j] = idx + offsets[i]
 *   (PAGED: each request's page-table row must hold at least the lengths of its rows.)
 *
 * Backends: SEAM_TOPK_RADIX (radix select, no workspace: cross-block state lives in
 * thread-block-cluster shared memory) and SEAM_TOPK_SORT (CUB segmented sort, needs
 * rows * stride <= INT_MAX and a workspace of about 16 bytes per score). Both support every
 * mode and transform.
 *
 * Graph safety: the launch configuration depends only on rows, stride, k, the mode and the
 * current device (how many thread-block clusters it runs at once, read once per device),
 * never on lengths or values; no allocation (the sort backend's scratch comes from the
 * caller's workspace, sized by seam_topk_workspace_size; radix needs none); one call is a
 * fixed sequence of launches. */
#ifndef SEAM_TOPK_H
#define SEAM_TOPK_H

#include <stddef.h>
#include <stdint.h>

#include "seam/export.h"
#include "seam/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SEAM_TOPK_MAX_K 2048

typedef enum seam_topk_transform {
    SEAM_TOPK_TRANSFORM_NONE = 0,
    SEAM_TOPK_TRANSFORM_PAGED = 1,
    SEAM_TOPK_TRANSFORM_RAGGED = 2
} seam_topk_transform;

typedef struct seam_topk_params {
    size_t struct_size;
    int rows;                     /* rows of scores and out (the bucket size in a graph) */
    int stride;                   /* columns between rows of scores */
    int k;                        /* 1..SEAM_TOPK_MAX_K */
    const float *scores;          /* [rows, stride] */
    const int32_t *lengths;       /* [rows] device */
    const int32_t *row_starts;    /* [rows] device, or NULL */
    int32_t *out;                 /* [rows, k] device */
    seam_topk_backend backend;
    int deterministic;            /* 0/1; forced on by a tie_break other than NONE */
    seam_topk_tie_break tie_break;
    seam_topk_transform transform;
    const int32_t *page_table;    /* PAGED: [requests, page_table_stride] device */
    int page_table_stride;        /* PAGED: used when page_table_stride_device is NULL */
    const int32_t *page_table_stride_device; /* PAGED: device int32 stride (the context keeps
                                                it in counts[SEAM_COUNT_PAGE_TABLE_STRIDE]) */
    const int32_t *row_to_req;    /* PAGED: [rows] device */
    const int32_t *offsets;       /* RAGGED: [rows] device */
    void *workspace;              /* device scratch, >= seam_topk_workspace_size() bytes */
    size_t workspace_bytes;
} seam_topk_params;

#define SEAM_TOPK_PARAMS_INITIALIZER                                                       \
    { sizeof(seam_topk_params), 0, 0, 0, NULL, NULL, NULL, NULL, SEAM_TOPK_RADIX, 0,        \
      SEAM_TIE_BREAK_NONE, SEAM_TOPK_TRANSFORM_NONE, NULL, 0, NULL, NULL, NULL, NULL, 0 }

/* Workspace bytes a call with these shapes needs (0 is a valid answer). */
SEAM_API seam_status seam_topk_workspace_size(int rows, int stride, int k,
                                              seam_topk_backend backend, size_t *bytes);

/* Launch the top-k (and its fused transform) on stream. Checks every argument first. */
SEAM_API seam_status seam_topk(const seam_topk_params *params, seam_stream stream);

#ifdef __cplusplus
}
#endif

#endif
