/* seam_context: static device buffers for the batch metadata, filled by one async copy per
 * batch from double-buffered pinned staging memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/context_impl.h"
#include "runtime/cuda_check.h"

static int ceil_div(int a, int b) { return (a + b - 1) / b; }

/* fn: the public function being checked for, named in the message. */
static seam_status check_params(const char *fn, const seam_context_params *p) {
    if (p == NULL) return seam_fail(SEAM_ERR_INVALID_ARG, fn, "params is NULL");
    SEAM_CHECK_ARG_IN(fn, p->struct_size == sizeof(seam_context_params),
                   "params->struct_size=%zu, expected %zu (use SEAM_CONTEXT_PARAMS_INITIALIZER)",
                   p->struct_size, sizeof(seam_context_params));
    SEAM_CHECK_ARG_IN(fn, p->device >= SEAM_DEVICE_HOST, "params->device=%d is not a CUDA ordinal or "
                   "SEAM_DEVICE_HOST", p->device);
    SEAM_CHECK_ARG_IN(fn, p->max_tokens >= 1 && p->max_tokens <= (1 << 20),
                   "params->max_tokens=%d is not in [1, 1048576]", p->max_tokens);
    SEAM_CHECK_ARG_IN(fn, p->max_batch >= 1 && p->max_batch <= p->max_tokens,
                   "params->max_batch=%d is not in [1, max_tokens=%d]", p->max_batch, p->max_tokens);
    SEAM_CHECK_ARG_IN(fn, p->max_context >= 1 && p->max_context <= (1 << 24),
                   "params->max_context=%d is not in [1, 16777216]", p->max_context);
    SEAM_CHECK_ARG_IN(fn, p->num_layers >= 1 && p->num_layers <= 1024,
                   "params->num_layers=%d is not in [1, 1024]", p->num_layers);
    SEAM_CHECK_ARG_IN(fn, p->page_size == 1 || p->page_size == 64, "params->page_size=%d is not 1 or 64",
                   p->page_size);
    SEAM_CHECK_ARG_IN(fn, p->max_next_n >= 1 && p->max_next_n <= SEAM_MAX_NEXT_N,
                   "params->max_next_n=%d is not in [1, %d]", p->max_next_n, SEAM_MAX_NEXT_N);
    size_t table = (size_t)p->max_batch * (size_t)ceil_div(p->max_context, p->page_size);
    SEAM_CHECK_ARG_IN(fn, table <= (size_t)INT32_MAX, "params: max_batch=%d x pages per request=%d is "
                   "too large a page table", p->max_batch, ceil_div(p->max_context, p->page_size));
    return SEAM_OK;
}

static seam_batch_layout make_layout(const seam_context_params *p) {
    seam_batch_layout l;
    size_t at = 0, b = (size_t)p->max_batch, t = (size_t)p->max_tokens;
    l.counts = at, at += SEAM_COUNT_NUM;
    l.seq_lens = at, at += b;
    l.extend_lens = at, at += b;
    l.prefix_lens = at, at += b;
    l.cu_seqlens_q = at, at += b + 1;
    l.cu_seqlens_k = at, at += b + 1;
    l.nextn_ctx_lens = at, at += b * (size_t)p->max_next_n;
    l.positions = at, at += t;
    l.out_cache_loc = at, at += t;
    l.row_to_req = at, at += t;
    l.topk_lengths = at, at += t;
    l.topk_row_starts = at, at += t;
    at = (at + 31) & ~(size_t)31; /* page table rows start 128-byte aligned */
    l.page_table = at, at += b * (size_t)ceil_div(p->max_context, p->page_size);
    l.total = at;
    return l;
}

static seam_batch_view make_view(int32_t *base, const seam_batch_layout *l) {
    seam_batch_view v;
    v.counts = base + l->counts;
    v.seq_lens = base + l->seq_lens;
    v.extend_lens = base + l->extend_lens;
    v.prefix_lens = base + l->prefix_lens;
    v.cu_seqlens_q = base + l->cu_seqlens_q;
    v.cu_seqlens_k = base + l->cu_seqlens_k;
    v.nextn_ctx_lens = base + l->nextn_ctx_lens;
    v.positions = base + l->positions;
    v.out_cache_loc = base + l->out_cache_loc;
    v.row_to_req = base + l->row_to_req;
    v.topk_lengths = base + l->topk_lengths;
    v.topk_row_starts = base + l->topk_row_starts;
    v.page_table = base + l->page_table;
    return v;
}

