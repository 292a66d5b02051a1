/* The DSA indexer ops: k-cache store, ragged and paged logits, index top-k, and the split op
 * k_cache_and_topk (store + logits + top-k for one layer).
 *
 * Every batch value comes from the context: the device view for captured kernels
 * (out_cache_loc, cu_seqlens_q and counts[SEAM_COUNT_BATCH_SIZE], row_to_req, topk_lengths,
 * topk_row_starts, nextn_ctx_lens, page_table and its stride in
 * counts[SEAM_COUNT_PAGE_TABLE_STRIDE], the real token count in counts[SEAM_COUNT_TOKENS]);
 * the host view only in k_cache_and_topk's eager run, which sizes its launches by the real
 * token count. Launch shapes otherwise come from the call's num_tokens (the bucket) and the
 * tensors' shapes. */
#include "ops/builtin_ops.h"

#include "ops/op_args.h"
#include "runtime/error_impl.h"
#include "seam/indexer.h"
#include "seam/topk.h"

#define FN "seam_op_run"

/* Output of index_topk / k_cache_and_topk (seam_indexer_topk_output). */
enum index_output {
    OUTPUT_SLOTS = SEAM_INDEXER_TOPK_SLOTS,
    OUTPUT_RAGGED = SEAM_INDEXER_TOPK_RAGGED,
    OUTPUT_POSITIONS = SEAM_INDEXER_TOPK_POSITIONS
};
/* Column layout of the logits index_topk reads. */
enum logits_layout { LAYOUT_PAGED = 0, LAYOUT_RAGGED = 1 };

/* The context's device batch arrays hold max_tokens rows: a call shaped for more would read
 * past them (graph runs never do; direct calls might). */
static seam_status device_view(const seam_op_call *call, seam_context *ctx,
                               const seam_batch_view **v) {
    SEAM_CHECK_PTR(ctx);
    const seam_context_params *p = seam_context_params_of(ctx);
    if (call->num_tokens > p->max_tokens)
        return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_run",
                         "op '%s': num_tokens=%d exceeds the context's max_tokens=%d",
                         call->op->name, call->num_tokens, p->max_tokens);
    return seam_context_batch_device(ctx, v);
}

static int ctx_page_size(const seam_context *ctx) {
    const seam_context_params *p = seam_context_params_of(ctx);
    return p ? p->page_size : 0;
}

/* ---- argument checks ------------------------------------------------------------------- */

static seam_status expect_rows(const seam_op_call *call, int i, const char *what) {
    const seam_tensor *t = seam_op_tensor(call, i);
    if (t->shape[0] < call->num_tokens)
        return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check",
                         "op '%s': %s has %lld rows, fewer than num_tokens=%d", call->op->name, what,
                         (long long)t->shape[0], call->num_tokens);
    return SEAM_OK;
}

static seam_status expect_cache(const seam_op_call *call, int cache, int scales) {
    SEAM_TRY(seam_op_expect_tensor(call, cache, SEAM_DTYPE_FP8_E4M3, 3, 1));
    SEAM_TRY(seam_op_expect_dim(call, cache, 2, SEAM_INDEXER_HEAD_DIM));
    const seam_tensor *c = seam_op_tensor(call, cache);
    if (c->shape[1] != 1 && c->shape[1] != 64)
        return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check",
                         "op '%s': %s: page size shape[1]=%lld is not 1 or 64", call->op->name,
                         call->op->arg_names[cache], (long long)c->shape[1]);
    SEAM_TRY(seam_op_expect_tensor(call, scales, SEAM_DTYPE_F32, 2, 1));
    SEAM_TRY(seam_op_expect_dim(call, scales, 0, c->shape[0]));
    return seam_op_expect_dim(call, scales, 1, c->shape[1]);
}

/* q fp8 [T, H, 128] and weights f32 [T, H]; H in [1, 64]. */
static seam_status expect_queries(const seam_op_call *call, int q, int w) {
    SEAM_TRY(seam_op_expect_tensor(call, q, SEAM_DTYPE_FP8_E4M3, 3, 1));
    SEAM_TRY(seam_op_expect_dim(call, q, 2, SEAM_INDEXER_HEAD_DIM));
    const seam_tensor *qt = seam_op_tensor(call, q);
    if (qt->shape[1] < 1 || qt->shape[1] > SEAM_INDEXER_MAX_HEADS)
        return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check",
                         "op '%s': %s: heads shape[1]=%lld is not in [1, %d]", call->op->name,
                         call->op->arg_names[q], (long long)qt->shape[1], SEAM_INDEXER_MAX_HEADS);
    SEAM_TRY(expect_rows(call, q, call->op->arg_names[q]));
    SEAM_TRY(seam_op_expect_tensor(call, w, SEAM_DTYPE_F32, 2, 1));
    SEAM_TRY(seam_op_expect_dim(call, w, 0, qt->shape[0]));
    return seam_op_expect_dim(call, w, 1, qt->shape[1]);
}

