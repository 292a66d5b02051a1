/* Suite runtime: status strings, the per-thread last error, configuration from the
 * environment (every variable, good and bad values), capture sizes, device discovery. */
#include <pthread.h>
#include <stdlib.h>

#include "tests/test_util.h"

static const char *const all_vars[] = {
    "SEAM_GRAPH_SAFE", "SEAM_PIECEWISE", "SEAM_CAPTURE_SIZES", "SEAM_TOPK_BACKEND",
    "SEAM_TOPK_DETERMINISTIC", "SEAM_TOPK_TIE_BREAK", "SEAM_TOPK_FUSE", "SEAM_TOPK_BROADCAST",
    "SEAM_LOG", "SEAM_NCCL_TIMEOUT_MS"};

static int clear_env(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof all_vars / sizeof all_vars[0]; i++) unsetenv(all_vars[i]);
    seam_clear_error();
    return 0;
}

static void test_status_strings_are_distinct_names(void **state) {
    (void)state;
    for (int a = SEAM_OK; a <= SEAM_ERR_INTERNAL; a++) {
        const char *sa = seam_status_string((seam_status)a);
        assert_non_null(sa);
        assert_true(strncmp(sa, "SEAM_", 5) == 0);
        for (int b = a + 1; b <= SEAM_ERR_INTERNAL; b++)
            assert_string_not_equal(sa, seam_status_string((seam_status)b));
    }
    assert_string_equal(seam_status_string(SEAM_ERR_NO_DEVICE), "SEAM_ERR_NO_DEVICE");
    assert_string_equal(seam_status_string((seam_status)999), "SEAM_ERR_UNKNOWN_STATUS");
}

static void test_version_matches_header(void **state) {
    (void)state;
    assert_int_equal(seam_version(), SEAM_VERSION_CODE);
}

static void test_last_error_names_function_and_argument(void **state) {
    (void)state;
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    assert_int_equal(seam_config_set(&cfg, SEAM_VAR_TOPK_TIE_BREAK, "medium"), SEAM_ERR_CONFIG);
    assert_non_null(strstr(seam_last_error(), "SEAM_TOPK_TIE_BREAK"));
    assert_non_null(strstr(seam_last_error(), "medium"));
    assert_non_null(strstr(seam_last_error(), "none, small or large"));
    seam_clear_error();
    assert_string_equal(seam_last_error(), "");
    SEAM_ASSERT_FAILS(seam_config_from_env(NULL), SEAM_ERR_INVALID_ARG, "seam_config_from_env: cfg is NULL");
}

static void *fail_in_thread(void *arg) {
    (void)arg;
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    seam_config_set(&cfg, SEAM_VAR_LOG, "loud");
    return strstr(seam_last_error(), "SEAM_LOG") ? (void *)1 : NULL;
}

static void test_last_error_is_per_thread(void **state) {
    (void)state;
    seam_clear_error();
    pthread_t t;
    void *saw = NULL;
    assert_int_equal(pthread_create(&t, NULL, fail_in_thread, NULL), 0);
    assert_int_equal(pthread_join(t, &saw), 0);
    assert_non_null(saw);                       /* the other thread saw its own error */
    assert_string_equal(seam_last_error(), ""); /* and this thread's stayed empty */
}

static void test_config_defaults_without_env(void **state) {
    (void)state;
    seam_config cfg;
    SEAM_ASSERT_OK(seam_config_from_env(&cfg));
    assert_int_equal(cfg.graph_safe, 0);
    assert_int_equal(cfg.piecewise, 1);
    assert_int_equal(cfg.num_capture_sizes, 0);
    assert_int_equal(cfg.topk_backend, SEAM_TOPK_RADIX);
    assert_int_equal(cfg.topk_deterministic, 0);
    assert_int_equal(cfg.topk_tie_break, SEAM_TIE_BREAK_NONE);
    assert_int_equal(cfg.topk_fuse, 1);
    assert_int_equal(cfg.topk_broadcast, 0);
    assert_int_equal(cfg.log_level, SEAM_LOG_WARN);
    for (int v = 0; v < SEAM_VAR_COUNT; v++) assert_int_equal(cfg.source[v], SEAM_SOURCE_DEFAULT);
}

/* Every variable: one good value (checked through the formatted value and the source) and
 * bad values rejected with the variable's name, the value, and the allowed set. */
