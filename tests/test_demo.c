/* Suite demo, CPU only: seam-demo's engine ops (tools/demo_ops.h) are registered capturable
 * and reject bad shapes with named messages, and the demo model (tools/demo_model.h) plans
 * on a host context into the pieces the design promises: one split op (k_cache_and_topk)
 * per layer when piecewise, a single piece in graph-safe mode, scratch tensors sharing the
 * arena. The GPU side (the three modes agreeing) is the `seam-demo --check` tests. */
#include "tests/test_util.h"
#include "tools/demo_model.h"
#include "tools/demo_ops.h"

static seam_registry *demo_registry(void) {
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create(&reg));
    SEAM_ASSERT_OK(demo_register_ops(reg, NULL, NULL));
    return reg;
}

static const seam_op *find(const seam_registry *reg, const char *name) {
    const seam_op *op = NULL;
    SEAM_ASSERT_OK(seam_registry_find(reg, name, &op));
    return op;
}

static char fake[16]; /* checks never dereference tensor data */

static seam_arg tensor(seam_dtype dt, int ndim, int64_t a, int64_t b, int64_t c) {
    int64_t shape[3] = {a, b, c};
    return seam_arg_tensor(seam_tensor_contiguous(fake, dt, ndim, shape, 0));
}

static void test_demo_ops_are_registered_capturable(void **state) {
    (void)state;
    seam_registry *reg = demo_registry();
    const char *names[] = {"demo_gemm", "demo_copy_rows", "demo_copy_heads", "demo_silu_mul",
                           "demo_latent_store", "demo_q_quant"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_string_equal(seam_op_class_string(find(reg, names[i])), "capturable");
    seam_registry_destroy(reg);
}

static seam_op_call gemm_call(const seam_registry *reg, seam_arg x, seam_arg w, seam_arg y, int64_t xbs,
                              int64_t ybs) {
    seam_op_call c = {find(reg, "demo_gemm"), 7, {{0}}, 8};
    c.args[0] = x, c.args[1] = w, c.args[2] = y;
    c.args[3] = seam_arg_int(0), c.args[4] = seam_arg_int(xbs);
    c.args[5] = seam_arg_int(0), c.args[6] = seam_arg_int(ybs);
    return c;
}

static void test_demo_gemm_check_names_bad_shapes(void **state) {
    (void)state;
    seam_registry *reg = demo_registry();
    const seam_dtype B = SEAM_DTYPE_BF16;
    seam_op_call c = gemm_call(reg, tensor(B, 2, 8, 64, 0), tensor(B, 2, 32, 64, 0), tensor(B, 2, 8, 32, 0), 0, 0);
    SEAM_ASSERT_OK(seam_op_call_check(&c));
    c = gemm_call(reg, tensor(B, 2, 8, 64, 0), tensor(B, 2, 32, 64, 0), tensor(B, 2, 8, 16, 0), 0, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "y rows are too short");
    c = gemm_call(reg, tensor(B, 2, 8, 48, 0), tensor(B, 2, 32, 64, 0), tensor(B, 2, 8, 32, 0), 0, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "x rows are too short");
    c = gemm_call(reg, tensor(B, 2, 7, 64, 0), tensor(B, 2, 32, 64, 0), tensor(B, 2, 8, 32, 0), 0, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "x");
    c = gemm_call(reg, tensor(B, 2, 8, 64, 0), tensor(SEAM_DTYPE_F32, 2, 32, 64, 0), tensor(B, 2, 8, 32, 0), 0, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "w");
    /* the absorbed MLA query: per head [T, 128 of 192] x [512, 128] -> [T, 512 of 576] */
    c = gemm_call(reg, tensor(B, 3, 8, 4, 192), tensor(B, 3, 4, 512, 128), tensor(B, 3, 8, 4, 576), 192, 576);
    SEAM_ASSERT_OK(seam_op_call_check(&c));
    c = gemm_call(reg, tensor(B, 3, 8, 4, 192), tensor(B, 3, 4, 512, 128), tensor(B, 3, 8, 4, 576), 100, 576);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "batch strides must hold");
    c = gemm_call(reg, tensor(B, 3, 8, 4, 192), tensor(B, 3, 4, 512, 128), tensor(B, 3, 8, 4, 576), 192, 600);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "y rows are too short");
    seam_registry_destroy(reg);
}

