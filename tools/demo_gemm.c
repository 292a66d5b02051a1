/* demo_gemm: the engine's projection GEMM, a cuBLASLt bf16 matmul registered as a capturable
 * seam op (see demo_ops.h for the semantics).
 *
 * Graph safety. cuBLASLt runs on the stream it is given and needs no allocation when the
 * workspace is ours (one device buffer, allocated at creation, shared by every call: calls
 * are ordered on one stream). Descriptors live on the host stack (the *Init forms), so a call
 * allocates nothing. The algorithm for a problem is chosen the first time the problem is
 * seen, which seam's build does in its warm-up forward, outside capture. That choice times
 * and probes kernels and synchronizes; a first call during capture cannot, so it takes the
 * heuristic's choice alone (a host lookup that does not touch the stream) and stays correct.
 *
 * Row invariance. cuBLAS picks kernels by shape; M = 1000 and M = 1024 may get different tile
 * shapes or split-K factors, and then the same row comes out with different rounding. The
 * demo compares an eager forward (every call at the real token count) with replays (calls at
 * the bucket size) bit for bit, so one algorithm is chosen per problem among the heuristic's
 * candidates at the largest row count and reused for every row count (checked with
 * cublasLtMatmulAlgoCheck; where the check refuses, that row count gets its own heuristic
 * choice and the problem is counted as a fallback, reported by the demo). The first eager
 * call of a problem checks invariance directly (the probe): the GEMM at its row count and at
 * 3/4 of it, the shared rows compared bit for bit. A cuBLAS kernel that splits work by the
 * total tile count (stream-K) would change a row's bits with the row count even with one
 * algorithm; the demo then compares with a tolerance instead.
 *
 * Autotuning. The heuristic's first choice without split-K can be far off at few rows: for a
 * 30-token decode on an H200 it took a 64x256-tile kernel that launches a handful of CTAs and
 * ran 166 us where reading the weights takes 5-10 us. So the first eager call times every
 * candidate (up to 8 from each heuristic pass: without split-K, then with any reduction) at
 * its own row count and one less (the slower counts: autotune), with a cold L2 (time_algo),
 * and keeps the fastest that passes the probe. Split-K is allowed because one algorithm
 * config fixes the split count and cuBLASLt's reduction order, so a row's bits
 * should not depend on M; the probe checks rather than trusts that. Where no candidate
 * passes, the fastest without split-K is kept and counted as a fallback; where the probe
 * cannot run (a single row, or no room in its buffer), the fastest without split-K is kept
 * unverified. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include "ops/op_args.h"
#include "runtime/cuda_check.h"
#include "tools/demo_ops.h"

#define WORKSPACE_BYTES ((size_t)32 << 20)
#define MAX_PROBLEMS 256
#define PASS_CANDIDATES 8 /* heuristic results asked for per pass */
#define MAX_CANDIDATES (2 * PASS_CANDIDATES)
#define TIMED_CALLS 5

/* One problem: everything but the row count. */
typedef struct gemm_key {
    int64_t out, in, batch, x_ld, y_ld, x_bstride, y_bstride;
    int align_x, align_y;
} gemm_key;

typedef struct gemm_problem {
    gemm_key key;
    cublasLtMatmulAlgo_t algo;  /* chosen at max_rows */
    int checked_rows;           /* last row count the algo was checked for (0: none) */
    int checked_ok;
    cublasLtMatmulAlgo_t own;   /* the heuristic's choice at checked_rows when not ok */
    int fallback;
} gemm_problem;

struct demo_gemm_state {
    cublasLtHandle_t handle;
    void *workspace;
    int max_rows;
    int num_problems;
    int fallbacks;
    int probe_failures;
    int autotuned;
    void *probe;                         /* row-invariance probe output, probe_bytes */
    size_t probe_bytes;
    unsigned long long *probe_count;     /* device */
    cudaEvent_t events[2 * TIMED_CALLS]; /* autotuning: before and after each timed call */
    void *flush;                         /* autotuning: written before each timed call */
    size_t flush_bytes;                  /* twice the L2 cache */
    gemm_problem problems[MAX_PROBLEMS];
};

