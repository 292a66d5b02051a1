/* Capture: every piece at every bucket, largest bucket first.
 *
 * Each (piece, bucket) is stream-captured once into its own cudaGraph_t (kept, keyed by
 * piece id and bucket index, never by an address). Turning graphs into executables is the
 * expensive part, and the build offers two ways (seam_graph_exec_mode):
 *   update      instantiate a piece once, at the largest bucket, and apply every smaller
 *               bucket's graph to that executable with cudaGraphExecUpdate; only a bucket
 *               whose update is refused (topology changed: an op launched a different
 *               kernel sequence at that size) gets an executable of its own;
 *   per-bucket  instantiate every (piece, bucket).
 * The per-bucket timings in seam_graph_bucket make the two comparable.
 *
 * Capture mode is cudaStreamCaptureModeThreadLocal: an op that calls a capture-unsafe API
 * (cudaMalloc, a synchronize) on this thread fails during capture instead of silently
 * baking a one-time allocation into the graph (as relaxed mode would allow), while other
 * threads of the engine (a tokenizer thread pinning memory, a second device) are not
 * affected, as they would be with global mode.
 *
 * A piece whose capture fails is ended cleanly (cudaStreamEndCapture, CUDA's last error
 * cleared), released at every bucket, marked eager and reported with the op that broke it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "graph/graph_impl.h"
#include "runtime/cuda_check.h"

typedef struct capture_result {
    cudaGraph_t graph;
    int failed_call; /* call index that broke the capture, -1 when none is known */
    char why[400];
} capture_result;

static int is_capture_error(seam_status s, enum cudaStreamCaptureStatus status) {
    return s == SEAM_ERR_CAPTURE || s == SEAM_ERR_CUDA || status != cudaStreamCaptureStatusActive;
}

/* Captures piece p at `tokens`. Returns SEAM_OK with r->graph set, or SEAM_OK with r->graph
 * NULL when the piece cannot be captured (r->why says why), or an error that fails the
 * build (an op rejected its arguments: a program bug, not a capture problem). */

/* A partial capture being thrown away: a failure to free it is logged, not returned, so the
 * failure that made it partial stays the one reported. */
static void drop_graph(cudaGraph_t graph) {
    if (!graph) return;
    cudaError_t e = cudaGraphDestroy(graph);
    if (e != cudaSuccess)
        seam_log(SEAM_LOG_WARN, "graph: cudaGraphDestroy of a failed capture: %s",
                 cudaGetErrorString(e));
}

static seam_status capture_piece(seam_graph *g, const graph_piece *p, int tokens, capture_result *r) {
    r->graph = NULL;
    r->failed_call = -1;
    r->why[0] = '\0';
    SEAM_CUDA_CHECK(cudaStreamBeginCapture(g->stream, cudaStreamCaptureModeThreadLocal));
    seam_status op_status = SEAM_OK;
    char op_error[1024] = "";
    for (int i = p->first_call; i < p->first_call + p->num_calls; i++) {
        seam_graph_materialize(g, i, tokens);
        seam_status s = seam_op_run(&g->scratch, g->ctx, (seam_stream)g->stream);
        enum cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
        cudaError_t qe = cudaStreamIsCapturing(g->stream, &status);
        if (qe != cudaSuccess) status = cudaStreamCaptureStatusInvalidated;
        if (s != SEAM_OK || status != cudaStreamCaptureStatusActive) {
            op_status = s;
            if (s != SEAM_OK) snprintf(op_error, sizeof op_error, "%s", seam_last_error());
            r->failed_call = i;
            if (s != SEAM_OK && !is_capture_error(s, status)) break;
            snprintf(r->why, sizeof r->why, "%s",
                     s != SEAM_OK ? op_error : "the op invalidated the stream capture");
            break;
        }
    }
    enum cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(g->stream, &status) != cudaSuccess) status = cudaStreamCaptureStatusActive;
    cudaGraph_t graph = NULL;
    cudaError_t end = cudaSuccess;
    if (status != cudaStreamCaptureStatusNone) end = cudaStreamEndCapture(g->stream, &graph);
    (void)cudaGetLastError(); /* capture errors are not sticky; do not leak them to the engine */
    if (op_status != SEAM_OK && r->why[0] == '\0') {
        /* Not a capture problem: the op refused its arguments. Fail the build. */
        drop_graph(graph);
        return seam_fail(op_status, "seam_graph_build", "call %d (op '%s') at %d tokens: %s",
                         r->failed_call, g->calls[r->failed_call].op->name, tokens, op_error);
    }
    if (r->failed_call < 0 && (end != cudaSuccess || graph == NULL)) {
        snprintf(r->why, sizeof r->why, "cudaStreamEndCapture: %s", cudaGetErrorString(end));
        r->failed_call = p->first_call + p->num_calls - 1;
    }
    if (r->failed_call >= 0) {
        drop_graph(graph);
        return SEAM_OK;
    }
    r->graph = graph;
    return SEAM_OK;
}

static seam_status instantiate(cudaGraph_t graph, cudaGraphExec_t *exec) {
    SEAM_CUDA_CHECK(cudaGraphInstantiate(exec, graph, 0));
    return SEAM_OK;
}

/* After the last bucket: upload every executable in the state it will first run in, so the
 * first replay does not pay for it (not earlier: in update mode the build keeps changing
 * them). */
static seam_status upload_all(seam_graph *g) {
    for (int i = 0; i < g->num_pieces; i++)
        for (int k = 0; k < g->pieces[i].num_slots; k++)
            SEAM_CUDA_CHECK(cudaGraphUpload(g->pieces[i].slots[k].exec, g->stream));
    SEAM_CUDA_CHECK(cudaStreamSynchronize(g->stream));
    return SEAM_OK;
}

