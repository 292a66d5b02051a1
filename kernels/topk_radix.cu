/* Radix-select top-k (the default backend) and the public seam_topk launchers.
 *
 * Algorithm, per row (one CTA, or a cluster of S CTAs splitting the row into S slices):
 *   Each float maps to an order-preserving 32-bit key (seam_topk_key). The k-th largest key
 *   T is found digit by digit, most significant first: 12 bits (bits 31..20), 12 bits
 *   (19..8), 8 bits (7..0). A level builds a shared-memory histogram of its digit over the
 *   elements whose higher bits equal the prefix found so far, and a block scan from the top
 *   bin finds the bin holding the k-th element ("need" counts how many are still to take
 *   inside it).
 *   - Pass 1 reads the row from global memory (HBM) for the level-0 histogram.
 *   - As soon as the threshold bin holds at most cand_cap elements (the usual case: for a
 *     normal row of 160K the top-12-bit bin holds ~2K), pass 2 re-reads the row (mostly
 *     from L2): elements above the bin are final and written out at once; elements in the
 *     bin become candidates in shared memory, and the remaining levels and the final
 *     selection run over the candidates only.
 *   - Otherwise (adversarial rows: all equal, ties piled in one bin) the next level's
 *     histogram is another pass over global memory, so the result stays exact for every
 *     distribution; after level 2 the threshold is the full key and one last global pass
 *     selects. Nothing is ever dropped.
 *   - Single-read path (one CTA per row, rows >= 64K: many long rows do not stay in L2
 *     between two passes): pass 1 first histograms a sample of 4K elements spread over the
 *     row, picks the bin where about 1.5k elements of the row would lie above and, while
 *     histogramming the row, gathers everything from that bin up. If the exact threshold
 *     bin is at or above the estimate and nothing overflowed, pass 2 is skipped (the row is
 *     read once); otherwise the candidates are dropped and pass 2 runs as usual, so the
 *     result is exact either way.
 *   - A row no longer than the candidate buffer (one CTA per row) is read once, straight
 *     into it, with the level-0 histogram; the split into final elements and candidates
 *     then reads it from shared memory (default mode: counts first, then positions, no
 *     shared counters), and the other levels run over the candidates' indices.
 *   - The candidate levels stop as soon as the threshold bin is to be taken whole (its count
 *     equals the elements still needed): its lower digits cannot change the selection, and
 *     the final selection compares the keys' bits from that level's shift up. Normal rows
 *     stop after level 1 (its bins hold ~1 candidate each).
 *   Histogram updates are plain shared-memory increments (ATOMS.POPC.INC: lanes on one
 *   address are counted in one update, so sorted and constant rows do not serialise). Rows
 *   are read with 16-byte loads, 64 KB per CTA in flight in split rows (32 KB for slices of
 *   at most 8K elements, so that every warp has some), so a decode slice arrives in one or
 *   two memory round trips; with one CTA per row a warp also asks L2 for its next step while
 *   it loads this one (prefetch.global.L2: no registers held).
 *
 * Split rows: few long rows (decode) would leave most SMs idle with one CTA per row, so the
 * launcher gives each row a thread-block cluster of S CTAs (sm_90; S in 2, 4, 8, 12, 16;
 * above 8 a non-portable size the H100 runs) when rows are few and stride is long: the
 * largest S whose clusters all fit on the GPU at once (cudaOccupancyMaxActiveClusters: an
 * H100 runs 62 clusters of 4 and 14 of 16, fewer than 264 / S, because a cluster must sit
 * in one GPC). Each CTA histograms
 * its slice and adds it into the leader's (rank 0) histogram through distributed shared
 * memory; the leader finds the threshold and every CTA reads it back; candidates of all
 * slices are gathered into the leader's buffer (or kept per CTA, kLocalCands), and output
 * positions come from counters in the leader's shared memory. S = 1 is the same kernel
 * without the cluster steps. The launcher runs split rows with the deterministic kernel only
 * (for default mode too: it measured faster there); the default-mode cluster code is kept
 * general but not instantiated.
 *
 * Default mode writes each selected index at a position from a shared counter (any order).
 * Deterministic mode writes nothing early: every CTA keeps two bitmaps over its slice
 * (selected-above-threshold, equal-to-threshold), filled with shared-memory atomicOr during
 * the same passes and, for the candidates, by the leader once the threshold is known
 * (remote bits through DSMEM); a scan
 * over the bitmap words (and over the slices, in rank order) then gives each selected
 * element its rank in index order, and the
 * tie rule keeps the first `need` (SMALL) or the last `need` (LARGE) equal elements. The
 * result is a pure function of the row's values, so it is bitwise independent of the batch,
 * the stride and the launch shape. A slice too long for the bitmaps (S = 1, very long rows)
 * is handled in windows after the threshold is known, at the cost of one more read.
 * Short rows (S = 1, stride up to the candidate buffer, so every row is read whole into
 * shared memory) run a separate instantiation, SHORT: its emit writes each index at its rank
 * into a staging row in shared memory (the histogram, dead by then) and then copies the k
 * outputs out in one coalesced pass, since det_emit's scattered global writes were ~10K of a
 * prefill 8K row's 35K cycles (H100). It is separate because the same staging in the general
 * S = 1 kernel made it spill (12 -> 96 bytes of local memory) and prefill rows of 32K, which
 * run that kernel, 12% slower; SHORT also drops the global-memory levels at compile time.
 *
 * Graph safety: the launch shape (S, SHORT, shared memory, bitmap capacity) depends only on
 * rows, stride, k, the mode and the device (its cluster occupancy, read once). All per-row
 * state lives in shared memory, so there is no global workspace to reset and a replay sees
 * fresh lengths, row starts and scores. */
#include <atomic>
#include <type_traits>
#ifdef SEAM_TOPK_STAMPS
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#endif

#include <cooperative_groups.h>
#include <cub/block/block_scan.cuh>

#include <cuda_runtime.h>

#include "kernels/per_device.h"
#include "kernels/topk_kernels.h"
#include "kernels/warp_scan.cuh"
#include "runtime/cuda_check.h"

namespace cg = cooperative_groups;

