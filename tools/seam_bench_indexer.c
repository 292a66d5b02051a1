/* seam-bench-indexer: times the indexer logits kernels against their floors, measured in the
 * same run.
 *
 *   seam-bench-indexer [--quick] [--json PATH] [--only prefill|paged|decode|nextn]
 *
 * Sections
 * - prefill (ragged): T query tokens at the end of one C-token context (prefix C - T, causal:
 *   row t sees C - T + t + 1 keys), 64 heads. Floor: 2 * 64 * 128 * sum(lengths) FLOP at the
 *   H100 SXM dense fp8 tensor peak (1979 TFLOP/s). The MMA kernel on every shape, the SIMT
 *   reference on the smallest.
 * - decode (paged, page 64 and 1): B requests x L keys. Floor: the cache bytes read,
 *   B * L * (128 + 4), at the read bandwidth a read-only kernel measures in this run.
 * - prefill over the paged cache: the request-grouped rows k_cache_and_topk uses.
 * - NextN target-verify: native [B, next_n] groups vs the expanded layout ([B * next_n]
 *   groups, block table repeated per query) vs request-grouped rows, next_n 2 and 4.
 *
 * Timing: paged caches rotate through enough page tables over distinct pages that every call
 * reads at least 256 MB apart from the previous ones (5x an H100's L2); a spin kernel holds
 * the GPU while all timed calls are queued, so event times hold no host launch gaps; the
 * median over the repetitions is reported. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "seam.h"
#include "tools/bench_util.h"


#define HEADS 64
#define DIM 128
#define FP8_PEAK_TFLOPS 1979.0
#define MAX_REPS 64

static cudaStream_t stream;
static FILE *json;
static int json_first = 1;
static double read_bw; /* bytes / s */

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

typedef void (*call_fn)(void *arg, int rep);

/* Median milliseconds of `reps` calls of fn (after two warm-up calls). */
static double time_median(call_fn fn, void *arg, int reps) {
    cudaEvent_t ev[2 * MAX_REPS];
    float ms[MAX_REPS];
    if (reps > MAX_REPS) reps = MAX_REPS;
    for (int i = 0; i < 2 * reps; i++) CK(cudaEventCreate(&ev[i]));
    fn(arg, 0);
    fn(arg, 1);
    CK(cudaStreamSynchronize(stream));
    CK(bench_spin(3000000, stream)); /* 3 ms: the host queues every call meanwhile */
    for (int i = 0; i < reps; i++) {
        CK(cudaEventRecord(ev[2 * i], stream));
        fn(arg, i);
        CK(cudaEventRecord(ev[2 * i + 1], stream));
    }
    CK(cudaStreamSynchronize(stream));
    for (int i = 0; i < reps; i++) CK(cudaEventElapsedTime(&ms[i], ev[2 * i], ev[2 * i + 1]));
    for (int i = 0; i < 2 * reps; i++) CK(cudaEventDestroy(ev[i]));
    qsort(ms, (size_t)reps, sizeof ms[0], cmp_float);
    return ms[reps / 2];
}

static void *dalloc(size_t bytes) {
    void *p;
    CK(cudaMalloc(&p, bytes ? bytes : 16));
    return p;
}

/* Random bytes (normal floats' bit patterns: fine fp8 values for timing). */
static void fill_bytes(void *p, size_t bytes, uint32_t seed) {
    CK(bench_fill((float *)p, bytes / 4, 0, seed, stream));
}

static void fill_scales(float *p, size_t n) {
    CK(bench_fill(p, n, 3, 0, stream)); /* all 1.0 */
}

static void json_record(const char *fmt, ...) {
    if (!json) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(json, "%s\n  {", json_first ? "" : ",");
    vfprintf(json, fmt, ap);
    fprintf(json, "}");
    va_end(ap);
    json_first = 0;
}

/* ---- read bandwidth ------------------------------------------------------------------------ */

typedef struct read_arg {
    void *buf;
    size_t bytes;
    float *sink;
} read_arg;

static void read_call(void *a, int rep) {
    (void)rep;
    read_arg *r = a;
    CK(bench_read(r->buf, r->bytes, r->sink, stream));
}

