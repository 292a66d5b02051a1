/* Communicator ops: the rank-0 top-k broadcast and the per-layer determinism digest, and the
 * public digest entry point that binds a seam_digest layer to the digest kernel.
 *
 * topk_broadcast is CAPTURABLE: NCCL kernels can be captured in CUDA graphs since NCCL 2.9,
 * the call is one fixed-size ncclBroadcast on the given stream (the whole [rows, k] tensor:
 * in a graph its bucket-padded rows travel too, which costs bytes but keeps the launch
 * fixed), and nothing waits inside capture. topk_broadcast_split is the same op registered
 * as SPLIT, for communicators that cannot capture collectives (seam_comm_can_capture says
 * 0: NCCL older than 2.9, or an engine whose communicator must not be captured); the graph
 * builder then runs it eagerly between pieces, where it waits with dead-peer detection. */
#include "ops/builtin_ops.h"
#include "ops/op_args.h"

#include "kernels/topk_digest.h"
#include "runtime/comm_impl.h"
#include "runtime/error_impl.h"

seam_status seam_topk_digest(seam_digest *digest, int layer, const int32_t *topk, int rows, int k,
                             const int32_t *real_rows, seam_stream stream) {
    SEAM_CHECK_PTR(digest);
    SEAM_CHECK_PTR(topk);
    SEAM_CHECK_ARG(layer >= 0 && layer < digest->num_layers, "layer=%d is not in [0, num_layers=%d)",
                   layer, digest->num_layers);
    SEAM_CHECK_ARG(rows >= 1 && rows <= digest->max_rows, "rows=%d is not in [1, max_rows=%d]",
                   rows, digest->max_rows);
    SEAM_CHECK_ARG(k >= 1, "k=%d is not positive", k);
    return seam_topk_digest_launch(topk, rows, k, real_rows, seam_digest_row_hashes(digest, layer),
                                   seam_digest_layer_entry(digest, layer), stream);
}

enum { BCAST_TOPK = 0, BCAST_COMM = 1 };

static seam_status check_topk_broadcast(const seam_op_call *call) {
    SEAM_TRY(seam_op_expect_tensor(call, BCAST_TOPK, SEAM_DTYPE_I32, 2, 1));
    if (call->args[BCAST_COMM].u.ptr == NULL)
        return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check", "op '%s': comm is NULL",
                         call->op->name);
    return SEAM_OK;
}

static seam_status run_topk_broadcast(const seam_op_call *call, seam_context *ctx,
                                      seam_stream stream) {
    const seam_config *cfg = seam_context_config(ctx);
    if (cfg == NULL || !cfg->topk_broadcast) return SEAM_OK; /* SEAM_TOPK_BROADCAST=0 */
    seam_comm *comm = (seam_comm *)call->args[BCAST_COMM].u.ptr;
    int device;
    SEAM_TRY(seam_context_device(ctx, &device));
    if (comm->api != NULL && device != comm->device)
        return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_run", "op '%s': the context is on device "
                         "%d, the communicator on device %d", call->op->name, device, comm->device);
    const seam_tensor *t = seam_op_tensor(call, BCAST_TOPK);
    size_t count = (size_t)t->shape[0] * (size_t)t->shape[1];
    return seam_comm_broadcast(comm, t->data, count, SEAM_DTYPE_I32, 0, stream);
}

enum { DIGEST_TOPK = 0, DIGEST_STATE = 1, DIGEST_LAYER = 2 };

static seam_status check_topk_digest(const seam_op_call *call) {
    SEAM_TRY(seam_op_expect_tensor(call, DIGEST_TOPK, SEAM_DTYPE_I32, 2, 1));
    const seam_digest *d = (const seam_digest *)call->args[DIGEST_STATE].u.ptr;
    if (d == NULL)
        return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check", "op '%s': digest is NULL",
                         call->op->name);
    return seam_op_expect_int_range(call, DIGEST_LAYER, 0, d->num_layers - 1);
}

/* Hashes only the batch's real rows: the count comes from the context's device counts, so a
 * padded replay and an eager forward of the same batch give the same digest. */
static seam_status run_topk_digest(const seam_op_call *call, seam_context *ctx, seam_stream stream) {
    const seam_batch_view *view;
    SEAM_TRY(seam_context_batch_device(ctx, &view));
    seam_digest *digest = (seam_digest *)call->args[DIGEST_STATE].u.ptr;
    int device;
    SEAM_TRY(seam_context_device(ctx, &device));
    if (device != digest->device)
        return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_run", "op '%s': the context is on device "
                         "%d, the digest on device %d", call->op->name, device, digest->device);
    const seam_tensor *t = seam_op_tensor(call, DIGEST_TOPK);
    return seam_topk_digest(digest,
                            (int)seam_op_int(call, DIGEST_LAYER), (const int32_t *)t->data,
                            (int)t->shape[0], (int)t->shape[1],
                            view->counts + SEAM_COUNT_TOPK_ROWS, stream);
}

seam_status seam_register_comm_ops(seam_registry *reg) {
    seam_op bcast = {0};
    bcast.name = "topk_broadcast";
    bcast.flags = SEAM_OP_CAPTURABLE;
    bcast.num_args = 2;
    bcast.arg_kinds[BCAST_TOPK] = SEAM_ARG_TENSOR;
    bcast.arg_kinds[BCAST_COMM] = SEAM_ARG_PTR;
    bcast.arg_names[BCAST_TOPK] = "topk";
    bcast.arg_names[BCAST_COMM] = "comm";
    bcast.mutates = 1u << BCAST_TOPK;
    bcast.check = check_topk_broadcast;
    bcast.run = run_topk_broadcast;
    SEAM_TRY(seam_registry_register(reg, &bcast, NULL));

    seam_op split = bcast;
    split.name = "topk_broadcast_split";
    split.flags = SEAM_OP_SPLIT;
    SEAM_TRY(seam_registry_register(reg, &split, NULL));

    seam_op digest = {0};
    digest.name = "topk_digest";
    digest.flags = SEAM_OP_CAPTURABLE;
    digest.num_args = 3;
    digest.arg_kinds[DIGEST_TOPK] = SEAM_ARG_TENSOR;
    digest.arg_kinds[DIGEST_STATE] = SEAM_ARG_PTR;
    digest.arg_kinds[DIGEST_LAYER] = SEAM_ARG_INT;
    digest.arg_names[DIGEST_TOPK] = "topk";
    digest.arg_names[DIGEST_STATE] = "digest";
    digest.arg_names[DIGEST_LAYER] = "layer";
    digest.mutates = 1u << DIGEST_STATE;
    digest.check = check_topk_digest;
    digest.run = run_topk_digest;
    return seam_registry_register(reg, &digest, NULL);
}