namespace {

constexpr int kThreads = 512;
constexpr int kWarps = kThreads / 32;
constexpr int kBits0 = 12;             /* level 0's digit: the keys' top bits */
constexpr int kBins = 1 << kBits0;     /* level 0 and 1: 12-bit digits */
constexpr int kDiscard = kBins;        /* histogram slot for elements that match no bin */
constexpr int kHistWords = kBins + 4;  /* bins + the discard slot, 16-byte aligned */
constexpr int kDynSmemBudget = 106 * 1024; /* two CTAs per SM on sm_90 (227 KB usable) */
constexpr int kMaxBitmapWords = 5120;  /* deterministic bitmaps: up to 160K elements a slice */
constexpr int kDefaultCandCap = 8192;
constexpr int kSpecMinLen = 65536;     /* ... used for rows at least this long (S = 1; from
                                          16K it measured 4-8% slower on prefill rows of 32K:
                                          their second read still hits L2) */

/* The single-read path's sample: kSpreadFloat4 16-byte loads spread over the row, after
 * which the gathering pass reads the whole row (16 KB more, mostly L2 hits). It replaced the
 * row's first 4K elements, kept in shared memory so they were read once: the first elements
 * are no fair sample of scores that follow the token order, and even of i.i.d. normal rows
 * about one in 5000 missed: one row of a torch.randn draw of 256 x 160K, whose first 4K held
 * 82 elements above its threshold against ~51 expected, took the whole batch from 66 to 93 us
 * (session 12 run 5, H200). Run 6 (spread against first 4K, us): that draw 92.6 -> 63.8,
 * seam-bench-topk's 256 x 64K 40.0 -> 38.0, 256 x 160K 67.1 -> 64.5, prefill 1024 x 128K 184
 * -> 170; prefill rows of 32K, which never take this path, 12-14% faster too (the S = 1
 * kernel's code around it is smaller); deterministic 256 x 64K-128K and prefill 128K 2-3%
 * slower. */
constexpr int kSpreadFloat4 = 1024;
static_assert(kSpreadFloat4 % kThreads == 0, "whole loads a thread");

/* Candidate levels stop once the threshold bin is taken whole (-DSEAM_TOPK_EARLY_EXIT=0 runs
 * every level, for A/B runs). */
#ifndef SEAM_TOPK_EARLY_EXIT
#define SEAM_TOPK_EARLY_EXIT 1
#endif
constexpr bool kEarlyExit = SEAM_TOPK_EARLY_EXIT;
/* Steps of its own a warp asks L2 to fetch ahead of its loads, in the default-mode kernel
 * (one CTA a row): its pass 1 over long rows was latency-bound at 4 loads per lane (ncu,
 * 256 x 128K, H200: half the issue slots idle, long-scoreboard stalls on the loads), and 8
 * loads per lane spill. One step ahead measured 5-7% faster on 256 x 64K-160K and prefill
 * 1024 x 128K (H200), two and four less. 0: none. */
#ifndef SEAM_TOPK_PREFETCH
#define SEAM_TOPK_PREFETCH 1
#endif
constexpr int kPrefetchSteps = SEAM_TOPK_PREFETCH;
/* The same one step ahead in the deterministic S = 1 kernels (short-row one included): on
 * 256 x 128K-160K and prefill 1024 x 128K it measured 1-4% faster (H200, session 8 runs 1
 * and 2): 1.13x the default mode's time on 160K and prefill 128K (from 1.15 and 1.17) and
 * 1.15x on 256 x 128K (from 1.16).
 * -DSEAM_TOPK_PREFETCH_DET=0 turns it off for A/B runs. */
#ifndef SEAM_TOPK_PREFETCH_DET
#define SEAM_TOPK_PREFETCH_DET 1
#endif
constexpr int kPrefetchDet = SEAM_TOPK_PREFETCH_DET;
/* Split slices of at most one step of 4 loads a lane (8K elements) are read 4 a lane, not 8:
 * at 8 a lane the warps past the slice's end sit idle while the others take 32 elements a
 * lane. 4 loads a lane everywhere measured 3-5% faster on slices of 8K (1 x 128K, 4 x 128K,
 * 1 x 64K) and 5-11% slower on longer ones (64 x 128K, 1 x 160K, 16 x 128K; H200, session 8
 * run 2). 0: always 8, for A/B runs. */
#ifndef SEAM_TOPK_SHORT_SLICE_VEC4
#define SEAM_TOPK_SHORT_SLICE_VEC4 1
#endif
constexpr bool kShortSliceVec4 = SEAM_TOPK_SHORT_SLICE_VEC4;
/* Split rows in clusters of up to SEAM_TOPK_ONE_CTA_MAX_CLUSTER CTAs run at one CTA an SM
 * and up to 128 registers a thread (96 used), larger clusters at two CTAs and 64: at 64
 * ptxas issues a step's loads in two or three batches. The launcher's cluster choice
 * follows the occupancy, and at one CTA an SM clusters of 12 and 16 no longer fit 16 rows in
 * one wave (16 x 160K would drop to clusters of 8), so those stay at two. One CTA for every
 * split size against two (session 12 run 1, H200, us): 64 x 128K 31.4 -> 30.2, 16 x 64K
 * 16.3 -> 15.5, 16 x 128K of 16 distinct values 38.0 -> 27.3, 16 x 160K 20.6 -> 22.4.
 * 0: two CTAs an SM for every size. */
#ifndef SEAM_TOPK_ONE_CTA_MAX_CLUSTER
#define SEAM_TOPK_ONE_CTA_MAX_CLUSTER 8
#endif
constexpr int kOneCtaMaxCluster = SEAM_TOPK_ONE_CTA_MAX_CLUSTER;

/* Phase timeline, a diagnostic build only (-Dcuda_args=-DSEAM_TOPK_STAMPS): thread 0 of each
 * of the first kStampCtas CTAs records %globaltimer at the start, after pass 1's read, after
 * the threshold levels, after pass 2, after the candidate levels and at the end; a
 * process-exit hook prints the last launch's spread
 * (tools/gpu-run.sh STAMPS). Compiled out otherwise. */
#ifdef SEAM_TOPK_STAMPS
constexpr int kStampCtas = 1024;
constexpr int kStampPhases = 6;
__device__ unsigned long long g_topk_stamps[kStampCtas][kStampPhases];
__device__ __forceinline__ void topk_stamp(int phase) {
    if (threadIdx.x == 0 && blockIdx.x < kStampCtas) {
        unsigned long long t;
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
        g_topk_stamps[blockIdx.x][phase] = t;
    }
}
#else
__device__ __forceinline__ void topk_stamp(int) {}
#endif

__constant__ int kShift[3] = {20, 8, 0};
__constant__ int kBits[3] = {12, 12, 8};

struct topk_state {
    uint32_t prefix;          /* key bits found so far (level l: bits 31..kShift[l]) */
    int need;                 /* elements still to take among those matching prefix */
    int match;                /* elements matching prefix */
    int gt_ctr;               /* default mode: next output slot for a final element */
    int tie_ctr;              /* default mode: ties handed out */
    int cand_ctr;             /* candidates gathered */
    unsigned long long det_total; /* deterministic: this slice's (selected << 32 | ties) */
    int spec_bin;             /* single-read path: candidates are gathered from this bin up */
    int tshift;               /* the threshold is prefix: the keys' bits from tshift up */
    int warp_above[kWarps], warp_cand[kWarps]; /* row in shared memory: per-warp split counts */
};

typedef cub::BlockScan<int, kThreads> scan_int;
typedef cub::BlockScan<unsigned long long, kThreads> scan_u64;
union scan_temp {
    typename scan_int::TempStorage i;
    typename scan_u64::TempStorage u;
};

__device__ __forceinline__ int lane_id() { return threadIdx.x & 31; }

/* Count one element in a shared histogram (bin kDiscard: an element that matches no bin,
 * counted where nobody reads, so the update needs no branch). A plain increment compiles to
 * ATOMS.POPC.INC on sm_90, which counts the lanes sharing an address in one update, so
 * sorted and constant rows (32 lanes on one bin) need no software aggregation: three
 * instructions per element, against about fourteen for the shuffle/ballot run detection
 * this replaced. The histogram pass is issue-bound (docs/performance.md). */
__device__ __forceinline__ void hist_add(uint32_t *hist, uint32_t bin) {
    atomicAdd(&hist[bin], 1u);
}

/* A cluster barrier in two halves. arrive publishes this thread's earlier writes (release)
 * and does not block; wait blocks until every thread of the cluster has arrived (acquire).
 * Work placed between them overlaps the wait for the slowest CTA, which at the first
 * barrier includes the cluster's launch skew: the whole barrier there measured about a
 * fifth of a 16-CTA row's time (ncu, 1 x 128K). */
__device__ __forceinline__ void cluster_arrive() {
    asm volatile("barrier.cluster.arrive.release.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void cluster_wait() {
    asm volatile("barrier.cluster.wait.acquire.aligned;\n" ::: "memory");
}

/* Slots from a counter for the flagged lanes, one atomic per warp; -1 for the others. The
 * counter may live in another CTA's shared memory (cluster). All lanes must call it. */
__device__ __forceinline__ int warp_alloc(int *ctr, bool flag) {
    unsigned b = __ballot_sync(0xffffffffu, flag);
    if (b == 0) return -1;
    const int lane = lane_id();
    int leader = __ffs(b) - 1;
    int base = 0;
    if (lane == leader) base = atomicAdd(ctr, __popc(b));
    base = __shfl_sync(0xffffffffu, base, leader);
    return flag ? base + __popc(b & ((1u << lane) - 1u)) : -1;
}

/* Ask L2 for the line holding p, without waiting (the same address form as the load next to
 * it plus a constant, so it holds no registers). */
__device__ __forceinline__ void l2_prefetch_line(const void *p) {
    asm volatile("prefetch.global.L2 [%0];" ::"l"(p));
}

/* Elements before the first 16-byte boundary at p (0-3). */
__device__ __forceinline__ int float4_head(const float *p) {
    return (int)((4u - (((uintptr_t)p >> 2) & 3u)) & 3u);
}

/* No step-end hook. */
struct no_step_end {
    __device__ __forceinline__ void operator()(int, int) const {}
};

/* Visit every element of the slice [lo, hi) of row x: f(idx, key, ok) is called by all
 * lanes of a warp together (ok false on lanes without an element), so it may use warp
 * collectives. The body is read with 16-byte loads, kVec of them per lane in flight (8 in
 * split rows: 64 KB per CTA, so a decode slice arrives in one or two memory round trips,
 * except short slices, see for_each_slice_elem; 4 with one CTA per row, where two CTAs per
 * SM already keep HBM busy), and with kAhead > 0 the
 * lines kAhead steps ahead are asked of L2 at the same time; the unaligned head and
 * the tail (at most 3 elements each) are one extra step of the last warp. After each step
 * the warp calls end(first, gap) together: the lane's elements of that step, in the order f
 * saw them, were j = 0, 1, ... at index first + (j >> 2) * gap + (j & 3) (see step_gather). */
template <int kVec, int kAhead = 0, class F, class E = no_step_end>
__device__ __forceinline__ void for_each_elem(const float *__restrict__ x, int lo, int hi, F &&f,
                                              E &&end = E()) {
    static_assert(4 * kVec <= 32, "a step's elements of a lane must fit step_gather's 32-bit mask");
    const int n = hi - lo;
    if (n <= 0) return;
    const int lane = lane_id(), warp = threadIdx.x >> 5;
    const float *p = x + lo;
    const int head = min(float4_head(p), n);
    const int nv = (n - head) >> 2, tail = (n - head) & 3;
    const float4 *v4 = reinterpret_cast<const float4 *>(p + head);
    /* One step of the warp; FULL: every lane's kVec loads are in the slice, so neither the
     * loads nor f carry a bounds check (a warp has at most one step that is not full). */
    auto step = [&](int base, auto full) {
        constexpr bool FULL = decltype(full)::value;
        float4 v[kVec];
#pragma unroll
        for (int u = 0; u < kVec; u++) {
            int i = base + u * 32 + lane;
            v[u] = FULL || i < nv ? __ldg(v4 + i) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if constexpr (kAhead > 0) {
                constexpr int ahead = kAhead * kThreads * kVec;
                if (i + ahead < nv) l2_prefetch_line(v4 + i + ahead);
            }
        }
#pragma unroll
        for (int u = 0; u < kVec; u++) {
            int i = base + u * 32 + lane;
            bool ok = FULL || i < nv;
            int e = lo + head + 4 * i;
            f(e, seam_topk_key(v[u].x), ok);
            f(e + 1, seam_topk_key(v[u].y), ok);
            f(e + 2, seam_topk_key(v[u].z), ok);
            f(e + 3, seam_topk_key(v[u].w), ok);
        }
        end(lo + head + 4 * (base + lane), 4 * 32);
    };
    int base = warp * 32 * kVec;
    for (; base + 32 * kVec <= nv; base += kThreads * kVec) step(base, std::true_type());
    if (base < nv) step(base, std::false_type());
    if (warp == kWarps - 1) {
        int e = -1;
        if (lane < head) e = lo + lane;
        else if (lane >= 4 && lane < 4 + tail) e = lo + head + 4 * nv + (lane - 4);
        bool ok = e >= 0;
        float v = ok ? __ldg(x + e) : 0.0f;
        f(ok ? e : lo, seam_topk_key(v), ok);
        end(ok ? e : lo, 0);
    }
}

/* for_each_elem for a kernel reading kVec loads a lane; a split slice (S > 1) that fits one
 * step of 4 loads a lane takes 4 (see kShortSliceVec4). */
template <int kVec, int kAhead, int S, class F, class E = no_step_end>
__device__ __forceinline__ void for_each_slice_elem(const float *__restrict__ x, int lo, int hi, F &&f,
                                                    E &&end = E()) {
    if constexpr (S > 1 && kVec > 4 && kShortSliceVec4)
        if (hi - lo <= kThreads * 4 * 4) {
            for_each_elem<4, kAhead>(x, lo, hi, f, end);
            return;
        }
    for_each_elem<kVec, kAhead>(x, lo, hi, f, end);
}

/* Flagged elements of a warp's for_each_elem steps into a shared buffer, one counter atomic
 * per warp and step instead of a ballot per element and an atomic per 32 (warp_alloc). Stalls
 * on warp_alloc's counter atomic were ~45% of pass 1's samples in the single-read gather
 * (ncu, 256 x 160K, H200). add(flag) per element, in f's order; at the step's end flush
 * gives the flagged ones consecutive slots from *ctr and calls store(slot, idx) for each
 * (slots past the buffer are the caller's to drop; *ctr still counts them). */
struct step_gather {
    uint32_t mask = 0; /* bit j: the lane's j-th element of this step is flagged */
    int j = 0;
    __device__ __forceinline__ void add(bool flag) {
        mask |= (uint32_t)flag << j;
        j++;
    }
    template <class Store>
    __device__ __forceinline__ void flush(int *ctr, int first, int gap, Store &&store) {
        const int lane = lane_id(), mine = __popc(mask);
        const int upto = seam::warp_inclusive_sum(mine, lane);
        const int total = __shfl_sync(0xffffffffu, upto, 31);
        if (total) {
            int base = 0;
            if (lane == 31) base = atomicAdd(ctr, total);
            int slot = __shfl_sync(0xffffffffu, base, 31) + upto - mine;
            for (uint32_t m = mask; m; m &= m - 1) {
                const int b = __ffs(m) - 1;
                store(slot++, first + (b >> 2) * gap + (b & 3));
            }
        }
        mask = 0;
        j = 0;
    }
    /* The flagged elements without slots: visit(idx) for each, lane by lane. */
    template <class Visit>
    __device__ __forceinline__ void drain(int first, int gap, Visit &&visit) {
        for (uint32_t m = mask; m; m &= m - 1) {
            const int b = __ffs(m) - 1;
            visit(first + (b >> 2) * gap + (b & 3));
        }
        mask = 0;
        j = 0;
    }
};

/* Visit [0, n) of a shared-memory array in warp-wide steps (warp w takes elements
 * 32w + 512j + lane): f(i, ok) is called by all lanes of a warp together (ok false past n),
 * so it may use warp collectives. */
template <class F>
__device__ __forceinline__ void for_each_warp_step(int n, F &&f) {
    for (int base = (threadIdx.x >> 5) * 32; base < n; base += kThreads) {
        const int i = base + lane_id();
        f(i, i < n);
    }
}

/* Set bit (idx - lo) of a slice bitmap. */
__device__ __forceinline__ void bitmap_set(uint32_t *words, int local) {
    atomicOr(&words[local >> 5], 1u << (local & 31));
}

/* Deterministic mode with the threshold known: mark [from, to) of row x in the slice bitmaps
 * (bit idx - from): above the threshold in gtw, equal to it in tiew. The threshold T is the
 * keys' bits from tsh up. */
template <int kVec, int kAhead>
__device__ __forceinline__ void mark_threshold(const float *__restrict__ x, int from, int to, uint32_t T,
                                               int tsh, uint32_t *gtw, uint32_t *tiew) {
    for_each_elem<kVec, kAhead>(x, from, to, [&](int idx, uint32_t key, bool ok) {
        if (ok && (key >> tsh) > T) bitmap_set(gtw, idx - from);
        if (ok && (key >> tsh) == T) bitmap_set(tiew, idx - from);
    });
}

/* Zero the first nbins bins (a multiple of 4), 16 bytes per store. */
__device__ __forceinline__ void hist_clear(uint32_t *hist, int nbins) {
    for (int i = threadIdx.x; i < nbins / 4; i += kThreads)
        reinterpret_cast<uint4 *>(hist)[i] = make_uint4(0u, 0u, 0u, 0u);
}

/* Find the bin holding the need-th largest element of a histogram (bins scanned from the
 * top). All threads must call it; exactly one thread (the one owning that bin) calls
 * found(digit, above, count): the bin, the elements in higher bins and those in the bin;
 * with need larger than the histogram's total nobody does. Ends with a barrier, after
 * which found's writes are visible (and before which every thread is past the scan, so
 * found may overwrite what the callers read before it). Thread i owns the
 * i-th group of nbins / kThreads bins from the top; a 12-bit histogram is 8 bins a thread,
 * read as two 16-byte loads and kept in registers for the second look (this scan runs once
 * per level and is most of a short row's fixed cost). */
template <class Found>
__device__ void pick_bin(const uint32_t *hist, int nbins, int need, scan_temp &tmp, Found &&found) {
    constexpr int kPer = kBins / kThreads;
    static_assert(kPer == 8, "pick_bin reads a 12-bit histogram as two uint4 a thread");
    uint32_t c[kPer];
    int first; /* lowest bin of this thread's group */
    if (nbins == kBins) {
        first = kBins - kPer * ((int)threadIdx.x + 1);
        const uint4 a = reinterpret_cast<const uint4 *>(hist + first)[0];
        const uint4 b = reinterpret_cast<const uint4 *>(hist + first)[1];
        c[0] = a.x, c[1] = a.y, c[2] = a.z, c[3] = a.w, c[4] = b.x, c[5] = b.y, c[6] = b.z, c[7] = b.w;
    } else { /* 8-bit level: one bin a thread (nbins <= kThreads) */
        first = nbins - 1 - (int)threadIdx.x;
#pragma unroll
        for (int j = 1; j < kPer; j++) c[j] = 0u;
        c[0] = first >= 0 ? hist[first] : 0u;
    }
    int sum = 0;
#pragma unroll
    for (int j = 0; j < kPer; j++) sum += (int)c[j];
    int above;
    scan_int(tmp.i).ExclusiveSum(sum, above);
    if (above < need && above + sum >= need) {
#pragma unroll
        for (int j = kPer - 1; j >= 0; j--) {
            const int cj = (int)c[j];
            if (above < need && above + cj >= need) found(first + j, above, cj);
            above += cj;
        }
    }
    __syncthreads();
}

/* One threshold level: the bin of the st->need-th largest becomes the next digit of
 * st->prefix; need and match follow. Ends with a barrier. */
__device__ void find_threshold(const uint32_t *hist, int nbins, int bits, topk_state *st,
                               scan_temp &tmp) {
    const uint32_t prefix = st->prefix;
    const int need = st->need;
    pick_bin(hist, nbins, need, tmp, [&](int digit, int above, int count) {
        st->prefix = (prefix << bits) | (uint32_t)digit;
        st->need = need - above;
        st->match = count;
    });
}

/* Deterministic output of one stretch of a slice from its bitmaps: a block scan over the
 * words gives each thread its stretch's count of selected and tied elements before it;
 * base(total) turns this stretch's totals into the counts before the stretch (other slices,
 * earlier windows); then every set bit is written at its rank in index order, through
 * o.write (the output row, or a staging row in shared memory). */
template <class Out, class Base>
__device__ void det_emit(const uint32_t *gtw, const uint32_t *tiew, int nwords, int elem0,
                         int need, int start_sel, const Out &o, scan_temp &tmp, Base &&base) {
    const int per = (nwords + kThreads - 1) / kThreads;
    const int wb = (int)threadIdx.x * per;
    const int we = min(nwords, wb + per);
    unsigned long long mine = 0;
    for (int w = wb; w < we; w++)
        mine += ((unsigned long long)__popc(gtw[w]) << 32) | (unsigned long long)__popc(tiew[w]);
    unsigned long long before, total;
    scan_u64(tmp.u).ExclusiveSum(mine, before, total);
    unsigned long long b0 = base(total);
    int g = (int)((b0 + before) >> 32);
    int t = (int)((b0 + before) & 0xffffffffu);
    for (int w = wb; w < we; w++) {
        uint32_t gw = gtw[w], tw = tiew[w], m = gw | tw;
        while (m) {
            int bit = __ffs(m) - 1;
            m &= m - 1;
            int idx = elem0 + w * 32 + bit;
            if ((gw >> bit) & 1u) {
                int sel = min(max(t - start_sel, 0), need);
                o.write(g + sel, idx);
                g++;
            } else {
                if (t >= start_sel && t < start_sel + need) o.write(g + t - start_sel, idx);
                t++;
            }
        }
    }
    __syncthreads(); /* the scan storage and bitmaps may be reused next */
}

/* The output row staged in shared memory (short rows): det_emit's writes, one per set bit
 * and scattered over the row, land here, and one coalesced pass copies the row out. */
struct staged_out_row {
    int *slot;
    __device__ __forceinline__ void write(int pos, int idx) const { slot[pos] = idx; }
};

/* Where det_emit writes: the staging row for SHORT, the output row otherwise. */
template <bool SHORT>
__device__ __forceinline__ const auto &det_emit_target(const seam_topk_out_row &o,
                                                       const staged_out_row &staged) {
    if constexpr (SHORT) return staged;
    else return o;
}

/* Split rows (deterministic, S > 1), -DSEAM_TOPK_LOCAL_CANDS=1: each CTA keeps its own
 * slice's candidates, counts their next digit and adds those counts into the leader's
 * histogram; the leader only picks, and each CTA marks its own candidates in its own
 * bitmaps. The default (0) sends the candidates to the leader, which alone histograms them
 * and sets their bits in the owners' bitmaps by remote atomics while the other CTAs wait.
 * H200, session 9 run 3: local candidates win where the candidates are many (rows of 16
 * distinct values: 16 x 128K 38.5 -> 26.8 us, 4 x 128K 23.8 -> 20.2) but lose 4-10% on
 * normal and tied rows (1 x 128K 14.9 -> 15.6, 64 x 128K 33.2 -> 36.3), so they stay off;
 * why normal rows lose was not found (counting inside pass 2 or after it made no
 * difference). Both pass the suite and the four sanitizers. */
#ifndef SEAM_TOPK_LOCAL_CANDS
#define SEAM_TOPK_LOCAL_CANDS 0
#endif
constexpr bool kLocalCands = SEAM_TOPK_LOCAL_CANDS;

/* The candidate levels of a split row (kLocalCands): on entry each CTA holds its slice's
 * candidates (st.cand_ctr of them) and a zeroed histogram, zeroed before the cluster
 * barrier that preceded pass 2, so peers may add into the leader's at once. (Counting them
 * inside pass 2 instead made that pass 1-2 us slower: run 2.)
 * Ends with every CTA's selected and tied candidates marked in its own bitmaps (gtw, tiew
 * over its slice from lo: split slices always fit them), the threshold in the leader's
 * state, the bit it starts at in every CTA's st.tshift, and a CTA barrier. */
template <int S>
__device__ void split_candidate_levels(int level, const uint32_t *cand_key, const int *cand_idx,
                                       uint32_t *gtw, uint32_t *tiew, int lo, uint32_t *hist,
                                       uint32_t *lhist, topk_state &st, topk_state *lst,
                                       scan_temp &tmp, int rank) {
    __syncthreads(); /* this CTA's candidates are complete */
    const int n = st.cand_ctr;
    int tsh = kShift[level]; /* the threshold is known down to bit tsh */
    for (int lv = level + 1; lv <= 2; lv++) {
        /* The whole threshold bin is taken: its lower digits cannot change the selection
         * (the leader's need and match, published by the last cluster barrier). */
        if (kEarlyExit && lst->need == lst->match) break;
        const int sh = kShift[lv], bits = kBits[lv], nbins = 1 << bits;
        const uint32_t p = lst->prefix, mask = (uint32_t)nbins - 1u;
        const int hs = sh + bits;
        if (lv > level + 1) {
            hist_clear(hist, kBins);
            cg::this_cluster().sync(); /* the leader's histogram is zero before peers add */
        }
        for_each_warp_step(n, [&](int i, bool ok) {
            const uint32_t key = ok ? cand_key[i] : 0u;
            const bool m = ok && (key >> hs) == p;
            hist_add(hist, m ? (key >> sh) & mask : (uint32_t)kDiscard);
        });
        __syncthreads();
        if (rank != 0)
            for (int i = threadIdx.x; i < nbins; i += kThreads)
                if (hist[i]) atomicAdd(&lhist[i], hist[i]);
        cg::this_cluster().sync();
        if (rank == 0) find_threshold(hist, nbins, bits, &st, tmp);
        cg::this_cluster().sync();
        tsh = sh;
    }
    if (threadIdx.x == 0) st.tshift = tsh; /* every CTA its own (the same everywhere) */
    const uint32_t T = lst->prefix;
    for_each_warp_step(n, [&](int i, bool ok) {
        const uint32_t top = (ok ? cand_key[i] : 0u) >> tsh;
        if (ok && top > T) bitmap_set(gtw, cand_idx[i] - lo);
        if (ok && top == T) bitmap_set(tiew, cand_idx[i] - lo);
    });
    __syncthreads();
}

/* SHORT (S = 1, deterministic, launched only when the stride fits the candidate buffer):
 * every row is in shared memory and covered by the bitmaps, so those branches are fixed at
 * compile time, and the output is staged (see the header comment). */
template <int S, bool DET, bool SHORT>
__global__ void __launch_bounds__(kThreads, S > 1 && S <= kOneCtaMaxCluster ? 1 : 2)
topk_radix_kernel(seam_topk_args a, int cand_cap, int bm_words) {
    static_assert(!SHORT || (S == 1 && DET), "the short-row kernel is deterministic, one CTA a row");
    extern __shared__ __align__(16) uint32_t smem[];
    uint32_t *hist = smem;
    uint32_t *cand_key = hist + kHistWords;
    int *cand_idx = (int *)(cand_key + cand_cap);
    uint32_t *gtw = (uint32_t *)(cand_idx + cand_cap);
    uint32_t *tiew = gtw + bm_words;
    __shared__ topk_state st;
    __shared__ scan_temp tmp;

    /* 16-byte loads per lane in flight: 8 with one CTA per row measured 4-9% slower on an
     * H200 (it spills), so the extra bandwidth there does not want more bytes in flight. */
    constexpr int kVec = S > 1 ? 8 : 4;
    /* L2 prefetch, steps ahead (split rows: one step measured 10% slower on 64 x 128K) */
    constexpr int kAhead = S > 1 ? 0 : DET ? kPrefetchDet : kPrefetchSteps;
    const int row = blockIdx.x / S;
    int rank = 0;
    if constexpr (S > 1) rank = (int)cg::this_cluster().block_rank();
    auto cluster_sync = [&]() {
        if constexpr (S > 1) cg::this_cluster().sync();
        else __syncthreads();
    };
    /* A pointer into the leader CTA's shared memory (S = 1: our own). */
    auto leader = [&](auto *p) {
        if constexpr (S > 1) return cg::this_cluster().map_shared_rank(p, 0);
        else return p;
    };

    int start, len;
    seam_topk_row_extent(a, row, &start, &len);
    const seam_topk_out_row o = seam_topk_out_row_make(a, row);
    const int k = a.k;
    if (len <= k) { /* same decision in every CTA of the cluster: no shared state touched */
        if (rank == 0)
            for (int j = threadIdx.x; j < k; j += kThreads) o.write(j, j < len ? j : -1);
        return;
    }

    const float *x = a.scores + (size_t)row * (size_t)a.stride + start;
    const int per = (((len + S - 1) / S) + 31) & ~31;
    const int lo = min(len, rank * per), hi = min(len, lo + per);
    const bool direct = DET && (SHORT || (per >> 5) <= bm_words); /* bitmaps cover the slice */

    topk_state *lst = leader(&st);
    uint32_t *lhist = leader(hist);
    uint32_t *lcand_key = leader(cand_key);
    int *lcand_idx = leader(cand_idx);

    topk_stamp(0);
    hist_clear(hist, kBins);
    if (direct)
        for (int i = threadIdx.x; i < (per >> 5); i += kThreads) gtw[i] = tiew[i] = 0;
    if (threadIdx.x == 0) {
        st.prefix = 0;
        st.need = k;
        st.match = len;
        st.gt_ctr = st.tie_ctr = st.cand_ctr = 0;
        st.det_total = 0;
        st.tshift = 0;
    }
    __syncthreads();
    /* Peers first touch the leader's state after their own pass 1, so the cluster barrier
     * that publishes it is only waited for there. */
    if constexpr (S > 1) cluster_arrive();

    /* Threshold levels over global memory until the threshold bin is small enough. */
    uint32_t prefix = 0;
    int need = k, match = len, level = 0;
    bool spec = false, spec_done = false; /* single-read path taken / succeeded */
    /* A row that fits the candidate buffer whole is read once, straight into the key buffer
     * (an element's index is its position there) while the level-0 histogram is built; the
     * pass below then splits it from shared memory, and only the threshold bin's indices
     * go on to the remaining levels. */
    const bool in_smem = SHORT || (S == 1 && len <= cand_cap);
    if (in_smem) {
        for_each_elem<kVec, kAhead>(x, lo, hi, [&](int idx, uint32_t key, bool ok) {
            if (ok) cand_key[idx] = key;
            hist_add(hist, ok ? key >> (32 - kBits0) : (uint32_t)kDiscard);
        });
        __syncthreads();
        find_threshold(hist, kBins, kBits[0], &st, tmp);
        prefix = st.prefix;
        need = st.need;
        match = st.match;
    }
    for (; !in_smem; level++) {
        const int shift = kShift[level], bits = kBits[level];
        const uint32_t mask = (1u << bits) - 1u;
        const int nbins = 1 << bits;
        if (level > 0) {
            hist_clear(hist, kBins);
            cluster_sync();
        }
        const int hi_shift = shift + bits; /* 32 at level 0: everything matches */
        auto hist_fn = [&](int, uint32_t key, bool ok) {
            bool m = ok && (level == 0 || (key >> hi_shift) == prefix);
            hist_add(hist, m ? (key >> shift) & mask : (uint32_t)kDiscard);
        };
        /* Level 0 (the pass over every row) with its shift fixed and no prefix to match:
         * the general update above compiled to 16 instructions an element there, branches
         * included. */
        auto hist0_fn = [&](int, uint32_t key, bool ok) {
            hist_add(hist, ok ? key >> (32 - kBits0) : (uint32_t)kDiscard);
        };
        if (S == 1 && level == 0 && len >= kSpecMinLen && cand_cap >= kBins) {
            /* Single-read path: a sample of the row estimates a bin low enough to hold
             * about 1.5k elements of the row (at 160K and k = 2048 the sample holds ~77 of
             * them against ~51 above the true threshold; a miss costs that row the exact
             * pass 2, and the batch waits for its slowest row); the pass over the row then
             * gathers everything from that bin up as candidates while it builds the
             * histogram. */
            spec = true;
            /* Aim at 1.5k candidates, or half the buffer when it is smaller (deterministic
             * launches with long slices give their bitmaps the room): the rest is slack for
             * the spec bin's own elements. 1.75k measured 2-4% slower (more candidates for
             * the levels after) and overflowed the deterministic 160K buffer. */
            const long long target = min(3LL * k / 2, (long long)cand_cap / 2);
            /* kSpreadFloat4 16-byte loads spread evenly over the row, histogrammed apart
             * in the candidate index buffer (unused until the gathering below). */
            uint32_t *shist = reinterpret_cast<uint32_t *>(cand_idx);
            hist_clear(shist, kBins);
            if (threadIdx.x == 0) st.spec_bin = 0;
            __syncthreads();
            const float *p = x + lo;
            const int head = float4_head(p);
            const int gap = ((len - head) >> 2) / kSpreadFloat4;
            const float4 *v4 = reinterpret_cast<const float4 *>(p + head);
            constexpr int kPer = kSpreadFloat4 / kThreads;
            float4 v[kPer];
#pragma unroll
            for (int u = 0; u < kPer; u++) v[u] = __ldg(v4 + (size_t)(u * kThreads + (int)threadIdx.x) * gap);
#pragma unroll
            for (int u = 0; u < kPer; u++) {
                hist_add(shist, seam_topk_key(v[u].x) >> (32 - kBits0));
                hist_add(shist, seam_topk_key(v[u].y) >> (32 - kBits0));
                hist_add(shist, seam_topk_key(v[u].z) >> (32 - kBits0));
                hist_add(shist, seam_topk_key(v[u].w) >> (32 - kBits0));
            }
            __syncthreads();
            const int sample_need = (int)((target * 4 * kSpreadFloat4 + len - 1) / len);
            pick_bin(shist, kBins, sample_need, tmp, [&](int digit, int, int) { st.spec_bin = digit; });
            const uint32_t spec_bin = (uint32_t)st.spec_bin;
            /* In batches (step_gather): a candidate's key is read again at the step's end
             * (an L1 hit, ~1% of the elements). */
            step_gather sg;
            for_each_elem<kVec, kAhead>(
                x, lo, hi,
                [&](int idx, uint32_t key, bool ok) {
                    hist0_fn(idx, key, ok);
                    sg.add(ok && (key >> (32 - kBits0)) >= spec_bin);
                },
                [&](int first, int gap) {
                    sg.flush(&st.cand_ctr, first, gap, [&](int slot, int idx) {
                        if (slot < cand_cap) {
                            cand_key[slot] = seam_topk_key(__ldg(x + idx));
                            cand_idx[slot] = idx;
                        }
                    });
                });
        } else if (level == 0) {
            for_each_slice_elem<kVec, kAhead, S>(x, lo, hi, hist0_fn);
        } else {
            for_each_slice_elem<kVec, kAhead, S>(x, lo, hi, hist_fn);
        }
        __syncthreads();
        if (level == 0) topk_stamp(1);
        if constexpr (S > 1) {
            if (level == 0) cluster_wait();
            if (rank != 0)
                for (int i = threadIdx.x; i < nbins; i += kThreads)
                    if (hist[i]) atomicAdd(&lhist[i], hist[i]);
            cluster_sync();
        }
        if (rank == 0) find_threshold(hist, nbins, bits, &st, tmp);
        /* Split rows: every histogram is free now (merged, or read by find_threshold, which
         * ends with a barrier); zeroed before the barrier, they are ready for the next
         * level's counts of each slice's own candidates (split_candidate_levels). */
        if (S > 1 && kLocalCands) hist_clear(hist, kBins);
        cluster_sync();
        prefix = lst->prefix;
        need = lst->need;
        match = lst->match;
        if (spec) {
            /* The gathered candidates hold every element of the threshold bin and above if
             * the estimate was low enough and nothing overflowed. Otherwise forget them:
             * pass 2 below is exact. */
            spec_done = prefix >= (uint32_t)st.spec_bin && st.cand_ctr <= cand_cap;
            __syncthreads(); /* everyone has read cand_ctr before it moves again */
            if (!spec_done && threadIdx.x == 0) st.cand_ctr = 0;
            __syncthreads();
            spec = false;
        }
        if (level == 2 || match <= cand_cap) break;
    }

    topk_stamp(2);
    const int shift = kShift[level];
    if (in_smem || level < 2) {
        /* Pass 2: elements above the threshold bin are final, the bin's are candidates.
         * (After a successful single read the candidates hold both already. A row in shared
         * memory is split from there, and its candidates are indices into the key buffer:
         * writing keys would overwrite elements not read yet.) */
        if (in_smem && DET) {
            /* Only the candidates take slots here (few): the counter costs less than a
             * counting pass (measured: 60.2 against 62.1 us on prefill 1024 x 8K). */
            for_each_warp_step(len, [&](int i, bool ok) {
                const uint32_t top = (ok ? cand_key[i] : 0u) >> shift;
                const bool cand = ok && top == prefix;
                if (direct && ok && top > prefix) bitmap_set(gtw, i - lo);
                int slot = warp_alloc(&lst->cand_ctr, cand);
                if (cand) lcand_idx[slot] = i;
            });
        } else if (in_smem) { /* default mode */
            /* Counts first, then positions: warp_alloc per element would put two dependent
             * shared-memory atomics in every 32-element step of a warp, which measured 5.8K
             * of a 4K row's 13.6K cycles (clock64 per phase, H100). Here a warp counts its
             * steps with ballots, one barrier gives every warp its offsets, and a second
             * look at the keys writes. */
            const int warp = (int)threadIdx.x >> 5, lane = lane_id();
            int n_above = 0, n_cand = 0;
            for_each_warp_step(len, [&](int i, bool ok) {
                const uint32_t top = (ok ? cand_key[i] : 0u) >> shift;
                n_above += __popc(__ballot_sync(0xffffffffu, ok && top > prefix));
                n_cand += __popc(__ballot_sync(0xffffffffu, ok && top == prefix));
            });
            if (lane == 0) st.warp_above[warp] = n_above, st.warp_cand[warp] = n_cand;
            __syncthreads();
            int off_above = 0, off_cand = 0;
            for (int w = 0; w < warp; w++) off_above += st.warp_above[w], off_cand += st.warp_cand[w];
            if (threadIdx.x == kThreads - 1) st.gt_ctr = off_above + n_above, st.cand_ctr = off_cand + n_cand;
            const unsigned below_me = (1u << lane) - 1u;
            for_each_warp_step(len, [&](int i, bool ok) {
                const uint32_t top = (ok ? cand_key[i] : 0u) >> shift;
                const bool above = ok && top > prefix, cand = ok && top == prefix;
                const unsigned ba = __ballot_sync(0xffffffffu, above);
                if (above) o.write(off_above + __popc(ba & below_me), i);
                off_above += __popc(ba);
                const unsigned bc = __ballot_sync(0xffffffffu, cand);
                if (cand) cand_idx[off_cand + __popc(bc & below_me)] = i;
                off_cand += __popc(bc);
            });
        } else if (!spec_done) {
            /* From global memory: slots in batches (step_gather), not per element, the
             * candidates' keys read again at each step's end (L1 hits). */
            step_gather above_g, cand_g;
            for_each_slice_elem<kVec, kAhead, S>(
                x, lo, hi,
                [&](int idx, uint32_t key, bool ok) {
                    const uint32_t top = key >> shift;
                    above_g.add(ok && top > prefix);
                    cand_g.add(ok && top == prefix);
                },
                [&](int first, int gap) {
                    /* Deterministic: the elements above are marked at the step's end, not
                     * each in its own branch (27 instructions an element, 3 of them
                     * convergence barriers, before). */
                    if constexpr (!DET)
                        above_g.flush(&lst->gt_ctr, first, gap, [&](int pos, int idx) { o.write(pos, idx); });
                    else if (direct)
                        above_g.drain(first, gap, [&](int idx) { bitmap_set(gtw, idx - lo); });
                    else
                        above_g.drain(first, gap, [](int) {});
                    if constexpr (S > 1 && kLocalCands) {
                        cand_g.flush(&st.cand_ctr, first, gap, [&](int slot, int idx) {
                            cand_key[slot] = seam_topk_key(__ldg(x + idx));
                            cand_idx[slot] = idx;
                        });
                    } else {
                        cand_g.flush(&lst->cand_ctr, first, gap, [&](int slot, int idx) {
                            lcand_key[slot] = seam_topk_key(__ldg(x + idx));
                            lcand_idx[slot] = idx;
                        });
                    }
                });
        }
        topk_stamp(3);
        if constexpr (S > 1 && kLocalCands) {
            split_candidate_levels<S>(level, cand_key, cand_idx, gtw, tiew, lo, hist, lhist, st, lst, tmp, rank);
        } else {
            cluster_sync();
            if (rank == 0) {
                /* Remaining levels over the candidates (those still in the race match the
                 * prefix). */
                const int n = st.cand_ctr;
                auto cand_key_at = [&](int i) { return in_smem ? cand_key[cand_idx[i]] : cand_key[i]; };
                int tsh = kShift[level]; /* the threshold is known down to bit tsh */
                for (int lv = level + 1; lv <= 2; lv++) {
                    /* Every element left in the threshold bin is taken: its lower digits cannot
                     * change the selection (normal rows almost always end here after level 1,
                     * whose bins hold ~1 candidate each). */
                    if (kEarlyExit && st.need == st.match) break;
                    const int sh = kShift[lv], bits = kBits[lv], hs = sh + bits;
                    const uint32_t mask = (1u << bits) - 1u, p = st.prefix;
                    hist_clear(hist, 1 << bits);
                    __syncthreads();
                    for_each_warp_step(n, [&](int i, bool ok) {
                        uint32_t key = ok ? cand_key_at(i) : 0u;
                        bool m = ok && (key >> hs) == p;
                        hist_add(hist, m ? (key >> sh) & mask : (uint32_t)kDiscard);
                    });
                    __syncthreads();
                    find_threshold(hist, 1 << bits, bits, &st, tmp);
                    tsh = sh;
                }
                if (threadIdx.x == 0) st.tshift = tsh; /* read after the cluster barrier below */
                const uint32_t T = st.prefix;
                const int fneed = st.need;
                /* Final selection among the candidates. */
                for_each_warp_step(n, [&](int i, bool ok) {
                    uint32_t top = (ok ? cand_key_at(i) : 0u) >> tsh;
                    int idx = ok ? cand_idx[i] : 0;
                    bool gt = ok && top > T, tie = ok && top == T;
                    if constexpr (!DET) {
                        int pos = warp_alloc(&st.gt_ctr, gt);
                        if (gt) o.write(pos, idx);
                        int ts = warp_alloc(&st.tie_ctr, tie);
                        if (tie && ts < fneed) o.write(k - fneed + ts, idx);
                    } else if (direct) {
                        if (gt || tie) {
                            const int owner = S == 1 ? 0 : idx / per, local = idx - owner * per;
                            uint32_t *words = tie ? tiew : gtw;
                            if constexpr (S > 1)
                                words = cg::this_cluster().map_shared_rank(words, owner);
                            atomicOr(&words[local >> 5], 1u << (local & 31));
                        }
                    }
                });
            }
            cluster_sync();
        }
        topk_stamp(4);
    } else {
        /* The threshold is the full key: one last pass selects. */
        const uint32_t T = prefix;
        if constexpr (!DET) { /* tie-heavy rows (e.g. all equal) end here: slots in batches */
            step_gather gt_g, tie_g;
            for_each_slice_elem<kVec, kAhead, S>(
                x, lo, hi,
                [&](int, uint32_t key, bool ok) {
                    gt_g.add(ok && key > T);
                    tie_g.add(ok && key == T);
                },
                [&](int first, int gap) {
                    gt_g.flush(&lst->gt_ctr, first, gap, [&](int pos, int idx) { o.write(pos, idx); });
                    tie_g.flush(&lst->tie_ctr, first, gap, [&](int ts, int idx) {
                        if (ts < need) o.write(k - need + ts, idx);
                    });
                });
        } else if (direct) { /* deterministic-windowed reads the row once more, below */
            mark_threshold<kVec, kAhead>(x, lo, hi, T, 0, gtw, tiew);
        }
        cluster_sync();
    }

    bool exit_arrived = false; /* CTA-uniform */
    if constexpr (DET) {
        const uint32_t T = lst->prefix;
        const int tsh = S > 1 && kLocalCands ? st.tshift : lst->tshift, fneed = lst->need, ties = lst->match;
        const int start_sel = a.tie_large ? ties - fneed : 0;
        if (direct) {
            /* SHORT stages the row in the histogram, dead once the threshold is known;
             * det_emit ends with a barrier, so the staged row is complete after it. */
            static_assert(kHistWords >= SEAM_TOPK_MAX_K, "a staged row fits the histogram");
            const staged_out_row staged{reinterpret_cast<int *>(hist)};
            det_emit(gtw, tiew, (hi - lo + 31) >> 5, lo, fneed, start_sel,
                     det_emit_target<SHORT>(o, staged), tmp,
                     [&](unsigned long long total) -> unsigned long long {
                         if constexpr (S == 1) {
                             return 0ull;
                         } else {
                             if (threadIdx.x == 0) st.det_total = total;
                             cluster_sync();
                             /* Lane r reads slice r's totals (one remote round trip, not
                              * rank of them in a row), then the warp sums them. */
                             const int lane = lane_id();
                             unsigned long long b =
                                 lane < rank ? cg::this_cluster().map_shared_rank(&st, lane)->det_total : 0ull;
#pragma unroll
                             for (int m = 16; m >= 1; m >>= 1) b += __shfl_xor_sync(0xffffffffu, b, m);
                             /* Our last read of a peer: the exit barrier's arrival, so the
                              * output writes below overlap the wait for the others. */
                             cluster_arrive();
                             exit_arrived = true;
                             return b;
                         }
                     });
            if constexpr (SHORT)
                for (int j = threadIdx.x; j < k; j += kThreads) o.write(j, staged.slot[j]);
        } else if constexpr (S == 1) {
            /* Windows of the slice, in order, with the threshold known. */
            const int win = bm_words * 32;
            unsigned long long carried = 0;
            for (int w0 = lo; w0 < hi; w0 += win) {
                const int we = min(hi, w0 + win);
                for (int i = threadIdx.x; i < bm_words; i += kThreads) gtw[i] = tiew[i] = 0;
                __syncthreads();
                mark_threshold<kVec, kAhead>(x, w0, we, T, tsh, gtw, tiew);
                __syncthreads();
                unsigned long long next = 0;
                det_emit(gtw, tiew, (we - w0 + 31) >> 5, w0, fneed, start_sel, o, tmp,
                         [&](unsigned long long total) {
                             next = carried + total;
                             return carried;
                         });
                carried = next;
            }
        }
    }
    topk_stamp(5);
    if constexpr (S > 1) { /* peers may still read our shared memory */
        if (!exit_arrived) cluster_arrive();
        cluster_wait();
    }
}

/* Launch shape, from rows, stride and mode only. */
struct radix_shape {
    int cluster;
    int cand_cap;
    int bm_words;
    size_t smem;
    bool short_rows; /* deterministic, S = 1, stride <= cand_cap: the short-row kernel */
};

/* A launch of grid CTAs in clusters of S (no cluster attribute when S = 1); *attr must live
 * as long as *cfg is used. */
void cluster_config(cudaLaunchConfig_t *cfg, cudaLaunchAttribute *attr, unsigned grid, int S,
                    size_t smem, cudaStream_t stream) {
    *cfg = cudaLaunchConfig_t{};
    cfg->gridDim = dim3(grid);
    cfg->blockDim = dim3(kThreads);
    cfg->dynamicSmemBytes = smem;
    cfg->stream = stream;
    attr->id = cudaLaunchAttributeClusterDimension;
    attr->val.clusterDim.x = (unsigned)S;
    attr->val.clusterDim.y = 1;
    attr->val.clusterDim.z = 1;
    cfg->attrs = attr;
    cfg->numAttrs = S > 1 ? 1 : 0;
}

/* How many clusters of S CTAs of the split-row kernel device dev runs at once at the largest
 * shared-memory size (read once per device; 0 if the query failed or dev < 0). Clusters
 * must fit in one GPC, so on an H100 this is below 264 / S: a grid past it runs in two
 * waves. */
template <int S>
int max_active_clusters(int dev) {
    static seam::per_device_cache cache;
    if (dev < 0) return 0;
    return seam::per_device_once(cache, dev, [](int) {
        auto kernel = topk_radix_kernel<S, true, false>;
        cudaLaunchConfig_t cfg;
        cudaLaunchAttribute attr;
        cluster_config(&cfg, &attr, S, S, kDynSmemBudget, nullptr);
        int n = 0;
        if (cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kDynSmemBudget) ==
                cudaSuccess &&
            (S <= 8 || cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1) ==
                           cudaSuccess) &&
            cudaOccupancyMaxActiveClusters(&n, kernel, &cfg) == cudaSuccess && n > 0)
            return n;
        (void)cudaGetLastError(); /* a failed query only costs the wave check, below */
        return 0;
    });
}