static seam_status state_init(demo_gemm_state *st, size_t probe_bytes) {
    SEAM_CUBLAS_CHECK(cublasLtCreate(&st->handle));
    SEAM_CUDA_CHECK(cudaMalloc(&st->workspace, WORKSPACE_BYTES));
    if (probe_bytes) {
        SEAM_CUDA_CHECK(cudaMalloc(&st->probe, probe_bytes));
        st->probe_bytes = probe_bytes;
        SEAM_CUDA_CHECK(cudaMalloc((void **)&st->probe_count, sizeof *st->probe_count));
    }
    for (int i = 0; i < 2 * TIMED_CALLS; i++) SEAM_CUDA_CHECK(cudaEventCreate(&st->events[i]));
    int dev = 0, l2 = 0;
    SEAM_CUDA_CHECK(cudaGetDevice(&dev));
    SEAM_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
    st->flush_bytes = 2 * (size_t)(l2 > 0 ? l2 : 64 << 20);
    SEAM_CUDA_CHECK(cudaMalloc(&st->flush, st->flush_bytes));
    return SEAM_OK;
}

seam_status demo_gemm_state_create(demo_gemm_state **out, int max_rows, size_t probe_bytes) {
    SEAM_CHECK_PTR(out);
    SEAM_CHECK_ARG(max_rows >= 1, "max_rows=%d is not >= 1", max_rows);
    *out = NULL;
    demo_gemm_state *st = calloc(1, sizeof *st);
    if (!st) return seam_fail(SEAM_ERR_OUT_OF_MEMORY, __func__, "state allocation failed");
    st->max_rows = max_rows;
    seam_status s = state_init(st, probe_bytes);
    if (s != SEAM_OK) {
        demo_gemm_state_destroy(st);
        return s;
    }
    *out = st;
    return SEAM_OK;
}

seam_status demo_gemm_state_destroy(demo_gemm_state *st) {
    if (!st) return SEAM_OK;
    seam_status s = SEAM_OK;
    void *bufs[4] = {st->workspace, st->probe, st->probe_count, st->flush};
    for (int i = 0; i < 4; i++)
        if (bufs[i]) SEAM_CUDA_KEEP_FIRST(s, cudaFree(bufs[i]));
    for (int i = 0; i < 2 * TIMED_CALLS; i++)
        if (st->events[i]) SEAM_CUDA_KEEP_FIRST(s, cudaEventDestroy(st->events[i]));
    if (st->handle) {
        cublasStatus_t b = cublasLtDestroy(st->handle);
        if (b != CUBLAS_STATUS_SUCCESS && s == SEAM_OK)
            s = seam_fail_cublas((int)b, "cublasLtDestroy", __FILE__, __LINE__, __func__);
    }
    free(st);
    return s;
}

int demo_gemm_fallbacks(const demo_gemm_state *st) { return st ? st->fallbacks : 0; }
int demo_gemm_problems(const demo_gemm_state *st) { return st ? st->num_problems : 0; }
int demo_gemm_probe_failures(const demo_gemm_state *st) { return st ? st->probe_failures : 0; }
int demo_gemm_autotuned(const demo_gemm_state *st) { return st ? st->autotuned : 0; }

/* ---- the op's arguments (demo_ops.h: DEMO_GEMM_*) ----------------------------------------- */

