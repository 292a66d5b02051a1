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
 * reference, kept as the fallback.
 *
 * MMA: one 256-thread block per (head group, token, topk split); a head group is 16 heads
 * (one mma row tile) or, for ranks with >= 32 heads, 32 (two tiles: a 128-head rank stages
 * each row 4 times per token instead of 8, halving the L2 -> SM traffic that bounds it).
 * The block streams its selected rows through shared memory in tiles of 64 (cp.async,
 * double-buffered: the gather of tile i+1 overlaps the math of tile i), so each gathered
 * row is read from memory once for all heads of the group; the other groups of the same
 * token are neighbouring blocks and hit the same rows in L2. Per tile, on bf16 tensor
 * cores (mma.m16n8k16, fp32 accumulate):
 *   scores  S[heads, 64 rows] = Q[heads, 576] . KV^T   warp w: a quarter of the 576 dims of
 *           32 rows, its q fragments held in registers; the quarters meet in shared memory
 *   softmax tile max through shared memory (all warps need every row's max), P = exp2(S -
 *           m) rounded to bf16 into shared memory; l sums the rounded P, so the output is
 *           an exact convex combination of the rounded weights
 *   values  O[heads, 512] += P[heads, 64] . KV[64, 0:512]   warp w: columns 64w..64w+63
 * Operands come from shared memory with ldmatrix (.trans for KV as the B operand of P.V);
 * rows are padded by 16 bytes so the eight rows of every 8x8 matrix fall in different
 * banks. When tokens x head groups would leave most SMs idle (decode), the topk is split
 * across blocks (flash-decoding): each split writes its unnormalized O with (m, l) to the
 * workspace and a combine pass merges them. The split count depends on the shapes only. */
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


/* ---- MMA kernel ---------------------------------------------------------------------- */

constexpr int kRows = 64;               /* gathered rows per tile */
constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kStride = kQK + 8;        /* bf16 per smem row: 1168 bytes, 73 x 16 */
constexpr int kPStride = kRows + 8;     /* bf16 per P row: 144 bytes, 9 x 16 */
constexpr int kChunks = kQK * 2 / 16;   /* 16-byte chunks per row: 72 */
constexpr int kTargetBlocks = 264;      /* ~2 waves of an H100 at one block per SM */

/* Heads per block: MT mma row tiles of 16. MT = 2 (32 heads) halves the L2 -> SM traffic
 * of a 128-head rank (each row is staged 4 times per token instead of 8); MT = 1 wastes no
 * rows of the mma tile when a rank has 16 heads. */
inline int mtiles_for(int heads) { return heads >= 32 ? 2 : 1; }

constexpr int kSStride = kRows + 8;     /* floats per partial-score row: 72, conflict-free
                                           64-bit stores of the mma C fragments */

template <int MT>
struct MmaSmem {
    __nv_bfloat16 kv[2][kRows][kStride];
    union {
        __nv_bfloat16 q[16 * MT][kStride];        /* until the warps hold their q fragments */
        float part_s[4][16 * MT][kSStride];       /* then: scores of each K quarter */
    };
    __nv_bfloat16 p[16 * MT][kPStride];
    float red_max[kWarps][16 * MT];
    float red_sum[kWarps][16 * MT];
    int32_t slot[2][kRows];
};

__device__ __forceinline__ uint32_t smem_addr(const void *p) {
    return (uint32_t)__cvta_generic_to_shared(p);
}

__device__ __forceinline__ void cp_async16(void *dst, const void *src) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_addr(dst)), "l"(src));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
}

/* d += a . b for one m16n8k16 tile (bf16 in, fp32 accumulate). */
__device__ __forceinline__ void mma_bf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                         uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, "
                 "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* Gather tile rows [base, base + 64) of this block's range [.., end) into stage st:
 * cp.async for valid slots, zeros for masked ones (so no stale NaN meets a zero weight). */
