/* Suite ops: the registry (register, duplicate, lookup, flags, malformed descriptors, stable
 * addresses as it grows), argument checking of calls, graph-safe variant dispatch, tensors. */
#include <stdio.h>

#include "tests/test_util.h"

static int runs, graph_safe_runs;

static seam_status count_run(const seam_op_call *call, seam_context *ctx, seam_stream stream) {
    (void)call, (void)ctx, (void)stream;
    runs++;
    return SEAM_OK;
}

static seam_status count_graph_safe_run(const seam_op_call *call, seam_context *ctx, seam_stream stream) {
    (void)call, (void)ctx, (void)stream;
    graph_safe_runs++;
    return SEAM_OK;
}

static seam_status reject_negative_scale(const seam_op_call *call) {
    if (call->args[1].u.f < 0)
        return SEAM_ERR_INVALID_ARG; /* a real op would also record why */
    return SEAM_OK;
}

static seam_op toy_op(const char *name, uint32_t flags) {
    seam_op op;
    memset(&op, 0, sizeof op);
    op.name = name;
    op.flags = flags;
    op.num_args = 3;
    op.arg_kinds[0] = SEAM_ARG_TENSOR;
    op.arg_kinds[1] = SEAM_ARG_FLOAT;
    op.arg_kinds[2] = SEAM_ARG_TENSOR;
    op.arg_names[0] = "x";
    op.arg_names[1] = "scale";
    op.arg_names[2] = "bias";
    op.optional_args = 1u << 2;
    op.mutates = 1u << 0;
    op.check = reject_negative_scale;
    op.run = count_run;
    return op;
}

static void test_register_lookup_and_flags(void **state) {
    (void)state;
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create_empty(&reg));
    char name[] = "scale_in_place";
    seam_op desc = toy_op(name, SEAM_OP_CAPTURABLE);
    const seam_op *registered;
    SEAM_ASSERT_OK(seam_registry_register(reg, &desc, &registered));
    name[0] = 'X'; /* the registry keeps its own copy of the name */
    const seam_op *found;
    SEAM_ASSERT_OK(seam_registry_find(reg, "scale_in_place", &found));
    assert_ptr_equal(found, registered);
    assert_string_equal(found->arg_names[1], "scale");
    assert_int_equal(found->mutates, 1u);
    assert_int_equal(seam_registry_count(reg), 1);
    assert_true(seam_op_is_capturable(found, 0));
    assert_string_equal(seam_op_class_string(found), "capturable");
    SEAM_ASSERT_FAILS(seam_registry_find(reg, "nope", &found), SEAM_ERR_NOT_FOUND, "'nope'");
    SEAM_ASSERT_OK(seam_registry_destroy(reg));
}

static void test_capture_class_answers_for_both_modes(void **state) {
    (void)state;
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create_empty(&reg));
    seam_op a = toy_op("a", SEAM_OP_CAPTURABLE), b = toy_op("b", SEAM_OP_SPLIT),
            c = toy_op("c", SEAM_OP_CAPTURABLE_WHEN_GRAPH_SAFE);
    const seam_op *ra, *rb, *rc;
    SEAM_ASSERT_OK(seam_registry_register(reg, &a, &ra));
    SEAM_ASSERT_OK(seam_registry_register(reg, &b, &rb));
    SEAM_ASSERT_OK(seam_registry_register(reg, &c, &rc));
    assert_true(seam_op_is_capturable(ra, 0) && seam_op_is_capturable(ra, 1));
    assert_false(seam_op_is_capturable(rb, 0) || seam_op_is_capturable(rb, 1));
    assert_false(seam_op_is_capturable(rc, 0));
    assert_true(seam_op_is_capturable(rc, 1));
    assert_string_equal(seam_op_class_string(rb), "split");
    assert_string_equal(seam_op_class_string(rc), "capturable-when-graph-safe");
    SEAM_ASSERT_OK(seam_registry_destroy(reg));
}

static void test_duplicate_name_is_rejected(void **state) {
    (void)state;
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create_empty(&reg));
    seam_op a = toy_op("gemm", SEAM_OP_CAPTURABLE);
    SEAM_ASSERT_OK(seam_registry_register(reg, &a, NULL));
    a.flags = SEAM_OP_SPLIT;
    SEAM_ASSERT_FAILS(seam_registry_register(reg, &a, NULL), SEAM_ERR_ALREADY_EXISTS, "'gemm'");
    assert_int_equal(seam_registry_count(reg), 1);
    SEAM_ASSERT_OK(seam_registry_destroy(reg));
}

