/* Indexer logits: logit(t, s) = sum_h w[t,h] * relu(q[t,h,:] . k[s,:]) * k_scale[s] over fp8
 * queries and keys, for ragged keys (prefill) and paged keys (decode, NextN target-verify).
 *
 * One template, two key sources. A source answers three questions: which rows form a query
 * group (rows that share their keys: 8 consecutive prefill tokens, the next_n queries of one
 * request, or up to 8 tokens of one request found through cu_seqlens_q), which key range each
 * row sees, and where key i lives (a ragged index, or a position looked up through the block
 * table). Both kernels below are written against that
 * interface, so ragged, paged, NextN native and NextN expanded are the same code.
 *
 * MMA kernel (mma.sync: the fast path for head counts other than 64, or without wgmma).
 * For one query row the logits are a [heads x keys] GEMM with K = 128, then relu, a
 * weighted sum over heads and the key scale. A CTA takes one query
 * group and walks key chunks of 256 (4 warps x 64 keys). Each warp loads its 64 keys once
 * into registers as mma.sync B fragments (2 x 16-byte loads per key per quad of lanes: fully
 * used 32-byte sectors) and reuses them for every query of the group; the queries sit in
 * shared memory, pre-arranged as A fragments so each one is a conflict-free 16-byte load.
 * The dot product does not care in which order the 128 dims are summed, so both operands use
 * the same permutation of K that makes every fragment a contiguous load:
 *   k-step ks, lane quad t, register j, byte i  <->  dim (ks/2)*64 + t*16 + (ks%2)*8 + j*4 + i.
 * The epilogue applies relu and the head weights to the 16x8 accumulators, then sums over
 * the 8 lane groups with a transpose-reduction (14 shuffles instead of 48) that leaves each
 * lane with two adjacent keys, so a warp writes its 64 logits as one 256-byte row segment.
 * Traffic: keys are read once per query group (8 prefill tokens, or a request's next_n
 * queries: that is what makes the native NextN layout cheaper than the expanded one).
 *
 * WGMMA kernel (heads == 64 on sm_90: the AUTO choice there; docs/wgmma-logits.md). The
 * mma.sync kernel measured 8-10x above the fp8 compute floor in prefill and, at 128 FLOP per
 * key byte, is compute-bound even in decode: mma.sync feeds the tensor cores from registers
 * at a fraction of their Hopper rate, and every fragment costs load instructions. wgmma reads
 * both operands from shared memory itself. The MMA is keys-major: M = 64 keys (half a chunk
 * of 128), N = 64 heads x NR rows of the query group (NR = 1, 2 or 4; N <= 256), K = 128,
 * four k-steps of m64nNk32 e4m3 (kernels/wgmma_e4m3.cuh):
 *   A = 64 keys [64 x 128] fp8, 8 KB; B = the group's queries [NR x 64 heads x 128] fp8;
 *   both K-major in the 128-byte swizzle layout (a 128-byte key or head row is one swizzle
 *   row; chunk c of row r lives at chunk c ^ (r % 8)), described by matrix descriptors;
 *   stepping K by 32 moves the descriptor's start address by 32 bytes.
 * So the sum over heads runs along the accumulator's columns: a thread holds 16 heads of
 * each (row, key) it owns, adds them in registers (relu and weight: one FMNMX and one FFMA a
 * value) and four lanes finish with two transpose-reduction steps; no shared-memory
 * reduction or barrier per row. (Until session 10 the MMA was heads-major, M = 64 heads and
 * N = 128 keys per row: its epilogue reduced over lanes and warps through shared memory
 * behind a barrier per row; keys-major with the load path below measured 1.1-1.5x faster,
 * docs/performance.md "Session 10".) One warpgroup per CTA. Groups of 1-2 rows
 * multiply both halves of a chunk in one wgmma batch (two accumulators); groups of 4 one
 * half at a time (128 accumulators); groups of 8 (prefill, request-grouped rows) run their
 * two quads of rows one after the other, and a quad with only its first one or two rows in
 * range multiplies only those. The head sum is (t0 + t2) + (t1 + t3) of the same 16-value
 * partial sums whatever NR is, so native NextN, expanded NextN and request-grouped rows give
 * bitwise equal logits (tested). The choice is by group capacity, known when a graph is
 * captured, not by the rows a group really has; request-grouped rows (cu_seqlens_q) give
 * one-row requests (decode tokens) a launch of their own with G = 1 for that reason
 * (run_request_grouped).
 * Keys arrive by 16-byte cp.async, double-buffered: the CTA's next chunk loads while the
 * current one is multiplied by every row of the group (the reuse that makes native NextN and
 * 8-token prefill groups cheaper than one row per key read), each key's scale with it. The
 * block-table entries of the chunk after that are read one iteration early, so the table
 * lookup is not a dependent load in front of every chunk's copies; ragged keys and pages of
 * 64 copy each run of 64 keys from one address computation (a paged copy cost ~70
 * instructions a key before). More stages did not help: with two CTAs an SM instead of three
 * the loads alone got slower. cp.async writes are generic-proxy writes, so each thread
 * fences (fence.proxy.async) before the barrier that hands the tile to wgmma. The MMA is
 * issued and waited for in one asm statement; the other CTAs on the SM provide the overlap
 * of MMA, epilogue and loads.
 *
 * SIMT kernel (the simple reference, and the path for heads not a multiple of 16): one CTA
 * per query row, the row's q in shared memory as fp32, one thread per key.
 *
 * Graph safety: grids depend only on rows, groups, stride and heads (and, for the kernel
 * choice, the device's compute capability, fixed for a context); ranges, lengths,
 * page-table entries and strides are read on the device. Columns outside a row's range are
 * never written. */
#include <cuda_fp8.h>

#include <climits>
#include <type_traits>

#include "runtime/cuda_check.h"
#include "kernels/per_device.h"
#include "kernels/warp_scan.cuh"
#include "kernels/wgmma_e4m3.cuh"
#include "seam/indexer.h"