static void measure_read_bw(void) {
    read_arg r = {dalloc((size_t)1 << 30), (size_t)1 << 30, dalloc(4)};
    fill_bytes(r.buf, r.bytes, 1);
    double ms = time_median(read_call, &r, 10);
    read_bw = (double)r.bytes / (ms * 1e-3);
    printf("read bandwidth (1 GB read-only kernel): %.0f GB/s\n\n", read_bw / 1e9);
    json_record("\"section\": \"read_bandwidth\", \"gb_per_s\": %.1f", read_bw / 1e9);
    CK(cudaFree(r.buf));
    CK(cudaFree(r.sink));
}

/* ---- prefill ------------------------------------------------------------------------------- */

typedef struct prefill_arg {
    seam_indexer_logits_ragged_params p;
} prefill_arg;

static void prefill_call(void *a, int rep) {
    (void)rep;
    SK(seam_indexer_logits_ragged(&((prefill_arg *)a)->p, (seam_stream)stream));
}

/* The tensor-core kernels compared in every table: mma.sync, and wgmma where the device has
 * it (compute capability 9.0). */
static const seam_indexer_algo tc_algos[2] = {SEAM_INDEXER_ALGO_MMA, SEAM_INDEXER_ALGO_WGMMA};
static const char *algo_str(seam_indexer_algo a) {
    return a == SEAM_INDEXER_ALGO_MMA ? "mma" : a == SEAM_INDEXER_ALGO_WGMMA ? "wgmma" : "simt";
}
static int algo_ok(seam_indexer_algo a) {
    if (a != SEAM_INDEXER_ALGO_WGMMA) return 1;
    int dev = 0, major = 0, minor = 0;
    if (cudaGetDevice(&dev) != cudaSuccess) return 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) return 0;
    if (cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev) != cudaSuccess) return 0;
    return major == 9 && minor == 0;
}