static void test_malformed_descriptors_are_rejected(void **state) {
    (void)state;
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create_empty(&reg));
    seam_op d = toy_op("x", SEAM_OP_CAPTURABLE | SEAM_OP_SPLIT);
    SEAM_ASSERT_FAILS(seam_registry_register(reg, &d, NULL), SEAM_ERR_INVALID_ARG, "exactly one");
    d = toy_op("x", 0);
    SEAM_ASSERT_FAILS(seam_registry_register(reg, &d, NULL), SEAM_ERR_INVALID_ARG, "flags=0x0");
    d = toy_op("", SEAM_OP_CAPTURABLE);
    SEAM_ASSERT_FAILS(seam_registry_register(reg, &d, NULL), SEAM_ERR_INVALID_ARG, "name is empty");
    d = toy_op("x", SEAM_OP_CAPTURABLE);
    d.run = NULL;
    SEAM_ASSERT_FAILS(seam_registry_register(reg, &d, NULL), SEAM_ERR_INVALID_ARG, "run is NULL");
    d = toy_op("x", SEAM_OP_CAPTURABLE);
    d.mutates = 1u << 5;
    SEAM_ASSERT_FAILS(seam_registry_register(reg, &d, NULL), SEAM_ERR_INVALID_ARG, "mutates=0x20");
    d = toy_op("x", SEAM_OP_CAPTURABLE);
    d.num_args = SEAM_MAX_OP_ARGS + 1;
    SEAM_ASSERT_FAILS(seam_registry_register(reg, &d, NULL), SEAM_ERR_INVALID_ARG, "num_args=17");
    assert_int_equal(seam_registry_count(reg), 0);
    SEAM_ASSERT_OK(seam_registry_destroy(reg));
}

/* Programs keep pointers to registered ops: growing the registry must not move them. */
static void test_registered_ops_keep_their_address(void **state) {
    (void)state;
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create_empty(&reg));
    const seam_op *first[200];
    char names[200][16];
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof names[i], "op%d", i);
        seam_op d = toy_op(names[i], SEAM_OP_CAPTURABLE);
        SEAM_ASSERT_OK(seam_registry_register(reg, &d, &first[i]));
    }
    assert_int_equal(seam_registry_count(reg), 200);
    for (int i = 0; i < 200; i++) {
        const seam_op *op;
        SEAM_ASSERT_OK(seam_registry_get(reg, i, &op));
        assert_ptr_equal(op, first[i]);
        assert_string_equal(op->name, names[i]);
    }
    const seam_op *op;
    SEAM_ASSERT_FAILS(seam_registry_get(reg, 200, &op), SEAM_ERR_INVALID_ARG, "index=200");
    SEAM_ASSERT_OK(seam_registry_destroy(reg));
}

static seam_op_call make_call(const seam_op *op) {
    static float data[4];
    int64_t shape[1] = {4};
    seam_op_call call;
    memset(&call, 0, sizeof call);
    call.op = op;
    call.num_args = 3;
    call.args[0] = seam_arg_tensor(seam_tensor_contiguous(data, SEAM_DTYPE_F32, 1, shape, 0));
    call.args[1] = seam_arg_float(2.0);
    call.args[2] = seam_arg_none();
    call.num_tokens = 4;
    return call;
}

static void test_call_arguments_are_checked_against_descriptor(void **state) {
    (void)state;
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create_empty(&reg));
    seam_op d = toy_op("scale", SEAM_OP_CAPTURABLE);
    const seam_op *op;
    SEAM_ASSERT_OK(seam_registry_register(reg, &d, &op));
    seam_op_call call = make_call(op);
    SEAM_ASSERT_OK(seam_op_call_check(&call));
    call.num_args = 2;
    SEAM_ASSERT_FAILS(seam_op_call_check(&call), SEAM_ERR_INVALID_ARG, "takes 3 arguments, call has 2");
    call = make_call(op);
    call.args[1] = seam_arg_int(2);
    SEAM_ASSERT_FAILS(seam_op_call_check(&call), SEAM_ERR_INVALID_ARG, "argument scale has kind");
    call = make_call(op);
    call.args[0] = seam_arg_none(); /* not optional */
    SEAM_ASSERT_FAILS(seam_op_call_check(&call), SEAM_ERR_INVALID_ARG, "argument x");
    call = make_call(op);
    call.num_args = SEAM_MAX_OP_ARGS + 1; /* never read past args[] */
    SEAM_ASSERT_FAILS(seam_op_call_check(&call), SEAM_ERR_INVALID_ARG, "num_args=17");
    call = make_call(op);
    call.args[1] = seam_arg_float(-1.0); /* the op's own check */
    assert_int_equal(seam_op_call_check(&call), SEAM_ERR_INVALID_ARG);
    SEAM_ASSERT_OK(seam_registry_destroy(reg));
}

