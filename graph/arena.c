/* The arena: one device allocation holding every intermediate tensor of the program, sized
 * for the context's max_tokens and shared by all buckets. A tensor keeps its offset at every
 * bucket and is laid out contiguously for the bucket's token count, so it is always a
 * prefix of its max_tokens slot: no allocation ever happens inside a capture, and a smaller
 * bucket's graph reads and writes the same addresses as a larger one's.
 *
 * Persistent tensors (seam_program_add_tensor) own their slot: the engine may read them
 * after a forward or fill them before one. Scratch tensors (seam_program_add_scratch) only
 * hold data from the call that first writes them to the call that last uses them, so two
 * scratch tensors whose live ranges [first_use, last_use] do not overlap may share bytes.
 * That is safe because every call of a forward runs in program order on one stream, inside
 * a graph piece or eagerly between pieces. Placement is greedy, largest first, at the
 * lowest aligned offset that does not collide with an already placed, live-overlapping
 * tensor (the classic offline arena planner). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/error_impl.h"

#include "graph/graph_impl.h"

static size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

size_t seam_graph_tensor_bytes(const prog_tensor *t, int tokens) {
    size_t elems = 1;
    for (int d = 0; d < t->ndim; d++) elems *= d == t->token_dim ? (size_t)tokens : (size_t)t->shape[d];
    return elems * seam_dtype_size(t->dtype);
}

seam_status seam_graph_liveness(prog_tensor *tensors, int num_tensors, const prog_call *calls,
                                int num_calls) {
    for (int i = 0; i < num_tensors; i++) tensors[i].first_use = tensors[i].last_use = -1;
    for (int c = 0; c < num_calls; c++) {
        const prog_call *call = &calls[c];
        for (int a = 0; a < call->num_args; a++) {
            if (call->args[a].kind != SEAM_ARG_TENSOR) continue;
            prog_tensor *t = &tensors[call->args[a].tensor];
            if (t->first_use < 0) {
                t->first_use = c;
                int written = 0; /* by this call, in any of its arguments naming t */
                for (int b = 0; b < call->num_args; b++)
                    if (call->args[b].kind == SEAM_ARG_TENSOR && call->args[b].tensor == call->args[a].tensor &&
                        (call->op->mutates & (1u << b)))
                        written = 1;
                if (t->scratch && !written)
                    return seam_fail(SEAM_ERR_INVALID_ARG, "seam_graph_build",
                                     "scratch tensor '%s' is read by call %d (op '%s') before any call "
                                     "writes it; make it a persistent tensor (seam_program_add_tensor) if "
                                     "the engine fills it", t->name, c, call->op->name);
            }
            t->last_use = c;
        }
    }
    return SEAM_OK;
}

static int lives_overlap(const prog_tensor *a, const prog_tensor *b) {
    return a->first_use <= b->last_use && b->first_use <= a->last_use;
}

typedef struct placed {
    size_t begin, end; /* bytes [begin, end), aligned end */
    const prog_tensor *t;
} placed;

static int by_size_desc(const void *x, const void *y) {
    const placed *a = x, *b = y;
    size_t sa = a->end - a->begin, sb = b->end - b->begin;
    if (sa != sb) return sa < sb ? 1 : -1;
    return a->t < b->t ? -1 : a->t > b->t; /* stable: program order */
}

static int by_begin(const void *x, const void *y) {
    const placed *a = x, *b = y;
    return a->begin < b->begin ? -1 : a->begin > b->begin;
}

size_t seam_graph_arena_layout(prog_tensor *tensors, int n, int tokens, size_t *need) {
    size_t at = 0, sum = 0;
    int num_scratch = 0;
    for (int i = 0; i < n; i++) {
        prog_tensor *t = &tensors[i];
        if (t->external) continue;
        size_t bytes = seam_graph_tensor_bytes(t, tokens);
        sum += bytes;
        if (t->scratch) {
            num_scratch++;
            continue;
        }
        t->offset = at;
        at = align_up(at + bytes, SEAM_ARENA_ALIGNMENT);
    }
    if (need) *need = sum;
    if (num_scratch == 0) return at;
    /* Scratch tensors go above the persistent ones. */
    size_t base = at, top = 0;
    placed *order = malloc((size_t)num_scratch * sizeof *order);
    placed *done = malloc((size_t)num_scratch * sizeof *done);
    if (!order || !done) {
        free(order);
        free(done);
        if (need) *need = SIZE_MAX;
        return 0;
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        prog_tensor *t = &tensors[i];
        if (t->external || !t->scratch) continue;
        order[k].begin = 0;
        order[k].end = align_up(seam_graph_tensor_bytes(t, tokens), SEAM_ARENA_ALIGNMENT);
        order[k].t = t;
        k++;
    }
    qsort(order, (size_t)num_scratch, sizeof *order, by_size_desc);
    int num_done = 0;
    for (int i = 0; i < num_scratch; i++) {
        prog_tensor *t = (prog_tensor *)order[i].t;
        size_t size = order[i].end;
        size_t offset = 0;
        if (size > 0 && t->first_use >= 0) {
            /* done[] is sorted by begin: walk it, bumping the offset past every live
             * overlapping tensor that collides with [offset, offset + size). */
            for (int j = 0; j < num_done; j++) {
                if (!lives_overlap(t, done[j].t)) continue;
                if (done[j].begin >= offset + size) break;
                if (done[j].end > offset) offset = done[j].end;
            }
            done[num_done].begin = offset;
            done[num_done].end = offset + size;
            done[num_done].t = t;
            num_done++;
            qsort(done, (size_t)num_done, sizeof *done, by_begin);
            if (offset + size > top) top = offset + size;
        }
        t->offset = base + offset;
    }
    free(order);
    free(done);
    return base + top;
}

seam_tensor seam_graph_tensor_view(const prog_tensor *t, void *arena, int tokens) {
    seam_tensor v;
    memset(&v, 0, sizeof v);
    v.dtype = t->dtype;
    v.ndim = t->ndim;
    v.token_dim = t->token_dim;
    for (int d = 0; d < t->ndim; d++) v.shape[d] = d == t->token_dim ? tokens : t->shape[d];
    if (t->external) {
        v.data = t->data;
        for (int d = 0; d < t->ndim; d++) v.strides[d] = t->strides[d];
        return v;
    }
    v.data = arena ? (char *)arena + t->offset : NULL;
    int64_t stride = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        v.strides[d] = stride;
        stride *= v.shape[d];
    }
    return v;
}