template <int MT>
__device__ __forceinline__ void load_tile(MmaSmem<MT> &sm, int st, const AttnArgs &a,
                                          const int32_t *idx, int base, int end) {
    const int tid = threadIdx.x;
    if (tid < kRows) {
        const int j = base + tid;
        const int s = j < end ? idx[j] : -1;
        sm.slot[st][tid] = valid_slot(s, a.num_slots) ? s : -1;
    }
    for (int c = tid; c < kRows * kChunks; c += kThreads) {
        const int r = c / kChunks, ch = c - r * kChunks;
        const int j = base + r;
        const int s = j < end ? idx[j] : -1;
        __nv_bfloat16 *dst = &sm.kv[st][r][ch * 8];
        if (valid_slot(s, a.num_slots)) cp_async16(dst, a.kv + (int64_t)s * kQK + ch * 8);
        else *reinterpret_cast<uint4 *>(dst) = make_uint4(0, 0, 0, 0);
    }
}

/* Fragment ownership (mma m16n8k16): lane = 4g + tq holds, of each 16-row tile mt, rows
 * (heads) 16mt + g and 16mt + g + 8, and of each 8-column tile columns 2tq and 2tq + 1. */
template <int MT>
__global__ void __launch_bounds__(kThreads, 1) sparse_attention_mma(AttnArgs a) {
    constexpr int HG = 16 * MT;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    MmaSmem<MT> &sm = *reinterpret_cast<MmaSmem<MT> *>(smem_raw);
    const int h0 = blockIdx.x * HG, t = blockIdx.y, split = blockIdx.z;
    if (t >= seam::real_tokens(a.num_tokens, a.tokens)) return;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, tq = lane & 3;

    const int chunk = (a.topk + a.splits - 1) / a.splits;
    const int rows_per_split = (chunk + kRows - 1) / kRows * kRows;
    const int begin = split * rows_per_split;
    const int end = min(a.topk, begin + rows_per_split);
    const int tiles = begin < end ? (end - begin + kRows - 1) / kRows : 0;
    const int32_t *idx = a.indices + (int64_t)t * a.topk;

    /* q of the block's heads (zeros past the last head), then the first tile */
    for (int c = tid; c < HG * kChunks; c += kThreads) {
        const int h = c / kChunks, ch = c - h * kChunks;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (h0 + h < a.heads)
            v = *reinterpret_cast<const uint4 *>(a.q + ((int64_t)t * a.heads + h0 + h) * kQK + ch * 8);
        *reinterpret_cast<uint4 *>(&sm.q[h][ch * 8]) = v;
    }
    if (tiles > 0) load_tile(sm, 0, a, idx, begin, end);
    cp_async_commit();

    /* Score work split: warp w owns K quarter kq = w % 4 (dims 144kq..144kq+143, 9 k-steps)
     * of rows 32rh..32rh+31, rh = w / 4, for all the block's heads. Its q fragments for that
     * quarter stay in registers for the whole block, so q is read from shared memory once,
     * not once per tile; each KV element is read from shared memory once per tile. The four
     * quarters' partial scores are summed through part_s (which reuses q's space). */
    const int kq = warp & 3, rh = warp >> 2;
    __syncthreads(); /* q stored */
    uint32_t qf[MT][9][4];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int ks = 0; ks < 9; ks++)
            ldmatrix_x4(qf[mt][ks], &sm.q[16 * mt + (lane & 15)][144 * kq + 16 * ks + (lane >> 4) * 8]);
    /* part_s is first written after the loop's first barrier, when every warp has its q */

    float acc[MT][8][4];
    float m[MT][2], l[MT][2]; /* heads 16mt + g and 16mt + g + 8 */
