/* Piecewise CUDA graphs: an engine describes its forward once as a program (op calls on
 * tensors); seam cuts it into pieces at split ops, captures every piece for every token
 * bucket into one static arena, and replays the pieces with the split ops run eagerly in
 * between.
 *
 *   seam_program_create(&prog, reg);                     ops come from this registry
 *   seam_program_add_tensor(prog, "h", SEAM_DTYPE_BF16, 2, (int64_t[]){0, 7168}, 0, &h);
 *   seam_program_add_call(prog, "rms_norm", 3, (seam_program_arg[]){...}, NULL);
 *   seam_graph_build(&graph, prog, ctx, NULL);           plan, arena, capture all buckets
 *   seam_program_destroy(prog);                          the graph keeps its own copy
 *   for each forward: seam_context_set_batch(ctx, &batch); seam_graph_run(graph);
 *
 * Tensors are numbered in the order they are added. An arena tensor has a dtype and a
 * contiguous shape whose token dimension is symbolic: it takes the token count of the
 * forward (the bucket size when replayed). The arena is one device allocation sized for the
 * context's max_tokens, shared by every bucket; each tensor sits at a fixed, 256-byte
 * aligned offset (persistent tensors alone in their slot, scratch tensors sharing space
 * with those whose live ranges do not overlap). An external tensor is engine memory at a fixed address (weights, the KV
 * cache, an input buffer); its token dimension, if any, must hold max_tokens rows.
 *
 * Lifetimes: the graph borrows the context and the registry's op descriptors (both must
 * outlive it); the program may be destroyed after the build. Threads: like its context, a
 * graph is used by one thread at a time; several graphs may share a context (each has its
 * own arena) as long as their runs are not interleaved with another batch. */
#ifndef SEAM_GRAPH_H
#define SEAM_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "seam/context.h"
#include "seam/export.h"
#include "seam/op.h"
#include "seam/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- programs --------------------------------------------------------------------------- */

typedef struct seam_program seam_program;

#define SEAM_PROGRAM_NAME_MAX 64 /* tensor names, terminator included */
#define SEAM_ARENA_ALIGNMENT 256

/* One argument of a program call: a tensor by id, or a scalar value. */
typedef struct seam_program_arg {
    seam_arg_kind kind;
    int tensor; /* SEAM_ARG_TENSOR: id from seam_program_add_tensor/_external */
    int64_t i;
    double f;
    void *ptr;
} seam_program_arg;

SEAM_API seam_program_arg seam_program_arg_tensor(int id);
SEAM_API seam_program_arg seam_program_arg_int(int64_t v);
SEAM_API seam_program_arg seam_program_arg_float(double v);
SEAM_API seam_program_arg seam_program_arg_ptr(void *p);
SEAM_API seam_program_arg seam_program_arg_none(void);

/* An empty program whose calls name ops of `reg` (borrowed). */
SEAM_API seam_status seam_program_create(seam_program **out, const seam_registry *reg);
SEAM_API seam_status seam_program_destroy(seam_program *prog); /* accepts NULL */

/* An arena tensor: contiguous, row-major; shape[token_dim] is ignored (symbolic) unless
 * token_dim is SEAM_NO_TOKEN_DIM; every other extent must be positive. Names are unique. */
SEAM_API seam_status seam_program_add_tensor(seam_program *prog, const char *name, seam_dtype dtype,
                                             int ndim, const int64_t *shape, int token_dim,
                                             int *id);
/* A scratch arena tensor: like seam_program_add_tensor, but its contents matter only from
 * the call that first writes it (its first use must be an argument the op mutates) to the
 * call that last uses it. Scratch tensors whose live ranges do not overlap share arena
 * space, so an engine may declare every intermediate of every layer without multiplying
 * the arena. Read it through seam_graph_tensor only for debugging: later calls may have
 * overwritten it. */
SEAM_API seam_status seam_program_add_scratch(seam_program *prog, const char *name, seam_dtype dtype,
                                              int ndim, const int64_t *shape, int token_dim,
                                              int *id);
/* An external tensor at a fixed device address. With a token dimension, shape[token_dim] is
 * its row capacity; calls see the forward's token count there, with the given strides. */
SEAM_API seam_status seam_program_add_external(seam_program *prog, const char *name,
                                               const seam_tensor *tensor, int *id);