static void bench_prefill(int quick) {
    static const int shapes[][2] = {{4096, 4096}, {4096, 16384}, {8192, 8192}, {8192, 32768}, {8192, 65536}};
    int n = quick ? 2 : 5;
    printf("prefill logits (ragged, causal, 64 heads): floor = FLOP at %.0f TFLOP/s dense fp8\n", FP8_PEAK_TFLOPS);
    printf("%-6s %6s %6s %10s %10s %9s %8s\n", "algo", "T", "C", "ms", "floor ms", "TFLOP/s", "x floor");
    for (int i = 0; i < n; i++) {
        int T = shapes[i][0], C = shapes[i][1];
        size_t qb = (size_t)T * HEADS * DIM, lb = (size_t)T * C * 4;
        void *q = dalloc(qb), *k = dalloc((size_t)C * DIM);
        float *w = dalloc((size_t)T * HEADS * 4), *ks = dalloc((size_t)C * 4), *logits = dalloc(lb);
        int32_t *starts = dalloc((size_t)T * 4), *lens = dalloc((size_t)T * 4);
        int32_t *hs = calloc((size_t)T, 4), *hl = malloc((size_t)T * 4);
        double keys = 0;
        for (int t = 0; t < T; t++) {
            hl[t] = C - T + t + 1;
            keys += hl[t];
        }
        CK(cudaMemcpy(starts, hs, (size_t)T * 4, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(lens, hl, (size_t)T * 4, cudaMemcpyHostToDevice));
        fill_bytes(q, qb, 2);
        fill_bytes(k, (size_t)C * DIM, 3);
        CK(bench_fill(w, (size_t)T * HEADS, 0, 4, stream));
        fill_scales(ks, (size_t)C);
        CK(cudaDeviceSynchronize());
        double flop = 2.0 * HEADS * DIM * keys, floor_ms = flop / (FP8_PEAK_TFLOPS * 1e12) * 1e3;
        for (int a = 0; a < 3; a++) {
            seam_indexer_algo algo = a < 2 ? tc_algos[a] : SEAM_INDEXER_ALGO_SIMT;
            if ((algo == SEAM_INDEXER_ALGO_SIMT && i > 0) || !algo_ok(algo)) continue;
            prefill_arg arg;
            seam_indexer_logits_ragged_params p = SEAM_INDEXER_LOGITS_RAGGED_PARAMS_INITIALIZER;
            p.rows = T, p.heads = HEADS, p.keys = C, p.stride = C;
            p.q = q, p.weights = w, p.k = k, p.k_scales = ks, p.row_starts = starts, p.lengths = lens;
            p.logits = logits, p.algo = algo;
            arg.p = p;
            double ms = time_median(prefill_call, &arg, algo == SEAM_INDEXER_ALGO_SIMT ? 3 : 10);
            double tflops = flop / (ms * 1e-3) / 1e12;
            const char *name = algo_str(algo);
            printf("%-6s %6d %6d %10.3f %10.3f %9.1f %8.2f\n", name, T, C, ms, floor_ms, tflops, ms / floor_ms);
            json_record("\"section\": \"prefill\", \"algo\": \"%s\", \"tokens\": %d, \"context\": %d, "
                        "\"ms\": %.4f, \"floor_ms\": %.4f, \"tflops\": %.1f, \"x_floor\": %.3f",
                        name, T, C, ms, floor_ms, tflops, ms / floor_ms);
        }
        free(hs), free(hl);
        CK(cudaFree(q)); CK(cudaFree(k)); CK(cudaFree(w)); CK(cudaFree(ks)); CK(cudaFree(logits));
        CK(cudaFree(starts)); CK(cudaFree(lens));
    }
    printf("\n");
}

/* ---- paged: decode, NextN, prefill over the cache --------------------------------------- */

/* R page tables over distinct pages of one pool, so consecutive calls read different memory. */
typedef struct paged_pool {
    int B, L, page_size, pages_per_req, tables;
    void *cache;
    float *scales;
    int64_t num_pages;
    int32_t *table;     /* [tables][B][pages_per_req] */
    int32_t *table_rep; /* expanded: [tables][B * next_n][pages_per_req] */
} paged_pool;

static paged_pool make_pool(int B, int L, int page_size, int next_n) {
    paged_pool pp;
    memset(&pp, 0, sizeof pp);
    pp.B = B, pp.L = L, pp.page_size = page_size;
    pp.pages_per_req = (L + page_size - 1) / page_size;
    size_t ws = (size_t)B * pp.pages_per_req * page_size * (DIM + 4);
    size_t min_pool = (size_t)256 << 20;
    pp.tables = (int)((min_pool + ws - 1) / ws) + 1;
    if (pp.tables < 2) pp.tables = 2;
    pp.num_pages = (int64_t)pp.tables * B * pp.pages_per_req;
    size_t slots = (size_t)pp.num_pages * page_size;
    pp.cache = dalloc(slots * DIM);
    pp.scales = dalloc(slots * 4);
    fill_bytes(pp.cache, slots * DIM, 5);
    fill_scales(pp.scales, slots);
    size_t per = (size_t)B * pp.pages_per_req, n = (size_t)pp.tables * per;
    int32_t *h = malloc(n * 4);
    /* every table maps its requests to its own consecutive run of pages */
    for (size_t i = 0; i < n; i++) h[i] = (int32_t)i;
    pp.table = dalloc(n * 4);
    CK(cudaMemcpy(pp.table, h, n * 4, cudaMemcpyHostToDevice));
    if (next_n > 1) {
        size_t rn = (size_t)pp.tables * B * next_n * pp.pages_per_req;
        int32_t *r = malloc(rn * 4);
        for (int t = 0; t < pp.tables; t++)
            for (int b = 0; b < B; b++)
                for (int j = 0; j < next_n; j++)
                    memcpy(r + (((size_t)t * B + b) * next_n + j) * pp.pages_per_req,
                           h + ((size_t)t * B + b) * pp.pages_per_req, (size_t)pp.pages_per_req * 4);
        pp.table_rep = dalloc(rn * 4);
        CK(cudaMemcpy(pp.table_rep, r, rn * 4, cudaMemcpyHostToDevice));
        free(r);
    }
    free(h);
    return pp;
}

static void free_pool(paged_pool *pp) {
    CK(cudaFree(pp->cache)); CK(cudaFree(pp->scales)); CK(cudaFree(pp->table));
    if (pp->table_rep) CK(cudaFree(pp->table_rep));
}

typedef struct paged_arg {
    seam_indexer_logits_paged_params p;
    const paged_pool *pool;
    int rows_per_table; /* table rows per rotation step */
    const int32_t *table;
} paged_arg;

static void paged_call(void *a, int rep) {
    paged_arg *pa = a;
    seam_indexer_logits_paged_params p = pa->p;
    p.block_table = pa->table + (size_t)(rep % pa->pool->tables) * pa->rows_per_table * pa->pool->pages_per_req;
    SK(seam_indexer_logits_paged(&p, (seam_stream)stream));
}

/* Times the paged logits for B requests x L keys with next_n queries each; expanded = 1 runs
 * B * next_n groups of one query over the repeated table. Returns the median ms. */
static double time_paged(paged_pool *pp, int next_n, int expanded, void *q, float *w, int32_t *lens,
                         float *logits, seam_indexer_algo algo, const int32_t *cu, const int32_t *num_req) {
    paged_arg arg;
    seam_indexer_logits_paged_params p = SEAM_INDEXER_LOGITS_PAGED_PARAMS_INITIALIZER;
    p.groups = expanded || cu ? pp->B * next_n : pp->B;
    p.next_n = expanded || cu ? 1 : next_n;
    if (cu) { /* request-grouped: B requests of next_n rows, the plain table */
        p.cu_seqlens_q = cu;
        p.num_requests_device = num_req;
        p.max_requests = pp->B;
    }
    p.heads = HEADS, p.stride = pp->L;
    p.q = q, p.weights = w, p.k_cache = pp->cache, p.k_scales = pp->scales;
    p.num_pages = pp->num_pages, p.page_size = pp->page_size;
    p.table_stride = pp->pages_per_req;
    p.context_lens = lens, p.context_lens_stride = expanded || cu ? 1 : next_n;
    p.logits = logits, p.algo = algo;
    arg.p = p;
    arg.pool = pp;
    arg.rows_per_table = expanded ? pp->B * next_n : pp->B;
    arg.table = expanded ? pp->table_rep : pp->table;
    return time_median(paged_call, &arg, 20);
}

static void paged_buffers(int B, int L, int next_n, void **q, float **w, int32_t **lens, float **logits) {
    int rows = B * next_n;
    *q = dalloc((size_t)rows * HEADS * DIM);
    *w = dalloc((size_t)rows * HEADS * 4);
    *logits = dalloc((size_t)rows * L * 4);
    *lens = dalloc((size_t)rows * 4);
    fill_bytes(*q, (size_t)rows * HEADS * DIM, 6);
    CK(bench_fill(*w, (size_t)rows * HEADS, 0, 7, stream));
    int32_t *h = malloc((size_t)rows * 4);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < next_n; j++) h[b * next_n + j] = L - next_n + j + 1;
    CK(cudaMemcpy(*lens, h, (size_t)rows * 4, cudaMemcpyHostToDevice));
    free(h);
}

