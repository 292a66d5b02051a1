/* seam-demo: the project's main job. A DeepSeek-V3.2-shaped DSA model with random weights
 * (tools/demo_model.h), run the way an engine runs it on seam: one realistic batch, three
 * ways --
 *   eager       piecewise graphs off (SEAM_PIECEWISE=0): every op launched at the real count
 *   piecewise   graphs replayed at the bucket, the indexer's k_cache_and_topk run eagerly
 *               between pieces (the split op)
 *   graph-safe  SEAM_GRAPH_SAFE=1: k_cache_and_topk captured too, one piece per forward
 * -- checks that the three agree (bit for bit with deterministic top-k, the default) and
 * prints latency (median of --iters forwards, CUDA events), speedup, graph launches and split
 * ops per forward, capture time over every bucket, and arena bytes.
 *
 *   seam-demo [--layers N] [--hidden D] [--heads H] [--q-lora R] [--inter I]
 *             [--decode | --next-n 2|4] [--requests R] [--tokens T]
 *             [--prefix-min P] [--prefix-max P] [--iters N] [--warmup N] [--seed S]
 *             [--prefix-fill forward|random] [--topk-any] [--check] [--plan] [--json FILE]
 *
 * Prefill (default): 4 requests, 1000 new tokens in all (not a bucket size: the replay pads
 * to 1024) after cached prefixes of 1K-8K tokens. --decode: 30 requests of 1 token after
 * 4K-16K cached tokens. --next-n N: target-verify, 15 requests of N tokens. Cached prefixes
 * (--prefix-fill): `forward` runs the prefixes through the model first (chunked prefill of
 * up to max_tokens tokens per forward, eager), so the caches hold the model's own keys and
 * latents -- the prefill default; `random` stores random keys through seam's fp8 k-cache
 * store and random latent vectors -- the decode / target-verify default (hundreds of
 * thousands of cached tokens). Either way the indexer scores real data. Without a GPU (or with --plan) it prints the piecewise plan
 * (pieces, split points, buckets, arena) from a host context and exits 0. --check exits 1
 * when the modes disagree, and 77 (skipped) without a GPU, for meson test. Sizes that do not fit the device share weight
 * (and cache) sets between layers round-robin; the output says how many. The eager mode's
 * timed forwards are the profiler range (cudaProfilerStart/Stop; nothing without a
 * profiler), so `ncu --profile-from-start off` sees one mode's forward and none of the
 * setup (tools/gpu-run.sh PROFILE_DEMO). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cuda_profiler_api.h>
#include <cuda_runtime_api.h>

#include "seam.h"
#include "tools/demo_model.h"
#include "tools/demo_ops.h"

#define NUM_MODES 3
static const char *mode_names[NUM_MODES] = {"eager", "piecewise", "graph-safe"};

typedef struct options {
    int layers, hidden, heads, q_lora, inter;
    int decode, next_n, requests, tokens, prefix_min, prefix_max;
    int iters, warmup, topk_any, check, plan_only;
    int fill_forward; /* -1: the path's default */
    uint64_t seed;
    const char *json;
} options;

typedef struct batch_desc {
    seam_forward_mode mode;
    int requests, tokens, next_n;
    int32_t *seq_lens, *extend_lens, *out_cache_loc, *page_table;
    int page_table_stride;
    int max_seq;
    int64_t num_pages;
} batch_desc;

typedef struct mode_result {
    int ran;
    double median_ms, p10_ms, p90_ms, host_ms;
    seam_graph_stats stats;
    seam_graph_dispatch dispatch;
    uint16_t *out; /* [tokens, hidden] bf16 */
    uint8_t *caches; /* per cache set: the new tokens' k cache rows, scales and latent rows */
} mode_result;

/* Bytes per new token of one cache set in mode_result.caches: k (128), scale (4), latent. */
#define CACHE_ROW_BYTES (SEAM_INDEXER_HEAD_DIM + 4 + SEAM_MLA_QK_DIM * 2)

static int fail(const char *what, seam_status s) {
    fprintf(stderr, "seam-demo: %s: %s: %s\n", what, seam_status_string(s), seam_last_error());
    return 1;
}

#define TRY_MAIN(what, expr)                                                                 \
    do {                                                                                     \
        seam_status s_ = (expr);                                                             \
        if (s_ != SEAM_OK) return fail(what, s_);                                            \
    } while (0)

