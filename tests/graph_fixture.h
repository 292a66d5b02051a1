/* The graph suite's GPU fixture: a chain of toy ops (tools/toy_ops.h) with split ops
 * between them that read the real token count on the host, its CPU reference, and helpers
 * to run a forward and compare. Shared by test_graph.c and test_graph_fallback.c.
 *
 *   call 0  toy_affine     in  -> a      a = 1.5 x + 0.25
 *   call 1  toy_positions  a   -> b      b = a + 0.001 position   (device batch buffers)
 *   call 2  toy_split      b   -> c      c = b / 2 + real          (split: host count)
 *   call 3  toy_add        c,a -> d      d = c + a
 *   call 4  toy_indexer    d   -> e      e = d / 2 + real          (split unless graph-safe)
 *   call 5  toy_affine     e   -> out    out = -0.5 e + 2          (toy_unsafe when asked)
 *
 * Plan: pieces {0,1} {3} {5} with splits 2 and 4; graph-safe: {0,1} {3,4,5}. */
#ifndef SEAM_TESTS_GRAPH_FIXTURE_H
#define SEAM_TESTS_GRAPH_FIXTURE_H

#include <cuda_runtime_api.h>
#include <math.h>

#include "tests/test_util.h"
#include "tests/gpu_util.h"
#include "tools/toy_ops.h"

#define MAX_TOKENS 24
#define WIDTH 40 /* not a multiple of the block */
#define MAX_CONTEXT 64

static const int sizes[] = {1, 2, 4, 8, 16};
#define NUM_SIZES 5

typedef struct setup {
    seam_registry *reg;
    seam_context *ctx;
    float *input; /* device [MAX_TOKENS, WIDTH], engine-owned */
    float host_input[MAX_TOKENS * WIDTH];
    int32_t positions[MAX_TOKENS];
    int tokens;
} setup;

static inline void make_setup(setup *s, int graph_safe, int piecewise) {
    memset(s, 0, sizeof *s);
    SEAM_ASSERT_OK(seam_registry_create_empty(&s->reg));
    SEAM_ASSERT_OK(toy_register_ops(s->reg));
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    cfg.graph_safe = graph_safe;
    cfg.piecewise = piecewise;
    cfg.num_capture_sizes = NUM_SIZES;
    for (int i = 0; i < NUM_SIZES; i++) cfg.capture_sizes[i] = sizes[i];
    seam_context_params p = SEAM_CONTEXT_PARAMS_INITIALIZER;
    p.device = 0;
    p.max_tokens = MAX_TOKENS;
    p.max_batch = 4;
    p.max_context = MAX_CONTEXT;
    p.num_layers = 1;
    p.workspace_bytes = 1 << 20;
    p.config = &cfg;
    SEAM_ASSERT_OK(seam_context_create(&s->ctx, &p));
    CUDA_OK(cudaMalloc((void **)&s->input, sizeof s->host_input));
    CUDA_OK(cudaMemset(s->input, 0, sizeof s->host_input)); /* the build's warm-up reads it */
}

static inline void free_setup(setup *s) {
    SEAM_ASSERT_OK(seam_context_synchronize(s->ctx));
    CUDA_OK(cudaFree(s->input));
    SEAM_ASSERT_OK(seam_context_destroy(s->ctx));
    SEAM_ASSERT_OK(seam_registry_destroy(s->reg));
}

/* big: adds an unused 24 MiB arena tensor, so the arena shows in cudaMemGetInfo.
 * scratch: a..e are scratch tensors (sharing arena space by live range), out persistent. */
static inline seam_program *make_program_ex(setup *s, int unsafe_last, int big, int scratch, int *out_id) {
    seam_program *prog;
    SEAM_ASSERT_OK(seam_program_create(&prog, s->reg));
    int64_t shape[2] = {MAX_TOKENS, WIDTH};
    seam_tensor ext = seam_tensor_contiguous(s->input, SEAM_DTYPE_F32, 2, shape, 0);
    int in, t[6];
    SEAM_ASSERT_OK(seam_program_add_external(prog, "in", &ext, &in));
    const char *names[6] = {"a", "b", "c", "d", "e", "out"};
    int64_t sym[2] = {0, WIDTH};
    for (int i = 0; i < 6; i++)
        SEAM_ASSERT_OK(scratch && i < 5 ? seam_program_add_scratch(prog, names[i], SEAM_DTYPE_F32, 2, sym, 0, &t[i])
                                        : seam_program_add_tensor(prog, names[i], SEAM_DTYPE_F32, 2, sym, 0, &t[i]));
    int64_t big_shape[2] = {0, 1 << 18};
    if (big) SEAM_ASSERT_OK(seam_program_add_tensor(prog, "big", SEAM_DTYPE_F32, 2, big_shape, 0, NULL));
#define T(i) seam_program_arg_tensor(i)
    seam_program_arg c0[4] = {T(in), T(t[0]), seam_program_arg_float(1.5), seam_program_arg_float(0.25)};
    seam_program_arg c1[2] = {T(t[0]), T(t[1])};
    seam_program_arg c2[2] = {T(t[1]), T(t[2])};
    seam_program_arg c3[3] = {T(t[2]), T(t[3]), T(t[0])};
    seam_program_arg c4[2] = {T(t[3]), T(t[4])};
    seam_program_arg c5[4] = {T(t[4]), T(t[5]), seam_program_arg_float(-0.5), seam_program_arg_float(2.0)};
#undef T
    SEAM_ASSERT_OK(seam_program_add_call(prog, "toy_affine", 4, c0, NULL));
    SEAM_ASSERT_OK(seam_program_add_call(prog, "toy_positions", 2, c1, NULL));
    SEAM_ASSERT_OK(seam_program_add_call(prog, "toy_split", 2, c2, NULL));
    SEAM_ASSERT_OK(seam_program_add_call(prog, "toy_add", 3, c3, NULL));
    SEAM_ASSERT_OK(seam_program_add_call(prog, "toy_indexer", 2, c4, NULL));
    SEAM_ASSERT_OK(seam_program_add_call(prog, unsafe_last ? "toy_unsafe" : "toy_affine", 4, c5, NULL));
    *out_id = t[5];
    return prog;
}