static void test_config_every_variable_good_and_bad(void **state) {
    (void)state;
    static const struct {
        const char *name;
        const char *good;
        const char *bad[4];
    } cases[] = {
        {"SEAM_GRAPH_SAFE", "1", {"2", "yes", "", "-1"}},
        {"SEAM_PIECEWISE", "0", {"true", "01", " 1", NULL}},
        {"SEAM_CAPTURE_SIZES", "1,2,8,4096", {"8,4", "0,4", "4,,8", "4,x"}},
        {"SEAM_TOPK_BACKEND", "sort", {"flashinfer", "RADIX", "", NULL}},
        {"SEAM_TOPK_DETERMINISTIC", "1", {"on", "2", NULL, NULL}},
        {"SEAM_TOPK_TIE_BREAK", "large", {"medium", "Small", "", NULL}},
        {"SEAM_TOPK_FUSE", "0", {"off", NULL, NULL, NULL}},
        {"SEAM_TOPK_BROADCAST", "1", {"x", "10", NULL, NULL}},
        {"SEAM_LOG", "debug", {"trace", "WARN", NULL, NULL}},
        {"SEAM_NCCL_TIMEOUT_MS", "2500", {"0", "-5", "1e3", "99999999999"}},
    };
    assert_int_equal(sizeof cases / sizeof cases[0], SEAM_VAR_COUNT);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        seam_config cfg;
        int var = -1;
        for (int v = 0; v < SEAM_VAR_COUNT; v++)
            if (strcmp(seam_config_var_name((seam_config_var)v), cases[c].name) == 0) var = v;
        assert_true(var >= 0);
        setenv(cases[c].name, cases[c].good, 1);
        SEAM_ASSERT_OK(seam_config_from_env(&cfg));
        char buf[256];
        SEAM_ASSERT_OK(seam_config_format(&cfg, (seam_config_var)var, buf, sizeof buf));
        assert_string_equal(buf, cases[c].good);
        assert_int_equal(cfg.source[var], SEAM_SOURCE_ENV);
        for (int b = 0; b < 4 && cases[c].bad[b]; b++) {
            setenv(cases[c].name, cases[c].bad[b], 1);
            SEAM_ASSERT_FAILS(seam_config_from_env(&cfg), SEAM_ERR_CONFIG, cases[c].name);
            char quoted[64];
            snprintf(quoted, sizeof quoted, "'%s'", cases[c].bad[b]);
            assert_non_null(strstr(seam_last_error(), quoted));
            assert_non_null(strstr(seam_last_error(), seam_config_var_allowed((seam_config_var)var)));
        }
        unsetenv(cases[c].name);
    }
    seam_set_log_level(SEAM_LOG_WARN);
}

static void test_config_bad_env_leaves_struct_unchanged(void **state) {
    (void)state;
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    cfg.graph_safe = 1;
    setenv("SEAM_TOPK_FUSE", "maybe", 1);
    assert_int_equal(seam_config_from_env(&cfg), SEAM_ERR_CONFIG);
    assert_int_equal(cfg.graph_safe, 1);
    unsetenv("SEAM_TOPK_FUSE");
}

static void test_config_unknown_seam_variable_is_not_fatal(void **state) {
    (void)state;
    setenv("SEAM_GRAPHSAFE", "1", 1); /* a typo: warned about, not applied */
    seam_config cfg;
    SEAM_ASSERT_OK(seam_config_from_env(&cfg));
    assert_int_equal(cfg.graph_safe, 0);
    unsetenv("SEAM_GRAPHSAFE");
}

static void test_tie_break_implies_deterministic(void **state) {
    (void)state;
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    assert_false(seam_config_topk_is_deterministic(&cfg));
    SEAM_ASSERT_OK(seam_config_set(&cfg, SEAM_VAR_TOPK_TIE_BREAK, "small"));
    assert_true(seam_config_topk_is_deterministic(&cfg));
    assert_int_equal(cfg.source[SEAM_VAR_TOPK_TIE_BREAK], SEAM_SOURCE_CODE);
    cfg.topk_tie_break = SEAM_TIE_BREAK_NONE;
    cfg.topk_deterministic = 1;
    assert_true(seam_config_topk_is_deterministic(&cfg));
}

