/* seam-bench-layers: sparse MLA attention time against the HBM floor.
 *
 * For tokens x heads x topk it times the SIMPLE, MMA (unsplit) and AUTO (split when the
 * grid is small) kernels with CUDA events (median of --iters runs after warm-up). The
 * floor is the bytes that must cross HBM -- the gathered KV rows (tokens x topk x 1152),
 * q, out and the indices -- divided by the read bandwidth measured here with a large
 * device-to-device copy (bytes read + written / time). The cache holds --slots rows
 * (default 400k = 460 MB, far beyond L2) and the index sets rotate so that one run's rows
 * are not in L2 from the previous run. The compute floor is 2 x tokens x heads x topk x
 * (576 + 512) FLOPs at --peak-tflops (dense bf16; 989 for an H100 SXM); x_floor compares
 * with the larger of the two floors. Prints a table, then one JSON object.
 *
 *   seam-bench-layers [--tokens 1,64,512] [--heads 16,128] [--topk 2048] [--iters 50]
 *                     [--slots 400000] [--peak-tflops 989] [--json out.json] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "seam.h"

#define CHECK_CUDA(x)                                                                        \
    do {                                                                                     \
        cudaError_t e_ = (x);                                                                \
        if (e_ != cudaSuccess) {                                                             \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)
#define CHECK_SEAM(x)                                                                        \
    do {                                                                                     \
        seam_status s_ = (x);                                                                \
        if (s_ != SEAM_OK) {                                                                 \
            fprintf(stderr, "%s: %s\n", #x, seam_last_error());                              \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

static int parse_list(const char *s, int *out, int cap) {
    int n = 0;
    while (*s && n < cap) {
        out[n++] = atoi(s);
        const char *c = strchr(s, ',');
        if (!c) break;
        s = c + 1;
    }
    return n;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Read bandwidth in bytes/s: a 1 GiB device copy reads and writes every byte. */
static double measure_bandwidth(void) {
    size_t bytes = (size_t)1 << 30;
    void *a, *b;
    CHECK_CUDA(cudaMalloc(&a, bytes));
    CHECK_CUDA(cudaMalloc(&b, bytes));
    CHECK_CUDA(cudaMemset(a, 1, bytes));
    cudaEvent_t e0, e1;
    CHECK_CUDA(cudaEventCreate(&e0));
    CHECK_CUDA(cudaEventCreate(&e1));
    float t[10];
    for (int i = -2; i < 10; i++) {
        CHECK_CUDA(cudaEventRecord(e0, 0));
        CHECK_CUDA(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, 0));
        CHECK_CUDA(cudaEventRecord(e1, 0));
        CHECK_CUDA(cudaEventSynchronize(e1));
        if (i >= 0) CHECK_CUDA(cudaEventElapsedTime(&t[i], e0, e1));
    }
    qsort(t, 10, sizeof t[0], cmp_float);
    cudaFree(a);
    cudaFree(b);
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    return 2.0 * (double)bytes / (t[5] * 1e-3);
}

static const char *kernel_name(seam_sparse_attention_kernel k) {
    return k == SEAM_SPARSE_ATTENTION_SIMPLE ? "simple" : k == SEAM_SPARSE_ATTENTION_MMA ? "mma" : "auto";
}

