/* Suite graph, CPU only: how a program is cut into pieces (splits at the start, the end,
 * adjacent, none), graph-safe merging, bucket choice and padding, the arena layout, program
 * validation with named messages, and the plan/DOT report, all on a host context. The ops
 * registered here refuse to run: planning must never launch anything. */
#include "graph/graph_impl.h"
#include "tests/test_util.h"

static seam_status must_not_run(const seam_op_call *call, seam_context *ctx, seam_stream stream) {
    (void)ctx;
    (void)stream;
    fail_msg("op '%s' ran during planning", call->op->name);
    return SEAM_ERR_INTERNAL;
}

/* cap: capturable, split: split, gs: capturable when graph-safe. Each takes x, y. */
static seam_registry *make_registry(void) {
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create_empty(&reg));
    const char *names[] = {"cap", "split", "gs"};
    uint32_t flags[] = {SEAM_OP_CAPTURABLE, SEAM_OP_SPLIT, SEAM_OP_CAPTURABLE_WHEN_GRAPH_SAFE};
    for (int i = 0; i < 3; i++) {
        seam_op op;
        memset(&op, 0, sizeof op);
        op.name = names[i];
        op.flags = flags[i];
        op.num_args = 3;
        op.arg_kinds[0] = op.arg_kinds[1] = SEAM_ARG_TENSOR;
        op.arg_kinds[2] = SEAM_ARG_INT;
        op.arg_names[0] = "x";
        op.arg_names[1] = "y";
        op.arg_names[2] = "k";
        op.optional_args = 1u << 2;
        op.mutates = 1u << 1;
        op.run = must_not_run;
        SEAM_ASSERT_OK(seam_registry_register(reg, &op, NULL));
    }
    return reg;
}

static seam_context *make_host_context(int graph_safe, int piecewise, int max_tokens,
                                       const int *sizes, int num_sizes) {
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    cfg.graph_safe = graph_safe;
    cfg.piecewise = piecewise;
    cfg.num_capture_sizes = num_sizes;
    for (int i = 0; i < num_sizes; i++) cfg.capture_sizes[i] = sizes[i];
    seam_context_params p = SEAM_CONTEXT_PARAMS_INITIALIZER;
    p.device = SEAM_DEVICE_HOST;
    p.max_tokens = max_tokens;
    p.max_batch = max_tokens;
    p.max_context = 256;
    p.config = &cfg;
    seam_context *ctx;
    SEAM_ASSERT_OK(seam_context_create(&ctx, &p));
    return ctx;
}

/* A program of n calls named by a pattern string: c = cap, s = split, g = gs. */
static seam_program *make_program(seam_registry *reg, const char *pattern) {
    seam_program *prog;
    SEAM_ASSERT_OK(seam_program_create(&prog, reg));
    int h;
    int64_t shape[2] = {0, 64};
    SEAM_ASSERT_OK(seam_program_add_tensor(prog, "h", SEAM_DTYPE_BF16, 2, shape, 0, &h));
    for (const char *c = pattern; *c; c++) {
        const char *op = *c == 'c' ? "cap" : *c == 's' ? "split" : "gs";
        seam_program_arg args[3] = {seam_program_arg_tensor(h), seam_program_arg_tensor(h),
                                    seam_program_arg_none()};
        SEAM_ASSERT_OK(seam_program_add_call(prog, op, 3, args, NULL));
    }
    return prog;
}

/* The plan as a string: one letter per step, P for a piece (with its call count) and S for
 * a split, e.g. "P2 S P1". */
static void plan_string(const seam_graph *g, char *buf, size_t size) {
    seam_graph_stats st = SEAM_GRAPH_STATS_INITIALIZER;
    SEAM_ASSERT_OK(seam_graph_get_stats(g, &st));
    size_t used = 0;
    buf[0] = '\0';
    int pieces = 0, calls = 0;
    for (int i = 0; i < st.num_steps; i++) {
        seam_graph_step s;
        SEAM_ASSERT_OK(seam_graph_get_step(g, i, &s));
        assert_int_equal(s.first_call, calls); /* steps cover the calls in order */
        calls += s.num_calls;
        if (s.kind == SEAM_GRAPH_STEP_PIECE) assert_int_equal(s.piece, pieces++);
        else assert_int_equal(s.num_calls, 1);
        used += (size_t)snprintf(buf + used, size - used, s.kind == SEAM_GRAPH_STEP_PIECE ? "%sP%d" : "%sS",
                                 i ? " " : "", s.num_calls);
    }
    assert_int_equal(calls, st.num_calls);
    assert_int_equal(pieces, st.num_pieces);
    assert_int_equal(st.num_pieces + st.num_split_ops, st.num_steps);
}