namespace {

constexpr int kDim = SEAM_INDEXER_HEAD_DIM;
constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;
constexpr int kWarpKeys = 64;
constexpr int kChunk = kWarps * kWarpKeys;
constexpr int kRaggedGroup = 8;
/* Request-grouped paged rows (cu_seqlens_q) run one-row requests (decode tokens) in a launch
 * of their own with one row per CTA (below, run_request_grouped); -DSEAM_LOGITS_ONE_ROW_LAUNCH=0
 * builds the single launch of groups of 8 for A/B runs. */
#ifndef SEAM_LOGITS_ONE_ROW_LAUNCH
#define SEAM_LOGITS_ONE_ROW_LAUNCH 1
#endif

/* Launches of groups of 8 rows (prefill) take their groups longest first and
 * give each CTA twice the key chunks: causal prefill groups grow with their index, and in the
 * plain order (CTA (x, y) = group x, slice y) every sweep over y ends with the longest, so the
 * last wave ran long CTAs on a draining GPU; and a CTA loads its group's queries (64 KB) once
 * for its chunks (16 KB each). H200, session 8 run 2: prefill 4K x 4K 0.228 -> 0.203 ms, paged
 * prefill 0.257 -> 0.221, 4K x 16K -2%; the order alone gained half of that. Groups of at most
 * 4 rows (decode, NextN: uniform lengths, small query tiles) keep the plain order and
 * slices: there both changes measured 2-9% slower. -DSEAM_LOGITS_LONGEST_FIRST=0 builds the
 * plain order everywhere, for A/B runs. */
#ifndef SEAM_LOGITS_LONGEST_FIRST
#define SEAM_LOGITS_LONGEST_FIRST 1
#endif
constexpr bool kLongestFirst = SEAM_LOGITS_LONGEST_FIRST;

/* One-warpgroup launches (decode, NextN): when the four-wave grid would leave its CTAs
 * fewer than this many key chunks each, the grid shrinks to one wave of resident CTAs with
 * more chunks each. A CTA pays its queries, ranges and first copy before anything overlaps:
 * one request of 128K keys ran 1024 CTAs of one chunk in two waves. H200, session 9 run 3,
 * against the four-wave grid: one request of 128K 14.0 -> 12.1 us, 32 x 4K 13.9 -> 12.0,
 * NextN 4 native 32 x 8K 48.0 -> 37.1 and (at 8; at 4 unchanged) 32 x 32K 135.7 -> 121.1.
 * 0 keeps the four-wave grid, for A/B runs. */
#ifndef SEAM_LOGITS_FILL_BELOW
#define SEAM_LOGITS_FILL_BELOW 8
#endif
constexpr int kFillBelow = SEAM_LOGITS_FILL_BELOW;

/* Groups of 1-2 rows run both halves of a chunk in one wgmma batch; 0: one half at a time,
 * as larger groups do (A/B runs; H200, session 10 run 2: mixed, 4-6% faster on one request
 * of 128K keys, decode 32 x 4K and NextN 2 native, 2-3% slower on decode 32 x 128K). */
#ifndef SEAM_LOGITS_KM_PAIR
#define SEAM_LOGITS_KM_PAIR 1
#endif
constexpr bool kPairSmall = SEAM_LOGITS_KM_PAIR;
/* Timing-only diagnostics of the wgmma kernel (wrong logits; never for tests): 1 skips the
 * epilogue, 2 also the MMAs (key loads and barriers alone). */
#ifndef SEAM_LOGITS_DIAG
#define SEAM_LOGITS_DIAG 0
#endif
constexpr int kDiag = SEAM_LOGITS_DIAG;
/* Read the block-table entries of the next chunk to load one iteration early; 0 reads them
 * right before the copies (A/B runs; session 10 run 4: NextN 4 native 32 x 32K 115.6 ->
 * 112.4 us, decode 32 x 128K 245 -> 228, one request of 128K at page size 1 16.6 -> 14.7). */
#ifndef SEAM_LOGITS_ENTRIES_AHEAD
#define SEAM_LOGITS_ENTRIES_AHEAD 1
#endif
constexpr bool kEntriesAhead = SEAM_LOGITS_ENTRIES_AHEAD;
/* With entries ahead, sources of 64-key runs (ragged, page size 64) copy a run per table
 * entry (load_run_entries); 0 copies key by key everywhere (A/B runs; session 10 run 5:
 * decode 32 x 128K 228 -> 164 us, NextN 4 native 32 x 32K 112 -> 89, prefill 4K x 16K
 * 1215 -> 1148). */
#ifndef SEAM_LOGITS_RUNS
#define SEAM_LOGITS_RUNS 1
#endif
constexpr bool kRuns = SEAM_LOGITS_RUNS;
/* The pipeline's first chunks read their table entries for all their keys first and then
 * start the copies (as the loop does one iteration ahead), instead of load_keys' entry then
 * copy, four keys at a time: 1 in one-row groups only (default), 2 in every group, 0 never.
 * Session 12 run 2 (H200, best of two passes, against 0): 1 took one request of 128K keys at
 * page size 1 from 14.6 to 12.5 us, NextN expanded 3-11% faster, the rest within 1.5%; 2 made
 * ragged prefill 4-7% slower (and session 11 measured NextN 4 request-grouped +9% with it). */
#ifndef SEAM_LOGITS_PROLOGUE_ENTRIES
#define SEAM_LOGITS_PROLOGUE_ENTRIES 1
#endif
constexpr int kPrologueEntries = SEAM_LOGITS_PROLOGUE_ENTRIES;

struct CtaWork {
    int group, slice;
};

/* The group and chunk slice of this CTA: with kDescending the CTAs in launch order take the
 * groups from the last one down, all slices of a group together. */
template <bool kDescending> __device__ __forceinline__ CtaWork cta_work() {
    if constexpr (!kDescending) {
        return {(int)blockIdx.x, (int)blockIdx.y};
    } else {
        const int linear = (int)(blockIdx.y * gridDim.x + blockIdx.x);
        return {(int)gridDim.x - 1 - linear / (int)gridDim.y, linear % (int)gridDim.y};
    }
}

/* Which requests a request-grouped launch covers, by their row count. */
enum RequestRows { kAnyRows, kOneRow, kSeveralRows };
constexpr int kSimtThreads = 128;

struct Range {
    int start, end; /* empty when end <= start */
};

/* The rows [first, first + count) of one query group and their block-table row. */
struct Group {
    int first, count, trow;
};

/* Keys in one array; the key index is the logits column. */
struct RaggedSource {
    const uint8_t *k;
    const float *scales;
    int keys, stride, rows;
    const int32_t *row_starts, *lengths;
    bool scales16; /* scales 16-byte aligned (host-checked): runs of keys can be copied whole */

    /* Keys kb .. kb + 63 (kb a multiple of 64) lie in consecutive slots from
     * slot_of_entry(entry(kb), kb) on, and their scales may be copied 16 bytes at a time. */
    __device__ bool runs64() const { return scales16; }

    __device__ Group group(int g) const {
        int first = g * kRaggedGroup;
        return {first, min(kRaggedGroup, rows - first), 0};
    }
    __device__ int table_row_of(int) const { return 0; }
    __device__ int table_stride() const { return 0; }
    __device__ Range range(int row, int) const {
        long long s = row_starts[row];
        long long e = s + (long long)lengths[row];
        long long lim = keys < stride ? keys : stride;
        if (s < 0) s = 0;
        if (e > lim) e = lim;
        if (e < s) e = s;
        return {(int)s, (int)e};
    }
    /* Slot of key idx (inside some row's range), or -1. */
    __device__ long long slot(int, int, int idx) const { return idx; }
    /* The same in two steps, so a kernel can read the memory part early: the entry of key
     * idx (no memory here), then its slot (entry -1: none). */
    __device__ int entry(int, int, int idx) const { return idx; }
    __device__ long long slot_of_entry(int e, int) const { return e; }
};

/* Keys in the paged cache; the key position in the request is the logits column. Groups are
 * either next_n consecutive rows (decode, native NextN) or, with cu_seqlens_q, up to 8 rows
 * of one request (request-grouped: prefill over the cache, any mode from one flat layout). */
struct PagedSource {
    const uint8_t *k;
    const float *scales;
    long long num_pages;
    int page_size, page_shift, stride, next_n, cls; /* page_size = 1 << page_shift */
    const int32_t *table, *table_stride_device, *row_to_req, *context_lens;
    int table_stride_host, rows;
    const int32_t *cu_seqlens_q, *num_requests_device; /* request-grouped rows, or NULL */
    int max_requests;
    RequestRows request_rows; /* request-grouped: which requests this launch covers */
    bool scales16;            /* as RaggedSource's */

    __device__ bool runs64() const { return page_shift == 6 && scales16; }

    __device__ int num_requests() const { return min(*num_requests_device, max_requests); }
    /* Request-grouped: request i owns rows [cu[i], cu[i+1]), in groups of up to kRaggedGroup
     * rows numbered one request after the other, counting only the requests of this launch
     * (kOneRow: those with one row, each one group; kSeveralRows: the others). Without
     * cu_seqlens_q: groups of next_n rows. */
    __device__ Group group(int g) const {
        if (!cu_seqlens_q) {
            int first = g * next_n;
            return {first, min(next_n, rows - first), row_to_req ? row_to_req[g] : g};
        }
        const int n = num_requests();
        /* 32 requests per step, one per lane, counted with a warp prefix sum: a serial walk
         * cost a CTA one dependent load pair per request (~30 us for 30 decode requests, run
         * B). Every warp finds the group itself; callers are warp-converged. */
        const int lane = (int)threadIdx.x & 31;
        for (int base = 0, seen = 0; base < n; base += 32) {
            const int i = base + lane;
            int s = 0, e = 0, here = 0;
            if (i < n) {
                s = max(cu_seqlens_q[i], 0), e = min(cu_seqlens_q[i + 1], rows); /* device data */
                const bool one = e - s == 1;
                bool mine = e > s && (request_rows == kAnyRows || (request_rows == kOneRow) == one);
                here = mine ? (e - s + kRaggedGroup - 1) / kRaggedGroup : 0;
            }
            const int upto = seam::warp_inclusive_sum(here, lane);
            const int total = __shfl_sync(0xffffffffu, upto, 31);
            if (g < seen + total) {
                const unsigned hit = __ballot_sync(0xffffffffu, g < seen + upto && g >= seen + upto - here);
                const int owner = __ffs(hit) - 1;
                const int before = __shfl_sync(0xffffffffu, upto - here, owner);
                s = __shfl_sync(0xffffffffu, s, owner), e = __shfl_sync(0xffffffffu, e, owner);
                const int first = s + (g - seen - before) * kRaggedGroup;
                return {first, min(kRaggedGroup, e - first), base + owner};
            }
            seen += total;
        }
        return {0, 0, 0};
    }
    __device__ int table_row_of(int row) const {
        if (!cu_seqlens_q) return row_to_req ? row_to_req[row / next_n] : row / next_n;
        const int n = num_requests();
        for (int i = 0; i < n; i++)
            if (row >= cu_seqlens_q[i] && row < cu_seqlens_q[i + 1]) return i;
        return -1;
    }
    __device__ int table_stride() const {
        return table_stride_device ? *table_stride_device : table_stride_host;
    }
    __device__ Range range(int row, int ts) const {
        int b = row / next_n, j = row - b * next_n;
        long long e = context_lens[(size_t)b * cls + j];
        long long cap = (long long)ts * page_size;
        if (e > cap) e = cap;
        if (e > stride) e = stride;
        if (e < 0) e = 0;
        return {0, (int)e};
    }
    __device__ long long slot(int trow, int ts, int p) const { return slot_of_entry(entry(trow, ts, p), p); }
    /* The block-table entry of position p, then its slot (-1 for a bad page or entry -1). */
    __device__ int entry(int trow, int ts, int p) const { return table[(size_t)trow * ts + (p >> page_shift)]; }
    __device__ long long slot_of_entry(int page, int p) const {
        if (page < 0 || page >= num_pages) return -1;
        return ((long long)page << page_shift) + (p & (page_size - 1));
    }
};

__device__ __forceinline__ void mma_e4m3(float (&c)[4], const uint4 &a, uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a.x), "r"(a.y), "r"(a.z), "r"(a.w), "r"(b0), "r"(b1));
}

