/* Suite kernels: the DSA indexer kernels and ops against CPU references.
 *
 * fp8 is emulated on the host: an e4m3 decoder (a 256-entry table) and an encoder that picks
 * the nearest finite value, ties to the even code, saturating to +-448, which is what
 * __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3) does. The k-cache store is compared
 * bit for bit (same float operations on both sides), including every untouched slot, which
 * must keep its poison value.
 *
 * Logits tolerance: the reference is computed in fp64 from the same fp8 inputs. The GPU's
 * products are exact (e4m3 x e4m3 fits in fp32) but it sums 128 products per head, then 64
 * heads, in fp32 (the fp8 MMA accumulates with at least fp32-like ~2^-13 relative precision
 * per addition on Hopper). A floating-point sum's error is bounded relative to the sum of
 * the absolute values of its terms, not to the result (a logit may cancel to near zero), so
 * we check |got - ref| <= 1e-3 * M with M = k_scale * sum_h |w_h| * sum_d |q_hd k_d|: a 1e-3
 * relative error against the magnitude of the computation, about 8x the worst expected
 * accumulation error (2^-13 * ~1) and far below what a wrong head, key, scale or dim gives.
 * Columns outside a row's range must keep their poison value (bitwise). */
#include <math.h>
#include <stdlib.h>

#include <cuda_runtime_api.h>

#include "tests/test_util.h"
#include "tests/gpu_util.h"
#include "tests/bf16_host.h"

#define DIM 128
#define TOL 1e-3
#define POISON_F32 0x7fbadbadu /* a NaN payload nobody computes */
#define POISON_U8 0x5a

/* ---- host fp8 / bf16 emulation ------------------------------------------------------------ */

static float fp8_table[256];

static void fp8_init(void) {
    for (int c = 0; c < 256; c++) {
        int s = c >> 7, e = (c >> 3) & 15, m = c & 7;
        float v;
        if (e == 15 && m == 7) v = NAN;
        else if (e == 0) v = ldexpf((float)m, -9);
        else v = ldexpf(1.0f + (float)m / 8.0f, e - 7);
        fp8_table[c] = s ? -v : v;
    }
}

static float fp8_decode(uint8_t c) { return fp8_table[c]; }

/* Round to nearest e4m3, ties to the even code, saturating finite values to +-448. */
static uint8_t fp8_encode(float x) {
    if (isnan(x)) return 0x7f;
    uint8_t sign = signbit(x) ? 0x80 : 0;
    double a = fabs((double)x);
    int best = 0;
    double best_d = INFINITY;
    for (int c = 0; c <= 0x7e; c++) {
        double d = fabs(a - (double)fp8_table[c]);
        if (d < best_d || (d == best_d && (c & 1) == 0)) {
            best = c;
            best_d = d;
        }
    }
    return (uint8_t)(sign | best);
}

static float rand_float(seam_test_rng *r, float lo, float hi) {
    return lo + (hi - lo) * (float)(seam_test_next(r) >> 40) / (float)(1 << 24);
}

/* A random finite e4m3 code. */
static uint8_t rand_fp8(seam_test_rng *r) {
    uint8_t c = (uint8_t)(seam_test_next(r) >> 56);
    return (c & 0x7f) == 0x7f ? (uint8_t)(c - 1) : c;
}

/* Host copy of the store: what the GPU must write for one bf16 row. */
static void host_quantize(const uint16_t *key, uint8_t *out, float *scale) {
    float amax = 0.0f;
    for (int d = 0; d < DIM; d++) amax = fmaxf(amax, fabsf(bf2f(key[d])));
    float s = amax > 0.0f ? amax / 448.0f : 1.0f;
    float inv = amax > 0.0f ? 448.0f / amax : 1.0f;
    for (int d = 0; d < DIM; d++) {
        volatile float prod = bf2f(key[d]) * inv; /* one rounding, no contraction */
        out[d] = fp8_encode(prod);
    }
    *scale = s;
}

/* ---- reference logits ----------------------------------------------------------------------- */

static double ref_logit(const uint8_t *q, const float *w, int heads, const uint8_t *k, float scale,
                        double *mag) {
    double sum = 0.0, m = 0.0;
    for (int h = 0; h < heads; h++) {
        double dot = 0.0, adot = 0.0;
        for (int d = 0; d < DIM; d++) {
            double p = (double)fp8_decode(q[h * DIM + d]) * (double)fp8_decode(k[d]);
            dot += p;
            adot += fabs(p);
        }
        sum += (double)w[h] * (dot > 0.0 ? dot : 0.0);
        m += fabs((double)w[h]) * adot;
    }
    *mag = m * (double)scale;
    return sum * (double)scale;
}

static int is_poison(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u == POISON_F32;
}