static int64_t row_elems(const seam_tensor *t) {
    int64_t n = 1;
    for (int d = 1; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

static void problem_shape(const seam_op_call *c, gemm_key *k) {
    const seam_tensor *w = seam_op_tensor(c, DEMO_GEMM_W);
    k->batch = w->ndim == 3 ? w->shape[0] : 1;
    k->out = w->shape[w->ndim - 2];
    k->in = w->shape[w->ndim - 1];
    k->x_ld = row_elems(seam_op_tensor(c, DEMO_GEMM_X));
    k->y_ld = row_elems(seam_op_tensor(c, DEMO_GEMM_Y));
    k->x_bstride = seam_op_int(c, DEMO_GEMM_X_BSTRIDE);
    k->y_bstride = seam_op_int(c, DEMO_GEMM_Y_BSTRIDE);
}

static int align_of(uintptr_t addr, int64_t ld_elems, int64_t bstride_elems) {
    uintptr_t v = addr | (uintptr_t)(ld_elems * 2) | (uintptr_t)(bstride_elems * 2) | 256u;
    return (int)(v & (~v + 1)); /* lowest set bit: 2..256 */
}

/* The descriptors of one call, on the caller's stack. */
typedef struct gemm_descs {
    cublasLtMatmulDescOpaque_t op;
    cublasLtMatrixLayoutOpaque_t a, b, d;
} gemm_descs;

static seam_status make_descs(gemm_descs *g, const gemm_key *k, int rows) {
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    SEAM_CUBLAS_CHECK(cublasLtMatmulDescInit(&g->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    SEAM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(&g->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    SEAM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(&g->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    /* Column-major view: A = w as [in, out] (ld in), B = x as [in, rows] (ld x_ld),
     * D = y as [out, rows] (ld y_ld); D = A^T B. */
    SEAM_CUBLAS_CHECK(cublasLtMatrixLayoutInit(&g->a, CUDA_R_16BF, (uint64_t)k->in, (uint64_t)k->out, k->in));
    SEAM_CUBLAS_CHECK(cublasLtMatrixLayoutInit(&g->b, CUDA_R_16BF, (uint64_t)k->in, (uint64_t)rows, k->x_ld));
    SEAM_CUBLAS_CHECK(cublasLtMatrixLayoutInit(&g->d, CUDA_R_16BF, (uint64_t)k->out, (uint64_t)rows, k->y_ld));
    if (k->batch > 1) {
        int32_t n = (int32_t)k->batch;
        int64_t sa = k->out * k->in, sb = k->x_bstride, sd = k->y_bstride;
        SEAM_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(&g->a, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &n, sizeof n));
        SEAM_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(&g->b, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &n, sizeof n));
        SEAM_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(&g->d, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &n, sizeof n));
        SEAM_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(&g->a, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sa, sizeof sa));
        SEAM_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(&g->b, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sb, sizeof sb));
        SEAM_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(&g->d, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sd, sizeof sd));
    }
    return SEAM_OK;
}

/* One call's operands. Every trial run of autotuning and the probe writes y; the call's own
 * run overwrites it afterwards (x and y never alias). */
typedef struct gemm_io {
    const void *w, *x;
    void *y;
    int64_t y_off; /* y's element offset: the probe buffer mirrors y's layout */
    cudaStream_t stream;
} gemm_io;

/* Whether cuBLASLt accepts algo for these descriptors within our workspace. */
static int algo_fits(demo_gemm_state *st, gemm_descs *g, const cublasLtMatmulAlgo_t *algo) {
    cublasLtMatmulHeuristicResult_t r;
    cublasStatus_t b = cublasLtMatmulAlgoCheck(st->handle, &g->op, &g->a, &g->b, &g->d, &g->d, algo, &r);
    return b == CUBLAS_STATUS_SUCCESS && r.workspaceSize <= WORKSPACE_BYTES;
}

static seam_status run_algo(demo_gemm_state *st, gemm_descs *g, const cublasLtMatmulAlgo_t *algo, const gemm_io *io,
                            void *y) {
    const float alpha = 1.0f, beta = 0.0f;
    SEAM_CUBLAS_CHECK(cublasLtMatmul(st->handle, &g->op, &alpha, io->w, &g->a, io->x, &g->b, &beta, y, &g->d, y, &g->d,
                                     algo, st->workspace, WORKSPACE_BYTES, io->stream));
    return SEAM_OK;
}

/* ---- candidates: the heuristic's results at one row count ---------------------------------- */

typedef struct gemm_candidate {
    cublasLtMatmulAlgo_t algo;
    int rank;                     /* position in the heuristic's list, pass 0 first */
    int32_t splitk;               /* CUBLASLT_ALGO_CONFIG_SPLITK_NUM */
    float us;                     /* median time at the tuned row count; < 0: not timed */
    int probed;
    unsigned long long differing; /* the probe's count, when probed */
} gemm_candidate;

static seam_status set_preferences(cublasLtMatmulPreferenceOpaque_t *pref, const gemm_key *k, uint32_t scheme) {
    uint64_t ws = WORKSPACE_BYTES;
    uint32_t align_a = 256, align_b = (uint32_t)k->align_x, align_d = (uint32_t)k->align_y;
    SEAM_CUBLAS_CHECK(cublasLtMatmulPreferenceInit(pref));
    SEAM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    SEAM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &scheme, sizeof scheme));
    SEAM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_a, sizeof align_a));
    SEAM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_b, sizeof align_b));
    SEAM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_d, sizeof align_d));
    SEAM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_d, sizeof align_d));
    return SEAM_OK;
}

