/* Suite comm, several ranks: run as `seam-launch -n N test_comm_multi` (N >= 2, one GPU per
 * rank). Every rank runs the same tests in the same order, since each test is a sequence of
 * collectives.
 *   - rank 0's top-k arrives on every rank: through the topk_broadcast op eagerly, and by
 *     replaying a captured graph 100 times with new data; the plain API from another root
 *   - the digest check agrees on identical data and names the layer and row of a
 *     deliberately corrupted rank (and a rank with fewer rows)
 *   - a rank that exits early makes the others return an error within the timeout
 * Started without seam-launch, or with one rank, it exits 77 (skip). */
#include <cuda_runtime_api.h>
#include <time.h>

#include "tests/test_util.h"
#include "tests/gpu_util.h"

static seam_comm *comm;      /* the group every test uses */
static int rank, size, device;
static seam_context *ctx;    /* SEAM_TOPK_BROADCAST=1 */
static seam_config ctx_config;
static seam_registry *reg;

/* A seed every rank shares: rank 0's, broadcast. */
static uint64_t shared_seed(const char *test) {
    uint64_t seed = 0;
    if (rank == 0) seed = seam_test_rng_make(test).s;
    uint64_t *d;
    CUDA_OK(cudaMalloc((void **)&d, sizeof seed));
    CUDA_OK(cudaMemcpy(d, &seed, sizeof seed, cudaMemcpyHostToDevice));
    SEAM_ASSERT_OK(seam_comm_broadcast(comm, d, 1, SEAM_DTYPE_I64, 0, NULL));
    CUDA_OK(cudaMemcpy(&seed, d, sizeof seed, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaFree(d));
    return seed;
}

static void fill(seam_test_rng *rng, int32_t *h, size_t n) {
    for (size_t i = 0; i < n; i++) h[i] = seam_test_int(rng, -1, 1 << 20);
}

static seam_op_call bcast_call(int32_t *data, int rows, int k) {
    seam_op_call call;
    memset(&call, 0, sizeof call);
    SEAM_ASSERT_OK(seam_registry_find(reg, "topk_broadcast", &call.op));
    int64_t shape[2] = {rows, k};
    call.num_args = 2;
    call.args[0] = seam_arg_tensor(seam_tensor_contiguous(data, SEAM_DTYPE_I32, 2, shape, 0));
    call.args[1] = seam_arg_ptr(comm);
    call.num_tokens = rows;
    return call;
}

static void expect_equal(const int32_t *got, const int32_t *want, size_t n, int k, const char *what,
                         int iteration) {
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("rank %d, %s, iteration %d: element %zu (row %zu col %zu) is %d, rank 0 has %d",
                     rank, what, iteration, i, i / (size_t)k, i % (size_t)k, got[i], want[i]);
}

static void test_multi_broadcast_eager_delivers_rank0_topk(void **state) {
    (void)state;
    seam_test_rng rng = {shared_seed(__func__)};
    static const int row_counts[] = {1, 64, 513};
    const int k = 2048;
    seam_stream stream;
    SEAM_ASSERT_OK(seam_context_stream(ctx, &stream));
    for (size_t c = 0; c < sizeof row_counts / sizeof row_counts[0]; c++) {
        int rows = row_counts[c];
        size_t n = (size_t)rows * k;
        int32_t *want = malloc(n * sizeof *want), *h = malloc(n * sizeof *h), *d;
        fill(&rng, want, n);
        for (size_t i = 0; i < n; i++) h[i] = rank == 0 ? want[i] : -100 - rank;
        CUDA_OK(cudaMalloc((void **)&d, n * sizeof *h));
        CUDA_OK(cudaMemcpy(d, h, n * sizeof *h, cudaMemcpyHostToDevice));
        seam_op_call call = bcast_call(d, rows, k);
        SEAM_ASSERT_OK(seam_op_run(&call, ctx, stream));
        CUDA_OK(cudaMemcpy(h, d, n * sizeof *h, cudaMemcpyDeviceToHost));
        expect_equal(h, want, n, k, "eager op", rows);
        CUDA_OK(cudaFree(d));
        free(want);
        free(h);
    }
}

/* The plain API from the last rank as root, with an int64 payload. */
static void test_multi_broadcast_api_from_last_rank(void **state) {
    (void)state;
    const int n = 1000;
    int64_t h[1000], *d;
    for (int i = 0; i < n; i++) h[i] = rank == size - 1 ? (int64_t)i * 1000003 : -1;
    CUDA_OK(cudaMalloc((void **)&d, sizeof h));
    CUDA_OK(cudaMemcpy(d, h, sizeof h, cudaMemcpyHostToDevice));
    SEAM_ASSERT_OK(seam_comm_broadcast(comm, d, n, SEAM_DTYPE_I64, size - 1, NULL));
    CUDA_OK(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost));
    for (int i = 0; i < n; i++)
        if (h[i] != (int64_t)i * 1000003) fail_msg("rank %d: element %d is %lld", rank, i, (long long)h[i]);
    CUDA_OK(cudaFree(d));
}

