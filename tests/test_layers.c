/* Layer kernels and their ops: Hadamard, RMSNorm, LayerNorm, RoPE, sparse attention.
 *
 * GPU tests compare each kernel with an fp64 CPU reference computed from the same bf16
 * inputs. Tolerances (bf16 outputs): a correctly rounded bf16 result is within 2^-9 of the
 * exact value relative to it; we allow 2^-8 |ref| (one ulp: fp32 arithmetic may push a value
 * across a rounding boundary) plus a small absolute term for cancellation, stated per
 * test. Sparse attention: out = sum_j p_j v_j is a convex combination; the tensor-core
 * path rounds each p_j to bf16 (relative 2^-9) and the output once more, so per element
 * |err| <= 2^-8 (|ref| + sum_j p_j |v_j|) + 1e-6, with the second sum (the "magnitude" of the
 * combination) computed by the reference. This is tight: one wrong row of 2048 moves an
 * output by ~|v|/2048, far above it for outputs that do not cancel.
 * Capture tests run each op eagerly on inputs A and B, capture it once, then replay with A
 * and with B loaded into the same buffers; the replays must match eager bit for bit. */
#include "tests/test_util.h"
#include "tests/gpu_util.h"
#include "tests/bf16_host.h"

#include <math.h>

#include <cuda_runtime_api.h>

/* ---- host helpers ----------------------------------------------------------------------- */

/* Uniform in [-a, a]. */
static float rnd(seam_test_rng *r, float a) {
    return a * (2.0f * (float)(seam_test_next(r) >> 40) / (float)(1ull << 24) - 1.0f);
}

static uint16_t *rand_bf16(seam_test_rng *r, size_t n, float a) {
    uint16_t *h = malloc(n * sizeof *h);
    assert_non_null(h);
    for (size_t i = 0; i < n; i++) h[i] = f2bf(rnd(r, a));
    return h;
}

static void *dev_upload(const void *h, size_t bytes) {
    void *d = dev_alloc(bytes);
    assert_int_equal(cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice), cudaSuccess);
    return d;
}

static void upload(void *d, const void *h, size_t bytes) {
    assert_int_equal(cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice), cudaSuccess);
}

static void *download(const void *d, size_t bytes) {
    void *h = malloc(bytes ? bytes : 1);
    assert_non_null(h);
    assert_int_equal(cudaDeviceSynchronize(), cudaSuccess);
    assert_int_equal(cudaMemcpy(h, d, bytes, cudaMemcpyDeviceToHost), cudaSuccess);
    return h;
}

/* got (bf16) vs ref (fp64): |got - ref| <= rtol |ref| + atol everywhere; prints the first
 * mismatch with its row and column, and the max / rms errors. */
static void expect_close(const char *what, const uint16_t *got, const double *ref, size_t n,
                         size_t cols, double rtol, double atol, double rms_tol) {
    double max_err = 0, sq = 0;
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++) {
        double g = bf2f(got[i]), e = fabs(g - ref[i]);
        if (!(e <= rtol * fabs(ref[i]) + atol)) {
            if (!bad) first = i;
            bad++;
        }
        if (e > max_err || e != e) max_err = e;
        sq += e * e;
    }
    double rms = n ? sqrt(sq / (double)n) : 0;
    printf("# %s: %zu values, max err %.3g, rms err %.3g\n", what, n, max_err, rms);
    if (bad)
        fail_msg("%s: %zu of %zu values off; first at row %zu col %zu: expected %.6g got %.6g "
                 "(tol %.3g)", what, bad, n, first / cols, first % cols, ref[first],
                 (double)bf2f(got[first]), rtol * fabs(ref[first]) + atol);
    if (rms_tol > 0 && !(rms <= rms_tol))
        fail_msg("%s: rms err %.3g exceeds %.3g", what, rms, rms_tol);
}

static void expect_bits_equal(const char *what, const void *got, const void *want, size_t bytes,
                              size_t elem) {
    const unsigned char *g = got, *w = want;
    for (size_t i = 0; i < bytes; i++)
        if (g[i] != w[i])
            fail_msg("%s: differs at element %zu (byte %zu of %zu)", what, i / elem, i, bytes);
}

static int32_t *dev_count(int n) {
    int32_t *d = dev_alloc(sizeof(int32_t));
    upload(d, &n, sizeof n);
    return d;
}

/* ---- references ------------------------------------------------------------------------- */

static void ref_hadamard(const uint16_t *x, double *out, size_t vectors, double scale) {
    for (size_t v = 0; v < vectors; v++) {
        double a[128];
        for (int i = 0; i < 128; i++) a[i] = bf2f(x[v * 128 + i]);
        for (int h = 1; h < 128; h <<= 1)
            for (int i = 0; i < 128; i += 2 * h)
                for (int j = i; j < i + h; j++) {
                    double lo = a[j], hi = a[j + h];
                    a[j] = lo + hi;
                    a[j + h] = lo - hi;
                }
        for (int i = 0; i < 128; i++) out[v * 128 + i] = a[i] * scale;
    }
}

/* x already holds the values that are normalized (the residual sum when fused). */
static void ref_norm(const uint16_t *x, const float *w, const float *b, double *out, int tokens,
                     int hidden, int layer, double eps) {
    for (int t = 0; t < tokens; t++) {
        const uint16_t *r = x + (size_t)t * hidden;
        double mean = 0, sq = 0;
        if (layer) {
            for (int i = 0; i < hidden; i++) mean += bf2f(r[i]);
            mean /= hidden;
        }
        for (int i = 0; i < hidden; i++) sq += (bf2f(r[i]) - mean) * (bf2f(r[i]) - mean);
        double inv = 1.0 / sqrt(sq / hidden + eps);
        for (int i = 0; i < hidden; i++)
            out[(size_t)t * hidden + i] =
                (bf2f(r[i]) - mean) * inv * w[i] + (layer && b ? b[i] : 0.0);
    }
}

/* In place on a double copy of x [tokens, heads, head_dim]. */
static void ref_rope(double *x, const int32_t *pos, int tokens, int heads, int head_dim, int rd,
                     int off, int interleaved, double theta, const float *cache, int cache_n) {
    int half = rd / 2;
    for (int t = 0; t < tokens; t++) {
        if (pos[t] < 0 || (cache && pos[t] >= cache_n)) continue;
        for (int h = 0; h < heads; h++) {
            double *p = x + ((size_t)t * heads + h) * head_dim + off;
            for (int i = 0; i < half; i++) {
                double c, s;
                if (cache) {
                    c = cache[(size_t)pos[t] * rd + i];
                    s = cache[(size_t)pos[t] * rd + half + i];
                } else {
                    double ang = pos[t] * pow(theta, -2.0 * i / rd);
                    c = cos(ang);
                    s = sin(ang);
                }
                int ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + half;
                double a = p[ia], b = p[ib];
                p[ia] = a * c - b * s;
                p[ib] = b * c + a * s;
            }
        }
    }
}

#define QK SEAM_MLA_QK_DIM
#define VD SEAM_MLA_V_DIM

/* out: the attention; mag: sum_j p_j |v_j| per element (the error scale). */
static void ref_sparse_attention(const uint16_t *q, const uint16_t *kv, const int32_t *idx,
                                 double *out, double *mag, int tokens, int heads, int topk,
                                 int slots, double scale) {
    double *sc = malloc((size_t)topk * sizeof *sc);
    assert_non_null(sc);
    for (int t = 0; t < tokens; t++)
        for (int h = 0; h < heads; h++) {
            const uint16_t *qq = q + ((size_t)t * heads + h) * QK;
            double m = -INFINITY, l = 0;
            for (int j = 0; j < topk; j++) {
                int s = idx[(size_t)t * topk + j];
                sc[j] = -INFINITY;
                if (s < 0 || s >= slots) continue;
                double d = 0;
                for (int c = 0; c < QK; c++) d += (double)bf2f(qq[c]) * bf2f(kv[(size_t)s * QK + c]);
                sc[j] = d * scale;
                if (sc[j] > m) m = sc[j];
            }
            double *o = out + ((size_t)t * heads + h) * VD, *g = mag + ((size_t)t * heads + h) * VD;
            for (int c = 0; c < VD; c++) o[c] = g[c] = 0;
            if (m == -INFINITY) continue;
            for (int j = 0; j < topk; j++) {
                if (sc[j] == -INFINITY) continue;
                double p = exp(sc[j] - m);
                l += p;
                int s = idx[(size_t)t * topk + j];
                for (int c = 0; c < VD; c++) {
                    double v = bf2f(kv[(size_t)s * QK + c]);
                    o[c] += p * v;
                    g[c] += p * fabs(v);
                }
            }
            for (int c = 0; c < VD; c++) {
                o[c] /= l;
                g[c] /= l;
            }
        }
    free(sc);
}

