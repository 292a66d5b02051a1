/* The DSA indexer's kernels: the fp8 key cache store, the index logits (ragged prefill, paged
 * decode, NextN target-verify in its native and expanded layouts), and the index top-k (logits
 * -> seam_topk -> cache slots or ragged indices). The ops binding them to the registry are
 * indexer_k_store, indexer_logits_ragged, indexer_logits_paged, index_topk and
 * k_cache_and_topk (docs/design-indexer.md).
 *
 * Shapes and formats (DeepSeek V3.2: 64 heads x 128 dims)
 * - Keys are stored as fp8 e4m3 with one fp32 scale per key: k = fp8 * scale. The cache is
 *   two arrays: fp8 [pages, page_size, 128] and fp32 scales [pages, page_size]; a cache slot is
 *   page * page_size + offset (page_size 1 or 64), so slot s lives at byte s * 128 and scale s.
 * - Queries are fp8 e4m3 [rows, heads, 128] (any per-token query scale is folded into the
 *   weights by the caller), weights fp32 [rows, heads].
 * - logit(t, s) = sum_h w[t,h] * relu(q[t,h,:] . k[s,:]) * k_scale[s], computed with fp32
 *   accumulation (fp8 tensor cores: the products are exact, the sums are fp32).
 * - Logits are fp32 [rows, stride]. Only the columns of a row's valid key range are written;
 *   the other columns keep whatever they held. Top-k reads only the valid columns (pass the
 *   same row_starts / lengths), so nothing needs clearing.
 *
 * Graph safety: every launcher's launch shape depends only on its shape arguments (rows,
 * stride, heads, next_n), never on lengths, counts or page-table values, which the kernels
 * read from device memory. No launcher allocates or synchronizes. */
#ifndef SEAM_INDEXER_H
#define SEAM_INDEXER_H

#include <stddef.h>
#include <stdint.h>

#include "seam/context.h"
#include "seam/export.h"
#include "seam/runtime.h"
#include "seam/topk.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SEAM_INDEXER_HEAD_DIM 128
#define SEAM_INDEXER_MAX_HEADS 64
#define SEAM_INDEXER_FP8_MAX 448.0f /* largest finite e4m3 value */

/* Which logits kernel runs. AUTO picks WGMMA when heads is 64 on a compute capability 9.0
 * device, else MMA when heads is a multiple of 16, else SIMT. */
typedef enum seam_indexer_algo {
    SEAM_INDEXER_ALGO_AUTO = 0,
    SEAM_INDEXER_ALGO_MMA = 1,  /* fp8 tensor cores (mma.sync e4m3 m16n8k32, fp32 accumulate) */
    SEAM_INDEXER_ALGO_SIMT = 2, /* CUDA cores: the simple reference version */
    SEAM_INDEXER_ALGO_WGMMA = 3 /* Hopper warpgroup MMA (wgmma m64n128k32 e4m3); heads == 64 and
                                   sm_90 only (SEAM_ERR_UNSUPPORTED elsewhere) */
} seam_indexer_algo;

/* ---- k-cache store ---------------------------------------------------------------------- */

/* key bf16 [tokens, 128] -> fp8 e4m3 with one fp32 scale per token:
 *   amax = max_d |key[t,d]|, scale = amax / 448 (scale = 1 when amax is 0),
 *   cache[slot, d] = e4m3_rne_satfinite(key[t,d] * (448 / amax)), scales[slot] = scale
 * with slot = out_cache_loc[t]. Row t is written only when t < *num_tokens_device (the real
 * token count: a graph captured at a bucket size never writes its padded rows) and
 * 0 <= slot < num_slots. Non-finite keys give unspecified (but in-bounds) results. */
typedef struct seam_indexer_k_store_params {
    size_t struct_size;
    int tokens;                       /* rows of key (the bucket size in a graph) */
    const void *key;                  /* bf16 [tokens, 128] device */
    const int32_t *out_cache_loc;     /* [tokens] device: slot of each token, < 0 skips it */
    const int32_t *num_tokens_device; /* device int32 real token count; NULL: tokens */
    void *k_cache;                    /* fp8 [num_slots, 128] device */
    float *k_scales;                  /* [num_slots] device */
    int64_t num_slots;                /* pages * page_size */
} seam_indexer_k_store_params;

#define SEAM_INDEXER_K_STORE_PARAMS_INITIALIZER \
    { sizeof(seam_indexer_k_store_params), 0, NULL, NULL, NULL, NULL, NULL, 0 }

SEAM_API seam_status seam_indexer_k_store(const seam_indexer_k_store_params *params,
                                          seam_stream stream);

/* ---- logits, prefill (ragged keys) ---------------------------------------------------------- */

/* Keys are one contiguous fp8 [keys, 128] array (the requests' keys, prefix included, one
 * request after the other). Row t sees keys s in [row_starts[t], row_starts[t] + lengths[t])
 * (ks = row_starts, ke = row_starts + lengths), clipped to [0, min(keys, stride)), and
 * logits[t, s] is written at the absolute column s. Top-k then takes row_starts and lengths
 * as they are, and its ragged transform with offsets = row_starts gives key indices. */