/* Cluster sizes the split-row kernel is built for, largest first (> 8: non-portable, set at
 * launch). 12 runs 16 rows in one wave where 16 would not (an H100 runs 16 clusters of 12,
 * 14 of 16): 16 x 160K 33.6 -> 28.5 us. 3 and 6 (79 and 39 clusters) were measured too, for
 * 64 and 32 rows, and gained nothing: long slices are issue-bound, so 1.5 CTAs per SM do
 * no better than one (docs/performance.md). */
constexpr int kClusterSizes[] = {16, 12, 8, 4, 2};

/* rows clusters of S CTAs run in one wave on device dev (true when the device could not say,
 * or dev < 0: unknown). */
bool one_wave(int rows, int s, int dev) {
    int n = 0;
    switch (s) {
    case 2: n = max_active_clusters<2>(dev); break;
    case 4: n = max_active_clusters<4>(dev); break;
    case 8: n = max_active_clusters<8>(dev); break;
    case 12: n = max_active_clusters<12>(dev); break;
    default: n = max_active_clusters<16>(dev); break;
    }
    return n == 0 || rows <= n;
}

radix_shape radix_pick_shape(int rows, int stride, int deterministic) {
    radix_shape sh;
    /* The largest cluster that keeps the grid under ~2 CTAs per SM of an H100, fits the GPU
     * in one wave and leaves each CTA at least 8K columns. */
    int s = 1;
    int dev = -2; /* the current device, looked up once, at the first size worth asking about */
    for (int c : kClusterSizes) {
        if ((long long)rows * c > 264 || stride / c < 8192) continue;
        if (dev == -2 && cudaGetDevice(&dev) != cudaSuccess) dev = -1;
        if (one_wave(rows, c, dev)) {
            s = c;
            break;
        }
    }
    if (deterministic) {
        long long slice_words = (((long long)stride + s - 1) / s + 31) / 32;
        while (s > 1 && slice_words > kMaxBitmapWords) { /* bitmaps must cover a split slice */
            s /= 2;
            slice_words = (((long long)stride + s - 1) / s + 31) / 32;
        }
        sh.bm_words = (int)(slice_words < kMaxBitmapWords ? slice_words : kMaxBitmapWords);
        if (sh.bm_words < 1) sh.bm_words = 1;
        int left = kDynSmemBudget - kHistWords * 4 - sh.bm_words * 8;
        sh.cand_cap = (left / 8) & ~31;
        if (sh.cand_cap > kDefaultCandCap) sh.cand_cap = kDefaultCandCap;
    } else {
        sh.bm_words = 0;
        sh.cand_cap = kDefaultCandCap;
    }
    sh.cluster = s;
    sh.smem = (size_t)kHistWords * 4 + (size_t)sh.cand_cap * 8 + (size_t)sh.bm_words * 8;
    /* Every row fits the candidate buffer whatever its length (the kernel relies on it). */
    sh.short_rows = deterministic && s == 1 && stride <= sh.cand_cap;
    return sh;
}