seam_status seam_batch_check(const seam_context_params *p, const seam_batch *b) {
    static const char *fn = "seam_context_set_batch";
    SEAM_TRY(check_params(fn, p));
    if (b == NULL) return seam_fail(SEAM_ERR_INVALID_ARG, fn, "batch is NULL");
#define BAD(...) return seam_fail(SEAM_ERR_INVALID_ARG, fn, __VA_ARGS__)
    if (b->struct_size != sizeof(seam_batch))
        BAD("batch->struct_size=%zu, expected %zu (use SEAM_BATCH_INITIALIZER)", b->struct_size,
            sizeof(seam_batch));
    if (b->mode < SEAM_FORWARD_IDLE || b->mode > SEAM_FORWARD_TARGET_VERIFY)
        BAD("mode=%d is not a seam_forward_mode", (int)b->mode);
    if (b->mode == SEAM_FORWARD_IDLE) {
        if (b->batch_size != 0) BAD("batch_size=%d must be 0 in idle mode", b->batch_size);
        return SEAM_OK;
    }
    if (b->batch_size < 1 || b->batch_size > p->max_batch)
        BAD("batch_size=%d is not in [1, max_batch=%d]", b->batch_size, p->max_batch);
    if (b->seq_lens == NULL) BAD("seq_lens is NULL");
    if (b->mode == SEAM_FORWARD_EXTEND && b->extend_lens == NULL)
        BAD("extend_lens is NULL (required in extend mode)");
    if (b->mode == SEAM_FORWARD_TARGET_VERIFY && (b->next_n < 1 || b->next_n > p->max_next_n))
        BAD("next_n=%d is not in [1, max_next_n=%d]", b->next_n, p->max_next_n);
    int implied = b->mode == SEAM_FORWARD_TARGET_VERIFY ? b->next_n : 1;
    long tokens = 0;
    int64_t keys = 0;
    int max_seq = 0;
    for (int i = 0; i < b->batch_size; i++) {
        int ext = b->extend_lens ? b->extend_lens[i] : implied;
        int seq = b->seq_lens[i];
        if (ext < 1) BAD("extend_lens[%d]=%d is not positive", i, ext);
        if (b->mode != SEAM_FORWARD_EXTEND && ext != implied)
            BAD("extend_lens[%d]=%d must be %d in %s mode", i, ext, implied,
                b->mode == SEAM_FORWARD_DECODE ? "decode" : "target-verify");
        if (seq < ext) BAD("seq_lens[%d]=%d is less than extend_lens[%d]=%d", i, seq, i, ext);
        if (seq > p->max_context) BAD("seq_lens[%d]=%d exceeds max_context=%d", i, seq, p->max_context);
        tokens += ext;
        keys += seq;
        if (seq > max_seq) max_seq = seq;
    }
    if (keys > INT32_MAX)
        BAD("seq_lens add up to %lld keys, more than the int32 offsets (cu_seqlens_k) hold",
            (long long)keys);
    if (tokens > p->max_tokens) BAD("total new tokens %ld exceed max_tokens=%d", tokens, p->max_tokens);
    if (b->out_cache_loc == NULL) BAD("out_cache_loc is NULL");
    for (long t = 0; t < tokens; t++)
        if (b->out_cache_loc[t] < 0) BAD("out_cache_loc[%ld]=%d is negative", t, b->out_cache_loc[t]);
    if (b->positions)
        for (long t = 0; t < tokens; t++)
            if (b->positions[t] < 0) BAD("positions[%ld]=%d is negative", t, b->positions[t]);
    int max_pages = ceil_div(p->max_context, p->page_size);
    if (b->page_table == NULL) BAD("page_table is NULL");
    if (b->page_table_stride < ceil_div(max_seq, p->page_size) || b->page_table_stride > max_pages)
        BAD("page_table_stride=%d is not in [%d (pages of the longest request), %d (pages of "
            "max_context)]", b->page_table_stride, ceil_div(max_seq, p->page_size), max_pages);
    for (int i = 0; i < b->batch_size; i++) {
        int pages = ceil_div(b->seq_lens[i], p->page_size);
        for (int j = 0; j < pages; j++) {
            int32_t e = b->page_table[(size_t)i * (size_t)b->page_table_stride + (size_t)j];
            if (e < 0) BAD("page_table[%d][%d]=%d is negative", i, j, e);
        }
    }
#undef BAD
    return SEAM_OK;
}