static float poison_f32(void) {
    uint32_t u = POISON_F32;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Row `row` of GPU logits: columns in [lo, hi) match the reference (key_of gives each
 * column's key bytes and scale; NULL key means -inf), every other column is poison. */
typedef const uint8_t *(*key_fn)(void *user, int row, int col, float *scale);

static void check_logits_row(const char *what, const float *got, int stride, int row, int lo, int hi,
                             const uint8_t *q, const float *w, int heads, key_fn key, void *user) {
    for (int c = 0; c < stride; c++) {
        float g = got[(size_t)row * stride + c];
        if (c < lo || c >= hi) {
            if (!is_poison(g))
                fail_msg("%s: row %d col %d outside [%d, %d) was written: %g", what, row, c, lo, hi,
                         (double)g);
            continue;
        }
        float scale;
        const uint8_t *k = key(user, row, c, &scale);
        if (!k) {
            if (!(isinf(g) && g < 0))
                fail_msg("%s: row %d col %d: invalid page, expected -inf, got %g", what, row, c, (double)g);
            continue;
        }
        double mag;
        double want = ref_logit(q + (size_t)row * heads * DIM, w + (size_t)row * heads, heads, k,
                                scale, &mag);
        if (!(fabs((double)g - want) <= TOL * mag + 1e-30))
            fail_msg("%s: row %d col %d in [%d, %d): expected %.9g, got %.9g (|err| %.3g, bound %.3g)",
                     what, row, c, lo, hi, want, (double)g, fabs((double)g - want), TOL * mag);
    }
}

/* ---- device helpers --------------------------------------------------------------------- */

/* cudaMemcpy from pageable memory may return before the data lands, and the context's
 * stream does not wait for the legacy stream: synchronize the device after every upload. */
static void *dev_copy(const void *host, size_t bytes) {
    void *p = dev_alloc(bytes);
    CUDA_OK(cudaMemcpy(p, host, bytes, cudaMemcpyHostToDevice));
    CUDA_OK(cudaDeviceSynchronize());
    return p;
}

static void dev_poison_f32(float *d, size_t n) {
    float *h = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = poison_f32();
    CUDA_OK(cudaMemcpy(d, h, n * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_OK(cudaDeviceSynchronize());
    free(h);
}

static void *to_host(const void *d, size_t bytes) {
    void *h = malloc(bytes ? bytes : 1);
    CUDA_OK(cudaDeviceSynchronize());
    CUDA_OK(cudaMemcpy(h, d, bytes, cudaMemcpyDeviceToHost));
    return h;
}

/* Every logits test runs each kernel: mma.sync, SIMT and (on sm_90 devices) wgmma. */
#define N_ALGOS 3
static const seam_indexer_algo algos[N_ALGOS] = {SEAM_INDEXER_ALGO_MMA, SEAM_INDEXER_ALGO_SIMT,
                                                 SEAM_INDEXER_ALGO_WGMMA};
static const char *algo_name(seam_indexer_algo a) {
    return a == SEAM_INDEXER_ALGO_MMA ? "mma" : a == SEAM_INDEXER_ALGO_WGMMA ? "wgmma" : "simt";
}
/* The wgmma kernel needs 64 heads and a compute capability 9.0 device. */
static int algo_runs(seam_indexer_algo a, int heads) {
    if (a != SEAM_INDEXER_ALGO_WGMMA) return 1;
    int dev = 0, major = 0, minor = 0;
    if (cudaGetDevice(&dev) != cudaSuccess) return 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) return 0;
    if (cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev) != cudaSuccess) return 0;
    if (major != 9 || minor != 0) {
        print_message("note: %s skipped (device is sm_%d%d)\n", algo_name(a), major, minor);
        return 0;
    }
    return heads == 64;
}

/* ---- k-cache store ------------------------------------------------------------------------ */

/* Row kinds: random, all zero, one large value, tiny values (fp8 subnormals), +-448-ish. */
static void fill_key_row(seam_test_rng *r, uint16_t *row, int kind) {
    for (int d = 0; d < DIM; d++) {
        float v;
        switch (kind) {
        case 1: v = 0.0f; break;
        case 2: v = d == 17 ? 300.0f : rand_float(r, -0.01f, 0.01f); break;
        case 3: v = rand_float(r, -1e-6f, 1e-6f); break;
        default: v = rand_float(r, -4.0f, 4.0f); break;
        }
        row[d] = f2bf(v);
    }
}

static void run_k_store_case(seam_test_rng *rng, int page_size) {
    const int pages = 7, slots = pages * page_size, bucket = 24;
    const int real = slots >= 20 ? 19 : slots - 1;
    uint16_t *key = malloc((size_t)bucket * DIM * 2);
    int32_t loc[24];
    /* distinct random slots for the real tokens, one of them skipped with -1; garbage slots
     * for the padded rows, which must never be written */
    int *perm = malloc((size_t)slots * sizeof(int));
    for (int i = 0; i < slots; i++) perm[i] = i;
    for (int i = slots - 1; i > 0; i--) {
        int j = seam_test_int(rng, 0, i), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    for (int t = 0; t < bucket; t++) {
        fill_key_row(rng, key + (size_t)t * DIM, t % 5 == 4 ? 0 : t % 5);
        loc[t] = t < real ? perm[t] : perm[t % slots];
    }
    loc[3] = -1;
    uint8_t *cache = malloc((size_t)slots * DIM);
    float *scales = malloc((size_t)slots * sizeof(float));
    memset(cache, POISON_U8, (size_t)slots * DIM);
    for (int i = 0; i < slots; i++) scales[i] = poison_f32();
    void *d_key = dev_copy(key, (size_t)bucket * DIM * 2);
    int32_t *d_loc = dev_copy(loc, sizeof loc);
    int32_t *d_real = dev_copy(&real, sizeof real);
    uint8_t *d_cache = dev_copy(cache, (size_t)slots * DIM);
    float *d_scales = dev_copy(scales, (size_t)slots * sizeof(float));

    seam_indexer_k_store_params p = SEAM_INDEXER_K_STORE_PARAMS_INITIALIZER;
    p.tokens = bucket;
    p.key = d_key;
    p.out_cache_loc = d_loc;
    p.num_tokens_device = d_real;
    p.k_cache = d_cache;
    p.k_scales = d_scales;
    p.num_slots = slots;
    SEAM_ASSERT_OK(seam_indexer_k_store(&p, NULL));
    uint8_t *got = to_host(d_cache, (size_t)slots * DIM);
    float *got_s = to_host(d_scales, (size_t)slots * sizeof(float));

    for (int t = 0; t < real; t++)
        if (loc[t] >= 0) host_quantize(key + (size_t)t * DIM, cache + (size_t)loc[t] * DIM, &scales[loc[t]]);
    for (int s = 0; s < slots; s++) {
        if (memcmp(&got_s[s], &scales[s], 4) != 0)
            fail_msg("page_size %d: slot %d scale expected %g got %g", page_size, s,
                     (double)scales[s], (double)got_s[s]);
        for (int d = 0; d < DIM; d++)
            if (got[(size_t)s * DIM + d] != cache[(size_t)s * DIM + d])
                fail_msg("page_size %d: slot %d dim %d expected 0x%02x got 0x%02x", page_size, s, d,
                         cache[(size_t)s * DIM + d], got[(size_t)s * DIM + d]);
    }
    free(key), free(perm), free(cache), free(scales), free(got), free(got_s);
    cudaFree(d_key), cudaFree(d_loc), cudaFree(d_real), cudaFree(d_cache), cudaFree(d_scales);
}

static void test_k_store_matches_host_fp8_and_skips_padding(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    run_k_store_case(&rng, 64);
    run_k_store_case(&rng, 1);
    run_k_store_case(&rng, 4); /* the store does not care about pages: slot = page*size+off */
}

/* ---- ragged logits ----------------------------------------------------------------------- */

typedef struct ragged_data {
    const uint8_t *k;
    const float *scales;
} ragged_data;

static const uint8_t *ragged_key(void *user, int row, int col, float *scale) {
    (void)row;
    ragged_data *d = user;
    *scale = d->scales[col];
    return d->k + (size_t)col * DIM;
}

static void run_ragged_case(seam_test_rng *rng, int rows, int heads, int keys, int stride,
                            const int32_t *starts, const int32_t *lens, seam_indexer_algo algo) {
    size_t qn = (size_t)rows * heads * DIM;
    uint8_t *q = malloc(qn), *k = malloc((size_t)keys * DIM);
    float *w = malloc((size_t)rows * heads * 4), *ks = malloc((size_t)keys * 4);
    for (size_t i = 0; i < qn; i++) q[i] = rand_fp8(rng);
    for (size_t i = 0; i < (size_t)keys * DIM; i++) k[i] = rand_fp8(rng);
    for (int i = 0; i < rows * heads; i++) w[i] = rand_float(rng, -1.0f, 1.0f);
    for (int i = 0; i < keys; i++) ks[i] = rand_float(rng, 1e-3f, 1.0f);
    void *dq = dev_copy(q, qn), *dk = dev_copy(k, (size_t)keys * DIM);
    float *dw = dev_copy(w, (size_t)rows * heads * 4), *dks = dev_copy(ks, (size_t)keys * 4);
    int32_t *dst = dev_copy(starts, (size_t)rows * 4), *dln = dev_copy(lens, (size_t)rows * 4);
    float *dl = dev_alloc((size_t)rows * stride * 4);
    dev_poison_f32(dl, (size_t)rows * stride);
    seam_indexer_logits_ragged_params p = SEAM_INDEXER_LOGITS_RAGGED_PARAMS_INITIALIZER;
    p.rows = rows, p.heads = heads, p.keys = keys, p.stride = stride;
    p.q = dq, p.weights = dw, p.k = dk, p.k_scales = dks, p.row_starts = dst, p.lengths = dln;
    p.logits = dl;
    p.algo = algo;
    SEAM_ASSERT_OK(seam_indexer_logits_ragged(&p, NULL));
    float *got = to_host(dl, (size_t)rows * stride * 4);
    ragged_data rd = {k, ks};
    char what[64];
    snprintf(what, sizeof what, "ragged %s heads %d", algo_name(algo), heads);
    int lim = keys < stride ? keys : stride;
    for (int r = 0; r < rows; r++) {
        long lo = starts[r] < 0 ? 0 : starts[r], hi = (long)starts[r] + lens[r];
        if (hi > lim) hi = lim;
        if (hi < lo) hi = lo;
        check_logits_row(what, got, stride, r, (int)lo, (int)hi, q, w, heads, ragged_key, &rd);
    }
    free(q), free(k), free(w), free(ks), free(got);
    cudaFree(dq), cudaFree(dk), cudaFree(dw), cudaFree(dks), cudaFree(dst), cudaFree(dln), cudaFree(dl);
}

/* Prefill-shaped rows: three requests with prefixes (causal: token j of a request sees its
 * prefix and itself), then adversarial rows: empty, one key, a range past the keys, a range
 * crossing chunk and group boundaries, a negative start. */
static void test_logits_ragged_matches_fp64_reference(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    enum { ROWS = 45 };
    int32_t starts[ROWS], lens[ROWS];
    const int seq[3] = {300, 7, 520}, ext[3] = {20, 7, 10};
    int r = 0, base = 0;
    for (int b = 0; b < 3; b++) {
        for (int j = 0; j < ext[b]; j++, r++) {
            starts[r] = base;
            lens[r] = seq[b] - ext[b] + j + 1;
        }
        base += seq[b];
    }
    const int keys = base; /* 827 */
    const int extra[][2] = {{0, 0}, {5, 1}, {keys - 3, 10}, {250, 300}, {-5, 9}, {826, 1}, {511, 2}, {0, keys}};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++, r++) starts[r] = extra[i][0], lens[r] = extra[i][1];
    assert_int_equal(r, ROWS);
    for (size_t a = 0; a < N_ALGOS; a++) {
        if (algo_runs(algos[a], 64)) run_ragged_case(&rng, ROWS, 64, keys, keys + 13, starts, lens, algos[a]);
        if (algo_runs(algos[a], 32)) /* stride < keys */
            run_ragged_case(&rng, ROWS, 32, keys, 600, starts, lens, algos[a]);
    }
    run_ragged_case(&rng, ROWS, 20, keys, keys, starts, lens, SEAM_INDEXER_ALGO_AUTO); /* SIMT */
}

/* Many groups of 8 rows with short random ranges scattered over 2000 keys: the launcher then
 * gives each CTA several chunks (1600 rows = 200 groups -> about 7 chunk slices on a 132-SM
 * GPU for 16 wgmma chunks of 128 or 8 mma chunks of 256), and inside a chunk most rows of a
 * group have nothing to do, so the kernels' skip paths (rows outside the chunk, chunks in a
 * gap between the group's ranges) run next to computed rows in the same CTA. */
static void test_logits_ragged_many_groups_walk_several_chunks(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    enum { ROWS = 1600, KEYS = 2000 };
    int32_t *starts = malloc(ROWS * sizeof(int32_t)), *lens = malloc(ROWS * sizeof(int32_t));
    for (int r = 0; r < ROWS; r++) {
        starts[r] = seam_test_int(&rng, 0, KEYS - 1);
        lens[r] = seam_test_int(&rng, 0, 200);
    }
    for (size_t a = 0; a < N_ALGOS; a++)
        if (algos[a] != SEAM_INDEXER_ALGO_SIMT && algo_runs(algos[a], 64))
            run_ragged_case(&rng, ROWS, 64, KEYS, KEYS + 5, starts, lens, algos[a]);
    free(starts), free(lens);
}

/* ---- paged logits ----------------------------------------------------------------------- */

typedef struct paged_data {
    const uint8_t *cache;
    const float *scales;
    const int32_t *table; /* [table rows][table_stride] */
    const int32_t *row_to_req; /* per group, or NULL */
    int table_stride, page_size, next_n, num_pages;
} paged_data;

static const uint8_t *paged_key(void *user, int row, int col, float *scale) {
    paged_data *d = user;
    int group = row / d->next_n;
    int trow = d->row_to_req ? d->row_to_req[group] : group;
    int page = d->table[(size_t)trow * d->table_stride + col / d->page_size];
    if (page < 0 || page >= d->num_pages) return NULL;
    size_t slot = (size_t)page * d->page_size + col % d->page_size;
    *scale = d->scales[slot];
    return d->cache + slot * DIM;
}

/* A paged cache filled with random keys and a shuffled page table for `reqs` requests. */
typedef struct paged_setup {
    int reqs, page_size, num_pages, table_stride;
    uint8_t *cache;
    float *scales;
    int32_t *table;
    void *d_cache;
    float *d_scales;
    int32_t *d_table;
} paged_setup;

static paged_setup make_paged(seam_test_rng *rng, int reqs, int page_size, int max_ctx) {
    paged_setup s;
    s.reqs = reqs, s.page_size = page_size;
    s.table_stride = (max_ctx + page_size - 1) / page_size;
    s.num_pages = reqs * s.table_stride + 3;
    size_t slots = (size_t)s.num_pages * page_size;
    s.cache = malloc(slots * DIM);
    s.scales = malloc(slots * 4);
    for (size_t i = 0; i < slots * DIM; i++) s.cache[i] = rand_fp8(rng);
    for (size_t i = 0; i < slots; i++) s.scales[i] = rand_float(rng, 1e-3f, 1.0f);
    int *perm = malloc((size_t)s.num_pages * sizeof(int));
    for (int i = 0; i < s.num_pages; i++) perm[i] = i;
    for (int i = s.num_pages - 1; i > 0; i--) {
        int j = seam_test_int(rng, 0, i), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    s.table = malloc((size_t)reqs * s.table_stride * 4);
    for (int i = 0; i < reqs * s.table_stride; i++) s.table[i] = perm[i];
    free(perm);
    s.d_cache = dev_copy(s.cache, slots * DIM);
    s.d_scales = dev_copy(s.scales, slots * 4);
    s.d_table = dev_copy(s.table, (size_t)reqs * s.table_stride * 4);
    return s;
}

static void free_paged(paged_setup *s) {
    free(s->cache), free(s->scales), free(s->table);
    cudaFree(s->d_cache), cudaFree(s->d_scales), cudaFree(s->d_table);
}

/* Runs the paged logits for `groups` groups of next_n rows; returns the host logits. */
static float *run_paged(const paged_setup *s, int groups, int next_n, int heads, int stride,
                        const uint8_t *q, const float *w, const int32_t *ctx_lens,
                        const int32_t *d_table, int table_stride, const int32_t *row_to_req,
                        seam_indexer_algo algo) {
    int rows = groups * next_n;
    void *dq = dev_copy(q, (size_t)rows * heads * DIM);
    float *dw = dev_copy(w, (size_t)rows * heads * 4);
    int32_t *dlen = dev_copy(ctx_lens, (size_t)rows * 4);
    int32_t *drr = row_to_req ? dev_copy(row_to_req, (size_t)groups * 4) : NULL;
    float *dl = dev_alloc((size_t)rows * stride * 4);
    dev_poison_f32(dl, (size_t)rows * stride);
    seam_indexer_logits_paged_params p = SEAM_INDEXER_LOGITS_PAGED_PARAMS_INITIALIZER;
    p.groups = groups, p.next_n = next_n, p.heads = heads, p.stride = stride;
    p.q = dq, p.weights = dw, p.k_cache = s->d_cache, p.k_scales = s->d_scales;
    p.num_pages = s->num_pages, p.page_size = s->page_size;
    p.block_table = d_table, p.table_stride = table_stride, p.row_to_req = drr;
    p.context_lens = dlen, p.context_lens_stride = next_n;
    p.logits = dl, p.algo = algo;
    SEAM_ASSERT_OK(seam_indexer_logits_paged(&p, NULL));
    float *got = to_host(dl, (size_t)rows * stride * 4);
    cudaFree(dq), cudaFree(dw), cudaFree(dlen), cudaFree(drr), cudaFree(dl);
    return got;
}

static void check_paged(const char *what, const paged_setup *s, const float *got, int groups,
                        int next_n, int heads, int stride, const uint8_t *q, const float *w,
                        const int32_t *ctx_lens, const int32_t *table, int table_stride,
                        const int32_t *row_to_req) {
    paged_data pd = {s->cache, s->scales, table, row_to_req, table_stride, s->page_size, next_n,
                     s->num_pages};
    for (int r = 0; r < groups * next_n; r++) {
        long hi = ctx_lens[r];
        if (hi > stride) hi = stride;
        if (hi > (long)table_stride * s->page_size) hi = (long)table_stride * s->page_size;
        if (hi < 0) hi = 0;
        check_logits_row(what, got, stride, r, 0, (int)hi, q, w, heads, paged_key, &pd);
    }
}

static void random_queries(seam_test_rng *rng, int rows, int heads, uint8_t **q, float **w) {
    *q = malloc((size_t)rows * heads * DIM);
    *w = malloc((size_t)rows * heads * 4);
    for (size_t i = 0; i < (size_t)rows * heads * DIM; i++) (*q)[i] = rand_fp8(rng);
    for (int i = 0; i < rows * heads; i++) (*w)[i] = rand_float(rng, -1.0f, 1.0f);
}

/* Decode: lengths around page boundaries (0, 1, 63, 64, 65, 128, 129, 300), an invalid page
 * id (-> -inf), page size 64 and 1, both kernels. */
static void test_logits_paged_decode_page_boundaries(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    enum { B = 9 };
    const int32_t lens[B] = {0, 1, 63, 64, 65, 128, 129, 300, 257};
    const int page_sizes[2] = {64, 1};
    for (int pi = 0; pi < 2; pi++) {
        int ps = page_sizes[pi];
        paged_setup s = make_paged(&rng, B, ps, 320);
        s.table[8 * s.table_stride + 2] = s.num_pages + 5; /* request 8: a bad page id */
        CUDA_OK(cudaMemcpy(s.d_table, s.table, (size_t)B * s.table_stride * 4, cudaMemcpyHostToDevice));
        CUDA_OK(cudaDeviceSynchronize());
        uint8_t *q;
        float *w;
        random_queries(&rng, B, 64, &q, &w);
        for (int a = 0; a < N_ALGOS; a++) {
            if (!algo_runs(algos[a], 64)) continue;
            char what[64];
            snprintf(what, sizeof what, "decode page %d %s", ps, algo_name(algos[a]));
            int stride = 330;
            float *got = run_paged(&s, B, 1, 64, stride, q, w, lens, s.d_table, s.table_stride, NULL, algos[a]);
            check_paged(what, &s, got, B, 1, 64, stride, q, w, lens, s.table, s.table_stride, NULL);
            free(got);
        }
        free(q), free(w);
        free_paged(&s);
    }
}

/* Long decode contexts: enough key chunks per request that the grid gives each CTA several
 * chunks (with 24 requests the launcher makes about 66 chunk slices on a 132-SM GPU, and a
 * 12000-key context is 94 wgmma chunks of 128 or 47 mma chunks of 256), so the wgmma kernel's
 * double-buffered loop (load chunk c + slices while computing chunk c) runs, not only its
 * first iteration. Lengths are not multiples of the chunk; one is exactly a multiple. */
static void test_logits_paged_long_contexts_walk_several_chunks(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    enum { B = 24, MAX_CTX = 12000 };
    int32_t lens[B];
    for (int b = 0; b < B; b++) lens[b] = seam_test_int(&rng, 9000, MAX_CTX);
    lens[3] = 11904; /* 93 * 128 */
    paged_setup s = make_paged(&rng, B, 64, MAX_CTX);
    uint8_t *q;
    float *w;
    random_queries(&rng, B, 64, &q, &w);
    for (int a = 0; a < N_ALGOS; a++) {
        if (algos[a] == SEAM_INDEXER_ALGO_SIMT || !algo_runs(algos[a], 64)) continue;
        char what[64];
        snprintf(what, sizeof what, "long decode %s", algo_name(algos[a]));
        float *got = run_paged(&s, B, 1, 64, MAX_CTX, q, w, lens, s.d_table, s.table_stride, NULL, algos[a]);
        check_paged(what, &s, got, B, 1, 64, MAX_CTX, q, w, lens, s.table, s.table_stride, NULL);
        free(got);
    }
    free(q), free(w);
    free_paged(&s);
}

/* NextN: native [B, next_n] groups against the expanded layout ([B*next_n] groups with the
 * block table repeated per query) and the reference; bitwise equal to each other. Contexts
 * include next_n queries at the very start (ctx_len = next_n: query 0 sees one key), and 129:
 * only the last query reaches the second chunk of 128 keys. */
static void test_logits_nextn_native_matches_expanded_and_reference(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    enum { B = 7 };
    const int ctx[B] = {4, 65, 130, 2, 300, 64, 129};
    for (int next_n = 1; next_n <= 4; next_n++) {
        for (int pi = 0; pi < 2; pi++) {
            int ps = pi ? 1 : 64;
            paged_setup s = make_paged(&rng, B, ps, 320);
            int rows = B * next_n, stride = 320;
            int32_t *lens = malloc((size_t)rows * 4);
            for (int b = 0; b < B; b++) {
                int c = ctx[b] < next_n ? next_n : ctx[b];
                for (int j = 0; j < next_n; j++) lens[b * next_n + j] = c - next_n + j + 1;
            }
            /* expanded: the table repeated per query */
            int32_t *rep = malloc((size_t)rows * s.table_stride * 4);
            for (int r = 0; r < rows; r++)
                memcpy(rep + (size_t)r * s.table_stride, s.table + (size_t)(r / next_n) * s.table_stride,
                       (size_t)s.table_stride * 4);
            int32_t *d_rep = dev_copy(rep, (size_t)rows * s.table_stride * 4);
            uint8_t *q;
            float *w;
            random_queries(&rng, rows, 64, &q, &w);
            for (int a = 0; a < N_ALGOS; a++) {
                if (!algo_runs(algos[a], 64)) continue;
                char what[80];
                snprintf(what, sizeof what, "nextn %d page %d %s native", next_n, ps, algo_name(algos[a]));
                float *nat = run_paged(&s, B, next_n, 64, stride, q, w, lens, s.d_table, s.table_stride,
                                       NULL, algos[a]);
                check_paged(what, &s, nat, B, next_n, 64, stride, q, w, lens, s.table, s.table_stride, NULL);
                float *exp = run_paged(&s, rows, 1, 64, stride, q, w, lens, d_rep, s.table_stride, NULL,
                                       algos[a]);
                for (size_t i = 0; i < (size_t)rows * stride; i++)
                    if (memcmp(&nat[i], &exp[i], 4) != 0)
                        fail_msg("%s: native and expanded differ at row %zu col %zu: %.9g vs %.9g", what,
                                 i / stride, i % stride, (double)nat[i], (double)exp[i]);
                free(nat), free(exp);
            }
            free(lens), free(rep), free(q), free(w);
            cudaFree(d_rep);
            free_paged(&s);
        }
    }
}

/* Request-grouped rows (cu_seqlens_q) for one batch: requests of ext[i] tokens over seq[i]
 * keys (prefill-style causal lengths across page boundaries), a bucket with `pad` padded rows
 * past the last request (never written), max_requests above the real count. Checked against
 * the reference and bitwise against the one-row-per-group layout with row_to_req. */
static void check_request_grouped(seam_test_rng *rng, int N, const int *ext, const int *seq, int pad) {
    int32_t *cu = calloc((size_t)N + 1, 4);
    for (int i = 0; i < N; i++) cu[i + 1] = cu[i] + ext[i];
    const int real = cu[N], rows = real + pad, stride = 210;
    int32_t *lens = calloc((size_t)rows, 4), *r2q = calloc((size_t)rows, 4);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < ext[i]; j++) {
            lens[cu[i] + j] = seq[i] - ext[i] + j + 1;
            r2q[cu[i] + j] = i;
        }
    for (int r = real; r < rows; r++) lens[r] = 7; /* padding must stay unwritten anyway */
    for (int pi = 0; pi < 2; pi++) {
        int ps = pi ? 1 : 64;
        paged_setup s = make_paged(rng, N, ps, 210);
        uint8_t *q;
        float *w;
        random_queries(rng, rows, 64, &q, &w);
        int32_t n_req = N;
        void *dq = dev_copy(q, (size_t)rows * 64 * DIM);
        float *dw = dev_copy(w, (size_t)rows * 64 * 4);
        int32_t *dlen = dev_copy(lens, (size_t)rows * 4), *dcu = dev_copy(cu, ((size_t)N + 1) * 4);
        int32_t *dn = dev_copy(&n_req, 4);
        float *dl = dev_alloc((size_t)rows * stride * 4);
        for (int a = 0; a < N_ALGOS; a++) {
            if (!algo_runs(algos[a], 64)) continue;
            dev_poison_f32(dl, (size_t)rows * stride);
            seam_indexer_logits_paged_params p = SEAM_INDEXER_LOGITS_PAGED_PARAMS_INITIALIZER;
            p.groups = rows, p.next_n = 1, p.heads = 64, p.stride = stride;
            p.q = dq, p.weights = dw, p.k_cache = s.d_cache, p.k_scales = s.d_scales;
            p.num_pages = s.num_pages, p.page_size = ps;
            p.block_table = s.d_table, p.table_stride = s.table_stride;
            p.context_lens = dlen, p.context_lens_stride = 1;
            p.cu_seqlens_q = dcu, p.num_requests_device = dn, p.max_requests = N + 3;
            p.logits = dl, p.algo = algos[a];
            SEAM_ASSERT_OK(seam_indexer_logits_paged(&p, NULL));
            float *got = to_host(dl, (size_t)rows * stride * 4);
            char what[96];
            snprintf(what, sizeof what, "request-grouped (%d requests) page %d %s", N, ps, algo_name(algos[a]));
            int32_t *check_lens = malloc((size_t)rows * 4);
            memcpy(check_lens, lens, (size_t)rows * 4);
            for (int r = real; r < rows; r++) check_lens[r] = 0;
            check_paged(what, &s, got, rows, 1, 64, stride, q, w, check_lens, s.table, s.table_stride, r2q);
            float *per_row = run_paged(&s, real, 1, 64, stride, q, w, lens, s.d_table, s.table_stride, r2q,
                                       algos[a]);
            for (size_t i = 0; i < (size_t)real * stride; i++)
                if (memcmp(&got[i], &per_row[i], 4) != 0)
                    fail_msg("%s: grouped and per-row differ at row %zu col %zu: %.9g vs %.9g", what,
                             i / stride, i % stride, (double)got[i], (double)per_row[i]);
            free(got), free(per_row), free(check_lens);
        }
        free(q), free(w);
        cudaFree(dq), cudaFree(dw), cudaFree(dlen), cudaFree(dcu), cudaFree(dn), cudaFree(dl);
        free_paged(&s);
    }
    free(cu), free(lens), free(r2q);
}

/* Mixed requests of 1, 3, 8, 9, 17 and 0 tokens (groups of up to 8 rows of one request; the
 * 0-token request owns no rows; one-token requests run in their own launch), a decode batch
 * of one-token requests only, one-token requests whose index is past the row count (empty
 * requests before them, no padding), and 40 mixed requests. */
static void test_logits_paged_request_grouped_matches_rows(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    const int mixed_ext[] = {1, 3, 8, 1, 9, 17, 0, 1}, mixed_seq[] = {1, 66, 64, 129, 130, 200, 40, 65};
    check_request_grouped(&rng, 8, mixed_ext, mixed_seq, 5);
    int decode_ext[12], decode_seq[12];
    for (int i = 0; i < 12; i++) decode_ext[i] = 1, decode_seq[i] = 1 + (i * 37) % 210;
    check_request_grouped(&rng, 12, decode_ext, decode_seq, 5);
    int late_ext[12] = {0}, late_seq[12];
    for (int i = 0; i < 12; i++) late_seq[i] = 1 + (i * 53) % 210;
    late_ext[9] = late_ext[11] = 1; /* rows 0 and 1 belong to requests 9 and 11 */
    check_request_grouped(&rng, 12, late_ext, late_seq, 0);
    enum { MANY = 40 }; /* more requests than a warp's lanes: the group lookup takes two steps */
    int many_ext[MANY], many_seq[MANY];
    for (int i = 0; i < MANY; i++) {
        many_ext[i] = i % 3 == 0 ? 1 : i % 3 == 1 ? 0 : 2 + i % 5;
        many_seq[i] = 8 + (i * 37) % 200;
    }
    check_request_grouped(&rng, MANY, many_ext, many_seq, 3);
}

/* ---- ops through a context: capture + replay -------------------------------------------- */

static seam_config ops_config(void) {
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    cfg.num_capture_sizes = 2;
    cfg.capture_sizes[0] = 16;
    cfg.capture_sizes[1] = 64;
    return cfg;
}

static seam_context *make_ctx(const seam_config *cfg, int page_size, int max_next_n) {
    seam_context_params p = SEAM_CONTEXT_PARAMS_INITIALIZER;
    p.device = 0;
    p.max_tokens = 64;
    p.max_batch = 16;
    p.max_context = 512;
    p.num_layers = 1;
    p.page_size = page_size;
    p.max_next_n = max_next_n;
    p.workspace_bytes = (size_t)16 << 20;
    p.config = cfg;
    seam_context *ctx = NULL;
    SEAM_ASSERT_OK(seam_context_create(&ctx, &p));
    return ctx;
}

static const seam_op *find_op(seam_registry *reg, const char *name) {
    const seam_op *op = NULL;
    SEAM_ASSERT_OK(seam_registry_find(reg, name, &op));
    return op;
}

/* A batch of `n` requests over the paged cache of `s` (decode, target-verify or extend).
 * Request b's page-table row is s->table row b; its new tokens go to the slots of its last
 * positions (through the table), as an engine would place them. */
typedef struct ctx_batch {
    int32_t seq[16], ext[16], loc[64];
    int tokens;
    seam_batch b;
} ctx_batch;

static int slot_of(const paged_setup *s, int req, int pos) {
    return s->table[(size_t)req * s->table_stride + pos / s->page_size] * s->page_size + pos % s->page_size;
}

static void make_ctx_batch(ctx_batch *cb, const paged_setup *s, seam_forward_mode mode, int n,
                           const int *seq, const int *ext, int next_n) {
    memset(cb, 0, sizeof *cb);
    cb->tokens = 0;
    for (int i = 0; i < n; i++) {
        cb->seq[i] = seq[i];
        cb->ext[i] = ext[i];
        for (int j = 0; j < ext[i]; j++) cb->loc[cb->tokens++] = slot_of(s, i, seq[i] - ext[i] + j);
    }
    seam_batch b = SEAM_BATCH_INITIALIZER;
    b.mode = mode;
    b.batch_size = n;
    b.seq_lens = cb->seq;
    b.extend_lens = mode == SEAM_FORWARD_EXTEND ? cb->ext : NULL;
    b.out_cache_loc = cb->loc;
    b.page_table = s->table;
    b.page_table_stride = s->table_stride;
    b.next_n = next_n;
    cb->b = b;
}

static seam_arg targ(void *data, seam_dtype dt, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
    int64_t shape[4] = {d0, d1, d2, d3};
    return seam_arg_tensor(seam_tensor_contiguous(data, dt, ndim, shape, 0));
}

/* Runs `call` eagerly, or through a CUDA graph captured on the first captured run and
 * replayed on every later one (new batches and inputs in the same buffers). */
typedef struct graph_runner {
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    int have;
} graph_runner;

static void run_call(const seam_op_call *call, seam_context *ctx, int captured, graph_runner *g) {
    seam_stream st;
    SEAM_ASSERT_OK(seam_context_stream(ctx, &st));
    cudaStream_t stream = (cudaStream_t)st;
    if (!captured) {
        SEAM_ASSERT_OK(seam_op_run(call, ctx, st));
    } else {
        if (!g->have) {
            CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
            seam_status s = seam_op_run(call, ctx, st);
            CUDA_OK(cudaStreamEndCapture(stream, &g->graph));
            if (s != SEAM_OK) fail_msg("capture of %s: %s", call->op->name, seam_last_error());
            CUDA_OK(cudaGraphInstantiate(&g->exec, g->graph, 0));
            g->have = 1;
        }
        CUDA_OK(cudaGraphLaunch(g->exec, stream));
    }
    SEAM_ASSERT_OK(seam_context_synchronize(ctx));
}

static void graph_runner_free(graph_runner *g) {
    if (!g->have) return;
    CUDA_OK(cudaGraphExecDestroy(g->exec));
    CUDA_OK(cudaGraphDestroy(g->graph));
    g->have = 0;
}

/* Writes host data into a device buffer on the context's stream (ordered after set_batch). */
static void upload(seam_context *ctx, void *dst, const void *src, size_t bytes) {
    seam_stream st;
    SEAM_ASSERT_OK(seam_context_stream(ctx, &st));
    CUDA_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, (cudaStream_t)st));
    CUDA_OK(cudaStreamSynchronize((cudaStream_t)st));
}