#ifdef SEAM_TOPK_STAMPS
/* At process exit: the last launch's phases, per CTA (us from the kernel's first start):
 * the spread of starts, of pass 1's end, of the levels' end and of the ends. */
void print_stamps() {
    static unsigned long long t[kStampCtas][kStampPhases];
    if (cudaDeviceSynchronize() != cudaSuccess ||
        cudaMemcpyFromSymbol(t, g_topk_stamps, sizeof t) != cudaSuccess) {
        fprintf(stderr, "topk stamps: could not read them back\n");
        return;
    }
    unsigned long long t0 = ~0ull;
    int n = 0;
    for (int c = 0; c < kStampCtas; c++) /* rows of length <= k return before stamping */
        if (t[c][0]) t0 = t[c][0] < t0 ? t[c][0] : t0, n++;
    static const char *names[kStampPhases] = {"start", "pass 1 read", "levels", "pass 2", "candidates", "end"};
    fprintf(stderr, "topk stamps: %d CTAs of the last launch (us after the first start; per phase: its end, "
            "and its length per CTA)\n", n);
    for (int ph = 0; ph < kStampPhases && n; ph++) {
        double v[kStampCtas], d[kStampCtas];
        int m = 0;
        for (int c = 0; c < kStampCtas; c++) {
            if (!t[c][0] || t[c][ph] < t0) continue;
            int prev = ph - 1;
            while (prev > 0 && t[c][prev] < t0) prev--; /* a phase this row skipped */
            v[m] = (double)(t[c][ph] - t0) * 1e-3;
            d[m++] = ph ? (double)(t[c][ph] - t[c][prev]) * 1e-3 : 0.0;
        }
        std::sort(v, v + m);
        std::sort(d, d + m);
        if (m)
            fprintf(stderr, "  %-11s n %4d  end p10 %7.1f p50 %7.1f p90 %7.1f max %7.1f | length p10 %6.1f "
                    "p50 %6.1f p90 %6.1f\n", names[ph], m, v[m / 10], v[m / 2], v[m * 9 / 10], v[m - 1],
                    d[m / 10], d[m / 2], d[m * 9 / 10]);
    }
}
#endif