static void test_config_validate_rejects_code_values(void **state) {
    (void)state;
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    SEAM_ASSERT_OK(seam_config_validate(&cfg));
    cfg.num_capture_sizes = 2;
    cfg.capture_sizes[0] = 8;
    cfg.capture_sizes[1] = 8;
    SEAM_ASSERT_FAILS(seam_config_validate(&cfg), SEAM_ERR_INVALID_ARG, "capture_sizes[1]=8");
    cfg.num_capture_sizes = 0;
    cfg.topk_backend = (seam_topk_backend)7;
    SEAM_ASSERT_FAILS(seam_config_validate(&cfg), SEAM_ERR_INVALID_ARG, "topk_backend=7");
    cfg.topk_backend = SEAM_TOPK_RADIX;
    cfg.struct_size = 3;
    SEAM_ASSERT_FAILS(seam_config_validate(&cfg), SEAM_ERR_INVALID_ARG, "struct_size=3");
}

static void test_default_capture_sizes_follow_sglang(void **state) {
    (void)state;
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    int sizes[SEAM_MAX_CAPTURE_SIZES], n;
    SEAM_ASSERT_OK(seam_config_capture_sizes(&cfg, 4096, sizes, SEAM_MAX_CAPTURE_SIZES, &n));
    /* 8 (4..32) + 14 (48..256) + 8 (288..512) + 28 (640..4096) */
    assert_int_equal(n, 58);
    assert_int_equal(sizes[0], 4);
    assert_int_equal(sizes[7], 32);
    assert_int_equal(sizes[8], 48);
    assert_int_equal(sizes[21], 256);
    assert_int_equal(sizes[22], 288);
    assert_int_equal(sizes[29], 512);
    assert_int_equal(sizes[30], 640);
    assert_int_equal(sizes[57], 4096);
    for (int i = 1; i < n; i++) assert_true(sizes[i] > sizes[i - 1]);
}

static void test_capture_sizes_capped_by_max_tokens(void **state) {
    (void)state;
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    int sizes[SEAM_MAX_CAPTURE_SIZES], n;
    SEAM_ASSERT_OK(seam_config_capture_sizes(&cfg, 100, sizes, SEAM_MAX_CAPTURE_SIZES, &n));
    assert_int_equal(sizes[n - 2], 96);
    assert_int_equal(sizes[n - 1], 100); /* the largest allowed forward keeps a bucket */
    SEAM_ASSERT_OK(seam_config_capture_sizes(&cfg, 2, sizes, SEAM_MAX_CAPTURE_SIZES, &n));
    assert_int_equal(n, 1);
    assert_int_equal(sizes[0], 2);
    SEAM_ASSERT_OK(seam_config_set(&cfg, SEAM_VAR_CAPTURE_SIZES, "1,16,64"));
    SEAM_ASSERT_OK(seam_config_capture_sizes(&cfg, 32, sizes, SEAM_MAX_CAPTURE_SIZES, &n));
    assert_int_equal(n, 2); /* an explicit list is taken as given, only capped */
    assert_int_equal(sizes[1], 16);
    SEAM_ASSERT_FAILS(seam_config_capture_sizes(&cfg, 32, sizes, 1, &n), SEAM_ERR_INVALID_ARG, "capacity=1");
}

/* A config filled in code with out-of-range values is refused, never read past its arrays. */
static void test_config_queries_reject_corrupt_configs(void **state) {
    (void)state;
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    int sizes[SEAM_MAX_CAPTURE_SIZES], n;
    char buf[64];
    cfg.num_capture_sizes = SEAM_MAX_CAPTURE_SIZES + 44;
    SEAM_ASSERT_FAILS(seam_config_capture_sizes(&cfg, 4096, sizes, SEAM_MAX_CAPTURE_SIZES, &n),
                      SEAM_ERR_INVALID_ARG, "num_capture_sizes=300");
    cfg.num_capture_sizes = -1;
    SEAM_ASSERT_FAILS(seam_config_capture_sizes(&cfg, 4096, sizes, SEAM_MAX_CAPTURE_SIZES, &n),
                      SEAM_ERR_INVALID_ARG, "num_capture_sizes=-1");
    cfg.num_capture_sizes = 0;
    cfg.topk_backend = (seam_topk_backend)100000;
    SEAM_ASSERT_FAILS(seam_config_format(&cfg, SEAM_VAR_TOPK_BACKEND, buf, sizeof buf),
                      SEAM_ERR_INVALID_ARG, "topk_backend=100000");
    cfg.topk_backend = SEAM_TOPK_RADIX;
    cfg.struct_size = 7;
    SEAM_ASSERT_FAILS(seam_config_set(&cfg, SEAM_VAR_GRAPH_SAFE, "1"), SEAM_ERR_INVALID_ARG,
                      "seam_config_set: cfg->struct_size=7");
}

