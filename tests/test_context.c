/* Suite runtime: context parameters, batch validation (each field out of range, named in the
 * message), derived per-token metadata, padding to the bucket, a failed batch leaving the
 * context unchanged; on a GPU: device copy equals host copy, pointers never move, double
 * buffering. */
#include <stdlib.h>

#include <cuda_runtime_api.h>

#include "tests/test_util.h"

static seam_config test_config(void) {
    seam_config cfg = SEAM_CONFIG_INITIALIZER;
    cfg.num_capture_sizes = 4;
    cfg.capture_sizes[0] = 4;
    cfg.capture_sizes[1] = 16;
    cfg.capture_sizes[2] = 64;
    cfg.capture_sizes[3] = 128;
    return cfg;
}

static seam_context_params host_params(const seam_config *cfg) {
    seam_context_params p = SEAM_CONTEXT_PARAMS_INITIALIZER;
    p.device = SEAM_DEVICE_HOST;
    p.max_tokens = 256;
    p.max_batch = 8;
    p.max_context = 1000;
    p.num_layers = 2;
    p.page_size = 1;
    p.max_next_n = 4;
    p.config = cfg;
    return p;
}

/* A three-request extend batch with prefixes: 5 new of 12, 1 new of 1, 3 new of 203. */
typedef struct batch_data {
    int32_t seq[8], ext[8], loc[256], table[8 * 1000];
    seam_batch b;
} batch_data;

static void make_extend(batch_data *d) {
    static const int32_t seq[3] = {12, 1, 203}, ext[3] = {5, 1, 3};
    memset(d, 0, sizeof *d);
    memcpy(d->seq, seq, sizeof seq);
    memcpy(d->ext, ext, sizeof ext);
    for (int t = 0; t < 9; t++) d->loc[t] = 1000 + t;
    for (int i = 0; i < 8 * 1000; i++) d->table[i] = i;
    seam_batch b = SEAM_BATCH_INITIALIZER;
    b.mode = SEAM_FORWARD_EXTEND;
    b.batch_size = 3;
    b.seq_lens = d->seq;
    b.extend_lens = d->ext;
    b.out_cache_loc = d->loc;
    b.page_table = d->table;
    b.page_table_stride = 203;
    d->b = b;
}

