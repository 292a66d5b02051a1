/* RMSNorm and LayerNorm over rows of bf16, with an optional fused residual add.
 *
 * One warp per row for rows of up to 1024 values (the indexer's 128-dim k norm: 8 rows per
 * block), one 256-thread block per row beyond (hidden 7168). Each thread owns the same
 * chunks of the row in every pass (16-byte chunks of 8 values when the row and pointers
 * allow, single values otherwise), so the residual a thread writes in pass 1 is read back by
 * that same thread in pass 2 without a barrier, and out may alias x. Passes: statistics
 * (sum of squares; LayerNorm: the mean, then the centred sum of squares, which avoids the
 * cancellation of E[x^2] - mean^2), then normalize and write. Re-reads hit L1/L2; HBM sees
 * each row read once and written once (twice with the residual). */
#include "seam/layers.h"

#include "kernels/bf16_util.cuh"
#include "runtime/cuda_check.h"

namespace {

constexpr int kThreads = 256;

struct NormArgs {
    const __nv_bfloat16 *x;
    int64_t xs;
    __nv_bfloat16 *out;
    int64_t os;
    __nv_bfloat16 *res;
    int64_t rs;
    const void *weight;
    const void *bias;
    bool param_bf16;
    int hidden;
    int tokens;
    float eps;
    const int32_t *num_tokens;
};

/* Sum over the TPR threads of a row (TPR = 32: one warp; TPR = kThreads: the block). */
template <int TPR>
__device__ __forceinline__ float row_sum(float v, float *scratch) {
    v = seam::group_sum<(TPR < 32 ? TPR : 32)>(v);
    if constexpr (TPR > 32) {
        const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
        if (lane == 0) scratch[warp] = v;
        __syncthreads();
        v = 0.f;
#pragma unroll
        for (int i = 0; i < TPR / 32; i++) v += scratch[i];
        __syncthreads(); /* scratch is reused by the next reduction */
    }
    return v;
}

template <int TPR, int N, bool LAYER>
__global__ void __launch_bounds__(kThreads) norm_kernel(NormArgs a) {
    __shared__ float scratch[kThreads / 32];
    const int64_t row = (int64_t)blockIdx.x * (kThreads / TPR) + threadIdx.x / TPR;
    const int tid = threadIdx.x % TPR;
    /* TPR = kThreads: the whole block shares the row and leaves together (no barrier is
     * skipped); TPR = 32: only warp-level reductions. */
    if (row >= seam::real_tokens(a.num_tokens, a.tokens)) return;
    const int chunks = a.hidden / N;
    const __nv_bfloat16 *x = a.x + row * a.xs;
    __nv_bfloat16 *res = a.res ? a.res + row * a.rs : nullptr;
    /* the values that are normalized: the stored bf16 residual sum, or x */
    const __nv_bfloat16 *src = res ? res : x;

    float sum = 0.f;
    for (int c = tid; c < chunks; c += TPR) {
        float v[N];
        seam::load_bf16<N>(x + (int64_t)c * N, v);
        if (res) {
            float r[N];
            seam::load_bf16<N>(res + (int64_t)c * N, r);
#pragma unroll
            for (int i = 0; i < N; i++) v[i] = seam::bf16_to_float(seam::float_to_bf16(v[i] + r[i]));
            seam::store_bf16<N>(res + (int64_t)c * N, v);
        }
#pragma unroll
        for (int i = 0; i < N; i++) sum += LAYER ? v[i] : v[i] * v[i];
    }
    sum = row_sum<TPR>(sum, scratch);
    float mean = 0.f, sq = sum;
    if constexpr (LAYER) {
        mean = sum / (float)a.hidden;
        sq = 0.f;
        for (int c = tid; c < chunks; c += TPR) {
            float v[N];
            seam::load_bf16<N>(src + (int64_t)c * N, v);
#pragma unroll
            for (int i = 0; i < N; i++) sq += (v[i] - mean) * (v[i] - mean);
        }
        sq = row_sum<TPR>(sq, scratch);
    }
    const float inv = rsqrtf(sq / (float)a.hidden + a.eps);

    __nv_bfloat16 *out = a.out + row * a.os;
    for (int c = tid; c < chunks; c += TPR) {
        float v[N];
        seam::load_bf16<N>(src + (int64_t)c * N, v);
#pragma unroll
        for (int i = 0; i < N; i++) {
            const int64_t j = (int64_t)c * N + i;
            float y = (v[i] - mean) * inv * seam::load_param(a.weight, j, a.param_bf16);
            if (LAYER && a.bias) y += seam::load_param(a.bias, j, a.param_bf16);
            v[i] = y;
        }
        seam::store_bf16<N>(out + (int64_t)c * N, v);
    }
}

template <int TPR, bool LAYER>
void launch(const NormArgs &a, bool vec, unsigned blocks, cudaStream_t s) {
    if (vec) norm_kernel<TPR, 8, LAYER><<<blocks, kThreads, 0, s>>>(a);
    else norm_kernel<TPR, 1, LAYER><<<blocks, kThreads, 0, s>>>(a);
}

bool aligned16(const void *p) { return (uintptr_t)p % 16 == 0; }

} // namespace

