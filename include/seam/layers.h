/* Layer kernels of a DSA model: the indexer's 128-dim Hadamard rotation, RMSNorm, LayerNorm,
 * RoPE, and MLA-style sparse attention over the cache slots the indexer selected.
 *
 * Common rules
 * - Tensors are device memory, bf16 unless stated, row-major; a "token stride" is the number
 *   of elements between consecutive tokens (0: the tensor is contiguous).
 * - Arithmetic is fp32 (fp64 where stated); bf16 results are rounded to nearest even once.
 * - num_tokens (optional, device int32): the real token count. Tokens at or past it are not
 *   read or written (their outputs keep whatever they held), so a graph captured for a
 *   bucket of `tokens` does only the real work on replay. NULL: all `tokens` are processed.
 * - Graph safety: every launcher checks its arguments on the host, then issues exactly one
 *   kernel launch (sparse attention: one or two) whose shape depends only on the scalar
 *   arguments, never on device data; nothing is allocated or synchronized.
 * - Params structs carry struct_size; fill them from the *_INITIALIZER macro, then set the
 *   fields. */
#ifndef SEAM_LAYERS_H
#define SEAM_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "seam/export.h"
#include "seam/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Hadamard ----------------------------------------------------------------------------
 * out[t, h, :] = scale * H_128 · x[t, h, :] for every token t < tokens and head h < heads,
 * where H_128 is the Sylvester-ordered Hadamard matrix (H_1 = [1], H_2n = [[H, H], [H, -H]],
 * entries ±1), the order of Dao's fast-hadamard-transform. The default scale 1/sqrt(128)
 * makes the transform orthonormal (and its own inverse). out may equal x (in place);
 * otherwise the two must not overlap. */
#define SEAM_HADAMARD_DIM 128
#define SEAM_HADAMARD_SCALE_128 0.08838834764831845f /* 1/sqrt(128) */

typedef struct seam_hadamard_params {
    size_t struct_size;
    int tokens;               /* >= 0 */
    int heads;                /* vectors per token, >= 1 (e.g. 64 for the indexer's q) */
    const void *x;            /* bf16 [tokens, heads, 128], heads contiguous */
    int64_t x_token_stride;   /* 0: heads * 128 */
    void *out;                /* bf16 [tokens, heads, 128]; may equal x */
    int64_t out_token_stride; /* 0: heads * 128 */
    float scale;              /* SEAM_HADAMARD_SCALE_128 by default */
    const int32_t *num_tokens;/* device, optional */
} seam_hadamard_params;

#define SEAM_HADAMARD_PARAMS_INITIALIZER \
    { sizeof(seam_hadamard_params), 0, 1, NULL, 0, NULL, 0, SEAM_HADAMARD_SCALE_128, NULL }

SEAM_API seam_status seam_hadamard(const seam_hadamard_params *params, seam_stream stream);

/* ---- RMSNorm and LayerNorm ---------------------------------------------------------------
 * For each token t (a row of `hidden` values):
 *   RMS:   y = x * rsqrt(mean(x^2) + eps) * weight
 *   LAYER: y = (x - mean(x)) * rsqrt(var(x) + eps) * weight + bias   (biased variance)
 * computed in fp32 from the bf16 inputs and rounded once to bf16.
 * Fused residual (RMS and LAYER, optional): when residual is not NULL the op first forms
 *   residual[t] <- bf16(x[t] + residual[t])
 * and normalizes that stored bf16 sum; i.e. the result equals calling the plain norm on the
 * updated residual (vLLM's fused_add_rms_norm order). out may equal x (in place); residual
 * must not overlap x or out. weight (and bias) are fp32 or bf16, [hidden]; bias NULL: 0.
 * hidden: any value >= 1 (rows of 1..1024 use one warp per row, longer rows one block). */
typedef enum seam_norm_kind {
    SEAM_NORM_RMS = 0,
    SEAM_NORM_LAYER = 1
} seam_norm_kind;