#pragma unroll
    for (int mt = 0; mt < MT; mt++) {
#pragma unroll
        for (int n = 0; n < 8; n++)
#pragma unroll
            for (int i = 0; i < 4; i++) acc[mt][n][i] = 0.f;
        m[mt][0] = m[mt][1] = -INFINITY;
        l[mt][0] = l[mt][1] = 0.f;
    }

    for (int tile = 0; tile < tiles; tile++) {
        const int st = tile & 1;
        if (tile + 1 < tiles) load_tile(sm, st ^ 1, a, idx, begin + (tile + 1) * kRows, end);
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();

        /* partial scores: this warp's K quarter of rows 32rh..32rh+31 (4 n-tiles) */
        {
            float ps[MT][4][4];
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
#pragma unroll
                for (int j = 0; j < 4; j++) ps[mt][j][0] = ps[mt][j][1] = ps[mt][j][2] = ps[mt][j][3] = 0.f;
#pragma unroll
            for (int ks = 0; ks < 9; ks++) {
                const int k0 = 144 * kq + 16 * ks;
#pragma unroll
                for (int j = 0; j < 4; j += 2) {
                    /* n-tiles j and j+1: matrices (j, k0), (j, k0+8), (j+1, k0), (j+1, k0+8) */
                    uint32_t b[4];
                    ldmatrix_x4(b, &sm.kv[st][32 * rh + 8 * (j + (lane >> 4)) + (lane & 7)]
                                         [k0 + ((lane >> 3) & 1) * 8]);
#pragma unroll
                    for (int mt = 0; mt < MT; mt++) {
                        mma_bf16(ps[mt][j], qf[mt][ks], b[0], b[1]);
                        mma_bf16(ps[mt][j + 1], qf[mt][ks], b[2], b[3]);
                    }
                }
            }
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    const int col = 32 * rh + 8 * j + 2 * tq;
                    *reinterpret_cast<float2 *>(&sm.part_s[kq][16 * mt + g][col]) =
                        make_float2(ps[mt][j][0], ps[mt][j][1]);
                    *reinterpret_cast<float2 *>(&sm.part_s[kq][16 * mt + g + 8][col]) =
                        make_float2(ps[mt][j][2], ps[mt][j][3]);
                }
        }
        __syncthreads();

        /* full scores of rows 8w..8w+7, in the mma C layout: the sum of the four quarters */
        float s[MT][4];
        const int n0 = warp * 8;
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
            s[mt][0] = s[mt][1] = s[mt][2] = s[mt][3] = 0.f;
#pragma unroll
            for (int q4 = 0; q4 < 4; q4++) {
                const float2 lo = *reinterpret_cast<const float2 *>(&sm.part_s[q4][16 * mt + g][n0 + 2 * tq]);
                const float2 hi = *reinterpret_cast<const float2 *>(&sm.part_s[q4][16 * mt + g + 8][n0 + 2 * tq]);
                s[mt][0] += lo.x;
                s[mt][1] += lo.y;
                s[mt][2] += hi.x;
                s[mt][3] += hi.y;
            }
        }
        const bool v0 = sm.slot[st][n0 + 2 * tq] >= 0, v1 = sm.slot[st][n0 + 2 * tq + 1] >= 0;
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
            s[mt][0] = v0 ? s[mt][0] * a.scale_log2 : -INFINITY;
            s[mt][1] = v1 ? s[mt][1] * a.scale_log2 : -INFINITY;
            s[mt][2] = v0 ? s[mt][2] * a.scale_log2 : -INFINITY;
            s[mt][3] = v1 ? s[mt][3] * a.scale_log2 : -INFINITY;
            const float mx0 = seam::group_max<4>(fmaxf(s[mt][0], s[mt][1]));
            const float mx1 = seam::group_max<4>(fmaxf(s[mt][2], s[mt][3]));
            if (tq == 0) {
                sm.red_max[warp][16 * mt + g] = mx0;
                sm.red_max[warp][16 * mt + g + 8] = mx1;
            }
        }
        __syncthreads();

        /* new running max (every warp computes the same), probabilities rounded to bf16
         * once: the same values feed l and the mma */
        float m_new[MT][2];
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
#pragma unroll
            for (int r = 0; r < 2; r++) {
                float mx = m[mt][r];
#pragma unroll
                for (int w = 0; w < kWarps; w++) mx = fmaxf(mx, sm.red_max[w][16 * mt + g + 8 * r]);
                m_new[mt][r] = mx;
            }
            const __nv_bfloat162 p01 = __floats2bfloat162_rn(rescale(s[mt][0], m_new[mt][0]),
                                                             rescale(s[mt][1], m_new[mt][0]));
            const __nv_bfloat162 p23 = __floats2bfloat162_rn(rescale(s[mt][2], m_new[mt][1]),
                                                             rescale(s[mt][3], m_new[mt][1]));
            *reinterpret_cast<__nv_bfloat162 *>(&sm.p[16 * mt + g][n0 + 2 * tq]) = p01;
            *reinterpret_cast<__nv_bfloat162 *>(&sm.p[16 * mt + g + 8][n0 + 2 * tq]) = p23;
            const float2 f01 = __bfloat1622float2(p01), f23 = __bfloat1622float2(p23);
            const float sum0 = seam::group_sum<4>(f01.x + f01.y);
            const float sum1 = seam::group_sum<4>(f23.x + f23.y);
            if (tq == 0) {
                sm.red_sum[warp][16 * mt + g] = sum0;
                sm.red_sum[warp][16 * mt + g + 8] = sum1;
            }
        }
        __syncthreads();