static seam_status expect_logits(const seam_op_call *call, int i) {
    SEAM_TRY(seam_op_expect_tensor(call, i, SEAM_DTYPE_F32, 2, 1));
    const seam_tensor *t = seam_op_tensor(call, i);
    if (t->shape[1] < 1 || t->shape[1] > INT32_MAX)
        return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check",
                         "op '%s': %s: stride shape[1]=%lld is not in [1, 2^31)", call->op->name,
                         call->op->arg_names[i], (long long)t->shape[1]);
    return expect_rows(call, i, call->op->arg_names[i]);
}

static seam_status expect_topk_out(const seam_op_call *call, int i) {
    SEAM_TRY(seam_op_expect_tensor(call, i, SEAM_DTYPE_I32, 2, 1));
    const seam_tensor *t = seam_op_tensor(call, i);
    if (t->shape[1] < 1 || t->shape[1] > SEAM_TOPK_MAX_K)
        return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check",
                         "op '%s': %s: k shape[1]=%lld is not in [1, %d]", call->op->name,
                         call->op->arg_names[i], (long long)t->shape[1], SEAM_TOPK_MAX_K);
    return expect_rows(call, i, call->op->arg_names[i]);
}

static seam_status expect_page_size(const seam_op_call *call, seam_context *ctx, int cache) {
    int64_t ps = seam_op_tensor(call, cache)->shape[1];
    if (ps != ctx_page_size(ctx))
        return seam_fail(SEAM_ERR_INVALID_ARG, FN,
                         "op '%s': %s page size %lld differs from the context's page_size=%d",
                         call->op->name, call->op->arg_names[cache], (long long)ps,
                         ctx_page_size(ctx));
    return SEAM_OK;
}

/* ---- shared launches --------------------------------------------------------------------- */

static seam_status run_store(const seam_op_call *call, int key, int cache, int scales, int tokens,
                             const seam_batch_view *dv, seam_stream stream) {
    const seam_tensor *c = seam_op_tensor(call, cache);
    seam_indexer_k_store_params p = SEAM_INDEXER_K_STORE_PARAMS_INITIALIZER;
    p.tokens = tokens;
    p.key = seam_op_tensor(call, key)->data;
    p.out_cache_loc = dv->out_cache_loc;
    p.num_tokens_device = dv->counts + SEAM_COUNT_TOKENS;
    p.k_cache = c->data;
    p.k_scales = (float *)seam_op_tensor(call, scales)->data;
    p.num_slots = c->shape[0] * c->shape[1];
    return seam_indexer_k_store(&p, stream);
}

/* Paged logits for `rows` query rows. next_n > 1 runs the native NextN layout: groups of
 * next_n rows per request with the 2-D nextn_ctx_lens. next_n = 1 runs request-grouped rows
 * (cu_seqlens_q, topk_lengths): every mode's tokens, up to 8 rows of a request sharing each
 * key load, so prefill tokens and verify queries read their keys once per group. */
static seam_status run_paged_logits(const seam_op_call *call, int q, int w, int cache, int scales,
                                    int logits, int rows, int next_n, seam_context *ctx,
                                    const seam_batch_view *dv, seam_stream stream) {
    const seam_tensor *c = seam_op_tensor(call, cache), *lt = seam_op_tensor(call, logits);
    const seam_context_params *cp = seam_context_params_of(ctx);
    seam_indexer_logits_paged_params p = SEAM_INDEXER_LOGITS_PAGED_PARAMS_INITIALIZER;
    p.next_n = next_n;
    p.groups = rows / next_n;
    p.heads = (int)seam_op_tensor(call, w)->shape[1];
    p.stride = (int)lt->shape[1];
    p.q = seam_op_tensor(call, q)->data;
    p.weights = (const float *)seam_op_tensor(call, w)->data;
    p.k_cache = c->data;
    p.k_scales = (const float *)seam_op_tensor(call, scales)->data;
    p.num_pages = c->shape[0];
    p.page_size = (int)c->shape[1];
    p.block_table = dv->page_table;
    p.table_stride_device = dv->counts + SEAM_COUNT_PAGE_TABLE_STRIDE;
    if (next_n > 1) {
        p.context_lens = dv->nextn_ctx_lens;
        p.context_lens_stride = cp->max_next_n;
    } else {
        p.cu_seqlens_q = dv->cu_seqlens_q;
        p.num_requests_device = dv->counts + SEAM_COUNT_BATCH_SIZE;
        p.max_requests = cp->max_batch;
        p.context_lens = dv->topk_lengths;
        p.context_lens_stride = 1;
    }
    p.logits = (float *)lt->data;
    return seam_indexer_logits_paged(&p, stream);
}

