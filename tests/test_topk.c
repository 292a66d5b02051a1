/* Suite kernels: seam_topk (radix and sort backends) against a CPU reference.
 *
 * The reference sorts each row by (value in the documented total order, index) and keeps
 * the first k. Default mode is checked as a set: indices in range and distinct, and the
 * multiset of selected keys equal to the reference's. Deterministic mode must equal the
 * reference exactly. Inputs: random normal rows and the adversarial kinds of the issue
 * (all equal, heavy ties at the threshold, sorted ascending and descending, -inf, NaN,
 * +-0.0, keys that differ only in low bits so every level of the radix select falls back
 * to global memory), lengths 0, 1, k-1, k, k+1, not multiples of any block, 160K, with
 * stride > length, non-zero row starts and +inf written outside every row's valid range (a
 * kernel reading out of range would select it); strides on both sides of the deterministic
 * short-row kernel's cut (8192). Argument errors are checked without a GPU. */
#include <math.h>

#include <cuda_runtime_api.h>

#include "tests/test_util.h"
#include "tests/gpu_util.h"

/* ---- CPU reference --------------------------------------------------------------------- */

static uint32_t ref_key(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0u;
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

typedef struct {
    uint32_t key;
    int idx;
} key_idx;

static int cmp_small(const void *a, const void *b) {
    const key_idx *x = a, *y = b;
    if (x->key != y->key) return x->key > y->key ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static int cmp_large(const void *a, const void *b) {
    const key_idx *x = a, *y = b;
    if (x->key != y->key) return x->key > y->key ? -1 : 1;
    return (x->idx < y->idx) - (x->idx > y->idx);
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_u32_desc(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x < y) - (x > y);
}

static void ref_extent(int stride, const int *lengths, const int *row_starts, int row, int *start,
                       int *len) {
    int s = row_starts ? row_starts[row] : 0;
    s = s < 0 ? 0 : (s > stride ? stride : s);
    int n = lengths[row];
    n = n < 0 ? 0 : (n > stride - s ? stride - s : n);
    *start = s;
    *len = n;
}

/* Deterministic reference for one row: ascending indices of the top k. */
static void ref_row(const float *x, int len, int k, int tie_large, int *out) {
    if (len <= k) {
        for (int j = 0; j < k; j++) out[j] = j < len ? j : -1;
        return;
    }
    key_idx *v = malloc(sizeof *v * (size_t)len);
    assert_non_null(v);
    for (int j = 0; j < len; j++) {
        v[j].key = ref_key(x[j]);
        v[j].idx = j;
    }
    qsort(v, (size_t)len, sizeof *v, tie_large ? cmp_large : cmp_small);
    for (int j = 0; j < k; j++) out[j] = v[j].idx;
    qsort(out, (size_t)k, sizeof *out, cmp_int);
    free(v);
}

static void ref_topk(const float *scores, int rows, int stride, int k, const int *lengths,
                     const int *row_starts, int tie_large, int *out) {
    for (int r = 0; r < rows; r++) {
        int start, len;
        ref_extent(stride, lengths, row_starts, r, &start, &len);
        ref_row(scores + (size_t)r * stride + start, len, k, tie_large, out + (size_t)r * k);
    }
}

/* Default mode: same multiset of selected keys, indices in range and distinct. */
static void check_row_as_set(const float *x, int len, int k, const int *got, const int *ref,
                             int row, const char *what) {
    if (len <= k) {
        for (int j = 0; j < k; j++)
            if (got[j] != ref[j])
                fail_msg("%s: row %d (len %d) col %d: expected %d, got %d", what, row, len, j,
                         ref[j], got[j]);
        return;
    }
    unsigned char *seen = calloc((size_t)len, 1);
    uint32_t *a = malloc(sizeof *a * (size_t)k), *b = malloc(sizeof *b * (size_t)k);
    assert_true(seen && a && b);
    for (int j = 0; j < k; j++) {
        int i = got[j];
        if (i < 0 || i >= len) fail_msg("%s: row %d (len %d) col %d: index %d out of range", what, row, len, j, i);
        if (seen[i]) fail_msg("%s: row %d (len %d) col %d: index %d repeated", what, row, len, j, i);
        seen[i] = 1;
        a[j] = ref_key(x[i]);
        b[j] = ref_key(x[ref[j]]);
    }
    qsort(a, (size_t)k, 4, cmp_u32_desc);
    qsort(b, (size_t)k, 4, cmp_u32_desc);
    for (int j = 0; j < k; j++)
        if (a[j] != b[j])
            fail_msg("%s: row %d (len %d): %d-th largest selected key 0x%08x, reference 0x%08x",
                     what, row, len, j, a[j], b[j]);
    free(seen);
    free(a);
    free(b);
}

static void check_exact(const int *got, const int *ref, int rows, int k, const int *lens,
                        const char *what) {
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < k; j++)
            if (got[(size_t)r * k + j] != ref[(size_t)r * k + j])
                fail_msg("%s: row %d (len %d) col %d: expected %d, got %d", what, r,
                         lens ? lens[r] : -1, j, ref[(size_t)r * k + j], got[(size_t)r * k + j]);
}


/* ---- inputs ---------------------------------------------------------------------------- */

typedef enum {
    GEN_NORMAL,
    GEN_ALL_EQUAL,
    GEN_TIES,       /* 8 distinct values: the threshold falls inside a huge tie */
    GEN_ASCENDING,
    GEN_DESCENDING,
    GEN_SPECIALS,   /* -inf, +inf, NaN, +-0.0 among normals */
    GEN_NARROW,     /* uniform in [1, 1 + 1/8): one top-12-bit bin, level-1 candidates */
    GEN_LOW_BITS,   /* 40 values differing in mantissa bits 3..8: every level global */
    GEN_EXACT_BIN,  /* 2048 distinct values spread over the row in one top-12-bit bin, the
                       rest below it: at k = 2048 that bin is taken whole at level 0, so
                       the candidate levels stop before level 1 */
    GEN_COUNT
} gen_kind;

static const char *const gen_names[GEN_COUNT] = {"normal", "all-equal", "ties", "ascending",
                                                 "descending", "specials", "narrow", "low-bits",
                                                 "exact-bin"};

static float rng_normal(seam_test_rng *r) {
    double u1 = ((double)(seam_test_next(r) >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (double)(seam_test_next(r) >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static void fill_row(seam_test_rng *r, gen_kind g, float *x, int len) {
    for (int j = 0; j < len; j++) {
        float v = 0.0f;
        switch (g) {
        case GEN_NORMAL: v = rng_normal(r); break;
        case GEN_ALL_EQUAL: v = 1.5f; break;
        case GEN_TIES: v = (float)seam_test_int(r, 0, 7) * 0.25f; break;
        case GEN_ASCENDING: v = (float)j * 0.5f; break;
        case GEN_DESCENDING: v = -(float)j * 0.5f; break;
        case GEN_SPECIALS: {
            int c = seam_test_int(r, 0, 9);
            v = c == 0 ? -INFINITY : c == 1 ? INFINITY : c == 2 ? NAN : c == 3 ? -NAN
              : c == 4 ? 0.0f : c == 5 ? -0.0f : rng_normal(r);
            break;
        }
        case GEN_NARROW: v = 1.0f + (float)(seam_test_next(r) % 1048576) / 8388608.0f; break;
        case GEN_LOW_BITS: v = 1.0f + (float)seam_test_int(r, 0, 39) * 8.0f / 8388608.0f; break;
        case GEN_EXACT_BIN: {
            const int every = len >= 2048 ? len / 2048 : 1;
            if (j % every == 0 && j / every < 2048) v = 1.0f + (float)(j / every) / 16384.0f;
            else v = fminf(rng_normal(r) * 0.25f, 0.99f);
            break;
        }
        default: break;
        }
        x[j] = v;
    }
}

/* A batch on host and device: rows of given kinds and lengths at random row starts, +inf
 * everywhere outside the valid ranges. */
typedef struct {
    int rows, stride;
    float *h_scores;
    int *h_lengths, *h_starts;
    float *d_scores;
    int *d_lengths, *d_starts;
} batch;

static void batch_alloc(batch *b, int rows, int stride) {
    memset(b, 0, sizeof *b);
    b->rows = rows;
    b->stride = stride;
    b->h_scores = malloc(sizeof(float) * (size_t)rows * stride);
    b->h_lengths = calloc((size_t)rows, sizeof(int));
    b->h_starts = calloc((size_t)rows, sizeof(int));
    assert_true(b->h_scores && b->h_lengths && b->h_starts);
    CUDA_OK(cudaMalloc((void **)&b->d_scores, sizeof(float) * (size_t)rows * stride));
    CUDA_OK(cudaMalloc((void **)&b->d_lengths, sizeof(int) * (size_t)rows));
    CUDA_OK(cudaMalloc((void **)&b->d_starts, sizeof(int) * (size_t)rows));
}

static void batch_fill(batch *b, seam_test_rng *r, const gen_kind *kinds, const int *lens) {
    for (size_t i = 0; i < (size_t)b->rows * b->stride; i++) b->h_scores[i] = INFINITY;
    for (int row = 0; row < b->rows; row++) {
        int len = lens[row] < b->stride ? lens[row] : b->stride;
        int start = seam_test_int(r, 0, b->stride - len);
        b->h_lengths[row] = len;
        b->h_starts[row] = start;
        fill_row(r, kinds[row], b->h_scores + (size_t)row * b->stride + start, len);
    }
}

static void batch_upload(batch *b) {
    CUDA_OK(cudaMemcpy(b->d_scores, b->h_scores, sizeof(float) * (size_t)b->rows * b->stride,
                       cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(b->d_lengths, b->h_lengths, sizeof(int) * (size_t)b->rows, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(b->d_starts, b->h_starts, sizeof(int) * (size_t)b->rows, cudaMemcpyHostToDevice));
}

static void batch_free(batch *b) {
    free(b->h_scores);
    free(b->h_lengths);
    free(b->h_starts);
    cudaFree(b->d_scores);
    cudaFree(b->d_lengths);
    cudaFree(b->d_starts);
}

typedef struct {
    seam_topk_backend backend;
    int deterministic;
    seam_topk_tie_break tie;
    const char *name;
} mode;

static const mode modes[] = {
    {SEAM_TOPK_RADIX, 0, SEAM_TIE_BREAK_NONE, "radix default"},
    {SEAM_TOPK_RADIX, 1, SEAM_TIE_BREAK_NONE, "radix deterministic"},
    {SEAM_TOPK_RADIX, 1, SEAM_TIE_BREAK_LARGE, "radix tie-large"},
    {SEAM_TOPK_SORT, 0, SEAM_TIE_BREAK_NONE, "sort default"},
    {SEAM_TOPK_SORT, 1, SEAM_TIE_BREAK_SMALL, "sort tie-small"},
    {SEAM_TOPK_SORT, 1, SEAM_TIE_BREAK_LARGE, "sort tie-large"},
};

/* Workspace sized for this call, grown as needed. */
static void *ws_ptr;
static size_t ws_bytes;

static seam_topk_params params_for(const batch *b, int k, const mode *m, int32_t *d_out) {
    seam_topk_params p = SEAM_TOPK_PARAMS_INITIALIZER;
    p.rows = b->rows;
    p.stride = b->stride;
    p.k = k;
    p.scores = b->d_scores;
    p.lengths = b->d_lengths;
    p.row_starts = b->d_starts;
    p.out = d_out;
    p.backend = m->backend;
    p.deterministic = m->deterministic;
    p.tie_break = m->tie;
    size_t need = 0;
    SEAM_ASSERT_OK(seam_topk_workspace_size(b->rows, b->stride, k, m->backend, &need));
    if (need > ws_bytes) {
        cudaFree(ws_ptr);
        CUDA_OK(cudaMalloc(&ws_ptr, need));
        ws_bytes = need;
    }
    p.workspace = ws_ptr;
    p.workspace_bytes = ws_bytes;
    return p;
}

static int is_deterministic(const mode *m) { return m->deterministic || m->tie != SEAM_TIE_BREAK_NONE; }

/* Run one mode on a batch and check every row against the reference. */
static void run_and_check(const batch *b, int k, const mode *m, int32_t *d_out, int *h_out,
                          int *ref_small, int *ref_large) {
    seam_topk_params p = params_for(b, k, m, d_out);
    CUDA_OK(cudaMemset(d_out, 0x7f, sizeof(int) * (size_t)b->rows * k));
    SEAM_ASSERT_OK(seam_topk(&p, NULL));
    CUDA_OK(cudaDeviceSynchronize());
    CUDA_OK(cudaMemcpy(h_out, d_out, sizeof(int) * (size_t)b->rows * k, cudaMemcpyDeviceToHost));
    char what[96];
    snprintf(what, sizeof what, "%s k=%d", m->name, k);
    if (is_deterministic(m)) {
        check_exact(h_out, m->tie == SEAM_TIE_BREAK_LARGE ? ref_large : ref_small, b->rows, k,
                    b->h_lengths, what);
    } else {
        for (int r = 0; r < b->rows; r++) {
            int start, len;
            ref_extent(b->stride, b->h_lengths, b->h_starts, r, &start, &len);
            check_row_as_set(b->h_scores + (size_t)r * b->stride + start, len, k,
                             h_out + (size_t)r * k, ref_small + (size_t)r * k, r, what);
        }
    }
}

/* Run modes [first, nmodes) on an uploaded batch, each against the CPU reference. */
static void check_modes(const batch *b, int k, size_t first, size_t nmodes) {
    const size_t n = (size_t)b->rows * k;
    int *ref_small = malloc(sizeof(int) * n), *ref_large = malloc(sizeof(int) * n);
    int *h_out = malloc(sizeof(int) * n);
    int32_t *d_out;
    CUDA_OK(cudaMalloc((void **)&d_out, sizeof(int) * n));
    ref_topk(b->h_scores, b->rows, b->stride, k, b->h_lengths, b->h_starts, 0, ref_small);
    ref_topk(b->h_scores, b->rows, b->stride, k, b->h_lengths, b->h_starts, 1, ref_large);
    for (size_t mi = first; mi < nmodes; mi++) {
        run_and_check(b, k, &modes[mi], d_out, h_out, ref_small, ref_large);
        printf("# %d rows, k=%d: %s ok\n", b->rows, k, modes[mi].name);
        fflush(stdout); /* a sanitizer run cut off by its time limit shows how far it got */
    }
    cudaFree(d_out);
    free(ref_small);
    free(ref_large);
    free(h_out);
}

/* ---- argument errors (no GPU needed) ----------------------------------------------------- */

static void test_topk_rejects_bad_arguments(void **state) {
    (void)state;
    int32_t dummy[4];
    seam_topk_params p = SEAM_TOPK_PARAMS_INITIALIZER;
    p.rows = 1;
    p.stride = 8;
    p.k = 4;
    p.scores = (const float *)dummy;
    p.lengths = dummy;
    p.out = dummy;
    seam_topk_params q;

    SEAM_ASSERT_FAILS(seam_topk(NULL, NULL), SEAM_ERR_INVALID_ARG, "seam_topk: params is NULL");
    q = p, q.k = 4096;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG,
                      "seam_topk: k=4096 exceeds SEAM_TOPK_MAX_K=2048");
    q = p, q.k = 0;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG, "k=0 must be at least 1");
    q = p, q.rows = -1;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG, "rows=-1 is negative");
    q = p, q.stride = 0;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG, "stride=0");
    q = p, q.struct_size = 8;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG, "struct_size=8");
    q = p, q.scores = NULL;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG, "scores is NULL");
    q = p, q.lengths = NULL;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG, "lengths is NULL");
    q = p, q.out = NULL;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG, "out is NULL");
    q = p, q.backend = (seam_topk_backend)7;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG, "backend=7");
    q = p, q.deterministic = 2;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG, "deterministic=2");
    q = p, q.tie_break = (seam_topk_tie_break)5;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG, "tie_break=5");
    q = p, q.transform = (seam_topk_transform)3;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG, "transform=3");
    q = p, q.transform = SEAM_TOPK_TRANSFORM_PAGED, q.row_to_req = dummy, q.page_table_stride = 8;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG, "needs page_table");
    q = p, q.transform = SEAM_TOPK_TRANSFORM_PAGED, q.page_table = dummy, q.page_table_stride = 8;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG, "needs row_to_req");
    q = p, q.transform = SEAM_TOPK_TRANSFORM_PAGED, q.page_table = dummy, q.row_to_req = dummy;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG, "page_table_stride=0");
    q = p, q.transform = SEAM_TOPK_TRANSFORM_RAGGED;
    SEAM_ASSERT_FAILS(seam_topk(&q, NULL), SEAM_ERR_INVALID_ARG, "needs offsets");

    size_t bytes = 1;
    SEAM_ASSERT_OK(seam_topk_workspace_size(64, 163840, 2048, SEAM_TOPK_RADIX, &bytes));
    assert_int_equal(bytes, 0);
    SEAM_ASSERT_FAILS(seam_topk_workspace_size(1, 8, 2049, SEAM_TOPK_RADIX, &bytes),
                      SEAM_ERR_INVALID_ARG, "k=2049 exceeds SEAM_TOPK_MAX_K=2048");
    SEAM_ASSERT_FAILS(seam_topk_workspace_size(1, 8, 4, SEAM_TOPK_RADIX, NULL),
                      SEAM_ERR_INVALID_ARG, "bytes is NULL");
    SEAM_ASSERT_FAILS(seam_topk_workspace_size(1, 8, 4, (seam_topk_backend)3, &bytes),
                      SEAM_ERR_INVALID_ARG, "backend=3");
    SEAM_ASSERT_FAILS(seam_topk_workspace_size(65536, 65536, 4, SEAM_TOPK_SORT, &bytes),
                      SEAM_ERR_INVALID_ARG, "sort backend's limit");
    /* Zero rows is a valid empty call: nothing is launched. */
    q = p, q.rows = 0;
    SEAM_ASSERT_OK(seam_topk(&q, NULL));
}