typedef enum seam_param_dtype {
    SEAM_PARAM_F32 = 0,  /* weight / bias stored as float */
    SEAM_PARAM_BF16 = 1  /* weight / bias stored as bf16 */
} seam_param_dtype;

typedef struct seam_norm_params {
    size_t struct_size;
    seam_norm_kind kind;
    int tokens;                 /* rows, >= 0 */
    int hidden;                 /* >= 1 */
    const void *x;              /* bf16 [tokens, hidden] */
    int64_t x_token_stride;     /* 0: hidden */
    void *out;                  /* bf16 [tokens, hidden]; may equal x */
    int64_t out_token_stride;   /* 0: hidden */
    void *residual;             /* bf16 [tokens, hidden] or NULL; updated in place */
    int64_t residual_token_stride; /* 0: hidden */
    const void *weight;         /* [hidden] */
    const void *bias;           /* [hidden] or NULL (LAYER only; RMS must pass NULL) */
    seam_param_dtype param_dtype; /* dtype of weight and bias */
    float eps;                  /* > 0 */
    const int32_t *num_tokens;  /* device, optional */
} seam_norm_params;

#define SEAM_NORM_PARAMS_INITIALIZER                                                        \
    { sizeof(seam_norm_params), SEAM_NORM_RMS, 0, 0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, \
      SEAM_PARAM_F32, 1e-6f, NULL }

SEAM_API seam_status seam_norm(const seam_norm_params *params, seam_stream stream);

/* ---- RoPE --------------------------------------------------------------------------------
 * In place on x [tokens, heads, head_dim]: the rotary_dim dims starting at rotary_offset of
 * every head are rotated by the angles pos * theta^(-2i / rotary_dim), i = 0..rotary_dim/2-1,
 * with pos = positions[t]. Pairs:
 *   SEAM_ROPE_NEOX        (x[i], x[i + rotary_dim/2])  -- the non-interleaved layout the
 *                         DeepSeek V3.2 indexer uses (rotate_half); the default
 *   SEAM_ROPE_INTERLEAVED (x[2i], x[2i + 1])           -- GPT-J layout, what DeepSeek's
 *                         reference code uses for MLA's 64 rope dims
 * (a, b) -> (a cos - b sin, b cos + a sin). Dims outside the rotary part are untouched.
 * Angles: with cos_sin_cache NULL they are computed in the kernel exactly (fp64 product and
 * range reduction, fp32 sin/cos), so position 163839 is as accurate as position 1. With a
 * cache (fp32 [cache_positions, rotary_dim]: cos of the rotary_dim/2 frequencies, then their
 * sin -- SGLang's cos_sin_cache layout) the engine's own tables are used bit for bit: DeepSeek
 * V3.2 scales its frequencies with YaRN, so engines running it pass their table. Positions outside [0, cache_positions) (or negative, without a cache) leave
 * the token untouched. */
typedef enum seam_rope_style {
    SEAM_ROPE_NEOX = 0,
    SEAM_ROPE_INTERLEAVED = 1
} seam_rope_style;

typedef struct seam_rope_params {
    size_t struct_size;
    int tokens;               /* >= 0 */
    int heads;                /* >= 1 */
    int head_dim;             /* elements per head */
    int rotary_dim;           /* even, rotary_offset + rotary_dim <= head_dim */
    int rotary_offset;        /* first rotated dim of each head (0 for the indexer; 512 for
                                 MLA's rope part of a 576-dim head) */
    void *x;                  /* bf16 [tokens, heads, head_dim], heads contiguous */
    int64_t x_token_stride;   /* 0: heads * head_dim */
    const int32_t *positions; /* device [tokens] */
    seam_rope_style style;
    double theta;             /* base, > 0 (e.g. 10000) */
    const float *cos_sin_cache; /* device [cache_positions, rotary_dim] or NULL */
    int cache_positions;
    const int32_t *num_tokens;/* device, optional */
} seam_rope_params;