/* ---- Hadamard --------------------------------------------------------------------------- */

static void run_hadamard_case(seam_test_rng *r, int tokens, int heads, int in_place, int real,
                              float amp) {
    size_t n = (size_t)tokens * heads * 128;
    uint16_t *x = rand_bf16(r, n, amp);
    void *dx = dev_upload(x, n * 2);
    void *dout = in_place ? dx : dev_alloc(n * 2);
    if (!in_place) assert_int_equal(cudaMemset(dout, 0xff, n * 2), cudaSuccess);
    int32_t *dcount = real >= 0 ? dev_count(real) : NULL;
    seam_hadamard_params p = SEAM_HADAMARD_PARAMS_INITIALIZER;
    p.tokens = tokens;
    p.heads = heads;
    p.x = dx;
    p.out = dout;
    p.num_tokens = dcount;
    SEAM_ASSERT_OK(seam_hadamard(&p, NULL));
    uint16_t *got = download(dout, n * 2);
    int done = real >= 0 && real < tokens ? real : tokens;
    size_t n_done = (size_t)done * heads * 128;
    double *ref = malloc(n * sizeof *ref);
    ref_hadamard(x, ref, (size_t)done * heads, 1.0 / sqrt(128.0));
    /* outputs: one rounding of a value whose fp32 error is ~1e-6 of the vector's norm */
    expect_close("hadamard", got, ref, n_done, 128, 1.0 / 256, 1e-5 * amp, 0);
    /* rows past the real count are untouched */
    for (size_t i = n_done; i < n; i++)
        if (got[i] != (in_place ? x[i] : 0xffff))
            fail_msg("hadamard: padding element %zu was written", i);
    free(x);
    free(got);
    free(ref);
    cudaFree(dx);
    if (!in_place) cudaFree(dout);
    cudaFree(dcount);
}

static void test_hadamard_matches_reference(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng r = seam_test_rng_make(__func__);
    run_hadamard_case(&r, 37, 64, 0, -1, 4.0f); /* the indexer's q: [tokens, 64, 128] */
    run_hadamard_case(&r, 29, 1, 1, -1, 4.0f);  /* k: [tokens, 128], in place */
    run_hadamard_case(&r, 1, 1, 0, -1, 1e30f);  /* one token, huge values stay finite */
    run_hadamard_case(&r, 1, 3, 1, -1, 1e-30f); /* tiny values */
}

static void test_hadamard_skips_rows_past_real_count(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng r = seam_test_rng_make(__func__);
    run_hadamard_case(&r, 40, 3, 0, 17, 2.0f);
    run_hadamard_case(&r, 40, 3, 1, 0, 2.0f);
    run_hadamard_case(&r, 5, 2, 0, 99, 2.0f); /* a count past tokens is clamped */
}

static void test_hadamard_twice_is_identity_and_basis_maps_to_constant(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    uint16_t x[256] = {0};
    x[0] = f2bf(1.0f);     /* e_0 -> all 1/sqrt(128) */
    x[128 + 5] = f2bf(2.0f); /* 2 e_5 -> 2/sqrt(128) * row 5 of H */
    void *d = dev_upload(x, sizeof x);
    seam_hadamard_params p = SEAM_HADAMARD_PARAMS_INITIALIZER;
    p.tokens = 2;
    p.x = p.out = d;
    SEAM_ASSERT_OK(seam_hadamard(&p, NULL));
    uint16_t *got = download(d, sizeof x);
    for (int i = 0; i < 128; i++) {
        assert_int_equal(got[i], f2bf((float)(1.0 / sqrt(128.0))));
        int sign = __builtin_popcount((unsigned)(i & 5)) & 1 ? -1 : 1;
        assert_int_equal(got[128 + i], f2bf((float)(sign * 2.0 / sqrt(128.0))));
    }
    SEAM_ASSERT_OK(seam_hadamard(&p, NULL));
    free(got);
    got = download(d, sizeof x);
    for (int i = 0; i < 256; i++)
        if (fabs(bf2f(got[i]) - bf2f(x[i])) > 1.0 / 128)
            fail_msg("H(H(x)) != x at %d: %g vs %g", i, bf2f(got[i]), bf2f(x[i]));
    free(got);
    cudaFree(d);
}

/* ---- norms ------------------------------------------------------------------------------ */

static void run_norm_case(seam_test_rng *r, seam_norm_kind kind, int tokens, int hidden,
                          int bf16_params, int with_bias, int with_residual, int in_place,
                          int real) {
    size_t n = (size_t)tokens * hidden;
    uint16_t *x = rand_bf16(r, n, 3.0f);
    uint16_t *res = with_residual ? rand_bf16(r, n, 3.0f) : NULL;
    float *w = malloc(hidden * sizeof *w), *b = malloc(hidden * sizeof *b);
    uint16_t *wb = malloc(hidden * 2), *bb = malloc(hidden * 2);
    for (int i = 0; i < hidden; i++) {
        wb[i] = f2bf(rnd(r, 2.0f));
        bb[i] = f2bf(rnd(r, 1.0f));
        w[i] = bf2f(wb[i]); /* same values either way */
        b[i] = bf2f(bb[i]);
    }
    void *dx = dev_upload(x, n * 2);
    void *dout = in_place ? dx : dev_alloc(n * 2);
    if (!in_place) assert_int_equal(cudaMemset(dout, 0xff, n * 2), cudaSuccess);
    void *dres = res ? dev_upload(res, n * 2) : NULL;
    void *dw = bf16_params ? dev_upload(wb, hidden * 2) : dev_upload(w, hidden * 4);
    void *db = bf16_params ? dev_upload(bb, hidden * 2) : dev_upload(b, hidden * 4);
    int32_t *dcount = real >= 0 ? dev_count(real) : NULL;
    seam_norm_params p = SEAM_NORM_PARAMS_INITIALIZER;
    p.kind = kind;
    p.tokens = tokens;
    p.hidden = hidden;
    p.x = dx;
    p.out = dout;
    p.residual = dres;
    p.weight = dw;
    p.bias = with_bias ? db : NULL;
    p.param_dtype = bf16_params ? SEAM_PARAM_BF16 : SEAM_PARAM_F32;
    p.eps = 1e-6f;
    p.num_tokens = dcount;
    SEAM_ASSERT_OK(seam_norm(&p, NULL));
    uint16_t *got = download(dout, n * 2);
    int done = real >= 0 && real < tokens ? real : tokens;
    size_t n_done = (size_t)done * hidden;
    /* the normalized values: bf16(x + residual) when fused (computed as the kernel must) */
    uint16_t *src = malloc(n * 2);
    for (size_t i = 0; i < n; i++) src[i] = res && i < n_done ? f2bf(bf2f(x[i]) + bf2f(res[i])) : x[i];
    if (res) {
        uint16_t *got_res = download(dres, n * 2);
        for (size_t i = 0; i < n; i++)
            if (got_res[i] != (i < n_done ? src[i] : res[i]))
                fail_msg("residual[%zu][%zu]: expected 0x%04x got 0x%04x", i / hidden, i % hidden,
                         i < n_done ? src[i] : res[i], got_res[i]);
        free(got_res);
    }
    double *ref = malloc(n * sizeof *ref);
    ref_norm(src, w, with_bias ? b : NULL, ref, done, hidden, kind == SEAM_NORM_LAYER, 1e-6);
    char what[96];
    snprintf(what, sizeof what, "%s tokens=%d hidden=%d%s%s", kind ? "layer_norm" : "rms_norm",
             tokens, hidden, with_residual ? " +residual" : "", bf16_params ? " bf16 w" : "");
    /* one bf16 rounding of |ref| plus fp32 reduction error (~1e-6 relative) times |w| */
    expect_close(what, got, ref, n_done, (size_t)hidden, 1.0 / 256, 1e-4, 0);
    for (size_t i = n_done; i < n; i++)
        if (got[i] != (in_place ? x[i] : 0xffff)) fail_msg("%s: padding element %zu written", what, i);
    free(x); free(res); free(w); free(b); free(wb); free(bb); free(got); free(src); free(ref);
    cudaFree(dx);
    if (!in_place) cudaFree(dout);
    cudaFree(dres); cudaFree(dw); cudaFree(db); cudaFree(dcount);
}

