/* MLA sparse attention (absorbed form) over the cache slots the DSA indexer selected.
 *
 * Per token t and head h: scores against the topk gathered latent rows (576 = 512 latent +
 * 64 rope dims), softmax, then the probability-weighted sum of the rows' 512 latent dims.
 * Masked slots (-1, or anything outside [0, num_slots)) are never read. fp32 online softmax
 * (running max m, running sum l, rescale the accumulator by exp(m_old - m_new)); a token
 * with no valid slot ends with l = 0 and writes zeros.
 *
 * SIMPLE: one 128-thread block per (head, token). Each warp streams every 4th selected row:
 * lanes split the 576 dims (bf16 pairs, coalesced), a shuffle reduction gives the score,
 * and the same registers feed the value update; the four warps' (m, l, acc) are merged
 * through shared memory at the end. Heads of one token are neighbouring blocks, so the
 * H-fold re-reads of each row mostly hit L2. CUDA cores only: the obviously correct
 * reference, kept as the fallback. */
#include "seam/layers.h"

#include <math.h>

#include "kernels/bf16_util.cuh"
#include "runtime/cuda_check.h"

namespace {

constexpr int kQK = SEAM_MLA_QK_DIM;        /* 576 */
constexpr int kV = SEAM_MLA_V_DIM;          /* 512 */
constexpr int kQKPairs = kQK / 2 / 32;      /* bf16 pairs per lane over 576 dims: 9 */
constexpr int kVPairs = kV / 2 / 32;        /* ... over the 512 value dims: 8 */

struct AttnArgs {
    const __nv_bfloat16 *q;
    const __nv_bfloat16 *kv;
    const int32_t *indices;
    __nv_bfloat16 *out;
    float *part_o;      /* MMA split path: [splits][tokens][heads][512] */
    float *part_ml;     /* MMA split path: [splits][tokens][heads][2] */
    int tokens, heads, topk, num_slots, splits;
    float scale_log2;   /* scale * log2(e): scores live in the exp2 domain */
    const int32_t *num_tokens;
};

__device__ __forceinline__ bool valid_slot(int s, int num_slots) {
    return s >= 0 && s < num_slots;
}

/* exp2(a - b) that treats an empty state (b = -inf) as contributing nothing. */
__device__ __forceinline__ float rescale(float a, float b) {
    return b == -INFINITY ? 0.f : exp2f(a - b);
}

constexpr int kSimpleWarps = 4;

__global__ void __launch_bounds__(kSimpleWarps * 32) sparse_attention_simple(AttnArgs a) {
    __shared__ float2 q_s[kQK / 2];
    __shared__ float m_s[kSimpleWarps], l_s[kSimpleWarps];
    __shared__ float acc_s[kSimpleWarps][kV];
    const int h = blockIdx.x, t = blockIdx.y;
    if (t >= seam::real_tokens(a.num_tokens, a.tokens)) return;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;

    const __nv_bfloat162 *q2 =
        reinterpret_cast<const __nv_bfloat162 *>(a.q + ((int64_t)t * a.heads + h) * kQK);
    for (int i = threadIdx.x; i < kQK / 2; i += blockDim.x) {
        float2 f = __bfloat1622float2(q2[i]);
        q_s[i] = make_float2(f.x * a.scale_log2, f.y * a.scale_log2);
    }
    __syncthreads();

    float m = -INFINITY, l = 0.f;
    float acc[2 * kVPairs];
#pragma unroll
    for (int i = 0; i < 2 * kVPairs; i++) acc[i] = 0.f;
    const int32_t *idx = a.indices + (int64_t)t * a.topk;
    for (int j = warp; j < a.topk; j += kSimpleWarps) {
        const int s = idx[j];
        if (!valid_slot(s, a.num_slots)) continue; /* uniform across the warp */
        const __nv_bfloat162 *row = reinterpret_cast<const __nv_bfloat162 *>(a.kv + (int64_t)s * kQK);
        float2 v[kQKPairs];
        float dot = 0.f;
#pragma unroll
        for (int k = 0; k < kQKPairs; k++) {
            v[k] = __bfloat1622float2(row[lane + 32 * k]);
            const float2 qq = q_s[lane + 32 * k];
            dot = fmaf(qq.x, v[k].x, fmaf(qq.y, v[k].y, dot));
        }
        dot = seam::group_sum(dot);
        const float m_new = fmaxf(m, dot);
        const float alpha = rescale(m, m_new);
        const float p = exp2f(dot - m_new);
        l = l * alpha + p;
#pragma unroll
        for (int k = 0; k < kVPairs; k++) {
            acc[2 * k] = acc[2 * k] * alpha + p * v[k].x;
            acc[2 * k + 1] = acc[2 * k + 1] * alpha + p * v[k].y;
        }
        m = m_new;
    }
    if (lane == 0) {
        m_s[warp] = m;
        l_s[warp] = l;
    }
#pragma unroll
    for (int k = 0; k < kVPairs; k++) {
        acc_s[warp][2 * (lane + 32 * k)] = acc[2 * k];
        acc_s[warp][2 * (lane + 32 * k) + 1] = acc[2 * k + 1];
    }
    __syncthreads();
    float m_all = -INFINITY;
#pragma unroll
    for (int w = 0; w < kSimpleWarps; w++) m_all = fmaxf(m_all, m_s[w]);
    float f[kSimpleWarps], l_all = 0.f;
#pragma unroll
    for (int w = 0; w < kSimpleWarps; w++) {
        f[w] = rescale(m_s[w], m_all);
        l_all += l_s[w] * f[w];
    }
    const float inv = l_all > 0.f ? 1.f / l_all : 0.f;
    __nv_bfloat16 *o = a.out + ((int64_t)t * a.heads + h) * kV;
    for (int c = threadIdx.x; c < kV; c += blockDim.x) {
        float sum = 0.f;
#pragma unroll
        for (int w = 0; w < kSimpleWarps; w++) sum += acc_s[w][c] * f[w];
        o[c] = seam::float_to_bf16(sum * inv);
    }
}

} // namespace