#define CUDA_MAIN(expr)                                                                      \
    do {                                                                                     \
        cudaError_t e_ = (expr);                                                             \
        if (e_ != cudaSuccess) {                                                             \
            fprintf(stderr, "seam-demo: %s: %s\n", #expr, cudaGetErrorString(e_));           \
            return 1;                                                                        \
        }                                                                                    \
    } while (0)

static void usage(void) {
    fprintf(stderr,
            "usage: seam-demo [--layers N] [--hidden D] [--heads H] [--q-lora R] [--inter I]\n"
            "                 [--decode | --next-n 2|4] [--requests R] [--tokens T]\n"
            "                 [--prefix-min P] [--prefix-max P] [--iters N] [--warmup N] [--seed S]\n"
            "                 [--prefix-fill forward|random] [--topk-any] [--check] [--plan] [--json FILE]\n"
            "DeepSeek V3.2 attention shapes: --layers 61 --hidden 7168 --heads 128\n");
}

static int parse(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->layers = 8, o->hidden = 2048, o->heads = 16, o->next_n = 1;
    o->iters = 20, o->warmup = 3, o->seed = 1234, o->fill_forward = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define INT_OPT(name, field)                                                                 \
    if (strcmp(a, name) == 0 && v) {                                                         \
        o->field = atoi(v);                                                                  \
        i++;                                                                                 \
        continue;                                                                            \
    }
        INT_OPT("--layers", layers)
        INT_OPT("--hidden", hidden)
        INT_OPT("--heads", heads)
        INT_OPT("--q-lora", q_lora)
        INT_OPT("--inter", inter)
        INT_OPT("--next-n", next_n)
        INT_OPT("--requests", requests)
        INT_OPT("--tokens", tokens)
        INT_OPT("--prefix-min", prefix_min)
        INT_OPT("--prefix-max", prefix_max)
        INT_OPT("--iters", iters)
        INT_OPT("--warmup", warmup)
#undef INT_OPT
        if (strcmp(a, "--seed") == 0 && v) o->seed = strtoull(v, NULL, 10), i++;
        else if (strcmp(a, "--json") == 0 && v) o->json = v, i++;
        else if (strcmp(a, "--prefix-fill") == 0 && v && strcmp(v, "forward") == 0) o->fill_forward = 1, i++;
        else if (strcmp(a, "--prefix-fill") == 0 && v && strcmp(v, "random") == 0) o->fill_forward = 0, i++;
        else if (strcmp(a, "--decode") == 0) o->decode = 1;
        else if (strcmp(a, "--topk-any") == 0) o->topk_any = 1;
        else if (strcmp(a, "--check") == 0) o->check = 1;
        else if (strcmp(a, "--plan") == 0) o->plan_only = 1;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return 0;
        else {
            fprintf(stderr, "seam-demo: unknown or incomplete option '%s'\n", a);
            return 0;
        }
    }
    if (o->next_n != 1 && o->next_n != 2 && o->next_n != 4) {
        fprintf(stderr, "seam-demo: --next-n must be 2 or 4\n");
        return 0;
    }
    if (o->decode && o->next_n > 1) {
        fprintf(stderr, "seam-demo: --decode and --next-n are separate paths; pick one\n");
        return 0;
    }
    int extend = !o->decode && o->next_n == 1;
    if (!o->requests) o->requests = extend ? 4 : o->decode ? 30 : 15;
    if (!o->tokens) o->tokens = extend ? 1000 : o->requests * o->next_n;
    if (!o->prefix_min) o->prefix_min = extend ? 1024 : 4096;
    if (!o->prefix_max) o->prefix_max = extend ? 8192 : 16384;
    if (o->fill_forward < 0) o->fill_forward = extend;
    if (!o->q_lora) o->q_lora = o->hidden * 3 / 4 / 128 * 128 < 1536 ? o->hidden * 3 / 4 / 128 * 128 : 1536;
    if (o->q_lora < 128) o->q_lora = 128;
    if (!o->inter) o->inter = (int)(((int64_t)o->hidden * 18432 / 7168 + 127) / 128 * 128);
    if (o->check && o->iters > 5) o->iters = 5; /* --check is about agreement, not timing */
    if (o->check && o->warmup > 1) o->warmup = 1;
    if (o->layers < 1 || o->hidden < 64 || o->hidden % 8 || o->heads < 1 || o->inter < 8 || o->inter % 8 ||
        o->requests < 1 || o->tokens < o->requests || o->prefix_min < 0 || o->prefix_max < o->prefix_min ||
        o->iters < 1 || o->warmup < 0 || o->q_lora % 8) {
        fprintf(stderr, "seam-demo: sizes out of range (hidden and inter multiples of 8, tokens >= requests, "
                        "prefix-min <= prefix-max)\n");
        return 0;
    }
    if (!extend && o->tokens != o->requests * o->next_n) {
        fprintf(stderr, "seam-demo: --tokens is requests x next_n (1 for decode) outside prefill\n");
        return 0;
    }
    return 1;
}

/* ---- the batch ---------------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int rng_range(uint64_t *s, int lo, int hi) { /* [lo, hi] */
    return lo + (int)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

static int make_batch(const options *o, batch_desc *b) {
    memset(b, 0, sizeof *b);
    uint64_t rng = o->seed * 31 + 7;
    int R = o->requests;
    b->mode = o->decode ? SEAM_FORWARD_DECODE : o->next_n > 1 ? SEAM_FORWARD_TARGET_VERIFY : SEAM_FORWARD_EXTEND;
    b->requests = R;
    b->tokens = o->tokens;
    b->next_n = o->next_n;
    b->seq_lens = calloc((size_t)R, 4);
    b->extend_lens = calloc((size_t)R, 4);
    b->out_cache_loc = calloc((size_t)o->tokens, 4);
    if (!b->seq_lens || !b->extend_lens || !b->out_cache_loc) return 0;
    /* new tokens: an uneven split of the total (every request >= 1) */
    int left = o->tokens;
    for (int i = 0; i < R; i++) {
        int ext;
        if (b->mode != SEAM_FORWARD_EXTEND) ext = o->tokens / R;
        else if (i == R - 1) ext = left;
        else {
            int fair = left / (R - i), lo = fair / 2 > 1 ? fair / 2 : 1;
            ext = rng_range(&rng, lo, fair + fair / 2 < left - (R - i - 1) ? fair + fair / 2 : left - (R - i - 1));
        }
        left -= ext;
        b->extend_lens[i] = ext;
        b->seq_lens[i] = rng_range(&rng, o->prefix_min, o->prefix_max) + ext;
        if (b->seq_lens[i] > b->max_seq) b->max_seq = b->seq_lens[i];
    }
    /* pages: every request's pages, shuffled over the cache, so page tables are not contiguous */
    int stride = (b->max_seq + DEMO_PAGE_SIZE - 1) / DEMO_PAGE_SIZE;
    int64_t pages = 0;
    for (int i = 0; i < R; i++) pages += (b->seq_lens[i] + DEMO_PAGE_SIZE - 1) / DEMO_PAGE_SIZE;
    pages += R; /* a little slack, as a real cache has */
    int32_t *perm = malloc((size_t)pages * 4);
    b->page_table = calloc((size_t)R * (size_t)stride, 4);
    if (!perm || !b->page_table) return 0;
    for (int64_t p = 0; p < pages; p++) perm[p] = (int32_t)p;
    for (int64_t p = pages - 1; p > 0; p--) {
        int64_t q = (int64_t)(rng_next(&rng) % (uint64_t)(p + 1));
        int32_t t = perm[p];
        perm[p] = perm[q], perm[q] = t;
    }
    int64_t next = 0;
    int t = 0;
    for (int i = 0; i < R; i++) {
        int np = (b->seq_lens[i] + DEMO_PAGE_SIZE - 1) / DEMO_PAGE_SIZE;
        for (int j = 0; j < np; j++) b->page_table[(size_t)i * stride + j] = perm[next++];
        for (int p = b->seq_lens[i] - b->extend_lens[i]; p < b->seq_lens[i]; p++)
            b->out_cache_loc[t++] = b->page_table[(size_t)i * stride + p / DEMO_PAGE_SIZE] * DEMO_PAGE_SIZE +
                                    p % DEMO_PAGE_SIZE;
    }
    free(perm);
    b->page_table_stride = stride;
    b->num_pages = pages;
    return 1;
}