static void test_context_params_out_of_range_are_named(void **state) {
    (void)state;
    seam_config cfg = test_config();
    seam_context *ctx = (seam_context *)1;
    struct {
        const char *field;
        void (*mutate)(seam_context_params *);
    } cases[] = {
        {"max_tokens=0", NULL}, {"max_batch=0", NULL}, {"max_context=0", NULL},
        {"num_layers=0", NULL}, {"page_size=3", NULL}, {"max_next_n=5", NULL},
        {"struct_size=1", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        seam_context_params p = host_params(&cfg);
        switch (i) {
        case 0: p.max_tokens = 0; break;
        case 1: p.max_batch = 0; break;
        case 2: p.max_context = 0; break;
        case 3: p.num_layers = 0; break;
        case 4: p.page_size = 3; break;
        case 5: p.max_next_n = 5; break;
        case 6: p.struct_size = 1; break;
        }
        SEAM_ASSERT_FAILS(seam_context_create(&ctx, &p), SEAM_ERR_INVALID_ARG, cases[i].field);
        assert_null(ctx);
        ctx = (seam_context *)1;
    }
    SEAM_ASSERT_FAILS(seam_context_create(NULL, NULL), SEAM_ERR_INVALID_ARG, "out is NULL");
    assert_int_equal(seam_context_destroy(NULL), SEAM_OK);
}

static void test_context_bad_config_is_rejected(void **state) {
    (void)state;
    seam_config cfg = test_config();
    cfg.capture_sizes[2] = 2;
    seam_context_params p = host_params(&cfg);
    seam_context *ctx;
    SEAM_ASSERT_FAILS(seam_context_create(&ctx, &p), SEAM_ERR_INVALID_ARG, "capture_sizes[2]=2");
}

static void test_extend_batch_derives_metadata(void **state) {
    (void)state;
    seam_config cfg = test_config();
    seam_context_params p = host_params(&cfg);
    seam_context *ctx;
    SEAM_ASSERT_OK(seam_context_create(&ctx, &p));
    batch_data d;
    make_extend(&d);
    SEAM_ASSERT_OK(seam_context_set_batch(ctx, &d.b));
    const seam_batch_view *v;
    SEAM_ASSERT_OK(seam_context_batch_host(ctx, &v));
    assert_int_equal(v->counts[SEAM_COUNT_MODE], SEAM_FORWARD_EXTEND);
    assert_int_equal(v->counts[SEAM_COUNT_BATCH_SIZE], 3);
    assert_int_equal(v->counts[SEAM_COUNT_TOKENS], 9);
    assert_int_equal(v->counts[SEAM_COUNT_PADDED_TOKENS], 16); /* smallest bucket >= 9 */
    assert_int_equal(v->counts[SEAM_COUNT_MAX_SEQ_LEN], 203);
    assert_int_equal(v->counts[SEAM_COUNT_PAGE_TABLE_STRIDE], 203);
    static const int32_t prefix[3] = {7, 0, 200}, cuq[4] = {0, 5, 6, 9}, cuk[4] = {0, 12, 13, 216};
    for (int i = 0; i < 3; i++) assert_int_equal(v->prefix_lens[i], prefix[i]);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(v->cu_seqlens_q[i], cuq[i]);
        assert_int_equal(v->cu_seqlens_k[i], cuk[i]);
    }
    /* token 4 is request 0's last new token at position 11: it sees 12 keys from key 0;
     * token 5 is request 1's only token; tokens 6..8 are request 2's at positions 200..202. */
    static const int32_t pos[9] = {7, 8, 9, 10, 11, 0, 200, 201, 202};
    static const int32_t req[9] = {0, 0, 0, 0, 0, 1, 2, 2, 2};
    static const int32_t len[9] = {8, 9, 10, 11, 12, 1, 201, 202, 203};
    static const int32_t start[9] = {0, 0, 0, 0, 0, 12, 13, 13, 13};
    for (int t = 0; t < 9; t++) {
        assert_int_equal(v->positions[t], pos[t]);
        assert_int_equal(v->row_to_req[t], req[t]);
        assert_int_equal(v->topk_lengths[t], len[t]);
        assert_int_equal(v->topk_row_starts[t], start[t]);
        assert_int_equal(v->out_cache_loc[t], 1000 + t);
    }
    for (int t = 9; t < p.max_tokens; t++) { /* padding rows are harmless */
        assert_int_equal(v->out_cache_loc[t], -1);
        assert_int_equal(v->topk_lengths[t], 0);
    }
    assert_int_equal(v->page_table[2 * 203 + 5], 2 * 203 + 5);
    SEAM_ASSERT_OK(seam_context_destroy(ctx));
}

static void test_target_verify_batch_derives_nextn_lengths(void **state) {
    (void)state;
    seam_config cfg = test_config();
    seam_context_params p = host_params(&cfg);
    seam_context *ctx;
    SEAM_ASSERT_OK(seam_context_create(&ctx, &p));
    int32_t seq[2] = {4, 50}, loc[8] = {0, 1, 2, 3, 4, 5, 6, 7}, table[2 * 50];
    for (int i = 0; i < 100; i++) table[i] = i;
    seam_batch b = SEAM_BATCH_INITIALIZER;
    b.mode = SEAM_FORWARD_TARGET_VERIFY;
    b.batch_size = 2;
    b.next_n = 4;
    b.seq_lens = seq;
    b.out_cache_loc = loc;
    b.page_table = table;
    b.page_table_stride = 50;
    SEAM_ASSERT_OK(seam_context_set_batch(ctx, &b));
    const seam_batch_view *v;
    SEAM_ASSERT_OK(seam_context_batch_host(ctx, &v));
    assert_int_equal(v->counts[SEAM_COUNT_TOKENS], 8);
    assert_int_equal(v->counts[SEAM_COUNT_NEXT_N], 4);
    /* the first request's queries sit at the very start of its context: 1, 2, 3, 4 keys */
    for (int j = 0; j < 4; j++) {
        assert_int_equal(v->nextn_ctx_lens[0 * p.max_next_n + j], j + 1);
        assert_int_equal(v->nextn_ctx_lens[1 * p.max_next_n + j], 47 + j);
        assert_int_equal(v->topk_lengths[j], j + 1);
        assert_int_equal(v->topk_lengths[4 + j], 47 + j);
    }
    SEAM_ASSERT_OK(seam_context_destroy(ctx));
}

