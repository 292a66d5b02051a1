/* Internal layout of seam_context. */
#ifndef SEAM_CONTEXT_IMPL_H
#define SEAM_CONTEXT_IMPL_H

#include <cuda_runtime_api.h>

#include "seam/context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Offsets (in int32 elements) of each array in the batch block; host staging and device
 * copy share the layout, so one copy moves a whole batch. The page table is last, so a
 * batch copies only up to its last used row. */
typedef struct seam_batch_layout {
    size_t counts, seq_lens, extend_lens, prefix_lens, cu_seqlens_q, cu_seqlens_k, nextn_ctx_lens;
    size_t positions, out_cache_loc, row_to_req, topk_lengths, topk_row_starts, page_table;
    size_t total; /* elements, with the page table at its capacity */
} seam_batch_layout;

struct seam_context {
    seam_context_params params;
    seam_config config;
    int capture_sizes[SEAM_MAX_CAPTURE_SIZES];
    int num_capture_sizes;
    seam_batch_layout layout;
    int max_pages_per_req;

    int has_device;
    cudaStream_t stream;
    int owns_stream;
    int32_t *device_block;
    int32_t *staging[2];        /* pinned (host context: malloc) */
    cudaEvent_t copied[2];      /* recorded after the copy out of staging[i] */
    int copy_pending[2];
    int current;                /* staging buffer holding the current batch */
    seam_batch_view host_view;  /* into staging[current] */
    seam_batch_view device_view;
    void *workspace;
};

#ifdef __cplusplus
}
#endif

#endif