typedef struct seam_indexer_logits_ragged_params {
    size_t struct_size;
    int rows;                    /* query tokens (the bucket size in a graph) */
    int heads;                   /* 1..64 */
    int keys;                    /* rows of k */
    int stride;                  /* columns of logits, >= the largest column written */
    const void *q;               /* fp8 [rows, heads, 128] */
    const float *weights;        /* [rows, heads] */
    const void *k;               /* fp8 [keys, 128] */
    const float *k_scales;       /* [keys] */
    const int32_t *row_starts;   /* [rows] device */
    const int32_t *lengths;      /* [rows] device; 0 for padded rows */
    float *logits;               /* [rows, stride] */
    seam_indexer_algo algo;
} seam_indexer_logits_ragged_params;

#define SEAM_INDEXER_LOGITS_RAGGED_PARAMS_INITIALIZER                                       \
    { sizeof(seam_indexer_logits_ragged_params), 0, 64, 0, 0, NULL, NULL, NULL, NULL, NULL,   \
      NULL, NULL, SEAM_INDEXER_ALGO_AUTO }

SEAM_API seam_status seam_indexer_logits_ragged(const seam_indexer_logits_ragged_params *params,
                                                seam_stream stream);

/* ---- logits, decode and target-verify (paged keys) ------------------------------------------ */

/* Keys come from the paged cache through a block table. Queries form `groups` groups of
 * next_n rows (row = group * next_n + j); all rows of a group belong to one request and
 * share its block-table row, table_row = row_to_req ? row_to_req[group] : group. Row j of
 * group b sees the key positions p in [0, context_lens[b * context_lens_stride + j]) (clipped
 * to stride and to the table's capacity), reads key p from slot
 *   block_table[table_row * table_stride + p / page_size] * page_size + p % page_size
 * and writes logits[b * next_n + j, p]. A page id outside [0, num_pages) gives -inf.
 *
 * - decode: next_n = 1, groups = requests (or tokens with row_to_req), context_lens = the
 *   sequence lengths, context_lens_stride = 1.
 * - NextN native: q [B, next_n, heads, 128], context_lens [B][context_lens_stride] with
 *   entry j = ctx_len[b] - next_n + j + 1. A group's keys are read once for all next_n
 *   queries (the union of their ranges).
 * - NextN expanded: the same call with next_n = 1 and groups = B * next_n (q [B*next_n, 1,
 *   heads, 128]), a block table repeated per query (or row_to_req), context_lens flattened.
 *   Same results; every query reads its keys again.
 * The table stride is read from table_stride_device when it is set (the context keeps the
 * batch's stride in counts[SEAM_COUNT_PAGE_TABLE_STRIDE]), else table_stride. */
typedef struct seam_indexer_logits_paged_params {
    size_t struct_size;
    int groups;                        /* query groups (requests, or tokens when next_n = 1) */
    int next_n;                        /* rows per group, 1..SEAM_MAX_NEXT_N */
    int heads;                         /* 1..64 */
    int stride;                        /* columns of logits: the largest context it may see */
    const void *q;                     /* fp8 [groups * next_n, heads, 128] */
    const float *weights;              /* [groups * next_n, heads] */
    const void *k_cache;               /* fp8 [num_pages, page_size, 128] */
    const float *k_scales;             /* [num_pages, page_size] */
    int64_t num_pages;
    int page_size;                     /* 1 or 64 */
    const int32_t *block_table;        /* [*, table_stride] device */
    int table_stride;                  /* used when table_stride_device is NULL */
    const int32_t *table_stride_device;
    const int32_t *row_to_req;         /* [groups] device, or NULL (identity) */
    const int32_t *context_lens;       /* [groups][context_lens_stride] device */
    int context_lens_stride;           /* >= next_n; 0 means next_n */
    float *logits;                     /* [groups * next_n, stride] */
    seam_indexer_algo algo;
    /* Request-grouped rows (optional): when cu_seqlens_q is set, the rows are the requests'
     * query tokens one request after the other (request i owns rows [cu_seqlens_q[i],
     * cu_seqlens_q[i + 1]) and block-table row i; row_to_req is not used), groups is the row
     * count, next_n must be 1, and row r sees positions [0, context_lens[r]). Up to 8
     * consecutive rows of one request share every key load: a prefill request's new tokens,
     * the next_n queries of a verify request (the native NextN saving, from one flat layout),
     * a decode request's single token (one-row requests run in a launch of their own, one
     * row per CTA). The request count is read from num_requests_device and clipped to
     * max_requests, which bounds the grids (min(rows, max_requests) one-row groups, and
     * ceil(rows / 8) + min(max_requests, rows / 2) groups of the requests with more rows).
     * Offsets are clamped into [0, rows]; offsets that decrease leave rows unwritten. */
    const int32_t *cu_seqlens_q;       /* [requests + 1] device */
    const int32_t *num_requests_device;
    int max_requests;
} seam_indexer_logits_paged_params;