static void test_topk_op_is_registered_capturable_and_checks_shapes(void **state) {
    (void)state;
    seam_registry *reg = NULL;
    SEAM_ASSERT_OK(seam_registry_create(&reg));
    const seam_op *op = NULL;
    SEAM_ASSERT_OK(seam_registry_find(reg, "topk", &op));
    assert_true(seam_op_is_capturable(op, 0));
    assert_true(op->mutates == (1u << 3));

    int32_t dummy[16];
    int64_t s_shape[2] = {4, 100}, l_shape[1] = {4}, o_shape[2] = {4, 8}, bad_o[2] = {4, 9};
    seam_op_call call;
    memset(&call, 0, sizeof call);
    call.op = op;
    call.num_args = 9;
    call.num_tokens = 4;
    call.args[0] = seam_arg_tensor(seam_tensor_contiguous(dummy, SEAM_DTYPE_F32, 2, s_shape, 0));
    call.args[1] = seam_arg_tensor(seam_tensor_contiguous(dummy, SEAM_DTYPE_I32, 1, l_shape, 0));
    call.args[2] = seam_arg_none();
    call.args[3] = seam_arg_tensor(seam_tensor_contiguous(dummy, SEAM_DTYPE_I32, 2, o_shape, 0));
    call.args[4] = seam_arg_int(8);
    call.args[5] = seam_arg_int(SEAM_TOPK_TRANSFORM_NONE);
    call.args[6] = seam_arg_none();
    call.args[7] = seam_arg_none();
    call.args[8] = seam_arg_none();
    SEAM_ASSERT_OK(seam_op_call_check(&call));

    seam_op_call c = call;
    c.args[3] = seam_arg_tensor(seam_tensor_contiguous(dummy, SEAM_DTYPE_I32, 2, bad_o, 0));
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "out: shape[1]=9, expected 8");
    c = call;
    c.args[4] = seam_arg_int(4096);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "k=4096 is not in [1, 2048]");
    c = call;
    c.args[5] = seam_arg_int(SEAM_TOPK_TRANSFORM_PAGED);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG,
                      "transform=PAGED needs page_table");
    c = call;
    c.args[5] = seam_arg_int(SEAM_TOPK_TRANSFORM_RAGGED);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "transform=RAGGED needs offsets");
    c = call;
    c.args[0] = seam_arg_tensor(seam_tensor_contiguous(dummy, SEAM_DTYPE_BF16, 2, s_shape, 0));
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "scores: dtype bf16, expected f32");
    seam_registry_destroy(reg);
}