/* Appends a call of the registered op `op_name`. The arguments are checked against the
 * descriptor now (count, kinds, tensor ids); on a device context the op's own check runs
 * at build on the materialized tensors at max_tokens, the smallest bucket and 1 token (and
 * again on every eager run). *index (may be NULL) is the call's position. */
SEAM_API seam_status seam_program_add_call(seam_program *prog, const char *op_name, int num_args,
                                           const seam_program_arg *args, int *index);
SEAM_API int seam_program_num_calls(const seam_program *prog);
SEAM_API int seam_program_num_tensors(const seam_program *prog);

/* ---- graphs ----------------------------------------------------------------------------- */

typedef struct seam_graph seam_graph;

/* How captured pieces become executable graphs. */
typedef enum seam_graph_exec_mode {
    /* One executable per piece: instantiated once from the largest bucket; every other
     * bucket's capture is applied with cudaGraphExecUpdate (a new executable only where the
     * update reports a topology change). A run on a different bucket than the previous one
     * updates the piece's executable again before launching it. Fewest instantiations. */
    SEAM_GRAPH_EXEC_UPDATE = 0,
    /* One executable per piece and bucket, each instantiated: switching buckets costs
     * nothing at run time; the build instantiates pieces x buckets graphs. */
    SEAM_GRAPH_EXEC_PER_BUCKET = 1
} seam_graph_exec_mode;

typedef struct seam_graph_options {
    size_t struct_size;
    int capture;     /* 1: capture the pieces (needs a device context); 0: plan and arena
                        only, every run is eager */
    seam_graph_exec_mode exec_mode;
    int warmup;      /* 1: run the program eagerly once at the largest bucket before
                        capturing (lazy module loading, library handles), with the
                        context's current batch (an idle one unless the engine set one) */
    int progress;    /* -1: when stderr is a terminal or SEAM_LOG >= info; 0 off; 1 on */
} seam_graph_options;

#define SEAM_GRAPH_OPTIONS_INITIALIZER \
    { sizeof(seam_graph_options), 1, SEAM_GRAPH_EXEC_UPDATE, 1, -1 }

/* Plans the program for the context (graph_safe and piecewise from its config, buckets from
 * seam_config_capture_sizes with its max_tokens), allocates and zeroes the arena and captures
 * every piece for every bucket, largest first. opts may be NULL (defaults).
 *
 * A host context (SEAM_DEVICE_HOST) gets the plan only: no arena, no capture, and
 * seam_graph_run returns SEAM_ERR_NO_DEVICE; the report and DOT export work.
 *
 * A piece that fails to capture (one of its ops synchronizes, allocates, ...) is ended
 * cleanly and runs eagerly from then on; the build still returns SEAM_OK, the failure is
 * logged (warn) with the op's name, left in seam_last_error() and in the piece's step. */
SEAM_API seam_status seam_graph_build(seam_graph **out, const seam_program *prog, seam_context *ctx,
                                      const seam_graph_options *opts);
/* Waits for the context's stream, then frees every graph, executable and the arena. */
SEAM_API seam_status seam_graph_destroy(seam_graph *graph);

/* Runs the forward for the context's current batch on its stream (asynchronously).
 * padded = counts[SEAM_COUNT_PADDED_TOKENS]: when it is one of the graph's buckets the
 * pieces are replayed and split ops run eagerly in between with num_tokens = padded;
 * otherwise (above the largest bucket, SEAM_PIECEWISE=0, capture off) every call runs
 * eagerly with num_tokens = the real count. */
SEAM_API seam_status seam_graph_run(seam_graph *graph);

/* What seam_graph_run would do for the context's current batch. */
typedef struct seam_graph_dispatch {
    int tokens;        /* real new tokens */
    int padded_tokens; /* token count the calls are shaped for */
    int bucket;        /* index of padded_tokens in the graph's buckets, or -1 */
    int replay;        /* 1: pieces are replayed (a bucket, and the graph was captured);
                          0: every call runs eagerly at the real count */
} seam_graph_dispatch;
SEAM_API seam_status seam_graph_dispatch_of(const seam_graph *graph, seam_graph_dispatch *out);