static void test_tokens_above_largest_bucket_are_not_padded(void **state) {
    (void)state;
    seam_config cfg = test_config();
    seam_context_params p = host_params(&cfg);
    seam_context *ctx;
    SEAM_ASSERT_OK(seam_context_create(&ctx, &p));
    int32_t seq[1] = {200}, ext[1] = {200}, loc[200], table[200];
    for (int i = 0; i < 200; i++) loc[i] = table[i] = i;
    seam_batch b = SEAM_BATCH_INITIALIZER;
    b.mode = SEAM_FORWARD_EXTEND;
    b.batch_size = 1;
    b.seq_lens = seq;
    b.extend_lens = ext;
    b.out_cache_loc = loc;
    b.page_table = table;
    b.page_table_stride = 200;
    SEAM_ASSERT_OK(seam_context_set_batch(ctx, &b));
    const seam_batch_view *v;
    SEAM_ASSERT_OK(seam_context_batch_host(ctx, &v));
    assert_int_equal(v->counts[SEAM_COUNT_PADDED_TOKENS], 200);
    SEAM_ASSERT_OK(seam_context_destroy(ctx));
    cfg.piecewise = 0; /* piecewise off: never padded */
    SEAM_ASSERT_OK(seam_context_create(&ctx, &p));
    ext[0] = 3;
    SEAM_ASSERT_OK(seam_context_set_batch(ctx, &b));
    SEAM_ASSERT_OK(seam_context_batch_host(ctx, &v));
    assert_int_equal(v->counts[SEAM_COUNT_PADDED_TOKENS], 3);
    SEAM_ASSERT_OK(seam_context_destroy(ctx));
}

/* Each field of a batch out of range gives a named error and leaves the previous batch. */
static void test_bad_batches_are_named_and_leave_context_unchanged(void **state) {
    (void)state;
    seam_config cfg = test_config();
    seam_context_params p = host_params(&cfg);
    seam_context *ctx;
    SEAM_ASSERT_OK(seam_context_create(&ctx, &p));
    batch_data good;
    make_extend(&good);
    SEAM_ASSERT_OK(seam_context_set_batch(ctx, &good.b));
    static const char *const expected[] = {
        "mode=9",
        "batch_size=9 is not in [1, max_batch=8]",
        "seq_lens[1]=0 is less than extend_lens[1]=1",
        "extend_lens[2]=0 is not positive",
        "seq_lens[2]=1001 exceeds max_context=1000",
        "out_cache_loc[4]=-3 is negative",
        "page_table_stride=100 is not in [203",
        "page_table[1][0]=-1 is negative",
        "seq_lens is NULL",
        "extend_lens[0]=2 must be 1 in decode mode",
        "next_n=5 is not in [1, max_next_n=4]",
        "positions[2]=-1 is negative",
        "batch_size=3 must be 0 in idle mode",
        "total new tokens 1003 exceed max_tokens=256",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        batch_data d;
        make_extend(&d);
        int32_t pos[256] = {0};
        switch (i) {
        case 0: d.b.mode = (seam_forward_mode)9; break;
        case 1: d.b.batch_size = 9; break;
        case 2: d.seq[1] = 0; break;
        case 3: d.ext[2] = 0; break;
        case 4: d.seq[2] = 1001; break;
        case 5: d.loc[4] = -3; break;
        case 6: d.b.page_table_stride = 100; break;
        case 7: d.table[203] = -1; break;
        case 8: d.b.seq_lens = NULL; break;
        case 9: d.b.mode = SEAM_FORWARD_DECODE; d.ext[0] = 2; break;
        case 10: d.b.mode = SEAM_FORWARD_TARGET_VERIFY; d.b.next_n = 5; break;
        case 11: pos[2] = -1; d.b.positions = pos; break;
        case 12: d.b.mode = SEAM_FORWARD_IDLE; break;
        case 13: d.seq[2] = 1000; d.ext[2] = 997; break;
        }
        SEAM_ASSERT_FAILS(seam_context_set_batch(ctx, &d.b), SEAM_ERR_INVALID_ARG, expected[i]);
        assert_non_null(strstr(seam_last_error(), "seam_context_set_batch: "));
        SEAM_ASSERT_FAILS(seam_batch_check(&p, &d.b), SEAM_ERR_INVALID_ARG, expected[i]);
        const seam_batch_view *v;
        SEAM_ASSERT_OK(seam_context_batch_host(ctx, &v));
        assert_int_equal(v->counts[SEAM_COUNT_TOKENS], 9); /* still the good batch */
        assert_int_equal(v->topk_lengths[8], 203);
    }
    SEAM_ASSERT_OK(seam_context_destroy(ctx));
}