static void expect_plan(int graph_safe, const char *pattern, const char *want) {
    seam_registry *reg = make_registry();
    int sizes[] = {1, 2, 4, 8};
    seam_context *ctx = make_host_context(graph_safe, 1, 8, sizes, 4);
    seam_program *prog = make_program(reg, pattern);
    seam_graph *g;
    SEAM_ASSERT_OK(seam_graph_build(&g, prog, ctx, NULL));
    char got[256];
    plan_string(g, got, sizeof got);
    if (strcmp(got, want) != 0)
        fail_msg("pattern %s (graph_safe=%d): plan '%s', expected '%s'", pattern, graph_safe, got, want);
    seam_graph_destroy(g);
    seam_program_destroy(prog);
    seam_context_destroy(ctx);
    seam_registry_destroy(reg);
}

static void test_plan_without_splits_is_one_piece(void **state) {
    (void)state;
    expect_plan(0, "c", "P1");
    expect_plan(0, "cccccc", "P6");
}

static void test_plan_split_at_start_and_end_makes_no_empty_piece(void **state) {
    (void)state;
    expect_plan(0, "sccc", "S P3");
    expect_plan(0, "cccs", "P3 S");
    expect_plan(0, "scs", "S P1 S");
    expect_plan(0, "s", "S");
}

static void test_plan_adjacent_splits_make_no_empty_piece(void **state) {
    (void)state;
    expect_plan(0, "ccssscc", "P2 S S S P2");
    expect_plan(0, "ss", "S S");
    expect_plan(0, "cscscs", "P1 S P1 S P1 S");
}

static void test_plan_graph_safe_merges_pieces(void **state) {
    (void)state;
    /* gs splits unless graph-safe; split always splits. */
    expect_plan(0, "ccgccgcc", "P2 S P2 S P2");
    expect_plan(1, "ccgccgcc", "P8");
    expect_plan(0, "cgcscgc", "P1 S P1 S P1 S P1");
    expect_plan(1, "cgcscgc", "P3 S P3");
    expect_plan(1, "ggg", "P3");
    expect_plan(0, "ggg", "S S S");
}

/* The splitter against a direct reference on random capturability patterns. */
static void test_plan_split_random_patterns_match_reference(void **state) {
    (void)state;
    seam_test_rng rng = seam_test_rng_make(__func__);
    for (int iter = 0; iter < 2000; iter++) {
        int n = seam_test_int(&rng, 1, 40);
        unsigned char cap[40];
        int density = seam_test_int(&rng, 0, 100);
        for (int i = 0; i < n; i++) cap[i] = (unsigned char)(seam_test_int(&rng, 0, 99) < density);
        plan_step steps[40];
        int pieces;
        int count = seam_graph_plan_split(cap, n, steps, &pieces);
        int want_pieces = 0, want_steps = 0;
        for (int i = 0; i < n; i++) {
            if (!cap[i]) want_steps++;
            else if (i == 0 || !cap[i - 1]) want_pieces++, want_steps++;
        }
        assert_int_equal(pieces, want_pieces);
        assert_int_equal(count, want_steps);
        int at = 0;
        for (int s = 0; s < count; s++) {
            assert_int_equal(steps[s].first_call, at);
            for (int i = at; i < at + steps[s].num_calls; i++)
                assert_int_equal(cap[i], steps[s].kind == SEAM_GRAPH_STEP_PIECE);
            if (steps[s].kind == SEAM_GRAPH_STEP_PIECE && s + 1 < count)
                assert_int_equal(steps[s + 1].kind, SEAM_GRAPH_STEP_SPLIT); /* maximal runs */
            at += steps[s].num_calls;
        }
        assert_int_equal(at, n);
    }
}

static void set_tokens(seam_context *ctx, int tokens) {
    int32_t seq[1] = {tokens + 3}, ext[1] = {tokens};
    int32_t loc[256], table[256];
    for (int i = 0; i < 256; i++) loc[i] = table[i] = i;
    seam_batch b = SEAM_BATCH_INITIALIZER;
    b.mode = SEAM_FORWARD_EXTEND;
    b.batch_size = 1;
    b.seq_lens = seq;
    b.extend_lens = ext;
    b.out_cache_loc = loc;
    b.page_table = table;
    b.page_table_stride = tokens + 3;
    SEAM_ASSERT_OK(seam_context_set_batch(ctx, &b));
}

