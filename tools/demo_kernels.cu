/* seam-demo's small engine kernels (see demo_ops.h) and their op bindings.
 *
 * They are the glue an engine writes around seam's ops: a row copy, a head-slice copy (the
 * "cat" of MLA's absorbed q), SiLU * mul, the MLA latent-cache store and the indexer's
 * per-(token, head) fp8 quantization of q. Each is one launch shaped by the call's
 * num_tokens (the bucket during capture); the ones that should touch only the batch's real
 * tokens read that count from the context's device counts, so a replay at a larger bucket
 * leaves the padding alone. Simple grid-stride loops: these are a few percent of a layer's
 * time next to the GEMMs, the indexer and the attention. */
#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include "ops/op_args.h"
#include "runtime/cuda_check.h"
#include "tools/demo_ops.h"

extern "C" seam_status demo_register_kernel_ops(seam_registry *reg);

namespace {

constexpr int kThreads = 256;

int blocks_for(int64_t n) {
    int64_t b = (n + kThreads - 1) / kThreads;
    return (int)(b < 1 ? 1 : (b > 4096 ? 4096 : b));
}

__device__ __forceinline__ int real_rows(const int32_t *counts, int rows) {
    int r = counts ? counts[SEAM_COUNT_TOKENS] : rows;
    return r < rows ? r : rows;
}

/* splitmix64 of (seed, i) -> uniform in [0, 1). */
__device__ __forceinline__ float hash_uniform(uint64_t seed, uint64_t i) {
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)(z >> 40) * (1.0f / 16777216.0f);
}

__global__ void fill_bf16_kernel(__nv_bfloat16 *dst, int64_t n, uint64_t seed, float center,
                                 float scale) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = __float2bfloat16_rn(center + scale * (2.0f * hash_uniform(seed, (uint64_t)i) - 1.0f));
}

__global__ void iota_kernel(int32_t *dst, int64_t n, int32_t first) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = first + (int32_t)i;
}

/* dst[t, h, dst_off + j] = src[t, h, src_off + j] for real rows t. */
__global__ void copy_heads_kernel(const __nv_bfloat16 *src, __nv_bfloat16 *dst, int rows, int heads,
                                  int64_t src_head, int64_t src_row, int64_t dst_head,
                                  int64_t dst_row, int width, const int32_t *counts) {
    int real = real_rows(counts, rows);
    int64_t n = (int64_t)real * heads * width;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int j = (int)(i % width);
        int64_t th = i / width;
        int h = (int)(th % heads);
        int64_t t = th / heads;
        dst[t * dst_row + h * dst_head + j] = src[t * src_row + h * src_head + j];
    }
}

/* y[t, i] = silu(gate) * up with x = [gate | up] per row, for real rows. */
__global__ void silu_mul_kernel(const __nv_bfloat16 *x, __nv_bfloat16 *y, int rows, int inter,
                                const int32_t *counts) {
    int real = real_rows(counts, rows);
    int64_t n = (int64_t)real * inter;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t t = i / inter;
        int c = (int)(i % inter);
        float g = __bfloat162float(x[t * 2 * inter + c]);
        float u = __bfloat162float(x[t * 2 * inter + inter + c]);
        y[i] = __float2bfloat16_rn(g / (1.0f + __expf(-g)) * u);
    }
}

/* cache[slot, 0:512] = kv[t], cache[slot, 512:576] = pe[t] for real tokens with a slot in
 * [0, num_slots). */
__global__ void latent_store_kernel(const __nv_bfloat16 *kv, const __nv_bfloat16 *pe,
                                    __nv_bfloat16 *cache, int rows, int64_t num_slots,
                                    const int32_t *out_cache_loc, const int32_t *counts) {
    int real = real_rows(counts, rows);
    int64_t n = (int64_t)real * SEAM_MLA_QK_DIM;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t t = i / SEAM_MLA_QK_DIM;
        int d = (int)(i % SEAM_MLA_QK_DIM);
        int32_t slot = out_cache_loc[t];
        if (slot < 0 || slot >= num_slots) continue;
        cache[(int64_t)slot * SEAM_MLA_QK_DIM + d] =
            d < SEAM_MLA_V_DIM ? kv[t * SEAM_MLA_V_DIM + d]
                               : pe[t * (SEAM_MLA_QK_DIM - SEAM_MLA_V_DIM) + d - SEAM_MLA_V_DIM];
    }
}

/* One warp per (token, head): amax over the 128 dims (4 per lane), q8 = e4m3(q * 448 /
 * amax), weights = w * scale * amax / 448 (the dequantization folded into the weight, as
 * DeepSeek V3.2's indexer folds its q scale). */