/* Top-k over `rows` rows of logits, then the output transform. */
static seam_status run_topk(const seam_op_call *call, int logits, int out, int rows, int layout,
                            int output, seam_context *ctx, const seam_batch_view *dv,
                            seam_stream stream) {
    const seam_tensor *lt = seam_op_tensor(call, logits), *ot = seam_op_tensor(call, out);
    const seam_config *cfg = seam_context_config(ctx);
    if (rows == 0) return SEAM_OK;
    seam_indexer_topk_params p = SEAM_INDEXER_TOPK_PARAMS_INITIALIZER;
    p.rows = rows;
    p.stride = (int)lt->shape[1];
    p.k = (int)ot->shape[1];
    p.logits = (const float *)lt->data;
    p.lengths = dv->topk_lengths;
    p.row_starts = layout == LAYOUT_RAGGED ? dv->topk_row_starts : NULL;
    p.out = (int32_t *)ot->data;
    p.output = (seam_indexer_topk_output)output;
    p.page_size = ctx_page_size(ctx);
    p.block_table = dv->page_table;
    p.table_stride_device = dv->counts + SEAM_COUNT_PAGE_TABLE_STRIDE;
    p.row_to_req = dv->row_to_req;
    p.offsets = dv->topk_row_starts;
    p.backend = cfg->topk_backend;
    p.deterministic = cfg->topk_deterministic;
    p.tie_break = cfg->topk_tie_break;
    p.fuse = cfg->topk_fuse;
    size_t need = 0, have = 0;
    SEAM_TRY(seam_topk_workspace_size(p.rows, p.stride, p.k, p.backend, &need));
    SEAM_TRY(seam_context_workspace(ctx, &p.workspace, &have));
    if (need > have)
        return seam_fail(SEAM_ERR_INVALID_ARG, FN,
                         "op '%s': top-k over %d rows x %d columns needs %zu workspace bytes, the "
                         "context has %zu (seam_context_params.workspace_bytes)",
                         call->op->name, p.rows, p.stride, need, have);
    p.workspace_bytes = have;
    return seam_indexer_topk(&p, stream);
}


/* ---- indexer_k_store: key, k_cache, k_scales ---------------------------------------------- */

enum { KS_KEY, KS_CACHE, KS_SCALES, KS_NUM };

static seam_status k_store_check(const seam_op_call *call) {
    SEAM_TRY(seam_op_expect_tensor(call, KS_KEY, SEAM_DTYPE_BF16, 2, 1));
    SEAM_TRY(seam_op_expect_dim(call, KS_KEY, 1, SEAM_INDEXER_HEAD_DIM));
    SEAM_TRY(expect_rows(call, KS_KEY, "key"));
    return expect_cache(call, KS_CACHE, KS_SCALES);
}

static seam_status k_store_run(const seam_op_call *call, seam_context *ctx, seam_stream stream) {
    const seam_batch_view *dv;
    SEAM_TRY(device_view(call, ctx, &dv));
    return run_store(call, KS_KEY, KS_CACHE, KS_SCALES, call->num_tokens, dv, stream);
}

/* ---- indexer_logits_ragged: q, weights, k, k_scales, logits ------------------------------- */

enum { LR_Q, LR_W, LR_K, LR_KS, LR_LOGITS, LR_NUM };