static void test_bucket_choice_is_smallest_bucket_at_or_above_tokens(void **state) {
    (void)state;
    seam_registry *reg = make_registry();
    int sizes[] = {1, 2, 4, 8, 16, 48};
    seam_context *ctx = make_host_context(0, 1, 40, sizes, 6); /* 48 > max_tokens: dropped */
    seam_program *prog = make_program(reg, "cscc");
    seam_graph *g;
    SEAM_ASSERT_OK(seam_graph_build(&g, prog, ctx, NULL));
    seam_graph_stats st = SEAM_GRAPH_STATS_INITIALIZER;
    SEAM_ASSERT_OK(seam_graph_get_stats(g, &st));
    assert_int_equal(st.num_buckets, 5);
    assert_int_equal(st.captured, 0);
    for (int tokens = 1; tokens <= 40; tokens++) {
        set_tokens(ctx, tokens);
        seam_graph_dispatch d;
        SEAM_ASSERT_OK(seam_graph_dispatch_of(g, &d));
        int want = tokens <= 1 ? 1 : tokens <= 2 ? 2 : tokens <= 4 ? 4 : tokens <= 8 ? 8 : tokens <= 16 ? 16 : tokens;
        assert_int_equal(d.tokens, tokens);
        assert_int_equal(d.padded_tokens, want);
        assert_true(d.padded_tokens - d.tokens >= 0); /* padding rows */
        if (tokens <= 16) {
            seam_graph_bucket b;
            assert_true(d.bucket >= 0);
            SEAM_ASSERT_OK(seam_graph_get_bucket(g, d.bucket, &b));
            assert_int_equal(b.tokens, want);
        } else {
            assert_int_equal(d.bucket, -1); /* above the largest bucket: eager */
        }
        assert_int_equal(d.replay, 0); /* a host plan never replays */
    }
    SEAM_ASSERT_FAILS(seam_graph_run(g), SEAM_ERR_NO_DEVICE, "host context");
    seam_graph_destroy(g);
    seam_program_destroy(prog);
    seam_context_destroy(ctx);
    seam_registry_destroy(reg);
}

static void test_piecewise_off_pads_nothing(void **state) {
    (void)state;
    seam_registry *reg = make_registry();
    int sizes[] = {4, 8};
    seam_context *ctx = make_host_context(0, 0, 8, sizes, 2);
    seam_program *prog = make_program(reg, "csc");
    seam_graph *g;
    SEAM_ASSERT_OK(seam_graph_build(&g, prog, ctx, NULL));
    for (int tokens = 1; tokens <= 8; tokens++) {
        set_tokens(ctx, tokens);
        seam_graph_dispatch d;
        SEAM_ASSERT_OK(seam_graph_dispatch_of(g, &d));
        assert_int_equal(d.padded_tokens, tokens);
        assert_int_equal(d.bucket, -1);
    }
    seam_graph_destroy(g);
    seam_program_destroy(prog);
    seam_context_destroy(ctx);
    seam_registry_destroy(reg);
}

static void test_no_bucket_within_max_tokens_plans_every_forward_eager(void **state) {
    (void)state;
    seam_registry *reg = make_registry();
    int sizes[] = {16, 32};
    seam_context *ctx = make_host_context(0, 1, 8, sizes, 2); /* every bucket above max_tokens */
    seam_program *prog = make_program(reg, "cscc");
    seam_graph *g;
    SEAM_ASSERT_OK(seam_graph_build(&g, prog, ctx, NULL));
    seam_graph_stats st = SEAM_GRAPH_STATS_INITIALIZER;
    SEAM_ASSERT_OK(seam_graph_get_stats(g, &st));
    assert_int_equal(st.num_buckets, 0);
    assert_int_equal(st.num_pieces, 2);
    set_tokens(ctx, 5);
    seam_graph_dispatch d;
    SEAM_ASSERT_OK(seam_graph_dispatch_of(g, &d));
    assert_int_equal(d.padded_tokens, 5);
    assert_int_equal(d.bucket, -1);
    seam_graph_destroy(g);
    seam_program_destroy(prog);
    seam_context_destroy(ctx);
    seam_registry_destroy(reg);
}

