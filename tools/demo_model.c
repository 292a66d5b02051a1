/* seam-demo's model (see demo_model.h): weights, caches, and the forward as a seam program. */
#include "tools/demo_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "runtime/cuda_check.h"
#include "tools/demo_ops.h"

#define ALIGN 256
#define MLA_Q_HEAD (DEMO_QK_NOPE + DEMO_QK_ROPE) /* 192 */

static size_t round_up(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

/* The weight tensors of one set, in allocation order: elements and init (center, scale). */
typedef struct weight_spec {
    size_t offset_of; /* offsetof(demo_layer_weights, member) */
    int64_t elems;
    float center, scale;
} weight_spec;

static int weight_specs(const demo_dims *d, weight_spec *w) {
    const int64_t D = d->hidden, H = d->heads, QL = d->q_lora, I = d->inter;
    const int64_t IH = DEMO_INDEX_HEADS, HD = SEAM_INDEXER_HEAD_DIM, L = SEAM_MLA_V_DIM;
    /* uniform(-a, a) with a = sqrt(3 / in): unit-variance outputs for unit-variance inputs */
#define LIN(member, out, in) {offsetof(demo_layer_weights, member), (int64_t)(out) * (in), 0.0f, sqrtf(3.0f / (float)(in))}
#define NORM(member, n, c, s) {offsetof(demo_layer_weights, member), (int64_t)(n), c, s}
    const weight_spec specs[] = {
        NORM(attn_norm, D, 1.0f, 0.1f), NORM(q_norm, QL, 1.0f, 0.1f), NORM(kv_norm, L, 1.0f, 0.1f),
        NORM(mlp_norm, D, 1.0f, 0.1f), NORM(ik_norm_w, HD, 1.0f, 0.1f), NORM(ik_norm_b, HD, 0.0f, 0.1f),
        LIN(w_qa, QL, D), LIN(w_qb, H * MLA_Q_HEAD, QL), LIN(w_uk, H * L, DEMO_QK_NOPE),
        LIN(w_kv, L, D), LIN(w_kpe, DEMO_QK_ROPE, D), LIN(w_iq, IH * HD, QL), LIN(w_ik, HD, D),
        LIN(w_iw, IH, D), LIN(w_uv, H * DEMO_V_HEAD, L), LIN(w_o, D, H * DEMO_V_HEAD),
        LIN(w_gu, 2 * I, D), LIN(w_d, D, I),
    };
#undef LIN
#undef NORM
    int n = (int)(sizeof specs / sizeof specs[0]);
    if (w) memcpy(w, specs, sizeof specs);
    return n;
}

size_t demo_layer_weight_bytes(const demo_dims *d) {
    weight_spec w[32];
    int n = weight_specs(d, w);
    size_t bytes = 0;
    for (int i = 0; i < n; i++) bytes += round_up((size_t)w[i].elems * 2);
    return bytes;
}

size_t demo_cache_set_bytes(const demo_dims *d) {
    size_t slots = (size_t)d->num_pages * DEMO_PAGE_SIZE;
    return round_up(slots * SEAM_INDEXER_HEAD_DIM) + round_up(slots * 4) + round_up(slots * SEAM_MLA_QK_DIM * 2);
}

static seam_status dev_alloc(demo_model *m, void **p, size_t bytes) {
    if (!m->on_device) {
        *p = (void *)(uintptr_t)0x10000; /* a plan never dereferences it */
        return SEAM_OK;
    }
    SEAM_CUDA_CHECK(cudaMalloc(p, bytes));
    return SEAM_OK;
}

seam_status demo_model_create(demo_model *m, const demo_dims *d, int weight_sets, int cache_sets,
                              uint64_t seed, int on_device, seam_stream stream) {
    memset(m, 0, sizeof *m);
    m->dims = *d;
    m->on_device = on_device;
    m->weight_sets = weight_sets < 1 ? 1 : weight_sets > d->layers ? d->layers : weight_sets;
    m->cache_sets = cache_sets < 1 ? 1 : cache_sets > d->layers ? d->layers : cache_sets;
    m->weights = calloc((size_t)m->weight_sets, sizeof *m->weights);
    m->caches = calloc((size_t)m->cache_sets, sizeof *m->caches);
    if (!m->weights || !m->caches) return seam_fail(SEAM_ERR_OUT_OF_MEMORY, __func__, "host allocation failed");
    weight_spec spec[32];
    int n = weight_specs(d, spec);
    m->weight_bytes = demo_layer_weight_bytes(d) * (size_t)m->weight_sets;
    m->cache_bytes = demo_cache_set_bytes(d) * (size_t)m->cache_sets;
    for (int s = 0; s < m->weight_sets; s++) {
        void *base;
        SEAM_TRY(dev_alloc(m, &base, demo_layer_weight_bytes(d)));
        size_t off = 0;
        for (int i = 0; i < n; i++) {
            void **slot = (void **)((char *)&m->weights[s] + spec[i].offset_of);
            *slot = (char *)base + off;
            if (on_device)
                SEAM_TRY(demo_fill_bf16(*slot, spec[i].elems, seed * 1000003u + (uint64_t)(s * 64 + i),
                                        spec[i].center, spec[i].scale, stream));
            off += round_up((size_t)spec[i].elems * 2);
        }
    }
    size_t slots = (size_t)d->num_pages * DEMO_PAGE_SIZE;
    for (int s = 0; s < m->cache_sets; s++) {
        char *base;
        SEAM_TRY(dev_alloc(m, (void **)&base, demo_cache_set_bytes(d)));
        m->caches[s].k_cache = base;
        m->caches[s].k_scales = (float *)(base + round_up(slots * SEAM_INDEXER_HEAD_DIM));
        m->caches[s].latent = base + round_up(slots * SEAM_INDEXER_HEAD_DIM) + round_up(slots * 4);
    }
    SEAM_TRY(dev_alloc(m, &m->final_norm, (size_t)d->hidden * 2));
    SEAM_TRY(dev_alloc(m, &m->input, (size_t)d->max_tokens * (size_t)d->hidden * 2));
    SEAM_TRY(dev_alloc(m, &m->ik, (size_t)d->max_tokens * SEAM_INDEXER_HEAD_DIM * 2));
    if (on_device) {
        SEAM_TRY(demo_fill_bf16(m->final_norm, d->hidden, seed + 11, 1.0f, 0.1f, stream));
        /* embeddings: unit variance (uniform in [-sqrt 3, sqrt 3)) */
        SEAM_TRY(demo_fill_bf16(m->input, (int64_t)d->max_tokens * d->hidden, seed + 12, 0.0f, sqrtf(3.0f), stream));
        SEAM_CUDA_CHECK(cudaMemsetAsync(m->ik, 0, (size_t)d->max_tokens * SEAM_INDEXER_HEAD_DIM * 2,
                                        (cudaStream_t)stream));
        SEAM_CUDA_CHECK(cudaStreamSynchronize((cudaStream_t)stream));
    }
    return SEAM_OK;
}

void demo_model_destroy(demo_model *m) {
    if (m->on_device) {
        for (int s = 0; m->weights && s < m->weight_sets; s++) cudaFree(m->weights[s].attn_norm);
        for (int s = 0; m->caches && s < m->cache_sets; s++) cudaFree(m->caches[s].k_cache);
        cudaFree(m->final_norm);
        cudaFree(m->input);
        cudaFree(m->ik);
    }
    free(m->weights);
    free(m->caches);
    memset(m, 0, sizeof *m);
}

seam_status demo_model_fill_caches(demo_model *m, uint64_t seed, seam_stream stream) {
    if (!m->on_device) return SEAM_OK;
    const int64_t slots = m->dims.num_pages * DEMO_PAGE_SIZE, chunk = 65536;
    void *key;
    int32_t *loc;
    SEAM_CUDA_CHECK(cudaMalloc(&key, (size_t)chunk * SEAM_INDEXER_HEAD_DIM * 2));
    SEAM_CUDA_CHECK(cudaMalloc((void **)&loc, (size_t)chunk * 4));
    seam_status s = SEAM_OK;
    for (int c = 0; c < m->cache_sets && s == SEAM_OK; c++) {
        s = demo_fill_bf16(m->caches[c].latent, slots * SEAM_MLA_QK_DIM, seed * 7919u + (uint64_t)c, 0.0f, 1.5f, stream);
        for (int64_t first = 0; first < slots && s == SEAM_OK; first += chunk) {
            int64_t n = slots - first < chunk ? slots - first : chunk;
            s = demo_fill_bf16(key, n * SEAM_INDEXER_HEAD_DIM, seed * 104729u + (uint64_t)(c * 1000003 + first), 0.0f,
                               1.5f, stream);
            if (s == SEAM_OK) s = demo_fill_iota(loc, n, (int32_t)first, stream);
            if (s == SEAM_OK) {
                seam_indexer_k_store_params p = SEAM_INDEXER_K_STORE_PARAMS_INITIALIZER;
                p.tokens = (int)n;
                p.key = key;
                p.out_cache_loc = loc;
                p.k_cache = m->caches[c].k_cache;
                p.k_scales = m->caches[c].k_scales;
                p.num_slots = slots;
                s = seam_indexer_k_store(&p, stream);
            }
        }
    }
    cudaError_t e = cudaStreamSynchronize((cudaStream_t)stream);
    cudaFree(key);
    cudaFree(loc);
    if (s == SEAM_OK && e != cudaSuccess)
        s = seam_fail_cuda((int)e, "cudaStreamSynchronize", __FILE__, __LINE__, __func__);
    return s;
}

/* ---- the program ------------------------------------------------------------------------- */

typedef struct builder {
    seam_program *prog;
    int layer;
} builder;

static seam_status scratch(builder *b, const char *name, seam_dtype dt, int ndim, int64_t d1, int64_t d2, int *id) {
    char full[SEAM_PROGRAM_NAME_MAX];
    snprintf(full, sizeof full, "L%d.%s", b->layer, name);
    int64_t shape[3] = {0, d1, d2};
    return seam_program_add_scratch(b->prog, full, dt, ndim, shape, 0, id);
}

static seam_status external(builder *b, const char *name, void *data, seam_dtype dt, int ndim, const int64_t *shape,
                            int token_dim, int *id) {
    char full[SEAM_PROGRAM_NAME_MAX];
    if (b->layer >= 0) snprintf(full, sizeof full, "L%d.%s", b->layer, name);
    else snprintf(full, sizeof full, "%s", name);
    seam_tensor t = seam_tensor_contiguous(data, dt, ndim, shape, token_dim);
    return seam_program_add_external(b->prog, full, &t, id);
}

static seam_status weight(builder *b, const char *name, void *data, int ndim, int64_t a, int64_t c, int64_t e,
                          int *id) {
    int64_t shape[3] = {a, c, e};
    return external(b, name, data, SEAM_DTYPE_BF16, ndim, shape, SEAM_NO_TOKEN_DIM, id);
}

#define T(i) seam_program_arg_tensor(i)
#define I(v) seam_program_arg_int(v)
#define F(v) seam_program_arg_float(v)
#define NONE seam_program_arg_none()
#define CALL(op, ...)                                                                       \
    do {                                                                                    \
        seam_program_arg args_[] = {__VA_ARGS__};                                           \
        SEAM_TRY(seam_program_add_call(prog, op, (int)(sizeof args_ / sizeof args_[0]), args_, NULL)); \
    } while (0)
#define GEMM(x, w, y) CALL("demo_gemm", T(x), T(w), T(y), I(0), I(0), I(0), I(0))

seam_status demo_model_program(const demo_model *m, seam_program *prog, int *out_id) {
    const demo_dims *d = &m->dims;
    const int64_t D = d->hidden, H = d->heads, QL = d->q_lora, I = d->inter, IH = DEMO_INDEX_HEADS;
    const int64_t HD = SEAM_INDEXER_HEAD_DIM, LAT = SEAM_MLA_V_DIM, QK = SEAM_MLA_QK_DIM;
    const double eps = 1e-6;
    builder b = {prog, -1};
    int input, h, out, ik2, ik3, final_norm;
    {
        int64_t s_in[2] = {d->max_tokens, D}, s_ik2[2] = {d->max_tokens, HD}, s_ik3[3] = {d->max_tokens, 1, HD};
        int64_t s_h[2] = {0, D}, s_fn[1] = {D};
        SEAM_TRY(external(&b, "input", m->input, SEAM_DTYPE_BF16, 2, s_in, 0, &input));
        SEAM_TRY(external(&b, "indexer_k", m->ik, SEAM_DTYPE_BF16, 2, s_ik2, 0, &ik2));
        SEAM_TRY(external(&b, "indexer_k_heads", m->ik, SEAM_DTYPE_BF16, 3, s_ik3, 0, &ik3));
        SEAM_TRY(external(&b, "final_norm", m->final_norm, SEAM_DTYPE_BF16, 1, s_fn, SEAM_NO_TOKEN_DIM, &final_norm));
        SEAM_TRY(seam_program_add_tensor(prog, "h", SEAM_DTYPE_BF16, 2, s_h, 0, &h));
        SEAM_TRY(seam_program_add_tensor(prog, "out", SEAM_DTYPE_BF16, 2, s_h, 0, &out));
    }
    CALL("demo_copy_rows", T(input), T(h));
    int prev_m = -1;
    const double attn_scale = 1.0 / sqrt((double)MLA_Q_HEAD);
    const double index_scale = 1.0 / sqrt((double)IH) / sqrt((double)HD);
    for (int l = 0; l < d->layers; l++) {
        b.layer = l;
        const demo_layer_weights *w = &m->weights[l % m->weight_sets];
        const demo_cache *c = &m->caches[l % m->cache_sets];
        int an, qn, kvn, mn, ikw, ikb, wqa, wqb, wuk, wkv, wkpe, wiq, wik, wiw, wuv, wo, wgu, wd, kc, ks, lat;
        SEAM_TRY(weight(&b, "attn_norm", w->attn_norm, 1, D, 0, 0, &an));
        SEAM_TRY(weight(&b, "q_norm", w->q_norm, 1, QL, 0, 0, &qn));
        SEAM_TRY(weight(&b, "kv_norm", w->kv_norm, 1, LAT, 0, 0, &kvn));
        SEAM_TRY(weight(&b, "mlp_norm", w->mlp_norm, 1, D, 0, 0, &mn));
        SEAM_TRY(weight(&b, "ik_norm_w", w->ik_norm_w, 1, HD, 0, 0, &ikw));
        SEAM_TRY(weight(&b, "ik_norm_b", w->ik_norm_b, 1, HD, 0, 0, &ikb));
        SEAM_TRY(weight(&b, "w_qa", w->w_qa, 2, QL, D, 0, &wqa));
        SEAM_TRY(weight(&b, "w_qb", w->w_qb, 2, H * MLA_Q_HEAD, QL, 0, &wqb));
        SEAM_TRY(weight(&b, "w_uk", w->w_uk, 3, H, LAT, DEMO_QK_NOPE, &wuk));
        SEAM_TRY(weight(&b, "w_kv", w->w_kv, 2, LAT, D, 0, &wkv));
        SEAM_TRY(weight(&b, "w_kpe", w->w_kpe, 2, DEMO_QK_ROPE, D, 0, &wkpe));
        SEAM_TRY(weight(&b, "w_iq", w->w_iq, 2, IH * HD, QL, 0, &wiq));
        SEAM_TRY(weight(&b, "w_ik", w->w_ik, 2, HD, D, 0, &wik));
        SEAM_TRY(weight(&b, "w_iw", w->w_iw, 2, IH, D, 0, &wiw));
        SEAM_TRY(weight(&b, "w_uv", w->w_uv, 3, H, DEMO_V_HEAD, LAT, &wuv));
        SEAM_TRY(weight(&b, "w_o", w->w_o, 2, D, H * DEMO_V_HEAD, 0, &wo));
        SEAM_TRY(weight(&b, "w_gu", w->w_gu, 2, 2 * I, D, 0, &wgu));
        SEAM_TRY(weight(&b, "w_d", w->w_d, 2, D, I, 0, &wd));
        {
            int64_t s_kc[3] = {d->num_pages, DEMO_PAGE_SIZE, HD}, s_ks[2] = {d->num_pages, DEMO_PAGE_SIZE};
            int64_t s_lat[2] = {d->num_pages * DEMO_PAGE_SIZE, QK};
            SEAM_TRY(external(&b, "k_cache", c->k_cache, SEAM_DTYPE_FP8_E4M3, 3, s_kc, SEAM_NO_TOKEN_DIM, &kc));
            SEAM_TRY(external(&b, "k_scales", c->k_scales, SEAM_DTYPE_F32, 2, s_ks, SEAM_NO_TOKEN_DIM, &ks));
            SEAM_TRY(external(&b, "latent_cache", c->latent, SEAM_DTYPE_BF16, 2, s_lat, SEAM_NO_TOKEN_DIM, &lat));
        }
        int xn, qa, qr, qb, q, kv, kvl, kpe, iq, ikp, iw, iq8, iwf, logits, topk, attn, av, o, xn2, gu, act, mo;
        SEAM_TRY(scratch(&b, "xn", SEAM_DTYPE_BF16, 2, D, 0, &xn));
        SEAM_TRY(scratch(&b, "qa", SEAM_DTYPE_BF16, 2, QL, 0, &qa));
        SEAM_TRY(scratch(&b, "qr", SEAM_DTYPE_BF16, 2, QL, 0, &qr));
        SEAM_TRY(scratch(&b, "qb", SEAM_DTYPE_BF16, 3, H, MLA_Q_HEAD, &qb));
        SEAM_TRY(scratch(&b, "q", SEAM_DTYPE_BF16, 3, H, QK, &q));
        SEAM_TRY(scratch(&b, "kv", SEAM_DTYPE_BF16, 2, LAT, 0, &kv));
        SEAM_TRY(scratch(&b, "kv_normed", SEAM_DTYPE_BF16, 2, LAT, 0, &kvl));
        SEAM_TRY(scratch(&b, "k_pe", SEAM_DTYPE_BF16, 3, 1, DEMO_QK_ROPE, &kpe));
        SEAM_TRY(scratch(&b, "index_q", SEAM_DTYPE_BF16, 3, IH, HD, &iq));
        SEAM_TRY(scratch(&b, "index_k_proj", SEAM_DTYPE_BF16, 2, HD, 0, &ikp));
        SEAM_TRY(scratch(&b, "index_w", SEAM_DTYPE_BF16, 2, IH, 0, &iw));
        SEAM_TRY(scratch(&b, "index_q_fp8", SEAM_DTYPE_FP8_E4M3, 3, IH, HD, &iq8));
        SEAM_TRY(scratch(&b, "index_weights", SEAM_DTYPE_F32, 2, IH, 0, &iwf));
        SEAM_TRY(scratch(&b, "index_logits", SEAM_DTYPE_F32, 2, d->max_context, 0, &logits));
        SEAM_TRY(scratch(&b, "topk", SEAM_DTYPE_I32, 2, DEMO_INDEX_TOPK, 0, &topk));
        SEAM_TRY(scratch(&b, "attn", SEAM_DTYPE_BF16, 3, H, LAT, &attn));
        SEAM_TRY(scratch(&b, "attn_v", SEAM_DTYPE_BF16, 3, H, DEMO_V_HEAD, &av));
        SEAM_TRY(scratch(&b, "o", SEAM_DTYPE_BF16, 2, D, 0, &o));
        SEAM_TRY(scratch(&b, "xn2", SEAM_DTYPE_BF16, 2, D, 0, &xn2));
        SEAM_TRY(scratch(&b, "gate_up", SEAM_DTYPE_BF16, 2, 2 * I, 0, &gu));
        SEAM_TRY(scratch(&b, "act", SEAM_DTYPE_BF16, 2, I, 0, &act));
        SEAM_TRY(scratch(&b, "mlp_out", SEAM_DTYPE_BF16, 2, D, 0, &mo));

        /* attention input norm; from the 2nd layer on it also adds the MLP output into h */
        if (prev_m < 0) CALL("rms_norm", T(h), T(an), T(xn), NONE, F(eps));
        else CALL("rms_norm", T(prev_m), T(an), T(xn), T(h), F(eps));
        /* MLA query: low-rank, normed, up-projected, nope part absorbed into the latent space */
        GEMM(xn, wqa, qa);
        CALL("rms_norm", T(qa), T(qn), T(qr), NONE, F(eps));
        GEMM(qr, wqb, qb);
        CALL("demo_gemm", T(qb), T(wuk), T(q), I(0), I(MLA_Q_HEAD), I(0), I(QK));
        CALL("demo_copy_heads", T(qb), T(q), I(DEMO_QK_NOPE), I(LAT), I(DEMO_QK_ROPE));
        CALL("rope", T(q), NONE, I(DEMO_QK_ROPE), I(LAT), F(10000.0), I(SEAM_ROPE_INTERLEAVED), NONE);
        /* MLA latent kv of the new tokens into the latent cache */
        GEMM(xn, wkv, kv);
        CALL("rms_norm", T(kv), T(kvn), T(kvl), NONE, F(eps));
        GEMM(xn, wkpe, kpe);
        CALL("rope", T(kpe), NONE, I(DEMO_QK_ROPE), I(0), F(10000.0), I(SEAM_ROPE_INTERLEAVED), NONE);
        CALL("demo_latent_store", T(kvl), T(kpe), T(lat));
        /* indexer */
        GEMM(qr, wiq, iq);
        CALL("rope", T(iq), NONE, I(DEMO_QK_ROPE), I(0), F(10000.0), I(SEAM_ROPE_NEOX), NONE);
        CALL("hadamard", T(iq), T(iq), NONE);
        GEMM(xn, wik, ikp);
        CALL("layer_norm", T(ikp), T(ikw), T(ikb), T(ik2), F(eps));
        CALL("rope", T(ik3), NONE, I(DEMO_QK_ROPE), I(0), F(10000.0), I(SEAM_ROPE_NEOX), NONE);
        CALL("hadamard", T(ik3), T(ik3), NONE);
        GEMM(xn, wiw, iw);
        CALL("demo_q_quant", T(iq), T(iw), T(iq8), T(iwf), F(index_scale));
        CALL("k_cache_and_topk", T(ik2), T(iq8), T(iwf), T(kc), T(ks), T(logits), T(topk));
        /* sparse attention over the selected slots, value up-projection, output projection */
        CALL("sparse_attention", T(q), T(lat), T(topk), T(attn), F(attn_scale));
        CALL("demo_gemm", T(attn), T(wuv), T(av), I(0), I(LAT), I(0), I(DEMO_V_HEAD));
        GEMM(av, wo, o);
        /* MLP */
        CALL("rms_norm", T(o), T(mn), T(xn2), T(h), F(eps));
        GEMM(xn2, wgu, gu);
        CALL("demo_silu_mul", T(gu), T(act));
        GEMM(act, wd, mo);
        prev_m = mo;
    }
    CALL("rms_norm", T(prev_m), T(final_norm), T(out), T(h), F(eps));
    *out_id = out;
    return SEAM_OK;
}