/* Smallest bucket >= tokens, or tokens itself when no bucket holds it (the forward then runs
 * eagerly) or piecewise graphs are off. */
static int padded_tokens(const seam_context *ctx, int tokens) {
    if (!ctx->config.piecewise) return tokens;
    for (int i = 0; i < ctx->num_capture_sizes; i++)
        if (ctx->capture_sizes[i] >= tokens) return ctx->capture_sizes[i];
    return tokens;
}

/* Derives every per-token array into a staging block; returns the elements to copy. */
static size_t fill_block(const seam_context *ctx, int32_t *base, const seam_batch *b) {
    const seam_context_params *p = &ctx->params;
    seam_batch_view v = make_view(base, &ctx->layout);
    int n = b->batch_size;
    int next_n = b->mode == SEAM_FORWARD_TARGET_VERIFY ? b->next_n : 1;
    int stride = n > 0 ? b->page_table_stride : 0;
    memset(base, 0, ctx->layout.page_table * sizeof(int32_t));
    int tokens = 0, max_seq = 0;
    v.cu_seqlens_q[0] = v.cu_seqlens_k[0] = 0;
    for (int i = 0; i < n; i++) {
        int ext = b->extend_lens ? b->extend_lens[i] : next_n;
        int seq = b->seq_lens[i];
        v.seq_lens[i] = seq;
        v.extend_lens[i] = ext;
        v.prefix_lens[i] = seq - ext;
        v.cu_seqlens_q[i + 1] = v.cu_seqlens_q[i] + ext;
        v.cu_seqlens_k[i + 1] = v.cu_seqlens_k[i] + seq;
        if (seq > max_seq) max_seq = seq;
        if (b->mode == SEAM_FORWARD_DECODE || b->mode == SEAM_FORWARD_TARGET_VERIFY)
            for (int j = 0; j < next_n; j++)
                v.nextn_ctx_lens[i * p->max_next_n + j] = seq - next_n + j + 1;
        for (int j = 0; j < ext; j++, tokens++) {
            v.positions[tokens] = b->positions ? b->positions[tokens] : seq - ext + j;
            v.out_cache_loc[tokens] = b->out_cache_loc[tokens];
            v.row_to_req[tokens] = i;
            v.topk_lengths[tokens] = seq - ext + j + 1;
            v.topk_row_starts[tokens] = v.cu_seqlens_k[i];
        }
    }
    for (int t = tokens; t < p->max_tokens; t++) v.out_cache_loc[t] = -1;
    v.counts[SEAM_COUNT_MODE] = (int32_t)b->mode;
    v.counts[SEAM_COUNT_BATCH_SIZE] = n;
    v.counts[SEAM_COUNT_TOKENS] = tokens;
    v.counts[SEAM_COUNT_PADDED_TOKENS] = padded_tokens(ctx, tokens);
    v.counts[SEAM_COUNT_NEXT_N] = next_n;
    v.counts[SEAM_COUNT_TOPK_ROWS] = tokens;
    v.counts[SEAM_COUNT_MAX_SEQ_LEN] = max_seq;
    v.counts[SEAM_COUNT_PAGE_TABLE_STRIDE] = stride;
    size_t table = (size_t)n * (size_t)stride;
    if (table) memcpy(v.page_table, b->page_table, table * sizeof(int32_t));
    return ctx->layout.page_table + table;
}