extern "C" seam_status seam_sparse_attention_workspace_size(int tokens, int heads, int topk,
                                                            size_t *bytes) {
    SEAM_CHECK_PTR(bytes);
    SEAM_CHECK_ARG(tokens >= 0, "tokens=%d is negative", tokens);
    SEAM_CHECK_ARG(heads >= 1, "heads=%d is not >= 1", heads);
    SEAM_CHECK_ARG(topk >= 1, "topk=%d is not >= 1", topk);
    *bytes = 0;
    return SEAM_OK;
}

extern "C" seam_status seam_sparse_attention(const seam_sparse_attention_params *p,
                                             seam_stream stream) {
    SEAM_CHECK_PTR(p);
    SEAM_CHECK_ARG(p->struct_size == sizeof(seam_sparse_attention_params),
                   "params->struct_size=%zu, expected %zu (use "
                   "SEAM_SPARSE_ATTENTION_PARAMS_INITIALIZER)",
                   p->struct_size, sizeof(seam_sparse_attention_params));
    SEAM_CHECK_ARG(p->tokens >= 0, "params->tokens=%d is negative", p->tokens);
    SEAM_CHECK_ARG(p->heads >= 1 && p->heads <= 65535, "params->heads=%d is not in [1, 65535]",
                   p->heads);
    SEAM_CHECK_ARG(p->topk >= 1, "params->topk=%d is not >= 1", p->topk);
    SEAM_CHECK_ARG(p->num_slots >= 1, "params->num_slots=%d is not >= 1", p->num_slots);
    SEAM_CHECK_ARG(isfinite(p->scale), "params->scale=%g is not finite", (double)p->scale);
    SEAM_CHECK_ARG(p->kernel >= SEAM_SPARSE_ATTENTION_AUTO && p->kernel <= SEAM_SPARSE_ATTENTION_MMA,
                   "params->kernel=%d is not a seam_sparse_attention_kernel", (int)p->kernel);
    SEAM_CHECK_ARG(p->tokens <= 65535, "params->tokens=%d exceeds 65535", p->tokens);
    if (p->tokens == 0) return SEAM_OK;
    SEAM_CHECK_PTR(p->q);
    SEAM_CHECK_PTR(p->kv);
    SEAM_CHECK_PTR(p->indices);
    SEAM_CHECK_PTR(p->out);
    SEAM_CHECK_ARG((uintptr_t)p->q % 16 == 0, "params->q=%p is not 16-byte aligned", p->q);
    SEAM_CHECK_ARG((uintptr_t)p->kv % 16 == 0, "params->kv=%p is not 16-byte aligned", p->kv);
    SEAM_CHECK_ARG((uintptr_t)p->out % 16 == 0, "params->out=%p is not 16-byte aligned", p->out);

    AttnArgs a;
    a.q = (const __nv_bfloat16 *)p->q;
    a.kv = (const __nv_bfloat16 *)p->kv;
    a.indices = p->indices;
    a.out = (__nv_bfloat16 *)p->out;
    a.part_o = nullptr;
    a.part_ml = nullptr;
    a.tokens = p->tokens;
    a.heads = p->heads;
    a.topk = p->topk;
    a.num_slots = p->num_slots;
    a.splits = 1;
    a.scale_log2 = p->scale * 1.4426950408889634f;
    a.num_tokens = p->num_tokens;
    cudaStream_t s = (cudaStream_t)stream;
    sparse_attention_simple<<<dim3((unsigned)p->heads, (unsigned)p->tokens), kSimpleWarps * 32, 0,
                              s>>>(a);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}