static seam_batch to_seam(const batch_desc *b) {
    seam_batch sb = SEAM_BATCH_INITIALIZER;
    sb.mode = b->mode;
    sb.batch_size = b->requests;
    sb.seq_lens = b->seq_lens;
    sb.extend_lens = b->mode == SEAM_FORWARD_EXTEND ? b->extend_lens : NULL;
    sb.out_cache_loc = b->out_cache_loc;
    sb.page_table = b->page_table;
    sb.page_table_stride = b->page_table_stride;
    sb.next_n = b->next_n;
    return sb;
}

static void free_batch(batch_desc *b) {
    free(b->seq_lens), free(b->extend_lens), free(b->out_cache_loc), free(b->page_table);
}

/* ---- contexts and graphs -------------------------------------------------------------------- */

/* The smallest capture bucket holding `tokens` (the contexts' max_tokens), or tokens itself
 * when it is above every bucket (then every mode runs eagerly; the demo says so). */
static int pick_max_tokens(const seam_config *cfg, int tokens) {
    int sizes[SEAM_MAX_CAPTURE_SIZES], n = 0;
    if (seam_config_capture_sizes(cfg, 1 << 20, sizes, SEAM_MAX_CAPTURE_SIZES, &n) != SEAM_OK) return tokens;
    for (int i = 0; i < n; i++)
        if (sizes[i] >= tokens) return sizes[i];
    return tokens;
}

static void mode_config(seam_config *cfg, int mode, const options *o) {
    cfg->piecewise = mode != 0;
    cfg->graph_safe = mode == 2;
    cfg->topk_deterministic = !o->topk_any;
    cfg->source[SEAM_VAR_PIECEWISE] = cfg->source[SEAM_VAR_GRAPH_SAFE] = SEAM_SOURCE_CODE;
    cfg->source[SEAM_VAR_TOPK_DETERMINISTIC] = SEAM_SOURCE_CODE;
}

/* Workspace for the top-k (rows x max_context logits) and the sparse attention's split
 * path, at every row count a forward may run at (buckets, the real count, prefix chunks). */
static size_t workspace_bytes(const seam_config *cfg, int max_tokens, int tokens, int max_context, int heads) {
    size_t best = 1 << 20;
    int most = tokens > max_tokens ? tokens : max_tokens;
    for (int t = 1; t <= most; t++) {
        size_t a = 0, s = 0;
        seam_topk_workspace_size(t, max_context, DEMO_INDEX_TOPK, cfg->topk_backend, &a);
        seam_sparse_attention_workspace_size(t, heads, DEMO_INDEX_TOPK, &s);
        if (a > best) best = a;
        if (s > best) best = s;
    }
    return best;
}

static seam_context_params context_params(const options *o, const batch_desc *b, const demo_dims *d,
                                          const seam_config *cfg, int device, seam_stream stream) {
    seam_context_params p = SEAM_CONTEXT_PARAMS_INITIALIZER;
    p.device = device;
    p.max_tokens = d->max_tokens;
    p.max_batch = b->requests;
    p.max_context = d->max_context;
    p.num_layers = d->layers;
    p.page_size = DEMO_PAGE_SIZE;
    p.max_next_n = o->next_n;
    p.workspace_bytes = workspace_bytes(cfg, d->max_tokens, b->tokens, d->max_context, d->heads);
    p.stream = stream;
    p.config = cfg;
    return p;
}

/* ---- no GPU: the plan ------------------------------------------------------------------------ */

static int print_plan(const options *o, const batch_desc *b, const demo_dims *d, const seam_config *env,
                      int write_plan, size_t *arena_bytes) {
    for (int mode = 1; mode < NUM_MODES; mode++) {
        seam_config cfg = *env;
        mode_config(&cfg, mode, o);
        seam_context_params p = context_params(o, b, d, &cfg, SEAM_DEVICE_HOST, NULL);
        seam_context *ctx;
        TRY_MAIN("seam_context_create (host)", seam_context_create(&ctx, &p));
        seam_batch sb = to_seam(b);
        TRY_MAIN("seam_context_set_batch", seam_context_set_batch(ctx, &sb));
        seam_registry *reg;
        TRY_MAIN("seam_registry_create", seam_registry_create(&reg));
        TRY_MAIN("registering the demo ops", demo_register_ops(reg, NULL, NULL));
        demo_model m;
        TRY_MAIN("demo_model_create (plan)", demo_model_create(&m, d, d->layers, d->layers, o->seed, 0, NULL));
        seam_program *prog;
        int out_id;
        TRY_MAIN("seam_program_create", seam_program_create(&prog, reg));
        TRY_MAIN("building the model program", demo_model_program(&m, prog, &out_id));
        seam_graph *g;
        TRY_MAIN("seam_graph_build (plan)", seam_graph_build(&g, prog, ctx, NULL));
        seam_graph_stats st = SEAM_GRAPH_STATS_INITIALIZER;
        TRY_MAIN("seam_graph_get_stats", seam_graph_get_stats(g, &st));
        seam_graph_dispatch dp;
        TRY_MAIN("seam_graph_dispatch_of", seam_graph_dispatch_of(g, &dp));
        if (arena_bytes && st.arena_bytes > *arena_bytes) *arena_bytes = st.arena_bytes;
        if (write_plan) {
            printf("\n== plan: %s (graph_safe=%d) ==\n", mode_names[mode], cfg.graph_safe);
            if (mode == 1 && write_plan > 1) seam_graph_write_plan(g, stdout);
            else
                printf("plan: %d steps = %d pieces + %d split ops%s; %d buckets up to %d tokens; arena %.1f MiB%s\n",
                       st.num_steps, st.num_pieces, st.num_split_ops,
                       st.num_split_ops ? " (k_cache_and_topk between pieces)" : "", st.num_buckets, d->max_tokens,
                       (double)st.arena_bytes / (1 << 20), write_plan > 1 ? "" : " (--plan prints every step)");
            if (dp.bucket >= 0)
                printf("this batch: %d tokens -> bucket %d; per forward: %d graph launches + %d eager split ops\n",
                       dp.tokens, dp.padded_tokens, st.num_pieces, st.num_split_ops);
            else
                printf("this batch: %d tokens: above the largest bucket, every op runs eagerly\n", dp.tokens);
        }
        seam_graph_destroy(g);
        seam_program_destroy(prog);
        demo_model_destroy(&m);
        seam_registry_destroy(reg);
        seam_context_destroy(ctx);
    }
    return 0;
}