static void test_bad_values_name_the_public_function(void **state) {
    (void)state;
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    SEAM_ASSERT_FAILS(seam_config_set(&cfg, SEAM_VAR_PIECEWISE, "x"), SEAM_ERR_CONFIG,
                      "seam_config_set: SEAM_PIECEWISE='x'");
    setenv("SEAM_PIECEWISE", "x", 1);
    SEAM_ASSERT_FAILS(seam_config_from_env(&cfg), SEAM_ERR_CONFIG,
                      "seam_config_from_env: SEAM_PIECEWISE='x'");
    unsetenv("SEAM_PIECEWISE");
}

static void test_config_var_introspection(void **state) {
    (void)state;
    for (int v = 0; v < SEAM_VAR_COUNT; v++) {
        assert_non_null(seam_config_var_name((seam_config_var)v));
        assert_non_null(seam_config_var_allowed((seam_config_var)v));
        assert_non_null(seam_config_var_help((seam_config_var)v));
        assert_string_equal(seam_config_var_name((seam_config_var)v), all_vars[v]);
    }
    assert_null(seam_config_var_name(SEAM_VAR_COUNT));
    assert_string_equal(seam_config_source_string(SEAM_SOURCE_ENV), "environment");
}

static void test_log_level_clamps(void **state) {
    (void)state;
    seam_set_log_level((seam_log_level)42);
    assert_int_equal(seam_get_log_level(), SEAM_LOG_DEBUG);
    seam_set_log_level(SEAM_LOG_WARN);
    assert_int_equal(seam_get_log_level(), SEAM_LOG_WARN);
}

/* Without a GPU (CI) discovery must return NO_DEVICE cleanly; with one, report it. */
static void test_device_discovery_is_clean(void **state) {
    (void)state;
    int n = -1;
    seam_status s = seam_device_count(&n);
    if (s == SEAM_ERR_NO_DEVICE) {
        assert_int_equal(n, 0);
        assert_true(strlen(seam_last_error()) > 0);
        seam_device_info info;
        assert_int_equal(seam_device_get_info(0, &info), SEAM_ERR_NO_DEVICE);
        return;
    }
    SEAM_ASSERT_OK(s);
    assert_true(n > 0);
    seam_device_info info;
    SEAM_ASSERT_OK(seam_device_get_info(0, &info));
    assert_true(info.multiprocessors > 0);
    assert_true(info.total_memory > 0);
    SEAM_ASSERT_FAILS(seam_device_get_info(n, &info), SEAM_ERR_INVALID_ARG, "ordinal");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_status_strings_are_distinct_names, clear_env),
        cmocka_unit_test_setup(test_version_matches_header, clear_env),
        cmocka_unit_test_setup(test_last_error_names_function_and_argument, clear_env),
        cmocka_unit_test_setup(test_last_error_is_per_thread, clear_env),
        cmocka_unit_test_setup(test_config_defaults_without_env, clear_env),
        cmocka_unit_test_setup(test_config_every_variable_good_and_bad, clear_env),
        cmocka_unit_test_setup(test_config_bad_env_leaves_struct_unchanged, clear_env),
        cmocka_unit_test_setup(test_config_unknown_seam_variable_is_not_fatal, clear_env),
        cmocka_unit_test_setup(test_tie_break_implies_deterministic, clear_env),
        cmocka_unit_test_setup(test_config_validate_rejects_code_values, clear_env),
        cmocka_unit_test_setup(test_default_capture_sizes_follow_sglang, clear_env),
        cmocka_unit_test_setup(test_capture_sizes_capped_by_max_tokens, clear_env),
        cmocka_unit_test_setup(test_config_queries_reject_corrupt_configs, clear_env),
        cmocka_unit_test_setup(test_bad_values_name_the_public_function, clear_env),
        cmocka_unit_test_setup(test_config_var_introspection, clear_env),
        cmocka_unit_test_setup(test_log_level_clamps, clear_env),
        cmocka_unit_test_setup(test_device_discovery_is_clean, clear_env),
    };
    return SEAM_RUN_TESTS(tests);
}
