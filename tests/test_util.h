/* Shared helpers for the cmocka suites: GPU detection, skip accounting, and the exit code
 * rule (a program whose every test skipped exits 77 so meson reports SKIP, not OK). */
#ifndef SEAM_TEST_UTIL_H
#define SEAM_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "seam.h"

static int seam_test_skipped_count;

static inline int seam_test_have_gpu(void) {
    static int cached = -1;
    if (cached < 0) {
        int n = 0;
        cached = seam_device_count(&n) == SEAM_OK && n > 0;
        seam_clear_error();
    }
    return cached;
}

/* First statement of a GPU test: without a device the test is reported as skipped. */
#define SEAM_REQUIRE_GPU()                                                                    \
    do {                                                                                      \
        if (!seam_test_have_gpu()) {                                                          \
            seam_test_skipped_count++;                                                        \
            skip();                                                                           \
        }                                                                                     \
    } while (0)

/* Assert a seam call succeeded, printing seam's message when it did not. */
#define SEAM_ASSERT_OK(expr)                                                                  \
    do {                                                                                      \
        seam_status s_assert_ = (expr);                                                       \
        if (s_assert_ != SEAM_OK)                                                             \
            fail_msg("%s -> %s: %s", #expr, seam_status_string(s_assert_), seam_last_error()); \
    } while (0)

/* Assert a seam call failed with `want` and its message mentions `needle`. */
#define SEAM_ASSERT_FAILS(expr, want, needle)                                                 \
    do {                                                                                      \
        seam_status s_assert_ = (expr);                                                       \
        if (s_assert_ != (want))                                                              \
            fail_msg("%s -> %s, expected %s (%s)", #expr, seam_status_string(s_assert_),      \
                     seam_status_string(want), seam_last_error());                            \
        if (strstr(seam_last_error(), (needle)) == NULL)                                      \
            fail_msg("%s: message '%s' does not mention '%s'", #expr, seam_last_error(),       \
                     (needle));                                                               \
    } while (0)

/* SEAM_TEST_UNDER_SANITIZER=1 (tools/gpu-run.sh sets it for its compute-sanitizer runs): tests
 * do less of their heaviest work, and the GPU is shared with the other parallel sanitizer
 * runs. Set explicitly because the process cannot tell reliably: a check of
 * CUDA_INJECTION64_PATH for "sanitizer" never fired under the CUDA 13.0 compute-sanitizer. */
static inline int seam_test_under_sanitizer(void) {
    const char *v = getenv("SEAM_TEST_UNDER_SANITIZER");
    return v && strcmp(v, "1") == 0;
}

/* TEST_FILTER=<glob> runs only the matching tests (the GPU scripts use it to spread one
 * program's tests over parallel sanitizer runs). */
#define SEAM_RUN_TESTS(tests)                                                                 \
    (seam_test_apply_filter(),                                                                \
     seam_test_exit(cmocka_run_group_tests(tests, NULL, NULL),                                \
                    seam_test_filtered ? -1 : (int)(sizeof(tests) / sizeof((tests)[0]))))

static int seam_test_filtered;

static inline void seam_test_apply_filter(void) {
    const char *filter = getenv("TEST_FILTER");
    if (filter && filter[0]) {
        cmocka_set_test_filter(filter);
        seam_test_filtered = 1;
    }
}

static inline int seam_test_exit(int failed, int total) {
    if (failed) return failed;
    return seam_test_skipped_count == total ? 77 : 0;
}

/* Small deterministic generator for test data (xorshift64*), seeded per test. */
typedef struct seam_test_rng {
    uint64_t s;
} seam_test_rng;

static inline uint64_t seam_test_next(seam_test_rng *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

/* Uniform integer in [lo, hi]. */
static inline int seam_test_int(seam_test_rng *r, int lo, int hi) {
    return lo + (int)(seam_test_next(r) % (uint64_t)(hi - lo + 1));
}

/* Fresh data every run; TEST_SEED=<n> reproduces a failing run (the seed is printed). */
static inline seam_test_rng seam_test_rng_make(const char *test_name) {
    const char *env = getenv("TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10)
                        : ((uint64_t)time(NULL) * 2654435761u) ^ ((uint64_t)getpid() << 16);
    if (seed == 0) seed = 1;
    printf("# %s: TEST_SEED=%llu\n", test_name, (unsigned long long)seed);
    seam_test_rng r = {seed};
    return r;
}

#endif