/* indexer_k_store through the op, at a bucket of 16 with 11 real tokens: eager, then a
 * graph captured on one batch and replayed on a second batch with new keys and new slots. */
static void test_k_store_op_capture_replay_writes_only_real_tokens(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    seam_config cfg = ops_config();
    for (int pi = 0; pi < 2; pi++) {
        int ps = pi ? 1 : 64;
        seam_context *ctx = make_ctx(&cfg, ps, 1);
        seam_registry *reg;
        SEAM_ASSERT_OK(seam_registry_create(&reg));
        paged_setup s = make_paged(&rng, 4, ps, 200);
        size_t slots = (size_t)s.num_pages * ps;
        const int bucket = 16;
        uint16_t *key = malloc((size_t)bucket * DIM * 2);
        void *d_key = dev_alloc((size_t)bucket * DIM * 2);
        seam_op_call call = {find_op(reg, "indexer_k_store"), 3, {{0}}, bucket};
        call.args[0] = targ(d_key, SEAM_DTYPE_BF16, 2, bucket, DIM, 0, 0);
        call.args[1] = targ(s.d_cache, SEAM_DTYPE_FP8_E4M3, 3, s.num_pages, ps, DIM, 0);
        call.args[2] = targ(s.d_scales, SEAM_DTYPE_F32, 2, s.num_pages, ps, 0, 0);
        graph_runner g = {0};
        for (int round = 0; round < 3; round++) {
            int captured = round > 0;
            const int seq_a[4] = {70, 1, 129, 64}, ext_a[4] = {4, 1, 5, 1};
            const int seq_b[4] = {3, 65, 190, 64}, ext_b[4] = {3, 2, 5, 1};
            ctx_batch cb;
            make_ctx_batch(&cb, &s, SEAM_FORWARD_EXTEND, 4, round == 1 ? seq_b : seq_a,
                           round == 1 ? ext_b : ext_a, 1);
            assert_int_equal(cb.tokens, 11);
            SEAM_ASSERT_OK(seam_context_set_batch(ctx, &cb.b));
            for (int t = 0; t < bucket; t++) fill_key_row(&rng, key + (size_t)t * DIM, t % 4);
            upload(ctx, d_key, key, (size_t)bucket * DIM * 2);
            run_call(&call, ctx, captured, &g);
            uint8_t *got = to_host(s.d_cache, slots * DIM);
            float *got_s = to_host(s.d_scales, slots * 4);
            for (int t = 0; t < cb.tokens; t++)
                host_quantize(key + (size_t)t * DIM, s.cache + (size_t)cb.loc[t] * DIM, &s.scales[cb.loc[t]]);
            for (size_t sl = 0; sl < slots; sl++)
                if (memcmp(got + sl * DIM, s.cache + sl * DIM, DIM) != 0 || memcmp(&got_s[sl], &s.scales[sl], 4) != 0)
                    fail_msg("page %d round %d (%s): slot %zu differs from the expected cache", ps,
                             round, captured ? "replay" : "eager", sl);
            free(got), free(got_s);
        }
        graph_runner_free(&g);
        free(key);
        cudaFree(d_key);
        free_paged(&s);
        seam_registry_destroy(reg);
        seam_context_destroy(ctx);
    }
}

