/* seam-bench-broadcast: what the rank-0 top-k broadcast and the determinism digest cost per
 * layer, as a fraction of a layer's time.
 *
 *   seam-launch -n 2 seam-bench-broadcast [--layer-us 1:150,64:250,512:1000,4096:6000]
 *       [--iters 200] [--link-gbs 450] [--json FILE] [--nccl-single]
 *
 * For tokens {1, 64, 512, 4096} it broadcasts the top-k output (tokens x 2048 int32) from
 * rank 0 and measures, on rank 0 (every rank measures; rank 0 prints):
 *   eager      host wall time of seam_comm_broadcast + seam_comm_wait (the split-op path:
 *              enqueue, then wait with dead-peer detection)
 *   gpu        GPU time of one eager broadcast (cudaEvents around it)
 *   graph      GPU time per broadcast inside a CUDA graph (10 captured broadcasts replayed,
 *              divided by 10: the graph-safe path, no launch or host cost)
 *   digest     GPU time of seam_topk_digest on the layer's top-k (recorded every layer)
 *   check      host wall time of seam_comm_check_digest over 61 layers (once per forward,
 *              or as often as the engine checks)
 * Medians after warm-up; a tiny broadcast lines the ranks up before each timed sample, so the
 * numbers exclude waiting for a late rank. The fractions divide by the layer time given with
 * --layer-us (tokens:microseconds); without it the defaults above are ASSUMED numbers for a
 * DSA model layer at TP2 on H100/H200, to be replaced by the demo model's measured times.
 * floor = bytes / --link-gbs (default 450 GB/s, one direction of NVLink 4).
 *
 * One rank (seam-bench-broadcast alone, or seam-launch -n 1) measures the no-op path of a
 * world of one; --nccl-single makes it a 1-rank NCCL communicator instead (NCCL's own cost). */
#include <cuda_runtime_api.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seam.h"

#define NUM_TOKENS 4
#define K 2048
#define GRAPH_BCASTS 10
#define DIGEST_LAYERS 61

static const int token_counts[NUM_TOKENS] = {1, 64, 512, 4096};

static int rank, size;

