/* demo_gemm: the engine's projection GEMM, a cuBLASLt bf16 matmul registered as a capturable
 * seam op (see demo_ops.h for the semantics).
 *
 * Graph safety. cuBLASLt runs on the stream it is given and needs no allocation when the
 * workspace is ours (one device buffer, allocated at creation, shared by every call: calls
 * are ordered on one stream). Descriptors live on the host stack (the *Init forms), so a call
 * allocates nothing. The algorithm for a problem is looked up on the host (heuristic, then
 * cached) the first time the problem is seen, which seam's build does in its warm-up forward,
 * outside capture; the lookup itself does not touch the stream, so a first call during
 * capture would still be correct.
 *
 * Row invariance. cuBLAS picks kernels by shape; M = 1000 and M = 1024 may get different tile
 * shapes or split-K factors, and then the same row comes out with different rounding. The
 * demo compares an eager forward (every call at the real token count) with replays (calls at
 * the bucket size) bit for bit, so the algorithm is chosen once per problem at the largest
 * row count, restricted to no split-K reduction, and reused for every row count (checked
 * with cublasLtMatmulAlgoCheck; where the check refuses, that row count gets its own
 * heuristic choice and the problem is counted as a fallback, reported by the demo). The
 * first eager call of a problem also probes this directly (probe_rows): a cuBLAS kernel that
 * splits work by the total tile count (stream-K) would change a row's bits with the row count
 * even with one algorithm, and the demo then compares with a tolerance instead. */
#include <stdlib.h>
#include <string.h>

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include "ops/op_args.h"
#include "runtime/cuda_check.h"
#include "tools/demo_ops.h"

#define WORKSPACE_BYTES ((size_t)32 << 20)
#define MAX_PROBLEMS 256

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
    void *probe;                         /* row-invariance probe output, probe_bytes */
    size_t probe_bytes;
    unsigned long long *probe_count;     /* device */
    gemm_problem problems[MAX_PROBLEMS];
};

seam_status demo_gemm_state_create(demo_gemm_state **out, int max_rows, size_t probe_bytes) {
    SEAM_CHECK_PTR(out);
    SEAM_CHECK_ARG(max_rows >= 1, "max_rows=%d is not >= 1", max_rows);
    *out = NULL;
    demo_gemm_state *st = calloc(1, sizeof *st);
    if (!st) return seam_fail(SEAM_ERR_OUT_OF_MEMORY, __func__, "state allocation failed");
    st->max_rows = max_rows;
    seam_status s = SEAM_OK;
    cublasStatus_t b = cublasLtCreate(&st->handle);
    if (b != CUBLAS_STATUS_SUCCESS)
        s = seam_fail_cublas((int)b, "cublasLtCreate(&st->handle)", __FILE__, __LINE__, __func__);
    cudaError_t e = s == SEAM_OK ? cudaMalloc(&st->workspace, WORKSPACE_BYTES) : cudaSuccess;
    if (e == cudaSuccess && s == SEAM_OK && probe_bytes) {
        e = cudaMalloc(&st->probe, probe_bytes);
        if (e == cudaSuccess) e = cudaMalloc((void **)&st->probe_count, sizeof *st->probe_count);
        st->probe_bytes = probe_bytes;
    }
    if (e != cudaSuccess)
        s = seam_fail_cuda((int)e, "cudaMalloc(workspace / probe)", __FILE__, __LINE__, __func__);
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
    void *bufs[3] = {st->workspace, st->probe, st->probe_count};
    for (int i = 0; i < 3; i++) {
        cudaError_t e = bufs[i] ? cudaFree(bufs[i]) : cudaSuccess;
        if (e != cudaSuccess && s == SEAM_OK) s = seam_fail_cuda((int)e, "cudaFree", __FILE__, __LINE__, __func__);
    }
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

/* The heuristic's first algorithm for this problem at `rows`: without split-K when cuBLASLt
 * offers one (*relaxed = 0), else its first choice of any kind (*relaxed = 1: the problem
 * cannot be expected to be row-invariant). */
static seam_status pick_algo(demo_gemm_state *st, const gemm_key *k, int rows, cublasLtMatmulAlgo_t *algo,
                             int *relaxed) {
    gemm_descs g;
    SEAM_TRY(make_descs(&g, k, rows));
    for (int pass = 0; pass < 2; pass++) {
        cublasLtMatmulPreferenceOpaque_t pref;
        uint64_t ws = WORKSPACE_BYTES;
        uint32_t scheme = pass == 0 ? CUBLASLT_REDUCTION_SCHEME_NONE : CUBLASLT_REDUCTION_SCHEME_MASK;
        uint32_t align_a = 256, align_b = (uint32_t)k->align_x, align_d = (uint32_t)k->align_y;
        SEAM_CUBLAS_CHECK(cublasLtMatmulPreferenceInit(&pref));
        SEAM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(&pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
        SEAM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(&pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &scheme, sizeof scheme));
        SEAM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(&pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_a, sizeof align_a));
        SEAM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(&pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_b, sizeof align_b));
        SEAM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(&pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_d, sizeof align_d));
        SEAM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(&pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_d, sizeof align_d));
        cublasLtMatmulHeuristicResult_t res[8];
        int found = 0;
        cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(st->handle, &g.op, &g.a, &g.b, &g.d, &g.d, &pref, 8, res, &found);
        if (hs == CUBLAS_STATUS_NOT_SUPPORTED) found = 0; /* nothing for these preferences */
        else SEAM_CUBLAS_CHECK(hs);
        for (int i = 0; i < found; i++) {
            int32_t splitk = 1;
            size_t written = 0;
            if (res[i].state != CUBLAS_STATUS_SUCCESS) continue;
            SEAM_CUBLAS_CHECK(cublasLtMatmulAlgoConfigGetAttribute(&res[i].algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM,
                                                                   &splitk, sizeof splitk, &written));
            if (pass == 1 || splitk <= 1) {
                *algo = res[i].algo;
                *relaxed = pass;
                return SEAM_OK;
            }
        }
    }
    return seam_fail(SEAM_ERR_UNSUPPORTED, "demo_gemm",
                     "cuBLASLt has no algorithm for out=%lld in=%lld batch=%lld rows=%d (x align %d, y align %d)",
                     (long long)k->out, (long long)k->in, (long long)k->batch, rows, k->align_x, k->align_y);
}

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
    int relaxed = 0;
    SEAM_TRY(pick_algo(st, k, st->max_rows, &p->algo, &relaxed));
    if (relaxed) {
        seam_log(SEAM_LOG_WARN, "demo_gemm: out=%lld in=%lld batch=%lld: no algorithm without split-K; rows may "
                 "differ between row counts", (long long)k->out, (long long)k->in, (long long)k->batch);
        p->fallback = 1;
        st->fallbacks++;
    }
    st->num_problems++;
    *out = p;
    *fresh = 1;
    return SEAM_OK;
}