#define SEAM_ROPE_PARAMS_INITIALIZER                                                        \
    { sizeof(seam_rope_params), 0, 1, 128, 64, 0, NULL, 0, NULL, SEAM_ROPE_NEOX, 10000.0,   \
      NULL, 0, NULL }

SEAM_API seam_status seam_rope(const seam_rope_params *params, seam_stream stream);

/* ---- Sparse attention (MLA, absorbed form) ----------------------------------------------
 * For every token t < tokens and head h < heads, over the topk cache slots s_j =
 * indices[t, j] that are valid (0 <= s_j < num_slots; -1 and anything else out of range is
 * masked and never read):
 *   score_j  = scale * q[t, h, 0:576] · kv[s_j, 0:576]
 *   out[t,h] = sum_j softmax(score)_j * kv[s_j, 0:512]
 * kv is the latent cache (512 latent dims + 64 rope dims per slot, the value is the latent
 * part). A duplicated slot counts as many times as it appears (as a gather would). A token
 * whose indices are all masked outputs zeros. fp32 online softmax; the probabilities are
 * rounded to bf16 before the value product on the tensor-core path (as FlashAttention and
 * FlashMLA do), fp32 throughout on the simple path.
 * Kernels: SIMPLE (one block per token and head, CUDA cores: the reference, any shape);
 * MMA (one block per token and 16 heads, 32 when heads >= 32: each gathered KV row is
 * staged in shared memory once for those heads, bf16 tensor cores; when tokens x head groups would leave the GPU
 * mostly idle, e.g. decode, the topk is split across blocks and a second pass combines the
 * splits; that needs seam_sparse_attention_workspace_size() bytes of workspace, and without
 * them the kernel runs unsplit); AUTO (the library's choice: MMA today).
 * Requirements: q, kv, out 16-byte aligned; tokens <= 65535. */
#define SEAM_MLA_QK_DIM 576
#define SEAM_MLA_V_DIM 512

typedef enum seam_sparse_attention_kernel {
    SEAM_SPARSE_ATTENTION_AUTO = 0,
    SEAM_SPARSE_ATTENTION_SIMPLE = 1,
    SEAM_SPARSE_ATTENTION_MMA = 2
} seam_sparse_attention_kernel;

typedef struct seam_sparse_attention_params {
    size_t struct_size;
    int tokens;               /* >= 0 */
    int heads;                /* >= 1 */
    int topk;                 /* >= 1 */
    int num_slots;            /* rows of kv, >= 1 */
    const void *q;            /* bf16 [tokens, heads, 576] */
    const void *kv;           /* bf16 [num_slots, 576] (a paged cache viewed as slots) */
    const int32_t *indices;   /* device [tokens, topk] */
    void *out;                /* bf16 [tokens, heads, 512] */
    float scale;              /* softmax scale, finite (e.g. 1/sqrt(192) for DeepSeek) */
    const int32_t *num_tokens;/* device, optional */
    seam_sparse_attention_kernel kernel;
    void *workspace;          /* device scratch for the MMA split path, or NULL */
    size_t workspace_bytes;
} seam_sparse_attention_params;

#define SEAM_SPARSE_ATTENTION_PARAMS_INITIALIZER                                             \
    { sizeof(seam_sparse_attention_params), 0, 1, 1, 0, NULL, NULL, NULL, NULL, 1.0f, NULL, \
      SEAM_SPARSE_ATTENTION_AUTO, NULL, 0 }

/* Workspace bytes the MMA kernel needs for these shapes (0 when it does not split the topk
 * across blocks). Depends on the shapes only, so a graph captured for a bucket keeps its
 * launch sequence. */
SEAM_API seam_status seam_sparse_attention_workspace_size(int tokens, int heads, int topk,
                                                          size_t *bytes);

SEAM_API seam_status seam_sparse_attention(const seam_sparse_attention_params *params,
                                           seam_stream stream);

#ifdef __cplusplus
}
#endif

#endif
