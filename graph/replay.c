/* seam_graph_run: one forward on the context's stream. Replays each piece's graph for the
 * batch's bucket and runs split ops eagerly in between, inside NVTX ranges so a profile
 * shows which piece or split op the time went to. Without a bucket (above the largest,
 * piecewise off, capture off) every call runs eagerly at the real token count. */
/* NVTX is header-only; its loader casts dlsym's result to function pointers, which ISO C
 * (but not POSIX) forbids. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
#include <nvtx3/nvToolsExt.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include "graph/graph_impl.h"
#include "runtime/cuda_check.h"

static seam_status run_split(seam_graph *g, int call, int tokens) {
    nvtxRangePushA(g->calls[call].op->name);
    seam_status s = seam_graph_run_eager(g, call, 1, tokens);
    nvtxRangePop();
    return s;
}

static seam_status run_piece(seam_graph *g, graph_piece *p, int b, int tokens) {
    nvtxRangePushA(p->nvtx_name);
    seam_status s = SEAM_OK;
    if (p->eager || b < 0) {
        s = seam_graph_run_eager(g, p->first_call, p->num_calls, tokens);
    } else {
        int updated, instantiated;
        s = seam_graph_piece_select(p, b, &updated, &instantiated);
        g->runtime_updates += updated;
        g->runtime_instantiations += instantiated;
        if (s == SEAM_OK) {
            cudaError_t e = cudaGraphLaunch(p->slots[p->slot_of[b]].exec, g->stream);
            if (e != cudaSuccess)
                s = seam_fail_cuda((int)e, "cudaGraphLaunch", __FILE__, __LINE__, "seam_graph_run");
        }
    }
    nvtxRangePop();
    return s;
}

seam_status seam_graph_run(seam_graph *graph) {
    SEAM_CHECK_PTR(graph);
    if (!graph->has_device)
        return seam_fail(SEAM_ERR_NO_DEVICE, __func__, "the graph was planned on a host context");
    seam_graph_dispatch d;
    SEAM_TRY(seam_graph_dispatch_of(graph, &d));
    SEAM_CUDA_CHECK(cudaSetDevice(graph->device));
    int tokens = d.replay ? d.padded_tokens : d.tokens;
    int bucket = d.replay ? d.bucket : -1;
    for (int s = 0; s < graph->num_steps; s++) {
        const plan_step *st = &graph->steps[s];
        seam_status r = st->kind == SEAM_GRAPH_STEP_SPLIT
                            ? run_split(graph, st->first_call, tokens)
                            : run_piece(graph, &graph->pieces[st->piece], bucket, tokens);
        if (r != SEAM_OK) return r;
    }
    return SEAM_OK;
}