/* The op captured once, replayed 100 times: each time rank 0 writes new indices and the other
 * ranks garbage into the same buffer; after the replay every rank holds rank 0's indices. */
static void test_multi_broadcast_graph_replay_delivers_rank0_topk(void **state) {
    (void)state;
    seam_test_rng rng = {shared_seed(__func__)};
    const int rows = 64, k = 2048;
    const size_t n = (size_t)rows * k;
    seam_stream stream;
    SEAM_ASSERT_OK(seam_context_stream(ctx, &stream));
    cudaStream_t s = (cudaStream_t)stream;
    int32_t *want = malloc(n * sizeof *want), *h = malloc(n * sizeof *h), *d;
    CUDA_OK(cudaMalloc((void **)&d, n * sizeof *h));
    seam_op_call call = bcast_call(d, rows, k);
    CUDA_OK(cudaMemset(d, 0, n * sizeof *h));
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    SEAM_ASSERT_OK(seam_op_run(&call, ctx, stream));
    CUDA_OK(cudaStreamEndCapture(s, &graph));
    CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
    for (int it = 0; it < 100; it++) {
        fill(&rng, want, n); /* every rank draws the same numbers; only rank 0 uses them */
        for (size_t i = 0; i < n; i++) h[i] = rank == 0 ? want[i] : -1000 * rank - it;
        CUDA_OK(cudaMemcpyAsync(d, h, n * sizeof *h, cudaMemcpyHostToDevice, s));
        CUDA_OK(cudaGraphLaunch(exec, s));
        SEAM_ASSERT_OK(seam_comm_wait(comm, stream));
        CUDA_OK(cudaMemcpy(h, d, n * sizeof *h, cudaMemcpyDeviceToHost));
        expect_equal(h, want, n, k, "graph replay", it);
    }
    CUDA_OK(cudaGraphExecDestroy(exec));
    CUDA_OK(cudaGraphDestroy(graph));
    CUDA_OK(cudaFree(d));
    free(want);
    free(h);
}

/* With SEAM_TOPK_BROADCAST=0 the op leaves every rank's own indices alone. */
static void test_multi_broadcast_disabled_keeps_own_topk(void **state) {
    (void)state;
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    cfg.topk_broadcast = 0;
    seam_context_params p = SEAM_CONTEXT_PARAMS_INITIALIZER;
    p.device = device;
    p.max_tokens = 64;
    p.max_batch = 64;
    p.max_context = 1024;
    p.workspace_bytes = 0;
    p.config = &cfg;
    seam_context *off;
    SEAM_ASSERT_OK(seam_context_create(&off, &p));
    int32_t h[4 * 16], *d;
    for (int i = 0; i < 64; i++) h[i] = rank * 100 + i;
    CUDA_OK(cudaMalloc((void **)&d, sizeof h));
    CUDA_OK(cudaMemcpy(d, h, sizeof h, cudaMemcpyHostToDevice));
    seam_op_call call = bcast_call(d, 4, 16);
    seam_stream stream;
    SEAM_ASSERT_OK(seam_context_stream(off, &stream));
    SEAM_ASSERT_OK(seam_op_run(&call, off, stream));
    SEAM_ASSERT_OK(seam_context_synchronize(off));
    CUDA_OK(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost));
    for (int i = 0; i < 64; i++) assert_int_equal(h[i], rank * 100 + i);
    CUDA_OK(cudaFree(d));
    SEAM_ASSERT_OK(seam_context_destroy(off));
}

/* Same data on every rank: the check agrees. Then the last rank corrupts one entry of layer
 * 2, row 5 (and keeps fewer rows at layer 3): every rank reports layer 2, row 5, that rank. */
