/* seam_context: one device, one stream, and static device buffers holding the batch and the
 * indexer metadata. Captured CUDA graphs read these buffers, so every replay sees the values
 * of the latest seam_context_set_batch(). Device pointers never move after creation.
 *
 * Sizes are fixed at creation. set_batch validates everything on the host first (a bad batch
 * returns a named error and leaves the context as it was), derives the per-token metadata,
 * then updates the device buffers with one async host-to-device copy from pinned staging
 * memory. Staging is double-buffered: the host may prepare batch N+1 while the GPU runs
 * batch N; set_batch waits only when the buffer it would overwrite is still being copied.
 *
 * A context created with device = SEAM_DEVICE_HOST has no GPU state: set_batch validates and
 * derives the host view, and anything that needs the GPU returns SEAM_ERR_NO_DEVICE. Tools
 * use it to plan without a GPU. */
#ifndef SEAM_CONTEXT_H
#define SEAM_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "seam/export.h"
#include "seam/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct seam_context seam_context;

#define SEAM_DEVICE_HOST (-1)
#define SEAM_MAX_NEXT_N 4

typedef struct seam_context_params {
    size_t struct_size;
    int device;           /* CUDA ordinal, or SEAM_DEVICE_HOST */
    int max_tokens;       /* tokens in one forward (also the largest bucket it may use) */
    int max_batch;        /* requests in one forward */
    int max_context;      /* tokens per request, prefix included */
    int num_layers;       /* layers the per-layer state (e.g. top-k digests) is sized for */
    int page_size;        /* cache page size: 1 (page table maps token -> slot) or 64 */
    int max_next_n;       /* speculative tokens per request in target-verify, 1..4 */
    size_t workspace_bytes; /* device scratch for ops (top-k cross-block state, ...) */
    seam_stream stream;   /* borrowed stream to run on; NULL: the context creates its own,
                             a blocking stream (ordered with the legacy default stream) */
    const seam_config *config; /* copied; NULL: seam_config_from_env() */
} seam_context_params;

#define SEAM_CONTEXT_PARAMS_INITIALIZER                                                  \
    { sizeof(seam_context_params), 0, 4096, 64, 163840, 61, 1, 1, (size_t)64 << 20, NULL, NULL }

SEAM_API seam_status seam_context_create(seam_context **out, const seam_context_params *params);
/* Frees every buffer the context owns; a borrowed stream is left alone. Accepts NULL. */
SEAM_API seam_status seam_context_destroy(seam_context *ctx);

typedef enum seam_forward_mode {
    SEAM_FORWARD_IDLE = 0,          /* no tokens (a DP rank with nothing to do) */
    SEAM_FORWARD_EXTEND = 1,        /* prefill: extend_lens new tokens after a cached prefix */
    SEAM_FORWARD_DECODE = 2,        /* one new token per request */
    SEAM_FORWARD_TARGET_VERIFY = 3  /* next_n speculative tokens per request */
} seam_forward_mode;

/* One forward's batch, as the engine's scheduler knows it. Arrays are host memory and are
 * copied; the caller may reuse them after the call. */
typedef struct seam_batch {
    size_t struct_size;
    seam_forward_mode mode;
    int batch_size;
    const int32_t *seq_lens;      /* [batch] tokens of the request after this forward */
    const int32_t *extend_lens;   /* [batch] new tokens this forward; NULL: 1 (decode) or
                                     next_n (target-verify) */
    const int32_t *positions;     /* [tokens] NULL: prefix_len + i, per request */
    const int32_t *out_cache_loc; /* [tokens] cache slot each new token is stored at */
    const int32_t *page_table;    /* [batch][page_table_stride] page (or slot when page_size
                                     is 1) of each page of the request */
    int page_table_stride;        /* entries per request row; >= pages of its seq_len */
    int next_n;                   /* target-verify: tokens per request (1..max_next_n) */
} seam_batch;

#define SEAM_BATCH_INITIALIZER { sizeof(seam_batch), SEAM_FORWARD_IDLE, 0, NULL, NULL, NULL, NULL, NULL, 0, 1 }

