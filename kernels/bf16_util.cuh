/* Internal: small bf16 and warp helpers shared by the layer kernels (hadamard, norms, rope,
 * sparse attention). */
#ifndef SEAM_BF16_UTIL_CUH
#define SEAM_BF16_UTIL_CUH

#include <cuda_bf16.h>
#include <stdint.h>

#include <type_traits>

namespace seam {

__device__ __forceinline__ float bf16_to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ __nv_bfloat16 float_to_bf16(float v) { return __float2bfloat16_rn(v); }

/* Load / store N consecutive bf16 values as floats. N = 8 uses one 16-byte access (the
 * caller guarantees alignment), N = 4 one 8-byte access, N = 2 one 4-byte access. */
template <int N>
__device__ __forceinline__ void load_bf16(const __nv_bfloat16 *p, float (&v)[N]) {
    if constexpr (N == 8 || N == 4 || N == 2) {
        using vec = typename std::conditional<N == 8, uint4,
                    typename std::conditional<N == 4, uint2, uint32_t>::type>::type;
        vec raw = *reinterpret_cast<const vec *>(p);
        const __nv_bfloat162 *h = reinterpret_cast<const __nv_bfloat162 *>(&raw);
#pragma unroll
        for (int i = 0; i < N / 2; i++) {
            float2 f = __bfloat1622float2(h[i]);
            v[2 * i] = f.x;
            v[2 * i + 1] = f.y;
        }
    } else {
#pragma unroll
        for (int i = 0; i < N; i++) v[i] = __bfloat162float(p[i]);
    }
}

template <int N>
__device__ __forceinline__ void store_bf16(__nv_bfloat16 *p, const float (&v)[N]) {
    if constexpr (N == 8 || N == 4 || N == 2) {
        using vec = typename std::conditional<N == 8, uint4,
                    typename std::conditional<N == 4, uint2, uint32_t>::type>::type;
        vec raw;
        __nv_bfloat162 *h = reinterpret_cast<__nv_bfloat162 *>(&raw);
#pragma unroll
        for (int i = 0; i < N / 2; i++) h[i] = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
        *reinterpret_cast<vec *>(p) = raw;
    } else {
#pragma unroll
        for (int i = 0; i < N; i++) p[i] = __float2bfloat16_rn(v[i]);
    }
}

/* A weight/bias element stored as float or bf16. */
__device__ __forceinline__ float load_param(const void *p, int64_t i, bool is_bf16) {
    return is_bf16 ? __bfloat162float(static_cast<const __nv_bfloat16 *>(p)[i])
                   : static_cast<const float *>(p)[i];
}

/* Sum over the `width` lanes of each aligned lane group (width a power of two <= 32). */
template <int WIDTH = 32>
__device__ __forceinline__ float group_sum(float v) {
#pragma unroll
    for (int o = WIDTH / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

template <int WIDTH = 32>
__device__ __forceinline__ float group_max(float v) {
#pragma unroll
    for (int o = WIDTH / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* The real token count: all `tokens` when no device count is given. */
__device__ __forceinline__ int real_tokens(const int32_t *num_tokens, int tokens) {
    if (!num_tokens) return tokens;
    int n = *num_tokens;
    return n < tokens ? n : tokens;
}

} // namespace seam

#endif
