/* The "topk" op: binds seam_topk (kernels/topk_radix.cu) to the registry. Capturable: the
 * launch depends only on the tensors' shapes; backend, determinism and tie rule come from
 * the context's config, scratch from the context's workspace.
 *
 * Arguments (token_dim 0 on every [tokens, ...] tensor):
 *   0 scores     f32 [tokens, stride], contiguous
 *   1 lengths    i32 [tokens]
 *   2 row_starts i32 [tokens]            optional
 *   3 out        i32 [tokens, k]         written
 *   4 k          int, 1..SEAM_TOPK_MAX_K
 *   5 transform  int, seam_topk_transform
 *   6 page_table i32 [requests, stride]  PAGED (the context's device page table: its
 *                                        per-batch stride is read on the device)
 *   7 row_to_req i32 [tokens]            PAGED
 *   8 offsets    i32 [tokens]            RAGGED
 * The op applies the transform it is given; SEAM_TOPK_FUSE is for the callers (the
 * indexer) that choose whether to ask for one. */
#include <limits.h>

#include "ops/builtin_ops.h"
#include "ops/op_args.h"
#include "runtime/error_impl.h"
#include "seam/topk.h"

enum {
    ARG_SCORES = 0,
    ARG_LENGTHS,
    ARG_ROW_STARTS,
    ARG_OUT,
    ARG_K,
    ARG_TRANSFORM,
    ARG_PAGE_TABLE,
    ARG_ROW_TO_REQ,
    ARG_OFFSETS,
    TOPK_NUM_ARGS
};

static seam_status expect_rows_vector(const seam_op_call *call, int i, int64_t rows) {
    SEAM_TRY(seam_op_expect_tensor(call, i, SEAM_DTYPE_I32, 1, 1));
    return seam_op_expect_dim(call, i, 0, rows);
}

static seam_status require(const seam_op_call *call, int i, const char *why) {
    if (seam_op_tensor(call, i)) return SEAM_OK;
    return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check", "op '%s': %s needs %s",
                     call->op->name, why, call->op->arg_names[i]);
}

static seam_status topk_check(const seam_op_call *call) {
    SEAM_TRY(seam_op_expect_tensor(call, ARG_SCORES, SEAM_DTYPE_F32, 2, 1));
    const seam_tensor *scores = seam_op_tensor(call, ARG_SCORES);
    int64_t rows = scores->shape[0];
    if (scores->shape[1] < 1 || scores->shape[1] > INT_MAX || rows > INT_MAX)
        return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check",
                         "op '%s': scores: shape [%lld, %lld] is not [<= %d, 1..%d]",
                         call->op->name, (long long)rows, (long long)scores->shape[1], INT_MAX,
                         INT_MAX);
    SEAM_TRY(expect_rows_vector(call, ARG_LENGTHS, rows));
    if (seam_op_tensor(call, ARG_ROW_STARTS)) SEAM_TRY(expect_rows_vector(call, ARG_ROW_STARTS, rows));
    SEAM_TRY(seam_op_expect_int_range(call, ARG_K, 1, SEAM_TOPK_MAX_K));
    SEAM_TRY(seam_op_expect_tensor(call, ARG_OUT, SEAM_DTYPE_I32, 2, 1));
    SEAM_TRY(seam_op_expect_dim(call, ARG_OUT, 0, rows));
    SEAM_TRY(seam_op_expect_dim(call, ARG_OUT, 1, seam_op_int(call, ARG_K)));
    SEAM_TRY(seam_op_expect_int_range(call, ARG_TRANSFORM, SEAM_TOPK_TRANSFORM_NONE,
                                      SEAM_TOPK_TRANSFORM_RAGGED));
    int64_t transform = seam_op_int(call, ARG_TRANSFORM);
    if (transform == SEAM_TOPK_TRANSFORM_PAGED) {
        SEAM_TRY(require(call, ARG_PAGE_TABLE, "transform=PAGED"));
        SEAM_TRY(require(call, ARG_ROW_TO_REQ, "transform=PAGED"));
        SEAM_TRY(seam_op_expect_tensor(call, ARG_PAGE_TABLE, SEAM_DTYPE_I32, 2, 1));
        SEAM_TRY(expect_rows_vector(call, ARG_ROW_TO_REQ, rows));
    } else if (transform == SEAM_TOPK_TRANSFORM_RAGGED) {
        SEAM_TRY(require(call, ARG_OFFSETS, "transform=RAGGED"));
        SEAM_TRY(expect_rows_vector(call, ARG_OFFSETS, rows));
    }
    return SEAM_OK;
}