template <int S, bool DET, bool SHORT = false>
seam_status radix_launch(const seam_topk_args *a, const radix_shape &sh, cudaStream_t stream) {
#ifdef SEAM_TOPK_STAMPS
    static std::atomic<int> hooked{0};
    if (!hooked.exchange(1)) atexit(print_stamps);
    void *stamps = nullptr; /* a memset, unlike a pageable copy, can be captured */
    SEAM_CUDA_CHECK(cudaGetSymbolAddress(&stamps, g_topk_stamps));
    SEAM_CUDA_CHECK(cudaMemsetAsync(stamps, 0, sizeof g_topk_stamps, stream));
#endif
    auto kernel = topk_radix_kernel<S, DET, SHORT>;
    SEAM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         (int)sh.smem));
    cudaLaunchConfig_t cfg;
    cudaLaunchAttribute attr;
    cluster_config(&cfg, &attr, (unsigned)a->rows * S, S, sh.smem, stream);
    if constexpr (S > 8)
        SEAM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
    SEAM_CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, *a, sh.cand_cap, sh.bm_words));
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

/* The deterministic kernel at its cluster size (the only one split rows run), or its
 * short-row instantiation. */
seam_status radix_dispatch_det(const seam_topk_args *a, const radix_shape &sh,
                               cudaStream_t stream) {
    if (sh.short_rows) return radix_launch<1, true, true>(a, sh, stream);
    switch (sh.cluster) {
    case 1: return radix_launch<1, true>(a, sh, stream);
    case 2: return radix_launch<2, true>(a, sh, stream);
    case 4: return radix_launch<4, true>(a, sh, stream);
    case 8: return radix_launch<8, true>(a, sh, stream);
    case 12: return radix_launch<12, true>(a, sh, stream);
    default: return radix_launch<16, true>(a, sh, stream);
    }
}

} // namespace