/* One step of a transpose-reduction over the lanes that differ in bit M: a lane keeps half of
 * its N values (the low half when its bit M is clear) and adds its partner's copy of them. */
template <int N, int M>
__device__ __forceinline__ void transpose_reduce_step(float *v, int lane) {
    const bool upper = (lane & M) != 0;
#pragma unroll
    for (int i = 0; i < N / 2; i++) {
        float send = upper ? v[i] : v[i + N / 2];
        float keep = upper ? v[i + N / 2] : v[i];
        v[i] = keep + __shfl_xor_sync(0xffffffffu, send, M);
    }
}

/* The group's rows (up to G): their ranges into smem, the union returned. */
template <class Source>
__device__ void group_ranges(const Source &src, const Group &grp, int G, int ts, int *s_range,
                             int &lo, int &hi) {
    if ((int)threadIdx.x < G) {
        int j = (int)threadIdx.x;
        Range r = j < grp.count ? src.range(grp.first + j, ts) : Range{0, 0};
        s_range[2 * threadIdx.x] = r.start;
        s_range[2 * threadIdx.x + 1] = r.end;
    }
    __syncthreads();
    lo = INT_MAX;
    hi = 0;
    for (int j = 0; j < G; j++) {
        int s = s_range[2 * j], e = s_range[2 * j + 1];
        if (e > s) {
            lo = min(lo, s);
            hi = max(hi, e);
        }
    }
}

template <int MT, class Source>
__global__ void __launch_bounds__(kThreads) logits_mma_kernel(Source src, const uint8_t *__restrict__ q,
                                                              const float *__restrict__ w,
                                                              float *__restrict__ out, int G,
                                                              long long out_stride) {
    constexpr int H = MT * 16;
    extern __shared__ uint4 smem[];
    uint4 *s_a = smem;                                         /* [G][MT][4 ks][32 lanes] */
    float *s_w = reinterpret_cast<float *>(s_a + G * MT * 128); /* [G][H] */
    int *s_range = reinterpret_cast<int *>(s_w + G * H);        /* [G][2] */

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int ts = src.table_stride();
    const CtaWork cw = cta_work<false>();
    const Group grp = src.group(cw.group);
    const int trow = grp.trow;
    int lo, hi;
    group_ranges(src, grp, G, ts, s_range, lo, hi);
    if (lo >= hi) return;
    const int c_first = lo / kChunk + cw.slice, c_last = (hi - 1) / kChunk;
    if (c_first > c_last) return;

    /* Queries -> A fragments: word r of lane (g,t) for (j, mt, ks) is row h = mt*16 + g +
     * 8*(r&1), dims (ks/2)*64 + t*16 + (ks%2)*8 + (r/2)*4 .. +3. So the 16 bytes at dims
     * c*16 of head h = mt*16 + hh (coalesced: 8 threads read a 128-byte row) hold lane
     * (hh%8)*4 + c%4's words r = hh/8 (+2) of k-steps 2*(c/4) and 2*(c/4) + 1. */
    uint32_t *s_a32 = reinterpret_cast<uint32_t *>(s_a);
    for (int i = threadIdx.x; i < G * MT * 128; i += kThreads) {
        const int c = i & 7, hh = (i >> 3) & 15, rest = i >> 7;
        const int mt = rest % MT, j = rest / MT;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (j < grp.count && s_range[2 * j + 1] > s_range[2 * j])
            v = *reinterpret_cast<const uint4 *>(q + ((size_t)(grp.first + j) * H + mt * 16 + hh) * kDim + c * 16);
        const int ln = (hh & 7) * 4 + (c & 3), up = hh >> 3, ks0 = 2 * (c >> 2);
        uint32_t *even = s_a32 + ((size_t)((j * MT + mt) * 4 + ks0) * 32 + ln) * 4;
        uint32_t *odd = even + 32 * 4; /* k-step ks0 + 1 */
        even[up] = v.x;
        even[up + 2] = v.y;
        odd[up] = v.z;
        odd[up + 2] = v.w;
    }
    for (int i = threadIdx.x; i < G * H; i += kThreads) {
        int j = i / H;
        s_w[i] = j < grp.count ? w[(size_t)(grp.first + j) * H + i % H] : 0.0f;
    }
    __syncthreads();

    for (int c = c_first; c <= c_last; c += gridDim.y) {
        const int kb = c * kChunk + warp * kWarpKeys;
        if (kb >= hi || kb + kWarpKeys <= lo) continue; /* warp-uniform */

        /* B fragments of the warp's 64 keys: key nb*8 + g, k-steps 0..3, 2 words each. */
        uint32_t b[8][4][2];
#pragma unroll
        for (int nb = 0; nb < 8; nb++) {
            int idx = kb + nb * 8 + g;
            uint4 x0 = make_uint4(0, 0, 0, 0), x1 = x0;
            long long s = (idx >= lo && idx < hi) ? src.slot(trow, ts, idx) : -1;
            if (s >= 0) {
                const uint4 *p = reinterpret_cast<const uint4 *>(src.k + (size_t)s * kDim);
                x0 = __ldg(p + t); /* read-only for the kernel's lifetime */
                x1 = __ldg(p + 4 + t);
            }
            b[nb][0][0] = x0.x, b[nb][0][1] = x0.y, b[nb][1][0] = x0.z, b[nb][1][1] = x0.w;
            b[nb][2][0] = x1.x, b[nb][2][1] = x1.y, b[nb][3][0] = x1.z, b[nb][3][1] = x1.w;
        }
        /* This lane writes keys kb + 2*lane and kb + 2*lane + 1. */
        float o_scale[2];
        bool o_valid[2];
#pragma unroll
        for (int e = 0; e < 2; e++) {
            int idx = kb + 2 * lane + e;
            long long s = (idx >= lo && idx < hi) ? src.slot(trow, ts, idx) : -1;
            o_valid[e] = s >= 0;
            o_scale[e] = s >= 0 ? __ldg(src.scales + s) : 0.0f;
        }

        for (int j = 0; j < G; j++) {
            const int s0 = s_range[2 * j], e0 = s_range[2 * j + 1];
            if (kb >= e0 || kb + kWarpKeys <= s0) continue; /* warp-uniform */
            float part[16];
#pragma unroll
            for (int i = 0; i < 16; i++) part[i] = 0.0f;
#pragma unroll 1
            for (int mt = 0; mt < MT; mt++) {
                float acc[8][4];
#pragma unroll
                for (int nb = 0; nb < 8; nb++)
#pragma unroll
                    for (int i = 0; i < 4; i++) acc[nb][i] = 0.0f;
#pragma unroll
                for (int ks = 0; ks < 4; ks++) {
                    const uint4 a = s_a[((j * MT + mt) * 4 + ks) * 32 + lane];
#pragma unroll
                    for (int nb = 0; nb < 8; nb++) mma_e4m3(acc[nb], a, b[nb][ks][0], b[nb][ks][1]);
                }
                const float w0 = s_w[j * H + mt * 16 + g], w1 = s_w[j * H + mt * 16 + g + 8];
#pragma unroll
                for (int nb = 0; nb < 8; nb++) {
                    part[2 * nb] += w0 * fmaxf(acc[nb][0], 0.0f) + w1 * fmaxf(acc[nb][2], 0.0f);
                    part[2 * nb + 1] += w0 * fmaxf(acc[nb][1], 0.0f) + w1 * fmaxf(acc[nb][3], 0.0f);
                }
            }
            /* Sum over g (lane bits 2..4). Each step halves the values a lane keeps: after
             * the steps on bits 4, 3, 2 lane (g,t) holds items 2g and 2g+1, i.e. keys
             * 8g + 2t + {0,1} = 2*lane + {0,1}. */
            transpose_reduce_step<16, 16>(part, lane);
            transpose_reduce_step<8, 8>(part, lane);
            transpose_reduce_step<4, 4>(part, lane);
            float *orow = out + (size_t)(grp.first + j) * out_stride;
#pragma unroll
            for (int e = 0; e < 2; e++) {
                int idx = kb + 2 * lane + e;
                if (idx >= s0 && idx < e0) orow[idx] = o_valid[e] ? part[e] * o_scale[e] : -INFINITY;
            }
        }
    }
}