/* D = A^T B for `rows` rows with the problem's algorithm for that row count. */
static seam_status matmul(demo_gemm_state *st, gemm_problem *p, const gemm_key *k, int rows, const void *w,
                          const void *x, void *y, cudaStream_t stream) {
    gemm_descs g;
    SEAM_TRY(make_descs(&g, k, rows));
    if (p->checked_rows != rows) {
        cublasLtMatmulHeuristicResult_t r;
        cublasStatus_t b = cublasLtMatmulAlgoCheck(st->handle, &g.op, &g.a, &g.b, &g.d, &g.d, &p->algo, &r);
        p->checked_ok = b == CUBLAS_STATUS_SUCCESS && r.workspaceSize <= WORKSPACE_BYTES;
        if (!p->checked_ok) {
            int relaxed = 0;
            SEAM_TRY(pick_algo(st, k, rows, &p->own, &relaxed));
            if (!p->fallback) st->fallbacks++;
            p->fallback = 1;
        }
        p->checked_rows = rows;
    }
    const float alpha = 1.0f, beta = 0.0f;
    SEAM_CUBLAS_CHECK(cublasLtMatmul(st->handle, &g.op, &alpha, w, &g.a, x, &g.b, &beta, y, &g.d, y, &g.d,
                                     p->checked_ok ? &p->algo : &p->own, st->workspace, WORKSPACE_BYTES, stream));
    return SEAM_OK;
}

/* The row-invariance probe of a new problem (eager calls only: it synchronizes): the GEMM
 * at `rows` into y and at 3/4 of the rows into the probe buffer (same layout), then the
 * shared rows compared bit for bit. */
static seam_status probe_rows(demo_gemm_state *st, gemm_problem *p, const gemm_key *k, int rows, const void *w,
                              const void *x, void *y, int64_t y_off, cudaStream_t stream) {
    int r2 = rows * 3 / 4;
    size_t need = ((size_t)r2 * (size_t)k->y_ld + (size_t)y_off) * 2;
    if (r2 < 1 || !st->probe || need > st->probe_bytes) return SEAM_OK;
    enum cudaStreamCaptureStatus cap = cudaStreamCaptureStatusNone;
    SEAM_CUDA_CHECK(cudaStreamIsCapturing(stream, &cap));
    if (cap != cudaStreamCaptureStatusNone) return SEAM_OK;
    uint16_t *py = (uint16_t *)st->probe + y_off;
    SEAM_TRY(matmul(st, p, k, rows, w, x, y, stream));
    SEAM_TRY(matmul(st, p, k, r2, w, x, py, stream));
    SEAM_TRY(demo_count_differing(y, py, r2, k->y_ld, (int)k->batch, k->y_bstride, (int)k->out, st->probe_count,
                                  (seam_stream)stream));
    unsigned long long differing = 0;
    SEAM_CUDA_CHECK(cudaMemcpyAsync(&differing, st->probe_count, sizeof differing, cudaMemcpyDeviceToHost, stream));
    SEAM_CUDA_CHECK(cudaStreamSynchronize(stream));
    if (differing) {
        seam_log(SEAM_LOG_WARN, "demo_gemm: out=%lld in=%lld batch=%lld: %llu values differ between %d and %d rows: "
                 "this GEMM is not row-invariant", (long long)k->out, (long long)k->in, (long long)k->batch,
                 differing, rows, r2);
        if (!p->fallback) st->fallbacks++;
        p->fallback = 1;
        st->probe_failures++;
    }
    return SEAM_OK;
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
    const uint16_t *xp = (const uint16_t *)x->data + seam_op_int(c, DEMO_GEMM_X_OFF);
    uint16_t *yp = (uint16_t *)y->data + seam_op_int(c, DEMO_GEMM_Y_OFF);
    gemm_key k;
    memset(&k, 0, sizeof k); /* padding bytes take part in the memcmp key */
    problem_shape(c, &k);
    k.align_x = align_of((uintptr_t)xp, k.x_ld, k.x_bstride);
    k.align_y = align_of((uintptr_t)yp, k.y_ld, k.y_bstride);
    gemm_problem *p = NULL;
    int fresh = 0;
    SEAM_TRY(find_problem(st, &k, &p, &fresh));
    if (fresh) SEAM_TRY(probe_rows(st, p, &k, rows, w->data, xp, yp, seam_op_int(c, DEMO_GEMM_Y_OFF), (cudaStream_t)stream));
    return matmul(st, p, &k, rows, w->data, xp, yp, (cudaStream_t)stream);
}