/* indexer_logits_paged through the op: decode (3-D q, one row per token, row_to_req) and
 * target-verify native (4-D q), eager and captured + replayed with new q/weights and new
 * lengths, padded bucket rows never written. */
static void test_logits_paged_op_capture_replay(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    seam_config cfg = ops_config();
    for (int pi = 0; pi < 2; pi++) {
        int ps = pi ? 1 : 64;
        seam_context *ctx = make_ctx(&cfg, ps, 4);
        seam_registry *reg;
        SEAM_ASSERT_OK(seam_registry_create(&reg));
        paged_setup s = make_paged(&rng, 8, ps, 300);
        const int bucket = 16, stride = 300;
        void *d_q = dev_alloc((size_t)bucket * 64 * DIM);
        float *d_w = dev_alloc((size_t)bucket * 64 * 4), *d_l = dev_alloc((size_t)bucket * stride * 4);
        for (int variant = 0; variant < 2; variant++) { /* 0 decode, 1 verify native next_n=2 */
            int next_n = variant ? 2 : 1;
            seam_op_call call = {find_op(reg, "indexer_logits_paged"), 5, {{0}}, bucket};
            if (variant) {
                call.args[0] = targ(d_q, SEAM_DTYPE_FP8_E4M3, 4, bucket / 2, 2, 64, DIM);
                call.args[1] = targ(d_w, SEAM_DTYPE_F32, 3, bucket / 2, 2, 64, 0);
            } else {
                call.args[0] = targ(d_q, SEAM_DTYPE_FP8_E4M3, 3, bucket, 64, DIM, 0);
                call.args[1] = targ(d_w, SEAM_DTYPE_F32, 2, bucket, 64, 0, 0);
            }
            call.args[2] = targ(s.d_cache, SEAM_DTYPE_FP8_E4M3, 3, s.num_pages, ps, DIM, 0);
            call.args[3] = targ(s.d_scales, SEAM_DTYPE_F32, 2, s.num_pages, ps, 0, 0);
            call.args[4] = targ(d_l, SEAM_DTYPE_F32, 2, bucket, stride, 0, 0);
            graph_runner g = {0};
            for (int round = 0; round < 3; round++) {
                int captured = round > 0;
                /* rounds 1 and 2 replay one graph with other lengths: it must see them */
                const int seq_a[7] = {1, 64, 65, 2, 200, 129, 63}, seq_b[7] = {63, 130, 2, 9, 1, 64, 300};
                const int *seq = round == 1 ? seq_b : seq_a;
                int n = variant ? 5 : 7, ext[7];
                int sq[7];
                for (int i = 0; i < n; i++) {
                    ext[i] = next_n;
                    sq[i] = seq[i] < next_n ? next_n : seq[i];
                }
                ctx_batch cb;
                make_ctx_batch(&cb, &s, variant ? SEAM_FORWARD_TARGET_VERIFY : SEAM_FORWARD_DECODE, n,
                               sq, ext, next_n);
                SEAM_ASSERT_OK(seam_context_set_batch(ctx, &cb.b));
                uint8_t *q;
                float *w;
                random_queries(&rng, bucket, 64, &q, &w);
                upload(ctx, d_q, q, (size_t)bucket * 64 * DIM);
                upload(ctx, d_w, w, (size_t)bucket * 64 * 4);
                dev_poison_f32(d_l, (size_t)bucket * stride);
                run_call(&call, ctx, captured, &g);
                float *got = to_host(d_l, (size_t)bucket * stride * 4);
                int32_t lens[16] = {0}, r2q[16] = {0};
                for (int b = 0, t = 0; b < n; b++)
                    for (int j = 0; j < next_n; j++, t++) lens[t] = sq[b] - next_n + j + 1, r2q[t] = b;
                char what[80];
                snprintf(what, sizeof what, "op paged page %d %s round %d (%s)", ps,
                         variant ? "verify" : "decode", round, captured ? "replay" : "eager");
                /* rows past the real tokens have length 0: never written */
                check_paged(what, &s, got, bucket, 1, 64, stride, q, w, lens, s.table, s.table_stride, r2q);
                free(q), free(w), free(got);
            }
            graph_runner_free(&g);
        }
        cudaFree(d_q), cudaFree(d_w), cudaFree(d_l);
        free_paged(&s);
        seam_registry_destroy(reg);
        seam_context_destroy(ctx);
    }
}