/* ---- wgmma kernel (heads == 64, sm_90a) ---------------------------------------------------- */

constexpr int kWgHeads = 64;                 /* heads a query row: N = 64 per row */
constexpr int kWgKeys = 128;                 /* keys a chunk (two MMAs of M = 64) */
constexpr int kWgThreads = 128;              /* one warpgroup */
constexpr int kQTileBytes = kWgHeads * kDim; /* one query row, 8 KB */
constexpr int kKTileBytes = kWgKeys * kDim;  /* one key chunk, 16 KB */

__device__ __forceinline__ uint32_t smem_addr(const void *p) {
    return (uint32_t)__cvta_generic_to_shared(p);
}

/* 16 bytes global -> shared, or 16 zero bytes when !valid (src-size 0 reads nothing). */
__device__ __forceinline__ void cp_async16(uint32_t dst, const void *src, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0)
                 : "memory");
}
/* The first `bytes` (0..16) of 16 bytes global -> shared, the rest zeros. */
__device__ __forceinline__ void cp_async16_bytes(uint32_t dst, const void *src, int bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(bytes) : "memory");
}
/* 4 bytes global -> shared (a key scale), or 4 zero bytes when !valid. */
__device__ __forceinline__ void cp_async4(uint32_t dst, const void *src, bool valid) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 4 : 0)
                 : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

/* Shared-memory matrix descriptor of a K-major tile in the 128-byte swizzle layout: rows of
 * 128 bytes (one key or one head: exactly K = 128 fp8), 8-row atoms of 1024 bytes, the
 * 16-byte chunk c of row r stored at chunk c ^ (r % 8). Fields: start address >> 4 (bits
 * 0-13), leading byte offset >> 4 (bits 16-29; unused by swizzled K-major layouts, set to
 * 1), stride byte offset >> 4 (bits 32-45: 1024 bytes from one 8-row atom to the next), base
 * offset 0 (bits 49-51: tiles are 1024-byte aligned), layout 1 = 128B swizzle (bits 62-63).
 * K-step ks (32 fp8 = 32 bytes) starts 32*ks bytes into the row: the swizzle is applied to
 * the address bits, so stepping the start address by 2 (units of 16 bytes) is enough. */
__device__ __forceinline__ uint64_t sw128_desc(uint32_t saddr) {
    return (uint64_t)((saddr & 0x3FFFFu) >> 4) | ((uint64_t)1 << 16) | ((uint64_t)(1024 >> 4) << 32) |
           ((uint64_t)1 << 62);
}

/* The 128 keys [kb, kb + 128) -> one swizzled tile, loaded by the warpgroup's 128 threads,
 * 8 per key (one 16-byte chunk each: a warp reads four whole 128-byte keys per
 * instruction), key i's scale to scales + 4 i in the same cp.async group, ok[i] = whether it
 * has a slot. Keys outside [lo, hi) or without a cache slot become zeros; their columns are
 * never written as logits. */
template <class Source>
__device__ __forceinline__ void load_keys(const Source &src, int trow, int ts, int kb, int lo, int hi,
                                          uint32_t tile, uint32_t scales, uint8_t *ok) {
    constexpr int kKeysPerPass = kWgThreads / 8;
    const int part = threadIdx.x & 7;
#pragma unroll 4
    for (int p = 0; p < kWgKeys / kKeysPerPass; p++) {
        const int key = p * kKeysPerPass + (threadIdx.x >> 3), idx = kb + key;
        const long long s = (idx >= lo && idx < hi) ? src.slot(trow, ts, idx) : -1;
        const uint8_t *g = s >= 0 ? src.k + (size_t)s * kDim + part * 16 : src.k;
        cp_async16(tile + key * 128 + ((part ^ (key & 7)) << 4), g, s >= 0);
        if (part == 0) {
            cp_async4(scales + key * 4, s >= 0 ? src.scales + s : src.scales, s >= 0);
            ok[key] = s >= 0;
        }
    }
}

/* load_keys in two steps for the keys-major pipeline: key_entries reads the memory part of
 * this thread's 8 keys of the chunk at kb (block-table entries; -1 outside [lo, hi)) one
 * iteration before load_key_entries starts their copies, so the table read is not a
 * dependent load in front of every chunk's copies. Same keys per thread as load_keys. */
template <class Source>
__device__ __forceinline__ void key_entries(const Source &src, int trow, int ts, int kb, int lo, int hi, int (&e)[8]) {
#pragma unroll
    for (int p = 0; p < 8; p++) {
        const int idx = kb + p * 16 + (threadIdx.x >> 3);
        e[p] = (idx >= lo && idx < hi) ? src.entry(trow, ts, idx) : -1;
    }
}
template <class Source>
__device__ __forceinline__ void load_key_entries(const Source &src, int kb, const int (&e)[8], uint32_t tile,
                                                 uint32_t scales, uint8_t *ok) {
    const int part = threadIdx.x & 7;
#pragma unroll
    for (int p = 0; p < 8; p++) {
        const int key = p * 16 + (threadIdx.x >> 3);
        const long long s = e[p] < 0 ? -1 : src.slot_of_entry(e[p], kb + key);
        const uint8_t *g = s >= 0 ? src.k + (size_t)s * kDim + part * 16 : src.k;
        cp_async16(tile + key * 128 + ((part ^ (key & 7)) << 4), g, s >= 0);
        if (part == 0) {
            cp_async4(scales + key * 4, s >= 0 ? src.scales + s : src.scales, s >= 0);
            ok[key] = s >= 0;
        }
    }
}

/* The same for sources with runs64(): the chunk's two runs of 64 keys need one table entry
 * each (e[0], e[1]), and a thread's four keys of a run are 2 KB apart in the cache and in
 * the tile, so its copies share one address computation; the scales of a run (256 bytes)
 * go 16 bytes per thread (threads 0-31), cut at hi so a ragged array is never read past its
 * end. */
template <class Source>
__device__ __forceinline__ void run_entries(const Source &src, int trow, int ts, int kb, int lo, int hi, int (&e)[8]) {
#pragma unroll
    for (int r = 0; r < 2; r++) {
        const int k0 = kb + 64 * r;
        e[r] = (k0 < hi && k0 + 64 > lo) ? src.entry(trow, ts, k0) : -1;
    }
}
template <class Source>
__device__ __forceinline__ void load_run_entries(const Source &src, int kb, int lo, int hi, const int (&e)[8],
                                                 uint32_t tile, uint32_t scales, uint8_t *ok) {
    const int part = threadIdx.x & 7, kq = threadIdx.x >> 3;
    const long long base[2] = {e[0] < 0 ? -1 : src.slot_of_entry(e[0], kb), e[1] < 0 ? -1 : src.slot_of_entry(e[1], kb + 64)};
    const uint32_t dst = tile + kq * 128 + ((part ^ (kq & 7)) << 4);
#pragma unroll
    for (int r = 0; r < 2; r++) {
        const uint8_t *g = src.k + (base[r] < 0 ? 0 : base[r] * kDim) + kq * 128 + part * 16;
#pragma unroll
        for (int p = 0; p < 4; p++) {
            const int idx = kb + 64 * r + 16 * p + kq;
            const bool v = base[r] >= 0 && idx >= lo && idx < hi;
            cp_async16(dst + (64 * r + 16 * p) * 128, v ? g + 16 * p * 128 : src.k, v);
        }
    }
    if (threadIdx.x < 32) {
        const int r = threadIdx.x >> 4, q4 = threadIdx.x & 15, idx0 = kb + 64 * r + 4 * q4;
        const long long b = r ? base[1] : base[0];
        const int n = b < 0 ? 0 : max(0, min(4, hi - idx0));
        cp_async16_bytes(scales + (64 * r + 4 * q4) * 4, n > 0 ? src.scales + b + 4 * q4 : src.scales, 4 * n);
    }
    ok[threadIdx.x] = (threadIdx.x < 64 ? base[0] : base[1]) >= 0;
}

/* ---- wgmma kernel (keys-major; design in the header comment) --------------------------- */

constexpr int kKmKeys = kWgKeys / 2; /* wgmma M: one half of a key chunk */

__device__ __forceinline__ bool meets(const int *s_range, int j, int lo, int hi) {
    const int s = s_range[2 * j], e = s_range[2 * j + 1];
    return s < e && s < hi && e > lo;
}

/* Logits of rows row0 .. row0 + NR - 1 of the group for the 64 keys [kh, kh + 64) from their
 * accumulator d[4 nb + 2 r + e] = D[key 16 warp + g + 8 r][head column 8 nb + 2 t + e] (row
 * row0 + nb / 8, head 8 (nb % 8) + 2 t + e); scale and ok describe those 64 keys. */