/* Key offsets (cu_seqlens_k, ragged row starts) are int32: a batch whose requests add up to
 * more keys is refused before anything is derived. Checked without a context (the page
 * table such a context would need is gigabytes). */
static void test_batch_whose_keys_overflow_int32_is_refused(void **state) {
    (void)state;
    seam_context_params p = SEAM_CONTEXT_PARAMS_INITIALIZER;
    p.device = SEAM_DEVICE_HOST;
    p.max_tokens = 256;
    p.max_batch = 256;
    p.max_context = 1 << 24;
    p.page_size = 64;
    static int32_t seq[130], loc[130], table[1];
    for (int i = 0; i < 130; i++) seq[i] = 1 << 24, loc[i] = i;
    seam_batch b = SEAM_BATCH_INITIALIZER;
    b.mode = SEAM_FORWARD_DECODE;
    b.batch_size = 130;
    b.seq_lens = seq;
    b.out_cache_loc = loc;
    b.page_table = table;
    b.page_table_stride = 1 << 18;
    SEAM_ASSERT_FAILS(seam_batch_check(&p, &b), SEAM_ERR_INVALID_ARG,
                      "seq_lens add up to 2181038080 keys");
}

static void test_param_errors_name_the_public_function(void **state) {
    (void)state;
    seam_config cfg = test_config();
    seam_context_params p = host_params(&cfg);
    p.max_tokens = 0;
    seam_context *ctx;
    SEAM_ASSERT_FAILS(seam_context_create(&ctx, &p), SEAM_ERR_INVALID_ARG,
                      "seam_context_create: params->max_tokens=0");
    batch_data d;
    make_extend(&d);
    SEAM_ASSERT_FAILS(seam_batch_check(&p, &d.b), SEAM_ERR_INVALID_ARG,
                      "seam_context_set_batch: params->max_tokens=0");
}

static void test_idle_batch_clears_counts(void **state) {
    (void)state;
    seam_config cfg = test_config();
    seam_context_params p = host_params(&cfg);
    seam_context *ctx;
    SEAM_ASSERT_OK(seam_context_create(&ctx, &p));
    batch_data d;
    make_extend(&d);
    SEAM_ASSERT_OK(seam_context_set_batch(ctx, &d.b));
    seam_batch idle = SEAM_BATCH_INITIALIZER;
    SEAM_ASSERT_OK(seam_context_set_batch(ctx, &idle));
    const seam_batch_view *v;
    SEAM_ASSERT_OK(seam_context_batch_host(ctx, &v));
    assert_int_equal(v->counts[SEAM_COUNT_TOKENS], 0);
    assert_int_equal(v->counts[SEAM_COUNT_BATCH_SIZE], 0);
    assert_int_equal(v->topk_lengths[0], 0);
    seam_stream s;
    SEAM_ASSERT_FAILS(seam_context_stream(ctx, &s), SEAM_ERR_NO_DEVICE, "without a device");
    SEAM_ASSERT_OK(seam_context_destroy(ctx));
}