static void test_arena_is_aligned_and_sized_for_max_tokens(void **state) {
    (void)state;
    seam_registry *reg = make_registry();
    int sizes[] = {4, 16};
    seam_context *ctx = make_host_context(0, 1, 24, sizes, 2);
    seam_program *prog;
    SEAM_ASSERT_OK(seam_program_create(&prog, reg));
    int64_t s_a[2] = {0, 33}, s_b[3] = {7, 0, 3}, s_c[1] = {5};
    int a, b, c;
    SEAM_ASSERT_OK(seam_program_add_tensor(prog, "a", SEAM_DTYPE_BF16, 2, s_a, 0, &a));
    SEAM_ASSERT_OK(seam_program_add_tensor(prog, "b", SEAM_DTYPE_F32, 3, s_b, 1, &b));
    SEAM_ASSERT_OK(seam_program_add_tensor(prog, "c", SEAM_DTYPE_U8, 1, s_c, SEAM_NO_TOKEN_DIM, &c));
    seam_program_arg args[3] = {seam_program_arg_tensor(a), seam_program_arg_tensor(b), seam_program_arg_int(1)};
    SEAM_ASSERT_OK(seam_program_add_call(prog, "cap", 3, args, NULL));
    seam_graph *g;
    SEAM_ASSERT_OK(seam_graph_build(&g, prog, ctx, NULL));
    seam_graph_stats st = SEAM_GRAPH_STATS_INITIALIZER;
    SEAM_ASSERT_OK(seam_graph_get_stats(g, &st));
    size_t bytes_a = 24 * 33 * 2, bytes_b = 7 * 24 * 3 * 4, bytes_c = 5;
    assert_int_equal(st.arena_tokens, 24);
    assert_int_equal(st.arena_need_bytes, bytes_a + bytes_b + bytes_c);
    size_t off_b = (bytes_a + 255) / 256 * 256, off_c = off_b + (bytes_b + 255) / 256 * 256;
    assert_int_equal(st.arena_bytes, off_c + 256);
    assert_int_equal(g->tensors[b].offset, off_b);
    assert_int_equal(g->tensors[c].offset, off_c);
    /* One arena for every bucket: a smaller bucket's view is a prefix at the same offset. */
    seam_tensor v16 = seam_graph_tensor_view(&g->tensors[b], (void *)(uintptr_t)4096, 16);
    seam_tensor v4 = seam_graph_tensor_view(&g->tensors[b], (void *)(uintptr_t)4096, 4);
    assert_ptr_equal(v16.data, v4.data);
    assert_int_equal(v4.shape[1], 4);
    assert_int_equal(v4.strides[0], 4 * 3);
    assert_int_equal(v16.strides[0], 16 * 3);
    assert_true(seam_tensor_is_contiguous(&v4));
    seam_tensor t;
    SEAM_ASSERT_FAILS(seam_graph_tensor(g, a, 4, &t), SEAM_ERR_NO_DEVICE, "tensor 'a' lives in the arena");
    SEAM_ASSERT_FAILS(seam_graph_tensor(g, a, 25, &t), SEAM_ERR_INVALID_ARG, "num_tokens=25");
    seam_graph_destroy(g);
    seam_program_destroy(prog);
    seam_context_destroy(ctx);
    seam_registry_destroy(reg);
}