template <int NR>
__device__ __forceinline__ void keys_major_epilogue(const float (&d)[32 * NR], const float *s_w, const int *s_range,
                                                    int row0, int kh, const float *scale, const uint8_t *ok,
                                                    float *__restrict__ out, size_t first_row, long long out_stride) {
    const int lane = threadIdx.x & 31, warp = (threadIdx.x >> 5) & 3, g = lane >> 2, t = lane & 3;
    /* v[2 j + r] = this lane's share of row j's logit for key 16 warp + g + 8 r */
    float v[2 * NR];
#pragma unroll
    for (int j = 0; j < NR; j++) {
        const float2 *wj = reinterpret_cast<const float2 *>(s_w + (row0 + j) * kWgHeads) + t;
        float a0 = 0.0f, a1 = 0.0f;
#pragma unroll
        for (int nb = 0; nb < 8; nb++) {
            const float2 ww = wj[4 * nb];
            const float *dd = d + 4 * (8 * j + nb);
            a0 = fmaf(ww.x, fmaxf(dd[0], 0.0f), a0);
            a0 = fmaf(ww.y, fmaxf(dd[1], 0.0f), a0);
            a1 = fmaf(ww.x, fmaxf(dd[2], 0.0f), a1);
            a1 = fmaf(ww.y, fmaxf(dd[3], 0.0f), a1);
        }
        v[2 * j] = a0, v[2 * j + 1] = a1;
    }
    /* Sum over t (lane bits 0, 1): afterwards lane t holds items
     * i + (t & 1) NR / 2 + (t >> 1) NR of v, i < NR / 2 (NR = 1: item t >> 1, twice). */
    if constexpr (NR == 1) {
        transpose_reduce_step<2, 2>(v, lane);
        v[0] += __shfl_xor_sync(0xffffffffu, v[0], 1);
    } else {
        transpose_reduce_step<2 * NR, 2>(v, lane);
        transpose_reduce_step<NR, 1>(v, lane);
    }
    constexpr int kHeld = NR == 1 ? 1 : NR / 2;
#pragma unroll
    for (int i = 0; i < kHeld; i++) {
        if (NR == 1 && (t & 1)) continue;
        const int item = NR == 1 ? t >> 1 : i + (t & 1) * (NR / 2) + (t >> 1) * NR;
        const int j = row0 + item / 2, key = 16 * warp + g + 8 * (item & 1), col = kh + key;
        if (col >= s_range[2 * j] && col < s_range[2 * j + 1])
            out[(first_row + j) * out_stride + col] = ok[key] ? v[i] * scale[key] : -INFINITY;
    }
}

/* CTAs an SM that the kernel's registers must allow (launch bounds), near what its shared
 * memory holds: 4 at one row a group, 3 at four, 2 at eight or with more key stages. Groups
 * of two ask 3, though 4 would fit: at 128 registers their two accumulators and the
 * prefetched table entries spill. */
constexpr int keys_major_min_ctas(int NR, int NQ, int KS) {
    if (KS > 2) return NR == 4 ? 2 : 3;
    if (NR == 4) return NQ == 1 ? 3 : 2;
    return NR == 2 ? 3 : 4;
}

template <int NR, int NQ, int KS, class Source>
__global__ void __launch_bounds__(kWgThreads, keys_major_min_ctas(NR, NQ, KS))
    logits_keys_major_kernel(Source src, const uint8_t *__restrict__ q, const float *__restrict__ w,
                             float *__restrict__ out, long long out_stride) {
    static_assert(NR == 1 || NR == 2 || NR == 4, "N = 64 x NR <= 256");
    constexpr int G = NR * NQ;
    extern __shared__ uint8_t wg_smem[];
    const uint32_t raw = smem_addr(wg_smem);
    uint8_t *base = wg_smem + ((1024u - (raw & 1023u)) & 1023u);
    uint8_t *s_q = base;                                              /* [G][64 heads][128] */
    uint8_t *s_k = s_q + (size_t)G * kQTileBytes;                     /* [KS][128 keys][128] */
    float *s_w = reinterpret_cast<float *>(s_k + KS * kKTileBytes);   /* [G][64] */
    float *s_scale = s_w + G * kWgHeads;                              /* [KS][128] */
    int *s_range = reinterpret_cast<int *>(s_scale + KS * kWgKeys);   /* [G][2] */
    uint8_t *s_ok = reinterpret_cast<uint8_t *>(s_range + 2 * G);     /* [KS][128] */

    const int tid = threadIdx.x;
    const int ts = src.table_stride();
    const CtaWork cw = cta_work<NQ == 2 && kLongestFirst>();
    const Group grp = src.group(cw.group);
    const int trow = grp.trow;
    int lo, hi;
    group_ranges(src, grp, G, ts, s_range, lo, hi);
    if (lo >= hi) return; /* CTA-uniform */
    const int c_first = lo / kWgKeys + cw.slice, c_last = (hi - 1) / kWgKeys;
    if (c_first > c_last) return;

    const uint32_t q_tile = smem_addr(s_q), k_tile0 = smem_addr(s_k), scale0 = smem_addr(s_scale);
    for (int i = tid; i < G * kWgHeads * 8; i += kWgThreads) {
        const int c = i & 7, h = (i >> 3) & (kWgHeads - 1), j = i >> 9;
        const bool valid = j < grp.count && s_range[2 * j + 1] > s_range[2 * j];
        const uint8_t *gq = valid ? q + ((size_t)(grp.first + j) * kWgHeads + h) * kDim + c * 16 : q;
        cp_async16(q_tile + j * kQTileBytes + h * 128 + ((c ^ (h & 7)) << 4), gq, valid);
    }
    /* KS-stage pipeline: chunks c_first + s gy (s < KS - 1) start now, one cp.async group
     * each (the first with the queries; an empty group keeps the count uniform). */
    const int gy = (int)gridDim.y;
    const bool runs = kRuns && src.runs64(); /* CTA-uniform */
#pragma unroll
    for (int st = 0; st < KS - 1; st++) {
        const int cs = c_first + st * gy;
        if (cs <= c_last) {
            const uint32_t tile = k_tile0 + st * kKTileBytes, scales = scale0 + st * kWgKeys * 4;
            if (kEntriesAhead && (kPrologueEntries == 2 || (kPrologueEntries == 1 && G == 1))) {
                int e[8];
                if (runs) {
                    run_entries(src, trow, ts, cs * kWgKeys, lo, hi, e);
                    load_run_entries(src, cs * kWgKeys, lo, hi, e, tile, scales, s_ok + st * kWgKeys);
                } else {
                    key_entries(src, trow, ts, cs * kWgKeys, lo, hi, e);
                    load_key_entries(src, cs * kWgKeys, e, tile, scales, s_ok + st * kWgKeys);
                }
            } else {
                load_keys(src, trow, ts, cs * kWgKeys, lo, hi, tile, scales, s_ok + st * kWgKeys);
            }
        }
        cp_async_commit();
    }
    /* With kEntriesAhead, the table entries of the chunk the loop starts next are read one
     * iteration early (ent). */
    int ent[8];
    if constexpr (kEntriesAhead) {
        if (runs) run_entries(src, trow, ts, (c_first + (KS - 1) * gy) * kWgKeys, lo, hi, ent);
        else key_entries(src, trow, ts, (c_first + (KS - 1) * gy) * kWgKeys, lo, hi, ent);
    }
    for (int i = tid; i < G * kWgHeads; i += kWgThreads) {
        const int j = i / kWgHeads;
        s_w[i] = j < grp.count ? w[(size_t)(grp.first + j) * kWgHeads + i % kWgHeads] : 0.0f;
    }

    /* NR <= 2: both halves of a chunk in one wgmma batch (two accumulators, <= 128 floats). */
    constexpr bool kPairHalves = kPairSmall && NR <= 2;
    float d[32 * NR], d1[kPairHalves ? 32 * NR : 1]; /* written by the MMAs (outputs only) */
    if constexpr (kDiag > 0) /* timing-only builds may skip the MMAs */
#pragma unroll
        for (int i = 0; i < 32 * NR; i++) d[i] = 0.0f;
    for (int c = c_first, buf = 0; c <= c_last; c += gy, buf = buf == KS - 1 ? 0 : buf + 1) {
        /* Start chunk c + (KS - 1) gy in the stage the previous iteration used (its closing
         * barrier freed it), then wait for this chunk's group, the oldest. */
        const int cn = c + (KS - 1) * gy, sn = buf == 0 ? KS - 1 : buf - 1;
        if constexpr (kEntriesAhead) {
            if (cn <= c_last) {
                const uint32_t tile = k_tile0 + sn * kKTileBytes, scales = scale0 + sn * kWgKeys * 4;
                if (runs) {
                    load_run_entries(src, cn * kWgKeys, lo, hi, ent, tile, scales, s_ok + sn * kWgKeys);
                    if (cn + gy <= c_last) run_entries(src, trow, ts, (cn + gy) * kWgKeys, lo, hi, ent);
                } else {
                    load_key_entries(src, cn * kWgKeys, ent, tile, scales, s_ok + sn * kWgKeys);
                    if (cn + gy <= c_last) key_entries(src, trow, ts, (cn + gy) * kWgKeys, lo, hi, ent);
                }
            }
        } else if (cn <= c_last) {
            load_keys(src, trow, ts, cn * kWgKeys, lo, hi, k_tile0 + sn * kKTileBytes,
                                  scale0 + sn * kWgKeys * 4, s_ok + sn * kWgKeys);
        }
        cp_async_commit();
        cp_async_wait<KS - 1>();
        asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
        __syncthreads();

        const float *scale = s_scale + buf * kWgKeys;
        const uint8_t *ok = s_ok + buf * kWgKeys;
        const uint32_t k_tile = k_tile0 + buf * kKTileBytes;
        const int kb = c * kWgKeys;
        if constexpr (kPairHalves) {
            /* Both halves in one wgmma batch: one wait per chunk instead of two. */
            if constexpr (kDiag < 2)
                wgmma_pair_m64k128_e4m3<64 * NR>(d, d1, sw128_desc(k_tile), sw128_desc(k_tile + kKTileBytes / 2),
                                                 sw128_desc(q_tile));
            if constexpr (kDiag == 0) {
                keys_major_epilogue<NR>(d, s_w, s_range, 0, kb, scale, ok, out, grp.first, out_stride);
                keys_major_epilogue<NR>(d1, s_w, s_range, 0, kb + kKmKeys, scale + kKmKeys, ok + kKmKeys, out,
                                        grp.first, out_stride);
            }
        } else {
#pragma unroll 1
            for (int hf = 0; hf < 2; hf++) {
                const int kh = kb + hf * kKmKeys;
                if (kh >= hi || kh + kKmKeys <= lo) continue; /* CTA-uniform */
                const uint64_t a_desc = sw128_desc(k_tile + hf * (kKTileBytes / 2));
#pragma unroll 1
                for (int qd = 0; qd < NQ; qd++) {
                    int rows = 0; /* rows of the quad up to its last one that meets these keys */
#pragma unroll
                    for (int j = 0; j < NR; j++)
                        if (meets(s_range, qd * NR + j, kh, kh + kKmKeys)) rows = j + 1;
                    if (rows == 0) continue; /* CTA-uniform */
                    const uint64_t b_desc = sw128_desc(q_tile + qd * NR * kQTileBytes);
                    const float *sc = scale + hf * kKmKeys;
                    const uint8_t *okh = ok + hf * kKmKeys;
                    /* A quad of four with two rows or fewer (the last group of a request, or
                     * requests of two rows in groups of 8) multiplies only those: the same
                     * per-element arithmetic, so the logits do not depend on the choice.
                     * Paged sources only: ragged groups are consecutive tokens, nearly always
                     * full, and the extra path cost ragged prefill 2-5% (session 10 run 6). */
                    if (!std::is_same<Source, RaggedSource>::value && NR == 4 && rows <= 2) {
                        float(&d2)[64] = *reinterpret_cast<float(*)[64]>(&d[0]);
                        if constexpr (kDiag < 2) wgmma_m64k128_e4m3<128>(d2, a_desc, b_desc);
                        if constexpr (kDiag == 0)
                            keys_major_epilogue<2>(d2, s_w, s_range, qd * NR, kh, sc, okh, out, grp.first, out_stride);
                        continue;
                    }
                    if constexpr (kDiag < 2) wgmma_m64k128_e4m3<64 * NR>(d, a_desc, b_desc);
                    if constexpr (kDiag == 0)
                        keys_major_epilogue<NR>(d, s_w, s_range, qd * NR, kh, sc, okh, out, grp.first, out_stride);
                }
            }
        }
        __syncthreads(); /* every wgmma of this chunk is done before its buffer is refilled */
    }
    if constexpr (kDiag > 0) /* timing-only builds: keep the MMAs' results alive */
        if (d[0] == 12345.0f && grp.count > 0) out[(size_t)grp.first * out_stride + lo] = d[1];
}

