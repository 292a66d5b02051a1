/* The op registry: one table answers both "what is this op" and "may it be captured". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/builtin_ops.h"
#include "runtime/error_impl.h"

/* Registered ops keep stable addresses (programs hold pointers to them), so the table grows
 * in chunks that are never moved. */
#define CHUNK 64

typedef struct op_chunk {
    seam_op ops[CHUNK];
    struct op_chunk *next;
} op_chunk;

struct seam_registry {
    op_chunk *first, *last;
    int count;
};

static const uint32_t class_mask =
    SEAM_OP_CAPTURABLE | SEAM_OP_SPLIT | SEAM_OP_CAPTURABLE_WHEN_GRAPH_SAFE;

seam_status seam_registry_create_empty(seam_registry **out) {
    SEAM_CHECK_PTR(out);
    *out = calloc(1, sizeof **out);
    if (!*out) return seam_fail(SEAM_ERR_OUT_OF_MEMORY, __func__, "registry allocation failed");
    return SEAM_OK;
}

seam_status seam_registry_create(seam_registry **out) {
    SEAM_TRY(seam_registry_create_empty(out));
    seam_status s = seam_register_builtin_ops(*out);
    if (s != SEAM_OK) {
        seam_registry_destroy(*out);
        *out = NULL;
    }
    return s;
}

static void free_op_strings(seam_op *op) {
    free((char *)op->name);
    for (int i = 0; i < SEAM_MAX_OP_ARGS; i++) free((char *)op->arg_names[i]);
}

seam_status seam_registry_destroy(seam_registry *reg) {
    if (!reg) return SEAM_OK;
    int left = reg->count;
    for (op_chunk *c = reg->first, *next; c; c = next) {
        next = c->next;
        for (int i = 0; i < CHUNK && left > 0; i++, left--) free_op_strings(&c->ops[i]);
        free(c);
    }
    free(reg);
    return SEAM_OK;
}

static seam_op *slot(const seam_registry *reg, int index) {
    op_chunk *c = reg->first;
    for (; index >= CHUNK; index -= CHUNK) c = c->next;
    return &c->ops[index];
}