static seam_status release(seam_context *ctx) {
    seam_status first = SEAM_OK;
    if (ctx->has_device) {
        if (ctx->stream) SEAM_CUDA_KEEP_FIRST(first, cudaStreamSynchronize(ctx->stream));
        for (int i = 0; i < 2; i++) {
            if (ctx->copied[i]) SEAM_CUDA_KEEP_FIRST(first, cudaEventDestroy(ctx->copied[i]));
            if (ctx->staging[i]) SEAM_CUDA_KEEP_FIRST(first, cudaFreeHost(ctx->staging[i]));
        }
        if (ctx->device_block) SEAM_CUDA_KEEP_FIRST(first, cudaFree(ctx->device_block));
        if (ctx->workspace) SEAM_CUDA_KEEP_FIRST(first, cudaFree(ctx->workspace));
        if (ctx->owns_stream && ctx->stream) SEAM_CUDA_KEEP_FIRST(first, cudaStreamDestroy(ctx->stream));
    } else {
        free(ctx->staging[0]);
        free(ctx->staging[1]);
    }
    free(ctx);
    return first;
}

static seam_status create_device_state(seam_context *ctx) {
    const seam_context_params *p = &ctx->params;
    int count;
    SEAM_TRY(seam_device_count(&count));
    SEAM_CHECK_ARG(p->device < count, "params->device=%d is not in [0, %d)", p->device, count);
    SEAM_CUDA_CHECK(cudaSetDevice(p->device));
    if (p->stream) {
        ctx->stream = (cudaStream_t)p->stream;
    } else {
        /* A blocking stream: work an engine issues on the legacy default stream (a plain
         * cudaMemcpy filling an input, which may return before its DMA lands) is ordered
         * before seam's next launch. Engines wanting full control pass their own stream. */
        SEAM_CUDA_CHECK(cudaStreamCreateWithFlags(&ctx->stream, cudaStreamDefault));
        ctx->owns_stream = 1;
    }
    size_t bytes = ctx->layout.total * sizeof(int32_t);
    for (int i = 0; i < 2; i++) {
        SEAM_CUDA_CHECK(cudaHostAlloc((void **)&ctx->staging[i], bytes, cudaHostAllocDefault));
        SEAM_CUDA_CHECK(cudaEventCreateWithFlags(&ctx->copied[i], cudaEventDisableTiming));
    }
    SEAM_CUDA_CHECK(cudaMalloc((void **)&ctx->device_block, bytes));
    /* The device block starts as an idle batch, so kernels never read uninitialized memory. */
    SEAM_CUDA_CHECK(cudaMemsetAsync(ctx->device_block, 0, bytes, ctx->stream));
    if (p->workspace_bytes) {
        SEAM_CUDA_CHECK(cudaMalloc(&ctx->workspace, p->workspace_bytes));
        SEAM_CUDA_CHECK(cudaMemsetAsync(ctx->workspace, 0, p->workspace_bytes, ctx->stream));
    }
    SEAM_CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
    ctx->device_view = make_view(ctx->device_block, &ctx->layout);
    return SEAM_OK;
}

seam_status seam_context_create(seam_context **out, const seam_context_params *params) {
    SEAM_CHECK_PTR(out);
    *out = NULL;
    SEAM_TRY(check_params(__func__, params));
    seam_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return seam_fail(SEAM_ERR_OUT_OF_MEMORY, __func__, "context allocation failed");
    ctx->params = *params;
    ctx->params.config = &ctx->config;
    seam_status s = params->config ? seam_config_validate(params->config) : seam_config_from_env(&ctx->config);
    if (s == SEAM_OK && params->config) ctx->config = *params->config;
    if (s == SEAM_OK)
        s = seam_config_capture_sizes(&ctx->config, params->max_tokens, ctx->capture_sizes,
                                      SEAM_MAX_CAPTURE_SIZES, &ctx->num_capture_sizes);
    ctx->layout = make_layout(params);
    ctx->max_pages_per_req = ceil_div(params->max_context, params->page_size);
    ctx->has_device = params->device != SEAM_DEVICE_HOST;
    if (s == SEAM_OK && ctx->has_device) {
        s = create_device_state(ctx);
    } else if (s == SEAM_OK) {
        for (int i = 0; i < 2 && s == SEAM_OK; i++) {
            ctx->staging[i] = calloc(ctx->layout.total, sizeof(int32_t));
            if (!ctx->staging[i]) s = seam_fail(SEAM_ERR_OUT_OF_MEMORY, __func__, "staging allocation failed");
        }
    }
    if (s != SEAM_OK) {
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", seam_last_error());
        release(ctx); /* a cleanup failure must not hide why creation failed */
        seam_fail(s, __func__, "%s", keep);
        return s;
    }
    memset(ctx->staging[0], 0, ctx->layout.total * sizeof(int32_t));
    ctx->current = 0;
    ctx->host_view = make_view(ctx->staging[0], &ctx->layout);
    *out = ctx;
    return SEAM_OK;
}