/* indexer_logits_ragged through the op: an extend batch whose ragged keys are the requests'
 * keys one after the other (row starts = cu_seqlens_k), eager and replayed. */
static void test_logits_ragged_op_capture_replay(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    seam_config cfg = ops_config();
    seam_context *ctx = make_ctx(&cfg, 1, 1);
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create(&reg));
    paged_setup s = make_paged(&rng, 4, 1, 300); /* only for its page table */
    const int bucket = 16, keys_cap = 700, stride = 720;
    void *d_q = dev_alloc((size_t)bucket * 64 * DIM), *d_k = dev_alloc((size_t)keys_cap * DIM);
    float *d_w = dev_alloc((size_t)bucket * 64 * 4), *d_ks = dev_alloc((size_t)keys_cap * 4);
    float *d_l = dev_alloc((size_t)bucket * stride * 4);
    seam_op_call call = {find_op(reg, "indexer_logits_ragged"), 5, {{0}}, bucket};
    call.args[0] = targ(d_q, SEAM_DTYPE_FP8_E4M3, 3, bucket, 64, DIM, 0);
    call.args[1] = targ(d_w, SEAM_DTYPE_F32, 2, bucket, 64, 0, 0);
    call.args[2] = targ(d_k, SEAM_DTYPE_FP8_E4M3, 2, keys_cap, DIM, 0, 0);
    call.args[3] = targ(d_ks, SEAM_DTYPE_F32, 1, keys_cap, 0, 0, 0);
    call.args[4] = targ(d_l, SEAM_DTYPE_F32, 2, bucket, stride, 0, 0);
    uint8_t *k = malloc((size_t)keys_cap * DIM);
    float *ks = malloc((size_t)keys_cap * 4);
    graph_runner g = {0};
    for (int round = 0; round < 3; round++) {
        int captured = round > 0;
        const int seq_a[3] = {5, 300, 64}, ext_a[3] = {5, 4, 3};
        const int seq_b[4] = {1, 200, 65, 130}, ext_b[4] = {1, 6, 2, 3};
        int n = round == 1 ? 4 : 3;
        ctx_batch cb;
        make_ctx_batch(&cb, &s, SEAM_FORWARD_EXTEND, n, round == 1 ? seq_b : seq_a, round == 1 ? ext_b : ext_a, 1);
        SEAM_ASSERT_OK(seam_context_set_batch(ctx, &cb.b));
        const seam_batch_view *hv;
        SEAM_ASSERT_OK(seam_context_batch_host(ctx, &hv));
        uint8_t *q;
        float *w;
        random_queries(&rng, bucket, 64, &q, &w);
        for (size_t i = 0; i < (size_t)keys_cap * DIM; i++) k[i] = rand_fp8(&rng);
        for (int i = 0; i < keys_cap; i++) ks[i] = rand_float(&rng, 1e-3f, 1.0f);
        upload(ctx, d_q, q, (size_t)bucket * 64 * DIM);
        upload(ctx, d_w, w, (size_t)bucket * 64 * 4);
        upload(ctx, d_k, k, (size_t)keys_cap * DIM);
        upload(ctx, d_ks, ks, (size_t)keys_cap * 4);
        dev_poison_f32(d_l, (size_t)bucket * stride);
        run_call(&call, ctx, captured, &g);
        float *got = to_host(d_l, (size_t)bucket * stride * 4);
        ragged_data rd = {k, ks};
        for (int r = 0; r < bucket; r++) {
            int lo = r < cb.tokens ? hv->topk_row_starts[r] : 0;
            int hi = r < cb.tokens ? lo + hv->topk_lengths[r] : 0;
            check_logits_row(captured ? "op ragged replay" : "op ragged eager", got, stride, r, lo, hi,
                             q, w, 64, ragged_key, &rd);
        }
        free(q), free(w), free(got);
    }
    graph_runner_free(&g);
    free(k), free(ks);
    cudaFree(d_q), cudaFree(d_k), cudaFree(d_w), cudaFree(d_ks), cudaFree(d_l);
    free_paged(&s);
    seam_registry_destroy(reg);
    seam_context_destroy(ctx);
}