static void test_rms_norm_matches_reference(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng r = seam_test_rng_make(__func__);
    run_norm_case(&r, SEAM_NORM_RMS, 13, 7168, 0, 0, 0, 0, -1);  /* DeepSeek hidden, vector path */
    run_norm_case(&r, SEAM_NORM_RMS, 5, 7001, 1, 0, 0, 0, -1);   /* odd hidden, scalar path */
    run_norm_case(&r, SEAM_NORM_RMS, 1, 2048, 1, 0, 0, 1, -1);   /* one token, in place */
    run_norm_case(&r, SEAM_NORM_RMS, 33, 1536, 0, 0, 0, 0, -1);  /* q_lora rank */
    run_norm_case(&r, SEAM_NORM_RMS, 9, 512, 0, 0, 0, 0, -1);    /* kv_lora rank, warp path */
    run_norm_case(&r, SEAM_NORM_RMS, 7, 1, 0, 0, 0, 0, -1);      /* hidden 1 */
    run_norm_case(&r, SEAM_NORM_RMS, 3, 16384, 0, 0, 0, 0, -1);
}

static void test_rms_norm_fused_residual_updates_residual(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng r = seam_test_rng_make(__func__);
    run_norm_case(&r, SEAM_NORM_RMS, 11, 7168, 1, 0, 1, 0, -1);
    run_norm_case(&r, SEAM_NORM_RMS, 6, 1000, 0, 0, 1, 1, -1);   /* warp path, in place */
    run_norm_case(&r, SEAM_NORM_RMS, 20, 2049, 0, 0, 1, 0, 7);   /* real count 7 of 20 */
}

static void test_layer_norm_matches_reference(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng r = seam_test_rng_make(__func__);
    run_norm_case(&r, SEAM_NORM_LAYER, 45, 128, 0, 1, 0, 0, -1); /* the indexer's k norm */
    run_norm_case(&r, SEAM_NORM_LAYER, 45, 128, 1, 1, 0, 1, -1);
    run_norm_case(&r, SEAM_NORM_LAYER, 4, 3001, 0, 0, 0, 0, -1); /* no bias, odd, block path */
    run_norm_case(&r, SEAM_NORM_LAYER, 8, 128, 0, 1, 0, 0, 3);
    run_norm_case(&r, SEAM_NORM_LAYER, 5, 256, 0, 1, 1, 0, -1);
}

static void test_layer_norm_of_large_mean_is_stable(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    /* values 1000 + small noise: E[x^2] - mean^2 would cancel in fp32 */
    seam_test_rng r = seam_test_rng_make(__func__);
    const int hidden = 128;
    uint16_t x[128];
    float w[128];
    for (int i = 0; i < hidden; i++) {
        x[i] = f2bf(1024.0f + (float)(i % 16) * 8.0f);
        w[i] = 1.0f + rnd(&r, 0.5f);
    }
    void *dx = dev_upload(x, sizeof x), *dw = dev_upload(w, sizeof w), *dout = dev_alloc(sizeof x);
    seam_norm_params p = SEAM_NORM_PARAMS_INITIALIZER;
    p.kind = SEAM_NORM_LAYER;
    p.tokens = 1;
    p.hidden = hidden;
    p.x = dx;
    p.out = dout;
    p.weight = dw;
    p.eps = 1e-6f;
    SEAM_ASSERT_OK(seam_norm(&p, NULL));
    uint16_t *got = download(dout, sizeof x);
    double ref[128];
    ref_norm(x, w, NULL, ref, 1, hidden, 1, 1e-6);
    expect_close("layer_norm large mean", got, ref, 128, 128, 1.0 / 256, 1e-4, 0);
    free(got);
    cudaFree(dx); cudaFree(dw); cudaFree(dout);
}

/* ---- RoPE ------------------------------------------------------------------------------- */

static void run_rope_case(seam_test_rng *r, int tokens, int heads, int head_dim, int rd, int off,
                          seam_rope_style style, const int32_t *positions, int use_cache,
                          int real) {
    size_t n = (size_t)tokens * heads * head_dim;
    uint16_t *x = rand_bf16(r, n, 2.0f);
    const double theta = 10000.0;
    const int cache_n = 4096;
    float *cache = NULL;
    if (use_cache) {
        cache = malloc((size_t)cache_n * rd * sizeof *cache);
        for (int p = 0; p < cache_n; p++)
            for (int i = 0; i < rd / 2; i++) {
                double ang = p * pow(theta, -2.0 * i / rd) * 0.5; /* a "scaled" table */
                cache[(size_t)p * rd + i] = (float)cos(ang);
                cache[(size_t)p * rd + rd / 2 + i] = (float)sin(ang);
            }
    }
    void *dx = dev_upload(x, n * 2);
    int32_t *dpos = dev_upload(positions, (size_t)tokens * 4);
    float *dcache = cache ? dev_upload(cache, (size_t)cache_n * rd * 4) : NULL;
    int32_t *dcount = real >= 0 ? dev_count(real) : NULL;
    seam_rope_params p = SEAM_ROPE_PARAMS_INITIALIZER;
    p.tokens = tokens;
    p.heads = heads;
    p.head_dim = head_dim;
    p.rotary_dim = rd;
    p.rotary_offset = off;
    p.x = dx;
    p.positions = dpos;
    p.style = style;
    p.theta = theta;
    p.cos_sin_cache = dcache;
    p.cache_positions = cache_n;
    p.num_tokens = dcount;
    SEAM_ASSERT_OK(seam_rope(&p, NULL));
    uint16_t *got = download(dx, n * 2);
    int done = real >= 0 && real < tokens ? real : tokens;
    double *ref = malloc(n * sizeof *ref);
    for (size_t i = 0; i < n; i++) ref[i] = bf2f(x[i]);
    ref_rope(ref, positions, done, heads, head_dim, rd, off, style == SEAM_ROPE_INTERLEAVED,
             theta, cache, cache_n);
    char what[96];
    snprintf(what, sizeof what, "rope %s rd=%d off=%d%s", style ? "interleaved" : "neox", rd, off,
             cache ? " cache" : "");
    /* one bf16 rounding; fp32 sin/cos of an exactly reduced angle add ~1e-7 |x| */
    expect_close(what, got, ref, n, (size_t)head_dim, 1.0 / 256, 1e-5, 0);
    /* everything that is not rotated is bit for bit the input */
    for (size_t i = 0; i < n; i++) {
        size_t t = i / ((size_t)heads * head_dim);
        int d = (int)(i % head_dim);
        int rotated = (int)t < done && positions[t] >= 0 && (!cache || positions[t] < cache_n) &&
                      d >= off && d < off + rd;
        if (!rotated && got[i] != x[i])
            fail_msg("%s: element token %zu dim %d changed but is not rotated", what, t, d);
    }
    free(x); free(cache); free(got); free(ref);
    cudaFree(dx); cudaFree(dpos); cudaFree(dcache); cudaFree(dcount);
}

static void test_rope_matches_reference(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng r = seam_test_rng_make(__func__);
    int32_t pos[41];
    for (int i = 0; i < 41; i++) pos[i] = seam_test_int(&r, 0, 163839);
    pos[0] = 0;
    pos[1] = 163839;
    pos[2] = 1;
    /* the indexer: neox on the first 64 of 128 dims, q [tokens, 64, 128] and k [tokens, 1, 128] */
    run_rope_case(&r, 41, 64, 128, 64, 0, SEAM_ROPE_NEOX, pos, 0, -1);
    run_rope_case(&r, 41, 1, 128, 64, 0, SEAM_ROPE_NEOX, pos, 0, -1);
    /* MLA: the 64 rope dims after 512 latent dims, interleaved */
    run_rope_case(&r, 9, 16, 576, 64, 512, SEAM_ROPE_INTERLEAVED, pos, 0, -1);
    /* one token at position 0 */
    run_rope_case(&r, 1, 3, 128, 64, 0, SEAM_ROPE_NEOX, pos, 0, -1);
}

static void test_rope_uses_cos_sin_cache_and_skips_out_of_range(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng r = seam_test_rng_make(__func__);
    int32_t pos[12];
    for (int i = 0; i < 12; i++) pos[i] = seam_test_int(&r, 0, 4095);
    pos[3] = 4096;  /* past the cache: untouched */
    pos[5] = -1;    /* negative: untouched */
    run_rope_case(&r, 12, 4, 128, 64, 0, SEAM_ROPE_NEOX, pos, 1, -1);
    run_rope_case(&r, 12, 4, 128, 32, 64, SEAM_ROPE_INTERLEAVED, pos, 1, -1);
    run_rope_case(&r, 12, 4, 128, 64, 0, SEAM_ROPE_NEOX, pos, 0, 8); /* real count 8 */
}