#define SEAM_INDEXER_LOGITS_PAGED_PARAMS_INITIALIZER                                        \
    { sizeof(seam_indexer_logits_paged_params), 0, 1, 64, 0, NULL, NULL, NULL, NULL, 0, 1,    \
      NULL, 0, NULL, NULL, NULL, 0, NULL, SEAM_INDEXER_ALGO_AUTO, NULL, NULL, 0 }

SEAM_API seam_status seam_indexer_logits_paged(const seam_indexer_logits_paged_params *params,
                                               seam_stream stream);

/* ---- index top-k: logits -> seam_topk -> slots / ragged indices / positions ------------------ */

typedef enum seam_indexer_topk_output {
    SEAM_INDEXER_TOPK_SLOTS = 0,     /* cache slots through the block table (decode, verify,
                                        prefill over the paged cache) */
    SEAM_INDEXER_TOPK_RAGGED = 1,    /* position + offsets[row] (prefill: index into the ragged
                                        key array) */
    SEAM_INDEXER_TOPK_POSITIONS = 2  /* positions relative to the row start */
} seam_indexer_topk_output;

/* The k largest logits of each row, as the indexer hands them to sparse attention. Row i's
 * valid columns are [row_starts[i], row_starts[i] + lengths[i]) (row_starts NULL: 0, the
 * paged logits' layout; the context's topk_row_starts for ragged logits); the positions
 * found (relative to the row start, -1 past min(k, length)) are then mapped:
 *   SLOTS:  block_table[row_to_req[i] * table_stride + p / page_size] * page_size
 *           + p % page_size (seam_topk's fused PAGED transform for page size 1 when fuse is
 *           set, seam_indexer_positions_to_slots otherwise)
 *   RAGGED: p + offsets[i] (offsets NULL: row_starts)
 * backend, deterministic and tie_break are seam_topk's (see seam/topk.h); the workspace must
 * hold seam_topk_workspace_size(rows, stride, k, backend) bytes. Launch shape: rows, stride
 * and k only. */
typedef struct seam_indexer_topk_params {
    size_t struct_size;
    int rows, stride, k;
    const float *logits;               /* [rows, stride] device */
    const int32_t *lengths;            /* [rows] device */
    const int32_t *row_starts;         /* [rows] device, or NULL */
    int32_t *out;                      /* [rows, k] device */
    seam_indexer_topk_output output;
    int page_size;                     /* SLOTS: 1 or 64 */
    const int32_t *block_table;        /* SLOTS */
    int table_stride;                  /* SLOTS: used when table_stride_device is NULL */
    const int32_t *table_stride_device;
    const int32_t *row_to_req;         /* SLOTS: [rows] device */
    const int32_t *offsets;            /* RAGGED: [rows] device, or NULL (row_starts) */
    seam_topk_backend backend;
    int deterministic;
    seam_topk_tie_break tie_break;
    int fuse;                          /* 1: fused transform where seam_topk has one */
    void *workspace;
    size_t workspace_bytes;
} seam_indexer_topk_params;

#define SEAM_INDEXER_TOPK_PARAMS_INITIALIZER                                                 \
    { sizeof(seam_indexer_topk_params), 0, 0, 0, NULL, NULL, NULL, NULL,                       \
      SEAM_INDEXER_TOPK_SLOTS, 1, NULL, 0, NULL, NULL, NULL, SEAM_TOPK_RADIX, 0,               \
      SEAM_TIE_BREAK_NONE, 1, NULL, 0 }

SEAM_API seam_status seam_indexer_topk(const seam_indexer_topk_params *params, seam_stream stream);

/* ---- positions -> cache slots ------------------------------------------------------------- */

/* Maps top-k outputs that are key positions of a request to cache slots, in place:
 *   idx[i][j] = block_table[row_to_req[i] * table_stride + p / page_size] * page_size
 *               + p % page_size            for p = idx[i][j] >= 0 (-1 stays -1).
 * For page_size 1 seam_topk's fused PAGED transform does the same; index top-k uses this for
 * page size 64. rows is a shape (the bucket); row_to_req NULL means identity. */
typedef struct seam_indexer_slots_params {
    size_t struct_size;
    int rows;
    int k;
    int32_t *indices;                  /* [rows, k] device, in place */
    int page_size;
    const int32_t *block_table;
    int table_stride;
    const int32_t *table_stride_device;
    const int32_t *row_to_req;
} seam_indexer_slots_params;

#define SEAM_INDEXER_SLOTS_PARAMS_INITIALIZER \
    { sizeof(seam_indexer_slots_params), 0, 0, NULL, 1, NULL, 0, NULL, NULL }

SEAM_API seam_status seam_indexer_positions_to_slots(const seam_indexer_slots_params *params,
                                                     seam_stream stream);

#ifdef __cplusplus
}
#endif

#endif