static void test_host_context_rejects_device_queries(void **state) {
    (void)state;
    seam_config cfg = test_config();
    seam_context_params p = host_params(&cfg);
    seam_context *ctx;
    SEAM_ASSERT_OK(seam_context_create(&ctx, &p));
    const seam_batch_view *v;
    void *ws;
    size_t bytes;
    SEAM_ASSERT_FAILS(seam_context_batch_device(ctx, &v), SEAM_ERR_NO_DEVICE, "without a device");
    SEAM_ASSERT_FAILS(seam_context_workspace(ctx, &ws, &bytes), SEAM_ERR_NO_DEVICE, "without a device");
    assert_int_equal(seam_context_config(ctx)->capture_sizes[1], 16);
    SEAM_ASSERT_OK(seam_context_destroy(ctx));
}

/* ---- GPU ---- */

static void copy_back(int32_t *dst, const int32_t *src_dev, size_t n) {
    assert_int_equal(cudaMemcpy(dst, src_dev, n * sizeof(int32_t), cudaMemcpyDeviceToHost), cudaSuccess);
}

/* The host parameters on device 0. */
static seam_context_params gpu_params(const seam_config *cfg) {
    seam_context_params p = host_params(cfg);
    p.device = 0;
    return p;
}

static void test_gpu_device_copy_matches_host_and_pointers_are_stable(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_config cfg = test_config();
    seam_context_params p = gpu_params(&cfg);
    p.workspace_bytes = 1 << 20;
    seam_context *ctx;
    SEAM_ASSERT_OK(seam_context_create(&ctx, &p));
    const seam_batch_view *dv0;
    SEAM_ASSERT_OK(seam_context_batch_device(ctx, &dv0));
    seam_batch_view first = *dv0;
    void *ws0;
    size_t ws_bytes;
    SEAM_ASSERT_OK(seam_context_workspace(ctx, &ws0, &ws_bytes));
    assert_int_equal(ws_bytes, 1 << 20);
    seam_test_rng rng = seam_test_rng_make(__func__);
    for (int round = 0; round < 50; round++) {
        batch_data d;
        make_extend(&d);
        d.b.batch_size = seam_test_int(&rng, 1, 8);
        int tokens = 0, max_seq = 1;
        for (int i = 0; i < d.b.batch_size; i++) {
            d.seq[i] = seam_test_int(&rng, 1, 1000);
            d.ext[i] = seam_test_int(&rng, 1, d.seq[i] < 32 ? d.seq[i] : 32);
            tokens += d.ext[i];
            if (d.seq[i] > max_seq) max_seq = d.seq[i];
        }
        for (int t = 0; t < tokens; t++) d.loc[t] = seam_test_int(&rng, 0, 1 << 20);
        d.b.page_table_stride = max_seq;
        SEAM_ASSERT_OK(seam_context_set_batch(ctx, &d.b));
        const seam_batch_view *hv, *dv;
        SEAM_ASSERT_OK(seam_context_batch_host(ctx, &hv));
        SEAM_ASSERT_OK(seam_context_batch_device(ctx, &dv));
        assert_memory_equal(dv, &first, sizeof first); /* device pointers never move */
        SEAM_ASSERT_OK(seam_context_synchronize(ctx));
        int32_t got[256];
        copy_back(got, dv->counts, SEAM_COUNT_NUM);
        assert_memory_equal(got, hv->counts, SEAM_COUNT_NUM * sizeof(int32_t));
        copy_back(got, dv->topk_lengths, (size_t)p.max_tokens);
        assert_memory_equal(got, hv->topk_lengths, (size_t)p.max_tokens * sizeof(int32_t));
        copy_back(got, dv->out_cache_loc, (size_t)p.max_tokens);
        assert_memory_equal(got, hv->out_cache_loc, (size_t)p.max_tokens * sizeof(int32_t));
        int32_t row[1000];
        int last = d.b.batch_size - 1;
        copy_back(row, dv->page_table + (size_t)last * (size_t)max_seq, (size_t)max_seq);
        assert_memory_equal(row, d.table + (size_t)last * (size_t)max_seq, (size_t)max_seq * sizeof(int32_t));
    }
    void *ws1;
    SEAM_ASSERT_OK(seam_context_workspace(ctx, &ws1, &ws_bytes));
    assert_ptr_equal(ws0, ws1);
    SEAM_ASSERT_OK(seam_context_destroy(ctx));
}