/* The deterministic kernel's answer (ascending, smallest indices among ties) is also a valid
 * default-mode answer, and on these shapes it was measured faster on an H100 (its bitmaps
 * replace the output counters of pass 2): 0.81x on prefill rows of 32K columns, 0.83-0.93x
 * on 1-64 rows of 64K-160K (docs/performance.md). Elsewhere it is 3-20% slower, and rows
 * longer than its bitmaps (> 160K, not measured) cost it one more read. */
static bool deterministic_is_faster(int rows, int stride) {
    return stride >= 16384 && stride <= kMaxBitmapWords * 32 && (stride <= 32768 || rows < 256);
}

extern "C" seam_status seam_topk_radix_run(const seam_topk_args *a, cudaStream_t stream) {
    radix_shape sh = radix_pick_shape(a->rows, a->stride, a->deterministic);
    if (a->deterministic) return radix_dispatch_det(a, sh, stream);
    /* Split rows (few rows of 16K+) go to the deterministic kernel too (up to 160K columns
     * they fall under deterministic_is_faster; beyond, its split slices still fit the
     * bitmaps), so default mode only ever launches its own kernel with one CTA per row. */
    if (sh.cluster > 1 || deterministic_is_faster(a->rows, a->stride)) {
        seam_topk_args d = *a;
        d.deterministic = 1;
        d.tie_large = 0;
        return radix_dispatch_det(&d, radix_pick_shape(d.rows, d.stride, 1), stream);
    }
    return radix_launch<1, false>(a, sh, stream);
}