seam_status seam_context_destroy(seam_context *ctx) {
    if (ctx == NULL) return SEAM_OK;
    return release(ctx);
}

seam_status seam_context_set_batch(seam_context *ctx, const seam_batch *batch) {
    SEAM_CHECK_PTR(ctx);
    SEAM_TRY(seam_batch_check(&ctx->params, batch));
    int next = 1 - ctx->current;
    if (ctx->has_device && ctx->copy_pending[next]) {
        SEAM_CUDA_CHECK(cudaEventSynchronize(ctx->copied[next]));
        ctx->copy_pending[next] = 0;
    }
    size_t used = fill_block(ctx, ctx->staging[next], batch);
    if (ctx->has_device) {
        SEAM_CUDA_CHECK(cudaMemcpyAsync(ctx->device_block, ctx->staging[next], used * sizeof(int32_t),
                                        cudaMemcpyHostToDevice, ctx->stream));
        SEAM_CUDA_CHECK(cudaEventRecord(ctx->copied[next], ctx->stream));
        ctx->copy_pending[next] = 1;
    }
    ctx->current = next;
    ctx->host_view = make_view(ctx->staging[next], &ctx->layout);
    return SEAM_OK;
}

seam_status seam_context_batch_host(const seam_context *ctx, const seam_batch_view **view) {
    SEAM_CHECK_PTR(ctx);
    SEAM_CHECK_PTR(view);
    *view = &ctx->host_view;
    return SEAM_OK;
}

seam_status seam_context_batch_device(const seam_context *ctx, const seam_batch_view **view) {
    SEAM_CHECK_PTR(ctx);
    SEAM_CHECK_PTR(view);
    if (!ctx->has_device)
        return seam_fail(SEAM_ERR_NO_DEVICE, __func__, "the context was created without a device");
    *view = &ctx->device_view;
    return SEAM_OK;
}

seam_status seam_context_stream(const seam_context *ctx, seam_stream *stream) {
    SEAM_CHECK_PTR(ctx);
    SEAM_CHECK_PTR(stream);
    if (!ctx->has_device)
        return seam_fail(SEAM_ERR_NO_DEVICE, __func__, "the context was created without a device");
    *stream = (seam_stream)ctx->stream;
    return SEAM_OK;
}

seam_status seam_context_device(const seam_context *ctx, int *device) {
    SEAM_CHECK_PTR(ctx);
    SEAM_CHECK_PTR(device);
    *device = ctx->params.device;
    return SEAM_OK;
}

const seam_config *seam_context_config(const seam_context *ctx) { return ctx ? &ctx->config : NULL; }

const seam_context_params *seam_context_params_of(const seam_context *ctx) {
    return ctx ? &ctx->params : NULL;
}

seam_status seam_context_workspace(const seam_context *ctx, void **ptr, size_t *bytes) {
    SEAM_CHECK_PTR(ctx);
    SEAM_CHECK_PTR(ptr);
    SEAM_CHECK_PTR(bytes);
    if (!ctx->has_device)
        return seam_fail(SEAM_ERR_NO_DEVICE, __func__, "the context was created without a device");
    *ptr = ctx->workspace;
    *bytes = ctx->params.workspace_bytes;
    return SEAM_OK;
}

seam_status seam_context_synchronize(seam_context *ctx) {
    SEAM_CHECK_PTR(ctx);
    if (!ctx->has_device) return SEAM_OK;
    SEAM_CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
    return SEAM_OK;
}
