/* Suite graph, GPU: a piece whose op is not capture-safe (toy_unsafe synchronizes its
 * stream) ends its capture cleanly, runs eagerly, is reported, and results stay correct.
 *
 * This program makes CUDA API calls fail on purpose (cudaStreamSynchronize on a capturing
 * stream: cudaErrorStreamCaptureUnsupported; cudaStreamEndCapture of the invalidated
 * capture: cudaErrorStreamCaptureInvalidated). compute-sanitizer reports those as API
 * errors; no other error is expected from it. */
#include "tests/graph_fixture.h"

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
    static float got[MAX_TOKENS * WIDTH];
    int cases[3] = {1, 5, 16};
    for (int k = 0; k < 3; k++) {
        new_batch(&s, &rng, cases[k]);
        run_and_check(&s, g, out, got, "with an eager piece");
    }
    SEAM_ASSERT_OK(seam_graph_destroy(g));
    free_setup(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_unsafe_op_falls_back_to_eager),
    };
    return SEAM_RUN_TESTS(tests);
}