/* Back-to-back batches without synchronizing: the double-buffered staging must not let batch
 * N+2 overwrite the staging buffer batch N is still being copied from. The device copy must
 * end up equal to the last batch. */
static void test_gpu_back_to_back_batches_keep_the_last(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_config cfg = test_config();
    seam_context_params p = gpu_params(&cfg);
    seam_context *ctx;
    SEAM_ASSERT_OK(seam_context_create(&ctx, &p));
    batch_data d;
    make_extend(&d);
    for (int round = 0; round < 200; round++) {
        for (int t = 0; t < 9; t++) d.loc[t] = round * 16 + t;
        SEAM_ASSERT_OK(seam_context_set_batch(ctx, &d.b));
    }
    SEAM_ASSERT_OK(seam_context_synchronize(ctx));
    const seam_batch_view *dv;
    SEAM_ASSERT_OK(seam_context_batch_device(ctx, &dv));
    int32_t got[9];
    copy_back(got, dv->out_cache_loc, 9);
    for (int t = 0; t < 9; t++) assert_int_equal(got[t], 199 * 16 + t);
    SEAM_ASSERT_OK(seam_context_destroy(ctx));
}

static void test_gpu_bad_device_ordinal_is_named(void **state) {
    (void)state;
    SEAM_REQUIRE_GPU();
    seam_config cfg = test_config();
    seam_context_params p = gpu_params(&cfg);
    p.device = 4096;
    seam_context *ctx;
    SEAM_ASSERT_FAILS(seam_context_create(&ctx, &p), SEAM_ERR_INVALID_ARG, "params->device=4096");
}

static void test_device_context_without_gpu_reports_no_device(void **state) {
    (void)state;
    if (seam_test_have_gpu()) { /* covered by the GPU tests above */
        seam_test_skipped_count++;
        skip();
    }
    seam_config cfg = test_config();
    seam_context_params p = gpu_params(&cfg);
    seam_context *ctx = (seam_context *)1;
    assert_int_equal(seam_context_create(&ctx, &p), SEAM_ERR_NO_DEVICE);
    assert_null(ctx);
    assert_non_null(strstr(seam_last_error(), "seam_context_create"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context_params_out_of_range_are_named),
        cmocka_unit_test(test_context_bad_config_is_rejected),
        cmocka_unit_test(test_extend_batch_derives_metadata),
        cmocka_unit_test(test_target_verify_batch_derives_nextn_lengths),
        cmocka_unit_test(test_tokens_above_largest_bucket_are_not_padded),
        cmocka_unit_test(test_bad_batches_are_named_and_leave_context_unchanged),
        cmocka_unit_test(test_batch_whose_keys_overflow_int32_is_refused),
        cmocka_unit_test(test_param_errors_name_the_public_function),
        cmocka_unit_test(test_idle_batch_clears_counts),
        cmocka_unit_test(test_host_context_rejects_device_queries),
        cmocka_unit_test(test_gpu_device_copy_matches_host_and_pointers_are_stable),
        cmocka_unit_test(test_gpu_back_to_back_batches_keep_the_last),
        cmocka_unit_test(test_gpu_bad_device_ordinal_is_named),
        cmocka_unit_test(test_device_context_without_gpu_reports_no_device),
    };
    return SEAM_RUN_TESTS(tests);
}