/* Gives bucket b of piece p an executable: a new one, or (update mode) the piece's latest
 * executable updated to b's graph. */
static seam_status make_exec(seam_graph *g, graph_piece *p, int b) {
    seam_graph_bucket *st = &g->bucket_stats[b];
    if (g->opts.exec_mode == SEAM_GRAPH_EXEC_UPDATE && p->num_slots > 0) {
        exec_slot *slot = &p->slots[p->num_slots - 1];
        cudaGraphExecUpdateResultInfo info;
        memset(&info, 0, sizeof info);
        double t0 = seam_graph_now_ms();
        cudaError_t e = cudaGraphExecUpdate(slot->exec, p->graphs[b], &info);
        st->update_ms += seam_graph_now_ms() - t0;
        if (e == cudaSuccess) {
            slot->bucket = b;
            p->slot_of[b] = p->num_slots - 1;
            st->updates++;
            return SEAM_OK;
        }
        (void)cudaGetLastError();
        st->update_refusals++;
        seam_log(SEAM_LOG_INFO, "graph: piece %d at %d tokens: cudaGraphExecUpdate refused (result %d); "
                 "instantiating", (int)(p - g->pieces), g->buckets[b], (int)info.result);
    }
    double t0 = seam_graph_now_ms();
    exec_slot *slot = &p->slots[p->num_slots];
    SEAM_TRY(instantiate(p->graphs[b], &slot->exec));
    st->instantiate_ms += seam_graph_now_ms() - t0;
    st->instantiations++;
    slot->bucket = b;
    p->slot_of[b] = p->num_slots++;
    return SEAM_OK;
}

seam_status seam_graph_piece_select(graph_piece *p, int b, int *updated, int *instantiated) {
    *updated = *instantiated = 0;
    exec_slot *slot = &p->slots[p->slot_of[b]];
    if (slot->bucket == b) return SEAM_OK;
    cudaGraphExecUpdateResultInfo info;
    memset(&info, 0, sizeof info);
    cudaError_t e = cudaGraphExecUpdate(slot->exec, p->graphs[b], &info);
    if (e == cudaSuccess) {
        slot->bucket = b;
        *updated = 1;
        return SEAM_OK;
    }
    (void)cudaGetLastError();
    /* It updated at build time, so this is unexpected; a fresh executable is always right. */
    SEAM_CUDA_CHECK(cudaGraphExecDestroy(slot->exec));
    slot->exec = NULL;
    SEAM_TRY(instantiate(p->graphs[b], &slot->exec));
    slot->bucket = b;
    *instantiated = 1;
    return SEAM_OK;
}

static void mark_eager(seam_graph *g, graph_piece *p, int tokens, const capture_result *r) {
    const char *op = g->calls[r->failed_call].op->name;
    if (seam_graph_piece_release(p, g->num_buckets) != SEAM_OK)
        seam_log(SEAM_LOG_WARN, "graph: releasing piece %d's graphs: %s", (int)(p - g->pieces),
                 seam_last_error());
    p->eager = 1;
    snprintf(p->failed_op, sizeof p->failed_op, "%s", op);
    snprintf(p->failure, sizeof p->failure, "capture at %d tokens failed in call %d (op '%s'): %s",
             tokens, r->failed_call, op, r->why);
    seam_log(SEAM_LOG_WARN, "graph: piece %d runs eagerly: %s", (int)(p - g->pieces), p->failure);
    seam_fail(SEAM_ERR_CAPTURE, "seam_graph_build", "piece %d runs eagerly: %s", (int)(p - g->pieces),
              p->failure);
}

static int progress_on(const seam_graph *g) {
    if (g->opts.progress >= 0) return g->opts.progress;
    return isatty(STDERR_FILENO) || seam_get_log_level() >= SEAM_LOG_INFO;
}

static void progress(const seam_graph *g, int done, double t0, int last) {
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) (void)cudaGetLastError();
    int tty = isatty(STDERR_FILENO);
    fprintf(stderr, "%sseam graph: captured bucket %d/%d (%d tokens, %d pieces), %.2f s, device memory "
            "used %.0f MiB%s", tty ? "\r" : "", done, g->num_buckets,
            g->buckets[g->num_buckets - done], g->num_pieces, (seam_graph_now_ms() - t0) / 1e3,
            (double)(total_b - free_b) / (1 << 20), tty && !last ? "" : "\n");
    fflush(stderr);
}

seam_status seam_graph_capture_all(seam_graph *g) {
    double t0 = seam_graph_now_ms();
    int show = progress_on(g);
    for (int p = 0; p < g->num_pieces; p++) g->pieces[p].eager = 0;
    for (int b = g->num_buckets - 1; b >= 0; b--) {
        int tokens = g->buckets[b];
        seam_graph_bucket *st = &g->bucket_stats[b];
        for (int i = 0; i < g->num_pieces; i++) {
            graph_piece *p = &g->pieces[i];
            if (p->eager) continue;
            capture_result r;
            double c0 = seam_graph_now_ms();
            SEAM_TRY(capture_piece(g, p, tokens, &r));
            st->capture_ms += seam_graph_now_ms() - c0;
            if (!r.graph) {
                mark_eager(g, p, tokens, &r);
                continue;
            }
            p->graphs[b] = r.graph;
            SEAM_TRY(make_exec(g, p, b));
        }
        if (show) progress(g, g->num_buckets - b, t0, b == 0);
    }
    SEAM_TRY(upload_all(g));
    g->captured = 1;
    return SEAM_OK;
}
