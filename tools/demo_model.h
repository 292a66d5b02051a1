/* seam-demo's model: a DeepSeek-V3.2-shaped DSA decoder with random weights, described as a
 * seam program (tools/demo_ops.h for the engine ops it uses next to seam's built-ins).
 *
 * Per layer (T tokens, D hidden, H heads, QL q-LoRA rank, I MLP width):
 *   xn   = rms_norm(h)                       (fused residual add from the 2nd layer on)
 *   qr   = rms_norm(xn W_qa)                 [T, QL]
 *   qb   = qr W_qb                           [T, H, 192]   (128 nope + 64 rope per head)
 *   q    = [qb_nope W_uk_h | qb_rope]        [T, H, 576]   (absorbed MLA query, bmm + copy)
 *   rope(q[..., 512:576], interleaved)
 *   kv   = rms_norm(xn W_kv) [T, 512], pe = rope(xn W_kpe) [T, 64]
 *   latent cache[out_cache_loc] = [kv | pe]                (engine op)
 *   indexer: iq = hadamard(rope(qr W_iq)) [T, 64, 128]; ik = hadamard(rope(layer_norm(xn W_ik)));
 *            iw = xn W_iw [T, 64]; (iq8, iwf) = fp8 quant(iq, iw)
 *            topk = k_cache_and_topk(ik, iq8, iwf, k cache)   (split unless graph-safe)
 *   attn = sparse_attention(q, latent cache, topk)            [T, H, 512]
 *   o    = (attn W_uv_h) W_o                                 [T, D]
 *   xn2  = rms_norm(o + h -> h);  m = (silu(xn2 W_g) * (xn2 W_u)) W_d
 * and a final rms_norm(m + h -> h) into the output. The k cache is paged (page size 64) fp8
 * with fp32 scales; the latent cache is [slots, 576] bf16 with the same slot numbering.
 *
 * Weights and caches are device buffers the demo owns (external tensors of the program);
 * when the requested size does not fit on the device, layers share weight sets (and cache
 * sets) round-robin; the plan says so. */
#ifndef SEAM_TOOLS_DEMO_MODEL_H
#define SEAM_TOOLS_DEMO_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "seam.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DEMO_PAGE_SIZE 64
#define DEMO_INDEX_HEADS 64
#define DEMO_INDEX_TOPK 2048
#define DEMO_QK_NOPE 128
#define DEMO_QK_ROPE 64
#define DEMO_V_HEAD 128

typedef struct demo_dims {
    int layers, hidden, heads, q_lora, inter;
    int max_tokens;   /* rows of the input buffer (the contexts' max_tokens) */
    int max_context;  /* logits columns (the contexts' max_context) */
    int64_t num_pages;/* k cache pages (and latent cache slots / 64) */
} demo_dims;

typedef struct demo_layer_weights {
    void *attn_norm, *q_norm, *kv_norm, *mlp_norm;       /* bf16 [D], [QL], [512], [D] */
    void *ik_norm_w, *ik_norm_b;                         /* bf16 [128] */
    void *w_qa, *w_qb, *w_uk, *w_kv, *w_kpe;             /* bf16, [out, in] */
    void *w_iq, *w_ik, *w_iw;
    void *w_uv, *w_o, *w_gu, *w_d;
} demo_layer_weights;

typedef struct demo_cache {
    void *k_cache;   /* fp8 [pages, 64, 128] */
    float *k_scales; /* [pages, 64] */
    void *latent;    /* bf16 [pages * 64, 576] */
} demo_cache;

typedef struct demo_model {
    demo_dims dims;
    int weight_sets, cache_sets;
    demo_layer_weights *weights; /* [weight_sets] */
    demo_cache *caches;          /* [cache_sets] */
    void *final_norm;            /* bf16 [D] */
    void *input;                 /* bf16 [max_tokens, D]: the forward's embeddings */
    void *ik;                    /* bf16 [max_tokens, 128]: indexer key scratch, 2 views */
    int on_device;               /* 0: placeholder addresses for a host plan */
    size_t weight_bytes, cache_bytes;
} demo_model;

/* Bytes of one weight set and of one cache set. */
size_t demo_layer_weight_bytes(const demo_dims *d);
size_t demo_cache_set_bytes(const demo_dims *d);

/* Allocates and fills the model (deterministic from seed) on the current device, with at
 * most weight_sets / cache_sets distinct sets (clipped to layers). on_device = 0 gives a
 * model with placeholder addresses for planning without a GPU. */
seam_status demo_model_create(demo_model *m, const demo_dims *d, int weight_sets, int cache_sets,
                              uint64_t seed, int on_device, seam_stream stream);
void demo_model_destroy(demo_model *m);

/* Fills every cache slot with random keys (stored through seam_indexer_k_store, so the fp8
 * format is exactly what the store op writes) and random latent vectors: the cached
 * prefixes the indexer scores. */
seam_status demo_model_fill_caches(demo_model *m, uint64_t seed, seam_stream stream);

/* Appends the forward to prog (ops from a registry with the demo ops registered). *out_id is
 * the final hidden state [T, D] (a persistent arena tensor). */
seam_status demo_model_program(const demo_model *m, seam_program *prog, int *out_id);

#ifdef __cplusplus
}
#endif

#endif