/* ---- public launchers ------------------------------------------------------------------ */

extern "C" SEAM_API seam_status seam_topk_workspace_size(int rows, int stride, int k,
                                                         seam_topk_backend backend,
                                                         size_t *bytes) {
    SEAM_CHECK_PTR(bytes);
    *bytes = 0;
    SEAM_CHECK_ARG(rows >= 0, "rows=%d is negative", rows);
    SEAM_CHECK_ARG(stride >= 0, "stride=%d is negative", stride);
    SEAM_CHECK_ARG(k >= 1, "k=%d must be at least 1", k);
    SEAM_CHECK_ARG(k <= SEAM_TOPK_MAX_K, "k=%d exceeds SEAM_TOPK_MAX_K=%d", k, SEAM_TOPK_MAX_K);
    SEAM_CHECK_ARG(backend == SEAM_TOPK_RADIX || backend == SEAM_TOPK_SORT,
                   "backend=%d is not a seam_topk_backend", (int)backend);
    if (backend == SEAM_TOPK_SORT) return seam_topk_sort_workspace(rows, stride, bytes);
    return SEAM_OK; /* radix keeps all cross-CTA state in (distributed) shared memory */
}

extern "C" SEAM_API seam_status seam_topk(const seam_topk_params *params, seam_stream stream) {
    SEAM_CHECK_PTR(params);
    const seam_topk_params *p = params;
    SEAM_CHECK_ARG(p->struct_size == sizeof(seam_topk_params),
                   "params->struct_size=%zu, expected %zu (start from "
                   "SEAM_TOPK_PARAMS_INITIALIZER)",
                   p->struct_size, sizeof(seam_topk_params));
    SEAM_CHECK_ARG(p->rows >= 0, "rows=%d is negative", p->rows);
    SEAM_CHECK_ARG(p->k >= 1, "k=%d must be at least 1", p->k);
    SEAM_CHECK_ARG(p->k <= SEAM_TOPK_MAX_K, "k=%d exceeds SEAM_TOPK_MAX_K=%d", p->k,
                   SEAM_TOPK_MAX_K);
    SEAM_CHECK_ARG(p->stride >= 1, "stride=%d must be at least 1", p->stride);
    SEAM_CHECK_ARG(p->backend == SEAM_TOPK_RADIX || p->backend == SEAM_TOPK_SORT,
                   "backend=%d is not a seam_topk_backend", (int)p->backend);
    SEAM_CHECK_ARG(p->deterministic == 0 || p->deterministic == 1, "deterministic=%d is not 0 or 1",
                   p->deterministic);
    SEAM_CHECK_ARG(p->tie_break >= SEAM_TIE_BREAK_NONE && p->tie_break <= SEAM_TIE_BREAK_LARGE,
                   "tie_break=%d is not a seam_topk_tie_break", (int)p->tie_break);
    SEAM_CHECK_ARG(p->transform >= SEAM_TOPK_TRANSFORM_NONE &&
                       p->transform <= SEAM_TOPK_TRANSFORM_RAGGED,
                   "transform=%d is not a seam_topk_transform", (int)p->transform);
    SEAM_CHECK_ARG(p->scores != NULL, "scores is NULL");
    SEAM_CHECK_ARG(p->lengths != NULL, "lengths is NULL");
    SEAM_CHECK_ARG(p->out != NULL, "out is NULL");
    if (p->transform == SEAM_TOPK_TRANSFORM_PAGED) {
        SEAM_CHECK_ARG(p->page_table != NULL, "transform=PAGED needs page_table, which is NULL");
        SEAM_CHECK_ARG(p->row_to_req != NULL, "transform=PAGED needs row_to_req, which is NULL");
        SEAM_CHECK_ARG(p->page_table_stride_device != NULL || p->page_table_stride >= 1,
                       "transform=PAGED: page_table_stride=%d must be at least 1 when "
                       "page_table_stride_device is NULL",
                       p->page_table_stride);
    }
    if (p->transform == SEAM_TOPK_TRANSFORM_RAGGED)
        SEAM_CHECK_ARG(p->offsets != NULL, "transform=RAGGED needs offsets, which is NULL");
    size_t need = 0;
    SEAM_TRY(seam_topk_workspace_size(p->rows, p->stride, p->k, p->backend, &need));
    if (need > 0) {
        SEAM_CHECK_ARG(p->workspace != NULL,
                       "workspace is NULL; this call needs %zu bytes (seam_topk_workspace_size)",
                       need);
        SEAM_CHECK_ARG(p->workspace_bytes >= need,
                       "workspace_bytes=%zu is less than the %zu bytes seam_topk_workspace_size "
                       "asks for",
                       p->workspace_bytes, need);
    }
    if (p->rows == 0) return SEAM_OK;

    seam_topk_args a;
    a.rows = p->rows;
    a.stride = p->stride;
    a.k = p->k;
    a.scores = p->scores;
    a.lengths = p->lengths;
    a.row_starts = p->row_starts;
    a.out = p->out;
    a.deterministic = p->deterministic || p->tie_break != SEAM_TIE_BREAK_NONE;
    a.tie_large = p->tie_break == SEAM_TIE_BREAK_LARGE;
    a.transform = (int)p->transform;
    a.page_table = p->page_table;
    a.page_table_stride = p->page_table_stride;
    a.page_table_stride_device = p->page_table_stride_device;
    a.row_to_req = p->row_to_req;
    a.offsets = p->offsets;
    cudaStream_t s = (cudaStream_t)stream;
    if (p->backend == SEAM_TOPK_SORT) return seam_topk_sort_run(&a, p->workspace, p->workspace_bytes, s);
    return seam_topk_radix_run(&a, s);
}
