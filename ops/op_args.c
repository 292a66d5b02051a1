#include "ops/op_args.h"

#include <stdio.h>

#include "runtime/error_impl.h"

static const char *arg_name(const seam_op_call *call, int i, char *buf, size_t n) {
    if (call->op->arg_names[i]) return call->op->arg_names[i];
    snprintf(buf, n, "args[%d]", i);
    return buf;
}

const seam_tensor *seam_op_tensor(const seam_op_call *call, int i) {
    return call->args[i].kind == SEAM_ARG_TENSOR ? &call->args[i].u.tensor : NULL;
}

int64_t seam_op_int(const seam_op_call *call, int i) { return call->args[i].u.i; }

double seam_op_float(const seam_op_call *call, int i) { return call->args[i].u.f; }

seam_status seam_op_expect_tensor(const seam_op_call *call, int i, seam_dtype dtype, int ndim,
                                  int contiguous) {
    char buf[16];
    const char *fn = "seam_op_call_check";
    const seam_tensor *t = seam_op_tensor(call, i);
    if (!t)
        return seam_fail(SEAM_ERR_INVALID_ARG, fn, "op '%s': %s is not a tensor", call->op->name,
                         arg_name(call, i, buf, sizeof buf));
    if (t->dtype != dtype)
        return seam_fail(SEAM_ERR_INVALID_ARG, fn, "op '%s': %s: dtype %s, expected %s",
                         call->op->name, arg_name(call, i, buf, sizeof buf),
                         seam_dtype_name(t->dtype), seam_dtype_name(dtype));
    if (ndim >= 0 && t->ndim != ndim)
        return seam_fail(SEAM_ERR_INVALID_ARG, fn, "op '%s': %s: %d dimensions, expected %d",
                         call->op->name, arg_name(call, i, buf, sizeof buf), t->ndim, ndim);
    if (contiguous && !seam_tensor_is_contiguous(t))
        return seam_fail(SEAM_ERR_INVALID_ARG, fn, "op '%s': %s is not contiguous",
                         call->op->name, arg_name(call, i, buf, sizeof buf));
    if (t->data == NULL && seam_tensor_bytes(t) > 0)
        return seam_fail(SEAM_ERR_INVALID_ARG, fn, "op '%s': %s has no data", call->op->name,
                         arg_name(call, i, buf, sizeof buf));
    return SEAM_OK;
}

seam_status seam_op_expect_dim(const seam_op_call *call, int i, int dim, int64_t want) {
    char buf[16];
    const seam_tensor *t = seam_op_tensor(call, i);
    if (!t || dim >= t->ndim || t->shape[dim] != want)
        return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check",
                         "op '%s': %s: shape[%d]=%lld, expected %lld", call->op->name,
                         arg_name(call, i, buf, sizeof buf), dim,
                         t && dim < t->ndim ? (long long)t->shape[dim] : -1LL, (long long)want);
    return SEAM_OK;
}

seam_status seam_op_expect_int_range(const seam_op_call *call, int i, int64_t lo, int64_t hi) {
    char buf[16];
    int64_t v = call->args[i].u.i;
    if (call->args[i].kind != SEAM_ARG_INT || v < lo || v > hi)
        return seam_fail(SEAM_ERR_INVALID_ARG, "seam_op_call_check",
                         "op '%s': %s=%lld is not in [%lld, %lld]", call->op->name,
                         arg_name(call, i, buf, sizeof buf), (long long)v, (long long)lo,
                         (long long)hi);
    return SEAM_OK;
}