static seam_status logits_ragged_check(const seam_op_call *call) {
    SEAM_TRY(expect_queries(call, LR_Q, LR_W));
    SEAM_TRY(seam_op_expect_tensor(call, LR_K, SEAM_DTYPE_FP8_E4M3, 2, 1));
    SEAM_TRY(seam_op_expect_dim(call, LR_K, 1, SEAM_INDEXER_HEAD_DIM));
    const seam_tensor *k = seam_op_tensor(call, LR_K);
    if (k->shape[0] > INT32_MAX)
        return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check",
                         "op '%s': k has %lld rows, more than 2^31 - 1", call->op->name,
                         (long long)k->shape[0]);
    SEAM_TRY(seam_op_expect_tensor(call, LR_KS, SEAM_DTYPE_F32, 1, 1));
    SEAM_TRY(seam_op_expect_dim(call, LR_KS, 0, k->shape[0]));
    return expect_logits(call, LR_LOGITS);
}

static seam_status logits_ragged_run(const seam_op_call *call, seam_context *ctx, seam_stream stream) {
    const seam_batch_view *dv;
    SEAM_TRY(device_view(call, ctx, &dv));
    const seam_tensor *lt = seam_op_tensor(call, LR_LOGITS);
    seam_indexer_logits_ragged_params p = SEAM_INDEXER_LOGITS_RAGGED_PARAMS_INITIALIZER;
    p.rows = call->num_tokens;
    p.heads = (int)seam_op_tensor(call, LR_W)->shape[1];
    p.keys = (int)seam_op_tensor(call, LR_K)->shape[0];
    p.stride = (int)lt->shape[1];
    p.q = seam_op_tensor(call, LR_Q)->data;
    p.weights = (const float *)seam_op_tensor(call, LR_W)->data;
    p.k = seam_op_tensor(call, LR_K)->data;
    p.k_scales = (const float *)seam_op_tensor(call, LR_KS)->data;
    p.row_starts = dv->topk_row_starts;
    p.lengths = dv->topk_lengths;
    p.logits = (float *)lt->data;
    return seam_indexer_logits_ragged(&p, stream);
}

/* ---- indexer_logits_paged: q, weights, k_cache, k_scales, logits -------------------------- */

enum { LP_Q, LP_W, LP_CACHE, LP_SCALES, LP_LOGITS, LP_NUM };

/* q is [T, H, 128] (one row per token: decode, expanded NextN, prefill tokens) or
 * [B, next_n, H, 128] (native NextN: B * next_n = T tokens). */
static int paged_next_n(const seam_op_call *call) {
    const seam_tensor *q = seam_op_tensor(call, LP_Q);
    return q->ndim == 4 ? (int)q->shape[1] : 1;
}

static seam_status logits_paged_check(const seam_op_call *call) {
    const seam_tensor *q = seam_op_tensor(call, LP_Q);
    if (q && q->ndim == 4) {
        SEAM_TRY(seam_op_expect_tensor(call, LP_Q, SEAM_DTYPE_FP8_E4M3, 4, 1));
        SEAM_TRY(seam_op_expect_dim(call, LP_Q, 3, SEAM_INDEXER_HEAD_DIM));
        int64_t nn = q->shape[1], h = q->shape[2];
        if (nn < 1 || nn > SEAM_MAX_NEXT_N)
            return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check",
                             "op '%s': q: next_n shape[1]=%lld is not in [1, %d]", call->op->name,
                             (long long)nn, SEAM_MAX_NEXT_N);
        if (h < 1 || h > SEAM_INDEXER_MAX_HEADS)
            return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check",
                             "op '%s': q: heads shape[2]=%lld is not in [1, %d]", call->op->name,
                             (long long)h, SEAM_INDEXER_MAX_HEADS);
        if (call->num_tokens % nn != 0 || q->shape[0] * nn < call->num_tokens)
            return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check",
                             "op '%s': num_tokens=%d is not a multiple of next_n=%lld within q's "
                             "%lld requests", call->op->name, call->num_tokens, (long long)nn,
                             (long long)q->shape[0]);
        SEAM_TRY(seam_op_expect_tensor(call, LP_W, SEAM_DTYPE_F32, 3, 1));
        SEAM_TRY(seam_op_expect_dim(call, LP_W, 0, q->shape[0]));
        SEAM_TRY(seam_op_expect_dim(call, LP_W, 1, nn));
        SEAM_TRY(seam_op_expect_dim(call, LP_W, 2, h));
    } else {
        SEAM_TRY(expect_queries(call, LP_Q, LP_W));
    }
    SEAM_TRY(expect_cache(call, LP_CACHE, LP_SCALES));
    return expect_logits(call, LP_LOGITS);
}

