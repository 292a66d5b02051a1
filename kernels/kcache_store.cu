/* Indexer k-cache store: bf16 keys -> fp8 e4m3 + one fp32 scale per key, scattered to the
 * cache slots in out_cache_loc.
 *
 * One warp per token: each lane loads 4 of the 128 bf16 values (8 bytes, so a warp reads the
 * row in one coalesced 256-byte request), the warp reduces the row's amax with shuffles,
 * every lane converts its 4 values (x * (448 / amax), round-to-nearest-even, saturating to
 * +-448) and writes them as one 32-bit word: the warp writes the slot's 128 bytes at once.
 * Dividing once and multiplying by the reciprocal keeps the host emulation in the tests
 * bit-exact (two IEEE single-precision operations, no FMA).
 *
 * Graph safety: the grid covers `tokens` (the bucket) and each warp reads the real count
 * from device memory, so a replay with fewer real tokens writes nothing for the padding. */
#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include "runtime/cuda_check.h"
#include "seam/indexer.h"

namespace {

constexpr int kWarpsPerBlock = 8;

__global__ void k_store_kernel(const __nv_bfloat16 *__restrict__ key,
                               const int32_t *__restrict__ out_cache_loc,
                               const int32_t *__restrict__ num_tokens_device, int tokens,
                               uint8_t *__restrict__ cache, float *__restrict__ scales,
                               int64_t num_slots) {
    int lane = threadIdx.x & 31;
    int t = blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5);
    int real = num_tokens_device ? *num_tokens_device : tokens;
    if (t >= tokens || t >= real) return;
    int64_t slot = out_cache_loc[t];
    if (slot < 0 || slot >= num_slots) return;

    const uint2 raw = reinterpret_cast<const uint2 *>(key + (size_t)t * SEAM_INDEXER_HEAD_DIM)[lane];
    __nv_bfloat162 lo = *reinterpret_cast<const __nv_bfloat162 *>(&raw.x);
    __nv_bfloat162 hi = *reinterpret_cast<const __nv_bfloat162 *>(&raw.y);
    float v[4] = {__low2float(lo), __high2float(lo), __low2float(hi), __high2float(hi)};
    float amax = fmaxf(fmaxf(fabsf(v[0]), fabsf(v[1])), fmaxf(fabsf(v[2]), fabsf(v[3])));
    for (int m = 16; m > 0; m >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, m));

    float scale = amax > 0.0f ? __fdiv_rn(amax, SEAM_INDEXER_FP8_MAX) : 1.0f;
    float inv = amax > 0.0f ? __fdiv_rn(SEAM_INDEXER_FP8_MAX, amax) : 1.0f;
    uint32_t word = 0;
    for (int i = 0; i < 4; i++) {
        __nv_fp8_storage_t b = __nv_cvt_float_to_fp8(__fmul_rn(v[i], inv), __NV_SATFINITE, __NV_E4M3);
        word |= (uint32_t)b << (8 * i);
    }
    reinterpret_cast<uint32_t *>(cache + slot * SEAM_INDEXER_HEAD_DIM)[lane] = word;
    if (lane == 0) scales[slot] = scale;
}

} // namespace

extern "C" SEAM_API seam_status seam_indexer_k_store(const seam_indexer_k_store_params *p,
                                                     seam_stream stream) {
    SEAM_CHECK_PTR(p);
    SEAM_CHECK_ARG(p->struct_size == sizeof(seam_indexer_k_store_params),
                   "params->struct_size=%zu, expected %zu (use "
                   "SEAM_INDEXER_K_STORE_PARAMS_INITIALIZER)",
                   p->struct_size, sizeof(seam_indexer_k_store_params));
    SEAM_CHECK_ARG(p->tokens >= 0, "params->tokens=%d is negative", p->tokens);
    SEAM_CHECK_ARG(p->num_slots >= 0, "params->num_slots=%lld is negative", (long long)p->num_slots);
    if (p->tokens == 0) return SEAM_OK;
    SEAM_CHECK_ARG(p->key != NULL, "params->key is NULL");
    SEAM_CHECK_ARG(((uintptr_t)p->key & 7) == 0, "params->key is not 8-byte aligned");
    SEAM_CHECK_ARG(p->out_cache_loc != NULL, "params->out_cache_loc is NULL");
    SEAM_CHECK_ARG(p->k_cache != NULL, "params->k_cache is NULL");
    SEAM_CHECK_ARG(((uintptr_t)p->k_cache & 3) == 0, "params->k_cache is not 4-byte aligned");
    SEAM_CHECK_ARG(p->k_scales != NULL, "params->k_scales is NULL");
    int blocks = (p->tokens + kWarpsPerBlock - 1) / kWarpsPerBlock;
    k_store_kernel<<<blocks, 32 * kWarpsPerBlock, 0, (cudaStream_t)stream>>>(
        (const __nv_bfloat16 *)p->key, p->out_cache_loc, p->num_tokens_device, p->tokens,
        (uint8_t *)p->k_cache, p->k_scales, p->num_slots);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}