static inline seam_program *make_program(setup *s, int unsafe_last, int big, int *out_id) {
    return make_program_ex(s, unsafe_last, big, 0, out_id);
}

static inline seam_graph *build_program(setup *s, seam_program *prog, int capture, seam_graph_exec_mode mode) {
    seam_graph_options opts = SEAM_GRAPH_OPTIONS_INITIALIZER;
    opts.capture = capture;
    opts.exec_mode = mode;
    opts.progress = 0;
    seam_graph *g;
    SEAM_ASSERT_OK(seam_graph_build(&g, prog, s->ctx, &opts));
    SEAM_ASSERT_OK(seam_program_destroy(prog));
    assert_int_equal(cudaGetLastError(), cudaSuccess); /* no CUDA error leaks to the engine */
    return g;
}

static inline seam_graph *build(setup *s, int unsafe_last, int capture, seam_graph_exec_mode mode, int *out_id) {
    return build_program(s, make_program(s, unsafe_last, 0, out_id), capture, mode);
}

/* New input values (after the previous forward finished reading them) and a batch of one
 * request with `tokens` new tokens after a random prefix. */
static inline void new_batch(setup *s, seam_test_rng *rng, int tokens) {
    SEAM_ASSERT_OK(seam_context_synchronize(s->ctx));
    for (int i = 0; i < MAX_TOKENS * WIDTH; i++)
        s->host_input[i] = (float)seam_test_int(rng, -1000, 1000) / 1000.0f;
    CUDA_OK(cudaMemcpy(s->input, s->host_input, sizeof s->host_input, cudaMemcpyHostToDevice));
    int prefix = seam_test_int(rng, 0, MAX_CONTEXT - tokens);
    int32_t seq[1] = {prefix + tokens}, ext[1] = {tokens};
    int32_t loc[MAX_TOKENS], table[MAX_CONTEXT];
    for (int i = 0; i < MAX_TOKENS; i++) loc[i] = i;
    for (int i = 0; i < MAX_CONTEXT; i++) table[i] = i;
    seam_batch b = SEAM_BATCH_INITIALIZER;
    b.mode = SEAM_FORWARD_EXTEND;
    b.batch_size = 1;
    b.seq_lens = seq;
    b.extend_lens = ext;
    b.out_cache_loc = loc;
    b.page_table = table;
    b.page_table_stride = prefix + tokens;
    SEAM_ASSERT_OK(seam_context_set_batch(s->ctx, &b));
    for (int t = 0; t < tokens; t++) s->positions[t] = prefix + t;
    s->tokens = tokens;
}

static inline void reference(const setup *s, float *out) {
    float real = (float)s->tokens;
    for (int t = 0; t < s->tokens; t++)
        for (int j = 0; j < WIDTH; j++) {
            float x = s->host_input[t * WIDTH + j];
            float a = 1.5f * x + 0.25f;
            float b = a + 0.001f * (float)s->positions[t];
            float c = 0.5f * b + real;
            float d = c + a;
            float e = 0.5f * d + real;
            out[t * WIDTH + j] = -0.5f * e + 2.0f;
        }
}

/* Runs the forward and copies the real rows of the output to host. */
static inline void run_and_read(setup *s, seam_graph *g, int out_id, float *host) {
    SEAM_ASSERT_OK(seam_graph_run(g));
    SEAM_ASSERT_OK(seam_context_synchronize(s->ctx));
    seam_tensor out;
    SEAM_ASSERT_OK(seam_graph_tensor(g, out_id, s->tokens, &out));
    CUDA_OK(cudaMemcpy(host, out.data, (size_t)s->tokens * WIDTH * sizeof(float), cudaMemcpyDeviceToHost));
}

static inline void expect_close(const setup *s, const float *got, const float *want, const char *what) {
    for (int i = 0; i < s->tokens * WIDTH; i++) {
        float tol = 1e-4f * (1.0f + fabsf(want[i]));
        if (!(fabsf(got[i] - want[i]) <= tol))
            fail_msg("%s, %d tokens: row %d col %d: expected %.7g, got %.7g", what, s->tokens, i / WIDTH,
                     i % WIDTH, (double)want[i], (double)got[i]);
    }
}

/* Runs the forward into `got` and checks it against the CPU reference. */
static inline void run_and_check(setup *s, seam_graph *g, int out_id, float *got, const char *what) {
    static float ref[MAX_TOKENS * WIDTH];
    run_and_read(s, g, out_id, got);
    reference(s, ref);
    expect_close(s, got, ref, what);
}

static inline void expect_same(const setup *s, const float *got, const float *want, const char *what) {
    for (int i = 0; i < s->tokens * WIDTH; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0)
            fail_msg("%s, %d tokens: row %d col %d: eager %.9g, replay %.9g", what, s->tokens, i / WIDTH,
                     i % WIDTH, (double)want[i], (double)got[i]);
}

static inline seam_graph_stats stats_of(const seam_graph *g) {
    seam_graph_stats st = SEAM_GRAPH_STATS_INITIALIZER;
    SEAM_ASSERT_OK(seam_graph_get_stats(g, &st));
    return st;
}

static inline size_t free_memory(void) {
    size_t free_b, total_b;
    CUDA_OK(cudaMemGetInfo(&free_b, &total_b));
    return free_b;
}

#endif