static int known_algo(const gemm_candidate *c, int n, const cublasLtMatmulAlgo_t *algo) {
    for (int i = 0; i < n; i++)
        if (memcmp(&c[i].algo, algo, sizeof *algo) == 0) return 1;
    return 0;
}

/* Appends the heuristic's usable results for one reduction-scheme mask to c[*n]; the second
 * pass (any scheme) repeats most of the first, which are skipped. */
static seam_status heuristic_pass(demo_gemm_state *st, gemm_descs *g, const gemm_key *k, uint32_t scheme,
                                  gemm_candidate *c, int *n) {
    cublasLtMatmulPreferenceOpaque_t pref;
    SEAM_TRY(set_preferences(&pref, k, scheme));
    cublasLtMatmulHeuristicResult_t res[PASS_CANDIDATES];
    int found = 0;
    cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(st->handle, &g->op, &g->a, &g->b, &g->d, &g->d, &pref,
                                                       PASS_CANDIDATES, res, &found);
    if (hs == CUBLAS_STATUS_NOT_SUPPORTED) found = 0; /* nothing for these preferences */
    else SEAM_CUBLAS_CHECK(hs);
    for (int i = 0; i < found; i++) {
        if (res[i].state != CUBLAS_STATUS_SUCCESS || res[i].workspaceSize > WORKSPACE_BYTES ||
            known_algo(c, *n, &res[i].algo))
            continue;
        gemm_candidate *cand = &c[*n];
        size_t written = 0;
        memset(cand, 0, sizeof *cand);
        cand->algo = res[i].algo;
        cand->rank = *n;
        cand->splitk = 1;
        cand->us = -1.0f;
        SEAM_CUBLAS_CHECK(cublasLtMatmulAlgoConfigGetAttribute(&cand->algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM,
                                                               &cand->splitk, sizeof cand->splitk, &written));
        (*n)++;
    }
    return SEAM_OK;
}

/* The usable results of both heuristic passes at `rows`, in the heuristic's order: without
 * split-K reduction first, then with any scheme. */
static seam_status gather_candidates(demo_gemm_state *st, const gemm_key *k, int rows, gemm_candidate *c, int *n) {
    gemm_descs g;
    SEAM_TRY(make_descs(&g, k, rows));
    *n = 0;
    SEAM_TRY(heuristic_pass(st, &g, k, CUBLASLT_REDUCTION_SCHEME_NONE, c, n));
    SEAM_TRY(heuristic_pass(st, &g, k, CUBLASLT_REDUCTION_SCHEME_MASK, c, n));
    if (*n == 0)
        return seam_fail(SEAM_ERR_UNSUPPORTED, "demo_gemm",
                         "cuBLASLt has no algorithm for out=%lld in=%lld batch=%lld rows=%d (x align %d, y align %d)",
                         (long long)k->out, (long long)k->in, (long long)k->batch, rows, k->align_x, k->align_y);
    return SEAM_OK;
}

/* The first of c[0..n) without split-K, or -1. */
static int first_unsplit(const gemm_candidate *c, int n) {
    for (int i = 0; i < n; i++)
        if (c[i].splitk <= 1) return i;
    return -1;
}

/* The heuristic's first algorithm for this problem at `rows`: without split-K when cuBLASLt
 * offers one, else its first choice of any kind. */
static seam_status pick_algo(demo_gemm_state *st, const gemm_key *k, int rows, cublasLtMatmulAlgo_t *algo) {
    gemm_candidate c[MAX_CANDIDATES];
    int n = 0;
    SEAM_TRY(gather_candidates(st, k, rows, c, &n));
    int i = first_unsplit(c, n);
    *algo = c[i < 0 ? 0 : i].algo;
    return SEAM_OK;
}

/* ---- autotuning (eager first calls only: it synchronizes) ---------------------------------- */

static int by_value(const void *a, const void *b) {
    float p = *(const float *)a, q = *(const float *)b;
    return (p > q) - (p < q);
}

/* Timed candidates first, fastest first; ties and the untimed in the heuristic's order. */
static int by_time(const void *a, const void *b) {
    const gemm_candidate *p = a, *q = b;
    if ((p->us < 0) != (q->us < 0)) return p->us < 0 ? 1 : -1;
    if (p->us != q->us) return p->us < q->us ? -1 : 1;
    return p->rank - q->rank;
}