__global__ void q_quant_kernel(const __nv_bfloat16 *q, const __nv_bfloat16 *w, uint8_t *q8,
                               float *weights, int rows, int heads, float scale,
                               const int32_t *counts) {
    int real = real_rows(counts, rows);
    int64_t warp = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    int64_t nwarps = (int64_t)gridDim.x * blockDim.x / 32;
    for (int64_t th = warp; th < (int64_t)real * heads; th += nwarps) {
        const __nv_bfloat16 *src = q + th * SEAM_INDEXER_HEAD_DIM + lane * 4;
        float v[4], amax = 0.0f;
        for (int i = 0; i < 4; i++) {
            v[i] = __bfloat162float(src[i]);
            amax = fmaxf(amax, fabsf(v[i]));
        }
        for (int o = 16; o > 0; o /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
        float inv = amax > 0.0f ? SEAM_INDEXER_FP8_MAX / amax : 1.0f;
        float qs = amax > 0.0f ? amax / SEAM_INDEXER_FP8_MAX : 1.0f;
        uint8_t *dst = q8 + th * SEAM_INDEXER_HEAD_DIM + lane * 4;
        for (int i = 0; i < 4; i++)
            dst[i] = (uint8_t)__nv_cvt_float_to_fp8(v[i] * inv, __NV_SATFINITE, __NV_E4M3);
        if (lane == 0) weights[th] = __bfloat162float(w[th]) * scale * qs;
    }
}

/* Counts elements that differ bitwise between a and b over rows x (batch x width) values:
 * element (r, bt, j) at r * ld + bt * bstride + j. */
__global__ void compare_kernel(const uint16_t *a, const uint16_t *b, int rows, int64_t ld, int batch,
                               int64_t bstride, int width, unsigned long long *differing) {
    int64_t n = (int64_t)rows * batch * width;
    unsigned long long local = 0;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int j = (int)(i % width);
        int64_t rb = i / width;
        int64_t off = (rb / batch) * ld + (rb % batch) * bstride + j;
        local += a[off] != b[off];
    }
    if (local) atomicAdd(differing, local);
}

/* dst row i = src row slots[i] (rows of row_bytes bytes, 4-byte multiples). */
__global__ void gather_rows_kernel(uint32_t *dst, const uint32_t *src, int64_t row_words, const int32_t *slots,
                                   int n) {
    int64_t total = (int64_t)n * row_words;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / row_words, w = i % row_words;
        dst[i] = src[(int64_t)slots[r] * row_words + w];
    }
}

/* ---- op bindings ----------------------------------------------------------------------- */

seam_status device_counts(seam_context *ctx, const int32_t **counts, const seam_batch_view **v) {
    SEAM_TRY(seam_context_batch_device(ctx, v));
    *counts = (*v)->counts;
    return SEAM_OK;
}