int main(int argc, char **argv) {
    int tokens[8] = {1, 64, 512}, heads[8] = {16, 128}, nt = 3, nh = 2;
    int topk = 2048, iters = 50, slots = 400000;
    double peak_tflops = 989.0;
    const char *json_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tokens") && i + 1 < argc) nt = parse_list(argv[++i], tokens, 8);
        else if (!strcmp(argv[i], "--heads") && i + 1 < argc) nh = parse_list(argv[++i], heads, 8);
        else if (!strcmp(argv[i], "--topk") && i + 1 < argc) topk = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--slots") && i + 1 < argc) slots = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
        else if (!strcmp(argv[i], "--peak-tflops") && i + 1 < argc) peak_tflops = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--tokens 1,64,512] [--heads 16,128] [--topk 2048] "
                            "[--iters 50] [--slots 400000] [--peak-tflops 989] [--json out.json]\n",
                    argv[0]);
            return 2;
        }
    }
    if (iters < 1 || topk < 1 || slots < 1 || !(peak_tflops > 0)) {
        fprintf(stderr, "iters, topk, slots and peak-tflops must be positive\n");
        return 2;
    }
    int ndev = 0;
    if (seam_device_count(&ndev) != SEAM_OK || ndev == 0) {
        printf("seam-bench-layers: needs a GPU to run (none found); nothing measured\n");
        return 0;
    }
    seam_device_info info;
    CHECK_SEAM(seam_device_get_info(0, &info));
    CHECK_CUDA(cudaSetDevice(0));
    const double bw = measure_bandwidth();
    printf("device %s, %d SMs, L2 %.0f MB; copy read bandwidth %.0f GB/s\n", info.name,
           info.multiprocessors, info.l2_bytes / 1e6, bw / 1e9);

    const size_t row = SEAM_MLA_QK_DIM * 2;
    void *kv;
    CHECK_CUDA(cudaMalloc(&kv, (size_t)slots * row));
    {   /* random bf16 in about [-1, 1]: 0x3f80 exponent range with a random mantissa and sign */
        size_t n = (size_t)slots * SEAM_MLA_QK_DIM;
        uint16_t *h = malloc(n * 2);
        for (size_t i = 0; i < n; i++) h[i] = (uint16_t)(0x3c00 + (rng() % 0x380) + (rng() & 1 ? 0x8000 : 0));
        CHECK_CUDA(cudaMemcpy(kv, h, n * 2, cudaMemcpyHostToDevice));
        free(h);
    }
    cudaStream_t stream;
    CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    cudaEvent_t e0, e1;
    CHECK_CUDA(cudaEventCreate(&e0));
    CHECK_CUDA(cudaEventCreate(&e1));
    float *times = malloc((size_t)iters * sizeof *times);

    FILE *js = json_path ? fopen(json_path, "w") : NULL;
    char *jbuf = malloc(1 << 16);
    size_t jlen = 0;
    jlen += (size_t)snprintf(jbuf + jlen, (1 << 16) - jlen,
                             "{\"device\": \"%s\", \"read_bw_gbs\": %.1f, \"topk\": %d, \"slots\": %d, "
                             "\"results\": [", info.name, bw / 1e9, topk, slots);
    printf("\n%6s %6s %6s %-7s %10s %9s %9s %7s %9s %7s\n", "tokens", "heads", "topk", "kernel",
           "median_us", "hbm_us", "flop_us", "x_floor", "GB/s", "TFLOPs");
    int first = 1;
    for (int ti = 0; ti < nt; ti++)
        for (int hi = 0; hi < nh; hi++) {
            const int T = tokens[ti], H = heads[hi];
            const size_t gathered = (size_t)T * topk * row;
            int sets = (int)((200u << 20) / (gathered ? gathered : 1)) + 1;
            if (sets > 64) sets = 64;
            const size_t nq = (size_t)T * H * SEAM_MLA_QK_DIM, nidx = (size_t)T * topk;
            void *q, *out;
            int32_t *idx;
            CHECK_CUDA(cudaMalloc(&q, nq * 2));
            CHECK_CUDA(cudaMemset(q, 0x3c, nq * 2)); /* bf16 0x3c3c ~ 0.0115 */
            CHECK_CUDA(cudaMalloc(&out, (size_t)T * H * SEAM_MLA_V_DIM * 2));
            CHECK_CUDA(cudaMalloc((void **)&idx, nidx * sets * 4));
            int32_t *h = malloc(nidx * sets * 4);
            for (size_t i = 0; i < nidx * sets; i++) h[i] = (int32_t)(rng() % (uint64_t)slots);
            CHECK_CUDA(cudaMemcpy(idx, h, nidx * sets * 4, cudaMemcpyHostToDevice));
            free(h);
            size_t ws_bytes = 0;
            CHECK_SEAM(seam_sparse_attention_workspace_size(T, H, topk, &ws_bytes));
            void *ws = NULL;
            if (ws_bytes) CHECK_CUDA(cudaMalloc(&ws, ws_bytes));
            const double bytes = (double)gathered + nq * 2.0 + T * H * SEAM_MLA_V_DIM * 2.0 + nidx * 4.0;
            const double hbm_us = bytes / bw * 1e6;
            const double flops = 2.0 * T * H * (double)topk * (SEAM_MLA_QK_DIM + SEAM_MLA_V_DIM);
            const double flop_us = flops / (peak_tflops * 1e12) * 1e6;
            const double floor_us = hbm_us > flop_us ? hbm_us : flop_us;
            const seam_sparse_attention_kernel kernels[] = {
                SEAM_SPARSE_ATTENTION_SIMPLE, SEAM_SPARSE_ATTENTION_MMA, SEAM_SPARSE_ATTENTION_AUTO};
            for (int k = 0; k < 3; k++) {
                seam_sparse_attention_params p = SEAM_SPARSE_ATTENTION_PARAMS_INITIALIZER;
                p.tokens = T;
                p.heads = H;
                p.topk = topk;
                p.num_slots = slots;
                p.q = q;
                p.kv = kv;
                p.out = out;
                p.scale = 0.0721687836f; /* 1/sqrt(192) */
                p.kernel = kernels[k];
                p.workspace = kernels[k] == SEAM_SPARSE_ATTENTION_AUTO ? ws : NULL;
                p.workspace_bytes = kernels[k] == SEAM_SPARSE_ATTENTION_AUTO ? ws_bytes : 0;
                for (int i = -3; i < iters; i++) {
                    p.indices = idx + (size_t)((i + 3) % sets) * nidx;
                    CHECK_CUDA(cudaEventRecord(e0, stream));
                    CHECK_SEAM(seam_sparse_attention(&p, (seam_stream)stream));
                    CHECK_CUDA(cudaEventRecord(e1, stream));
                    CHECK_CUDA(cudaEventSynchronize(e1));
                    if (i >= 0) CHECK_CUDA(cudaEventElapsedTime(&times[i], e0, e1));
                }
                qsort(times, (size_t)iters, sizeof *times, cmp_float);
                const double us = times[iters / 2] * 1e3;
                printf("%6d %6d %6d %-7s %10.1f %9.1f %9.1f %7.2f %9.0f %7.1f\n", T, H, topk,
                       kernel_name(kernels[k]), us, hbm_us, flop_us, us / floor_us,
                       bytes / us * 1e-3, flops / us * 1e-6);
                jlen += (size_t)snprintf(jbuf + jlen, (1 << 16) - jlen,
                                         "%s\n  {\"tokens\": %d, \"heads\": %d, \"kernel\": \"%s\", "
                                         "\"median_us\": %.2f, \"hbm_floor_us\": %.2f, "
                                         "\"flop_floor_us\": %.2f, \"bytes\": %.0f, \"flops\": %.0f}",
                                         first ? "" : ",", T, H, kernel_name(kernels[k]), us,
                                         hbm_us, flop_us, bytes, flops);
                first = 0;
            }
            cudaFree(q);
            cudaFree(out);
            cudaFree(idx);
            cudaFree(ws);
        }
    jlen += (size_t)snprintf(jbuf + jlen, (1 << 16) - jlen, "\n]}\n");
    printf("\n%s", jbuf);
    if (js) {
        fputs(jbuf, js);
        fclose(js);
    }
    free(jbuf);
    free(times);
    cudaFree(kv);
    cudaStreamDestroy(stream);
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    return 0;
}
