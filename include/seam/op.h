/* The op registry. An op descriptor says what an op is and whether it may be captured in a
 * CUDA graph; the graph builder knows ops only through it. Engines register their own ops
 * (a cuBLAS GEMM, their attention kernel) exactly as seam registers its built-ins.
 *
 * Capture classes (exactly one per op):
 *   SEAM_OP_CAPTURABLE                  safe inside a graph: no allocation, no sync, no host
 *                                       reads of batch values, a fixed launch sequence
 *   SEAM_OP_SPLIT                       must run eagerly between graph pieces (reads host
 *                                       batch values, synchronizes, ...)
 *   SEAM_OP_CAPTURABLE_WHEN_GRAPH_SAFE  split unless the config's graph_safe is on, in which
 *                                       case the op (or its run_graph_safe variant) is captured
 */
#ifndef SEAM_OP_H
#define SEAM_OP_H

#include <stddef.h>
#include <stdint.h>

#include "seam/context.h"
#include "seam/export.h"
#include "seam/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum seam_dtype {
    SEAM_DTYPE_F32 = 0,
    SEAM_DTYPE_F16 = 1,
    SEAM_DTYPE_BF16 = 2,
    SEAM_DTYPE_FP8_E4M3 = 3,
    SEAM_DTYPE_I32 = 4,
    SEAM_DTYPE_I64 = 5,
    SEAM_DTYPE_U8 = 6,
    SEAM_DTYPE_COUNT
} seam_dtype;

SEAM_API size_t seam_dtype_size(seam_dtype dtype);
SEAM_API const char *seam_dtype_name(seam_dtype dtype);

#define SEAM_MAX_DIMS 4
#define SEAM_NO_TOKEN_DIM (-1)

/* A strided view of device memory. token_dim names the dimension whose extent is the token
 * count (symbolic in a program: the graph builder sets it to the bucket size), or
 * SEAM_NO_TOKEN_DIM. Strides are in elements. */
typedef struct seam_tensor {
    void *data;
    seam_dtype dtype;
    int ndim;
    int64_t shape[SEAM_MAX_DIMS];
    int64_t strides[SEAM_MAX_DIMS];
    int token_dim;
} seam_tensor;

/* A contiguous row-major tensor description. */
SEAM_API seam_tensor seam_tensor_contiguous(void *data, seam_dtype dtype, int ndim,
                                            const int64_t *shape, int token_dim);
SEAM_API int seam_tensor_is_contiguous(const seam_tensor *t);
SEAM_API size_t seam_tensor_bytes(const seam_tensor *t); /* extent of its storage */

typedef enum seam_arg_kind {
    SEAM_ARG_NONE = 0,   /* optional argument left out */
    SEAM_ARG_TENSOR = 1,
    SEAM_ARG_INT = 2,
    SEAM_ARG_FLOAT = 3,
    SEAM_ARG_PTR = 4     /* opaque host pointer (an engine's handle, e.g. a cuBLAS handle) */
} seam_arg_kind;

typedef struct seam_arg {
    seam_arg_kind kind;
    union {
        seam_tensor tensor;
        int64_t i;
        double f;
        void *ptr;
    } u;
} seam_arg;

SEAM_API seam_arg seam_arg_tensor(seam_tensor t);
SEAM_API seam_arg seam_arg_int(int64_t v);
SEAM_API seam_arg seam_arg_float(double v);
SEAM_API seam_arg seam_arg_ptr(void *p);
SEAM_API seam_arg seam_arg_none(void);

#define SEAM_MAX_OP_ARGS 16

typedef struct seam_op seam_op;

/* One call of an op. num_tokens is the token count the call is shaped for: the bucket size
 * during capture and replay, the real count when run eagerly. Ops that must touch only real
 * tokens read the real count from the context (host view for split ops, device counts for
 * captured ones). */
typedef struct seam_op_call {
    const seam_op *op;
    int num_args;
    seam_arg args[SEAM_MAX_OP_ARGS];
    int num_tokens;
} seam_op_call;

enum seam_op_flags {
    SEAM_OP_CAPTURABLE = 1u << 0,
    SEAM_OP_SPLIT = 1u << 1,
    SEAM_OP_CAPTURABLE_WHEN_GRAPH_SAFE = 1u << 2
};

typedef seam_status (*seam_op_run_fn)(const seam_op_call *call, seam_context *ctx,
                                      seam_stream stream);
typedef seam_status (*seam_op_check_fn)(const seam_op_call *call);

/* An op descriptor. The registry copies it (and the name and argument-name strings), so the
 * caller's copy may go away after registration. */
struct seam_op {
    const char *name;
    uint32_t flags;     /* one capture class from seam_op_flags */
    int num_args;       /* arguments the op takes (<= SEAM_MAX_OP_ARGS) */
    seam_arg_kind arg_kinds[SEAM_MAX_OP_ARGS]; /* expected kind of each; an argument whose
                                                  bit is set in optional_args may be NONE */
    const char *arg_names[SEAM_MAX_OP_ARGS];   /* for messages and plans; may be NULL */
    uint32_t optional_args; /* bit i: argument i may be SEAM_ARG_NONE */
    uint32_t mutates;       /* bit i: argument i is written by the op */
    seam_op_check_fn check; /* optional: op-specific validation, before anything runs */
    seam_op_run_fn run;
    seam_op_run_fn run_graph_safe; /* optional: variant used when captured in graph-safe mode */
    void *user_data;        /* engine data, reachable through call->op->user_data */
};

typedef struct seam_registry seam_registry;

/* A registry with seam's built-in ops already registered. */
SEAM_API seam_status seam_registry_create(seam_registry **out);
/* An empty registry (tests, engines that want only their own ops). */
SEAM_API seam_status seam_registry_create_empty(seam_registry **out);
SEAM_API seam_status seam_registry_destroy(seam_registry *reg);

/* Register an op; SEAM_ERR_ALREADY_EXISTS when the name is taken, SEAM_ERR_INVALID_ARG when
 * the descriptor is malformed (no name, no run, not exactly one capture class, ...). */
SEAM_API seam_status seam_registry_register(seam_registry *reg, const seam_op *desc,
                                            const seam_op **registered);
SEAM_API seam_status seam_registry_find(const seam_registry *reg, const char *name,
                                        const seam_op **op);
SEAM_API int seam_registry_count(const seam_registry *reg);
SEAM_API seam_status seam_registry_get(const seam_registry *reg, int index, const seam_op **op);

/* The one answer to "may this op be captured" for a given graph-safe setting. */
SEAM_API int seam_op_is_capturable(const seam_op *op, int graph_safe);
/* "capturable", "split" or "capturable-when-graph-safe". */
SEAM_API const char *seam_op_class_string(const seam_op *op);

/* Check a call's arguments against its descriptor (count, kinds) and the op's own check. */
SEAM_API seam_status seam_op_call_check(const seam_op_call *call);
/* Check, then run the call on `stream` (the context's stream when NULL is not wanted: pass
 * the result of seam_context_stream). Uses run_graph_safe when the context is in graph-safe
 * mode and the op has one. */
SEAM_API seam_status seam_op_run(const seam_op_call *call, seam_context *ctx, seam_stream stream);

#ifdef __cplusplus
}
#endif

#endif
