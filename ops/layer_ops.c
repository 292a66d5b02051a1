/* Registry bindings of the layer kernels: "hadamard", "rms_norm", "layer_norm", "rope",
 * "sparse_attention". All are SEAM_OP_CAPTURABLE: one fixed launch sequence shaped by the
 * tensors, no allocation, no synchronization.
 *
 * Tensors carry the token count in dimension 0 (the bucket size in a captured graph). Only
 * the batch's real tokens are processed: the kernels read the real count from the context's
 * device counts[SEAM_COUNT_TOKENS] on every launch, so a replay at a larger bucket leaves
 * the padding rows alone. Run them after seam_context_set_batch. Dimension 0 may have any
 * stride (a slice of a fused projection); the other dimensions must be contiguous. */
#include <math.h>
#include <stdio.h>

#include "ops/builtin_ops.h"
#include "ops/op_args.h"
#include "runtime/error_impl.h"
#include "seam/layers.h"

static const char *check_fn = "seam_op_call_check";

/* Dimensions after the first are contiguous (row-major); dimension 0 is free. */
static seam_status expect_rows(const seam_op_call *call, int i, seam_dtype dtype, int ndim_lo,
                               int ndim_hi) {
    SEAM_TRY(seam_op_expect_tensor(call, i, dtype, -1, 0));
    const seam_tensor *t = seam_op_tensor(call, i);
    const char *name = call->op->arg_names[i];
    if (t->ndim < ndim_lo || t->ndim > ndim_hi)
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn,
                         "op '%s': %s: %d dimensions, expected %d..%d", call->op->name, name,
                         t->ndim, ndim_lo, ndim_hi);
    int64_t stride = 1;
    for (int d = t->ndim - 1; d >= 1; d--) {
        if (t->shape[d] != 1 && t->strides[d] != stride)
            return seam_fail(SEAM_ERR_INVALID_ARG, check_fn,
                             "op '%s': %s: dimensions after the first must be contiguous "
                             "(strides[%d]=%lld, expected %lld)", call->op->name, name, d,
                             (long long)t->strides[d], (long long)stride);
        stride *= t->shape[d];
    }
    if (t->shape[0] > 1 && t->strides[0] < stride)
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn,
                         "op '%s': %s: strides[0]=%lld overlaps rows of %lld elements",
                         call->op->name, name, (long long)t->strides[0], (long long)stride);
    return SEAM_OK;
}

/* Tensors i and j have the same shape. */
static seam_status expect_same_shape(const seam_op_call *call, int i, int j) {
    const seam_tensor *a = seam_op_tensor(call, i), *b = seam_op_tensor(call, j);
    int same = a->ndim == b->ndim;
    for (int d = 0; same && d < a->ndim; d++) same = a->shape[d] == b->shape[d];
    if (!same)
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn,
                         "op '%s': %s and %s differ in shape (%d dims, [%lld, %lld, ...] vs "
                         "%d dims, [%lld, %lld, ...])", call->op->name, call->op->arg_names[i],
                         call->op->arg_names[j], a->ndim, (long long)a->shape[0],
                         (long long)(a->ndim > 1 ? a->shape[1] : 0), b->ndim,
                         (long long)b->shape[0], (long long)(b->ndim > 1 ? b->shape[1] : 0));
    return SEAM_OK;
}

static seam_status expect_float(const seam_op_call *call, int i, double lo, int lo_open) {
    double v = seam_op_float(call, i);
    if (!isfinite(v) || (lo_open ? v <= lo : v < lo))
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn, "op '%s': %s=%g is not %s %g",
                         call->op->name, call->op->arg_names[i], v, lo_open ? ">" : ">=", lo);
    return SEAM_OK;
}

static seam_status expect_tokens(const seam_op_call *call, int i, int64_t tokens) {
    const seam_tensor *t = seam_op_tensor(call, i);
    if (t->shape[0] != tokens)
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn,
                         "op '%s': %s has %lld tokens (shape[0]), expected %lld", call->op->name,
                         call->op->arg_names[i], (long long)t->shape[0], (long long)tokens);
    if (tokens > 0x7fffffff)
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn, "op '%s': %s: %lld tokens is too many",
                         call->op->name, call->op->arg_names[i], (long long)tokens);
    return SEAM_OK;
}

