/* Suite comm: the communicator's argument checks and world-of-one no-op paths (no GPU, no
 * NCCL), the comm ops in the registry, and on one GPU: a 1-rank NCCL communicator, the
 * broadcast op eager and captured in a graph (100 replays with new data), the dead-peer
 * timeout path, and the digest kernel against a CPU hash written from comm.h's definition.
 * Multi-rank behaviour is in test_comm_multi.c (run through seam-launch). */
#include <cuda_runtime_api.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#include "tests/test_util.h"
#include "tests/gpu_util.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static int have_nccl(void) {
    static int cached = -1;
    if (cached < 0) {
        int version = 0;
        cached = seam_comm_nccl_version(&version) == SEAM_OK;
        if (cached) printf("# NCCL %d loaded\n", version);
        else printf("# NCCL not available: %s\n", seam_last_error());
        seam_clear_error();
    }
    return cached;
}

/* A GPU test that also needs NCCL: without it the test is reported as skipped. */
#define REQUIRE_NCCL()                                                                        \
    do {                                                                                      \
        SEAM_REQUIRE_GPU();                                                                   \
        if (!have_nccl()) {                                                                   \
            printf("# %s: skipped: NCCL (libnccl.so.2) is not loadable\n", __func__);        \
            seam_test_skipped_count++;                                                        \
            skip();                                                                           \
        }                                                                                     \
    } while (0)

/* A 1-rank NCCL communicator on device 0 with the given dead-peer timeout (joining gets
 * longer: NCCL's first init in a process can take seconds, more under compute-sanitizer). */
static seam_comm *nccl_single(int timeout_ms) {
    seam_comm_id id;
    SEAM_ASSERT_OK(seam_comm_unique_id(&id));
    seam_comm_config cfg = SEAM_COMM_CONFIG_INITIALIZER;
    cfg.nccl_single_rank = 1;
    cfg.timeout_ms = 300000;
    seam_comm *c = NULL;
    SEAM_ASSERT_OK(seam_comm_init_rank_config(&c, 1, &id, 0, 0, &cfg));
    SEAM_ASSERT_OK(seam_comm_set_timeout(c, timeout_ms));
    return c;
}

static seam_context *gpu_context(int broadcast, seam_config *cfg) {
    seam_config c = SEAM_CONFIG_INITIALIZER;
    c.topk_broadcast = broadcast;
    *cfg = c;
    seam_context_params p = SEAM_CONTEXT_PARAMS_INITIALIZER;
    p.device = 0;
    p.max_tokens = 1024;
    p.max_batch = 1024;
    p.max_context = 4096;
    p.workspace_bytes = 0;
    p.config = cfg;
    seam_context *ctx = NULL;
    SEAM_ASSERT_OK(seam_context_create(&ctx, &p));
    return ctx;
}

static seam_op_call bcast_call(const seam_registry *reg, const char *name, int32_t *data,
                               int rows, int k, seam_comm *comm) {
    seam_op_call call;
    memset(&call, 0, sizeof call);
    SEAM_ASSERT_OK(seam_registry_find(reg, name, &call.op));
    int64_t shape[2] = {rows, k};
    call.num_args = 2;
    call.args[0] = seam_arg_tensor(seam_tensor_contiguous(data, SEAM_DTYPE_I32, 2, shape, 0));
    call.args[1] = seam_arg_ptr(comm);
    call.num_tokens = rows;
    return call;
}

/* ---- CPU: argument checks and the world of one --------------------------------------------- */

static void test_comm_init_rejects_bad_arguments(void **state) {
    (void)state;
    seam_comm *c = (seam_comm *)&c;
    seam_comm_id id;
    memset(&id, 0, sizeof id);
    SEAM_ASSERT_FAILS(seam_comm_init_rank(NULL, 1, NULL, 0, 0), SEAM_ERR_INVALID_ARG, "out is NULL");
    SEAM_ASSERT_FAILS(seam_comm_init_rank(&c, 0, &id, 0, 0), SEAM_ERR_INVALID_ARG, "nranks=0");
    assert_null(c); /* *out is cleared on failure */
    SEAM_ASSERT_FAILS(seam_comm_init_rank(&c, 2, &id, 2, 0), SEAM_ERR_INVALID_ARG, "rank=2");
    SEAM_ASSERT_FAILS(seam_comm_init_rank(&c, 2, &id, -1, 0), SEAM_ERR_INVALID_ARG, "rank=-1");
    SEAM_ASSERT_FAILS(seam_comm_init_rank(&c, 1, NULL, 0, -1), SEAM_ERR_INVALID_ARG, "device=-1");
    SEAM_ASSERT_FAILS(seam_comm_init_rank(&c, 2, NULL, 0, 0), SEAM_ERR_INVALID_ARG, "id is NULL");
    seam_comm_config cfg = SEAM_COMM_CONFIG_INITIALIZER;
    cfg.nccl_single_rank = 1;
    SEAM_ASSERT_FAILS(seam_comm_init_rank_config(&c, 1, NULL, 0, 0, &cfg), SEAM_ERR_INVALID_ARG,
                      "id is NULL");
    cfg = (seam_comm_config)SEAM_COMM_CONFIG_INITIALIZER;
    cfg.struct_size = 4;
    SEAM_ASSERT_FAILS(seam_comm_init_rank_config(&c, 1, NULL, 0, 0, &cfg), SEAM_ERR_INVALID_ARG,
                      "struct_size=4");
    cfg = (seam_comm_config)SEAM_COMM_CONFIG_INITIALIZER;
    cfg.wait_eager = 2;
    SEAM_ASSERT_FAILS(seam_comm_init_rank_config(&c, 1, NULL, 0, 0, &cfg), SEAM_ERR_INVALID_ARG,
                      "wait_eager=2");
    cfg = (seam_comm_config)SEAM_COMM_CONFIG_INITIALIZER;
    cfg.timeout_ms = -5;
    SEAM_ASSERT_FAILS(seam_comm_init_rank_config(&c, 1, NULL, 0, 0, &cfg), SEAM_ERR_INVALID_ARG,
                      "timeout_ms=-5");
    SEAM_ASSERT_OK(seam_comm_destroy(NULL));
}