/* ---- one mode on the GPU ---------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* The cached prefixes through the model: chunked prefill, eager, at most max_tokens new
 * tokens per forward (requests in order, each continuing where its last chunk stopped),
 * with the batch's own page tables, so every prefix key and latent lands in its slot. */
static int prefill_prefixes(seam_context *ctx, seam_graph *g, const batch_desc *b, int max_tokens) {
    int R = b->requests, stride = b->page_table_stride;
    int32_t *done = calloc((size_t)R, 4), *seq = calloc((size_t)R, 4), *ext = calloc((size_t)R, 4);
    int32_t *loc = calloc((size_t)max_tokens, 4), *table = calloc((size_t)R * (size_t)stride, 4);
    if (!done || !seq || !ext || !loc || !table) return fail("host allocation", SEAM_ERR_OUT_OF_MEMORY);
    int chunks = 0;
    double t0 = now_ms();
    for (;;) {
        int n = 0, t = 0;
        for (int i = 0; i < R && t < max_tokens; i++) {
            int prefix = b->seq_lens[i] - b->extend_lens[i], take = prefix - done[i];
            if (take <= 0) continue;
            if (take > max_tokens - t) take = max_tokens - t;
            seq[n] = done[i] + take;
            ext[n] = take;
            memcpy(table + (size_t)n * stride, b->page_table + (size_t)i * stride, (size_t)stride * 4);
            for (int p = done[i]; p < done[i] + take; p++)
                loc[t++] = b->page_table[(size_t)i * stride + p / DEMO_PAGE_SIZE] * DEMO_PAGE_SIZE + p % DEMO_PAGE_SIZE;
            done[i] += take;
            n++;
        }
        if (n == 0) break;
        seam_batch sb = SEAM_BATCH_INITIALIZER;
        sb.mode = SEAM_FORWARD_EXTEND;
        sb.batch_size = n;
        sb.seq_lens = seq;
        sb.extend_lens = ext;
        sb.out_cache_loc = loc;
        sb.page_table = table;
        sb.page_table_stride = stride;
        TRY_MAIN("seam_context_set_batch (prefix)", seam_context_set_batch(ctx, &sb));
        TRY_MAIN("seam_graph_run (prefix)", seam_graph_run(g));
        chunks++;
    }
    TRY_MAIN("seam_context_synchronize", seam_context_synchronize(ctx));
    int64_t total = 0;
    for (int i = 0; i < R; i++) total += done[i];
    printf("prefixes: %lld cached tokens run through the model in %d chunked-prefill forwards (%.0f ms, eager)\n",
           (long long)total, chunks, now_ms() - t0);
    free(done), free(seq), free(ext), free(loc), free(table);
    return 0;
}

/* The new tokens' rows of every cache set (what each layer stored this forward), for
 * locating the first layer where two modes part. */
static int gather_caches(const demo_model *m, const batch_desc *b, const int32_t *slots_device, seam_stream stream,
                         mode_result *r) {
    const size_t n = (size_t)b->tokens, per_set = n * CACHE_ROW_BYTES;
    r->caches = malloc(per_set * (size_t)m->cache_sets);
    void *tmp;
    if (!r->caches) return fail("host allocation", SEAM_ERR_OUT_OF_MEMORY);
    CUDA_MAIN(cudaMalloc(&tmp, per_set));
    for (int c = 0; c < m->cache_sets; c++) {
        uint8_t *k = tmp, *sc = k + n * SEAM_INDEXER_HEAD_DIM, *lat = sc + n * 4;
        TRY_MAIN("gathering k", demo_gather_rows(k, m->caches[c].k_cache, SEAM_INDEXER_HEAD_DIM, slots_device, b->tokens, stream));
        TRY_MAIN("gathering scales", demo_gather_rows(sc, m->caches[c].k_scales, 4, slots_device, b->tokens, stream));
        TRY_MAIN("gathering latents", demo_gather_rows(lat, m->caches[c].latent, SEAM_MLA_QK_DIM * 2, slots_device,
                                                       b->tokens, stream));
        CUDA_MAIN(cudaMemcpyAsync(r->caches + per_set * (size_t)c, tmp, per_set, cudaMemcpyDeviceToHost,
                                  (cudaStream_t)stream));
    }
    CUDA_MAIN(cudaStreamSynchronize((cudaStream_t)stream));
    CUDA_MAIN(cudaFree(tmp));
    return 0;
}

/* Opens or closes the profiler range. A failure only costs the profile, so it is reported
 * and the run goes on. */
