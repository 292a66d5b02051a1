/* Toy ops (see toy_ops.h). Each kernel is an elementwise grid-stride loop over a
 * [tokens, width] f32 tensor: the point is a realistic launch sequence for the graph
 * builder, not arithmetic. Capturable forms take their shape from num_tokens (the bucket)
 * and read per-batch values on the device; split forms may read host values. */
#include "tools/toy_ops.h"

#include "ops/op_args.h"
#include "runtime/cuda_check.h"

namespace {

constexpr int kThreads = 256;

int blocks_for(int64_t n) {
    int64_t b = (n + kThreads - 1) / kThreads;
    return (int)(b < 1 ? 1 : (b > 1024 ? 1024 : b));
}

__global__ void affine_kernel(const float *x, float *y, int64_t n, float a, float b) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = a * x[i] + b;
}

__global__ void add_kernel(const float *x, const float *z, float *y, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = x[i] + z[i];
}

__global__ void positions_kernel(const float *x, float *y, int64_t rows, int64_t width,
                                 const int32_t *counts, const int32_t *positions) {
    int real = counts[SEAM_COUNT_TOKENS];
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < rows * width;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t t = i / width;
        y[i] = t < real ? x[i] + 0.001f * (float)positions[t] : x[i];
    }
}

/* real < 0: read the real count from the device counts (graph-safe form). */
__global__ void split_kernel(const float *x, float *y, int64_t rows, int64_t width, int real,
                             const int32_t *counts) {
    if (real < 0) real = counts[SEAM_COUNT_TOKENS];
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < rows * width;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t t = i / width;
        y[i] = t < real ? 0.5f * x[i] + (float)real : 0.0f;
    }
}

seam_status check_xy(const seam_op_call *call) {
    SEAM_TRY(seam_op_expect_tensor(call, 0, SEAM_DTYPE_F32, 2, 1));
    SEAM_TRY(seam_op_expect_tensor(call, 1, SEAM_DTYPE_F32, 2, 1));
    SEAM_TRY(seam_op_expect_dim(call, 0, 0, call->num_tokens));
    SEAM_TRY(seam_op_expect_dim(call, 1, 0, call->num_tokens));
    return seam_op_expect_dim(call, 1, 1, seam_op_tensor(call, 0)->shape[1]);
}

seam_status check_add(const seam_op_call *call) {
    SEAM_TRY(check_xy(call));
    SEAM_TRY(seam_op_expect_tensor(call, 2, SEAM_DTYPE_F32, 2, 1));
    SEAM_TRY(seam_op_expect_dim(call, 2, 0, call->num_tokens));
    return seam_op_expect_dim(call, 2, 1, seam_op_tensor(call, 0)->shape[1]);
}

const float *in(const seam_op_call *c, int i) { return (const float *)seam_op_tensor(c, i)->data; }
float *out(const seam_op_call *c, int i) { return (float *)seam_op_tensor(c, i)->data; }
int64_t width(const seam_op_call *c) { return seam_op_tensor(c, 0)->shape[1]; }

