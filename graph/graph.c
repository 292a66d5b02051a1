/* seam_graph lifecycle: copy the program, plan it for the context, lay out and allocate the
 * arena, warm up, capture (capture.c); destroy frees it all. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph/graph_impl.h"
#include "runtime/cuda_check.h"

double seam_graph_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

void seam_graph_materialize(seam_graph *g, int index, int tokens) {
    const prog_call *c = &g->calls[index];
    seam_op_call *call = &g->scratch;
    call->op = c->op;
    call->num_args = c->num_args;
    call->num_tokens = tokens;
    for (int i = 0; i < c->num_args; i++) {
        const seam_program_arg *a = &c->args[i];
        seam_arg *out = &call->args[i];
        switch (a->kind) {
        case SEAM_ARG_TENSOR:
            *out = seam_arg_tensor(seam_graph_tensor_view(&g->tensors[a->tensor], g->arena, tokens));
            break;
        case SEAM_ARG_INT: *out = seam_arg_int(a->i); break;
        case SEAM_ARG_FLOAT: *out = seam_arg_float(a->f); break;
        case SEAM_ARG_PTR: *out = seam_arg_ptr(a->ptr); break;
        default: *out = seam_arg_none(); break;
        }
    }
}

seam_status seam_graph_run_eager(seam_graph *g, int first, int count, int tokens) {
    for (int i = first; i < first + count; i++) {
        seam_graph_materialize(g, i, tokens);
        seam_status s = seam_op_run(&g->scratch, g->ctx, (seam_stream)g->stream);
        if (s != SEAM_OK) return s;
    }
    return SEAM_OK;
}

seam_status seam_graph_piece_release(graph_piece *p, int num_buckets) {
    seam_status first = SEAM_OK;
    for (int i = 0; i < p->num_slots; i++)
        if (p->slots[i].exec) SEAM_CUDA_KEEP_FIRST(first, cudaGraphExecDestroy(p->slots[i].exec));
    p->num_slots = 0;
    for (int b = 0; b < num_buckets; b++) {
        if (p->graphs && p->graphs[b]) SEAM_CUDA_KEEP_FIRST(first, cudaGraphDestroy(p->graphs[b]));
        if (p->graphs) p->graphs[b] = NULL;
        if (p->slot_of) p->slot_of[b] = -1;
    }
    return first;
}

/* Frees everything; returns the first CUDA failure met on the way (nothing stops early). */
static seam_status release(seam_graph *g) {
    seam_status first = SEAM_OK;
    if (g->has_device && g->stream) SEAM_CUDA_KEEP_FIRST(first, cudaStreamSynchronize(g->stream));
    for (int i = 0; i < g->num_pieces; i++) {
        graph_piece *p = &g->pieces[i];
        seam_status s = seam_graph_piece_release(p, g->num_buckets);
        if (first == SEAM_OK) first = s;
        free(p->graphs);
        free(p->slot_of);
        free(p->slots);
    }
    if (g->arena) SEAM_CUDA_KEEP_FIRST(first, cudaFree(g->arena));
    free(g->pieces);
    free(g->steps);
    free(g->tensors);
    free(g->calls);
    free(g);
    return first;
}

/* An external tensor with a token dimension must hold every forward's rows. */
static seam_status check_externals(const seam_graph *g) {
    for (int i = 0; i < g->num_tensors; i++) {
        const prog_tensor *t = &g->tensors[i];
        if (!t->external || t->token_dim == SEAM_NO_TOKEN_DIM) continue;
        if (t->shape[t->token_dim] < g->max_tokens)
            return seam_fail(SEAM_ERR_INVALID_ARG, "seam_graph_build",
                             "external tensor '%s' (id %d): shape[%d]=%lld rows is below the "
                             "context's max_tokens=%d", t->name, i, t->token_dim,
                             (long long)t->shape[t->token_dim], g->max_tokens);
    }
    return SEAM_OK;
}

static seam_status copy_program(seam_graph *g, const seam_program *prog) {
    g->num_tensors = prog->num_tensors;
    g->num_calls = prog->num_calls;
    g->tensors = calloc((size_t)(prog->num_tensors ? prog->num_tensors : 1), sizeof *g->tensors);
    g->calls = calloc((size_t)prog->num_calls, sizeof *g->calls);
    g->steps = calloc((size_t)prog->num_calls, sizeof *g->steps);
    if (!g->tensors || !g->calls || !g->steps)
        return seam_fail(SEAM_ERR_OUT_OF_MEMORY, "seam_graph_build", "copying the program failed");
    if (prog->num_tensors) memcpy(g->tensors, prog->tensors, (size_t)prog->num_tensors * sizeof *g->tensors);
    memcpy(g->calls, prog->calls, (size_t)prog->num_calls * sizeof *g->calls);
    return SEAM_OK;
}