/* ---- token strides ---------------------------------------------------------------------- */

/* Rows that are slices of wider buffers (a fused projection's output): the kernels read and
 * write only each token's slice and leave the gaps alone. */
static void test_layers_respect_token_strides(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng r = seam_test_rng_make(__func__);
    const int T = 19;
    { /* hadamard: 3 heads in rows of 448, out in rows of 512 */
        const int xs = 448, os = 512;
        uint16_t *x = rand_bf16(&r, (size_t)T * xs, 2.0f);
        void *dx = dev_upload(x, (size_t)T * xs * 2), *dout = dev_alloc((size_t)T * os * 2);
        assert_int_equal(cudaMemset(dout, 0xff, (size_t)T * os * 2), cudaSuccess);
        seam_hadamard_params p = SEAM_HADAMARD_PARAMS_INITIALIZER;
        p.tokens = T;
        p.heads = 3;
        p.x = dx;
        p.x_token_stride = xs;
        p.out = dout;
        p.out_token_stride = os;
        SEAM_ASSERT_OK(seam_hadamard(&p, NULL));
        uint16_t *got = download(dout, (size_t)T * os * 2);
        uint16_t packed_x[3 * 128], packed_got[3 * 128];
        double ref[3 * 128];
        for (int t = 0; t < T; t++) {
            memcpy(packed_x, x + (size_t)t * xs, sizeof packed_x);
            memcpy(packed_got, got + (size_t)t * os, sizeof packed_got);
            ref_hadamard(packed_x, ref, 3, 1.0 / sqrt(128.0));
            expect_close("hadamard strided", packed_got, ref, 3 * 128, 128, 1.0 / 256, 2e-5, 0);
            for (int i = 3 * 128; i < os; i++)
                if (got[(size_t)t * os + i] != 0xffff) fail_msg("hadamard: gap of token %d written", t);
        }
        free(x); free(got); cudaFree(dx); cudaFree(dout);
    }
    { /* rms_norm: hidden 1000 in rows of 1008 (x) and 1024 (out), fused residual of 1016 */
        const int H = 1000, xs = 1008, os = 1024, rs = 1016;
        uint16_t *x = rand_bf16(&r, (size_t)T * xs, 2.0f), *res = rand_bf16(&r, (size_t)T * rs, 2.0f);
        float *w = malloc(H * sizeof *w);
        for (int i = 0; i < H; i++) w[i] = rnd(&r, 2.0f);
        void *dx = dev_upload(x, (size_t)T * xs * 2), *dres = dev_upload(res, (size_t)T * rs * 2);
        void *dw = dev_upload(w, H * 4), *dout = dev_alloc((size_t)T * os * 2);
        assert_int_equal(cudaMemset(dout, 0xff, (size_t)T * os * 2), cudaSuccess);
        seam_norm_params p = SEAM_NORM_PARAMS_INITIALIZER;
        p.tokens = T;
        p.hidden = H;
        p.x = dx;
        p.x_token_stride = xs;
        p.out = dout;
        p.out_token_stride = os;
        p.residual = dres;
        p.residual_token_stride = rs;
        p.weight = dw;
        SEAM_ASSERT_OK(seam_norm(&p, NULL));
        uint16_t *got = download(dout, (size_t)T * os * 2), *got_res = download(dres, (size_t)T * rs * 2);
        uint16_t *sum = malloc((size_t)H * 2), *row = malloc((size_t)H * 2);
        double *ref = malloc((size_t)H * sizeof *ref);
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < H; i++) {
                sum[i] = f2bf(bf2f(x[(size_t)t * xs + i]) + bf2f(res[(size_t)t * rs + i]));
                if (got_res[(size_t)t * rs + i] != sum[i])
                    fail_msg("strided residual token %d col %d: 0x%04x, expected 0x%04x", t, i,
                             got_res[(size_t)t * rs + i], sum[i]);
            }
            for (int i = H; i < rs; i++)
                if (got_res[(size_t)t * rs + i] != res[(size_t)t * rs + i])
                    fail_msg("rms_norm: residual gap of token %d written", t);
            for (int i = H; i < os; i++)
                if (got[(size_t)t * os + i] != 0xffff) fail_msg("rms_norm: out gap of token %d written", t);
            memcpy(row, got + (size_t)t * os, (size_t)H * 2);
            ref_norm(sum, w, NULL, ref, 1, H, 0, 1e-6);
            expect_close("rms_norm strided", row, ref, (size_t)H, (size_t)H, 1.0 / 256, 1e-4, 0);
        }
        free(x); free(res); free(w); free(got); free(got_res); free(sum); free(row); free(ref);
        cudaFree(dx); cudaFree(dres); cudaFree(dw); cudaFree(dout);
    }
    { /* rope: 2 heads of 128 in rows of 300, neox on the first 64 dims */
        const int xs = 300;
        uint16_t *x = rand_bf16(&r, (size_t)T * xs, 2.0f);
        int32_t pos[19];
        for (int t = 0; t < T; t++) pos[t] = seam_test_int(&r, 0, 163839);
        void *dx = dev_upload(x, (size_t)T * xs * 2);
        int32_t *dpos = dev_upload(pos, sizeof pos);
        seam_rope_params p = SEAM_ROPE_PARAMS_INITIALIZER;
        p.tokens = T;
        p.heads = 2;
        p.head_dim = 128;
        p.x = dx;
        p.x_token_stride = xs;
        p.positions = dpos;
        SEAM_ASSERT_OK(seam_rope(&p, NULL));
        uint16_t *got = download(dx, (size_t)T * xs * 2);
        double ref[256];
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < 256; i++) ref[i] = bf2f(x[(size_t)t * xs + i]);
            ref_rope(ref, &pos[t], 1, 2, 128, 64, 0, 0, 10000.0, NULL, 0);
            expect_close("rope strided", got + (size_t)t * xs, ref, 256, 128, 1.0 / 256, 1e-5, 0);
            for (int i = 256; i < xs; i++)
                if (got[(size_t)t * xs + i] != x[(size_t)t * xs + i])
                    fail_msg("rope: gap of token %d written", t);
        }
        free(x); free(got); cudaFree(dx); cudaFree(dpos);
    }
}

/* ---- sparse attention ------------------------------------------------------------------- */

typedef enum idx_pattern {
    IDX_RANDOM,      /* random slots, some duplicated, ~10% -1 */
    IDX_ALL_MASKED,  /* every index -1 (and a few out of range) */
    IDX_PREFIX       /* the first few valid, the rest -1 (a short request) */
} idx_pattern;