static void bench_decode(int quick) {
    static const int batches[] = {1, 8, 32, 64}, ctxs[] = {4096, 32768, 131072};
    printf("decode logits (paged, 64 heads): floor = B*L*(128+4) cache bytes at %.0f GB/s\n", read_bw / 1e9);
    printf("%-6s %4s %4s %7s %10s %10s %8s %9s\n", "algo", "page", "B", "L", "ms", "floor ms", "x floor", "GB/s");
    for (int pi = 0; pi < 2; pi++) {
        int ps = pi ? 1 : 64;
        for (int bi = 0; bi < 4; bi++) {
            for (int ci = 0; ci < 3; ci++) {
                int B = batches[bi], L = ctxs[ci];
                if (quick && (bi % 2 || ci == 1)) continue;
                if (ps == 1 && !(bi == 3 || (bi == 0 && ci == 2))) continue; /* page 1: a few */
                paged_pool pp = make_pool(B, L, ps, 1);
                void *q;
                float *w, *logits;
                int32_t *lens;
                paged_buffers(B, L, 1, &q, &w, &lens, &logits);
                CK(cudaDeviceSynchronize());
                double bytes = (double)B * L * (DIM + 4), floor_ms = bytes / read_bw * 1e3;
                for (int a = 0; a < 3; a++) {
                    seam_indexer_algo algo = a < 2 ? tc_algos[a] : SEAM_INDEXER_ALGO_SIMT;
                    if (a == 2 && !(B == 8 && L == 32768 && ps == 64)) continue; /* SIMT: one shape */
                    if (!algo_ok(algo)) continue;
                    double ms = time_paged(&pp, 1, 0, q, w, lens, logits, algo, NULL, NULL);
                    const char *name = algo_str(algo);
                    printf("%-6s %4d %4d %7d %10.4f %10.4f %8.2f %9.0f\n", name, ps, B, L, ms, floor_ms,
                           ms / floor_ms, bytes / (ms * 1e-3) / 1e9);
                    json_record("\"section\": \"decode\", \"algo\": \"%s\", \"page_size\": %d, \"batch\": %d, "
                                "\"context\": %d, \"ms\": %.5f, \"floor_ms\": %.5f, \"x_floor\": %.3f",
                                name, ps, B, L, ms, floor_ms, ms / floor_ms);
                }
                CK(cudaFree(q)); CK(cudaFree(w)); CK(cudaFree(lens)); CK(cudaFree(logits));
                free_pool(&pp);
            }
        }
    }
    printf("\n");
}