#define CHECK_SEAM(expr)                                                                     \
    do {                                                                                     \
        seam_status s_ = (expr);                                                             \
        if (s_ != SEAM_OK) {                                                                 \
            fprintf(stderr, "rank %d: %s failed: %s: %s\n", rank, #expr, seam_status_string(s_), \
                    seam_last_error());                                                      \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

#define CHECK_CUDA(expr)                                                                     \
    do {                                                                                     \
        cudaError_t e_ = (expr);                                                             \
        if (e_ != cudaSuccess) {                                                             \
            fprintf(stderr, "rank %d: %s failed: %s\n", rank, #expr, cudaGetErrorString(e_)); \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct result {
    int tokens;
    double bytes, eager_us, gpu_us, graph_us, digest_us, check_us, layer_us, floor_us;
} result;

/* Lines the ranks up: a 4-byte broadcast and a wait. */
static void align(seam_comm *comm, int32_t *tiny, cudaStream_t s) {
    CHECK_SEAM(seam_comm_broadcast(comm, tiny, 1, SEAM_DTYPE_I32, 0, (seam_stream)s));
    CHECK_SEAM(seam_comm_wait(comm, (seam_stream)s));
}

static int parse_layer_us(const char *text, double *layer_us) {
    const char *p = text;
    while (*p) {
        char *end;
        long t = strtol(p, &end, 10);
        if (end == p || *end != ':') return 0;
        p = end + 1;
        double us = strtod(p, &end);
        if (end == p || us <= 0) return 0;
        int found = 0;
        for (int i = 0; i < NUM_TOKENS; i++)
            if (token_counts[i] == t) layer_us[i] = us, found = 1;
        if (!found) return 0;
        p = end;
        if (*p == ',') p++;
        else if (*p) return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    double layer_us[NUM_TOKENS] = {150, 250, 1000, 6000}; /* ASSUMED: see the header */
    int layer_us_given = 0, iters = 200, nccl_single = 0;
    double link_gbs = 450;
    const char *json_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--layer-us") == 0 && i + 1 < argc) {
            if (!parse_layer_us(argv[++i], layer_us)) {
                fprintf(stderr, "--layer-us %s: expected tokens:us pairs for tokens 1, 64, 512, "
                                "4096, e.g. 1:150,64:250\n", argv[i]);
                return 2;
            }
            layer_us_given = 1;
        } else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc) {
            iters = atoi(argv[++i]);
            if (iters < 5) iters = 5;
        } else if (strcmp(argv[i], "--link-gbs") == 0 && i + 1 < argc) {
            link_gbs = atof(argv[++i]);
            if (link_gbs <= 0) link_gbs = 450;
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            json_path = argv[++i];
        } else if (strcmp(argv[i], "--nccl-single") == 0) {
            nccl_single = 1;
        } else {
            fprintf(stderr, "usage: seam-bench-broadcast [--layer-us T:US,...] [--iters N] "
                            "[--link-gbs GBS] [--json FILE] [--nccl-single]\n");
            return 2;
        }
    }

    seam_comm_config cfg = SEAM_COMM_CONFIG_INITIALIZER;
    cfg.wait_eager = 0; /* the eager measurement waits explicitly */
    cfg.timeout_ms = 120000;
    cfg.nccl_single_rank = nccl_single;
    seam_comm *comm = NULL;
    seam_status s = seam_comm_init_launched(&comm, &cfg);
    if (s == SEAM_ERR_NOT_FOUND) { /* run alone: one rank on device 0 */
        seam_comm_id id;
        if (nccl_single) CHECK_SEAM(seam_comm_unique_id(&id));
        CHECK_SEAM(seam_comm_init_rank_config(&comm, 1, nccl_single ? &id : NULL, 0, 0, &cfg));
    } else {
        CHECK_SEAM(s);
    }
    int device;
    void *handle;
    CHECK_SEAM(seam_comm_rank(comm, &rank));
    CHECK_SEAM(seam_comm_size(comm, &size));
    CHECK_SEAM(seam_comm_device(comm, &device));
    CHECK_SEAM(seam_comm_nccl_handle(comm, &handle));
    int gpus = 0;
    if (seam_device_count(&gpus) != SEAM_OK || gpus == 0) {
        fprintf(stderr, "seam-bench-broadcast: no GPU: %s\n", seam_last_error());
        return 77;
    }
    CHECK_CUDA(cudaSetDevice(device));
    seam_device_info info;
    CHECK_SEAM(seam_device_get_info(device, &info));
    int nccl_version = 0;
    if (handle) CHECK_SEAM(seam_comm_nccl_version(&nccl_version));

    cudaStream_t stream;
    CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    cudaEvent_t ev0, ev1;
    CHECK_CUDA(cudaEventCreate(&ev0));
    CHECK_CUDA(cudaEventCreate(&ev1));
    int32_t *tiny;
    CHECK_CUDA(cudaMalloc((void **)&tiny, sizeof(int32_t)));
    CHECK_CUDA(cudaMemset(tiny, 0, sizeof(int32_t)));
    double *samples = malloc((size_t)iters * sizeof *samples);
    result res[NUM_TOKENS];

    for (int ti = 0; ti < NUM_TOKENS; ti++) {
        const int tokens = token_counts[ti];
        const size_t n = (size_t)tokens * K;
        result *r = &res[ti];
        memset(r, 0, sizeof *r);
        r->tokens = tokens;
        r->bytes = (double)n * sizeof(int32_t);
        r->layer_us = layer_us[ti];
        r->floor_us = size > 1 ? r->bytes / (link_gbs * 1e3) : 0;
        int32_t *buf;
        CHECK_CUDA(cudaMalloc((void **)&buf, n * sizeof *buf));
        CHECK_CUDA(cudaMemset(buf, rank == 0 ? 1 : 0, n * sizeof *buf));
        seam_stream ss = (seam_stream)stream;

        /* eager: enqueue + wait, host wall time */
        for (int i = 0; i < 10; i++) {
            CHECK_SEAM(seam_comm_broadcast(comm, buf, n, SEAM_DTYPE_I32, 0, ss));
            CHECK_SEAM(seam_comm_wait(comm, ss));
        }
        for (int i = 0; i < iters; i++) {
            align(comm, tiny, stream);
            double t0 = now_us();
            CHECK_SEAM(seam_comm_broadcast(comm, buf, n, SEAM_DTYPE_I32, 0, ss));
            CHECK_SEAM(seam_comm_wait(comm, ss));
            samples[i] = now_us() - t0;
        }
        r->eager_us = median(samples, iters);

        /* gpu: one eager broadcast between events */
        for (int i = 0; i < iters; i++) {
            align(comm, tiny, stream);
            CHECK_CUDA(cudaEventRecord(ev0, stream));
            CHECK_SEAM(seam_comm_broadcast(comm, buf, n, SEAM_DTYPE_I32, 0, ss));
            CHECK_CUDA(cudaEventRecord(ev1, stream));
            CHECK_SEAM(seam_comm_wait(comm, ss));
            CHECK_CUDA(cudaEventSynchronize(ev1)); /* a world of one has nothing to wait on */
            float ms;
            CHECK_CUDA(cudaEventElapsedTime(&ms, ev0, ev1));
            samples[i] = (double)ms * 1e3;
        }
        r->gpu_us = median(samples, iters);

        /* graph: GRAPH_BCASTS captured broadcasts per replay */
        cudaGraph_t graph;
        cudaGraphExec_t exec;
        CHECK_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
        for (int b = 0; b < GRAPH_BCASTS; b++)
            CHECK_SEAM(seam_comm_broadcast(comm, buf, n, SEAM_DTYPE_I32, 0, ss));
        CHECK_CUDA(cudaStreamEndCapture(stream, &graph));
        CHECK_CUDA(cudaGraphInstantiate(&exec, graph, 0));
        for (int i = 0; i < 5; i++) CHECK_CUDA(cudaGraphLaunch(exec, stream));
        CHECK_SEAM(seam_comm_wait(comm, ss));
        for (int i = 0; i < iters; i++) {
            align(comm, tiny, stream);
            CHECK_CUDA(cudaEventRecord(ev0, stream));
            CHECK_CUDA(cudaGraphLaunch(exec, stream));
            CHECK_CUDA(cudaEventRecord(ev1, stream));
            CHECK_SEAM(seam_comm_wait(comm, ss));
            CHECK_CUDA(cudaEventSynchronize(ev1)); /* a world of one has nothing to wait on */
            float ms;
            CHECK_CUDA(cudaEventElapsedTime(&ms, ev0, ev1));
            samples[i] = (double)ms * 1e3 / GRAPH_BCASTS;
        }
        r->graph_us = median(samples, iters);
        CHECK_CUDA(cudaGraphExecDestroy(exec));
        CHECK_CUDA(cudaGraphDestroy(graph));

        /* digest: record one layer (GPU time), check 61 layers (host wall time) */
        seam_digest *dig;
        CHECK_SEAM(seam_digest_create(&dig, DIGEST_LAYERS, tokens, device));
        for (int i = 0; i < 10; i++)
            CHECK_SEAM(seam_topk_digest(dig, i % DIGEST_LAYERS, buf, tokens, K, NULL, ss));
        for (int i = 0; i < iters; i++) {
            CHECK_CUDA(cudaEventRecord(ev0, stream));
            CHECK_SEAM(seam_topk_digest(dig, i % DIGEST_LAYERS, buf, tokens, K, NULL, ss));
            CHECK_CUDA(cudaEventRecord(ev1, stream));
            CHECK_CUDA(cudaEventSynchronize(ev1));
            float ms;
            CHECK_CUDA(cudaEventElapsedTime(&ms, ev0, ev1));
            samples[i] = (double)ms * 1e3;
        }
        r->digest_us = median(samples, iters);
        for (int l = 0; l < DIGEST_LAYERS; l++)
            CHECK_SEAM(seam_topk_digest(dig, l, buf, tokens, K, NULL, ss));
        int check_iters = iters < 50 ? iters : 50;
        seam_digest_mismatch m;
        CHECK_SEAM(seam_comm_check_digest(comm, dig, ss, &m)); /* warm-up: scratch allocation */
        for (int i = 0; i < check_iters; i++) {
            align(comm, tiny, stream);
            double t0 = now_us();
            CHECK_SEAM(seam_comm_check_digest(comm, dig, ss, &m));
            samples[i] = now_us() - t0;
        }
        r->check_us = median(samples, check_iters);
        if (m.layer >= 0 && rank == 0)
            fprintf(stderr, "note: ranks disagree (broadcast data is identical, so this is a "
                            "bug): %s\n", seam_last_error());
        CHECK_SEAM(seam_digest_destroy(dig));
        CHECK_CUDA(cudaFree(buf));
    }

    if (rank == 0) {
        time_t now = time(NULL);
        char date[32];
        strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
        printf("seam-bench-broadcast: %d rank(s), %s, NCCL %d, %s; top-k %d x int32 per token; "
               "layer time %s\n", size, info.name, nccl_version,
               handle ? "NCCL communicator" : "world of one (no-op broadcast)", K,
               layer_us_given ? "given" : "ASSUMED (pass --layer-us with the demo's numbers)");
        printf("%7s %9s %9s %9s %9s %9s %9s %9s %9s %8s %8s %8s\n", "tokens", "MiB", "eager_us",
               "gpu_us", "graph_us", "floor_us", "digest_us", "check_us", "layer_us", "eager%",
               "graph%", "digest%");
        for (int ti = 0; ti < NUM_TOKENS; ti++) {
            const result *r = &res[ti];
            printf("%7d %9.3f %9.2f %9.2f %9.2f %9.2f %9.2f %9.1f %9.0f %7.2f%% %7.2f%% %7.2f%%\n",
                   r->tokens, r->bytes / (1 << 20), r->eager_us, r->gpu_us, r->graph_us,
                   r->floor_us, r->digest_us, r->check_us, r->layer_us,
                   100 * r->eager_us / r->layer_us, 100 * r->graph_us / r->layer_us,
                   100 * r->digest_us / r->layer_us);
        }
        FILE *outs[2] = {stdout, json_path ? fopen(json_path, "w") : NULL};
        if (json_path && !outs[1])
            fprintf(stderr, "cannot write %s: %s\n", json_path, strerror(errno));
        for (int o = 0; o < 2; o++) {
            FILE *f = outs[o];
            if (!f) continue;
            fprintf(f, "{\"bench\": \"broadcast\", \"date\": \"%s\", \"device\": \"%s\", "
                       "\"ranks\": %d, \"nccl_version\": %d, \"layer_us_source\": \"%s\", "
                       "\"link_gbs\": %.0f, \"digest_layers\": %d, \"rows\": [",
                    date, info.name, size, nccl_version, layer_us_given ? "given" : "assumed",
                    link_gbs, DIGEST_LAYERS);
            for (int ti = 0; ti < NUM_TOKENS; ti++) {
                const result *r = &res[ti];
                fprintf(f, "%s{\"tokens\": %d, \"bytes\": %.0f, \"eager_us\": %.3f, \"gpu_us\": "
                           "%.3f, \"graph_us\": %.3f, \"floor_us\": %.3f, \"digest_us\": %.3f, "
                           "\"check_us\": %.3f, \"layer_us\": %.1f, \"eager_frac\": %.5f, "
                           "\"graph_frac\": %.5f, \"digest_frac\": %.5f}",
                        ti ? ", " : "", r->tokens, r->bytes, r->eager_us, r->gpu_us, r->graph_us,
                        r->floor_us, r->digest_us, r->check_us, r->layer_us,
                        r->eager_us / r->layer_us, r->graph_us / r->layer_us,
                        r->digest_us / r->layer_us);
            }
            fprintf(f, "]}\n");
            if (o == 1) fclose(f);
        }
    }
    free(samples);
    CHECK_CUDA(cudaFree(tiny));
    CHECK_CUDA(cudaEventDestroy(ev0));
    CHECK_CUDA(cudaEventDestroy(ev1));
    CHECK_CUDA(cudaStreamDestroy(stream));
    CHECK_SEAM(seam_comm_destroy(comm));
    return 0;
}
