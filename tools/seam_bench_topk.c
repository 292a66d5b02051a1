/* seam-bench-topk: times seam_topk on the shapes of issue 4 and reports each against the
 * HBM floor measured in the same run.
 *
 *   seam-bench-topk [--quick] [--json PATH] [--shape ROWSxL[r]]... [--data normal|ties|few]
 *
 * --shape replaces the sweep by the given shapes (suffix r: ragged row starts, as prefill);
 * --data keeps one data kind; both make single cases for profilers (ncu) cheap.
 *
 * Shapes (k = 2048): decode rows {1,4,16,64,256} x L {4K,16K,64K,128K,160K} (every row L
 * long); prefill rows {1024,4096,8192} x L {8K,32K,128K} with ragged row starts (row i
 * reads [start_i, start_i + len_i) of a stride-L row, about 3/4 of it). Data: normal, bf16-
 * rounded normal ("ties": realistic ties) and 16 distinct values ("few": the threshold
 * inside a huge tie, the exact fallback path). Methods: radix, radix deterministic, sort
 * (sort only where rows x L <= 16M).
 *
 * Timing: inputs rotate through a pool of at least 256 MB (5x an H100's L2) so every call
 * reads from HBM; a spin kernel holds the GPU while all timed calls are queued, so event
 * times hold no host launch gaps; the median over the repetitions is reported. The floor is
 * (bytes of valid scores read + bytes of output written) / read bandwidth, the bandwidth
 * measured by a read-only kernel over 1 GB in this run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "seam.h"
#include "tools/bench_util.h"


enum { K = 2048, MAX_REPS = 200 };
static const size_t POOL_BYTES = (size_t)256 << 20;

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static uint32_t mix(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

typedef struct {
    const char *name;
    seam_topk_backend backend;
    int deterministic;
} method;

static const method methods[] = {
    {"radix", SEAM_TOPK_RADIX, 0},
    {"radix-det", SEAM_TOPK_RADIX, 1},
    {"sort", SEAM_TOPK_SORT, 0},
};
enum { NUM_METHODS = sizeof methods / sizeof methods[0] };
static const char *const data_names[] = {"normal", "ties", "few"};

/* Median time in us of `reps` calls, each on the next input slot. */
static float time_calls(seam_topk_params *p, float *pool, size_t slot_elems, int slots, int reps,
                        cudaStream_t stream, cudaEvent_t *ev) {
    float t[MAX_REPS];
    for (int w = 0; w < 3; w++) SK(seam_topk(p, (seam_stream)stream));
    CK(cudaStreamSynchronize(stream));
    /* GPU busy (>= 2 ms, 40 us a call) while the host queues every call. */
    CK(bench_spin(reps * 40000LL > 2000000 ? reps * 40000LL : 2000000, stream));
    for (int r = 0; r < reps; r++) {
        p->scores = pool + (size_t)(r % slots) * slot_elems;
        CK(cudaEventRecord(ev[2 * r], stream));
        SK(seam_topk(p, (seam_stream)stream));
        CK(cudaEventRecord(ev[2 * r + 1], stream));
    }
    CK(cudaStreamSynchronize(stream));
    for (int r = 0; r < reps; r++) CK(cudaEventElapsedTime(&t[r], ev[2 * r], ev[2 * r + 1]));
    qsort(t, (size_t)reps, sizeof t[0], cmp_float);
    p->scores = pool;
    return t[reps / 2] * 1000.0f;
}

static double measure_read_bw(cudaStream_t stream, cudaEvent_t *ev) {
    size_t bytes = (size_t)1 << 30;
    void *buf;
    float *sink;
    CK(cudaMalloc(&buf, bytes));
    CK(cudaMalloc((void **)&sink, sizeof(float)));
    CK(bench_fill((float *)buf, bytes / 4, 0, 7, stream));
    float t[21];
    for (int r = 0; r < 21; r++) {
        CK(cudaEventRecord(ev[0], stream));
        CK(bench_read(buf, bytes, sink, stream));
        CK(cudaEventRecord(ev[1], stream));
        CK(cudaEventSynchronize(ev[1]));
        CK(cudaEventElapsedTime(&t[r], ev[0], ev[1]));
    }
    qsort(t, 21, sizeof t[0], cmp_float);
    CK(cudaFree(buf));
    CK(cudaFree(sink));
    return (double)bytes / (t[10] * 1e-3); /* bytes per second */
}

