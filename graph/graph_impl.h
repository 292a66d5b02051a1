/* Internal layout of seam_program and seam_graph, and the functions the graph/ files share.
 * graph/ knows ops only through their descriptors: nothing here names an op or a kernel. */
#ifndef SEAM_GRAPH_IMPL_H
#define SEAM_GRAPH_IMPL_H

#include <cuda_runtime_api.h>

#include "seam/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct prog_tensor {
    char name[SEAM_PROGRAM_NAME_MAX];
    int external;
    seam_dtype dtype;
    int ndim;
    int64_t shape[SEAM_MAX_DIMS];   /* shape[token_dim] is symbolic (arena) or capacity */
    int64_t strides[SEAM_MAX_DIMS]; /* external only; arena tensors are contiguous */
    int token_dim;
    void *data;                     /* external only */
    int scratch;                    /* arena only: may share space outside its live range */
    int first_use, last_use;        /* calls using it, set by the liveness pass (-1: unused) */
    size_t offset;                  /* arena only, set by the layout */
} prog_tensor;

typedef struct prog_call {
    const seam_op *op;
    int num_args;
    seam_program_arg args[SEAM_MAX_OP_ARGS];
} prog_call;

struct seam_program {
    const seam_registry *reg;
    prog_tensor *tensors;
    int num_tensors, cap_tensors;
    prog_call *calls;
    int num_calls, cap_calls;
};

/* ---- plan (plan.c: pure CPU) ------------------------------------------------------------ */

typedef struct plan_step {
    seam_graph_step_kind kind;
    int piece;
    int first_call;
    int num_calls;
} plan_step;

/* Cuts calls 0..n-1 into steps: maximal runs of capturable calls become pieces (numbered in
 * order), every other call is a split step of its own. steps holds at least n entries.
 * Returns the step count; *num_pieces gets the piece count. */
int seam_graph_plan_split(const unsigned char *capturable, int n, plan_step *steps, int *num_pieces);
/* Index of `tokens` in the ascending bucket list, or -1 when it is not a bucket. */
int seam_graph_plan_bucket_index(const int *buckets, int num_buckets, int tokens);

/* ---- arena (arena.c) -------------------------------------------------------------------- */

/* Bytes of an arena tensor at `tokens` rows (contiguous). */
size_t seam_graph_tensor_bytes(const prog_tensor *t, int tokens);
/* Sets first_use/last_use of every tensor from the calls; fails, naming the tensor and the
 * call, when a scratch tensor's first use does not write it. */
seam_status seam_graph_liveness(prog_tensor *tensors, int num_tensors, const prog_call *calls,
                                int num_calls);
/* Assigns 256-byte aligned offsets for `tokens` rows: persistent tensors each get their own
 * slot; scratch tensors share space with scratch tensors whose live ranges do not overlap
 * (needs the liveness pass first). Returns the arena size; *need gets the unaligned sum of
 * every arena tensor (what the arena would hold without sharing). Returns 0 and sets *need
 * to SIZE_MAX when host memory for the planner runs out. */
size_t seam_graph_arena_layout(prog_tensor *tensors, int n, int tokens, size_t *need);
/* The view calls see of tensor t at `tokens` (data NULL for arena tensors without arena). */
seam_tensor seam_graph_tensor_view(const prog_tensor *t, void *arena, int tokens);

/* ---- graph ------------------------------------------------------------------------------ */

typedef struct exec_slot {
    cudaGraphExec_t exec;
    int bucket; /* the bucket whose graph the executable holds now */
} exec_slot;

typedef struct graph_piece {
    int step;
    int first_call, num_calls;
    int eager;
    char failed_op[SEAM_PROGRAM_NAME_MAX];
    char failure[512];
    char nvtx_name[48];
    cudaGraph_t *graphs; /* [num_buckets], NULL where not captured */
    int *slot_of;        /* [num_buckets] executable slot each bucket uses, -1: none */
    exec_slot *slots;    /* [num_buckets] at most */
    int num_slots;
} graph_piece;

struct seam_graph {
    seam_context *ctx;
    cudaStream_t stream;
    seam_graph_options opts;
    int graph_safe, piecewise, has_device;
    int device;
    int max_tokens;
    int buckets[SEAM_MAX_CAPTURE_SIZES];
    seam_graph_bucket bucket_stats[SEAM_MAX_CAPTURE_SIZES];
    int num_buckets;

    /* the program, copied */
    prog_tensor *tensors;
    int num_tensors;
    prog_call *calls;
    int num_calls;

    plan_step *steps;
    int num_steps;
    graph_piece *pieces;
    int num_pieces;
    int num_split_ops;

    void *arena;
    size_t arena_bytes, arena_need;

    int captured;
    double warmup_ms, build_ms;
    int runtime_updates, runtime_instantiations;
    seam_op_call scratch; /* the call being materialized */
};

/* Fills g->scratch with call `index` shaped for `tokens`. */
void seam_graph_materialize(seam_graph *g, int index, int tokens);
/* Runs calls [first, first + count) eagerly at `tokens` on the graph's stream. */
seam_status seam_graph_run_eager(seam_graph *g, int first, int count, int tokens);
/* Captures every piece for every bucket, largest first (capture.c). */
seam_status seam_graph_capture_all(seam_graph *g);
/* Frees a piece's graphs and executables (keeps its plan). */
seam_status seam_graph_piece_release(graph_piece *p, int num_buckets);
/* Makes the executable of piece p hold bucket b (updating or re-instantiating it). */
seam_status seam_graph_piece_select(graph_piece *p, int b, int *updated, int *instantiated);

double seam_graph_now_ms(void);

#ifdef __cplusplus
}
#endif

#endif