static void test_comm_world_of_one_needs_no_nccl_or_gpu(void **state) {
    (void)state;
    seam_comm *c = NULL;
    SEAM_ASSERT_OK(seam_comm_init_rank(&c, 1, NULL, 0, 3));
    int rank = -1, size = -1, device = -1, capture = -1;
    void *handle = (void *)&rank;
    SEAM_ASSERT_OK(seam_comm_rank(c, &rank));
    SEAM_ASSERT_OK(seam_comm_size(c, &size));
    SEAM_ASSERT_OK(seam_comm_device(c, &device));
    SEAM_ASSERT_OK(seam_comm_nccl_handle(c, &handle));
    SEAM_ASSERT_OK(seam_comm_can_capture(c, &capture));
    assert_int_equal(rank, 0);
    assert_int_equal(size, 1);
    assert_int_equal(device, 3);
    assert_null(handle);
    assert_int_equal(capture, 1);
    /* Collectives are no-ops: the host buffer below is never touched by a device. */
    int32_t host[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    SEAM_ASSERT_OK(seam_comm_broadcast(c, host, 8, SEAM_DTYPE_I32, 0, NULL));
    assert_int_equal(host[7], 8);
    SEAM_ASSERT_OK(seam_comm_broadcast(c, NULL, 0, SEAM_DTYPE_I32, 0, NULL));
    SEAM_ASSERT_OK(seam_comm_wait(c, NULL));
    SEAM_ASSERT_FAILS(seam_comm_broadcast(c, host, 8, SEAM_DTYPE_I32, 1, NULL),
                      SEAM_ERR_INVALID_ARG, "root=1");
    SEAM_ASSERT_FAILS(seam_comm_broadcast(c, NULL, 8, SEAM_DTYPE_I32, 0, NULL),
                      SEAM_ERR_INVALID_ARG, "buf is NULL");
    SEAM_ASSERT_FAILS(seam_comm_broadcast(c, host, 8, SEAM_DTYPE_COUNT, 0, NULL),
                      SEAM_ERR_INVALID_ARG, "dtype");
    seam_digest_mismatch m;
    SEAM_ASSERT_FAILS(seam_comm_check_digest(c, NULL, NULL, &m), SEAM_ERR_INVALID_ARG,
                      "digest is NULL");
    SEAM_ASSERT_FAILS(seam_comm_rank(c, NULL), SEAM_ERR_INVALID_ARG, "rank is NULL");
    SEAM_ASSERT_FAILS(seam_comm_set_timeout(c, 0), SEAM_ERR_INVALID_ARG, "timeout_ms=0");
    SEAM_ASSERT_OK(seam_comm_set_timeout(c, 250));
    SEAM_ASSERT_FAILS(seam_comm_rank(NULL, &rank), SEAM_ERR_INVALID_ARG, "comm is NULL");
    SEAM_ASSERT_OK(seam_comm_destroy(c));
}

/* Without NCCL, every call that needs it names the library; with NCCL its version is >= 2.9
 * (collectives capturable). A unique id is only made where a GPU could use it: making one
 * starts NCCL's bootstrap thread for the life of the process. */
static void test_comm_nccl_absent_is_a_clear_error(void **state) {
    (void)state;
    SEAM_ASSERT_FAILS(seam_comm_unique_id(NULL), SEAM_ERR_INVALID_ARG, "out is NULL");
    SEAM_ASSERT_FAILS(seam_comm_nccl_version(NULL), SEAM_ERR_INVALID_ARG, "version is NULL");
    int version = 0;
    seam_status s = seam_comm_nccl_version(&version);
    if (s == SEAM_OK) {
        printf("# NCCL %d is loadable here; the missing-library message is not checked\n", version);
        assert_true(version >= 20900);
        return;
    }
    assert_int_equal(s, SEAM_ERR_NCCL);
    assert_non_null(strstr(seam_last_error(), "seam_comm_nccl_version"));
    assert_non_null(strstr(seam_last_error(), "libnccl.so.2"));
    seam_comm_id id;
    SEAM_ASSERT_FAILS(seam_comm_unique_id(&id), SEAM_ERR_NCCL, "libnccl.so.2");
    seam_comm *c = NULL;
    SEAM_ASSERT_FAILS(seam_comm_init_rank(&c, 2, &id, 0, 0), SEAM_ERR_NCCL, "libnccl.so.2");
    assert_null(c);
}

static void test_comm_borrow_checks_arguments(void **state) {
    (void)state;
    seam_comm *c = NULL;
    SEAM_ASSERT_FAILS(seam_comm_borrow(NULL, &c, NULL), SEAM_ERR_INVALID_ARG, "out is NULL");
    SEAM_ASSERT_FAILS(seam_comm_borrow(&c, NULL, NULL), SEAM_ERR_INVALID_ARG, "nccl_comm is NULL");
    if (!have_nccl()) {
        int not_a_comm;
        SEAM_ASSERT_FAILS(seam_comm_borrow(&c, &not_a_comm, NULL), SEAM_ERR_NCCL, "libnccl");
        assert_null(c);
    }
}

static const char *const launch_vars[] = {"SEAM_LAUNCH_RANK", "SEAM_LAUNCH_SIZE",
                                          "SEAM_LAUNCH_DEVICE", "SEAM_LAUNCH_ID_FILE"};

static int clear_launch_env(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof launch_vars / sizeof launch_vars[0]; i++) unsetenv(launch_vars[i]);
    seam_clear_error();
    return 0;
}