int main(int argc, char **argv) {
    typedef struct {
        int rows, L, ragged;
    } shape;
    shape shapes[40];
    int nshapes = 0, quick = 0, only_data = -1, only_method = -1;
    const char *json_path = "topk_bench.json";
    for (int i = 1; i < argc; i++) {
        int rows = 0, L = 0, used = 0;
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc && nshapes < 40 &&
                 sscanf(argv[i + 1], "%dx%d%n", &rows, &L, &used) == 2 && rows > 0 && L > 0 &&
                 (argv[i + 1][used] == 0 || !strcmp(argv[i + 1] + used, "r"))) {
            shapes[nshapes++] = (shape){rows, L, argv[i + 1][used] == 'r'};
            i++;
        } else if (!strcmp(argv[i], "--data") && i + 1 < argc) {
            for (int d = 0; d < 3; d++)
                if (!strcmp(argv[i + 1], data_names[d])) only_data = d;
            if (only_data < 0) {
                fprintf(stderr, "--data %s: expected normal, ties or few\n", argv[i + 1]);
                return 2;
            }
            i++;
        } else if (!strcmp(argv[i], "--method") && i + 1 < argc) {
            for (int m = 0; m < NUM_METHODS; m++)
                if (!strcmp(argv[i + 1], methods[m].name)) only_method = m;
            if (only_method < 0) {
                fprintf(stderr, "--method %s: expected radix, radix-det or sort\n", argv[i + 1]);
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "usage: %s [--quick] [--json PATH] [--shape ROWSxL[r]]... "
                            "[--data normal|ties|few] [--method radix|radix-det|sort]\n", argv[0]);
            return 2;
        }
    }
    const int sweep = nshapes == 0;
    seam_device_info info;
    SK(seam_device_get_info(0, &info));
    cudaStream_t stream;
    CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    cudaEvent_t ev[2 * MAX_REPS];
    for (int i = 0; i < 2 * MAX_REPS; i++) CK(cudaEventCreate(&ev[i]));
    double bw = measure_read_bw(stream, ev);
    printf("device: %s (%d SMs, L2 %zu MB), read bandwidth %.0f GB/s\n", info.name,
           info.multiprocessors, info.l2_bytes >> 20, bw / 1e9);

    FILE *js = fopen(json_path, "w");
    if (!js) {
        perror(json_path);
        return 1;
    }
    fprintf(js, "{\n  \"device\": \"%s\",\n  \"sms\": %d,\n  \"read_bw_gbs\": %.1f,\n  \"k\": %d,\n  \"results\": [\n",
            info.name, info.multiprocessors, bw / 1e9, K);
    int first = 1, mismatches = 0;

    const int decode_rows[] = {1, 4, 16, 64, 256};
    const int decode_l[] = {4096, 16384, 65536, 131072, 163840};
    const int prefill_rows[] = {1024, 4096, 8192};
    const int prefill_l[] = {8192, 32768, 131072};
    for (int r = 0; sweep && r < 5; r++)
        for (int l = 0; l < 5; l++)
            if (!quick || (r % 2 == 0 && l % 2 == 0) || decode_l[l] == 131072)
                shapes[nshapes++] = (shape){decode_rows[r], decode_l[l], 0};
    for (int r = 0; sweep && r < 3; r++)
        for (int l = 0; l < 3; l++)
            if (!quick || (r == 0 || l == 1)) shapes[nshapes++] = (shape){prefill_rows[r], prefill_l[l], 1};

    printf("%-8s %6s %7s %-7s %-10s %10s %10s %7s\n", "kind", "rows", "L", "data", "method",
           "median_us", "floor_us", "x_floor");
    for (int si = 0; si < nshapes; si++) {
        const shape sh = shapes[si];
        const size_t shape_elems = (size_t)sh.rows * sh.L;
        const size_t shape_bytes = shape_elems * 4;
        int slots = (int)(POOL_BYTES / shape_bytes);
        if (slots < 1) slots = 1;
        if (slots > MAX_REPS) slots = MAX_REPS;
        float *pool;
        int32_t *d_len, *d_start, *d_out;
        CK(cudaMalloc((void **)&pool, shape_bytes * (size_t)slots));
        CK(cudaMalloc((void **)&d_len, sizeof(int32_t) * sh.rows));
        CK(cudaMalloc((void **)&d_start, sizeof(int32_t) * sh.rows));
        CK(cudaMalloc((void **)&d_out, sizeof(int32_t) * (size_t)sh.rows * K));
        int32_t *h_len = malloc(sizeof(int32_t) * sh.rows), *h_start = malloc(sizeof(int32_t) * sh.rows);
        double valid = 0;
        for (int r = 0; r < sh.rows; r++) {
            int s = 0, n = sh.L;
            if (sh.ragged) {
                s = (int)(mix((uint32_t)r * 2 + 1) % (uint32_t)(sh.L / 4));
                n = sh.L - s - (int)(mix((uint32_t)r * 2 + 2) % (uint32_t)(sh.L / 4));
            }
            h_start[r] = s;
            h_len[r] = n;
            valid += n;
        }
        CK(cudaMemcpy(d_len, h_len, sizeof(int32_t) * sh.rows, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(d_start, h_start, sizeof(int32_t) * sh.rows, cudaMemcpyHostToDevice));
        const double bytes = valid * 4.0 + (double)sh.rows * K * 4.0;
        const double floor_us = bytes / bw * 1e6;
        /* Fewer repetitions for the big shapes: the sweep stays near two minutes. */
        int reps = shape_bytes >= ((size_t)1 << 30) ? 11 : shape_bytes >= ((size_t)256 << 20) ? 25 : 100;
        if (quick) reps = reps > 25 ? 25 : reps;
        int last_data = 0;
        for (int d = 0; d < 3; d++) {
            if (d == 2 && sh.ragged && quick) continue;
            if (only_data >= 0 && d != only_data) continue;
            last_data = d;
            CK(bench_fill(pool, shape_elems * (size_t)slots, d == 0 ? 0 : d == 1 ? 1 : 2,
                          (uint32_t)(si * 3 + d + 1), stream));
            for (int mi = 0; mi < NUM_METHODS; mi++) {
                const method *m = &methods[mi];
                if (only_method >= 0 && mi != only_method) continue;
                if (m->backend == SEAM_TOPK_SORT && (shape_elems > ((size_t)16 << 20) || d == 2)) continue;
                seam_topk_params p = SEAM_TOPK_PARAMS_INITIALIZER;
                p.rows = sh.rows;
                p.stride = sh.L;
                p.k = K;
                p.scores = pool;
                p.lengths = d_len;
                p.row_starts = sh.ragged ? d_start : NULL;
                p.out = d_out;
                p.backend = m->backend;
                p.deterministic = m->deterministic;
                size_t ws = 0;
                SK(seam_topk_workspace_size(sh.rows, sh.L, K, m->backend, &ws));
                void *d_ws = NULL;
                if (ws) CK(cudaMalloc(&d_ws, ws));
                p.workspace = d_ws;
                p.workspace_bytes = ws;
                int r = m->backend == SEAM_TOPK_SORT ? (reps > 11 ? 11 : reps) : reps;
                float us = time_calls(&p, pool, shape_elems, slots, r, stream, ev);
                if (d_ws) CK(cudaFree(d_ws));
                printf("%-8s %6d %7d %-7s %-10s %10.1f %10.1f %7.2f\n", sh.ragged ? "prefill" : "decode",
                       sh.rows, sh.L, data_names[d], m->name, us, floor_us, us / floor_us);
                fflush(stdout);
                fprintf(js,
                        "%s    {\"kind\": \"%s\", \"rows\": %d, \"L\": %d, \"data\": \"%s\", "
                        "\"method\": \"seam-%s\", \"median_us\": %.2f, \"floor_us\": %.2f, "
                        "\"bytes\": %.0f, \"reps\": %d}",
                        first ? "" : ",\n", sh.ragged ? "prefill" : "decode", sh.rows, sh.L,
                        data_names[d], m->name, us, floor_us, bytes, r);
                first = 0;
            }
        }
        /* Second opinion on the timed data: radix and sort, both deterministic, must agree
         * bit for bit (the last data kind filled is still in the pool). */
        if (shape_elems <= ((size_t)16 << 20)) {
            int32_t *d_ref;
            size_t ws = 0;
            void *d_ws = NULL;
            CK(cudaMalloc((void **)&d_ref, sizeof(int32_t) * (size_t)sh.rows * K));
            SK(seam_topk_workspace_size(sh.rows, sh.L, K, SEAM_TOPK_SORT, &ws));
            CK(cudaMalloc(&d_ws, ws));
            seam_topk_params p = SEAM_TOPK_PARAMS_INITIALIZER;
            p.rows = sh.rows;
            p.stride = sh.L;
            p.k = K;
            p.scores = pool;
            p.lengths = d_len;
            p.row_starts = sh.ragged ? d_start : NULL;
            p.out = d_out;
            p.deterministic = 1;
            SK(seam_topk(&p, (seam_stream)stream));
            p.out = d_ref;
            p.backend = SEAM_TOPK_SORT;
            p.workspace = d_ws;
            p.workspace_bytes = ws;
            SK(seam_topk(&p, (seam_stream)stream));
            CK(cudaStreamSynchronize(stream));
            size_t n = (size_t)sh.rows * K;
            int32_t *a = malloc(n * 4), *b = malloc(n * 4);
            CK(cudaMemcpy(a, d_out, n * 4, cudaMemcpyDeviceToHost));
            CK(cudaMemcpy(b, d_ref, n * 4, cudaMemcpyDeviceToHost));
            size_t bad = 0;
            for (size_t i = 0; i < n; i++) bad += a[i] != b[i];
            printf("  check %dx%d (%s): radix-det vs sort-det: %s (%zu of %zu differ)\n", sh.rows,
                   sh.L, data_names[last_data], bad ? "MISMATCH" : "identical", bad, n);
            mismatches += bad != 0;
            free(a);
            free(b);
            CK(cudaFree(d_ref));
            CK(cudaFree(d_ws));
        }
        free(h_len);
        free(h_start);
        CK(cudaFree(pool));
        CK(cudaFree(d_len));
        CK(cudaFree(d_start));
        CK(cudaFree(d_out));
    }
    fprintf(js, "\n  ]\n}\n");
    fclose(js);
    printf("wrote %s; radix vs sort checks: %d mismatching shapes\n", json_path, mismatches);
    for (int i = 0; i < 2 * MAX_REPS; i++) cudaEventDestroy(ev[i]);
    cudaStreamDestroy(stream);
    return mismatches ? 1 : 0;
}