extern "C" seam_status seam_norm(const seam_norm_params *p, seam_stream stream) {
    SEAM_CHECK_PTR(p);
    SEAM_CHECK_ARG(p->struct_size == sizeof(seam_norm_params),
                   "params->struct_size=%zu, expected %zu (use SEAM_NORM_PARAMS_INITIALIZER)",
                   p->struct_size, sizeof(seam_norm_params));
    SEAM_CHECK_ARG(p->kind == SEAM_NORM_RMS || p->kind == SEAM_NORM_LAYER,
                   "params->kind=%d is not SEAM_NORM_RMS or SEAM_NORM_LAYER", (int)p->kind);
    SEAM_CHECK_ARG(p->param_dtype == SEAM_PARAM_F32 || p->param_dtype == SEAM_PARAM_BF16,
                   "params->param_dtype=%d is not SEAM_PARAM_F32 or SEAM_PARAM_BF16",
                   (int)p->param_dtype);
    SEAM_CHECK_ARG(p->tokens >= 0, "params->tokens=%d is negative", p->tokens);
    SEAM_CHECK_ARG(p->hidden >= 1, "params->hidden=%d is not >= 1", p->hidden);
    SEAM_CHECK_ARG(p->eps > 0.f, "params->eps=%g is not > 0", (double)p->eps);
    SEAM_CHECK_ARG(p->kind == SEAM_NORM_LAYER || p->bias == NULL,
                   "params->bias is set for SEAM_NORM_RMS (RMSNorm has no bias)");
    const int64_t xs = p->x_token_stride ? p->x_token_stride : p->hidden;
    const int64_t os = p->out_token_stride ? p->out_token_stride : p->hidden;
    const int64_t rs = p->residual_token_stride ? p->residual_token_stride : p->hidden;
    SEAM_CHECK_ARG(xs >= p->hidden, "params->x_token_stride=%lld is less than hidden=%d",
                   (long long)xs, p->hidden);
    SEAM_CHECK_ARG(os >= p->hidden, "params->out_token_stride=%lld is less than hidden=%d",
                   (long long)os, p->hidden);
    SEAM_CHECK_ARG(rs >= p->hidden, "params->residual_token_stride=%lld is less than hidden=%d",
                   (long long)rs, p->hidden);
    SEAM_CHECK_ARG(p->x != p->out || xs == os, "params->x == params->out (in place) needs equal "
                   "token strides, got %lld and %lld", (long long)xs, (long long)os);
    SEAM_CHECK_ARG(p->residual == NULL || (p->residual != p->x && p->residual != p->out),
                   "params->residual must not alias x or out");
    if (p->tokens == 0) return SEAM_OK;
    SEAM_CHECK_PTR(p->x);
    SEAM_CHECK_PTR(p->out);
    SEAM_CHECK_PTR(p->weight);

    NormArgs a;
    a.x = (const __nv_bfloat16 *)p->x;
    a.xs = xs;
    a.out = (__nv_bfloat16 *)p->out;
    a.os = os;
    a.res = (__nv_bfloat16 *)p->residual;
    a.rs = rs;
    a.weight = p->weight;
    a.bias = p->bias;
    a.param_bf16 = p->param_dtype == SEAM_PARAM_BF16;
    a.hidden = p->hidden;
    a.tokens = p->tokens;
    a.eps = p->eps;
    a.num_tokens = p->num_tokens;
    const bool vec = p->hidden % 8 == 0 && xs % 8 == 0 && os % 8 == 0 && rs % 8 == 0 &&
                     aligned16(p->x) && aligned16(p->out) && aligned16(p->residual);
    const bool layer = p->kind == SEAM_NORM_LAYER;
    cudaStream_t s = (cudaStream_t)stream;
    if (p->hidden <= 1024) {
        const unsigned blocks = (unsigned)((p->tokens + kThreads / 32 - 1) / (kThreads / 32));
        if (layer) launch<32, true>(a, vec, blocks, s);
        else launch<32, false>(a, vec, blocks, s);
    } else {
        if (layer) launch<kThreads, true>(a, vec, (unsigned)p->tokens, s);
        else launch<kThreads, false>(a, vec, (unsigned)p->tokens, s);
    }
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}
