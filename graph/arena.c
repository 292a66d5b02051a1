/* The arena: one device allocation holding every intermediate tensor of the program, sized
 * for the context's max_tokens and shared by all buckets. A tensor keeps its offset at every
 * bucket and is laid out contiguously for the bucket's token count, so it is always a
 * prefix of its max_tokens slot: no allocation ever happens inside a capture, and a smaller
 * bucket's graph reads and writes the same addresses as a larger one's. */
#include <string.h>

#include "graph/graph_impl.h"

static size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

size_t seam_graph_tensor_bytes(const prog_tensor *t, int tokens) {
    size_t elems = 1;
    for (int d = 0; d < t->ndim; d++) elems *= d == t->token_dim ? (size_t)tokens : (size_t)t->shape[d];
    return elems * seam_dtype_size(t->dtype);
}

size_t seam_graph_arena_layout(prog_tensor *tensors, int n, int tokens, size_t *need) {
    size_t at = 0, sum = 0;
    for (int i = 0; i < n; i++) {
        prog_tensor *t = &tensors[i];
        if (t->external) continue;
        size_t bytes = seam_graph_tensor_bytes(t, tokens);
        t->offset = at;
        at = align_up(at + bytes, SEAM_ARENA_ALIGNMENT);
        sum += bytes;
    }
    if (need) *need = sum;
    return at;
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