static void run_attention_case(seam_test_rng *r, int tokens, int heads, int topk, int slots,
                               double scale, float amp, idx_pattern pat,
                               seam_sparse_attention_kernel kernel, int real) {
    size_t nq = (size_t)tokens * heads * QK, nkv = (size_t)slots * QK;
    size_t nout = (size_t)tokens * heads * VD, nidx = (size_t)tokens * topk;
    uint16_t *q = rand_bf16(r, nq, amp), *kv = rand_bf16(r, nkv, 1.0f);
    int32_t *idx = malloc(nidx * sizeof *idx);
    for (int t = 0; t < tokens; t++)
        for (int j = 0; j < topk; j++) {
            int32_t v;
            switch (pat) {
            case IDX_RANDOM:
                v = seam_test_int(r, 0, 9) == 0 ? -1 : seam_test_int(r, 0, slots - 1);
                if (j > 0 && seam_test_int(r, 0, 15) == 0) v = idx[(size_t)t * topk + j - 1];
                break;
            case IDX_ALL_MASKED:
                v = j % 97 == 5 ? slots + j : (j % 89 == 3 ? -7 : -1);
                break;
            default:
                v = j < t + 1 ? seam_test_int(r, 0, slots - 1) : -1;
                break;
            }
            idx[(size_t)t * topk + j] = v;
        }
    void *dq = dev_upload(q, nq * 2), *dkv = dev_upload(kv, nkv * 2);
    int32_t *didx = dev_upload(idx, nidx * 4);
    void *dout = dev_alloc(nout * 2);
    assert_int_equal(cudaMemset(dout, 0xff, nout * 2), cudaSuccess);
    int32_t *dcount = real >= 0 ? dev_count(real) : NULL;
    size_t ws_bytes = 0;
    SEAM_ASSERT_OK(seam_sparse_attention_workspace_size(tokens, heads, topk, &ws_bytes));
    /* AUTO gets the workspace (split path when the shapes call for it); MMA gets none and
     * runs unsplit, so both tensor-core paths are checked */
    if (kernel != SEAM_SPARSE_ATTENTION_AUTO) ws_bytes = 0;
    void *dws = ws_bytes ? dev_alloc(ws_bytes) : NULL;
    seam_sparse_attention_params p = SEAM_SPARSE_ATTENTION_PARAMS_INITIALIZER;
    p.tokens = tokens;
    p.heads = heads;
    p.topk = topk;
    p.num_slots = slots;
    p.q = dq;
    p.kv = dkv;
    p.indices = didx;
    p.out = dout;
    p.scale = (float)scale;
    p.num_tokens = dcount;
    p.kernel = kernel;
    p.workspace = dws;
    p.workspace_bytes = ws_bytes;
    SEAM_ASSERT_OK(seam_sparse_attention(&p, NULL));
    uint16_t *got = download(dout, nout * 2);
    int done = real >= 0 && real < tokens ? real : tokens;
    size_t n_done = (size_t)done * heads * VD;
    double *ref = malloc(nout * sizeof *ref), *mag = malloc(nout * sizeof *mag);
    ref_sparse_attention(q, kv, idx, ref, mag, done, heads, topk, slots, (double)(float)scale);
    char what[128];
    snprintf(what, sizeof what, "sparse_attention kernel=%d tokens=%d heads=%d topk=%d pat=%d",
             (int)kernel, tokens, heads, topk, (int)pat);
    double max_err = 0, max_rel = 0;
    for (size_t i = 0; i < n_done; i++) {
        double e = fabs(bf2f(got[i]) - ref[i]), tol = (fabs(ref[i]) + mag[i]) / 256 + 1e-6;
        if (e > max_err || e != e) max_err = e;
        if (e / tol > max_rel || e != e) max_rel = e / tol;
        if (!(e <= tol))
            fail_msg("%s: token %zu head %zu col %zu: expected %.6g got %.6g (tol %.3g, "
                     "magnitude %.3g)", what, i / ((size_t)heads * VD), i / VD % heads, i % VD,
                     ref[i], (double)bf2f(got[i]), tol, mag[i]);
    }
    printf("# %s: max err %.3g, max err/tol %.3f\n", what, max_err, max_rel);
    if (pat == IDX_ALL_MASKED)
        for (size_t i = 0; i < n_done; i++)
            if (got[i] != 0) fail_msg("%s: element %zu is 0x%04x, not +0", what, i, got[i]);
    for (size_t i = n_done; i < nout; i++)
        if (got[i] != 0xffff) fail_msg("%s: padding element %zu was written", what, i);
    free(q); free(kv); free(idx); free(got); free(ref); free(mag);
    cudaFree(dq); cudaFree(dkv); cudaFree(didx); cudaFree(dout); cudaFree(dcount); cudaFree(dws);
}

static const seam_sparse_attention_kernel all_kernels[] = {
    SEAM_SPARSE_ATTENTION_SIMPLE, SEAM_SPARSE_ATTENTION_MMA, SEAM_SPARSE_ATTENTION_AUTO};

static void test_sparse_attention_matches_reference(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng r = seam_test_rng_make(__func__);
    const double s = 1.0 / sqrt(192.0);
    for (int k = 0; k < 3; k++) {
        seam_sparse_attention_kernel kern = all_kernels[k];
        run_attention_case(&r, 5, 16, 300, 1000, s, 1.0f, IDX_RANDOM, kern, -1);
        run_attention_case(&r, 1, 16, 64, 70, s, 1.0f, IDX_RANDOM, kern, -1);  /* 1 token */
        run_attention_case(&r, 3, 20, 129, 500, s, 1.0f, IDX_RANDOM, kern, -1); /* heads % 16 */
        run_attention_case(&r, 2, 40, 200, 700, s, 1.0f, IDX_RANDOM, kern, -1); /* 32-head groups,
                                                                    the last one 8 heads */
        run_attention_case(&r, 2, 5, 7, 9, s, 1.0f, IDX_RANDOM, kern, -1);      /* tiny */
        run_attention_case(&r, 9, 16, 256, 300, s, 1.0f, IDX_PREFIX, kern, -1); /* short rows */
    }
}

static void test_sparse_attention_topk_2048_deepseek_shapes(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng r = seam_test_rng_make(__func__);
    const double s = 1.0 / sqrt(192.0);
    for (int k = 0; k < 3; k++) {
        run_attention_case(&r, 2, 128, 2048, 5000, s, 1.0f, IDX_RANDOM, all_kernels[k], -1);
        run_attention_case(&r, 4, 16, 2048, 3000, s, 1.0f, IDX_RANDOM, all_kernels[k], -1);
    }
}

static void test_sparse_attention_sharp_softmax_is_stable(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng r = seam_test_rng_make(__func__);
    /* scores of hundreds: exp overflows unless the running max is subtracted */
    for (int k = 0; k < 3; k++)
        run_attention_case(&r, 3, 16, 512, 800, 1.0, 8.0f, IDX_RANDOM, all_kernels[k], -1);
}

static void test_sparse_attention_all_masked_outputs_zeros(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng r = seam_test_rng_make(__func__);
    for (int k = 0; k < 3; k++) {
        run_attention_case(&r, 4, 16, 2048, 100, 0.1, 1.0f, IDX_ALL_MASKED, all_kernels[k], -1);
        run_attention_case(&r, 1, 32, 33, 100, 0.1, 1.0f, IDX_ALL_MASKED, all_kernels[k], -1);
    }
}

static void test_sparse_attention_skips_tokens_past_real_count(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng r = seam_test_rng_make(__func__);
    for (int k = 0; k < 3; k++) {
        run_attention_case(&r, 16, 16, 512, 900, 0.07, 1.0f, IDX_RANDOM, all_kernels[k], 5);
        run_attention_case(&r, 8, 16, 128, 900, 0.07, 1.0f, IDX_RANDOM, all_kernels[k], 0);
    }
}

/* ---- ops: capture and replay ------------------------------------------------------------ */

typedef struct replay_buf {
    void *dev;
    const void *a, *b; /* contents for run A and run B (inputs only) */
    size_t bytes;
} replay_buf;

static seam_context *make_context(void) {
    seam_context_params cp = SEAM_CONTEXT_PARAMS_INITIALIZER;
    cp.device = 0;
    cp.max_tokens = 64;
    cp.max_batch = 4;
    cp.max_context = 200000;
    cp.page_size = 64;
    seam_context *ctx = NULL;
    SEAM_ASSERT_OK(seam_context_create(&ctx, &cp));
    return ctx;
}

/* One request of `tokens` new tokens after a prefix (positions prefix..prefix+tokens-1). */
static void set_batch(seam_context *ctx, int tokens, int prefix) {
    int32_t seq = prefix + tokens, ext = tokens;
    int32_t loc[64];
    for (int i = 0; i < tokens; i++) loc[i] = i;
    int stride = (seq + 63) / 64;
    int32_t *table = calloc((size_t)stride, sizeof *table);
    seam_batch b = SEAM_BATCH_INITIALIZER;
    b.mode = SEAM_FORWARD_EXTEND;
    b.batch_size = 1;
    b.seq_lens = &seq;
    b.extend_lens = &ext;
    b.out_cache_loc = loc;
    b.page_table = table;
    b.page_table_stride = stride;
    SEAM_ASSERT_OK(seam_context_set_batch(ctx, &b));
    free(table);
}

static void load(replay_buf *in, int nin, int which) {
    for (int i = 0; i < nin; i++) upload(in[i].dev, which ? in[i].b : in[i].a, in[i].bytes);
}

static void **run_and_read(seam_op_call *call, seam_context *ctx, replay_buf *out, int nout,
                           cudaGraphExec_t exec) {
    seam_stream s;
    SEAM_ASSERT_OK(seam_context_stream(ctx, &s));
    if (exec) assert_int_equal(cudaGraphLaunch(exec, (cudaStream_t)s), cudaSuccess);
    else SEAM_ASSERT_OK(seam_op_run(call, ctx, s));
    assert_int_equal(cudaStreamSynchronize((cudaStream_t)s), cudaSuccess);
    void **r = calloc((size_t)nout, sizeof *r);
    for (int i = 0; i < nout; i++) r[i] = download(out[i].dev, out[i].bytes);
    return r;
}

/* cudaMemset may run asynchronously on the legacy stream, which does not order with the
 * context's stream: finish it before the op runs. */