static void test_multi_digest_detects_corrupted_rank(void **state) {
    (void)state;
    seam_test_rng rng = {shared_seed(__func__)};
    const int layers = 4, rows = 37, k = 2048;
    const size_t n = (size_t)rows * k;
    int32_t *h = malloc(layers * n * sizeof *h), *d; /* [layers][rows][k] */
    CUDA_OK(cudaMalloc((void **)&d, layers * n * sizeof *h));
    fill(&rng, h, layers * n);
    CUDA_OK(cudaMemcpy(d, h, layers * n * sizeof *h, cudaMemcpyHostToDevice));
    seam_digest *dig;
    SEAM_ASSERT_OK(seam_digest_create(&dig, layers, rows, device));
    for (int l = 0; l < layers; l++)
        SEAM_ASSERT_OK(seam_topk_digest(dig, l, d + l * n, rows, k, NULL, NULL));
    seam_digest_mismatch m;
    SEAM_ASSERT_OK(seam_comm_check_digest(comm, dig, NULL, &m));
    if (m.layer != -1) fail_msg("rank %d: identical data, but the check reports layer %d row %d "
                                "rank %d: %s", rank, m.layer, m.row, m.rank, seam_last_error());

    /* layer 2: the last rank changes row 5, column 100 */
    if (rank == size - 1) {
        int32_t *layer2 = h + 2 * n;
        layer2[5 * (size_t)k + 100] ^= 0x40;
        CUDA_OK(cudaMemcpy(d + 2 * n, layer2, n * sizeof *h, cudaMemcpyHostToDevice));
        SEAM_ASSERT_OK(seam_topk_digest(dig, 2, d + 2 * n, rows, k, NULL, NULL));
    }
    SEAM_ASSERT_OK(seam_comm_check_digest(comm, dig, NULL, &m));
    printf("# rank %d: %s\n", rank, seam_last_error());
    assert_int_equal(m.layer, 2);
    assert_int_equal(m.row, 5);
    assert_int_equal(m.rank, size - 1);
    assert_int_equal(m.rows_rank0, rows);
    assert_int_equal(m.rows_rank, rows);
    assert_non_null(strstr(seam_last_error(), "at layer 2, row 5"));

    /* Start over; at layer 3 the last rank hashes only 30 of the (identical) rows. */
    SEAM_ASSERT_OK(seam_digest_reset(dig, NULL));
    int32_t *d_real;
    int real = rank == size - 1 ? 30 : rows;
    CUDA_OK(cudaMalloc((void **)&d_real, sizeof real));
    CUDA_OK(cudaMemcpy(d_real, &real, sizeof real, cudaMemcpyHostToDevice));
    SEAM_ASSERT_OK(seam_topk_digest(dig, 3, d + 3 * n, rows, k, d_real, NULL));
    SEAM_ASSERT_OK(seam_comm_check_digest(comm, dig, NULL, &m));
    assert_int_equal(m.layer, 3);
    assert_int_equal(m.row, 30);
    assert_int_equal(m.rank, size - 1);
    assert_int_equal(m.rows_rank0, rows);
    assert_int_equal(m.rows_rank, 30);
    CUDA_OK(cudaFree(d_real));
    CUDA_OK(cudaFree(d));
    free(h);
    SEAM_ASSERT_OK(seam_digest_destroy(dig));
}

/* ---- the early exit ----------------------------------------------------------------------- */

static seam_comm *victim; /* a second group; its last rank leaves without a word */
#define VICTIM_TIMEOUT_MS 5000