template <class Source>
__global__ void __launch_bounds__(kSimtThreads) logits_simt_kernel(Source src, const uint8_t *__restrict__ q,
                                                                   const float *__restrict__ w,
                                                                   float *__restrict__ out, int rows,
                                                                   int heads, long long out_stride) {
    __shared__ float s_q[SEAM_INDEXER_MAX_HEADS * kDim];
    __shared__ float s_w[SEAM_INDEXER_MAX_HEADS];
    const int row = blockIdx.x;
    if (row >= rows) return;
    const int ts = src.table_stride();
    const int trow = src.table_row_of(row);
    if (trow < 0) return;
    const Range r = src.range(row, ts);
    if (r.end <= r.start) return;
    if (r.start + (int)blockIdx.y * kSimtThreads >= r.end) return;
    for (int i = threadIdx.x; i < heads * kDim; i += kSimtThreads) {
        __nv_fp8_e4m3 v;
        v.__x = q[(size_t)row * heads * kDim + i];
        s_q[i] = float(v);
    }
    for (int i = threadIdx.x; i < heads; i += kSimtThreads) s_w[i] = w[(size_t)row * heads + i];
    __syncthreads();
    float *orow = out + (size_t)row * out_stride;
    for (int idx = r.start + blockIdx.y * kSimtThreads + threadIdx.x; idx < r.end;
         idx += gridDim.y * kSimtThreads) {
        long long s = src.slot(trow, ts, idx);
        if (s < 0) {
            orow[idx] = -INFINITY;
            continue;
        }
        float kf[kDim];
        const uint32_t *kp = reinterpret_cast<const uint32_t *>(src.k + (size_t)s * kDim);
#pragma unroll
        for (int i = 0; i < kDim / 4; i++) {
            __nv_fp8x4_e4m3 v;
            v.__x = kp[i];
            float4 f = float4(v);
            kf[4 * i] = f.x, kf[4 * i + 1] = f.y, kf[4 * i + 2] = f.z, kf[4 * i + 3] = f.w;
        }
        float acc = 0.0f;
        for (int h = 0; h < heads; h++) {
            float dot = 0.0f;
#pragma unroll
            for (int d = 0; d < kDim; d++) dot += s_q[h * kDim + d] * kf[d];
            acc += s_w[h] * fmaxf(dot, 0.0f);
        }
        orow[idx] = acc * src.scales[s];
    }
}

/* SMs of the current device, read once per device (the grid size only affects speed, never
 * results; a failed query falls back to the H100's 132). */
int sm_count() {
    static seam::per_device_cache cache;
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || dev < 0) return 132;
    const int n = seam::per_device_once(cache, dev, [](int d) {
        int v = 0;
        return cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, d) == cudaSuccess && v > 0 ? v : -1;
    });
    return n > 0 ? n : 132;
}

/* Launch shapes: groups x chunk slices. Each CTA loads its group's queries once and walks
 * chunks c = first + y, first + y + gridDim.y, ...; gridDim.y is sized from the shapes so
 * the whole grid is about four waves of CTAs, divided by div (fewer, longer CTAs). Given
 * fill_slots (the CTAs that fit the GPU at once), a grid that would need more than one wave
 * with fewer than kFillBelow chunks a CTA becomes one wave instead. */
int chunk_slices(int groups, int span, int chunk, int div = 1, long long fill_slots = 0) {
    int chunks = (span + chunk - 1) / chunk;
    long long want = (4LL * sm_count() * 3 + groups - 1) / groups;
    want = (want + div - 1) / div;
    if (want < 1) want = 1;
    if (want > chunks) want = chunks;
    if (want > 65535) want = 65535;
    if (kFillBelow > 0 && fill_slots > 0 && (long long)groups * want > fill_slots &&
        want * kFillBelow > chunks)
        want = fill_slots / groups > 1 ? fill_slots / groups : 1;
    return (int)want;
}

template <int MT, class Source>
seam_status launch_mma_mt(const Source &src, const uint8_t *q, const float *w, float *out, int G,
                          int groups, long long out_stride, int span, cudaStream_t stream) {
    size_t smem = (size_t)G * MT * 128 * sizeof(uint4) + (size_t)G * MT * 16 * sizeof(float) +
                  (size_t)G * 2 * sizeof(int);
    auto kernel = logits_mma_kernel<MT, Source>;
    SEAM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    dim3 grid((unsigned)groups, (unsigned)chunk_slices(groups, span, kChunk));
    kernel<<<grid, kThreads, smem, stream>>>(src, q, w, out, G, out_stride);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

/* The wgmma kernel exists only in the sm_90a binary: true when that binary was built
 * (meson's gpu_arch = 90a defines SEAM_SM90A_SASS) and the current device is compute
 * capability 9.0 (read once per device; a host attribute, not a device value). */
bool wgmma_supported() {
#ifndef SEAM_SM90A_SASS
    return false;
#else
    static seam::per_device_cache cache; /* 1 yes, 0 no */
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || dev < 0) return false;
    return seam::per_device_once(cache, dev, [](int d) {
               int major = 0, minor = 0;
               return cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, d) == cudaSuccess &&
                      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, d) == cudaSuccess &&
                      major == 9 && minor == 0;
           }) == 1;
