/* Determinism digest of a layer's top-k output: one 64-bit hash per row plus one per layer,
 * so ranks can compare a whole forward by exchanging a few bytes per layer.
 *
 * The hash is a sum of per-entry mixes rather than a sequential FNV chain: every entry j of a
 * row is mixed with its position (mix(v | j << 32), splitmix64's finalizer) and the mixes are
 * added mod 2^64. Integer addition is associative and commutative, so a block can reduce its
 * row in any order and the result is still bitwise reproducible, while the position inside
 * the mix keeps the hash sensitive to order. The exact definition is in include/seam/comm.h.
 *
 * Two launches: (1) one block per row of the launch shape hashes its row (rows at or past the
 * real row count write 0, so a padded graph bucket leaves no stale values below `rows`);
 * (2) one block folds the real rows' hashes into the layer hash. Reading the real row count
 * from device memory keeps the launch shape fixed, so both launches can be captured and a
 * replay with a new batch hashes exactly that batch's rows. Cost: one read of rows * k int32
 * (32 MiB at 4096 x 2048, ~11 us at H100 bandwidth) plus a tiny second launch. */
#include "kernels/topk_digest.h"
#include "runtime/cuda_check.h"

namespace {

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;
constexpr int kRowThreads = 256;
constexpr int kLayerThreads = 1024;

__device__ __forceinline__ uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

__device__ __forceinline__ int real_row_count(const int32_t *real_rows, int rows) {
    if (real_rows == nullptr) return rows;
    int n = *real_rows;
    return n < 0 ? 0 : n > rows ? rows : n;
}

/* Sum of a uint64 over the block; the result is valid in thread 0. */
template <int kThreads>
__device__ __forceinline__ uint64_t block_sum(uint64_t v) {
    __shared__ uint64_t warp_sums[kThreads / 32];
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    uint64_t total = 0;
    if (threadIdx.x == 0)
        for (int w = 0; w < kThreads / 32; w++) total += warp_sums[w];
    return total;
}

__global__ void __launch_bounds__(kRowThreads)
digest_rows_kernel(const int32_t *__restrict__ topk, int rows, int k,
                   const int32_t *__restrict__ real_rows, uint64_t *__restrict__ row_hashes) {
    const int row = blockIdx.x;
    if (row >= real_row_count(real_rows, rows)) { /* uniform across the block */
        if (threadIdx.x == 0) row_hashes[row] = 0;
        return;
    }
    const int32_t *in = topk + (size_t)row * (size_t)k;
    uint64_t sum = 0;
    for (int j = threadIdx.x; j < k; j += kRowThreads)
        sum += mix64((uint64_t)(uint32_t)in[j] | ((uint64_t)j << 32));
    sum = block_sum<kRowThreads>(sum);
    if (threadIdx.x == 0) row_hashes[row] = mix64(sum + (uint64_t)k * kGolden);
}

__global__ void __launch_bounds__(kLayerThreads)
digest_layer_kernel(int rows, const int32_t *__restrict__ real_rows,
                    const uint64_t *__restrict__ row_hashes, uint64_t *__restrict__ layer_entry) {
    const int n = real_row_count(real_rows, rows);
    uint64_t sum = 0;
    for (int i = threadIdx.x; i < n; i += kLayerThreads)
        sum += mix64(row_hashes[i] ^ ((uint64_t)i * kGolden));
    sum = block_sum<kLayerThreads>(sum);
    if (threadIdx.x == 0) {
        layer_entry[0] = mix64(sum ^ (uint64_t)n);
        layer_entry[1] = (uint64_t)n;
    }
}

} // namespace

extern "C" seam_status seam_topk_digest_launch(const int32_t *topk, int rows, int k,
                                               const int32_t *real_rows, uint64_t *row_hashes,
                                               uint64_t *layer_entry, seam_stream stream) {
    SEAM_CHECK_ARG(rows >= 1, "rows=%d is not positive", rows);
    SEAM_CHECK_ARG(k >= 1, "k=%d is not positive", k);
    SEAM_CHECK_PTR(topk);
    SEAM_CHECK_PTR(row_hashes);
    SEAM_CHECK_PTR(layer_entry);
    cudaStream_t s = (cudaStream_t)stream;
    digest_rows_kernel<<<rows, kRowThreads, 0, s>>>(topk, rows, k, real_rows, row_hashes);
    SEAM_CUDA_CHECK_LAUNCH();
    digest_layer_kernel<<<1, kLayerThreads, 0, s>>>(rows, real_rows, row_hashes, layer_entry);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}
