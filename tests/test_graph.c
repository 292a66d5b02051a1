/* Suite graph, GPU: the piecewise builder on the toy chain of tests/graph_fixture.h.
 * Every result is compared with a CPU reference on the real rows, and replay with an eager
 * build bitwise. The capture-failure fallback lives in test_graph_fallback.c: it makes CUDA
 * API calls fail on purpose, which compute-sanitizer reports. */
#include "tests/graph_fixture.h"

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
    static float first[MAX_TOKENS * WIDTH], got[MAX_TOKENS * WIDTH];
    new_batch(&s, &rng, 7);
    run_and_check(&s, g, out, first, "first batch");
    new_batch(&s, &rng, 7); /* same bucket, new inputs, new positions */
    run_and_check(&s, g, out, got, "second batch");
    assert_true(memcmp(first, got, 7 * WIDTH * sizeof(float)) != 0);
    new_batch(&s, &rng, 6); /* same bucket, a different real count: split ops see it */
    run_and_check(&s, g, out, got, "third batch");
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
    static float got[MAX_TOKENS * WIDTH];
    int cases[3] = {17, 20, MAX_TOKENS};
    for (int k = 0; k < 3; k++) {
        new_batch(&s, &rng, cases[k]);
        seam_graph_dispatch d;
        SEAM_ASSERT_OK(seam_graph_dispatch_of(g, &d));
        assert_int_equal(d.bucket, -1);
        assert_int_equal(d.replay, 0);
        assert_int_equal(d.padded_tokens, cases[k]);
        run_and_check(&s, g, out, got, "eager above the largest bucket");
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
    static float got[MAX_TOKENS * WIDTH];
    new_batch(&s, &rng, 3);
    seam_graph_dispatch d;
    SEAM_ASSERT_OK(seam_graph_dispatch_of(g, &d));
    assert_int_equal(d.padded_tokens, 3);
    assert_int_equal(d.replay, 0);
    run_and_check(&s, g, out, got, "SEAM_PIECEWISE=0");
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
    static float got_split[MAX_TOKENS * WIDTH], got_safe[MAX_TOKENS * WIDTH];
    int cases[4] = {1, 3, 9, 16};
    for (int k = 0; k < 4; k++) {
        seam_test_rng copy = rng;
        new_batch(&split, &rng, cases[k]);
        new_batch(&safe, &copy, cases[k]); /* same data */
        run_and_read(&split, g_split, out_split, got_split);
        run_and_check(&safe, g_safe, out_safe, got_safe, "graph-safe");
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
    static float got[MAX_TOKENS * WIDTH];
    for (int iter = 0; iter < 1000; iter++) {
        /* Mostly the same bucket as before (a decode loop), sometimes another one. */
        int tokens = iter % 50 == 0 || iter < 20 ? seam_test_int(&rng, 1, 16) : s.tokens;
        new_batch(&s, &rng, tokens);
        run_and_check(&s, g, out, got, "replay loop");
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
        /* Free memory is device-wide: parallel sanitizer runs allocate and free beside us. */
        if (seam_test_under_sanitizer()) continue;
        if (during + arena > before)
            fail_msg("round %d: the arena (%zu bytes) does not show in free memory (%zu -> %zu)", round,
                     arena, before, during);
        if (after + (2u << 20) < before)
            fail_msg("round %d: destroy left %zu bytes of device memory in use", round, before - after);
    }
    free_setup(&s);
}

/* a..e as scratch tensors: b and d, c and e, a and e share bytes; results are identical. */
static void test_scratch_sharing_gives_identical_results(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    setup s;
    make_setup(&s, 0, 1);
    int out_p, out_s;
    seam_graph *persistent = build(&s, 0, 1, SEAM_GRAPH_EXEC_UPDATE, &out_p);
    seam_graph *shared = build_program(&s, make_program_ex(&s, 0, 0, 1, &out_s), 1, SEAM_GRAPH_EXEC_UPDATE);
    seam_graph_stats a = stats_of(persistent), b = stats_of(shared);
    assert_int_equal(b.num_scratch, 5);
    assert_true(b.arena_bytes < a.arena_bytes);
    assert_int_equal(b.arena_need_bytes, a.arena_need_bytes);
    static float got_p[MAX_TOKENS * WIDTH], got_s[MAX_TOKENS * WIDTH];
    int cases[6] = {1, 2, 3, 8, 13, 20};
    for (int k = 0; k < 6; k++) {
        new_batch(&s, &rng, cases[k]);
        run_and_read(&s, persistent, out_p, got_p);
        run_and_check(&s, shared, out_s, got_s, "scratch arena");
        expect_same(&s, got_s, got_p, "scratch vs persistent arena");
    }
    SEAM_ASSERT_OK(seam_graph_destroy(persistent));
    SEAM_ASSERT_OK(seam_graph_destroy(shared));
    free_setup(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_matches_eager_for_every_bucket),
        cmocka_unit_test(test_new_batch_values_replay_without_recapture),
        cmocka_unit_test(test_tokens_above_largest_bucket_run_eagerly),
        cmocka_unit_test(test_piecewise_off_runs_everything_eagerly),
        cmocka_unit_test(test_graph_safe_merges_pieces_with_same_outputs),
        cmocka_unit_test(test_thousand_replays_across_buckets_stay_correct),
        cmocka_unit_test(test_exec_modes_agree_and_count_executables),
        cmocka_unit_test(test_scratch_sharing_gives_identical_results),
        cmocka_unit_test(test_dump_piece_writes_cuda_graph_dot),
        cmocka_unit_test(test_destroy_returns_device_memory),
    };
    return SEAM_RUN_TESTS(tests);
}