int64_t row_elems(const seam_tensor *t) {
    int64_t n = 1;
    for (int d = 1; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

seam_status expect_bf16_rows(const seam_op_call *c, int i) {
    SEAM_TRY(seam_op_expect_tensor(c, i, SEAM_DTYPE_BF16, -1, 1));
    return seam_op_expect_dim(c, i, 0, c->num_tokens);
}

seam_status fail(const seam_op_call *c, const char *msg, int64_t a, int64_t b) {
    return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check", "op '%s': %s (%lld vs %lld)",
                     c->op->name, msg, (long long)a, (long long)b);
}

/* demo_copy_rows(x, y) */
seam_status copy_rows_check(const seam_op_call *c) {
    SEAM_TRY(expect_bf16_rows(c, 0));
    SEAM_TRY(expect_bf16_rows(c, 1));
    if (row_elems(seam_op_tensor(c, 0)) != row_elems(seam_op_tensor(c, 1)))
        return fail(c, "x and y rows differ in size", row_elems(seam_op_tensor(c, 0)),
                    row_elems(seam_op_tensor(c, 1)));
    return SEAM_OK;
}

seam_status copy_rows_run(const seam_op_call *c, seam_context *, seam_stream stream) {
    size_t bytes = (size_t)c->num_tokens * (size_t)row_elems(seam_op_tensor(c, 0)) * 2;
    if (bytes == 0) return SEAM_OK;
    SEAM_CUDA_CHECK(cudaMemcpyAsync(seam_op_tensor(c, 1)->data, seam_op_tensor(c, 0)->data, bytes,
                                    cudaMemcpyDeviceToDevice, (cudaStream_t)stream));
    return SEAM_OK;
}

/* demo_copy_heads(src [T, H, Ds] or [T, Ds], dst [T, H, Dd] or [T, Dd], src_off, dst_off,
 * width) */
int heads_of(const seam_tensor *t) { return t->ndim == 3 ? (int)t->shape[1] : 1; }
int64_t head_dim_of(const seam_tensor *t) { return t->shape[t->ndim - 1]; }

seam_status copy_heads_check(const seam_op_call *c) {
    SEAM_TRY(expect_bf16_rows(c, 0));
    SEAM_TRY(expect_bf16_rows(c, 1));
    const seam_tensor *s = seam_op_tensor(c, 0), *d = seam_op_tensor(c, 1);
    if (s->ndim < 2 || s->ndim > 3 || d->ndim < 2 || d->ndim > 3)
        return fail(c, "src and dst must be [T, D] or [T, H, D]", s->ndim, d->ndim);
    if (heads_of(s) != heads_of(d)) return fail(c, "src and dst heads differ", heads_of(s), heads_of(d));
    int64_t so = seam_op_int(c, 2), dof = seam_op_int(c, 3), w = seam_op_int(c, 4);
    if (w < 1 || so < 0 || dof < 0) return fail(c, "width must be >= 1, offsets >= 0", w, so < dof ? so : dof);
    if (so + w > head_dim_of(s)) return fail(c, "src_off + width exceeds src's head dim", so + w, head_dim_of(s));
    if (dof + w > head_dim_of(d)) return fail(c, "dst_off + width exceeds dst's head dim", dof + w, head_dim_of(d));
    return SEAM_OK;
}

seam_status copy_heads_run(const seam_op_call *c, seam_context *ctx, seam_stream stream) {
    const int32_t *counts;
    const seam_batch_view *v;
    SEAM_TRY(device_counts(ctx, &counts, &v));
    const seam_tensor *s = seam_op_tensor(c, 0), *d = seam_op_tensor(c, 1);
    int w = (int)seam_op_int(c, 4);
    int64_t n = (int64_t)c->num_tokens * heads_of(s) * w;
    if (n == 0) return SEAM_OK;
    copy_heads_kernel<<<blocks_for(n), kThreads, 0, (cudaStream_t)stream>>>(
        (const __nv_bfloat16 *)s->data + seam_op_int(c, 2), (__nv_bfloat16 *)d->data + seam_op_int(c, 3),
        c->num_tokens, heads_of(s), head_dim_of(s), row_elems(s), head_dim_of(d), row_elems(d), w, counts);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

/* demo_silu_mul(x [T, 2I], y [T, I]) */
seam_status silu_mul_check(const seam_op_call *c) {
    SEAM_TRY(seam_op_expect_tensor(c, 0, SEAM_DTYPE_BF16, 2, 1));
    SEAM_TRY(seam_op_expect_tensor(c, 1, SEAM_DTYPE_BF16, 2, 1));
    SEAM_TRY(seam_op_expect_dim(c, 0, 0, c->num_tokens));
    SEAM_TRY(seam_op_expect_dim(c, 1, 0, c->num_tokens));
    return seam_op_expect_dim(c, 0, 1, 2 * seam_op_tensor(c, 1)->shape[1]);
}

seam_status silu_mul_run(const seam_op_call *c, seam_context *ctx, seam_stream stream) {
    const int32_t *counts;
    const seam_batch_view *v;
    SEAM_TRY(device_counts(ctx, &counts, &v));
    int inter = (int)seam_op_tensor(c, 1)->shape[1];
    int64_t n = (int64_t)c->num_tokens * inter;
    if (n == 0) return SEAM_OK;
    silu_mul_kernel<<<blocks_for(n), kThreads, 0, (cudaStream_t)stream>>>(
        (const __nv_bfloat16 *)seam_op_tensor(c, 0)->data, (__nv_bfloat16 *)seam_op_tensor(c, 1)->data,
        c->num_tokens, inter, counts);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

/* demo_latent_store(kv [T, 512], pe [T, 64], cache [slots, 576]) */
seam_status latent_store_check(const seam_op_call *c) {
    SEAM_TRY(seam_op_expect_tensor(c, 0, SEAM_DTYPE_BF16, 2, 1));
    SEAM_TRY(seam_op_expect_dim(c, 0, 0, c->num_tokens));
    SEAM_TRY(seam_op_expect_dim(c, 0, 1, SEAM_MLA_V_DIM));
    SEAM_TRY(seam_op_expect_tensor(c, 1, SEAM_DTYPE_BF16, -1, 1));
    SEAM_TRY(seam_op_expect_dim(c, 1, 0, c->num_tokens));
    if (row_elems(seam_op_tensor(c, 1)) != SEAM_MLA_QK_DIM - SEAM_MLA_V_DIM)
        return fail(c, "pe rows must hold 64 values", row_elems(seam_op_tensor(c, 1)),
                    SEAM_MLA_QK_DIM - SEAM_MLA_V_DIM);
    SEAM_TRY(seam_op_expect_tensor(c, 2, SEAM_DTYPE_BF16, 2, 1));
    return seam_op_expect_dim(c, 2, 1, SEAM_MLA_QK_DIM);
}

seam_status latent_store_run(const seam_op_call *c, seam_context *ctx, seam_stream stream) {
    const int32_t *counts;
    const seam_batch_view *v;
    SEAM_TRY(device_counts(ctx, &counts, &v));
    int64_t n = (int64_t)c->num_tokens * SEAM_MLA_QK_DIM;
    if (n == 0) return SEAM_OK;
    latent_store_kernel<<<blocks_for(n), kThreads, 0, (cudaStream_t)stream>>>(
        (const __nv_bfloat16 *)seam_op_tensor(c, 0)->data, (const __nv_bfloat16 *)seam_op_tensor(c, 1)->data,
        (__nv_bfloat16 *)seam_op_tensor(c, 2)->data, c->num_tokens, seam_op_tensor(c, 2)->shape[0],
        v->out_cache_loc, counts);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

/* demo_q_quant(q bf16 [T, H, 128], w bf16 [T, H], q8 fp8 [T, H, 128], weights f32 [T, H],
 * scale) */
seam_status q_quant_check(const seam_op_call *c) {
    SEAM_TRY(seam_op_expect_tensor(c, 0, SEAM_DTYPE_BF16, 3, 1));
    SEAM_TRY(seam_op_expect_dim(c, 0, 0, c->num_tokens));
    SEAM_TRY(seam_op_expect_dim(c, 0, 2, SEAM_INDEXER_HEAD_DIM));
    int64_t h = seam_op_tensor(c, 0)->shape[1];
    SEAM_TRY(seam_op_expect_tensor(c, 1, SEAM_DTYPE_BF16, 2, 1));
    SEAM_TRY(seam_op_expect_dim(c, 1, 0, c->num_tokens));
    SEAM_TRY(seam_op_expect_dim(c, 1, 1, h));
    SEAM_TRY(seam_op_expect_tensor(c, 2, SEAM_DTYPE_FP8_E4M3, 3, 1));
    SEAM_TRY(seam_op_expect_dim(c, 2, 0, c->num_tokens));
    SEAM_TRY(seam_op_expect_dim(c, 2, 1, h));
    SEAM_TRY(seam_op_expect_dim(c, 2, 2, SEAM_INDEXER_HEAD_DIM));
    SEAM_TRY(seam_op_expect_tensor(c, 3, SEAM_DTYPE_F32, 2, 1));
    SEAM_TRY(seam_op_expect_dim(c, 3, 0, c->num_tokens));
    return seam_op_expect_dim(c, 3, 1, h);
}

seam_status q_quant_run(const seam_op_call *c, seam_context *ctx, seam_stream stream) {
    const int32_t *counts;
    const seam_batch_view *v;
    SEAM_TRY(device_counts(ctx, &counts, &v));
    int heads = (int)seam_op_tensor(c, 0)->shape[1];
    int64_t warps = (int64_t)c->num_tokens * heads;
    if (warps == 0) return SEAM_OK;
    q_quant_kernel<<<blocks_for(warps * 32), kThreads, 0, (cudaStream_t)stream>>>(
        (const __nv_bfloat16 *)seam_op_tensor(c, 0)->data, (const __nv_bfloat16 *)seam_op_tensor(c, 1)->data,
        (uint8_t *)seam_op_tensor(c, 2)->data, (float *)seam_op_tensor(c, 3)->data, c->num_tokens, heads,
        (float)seam_op_float(c, 4), counts);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

seam_op make(const char *name, int n, seam_op_check_fn check, seam_op_run_fn run, uint32_t mutates) {
    seam_op op = {};
    op.name = name;
    op.flags = SEAM_OP_CAPTURABLE;
    op.num_args = n;
    for (int i = 0; i < n; i++) op.arg_kinds[i] = SEAM_ARG_TENSOR;
    op.mutates = mutates;
    op.check = check;
    op.run = run;
    return op;
}

}  // namespace

extern "C" seam_status demo_register_kernel_ops(seam_registry *reg) {
    seam_op ops[5];
    ops[0] = make("demo_copy_rows", 2, copy_rows_check, copy_rows_run, 1u << 1);
    ops[0].arg_names[0] = "x", ops[0].arg_names[1] = "y";
    ops[1] = make("demo_copy_heads", 5, copy_heads_check, copy_heads_run, 1u << 1);
    ops[1].arg_names[0] = "src", ops[1].arg_names[1] = "dst", ops[1].arg_names[2] = "src_off";
    ops[1].arg_names[3] = "dst_off", ops[1].arg_names[4] = "width";
    ops[1].arg_kinds[2] = ops[1].arg_kinds[3] = ops[1].arg_kinds[4] = SEAM_ARG_INT;
    ops[2] = make("demo_silu_mul", 2, silu_mul_check, silu_mul_run, 1u << 1);
    ops[2].arg_names[0] = "x", ops[2].arg_names[1] = "y";
    ops[3] = make("demo_latent_store", 3, latent_store_check, latent_store_run, 1u << 2);
    ops[3].arg_names[0] = "kv", ops[3].arg_names[1] = "pe", ops[3].arg_names[2] = "cache";
    ops[4] = make("demo_q_quant", 5, q_quant_check, q_quant_run, (1u << 2) | (1u << 3));
    ops[4].arg_names[0] = "q", ops[4].arg_names[1] = "w", ops[4].arg_names[2] = "q8";
    ops[4].arg_names[3] = "weights", ops[4].arg_names[4] = "scale";
    ops[4].arg_kinds[4] = SEAM_ARG_FLOAT;
    for (int i = 0; i < 5; i++) SEAM_TRY(seam_registry_register(reg, &ops[i], NULL));
    return SEAM_OK;
}

extern "C" seam_status demo_fill_bf16(void *dst, int64_t n, uint64_t seed, float center, float scale,
                                      seam_stream stream) {
    SEAM_CHECK_PTR(dst);
    SEAM_CHECK_ARG(n >= 0, "n=%lld is negative", (long long)n);
    if (n == 0) return SEAM_OK;
    fill_bf16_kernel<<<blocks_for(n), kThreads, 0, (cudaStream_t)stream>>>((__nv_bfloat16 *)dst, n, seed,
                                                                          center, scale);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

extern "C" seam_status demo_fill_iota(int32_t *dst, int64_t n, int32_t first, seam_stream stream) {
    SEAM_CHECK_PTR(dst);
    SEAM_CHECK_ARG(n >= 0, "n=%lld is negative", (long long)n);
    if (n == 0) return SEAM_OK;
    iota_kernel<<<blocks_for(n), kThreads, 0, (cudaStream_t)stream>>>(dst, n, first);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

extern "C" seam_status demo_count_differing(const void *a, const void *b, int rows, int64_t ld, int batch,
                                            int64_t bstride, int width, unsigned long long *differing_device,
                                            seam_stream stream) {
    SEAM_CHECK_PTR(a);
    SEAM_CHECK_PTR(b);
    SEAM_CHECK_PTR(differing_device);
    SEAM_CUDA_CHECK(cudaMemsetAsync(differing_device, 0, sizeof *differing_device, (cudaStream_t)stream));
    int64_t n = (int64_t)rows * batch * width;
    if (n == 0) return SEAM_OK;
    compare_kernel<<<blocks_for(n), kThreads, 0, (cudaStream_t)stream>>>((const uint16_t *)a, (const uint16_t *)b, rows,
                                                                        ld, batch, bstride, width, differing_device);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

extern "C" seam_status demo_gather_rows(void *dst, const void *src, int64_t row_bytes, const int32_t *slots_device,
                                        int n, seam_stream stream) {
    SEAM_CHECK_PTR(dst);
    SEAM_CHECK_PTR(src);
    SEAM_CHECK_PTR(slots_device);
    SEAM_CHECK_ARG(row_bytes > 0 && row_bytes % 4 == 0, "row_bytes=%lld is not a positive multiple of 4",
                   (long long)row_bytes);
    if (n <= 0) return SEAM_OK;
    int64_t total = (int64_t)n * (row_bytes / 4);
    gather_rows_kernel<<<blocks_for(total), kThreads, 0, (cudaStream_t)stream>>>(
        (uint32_t *)dst, (const uint32_t *)src, row_bytes / 4, slots_device, n);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}