static void test_demo_kernel_op_checks_name_bad_shapes(void **state) {
    (void)state;
    seam_registry *reg = demo_registry();
    const seam_dtype B = SEAM_DTYPE_BF16;
    seam_op_call c = {find(reg, "demo_copy_heads"), 5, {{0}}, 8};
    c.args[0] = tensor(B, 3, 8, 4, 192), c.args[1] = tensor(B, 3, 8, 4, 576);
    c.args[2] = seam_arg_int(128), c.args[3] = seam_arg_int(512), c.args[4] = seam_arg_int(64);
    SEAM_ASSERT_OK(seam_op_call_check(&c));
    c.args[4] = seam_arg_int(65);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "src_off + width exceeds");
    c.args[4] = seam_arg_int(64);
    c.args[1] = tensor(B, 3, 8, 2, 576);
    SEAM_ASSERT_FAILS(seam_op_call_check(&c), SEAM_ERR_INVALID_ARG, "heads differ");

    seam_op_call ls = {find(reg, "demo_latent_store"), 3, {{0}}, 8};
    ls.args[0] = tensor(B, 2, 8, 512, 0), ls.args[1] = tensor(B, 3, 8, 1, 64), ls.args[2] = tensor(B, 2, 100, 576, 0);
    SEAM_ASSERT_OK(seam_op_call_check(&ls));
    ls.args[1] = tensor(B, 3, 8, 1, 32);
    SEAM_ASSERT_FAILS(seam_op_call_check(&ls), SEAM_ERR_INVALID_ARG, "pe rows must hold 64 values");

    seam_op_call sm = {find(reg, "demo_silu_mul"), 2, {{0}}, 8};
    sm.args[0] = tensor(B, 2, 8, 64, 0), sm.args[1] = tensor(B, 2, 8, 32, 0);
    SEAM_ASSERT_OK(seam_op_call_check(&sm));
    sm.args[1] = tensor(B, 2, 8, 31, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&sm), SEAM_ERR_INVALID_ARG, "shape[1]");

    seam_op_call qq = {find(reg, "demo_q_quant"), 5, {{0}}, 8};
    qq.args[0] = tensor(B, 3, 8, 64, 128), qq.args[1] = tensor(B, 2, 8, 64, 0);
    qq.args[2] = tensor(SEAM_DTYPE_FP8_E4M3, 3, 8, 64, 128), qq.args[3] = tensor(SEAM_DTYPE_F32, 2, 8, 64, 0);
    qq.args[4] = seam_arg_float(0.01);
    SEAM_ASSERT_OK(seam_op_call_check(&qq));
    qq.args[3] = tensor(SEAM_DTYPE_BF16, 2, 8, 64, 0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&qq), SEAM_ERR_INVALID_ARG, "weights");
    seam_registry_destroy(reg);
}

/* Without a cuBLAS state (a host plan) the GEMM refuses to run instead of crashing. */
static void test_demo_gemm_without_gpu_reports_no_device(void **state) {
    (void)state;
    seam_registry *reg = demo_registry();
    const seam_dtype B = SEAM_DTYPE_BF16;
    seam_op_call c = gemm_call(reg, tensor(B, 2, 8, 64, 0), tensor(B, 2, 32, 64, 0), tensor(B, 2, 8, 32, 0), 0, 0);
    seam_context_params p = SEAM_CONTEXT_PARAMS_INITIALIZER;
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    p.device = SEAM_DEVICE_HOST, p.max_tokens = 64, p.max_batch = 4, p.max_context = 4096, p.config = &cfg;
    seam_context *ctx;
    SEAM_ASSERT_OK(seam_context_create(&ctx, &p));
    SEAM_ASSERT_FAILS(seam_op_run(&c, ctx, NULL), SEAM_ERR_NO_DEVICE, "no cuBLAS state");
    seam_context_destroy(ctx);
    seam_registry_destroy(reg);
}