#endif
}

/* CTAs of Kernel (NT threads, smem bytes of shared memory) at G rows a group that fit the
 * whole GPU at once (read once per device and G; 0 if the query failed). Call after the
 * kernel's shared memory attribute is set. */
template <auto Kernel>
long long resident_ctas(int G, int NT, size_t smem) {
    enum { MAX_G = 8 };
    static seam::per_device_cache cache[MAX_G + 1];
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || G < 1 || G > MAX_G) return 0;
    const int n = seam::per_device_once(cache[G], dev, [&](int) {
        int v = 0;
        if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&v, Kernel, NT, smem) == cudaSuccess && v > 0)
            return v;
        (void)cudaGetLastError(); /* a failed query only keeps the four-wave grid */
        return 0;
    });
    return (long long)n * sm_count();
}

/* Key stages of the pipeline at G rows a group: a double buffer. -DSEAM_LOGITS_STAGES=N sets
 * N stages for every G <= 4, for A/B runs: session 10 run 3 (before the run copies) gave 4
 * stages at G = 4 and 3 at G <= 2, which cost a CTA an SM, and lost (NextN 4 native 32 x
 * 32K 118 -> 138 us, even the loads alone 46 -> 56). */
#ifndef SEAM_LOGITS_STAGES
#define SEAM_LOGITS_STAGES 0
#endif
constexpr int keys_major_stages(int G) {
    return G > 4 ? 2 : SEAM_LOGITS_STAGES > 0 ? SEAM_LOGITS_STAGES : 2;
}

/* Dynamic shared memory of logits_keys_major_kernel at G = NR x NQ rows a group, KS stages. */
size_t keys_major_smem_bytes(int G, int KS) {
    return 1024 /* alignment slack */ + (size_t)G * kQTileBytes + (size_t)KS * kKTileBytes +
           (size_t)G * kWgHeads * sizeof(float) + (size_t)KS * kWgKeys * sizeof(float) +
           (size_t)G * 2 * sizeof(int) + (size_t)KS * kWgKeys;
}

/* Groups of 5..8 rows (prefill) take their groups longest first with two chunks a CTA, as
 * the two-warpgroup kernel did; smaller ones fill one wave of resident CTAs. */
template <int NR, int NQ, class Source>
seam_status launch_keys_major_nr(const Source &src, const uint8_t *q, const float *w, float *out, int groups,
                                 long long out_stride, int span, cudaStream_t stream) {
    constexpr int G = NR * NQ, KS = keys_major_stages(G);
    const size_t smem = keys_major_smem_bytes(G, KS);
    constexpr auto kernel = logits_keys_major_kernel<NR, NQ, KS, Source>;
    SEAM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    const int div = NQ == 2 && kLongestFirst ? 2 : 1;
    const long long fill_slots = NQ == 1 ? resident_ctas<kernel>(G, kWgThreads, smem) : 0;
    dim3 grid((unsigned)groups, (unsigned)chunk_slices(groups, span, kWgKeys, div, fill_slots));
    kernel<<<grid, kWgThreads, smem, stream>>>(src, q, w, out, out_stride);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

template <class Source>
seam_status launch_wgmma(const Source &src, const uint8_t *q, const float *w, float *out, int G, int groups,
                         long long out_stride, int span, cudaStream_t stream) {
    if constexpr (std::is_same<Source, RaggedSource>::value) { /* always groups of 8 */
        return launch_keys_major_nr<4, 2>(src, q, w, out, groups, out_stride, span, stream);
    } else {
        if (G <= 1) return launch_keys_major_nr<1, 1>(src, q, w, out, groups, out_stride, span, stream);
        if (G <= 2) return launch_keys_major_nr<2, 1>(src, q, w, out, groups, out_stride, span, stream);
        if (G <= 4) return launch_keys_major_nr<4, 1>(src, q, w, out, groups, out_stride, span, stream);
        return launch_keys_major_nr<4, 2>(src, q, w, out, groups, out_stride, span, stream);
    }
}

seam_indexer_algo resolve_algo(seam_indexer_algo algo, int heads) {
    if (algo != SEAM_INDEXER_ALGO_AUTO) return algo;
    if (heads == kWgHeads && wgmma_supported()) return SEAM_INDEXER_ALGO_WGMMA;
    return heads % 16 == 0 ? SEAM_INDEXER_ALGO_MMA : SEAM_INDEXER_ALGO_SIMT;
}

template <class Source>
seam_status launch(const Source &src, seam_indexer_algo algo, int heads, const uint8_t *q,
                   const float *w, float *out, int rows, int G, int groups, int span,
                   int out_stride, cudaStream_t stream, const char *fn) {
    algo = resolve_algo(algo, heads);
    if (algo == SEAM_INDEXER_ALGO_WGMMA) {
        if (!wgmma_supported())
            return seam_fail(SEAM_ERR_UNSUPPORTED, fn,
                             "params->algo=WGMMA needs a compute capability 9.0 device and a "
                             "build with gpu_arch=90a");
        return launch_wgmma(src, q, w, out, G, groups, out_stride, span, stream);
    }
    if (algo == SEAM_INDEXER_ALGO_SIMT) {
        int slices = (span + kSimtThreads - 1) / kSimtThreads;
        if (slices > 1024) slices = 1024;
        dim3 grid((unsigned)rows, (unsigned)slices);
        logits_simt_kernel<Source><<<grid, kSimtThreads, 0, stream>>>(src, q, w, out, rows, heads, out_stride);
        SEAM_CUDA_CHECK_LAUNCH();
        return SEAM_OK;
    }
    switch (heads / 16) {
    case 1: return launch_mma_mt<1>(src, q, w, out, G, groups, out_stride, span, stream);
    case 2: return launch_mma_mt<2>(src, q, w, out, G, groups, out_stride, span, stream);
    case 3: return launch_mma_mt<3>(src, q, w, out, G, groups, out_stride, span, stream);
    default: return launch_mma_mt<4>(src, q, w, out, G, groups, out_stride, span, stream);
    }
}

seam_status check_algo(seam_indexer_algo algo, int heads, const char *fn) {
    if (algo < SEAM_INDEXER_ALGO_AUTO || algo > SEAM_INDEXER_ALGO_WGMMA)
        return seam_fail(SEAM_ERR_INVALID_ARG, fn, "params->algo=%d is not a seam_indexer_algo", (int)algo);
    if (algo == SEAM_INDEXER_ALGO_WGMMA && heads != kWgHeads)
        return seam_fail(SEAM_ERR_INVALID_ARG, fn,
                         "params->heads=%d: the WGMMA kernel needs exactly %d heads", heads, kWgHeads);
    if (algo == SEAM_INDEXER_ALGO_MMA && heads % 16 != 0)
        return seam_fail(SEAM_ERR_INVALID_ARG, fn,
                         "params->heads=%d: the MMA kernel needs a multiple of 16", heads);
    return SEAM_OK;
}

} // namespace

/* The operand checks both logits entry points share; fn (the caller) and k_name (its key
 * field) keep the messages those of the public function. The kernels load q and keys 16
 * bytes at a time. */
static seam_status check_operands(const void *q, const float *weights, const void *k,
                                  const char *k_name, const float *k_scales, const char *fn) {
    SEAM_CHECK_ARG_IN(fn, q != NULL, "params->q is NULL");
    SEAM_CHECK_ARG_IN(fn, ((uintptr_t)q & 15) == 0, "params->q is not 16-byte aligned");
    SEAM_CHECK_ARG_IN(fn, weights != NULL, "params->weights is NULL");
    SEAM_CHECK_ARG_IN(fn, k != NULL, "params->%s is NULL", k_name);
    SEAM_CHECK_ARG_IN(fn, ((uintptr_t)k & 15) == 0, "params->%s is not 16-byte aligned", k_name);
    SEAM_CHECK_ARG_IN(fn, k_scales != NULL, "params->k_scales is NULL");
    return SEAM_OK;
}