static void profiler_range(int start) {
    cudaError_t e = start ? cudaProfilerStart() : cudaProfilerStop();
    if (e != cudaSuccess) {
        fprintf(stderr, "seam-demo: warning: cudaProfiler%s: %s\n", start ? "Start" : "Stop", cudaGetErrorString(e));
        (void)cudaGetLastError(); /* not sticky: clear it so later checks see their own errors */
    }
}

static int run_mode(int mode, const options *o, const batch_desc *b, const demo_dims *d, const seam_config *env,
                    demo_model *m, demo_gemm_state *gemm, const int32_t *slots_device, seam_stream stream,
                    mode_result *r) {
    seam_config cfg = *env;
    mode_config(&cfg, mode, o);
    seam_context_params p = context_params(o, b, d, &cfg, 0, stream);
    seam_context *ctx;
    TRY_MAIN("seam_context_create", seam_context_create(&ctx, &p));
    seam_batch sb = to_seam(b);
    TRY_MAIN("seam_context_set_batch", seam_context_set_batch(ctx, &sb));
    seam_registry *reg;
    TRY_MAIN("seam_registry_create", seam_registry_create(&reg));
    TRY_MAIN("registering the demo ops", demo_register_ops(reg, demo_gemm_run, gemm));
    seam_program *prog;
    int out_id;
    TRY_MAIN("seam_program_create", seam_program_create(&prog, reg));
    TRY_MAIN("building the model program", demo_model_program(m, prog, &out_id));
    seam_graph_options go = SEAM_GRAPH_OPTIONS_INITIALIZER;
    go.capture = mode != 0;
    seam_graph *g;
    fprintf(stderr, "seam-demo: %s: building%s...\n", mode_names[mode], go.capture ? " and capturing every bucket" : "");
    TRY_MAIN("seam_graph_build", seam_graph_build(&g, prog, ctx, &go));
    seam_program_destroy(prog);
    r->stats.struct_size = sizeof r->stats;
    TRY_MAIN("seam_graph_get_stats", seam_graph_get_stats(g, &r->stats));
    if (r->stats.num_eager_pieces && go.capture)
        fprintf(stderr, "seam-demo: %s: %d piece(s) failed to capture and run eagerly: %s\n", mode_names[mode],
                r->stats.num_eager_pieces, seam_last_error());

    if (mode == 0 && o->fill_forward && prefill_prefixes(ctx, g, b, d->max_tokens)) return 1;

    /* one forward for the comparison */
    TRY_MAIN("seam_context_set_batch", seam_context_set_batch(ctx, &sb));
    TRY_MAIN("seam_graph_dispatch_of", seam_graph_dispatch_of(g, &r->dispatch));
    TRY_MAIN("seam_graph_run", seam_graph_run(g));
    TRY_MAIN("seam_context_synchronize", seam_context_synchronize(ctx));
    seam_tensor out;
    TRY_MAIN("seam_graph_tensor", seam_graph_tensor(g, out_id, b->tokens, &out));
    size_t out_bytes = (size_t)b->tokens * (size_t)d->hidden * 2;
    r->out = malloc(out_bytes);
    if (!r->out) return fail("host allocation", SEAM_ERR_OUT_OF_MEMORY);
    CUDA_MAIN(cudaMemcpy(r->out, out.data, out_bytes, cudaMemcpyDeviceToHost));
    if (gather_caches(m, b, slots_device, stream, r)) return 1;

    /* timing: set_batch + run per forward, as an engine's step does */
    cudaEvent_t ev[2];
    CUDA_MAIN(cudaEventCreate(&ev[0]));
    CUDA_MAIN(cudaEventCreate(&ev[1]));
    double *ms = calloc((size_t)o->iters, sizeof *ms), host = 0.0;
    if (!ms) return fail("host allocation", SEAM_ERR_OUT_OF_MEMORY);
    if (mode == 0) profiler_range(1);
    for (int it = -o->warmup; it < o->iters; it++) {
        CUDA_MAIN(cudaEventRecord(ev[0], (cudaStream_t)stream));
        double t0 = now_ms();
        TRY_MAIN("seam_context_set_batch", seam_context_set_batch(ctx, &sb));
        TRY_MAIN("seam_graph_run", seam_graph_run(g));
        double t1 = now_ms();
        CUDA_MAIN(cudaEventRecord(ev[1], (cudaStream_t)stream));
        CUDA_MAIN(cudaEventSynchronize(ev[1]));
        float e = 0.0f;
        CUDA_MAIN(cudaEventElapsedTime(&e, ev[0], ev[1]));
        if (it >= 0) {
            ms[it] = e;
            host += t1 - t0;
        }
    }
    if (mode == 0) profiler_range(0);
    qsort(ms, (size_t)o->iters, sizeof *ms, cmp_double);
    r->median_ms = ms[o->iters / 2];
    r->p10_ms = ms[o->iters / 10];
    r->p90_ms = ms[(o->iters * 9) / 10 < o->iters ? (o->iters * 9) / 10 : o->iters - 1];
    r->host_ms = host / o->iters;
    r->ran = 1;
    free(ms);
    cudaEventDestroy(ev[0]);
    cudaEventDestroy(ev[1]);
    TRY_MAIN("seam_graph_destroy", seam_graph_destroy(g));
    seam_registry_destroy(reg);
    TRY_MAIN("seam_context_destroy", seam_context_destroy(ctx));
    return 0;
}

/* ---- comparison -------------------------------------------------------------------------------- */

/* The sparse attention's top-k split count at this token count (its workspace is splits x
 * tokens x heads x (512 + 2) floats, 0 when unsplit). Eager runs at the real count, replays
 * at the bucket; a different split count sums the same terms in another order. */
static int attention_splits(int tokens, int heads) {
    size_t bytes = 0;
    if (seam_sparse_attention_workspace_size(tokens, heads, DEMO_INDEX_TOPK, &bytes) != SEAM_OK || bytes == 0) return 1;
    return (int)(bytes / ((size_t)tokens * (size_t)heads * (SEAM_MLA_V_DIM + 2) * sizeof(float)));
}

