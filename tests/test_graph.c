/* Suite graph, GPU: the piecewise builder on a chain of toy ops (tools/toy_ops.h) with split
 * ops between them that read the real token count on the host.
 *
 *   call 0  toy_affine     in  -> a      a = 1.5 x + 0.25
 *   call 1  toy_positions  a   -> b      b = a + 0.001 position   (device batch buffers)
 *   call 2  toy_split      b   -> c      c = b / 2 + real          (split: host count)
 *   call 3  toy_add        c,a -> d      d = c + a
 *   call 4  toy_indexer    d   -> e      e = d / 2 + real          (split unless graph-safe)
 *   call 5  toy_affine     e   -> out    out = -0.5 e + 2          (toy_unsafe when asked)
 *
 * Plan: pieces {0,1} {3} {5} with splits 2 and 4; graph-safe: {0,1} {3,4,5}. Every result is
 * compared with a CPU reference on the real rows, and replay with an eager build bitwise. */
#include <cuda_runtime_api.h>
#include <math.h>

#include "tests/test_util.h"
#include "tools/toy_ops.h"

#define MAX_TOKENS 24
#define WIDTH 40 /* not a multiple of the block */
#define MAX_CONTEXT 64

static const int sizes[] = {1, 2, 4, 8, 16};
#define NUM_SIZES 5