/* The median time of algo in microseconds, each call with a cold L2. A forward streams every
 * layer's weights from HBM, so weights left in L2 by the previous call would flatter kernels
 * with little memory parallelism (run B, H200: a split-K kernel of 256 one-warp CTAs timed
 * 16.7 us warm and ran 85 us in the forward). Writing twice the L2 before each call evicts
 * them; the write also keeps the GPU busy while the call is queued, so the events around it
 * time the kernels, not the host's launch cost. The warm-up call loads the kernel's module
 * (lazy loading). */
static seam_status time_algo(demo_gemm_state *st, gemm_descs *g, const cublasLtMatmulAlgo_t *algo, const gemm_io *io,
                             float *us) {
    SEAM_TRY(run_algo(st, g, algo, io, io->y));
    for (int i = 0; i < TIMED_CALLS; i++) {
        SEAM_CUDA_CHECK(cudaMemsetAsync(st->flush, i, st->flush_bytes, io->stream));
        SEAM_CUDA_CHECK(cudaEventRecord(st->events[2 * i], io->stream));
        SEAM_TRY(run_algo(st, g, algo, io, io->y));
        SEAM_CUDA_CHECK(cudaEventRecord(st->events[2 * i + 1], io->stream));
    }
    SEAM_CUDA_CHECK(cudaEventSynchronize(st->events[2 * TIMED_CALLS - 1]));
    float ms[TIMED_CALLS];
    for (int i = 0; i < TIMED_CALLS; i++)
        SEAM_CUDA_CHECK(cudaEventElapsedTime(&ms[i], st->events[2 * i], st->events[2 * i + 1]));
    qsort(ms, TIMED_CALLS, sizeof ms[0], by_value);
    *us = 1000.0f * ms[TIMED_CALLS / 2];
    return SEAM_OK;
}

/* The row count of the probe's second GEMM (3/4 of rows), or 0 where it cannot run: a single
 * row, or no room in the probe buffer. */
static int probe_rows_for(const demo_gemm_state *st, const gemm_key *k, int rows, int64_t y_off) {
    int r2 = rows * 3 / 4;
    size_t need = ((size_t)r2 * (size_t)k->y_ld + (size_t)y_off) * 2;
    return r2 >= 1 && st->probe && need <= st->probe_bytes ? r2 : 0;
}

/* The row-invariance probe of one algorithm: the GEMM at `rows` (g) into y and at r2 rows
 * (g2) into the probe buffer, then the values of the shared rows that differ bit for bit
 * (0: invariant here). Synchronizes. */
static seam_status probe_algo(demo_gemm_state *st, const gemm_key *k, gemm_descs *g, gemm_descs *g2, int r2,
                              const cublasLtMatmulAlgo_t *algo, const gemm_io *io, unsigned long long *differing) {
    uint16_t *py = (uint16_t *)st->probe + io->y_off;
    SEAM_TRY(run_algo(st, g, algo, io, io->y));
    SEAM_TRY(run_algo(st, g2, algo, io, py));
    SEAM_TRY(demo_count_differing(io->y, py, r2, k->y_ld, (int)k->batch, k->y_bstride, (int)k->out, st->probe_count,
                                  (seam_stream)io->stream));
    SEAM_CUDA_CHECK(cudaMemcpyAsync(differing, st->probe_count, sizeof *differing, cudaMemcpyDeviceToHost, io->stream));
    SEAM_CUDA_CHECK(cudaStreamSynchronize(io->stream));
    return SEAM_OK;
}

/* Times every candidate cuBLASLt accepts at `rows` (and at the probe's row count when the
 * probe can run) at `rows` and at rows - 1, and scores it by the slower: one algorithm config
 * can dispatch a different kernel at a row count that is not a multiple of 8 (run C, H200:
 * the split-K choice for out=2048 in=5376 ran 14.5 us at 32 rows and a 16x16-tile kernel of
 * 85 us at the decode batch's 30), and the algorithm is reused at every row count. Sorts c
 * fastest first and sets *win to the one to keep: the fastest that
 * passes the probe; else the fastest without split-K, else the fastest. With nothing timed,
 * c stays in the heuristic's order and *win is its first choice without split-K. */