/* The device pointer to the real token count of the current batch. */
static seam_status real_count(seam_context *ctx, const int32_t **count) {
    const seam_batch_view *view;
    SEAM_TRY(seam_context_batch_device(ctx, &view));
    *count = view->counts + SEAM_COUNT_TOKENS;
    return SEAM_OK;
}

static int64_t vectors_per_token(const seam_tensor *t, int from) {
    int64_t n = 1;
    for (int d = from; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

/* ---- hadamard(x, out, scale?) ----------------------------------------------------------- */

static seam_status hadamard_check(const seam_op_call *call) {
    SEAM_TRY(expect_rows(call, 0, SEAM_DTYPE_BF16, 2, 3));
    SEAM_TRY(expect_rows(call, 1, SEAM_DTYPE_BF16, 2, 3));
    const seam_tensor *x = seam_op_tensor(call, 0);
    SEAM_TRY(seam_op_expect_dim(call, 0, x->ndim - 1, SEAM_HADAMARD_DIM));
    SEAM_TRY(expect_same_shape(call, 0, 1));
    SEAM_TRY(expect_tokens(call, 1, x->shape[0]));
    if (call->args[2].kind == SEAM_ARG_FLOAT && !isfinite(seam_op_float(call, 2)))
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn, "op 'hadamard': scale=%g is not finite",
                         seam_op_float(call, 2));
    return SEAM_OK;
}

static seam_status hadamard_run(const seam_op_call *call, seam_context *ctx, seam_stream stream) {
    const seam_tensor *x = seam_op_tensor(call, 0), *out = seam_op_tensor(call, 1);
    seam_hadamard_params p = SEAM_HADAMARD_PARAMS_INITIALIZER;
    p.tokens = (int)x->shape[0];
    p.heads = (int)vectors_per_token(x, 1) / SEAM_HADAMARD_DIM;
    p.x = x->data;
    p.x_token_stride = x->shape[0] > 1 ? x->strides[0] : 0;
    p.out = out->data;
    p.out_token_stride = out->shape[0] > 1 ? out->strides[0] : 0;
    if (call->args[2].kind == SEAM_ARG_FLOAT) p.scale = (float)seam_op_float(call, 2);
    SEAM_TRY(real_count(ctx, &p.num_tokens));
    return seam_hadamard(&p, stream);
}

/* ---- rms_norm(x, weight, out, residual?, eps) / layer_norm(x, weight, bias?, out, eps) -- */

static seam_status check_param_tensor(const seam_op_call *call, int i, int64_t hidden,
                                      seam_dtype want) {
    const seam_tensor *w = seam_op_tensor(call, i);
    if (!w)
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn, "op '%s': %s is not a tensor",
                         call->op->name, call->op->arg_names[i]);
    if (want == SEAM_DTYPE_COUNT) want = w->dtype == SEAM_DTYPE_BF16 ? SEAM_DTYPE_BF16 : SEAM_DTYPE_F32;
    SEAM_TRY(seam_op_expect_tensor(call, i, want, 1, 1));
    return seam_op_expect_dim(call, i, 0, hidden);
}