static void clear_outputs(replay_buf *out, int nout) {
    for (int i = 0; i < nout; i++)
        assert_int_equal(cudaMemset(out[i].dev, 0x5a, out[i].bytes), cudaSuccess);
    assert_int_equal(cudaDeviceSynchronize(), cudaSuccess);
}

/* Eager A, eager B; capture once; replay with A and with B: each replay equals its eager
 * run bit for bit. Batches (a_tokens, a_prefix) and (b_tokens, b_prefix) are set before the
 * A and B runs, so per-batch device values (count, positions) change between replays. */
static void check_capture_replay(const char *name, seam_op_call *call, seam_context *ctx,
                                 replay_buf *in, int nin, replay_buf *out, int nout, int a_tokens,
                                 int a_prefix, int b_tokens, int b_prefix) {
    set_batch(ctx, a_tokens, a_prefix);
    clear_outputs(out, nout);
    load(in, nin, 0);
    void **ra = run_and_read(call, ctx, out, nout, NULL);
    set_batch(ctx, b_tokens, b_prefix);
    clear_outputs(out, nout);
    load(in, nin, 1);
    void **rb = run_and_read(call, ctx, out, nout, NULL);

    seam_stream s;
    SEAM_ASSERT_OK(seam_context_stream(ctx, &s));
    cudaGraph_t graph;
    assert_int_equal(cudaStreamBeginCapture((cudaStream_t)s, cudaStreamCaptureModeThreadLocal),
                     cudaSuccess);
    seam_status st = seam_op_run(call, ctx, s);
    assert_int_equal(cudaStreamEndCapture((cudaStream_t)s, &graph), cudaSuccess);
    SEAM_ASSERT_OK(st);
    cudaGraphExec_t exec;
    assert_int_equal(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);

    for (int which = 0; which < 2; which++) {
        set_batch(ctx, which ? b_tokens : a_tokens, which ? b_prefix : a_prefix);
        clear_outputs(out, nout);
        load(in, nin, which);
        void **rg = run_and_read(call, ctx, out, nout, exec);
        for (int i = 0; i < nout; i++) {
            char what[96];
            snprintf(what, sizeof what, "%s replay %c output %d", name, which ? 'B' : 'A', i);
            expect_bits_equal(what, rg[i], which ? rb[i] : ra[i], out[i].bytes, 2);
            free(rg[i]);
        }
        free(rg);
    }
    printf("# %s: replays match eager for two inputs and batches\n", name);
    for (int i = 0; i < nout; i++) {
        free(ra[i]);
        free(rb[i]);
    }
    free(ra);
    free(rb);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
}

static const seam_op *find_op(seam_registry *reg, const char *name) {
    const seam_op *op = NULL;
    SEAM_ASSERT_OK(seam_registry_find(reg, name, &op));
    assert_true(seam_op_is_capturable(op, 0));
    return op;
}

static seam_tensor tensor(void *d, seam_dtype dt, int ndim, int64_t d0, int64_t d1, int64_t d2) {
    int64_t shape[3] = {d0, d1, d2};
    return seam_tensor_contiguous(d, dt, ndim, shape, 0);
}

static void test_layer_ops_capture_and_replay_with_new_inputs(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng r = seam_test_rng_make(__func__);
    seam_context *ctx = make_context();
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create(&reg));
    const int T = 48; /* the bucket; batches use 48 and 31 real tokens */

    { /* hadamard, out of place, [T, 64, 128] */
        size_t n = (size_t)T * 64 * 128;
        uint16_t *a = rand_bf16(&r, n, 2.0f), *b = rand_bf16(&r, n, 2.0f);
        void *dx = dev_alloc(n * 2), *dout = dev_alloc(n * 2);
        replay_buf in[] = {{dx, a, b, n * 2}}, out[] = {{dout, NULL, NULL, n * 2}};
        seam_op_call c = {find_op(reg, "hadamard"), 3,
                          {seam_arg_tensor(tensor(dx, SEAM_DTYPE_BF16, 3, T, 64, 128)),
                           seam_arg_tensor(tensor(dout, SEAM_DTYPE_BF16, 3, T, 64, 128)),
                           seam_arg_none()}, T};
        check_capture_replay("hadamard", &c, ctx, in, 1, out, 1, T, 0, 31, 5);
        free(a); free(b); cudaFree(dx); cudaFree(dout);
    }
    { /* rms_norm with fused residual, hidden 7168, bf16 weight */
        const int H = 7168;
        size_t n = (size_t)T * H;
        uint16_t *xa = rand_bf16(&r, n, 2.0f), *xb = rand_bf16(&r, n, 2.0f);
        uint16_t *ra = rand_bf16(&r, n, 2.0f), *rb = rand_bf16(&r, n, 2.0f);
        uint16_t *w = rand_bf16(&r, H, 1.0f);
        void *dx = dev_alloc(n * 2), *dres = dev_alloc(n * 2), *dout = dev_alloc(n * 2);
        void *dw = dev_upload(w, H * 2);
        replay_buf in[] = {{dx, xa, xb, n * 2}, {dres, ra, rb, n * 2}};
        replay_buf out[] = {{dout, NULL, NULL, n * 2}, {dres, NULL, NULL, n * 2}};
        seam_op_call c = {find_op(reg, "rms_norm"), 5,
                          {seam_arg_tensor(tensor(dx, SEAM_DTYPE_BF16, 2, T, H, 0)),
                           seam_arg_tensor(tensor(dw, SEAM_DTYPE_BF16, 1, H, 0, 0)),
                           seam_arg_tensor(tensor(dout, SEAM_DTYPE_BF16, 2, T, H, 0)),
                           seam_arg_tensor(tensor(dres, SEAM_DTYPE_BF16, 2, T, H, 0)),
                           seam_arg_float(1e-6)}, T};
        /* the residual is both input and output: clear_outputs then load restores it */
        check_capture_replay("rms_norm", &c, ctx, in, 2, out, 2, T, 0, 31, 0);
        free(xa); free(xb); free(ra); free(rb); free(w);
        cudaFree(dx); cudaFree(dres); cudaFree(dout); cudaFree(dw);
    }
    { /* layer_norm, the indexer's k: [T, 128], f32 weight and bias */
        size_t n = (size_t)T * 128;
        uint16_t *a = rand_bf16(&r, n, 2.0f), *b = rand_bf16(&r, n, 2.0f);
        float w[128], bias[128];
        for (int i = 0; i < 128; i++) {
            w[i] = rnd(&r, 1.0f);
            bias[i] = rnd(&r, 1.0f);
        }
        void *dx = dev_alloc(n * 2), *dout = dev_alloc(n * 2);
        void *dw = dev_upload(w, sizeof w), *db = dev_upload(bias, sizeof bias);
        replay_buf in[] = {{dx, a, b, n * 2}}, out[] = {{dout, NULL, NULL, n * 2}};
        seam_op_call c = {find_op(reg, "layer_norm"), 5,
                          {seam_arg_tensor(tensor(dx, SEAM_DTYPE_BF16, 2, T, 128, 0)),
                           seam_arg_tensor(tensor(dw, SEAM_DTYPE_F32, 1, 128, 0, 0)),
                           seam_arg_tensor(tensor(db, SEAM_DTYPE_F32, 1, 128, 0, 0)),
                           seam_arg_tensor(tensor(dout, SEAM_DTYPE_BF16, 2, T, 128, 0)),
                           seam_arg_float(1e-6)}, T};
        check_capture_replay("layer_norm", &c, ctx, in, 1, out, 1, T, 0, 31, 0);
        free(a); free(b); cudaFree(dx); cudaFree(dout); cudaFree(dw); cudaFree(db);
    }
    { /* rope in place on [T, 64, 128] with the context's positions: batch B has a prefix of
         100000 tokens, so replay B must rotate by new angles */
        size_t n = (size_t)T * 64 * 128;
        uint16_t *a = rand_bf16(&r, n, 2.0f), *b = rand_bf16(&r, n, 2.0f);
        void *dx = dev_alloc(n * 2);
        replay_buf in[] = {{dx, a, b, n * 2}}, out[] = {{dx, NULL, NULL, n * 2}};
        seam_op_call c = {find_op(reg, "rope"), 7,
                          {seam_arg_tensor(tensor(dx, SEAM_DTYPE_BF16, 3, T, 64, 128)),
                           seam_arg_none(), seam_arg_int(64), seam_arg_int(0),
                           seam_arg_float(10000.0), seam_arg_int(SEAM_ROPE_NEOX),
                           seam_arg_none()}, T};
        /* clear_outputs runs before load, so the in-place input is intact */
        check_capture_replay("rope", &c, ctx, in, 1, out, 1, T, 7, 31, 100000);
        free(a); free(b); cudaFree(dx);
    }
    { /* sparse_attention: 16 heads, topk 512 */
        const int H = 16, K = 512, S = 4000;
        size_t nq = (size_t)T * H * QK, nkv = (size_t)S * QK, nidx = (size_t)T * K;
        uint16_t *qa = rand_bf16(&r, nq, 1.0f), *qb = rand_bf16(&r, nq, 1.0f);
        uint16_t *kva = rand_bf16(&r, nkv, 1.0f), *kvb = rand_bf16(&r, nkv, 1.0f);
        int32_t *ia = malloc(nidx * 4), *ib = malloc(nidx * 4);
        for (size_t i = 0; i < nidx; i++) {
            ia[i] = seam_test_int(&r, -1, S - 1);
            ib[i] = seam_test_int(&r, -1, S - 1);
        }
        void *dq = dev_alloc(nq * 2), *dkv = dev_alloc(nkv * 2), *didx = dev_alloc(nidx * 4);
        void *dout = dev_alloc((size_t)T * H * VD * 2);
        replay_buf in[] = {{dq, qa, qb, nq * 2}, {dkv, kva, kvb, nkv * 2}, {didx, ia, ib, nidx * 4}};
        replay_buf out[] = {{dout, NULL, NULL, (size_t)T * H * VD * 2}};
        seam_op_call c = {find_op(reg, "sparse_attention"), 5,
                          {seam_arg_tensor(tensor(dq, SEAM_DTYPE_BF16, 3, T, H, QK)),
                           seam_arg_tensor(tensor(dkv, SEAM_DTYPE_BF16, 2, S, QK, 0)),
                           seam_arg_tensor(tensor(didx, SEAM_DTYPE_I32, 2, T, K, 0)),
                           seam_arg_tensor(tensor(dout, SEAM_DTYPE_BF16, 3, T, H, VD)),
                           seam_arg_float(1.0 / sqrt(192.0))}, T};
        check_capture_replay("sparse_attention", &c, ctx, in, 3, out, 1, T, 0, 31, 0);
        free(qa); free(qb); free(kva); free(kvb); free(ia); free(ib);
        cudaFree(dq); cudaFree(dkv); cudaFree(didx); cudaFree(dout);
    }
    seam_registry_destroy(reg);
    SEAM_ASSERT_OK(seam_context_destroy(ctx));
}