static seam_status autotune(demo_gemm_state *st, const gemm_key *k, int rows, gemm_candidate *c, int n,
                            const gemm_io *io, int *win) {
    gemm_descs g, g2, g_odd;
    int r2 = probe_rows_for(st, k, rows, io->y_off), timed = 0;
    SEAM_TRY(make_descs(&g, k, rows));
    if (r2) SEAM_TRY(make_descs(&g2, k, r2));
    if (rows > 1) SEAM_TRY(make_descs(&g_odd, k, rows - 1));
    for (int i = 0; i < n; i++) {
        if (!algo_fits(st, &g, &c[i].algo) || (r2 && !algo_fits(st, &g2, &c[i].algo))) continue;
        SEAM_TRY(time_algo(st, &g, &c[i].algo, io, &c[i].us));
        float odd = 0.0f;
        if (rows > 1 && algo_fits(st, &g_odd, &c[i].algo)) SEAM_TRY(time_algo(st, &g_odd, &c[i].algo, io, &odd));
        if (odd > c[i].us) c[i].us = odd;
        timed++;
    }
    qsort(c, (size_t)n, sizeof *c, by_time);
    for (int i = 0; r2 && i < timed; i++) {
        SEAM_TRY(probe_algo(st, k, &g, &g2, r2, &c[i].algo, io, &c[i].differing));
        c[i].probed = 1;
        if (c[i].differing == 0) {
            *win = i;
            return SEAM_OK;
        }
    }
    int u = first_unsplit(c, timed ? timed : n);
    *win = u >= 0 ? u : 0;
    return SEAM_OK;
}

/* Which candidate autotuning kept and its time against the heuristic's first choice without
 * split-K (log level info: SEAM_LOG=info); counted when they differ. */
static seam_status report_tuning(demo_gemm_state *st, const gemm_key *k, int rows, const gemm_candidate *c, int n,
                                 int win, int heuristic_rank) {
    int32_t id = -1;
    size_t written = 0;
    SEAM_CUBLAS_CHECK(cublasLtMatmulAlgoConfigGetAttribute(&c[win].algo, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof id,
                                                           &written));
    char base[64] = "none";
    for (int i = 0; i < n; i++) {
        if (c[i].rank != heuristic_rank) continue;
        if (c[i].us >= 0) snprintf(base, sizeof base, "#%d, %.1f us", c[i].rank, c[i].us);
        else snprintf(base, sizeof base, "#%d, not timed", c[i].rank);
    }
    if (c[win].rank != heuristic_rank) st->autotuned++;
    seam_log(SEAM_LOG_INFO, "demo_gemm: out=%lld in=%lld batch=%lld rows=%d: kept #%d of %d (algo %d, split-K %d, "
             "%s) at %.1f us; the heuristic's first choice without split-K: %s", (long long)k->out, (long long)k->in,
             (long long)k->batch, rows, c[win].rank, n, (int)id, (int)c[win].splitk,
             !c[win].probed ? "unprobed" : c[win].differing ? "not row-invariant" : "row-invariant", c[win].us, base);
    return SEAM_OK;
}

static void mark_fallback(demo_gemm_state *st, gemm_problem *p) {
    if (!p->fallback) st->fallbacks++;
    p->fallback = 1;
}

/* Counts and explains a kept algorithm that is not expected to be row-invariant. */
static void account_choice(demo_gemm_state *st, gemm_problem *p, const gemm_candidate *kept, int rows) {
    const gemm_key *k = &p->key;
    if (kept->probed && kept->differing) {
        seam_log(SEAM_LOG_WARN, "demo_gemm: out=%lld in=%lld batch=%lld: %llu values differ between %d and %d rows: "
                 "this GEMM is not row-invariant", (long long)k->out, (long long)k->in, (long long)k->batch,
                 kept->differing, rows, rows * 3 / 4);
        st->probe_failures++;
    } else if (!kept->probed && kept->splitk > 1) {
        seam_log(SEAM_LOG_WARN, "demo_gemm: out=%lld in=%lld batch=%lld: no usable algorithm without split-K; rows "
                 "may differ between row counts", (long long)k->out, (long long)k->in, (long long)k->batch);
    } else {
        return;
    }
    mark_fallback(st, p);
}

/* A new problem's algorithm: autotuned on an eager call, the heuristic's alone during capture
 * (timing and probing synchronize). */
