/* Sort backend: the simple, obviously correct second opinion to the radix select.
 *
 * 1. topk_sort_prep: every valid element (row, j) becomes (key, index) at row * stride + j
 *    of the key/value arrays, with the same order-preserving key as the radix backend; the
 *    segment of row i is [i * stride, i * stride + len_i). For the LARGE tie rule the row
 *    is laid out back to front, so that the stable sort puts larger indices first among
 *    equal keys.
 * 2. cub::DeviceSegmentedRadixSort sorts every segment by key, descending; it is stable, so
 *    equal keys keep ascending index order (SMALL rule for free).
 * 3. topk_sort_finish: one block per row takes the first k values (deterministic mode sorts
 *    them by index with a block radix sort), applies the transform and writes the row.
 *
 * Graph safety: all arrays come from the caller's workspace (size from rows and stride
 * only), the segment offsets are written on the device from lengths, and CUB's segmented
 * sort is a fixed sequence of launches with no host synchronisation. Memory traffic is many
 * times the radix backend's; this backend exists to be trusted, not to be fast. */
#include <limits.h>

#include <cub/block/block_radix_sort.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>

#include "kernels/topk_kernels.h"
#include "runtime/cuda_check.h"

namespace {

constexpr int kFinishThreads = 512;
constexpr int kFinishItems = SEAM_TOPK_MAX_K / kFinishThreads;
constexpr size_t kAlign = 256;

size_t align_up(size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

struct sort_layout {
    uint32_t *keys_in, *keys_out;
    int32_t *vals_in, *vals_out;
    int32_t *begin, *end;
    void *temp;
    size_t temp_bytes, total;
};

/* Carve the workspace (base NULL: only sizes). */
seam_status sort_plan(int rows, int stride, char *base, sort_layout *l) {
    size_t n = (size_t)rows * (size_t)stride;
    size_t off = 0;
    l->keys_in = (uint32_t *)(base + off);
    off += align_up(n * 4);
    l->keys_out = (uint32_t *)(base + off);
    off += align_up(n * 4);
    l->vals_in = (int32_t *)(base + off);
    off += align_up(n * 4);
    l->vals_out = (int32_t *)(base + off);
    off += align_up(n * 4);
    l->begin = (int32_t *)(base + off);
    off += align_up((size_t)rows * 4);
    l->end = (int32_t *)(base + off);
    off += align_up((size_t)rows * 4);
    l->temp = base + off;
    l->temp_bytes = 0;
    SEAM_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
        (void *)NULL, l->temp_bytes, (const uint32_t *)NULL, (uint32_t *)NULL,
        (const int32_t *)NULL, (int32_t *)NULL, (int)n, rows, (const int32_t *)NULL,
        (const int32_t *)NULL, 0, 32, (cudaStream_t)0));
    off += align_up(l->temp_bytes);
    l->total = off;
    return SEAM_OK;
}

__global__ void topk_sort_prep(seam_topk_args a, sort_layout l) {
    const size_t n = (size_t)a.rows * (size_t)a.stride;
    const size_t step = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {
        int row = (int)(i / (size_t)a.stride), j = (int)(i % (size_t)a.stride);
        int start, len;
        seam_topk_row_extent(a, row, &start, &len);
        if (j == 0) {
            l.begin[row] = (int)((size_t)row * a.stride);
            l.end[row] = (int)((size_t)row * a.stride) + len;
        }
        if (j < len) {
            int src = a.deterministic && a.tie_large ? len - 1 - j : j;
            l.keys_in[i] = seam_topk_key(a.scores[(size_t)row * a.stride + start + src]);
            l.vals_in[i] = src;
        }
    }
}

__global__ void __launch_bounds__(kFinishThreads) topk_sort_finish(seam_topk_args a, sort_layout l) {
    typedef cub::BlockRadixSort<int, kFinishThreads, kFinishItems> block_sort;
    __shared__ typename block_sort::TempStorage tmp;
    const int row = blockIdx.x;
    int start, len;
    seam_topk_row_extent(a, row, &start, &len);
    const seam_topk_out_row o = seam_topk_out_row_make(a, row);
    const int k = a.k;
    if (len <= k) {
        for (int j = threadIdx.x; j < k; j += kFinishThreads) o.write(j, j < len ? j : -1);
        return;
    }
    const int32_t *vals = l.vals_out + (size_t)row * a.stride;
    if (!a.deterministic) {
        for (int j = threadIdx.x; j < k; j += kFinishThreads) o.write(j, vals[j]);
        return;
    }
    int items[kFinishItems];
    for (int i = 0; i < kFinishItems; i++) {
        int j = threadIdx.x * kFinishItems + i;
        items[i] = j < k ? vals[j] : INT_MAX;
    }
    block_sort(tmp).Sort(items);
    for (int i = 0; i < kFinishItems; i++) {
        int j = threadIdx.x * kFinishItems + i;
        if (j < k) o.write(j, items[i]);
    }
}

} // namespace

extern "C" seam_status seam_topk_sort_workspace(int rows, int stride, size_t *bytes) {
    long long n = (long long)rows * (long long)stride;
    SEAM_CHECK_ARG(n <= INT_MAX,
                   "rows*stride=%lld exceeds %d, the sort backend's limit (CUB int offsets)", n,
                   INT_MAX);
    sort_layout l;
    SEAM_TRY(sort_plan(rows, stride, NULL, &l));
    *bytes = l.total;
    return SEAM_OK;
}

extern "C" seam_status seam_topk_sort_run(const seam_topk_args *a, void *workspace,
                                          size_t workspace_bytes, cudaStream_t stream) {
    sort_layout l;
    SEAM_TRY(sort_plan(a->rows, a->stride, (char *)workspace, &l));
    if (l.total > workspace_bytes)
        return seam_fail(SEAM_ERR_INVALID_ARG, "seam_topk",
                         "workspace_bytes=%zu is less than the %zu bytes the sort backend needs",
                         workspace_bytes, l.total);
    size_t n = (size_t)a->rows * (size_t)a->stride;
    size_t blocks = (n + 255) / 256;
    if (blocks > 4096) blocks = 4096;
    topk_sort_prep<<<(unsigned)blocks, 256, 0, stream>>>(*a, l);
    SEAM_CUDA_CHECK_LAUNCH();
    SEAM_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
        l.temp, l.temp_bytes, (const uint32_t *)l.keys_in, l.keys_out, (const int32_t *)l.vals_in,
        l.vals_out, (int)n, a->rows, (const int32_t *)l.begin, (const int32_t *)l.end, 0, 32,
        stream));
    topk_sort_finish<<<(unsigned)a->rows, kFinishThreads, 0, stream>>>(*a, l);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}
