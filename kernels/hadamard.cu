/* 128-dim normalized Walsh-Hadamard transform (the DSA indexer's rotation of q and k).
 *
 * One warp per 128-vector: lane l holds elements 4l..4l+3 (one 8-byte load). The
 * fast transform's seven butterfly stages are strides 1, 2 (inside a lane's four registers)
 * and 4..64 (between lanes l and l ^ stride/4, one __shfl_xor each). In a butterfly the
 * lower element becomes a + b and the upper a - b, which gives the Sylvester order. The
 * data is read once and written once (HBM-bound: 512 bytes per vector), fp32 in registers.
 * In place is safe: each warp reads its whole vector before writing it. */
#include "seam/layers.h"

#include "kernels/bf16_util.cuh"
#include "runtime/cuda_check.h"

namespace {

constexpr int kThreads = 256;
constexpr int kVectorsPerBlock = kThreads / 32;

__global__ void __launch_bounds__(kThreads)
hadamard_kernel(const __nv_bfloat16 *x, int64_t x_stride, __nv_bfloat16 *out, int64_t out_stride,
                int tokens, int heads, float scale, const int32_t *num_tokens) {
    const int lane = threadIdx.x & 31;
    const int64_t vec = (int64_t)blockIdx.x * kVectorsPerBlock + (threadIdx.x >> 5);
    const int64_t t = vec / heads;
    const int h = (int)(vec - t * heads);
    if (t >= seam::real_tokens(num_tokens, tokens)) return;

    float v[4];
    seam::load_bf16<4>(x + t * x_stride + (int64_t)h * 128 + lane * 4, v);
    /* strides 1 and 2: inside the lane */
    float a0 = v[0] + v[1], a1 = v[0] - v[1], a2 = v[2] + v[3], a3 = v[2] - v[3];
    v[0] = a0 + a2;
    v[1] = a1 + a3;
    v[2] = a0 - a2;
    v[3] = a1 - a3;
    /* strides 4..64: between lanes */
#pragma unroll
    for (int m = 1; m < 32; m <<= 1) {
        const bool upper = (lane & m) != 0;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            float other = __shfl_xor_sync(0xffffffffu, v[i], m);
            v[i] = upper ? other - v[i] : v[i] + other;
        }
    }
#pragma unroll
    for (int i = 0; i < 4; i++) v[i] *= scale;
    seam::store_bf16<4>(out + t * out_stride + (int64_t)h * 128 + lane * 4, v);
}

} // namespace

extern "C" seam_status seam_hadamard(const seam_hadamard_params *p, seam_stream stream) {
    SEAM_CHECK_PTR(p);
    SEAM_CHECK_ARG(p->struct_size == sizeof(seam_hadamard_params),
                   "params->struct_size=%zu, expected %zu (use SEAM_HADAMARD_PARAMS_INITIALIZER)",
                   p->struct_size, sizeof(seam_hadamard_params));
    SEAM_CHECK_ARG(p->tokens >= 0, "params->tokens=%d is negative", p->tokens);
    SEAM_CHECK_ARG(p->heads >= 1, "params->heads=%d is not >= 1", p->heads);
    const int64_t row = (int64_t)p->heads * 128;
    const int64_t xs = p->x_token_stride ? p->x_token_stride : row;
    const int64_t os = p->out_token_stride ? p->out_token_stride : row;
    SEAM_CHECK_ARG(xs >= row && xs % 4 == 0, "params->x_token_stride=%lld must be a multiple of 4 "
                   "and >= heads*128=%lld", (long long)xs, (long long)row);
    SEAM_CHECK_ARG(os >= row && os % 4 == 0, "params->out_token_stride=%lld must be a multiple of "
                   "4 and >= heads*128=%lld", (long long)os, (long long)row);
    SEAM_CHECK_ARG(p->x != p->out || xs == os, "params->x == params->out (in place) needs equal "
                   "token strides, got %lld and %lld", (long long)xs, (long long)os);
    if (p->tokens == 0) return SEAM_OK;
    SEAM_CHECK_PTR(p->x);
    SEAM_CHECK_PTR(p->out);
    SEAM_CHECK_ARG((uintptr_t)p->x % 8 == 0, "params->x=%p is not 8-byte aligned", p->x);
    SEAM_CHECK_ARG((uintptr_t)p->out % 8 == 0, "params->out=%p is not 8-byte aligned", p->out);
    const int64_t vectors = (int64_t)p->tokens * p->heads;
    const int64_t blocks = (vectors + kVectorsPerBlock - 1) / kVectorsPerBlock;
    SEAM_CHECK_ARG(blocks <= 0x7fffffff, "params: tokens=%d x heads=%d is too many vectors",
                   p->tokens, p->heads);
    hadamard_kernel<<<(unsigned)blocks, kThreads, 0, (cudaStream_t)stream>>>(
        (const __nv_bfloat16 *)p->x, xs, (__nv_bfloat16 *)p->out, os, p->tokens, p->heads,
        p->scale, p->num_tokens);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}
