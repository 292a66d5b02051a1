/* seam-bench-graph: what piecewise CUDA graphs buy on a synthetic forward of L layers x M
 * small kernels with one split op per layer (tools/toy_ops.h; defaults L=61, M=20 as in a
 * DSA model), at tokens 1, 8, 64, 512:
 *   eager      every op launched from the host (graph built with capture off)
 *   piecewise  pieces replayed, the per-layer indexer op run eagerly between them
 *   merged     graph-safe mode: the indexer is captured too, the forward is one graph
 * Per forward: host wall time (clock, iters back to back), GPU wall time (CUDA events over
 * the same iters), GPU busy time (the forward queued behind a gate kernel, then released,
 * so the device runs it without waiting for the host) and busy / wall. Build: capture time
 * for all buckets (>= 32 sizes) in both executable modes (ExecUpdate vs instantiate per
 * bucket), and device memory (cudaMemGetInfo before/after) against the arena's need.
 * Also the host cost of alternating buckets every forward in both modes, and a bitwise
 * check of replay against eager.
 *
 *   seam-bench-graph [--layers L] [--kernels M] [--width W] [--iters N] [--json FILE]
 *
 * Prints a table, then the same numbers as one JSON object (also written to FILE). */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seam.h"
#include "tools/toy_ops.h"

#define MAX_TOKENS 512
#define NUM_TOKEN_CASES 4
static const int token_cases[NUM_TOKEN_CASES] = {1, 8, 64, 512};

