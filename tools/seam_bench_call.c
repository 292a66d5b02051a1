/* seam-bench-call: the C side of tools/bench_python_overhead.py. Host cost of seam calls
 * made from C, to compare with the same calls made through the Python binding:
 *   topk       one seam_topk launch on a tiny input (1 row x 64 columns, k = 8): host wall
 *              time per call, 200 calls back to back then a synchronize, median of reps
 *   forward    a replayed forward of L layers of builtin ops, per layer
 *                rms_norm(x -> y), hadamard(y -> x), topk_broadcast_split(idx, comm)
 *              (x, y bf16 [tokens, 128]; the broadcast is a split op on a world of one, so
 *              the forward has L + 1 captured pieces with an eager step between each),
 *              decode batch of `tokens` requests:
 *                latency     seam_graph_run + seam_context_synchronize, median per forward
 *                throughput  iters runs back to back, one synchronize, per forward
 *                batch+run   seam_context_set_batch + seam_graph_run, back to back
 * bench_python_overhead.py builds the same program from Python; keep the two in step.
 *
 *   seam-bench-call [--layers L] [--tokens T] [--iters N] [--json FILE]
 *
 * Prints a table, then the same numbers as one JSON object (also written to FILE). */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seam.h"

#define CHECK(expr)                                                                           \
    do {                                                                                      \
        seam_status s_ = (expr);                                                              \
        if (s_ != SEAM_OK) {                                                                  \
            fprintf(stderr, "seam-bench-call: %s: %s: %s\n", #expr, seam_status_string(s_),   \
                    seam_last_error());                                                       \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)
#define CUDA(expr)                                                                            \
    do {                                                                                      \
        cudaError_t e_ = (expr);                                                              \
        if (e_ != cudaSuccess) {                                                              \
            fprintf(stderr, "seam-bench-call: %s: %s\n", #expr, cudaGetErrorString(e_));      \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

#define REPS 51
#define CALLS_PER_REP 200
#define WIDTH 128

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double bench_topk(void) {
    const int rows = 1, stride = 64, k = 8;
    cudaStream_t stream;
    CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    float *scores;
    int32_t *lengths, *out;
    void *ws = NULL;
    size_t ws_bytes;
    CHECK(seam_topk_workspace_size(rows, stride, k, SEAM_TOPK_RADIX, &ws_bytes));
    CUDA(cudaMalloc((void **)&scores, sizeof(float) * rows * stride));
    CUDA(cudaMalloc((void **)&lengths, sizeof(int32_t) * rows));
    CUDA(cudaMalloc((void **)&out, sizeof(int32_t) * rows * k));
    if (ws_bytes) CUDA(cudaMalloc(&ws, ws_bytes));
    CUDA(cudaMemset(scores, 0, sizeof(float) * rows * stride));
    int32_t len = stride;
    CUDA(cudaMemcpy(lengths, &len, sizeof len, cudaMemcpyHostToDevice));
    seam_topk_params p = SEAM_TOPK_PARAMS_INITIALIZER;
    p.rows = rows;
    p.stride = stride;
    p.k = k;
    p.scores = scores;
    p.lengths = lengths;
    p.out = out;
    p.workspace = ws;
    p.workspace_bytes = ws_bytes;
    double per_call[REPS];
    for (int w = 0; w < 3; w++) CHECK(seam_topk(&p, stream)); /* warm-up (module loading) */
    CUDA(cudaStreamSynchronize(stream));
    for (int r = 0; r < REPS; r++) {
        double t0 = now_us();
        for (int i = 0; i < CALLS_PER_REP; i++) CHECK(seam_topk(&p, stream));
        per_call[r] = (now_us() - t0) / CALLS_PER_REP;
        CUDA(cudaStreamSynchronize(stream));
    }
    cudaFree(scores);
    cudaFree(lengths);
    cudaFree(out);
    cudaFree(ws);
    cudaStreamDestroy(stream);
    return median(per_call, REPS);
}

typedef struct forward_times {
    double latency_us, throughput_us, batch_run_us;
    int pieces, split_ops;
} forward_times;

static void decode_batch(seam_batch *b, int tokens, int32_t *seq, int32_t *loc, int32_t *table) {
    for (int i = 0; i < tokens; i++) {
        seq[i] = 1;
        loc[i] = i;
        table[i] = i;
    }
    seam_batch init = SEAM_BATCH_INITIALIZER;
    *b = init;
    b->mode = SEAM_FORWARD_DECODE;
    b->batch_size = tokens;
    b->seq_lens = seq;
    b->out_cache_loc = loc;
    b->page_table = table;
    b->page_table_stride = 1;
}

static forward_times bench_forward(int layers, int tokens, int iters) {
    seam_context_params cp = SEAM_CONTEXT_PARAMS_INITIALIZER;
    cp.max_tokens = tokens;
    cp.max_batch = tokens;
    cp.max_context = 16;
    cp.num_layers = layers;
    seam_context *ctx;
    CHECK(seam_context_create(&ctx, &cp));
    seam_registry *reg;
    CHECK(seam_registry_create(&reg));
    seam_comm *comm;
    CHECK(seam_comm_init_rank(&comm, 1, NULL, 0, 0));
    float *weight;
    CUDA(cudaMalloc((void **)&weight, sizeof(float) * WIDTH));
    CUDA(cudaMemset(weight, 0, sizeof(float) * WIDTH));

    seam_program *prog;
    CHECK(seam_program_create(&prog, reg));
    int64_t sym[2] = {0, WIDTH}, wshape[1] = {WIDTH}, ishape[2] = {0, 8};
    int x, y, idx, w;
    CHECK(seam_program_add_tensor(prog, "x", SEAM_DTYPE_BF16, 2, sym, 0, &x));
    CHECK(seam_program_add_tensor(prog, "y", SEAM_DTYPE_BF16, 2, sym, 0, &y));
    CHECK(seam_program_add_tensor(prog, "idx", SEAM_DTYPE_I32, 2, ishape, 0, &idx));
    seam_tensor wt = seam_tensor_contiguous(weight, SEAM_DTYPE_F32, 1, wshape, SEAM_NO_TOKEN_DIM);
    CHECK(seam_program_add_external(prog, "w", &wt, &w));
    for (int l = 0; l < layers; l++) {
        seam_program_arg norm[5] = {seam_program_arg_tensor(x), seam_program_arg_tensor(w),
                                    seam_program_arg_tensor(y), seam_program_arg_none(),
                                    seam_program_arg_float(1e-6)};
        CHECK(seam_program_add_call(prog, "rms_norm", 5, norm, NULL));
        seam_program_arg had[3] = {seam_program_arg_tensor(y), seam_program_arg_tensor(x),
                                   seam_program_arg_none()};
        CHECK(seam_program_add_call(prog, "hadamard", 3, had, NULL));
        seam_program_arg bc[2] = {seam_program_arg_tensor(idx), seam_program_arg_ptr(comm)};
        CHECK(seam_program_add_call(prog, "topk_broadcast_split", 2, bc, NULL));
    }
    seam_graph *g;
    CHECK(seam_graph_build(&g, prog, ctx, NULL));
    CHECK(seam_program_destroy(prog));
    seam_graph_stats st = SEAM_GRAPH_STATS_INITIALIZER;
    CHECK(seam_graph_get_stats(g, &st));

    int32_t *seq = malloc(sizeof(int32_t) * 3 * (size_t)tokens);
    seam_batch b;
    decode_batch(&b, tokens, seq, seq + tokens, seq + 2 * tokens);
    CHECK(seam_context_set_batch(ctx, &b));
    for (int i = 0; i < 10; i++) CHECK(seam_graph_run(g));
    CHECK(seam_context_synchronize(ctx));

    forward_times t = {0};
    t.pieces = st.num_pieces;
    t.split_ops = st.num_split_ops;
    double *lat = malloc(sizeof(double) * (size_t)iters);
    for (int i = 0; i < iters; i++) {
        double t0 = now_us();
        CHECK(seam_graph_run(g));
        CHECK(seam_context_synchronize(ctx));
        lat[i] = now_us() - t0;
    }
    t.latency_us = median(lat, iters);
    double reps[REPS];
    for (int r = 0; r < REPS; r++) {
        double t0 = now_us();
        for (int i = 0; i < 20; i++) CHECK(seam_graph_run(g));
        CHECK(seam_context_synchronize(ctx));
        reps[r] = (now_us() - t0) / 20;
    }
    t.throughput_us = median(reps, REPS);
    for (int r = 0; r < REPS; r++) {
        double t0 = now_us();
        for (int i = 0; i < 20; i++) {
            CHECK(seam_context_set_batch(ctx, &b));
            CHECK(seam_graph_run(g));
        }
        CHECK(seam_context_synchronize(ctx));
        reps[r] = (now_us() - t0) / 20;
    }
    t.batch_run_us = median(reps, REPS);
    free(lat);
    free(seq);
    CHECK(seam_graph_destroy(g));
    CHECK(seam_comm_destroy(comm));
    CHECK(seam_registry_destroy(reg));
    CHECK(seam_context_destroy(ctx));
    cudaFree(weight);
    return t;
}

int main(int argc, char **argv) {
    int layers = 8, tokens = 32, iters = 2000;
    const char *json = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) goto usage;
        if (!strcmp(argv[i], "--layers")) layers = atoi(v);
        else if (!strcmp(argv[i], "--tokens")) tokens = atoi(v);
        else if (!strcmp(argv[i], "--iters")) iters = atoi(v);
        else if (!strcmp(argv[i], "--json")) json = v;
        else goto usage;
        i++;
    }
    if (layers < 1 || tokens < 1 || iters < 1) goto usage;
    int n = 0;
    seam_status s = seam_device_count(&n);
    if (s != SEAM_OK || n == 0) {
        fprintf(stderr, "seam-bench-call: no GPU (%s)\n", seam_last_error());
        return 77;
    }
    seam_device_info info;
    CHECK(seam_device_get_info(0, &info));
    double topk_us = bench_topk();
    forward_times f = bench_forward(layers, tokens, iters);
    printf("seam-bench-call on %s (from C)\n", info.name);
    printf("  topk call (1x64, k=8)            %8.2f us/call\n", topk_us);
    printf("  forward %d layers x %d tokens (%d pieces, %d split ops)\n", layers, tokens, f.pieces,
           f.split_ops);
    printf("    run + synchronize (latency)    %8.2f us\n", f.latency_us);
    printf("    run back to back (throughput)  %8.2f us\n", f.throughput_us);
    printf("    set_batch + run                %8.2f us\n", f.batch_run_us);
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"device\": \"%s\", \"topk_call_us\": %.3f, \"forward\": {\"layers\": %d, "
             "\"tokens\": %d, \"pieces\": %d, \"split_ops\": %d, \"latency_us\": %.3f, "
             "\"throughput_us\": %.3f, \"batch_run_us\": %.3f}}",
             info.name, topk_us, layers, tokens, f.pieces, f.split_ops, f.latency_us,
             f.throughput_us, f.batch_run_us);
    printf("%s\n", buf);
    if (json) {
        FILE *fj = fopen(json, "w");
        if (!fj) {
            fprintf(stderr, "seam-bench-call: cannot write %s\n", json);
            return 1;
        }
        fprintf(fj, "%s\n", buf);
        fclose(fj);
    }
    return 0;
usage:
    fprintf(stderr, "usage: seam-bench-call [--layers L] [--tokens T] [--iters N] [--json FILE]\n");
    return 2;
}
