/* Rotary position embedding, in place, on a slice of every head (the indexer's first 64 of
 * 128 dims, or MLA's 64 rope dims after the 512 latent ones).
 *
 * One thread per rotated pair: it reads the pair, its token's position and either the
 * engine's cos/sin table or computes the angle itself, and writes the pair back. Without a
 * table the angle pos * theta^(-2i/d) is formed in fp64 and reduced modulo 2*pi before the
 * fp32 sin/cos, so large positions (163839) keep full fp32 accuracy instead of the ~1e-2 rad
 * error of an fp32 product. The op is tiny next to the projections around it; simplicity
 * wins over vector loads here. */
#include "seam/layers.h"

#include "kernels/bf16_util.cuh"
#include "runtime/cuda_check.h"

namespace {

constexpr int kThreads = 256;

struct RopeArgs {
    __nv_bfloat16 *x;
    int64_t xs;
    const int32_t *positions;
    const float *cache;
    int cache_positions;
    int tokens, heads, head_dim, rotary_dim, offset;
    bool interleaved;
    double log_theta;
    const int32_t *num_tokens;
};

__global__ void __launch_bounds__(kThreads) rope_kernel(RopeArgs a) {
    const int half = a.rotary_dim / 2;
    const int64_t idx = (int64_t)blockIdx.x * kThreads + threadIdx.x;
    const int64_t pair_rows = idx / half;
    const int i = (int)(idx - pair_rows * half);
    const int64_t t = pair_rows / a.heads;
    const int h = (int)(pair_rows - t * a.heads);
    if (t >= seam::real_tokens(a.num_tokens, a.tokens)) return;

    const int pos = a.positions[t];
    float c, s;
    if (a.cache) {
        if (pos < 0 || pos >= a.cache_positions) return;
        c = a.cache[(int64_t)pos * a.rotary_dim + i];
        s = a.cache[(int64_t)pos * a.rotary_dim + half + i];
    } else {
        if (pos < 0) return;
        const double two_pi = 6.283185307179586476925286766559;
        const double inv_freq = exp(-(2.0 * i / a.rotary_dim) * a.log_theta);
        double angle = (double)pos * inv_freq;
        angle -= two_pi * rint(angle / two_pi);
        sincosf((float)angle, &s, &c);
    }
    __nv_bfloat16 *head = a.x + t * a.xs + (int64_t)h * a.head_dim + a.offset;
    const int ia = a.interleaved ? 2 * i : i;
    const int ib = a.interleaved ? 2 * i + 1 : i + half;
    const float xa = seam::bf16_to_float(head[ia]), xb = seam::bf16_to_float(head[ib]);
    head[ia] = seam::float_to_bf16(xa * c - xb * s);
    head[ib] = seam::float_to_bf16(xb * c + xa * s);
}

} // namespace

extern "C" seam_status seam_rope(const seam_rope_params *p, seam_stream stream) {
    SEAM_CHECK_PTR(p);
    SEAM_CHECK_ARG(p->struct_size == sizeof(seam_rope_params),
                   "params->struct_size=%zu, expected %zu (use SEAM_ROPE_PARAMS_INITIALIZER)",
                   p->struct_size, sizeof(seam_rope_params));
    SEAM_CHECK_ARG(p->tokens >= 0, "params->tokens=%d is negative", p->tokens);
    SEAM_CHECK_ARG(p->heads >= 1, "params->heads=%d is not >= 1", p->heads);
    SEAM_CHECK_ARG(p->head_dim >= 2, "params->head_dim=%d is not >= 2", p->head_dim);
    SEAM_CHECK_ARG(p->rotary_dim >= 2 && p->rotary_dim % 2 == 0,
                   "params->rotary_dim=%d is not a positive even number", p->rotary_dim);
    SEAM_CHECK_ARG(p->rotary_offset >= 0 && p->rotary_offset + p->rotary_dim <= p->head_dim,
                   "params->rotary_offset=%d + rotary_dim=%d exceeds head_dim=%d",
                   p->rotary_offset, p->rotary_dim, p->head_dim);
    SEAM_CHECK_ARG(p->style == SEAM_ROPE_NEOX || p->style == SEAM_ROPE_INTERLEAVED,
                   "params->style=%d is not SEAM_ROPE_NEOX or SEAM_ROPE_INTERLEAVED", (int)p->style);
    SEAM_CHECK_ARG(p->cos_sin_cache != NULL || p->theta > 0.0,
                   "params->theta=%g is not > 0", p->theta);
    SEAM_CHECK_ARG(p->cos_sin_cache == NULL || p->cache_positions >= 1,
                   "params->cache_positions=%d is not >= 1 with a cos_sin_cache",
                   p->cache_positions);
    const int64_t row = (int64_t)p->heads * p->head_dim;
    const int64_t xs = p->x_token_stride ? p->x_token_stride : row;
    SEAM_CHECK_ARG(xs >= row, "params->x_token_stride=%lld is less than heads*head_dim=%lld",
                   (long long)xs, (long long)row);
    if (p->tokens == 0) return SEAM_OK;
    SEAM_CHECK_PTR(p->x);
    SEAM_CHECK_PTR(p->positions);
    const int64_t pairs = (int64_t)p->tokens * p->heads * (p->rotary_dim / 2);
    const int64_t blocks = (pairs + kThreads - 1) / kThreads;
    SEAM_CHECK_ARG(blocks <= 0x7fffffff, "params: tokens=%d x heads=%d is too large", p->tokens,
                   p->heads);
    RopeArgs a;
    a.x = (__nv_bfloat16 *)p->x;
    a.xs = xs;
    a.positions = p->positions;
    a.cache = p->cos_sin_cache;
    a.cache_positions = p->cache_positions;
    a.tokens = p->tokens;
    a.heads = p->heads;
    a.head_dim = p->head_dim;
    a.rotary_dim = p->rotary_dim;
    a.offset = p->rotary_offset;
    a.interleaved = p->style == SEAM_ROPE_INTERLEAVED;
    a.log_theta = p->cos_sin_cache ? 0.0 : log(p->theta);
    a.num_tokens = p->num_tokens;
    rope_kernel<<<(unsigned)blocks, kThreads, 0, (cudaStream_t)stream>>>(a);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}