/* ---- CPU: argument errors --------------------------------------------------------------- */

static void test_layer_launchers_reject_bad_arguments(void **state) {
    (void)state;
    void *fake = (void *)(uintptr_t)0x1000;
    seam_hadamard_params h = SEAM_HADAMARD_PARAMS_INITIALIZER;
    h.tokens = 4;
    h.x = h.out = fake;
    h.heads = 0;
    SEAM_ASSERT_FAILS(seam_hadamard(&h, NULL), SEAM_ERR_INVALID_ARG, "params->heads=0");
    h.heads = 2;
    h.x_token_stride = 130;
    SEAM_ASSERT_FAILS(seam_hadamard(&h, NULL), SEAM_ERR_INVALID_ARG, "x_token_stride=130");
    h.x_token_stride = 0;
    h.struct_size = 8;
    SEAM_ASSERT_FAILS(seam_hadamard(&h, NULL), SEAM_ERR_INVALID_ARG, "struct_size=8");
    SEAM_ASSERT_FAILS(seam_hadamard(NULL, NULL), SEAM_ERR_INVALID_ARG, "p is NULL");

    seam_norm_params n = SEAM_NORM_PARAMS_INITIALIZER;
    n.tokens = 3;
    n.hidden = 64;
    n.x = fake;
    n.out = fake;
    n.weight = fake;
    n.bias = fake;
    SEAM_ASSERT_FAILS(seam_norm(&n, NULL), SEAM_ERR_INVALID_ARG, "RMSNorm has no bias");
    n.bias = NULL;
    n.eps = 0.f;
    SEAM_ASSERT_FAILS(seam_norm(&n, NULL), SEAM_ERR_INVALID_ARG, "params->eps=0");
    n.eps = 1e-6f;
    n.residual = fake;
    SEAM_ASSERT_FAILS(seam_norm(&n, NULL), SEAM_ERR_INVALID_ARG, "residual must not alias");
    n.residual = NULL;
    n.weight = NULL;
    SEAM_ASSERT_FAILS(seam_norm(&n, NULL), SEAM_ERR_INVALID_ARG, "p->weight is NULL");
    n.weight = fake;
    n.kind = (seam_norm_kind)7;
    SEAM_ASSERT_FAILS(seam_norm(&n, NULL), SEAM_ERR_INVALID_ARG, "params->kind=7");

    seam_rope_params rp = SEAM_ROPE_PARAMS_INITIALIZER;
    rp.tokens = 2;
    rp.x = fake;
    rp.positions = fake;
    rp.rotary_dim = 63;
    SEAM_ASSERT_FAILS(seam_rope(&rp, NULL), SEAM_ERR_INVALID_ARG, "rotary_dim=63");
    rp.rotary_dim = 64;
    rp.rotary_offset = 65;
    SEAM_ASSERT_FAILS(seam_rope(&rp, NULL), SEAM_ERR_INVALID_ARG, "exceeds head_dim=128");
    rp.rotary_offset = 0;
    rp.theta = 0.0;
    SEAM_ASSERT_FAILS(seam_rope(&rp, NULL), SEAM_ERR_INVALID_ARG, "params->theta=0");
    rp.theta = 10000.0;
    rp.positions = NULL;
    SEAM_ASSERT_FAILS(seam_rope(&rp, NULL), SEAM_ERR_INVALID_ARG, "p->positions is NULL");

    seam_sparse_attention_params a = SEAM_SPARSE_ATTENTION_PARAMS_INITIALIZER;
    a.tokens = 2;
    a.heads = 16;
    a.topk = 2048;
    a.num_slots = 100;
    a.q = a.kv = a.out = fake;
    a.indices = fake;
    a.scale = NAN;
    SEAM_ASSERT_FAILS(seam_sparse_attention(&a, NULL), SEAM_ERR_INVALID_ARG, "scale=nan");
    a.scale = 0.1f;
    a.topk = 0;
    SEAM_ASSERT_FAILS(seam_sparse_attention(&a, NULL), SEAM_ERR_INVALID_ARG, "params->topk=0");
    a.topk = 2048;
    a.num_slots = 0;
    SEAM_ASSERT_FAILS(seam_sparse_attention(&a, NULL), SEAM_ERR_INVALID_ARG, "num_slots=0");
    a.num_slots = 100;
    a.q = (void *)(uintptr_t)0x1002;
    SEAM_ASSERT_FAILS(seam_sparse_attention(&a, NULL), SEAM_ERR_INVALID_ARG, "16-byte aligned");
    a.q = fake;
    a.kernel = (seam_sparse_attention_kernel)9;
    SEAM_ASSERT_FAILS(seam_sparse_attention(&a, NULL), SEAM_ERR_INVALID_ARG, "params->kernel=9");
    size_t bytes;
    SEAM_ASSERT_FAILS(seam_sparse_attention_workspace_size(4, 0, 2048, &bytes),
                      SEAM_ERR_INVALID_ARG, "heads=0");
    /* decode splits the topk (needs workspace); a large prefill fills the GPU unsplit */
    SEAM_ASSERT_OK(seam_sparse_attention_workspace_size(1, 16, 2048, &bytes));
    assert_true(bytes > 0);
    SEAM_ASSERT_OK(seam_sparse_attention_workspace_size(512, 128, 2048, &bytes));
    assert_int_equal(bytes, 0);
    SEAM_ASSERT_OK(seam_sparse_attention_workspace_size(1, 16, 64, &bytes));
    assert_int_equal(bytes, 0); /* one tile: nothing to split */
    /* zero tokens is a valid empty launch, whatever the pointers */
    a.kernel = SEAM_SPARSE_ATTENTION_AUTO;
    a.tokens = 0;
    a.q = NULL;
    SEAM_ASSERT_OK(seam_sparse_attention(&a, NULL));
}

static seam_arg targ(seam_dtype dt, int ndim, int64_t d0, int64_t d1, int64_t d2) {
    return seam_arg_tensor(tensor((void *)(uintptr_t)0x1000, dt, ndim, d0, d1, d2));
}