static seam_status choose_algo(demo_gemm_state *st, gemm_problem *p, int rows, const gemm_io *io) {
    gemm_candidate c[MAX_CANDIDATES];
    int n = 0;
    SEAM_TRY(gather_candidates(st, &p->key, st->max_rows, c, &n));
    int heuristic = first_unsplit(c, n); /* also its rank: c is in the heuristic's order */
    int win = heuristic >= 0 ? heuristic : 0;
    enum cudaStreamCaptureStatus cap = cudaStreamCaptureStatusNone;
    SEAM_CUDA_CHECK(cudaStreamIsCapturing(io->stream, &cap));
    if (cap == cudaStreamCaptureStatusNone) SEAM_TRY(autotune(st, &p->key, rows, c, n, io, &win));
    if (c[win].us >= 0) SEAM_TRY(report_tuning(st, &p->key, rows, c, n, win, heuristic));
    p->algo = c[win].algo;
    account_choice(st, p, &c[win], rows);
    return SEAM_OK;
}

/* The problem with key k. A new one (*fresh = 1) takes the next free slot but counts only
 * once the caller has chosen its algorithm, so a failed choice leaves no entry. */
static seam_status find_problem(demo_gemm_state *st, const gemm_key *k, gemm_problem **out, int *fresh) {
    *fresh = 0;
    for (int i = 0; i < st->num_problems; i++)
        if (memcmp(&st->problems[i].key, k, sizeof *k) == 0) {
            *out = &st->problems[i];
            return SEAM_OK;
        }
    if (st->num_problems == MAX_PROBLEMS)
        return seam_fail(SEAM_ERR_INTERNAL, "demo_gemm", "more than %d distinct GEMM problems", MAX_PROBLEMS);
    gemm_problem *p = &st->problems[st->num_problems];
    memset(p, 0, sizeof *p);
    p->key = *k;
    *out = p;
    *fresh = 1;
    return SEAM_OK;
}

/* D = A^T B for `rows` rows with the problem's algorithm for that row count. */
static seam_status matmul(demo_gemm_state *st, gemm_problem *p, int rows, const gemm_io *io) {
    gemm_descs g;
    SEAM_TRY(make_descs(&g, &p->key, rows));
    if (p->checked_rows != rows) {
        p->checked_ok = algo_fits(st, &g, &p->algo);
        if (!p->checked_ok) {
            SEAM_TRY(pick_algo(st, &p->key, rows, &p->own));
            mark_fallback(st, p);
        }
        p->checked_rows = rows;
    }
    return run_algo(st, &g, p->checked_ok ? &p->algo : &p->own, io, io->y);
}

seam_status demo_gemm_run(const seam_op_call *c, seam_context *ctx, seam_stream stream) {
    (void)ctx;
    demo_gemm_state *st = (demo_gemm_state *)c->op->user_data;
    if (!st) return seam_fail(SEAM_ERR_NO_DEVICE, "demo_gemm", "no cuBLAS state (planned without a GPU)");
    int rows = c->num_tokens;
    if (rows == 0) return SEAM_OK;
    if (rows > st->max_rows)
        return seam_fail(SEAM_ERR_INVALID_ARG, "demo_gemm", "%d rows exceed max_rows=%d", rows, st->max_rows);
    const seam_tensor *x = seam_op_tensor(c, DEMO_GEMM_X), *w = seam_op_tensor(c, DEMO_GEMM_W), *y = seam_op_tensor(c, DEMO_GEMM_Y);
    int64_t y_off = seam_op_int(c, DEMO_GEMM_Y_OFF);
    gemm_io io = {.w = w->data,
                  .x = (const uint16_t *)x->data + seam_op_int(c, DEMO_GEMM_X_OFF),
                  .y = (uint16_t *)y->data + y_off,
                  .y_off = y_off,
                  .stream = (cudaStream_t)stream};
    gemm_key k;
    memset(&k, 0, sizeof k); /* padding bytes take part in the memcmp key */
    problem_shape(c, &k);
    k.align_x = align_of((uintptr_t)io.x, k.x_ld, k.x_bstride);
    k.align_y = align_of((uintptr_t)io.y, k.y_ld, k.y_bstride);
    gemm_problem *p = NULL;
    int fresh = 0;
    SEAM_TRY(find_problem(st, &k, &p, &fresh));
    if (fresh) {
        SEAM_TRY(choose_algo(st, p, rows, &io));
        st->num_problems++;
    }
    return matmul(st, p, rows, &io);
}
