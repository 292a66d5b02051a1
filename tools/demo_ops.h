/* Engine-side ops of seam-demo, registered the way an inference engine registers its own
 * kernels next to seam's built-ins. Not part of libseam.
 *
 *   demo_gemm          capturable  cuBLASLt bf16 GEMM (fp32 accumulate), optionally batched
 *                                  over heads: y[t, b, y_off + o] = sum_i w[b, o, i] *
 *                                  x[t, b, x_off + i] (b = 0 for an unbatched [out, in] w).
 *                                  One algorithm per problem, chosen once among the
 *                                  heuristic's candidates for the largest row count (autotuned:
 *                                  the fastest that passes a row-invariance probe), then used
 *                                  for every row count, so a row's result does not depend on
 *                                  how many rows the call has (eager at the real count ==
 *                                  replay at the bucket, bit for bit).
 *   demo_copy_rows     capturable  y[t] = x[t] (an async device-to-device copy)
 *   demo_copy_heads    capturable  dst[t, h, dst_off + j] = src[t, h, src_off + j], j < width
 *   demo_silu_mul      capturable  y[t, i] = silu(x[t, i]) * x[t, I + i], x = [gate | up]
 *   demo_latent_store  capturable  latent cache[out_cache_loc[t]] = [kv[t, 0:512], pe[t, 0:64]]
 *                                  for the batch's real tokens only
 *   demo_q_quant       capturable  indexer q bf16 -> fp8 e4m3 with one scale per (token,
 *                                  head), folded with the raw head weights into fp32 weights
 *
 * Every capturable op reads per-batch values (real token count, cache slots) from the
 * context's device buffers, never from the host. */
#ifndef SEAM_TOOLS_DEMO_OPS_H
#define SEAM_TOOLS_DEMO_OPS_H

#include <stdint.h>

#include "seam.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The GEMM op's state: cuBLASLt handle, workspace and the per-problem algorithm cache.
 * Created on the current device; max_rows is the largest row count calls will have (the
 * candidates are the heuristic's for it). The first eager call of a problem times the
 * candidates at its row count and tries them fastest first against the row-invariance
 * probe: the GEMM also at 3/4 of its rows, the shared rows compared bit for bit; the first
 * that passes is kept. probe_bytes (>= the largest output a call writes, or 0 to skip the
 * probe) sizes the probe's buffer; without the probe the fastest candidate without split-K
 * is kept. When none passes, the problem counts as a fallback (see demo_gemm_fallbacks). */
typedef struct demo_gemm_state demo_gemm_state;

seam_status demo_gemm_state_create(demo_gemm_state **out, int max_rows, size_t probe_bytes);
seam_status demo_gemm_state_destroy(demo_gemm_state *st);
/* Problems whose algorithm could not be reused across row counts (their rows may then
 * differ between an eager run and a replay). 0 when every GEMM is row-invariant. */
int demo_gemm_fallbacks(const demo_gemm_state *st);
/* Problems the probe found not row-invariant (included in the fallbacks). */
int demo_gemm_probe_failures(const demo_gemm_state *st);
int demo_gemm_problems(const demo_gemm_state *st);
/* Problems whose autotuned algorithm is not the heuristic's first choice without split-K
 * (SEAM_LOG=info logs each problem's choice and both times). */
int demo_gemm_autotuned(const demo_gemm_state *st);

/* demo_gemm's arguments: x, w, y, then the element offsets and per-head strides. */
enum demo_gemm_arg {
    DEMO_GEMM_X = 0,
    DEMO_GEMM_W,
    DEMO_GEMM_Y,
    DEMO_GEMM_X_OFF,
    DEMO_GEMM_X_BSTRIDE,
    DEMO_GEMM_Y_OFF,
    DEMO_GEMM_Y_BSTRIDE,
    DEMO_GEMM_NUM_ARGS
};

/* demo_gemm's run (demo_gemm.c, cuBLASLt): the op's user_data is the demo_gemm_state. */
seam_status demo_gemm_run(const seam_op_call *call, seam_context *ctx, seam_stream stream);

/* Registers the demo ops (demo_ops.c). The GEMM is bound to gemm_run with gemm as its state
 * (seam-demo passes demo_gemm_run); both NULL for a host-only plan, where demo_gemm then
 * reports SEAM_ERR_NO_DEVICE if run. Planning needs no cuBLAS. */
seam_status demo_register_ops(seam_registry *reg, seam_op_run_fn gemm_run, demo_gemm_state *gemm);

/* Device helpers for the model's set-up (not ops): deterministic pseudo-random fills. */
/* bf16 values uniform in [center - scale, center + scale), from (seed, index). */
seam_status demo_fill_bf16(void *dst, int64_t n, uint64_t seed, float center, float scale,
                           seam_stream stream);
/* Elements differing bitwise between two bf16 row sets (rows x batch x width at r * ld +
 * b * bstride + j), counted into *differing_device (device memory, reset first). */
seam_status demo_count_differing(const void *a, const void *b, int rows, int64_t ld, int batch, int64_t bstride,
                                 int width, unsigned long long *differing_device, seam_stream stream);
/* Row i of dst = row slots_device[i] of src (rows of row_bytes bytes, a multiple of 4). */
seam_status demo_gather_rows(void *dst, const void *src, int64_t row_bytes, const int32_t *slots_device, int n,
                             seam_stream stream);
/* int32 dst[i] = first + i. */
seam_status demo_fill_iota(int32_t *dst, int64_t n, int32_t first, seam_stream stream);

#ifdef __cplusplus
}
#endif

#endif