static int is_single_bit(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

static seam_status check_desc(const seam_op *d) {
    const char *fn = "seam_registry_register";
    if (!d->name || !d->name[0]) return seam_fail(SEAM_ERR_INVALID_ARG, fn, "desc->name is empty");
    if (!d->run) return seam_fail(SEAM_ERR_INVALID_ARG, fn, "op '%s': desc->run is NULL", d->name);
    if ((d->flags & ~class_mask) || !is_single_bit(d->flags & class_mask))
        return seam_fail(SEAM_ERR_INVALID_ARG, fn,
                         "op '%s': flags=0x%x must hold exactly one of SEAM_OP_CAPTURABLE, "
                         "SEAM_OP_SPLIT, SEAM_OP_CAPTURABLE_WHEN_GRAPH_SAFE",
                         d->name, (unsigned)d->flags);
    if (d->num_args < 0 || d->num_args > SEAM_MAX_OP_ARGS)
        return seam_fail(SEAM_ERR_INVALID_ARG, fn, "op '%s': num_args=%d is not in [0, %d]",
                         d->name, d->num_args, SEAM_MAX_OP_ARGS);
    uint32_t arg_bits = (1u << d->num_args) - 1u;
    if ((d->mutates & ~arg_bits) || (d->optional_args & ~arg_bits))
        return seam_fail(SEAM_ERR_INVALID_ARG, fn,
                         "op '%s': mutates=0x%x or optional_args=0x%x names an argument past "
                         "num_args=%d", d->name, (unsigned)d->mutates, (unsigned)d->optional_args,
                         d->num_args);
    for (int i = 0; i < d->num_args; i++)
        if (d->arg_kinds[i] < SEAM_ARG_NONE || d->arg_kinds[i] > SEAM_ARG_PTR)
            return seam_fail(SEAM_ERR_INVALID_ARG, fn, "op '%s': arg_kinds[%d]=%d is not a seam_arg_kind",
                             d->name, i, (int)d->arg_kinds[i]);
    return SEAM_OK;
}

static char *dup_string(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

seam_status seam_registry_register(seam_registry *reg, const seam_op *desc, const seam_op **registered) {
    SEAM_CHECK_PTR(reg);
    SEAM_CHECK_PTR(desc);
    SEAM_TRY(check_desc(desc));
    const seam_op *existing;
    if (seam_registry_find(reg, desc->name, &existing) == SEAM_OK)
        return seam_fail(SEAM_ERR_ALREADY_EXISTS, __func__, "an op named '%s' is already registered",
                         desc->name);
    seam_clear_error();
    if (reg->count % CHUNK == 0) {
        op_chunk *c = calloc(1, sizeof *c);
        if (!c) return seam_fail(SEAM_ERR_OUT_OF_MEMORY, __func__, "registry growth failed");
        if (reg->last) reg->last->next = c;
        else reg->first = c;
        reg->last = c;
    }
    seam_op copy = *desc;
    int ok = (copy.name = dup_string(desc->name)) != NULL;
    for (int i = 0; i < SEAM_MAX_OP_ARGS; i++) {
        copy.arg_names[i] = i < desc->num_args ? dup_string(desc->arg_names[i]) : NULL;
        if (i < desc->num_args && desc->arg_names[i] && !copy.arg_names[i]) ok = 0;
    }
    if (!ok) {
        free_op_strings(&copy);
        return seam_fail(SEAM_ERR_OUT_OF_MEMORY, __func__, "copying op '%s' failed", desc->name);
    }
    seam_op *dst = slot(reg, reg->count);
    *dst = copy;
    reg->count++;
    if (registered) *registered = dst;
    return SEAM_OK;
}

seam_status seam_registry_find(const seam_registry *reg, const char *name, const seam_op **op) {
    SEAM_CHECK_PTR(reg);
    SEAM_CHECK_PTR(name);
    SEAM_CHECK_PTR(op);
    for (int i = 0; i < reg->count; i++) {
        const seam_op *o = slot(reg, i);
        if (strcmp(o->name, name) == 0) {
            *op = o;
            return SEAM_OK;
        }
    }
    *op = NULL;
    return seam_fail(SEAM_ERR_NOT_FOUND, __func__, "no op named '%s' is registered", name);
}

int seam_registry_count(const seam_registry *reg) { return reg ? reg->count : 0; }

seam_status seam_registry_get(const seam_registry *reg, int index, const seam_op **op) {
    SEAM_CHECK_PTR(reg);
    SEAM_CHECK_PTR(op);
    SEAM_CHECK_ARG(index >= 0 && index < reg->count, "index=%d is not in [0, %d)", index, reg->count);
    *op = slot(reg, index);
    return SEAM_OK;
}

int seam_op_is_capturable(const seam_op *op, int graph_safe) {
    if (!op) return 0;
    if (op->flags & SEAM_OP_CAPTURABLE) return 1;
    if (op->flags & SEAM_OP_CAPTURABLE_WHEN_GRAPH_SAFE) return graph_safe != 0;
    return 0;
}

const char *seam_op_class_string(const seam_op *op) {
    if (!op) return "none";
    if (op->flags & SEAM_OP_CAPTURABLE) return "capturable";
    if (op->flags & SEAM_OP_SPLIT) return "split";
    return "capturable-when-graph-safe";
}

static const char *arg_label(const seam_op *op, int i, char *buf, size_t n) {
    if (op->arg_names[i]) return op->arg_names[i];
    snprintf(buf, n, "args[%d]", i);
    return buf;
}

seam_status seam_op_call_check(const seam_op_call *call) {
    SEAM_CHECK_PTR(call);
    SEAM_CHECK_PTR(call->op);
    const seam_op *op = call->op;
    SEAM_CHECK_ARG(call->num_args >= 0 && call->num_args <= SEAM_MAX_OP_ARGS,
                   "call->num_args=%d is not in [0, %d]", call->num_args, SEAM_MAX_OP_ARGS);
    SEAM_CHECK_ARG(call->num_args == op->num_args, "op '%s' takes %d arguments, call has %d",
                   op->name, op->num_args, call->num_args);
    SEAM_CHECK_ARG(call->num_tokens >= 0, "op '%s': num_tokens=%d is negative", op->name,
                   call->num_tokens);
    for (int i = 0; i < call->num_args; i++) {
        char label[16];
        seam_arg_kind got = call->args[i].kind, want = op->arg_kinds[i];
        if (got == SEAM_ARG_NONE && (op->optional_args & (1u << i))) continue;
        SEAM_CHECK_ARG(got == want, "op '%s': argument %s has kind %d, expected %d", op->name,
                       arg_label(op, i, label, sizeof label), (int)got, (int)want);
        if (got == SEAM_ARG_TENSOR) {
            const seam_tensor *t = &call->args[i].u.tensor;
            SEAM_CHECK_ARG(t->dtype >= 0 && t->dtype < SEAM_DTYPE_COUNT && t->ndim >= 0 &&
                               t->ndim <= SEAM_MAX_DIMS,
                           "op '%s': tensor %s has dtype=%d ndim=%d", op->name,
                           arg_label(op, i, label, sizeof label), (int)t->dtype, t->ndim);
        }
    }
    return op->check ? op->check(call) : SEAM_OK;
}

seam_status seam_op_run(const seam_op_call *call, seam_context *ctx, seam_stream stream) {
    SEAM_TRY(seam_op_call_check(call));
    const seam_config *cfg = seam_context_config(ctx);
    seam_op_run_fn run = call->op->run;
    if (cfg && cfg->graph_safe && call->op->run_graph_safe) run = call->op->run_graph_safe;
    return run(call, ctx, stream);
}