static void test_scratch_tensors_share_space_by_live_range(void **state) {
    (void)state;
    seam_registry *reg = make_registry();
    int sizes[] = {4, 8};
    seam_context *ctx = make_host_context(0, 1, 8, sizes, 2);
    seam_program *prog;
    SEAM_ASSERT_OK(seam_program_create(&prog, reg));
    int64_t shape[2] = {0, 100}; /* 8 x 100 x 4 = 3200 bytes -> 3328 aligned */
    int in, out, s[3];
    SEAM_ASSERT_OK(seam_program_add_tensor(prog, "in", SEAM_DTYPE_F32, 2, shape, 0, &in));
    SEAM_ASSERT_OK(seam_program_add_scratch(prog, "s0", SEAM_DTYPE_F32, 2, shape, 0, &s[0]));
    SEAM_ASSERT_OK(seam_program_add_scratch(prog, "s1", SEAM_DTYPE_F32, 2, shape, 0, &s[1]));
    SEAM_ASSERT_OK(seam_program_add_scratch(prog, "s2", SEAM_DTYPE_F32, 2, shape, 0, &s[2]));
    SEAM_ASSERT_OK(seam_program_add_tensor(prog, "out", SEAM_DTYPE_F32, 2, shape, 0, &out));
    int chain[5] = {in, s[0], s[1], s[2], out}; /* s0 lives in calls 0-1, s1 in 1-2, s2 in 2-3 */
    for (int c = 0; c < 4; c++) {
        seam_program_arg args[3] = {seam_program_arg_tensor(chain[c]), seam_program_arg_tensor(chain[c + 1]),
                                    seam_program_arg_none()};
        SEAM_ASSERT_OK(seam_program_add_call(prog, c == 2 ? "split" : "cap", 3, args, NULL));
    }
    seam_graph *g;
    SEAM_ASSERT_OK(seam_graph_build(&g, prog, ctx, NULL));
    seam_graph_stats st = SEAM_GRAPH_STATS_INITIALIZER;
    SEAM_ASSERT_OK(seam_graph_get_stats(g, &st));
    size_t slot = 3328;
    assert_int_equal(st.num_scratch, 3);
    assert_int_equal(st.arena_need_bytes, 5 * 3200);
    assert_int_equal(st.arena_bytes, 4 * slot); /* in, out, and two slots for three scratch */
    assert_int_equal(g->tensors[in].offset, 0);
    assert_int_equal(g->tensors[out].offset, slot);
    assert_int_equal(g->tensors[s[0]].offset, 2 * slot);
    assert_int_equal(g->tensors[s[1]].offset, 3 * slot);
    assert_int_equal(g->tensors[s[2]].offset, 2 * slot); /* s0 is dead by call 2 */
    seam_graph_destroy(g);
    seam_program_destroy(prog);
    seam_context_destroy(ctx);
    seam_registry_destroy(reg);
}

static void test_scratch_read_before_write_is_rejected(void **state) {
    (void)state;
    seam_registry *reg = make_registry();
    int sizes[] = {4};
    seam_context *ctx = make_host_context(0, 1, 8, sizes, 1);
    seam_program *prog;
    SEAM_ASSERT_OK(seam_program_create(&prog, reg));
    int64_t shape[2] = {0, 4};
    int s, h;
    SEAM_ASSERT_OK(seam_program_add_scratch(prog, "s", SEAM_DTYPE_F32, 2, shape, 0, &s));
    SEAM_ASSERT_OK(seam_program_add_tensor(prog, "h", SEAM_DTYPE_F32, 2, shape, 0, &h));
    SEAM_ASSERT_FAILS(seam_program_add_scratch(prog, "s", SEAM_DTYPE_F32, 2, shape, 0, NULL),
                      SEAM_ERR_ALREADY_EXISTS, "seam_program_add_scratch: tensor 's' already exists");
    seam_program_arg args[3] = {seam_program_arg_tensor(s), seam_program_arg_tensor(h), seam_program_arg_none()};
    SEAM_ASSERT_OK(seam_program_add_call(prog, "cap", 3, args, NULL));
    seam_graph *g;
    SEAM_ASSERT_FAILS(seam_graph_build(&g, prog, ctx, NULL), SEAM_ERR_INVALID_ARG,
                      "scratch tensor 's' is read by call 0 (op 'cap') before any call writes it");
    seam_program_destroy(prog);
    seam_context_destroy(ctx);
    seam_registry_destroy(reg);
}

/* Random programs: no two tensors that are live at the same call share a byte, and every
 * tensor lies inside the arena. */