#define CHECK(expr)                                                                           \
    do {                                                                                      \
        seam_status s_ = (expr);                                                              \
        if (s_ != SEAM_OK) {                                                                  \
            fprintf(stderr, "seam-bench-graph: %s: %s: %s\n", #expr, seam_status_string(s_),  \
                    seam_last_error());                                                       \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

#define CUDA(expr)                                                                            \
    do {                                                                                      \
        cudaError_t e_ = (expr);                                                              \
        if (e_ != cudaSuccess) {                                                              \
            fprintf(stderr, "seam-bench-graph: %s: %s\n", #expr, cudaGetErrorString(e_));    \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

typedef struct options {
    int layers, kernels, width, iters;
    const char *json;
} options;

typedef struct timing {
    double host_us, gpu_wall_us, gpu_busy_us; /* per forward; busy < 0: not measurable */
} timing;

typedef struct build_result {
    double build_ms, capture_ms, instantiate_ms, update_ms, total_ms;
    int pieces, execs, graphs, eager_pieces;
    double mem_delta_mib, arena_mib, arena_need_mib;
} build_result;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static size_t used_memory(void) {
    size_t free_b, total_b;
    CUDA(cudaMemGetInfo(&free_b, &total_b));
    return total_b - free_b;
}

/* 33 buckets up to 512: 1..4, 8..32 step 4, 48..256 step 16, 288..512 step 32. */
static int bench_sizes(int *sizes) {
    int n = 0;
    for (int s = 1; s <= 4; s++) sizes[n++] = s;
    for (int s = 8; s <= 32; s += 4) sizes[n++] = s;
    for (int s = 48; s <= 256; s += 16) sizes[n++] = s;
    for (int s = 288; s <= 512; s += 32) sizes[n++] = s;
    return n;
}

static seam_context *make_context(int graph_safe, int layers) {
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    cfg.graph_safe = graph_safe;
    cfg.num_capture_sizes = bench_sizes(cfg.capture_sizes);
    seam_context_params p = SEAM_CONTEXT_PARAMS_INITIALIZER;
    p.device = 0;
    p.max_tokens = MAX_TOKENS;
    p.max_batch = 64;
    p.max_context = MAX_TOKENS;
    p.num_layers = layers;
    p.workspace_bytes = 0;
    p.config = &cfg;
    seam_context *ctx;
    CHECK(seam_context_create(&ctx, &p));
    return ctx;
}

static void set_tokens(seam_context *ctx, int tokens) {
    static int32_t loc[MAX_TOKENS], table[MAX_TOKENS];
    for (int i = 0; i < MAX_TOKENS; i++) loc[i] = table[i] = i;
    int32_t seq[1] = {tokens}, ext[1] = {tokens};
    seam_batch b = SEAM_BATCH_INITIALIZER;
    b.mode = SEAM_FORWARD_EXTEND;
    b.batch_size = 1;
    b.seq_lens = seq;
    b.extend_lens = ext;
    b.out_cache_loc = loc;
    b.page_table = table;
    b.page_table_stride = tokens;
    CHECK(seam_context_set_batch(ctx, &b));
}

static seam_graph *build(seam_registry *reg, seam_context *ctx, void *input, const options *o, int capture,
                         seam_graph_exec_mode mode, build_result *r, int *out_id) {
    seam_program *prog;
    CHECK(seam_program_create(&prog, reg));
    CHECK(toy_build_layers(prog, input, MAX_TOKENS, o->width, o->layers, o->kernels, out_id));
    seam_graph_options opts = SEAM_GRAPH_OPTIONS_INITIALIZER;
    opts.capture = capture;
    opts.exec_mode = mode;
    CHECK(seam_context_synchronize(ctx));
    size_t before = used_memory();
    seam_graph *g;
    CHECK(seam_graph_build(&g, prog, ctx, &opts));
    size_t after = used_memory();
    seam_program_destroy(prog);
    seam_graph_stats st = SEAM_GRAPH_STATS_INITIALIZER;
    CHECK(seam_graph_get_stats(g, &st));
    memset(r, 0, sizeof *r);
    r->build_ms = st.build_ms;
    r->total_ms = st.capture_total_ms;
    for (int b = 0; b < st.num_buckets; b++) {
        seam_graph_bucket bk;
        CHECK(seam_graph_get_bucket(g, b, &bk));
        r->capture_ms += bk.capture_ms;
        r->instantiate_ms += bk.instantiate_ms;
        r->update_ms += bk.update_ms;
    }
    r->pieces = st.num_pieces;
    r->execs = st.num_execs;
    r->graphs = st.num_graphs;
    r->eager_pieces = st.num_eager_pieces;
    r->mem_delta_mib = ((double)after - (double)before) / (1 << 20);
    r->arena_mib = (double)st.arena_bytes / (1 << 20);
    r->arena_need_mib = (double)st.arena_need_bytes / (1 << 20);
    return g;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Wall time per forward is host_us: the host loop ends with a synchronize, so it covers
 * both launch overhead and device time. */

/* Pure device time of one forward: queued behind a gate kernel, then released. */
static double busy_us(seam_context *ctx, seam_graph *g, volatile int *flag, int *timed_out) {
    seam_stream stream;
    CHECK(seam_context_stream(ctx, &stream));
    cudaEvent_t e0, e1;
    CUDA(cudaEventCreate(&e0));
    CUDA(cudaEventCreate(&e1));
    double samples[5];
    int valid = 1;
    for (int r = 0; r < 5; r++) {
        *flag = 0;
        *timed_out = 0;
        CHECK(toy_gate(stream, flag, timed_out, 500));
        CUDA(cudaEventRecord(e0, (cudaStream_t)stream));
        CHECK(seam_graph_run(g));
        CUDA(cudaEventRecord(e1, (cudaStream_t)stream));
        *flag = 1;
        CHECK(seam_context_synchronize(ctx));
        float ms;
        CUDA(cudaEventElapsedTime(&ms, e0, e1));
        samples[r] = ms * 1e3;
        if (*timed_out) { /* the host could not queue the whole forward behind the gate */
            valid = 0;
            break;
        }
    }
    CUDA(cudaEventDestroy(e0));
    CUDA(cudaEventDestroy(e1));
    qsort(samples, 5, sizeof samples[0], cmp_double);
    return valid ? samples[2] : -1.0;
}

static timing time_forward(seam_context *ctx, seam_graph *g, int tokens, int iters, volatile int *flag,
                           int *timed_out) {
    seam_stream stream;
    CHECK(seam_context_stream(ctx, &stream));
    set_tokens(ctx, tokens);
    for (int i = 0; i < 3; i++) CHECK(seam_graph_run(g));
    CHECK(seam_context_synchronize(ctx));
    timing t;
    double h0 = now_us();
    for (int i = 0; i < iters; i++) CHECK(seam_graph_run(g));
    CHECK(seam_context_synchronize(ctx));
    t.host_us = (now_us() - h0) / iters;
    cudaEvent_t e0, e1;
    CUDA(cudaEventCreate(&e0));
    CUDA(cudaEventCreate(&e1));
    CUDA(cudaEventRecord(e0, (cudaStream_t)stream));
    for (int i = 0; i < iters; i++) CHECK(seam_graph_run(g));
    CUDA(cudaEventRecord(e1, (cudaStream_t)stream));
    CHECK(seam_context_synchronize(ctx));
    float ms;
    CUDA(cudaEventElapsedTime(&ms, e0, e1));
    t.gpu_wall_us = ms * 1e3 / iters;
    CUDA(cudaEventDestroy(e0));
    CUDA(cudaEventDestroy(e1));
    t.gpu_busy_us = busy_us(ctx, g, flag, timed_out);
    return t;
}

/* Host time per forward when every forward switches bucket (8 <-> 64 tokens). */
static double alternating_us(seam_context *ctx, seam_graph *g, int iters) {
    for (int i = 0; i < 4; i++) {
        set_tokens(ctx, i % 2 ? 64 : 8);
        CHECK(seam_graph_run(g));
    }
    CHECK(seam_context_synchronize(ctx));
    double h0 = now_us();
    for (int i = 0; i < iters; i++) {
        set_tokens(ctx, i % 2 ? 64 : 8);
        CHECK(seam_graph_run(g));
    }
    CHECK(seam_context_synchronize(ctx));
    return (now_us() - h0) / iters;
}

static float max_abs_diff(seam_context *a_ctx, seam_graph *a, int a_out, seam_context *b_ctx, seam_graph *b,
                          int b_out, int tokens, int width) {
    set_tokens(a_ctx, tokens);
    set_tokens(b_ctx, tokens);
    CHECK(seam_graph_run(a));
    CHECK(seam_graph_run(b));
    CHECK(seam_context_synchronize(a_ctx));
    CHECK(seam_context_synchronize(b_ctx));
    seam_tensor ta, tb;
    CHECK(seam_graph_tensor(a, a_out, tokens, &ta));
    CHECK(seam_graph_tensor(b, b_out, tokens, &tb));
    size_t n = (size_t)tokens * (size_t)width;
    float *ha = malloc(n * sizeof(float)), *hb = malloc(n * sizeof(float));
    CUDA(cudaMemcpy(ha, ta.data, n * sizeof(float), cudaMemcpyDeviceToHost));
    CUDA(cudaMemcpy(hb, tb.data, n * sizeof(float), cudaMemcpyDeviceToHost));
    float worst = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(ha[i] - hb[i]);
        if (!(d <= worst)) worst = d; /* NaN propagates */
    }
    free(ha);
    free(hb);
    return worst;
}

static int parse(int argc, char **argv, options *o) {
    o->layers = 61;
    o->kernels = 20;
    o->width = 512;
    o->iters = 50;
    o->json = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return 0;
        if (strcmp(argv[i], "--layers") == 0) o->layers = atoi(v);
        else if (strcmp(argv[i], "--kernels") == 0) o->kernels = atoi(v);
        else if (strcmp(argv[i], "--width") == 0) o->width = atoi(v);
        else if (strcmp(argv[i], "--iters") == 0) o->iters = atoi(v);
        else if (strcmp(argv[i], "--json") == 0) o->json = v;
        else return 0;
        i++;
    }
    return o->layers >= 1 && o->kernels >= 4 && o->width >= 1 && o->iters >= 1;
}

static void json_build(FILE *f, const char *name, const build_result *r, int last) {
    fprintf(f,
            "    \"%s\": {\"build_ms\": %.2f, \"capture_ms\": %.2f, \"instantiate_ms\": %.2f, "
            "\"update_ms\": %.2f, \"capture_total_ms\": %.2f, \"pieces\": %d, \"graphs\": %d, "
            "\"execs\": %d, \"eager_pieces\": %d, \"memory_delta_mib\": %.2f, \"arena_mib\": %.2f, "
            "\"arena_need_mib\": %.2f}%s\n",
            name, r->build_ms, r->capture_ms, r->instantiate_ms, r->update_ms, r->total_ms, r->pieces,
            r->graphs, r->execs, r->eager_pieces, r->mem_delta_mib, r->arena_mib, r->arena_need_mib,
            last ? "" : ",");
}

int main(int argc, char **argv) {
    options o;
    if (!parse(argc, argv, &o)) {
        fprintf(stderr, "usage: seam-bench-graph [--layers L] [--kernels M] [--width W] [--iters N] [--json FILE]\n");
        return 2;
    }
    seam_device_info info;
    CHECK(seam_device_get_info(0, &info));
    seam_registry *reg;
    CHECK(seam_registry_create(&reg));
    CHECK(toy_register_ops(reg));
    seam_context *split_ctx = make_context(0, o.layers), *safe_ctx = make_context(1, o.layers);
    void *input;
    size_t input_bytes = (size_t)MAX_TOKENS * (size_t)o.width * sizeof(float);
    CUDA(cudaMalloc(&input, input_bytes));
    float *host_input = malloc(input_bytes);
    for (size_t i = 0; i < input_bytes / sizeof(float); i++) host_input[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
    CUDA(cudaMemcpy(input, host_input, input_bytes, cudaMemcpyHostToDevice));
    free(host_input);
    /* Host-mapped (UVA: the same address on the device) gate flag and timeout report. */
    int *gate_flag, *timed_out_host;
    CUDA(cudaHostAlloc((void **)&gate_flag, sizeof(int), cudaHostAllocMapped));
    CUDA(cudaHostAlloc((void **)&timed_out_host, sizeof(int), cudaHostAllocMapped));

    /* Builds: eager (no capture), piecewise and merged in both executable modes. */
    build_result b_eager, b_pw_upd, b_pw_inst, b_mg_upd, b_mg_inst;
    int out_eager, out_pw, out_mg, out_tmp;
    seam_graph *eager = build(reg, split_ctx, input, &o, 0, SEAM_GRAPH_EXEC_UPDATE, &b_eager, &out_eager);
    seam_graph *pw_inst = build(reg, split_ctx, input, &o, 1, SEAM_GRAPH_EXEC_PER_BUCKET, &b_pw_inst, &out_tmp);
    double alt_inst = alternating_us(split_ctx, pw_inst, o.iters);
    seam_graph_destroy(pw_inst);
    seam_graph *mg_inst = build(reg, safe_ctx, input, &o, 1, SEAM_GRAPH_EXEC_PER_BUCKET, &b_mg_inst, &out_tmp);
    seam_graph_destroy(mg_inst);
    seam_graph *pw = build(reg, split_ctx, input, &o, 1, SEAM_GRAPH_EXEC_UPDATE, &b_pw_upd, &out_pw);
    seam_graph *mg = build(reg, safe_ctx, input, &o, 1, SEAM_GRAPH_EXEC_UPDATE, &b_mg_upd, &out_mg);
    double alt_upd = alternating_us(split_ctx, pw, o.iters);

    seam_graph *graphs[3] = {eager, pw, mg};
    seam_context *ctxs[3] = {split_ctx, split_ctx, safe_ctx};
    const char *names[3] = {"eager", "piecewise", "merged"};
    timing t[3][NUM_TOKEN_CASES];
    for (int m = 0; m < 3; m++)
        for (int k = 0; k < NUM_TOKEN_CASES; k++)
            t[m][k] = time_forward(ctxs[m], graphs[m], token_cases[k], o.iters, gate_flag, timed_out_host);
    float diff_pw = max_abs_diff(split_ctx, eager, out_eager, split_ctx, pw, out_pw, 64, o.width);
    float diff_mg = max_abs_diff(split_ctx, eager, out_eager, safe_ctx, mg, out_mg, 64, o.width);

    printf("seam-bench-graph: %s, %d layers x %d kernels (width %d), %d buckets, %d iters\n", info.name,
           o.layers, o.kernels, o.width, b_pw_upd.graphs / (b_pw_upd.pieces ? b_pw_upd.pieces : 1), o.iters);
    printf("%-10s %6s %10s %10s %10s %7s %8s\n", "mode", "tokens", "host_us", "gpu_wall_us", "busy_us",
           "busy/wall", "speedup");
    for (int m = 0; m < 3; m++)
        for (int k = 0; k < NUM_TOKEN_CASES; k++) {
            const timing *x = &t[m][k];
            printf("%-10s %6d %10.1f %10.1f %10.1f %7.2f %7.2fx\n", names[m], token_cases[k], x->host_us,
                   x->gpu_wall_us, x->gpu_busy_us, x->gpu_busy_us > 0 ? x->gpu_busy_us / x->gpu_wall_us : -1.0,
                   t[0][k].host_us / x->host_us);
        }
    printf("\n%-22s %9s %9s %9s %9s %9s %6s %6s %9s %9s\n", "build", "build_ms", "capture", "instant.", "update",
           "total", "pieces", "execs", "mem_MiB", "arena_MiB");
    const build_result *bs[5] = {&b_eager, &b_pw_upd, &b_pw_inst, &b_mg_upd, &b_mg_inst};
    const char *bn[5] = {"eager (no capture)", "piecewise update", "piecewise per-bucket", "merged update",
                         "merged per-bucket"};
    for (int i = 0; i < 5; i++)
        printf("%-22s %9.1f %9.1f %9.1f %9.1f %9.1f %6d %6d %9.1f %9.2f\n", bn[i], bs[i]->build_ms,
               bs[i]->capture_ms, bs[i]->instantiate_ms, bs[i]->update_ms, bs[i]->total_ms, bs[i]->pieces,
               bs[i]->execs, bs[i]->mem_delta_mib, bs[i]->arena_mib);
    printf("\nalternating buckets 8<->64 (piecewise, host us per forward incl. set_batch): update %.1f, "
           "per-bucket %.1f\n", alt_upd, alt_inst);
    printf("max |replay - eager| at 64 tokens: piecewise %g, merged %g\n", (double)diff_pw, (double)diff_mg);
    double goal_mem = b_pw_upd.arena_need_mib * 1.05 + 64.0;
    printf("goals: replay >= 2x eager at <= 64 tokens; busy/wall >= 0.90; all buckets <= 2000 ms "
           "(piecewise update %.0f ms); memory <= %.1f MiB (piecewise update %.1f MiB)\n",
           b_pw_upd.build_ms, goal_mem, b_pw_upd.mem_delta_mib);

    FILE *outs[2] = {stdout, o.json ? fopen(o.json, "w") : NULL};
    for (int fi = 0; fi < 2; fi++) {
        FILE *f = outs[fi];
        if (!f) continue;
        fprintf(f, "{\n  \"device\": \"%s\", \"layers\": %d, \"kernels\": %d, \"width\": %d, \"iters\": %d,\n",
                info.name, o.layers, o.kernels, o.width, o.iters);
        fprintf(f, "  \"forward\": [\n");
        for (int m = 0; m < 3; m++)
            for (int k = 0; k < NUM_TOKEN_CASES; k++) {
                const timing *x = &t[m][k];
                fprintf(f, "    {\"mode\": \"%s\", \"tokens\": %d, \"host_us\": %.2f, \"gpu_wall_us\": %.2f, "
                        "\"gpu_busy_us\": %.2f}%s\n", names[m], token_cases[k], x->host_us, x->gpu_wall_us,
                        x->gpu_busy_us, m == 2 && k == NUM_TOKEN_CASES - 1 ? "" : ",");
            }
        fprintf(f, "  ],\n  \"build\": {\n");
        const char *keys[5] = {"eager", "piecewise_update", "piecewise_per_bucket", "merged_update",
                               "merged_per_bucket"};
        for (int i = 0; i < 5; i++) json_build(f, keys[i], bs[i], i == 4);
        fprintf(f, "  },\n  \"alternating_host_us\": {\"update\": %.2f, \"per_bucket\": %.2f},\n", alt_upd, alt_inst);
        fprintf(f, "  \"max_abs_diff\": {\"piecewise\": %g, \"merged\": %g}\n}\n", (double)diff_pw, (double)diff_mg);
        if (f != stdout) fclose(f);
    }

    seam_graph_destroy(eager);
    seam_graph_destroy(pw);
    seam_graph_destroy(mg);
    CUDA(cudaFreeHost(gate_flag));
    CUDA(cudaFreeHost(timed_out_host));
    CUDA(cudaFree(input));
    seam_context_destroy(split_ctx);
    seam_context_destroy(safe_ctx);
    seam_registry_destroy(reg);
    return diff_pw == 0.0f && diff_mg == 0.0f ? 0 : 1;
}