static seam_status logits_paged_run(const seam_op_call *call, seam_context *ctx, seam_stream stream) {
    const seam_batch_view *dv;
    SEAM_TRY(device_view(call, ctx, &dv));
    SEAM_TRY(expect_page_size(call, ctx, LP_CACHE));
    int next_n = paged_next_n(call);
    if (next_n > seam_context_params_of(ctx)->max_next_n)
        return seam_fail(SEAM_ERR_INVALID_ARG, FN, "op '%s': q's next_n=%d exceeds the context's "
                         "max_next_n=%d", call->op->name, next_n,
                         seam_context_params_of(ctx)->max_next_n);
    /* A 4-D weights tensor [B, next_n, H] reads as [B * next_n, H]: same memory. */
    seam_op_call flat = *call;
    if (next_n > 1 || seam_op_tensor(call, LP_W)->ndim == 3) {
        seam_tensor *w = &flat.args[LP_W].u.tensor;
        w->shape[0] *= w->shape[1];
        w->shape[1] = w->shape[2];
        w->ndim = 2;
    }
    return run_paged_logits(&flat, LP_Q, LP_W, LP_CACHE, LP_SCALES, LP_LOGITS, call->num_tokens,
                            next_n, ctx, dv, stream);
}

/* ---- index_topk: logits, out, logits_layout, output ---------------------------------------- */

enum { IT_LOGITS, IT_OUT, IT_LAYOUT, IT_OUTPUT, IT_NUM };

static seam_status index_topk_check(const seam_op_call *call) {
    SEAM_TRY(expect_logits(call, IT_LOGITS));
    SEAM_TRY(expect_topk_out(call, IT_OUT));
    SEAM_TRY(seam_op_expect_int_range(call, IT_LAYOUT, LAYOUT_PAGED, LAYOUT_RAGGED));
    return seam_op_expect_int_range(call, IT_OUTPUT, OUTPUT_SLOTS, OUTPUT_POSITIONS);
}

static seam_status index_topk_run(const seam_op_call *call, seam_context *ctx, seam_stream stream) {
    const seam_batch_view *dv;
    SEAM_TRY(device_view(call, ctx, &dv));
    return run_topk(call, IT_LOGITS, IT_OUT, call->num_tokens, (int)seam_op_int(call, IT_LAYOUT),
                    (int)seam_op_int(call, IT_OUTPUT), ctx, dv, stream);
}

/* ---- k_cache_and_topk: key, q, weights, k_cache, k_scales, logits, out -------------------- */

enum { KT_KEY, KT_Q, KT_W, KT_CACHE, KT_SCALES, KT_LOGITS, KT_OUT, KT_NUM };

static seam_status k_cache_and_topk_check(const seam_op_call *call) {
    SEAM_TRY(seam_op_expect_tensor(call, KT_KEY, SEAM_DTYPE_BF16, 2, 1));
    SEAM_TRY(seam_op_expect_dim(call, KT_KEY, 1, SEAM_INDEXER_HEAD_DIM));
    SEAM_TRY(expect_rows(call, KT_KEY, "key"));
    SEAM_TRY(expect_queries(call, KT_Q, KT_W));
    SEAM_TRY(expect_cache(call, KT_CACHE, KT_SCALES));
    SEAM_TRY(expect_logits(call, KT_LOGITS));
    return expect_topk_out(call, KT_OUT);
}

/* Eager: the real token count from the host view sizes every launch. Rows past the real count
 * are not written. The logits group each request's rows (run_paged_logits), which covers the
 * native NextN saving in target-verify. */
static seam_status k_cache_and_topk_run(const seam_op_call *call, seam_context *ctx, seam_stream stream) {
    const seam_batch_view *dv, *hv;
    SEAM_TRY(device_view(call, ctx, &dv));
    SEAM_TRY(seam_context_batch_host(ctx, &hv));
    SEAM_TRY(expect_page_size(call, ctx, KT_CACHE));
    int tokens = hv->counts[SEAM_COUNT_TOKENS];
    if (tokens > call->num_tokens)
        return seam_fail(SEAM_ERR_INVALID_ARG, FN, "op '%s': the batch has %d tokens, the call is "
                         "shaped for num_tokens=%d", call->op->name, tokens, call->num_tokens);
    SEAM_TRY(run_store(call, KT_KEY, KT_CACHE, KT_SCALES, tokens, dv, stream));
    SEAM_TRY(run_paged_logits(call, KT_Q, KT_W, KT_CACHE, KT_SCALES, KT_LOGITS, tokens, 1, ctx, dv,
                              stream));
    return run_topk(call, KT_LOGITS, KT_OUT, tokens, LAYOUT_PAGED, OUTPUT_SLOTS, ctx, dv, stream);
}