/* ---- GPU: every mode against the reference ----------------------------------------------- */

/* Rows of one test batch for a given k: every adversarial kind at the lengths of the
 * issue, and 160K-column rows of the kinds that stress the exactness fallback. */
static int make_rows(int k, gen_kind *kinds, int *lens, int cap) {
    const int lengths[] = {0, 1, k - 1, k, k + 1, 2 * k + 17, 5003, 12345, 40007};
    int n = 0;
    for (int li = 0; li < (int)(sizeof lengths / sizeof lengths[0]); li++)
        for (int g = 0; g < GEN_COUNT; g++) {
            if (lengths[li] <= k + 1 && g % 3 != li % 3) continue; /* short rows: a few kinds */
            if (n < cap) kinds[n] = (gen_kind)g, lens[n] = lengths[li], n++;
        }
    const gen_kind big[] = {GEN_NORMAL,   GEN_ALL_EQUAL,  GEN_TIES,     GEN_LOW_BITS,
                            GEN_NARROW,   GEN_ASCENDING,  GEN_DESCENDING, GEN_EXACT_BIN};
    const int nbig = seam_test_under_sanitizer() ? 2 : (int)(sizeof big / sizeof big[0]);
    for (int i = 0; i < nbig; i++)
        if (n < cap) kinds[n] = big[i], lens[n] = 160000, n++;
    return n;
}