static seam_status make_plan(seam_graph *g) {
    unsigned char *capturable = malloc((size_t)g->num_calls);
    if (!capturable) return seam_fail(SEAM_ERR_OUT_OF_MEMORY, "seam_graph_build", "plan allocation failed");
    for (int i = 0; i < g->num_calls; i++)
        capturable[i] = (unsigned char)seam_op_is_capturable(g->calls[i].op, g->graph_safe);
    g->num_steps = seam_graph_plan_split(capturable, g->num_calls, g->steps, &g->num_pieces);
    free(capturable);
    g->num_split_ops = g->num_steps - g->num_pieces;
    g->pieces = calloc((size_t)(g->num_pieces ? g->num_pieces : 1), sizeof *g->pieces);
    if (!g->pieces) return seam_fail(SEAM_ERR_OUT_OF_MEMORY, "seam_graph_build", "plan allocation failed");
    for (int s = 0; s < g->num_steps; s++) {
        const plan_step *st = &g->steps[s];
        if (st->kind != SEAM_GRAPH_STEP_PIECE) continue;
        graph_piece *p = &g->pieces[st->piece];
        p->step = s;
        p->first_call = st->first_call;
        p->num_calls = st->num_calls;
        p->eager = 1; /* until captured */
        snprintf(p->nvtx_name, sizeof p->nvtx_name, "seam piece %d", st->piece);
        size_t nb = (size_t)(g->num_buckets ? g->num_buckets : 1); /* no bucket: all eager */
        p->graphs = calloc(nb, sizeof *p->graphs);
        p->slot_of = malloc(nb * sizeof *p->slot_of);
        p->slots = calloc(nb, sizeof *p->slots);
        if (!p->graphs || !p->slot_of || !p->slots)
            return seam_fail(SEAM_ERR_OUT_OF_MEMORY, "seam_graph_build", "plan allocation failed");
        for (size_t b = 0; b < nb; b++) p->slot_of[b] = -1;
    }
    return SEAM_OK;
}

/* The op's own check on every call at the largest and smallest shapes it will see. */
static seam_status check_calls(seam_graph *g) {
    int shapes[3] = {g->max_tokens, g->num_buckets ? g->buckets[0] : 1, 1};
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < g->num_calls; i++) {
            seam_graph_materialize(g, i, shapes[k]);
            seam_status s = seam_op_call_check(&g->scratch);
            if (s != SEAM_OK) {
                char keep[1024];
                snprintf(keep, sizeof keep, "%s", seam_last_error());
                return seam_fail(s, "seam_graph_build", "call %d (op '%s') at %d tokens: %s", i,
                                 g->calls[i].op->name, shapes[k], keep);
            }
        }
    }
    return SEAM_OK;
}

static seam_status allocate_arena(seam_graph *g) {
    if (g->arena_bytes == 0) return SEAM_OK;
    SEAM_CUDA_CHECK(cudaMalloc(&g->arena, g->arena_bytes));
    /* Zeroed once, so padded rows and never-written tensors hold defined values. */
    SEAM_CUDA_CHECK(cudaMemsetAsync(g->arena, 0, g->arena_bytes, g->stream));
    SEAM_CUDA_CHECK(cudaStreamSynchronize(g->stream));
    return SEAM_OK;
}

static seam_status warmup(seam_graph *g) {
    double t0 = seam_graph_now_ms();
    /* At the largest bucket, or the current batch's real count if larger: split ops may
     * read the real count, and ops may rely on it not exceeding num_tokens. */
    int tokens = g->num_buckets ? g->buckets[g->num_buckets - 1] : g->max_tokens;
    const seam_batch_view *view;
    SEAM_TRY(seam_context_batch_host(g->ctx, &view));
    if (view->counts[SEAM_COUNT_TOKENS] > tokens) tokens = view->counts[SEAM_COUNT_TOKENS];
    seam_status s = seam_graph_run_eager(g, 0, g->num_calls, tokens);
    if (s != SEAM_OK) return s;
    SEAM_CUDA_CHECK(cudaStreamSynchronize(g->stream));
    g->warmup_ms = seam_graph_now_ms() - t0;
    return SEAM_OK;
}

static seam_status build(seam_graph *g, const seam_program *prog, seam_context *ctx,
                         const seam_graph_options *opts) {
    const seam_config *cfg = seam_context_config(ctx);
    const seam_context_params *params = seam_context_params_of(ctx);
    g->ctx = ctx;
    g->opts = *opts;
    g->graph_safe = cfg->graph_safe;
    g->piecewise = cfg->piecewise;
    g->max_tokens = params->max_tokens;
    g->has_device = params->device != SEAM_DEVICE_HOST;
    g->device = params->device;
    SEAM_TRY(seam_config_capture_sizes(cfg, params->max_tokens, g->buckets, SEAM_MAX_CAPTURE_SIZES,
                                       &g->num_buckets));
    for (int b = 0; b < g->num_buckets; b++) g->bucket_stats[b].tokens = g->buckets[b];
    SEAM_TRY(copy_program(g, prog));
    SEAM_TRY(check_externals(g));
    SEAM_TRY(make_plan(g));
    SEAM_TRY(seam_graph_liveness(g->tensors, g->num_tensors, g->calls, g->num_calls));
    g->arena_bytes = seam_graph_arena_layout(g->tensors, g->num_tensors, g->max_tokens, &g->arena_need);
    if (g->arena_need == SIZE_MAX)
        return seam_fail(SEAM_ERR_OUT_OF_MEMORY, "seam_graph_build", "planning the arena ran out of host memory");
    if (!g->has_device) return SEAM_OK;

    seam_stream stream;
    SEAM_TRY(seam_context_stream(ctx, &stream));
    g->stream = (cudaStream_t)stream;
    SEAM_CUDA_CHECK(cudaSetDevice(params->device));
    SEAM_TRY(allocate_arena(g));
    SEAM_TRY(check_calls(g));
    if (opts->warmup) SEAM_TRY(warmup(g));
    if (!opts->capture || !g->piecewise || g->num_buckets == 0) return SEAM_OK;
    if (g->stream == NULL)
        return seam_fail(SEAM_ERR_UNSUPPORTED, "seam_graph_build",
                         "the context runs on the legacy default stream, which cannot be captured; "
                         "give it a created stream (or NULL in the params so it makes one)");
    return seam_graph_capture_all(g);
}

