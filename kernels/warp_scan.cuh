/* Internal: a warp's inclusive prefix sum, shared by the top-k (step_gather) and the indexer
 * logits (request-group lookup). All 32 lanes must call it together. */
#ifndef SEAM_WARP_SCAN_CUH
#define SEAM_WARP_SCAN_CUH

namespace seam {

/* Sum of v over lanes 0..lane (five shuffles). */
__device__ __forceinline__ int warp_inclusive_sum(int v, int lane) {
#pragma unroll
    for (int d = 1; d < 32; d <<= 1) {
        int u = __shfl_up_sync(0xffffffffu, v, d);
        if (lane >= d) v += u;
    }
    return v;
}

} // namespace seam

#endif