/* One k per test, so compute-sanitizer can take each alone within its time limit. */
static void adversarial_rows_match_reference(int k, const char *test_name) {
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(test_name);
    /* Under a sanitizer the CUB sort modes (the second opinion, CUB's own kernels) are left
     * out here: they are sanitized on the smaller batches of the fused-transform test. */
    const size_t nmodes = seam_test_under_sanitizer() ? 3 : sizeof modes / sizeof modes[0];
    gen_kind kinds[256];
    int lens[256];
    int rows = make_rows(k, kinds, lens, 160);
    /* Few rows split each row over a cluster; for k = 2048 pad the batch with short rows
     * until every row gets one CTA, so both launch shapes see every kind. 256 rows: default
     * mode runs its own kernel there (below 256 long rows it runs the deterministic one,
     * seam_topk_radix_run), so its single-read and exact-fallback paths are covered too. */
    for (int pass = 0; pass < (k == 2048 ? 2 : 1); pass++) {
        if (pass == 1)
            for (; rows < 256; rows++)
                kinds[rows] = (gen_kind)(rows % GEN_COUNT), lens[rows] = seam_test_int(&rng, 0, 3 * k);
        batch b;
        batch_alloc(&b, rows, 160000 + 77);
        batch_fill(&b, &rng, kinds, lens);
        batch_upload(&b);
        /* Split rows run default mode on the deterministic kernel: under a sanitizer the
         * next mode covers that launch. */
        check_modes(&b, k, pass == 0 && seam_test_under_sanitizer() ? 1 : 0, nmodes);
        batch_free(&b);
    }
    printf("# k=%d kinds:", k);
    for (int g = 0; g < GEN_COUNT; g++) printf(" %s", gen_names[g]);
    printf("\n");
}

static void test_topk_adversarial_rows_k512(void **state) {
    (void)state;
    adversarial_rows_match_reference(512, __func__);
}

static void test_topk_adversarial_rows_k1024(void **state) {
    (void)state;
    adversarial_rows_match_reference(1024, __func__);
}

static void test_topk_adversarial_rows_k2048(void **state) {
    (void)state;
    adversarial_rows_match_reference(2048, __func__);
}

/* Few long rows take the split-row (cluster) path; check it on its own shapes too. */
static void test_topk_split_rows_match_reference(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    const int k = 2048;
    /* The cluster size follows rows and stride only; on an H100 these counts run clusters of
     * 16, 16, 12, 4 and 2 CTAs. Under a sanitizer the other rows stay short: the launch
     * shape is the same, the host reference much cheaper. */
    const int row_counts[] = {1, 4, 16, 32, 64};
    for (int ri = 0; ri < 5; ri++) {
        int rows = row_counts[ri];
        gen_kind kinds[64];
        int lens[64];
        for (int r = 0; r < rows; r++) {
            kinds[r] = (gen_kind)((r + ri) % GEN_COUNT);
            lens[r] = r == 0 ? 131072 : seam_test_int(&rng, 1, seam_test_under_sanitizer() ? 16384 : 163840);
        }
        batch b;
        batch_alloc(&b, rows, 163840);
        batch_fill(&b, &rng, kinds, lens);
        batch_upload(&b);
        check_modes(&b, k, seam_test_under_sanitizer() ? 1 : 0, 3); /* as in adversarial_rows_... */
        batch_free(&b);
    }
}