/* Prefill over the paged cache (request-grouped rows, as k_cache_and_topk runs an extend
 * batch): one request, T new tokens at the end of C keys, page 64; vs the compute floor. */
static void bench_prefill_paged(int quick) {
    static const int shapes[][2] = {{4096, 4096}, {8192, 8192}, {8192, 32768}};
    printf("prefill logits over the paged cache (request-grouped, page 64)\n");
    printf("%-6s %6s %6s %10s %10s %9s %8s\n", "algo", "T", "C", "ms", "floor ms", "TFLOP/s", "x floor");
    for (int i = 0; i < (quick ? 1 : 3); i++) {
        int T = shapes[i][0], C = shapes[i][1];
        paged_pool pp = make_pool(1, C, 64, 1);
        void *q = dalloc((size_t)T * HEADS * DIM);
        float *w = dalloc((size_t)T * HEADS * 4), *logits = dalloc((size_t)T * C * 4);
        int32_t *lens = dalloc((size_t)T * 4), *cu = dalloc(8), *nreq = dalloc(4);
        int32_t *hl = malloc((size_t)T * 4), hcu[2] = {0, T}, one = 1;
        double keys = 0;
        for (int t = 0; t < T; t++) keys += hl[t] = C - T + t + 1;
        CK(cudaMemcpy(lens, hl, (size_t)T * 4, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(cu, hcu, 8, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(nreq, &one, 4, cudaMemcpyHostToDevice));
        fill_bytes(q, (size_t)T * HEADS * DIM, 8);
        CK(bench_fill(w, (size_t)T * HEADS, 0, 9, stream));
        CK(cudaDeviceSynchronize());
        paged_arg arg;
        seam_indexer_logits_paged_params p = SEAM_INDEXER_LOGITS_PAGED_PARAMS_INITIALIZER;
        p.groups = T, p.next_n = 1, p.heads = HEADS, p.stride = C;
        p.q = q, p.weights = w, p.k_cache = pp.cache, p.k_scales = pp.scales;
        p.num_pages = pp.num_pages, p.page_size = 64, p.table_stride = pp.pages_per_req;
        p.context_lens = lens, p.context_lens_stride = 1;
        p.cu_seqlens_q = cu, p.num_requests_device = nreq, p.max_requests = 1;
        p.logits = logits;
        for (int a = 0; a < 2; a++) {
            if (!algo_ok(tc_algos[a])) continue;
            p.algo = tc_algos[a];
            arg.p = p, arg.pool = &pp, arg.rows_per_table = 1, arg.table = pp.table;
            double ms = time_median(paged_call, &arg, 10);
            double flop = 2.0 * HEADS * DIM * keys, floor_ms = flop / (FP8_PEAK_TFLOPS * 1e12) * 1e3;
            printf("%-6s %6d %6d %10.3f %10.3f %9.1f %8.2f\n", algo_str(tc_algos[a]), T, C, ms, floor_ms,
                   flop / (ms * 1e-3) / 1e12, ms / floor_ms);
            json_record("\"section\": \"prefill_paged\", \"algo\": \"%s\", \"tokens\": %d, \"context\": %d, "
                        "\"ms\": %.4f, \"floor_ms\": %.4f, \"x_floor\": %.3f",
                        algo_str(tc_algos[a]), T, C, ms, floor_ms, ms / floor_ms);
        }
        free(hl);
        CK(cudaFree(q)); CK(cudaFree(w)); CK(cudaFree(logits)); CK(cudaFree(lens)); CK(cudaFree(cu));
        CK(cudaFree(nreq));
        free_pool(&pp);
    }
    printf("\n");
}

static void bench_nextn(int quick) {
    static const int batches[] = {1, 8, 32, 64}, ctxs[] = {8192, 32768};
    printf("NextN target-verify logits (page 64): native [B, next_n] vs expanded [B*next_n] (table repeated)\n");
    printf("(grouped: the flat [B*next_n] layout with cu_seqlens_q, as k_cache_and_topk runs it)\n");
    printf("%-6s %6s %4s %6s %12s %12s %12s %8s %10s\n", "algo", "next_n", "B", "L", "native ms", "expanded ms",
           "grouped ms", "speedup", "nat x floor");
    for (int next_n = 2; next_n <= 4; next_n += 2) {
        for (int bi = 0; bi < 4; bi++) {
            for (int ci = 0; ci < 2; ci++) {
                int B = batches[bi], L = ctxs[ci];
                if (quick && bi % 2) continue;
                paged_pool pp = make_pool(B, L, 64, next_n);
                void *q;
                float *w, *logits;
                int32_t *lens;
                paged_buffers(B, L, next_n, &q, &w, &lens, &logits);
                CK(cudaDeviceSynchronize());
                int32_t *hcu = malloc((size_t)(B + 1) * 4), *cu = dalloc((size_t)(B + 1) * 4), *nreq = dalloc(4);
                for (int b = 0; b <= B; b++) hcu[b] = b * next_n;
                CK(cudaMemcpy(cu, hcu, (size_t)(B + 1) * 4, cudaMemcpyHostToDevice));
                CK(cudaMemcpy(nreq, &B, 4, cudaMemcpyHostToDevice));
                for (int a = 0; a < 2; a++) {
                    seam_indexer_algo algo = tc_algos[a];
                    if (!algo_ok(algo)) continue;
                    double nat = time_paged(&pp, next_n, 0, q, w, lens, logits, algo, NULL, NULL);
                    double exp = time_paged(&pp, next_n, 1, q, w, lens, logits, algo, NULL, NULL);
                    double grp = time_paged(&pp, next_n, 0, q, w, lens, logits, algo, cu, nreq);
                    double floor_ms = (double)B * L * (DIM + 4) / read_bw * 1e3;
                    printf("%-6s %6d %4d %6d %12.4f %12.4f %12.4f %8.2f %10.2f\n", algo_str(algo), next_n, B, L,
                           nat, exp, grp, exp / nat, nat / floor_ms);
                    json_record("\"section\": \"nextn\", \"algo\": \"%s\", \"next_n\": %d, \"batch\": %d, "
                                "\"context\": %d, \"native_ms\": %.5f, \"expanded_ms\": %.5f, "
                                "\"grouped_ms\": %.5f, \"speedup\": %.3f, \"floor_ms\": %.5f",
                                algo_str(algo), next_n, B, L, nat, exp, grp, exp / nat, floor_ms);
                }
                free(hcu);
                CK(cudaFree(cu));
                CK(cudaFree(nreq));
                CK(cudaFree(q)); CK(cudaFree(w)); CK(cudaFree(lens)); CK(cudaFree(logits));
                free_pool(&pp);
            }
        }
    }
    printf("\n");
}

int main(int argc, char **argv) {
    int quick = 0;
    const char *json_path = NULL, *only = NULL; /* only: one section (e.g. to profile it) */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) json_path = argv[++i];
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--quick] [--json PATH] [--only prefill|paged|decode|nextn]\n", argv[0]);
            return 2;
        }
    }
    if (only && strcmp(only, "prefill") && strcmp(only, "paged") && strcmp(only, "decode") &&
        strcmp(only, "nextn")) {
        fprintf(stderr, "%s: --only %s: expected prefill, paged, decode or nextn\n", argv[0], only);
        return 2;
    }
#define SECTION(name) (!only || !strcmp(only, name))
    int count = 0;
    if (seam_device_count(&count) != SEAM_OK || count == 0) {
        printf("seam-bench-indexer: no GPU (%s); nothing to measure\n", seam_last_error());
        return 0;
    }
    seam_device_info info;
    SK(seam_device_get_info(0, &info));
    printf("device: %s (%d SMs)\n", info.name, info.multiprocessors);
    CK(cudaSetDevice(0));
    CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    if (json_path) {
        json = fopen(json_path, "w");
        if (!json) {
            perror(json_path);
            return 1;
        }
        fprintf(json, "{\"device\": \"%s\", \"results\": [", info.name);
    }
    measure_read_bw();
    if (SECTION("prefill")) bench_prefill(quick);
    if (SECTION("paged")) bench_prefill_paged(quick);
    if (SECTION("decode")) bench_decode(quick);
    if (SECTION("nextn")) bench_nextn(quick);
    if (json) {
        fprintf(json, "\n]}\n");
        fclose(json);
    }
    CK(cudaStreamDestroy(stream));
    return 0;
}
