/* Registration of seam-demo's engine ops (demo_ops.h) and the GEMM op's argument check. The
 * GEMM's cuBLASLt side lives in demo_gemm.c and is bound at registration, so programs can be
 * planned (and this file tested) without cuBLAS. */
#include <string.h>

#include "ops/op_args.h"
#include "runtime/error_impl.h"
#include "tools/demo_ops.h"

seam_status demo_register_kernel_ops(seam_registry *reg); /* demo_kernels.cu */

static int64_t row_elems(const seam_tensor *t) {
    int64_t n = 1;
    for (int d = 1; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

static seam_status bad(const seam_op_call *c, const char *what, int64_t a, int64_t b) {
    return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check", "op '%s': %s (%lld vs %lld)",
                     c->op->name, what, (long long)a, (long long)b);
}

/* x [T, ...] and y [T, ...] bf16 contiguous with the call's T rows; w [out, in] or
 * [batch, out, in]; each batch's inputs and outputs inside a row. */
static seam_status gemm_check(const seam_op_call *c) {
    SEAM_TRY(seam_op_expect_tensor(c, DEMO_GEMM_X, SEAM_DTYPE_BF16, -1, 1));
    SEAM_TRY(seam_op_expect_tensor(c, DEMO_GEMM_Y, SEAM_DTYPE_BF16, -1, 1));
    SEAM_TRY(seam_op_expect_dim(c, DEMO_GEMM_X, 0, c->num_tokens));
    SEAM_TRY(seam_op_expect_dim(c, DEMO_GEMM_Y, 0, c->num_tokens));
    SEAM_TRY(seam_op_expect_tensor(c, DEMO_GEMM_W, SEAM_DTYPE_BF16, -1, 1));
    const seam_tensor *w = seam_op_tensor(c, DEMO_GEMM_W);
    if (w->ndim != 2 && w->ndim != 3) return bad(c, "w must be [out, in] or [batch, out, in]", w->ndim, 2);
    const int64_t batch = w->ndim == 3 ? w->shape[0] : 1, out = w->shape[w->ndim - 2], in = w->shape[w->ndim - 1];
    const int64_t x_ld = row_elems(seam_op_tensor(c, DEMO_GEMM_X)), y_ld = row_elems(seam_op_tensor(c, DEMO_GEMM_Y));
    const int64_t xo = seam_op_int(c, DEMO_GEMM_X_OFF), yo = seam_op_int(c, DEMO_GEMM_Y_OFF);
    const int64_t xbs = seam_op_int(c, DEMO_GEMM_X_BSTRIDE), ybs = seam_op_int(c, DEMO_GEMM_Y_BSTRIDE);
    if (xo < 0 || yo < 0 || xbs < 0 || ybs < 0)
        return bad(c, "offsets and batch strides must be >= 0", xo < yo ? xo : yo, 0);
    if (batch > 1 && (xbs < in || ybs < out))
        return bad(c, "batch strides must hold a head's in / out values", xbs < in ? xbs : ybs, xbs < in ? in : out);
    if (xo + (batch - 1) * xbs + in > x_ld)
        return bad(c, "x rows are too short for the batches' inputs", xo + (batch - 1) * xbs + in, x_ld);
    if (yo + (batch - 1) * ybs + out > y_ld)
        return bad(c, "y rows are too short for the batches' outputs", yo + (batch - 1) * ybs + out, y_ld);
    if (in > INT32_MAX || out > INT32_MAX || batch > INT32_MAX)
        return bad(c, "w is too large", in > out ? in : out, INT32_MAX);
    return SEAM_OK;
}

static seam_status gemm_unavailable(const seam_op_call *c, seam_context *ctx, seam_stream stream) {
    (void)c, (void)ctx, (void)stream;
    return seam_fail(SEAM_ERR_NO_DEVICE, "demo_gemm", "no cuBLAS state (planned without a GPU)");
}

seam_status demo_register_ops(seam_registry *reg, seam_op_run_fn gemm_run, demo_gemm_state *gemm) {
    SEAM_CHECK_PTR(reg);
    SEAM_CHECK_ARG((gemm_run == NULL) == (gemm == NULL), "gemm_run and gemm must be given together");
    seam_op op;
    memset(&op, 0, sizeof op);
    op.name = "demo_gemm";
    op.flags = SEAM_OP_CAPTURABLE;
    op.num_args = DEMO_GEMM_NUM_ARGS;
    const char *names[DEMO_GEMM_NUM_ARGS] = {"x", "w", "y", "x_off", "x_bstride", "y_off", "y_bstride"};
    for (int i = 0; i < DEMO_GEMM_NUM_ARGS; i++) {
        op.arg_kinds[i] = i < 3 ? SEAM_ARG_TENSOR : SEAM_ARG_INT;
        op.arg_names[i] = names[i];
    }
    op.mutates = 1u << DEMO_GEMM_Y;
    op.check = gemm_check;
    op.run = gemm_run ? gemm_run : gemm_unavailable;
    op.user_data = gemm;
    SEAM_TRY(seam_registry_register(reg, &op, NULL));
    return demo_register_kernel_ops(reg);
}