/* Rows longer than the deterministic bitmaps (one CTA per row, > 160K columns) are written
 * in windows after the threshold is known: check them, and the other modes, on such rows. */
static void test_topk_rows_longer_than_bitmaps_match_reference(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    const int k = 1024, rows = 140, stride = 200003;
    gen_kind kinds[140];
    int lens[140];
    for (int r = 0; r < rows; r++) kinds[r] = (gen_kind)(r % GEN_COUNT), lens[r] = seam_test_int(&rng, 0, 3000);
    const gen_kind big[] = {GEN_NORMAL, GEN_TIES, GEN_ALL_EQUAL, GEN_LOW_BITS};
    for (int i = 0; i < (seam_test_under_sanitizer() ? 2 : 4); i++)
        kinds[10 + 31 * i] = big[i], lens[10 + 31 * i] = stride - i * 1001;
    batch b;
    batch_alloc(&b, rows, stride);
    batch_fill(&b, &rng, kinds, lens);
    batch_upload(&b);
    check_modes(&b, k, 0, 3);
    batch_free(&b);
}

/* Row 37 of a batch of rows rows (the others of every kind, each a little shorter), stride
 * batch_stride, computed again alone (stride alone_stride, start 999): equal to the
 * reference, and the two bitwise equal. */
static void check_row_alone_equals_row_in_batch(seam_test_rng *rng, const mode *m, int k, int len,
                                                gen_kind probe, int rows, int batch_stride,
                                                int alone_stride) {
    gen_kind kinds[160];
    int lens[160];
    for (int r = 0; r < rows; r++) kinds[r] = (gen_kind)(r % GEN_COUNT), lens[r] = len - r * 13;
    kinds[37] = probe;
    lens[37] = len;
    batch big;
    batch_alloc(&big, rows, batch_stride);
    batch_fill(&big, rng, kinds, lens);
    batch_upload(&big);
    batch one;
    batch_alloc(&one, 1, alone_stride);
    for (int i = 0; i < one.stride; i++) one.h_scores[i] = INFINITY;
    one.h_lengths[0] = len;
    one.h_starts[0] = 999;
    memcpy(one.h_scores + 999, big.h_scores + (size_t)37 * big.stride + big.h_starts[37],
           sizeof(float) * len);
    batch_upload(&one);
    int32_t *d_big, *d_one;
    CUDA_OK(cudaMalloc((void **)&d_big, sizeof(int) * (size_t)rows * k));
    CUDA_OK(cudaMalloc((void **)&d_one, sizeof(int) * (size_t)k));
    seam_topk_params p = params_for(&big, k, m, d_big);
    SEAM_ASSERT_OK(seam_topk(&p, NULL));
    p = params_for(&one, k, m, d_one);
    SEAM_ASSERT_OK(seam_topk(&p, NULL));
    CUDA_OK(cudaDeviceSynchronize());
    int *h_big = malloc(sizeof(int) * (size_t)rows * k), *h_one = malloc(sizeof(int) * k);
    int *ref = malloc(sizeof(int) * k);
    CUDA_OK(cudaMemcpy(h_big, d_big, sizeof(int) * (size_t)rows * k, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(h_one, d_one, sizeof(int) * k, cudaMemcpyDeviceToHost));
    ref_row(one.h_scores + 999, len, k, m->tie == SEAM_TIE_BREAK_LARGE, ref);
    check_exact(h_one, ref, 1, k, &len, "row alone");
    if (memcmp(h_one, h_big + (size_t)37 * k, sizeof(int) * k) != 0)
        check_exact(h_big + (size_t)37 * k, h_one, 1, k, &len, "row in batch vs alone");
    free(h_big);
    free(h_one);
    free(ref);
    cudaFree(d_big);
    cudaFree(d_one);
    batch_free(&big);
    batch_free(&one);
}

/* Deterministic output is a function of the row alone: the same row computed alone (own
 * stride, other start, split over 16 CTAs) and inside a 64-row batch (2 CTAs a row) or a
 * 160-row batch (one CTA a row) is bitwise equal. */
static void test_topk_deterministic_row_alone_equals_row_in_batch(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    const gen_kind probe_kinds[] = {GEN_NORMAL, GEN_TIES, GEN_LOW_BITS};
    for (int pi = 0; pi < 3; pi++) {
        for (int tl = 0; tl < 2; tl++) {
            /* 64 rows: rows split in pairs; 160 rows: one CTA per row (single-read path). */
            const int rows = pi == 0 && tl == 0 ? 160 : 64;
            check_row_alone_equals_row_in_batch(&rng, &modes[tl ? 2 : 1], 2048, 100003,
                                                probe_kinds[pi], rows, 131072, 163840);
        }
    }
}

/* Fused PAGED/RAGGED output equals the unfused output gathered on the CPU (rows of the given
 * stride, deterministic modes). */
static void fused_transforms_equal_unfused_plus_gather(int stride, const char *seed) {
    seam_test_rng rng = seam_test_rng_make(seed);
    const int k = 1024, rows = 12, reqs = 5, pt_stride = stride + 2;
    gen_kind kinds[12];
    int lens[12];
    for (int r = 0; r < rows; r++) {
        kinds[r] = r % 2 ? GEN_NORMAL : GEN_TIES;
        lens[r] = r == 0 ? 0 : r == 1 ? k - 1 : seam_test_int(&rng, k, stride);
    }
    batch b;
    batch_alloc(&b, rows, stride);
    batch_fill(&b, &rng, kinds, lens);
    batch_upload(&b);
    int *h_pt = malloc(sizeof(int) * (size_t)reqs * pt_stride);
    int h_r2r[12], h_off[12];
    for (size_t i = 0; i < (size_t)reqs * pt_stride; i++) h_pt[i] = (int)(i * 7 + 3) % 1000003;
    for (int r = 0; r < rows; r++) h_r2r[r] = seam_test_int(&rng, 0, reqs - 1), h_off[r] = seam_test_int(&rng, 0, 1 << 20);
    int32_t *d_pt, *d_r2r, *d_off, *d_plain, *d_fused;
    CUDA_OK(cudaMalloc((void **)&d_pt, sizeof(int) * (size_t)reqs * pt_stride));
    CUDA_OK(cudaMalloc((void **)&d_r2r, sizeof h_r2r));
    CUDA_OK(cudaMalloc((void **)&d_off, sizeof h_off));
    CUDA_OK(cudaMalloc((void **)&d_plain, sizeof(int) * (size_t)rows * k));
    CUDA_OK(cudaMalloc((void **)&d_fused, sizeof(int) * (size_t)rows * k));
    CUDA_OK(cudaMemcpy(d_pt, h_pt, sizeof(int) * (size_t)reqs * pt_stride, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(d_r2r, h_r2r, sizeof h_r2r, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(d_off, h_off, sizeof h_off, cudaMemcpyHostToDevice));
    int *plain = malloc(sizeof(int) * (size_t)rows * k), *fused = malloc(sizeof(int) * (size_t)rows * k);
    const int det_modes[] = {1, 4, 2, 5};
    /* Under a sanitizer (racecheck runs the long rows of the callers ~1000x slower) one radix
     * and one sort mode; the full set otherwise. */
    for (int mi = 0; mi < (seam_test_under_sanitizer() ? 2 : 4); mi++) {
        const mode *m = &modes[det_modes[mi]];
        seam_topk_params plain_p = params_for(&b, k, m, d_plain);
        SEAM_ASSERT_OK(seam_topk(&plain_p, NULL));
        CUDA_OK(cudaMemcpy(plain, d_plain, sizeof(int) * (size_t)rows * k, cudaMemcpyDeviceToHost));
        for (int t = SEAM_TOPK_TRANSFORM_PAGED; t <= SEAM_TOPK_TRANSFORM_RAGGED; t++) {
            seam_topk_params p = plain_p;
            p.out = d_fused;
            p.transform = (seam_topk_transform)t;
            p.page_table = d_pt;
            p.page_table_stride = pt_stride;
            p.row_to_req = d_r2r;
            p.offsets = d_off;
            SEAM_ASSERT_OK(seam_topk(&p, NULL));
            CUDA_OK(cudaDeviceSynchronize());
            CUDA_OK(cudaMemcpy(fused, d_fused, sizeof(int) * (size_t)rows * k, cudaMemcpyDeviceToHost));
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < k; j++) {
                    int idx = plain[(size_t)r * k + j], want = idx;
                    if (idx >= 0)
                        want = t == SEAM_TOPK_TRANSFORM_PAGED ? h_pt[(size_t)h_r2r[r] * pt_stride + idx]
                                                              : idx + h_off[r];
                    if (fused[(size_t)r * k + j] != want)
                        fail_msg("%s transform %d: row %d col %d: expected %d (index %d), got %d",
                                 m->name, t, r, j, want, idx, fused[(size_t)r * k + j]);
                }
        }
    }
    /* The device-side page-table stride (the context's per-batch stride) is used when given. */
    {
        int32_t *d_pts;
        CUDA_OK(cudaMalloc((void **)&d_pts, sizeof(int)));
        CUDA_OK(cudaMemcpy(d_pts, &pt_stride, sizeof(int), cudaMemcpyHostToDevice));
        seam_topk_params p = params_for(&b, k, &modes[1], d_plain);
        SEAM_ASSERT_OK(seam_topk(&p, NULL));
        p.out = d_fused;
        p.transform = SEAM_TOPK_TRANSFORM_PAGED;
        p.page_table = d_pt;
        p.page_table_stride = 0;
        p.page_table_stride_device = d_pts;
        p.row_to_req = d_r2r;
        SEAM_ASSERT_OK(seam_topk(&p, NULL));
        CUDA_OK(cudaDeviceSynchronize());
        CUDA_OK(cudaMemcpy(plain, d_plain, sizeof(int) * (size_t)rows * k, cudaMemcpyDeviceToHost));
        CUDA_OK(cudaMemcpy(fused, d_fused, sizeof(int) * (size_t)rows * k, cudaMemcpyDeviceToHost));
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < k; j++) {
                int idx = plain[(size_t)r * k + j];
                int want = idx >= 0 ? h_pt[(size_t)h_r2r[r] * pt_stride + idx] : -1;
                if (fused[(size_t)r * k + j] != want)
                    fail_msg("device stride: row %d col %d: expected %d, got %d", r, j, want,
                             fused[(size_t)r * k + j]);
            }
        cudaFree(d_pts);
    }
    free(plain);
    free(fused);
    free(h_pt);
    cudaFree(d_pt);
    cudaFree(d_r2r);
    cudaFree(d_off);
    cudaFree(d_plain);
    cudaFree(d_fused);
    batch_free(&b);
}

static void test_topk_fused_transforms_equal_unfused_plus_gather(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    fused_transforms_equal_unfused_plus_gather(70001, __func__);
}

/* Deterministic rows whose stride fits the candidate buffer (8192) run the short-row kernel
 * (output staged in shared memory), longer strides the general one: strides on both sides of
 * that cut and around k, every kind at lengths 0, 1, k-1, k, k+1, the stride and random,
 * both tie rules, exactly against the reference. Then a row of a 64-row batch of stride 8192
 * (short-row kernel) against the same row alone at stride 9001 (general kernel), bitwise,
 * and the fused transforms on short rows. */
static void test_topk_short_stride_rows_match_reference(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    const int ks[] = {512, 1024, 2048};
    const int strides[] = {2047, 2048, 2049, 4096, 8191, 8192, 8193};
    /* Under a sanitizer: k = 2048 on the strides at the cut only. */
    const int sanitized = seam_test_under_sanitizer();
    for (int ki = sanitized ? 2 : 0; ki < 3; ki++) {
        for (int si = sanitized ? 4 : 0; si < 7; si++) {
            const int k = ks[ki], stride = strides[si];
            const int lengths[] = {0, 1, k - 1, k, k + 1, stride, -1 /* random */};
            enum { NLEN = sizeof lengths / sizeof lengths[0] };
            gen_kind kinds[NLEN * GEN_COUNT];
            int lens[NLEN * GEN_COUNT], rows = 0;
            for (int li = 0; li < NLEN; li++)
                for (int g = 0; g < GEN_COUNT; g++, rows++) {
                    kinds[rows] = (gen_kind)g;
                    lens[rows] = lengths[li] >= 0 ? lengths[li] : seam_test_int(&rng, 0, stride);
                }
            batch b;
            batch_alloc(&b, rows, stride);
            batch_fill(&b, &rng, kinds, lens);
            batch_upload(&b);
            check_modes(&b, k, 1, 3); /* the deterministic radix modes */
            batch_free(&b);
        }
    }
    const gen_kind probe_kinds[] = {GEN_NORMAL, GEN_TIES, GEN_SPECIALS};
    for (int pi = 0; pi < 3; pi++)
        for (int tl = 0; tl < 2; tl++)
            check_row_alone_equals_row_in_batch(&rng, &modes[tl ? 2 : 1], 2048, 8000,
                                                probe_kinds[pi], 64, 8192, 9001);
    fused_transforms_equal_unfused_plus_gather(8192, __func__);
}

/* Capture each variant in a CUDA graph, then replay it with new scores, lengths and row
 * starts written into the same buffers; every replay must match the reference (and, in
 * deterministic mode, the eager run bitwise). split: the rows are split over clusters, where
 * default mode runs the deterministic kernel (the same instantiation as the next mode), so a
 * sanitizer, which runs split rows ~1000x slower, skips it there. */
static void graph_replays_see_new_inputs(int rows, int stride, int k, int split,
                                         const char *test_name) {
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(test_name);
    batch b;
    batch_alloc(&b, rows, stride);
    int32_t *d_out;
    CUDA_OK(cudaMalloc((void **)&d_out, sizeof(int) * (size_t)rows * k));
    int *h_out = malloc(sizeof(int) * (size_t)rows * k), *h_eager = malloc(sizeof(int) * (size_t)rows * k);
    int *ref_small = malloc(sizeof(int) * (size_t)rows * k), *ref_large = malloc(sizeof(int) * (size_t)rows * k);
    cudaStream_t stream;
    CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    /* Under a sanitizer: the radix modes and two replays each (one on split rows); everything
     * otherwise. */
    const size_t nmodes = seam_test_under_sanitizer() ? 3 : sizeof modes / sizeof modes[0];
    const int replays = !seam_test_under_sanitizer() ? 4 : split ? 1 : 2;
    for (size_t mi = seam_test_under_sanitizer() && split ? 1 : 0; mi < nmodes; mi++) {
        const mode *m = &modes[mi];
        gen_kind kinds[160];
        int lens[160];
        for (int r = 0; r < rows; r++) kinds[r] = GEN_NORMAL, lens[r] = stride;
        batch_fill(&b, &rng, kinds, lens);
        batch_upload(&b);
        seam_topk_params p = params_for(&b, k, m, d_out);
        cudaGraph_t graph;
        cudaGraphExec_t exec;
        CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
        seam_status s = seam_topk(&p, (seam_stream)stream);
        CUDA_OK(cudaStreamEndCapture(stream, &graph));
        SEAM_ASSERT_OK(s);
        CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
        for (int replay = 0; replay < replays; replay++) {
            for (int r = 0; r < rows; r++) {
                kinds[r] = (gen_kind)seam_test_int(&rng, 0, GEN_COUNT - 1);
                lens[r] = seam_test_int(&rng, 0, 3) == 0 ? seam_test_int(&rng, 0, k + 1)
                                                          : seam_test_int(&rng, k + 2, stride);
            }
            batch_fill(&b, &rng, kinds, lens);
            batch_upload(&b);
            CUDA_OK(cudaMemset(d_out, 0x7f, sizeof(int) * (size_t)rows * k));
            CUDA_OK(cudaDeviceSynchronize()); /* uploads ran on the legacy stream */
            CUDA_OK(cudaGraphLaunch(exec, stream));
            CUDA_OK(cudaStreamSynchronize(stream));
            CUDA_OK(cudaMemcpy(h_out, d_out, sizeof(int) * (size_t)rows * k, cudaMemcpyDeviceToHost));
            ref_topk(b.h_scores, rows, stride, k, b.h_lengths, b.h_starts, 0, ref_small);
            ref_topk(b.h_scores, rows, stride, k, b.h_lengths, b.h_starts, 1, ref_large);
            char what[96];
            snprintf(what, sizeof what, "%s replay %d (%d x %d)", m->name, replay, rows, stride);
            printf("# %s\n", what);
            fflush(stdout);
            if (is_deterministic(m)) {
                check_exact(h_out, m->tie == SEAM_TIE_BREAK_LARGE ? ref_large : ref_small, rows,
                            k, b.h_lengths, what);
                SEAM_ASSERT_OK(seam_topk(&p, (seam_stream)stream));
                CUDA_OK(cudaStreamSynchronize(stream));
                CUDA_OK(cudaMemcpy(h_eager, d_out, sizeof(int) * (size_t)rows * k, cudaMemcpyDeviceToHost));
                if (memcmp(h_eager, h_out, sizeof(int) * (size_t)rows * k) != 0)
                    check_exact(h_eager, h_out, rows, k, b.h_lengths, "eager vs replay");
            } else {
                for (int r = 0; r < rows; r++) {
                    int start, len;
                    ref_extent(stride, b.h_lengths, b.h_starts, r, &start, &len);
                    check_row_as_set(b.h_scores + (size_t)r * stride + start, len, k,
                                     h_out + (size_t)r * k, ref_small + (size_t)r * k, r, what);
                }
            }
        }
        CUDA_OK(cudaGraphExecDestroy(exec));
        CUDA_OK(cudaGraphDestroy(graph));
    }
    CUDA_OK(cudaStreamDestroy(stream));
    free(h_out);
    free(h_eager);
    free(ref_small);
    free(ref_large);
    cudaFree(d_out);
    batch_free(&b);
}

static void test_topk_graph_replays_split_rows(void **state) {
    (void)state;
    graph_replays_see_new_inputs(3, 150001, 512, 1, __func__);
}

static void test_topk_graph_replays_one_cta_per_row(void **state) {
    (void)state;
    graph_replays_see_new_inputs(140, 9001, 512, 0, __func__);
}

/* Strides up to the candidate buffer run the deterministic modes on the short-row kernel. */
static void test_topk_graph_replays_short_stride(void **state) {
    (void)state;
    graph_replays_see_new_inputs(64, 8192, 2048, 0, __func__);
}

/* The registered op reads the backend and tie rule from the context's config and runs the
 * same kernels: its output equals a direct seam_topk call. */
static void test_topk_op_runs_with_context_config(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    const int rows = 8, stride = 30011, k = 512;
    for (int backend = 0; backend < 2; backend++) {
        seam_config cfg = SEAM_CONFIG_INITIALIZER;
        cfg.topk_backend = (seam_topk_backend)backend;
        cfg.topk_tie_break = SEAM_TIE_BREAK_LARGE;
        seam_context_params cp = SEAM_CONTEXT_PARAMS_INITIALIZER;
        cp.config = &cfg;
        cp.workspace_bytes = (size_t)64 << 20;
        seam_context *ctx = NULL;
        SEAM_ASSERT_OK(seam_context_create(&ctx, &cp));
        seam_registry *reg = NULL;
        SEAM_ASSERT_OK(seam_registry_create(&reg));
        const seam_op *op = NULL;
        SEAM_ASSERT_OK(seam_registry_find(reg, "topk", &op));
        gen_kind kinds[8];
        int lens[8];
        for (int r = 0; r < rows; r++) kinds[r] = (gen_kind)r, lens[r] = seam_test_int(&rng, 0, stride);
        batch b;
        batch_alloc(&b, rows, stride);
        batch_fill(&b, &rng, kinds, lens);
        batch_upload(&b);
        int32_t *d_out;
        CUDA_OK(cudaMalloc((void **)&d_out, sizeof(int) * (size_t)rows * k));
        int64_t s_shape[2] = {rows, stride}, l_shape[1] = {rows}, o_shape[2] = {rows, k};
        seam_op_call call;
        memset(&call, 0, sizeof call);
        call.op = op;
        call.num_args = 9;
        call.num_tokens = rows;
        call.args[0] = seam_arg_tensor(seam_tensor_contiguous(b.d_scores, SEAM_DTYPE_F32, 2, s_shape, 0));
        call.args[1] = seam_arg_tensor(seam_tensor_contiguous(b.d_lengths, SEAM_DTYPE_I32, 1, l_shape, 0));
        call.args[2] = seam_arg_tensor(seam_tensor_contiguous(b.d_starts, SEAM_DTYPE_I32, 1, l_shape, 0));
        call.args[3] = seam_arg_tensor(seam_tensor_contiguous(d_out, SEAM_DTYPE_I32, 2, o_shape, 0));
        call.args[4] = seam_arg_int(k);
        call.args[5] = seam_arg_int(SEAM_TOPK_TRANSFORM_NONE);
        call.args[6] = call.args[7] = call.args[8] = seam_arg_none();
        seam_stream stream;
        SEAM_ASSERT_OK(seam_context_stream(ctx, &stream));
        SEAM_ASSERT_OK(seam_op_run(&call, ctx, stream));
        SEAM_ASSERT_OK(seam_context_synchronize(ctx));
        int *h_out = malloc(sizeof(int) * (size_t)rows * k), *ref = malloc(sizeof(int) * (size_t)rows * k);
        CUDA_OK(cudaMemcpy(h_out, d_out, sizeof(int) * (size_t)rows * k, cudaMemcpyDeviceToHost));
        ref_topk(b.h_scores, rows, stride, k, b.h_lengths, b.h_starts, 1, ref);
        check_exact(h_out, ref, rows, k, b.h_lengths, backend ? "op (sort, large)" : "op (radix, large)");
        free(h_out);
        free(ref);
        cudaFree(d_out);
        batch_free(&b);
        seam_registry_destroy(reg);
        seam_context_destroy(ctx);
    }
}

/* The sort backend needs its workspace: a missing or short one is a named error. */
static void test_topk_sort_without_workspace_is_an_error(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    int32_t *d;
    CUDA_OK(cudaMalloc((void **)&d, 4096));
    seam_topk_params p = SEAM_TOPK_PARAMS_INITIALIZER;
    p.rows = 2;
    p.stride = 100;
    p.k = 4;
    p.scores = (const float *)d;
    p.lengths = d;
    p.out = d;
    p.backend = SEAM_TOPK_SORT;
    SEAM_ASSERT_FAILS(seam_topk(&p, NULL), SEAM_ERR_INVALID_ARG, "workspace is NULL");
    p.workspace = d;
    p.workspace_bytes = 16;
    SEAM_ASSERT_FAILS(seam_topk(&p, NULL), SEAM_ERR_INVALID_ARG, "workspace_bytes=16 is less than");
    cudaFree(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topk_rejects_bad_arguments),
        cmocka_unit_test(test_topk_op_is_registered_capturable_and_checks_shapes),
        cmocka_unit_test(test_topk_adversarial_rows_k512),
        cmocka_unit_test(test_topk_adversarial_rows_k1024),
        cmocka_unit_test(test_topk_adversarial_rows_k2048),
        cmocka_unit_test(test_topk_split_rows_match_reference),
        cmocka_unit_test(test_topk_rows_longer_than_bitmaps_match_reference),
        cmocka_unit_test(test_topk_deterministic_row_alone_equals_row_in_batch),
        cmocka_unit_test(test_topk_fused_transforms_equal_unfused_plus_gather),
        cmocka_unit_test(test_topk_short_stride_rows_match_reference),
        cmocka_unit_test(test_topk_graph_replays_split_rows),
        cmocka_unit_test(test_topk_graph_replays_one_cta_per_row),
        cmocka_unit_test(test_topk_graph_replays_short_stride),
        cmocka_unit_test(test_topk_op_runs_with_context_config),
        cmocka_unit_test(test_topk_sort_without_workspace_is_an_error),
    };
    int rc = SEAM_RUN_TESTS(tests);
    cudaFree(ws_ptr);
    return rc;
}