static void test_run_uses_graph_safe_variant_only_in_graph_safe_mode(void **state) {
    (void)state;
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create_empty(&reg));
    seam_op d = toy_op("indexer_like", SEAM_OP_CAPTURABLE_WHEN_GRAPH_SAFE);
    d.run_graph_safe = count_graph_safe_run;
    const seam_op *op;
    SEAM_ASSERT_OK(seam_registry_register(reg, &d, &op));
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    seam_context_params p = SEAM_CONTEXT_PARAMS_INITIALIZER;
    p.device = SEAM_DEVICE_HOST;
    p.max_tokens = 16;
    p.max_batch = 2;
    p.max_context = 64;
    p.config = &cfg;
    seam_context *eager_ctx, *safe_ctx;
    SEAM_ASSERT_OK(seam_context_create(&eager_ctx, &p));
    cfg.graph_safe = 1;
    SEAM_ASSERT_OK(seam_context_create(&safe_ctx, &p));
    seam_op_call call = make_call(op);
    runs = graph_safe_runs = 0;
    SEAM_ASSERT_OK(seam_op_run(&call, eager_ctx, NULL));
    assert_int_equal(runs, 1);
    assert_int_equal(graph_safe_runs, 0);
    SEAM_ASSERT_OK(seam_op_run(&call, safe_ctx, NULL));
    assert_int_equal(runs, 1);
    assert_int_equal(graph_safe_runs, 1);
    call.args[1] = seam_arg_float(-3.0); /* a failed check runs nothing */
    assert_int_equal(seam_op_run(&call, eager_ctx, NULL), SEAM_ERR_INVALID_ARG);
    assert_int_equal(runs, 1);
    SEAM_ASSERT_OK(seam_context_destroy(eager_ctx));
    SEAM_ASSERT_OK(seam_context_destroy(safe_ctx));
    SEAM_ASSERT_OK(seam_registry_destroy(reg));
}

static void test_builtin_registry_lists_every_op_once(void **state) {
    (void)state;
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create(&reg));
    int n = seam_registry_count(reg);
    for (int i = 0; i < n; i++) {
        const seam_op *a, *b;
        SEAM_ASSERT_OK(seam_registry_get(reg, i, &a));
        SEAM_ASSERT_OK(seam_registry_find(reg, a->name, &b));
        assert_ptr_equal(a, b);
        assert_non_null(a->run);
    }
    SEAM_ASSERT_OK(seam_registry_destroy(reg));
}

static void test_tensor_helpers(void **state) {
    (void)state;
    int64_t shape[3] = {5, 64, 128};
    seam_tensor t = seam_tensor_contiguous((void *)16, SEAM_DTYPE_BF16, 3, shape, 0);
    assert_int_equal(t.strides[0], 64 * 128);
    assert_int_equal(t.strides[2], 1);
    assert_true(seam_tensor_is_contiguous(&t));
    assert_int_equal(seam_tensor_bytes(&t), 5 * 64 * 128 * 2);
    t.strides[0] = 2 * 64 * 128; /* every other token */
    assert_false(seam_tensor_is_contiguous(&t));
    assert_int_equal(seam_tensor_bytes(&t), (4 * 2 * 64 * 128 + 64 * 128) * 2);
    assert_int_equal(seam_dtype_size(SEAM_DTYPE_FP8_E4M3), 1);
    assert_string_equal(seam_dtype_name(SEAM_DTYPE_I32), "i32");
    assert_int_equal(seam_dtype_size(SEAM_DTYPE_COUNT), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_lookup_and_flags),
        cmocka_unit_test(test_capture_class_answers_for_both_modes),
        cmocka_unit_test(test_duplicate_name_is_rejected),
        cmocka_unit_test(test_malformed_descriptors_are_rejected),
        cmocka_unit_test(test_registered_ops_keep_their_address),
        cmocka_unit_test(test_call_arguments_are_checked_against_descriptor),
        cmocka_unit_test(test_run_uses_graph_safe_variant_only_in_graph_safe_mode),
        cmocka_unit_test(test_builtin_registry_lists_every_op_once),
        cmocka_unit_test(test_tensor_helpers),
    };
    return SEAM_RUN_TESTS(tests);
}