#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int r = 0; r < 2; r++) {
                const float alpha = rescale(m[mt][r], m_new[mt][r]);
                float tile_sum = 0.f;
#pragma unroll
                for (int w = 0; w < kWarps; w++) tile_sum += sm.red_sum[w][16 * mt + g + 8 * r];
                l[mt][r] = l[mt][r] * alpha + tile_sum;
                m[mt][r] = m_new[mt][r];
#pragma unroll
                for (int n = 0; n < 8; n++) {
                    acc[mt][n][2 * r] *= alpha;
                    acc[mt][n][2 * r + 1] *= alpha;
                }
            }

        /* O[heads, this warp's 64 columns] += P[heads, 64] . KV[64, columns] */
        const int c0 = warp * 64;
#pragma unroll
        for (int k0 = 0; k0 < kRows; k0 += 16) {
            uint32_t pa[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
                ldmatrix_x4(pa[mt], &sm.p[16 * mt + (lane & 15)][k0 + (lane >> 4) * 8]);
#pragma unroll
            for (int n = 0; n < 8; n += 2) {
                uint32_t b[4];
                ldmatrix_x4_trans(b, &sm.kv[st][k0 + (lane & 7) + ((lane >> 3) & 1) * 8]
                                              [c0 + n * 8 + (lane >> 4) * 8]);
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    mma_bf16(acc[mt][n], pa[mt], b[0], b[1]);
                    mma_bf16(acc[mt][n + 1], pa[mt], b[2], b[3]);
                }
            }
        }
        __syncthreads(); /* stage st, p and the reductions are rewritten next */
    }
    cp_async_wait<0>();

    /* heads 16mt + g (+8), columns warp*64 + n*8 + 2tq (+1) */
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int r = 0; r < 2; r++) {
            const int h = h0 + 16 * mt + g + 8 * r;
            if (h >= a.heads) continue;
            const int64_t row = (int64_t)t * a.heads + h;
            if (a.splits == 1) {
                const float inv = l[mt][r] > 0.f ? 1.f / l[mt][r] : 0.f;
                __nv_bfloat16 *o = a.out + row * kV + warp * 64 + 2 * tq;
#pragma unroll
                for (int n = 0; n < 8; n++)
                    *reinterpret_cast<__nv_bfloat162 *>(o + n * 8) = __floats2bfloat162_rn(
                        acc[mt][n][2 * r] * inv, acc[mt][n][2 * r + 1] * inv);
            } else {
                const int64_t prow = (int64_t)split * a.tokens * a.heads + row;
                float *o = a.part_o + prow * kV + warp * 64 + 2 * tq;
#pragma unroll
                for (int n = 0; n < 8; n++)
                    *reinterpret_cast<float2 *>(o + n * 8) =
                        make_float2(acc[mt][n][2 * r], acc[mt][n][2 * r + 1]);
                if (warp == 0 && tq == 0)
                    *reinterpret_cast<float2 *>(a.part_ml + prow * 2) = make_float2(m[mt][r], l[mt][r]);
            }
        }
}

/* Merge the splits of one (token, head): out = sum_s 2^(m_s - M) O_s / sum_s 2^(m_s - M) l_s. */
constexpr int kCombineThreads = kV / 4;

__global__ void __launch_bounds__(kCombineThreads) sparse_attention_combine(AttnArgs a) {
    const int h = blockIdx.x, t = blockIdx.y;
    if (t >= seam::real_tokens(a.num_tokens, a.tokens)) return;
    const int64_t row = (int64_t)t * a.heads + h, plane = (int64_t)a.tokens * a.heads;
    float mx = -INFINITY;
    for (int s = 0; s < a.splits; s++) mx = fmaxf(mx, a.part_ml[(s * plane + row) * 2]);
    float4 o = make_float4(0.f, 0.f, 0.f, 0.f);
    float l = 0.f;
    for (int s = 0; s < a.splits; s++) {
        const float2 ml = *reinterpret_cast<const float2 *>(a.part_ml + (s * plane + row) * 2);
        const float w = rescale(ml.x, mx);
        if (w == 0.f) continue; /* an empty split: its O is zeros, skip the read */
        l += w * ml.y;
        const float4 v = reinterpret_cast<const float4 *>(a.part_o + (s * plane + row) * kV)[threadIdx.x];
        o.x += w * v.x;
        o.y += w * v.y;
        o.z += w * v.z;
        o.w += w * v.w;
    }
    const float inv = l > 0.f ? 1.f / l : 0.f;
    float v[4] = {o.x * inv, o.y * inv, o.z * inv, o.w * inv};
    seam::store_bf16<4>(a.out + row * kV + threadIdx.x * 4, v);
}