/* ---- index top-k and k_cache_and_topk ------------------------------------------------------ */

/* Checks one row of top-k output against reference logits: the selected positions (mapped
 * back from slots) are distinct, inside the row, as many as min(k, len), each at least the
 * reference k-th largest minus the logits tolerance; the rest is -1. */
static int cmp_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void check_topk_row(const char *what, int row, const int32_t *out, int k, const double *ref,
                           const double *mag, int len, const int32_t *pos_of_out) {
    int want = len < k ? len : k;
    double *sorted = malloc((size_t)(len ? len : 1) * sizeof(double));
    memcpy(sorted, ref, (size_t)len * sizeof(double));
    qsort(sorted, (size_t)len, sizeof(double), cmp_desc);
    double kth = want > 0 ? sorted[want - 1] : 0.0;
    char *seen = calloc((size_t)(len ? len : 1), 1);
    int count = 0;
    double maxmag = 0.0;
    for (int p = 0; p < len; p++) maxmag = mag[p] > maxmag ? mag[p] : maxmag;
    for (int j = 0; j < k; j++) {
        if (out[j] == -1) continue;
        int p = pos_of_out[j];
        if (p < 0 || p >= len) fail_msg("%s: row %d out[%d]=%d is not a position of the row", what, row, j, out[j]);
        if (seen[p]) fail_msg("%s: row %d position %d selected twice", what, row, p);
        seen[p] = 1;
        count++;
        if (ref[p] < kth - 2 * TOL * maxmag)
            fail_msg("%s: row %d selected position %d with logit %.9g below the k-th %.9g", what, row, p,
                     ref[p], kth);
    }
    if (count != want) fail_msg("%s: row %d selected %d indices, expected %d", what, row, count, want);
    free(sorted), free(seen);
}

/* k_cache_and_topk, eager and graph-safe (captured, bucket 16), for decode, target-verify
 * (next_n 2: native in the eager run) and extend batches, page size 64 and 1: the cache
 * holds the stored keys, the top-k rows select valid slots of the right logits. k = 64 so
 * that requests longer and shorter than k are both covered. */
static void test_k_cache_and_topk_eager_and_graph_safe(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    const int bucket = 16, stride = 320, K = 64;
    for (int pi = 0; pi < 2; pi++) {
        int ps = pi ? 1 : 64;
        for (int graph_safe = 0; graph_safe < 2; graph_safe++) {
            seam_config cfg = ops_config();
            cfg.graph_safe = graph_safe;
            seam_context *ctx = make_ctx(&cfg, ps, 4);
            seam_registry *reg;
            SEAM_ASSERT_OK(seam_registry_create(&reg));
            paged_setup s = make_paged(&rng, 8, ps, 300);
            size_t slots = (size_t)s.num_pages * ps;
            void *d_key = dev_alloc((size_t)bucket * DIM * 2), *d_q = dev_alloc((size_t)bucket * 64 * DIM);
            float *d_w = dev_alloc((size_t)bucket * 64 * 4), *d_l = dev_alloc((size_t)bucket * stride * 4);
            int32_t *d_out = dev_alloc((size_t)bucket * K * 4);
            seam_op_call call = {find_op(reg, "k_cache_and_topk"), 7, {{0}}, bucket};
            call.args[0] = targ(d_key, SEAM_DTYPE_BF16, 2, bucket, DIM, 0, 0);
            call.args[1] = targ(d_q, SEAM_DTYPE_FP8_E4M3, 3, bucket, 64, DIM, 0);
            call.args[2] = targ(d_w, SEAM_DTYPE_F32, 2, bucket, 64, 0, 0);
            call.args[3] = targ(s.d_cache, SEAM_DTYPE_FP8_E4M3, 3, s.num_pages, ps, DIM, 0);
            call.args[4] = targ(s.d_scales, SEAM_DTYPE_F32, 2, s.num_pages, ps, 0, 0);
            call.args[5] = targ(d_l, SEAM_DTYPE_F32, 2, bucket, stride, 0, 0);
            call.args[6] = targ(d_out, SEAM_DTYPE_I32, 2, bucket, K, 0, 0);
            graph_runner g = {0}; /* graph-safe: captured once (decode), replayed for every mode */
            for (int mode = 0; mode < 3; mode++) {
                const int seq_d[6] = {1, 64, 65, 200, 2, 129}, seq_v[5] = {2, 63, 130, 300, 3}, seq_e[3] = {70, 5, 140};
                const int ext_e[3] = {4, 5, 3};
                int n = mode == 0 ? 6 : mode == 1 ? 5 : 3, next_n = mode == 1 ? 2 : 1, ext[6];
                const int *seq = mode == 0 ? seq_d : mode == 1 ? seq_v : seq_e;
                for (int i = 0; i < n; i++) ext[i] = mode == 2 ? ext_e[i] : next_n;
                ctx_batch cb;
                make_ctx_batch(&cb, &s, mode == 0 ? SEAM_FORWARD_DECODE : mode == 1 ? SEAM_FORWARD_TARGET_VERIFY : SEAM_FORWARD_EXTEND,
                               n, seq, ext, next_n);
                SEAM_ASSERT_OK(seam_context_set_batch(ctx, &cb.b));
                const seam_batch_view *hv;
                SEAM_ASSERT_OK(seam_context_batch_host(ctx, &hv));
                uint16_t *key = malloc((size_t)bucket * DIM * 2);
                for (int t = 0; t < bucket; t++) fill_key_row(&rng, key + (size_t)t * DIM, 0);
                uint8_t *q;
                float *w;
                random_queries(&rng, bucket, 64, &q, &w);
                upload(ctx, d_key, key, (size_t)bucket * DIM * 2);
                upload(ctx, d_q, q, (size_t)bucket * 64 * DIM);
                upload(ctx, d_w, w, (size_t)bucket * 64 * 4);
                int32_t *minus = malloc((size_t)bucket * K * 4);
                for (int i = 0; i < bucket * K; i++) minus[i] = -7;
                upload(ctx, d_out, minus, (size_t)bucket * K * 4);
                run_call(&call, ctx, graph_safe, &g);
                for (int t = 0; t < cb.tokens; t++)
                    host_quantize(key + (size_t)t * DIM, s.cache + (size_t)cb.loc[t] * DIM, &s.scales[cb.loc[t]]);
                uint8_t *gc = to_host(s.d_cache, slots * DIM);
                if (memcmp(gc, s.cache, slots * DIM) != 0) fail_msg("k_cache_and_topk: cache differs from the host store");
                int32_t *out = to_host(d_out, (size_t)bucket * K * 4);
                char what[80];
                snprintf(what, sizeof what, "k_cache_and_topk page %d mode %d %s", ps, mode,
                         graph_safe ? "graph-safe replay" : "eager");
                for (int t = 0; t < bucket; t++) {
                    const int32_t *o = out + (size_t)t * K;
                    if (t >= cb.tokens) { /* padding: -1 (graph-safe) or untouched (eager) */
                        for (int j = 0; j < K; j++)
                            if (o[j] != (graph_safe ? -1 : -7))
                                fail_msg("%s: padded row %d out[%d]=%d", what, t, j, o[j]);
                        continue;
                    }
                    int req = hv->row_to_req[t], len = hv->topk_lengths[t];
                    double *ref = malloc((size_t)(len + 1) * sizeof(double)), *mag = malloc((size_t)(len + 1) * sizeof(double));
                    for (int p = 0; p < len; p++) {
                        int sl = slot_of(&s, req, p);
                        ref[p] = ref_logit(q + (size_t)t * 64 * DIM, w + (size_t)t * 64, 64, s.cache + (size_t)sl * DIM,
                                           s.scales[sl], &mag[p]);
                    }
                    int32_t pos[64];
                    for (int j = 0; j < K; j++) { /* slot -> position in the request */
                        pos[j] = -1;
                        for (int p = 0; p < len && o[j] >= 0; p++)
                            if (slot_of(&s, req, p) == o[j]) pos[j] = p;
                        if (o[j] != -1 && pos[j] < 0) fail_msg("%s: row %d out[%d]=%d is not a slot of request %d", what, t, j, o[j], req);
                    }
                    check_topk_row(what, t, o, K, ref, mag, len, pos);
                    free(ref), free(mag);
                }
                free(key), free(q), free(w), free(minus), free(gc), free(out);
            }
            graph_runner_free(&g);
            cudaFree(d_key), cudaFree(d_q), cudaFree(d_w), cudaFree(d_l), cudaFree(d_out);
            free_paged(&s);
            seam_registry_destroy(reg);
            seam_context_destroy(ctx);
        }
    }
}