static void test_arena_layout_random_programs_never_alias_live_tensors(void **state) {
    (void)state;
    seam_registry *reg = make_registry();
    const seam_op *cap;
    SEAM_ASSERT_OK(seam_registry_find(reg, "cap", &cap));
    seam_test_rng rng = seam_test_rng_make(__func__);
    for (int iter = 0; iter < 300; iter++) {
        enum { MAXT = 24, MAXC = 40 };
        prog_tensor tensors[MAXT];
        prog_call calls[MAXC];
        memset(tensors, 0, sizeof tensors);
        memset(calls, 0, sizeof calls);
        int nt = seam_test_int(&rng, 1, MAXT), nc = seam_test_int(&rng, 1, MAXC);
        for (int i = 0; i < nt; i++) {
            tensors[i].scratch = seam_test_int(&rng, 0, 3) != 0;
            tensors[i].dtype = SEAM_DTYPE_F32;
            tensors[i].ndim = 2;
            tensors[i].token_dim = 0;
            tensors[i].shape[1] = seam_test_int(&rng, 1, 300);
        }
        int written[MAXT] = {0};
        for (int c = 0; c < nc; c++) {
            /* x: a persistent tensor or a scratch one already written; y: any tensor. */
            int x, y = seam_test_int(&rng, 0, nt - 1);
            for (int tries = 0;; tries++) {
                x = seam_test_int(&rng, 0, nt - 1);
                if (!tensors[x].scratch || written[x] || tries > 50) break;
            }
            if (tensors[x].scratch && !written[x]) x = y; /* read and written by this call */
            calls[c].op = cap;
            calls[c].num_args = 3;
            calls[c].args[0] = seam_program_arg_tensor(x);
            calls[c].args[1] = seam_program_arg_tensor(y);
            calls[c].args[2] = seam_program_arg_none();
            written[y] = 1;
        }
        SEAM_ASSERT_OK(seam_graph_liveness(tensors, nt, calls, nc));
        size_t need;
        int tokens = seam_test_int(&rng, 1, 64);
        size_t arena = seam_graph_arena_layout(tensors, nt, tokens, &need);
        size_t sum = 0;
        for (int i = 0; i < nt; i++) sum += seam_graph_tensor_bytes(&tensors[i], tokens);
        assert_int_equal(need, sum);
        for (int i = 0; i < nt; i++) {
            const prog_tensor *a = &tensors[i];
            size_t a_end = a->offset + seam_graph_tensor_bytes(a, tokens);
            assert_true(a->offset % SEAM_ARENA_ALIGNMENT == 0);
            if (a->first_use >= 0 || !a->scratch) assert_true(a_end <= arena);
            for (int j = i + 1; j < nt; j++) {
                const prog_tensor *b = &tensors[j];
                if (a->scratch && b->scratch &&
                    (a->first_use < 0 || b->first_use < 0 || a->last_use < b->first_use || b->last_use < a->first_use))
                    continue; /* never live together: may share */
                size_t b_end = b->offset + seam_graph_tensor_bytes(b, tokens);
                if (a->offset < b_end && b->offset < a_end)
                    fail_msg("iteration %d: tensors %d [%zu, %zu) live %d-%d and %d [%zu, %zu) live %d-%d overlap",
                             iter, i, a->offset, a_end, a->first_use, a->last_use, j, b->offset, b_end,
                             b->first_use, b->last_use);
            }
        }
    }
    seam_registry_destroy(reg);
}

static void test_external_tensor_keeps_strides_and_takes_token_rows(void **state) {
    (void)state;
    seam_registry *reg = make_registry();
    int sizes[] = {4, 8};
    seam_context *ctx = make_host_context(0, 1, 8, sizes, 2);
    seam_program *prog;
    SEAM_ASSERT_OK(seam_program_create(&prog, reg));
    static float storage[8 * 10];
    int64_t shape[2] = {8, 6};
    seam_tensor ext = seam_tensor_contiguous(storage, SEAM_DTYPE_F32, 2, shape, 0);
    ext.strides[0] = 10; /* rows padded to 10 elements */
    int e;
    SEAM_ASSERT_OK(seam_program_add_external(prog, "input", &ext, &e));
    seam_program_arg args[3] = {seam_program_arg_tensor(e), seam_program_arg_tensor(e), seam_program_arg_none()};
    SEAM_ASSERT_OK(seam_program_add_call(prog, "cap", 3, args, NULL));
    seam_graph *g;
    SEAM_ASSERT_OK(seam_graph_build(&g, prog, ctx, NULL));
    seam_tensor v;
    SEAM_ASSERT_OK(seam_graph_tensor(g, e, 3, &v));
    assert_ptr_equal(v.data, storage);
    assert_int_equal(v.shape[0], 3);
    assert_int_equal(v.shape[1], 6);
    assert_int_equal(v.strides[0], 10);
    seam_graph_destroy(g);
    seam_program_destroy(prog);
    seam_context_destroy(ctx);
    seam_registry_destroy(reg);
}