static seam_status norm_check(const seam_op_call *call, int layer) {
    const int x_i = 0, w_i = 1, b_i = layer ? 2 : -1, out_i = layer ? 3 : 2,
              res_i = layer ? -1 : 3, eps_i = 4;
    SEAM_TRY(expect_rows(call, x_i, SEAM_DTYPE_BF16, 2, 2));
    SEAM_TRY(expect_rows(call, out_i, SEAM_DTYPE_BF16, 2, 2));
    SEAM_TRY(expect_same_shape(call, x_i, out_i));
    const seam_tensor *x = seam_op_tensor(call, x_i);
    if (x->shape[1] < 1)
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn, "op '%s': x: hidden=%lld is not >= 1",
                         call->op->name, (long long)x->shape[1]);
    SEAM_TRY(expect_tokens(call, x_i, x->shape[0]));
    SEAM_TRY(check_param_tensor(call, w_i, x->shape[1], SEAM_DTYPE_COUNT));
    const seam_dtype wdt = seam_op_tensor(call, w_i)->dtype;
    if (layer && seam_op_tensor(call, b_i))
        SEAM_TRY(check_param_tensor(call, b_i, x->shape[1], wdt));
    if (!layer && seam_op_tensor(call, res_i)) {
        SEAM_TRY(expect_rows(call, res_i, SEAM_DTYPE_BF16, 2, 2));
        SEAM_TRY(expect_same_shape(call, x_i, res_i));
        const seam_tensor *r = seam_op_tensor(call, res_i);
        if (r->data == x->data || r->data == seam_op_tensor(call, out_i)->data)
            return seam_fail(SEAM_ERR_INVALID_ARG, check_fn,
                             "op '%s': residual must not alias x or out", call->op->name);
    }
    return expect_float(call, eps_i, 0.0, 1);
}

static seam_status rms_norm_check(const seam_op_call *call) { return norm_check(call, 0); }
static seam_status layer_norm_check(const seam_op_call *call) { return norm_check(call, 1); }

static seam_status norm_run(const seam_op_call *call, seam_context *ctx, seam_stream stream,
                            int layer) {
    const seam_tensor *x = seam_op_tensor(call, 0), *w = seam_op_tensor(call, 1);
    const seam_tensor *b = layer ? seam_op_tensor(call, 2) : NULL;
    const seam_tensor *out = seam_op_tensor(call, layer ? 3 : 2);
    const seam_tensor *res = layer ? NULL : seam_op_tensor(call, 3);
    seam_norm_params p = SEAM_NORM_PARAMS_INITIALIZER;
    p.kind = layer ? SEAM_NORM_LAYER : SEAM_NORM_RMS;
    p.tokens = (int)x->shape[0];
    p.hidden = (int)x->shape[1];
    p.x = x->data;
    p.x_token_stride = x->shape[0] > 1 ? x->strides[0] : 0;
    p.out = out->data;
    p.out_token_stride = out->shape[0] > 1 ? out->strides[0] : 0;
    if (res) {
        p.residual = res->data;
        p.residual_token_stride = res->shape[0] > 1 ? res->strides[0] : 0;
    }
    p.weight = w->data;
    p.bias = b ? b->data : NULL;
    p.param_dtype = w->dtype == SEAM_DTYPE_BF16 ? SEAM_PARAM_BF16 : SEAM_PARAM_F32;
    p.eps = (float)seam_op_float(call, 4);
    SEAM_TRY(real_count(ctx, &p.num_tokens));
    return seam_norm(&p, stream);
}

static seam_status rms_norm_run(const seam_op_call *call, seam_context *ctx, seam_stream stream) {
    return norm_run(call, ctx, stream, 0);
}
static seam_status layer_norm_run(const seam_op_call *call, seam_context *ctx,
                                  seam_stream stream) {
    return norm_run(call, ctx, stream, 1);
}

/* ---- rope(x, positions?, rotary_dim, rotary_offset, theta, style, cos_sin_cache?) -------- */

static seam_status rope_check(const seam_op_call *call) {
    SEAM_TRY(expect_rows(call, 0, SEAM_DTYPE_BF16, 3, 3));
    const seam_tensor *x = seam_op_tensor(call, 0);
    SEAM_TRY(expect_tokens(call, 0, x->shape[0]));
    if (x->shape[1] < 1 || x->shape[2] < 2)
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn,
                         "op 'rope': x: heads=%lld, head_dim=%lld (need >= 1 and >= 2)",
                         (long long)x->shape[1], (long long)x->shape[2]);
    if (seam_op_tensor(call, 1)) {
        SEAM_TRY(seam_op_expect_tensor(call, 1, SEAM_DTYPE_I32, 1, 1));
        SEAM_TRY(expect_tokens(call, 1, x->shape[0]));
    }
    SEAM_TRY(seam_op_expect_int_range(call, 2, 2, x->shape[2]));
    const int64_t rd = seam_op_int(call, 2);
    if (rd % 2)
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn, "op 'rope': rotary_dim=%lld is odd",
                         (long long)rd);
    SEAM_TRY(seam_op_expect_int_range(call, 3, 0, x->shape[2] - rd));
    SEAM_TRY(expect_float(call, 4, 0.0, 1));
    SEAM_TRY(seam_op_expect_int_range(call, 5, SEAM_ROPE_NEOX, SEAM_ROPE_INTERLEAVED));
    if (seam_op_tensor(call, 6)) {
        SEAM_TRY(seam_op_expect_tensor(call, 6, SEAM_DTYPE_F32, 2, 1));
        SEAM_TRY(seam_op_expect_dim(call, 6, 1, rd));
        const int64_t n = seam_op_tensor(call, 6)->shape[0];
        if (n < 1 || n > 0x7fffffff)
            return seam_fail(SEAM_ERR_INVALID_ARG, check_fn,
                             "op 'rope': cos_sin_cache: %lld positions", (long long)n);
    }
    return SEAM_OK;
}