/* index_topk over ragged logits with the ragged output (key indices = row start + position),
 * captured and replayed. */
static void test_index_topk_ragged_capture_replay(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    seam_config cfg = ops_config();
    seam_context *ctx = make_ctx(&cfg, 1, 1);
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create(&reg));
    paged_setup s = make_paged(&rng, 4, 1, 300);
    const int bucket = 16, stride = 720, K = 32;
    float *d_l = dev_alloc((size_t)bucket * stride * 4);
    int32_t *d_out = dev_alloc((size_t)bucket * K * 4);
    seam_op_call call = {find_op(reg, "index_topk"), 4, {{0}}, bucket};
    call.args[0] = targ(d_l, SEAM_DTYPE_F32, 2, bucket, stride, 0, 0);
    call.args[1] = targ(d_out, SEAM_DTYPE_I32, 2, bucket, K, 0, 0);
    call.args[2] = seam_arg_int(1); /* ragged logits */
    call.args[3] = seam_arg_int(1); /* ragged output */
    float *l = malloc((size_t)bucket * stride * 4);
    graph_runner g = {0};
    for (int round = 0; round < 3; round++) {
        int captured = round > 0;
        const int seq_a[3] = {5, 300, 40}, ext_a[3] = {5, 4, 3};
        const int seq_b[3] = {2, 200, 80}, ext_b[3] = {2, 7, 1};
        ctx_batch cb;
        make_ctx_batch(&cb, &s, SEAM_FORWARD_EXTEND, 3, round == 1 ? seq_b : seq_a, round == 1 ? ext_b : ext_a, 1);
        SEAM_ASSERT_OK(seam_context_set_batch(ctx, &cb.b));
        const seam_batch_view *hv;
        SEAM_ASSERT_OK(seam_context_batch_host(ctx, &hv));
        /* distinct values so the top-k set is unique */
        for (int i = 0; i < bucket * stride; i++) l[i] = (float)((seam_test_next(&rng) >> 40) * 4 + (uint64_t)(i % 4));
        upload(ctx, d_l, l, (size_t)bucket * stride * 4);
        run_call(&call, ctx, captured, &g);
        int32_t *out = to_host(d_out, (size_t)bucket * K * 4);
        for (int t = 0; t < bucket; t++) {
            int start = t < cb.tokens ? hv->topk_row_starts[t] : 0, len = t < cb.tokens ? hv->topk_lengths[t] : 0;
            double *ref = malloc((size_t)(len + 1) * sizeof(double)), *mag = calloc((size_t)(len + 1), sizeof(double));
            int32_t pos[32];
            for (int p = 0; p < len; p++) ref[p] = l[(size_t)t * stride + start + p];
            for (int j = 0; j < K; j++) pos[j] = out[t * K + j] >= 0 ? out[t * K + j] - start : -1;
            check_topk_row(captured ? "index_topk replay" : "index_topk eager", t, out + t * K, K, ref, mag, len, pos);
            free(ref), free(mag);
        }
        free(out);
    }
    graph_runner_free(&g);
    free(l);
    cudaFree(d_l), cudaFree(d_out);
    free_paged(&s);
    seam_registry_destroy(reg);
    seam_context_destroy(ctx);
}

/* ---- argument errors (CPU) ------------------------------------------------------------------ */

static void test_launchers_reject_bad_arguments(void **state) {
    (void)state;
    SEAM_ASSERT_FAILS(seam_indexer_k_store(NULL, NULL), SEAM_ERR_INVALID_ARG, "p is NULL");
    seam_indexer_k_store_params ks = SEAM_INDEXER_K_STORE_PARAMS_INITIALIZER;
    ks.struct_size = 3;
    SEAM_ASSERT_FAILS(seam_indexer_k_store(&ks, NULL), SEAM_ERR_INVALID_ARG, "struct_size=3");
    ks.struct_size = sizeof ks;
    ks.tokens = 4;
    SEAM_ASSERT_FAILS(seam_indexer_k_store(&ks, NULL), SEAM_ERR_INVALID_ARG, "params->key is NULL");
    ks.tokens = -1;
    SEAM_ASSERT_FAILS(seam_indexer_k_store(&ks, NULL), SEAM_ERR_INVALID_ARG, "tokens=-1");

    seam_indexer_logits_ragged_params r = SEAM_INDEXER_LOGITS_RAGGED_PARAMS_INITIALIZER;
    r.heads = 0;
    SEAM_ASSERT_FAILS(seam_indexer_logits_ragged(&r, NULL), SEAM_ERR_INVALID_ARG, "heads=0");
    r.heads = 20;
    r.algo = SEAM_INDEXER_ALGO_MMA;
    SEAM_ASSERT_FAILS(seam_indexer_logits_ragged(&r, NULL), SEAM_ERR_INVALID_ARG, "multiple of 16");
    r.algo = SEAM_INDEXER_ALGO_WGMMA;
    SEAM_ASSERT_FAILS(seam_indexer_logits_ragged(&r, NULL), SEAM_ERR_INVALID_ARG, "exactly 64 heads");
    r.heads = 64;
    r.algo = (seam_indexer_algo)9;
    SEAM_ASSERT_FAILS(seam_indexer_logits_ragged(&r, NULL), SEAM_ERR_INVALID_ARG, "algo=9");
    r.algo = SEAM_INDEXER_ALGO_AUTO;
    r.rows = 2, r.keys = 5, r.stride = 5;
    SEAM_ASSERT_FAILS(seam_indexer_logits_ragged(&r, NULL), SEAM_ERR_INVALID_ARG, "params->q is NULL");
    r.rows = 0; /* nothing to do: no pointers needed */
    SEAM_ASSERT_OK(seam_indexer_logits_ragged(&r, NULL));

    seam_indexer_logits_paged_params p = SEAM_INDEXER_LOGITS_PAGED_PARAMS_INITIALIZER;
    p.next_n = 5;
    SEAM_ASSERT_FAILS(seam_indexer_logits_paged(&p, NULL), SEAM_ERR_INVALID_ARG, "next_n=5");
    p.next_n = 2;
    p.page_size = 16;
    SEAM_ASSERT_FAILS(seam_indexer_logits_paged(&p, NULL), SEAM_ERR_INVALID_ARG, "page_size=16");
    p.page_size = 64;
    p.context_lens_stride = 1;
    SEAM_ASSERT_FAILS(seam_indexer_logits_paged(&p, NULL), SEAM_ERR_INVALID_ARG, "context_lens_stride=1");
    p.context_lens_stride = 0;
    p.cu_seqlens_q = (const int32_t *)&p; /* any non-NULL pointer: checked before use */
    SEAM_ASSERT_FAILS(seam_indexer_logits_paged(&p, NULL), SEAM_ERR_INVALID_ARG, "need next_n 1");
    p.next_n = 1;
    SEAM_ASSERT_FAILS(seam_indexer_logits_paged(&p, NULL), SEAM_ERR_INVALID_ARG, "num_requests_device is NULL");
    p.cu_seqlens_q = NULL;
    p.next_n = 2;
    p.groups = 3, p.stride = 10;
    SEAM_ASSERT_FAILS(seam_indexer_logits_paged(&p, NULL), SEAM_ERR_INVALID_ARG, "params->q is NULL");

    seam_indexer_topk_params tk = SEAM_INDEXER_TOPK_PARAMS_INITIALIZER;
    tk.output = (seam_indexer_topk_output)7;
    SEAM_ASSERT_FAILS(seam_indexer_topk(&tk, NULL), SEAM_ERR_INVALID_ARG, "output=7");
    tk.output = SEAM_INDEXER_TOPK_SLOTS;
    tk.page_size = 16;
    SEAM_ASSERT_FAILS(seam_indexer_topk(&tk, NULL), SEAM_ERR_INVALID_ARG, "page_size=16");
    tk.page_size = 64;
    SEAM_ASSERT_FAILS(seam_indexer_topk(&tk, NULL), SEAM_ERR_INVALID_ARG, "block_table is NULL");
    tk.output = SEAM_INDEXER_TOPK_POSITIONS;
    SEAM_ASSERT_OK(seam_indexer_topk(&tk, NULL)); /* rows 0: nothing to do */

    seam_indexer_slots_params sp = SEAM_INDEXER_SLOTS_PARAMS_INITIALIZER;
    sp.k = 0;
    SEAM_ASSERT_FAILS(seam_indexer_positions_to_slots(&sp, NULL), SEAM_ERR_INVALID_ARG, "k=0");
}