seam_status seam_graph_build(seam_graph **out, const seam_program *prog, seam_context *ctx,
                             const seam_graph_options *opts) {
    SEAM_CHECK_PTR(out);
    *out = NULL;
    SEAM_CHECK_PTR(prog);
    SEAM_CHECK_PTR(ctx);
    seam_graph_options defaults = SEAM_GRAPH_OPTIONS_INITIALIZER;
    if (!opts) opts = &defaults;
    SEAM_CHECK_ARG(opts->struct_size == sizeof(seam_graph_options),
                   "opts->struct_size=%zu, expected %zu (use SEAM_GRAPH_OPTIONS_INITIALIZER)",
                   opts->struct_size, sizeof(seam_graph_options));
    SEAM_CHECK_ARG(opts->exec_mode == SEAM_GRAPH_EXEC_UPDATE || opts->exec_mode == SEAM_GRAPH_EXEC_PER_BUCKET,
                   "opts->exec_mode=%d is not a seam_graph_exec_mode", (int)opts->exec_mode);
    SEAM_CHECK_ARG(opts->progress >= -1 && opts->progress <= 1, "opts->progress=%d is not -1, 0 or 1",
                   opts->progress);
    SEAM_CHECK_ARG(prog->num_calls > 0, "the program has no calls");
    double t0 = seam_graph_now_ms();
    seam_graph *g = calloc(1, sizeof *g);
    if (!g) return seam_fail(SEAM_ERR_OUT_OF_MEMORY, __func__, "graph allocation failed");
    seam_clear_error();
    seam_status s = build(g, prog, ctx, opts);
    if (s != SEAM_OK) {
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", seam_last_error());
        release(g);
        (void)cudaGetLastError();
        seam_fail(s, __func__, "%s", keep);
        return s;
    }
    g->build_ms = seam_graph_now_ms() - t0;
    *out = g;
    return SEAM_OK;
}

seam_status seam_graph_destroy(seam_graph *graph) {
    if (!graph) return SEAM_OK;
    seam_status first = SEAM_OK;
    if (graph->has_device) SEAM_CUDA_KEEP_FIRST(first, cudaSetDevice(graph->device));
    seam_status s = release(graph); /* even when the device could not be selected */
    return first != SEAM_OK ? first : s;
}

seam_status seam_graph_dispatch_of(const seam_graph *graph, seam_graph_dispatch *out) {
    SEAM_CHECK_PTR(graph);
    SEAM_CHECK_PTR(out);
    const seam_batch_view *view;
    SEAM_TRY(seam_context_batch_host(graph->ctx, &view));
    out->tokens = view->counts[SEAM_COUNT_TOKENS];
    out->padded_tokens = view->counts[SEAM_COUNT_PADDED_TOKENS];
    out->bucket = graph->piecewise ? seam_graph_plan_bucket_index(graph->buckets, graph->num_buckets,
                                                                  out->padded_tokens)
                                   : -1;
    out->replay = graph->captured && out->bucket >= 0;
    return SEAM_OK;
}

seam_status seam_graph_tensor(const seam_graph *graph, int id, int num_tokens, seam_tensor *out) {
    SEAM_CHECK_PTR(graph);
    SEAM_CHECK_PTR(out);
    SEAM_CHECK_ARG(id >= 0 && id < graph->num_tensors, "id=%d is not in [0, %d)", id, graph->num_tensors);
    SEAM_CHECK_ARG(num_tokens >= 0 && num_tokens <= graph->max_tokens,
                   "num_tokens=%d is not in [0, max_tokens=%d]", num_tokens, graph->max_tokens);
    const prog_tensor *t = &graph->tensors[id];
    if (!t->external && !graph->arena && graph->arena_bytes)
        return seam_fail(SEAM_ERR_NO_DEVICE, __func__, "tensor '%s' lives in the arena, and a plan-only "
                         "graph (host context) has none", t->name);
    *out = seam_graph_tensor_view(t, graph->arena, num_tokens);
    return SEAM_OK;
}