static void test_comm_init_launched_reads_the_launcher_environment(void **state) {
    (void)state;
    seam_comm *c = NULL;
    SEAM_ASSERT_FAILS(seam_comm_init_launched(&c, NULL), SEAM_ERR_NOT_FOUND, "SEAM_LAUNCH_SIZE");
    setenv("SEAM_LAUNCH_SIZE", "two", 1);
    SEAM_ASSERT_FAILS(seam_comm_init_launched(&c, NULL), SEAM_ERR_CONFIG, "SEAM_LAUNCH_SIZE='two'");
    setenv("SEAM_LAUNCH_SIZE", "1", 1);
    setenv("SEAM_LAUNCH_RANK", "1", 1);
    setenv("SEAM_LAUNCH_DEVICE", "0", 1);
    SEAM_ASSERT_FAILS(seam_comm_init_launched(&c, NULL), SEAM_ERR_CONFIG, "SEAM_LAUNCH_RANK='1'");
    setenv("SEAM_LAUNCH_RANK", "0", 1);
    SEAM_ASSERT_OK(seam_comm_init_launched(&c, NULL)); /* one rank: no id, no NCCL, no GPU */
    int size = 0;
    SEAM_ASSERT_OK(seam_comm_size(c, &size));
    assert_int_equal(size, 1);
    SEAM_ASSERT_OK(seam_comm_destroy(c));
    setenv("SEAM_LAUNCH_SIZE", "2", 1);
    SEAM_ASSERT_FAILS(seam_comm_init_launched(&c, NULL), SEAM_ERR_NOT_FOUND, "SEAM_LAUNCH_ID_FILE");
    setenv("SEAM_LAUNCH_ID_FILE", "/nonexistent/seam-id", 1);
    SEAM_ASSERT_FAILS(seam_comm_init_launched(&c, NULL), SEAM_ERR_CONFIG, "cannot be opened");
    char path[] = "/tmp/seam-test-id-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "short", 5), 5);
    close(fd);
    setenv("SEAM_LAUNCH_ID_FILE", path, 1);
    SEAM_ASSERT_FAILS(seam_comm_init_launched(&c, NULL), SEAM_ERR_CONFIG, "holds 5 bytes");
    unlink(path);
    assert_null(c);
}

/* The launcher's variables are known to the config reader (no "unknown variable" warning);
 * a misspelt one still is warned about. */
static void test_launch_variables_are_known_to_the_config(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof launch_vars / sizeof launch_vars[0]; i++) setenv(launch_vars[i], "0", 1);
    setenv("SEAM_LAUNCH_RANKS", "0", 1);
    char path[] = "/tmp/seam-test-stderr-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    seam_config cfg;
    seam_status s = seam_config_from_env(&cfg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    unsetenv("SEAM_LAUNCH_RANKS");
    SEAM_ASSERT_OK(s);
    char text[4096] = "";
    lseek(fd, 0, SEEK_SET);
    ssize_t got = read(fd, text, sizeof text - 1);
    close(fd);
    unlink(path);
    text[got > 0 ? got : 0] = '\0';
    assert_non_null(strstr(text, "SEAM_LAUNCH_RANKS"));
    for (size_t i = 0; i < sizeof launch_vars / sizeof launch_vars[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "variable %s is ignored", launch_vars[i]);
        if (strstr(text, line)) fail_msg("warned about %s: %s", launch_vars[i], text);
    }
}

static void test_comm_ops_are_registered_with_their_capture_class(void **state) {
    (void)state;
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create(&reg));
    const seam_op *op;
    SEAM_ASSERT_OK(seam_registry_find(reg, "topk_broadcast", &op));
    assert_string_equal(seam_op_class_string(op), "capturable");
    assert_int_equal(op->mutates, 1u);
    SEAM_ASSERT_OK(seam_registry_find(reg, "topk_broadcast_split", &op));
    assert_string_equal(seam_op_class_string(op), "split");
    assert_int_equal(seam_op_is_capturable(op, 1), 0);
    SEAM_ASSERT_OK(seam_registry_find(reg, "topk_digest", &op));
    assert_string_equal(seam_op_class_string(op), "capturable");
    SEAM_ASSERT_OK(seam_registry_destroy(reg));
}