seam_status run_affine(const seam_op_call *c, seam_context *, seam_stream stream) {
    int64_t n = (int64_t)c->num_tokens * width(c);
    if (n == 0) return SEAM_OK;
    affine_kernel<<<blocks_for(n), kThreads, 0, (cudaStream_t)stream>>>(
        in(c, 0), out(c, 1), n, (float)seam_op_float(c, 2), (float)seam_op_float(c, 3));
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

seam_status run_add(const seam_op_call *c, seam_context *, seam_stream stream) {
    int64_t n = (int64_t)c->num_tokens * width(c);
    if (n == 0) return SEAM_OK;
    add_kernel<<<blocks_for(n), kThreads, 0, (cudaStream_t)stream>>>(in(c, 0), in(c, 2), out(c, 1), n);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

seam_status run_positions(const seam_op_call *c, seam_context *ctx, seam_stream stream) {
    const seam_batch_view *dev;
    SEAM_TRY(seam_context_batch_device(ctx, &dev));
    int64_t n = (int64_t)c->num_tokens * width(c);
    if (n == 0) return SEAM_OK;
    positions_kernel<<<blocks_for(n), kThreads, 0, (cudaStream_t)stream>>>(
        in(c, 0), out(c, 1), c->num_tokens, width(c), dev->counts, dev->positions);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

/* Eager: the real count comes from the host view and becomes a kernel argument. */
seam_status run_split(const seam_op_call *c, seam_context *ctx, seam_stream stream) {
    const seam_batch_view *host, *dev;
    SEAM_TRY(seam_context_batch_host(ctx, &host));
    SEAM_TRY(seam_context_batch_device(ctx, &dev));
    int real = host->counts[SEAM_COUNT_TOKENS];
    int64_t n = (int64_t)c->num_tokens * width(c);
    if (n == 0) return SEAM_OK;
    split_kernel<<<blocks_for(n), kThreads, 0, (cudaStream_t)stream>>>(in(c, 0), out(c, 1), c->num_tokens,
                                                                        width(c), real, dev->counts);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

seam_status run_split_graph_safe(const seam_op_call *c, seam_context *ctx, seam_stream stream) {
    const seam_batch_view *dev;
    SEAM_TRY(seam_context_batch_device(ctx, &dev));
    int64_t n = (int64_t)c->num_tokens * width(c);
    if (n == 0) return SEAM_OK;
    split_kernel<<<blocks_for(n), kThreads, 0, (cudaStream_t)stream>>>(in(c, 0), out(c, 1), c->num_tokens,
                                                                        width(c), -1, dev->counts);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

/* Wrong on purpose: a synchronize is illegal while the stream is being captured. */
seam_status run_unsafe(const seam_op_call *c, seam_context *ctx, seam_stream stream) {
    SEAM_CUDA_CHECK(cudaStreamSynchronize((cudaStream_t)stream));
    return run_affine(c, ctx, stream);
}

seam_op make_op(const char *name, uint32_t flags, int num_args, seam_op_check_fn check, seam_op_run_fn run) {
    seam_op op = {};
    op.name = name;
    op.flags = flags;
    op.num_args = num_args;
    op.arg_names[0] = "x";
    op.arg_names[1] = "y";
    op.arg_kinds[0] = op.arg_kinds[1] = SEAM_ARG_TENSOR;
    op.mutates = 1u << 1;
    op.check = check;
    op.run = run;
    return op;
}

}  // namespace

extern "C" seam_status toy_register_ops(seam_registry *reg) {
    seam_op affine = make_op("toy_affine", SEAM_OP_CAPTURABLE, 4, check_xy, run_affine);
    affine.arg_kinds[2] = affine.arg_kinds[3] = SEAM_ARG_FLOAT;
    affine.arg_names[2] = "a";
    affine.arg_names[3] = "b";
    seam_op unsafe = affine;
    unsafe.name = "toy_unsafe";
    unsafe.run = run_unsafe;
    seam_op add = make_op("toy_add", SEAM_OP_CAPTURABLE, 3, check_add, run_add);
    add.arg_kinds[2] = SEAM_ARG_TENSOR;
    add.arg_names[2] = "z";
    seam_op positions = make_op("toy_positions", SEAM_OP_CAPTURABLE, 2, check_xy, run_positions);
    seam_op split = make_op("toy_split", SEAM_OP_SPLIT, 2, check_xy, run_split);
    seam_op indexer = make_op("toy_indexer", SEAM_OP_CAPTURABLE_WHEN_GRAPH_SAFE, 2, check_xy, run_split);
    indexer.run_graph_safe = run_split_graph_safe;
    const seam_op *all[] = {&affine, &add, &positions, &split, &indexer, &unsafe};
    for (const seam_op *op : all) SEAM_TRY(seam_registry_register(reg, op, NULL));
    return SEAM_OK;
}

namespace {

__global__ void gate_kernel(volatile int *flag, int *timed_out, long long timeout_ns) {
    long long start;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
    for (;;) {
        if (*flag) return;
        long long now;
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
        if (now - start > timeout_ns) {
            *timed_out = 1;
            return;
        }
    }
}

}  // namespace

extern "C" seam_status toy_gate(seam_stream stream, volatile int *flag, int *timed_out, int timeout_ms) {
    gate_kernel<<<1, 1, 0, (cudaStream_t)stream>>>(flag, timed_out, (long long)timeout_ms * 1000000LL);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}