#define CUDA_OK(expr)                                                                         \
    do {                                                                                      \
        cudaError_t e_ = (expr);                                                              \
        if (e_ != cudaSuccess) fail_msg("%s: %s", #expr, cudaGetErrorString(e_));             \
    } while (0)

typedef struct setup {
    seam_registry *reg;
    seam_context *ctx;
    float *input; /* device [MAX_TOKENS, WIDTH], engine-owned */
    float host_input[MAX_TOKENS * WIDTH];
    int32_t positions[MAX_TOKENS];
    int tokens;
} setup;

static void make_setup(setup *s, int graph_safe, int piecewise) {
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

static void free_setup(setup *s) {
    SEAM_ASSERT_OK(seam_context_synchronize(s->ctx));
    CUDA_OK(cudaFree(s->input));
    SEAM_ASSERT_OK(seam_context_destroy(s->ctx));
    SEAM_ASSERT_OK(seam_registry_destroy(s->reg));
}

/* big: adds an unused 24 MiB arena tensor, so the arena shows in cudaMemGetInfo. */
static seam_program *make_program(setup *s, int unsafe_last, int big, int *out_id) {
    seam_program *prog;
    SEAM_ASSERT_OK(seam_program_create(&prog, s->reg));
    int64_t shape[2] = {MAX_TOKENS, WIDTH};
    seam_tensor ext = seam_tensor_contiguous(s->input, SEAM_DTYPE_F32, 2, shape, 0);
    int in, t[6];
    SEAM_ASSERT_OK(seam_program_add_external(prog, "in", &ext, &in));
    const char *names[6] = {"a", "b", "c", "d", "e", "out"};
    int64_t sym[2] = {0, WIDTH};
    for (int i = 0; i < 6; i++)
        SEAM_ASSERT_OK(seam_program_add_tensor(prog, names[i], SEAM_DTYPE_F32, 2, sym, 0, &t[i]));
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

static seam_graph *build_program(setup *s, seam_program *prog, int capture, seam_graph_exec_mode mode) {
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

static seam_graph *build(setup *s, int unsafe_last, int capture, seam_graph_exec_mode mode, int *out_id) {
    return build_program(s, make_program(s, unsafe_last, 0, out_id), capture, mode);
}

/* New input values (after the previous forward finished reading them) and a batch of one
 * request with `tokens` new tokens after a random prefix. */
static void new_batch(setup *s, seam_test_rng *rng, int tokens) {
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

static void reference(const setup *s, float *out) {
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
static void run_and_read(setup *s, seam_graph *g, int out_id, float *host) {
    SEAM_ASSERT_OK(seam_graph_run(g));
    SEAM_ASSERT_OK(seam_context_synchronize(s->ctx));
    seam_tensor out;
    SEAM_ASSERT_OK(seam_graph_tensor(g, out_id, s->tokens, &out));
    CUDA_OK(cudaMemcpy(host, out.data, (size_t)s->tokens * WIDTH * sizeof(float), cudaMemcpyDeviceToHost));
}

static void expect_close(const setup *s, const float *got, const float *want, const char *what) {
    for (int i = 0; i < s->tokens * WIDTH; i++) {
        float tol = 1e-4f * (1.0f + fabsf(want[i]));
        if (!(fabsf(got[i] - want[i]) <= tol))
            fail_msg("%s, %d tokens: row %d col %d: expected %.7g, got %.7g", what, s->tokens, i / WIDTH,
                     i % WIDTH, (double)want[i], (double)got[i]);
    }
}

static void expect_same(const setup *s, const float *got, const float *want, const char *what) {
    for (int i = 0; i < s->tokens * WIDTH; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0)
            fail_msg("%s, %d tokens: row %d col %d: eager %.9g, replay %.9g", what, s->tokens, i / WIDTH,
                     i % WIDTH, (double)want[i], (double)got[i]);
}

static seam_graph_stats stats_of(const seam_graph *g) {
    seam_graph_stats st = SEAM_GRAPH_STATS_INITIALIZER;
    SEAM_ASSERT_OK(seam_graph_get_stats(g, &st));
    return st;
}

static void test_replay_matches_eager_for_every_bucket(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    setup s;
    make_setup(&s, 0, 1);
    int out_r, out_e;
    seam_graph *replay = build(&s, 0, 1, SEAM_GRAPH_EXEC_UPDATE, &out_r);
    seam_graph *eager = build(&s, 0, 0, SEAM_GRAPH_EXEC_UPDATE, &out_e);
    seam_graph_stats st = stats_of(replay);
    assert_int_equal(st.num_pieces, 3);
    assert_int_equal(st.num_split_ops, 2);
    assert_int_equal(st.num_eager_pieces, 0);
    assert_int_equal(st.captured, 1);
    assert_int_equal(st.num_graphs, 3 * NUM_SIZES);
    static float got[MAX_TOKENS * WIDTH], want[MAX_TOKENS * WIDTH], ref[MAX_TOKENS * WIDTH];
    for (int b = 0; b < NUM_SIZES; b++) {
        int lo = b == 0 ? 1 : sizes[b - 1] + 1;
        int cases[2] = {sizes[b], lo}; /* exactly a bucket, and the most padding it gets */
        for (int k = 0; k < 2; k++) {
            new_batch(&s, &rng, cases[k]);
            seam_graph_dispatch d;
            SEAM_ASSERT_OK(seam_graph_dispatch_of(replay, &d));
            assert_int_equal(d.bucket, b);
            assert_int_equal(d.padded_tokens, sizes[b]);
            assert_int_equal(d.replay, 1);
            run_and_read(&s, replay, out_r, got);
            run_and_read(&s, eager, out_e, want);
            reference(&s, ref);
            expect_close(&s, got, ref, "replay vs CPU reference");
            expect_same(&s, got, want, "replay vs eager");
        }
    }
    SEAM_ASSERT_OK(seam_graph_destroy(replay));
    SEAM_ASSERT_OK(seam_graph_destroy(eager));
    free_setup(&s);
}

static void test_new_batch_values_replay_without_recapture(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    setup s;
    make_setup(&s, 0, 1);
    int out;
    seam_graph *g = build(&s, 0, 1, SEAM_GRAPH_EXEC_PER_BUCKET, &out);
    seam_graph_stats before = stats_of(g);
    static float first[MAX_TOKENS * WIDTH], got[MAX_TOKENS * WIDTH], ref[MAX_TOKENS * WIDTH];
    new_batch(&s, &rng, 7);
    run_and_read(&s, g, out, first);
    reference(&s, ref);
    expect_close(&s, first, ref, "first batch");
    new_batch(&s, &rng, 7); /* same bucket, new inputs, new positions */
    run_and_read(&s, g, out, got);
    reference(&s, ref);
    expect_close(&s, got, ref, "second batch");
    assert_true(memcmp(first, got, 7 * WIDTH * sizeof(float)) != 0);
    new_batch(&s, &rng, 6); /* same bucket, a different real count: split ops see it */
    run_and_read(&s, g, out, got);
    reference(&s, ref);
    expect_close(&s, got, ref, "third batch");
    seam_graph_stats after = stats_of(g);
    assert_int_equal(after.num_graphs, before.num_graphs);
    assert_int_equal(after.num_execs, before.num_execs);
    assert_int_equal(after.runtime_updates, 0);
    assert_int_equal(after.runtime_instantiations, 0);
    assert_int_equal(after.num_execs, 3 * NUM_SIZES); /* per-bucket: one executable each */
    SEAM_ASSERT_OK(seam_graph_destroy(g));
    free_setup(&s);
}

static void test_tokens_above_largest_bucket_run_eagerly(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    setup s;
    make_setup(&s, 0, 1);
    int out;
    seam_graph *g = build(&s, 0, 1, SEAM_GRAPH_EXEC_UPDATE, &out);
    static float got[MAX_TOKENS * WIDTH], ref[MAX_TOKENS * WIDTH];
    int cases[3] = {17, 20, MAX_TOKENS};
    for (int k = 0; k < 3; k++) {
        new_batch(&s, &rng, cases[k]);
        seam_graph_dispatch d;
        SEAM_ASSERT_OK(seam_graph_dispatch_of(g, &d));
        assert_int_equal(d.bucket, -1);
        assert_int_equal(d.replay, 0);
        assert_int_equal(d.padded_tokens, cases[k]);
        run_and_read(&s, g, out, got);
        reference(&s, ref);
        expect_close(&s, got, ref, "eager above the largest bucket");
    }
    SEAM_ASSERT_OK(seam_graph_destroy(g));
    free_setup(&s);
}

static void test_piecewise_off_runs_everything_eagerly(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    setup s;
    make_setup(&s, 0, 0);
    int out;
    seam_graph *g = build(&s, 0, 1, SEAM_GRAPH_EXEC_UPDATE, &out);
    assert_int_equal(stats_of(g).captured, 0);
    static float got[MAX_TOKENS * WIDTH], ref[MAX_TOKENS * WIDTH];
    new_batch(&s, &rng, 3);
    seam_graph_dispatch d;
    SEAM_ASSERT_OK(seam_graph_dispatch_of(g, &d));
    assert_int_equal(d.padded_tokens, 3);
    assert_int_equal(d.replay, 0);
    run_and_read(&s, g, out, got);
    reference(&s, ref);
    expect_close(&s, got, ref, "SEAM_PIECEWISE=0");
    SEAM_ASSERT_OK(seam_graph_destroy(g));
    free_setup(&s);
}

static void test_capture_unsafe_op_falls_back_to_eager(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    setup s;
    make_setup(&s, 0, 1);
    int out;
    seam_graph *g = build(&s, 1, 1, SEAM_GRAPH_EXEC_UPDATE, &out);
    /* The build succeeded and says why the last piece is eager. */
    assert_non_null(strstr(seam_last_error(), "toy_unsafe"));
    seam_graph_stats st = stats_of(g);
    assert_int_equal(st.num_pieces, 3);
    assert_int_equal(st.num_eager_pieces, 1);
    assert_int_equal(st.num_graphs, 2 * NUM_SIZES);
    for (int i = 0; i < st.num_steps; i++) {
        seam_graph_step step;
        SEAM_ASSERT_OK(seam_graph_get_step(g, i, &step));
        if (step.kind != SEAM_GRAPH_STEP_PIECE) continue;
        if (step.piece == 2) {
            assert_int_equal(step.eager, 1);
            assert_string_equal(step.failed_op, "toy_unsafe");
            assert_non_null(strstr(step.failure, "call 5"));
        } else {
            assert_int_equal(step.eager, 0);
            assert_null(step.failed_op);
        }
    }
    SEAM_ASSERT_FAILS(seam_graph_dump_piece(g, 2, 4, "/dev/null"), SEAM_ERR_STATE, "toy_unsafe");
    static float got[MAX_TOKENS * WIDTH], ref[MAX_TOKENS * WIDTH];
    int cases[3] = {1, 5, 16};
    for (int k = 0; k < 3; k++) {
        new_batch(&s, &rng, cases[k]);
        run_and_read(&s, g, out, got);
        reference(&s, ref);
        expect_close(&s, got, ref, "with an eager piece");
    }
    SEAM_ASSERT_OK(seam_graph_destroy(g));
    free_setup(&s);
}

static void test_graph_safe_merges_pieces_with_same_outputs(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    setup split, safe;
    make_setup(&split, 0, 1);
    make_setup(&safe, 1, 1);
    int out_split, out_safe;
    seam_graph *g_split = build(&split, 0, 1, SEAM_GRAPH_EXEC_UPDATE, &out_split);
    seam_graph *g_safe = build(&safe, 0, 1, SEAM_GRAPH_EXEC_UPDATE, &out_safe);
    seam_graph_stats a = stats_of(g_split), b = stats_of(g_safe);
    assert_int_equal(a.num_pieces, 3);
    assert_int_equal(b.num_pieces, 2);
    assert_int_equal(b.num_split_ops, 1);
    assert_int_equal(b.graph_safe, 1);
    static float got_split[MAX_TOKENS * WIDTH], got_safe[MAX_TOKENS * WIDTH], ref[MAX_TOKENS * WIDTH];
    int cases[4] = {1, 3, 9, 16};
    for (int k = 0; k < 4; k++) {
        seam_test_rng copy = rng;
        new_batch(&split, &rng, cases[k]);
        new_batch(&safe, &copy, cases[k]); /* same data */
        run_and_read(&split, g_split, out_split, got_split);
        run_and_read(&safe, g_safe, out_safe, got_safe);
        reference(&safe, ref);
        expect_close(&safe, got_safe, ref, "graph-safe");
        expect_same(&safe, got_safe, got_split, "graph-safe vs split");
    }
    SEAM_ASSERT_OK(seam_graph_destroy(g_split));
    SEAM_ASSERT_OK(seam_graph_destroy(g_safe));
    free_setup(&split);
    free_setup(&safe);
}

static void test_thousand_replays_across_buckets_stay_correct(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    setup s;
    make_setup(&s, 0, 1);
    int out;
    seam_graph *g = build(&s, 0, 1, SEAM_GRAPH_EXEC_UPDATE, &out);
    static float got[MAX_TOKENS * WIDTH], ref[MAX_TOKENS * WIDTH];
    for (int iter = 0; iter < 1000; iter++) {
        /* Mostly the same bucket as before (a decode loop), sometimes another one. */
        int tokens = iter % 50 == 0 || iter < 20 ? seam_test_int(&rng, 1, 16) : s.tokens;
        new_batch(&s, &rng, tokens);
        run_and_read(&s, g, out, got);
        reference(&s, ref);
        expect_close(&s, got, ref, "replay loop");
    }
    seam_graph_stats st = stats_of(g);
    assert_int_equal(st.num_graphs, 3 * NUM_SIZES);
    assert_true(st.runtime_instantiations == 0);
    printf("# %d executables, %d run-time updates over 1000 forwards\n", st.num_execs, st.runtime_updates);
    SEAM_ASSERT_OK(seam_graph_destroy(g));
    free_setup(&s);
}

static void test_exec_modes_agree_and_count_executables(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    setup s;
    make_setup(&s, 0, 1);
    int out_u, out_p;
    seam_graph *upd = build(&s, 0, 1, SEAM_GRAPH_EXEC_UPDATE, &out_u);
    seam_graph *per = build(&s, 0, 1, SEAM_GRAPH_EXEC_PER_BUCKET, &out_p);
    seam_graph_stats a = stats_of(upd), b = stats_of(per);
    assert_int_equal(b.num_execs, 3 * NUM_SIZES);
    assert_true(a.num_execs >= 3 && a.num_execs <= 3 * NUM_SIZES);
    int inst = 0, updates = 0, refused = 0;
    for (int i = 0; i < NUM_SIZES; i++) {
        seam_graph_bucket bk;
        SEAM_ASSERT_OK(seam_graph_get_bucket(upd, i, &bk));
        assert_int_equal(bk.tokens, sizes[i]);
        assert_true(bk.capture_ms > 0.0);
        inst += bk.instantiations;
        updates += bk.updates;
        refused += bk.update_refusals;
    }
    assert_int_equal(inst, a.num_execs);
    assert_int_equal(inst + updates, 3 * NUM_SIZES);
    assert_int_equal(refused, inst - 3); /* an executable per piece, plus one per refusal */
    static float got_u[MAX_TOKENS * WIDTH], got_p[MAX_TOKENS * WIDTH];
    for (int tokens = 1; tokens <= 16; tokens += 3) {
        new_batch(&s, &rng, tokens);
        run_and_read(&s, upd, out_u, got_u);
        run_and_read(&s, per, out_p, got_p);
        expect_same(&s, got_u, got_p, "update vs per-bucket");
    }
    SEAM_ASSERT_OK(seam_graph_destroy(upd));
    SEAM_ASSERT_OK(seam_graph_destroy(per));
    free_setup(&s);
}

static void test_dump_piece_writes_cuda_graph_dot(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    setup s;
    make_setup(&s, 0, 1);
    int out;
    seam_graph *g = build(&s, 0, 1, SEAM_GRAPH_EXEC_UPDATE, &out);
    char path[] = "/tmp/seam_test_graph_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    SEAM_ASSERT_OK(seam_graph_dump_piece(g, 0, 8, path));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    assert_non_null(strstr(buf, "digraph"));
    SEAM_ASSERT_OK(seam_graph_destroy(g));
    free_setup(&s);
}

static size_t free_memory(void) {
    size_t free_b, total_b;
    CUDA_OK(cudaMemGetInfo(&free_b, &total_b));
    return free_b;
}

static void test_destroy_returns_device_memory(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    setup s;
    make_setup(&s, 0, 1);
    int out;
    size_t arena = (size_t)MAX_TOKENS << 20; /* the big tensor alone: 24 MiB */
    /* A first build/destroy pays for the driver's one-time graph state. */
    seam_graph *g = build_program(&s, make_program(&s, 0, 1, &out), 1, SEAM_GRAPH_EXEC_PER_BUCKET);
    assert_true(stats_of(g).arena_bytes > arena);
    SEAM_ASSERT_OK(seam_graph_destroy(g));
    size_t before = free_memory();
    for (int round = 0; round < 3; round++) {
        seam_graph_exec_mode mode = round == 1 ? SEAM_GRAPH_EXEC_UPDATE : SEAM_GRAPH_EXEC_PER_BUCKET;
        g = build_program(&s, make_program(&s, 0, 1, &out), 1, mode);
        size_t during = free_memory();
        SEAM_ASSERT_OK(seam_graph_destroy(g));
        size_t after = free_memory();
        printf("# round %d: free before %zu, with graph %zu, after destroy %zu\n", round, before, during,
               after);
        if (during + arena > before)
            fail_msg("round %d: the arena (%zu bytes) does not show in free memory (%zu -> %zu)", round,
                     arena, before, during);
        if (after + (2u << 20) < before)
            fail_msg("round %d: destroy left %zu bytes of device memory in use", round, before - after);
    }
    free_setup(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_matches_eager_for_every_bucket),
        cmocka_unit_test(test_new_batch_values_replay_without_recapture),
        cmocka_unit_test(test_tokens_above_largest_bucket_run_eagerly),
        cmocka_unit_test(test_piecewise_off_runs_everything_eagerly),
        cmocka_unit_test(test_capture_unsafe_op_falls_back_to_eager),
        cmocka_unit_test(test_graph_safe_merges_pieces_with_same_outputs),
        cmocka_unit_test(test_thousand_replays_across_buckets_stay_correct),
        cmocka_unit_test(test_exec_modes_agree_and_count_executables),
        cmocka_unit_test(test_dump_piece_writes_cuda_graph_dot),
        cmocka_unit_test(test_destroy_returns_device_memory),
    };
    return SEAM_RUN_TESTS(tests);
}