/* Tensor `id` as calls see it at num_tokens tokens (arena or external address), e.g. for
 * the engine to fill inputs and read outputs. SEAM_ERR_NO_DEVICE for an arena tensor of a
 * plan-only graph (it has no arena). */
SEAM_API seam_status seam_graph_tensor(const seam_graph *graph, int id, int num_tokens,
                                       seam_tensor *out);

/* ---- report ----------------------------------------------------------------------------- */

typedef enum seam_graph_step_kind {
    SEAM_GRAPH_STEP_PIECE = 0, /* a captured (or, after a failed capture, eager) stretch */
    SEAM_GRAPH_STEP_SPLIT = 1  /* one op run eagerly between pieces */
} seam_graph_step_kind;

/* The plan is a sequence of steps in program order. Strings live as long as the graph. */
typedef struct seam_graph_step {
    seam_graph_step_kind kind;
    int piece;             /* piece id, or -1 for a split step */
    int first_call;        /* program call index */
    int num_calls;         /* 1 for a split step */
    int eager;             /* piece not captured: capture off, host plan, or capture failed */
    const char *failed_op; /* the op that broke the piece's capture, else NULL */
    const char *failure;   /* why ("" when none) */
} seam_graph_step;

typedef struct seam_graph_bucket {
    int tokens;
    double capture_ms;     /* stream capture of every piece at this bucket */
    double instantiate_ms; /* cudaGraphInstantiate (+ upload) at this bucket */
    double update_ms;      /* cudaGraphExecUpdate at this bucket */
    int instantiations;
    int updates;           /* successful updates */
    int update_refusals;   /* updates refused (topology changed): re-instantiated */
} seam_graph_bucket;

typedef struct seam_graph_stats {
    size_t struct_size;    /* set to sizeof(seam_graph_stats) before the call */
    int num_calls;
    int num_steps;
    int num_pieces;
    int num_split_ops;
    int num_eager_pieces;  /* pieces whose capture failed (or was not attempted) */
    int num_buckets;
    int graph_safe;
    int piecewise;
    int captured;          /* 1 when the pieces were captured */
    seam_graph_exec_mode exec_mode;
    int arena_tokens;      /* token count the arena is sized for (max_tokens) */
    size_t arena_bytes;
    size_t arena_need_bytes; /* sum of the arena tensors at arena_tokens, unaligned and
                                unshared (what the arena would be without scratch sharing) */
    int num_scratch;       /* scratch tensors (sharing arena space by live range) */
    double warmup_ms;
    double build_ms;       /* whole build: plan, arena, warm-up, capture */
    double capture_total_ms; /* capture + instantiate + update over every bucket */
    int num_graphs;        /* captured graphs kept (pieces x buckets) */
    int num_execs;         /* executable graphs alive */
    int runtime_updates;   /* cudaGraphExecUpdate calls made by seam_graph_run */
    int runtime_instantiations; /* re-instantiations by seam_graph_run */
} seam_graph_stats;

#define SEAM_GRAPH_STATS_INITIALIZER                                                        \
    { sizeof(seam_graph_stats), 0, 0, 0, 0, 0, 0, 0, 0, 0, SEAM_GRAPH_EXEC_UPDATE, 0, 0, 0, 0, 0.0, \
      0.0, 0.0, 0, 0, 0, 0 }

SEAM_API seam_status seam_graph_get_stats(const seam_graph *graph, seam_graph_stats *out);
SEAM_API seam_status seam_graph_get_step(const seam_graph *graph, int index, seam_graph_step *out);
SEAM_API seam_status seam_graph_get_bucket(const seam_graph *graph, int index, seam_graph_bucket *out);

/* Human-readable plan: pieces with their ops, split points, buckets, arena, capture times. */
SEAM_API seam_status seam_graph_write_plan(const seam_graph *graph, FILE *f);
/* The plan as Graphviz DOT: one cluster per piece, split ops as red boxes. */
SEAM_API seam_status seam_graph_write_dot(const seam_graph *graph, FILE *f);
/* The captured CUDA graph of one piece at one bucket (tokens), through
 * cudaGraphDebugDotPrint. SEAM_ERR_STATE when that piece was not captured. */
SEAM_API seam_status seam_graph_dump_piece(const seam_graph *graph, int piece, int tokens,
                                           const char *path);

#ifdef __cplusplus
}
#endif

#endif