static seam_status make_victim(void) {
    seam_comm_id id;
    memset(&id, 0, sizeof id);
    if (rank == 0) {
        seam_status u = seam_comm_unique_id(&id);
        if (u != SEAM_OK) return u;
    }
    void *d;
    if (cudaMalloc(&d, sizeof id) != cudaSuccess) return SEAM_ERR_CUDA;
    cudaMemcpy(d, &id, sizeof id, cudaMemcpyHostToDevice);
    seam_status s = seam_comm_broadcast(comm, d, sizeof id, SEAM_DTYPE_U8, 0, NULL);
    cudaMemcpy(&id, d, sizeof id, cudaMemcpyDeviceToHost);
    cudaFree(d);
    if (s != SEAM_OK) return s;
    seam_comm_config cfg = SEAM_COMM_CONFIG_INITIALIZER;
    cfg.timeout_ms = 120000; /* joining may be slow (under compute-sanitizer) */
    s = seam_comm_init_rank_config(&victim, size, &id, rank, device, &cfg);
    return s == SEAM_OK ? seam_comm_set_timeout(victim, VICTIM_TIMEOUT_MS) : s;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The last rank exits; the others broadcast from it (so they wait to receive) and must get
 * an error, not a hang. A generous bound separates "returned" from "hung" (not a speed test). */
static void test_multi_rank_that_exits_early_gives_error_not_hang(void **state) {
    (void)state;
    if (rank == size - 1) {
        printf("# rank %d leaves without destroying its communicator\n", rank);
        fflush(stdout);
        fflush(stderr);
        _exit(0);
    }
    const int n = 1 << 20;
    int32_t *d;
    CUDA_OK(cudaMalloc((void **)&d, (size_t)n * sizeof *d));
    double t0 = now_ms();
    seam_status s = SEAM_OK;
    for (int i = 0; i < 3 && s == SEAM_OK; i++)
        s = seam_comm_broadcast(victim, d, (size_t)n, SEAM_DTYPE_I32, size - 1, NULL);
    double ms = now_ms() - t0;
    printf("# rank %d: %s after %.0f ms: %s\n", rank, seam_status_string(s), ms, seam_last_error());
    assert_true(s == SEAM_ERR_TIMEOUT || s == SEAM_ERR_NCCL || s == SEAM_ERR_CUDA);
    assert_true(ms < 3.0 * VICTIM_TIMEOUT_MS + 30000.0);
    if (s != SEAM_ERR_CUDA) { /* the communicator was aborted; later calls say so */
        SEAM_ASSERT_FAILS(seam_comm_broadcast(victim, d, 4, SEAM_DTYPE_I32, 0, NULL),
                          SEAM_ERR_STATE, "aborted");
        CUDA_OK(cudaFree(d));
    }
    SEAM_ASSERT_OK(seam_comm_destroy(victim));
    victim = NULL;
}

int main(void) {
    seam_comm_config cfg = SEAM_COMM_CONFIG_INITIALIZER;
    cfg.timeout_ms = 300000; /* joining may be slow under compute-sanitizer */
    seam_status s = seam_comm_init_launched(&comm, &cfg);
    if (s == SEAM_OK) s = seam_comm_set_timeout(comm, 60000); /* a failing rank stops the others */
    if (s == SEAM_ERR_NOT_FOUND) {
        printf("test_comm_multi: %s: skipped (run it as seam-launch -n 2 test_comm_multi)\n",
               seam_last_error());
        return 77;
    }
    if (s != SEAM_OK) {
        fprintf(stderr, "test_comm_multi: seam_comm_init_launched: %s: %s\n",
                seam_status_string(s), seam_last_error());
        return 1;
    }
    seam_comm_rank(comm, &rank);
    seam_comm_size(comm, &size);
    seam_comm_device(comm, &device);
    if (size < 2) {
        printf("test_comm_multi: one rank: skipped (needs seam-launch -n 2 or more)\n");
        seam_comm_destroy(comm);
        return 77;
    }
    printf("# rank %d of %d on device %d\n", rank, size, device);
    seam_config c = SEAM_CONFIG_INITIALIZER;
    c.topk_broadcast = 1;
    ctx_config = c;
    seam_context_params p = SEAM_CONTEXT_PARAMS_INITIALIZER;
    p.device = device;
    p.max_tokens = 1024;
    p.max_batch = 1024;
    p.max_context = 4096;
    p.workspace_bytes = 0;
    p.config = &ctx_config;
    if (seam_context_create(&ctx, &p) != SEAM_OK || seam_registry_create(&reg) != SEAM_OK) {
        fprintf(stderr, "test_comm_multi: setup failed: %s\n", seam_last_error());
        return 1;
    }
    const struct CMUnitTest group[] = {
        cmocka_unit_test(test_multi_broadcast_eager_delivers_rank0_topk),
        cmocka_unit_test(test_multi_broadcast_api_from_last_rank),
        cmocka_unit_test(test_multi_broadcast_graph_replay_delivers_rank0_topk),
        cmocka_unit_test(test_multi_broadcast_disabled_keeps_own_topk),
        cmocka_unit_test(test_multi_digest_detects_corrupted_rank),
    };
    int failed = cmocka_run_group_tests_name("comm_multi", group, NULL, NULL);
    /* The second group needs every rank alive to form; the first communicator is destroyed
     * while they all still are. */
    if (!failed) s = make_victim();
    if (!failed && s != SEAM_OK) {
        fprintf(stderr, "rank %d: making the second communicator failed: %s\n", rank, seam_last_error());
        failed = 1;
    }
    seam_context_destroy(ctx);
    seam_registry_destroy(reg);
    seam_comm_destroy(comm);
    if (failed) return failed;
    const struct CMUnitTest early[] = {
        cmocka_unit_test(test_multi_rank_that_exits_early_gives_error_not_hang),
    };
    return cmocka_run_group_tests_name("comm_multi_early_exit", early, NULL, NULL);
}