static seam_status rope_run(const seam_op_call *call, seam_context *ctx, seam_stream stream) {
    const seam_tensor *x = seam_op_tensor(call, 0), *pos = seam_op_tensor(call, 1);
    const seam_tensor *cache = seam_op_tensor(call, 6);
    seam_rope_params p = SEAM_ROPE_PARAMS_INITIALIZER;
    p.tokens = (int)x->shape[0];
    p.heads = (int)x->shape[1];
    p.head_dim = (int)x->shape[2];
    p.rotary_dim = (int)seam_op_int(call, 2);
    p.rotary_offset = (int)seam_op_int(call, 3);
    p.theta = seam_op_float(call, 4);
    p.style = (seam_rope_style)seam_op_int(call, 5);
    p.x = x->data;
    p.x_token_stride = x->shape[0] > 1 ? x->strides[0] : 0;
    if (cache) {
        p.cos_sin_cache = (const float *)cache->data;
        p.cache_positions = (int)cache->shape[0];
    }
    const seam_batch_view *view;
    SEAM_TRY(seam_context_batch_device(ctx, &view));
    p.num_tokens = view->counts + SEAM_COUNT_TOKENS;
    p.positions = pos ? (const int32_t *)pos->data : view->positions;
    if (!pos) {
        const seam_context_params *cp = seam_context_params_of(ctx);
        if (p.tokens > cp->max_tokens)
            return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_run",
                             "op 'rope': x has %d tokens, more than the context's max_tokens=%d "
                             "positions", p.tokens, cp->max_tokens);
    }
    return seam_rope(&p, stream);
}

/* ---- sparse_attention(q, kv, indices, out, scale) --------------------------------------- */

static seam_status sparse_attention_check(const seam_op_call *call) {
    SEAM_TRY(seam_op_expect_tensor(call, 0, SEAM_DTYPE_BF16, 3, 1));
    SEAM_TRY(seam_op_expect_dim(call, 0, 2, SEAM_MLA_QK_DIM));
    const seam_tensor *q = seam_op_tensor(call, 0);
    SEAM_TRY(expect_tokens(call, 0, q->shape[0]));
    if (q->shape[1] < 1 || q->shape[1] > 65535 || q->shape[0] > 65535)
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn,
                         "op 'sparse_attention': q: tokens=%lld heads=%lld (need <= 65535 and "
                         "1..65535)", (long long)q->shape[0], (long long)q->shape[1]);
    SEAM_TRY(seam_op_expect_tensor(call, 1, SEAM_DTYPE_BF16, -1, 1));
    const seam_tensor *kv = seam_op_tensor(call, 1);
    if (kv->ndim != 2 && kv->ndim != 3)
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn,
                         "op 'sparse_attention': kv: %d dimensions, expected [slots, 576] or "
                         "[pages, page_size, 576]", kv->ndim);
    SEAM_TRY(seam_op_expect_dim(call, 1, kv->ndim - 1, SEAM_MLA_QK_DIM));
    const int64_t slots = vectors_per_token(kv, 0) / SEAM_MLA_QK_DIM;
    if (slots < 1 || slots > 0x7fffffff)
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn,
                         "op 'sparse_attention': kv: %lld slots is not in [1, 2^31)",
                         (long long)slots);
    SEAM_TRY(seam_op_expect_tensor(call, 2, SEAM_DTYPE_I32, 2, 1));
    SEAM_TRY(expect_tokens(call, 2, q->shape[0]));
    const int64_t topk = seam_op_tensor(call, 2)->shape[1];
    if (topk < 1 || topk > 0x7fffffff)
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn,
                         "op 'sparse_attention': indices: topk=%lld is not >= 1", (long long)topk);
    SEAM_TRY(seam_op_expect_tensor(call, 3, SEAM_DTYPE_BF16, 3, 1));
    SEAM_TRY(expect_tokens(call, 3, q->shape[0]));
    SEAM_TRY(seam_op_expect_dim(call, 3, 1, q->shape[1]));
    SEAM_TRY(seam_op_expect_dim(call, 3, 2, SEAM_MLA_V_DIM));
    const double scale = seam_op_float(call, 4);
    if (!isfinite(scale))
        return seam_fail(SEAM_ERR_INVALID_ARG, check_fn,
                         "op 'sparse_attention': scale=%g is not finite", scale);
    return SEAM_OK;
}