static void test_topk_broadcast_op_checks_arguments(void **state) {
    (void)state;
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create(&reg));
    seam_comm *c;
    SEAM_ASSERT_OK(seam_comm_init_rank(&c, 1, NULL, 0, 0));
    int32_t fake[4];
    seam_op_call call = bcast_call(reg, "topk_broadcast", fake, 2, 2, NULL);
    SEAM_ASSERT_FAILS(seam_op_call_check(&call), SEAM_ERR_INVALID_ARG, "comm is NULL");
    call = bcast_call(reg, "topk_broadcast", fake, 2, 2, c);
    call.args[0].u.tensor.dtype = SEAM_DTYPE_F32;
    SEAM_ASSERT_FAILS(seam_op_call_check(&call), SEAM_ERR_INVALID_ARG, "topk: dtype f32");
    call = bcast_call(reg, "topk_broadcast", fake, 2, 2, c);
    call.args[0].u.tensor.ndim = 1;
    SEAM_ASSERT_FAILS(seam_op_call_check(&call), SEAM_ERR_INVALID_ARG, "1 dimensions");
    call = bcast_call(reg, "topk_broadcast", fake, 2, 2, c);
    call.args[1] = seam_arg_int(3);
    SEAM_ASSERT_FAILS(seam_op_call_check(&call), SEAM_ERR_INVALID_ARG, "argument comm has kind");
    call = bcast_call(reg, "topk_broadcast", fake, 2, 2, c);
    SEAM_ASSERT_OK(seam_op_call_check(&call));
    /* topk_digest: the layer must be inside the digest. Checked before the digest is read,
     * so a NULL digest is reported first. */
    seam_op_call dcall;
    memset(&dcall, 0, sizeof dcall);
    SEAM_ASSERT_OK(seam_registry_find(reg, "topk_digest", &dcall.op));
    int64_t shape[2] = {2, 2};
    dcall.num_args = 3;
    dcall.args[0] = seam_arg_tensor(seam_tensor_contiguous(fake, SEAM_DTYPE_I32, 2, shape, 0));
    dcall.args[1] = seam_arg_ptr(NULL);
    dcall.args[2] = seam_arg_int(0);
    SEAM_ASSERT_FAILS(seam_op_call_check(&dcall), SEAM_ERR_INVALID_ARG, "digest is NULL");
    SEAM_ASSERT_OK(seam_comm_destroy(c));
    SEAM_ASSERT_OK(seam_registry_destroy(reg));
}

/* On a host context with a world of one the broadcast op runs without a GPU: enabled or not,
 * it moves nothing. */
static void test_topk_broadcast_op_world_of_one_is_a_noop(void **state) {
    (void)state;
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create(&reg));
    seam_comm *c;
    SEAM_ASSERT_OK(seam_comm_init_rank(&c, 1, NULL, 0, 0));
    for (int enabled = 0; enabled <= 1; enabled++) {
        seam_config cfg = SEAM_CONFIG_INITIALIZER;
        cfg.topk_broadcast = enabled;
        seam_context_params p = SEAM_CONTEXT_PARAMS_INITIALIZER;
        p.device = SEAM_DEVICE_HOST;
        p.max_tokens = 16;
        p.max_batch = 16;
        p.max_context = 64;
        p.config = &cfg;
        seam_context *ctx;
        SEAM_ASSERT_OK(seam_context_create(&ctx, &p));
        int32_t data[6] = {5, 4, 3, 2, 1, 0};
        seam_op_call call = bcast_call(reg, "topk_broadcast", data, 3, 2, c);
        SEAM_ASSERT_OK(seam_op_run(&call, ctx, NULL));
        call = bcast_call(reg, "topk_broadcast_split", data, 3, 2, c);
        SEAM_ASSERT_OK(seam_op_run(&call, ctx, NULL));
        for (int i = 0; i < 6; i++) assert_int_equal(data[i], 5 - i);
        SEAM_ASSERT_OK(seam_context_destroy(ctx));
    }
    SEAM_ASSERT_OK(seam_comm_destroy(c));
    SEAM_ASSERT_OK(seam_registry_destroy(reg));
}

static void test_digest_checks_arguments(void **state) {
    (void)state;
    seam_digest *d = (seam_digest *)&d;
    SEAM_ASSERT_FAILS(seam_digest_create(NULL, 1, 1, 0), SEAM_ERR_INVALID_ARG, "out is NULL");
    SEAM_ASSERT_FAILS(seam_digest_create(&d, 0, 1, 0), SEAM_ERR_INVALID_ARG, "num_layers=0");
    assert_null(d);
    SEAM_ASSERT_FAILS(seam_digest_create(&d, 1, 0, 0), SEAM_ERR_INVALID_ARG, "max_rows=0");
    SEAM_ASSERT_FAILS(seam_digest_create(&d, 1, 1, -1), SEAM_ERR_INVALID_ARG, "device=-1");
    if (!seam_test_have_gpu())
        assert_int_equal(seam_digest_create(&d, 4, 8, 0), SEAM_ERR_NO_DEVICE);
    int32_t fake[4];
    SEAM_ASSERT_FAILS(seam_topk_digest(NULL, 0, fake, 1, 4, NULL, NULL), SEAM_ERR_INVALID_ARG,
                      "digest is NULL");
    SEAM_ASSERT_FAILS(seam_digest_reset(NULL, NULL), SEAM_ERR_INVALID_ARG, "digest is NULL");
    SEAM_ASSERT_OK(seam_digest_destroy(NULL));
}

/* ---- GPU: digest kernel vs CPU ------------------------------------------------------------- */

/* The hash exactly as include/seam/comm.h defines it, written independently of the kernel. */
static uint64_t cpu_mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint64_t cpu_row_hash(const int32_t *row, int k) {
    uint64_t s = 0;
    for (int j = 0; j < k; j++) s += cpu_mix((uint64_t)(uint32_t)row[j] | ((uint64_t)j << 32));
    return cpu_mix(s + (uint64_t)k * 0x9e3779b97f4a7c15ull);
}

static uint64_t cpu_layer_hash(const uint64_t *rows_h, int rows) {
    uint64_t s = 0;
    for (int i = 0; i < rows; i++) s += cpu_mix(rows_h[i] ^ ((uint64_t)i * 0x9e3779b97f4a7c15ull));
    return cpu_mix(s ^ (uint64_t)rows);
}

static void fill_topk(seam_test_rng *rng, int32_t *h, size_t n, int adversarial) {
    for (size_t i = 0; i < n; i++) {
        int pick = adversarial ? seam_test_int(rng, 0, 3) : 3;
        h[i] = pick == 0 ? -1 : pick == 1 ? INT_MIN : pick == 2 ? INT_MAX : seam_test_int(rng, -1, 1 << 20);
    }
}