/* Scalars of the current batch; also on the device as int32 [SEAM_COUNT_NUM] so captured
 * kernels read the real counts on every replay. */
enum seam_batch_count {
    SEAM_COUNT_MODE = 0,
    SEAM_COUNT_BATCH_SIZE,
    SEAM_COUNT_TOKENS,        /* real new tokens */
    SEAM_COUNT_PADDED_TOKENS, /* the bucket the forward runs at (== tokens when eager) */
    SEAM_COUNT_NEXT_N,
    SEAM_COUNT_TOPK_ROWS,     /* rows of the indexer's top-k (== tokens) */
    SEAM_COUNT_MAX_SEQ_LEN,
    SEAM_COUNT_PAGE_TABLE_STRIDE, /* entries per row of page_table for this batch */
    SEAM_COUNT_NUM
};

/* The batch metadata, derived per token by set_batch. The same layout describes the host
 * copy (readable by eager split ops) and the device copy (read by kernels). Arrays sized by
 * the context's maxima; entries past the current counts are padding: positions 0,
 * out_cache_loc -1, topk lengths 0, row_to_req 0. */
typedef struct seam_batch_view {
    int32_t *counts;          /* [SEAM_COUNT_NUM] */
    int32_t *seq_lens;        /* [max_batch] */
    int32_t *extend_lens;     /* [max_batch] */
    int32_t *prefix_lens;     /* [max_batch] seq_len - extend_len */
    int32_t *cu_seqlens_q;    /* [max_batch + 1] prefix sums of extend_lens */
    int32_t *cu_seqlens_k;    /* [max_batch + 1] prefix sums of seq_lens */
    int32_t *positions;       /* [max_tokens] */
    int32_t *out_cache_loc;   /* [max_tokens] */
    int32_t *row_to_req;      /* [max_tokens] request of each token / top-k row */
    int32_t *topk_lengths;    /* [max_tokens] keys each query token sees (causal) */
    int32_t *topk_row_starts; /* [max_tokens] row start in the ragged key layout
                                 (cu_seqlens_k of the request) */
    int32_t *nextn_ctx_lens;  /* [max_batch][max_next_n] keys query j of request b sees */
    int32_t *page_table;      /* [batch][counts[SEAM_COUNT_PAGE_TABLE_STRIDE]], the batch's
                                 own stride, so only its rows are copied; capacity
                                 max_batch * ceil(max_context / page_size). Kernels in graphs
                                 read the stride from the device counts. */
} seam_batch_view;

SEAM_API seam_status seam_context_set_batch(seam_context *ctx, const seam_batch *batch);

/* Validate a batch against a context's limits without a context or a GPU: the same checks
 * set_batch makes, with the same messages. */
SEAM_API seam_status seam_batch_check(const seam_context_params *params, const seam_batch *batch);

/* Host copy of the current batch (valid until the next set_batch). */
SEAM_API seam_status seam_context_batch_host(const seam_context *ctx, const seam_batch_view **view);
/* Device copy: pointers fixed for the life of the context. SEAM_ERR_NO_DEVICE for a host
 * context. */
SEAM_API seam_status seam_context_batch_device(const seam_context *ctx, const seam_batch_view **view);

SEAM_API seam_status seam_context_stream(const seam_context *ctx, seam_stream *stream);
SEAM_API seam_status seam_context_device(const seam_context *ctx, int *device);
SEAM_API const seam_config *seam_context_config(const seam_context *ctx);
SEAM_API const seam_context_params *seam_context_params_of(const seam_context *ctx);
/* The device scratch buffer (workspace_bytes). Ops that need cross-block state take it from
 * here, never allocate; kernels reset what they use. */
SEAM_API seam_status seam_context_workspace(const seam_context *ctx, void **ptr, size_t *bytes);
/* Wait for the context's stream. */
SEAM_API seam_status seam_context_synchronize(seam_context *ctx);

#ifdef __cplusplus
}
#endif

#endif