/* Plans the demo model with `layers` layers on a host context. */
static void plan_model(int layers, int graph_safe, seam_graph_stats *st, seam_graph **out_graph,
                       seam_context **out_ctx, seam_registry **out_reg) {
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    cfg.graph_safe = graph_safe;
    seam_context_params p = SEAM_CONTEXT_PARAMS_INITIALIZER;
    p.device = SEAM_DEVICE_HOST, p.max_tokens = 64, p.max_batch = 4, p.max_context = 4096;
    p.num_layers = layers, p.page_size = DEMO_PAGE_SIZE, p.workspace_bytes = 0, p.config = &cfg;
    seam_context *ctx;
    SEAM_ASSERT_OK(seam_context_create(&ctx, &p));
    seam_registry *reg = demo_registry();
    demo_dims d = {layers, 256, 2, 128, 256, 64, 4096, 80};
    demo_model m;
    SEAM_ASSERT_OK(demo_model_create(&m, &d, layers, layers, 1, 0, NULL));
    seam_program *prog;
    int out_id;
    SEAM_ASSERT_OK(seam_program_create(&prog, reg));
    SEAM_ASSERT_OK(demo_model_program(&m, prog, &out_id));
    seam_graph *g;
    SEAM_ASSERT_OK(seam_graph_build(&g, prog, ctx, NULL));
    seam_program_destroy(prog);
    demo_model_destroy(&m);
    st->struct_size = sizeof *st;
    SEAM_ASSERT_OK(seam_graph_get_stats(g, st));
    *out_graph = g, *out_ctx = ctx, *out_reg = reg;
}

static void test_demo_model_plans_one_split_per_layer(void **state) {
    (void)state;
    for (int layers = 1; layers <= 3; layers += 2) {
        seam_graph_stats st = SEAM_GRAPH_STATS_INITIALIZER;
        seam_graph *g;
        seam_context *ctx;
        seam_registry *reg;
        plan_model(layers, 0, &st, &g, &ctx, &reg);
        assert_int_equal(st.num_split_ops, layers);
        assert_int_equal(st.num_pieces, layers + 1);
        for (int i = 0; i < st.num_steps; i++) {
            seam_graph_step step;
            SEAM_ASSERT_OK(seam_graph_get_step(g, i, &step));
            assert_int_equal(step.kind, i % 2 ? SEAM_GRAPH_STEP_SPLIT : SEAM_GRAPH_STEP_PIECE);
            if (step.kind == SEAM_GRAPH_STEP_SPLIT) assert_int_equal(step.num_calls, 1);
        }
        assert_true(st.arena_bytes > 0);
        assert_true(st.arena_bytes < st.arena_need_bytes); /* scratch tensors share */
        seam_graph_destroy(g);
        seam_context_destroy(ctx);
        seam_registry_destroy(reg);
    }
}

static void test_demo_model_graph_safe_is_one_piece(void **state) {
    (void)state;
    seam_graph_stats st = SEAM_GRAPH_STATS_INITIALIZER;
    seam_graph *g;
    seam_context *ctx;
    seam_registry *reg;
    plan_model(3, 1, &st, &g, &ctx, &reg);
    assert_int_equal(st.num_pieces, 1);
    assert_int_equal(st.num_split_ops, 0);
    assert_int_equal(st.num_steps, 1);
    seam_graph_destroy(g);
    seam_context_destroy(ctx);
    seam_registry_destroy(reg);
}

/* Weight and cache sizes add up the tensors of demo_model.h (256-byte aligned each). */
static void test_demo_model_sizes(void **state) {
    (void)state;
    demo_dims d = {1, 256, 2, 128, 256, 64, 4096, 80};
    size_t w = demo_layer_weight_bytes(&d);
    size_t want = 0;
    const int64_t D = 256, H = 2, QL = 128, I = 256;
    const int64_t elems[] = {D, QL, 512, D, 128, 128, QL * D, H * 192 * QL, H * 512 * 128, 512 * D, 64 * D,
                             64 * 128 * QL, 128 * D, 64 * D, H * 128 * 512, D * H * 128, 2 * I * D, D * I};
    for (size_t i = 0; i < sizeof elems / sizeof elems[0]; i++) want += ((size_t)elems[i] * 2 + 255) / 256 * 256;
    assert_int_equal(w, want);
    size_t slots = 80 * 64;
    assert_int_equal(demo_cache_set_bytes(&d), slots * 128 + slots * 4 + slots * 576 * 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_ops_are_registered_capturable),
        cmocka_unit_test(test_demo_gemm_check_names_bad_shapes),
        cmocka_unit_test(test_demo_kernel_op_checks_name_bad_shapes),
        cmocka_unit_test(test_demo_gemm_without_gpu_reports_no_device),
        cmocka_unit_test(test_demo_model_plans_one_split_per_layer),
        cmocka_unit_test(test_demo_model_graph_safe_is_one_piece),
        cmocka_unit_test(test_demo_model_sizes),
    };
    return SEAM_RUN_TESTS(tests);
}