/* Runs the digest of h [rows, k] (real rows `real`, or NULL-pointer real rows when real < 0)
 * and compares every row hash and the layer entry with the CPU. */
static void check_digest_case(seam_test_rng *rng, int rows, int k, int real, int adversarial) {
    size_t n = (size_t)rows * (size_t)k;
    int32_t *h = malloc(n * sizeof *h);
    uint64_t *got = malloc((size_t)rows * sizeof *got);
    assert_non_null(h);
    assert_non_null(got);
    fill_topk(rng, h, n, adversarial);
    int32_t *d_topk, *d_real;
    CUDA_OK(cudaMalloc((void **)&d_topk, n * sizeof *h));
    CUDA_OK(cudaMalloc((void **)&d_real, sizeof(int32_t)));
    CUDA_OK(cudaMemcpy(d_topk, h, n * sizeof *h, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(d_real, &real, sizeof real, cudaMemcpyHostToDevice));
    seam_digest *d;
    SEAM_ASSERT_OK(seam_digest_create(&d, 3, rows, 0));
    SEAM_ASSERT_OK(seam_topk_digest(d, 2, d_topk, rows, k, real < 0 ? NULL : d_real, NULL));
    uint64_t layer_hash;
    int got_rows;
    SEAM_ASSERT_OK(seam_digest_read(d, 2, NULL, &layer_hash, &got_rows, got));
    int want_rows = real < 0 ? rows : real > rows ? rows : real;
    assert_int_equal(got_rows, want_rows);
    uint64_t *want = calloc((size_t)rows, sizeof *want);
    for (int i = 0; i < want_rows; i++) want[i] = cpu_row_hash(h + (size_t)i * k, k);
    for (int i = 0; i < rows; i++)
        if (got[i] != want[i])
            fail_msg("rows=%d k=%d real=%d: row %d hash %016llx, expected %016llx", rows, k, real,
                     i, (unsigned long long)got[i], (unsigned long long)want[i]);
    uint64_t want_layer = cpu_layer_hash(want, want_rows);
    if (layer_hash != want_layer)
        fail_msg("rows=%d k=%d real=%d: layer hash %016llx, expected %016llx", rows, k, real,
                 (unsigned long long)layer_hash, (unsigned long long)want_layer);
    /* Layers that were never recorded stay zero. */
    uint64_t other;
    int other_rows;
    SEAM_ASSERT_OK(seam_digest_read(d, 0, NULL, &other, &other_rows, NULL));
    assert_int_equal(other, 0);
    assert_int_equal(other_rows, 0);
    SEAM_ASSERT_OK(seam_digest_destroy(d));
    CUDA_OK(cudaFree(d_topk));
    CUDA_OK(cudaFree(d_real));
    free(h);
    free(got);
    free(want);
}

static void test_topk_digest_kernel_matches_cpu_hash(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    static const struct { int rows, k, real, adversarial; } cases[] = {
        {1, 1, -1, 0},    {1, 2048, -1, 0}, {7, 333, 5, 1},   {300, 2048, 300, 0},
        {1000, 257, 999, 1}, {64, 2048, 0, 0}, {64, 2048, 1000, 1}, {4096, 2048, 4093, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_digest_case(&rng, cases[i].rows, cases[i].k, cases[i].real, cases[i].adversarial);
}

/* The hash sees order: swapping two entries of a row changes the row and layer hash. */
static void test_topk_digest_sees_order_and_values(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    const int rows = 3, k = 2048;
    int32_t *h = malloc((size_t)rows * k * sizeof *h);
    for (int i = 0; i < rows * k; i++) h[i] = i % 4096;
    int32_t *d_topk;
    CUDA_OK(cudaMalloc((void **)&d_topk, (size_t)rows * k * sizeof *h));
    seam_digest *d;
    SEAM_ASSERT_OK(seam_digest_create(&d, 3, rows, 0));
    CUDA_OK(cudaMemcpy(d_topk, h, (size_t)rows * k * sizeof *h, cudaMemcpyHostToDevice));
    SEAM_ASSERT_OK(seam_topk_digest(d, 0, d_topk, rows, k, NULL, NULL));
    int32_t t = h[k + 10];
    h[k + 10] = h[k + 11];
    h[k + 11] = t;
    CUDA_OK(cudaMemcpy(d_topk, h, (size_t)rows * k * sizeof *h, cudaMemcpyHostToDevice));
    SEAM_ASSERT_OK(seam_topk_digest(d, 1, d_topk, rows, k, NULL, NULL));
    h[2 * k + 5] += 1;
    CUDA_OK(cudaMemcpy(d_topk, h, (size_t)rows * k * sizeof *h, cudaMemcpyHostToDevice));
    SEAM_ASSERT_OK(seam_topk_digest(d, 2, d_topk, rows, k, NULL, NULL));
    uint64_t lh[3], rh[3][3];
    int r;
    for (int l = 0; l < 3; l++) SEAM_ASSERT_OK(seam_digest_read(d, l, NULL, &lh[l], &r, rh[l]));
    assert_true(lh[0] != lh[1] && lh[1] != lh[2] && lh[0] != lh[2]);
    assert_true(rh[0][0] == rh[1][0] && rh[0][1] != rh[1][1] && rh[0][2] == rh[1][2]);
    assert_true(rh[1][2] != rh[2][2] && rh[1][1] == rh[2][1]);
    /* reset zeroes every layer */
    SEAM_ASSERT_OK(seam_digest_reset(d, NULL));
    SEAM_ASSERT_OK(seam_digest_read(d, 1, NULL, &lh[1], &r, NULL));
    assert_int_equal(lh[1], 0);
    assert_int_equal(r, 0);
    SEAM_ASSERT_FAILS(seam_topk_digest(d, 3, d_topk, rows, k, NULL, NULL), SEAM_ERR_INVALID_ARG,
                      "layer=3");
    SEAM_ASSERT_FAILS(seam_topk_digest(d, 0, d_topk, rows + 1, k, NULL, NULL),
                      SEAM_ERR_INVALID_ARG, "rows=4");
    SEAM_ASSERT_OK(seam_digest_destroy(d));
    CUDA_OK(cudaFree(d_topk));
    free(h);
}

/* A decode batch of n requests (n top-k rows), for ops that read the real row count. */
static void set_decode_batch(seam_context *ctx, int n) {
    int32_t *seq = malloc((size_t)n * sizeof *seq), *loc = malloc((size_t)n * sizeof *loc);
    int32_t *table = calloc((size_t)n, sizeof *table);
    for (int i = 0; i < n; i++) seq[i] = 1, loc[i] = i;
    seam_batch b = SEAM_BATCH_INITIALIZER;
    b.mode = SEAM_FORWARD_DECODE;
    b.batch_size = n;
    b.seq_lens = seq;
    b.out_cache_loc = loc;
    b.page_table = table;
    b.page_table_stride = 1;
    SEAM_ASSERT_OK(seam_context_set_batch(ctx, &b));
    free(seq);
    free(loc);
    free(table);
}

/* The topk_digest op captured in a graph at a bucket of 64 rows hashes only the batch's real
 * rows on every replay, and equals the CPU hash of the new data each time. */
static void test_topk_digest_op_graph_replay_hashes_real_rows(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_test_rng rng = seam_test_rng_make(__func__);
    const int bucket = 64, k = 2048;
    seam_config cfg;
    seam_context *ctx = gpu_context(0, &cfg);
    seam_stream stream;
    SEAM_ASSERT_OK(seam_context_stream(ctx, &stream));
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create(&reg));
    seam_digest *d;
    SEAM_ASSERT_OK(seam_digest_create(&d, 2, bucket, 0));
    int32_t *d_topk, *h = malloc((size_t)bucket * k * sizeof *h);
    CUDA_OK(cudaMalloc((void **)&d_topk, (size_t)bucket * k * sizeof *h));
    seam_op_call call;
    memset(&call, 0, sizeof call);
    SEAM_ASSERT_OK(seam_registry_find(reg, "topk_digest", &call.op));
    int64_t shape[2] = {bucket, k};
    call.num_args = 3;
    call.args[0] = seam_arg_tensor(seam_tensor_contiguous(d_topk, SEAM_DTYPE_I32, 2, shape, 0));
    call.args[1] = seam_arg_ptr(d);
    call.args[2] = seam_arg_int(1);
    call.num_tokens = bucket;
    set_decode_batch(ctx, bucket);
    CUDA_OK(cudaStreamSynchronize((cudaStream_t)stream));
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CUDA_OK(cudaStreamBeginCapture((cudaStream_t)stream, cudaStreamCaptureModeGlobal));
    SEAM_ASSERT_OK(seam_op_run(&call, ctx, stream));
    CUDA_OK(cudaStreamEndCapture((cudaStream_t)stream, &graph));
    CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
    uint64_t *got = malloc((size_t)bucket * sizeof *got), *want = calloc(bucket, sizeof *want);
    for (int it = 0; it < 100; it++) {
        int real = seam_test_int(&rng, 1, bucket);
        fill_topk(&rng, h, (size_t)bucket * k, it & 1);
        set_decode_batch(ctx, real);
        CUDA_OK(cudaMemcpyAsync(d_topk, h, (size_t)bucket * k * sizeof *h, cudaMemcpyHostToDevice,
                                (cudaStream_t)stream));
        CUDA_OK(cudaGraphLaunch(exec, (cudaStream_t)stream));
        uint64_t lh;
        int rows;
        SEAM_ASSERT_OK(seam_digest_read(d, 1, stream, &lh, &rows, got));
        assert_int_equal(rows, real);
        for (int i = 0; i < real; i++) {
            want[i] = cpu_row_hash(h + (size_t)i * k, k);
            if (got[i] != want[i])
                fail_msg("replay %d (real rows %d): row %d hash %016llx, expected %016llx", it,
                         real, i, (unsigned long long)got[i], (unsigned long long)want[i]);
        }
        assert_true(lh == cpu_layer_hash(want, real));
    }
    CUDA_OK(cudaGraphExecDestroy(exec));
    CUDA_OK(cudaGraphDestroy(graph));
    CUDA_OK(cudaFree(d_topk));
    free(h);
    free(got);
    free(want);
    SEAM_ASSERT_OK(seam_digest_destroy(d));
    SEAM_ASSERT_OK(seam_registry_destroy(reg));
    SEAM_ASSERT_OK(seam_context_destroy(ctx));
}

/* ---- GPU + NCCL: a 1-rank communicator ------------------------------------------------------ */

static void test_comm_single_rank_nccl_and_borrow(void **state) {
    (void)state;
    REQUIRE_NCCL();
    seam_comm *c = nccl_single(60000);
    int rank = -1, size = -1, device = -1, capture = 0;
    void *handle = NULL;
    SEAM_ASSERT_OK(seam_comm_rank(c, &rank));
    SEAM_ASSERT_OK(seam_comm_size(c, &size));
    SEAM_ASSERT_OK(seam_comm_nccl_handle(c, &handle));
    SEAM_ASSERT_OK(seam_comm_can_capture(c, &capture));
    assert_int_equal(rank, 0);
    assert_int_equal(size, 1);
    assert_non_null(handle);
    assert_int_equal(capture, 1); /* the machines run NCCL 2.2x */
    /* Borrow the same ncclComm_t: rank, size and device come from NCCL; destroying the
     * borrowed wrapper leaves the communicator working. */
    seam_comm *b = NULL;
    SEAM_ASSERT_OK(seam_comm_borrow(&b, handle, NULL));
    SEAM_ASSERT_OK(seam_comm_rank(b, &rank));
    SEAM_ASSERT_OK(seam_comm_size(b, &size));
    SEAM_ASSERT_OK(seam_comm_device(b, &device));
    assert_int_equal(rank, 0);
    assert_int_equal(size, 1);
    assert_int_equal(device, 0);
    SEAM_ASSERT_OK(seam_comm_destroy(b));
    int32_t *buf;
    CUDA_OK(cudaMalloc((void **)&buf, 1024 * sizeof(int32_t)));
    CUDA_OK(cudaMemset(buf, 0, 1024 * sizeof(int32_t)));
    SEAM_ASSERT_OK(seam_comm_broadcast(c, buf, 1024, SEAM_DTYPE_I32, 0, NULL));
    /* A world of one agrees with itself through the full gather path. */
    seam_digest *d;
    SEAM_ASSERT_OK(seam_digest_create(&d, 5, 16, 0));
    SEAM_ASSERT_OK(seam_topk_digest(d, 3, buf, 16, 64, NULL, NULL));
    seam_digest_mismatch m;
    SEAM_ASSERT_OK(seam_comm_check_digest(c, d, NULL, &m));
    assert_int_equal(m.layer, -1);
    assert_int_equal(m.row, -1);
    assert_int_equal(m.rank, -1);
    SEAM_ASSERT_OK(seam_digest_destroy(d));
    CUDA_OK(cudaFree(buf));
    SEAM_ASSERT_OK(seam_comm_destroy(c));
}

/* topk_broadcast on a 1-rank NCCL communicator, eager and captured in a graph that is
 * replayed 100 times with new data in the same buffer: every replay leaves the new data
 * intact (rank 0 is the root) and the capture itself succeeds. With SEAM_TOPK_BROADCAST=0
 * the op captures nothing. (Data moving between ranks is test_comm_multi's job.) */
static void test_topk_broadcast_eager_and_graph_replay(void **state) {
    (void)state;
    REQUIRE_NCCL();
    seam_test_rng rng = seam_test_rng_make(__func__);
    const int rows = 64, k = 2048;
    const size_t n = (size_t)rows * k;
    seam_comm *c = nccl_single(60000);
    seam_registry *reg;
    SEAM_ASSERT_OK(seam_registry_create(&reg));
    for (int enabled = 1; enabled >= 0; enabled--) {
        seam_config cfg;
        seam_context *ctx = gpu_context(enabled, &cfg);
        seam_stream stream;
        SEAM_ASSERT_OK(seam_context_stream(ctx, &stream));
        cudaStream_t s = (cudaStream_t)stream;
        int32_t *d_buf, *h = malloc(n * sizeof *h), *back = malloc(n * sizeof *back);
        CUDA_OK(cudaMalloc((void **)&d_buf, n * sizeof *h));
        seam_op_call call = bcast_call(reg, "topk_broadcast", d_buf, rows, k, c);
        fill_topk(&rng, h, n, 1);
        CUDA_OK(cudaMemcpyAsync(d_buf, h, n * sizeof *h, cudaMemcpyHostToDevice, s));
        SEAM_ASSERT_OK(seam_op_run(&call, ctx, stream)); /* eager: waits for the stream */
        CUDA_OK(cudaMemcpy(back, d_buf, n * sizeof *h, cudaMemcpyDeviceToHost));
        assert_memory_equal(back, h, n * sizeof *h);
        cudaGraph_t graph;
        cudaGraphExec_t exec;
        CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
        SEAM_ASSERT_OK(seam_op_run(&call, ctx, stream));
        CUDA_OK(cudaStreamEndCapture(s, &graph));
        size_t nodes = 0;
        CUDA_OK(cudaGraphGetNodes(graph, NULL, &nodes));
        printf("# broadcast %s: %zu graph node(s)\n", enabled ? "on" : "off", nodes);
        if (!enabled) assert_int_equal(nodes, 0); /* (one rank in place: NCCL may add none) */
        CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
        for (int it = 0; it < 100; it++) {
            fill_topk(&rng, h, n, it & 1);
            CUDA_OK(cudaMemcpyAsync(d_buf, h, n * sizeof *h, cudaMemcpyHostToDevice, s));
            CUDA_OK(cudaGraphLaunch(exec, s));
            SEAM_ASSERT_OK(seam_comm_wait(c, stream));
            CUDA_OK(cudaMemcpy(back, d_buf, n * sizeof *h, cudaMemcpyDeviceToHost));
            for (size_t i = 0; i < n; i++)
                if (back[i] != h[i])
                    fail_msg("replay %d: element %zu (row %zu col %zu) is %d, expected %d", it, i,
                             i / k, i % k, back[i], h[i]);
        }
        CUDA_OK(cudaGraphExecDestroy(exec));
        CUDA_OK(cudaGraphDestroy(graph));
        CUDA_OK(cudaFree(d_buf));
        free(h);
        free(back);
        SEAM_ASSERT_OK(seam_context_destroy(ctx));
    }
    SEAM_ASSERT_OK(seam_registry_destroy(reg));
    SEAM_ASSERT_OK(seam_comm_destroy(c));
}

/* A stream that does not finish in time (a host callback waiting on a flag stands in for a
 * kernel waiting on a dead peer): seam_comm_wait returns SEAM_ERR_TIMEOUT, aborts the
 * communicator, and later calls report the abort. The callback gives up by itself after 3 s
 * (10 x the timeout), in case the abort waits for the device to drain. */
static atomic_int release_stream;

static void CUDART_CB block_until_released(void *arg) {
    (void)arg;
    struct timespec d = {0, 1000000};
    for (int i = 0; i < 3000 && !atomic_load(&release_stream); i++) nanosleep(&d, NULL);
}

static void test_comm_wait_times_out_and_aborts(void **state) {
    (void)state;
    REQUIRE_NCCL();
    seam_comm *c = nccl_single(300);
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    atomic_store(&release_stream, 0);
    CUDA_OK(cudaLaunchHostFunc(s, block_until_released, NULL));
    SEAM_ASSERT_FAILS(seam_comm_wait(c, (seam_stream)s), SEAM_ERR_TIMEOUT,
                      "did not finish within 300 ms");
    assert_non_null(strstr(seam_last_error(), "aborted"));
    atomic_store(&release_stream, 1);
    CUDA_OK(cudaStreamSynchronize(s));
    int32_t *buf;
    CUDA_OK(cudaMalloc((void **)&buf, 16));
    SEAM_ASSERT_FAILS(seam_comm_broadcast(c, buf, 4, SEAM_DTYPE_I32, 0, (seam_stream)s),
                      SEAM_ERR_STATE, "was aborted");
    seam_digest_mismatch m;
    seam_digest *d;
    SEAM_ASSERT_OK(seam_digest_create(&d, 1, 1, 0));
    SEAM_ASSERT_FAILS(seam_comm_check_digest(c, d, (seam_stream)s, &m), SEAM_ERR_STATE,
                      "was aborted");
    SEAM_ASSERT_OK(seam_digest_destroy(d));
    CUDA_OK(cudaFree(buf));
    CUDA_OK(cudaStreamDestroy(s));
    SEAM_ASSERT_OK(seam_comm_destroy(c)); /* after an abort: frees, never ncclCommDestroy */
}

/* Rank 0 of a group of two whose rank 1 never comes: init gives up after the timeout
 * instead of blocking for good (NCCL's own bootstrap error is accepted too). */
static void test_comm_init_times_out_when_a_rank_never_joins(void **state) {
    (void)state;
    REQUIRE_NCCL();
    seam_comm_id id;
    SEAM_ASSERT_OK(seam_comm_unique_id(&id));
    seam_comm_config cfg = SEAM_COMM_CONFIG_INITIALIZER;
    cfg.timeout_ms = 1000;
    seam_comm *c = (seam_comm *)&c;
    seam_status s = seam_comm_init_rank_config(&c, 2, &id, 0, 0, &cfg);
    printf("# %s: %s\n", seam_status_string(s), seam_last_error());
    assert_true(s == SEAM_ERR_TIMEOUT || s == SEAM_ERR_NCCL);
    if (s == SEAM_ERR_TIMEOUT) assert_non_null(strstr(seam_last_error(), "never joined"));
    assert_null(c);
}

/* The digest check refuses to run inside capture (it synchronizes). */
static void test_check_digest_refuses_capture(void **state) {
    (void)state;
    REQUIRE_NCCL();
    seam_comm *c = nccl_single(60000);
    seam_digest *d;
    SEAM_ASSERT_OK(seam_digest_create(&d, 1, 1, 0));
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    cudaGraph_t graph;
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    seam_digest_mismatch m;
    SEAM_ASSERT_FAILS(seam_comm_check_digest(c, d, (seam_stream)s, &m), SEAM_ERR_STATE,
                      "captured");
    SEAM_ASSERT_FAILS(seam_comm_wait(c, (seam_stream)s), SEAM_ERR_STATE, "captured");
    CUDA_OK(cudaStreamEndCapture(s, &graph));
    CUDA_OK(cudaGraphDestroy(graph));
    CUDA_OK(cudaStreamDestroy(s));
    SEAM_ASSERT_OK(seam_digest_destroy(d));
    SEAM_ASSERT_OK(seam_comm_destroy(c));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_comm_init_rejects_bad_arguments),
        cmocka_unit_test(test_comm_world_of_one_needs_no_nccl_or_gpu),
        cmocka_unit_test(test_comm_nccl_absent_is_a_clear_error),
        cmocka_unit_test(test_comm_borrow_checks_arguments),
        cmocka_unit_test_setup_teardown(test_comm_init_launched_reads_the_launcher_environment,
                                        clear_launch_env, clear_launch_env),
        cmocka_unit_test_setup_teardown(test_launch_variables_are_known_to_the_config,
                                        clear_launch_env, clear_launch_env),
        cmocka_unit_test(test_comm_ops_are_registered_with_their_capture_class),
        cmocka_unit_test(test_topk_broadcast_op_checks_arguments),
        cmocka_unit_test(test_topk_broadcast_op_world_of_one_is_a_noop),
        cmocka_unit_test(test_digest_checks_arguments),
        cmocka_unit_test(test_topk_digest_kernel_matches_cpu_hash),
        cmocka_unit_test(test_topk_digest_sees_order_and_values),
        cmocka_unit_test(test_topk_digest_op_graph_replay_hashes_real_rows),
        cmocka_unit_test(test_comm_single_rank_nccl_and_borrow),
        cmocka_unit_test(test_topk_broadcast_eager_and_graph_replay),
        cmocka_unit_test(test_comm_wait_times_out_and_aborts),
        cmocka_unit_test(test_check_digest_refuses_capture),
        cmocka_unit_test(test_comm_init_times_out_when_a_rank_never_joins),
    };
    return SEAM_RUN_TESTS(tests);
}
