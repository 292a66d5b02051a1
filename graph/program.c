/* seam_program: the recorded forward, i.e. tensors (arena or external) and op calls whose
 * arguments name tensors by id. Everything an engine can get wrong is rejected here, with the
 * tensor, call and op named, before any device work. */
#include <stdlib.h>
#include <string.h>

#include "graph/graph_impl.h"
#include "runtime/error_impl.h"

seam_program_arg seam_program_arg_tensor(int id) {
    seam_program_arg a;
    memset(&a, 0, sizeof a);
    a.kind = SEAM_ARG_TENSOR;
    a.tensor = id;
    return a;
}

seam_program_arg seam_program_arg_int(int64_t v) {
    seam_program_arg a;
    memset(&a, 0, sizeof a);
    a.kind = SEAM_ARG_INT;
    a.tensor = -1;
    a.i = v;
    return a;
}

seam_program_arg seam_program_arg_float(double v) {
    seam_program_arg a;
    memset(&a, 0, sizeof a);
    a.kind = SEAM_ARG_FLOAT;
    a.tensor = -1;
    a.f = v;
    return a;
}

seam_program_arg seam_program_arg_ptr(void *p) {
    seam_program_arg a;
    memset(&a, 0, sizeof a);
    a.kind = SEAM_ARG_PTR;
    a.tensor = -1;
    a.ptr = p;
    return a;
}

seam_program_arg seam_program_arg_none(void) {
    seam_program_arg a;
    memset(&a, 0, sizeof a);
    a.kind = SEAM_ARG_NONE;
    a.tensor = -1;
    return a;
}

seam_status seam_program_create(seam_program **out, const seam_registry *reg) {
    SEAM_CHECK_PTR(out);
    *out = NULL;
    SEAM_CHECK_PTR(reg);
    seam_program *p = calloc(1, sizeof *p);
    if (!p) return seam_fail(SEAM_ERR_OUT_OF_MEMORY, __func__, "program allocation failed");
    p->reg = reg;
    *out = p;
    return SEAM_OK;
}

seam_status seam_program_destroy(seam_program *prog) {
    if (!prog) return SEAM_OK;
    free(prog->tensors);
    free(prog->calls);
    free(prog);
    return SEAM_OK;
}

int seam_program_num_calls(const seam_program *prog) { return prog ? prog->num_calls : 0; }
int seam_program_num_tensors(const seam_program *prog) { return prog ? prog->num_tensors : 0; }

static seam_status grow(void **items, int *cap, int need, size_t size, const char *fn) {
    if (need <= *cap) return SEAM_OK;
    int next = *cap ? *cap * 2 : 16;
    while (next < need) next *= 2;
    void *p = realloc(*items, (size_t)next * size);
    if (!p) return seam_fail(SEAM_ERR_OUT_OF_MEMORY, fn, "growing the program to %d entries failed", next);
    *items = p;
    *cap = next;
    return SEAM_OK;
}

static seam_status check_name(const seam_program *prog, const char *name, const char *fn) {
    if (!name || !name[0]) return seam_fail(SEAM_ERR_INVALID_ARG, fn, "name is empty");
    if (strlen(name) >= SEAM_PROGRAM_NAME_MAX)
        return seam_fail(SEAM_ERR_INVALID_ARG, fn, "name '%s' is longer than %d characters", name,
                         SEAM_PROGRAM_NAME_MAX - 1);
    for (int i = 0; i < prog->num_tensors; i++)
        if (strcmp(prog->tensors[i].name, name) == 0)
            return seam_fail(SEAM_ERR_ALREADY_EXISTS, fn, "tensor '%s' already exists (id %d)", name, i);
    return SEAM_OK;
}

static seam_status check_shape(const char *name, seam_dtype dtype, int ndim, const int64_t *shape,
                               int token_dim, const char *fn) {
    if (dtype < 0 || dtype >= SEAM_DTYPE_COUNT)
        return seam_fail(SEAM_ERR_INVALID_ARG, fn, "tensor '%s': dtype=%d is not a seam_dtype", name,
                         (int)dtype);
    if (ndim < 1 || ndim > SEAM_MAX_DIMS)
        return seam_fail(SEAM_ERR_INVALID_ARG, fn, "tensor '%s': ndim=%d is not in [1, %d]", name,
                         ndim, SEAM_MAX_DIMS);
    if (!shape) return seam_fail(SEAM_ERR_INVALID_ARG, fn, "tensor '%s': shape is NULL", name);
    if (token_dim != SEAM_NO_TOKEN_DIM && (token_dim < 0 || token_dim >= ndim))
        return seam_fail(SEAM_ERR_INVALID_ARG, fn,
                         "tensor '%s': token_dim=%d is not in [0, %d) or SEAM_NO_TOKEN_DIM", name,
                         token_dim, ndim);
    return SEAM_OK;
}

static seam_status add_arena_tensor(seam_program *prog, const char *name, seam_dtype dtype, int ndim,
                                    const int64_t *shape, int token_dim, int scratch, int *id,
                                    const char *fn);

seam_status seam_program_add_tensor(seam_program *prog, const char *name, seam_dtype dtype, int ndim,
                                    const int64_t *shape, int token_dim, int *id) {
    return add_arena_tensor(prog, name, dtype, ndim, shape, token_dim, 0, id, __func__);
}

seam_status seam_program_add_scratch(seam_program *prog, const char *name, seam_dtype dtype, int ndim,
                                     const int64_t *shape, int token_dim, int *id) {
    return add_arena_tensor(prog, name, dtype, ndim, shape, token_dim, 1, id, __func__);
}