static seam_status sparse_attention_run(const seam_op_call *call, seam_context *ctx,
                                        seam_stream stream) {
    const seam_tensor *q = seam_op_tensor(call, 0), *kv = seam_op_tensor(call, 1);
    const seam_tensor *idx = seam_op_tensor(call, 2), *out = seam_op_tensor(call, 3);
    seam_sparse_attention_params p = SEAM_SPARSE_ATTENTION_PARAMS_INITIALIZER;
    p.tokens = (int)q->shape[0];
    p.heads = (int)q->shape[1];
    p.topk = (int)idx->shape[1];
    p.num_slots = (int)(vectors_per_token(kv, 0) / SEAM_MLA_QK_DIM);
    p.q = q->data;
    p.kv = kv->data;
    p.indices = (const int32_t *)idx->data;
    p.out = out->data;
    p.scale = (float)seam_op_float(call, 4);
    SEAM_TRY(real_count(ctx, &p.num_tokens));
    SEAM_TRY(seam_context_workspace(ctx, &p.workspace, &p.workspace_bytes));
    return seam_sparse_attention(&p, stream);
}

/* ---- registration ----------------------------------------------------------------------- */

#define T_ SEAM_ARG_TENSOR
#define I_ SEAM_ARG_INT
#define F_ SEAM_ARG_FLOAT

seam_status seam_register_layer_ops(seam_registry *reg) {
    static const seam_op ops[] = {
        {"hadamard", SEAM_OP_CAPTURABLE, 3, {T_, T_, F_}, {"x", "out", "scale"}, 1u << 2,
         1u << 1, hadamard_check, hadamard_run, NULL, NULL},
        {"rms_norm", SEAM_OP_CAPTURABLE, 5, {T_, T_, T_, T_, F_},
         {"x", "weight", "out", "residual", "eps"}, 1u << 3, (1u << 2) | (1u << 3),
         rms_norm_check, rms_norm_run, NULL, NULL},
        {"layer_norm", SEAM_OP_CAPTURABLE, 5, {T_, T_, T_, T_, F_},
         {"x", "weight", "bias", "out", "eps"}, 1u << 2, 1u << 3, layer_norm_check,
         layer_norm_run, NULL, NULL},
        {"rope", SEAM_OP_CAPTURABLE, 7, {T_, T_, I_, I_, F_, I_, T_},
         {"x", "positions", "rotary_dim", "rotary_offset", "theta", "style", "cos_sin_cache"},
         (1u << 1) | (1u << 6), 1u << 0, rope_check, rope_run, NULL, NULL},
        {"sparse_attention", SEAM_OP_CAPTURABLE, 5, {T_, T_, T_, T_, F_},
         {"q", "kv", "indices", "out", "scale"}, 0, 1u << 3, sparse_attention_check,
         sparse_attention_run, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        SEAM_TRY(seam_registry_register(reg, &ops[i], NULL));
    return SEAM_OK;
}