static float bf16_to_float(uint16_t v) {
    uint32_t u = (uint32_t)v << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

typedef struct agreement {
    size_t differing;
    double max_abs, mean_abs;
    size_t first;
    int finite;
} agreement;

static agreement compare(const uint16_t *a, const uint16_t *b, size_t n) {
    agreement g = {0, 0.0, 0.0, (size_t)-1, 1};
    for (size_t i = 0; i < n; i++) {
        float x = bf16_to_float(a[i]), y = bf16_to_float(b[i]);
        if (!isfinite(x) || !isfinite(y)) g.finite = 0;
        if (a[i] != b[i]) {
            if (g.first == (size_t)-1) g.first = i;
            g.differing++;
        }
        double dd = fabs((double)x - (double)y);
        if (dd > g.max_abs) g.max_abs = dd;
        g.mean_abs += dd;
    }
    g.mean_abs /= (double)(n ? n : 1);
    return g;
}

/* ---- main ------------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
    options o;
    if (!parse(argc, argv, &o)) {
        usage();
        return 2;
    }
    seam_config env;
    TRY_MAIN("reading the configuration", seam_config_from_env(&env));
    batch_desc b;
    if (!make_batch(&o, &b)) return fail("host allocation", SEAM_ERR_OUT_OF_MEMORY);
    demo_dims d;
    memset(&d, 0, sizeof d);
    d.layers = o.layers, d.hidden = o.hidden, d.heads = o.heads, d.q_lora = o.q_lora, d.inter = o.inter;
    d.max_tokens = pick_max_tokens(&env, b.tokens);
    d.max_context = (b.max_seq + DEMO_PAGE_SIZE - 1) / DEMO_PAGE_SIZE * DEMO_PAGE_SIZE;
    d.num_pages = b.num_pages;

    const char *kind = b.mode == SEAM_FORWARD_EXTEND ? "prefill" : b.mode == SEAM_FORWARD_DECODE ? "decode" : "target-verify";
    printf("seam-demo: %s, %d requests, %d new tokens (max_tokens %d), next_n %d\n", kind, b.requests, b.tokens,
           d.max_tokens, b.next_n);
    printf("model: %d layers, hidden %d, %d heads (MLA q/k 576, v 512 latent), q_lora %d, mlp %d; indexer %d heads "
           "x 128, top-k %d, page size %d\n", d.layers, d.hidden, d.heads, d.q_lora, d.inter, DEMO_INDEX_HEADS,
           DEMO_INDEX_TOPK, DEMO_PAGE_SIZE);
    printf("requests (cached prefix + new):");
    for (int i = 0; i < b.requests && i < 8; i++)
        printf(" %d+%d", b.seq_lens[i] - b.extend_lens[i], b.extend_lens[i]);
    printf("%s\n", b.requests > 8 ? " ..." : "");
    printf("cached prefixes: %s\n", o.fill_forward ? "the model's own keys and latents (chunked prefill first)"
                                                     : "random keys (fp8 through the k-cache store) and latents");
    printf("top-k: %s\n", o.topk_any ? "any correct set (modes compared with a tolerance)"
                                     : "deterministic (modes compared bit for bit)");

    int devices = 0;
    seam_status ds = seam_device_count(&devices);
    int have_gpu = ds == SEAM_OK && devices > 0;
    char why[256];
    snprintf(why, sizeof why, "%s", ds != SEAM_OK && seam_last_error()[0] ? seam_last_error() : "no device");
    size_t plan_arena = 0;
    if (!have_gpu || o.plan_only) {
        int rc = print_plan(&o, &b, &d, &env, 2, &plan_arena);
        if (rc == 0 && !have_gpu)
            printf("\nseam-demo: no GPU on this machine (%s): the eager / piecewise / graph-safe runs need a "
                   "CUDA GPU; plan only.\n", why);
        free_batch(&b);
        /* --check verifies the modes' agreement: without a GPU nothing was verified (77: skip) */
        return rc == 0 && !have_gpu && o.check ? 77 : rc;
    }
    if (print_plan(&o, &b, &d, &env, 1, &plan_arena)) return 1;

    /* memory: caches first (every layer its own when they fit in 40% of the free memory),
     * then as many weight sets as fit, keeping room for three arenas and the workspace */
    CUDA_MAIN(cudaSetDevice(0));
    size_t free_b = 0, total_b = 0;
    CUDA_MAIN(cudaMemGetInfo(&free_b, &total_b));
    size_t reserve = 2 * plan_arena + ((size_t)4 << 30);
    size_t usable = free_b > reserve ? free_b - reserve : 0;
    size_t per_cache = demo_cache_set_bytes(&d), per_weights = demo_layer_weight_bytes(&d);
    int cache_sets = d.layers;
    while (cache_sets > 1 && (size_t)cache_sets * per_cache > usable * 2 / 5) cache_sets--;
    size_t left = usable > (size_t)cache_sets * per_cache ? usable - (size_t)cache_sets * per_cache : 0;
    int weight_sets = (int)(left / per_weights) < d.layers ? (int)(left / per_weights) : d.layers;
    if (weight_sets < 1) {
        fprintf(stderr, "seam-demo: one layer's weights (%.2f GiB) do not fit next to the caches (%.2f GiB) in "
                        "%.2f GiB free; use a smaller --hidden or --inter\n", per_weights / 1073741824.0,
                cache_sets * per_cache / 1073741824.0, free_b / 1073741824.0);
        return 1;
    }
    printf("\nmemory: %d weight set(s) x %.2f GiB for %d layers%s, %d cache set(s) x %.2f GiB%s\n", weight_sets,
           per_weights / 1073741824.0, d.layers, weight_sets < d.layers ? " (shared round-robin: does not fit)" : "",
           cache_sets, per_cache / 1073741824.0, cache_sets < d.layers ? " (shared round-robin)" : "");

    cudaStream_t stream;
    CUDA_MAIN(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    demo_model m;
    TRY_MAIN("creating the model", demo_model_create(&m, &d, weight_sets, cache_sets, o.seed, 1, (seam_stream)stream));
    /* random prefixes; with --prefix-fill forward the eager mode then overwrites them with
     * the model's own (every slot starts defined either way) */
    TRY_MAIN("filling the cached prefixes", demo_model_fill_caches(&m, o.seed, (seam_stream)stream));
    demo_gemm_state *gemm;
    {
        /* the widest GEMM output row: the probe buffer holds max_tokens of them */
        int64_t widest = (int64_t)d.heads * SEAM_MLA_QK_DIM;
        int64_t cand[4] = {2 * (int64_t)d.inter, (int64_t)DEMO_INDEX_HEADS * SEAM_INDEXER_HEAD_DIM, d.hidden, d.q_lora};
        for (int i = 0; i < 4; i++) widest = cand[i] > widest ? cand[i] : widest;
        TRY_MAIN("creating the cuBLASLt state",
                 demo_gemm_state_create(&gemm, d.max_tokens, (size_t)d.max_tokens * (size_t)widest * 2));
    }

    int32_t *slots_device;
    CUDA_MAIN(cudaMalloc((void **)&slots_device, (size_t)b.tokens * 4));
    CUDA_MAIN(cudaMemcpy(slots_device, b.out_cache_loc, (size_t)b.tokens * 4, cudaMemcpyHostToDevice));
    mode_result res[NUM_MODES];
    memset(res, 0, sizeof res);
    for (int mode = 0; mode < NUM_MODES; mode++)
        if (run_mode(mode, &o, &b, &d, &env, &m, gemm, slots_device, (seam_stream)stream, &res[mode])) return 1;

    /* agreement */
    size_t n = (size_t)b.tokens * (size_t)d.hidden;
    int deterministic = !o.topk_any, gemm_fallbacks = demo_gemm_fallbacks(gemm);
    int padded = res[1].dispatch.padded_tokens;
    int attn_same = attention_splits(b.tokens, d.heads) == attention_splits(padded, d.heads) &&
                    attention_splits(b.tokens, d.heads) == attention_splits(res[2].dispatch.padded_tokens, d.heads);
    int bitwise_expected = deterministic && gemm_fallbacks == 0 && attn_same;
    const double tol_max = 0.125, tol_mean = 0.01;
    int ok = 1;
    printf("\nagreement with eager (%zu output values of %d tokens):\n", n, b.tokens);
    agreement ag[NUM_MODES];
    for (int mode = 1; mode < NUM_MODES; mode++) {
        ag[mode] = compare(res[0].out, res[mode].out, n);
        int pass = ag[mode].finite &&
                   (bitwise_expected ? ag[mode].differing == 0 : ag[mode].max_abs <= tol_max && ag[mode].mean_abs <= tol_mean);
        ok &= pass;
        printf("  %-10s %s: %zu differing, max |diff| %.3g, mean |diff| %.3g%s", mode_names[mode],
               pass ? "OK  " : "FAIL", ag[mode].differing, ag[mode].max_abs, ag[mode].mean_abs,
               ag[mode].finite ? "" : ", NON-FINITE values");
        if (ag[mode].differing)
            printf(" (first at token %zu, dim %zu: %g vs %g)", ag[mode].first / (size_t)d.hidden,
                   ag[mode].first % (size_t)d.hidden, bf16_to_float(res[0].out[ag[mode].first]),
                   bf16_to_float(res[mode].out[ag[mode].first]));
        printf("\n");
    }
    /* the replay modes must have replayed: every piece captured, the batch in a bucket */
    for (int mode = 1; mode < NUM_MODES; mode++) {
        const mode_result *r = &res[mode];
        if (r->dispatch.bucket < 0) {
            printf("  %-10s ran eagerly: %d tokens are above the largest bucket\n", mode_names[mode], b.tokens);
        } else if (!r->dispatch.replay || r->stats.num_eager_pieces) {
            printf("  %-10s FAIL: %d of %d pieces did not capture and ran eagerly (see the warnings)\n",
                   mode_names[mode], r->stats.num_eager_pieces, r->stats.num_pieces);
            ok = 0;
        }
    }
    /* where they part: the first cache set (layer) whose stored keys or latents differ */
    int first_diff[NUM_MODES] = {-1, -1, -1};
    for (int mode = 1; mode < NUM_MODES; mode++) {
        const size_t per_set = (size_t)b.tokens * CACHE_ROW_BYTES, nk = (size_t)b.tokens * (SEAM_INDEXER_HEAD_DIM + 4);
        int first = -1;
        size_t kdiff = 0, ldiff = 0;
        for (int c = 0; c < m.cache_sets && first < 0; c++) {
            const uint8_t *x = res[0].caches + per_set * (size_t)c, *y = res[mode].caches + per_set * (size_t)c;
            for (size_t i = 0; i < per_set; i++) {
                if (x[i] == y[i]) continue;
                if (i < nk) kdiff++;
                else ldiff++;
            }
            if (kdiff || ldiff) first = c;
        }
        first_diff[mode] = first;
        if (first < 0)
            printf("  %-10s caches: the new tokens' indexer keys and latents agree bit for bit in every layer\n",
                   mode_names[mode]);
        else
            printf("  %-10s caches: first difference in %s %d (%zu indexer key/scale bytes, %zu latent bytes differ)\n",
                   mode_names[mode], m.cache_sets == d.layers ? "layer" : "cache set", first, kdiff, ldiff);
    }
    if (bitwise_expected) printf("  criterion: bit for bit (deterministic top-k, row-invariant GEMM algorithms)\n");
    else
        printf("  criterion: max |diff| <= %g and mean |diff| <= %g (%s)\n", tol_max, tol_mean,
               !deterministic ? "top-k order is free"
               : gemm_fallbacks ? "some GEMM is not row-invariant (see the warnings)"
                                : "sparse attention splits the top-k differently at the real and padded counts");
    {
        double sum = 0.0, sq = 0.0;
        for (size_t i = 0; i < n; i++) {
            double v = bf16_to_float(res[0].out[i]);
            sum += v, sq += v * v;
        }
        printf("  output: mean %.4f, rms %.4f (final rms_norm: about 1 expected)\n", sum / (double)n, sqrt(sq / (double)n));
        if (!(sq > 0.0)) ok = 0;
    }

    /* the table */
    printf("\n%-10s %10s %9s %9s %9s %8s %16s %11s %11s %12s\n", "mode", "median ms", "p10 ms", "p90 ms", "host ms",
           "speedup", "graphs+splits", "capture ms", "build ms", "arena MiB");
    for (int mode = 0; mode < NUM_MODES; mode++) {
        const mode_result *r = &res[mode];
        char launches[32];
        if (r->dispatch.replay) snprintf(launches, sizeof launches, "%d+%d", r->stats.num_pieces, r->stats.num_split_ops);
        else snprintf(launches, sizeof launches, "0+%d (eager)", r->stats.num_calls);
        printf("%-10s %10.3f %9.3f %9.3f %9.3f %7.2fx %16s %11.1f %11.1f %12.1f\n", mode_names[mode], r->median_ms,
               r->p10_ms, r->p90_ms, r->host_ms, res[0].median_ms / r->median_ms, launches, r->stats.capture_total_ms,
               r->stats.build_ms, (double)r->stats.arena_bytes / (1 << 20));
    }
    printf("(%d forwards each after %d warm-up; latency = CUDA events around set_batch + seam_graph_run; host ms = "
           "CPU time of those calls; replay at %d tokens for %d real; %d buckets captured; %d GEMM problems, %d "
           "autotuned away from cuBLASLt's first choice, %d not row-invariant, %d of them found by the probe)\n",
           o.iters, o.warmup, res[1].dispatch.padded_tokens, b.tokens, res[1].stats.num_buckets,
           demo_gemm_problems(gemm), demo_gemm_autotuned(gemm), gemm_fallbacks, demo_gemm_probe_failures(gemm));

    if (o.json) {
        FILE *f = fopen(o.json, "w");
        if (!f) {
            perror(o.json);
            ok = 0;
        } else {
            seam_device_info info;
            memset(&info, 0, sizeof info);
            seam_device_get_info(0, &info);
            fprintf(f, "{\n  \"tool\": \"seam-demo\",\n  \"device\": \"%s\",\n  \"path\": \"%s\",\n", info.name, kind);
            fprintf(f, "  \"model\": {\"layers\": %d, \"hidden\": %d, \"heads\": %d, \"q_lora\": %d, \"inter\": %d, "
                       "\"weight_sets\": %d, \"cache_sets\": %d},\n", d.layers, d.hidden, d.heads, d.q_lora, d.inter,
                    weight_sets, cache_sets);
            fprintf(f, "  \"batch\": {\"requests\": %d, \"tokens\": %d, \"padded_tokens\": %d, \"next_n\": %d, "
                       "\"max_seq\": %d},\n", b.requests, b.tokens, res[1].dispatch.padded_tokens, b.next_n, b.max_seq);
            fprintf(f, "  \"topk_deterministic\": %d,\n  \"agreement\": {\"bitwise_expected\": %d, \"ok\": %d", deterministic,
                    bitwise_expected, ok);
            for (int mode = 1; mode < NUM_MODES; mode++)
                fprintf(f, ", \"%s\": {\"differing\": %zu, \"max_abs\": %.6g, \"mean_abs\": %.6g, "
                           "\"first_differing_cache_set\": %d}", mode_names[mode], ag[mode].differing, ag[mode].max_abs,
                        ag[mode].mean_abs, first_diff[mode]);
            fprintf(f, ", \"gemm_problems\": %d, \"gemm_autotuned\": %d, \"gemm_not_row_invariant\": %d",
                    demo_gemm_problems(gemm), demo_gemm_autotuned(gemm), gemm_fallbacks);
            fprintf(f, "},\n  \"iters\": %d,\n  \"modes\": [\n", o.iters);
            for (int mode = 0; mode < NUM_MODES; mode++) {
                const mode_result *r = &res[mode];
                fprintf(f, "    {\"mode\": \"%s\", \"median_ms\": %.4f, \"p10_ms\": %.4f, \"p90_ms\": %.4f, "
                           "\"host_ms\": %.4f, \"speedup\": %.4f, \"replay\": %d, \"graph_launches\": %d, "
                           "\"eager_calls\": %d, \"calls\": %d, \"buckets\": %d, \"capture_ms\": %.2f, \"build_ms\": %.2f, "
                           "\"arena_bytes\": %zu}%s\n", mode_names[mode], r->median_ms, r->p10_ms, r->p90_ms, r->host_ms,
                        res[0].median_ms / r->median_ms, r->dispatch.replay, r->dispatch.replay ? r->stats.num_pieces : 0,
                        r->dispatch.replay ? r->stats.num_split_ops : r->stats.num_calls, r->stats.num_calls,
                        r->stats.num_buckets, r->stats.capture_total_ms, r->stats.build_ms, r->stats.arena_bytes,
                        mode + 1 < NUM_MODES ? "," : "");
            }
            fprintf(f, "  ]\n}\n");
            fclose(f);
            printf("JSON written to %s\n", o.json);
        }
    }

    for (int mode = 0; mode < NUM_MODES; mode++) free(res[mode].out), free(res[mode].caches);
    cudaFree(slots_device);
    demo_gemm_state_destroy(gemm);
    demo_model_destroy(&m);
    cudaStreamDestroy(stream);
    free_batch(&b);
    if (!ok) {
        printf("seam-demo: FAILED: the modes disagree (see above)\n");
        return 1;
    }
    return 0;
}