static void test_program_validation_names_the_problem(void **state) {
    (void)state;
    seam_registry *reg = make_registry();
    seam_program *prog;
    SEAM_ASSERT_FAILS(seam_program_create(&prog, NULL), SEAM_ERR_INVALID_ARG, "reg is NULL");
    SEAM_ASSERT_OK(seam_program_create(&prog, reg));
    int64_t shape[2] = {0, 16}, zero[2] = {0, 0};
    int h;
    SEAM_ASSERT_OK(seam_program_add_tensor(prog, "h", SEAM_DTYPE_F32, 2, shape, 0, &h));
    SEAM_ASSERT_FAILS(seam_program_add_tensor(prog, "h", SEAM_DTYPE_F32, 2, shape, 0, NULL),
                      SEAM_ERR_ALREADY_EXISTS, "tensor 'h' already exists");
    SEAM_ASSERT_FAILS(seam_program_add_tensor(prog, "", SEAM_DTYPE_F32, 2, shape, 0, NULL),
                      SEAM_ERR_INVALID_ARG, "name is empty");
    SEAM_ASSERT_FAILS(seam_program_add_tensor(prog, "t", SEAM_DTYPE_F32, 2, shape, 2, NULL),
                      SEAM_ERR_INVALID_ARG, "tensor 't': token_dim=2");
    SEAM_ASSERT_FAILS(seam_program_add_tensor(prog, "t", SEAM_DTYPE_F32, 2, zero, 0, NULL),
                      SEAM_ERR_INVALID_ARG, "tensor 't': shape[1]=0");
    SEAM_ASSERT_FAILS(seam_program_add_tensor(prog, "t", SEAM_DTYPE_F32, 5, shape, 0, NULL),
                      SEAM_ERR_INVALID_ARG, "ndim=5");
    SEAM_ASSERT_FAILS(seam_program_add_tensor(prog, "t", (seam_dtype)99, 2, shape, 0, NULL),
                      SEAM_ERR_INVALID_ARG, "dtype=99");
    seam_tensor ext = seam_tensor_contiguous(NULL, SEAM_DTYPE_F32, 2, shape, 0);
    ext.shape[0] = 4;
    SEAM_ASSERT_FAILS(seam_program_add_external(prog, "w", &ext, NULL), SEAM_ERR_INVALID_ARG,
                      "external tensor 'w': data is NULL");
    seam_program_arg good[3] = {seam_program_arg_tensor(h), seam_program_arg_tensor(h), seam_program_arg_none()};
    seam_program_arg bad_id[3] = {seam_program_arg_tensor(h), seam_program_arg_tensor(7), seam_program_arg_none()};
    seam_program_arg bad_kind[3] = {seam_program_arg_tensor(h), seam_program_arg_float(1.0), seam_program_arg_none()};
    SEAM_ASSERT_FAILS(seam_program_add_call(prog, "nope", 3, good, NULL), SEAM_ERR_NOT_FOUND,
                      "no op named 'nope'");
    SEAM_ASSERT_FAILS(seam_program_add_call(prog, "cap", 2, good, NULL), SEAM_ERR_INVALID_ARG,
                      "op 'cap' takes 3 arguments, got 2");
    SEAM_ASSERT_FAILS(seam_program_add_call(prog, "cap", 3, bad_id, NULL), SEAM_ERR_INVALID_ARG,
                      "argument y names tensor id 7");
    SEAM_ASSERT_FAILS(seam_program_add_call(prog, "cap", 3, bad_kind, NULL), SEAM_ERR_INVALID_ARG,
                      "argument y has kind 3");
    assert_int_equal(seam_program_num_calls(prog), 0);

    int sizes[] = {4};
    seam_context *ctx = make_host_context(0, 1, 8, sizes, 1);
    seam_graph *g = (seam_graph *)1;
    SEAM_ASSERT_FAILS(seam_graph_build(&g, prog, ctx, NULL), SEAM_ERR_INVALID_ARG, "the program has no calls");
    assert_null(g);
    int index = -1;
    SEAM_ASSERT_OK(seam_program_add_call(prog, "cap", 3, good, &index));
    assert_int_equal(index, 0);
    seam_graph_options opts = SEAM_GRAPH_OPTIONS_INITIALIZER;
    opts.struct_size = 3;
    SEAM_ASSERT_FAILS(seam_graph_build(&g, prog, ctx, &opts), SEAM_ERR_INVALID_ARG, "opts->struct_size=3");
    opts = (seam_graph_options)SEAM_GRAPH_OPTIONS_INITIALIZER;
    opts.exec_mode = (seam_graph_exec_mode)5;
    SEAM_ASSERT_FAILS(seam_graph_build(&g, prog, ctx, &opts), SEAM_ERR_INVALID_ARG, "exec_mode=5");

    /* An external tensor with fewer rows than the context's max_tokens. */
    static float storage[4 * 16];
    ext.data = storage;
    int w;
    SEAM_ASSERT_OK(seam_program_add_external(prog, "w", &ext, &w));
    SEAM_ASSERT_FAILS(seam_graph_build(&g, prog, ctx, NULL), SEAM_ERR_INVALID_ARG,
                      "external tensor 'w' (id 1): shape[0]=4 rows is below the context's max_tokens=8");
    seam_program_destroy(prog);
    seam_context_destroy(ctx);
    seam_registry_destroy(reg);
}