static const void *data_or_null(const seam_op_call *call, int i) {
    const seam_tensor *t = seam_op_tensor(call, i);
    return t ? t->data : NULL;
}

static seam_status topk_run(const seam_op_call *call, seam_context *ctx, seam_stream stream) {
    SEAM_CHECK_PTR(ctx);
    const seam_config *cfg = seam_context_config(ctx);
    SEAM_CHECK_PTR(cfg);
    const seam_tensor *scores = seam_op_tensor(call, ARG_SCORES);
    seam_topk_params p = SEAM_TOPK_PARAMS_INITIALIZER;
    p.rows = (int)scores->shape[0];
    p.stride = (int)scores->shape[1];
    p.k = (int)seam_op_int(call, ARG_K);
    p.scores = (const float *)scores->data;
    p.lengths = (const int32_t *)data_or_null(call, ARG_LENGTHS);
    p.row_starts = (const int32_t *)data_or_null(call, ARG_ROW_STARTS);
    p.out = (int32_t *)data_or_null(call, ARG_OUT);
    p.backend = cfg->topk_backend;
    p.deterministic = seam_config_topk_is_deterministic(cfg);
    p.tie_break = cfg->topk_tie_break;
    p.transform = (seam_topk_transform)seam_op_int(call, ARG_TRANSFORM);
    if (p.transform == SEAM_TOPK_TRANSFORM_PAGED) {
        const seam_tensor *pt = seam_op_tensor(call, ARG_PAGE_TABLE);
        const seam_batch_view *dev = NULL;
        p.page_table = (const int32_t *)pt->data;
        p.page_table_stride = (int)pt->shape[1];
        /* The context's page table changes stride with every batch: read it on the device. */
        if (seam_context_batch_device(ctx, &dev) == SEAM_OK && dev->page_table == pt->data)
            p.page_table_stride_device = dev->counts + SEAM_COUNT_PAGE_TABLE_STRIDE;
        seam_clear_error();
        p.row_to_req = (const int32_t *)data_or_null(call, ARG_ROW_TO_REQ);
    } else if (p.transform == SEAM_TOPK_TRANSFORM_RAGGED) {
        p.offsets = (const int32_t *)data_or_null(call, ARG_OFFSETS);
    }
    size_t need = 0;
    SEAM_TRY(seam_topk_workspace_size(p.rows, p.stride, p.k, p.backend, &need));
    if (need > 0) SEAM_TRY(seam_context_workspace(ctx, &p.workspace, &p.workspace_bytes));
    return seam_topk(&p, stream);
}

seam_status seam_register_topk_ops(seam_registry *reg) {
    seam_op op = {0};
    op.name = "topk";
    op.flags = SEAM_OP_CAPTURABLE;
    op.num_args = TOPK_NUM_ARGS;
    const seam_arg_kind kinds[TOPK_NUM_ARGS] = {
        SEAM_ARG_TENSOR, SEAM_ARG_TENSOR, SEAM_ARG_TENSOR, SEAM_ARG_TENSOR, SEAM_ARG_INT,
        SEAM_ARG_INT,    SEAM_ARG_TENSOR, SEAM_ARG_TENSOR, SEAM_ARG_TENSOR};
    const char *names[TOPK_NUM_ARGS] = {"scores", "lengths",   "row_starts", "out",    "k",
                                        "transform", "page_table", "row_to_req", "offsets"};
    for (int i = 0; i < TOPK_NUM_ARGS; i++) {
        op.arg_kinds[i] = kinds[i];
        op.arg_names[i] = names[i];
    }
    op.optional_args = (1u << ARG_ROW_STARTS) | (1u << ARG_PAGE_TABLE) | (1u << ARG_ROW_TO_REQ) |
                       (1u << ARG_OFFSETS);
    op.mutates = 1u << ARG_OUT;
    op.check = topk_check;
    op.run = topk_run;
    return seam_registry_register(reg, &op, NULL);
}