static void test_ops_registered_with_capture_classes(void **state) {
    (void)state;
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create(&reg));
    const char *capturable[] = {"indexer_k_store", "indexer_logits_ragged", "indexer_logits_paged",
                                "index_topk"};
    for (size_t i = 0; i < sizeof capturable / sizeof capturable[0]; i++) {
        const seam_op *op = find_op(reg, capturable[i]);
        assert_string_equal(seam_op_class_string(op), "capturable");
    }
    const seam_op *split = find_op(reg, "k_cache_and_topk");
    assert_string_equal(seam_op_class_string(split), "capturable-when-graph-safe");
    assert_false(seam_op_is_capturable(split, 0));
    assert_true(seam_op_is_capturable(split, 1));
    assert_non_null(split->run_graph_safe);
    seam_registry_destroy(reg);
}

static void test_op_checks_name_the_bad_argument(void **state) {
    (void)state;
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create(&reg));
    char buf[1];
    void *p = buf;
    seam_op_call c = {find_op(reg, "indexer_k_store"), 3, {{0}}, 8};
    c.args[0] = targ(p, SEAM_DTYPE_F32, 2, 8, DIM, 0, 0);
    c.args[1] = targ(p, SEAM_DTYPE_FP8_E4M3, 3, 4, 64, DIM, 0);
    c.args[2] = targ(p, SEAM_DTYPE_F32, 2, 4, 64, 0, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "key: dtype f32, expected bf16");
    c.args[0] = targ(p, SEAM_DTYPE_BF16, 2, 4, DIM, 0, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "fewer than num_tokens=8");
    c.args[0] = targ(p, SEAM_DTYPE_BF16, 2, 8, DIM, 0, 0);
    c.args[1] = targ(p, SEAM_DTYPE_FP8_E4M3, 3, 4, 32, DIM, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "page size shape[1]=32");
    c.args[1] = targ(p, SEAM_DTYPE_FP8_E4M3, 3, 4, 64, DIM, 0);
    c.args[2] = targ(p, SEAM_DTYPE_F32, 2, 5, 64, 0, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "k_scales: shape[0]=5");
    c.args[2] = targ(p, SEAM_DTYPE_F32, 2, 4, 64, 0, 0);
    SEAM_ASSERT_OK(seam_op_call_check(&c));

    seam_op_call lp = {find_op(reg, "indexer_logits_paged"), 5, {{0}}, 6};
    lp.args[0] = targ(p, SEAM_DTYPE_FP8_E4M3, 4, 2, 4, 64, DIM); /* 6 tokens, next_n 4 */
    lp.args[1] = targ(p, SEAM_DTYPE_F32, 3, 2, 4, 64, 0);
    lp.args[2] = targ(p, SEAM_DTYPE_FP8_E4M3, 3, 4, 64, DIM, 0);
    lp.args[3] = targ(p, SEAM_DTYPE_F32, 2, 4, 64, 0, 0);
    lp.args[4] = targ(p, SEAM_DTYPE_F32, 2, 8, 100, 0, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&lp), SEAM_ERR_INVALID_ARG, "not a multiple of next_n=4");
    lp.num_tokens = 8;
    SEAM_ASSERT_OK(seam_op_call_check(&lp));
    lp.args[0] = targ(p, SEAM_DTYPE_FP8_E4M3, 3, 8, 65, DIM, 0);
    lp.args[1] = targ(p, SEAM_DTYPE_F32, 2, 8, 65, 0, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&lp), SEAM_ERR_INVALID_ARG, "heads shape[1]=65");

    seam_op_call lr = {find_op(reg, "indexer_logits_ragged"), 5, {{0}}, 4};
    lr.args[0] = targ(p, SEAM_DTYPE_FP8_E4M3, 3, 4, 64, DIM, 0);
    lr.args[1] = targ(p, SEAM_DTYPE_F32, 2, 4, 64, 0, 0);
    lr.args[2] = targ(p, SEAM_DTYPE_FP8_E4M3, 2, 10, 64, 0, 0);
    lr.args[3] = targ(p, SEAM_DTYPE_F32, 1, 10, 0, 0, 0);
    lr.args[4] = targ(p, SEAM_DTYPE_F32, 2, 4, 10, 0, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&lr), SEAM_ERR_INVALID_ARG, "k: shape[1]=64, expected 128");
    seam_op_call it = {find_op(reg, "index_topk"), 4, {{0}}, 4};
    it.args[0] = targ(p, SEAM_DTYPE_F32, 2, 4, 100, 0, 0);
    it.args[1] = targ(p, SEAM_DTYPE_I32, 2, 4, 4096, 0, 0);
    it.args[2] = seam_arg_int(0);
    it.args[3] = seam_arg_int(0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&it), SEAM_ERR_INVALID_ARG, "k shape[1]=4096");
    it.args[1] = targ(p, SEAM_DTYPE_I32, 2, 4, 64, 0, 0);
    it.args[3] = seam_arg_int(3);
    SEAM_ASSERT_FAILS(seam_op_call_check(&it), SEAM_ERR_INVALID_ARG, "output=3");
    seam_registry_destroy(reg);
}

/* Ops on a context without a device report SEAM_ERR_NO_DEVICE, not a crash. */
static void test_ops_on_host_context_report_no_device(void **state) {
    (void)state;
    seam_config cfg = ops_config();
    seam_context_params cp = SEAM_CONTEXT_PARAMS_INITIALIZER;
    cp.device = SEAM_DEVICE_HOST;
    cp.max_tokens = 64, cp.max_batch = 8, cp.max_context = 512, cp.config = &cfg;
    seam_context *ctx;
    SEAM_ASSERT_OK(seam_context_create(&ctx, &cp));
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create(&reg));
    char buf[1];
    void *p = buf;
    seam_op_call c = {find_op(reg, "indexer_k_store"), 3, {{0}}, 8};
    c.args[0] = targ(p, SEAM_DTYPE_BF16, 2, 8, DIM, 0, 0);
    c.args[1] = targ(p, SEAM_DTYPE_FP8_E4M3, 3, 4, 1, DIM, 0);
    c.args[2] = targ(p, SEAM_DTYPE_F32, 2, 4, 1, 0, 0);
    SEAM_ASSERT_FAILS(seam_op_run(&c, ctx, NULL), SEAM_ERR_NO_DEVICE, "without a device");
    seam_registry_destroy(reg);
    seam_context_destroy(ctx);
}

/* The host fp8 emulation itself: exact values round-trip, ties go to the even code, large
 * values saturate to 448, tiny ones to the subnormals or zero. */
static void test_host_fp8_emulation_rounds_to_nearest_even(void **state) {
    (void)state;
    for (int c = 0; c < 256; c++) {
        if ((c & 0x7f) == 0x7f) continue;
        assert_int_equal(fp8_encode(fp8_decode((uint8_t)c)), c);
    }
    assert_true(fp8_decode(0x7e) == 448.0f);
    assert_int_equal(fp8_encode(1000.0f), 0x7e);
    assert_int_equal(fp8_encode(-1e9f), 0xfe);
    assert_int_equal(fp8_encode(1.0625f), 0x38); /* halfway 1 and 1.125: even code 0x38 (1.0) */
    assert_int_equal(fp8_encode(1.1875f), 0x3a); /* halfway 1.125 and 1.25: even 0x3a (1.25) */
    assert_int_equal(fp8_encode(ldexpf(1.0f, -10)), 0x00); /* half the smallest subnormal: 0 */
    assert_int_equal(fp8_encode(ldexpf(3.0f, -10)), 0x02); /* 1.5 subnormal steps: even 2 */
    assert_int_equal(fp8_encode(-0.0f), 0x80);
}

int main(void) {
    fp8_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_fp8_emulation_rounds_to_nearest_even),
        cmocka_unit_test(test_launchers_reject_bad_arguments),
        cmocka_unit_test(test_ops_registered_with_capture_classes),
        cmocka_unit_test(test_op_checks_name_the_bad_argument),
        cmocka_unit_test(test_ops_on_host_context_report_no_device),
        cmocka_unit_test(test_k_store_matches_host_fp8_and_skips_padding),
        cmocka_unit_test(test_logits_ragged_matches_fp64_reference),
        cmocka_unit_test(test_logits_ragged_many_groups_walk_several_chunks),
        cmocka_unit_test(test_logits_paged_decode_page_boundaries),
        cmocka_unit_test(test_logits_paged_long_contexts_walk_several_chunks),
        cmocka_unit_test(test_logits_nextn_native_matches_expanded_and_reference),
        cmocka_unit_test(test_logits_paged_request_grouped_matches_rows),
        cmocka_unit_test(test_k_store_op_capture_replay_writes_only_real_tokens),
        cmocka_unit_test(test_logits_paged_op_capture_replay),
        cmocka_unit_test(test_logits_ragged_op_capture_replay),
        cmocka_unit_test(test_index_topk_ragged_capture_replay),
        cmocka_unit_test(test_k_cache_and_topk_eager_and_graph_safe),
    };
    return SEAM_RUN_TESTS(tests);
}