static char *capture_output(seam_graph *g, int dot) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    assert_non_null(f);
    SEAM_ASSERT_OK(dot ? seam_graph_write_dot(g, f) : seam_graph_write_plan(g, f));
    fclose(f);
    return buf;
}

static void test_plan_report_and_dot_on_host(void **state) {
    (void)state;
    seam_registry *reg = make_registry();
    int sizes[] = {2, 4, 8};
    seam_context *ctx = make_host_context(0, 1, 8, sizes, 3);
    seam_program *prog = make_program(reg, "ccscgc");
    seam_graph *g;
    SEAM_ASSERT_OK(seam_graph_build(&g, prog, ctx, NULL));
    char *plan = capture_output(g, 0);
    assert_non_null(strstr(plan, "plan: 5 steps = 3 pieces + 2 split ops"));
    assert_non_null(strstr(plan, "piece 0    calls 0-1 (2 ops)"));
    assert_non_null(strstr(plan, "split      call 2    split (split)"));
    assert_non_null(strstr(plan, "split      call 4    gs (capturable-when-graph-safe)"));
    assert_non_null(strstr(plan, "buckets (3): 2,4,8"));
    assert_non_null(strstr(plan, "host context: plan only"));
    free(plan);
    char *dot = capture_output(g, 1);
    assert_true(strncmp(dot, "digraph seam_plan {", 19) == 0);
    assert_non_null(strstr(dot, "subgraph cluster_piece2"));
    assert_non_null(strstr(dot, "c2 [label=\"split\", style=filled"));
    assert_non_null(strstr(dot, "c4 -> c5;"));
    free(dot);
    SEAM_ASSERT_FAILS(seam_graph_dump_piece(g, 0, 4, "/dev/null"), SEAM_ERR_STATE, "piece 0 was not captured");
    SEAM_ASSERT_FAILS(seam_graph_dump_piece(g, 0, 3, "/dev/null"), SEAM_ERR_INVALID_ARG, "tokens=3");
    SEAM_ASSERT_FAILS(seam_graph_dump_piece(g, 3, 4, "/dev/null"), SEAM_ERR_INVALID_ARG, "piece=3");
    seam_graph_stats st;
    st.struct_size = 1;
    SEAM_ASSERT_FAILS(seam_graph_get_stats(g, &st), SEAM_ERR_INVALID_ARG, "out->struct_size=1");
    seam_graph_step step;
    SEAM_ASSERT_OK(seam_graph_get_step(g, 0, &step));
    assert_int_equal(step.eager, 1); /* never captured */
    assert_null(step.failed_op);
    SEAM_ASSERT_FAILS(seam_graph_get_step(g, 5, &step), SEAM_ERR_INVALID_ARG, "index=5");
    seam_graph_destroy(g);
    seam_program_destroy(prog);
    seam_context_destroy(ctx);
    seam_registry_destroy(reg);
}

static void test_destroy_accepts_null(void **state) {
    (void)state;
    SEAM_ASSERT_OK(seam_graph_destroy(NULL));
    SEAM_ASSERT_OK(seam_program_destroy(NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_without_splits_is_one_piece),
        cmocka_unit_test(test_plan_split_at_start_and_end_makes_no_empty_piece),
        cmocka_unit_test(test_plan_adjacent_splits_make_no_empty_piece),
        cmocka_unit_test(test_plan_graph_safe_merges_pieces),
        cmocka_unit_test(test_plan_split_random_patterns_match_reference),
        cmocka_unit_test(test_bucket_choice_is_smallest_bucket_at_or_above_tokens),
        cmocka_unit_test(test_piecewise_off_pads_nothing),
        cmocka_unit_test(test_no_bucket_within_max_tokens_plans_every_forward_eager),
        cmocka_unit_test(test_arena_is_aligned_and_sized_for_max_tokens),
        cmocka_unit_test(test_scratch_tensors_share_space_by_live_range),
        cmocka_unit_test(test_scratch_read_before_write_is_rejected),
        cmocka_unit_test(test_arena_layout_random_programs_never_alias_live_tensors),
        cmocka_unit_test(test_external_tensor_keeps_strides_and_takes_token_rows),
        cmocka_unit_test(test_program_validation_names_the_problem),
        cmocka_unit_test(test_plan_report_and_dot_on_host),
        cmocka_unit_test(test_destroy_accepts_null),
    };
    return SEAM_RUN_TESTS(tests);
}