/* Graph-safe: bucket-sized launches, device-side counts only (padded rows belong to no
 * request, have length 0 and get -1 indices); the same request-grouped logits in every mode. */
static seam_status k_cache_and_topk_run_graph_safe(const seam_op_call *call, seam_context *ctx,
                                                   seam_stream stream) {
    const seam_batch_view *dv;
    SEAM_TRY(device_view(call, ctx, &dv));
    SEAM_TRY(expect_page_size(call, ctx, KT_CACHE));
    SEAM_TRY(run_store(call, KT_KEY, KT_CACHE, KT_SCALES, call->num_tokens, dv, stream));
    SEAM_TRY(run_paged_logits(call, KT_Q, KT_W, KT_CACHE, KT_SCALES, KT_LOGITS, call->num_tokens, 1,
                              ctx, dv, stream));
    return run_topk(call, KT_LOGITS, KT_OUT, call->num_tokens, LAYOUT_PAGED, OUTPUT_SLOTS, ctx, dv,
                    stream);
}


/* ---- registration ----------------------------------------------------------------------- */

seam_status seam_register_indexer_ops(seam_registry *reg) {
    const seam_op k_store = {
        .name = "indexer_k_store", .flags = SEAM_OP_CAPTURABLE, .num_args = KS_NUM,
        .arg_kinds = {SEAM_ARG_TENSOR, SEAM_ARG_TENSOR, SEAM_ARG_TENSOR},
        .arg_names = {"key", "k_cache", "k_scales"},
        .mutates = (1u << KS_CACHE) | (1u << KS_SCALES),
        .check = k_store_check, .run = k_store_run};
    const seam_op ragged = {
        .name = "indexer_logits_ragged", .flags = SEAM_OP_CAPTURABLE, .num_args = LR_NUM,
        .arg_kinds = {SEAM_ARG_TENSOR, SEAM_ARG_TENSOR, SEAM_ARG_TENSOR, SEAM_ARG_TENSOR,
                      SEAM_ARG_TENSOR},
        .arg_names = {"q", "weights", "k", "k_scales", "logits"},
        .mutates = 1u << LR_LOGITS, .check = logits_ragged_check, .run = logits_ragged_run};
    const seam_op paged = {
        .name = "indexer_logits_paged", .flags = SEAM_OP_CAPTURABLE, .num_args = LP_NUM,
        .arg_kinds = {SEAM_ARG_TENSOR, SEAM_ARG_TENSOR, SEAM_ARG_TENSOR, SEAM_ARG_TENSOR,
                      SEAM_ARG_TENSOR},
        .arg_names = {"q", "weights", "k_cache", "k_scales", "logits"},
        .mutates = 1u << LP_LOGITS, .check = logits_paged_check, .run = logits_paged_run};
    const seam_op topk = {
        .name = "index_topk", .flags = SEAM_OP_CAPTURABLE, .num_args = IT_NUM,
        .arg_kinds = {SEAM_ARG_TENSOR, SEAM_ARG_TENSOR, SEAM_ARG_INT, SEAM_ARG_INT},
        .arg_names = {"logits", "out", "logits_layout", "output"},
        .mutates = 1u << IT_OUT, .check = index_topk_check, .run = index_topk_run};
    const seam_op split = {
        .name = "k_cache_and_topk", .flags = SEAM_OP_CAPTURABLE_WHEN_GRAPH_SAFE, .num_args = KT_NUM,
        .arg_kinds = {SEAM_ARG_TENSOR, SEAM_ARG_TENSOR, SEAM_ARG_TENSOR, SEAM_ARG_TENSOR,
                      SEAM_ARG_TENSOR, SEAM_ARG_TENSOR, SEAM_ARG_TENSOR},
        .arg_names = {"key", "q", "weights", "k_cache", "k_scales", "logits", "out"},
        .mutates = (1u << KT_CACHE) | (1u << KT_SCALES) | (1u << KT_LOGITS) | (1u << KT_OUT),
        .check = k_cache_and_topk_check, .run = k_cache_and_topk_run,
        .run_graph_safe = k_cache_and_topk_run_graph_safe};
    const seam_op *ops[] = {&k_store, &ragged, &paged, &topk, &split};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        SEAM_TRY(seam_registry_register(reg, ops[i], NULL));
    return SEAM_OK;
}