extern "C" SEAM_API seam_status seam_indexer_logits_ragged(const seam_indexer_logits_ragged_params *p,
                                                           seam_stream stream) {
    SEAM_CHECK_PTR(p);
    SEAM_CHECK_ARG(p->struct_size == sizeof(seam_indexer_logits_ragged_params),
                   "params->struct_size=%zu, expected %zu (use "
                   "SEAM_INDEXER_LOGITS_RAGGED_PARAMS_INITIALIZER)",
                   p->struct_size, sizeof(seam_indexer_logits_ragged_params));
    SEAM_CHECK_ARG(p->rows >= 0, "params->rows=%d is negative", p->rows);
    SEAM_CHECK_ARG(p->heads >= 1 && p->heads <= SEAM_INDEXER_MAX_HEADS,
                   "params->heads=%d is not in [1, %d]", p->heads, SEAM_INDEXER_MAX_HEADS);
    SEAM_CHECK_ARG(p->keys >= 0, "params->keys=%d is negative", p->keys);
    SEAM_CHECK_ARG(p->stride >= 0, "params->stride=%d is negative", p->stride);
    SEAM_TRY(check_algo(p->algo, p->heads, __func__));
    if (p->rows == 0 || p->keys == 0 || p->stride == 0) return SEAM_OK;
    SEAM_TRY(check_operands(p->q, p->weights, p->k, "k", p->k_scales, __func__));
    SEAM_CHECK_ARG(p->row_starts != NULL, "params->row_starts is NULL");
    SEAM_CHECK_ARG(p->lengths != NULL, "params->lengths is NULL");
    SEAM_CHECK_ARG(p->logits != NULL, "params->logits is NULL");
    RaggedSource src;
    src.k = (const uint8_t *)p->k;
    src.scales = p->k_scales;
    src.scales16 = ((uintptr_t)p->k_scales & 15) == 0;
    src.keys = p->keys;
    src.stride = p->stride;
    src.rows = p->rows;
    src.row_starts = p->row_starts;
    src.lengths = p->lengths;
    int groups = (p->rows + kRaggedGroup - 1) / kRaggedGroup;
    int cols = p->keys < p->stride ? p->keys : p->stride;
    return launch(src, p->algo, p->heads, (const uint8_t *)p->q, p->weights, p->logits, p->rows,
                  kRaggedGroup, groups, cols, p->stride, (cudaStream_t)stream, __func__);
}

/* Request-grouped rows. A group of 8 rows stages eight query tiles (64 KB of shared memory:
 * two CTAs per SM), so a decode token alone in its group leaves seven tiles idle. One-row
 * requests therefore run in a launch of their own with one row per CTA (smaller CTAs, more
 * of them an SM). Measured on an H200 with the heads-major kernel (the demo's
 * decode batch, 30 one-token requests over 6K-14K keys, 8 layers): 490 us of indexer logits
 * per forward in groups of 8, 265 us in groups of 1; prefill requests of hundreds of rows
 * want the groups of 8 (one key read per 8 rows: the demo's prefill forward was 6% slower
 * with groups of 1). Both launches always run, since which requests have one row is known
 * only on the device; their grids depend on rows and max_requests alone, and a CTA with no
 * rows of its launch exits after reading cu_seqlens_q. */
static seam_status run_request_grouped(PagedSource src, const seam_indexer_logits_paged_params *p,
                                       cudaStream_t stream) {
    const seam_indexer_algo algo = resolve_algo(p->algo, p->heads);
    const uint8_t *q = (const uint8_t *)p->q;
    const long long rows = src.rows, many = (rows + kRaggedGroup - 1) / kRaggedGroup;
    SEAM_CHECK_ARG(many + p->max_requests <= INT_MAX, "params->max_requests=%d is too large", p->max_requests);
    if (!SEAM_LOGITS_ONE_ROW_LAUNCH || algo == SEAM_INDEXER_ALGO_SIMT) { /* SIMT: a CTA per row anyway */
        /* at most one partial group per request on top of rows / 8 full ones */
        src.request_rows = kAnyRows;
        return launch(src, algo, p->heads, q, p->weights, p->logits, src.rows, kRaggedGroup,
                      (int)(many + p->max_requests), p->stride, p->stride, stream, __func__);
    }
    /* Group g is the g-th one-row request (not request g: empty requests may come first), so
     * there are at most min(rows, max_requests) of them. */
    src.request_rows = kOneRow;
    const int singles = (int)(rows < p->max_requests ? rows : p->max_requests);
    SEAM_TRY(launch(src, algo, p->heads, q, p->weights, p->logits, src.rows, 1, singles, p->stride,
                    p->stride, stream, __func__));
    if (rows < 2) return SEAM_OK; /* no request can have two rows */
    /* requests of 2+ rows: at most rows / 2 of them, each with at most one partial group */
    src.request_rows = kSeveralRows;
    const long long several = rows / 2 < p->max_requests ? rows / 2 : p->max_requests;
    return launch(src, algo, p->heads, q, p->weights, p->logits, src.rows, kRaggedGroup,
                  (int)(many + several), p->stride, p->stride, stream, __func__);
}

extern "C" SEAM_API seam_status seam_indexer_logits_paged(const seam_indexer_logits_paged_params *p,
                                                          seam_stream stream) {
    SEAM_CHECK_PTR(p);
    SEAM_CHECK_ARG(p->struct_size == sizeof(seam_indexer_logits_paged_params),
                   "params->struct_size=%zu, expected %zu (use "
                   "SEAM_INDEXER_LOGITS_PAGED_PARAMS_INITIALIZER)",
                   p->struct_size, sizeof(seam_indexer_logits_paged_params));
    SEAM_CHECK_ARG(p->groups >= 0, "params->groups=%d is negative", p->groups);
    SEAM_CHECK_ARG(p->next_n >= 1 && p->next_n <= SEAM_MAX_NEXT_N,
                   "params->next_n=%d is not in [1, %d]", p->next_n, SEAM_MAX_NEXT_N);
    SEAM_CHECK_ARG(p->heads >= 1 && p->heads <= SEAM_INDEXER_MAX_HEADS,
                   "params->heads=%d is not in [1, %d]", p->heads, SEAM_INDEXER_MAX_HEADS);
    SEAM_CHECK_ARG(p->stride >= 0, "params->stride=%d is negative", p->stride);
    SEAM_CHECK_ARG(p->page_size == 1 || p->page_size == 64, "params->page_size=%d is not 1 or 64",
                   p->page_size);
    SEAM_CHECK_ARG(p->num_pages >= 0, "params->num_pages=%lld is negative", (long long)p->num_pages);
    SEAM_CHECK_ARG(p->table_stride >= 0, "params->table_stride=%d is negative", p->table_stride);
    SEAM_CHECK_ARG(p->context_lens_stride == 0 || p->context_lens_stride >= p->next_n,
                   "params->context_lens_stride=%d is less than next_n=%d", p->context_lens_stride,
                   p->next_n);
    if (p->cu_seqlens_q) {
        SEAM_CHECK_ARG(p->next_n == 1, "params->next_n=%d: request-grouped rows (cu_seqlens_q) "
                       "need next_n 1", p->next_n);
        SEAM_CHECK_ARG(p->num_requests_device != NULL,
                       "params->num_requests_device is NULL (required with cu_seqlens_q)");
        SEAM_CHECK_ARG(p->max_requests >= 1, "params->max_requests=%d is not positive (required "
                       "with cu_seqlens_q)", p->max_requests);
    }
    SEAM_TRY(check_algo(p->algo, p->heads, __func__));
    if (p->groups == 0 || p->stride == 0) return SEAM_OK;
    SEAM_TRY(check_operands(p->q, p->weights, p->k_cache, "k_cache", p->k_scales, __func__));
    SEAM_CHECK_ARG(p->block_table != NULL, "params->block_table is NULL");
    SEAM_CHECK_ARG(p->context_lens != NULL, "params->context_lens is NULL");
    SEAM_CHECK_ARG(p->logits != NULL, "params->logits is NULL");
    PagedSource src;
    src.k = (const uint8_t *)p->k_cache;
    src.scales = p->k_scales;
    src.scales16 = ((uintptr_t)p->k_scales & 15) == 0;
    src.num_pages = p->num_pages;
    src.page_size = p->page_size;
    src.page_shift = p->page_size == 64 ? 6 : 0;
    src.stride = p->stride;
    src.next_n = p->next_n;
    src.cls = p->context_lens_stride ? p->context_lens_stride : p->next_n;
    src.table = p->block_table;
    src.table_stride_device = p->table_stride_device;
    src.row_to_req = p->row_to_req;
    src.context_lens = p->context_lens;
    src.table_stride_host = p->table_stride;
    src.cu_seqlens_q = p->cu_seqlens_q;
    src.num_requests_device = p->num_requests_device;
    src.max_requests = p->max_requests;
    src.request_rows = kAnyRows;
    long long rows = (long long)p->groups * p->next_n;
    SEAM_CHECK_ARG(rows <= INT_MAX, "params->groups=%d x next_n=%d rows overflow", p->groups, p->next_n);
    src.rows = (int)rows;
    if (p->cu_seqlens_q) return run_request_grouped(src, p, (cudaStream_t)stream);
    return launch(src, p->algo, p->heads, (const uint8_t *)p->q, p->weights, p->logits, (int)rows,
                  p->next_n, p->groups, p->stride, p->stride, (cudaStream_t)stream, __func__);
}