static void test_layer_ops_check_shapes_and_dtypes(void **state) {
    (void)state;
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create(&reg));
    const seam_op *had, *rms, *ln, *rope, *attn;
    SEAM_ASSERT_OK(seam_registry_find(reg, "hadamard", &had));
    SEAM_ASSERT_OK(seam_registry_find(reg, "rms_norm", &rms));
    SEAM_ASSERT_OK(seam_registry_find(reg, "layer_norm", &ln));
    SEAM_ASSERT_OK(seam_registry_find(reg, "rope", &rope));
    SEAM_ASSERT_OK(seam_registry_find(reg, "sparse_attention", &attn));
    assert_string_equal(seam_op_class_string(attn), "capturable");
    assert_int_equal(attn->mutates, 1u << 3);
    assert_int_equal(rms->mutates, (1u << 2) | (1u << 3));

    seam_op_call c = {had, 3, {targ(SEAM_DTYPE_BF16, 3, 8, 64, 128), targ(SEAM_DTYPE_BF16, 3, 8, 64, 128),
                               seam_arg_none()}, 8};
    SEAM_ASSERT_OK(seam_op_call_check(&c));
    c.args[1] = targ(SEAM_DTYPE_BF16, 3, 8, 64, 64);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "x and out differ in shape");
    c.args[0] = targ(SEAM_DTYPE_BF16, 3, 8, 64, 64);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "x: shape[2]=64, expected 128");
    c.args[0] = targ(SEAM_DTYPE_F32, 2, 8, 128, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "x: dtype f32, expected bf16");

    seam_op_call n = {rms, 5, {targ(SEAM_DTYPE_BF16, 2, 8, 7168, 0), targ(SEAM_DTYPE_F32, 1, 7168, 0, 0),
                               targ(SEAM_DTYPE_BF16, 2, 8, 7168, 0), seam_arg_none(),
                               seam_arg_float(1e-6)}, 8};
    SEAM_ASSERT_OK(seam_op_call_check(&n));
    n.args[1] = targ(SEAM_DTYPE_F32, 1, 7000, 0, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&n), SEAM_ERR_INVALID_ARG, "weight: shape[0]=7000, expected 7168");
    n.args[1] = targ(SEAM_DTYPE_I32, 1, 7168, 0, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&n), SEAM_ERR_INVALID_ARG, "weight: dtype i32, expected f32");
    n.args[1] = targ(SEAM_DTYPE_BF16, 1, 7168, 0, 0);
    n.args[3] = targ(SEAM_DTYPE_BF16, 2, 8, 7168, 0); /* same fake address as x */
    SEAM_ASSERT_FAILS(seam_op_call_check(&n), SEAM_ERR_INVALID_ARG, "residual must not alias");
    n.args[3] = seam_arg_none();
    n.args[4] = seam_arg_float(0.0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&n), SEAM_ERR_INVALID_ARG, "eps=0 is not > 0");
    n.args[4] = seam_arg_float(1e-6);
    n.args[2] = targ(SEAM_DTYPE_BF16, 2, 9, 7168, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&n), SEAM_ERR_INVALID_ARG, "x and out differ in shape");

    seam_op_call l = {ln, 5, {targ(SEAM_DTYPE_BF16, 2, 8, 128, 0), targ(SEAM_DTYPE_F32, 1, 128, 0, 0),
                              targ(SEAM_DTYPE_BF16, 1, 128, 0, 0), targ(SEAM_DTYPE_BF16, 2, 8, 128, 0),
                              seam_arg_float(1e-6)}, 8};
    SEAM_ASSERT_FAILS(seam_op_call_check(&l), SEAM_ERR_INVALID_ARG, "bias: dtype bf16, expected f32");
    l.args[2] = seam_arg_none();
    SEAM_ASSERT_OK(seam_op_call_check(&l));

    seam_op_call ro = {rope, 7, {targ(SEAM_DTYPE_BF16, 3, 8, 64, 128), seam_arg_none(), seam_arg_int(64),
                                 seam_arg_int(0), seam_arg_float(10000.0), seam_arg_int(0),
                                 seam_arg_none()}, 8};
    SEAM_ASSERT_OK(seam_op_call_check(&ro));
    ro.args[2] = seam_arg_int(63);
    SEAM_ASSERT_FAILS(seam_op_call_check(&ro), SEAM_ERR_INVALID_ARG, "rotary_dim=63 is odd");
    ro.args[2] = seam_arg_int(64);
    ro.args[3] = seam_arg_int(100);
    SEAM_ASSERT_FAILS(seam_op_call_check(&ro), SEAM_ERR_INVALID_ARG, "rotary_offset=100 is not in [0, 64]");
    ro.args[3] = seam_arg_int(0);
    ro.args[1] = targ(SEAM_DTYPE_I32, 1, 7, 0, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&ro), SEAM_ERR_INVALID_ARG, "positions has 7 tokens");
    ro.args[1] = seam_arg_none();
    ro.args[6] = targ(SEAM_DTYPE_F32, 2, 4096, 32, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&ro), SEAM_ERR_INVALID_ARG, "cos_sin_cache: shape[1]=32, expected 64");
    ro.args[6] = seam_arg_none();
    ro.args[5] = seam_arg_int(2);
    SEAM_ASSERT_FAILS(seam_op_call_check(&ro), SEAM_ERR_INVALID_ARG, "style=2 is not in [0, 1]");

    seam_op_call a = {attn, 5, {targ(SEAM_DTYPE_BF16, 3, 8, 16, 576), targ(SEAM_DTYPE_BF16, 2, 1000, 576, 0),
                                targ(SEAM_DTYPE_I32, 2, 8, 2048, 0), targ(SEAM_DTYPE_BF16, 3, 8, 16, 512),
                                seam_arg_float(0.07)}, 8};
    SEAM_ASSERT_OK(seam_op_call_check(&a));
    a.args[1] = targ(SEAM_DTYPE_BF16, 3, 100, 64, 576); /* paged view */
    SEAM_ASSERT_OK(seam_op_call_check(&a));
    a.args[0] = targ(SEAM_DTYPE_BF16, 3, 8, 16, 512);
    SEAM_ASSERT_FAILS(seam_op_call_check(&a), SEAM_ERR_INVALID_ARG, "q: shape[2]=512, expected 576");
    a.args[0] = targ(SEAM_DTYPE_BF16, 3, 8, 16, 576);
    a.args[3] = targ(SEAM_DTYPE_BF16, 3, 8, 128, 512);
    SEAM_ASSERT_FAILS(seam_op_call_check(&a), SEAM_ERR_INVALID_ARG, "out: shape[1]=128, expected 16");
    a.args[3] = targ(SEAM_DTYPE_BF16, 3, 8, 16, 512);
    a.args[2] = targ(SEAM_DTYPE_F32, 2, 8, 2048, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&a), SEAM_ERR_INVALID_ARG, "indices: dtype f32, expected i32");
    a.args[2] = targ(SEAM_DTYPE_I32, 2, 3, 2048, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&a), SEAM_ERR_INVALID_ARG, "indices has 3 tokens");
    a.args[2] = targ(SEAM_DTYPE_I32, 2, 8, 2048, 0);
    a.args[4] = seam_arg_float(INFINITY);
    SEAM_ASSERT_FAILS(seam_op_call_check(&a), SEAM_ERR_INVALID_ARG, "scale=inf is not finite");
    seam_registry_destroy(reg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_launchers_reject_bad_arguments),
        cmocka_unit_test(test_layer_ops_check_shapes_and_dtypes),
        cmocka_unit_test(test_hadamard_matches_reference),
        cmocka_unit_test(test_hadamard_skips_rows_past_real_count),
        cmocka_unit_test(test_hadamard_twice_is_identity_and_basis_maps_to_constant),
        cmocka_unit_test(test_rms_norm_matches_reference),
        cmocka_unit_test(test_rms_norm_fused_residual_updates_residual),
        cmocka_unit_test(test_layer_norm_matches_reference),
        cmocka_unit_test(test_layer_norm_of_large_mean_is_stable),
        cmocka_unit_test(test_rope_matches_reference),
        cmocka_unit_test(test_rope_uses_cos_sin_cache_and_skips_out_of_range),
        cmocka_unit_test(test_layers_respect_token_strides),
        cmocka_unit_test(test_sparse_attention_matches_reference),
        cmocka_unit_test(test_sparse_attention_topk_2048_deepseek_shapes),
        cmocka_unit_test(test_sparse_attention_sharp_softmax_is_stable),
        cmocka_unit_test(test_sparse_attention_all_masked_outputs_zeros),
        cmocka_unit_test(test_sparse_attention_skips_tokens_past_real_count),
        cmocka_unit_test(test_layer_ops_capture_and_replay_with_new_inputs),
    };
    return SEAM_RUN_TESTS(tests);
}