static seam_status add_arena_tensor(seam_program *prog, const char *name, seam_dtype dtype, int ndim,
                                    const int64_t *shape, int token_dim, int scratch, int *id,
                                    const char *fn) {
    if (!prog) return seam_fail(SEAM_ERR_INVALID_ARG, fn, "prog is NULL");
    SEAM_TRY(check_name(prog, name, fn));
    SEAM_TRY(check_shape(name, dtype, ndim, shape, token_dim, fn));
    int64_t elems = 1;
    for (int d = 0; d < ndim; d++) {
        if (d == token_dim) continue;
        if (shape[d] <= 0 || shape[d] > ((int64_t)1 << 40))
            return seam_fail(SEAM_ERR_INVALID_ARG, fn,
                             "tensor '%s': shape[%d]=%lld is not positive (only the token dimension "
                             "%d is symbolic)", name, d, (long long)shape[d], token_dim);
        elems *= shape[d];
        if (elems > ((int64_t)1 << 40)) return seam_fail(SEAM_ERR_INVALID_ARG, fn, "tensor '%s' is too large", name);
    }
    SEAM_TRY(grow((void **)&prog->tensors, &prog->cap_tensors, prog->num_tensors + 1,
                  sizeof(prog_tensor), fn));
    prog_tensor *t = &prog->tensors[prog->num_tensors];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->scratch = scratch;
    t->dtype = dtype;
    t->ndim = ndim;
    t->token_dim = token_dim;
    for (int d = 0; d < ndim; d++) t->shape[d] = d == token_dim ? 0 : shape[d];
    if (id) *id = prog->num_tensors;
    prog->num_tensors++;
    return SEAM_OK;
}

seam_status seam_program_add_external(seam_program *prog, const char *name, const seam_tensor *tensor,
                                      int *id) {
    SEAM_CHECK_PTR(prog);
    SEAM_CHECK_PTR(tensor);
    SEAM_TRY(check_name(prog, name, __func__));
    SEAM_TRY(check_shape(name, tensor->dtype, tensor->ndim, tensor->shape, tensor->token_dim, __func__));
    for (int d = 0; d < tensor->ndim; d++)
        SEAM_CHECK_ARG(tensor->shape[d] > 0 && tensor->strides[d] >= 0,
                       "external tensor '%s': shape[%d]=%lld, strides[%d]=%lld (extents must be "
                       "positive, strides not negative)", name, d, (long long)tensor->shape[d], d,
                       (long long)tensor->strides[d]);
    SEAM_CHECK_ARG(tensor->data != NULL, "external tensor '%s': data is NULL", name);
    SEAM_TRY(grow((void **)&prog->tensors, &prog->cap_tensors, prog->num_tensors + 1,
                  sizeof(prog_tensor), __func__));
    prog_tensor *t = &prog->tensors[prog->num_tensors];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->external = 1;
    t->dtype = tensor->dtype;
    t->ndim = tensor->ndim;
    t->token_dim = tensor->token_dim;
    t->data = tensor->data;
    for (int d = 0; d < tensor->ndim; d++) {
        t->shape[d] = tensor->shape[d];
        t->strides[d] = tensor->strides[d];
    }
    if (id) *id = prog->num_tensors;
    prog->num_tensors++;
    return SEAM_OK;
}

static const char *arg_label(const seam_op *op, int i, char *buf, size_t n) {
    if (op->arg_names[i]) return op->arg_names[i];
    snprintf(buf, n, "args[%d]", i);
    return buf;
}

seam_status seam_program_add_call(seam_program *prog, const char *op_name, int num_args,
                                  const seam_program_arg *args, int *index) {
    SEAM_CHECK_PTR(prog);
    SEAM_CHECK_PTR(op_name);
    SEAM_CHECK_ARG(num_args == 0 || args != NULL, "op '%s': args is NULL with num_args=%d", op_name,
                   num_args);
    const seam_op *op;
    if (seam_registry_find(prog->reg, op_name, &op) != SEAM_OK)
        return seam_fail(SEAM_ERR_NOT_FOUND, __func__, "call %d: no op named '%s' is registered",
                         prog->num_calls, op_name);
    SEAM_CHECK_ARG(num_args == op->num_args, "call %d: op '%s' takes %d arguments, got %d",
                   prog->num_calls, op_name, op->num_args, num_args);
    for (int i = 0; i < num_args; i++) {
        char label[24];
        const seam_program_arg *a = &args[i];
        if (a->kind == SEAM_ARG_NONE && (op->optional_args & (1u << i))) continue;
        SEAM_CHECK_ARG(a->kind == op->arg_kinds[i],
                       "call %d: op '%s': argument %s has kind %d, expected %d", prog->num_calls,
                       op_name, arg_label(op, i, label, sizeof label), (int)a->kind,
                       (int)op->arg_kinds[i]);
        if (a->kind == SEAM_ARG_TENSOR)
            SEAM_CHECK_ARG(a->tensor >= 0 && a->tensor < prog->num_tensors,
                           "call %d: op '%s': argument %s names tensor id %d, the program has %d",
                           prog->num_calls, op_name, arg_label(op, i, label, sizeof label),
                           a->tensor, prog->num_tensors);
    }
    SEAM_TRY(grow((void **)&prog->calls, &prog->cap_calls, prog->num_calls + 1, sizeof(prog_call),
                  __func__));
    prog_call *c = &prog->calls[prog->num_calls];
    memset(c, 0, sizeof *c);
    c->op = op;
    c->num_args = num_args;
    for (int i = 0; i < num_args; i++) c->args[i] = args[i];
    if (index) *index = prog->num_calls;
    prog->num_calls++;
    return SEAM_OK;
}