/* Splits of the topk for these shapes (1: no split); rows per split a multiple of 64. */
int plan_splits(int tokens, int heads, int topk) {
    const int hg = 16 * mtiles_for(heads);
    const int64_t blocks = (int64_t)tokens * ((heads + hg - 1) / hg);
    const int max_splits = (topk + kRows - 1) / kRows;
    if (blocks == 0 || blocks * 2 >= kTargetBlocks || max_splits <= 1) return 1;
    int want = (int)((kTargetBlocks + blocks - 1) / blocks);
    if (want > max_splits) want = max_splits;
    /* rows per split rounded up to whole tiles can leave trailing splits empty: drop them */
    const int chunk = (topk + want - 1) / want;
    const int rows = (chunk + kRows - 1) / kRows * kRows;
    return (topk + rows - 1) / rows;
}

template <int MT>
seam_status launch_mma(const AttnArgs &a, cudaStream_t s) {
    const size_t smem = sizeof(MmaSmem<MT>);
    SEAM_CUDA_CHECK(cudaFuncSetAttribute(sparse_attention_mma<MT>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    const unsigned groups = (unsigned)((a.heads + 16 * MT - 1) / (16 * MT));
    sparse_attention_mma<MT><<<dim3(groups, (unsigned)a.tokens, (unsigned)a.splits), kThreads,
                               smem, s>>>(a);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

size_t split_workspace_bytes(int tokens, int heads, int splits) {
    if (splits <= 1) return 0;
    return (size_t)splits * tokens * heads * (kV + 2) * sizeof(float);
}

} // namespace

extern "C" seam_status seam_sparse_attention_workspace_size(int tokens, int heads, int topk,
                                                            size_t *bytes) {
    SEAM_CHECK_PTR(bytes);
    SEAM_CHECK_ARG(tokens >= 0, "tokens=%d is negative", tokens);
    SEAM_CHECK_ARG(heads >= 1, "heads=%d is not >= 1", heads);
    SEAM_CHECK_ARG(topk >= 1, "topk=%d is not >= 1", topk);
    *bytes = split_workspace_bytes(tokens, heads, plan_splits(tokens, heads, topk));
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
    if (p->kernel == SEAM_SPARSE_ATTENTION_SIMPLE) {
        sparse_attention_simple<<<dim3((unsigned)p->heads, (unsigned)p->tokens),
                                  kSimpleWarps * 32, 0, s>>>(a);
        SEAM_CUDA_CHECK_LAUNCH();
        return SEAM_OK;
    }
    /* MMA (and AUTO): split the topk when the shapes call for it and the workspace holds
     * the partial results; otherwise run unsplit (same math, fewer blocks). */
    int splits = plan_splits(p->tokens, p->heads, p->topk);
    const size_t need = split_workspace_bytes(p->tokens, p->heads, splits);
    if (splits > 1 && (p->workspace == NULL || p->workspace_bytes < need ||
                       (uintptr_t)p->workspace % 16 != 0))
        splits = 1;
    a.splits = splits;
    if (splits > 1) {
        a.part_o = (float *)p->workspace;
        a.part_ml = a.part_o + (size_t)splits * p->tokens * p->heads * kV;
    }
    SEAM_TRY(mtiles_for(p->heads) == 2 ? launch_mma<2>(a, s) : launch_mma<1>(a, s));
    if (splits > 1) {
        sparse_attention_combine<<<dim3((unsigned)p->heads, (unsigned)p->tokens),
                                   kCombineThreads, 0, s>>>(a);
        SEAM_CUDA_CHECK_LAUNCH();
    }
    return SEAM_OK;
}
