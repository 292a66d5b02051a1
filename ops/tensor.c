/* Tensor descriptions and argument constructors. */
#include <string.h>

#include "runtime/error_impl.h"
#include "seam/op.h"

size_t seam_dtype_size(seam_dtype dtype) {
    switch (dtype) {
    case SEAM_DTYPE_F32: case SEAM_DTYPE_I32: return 4;
    case SEAM_DTYPE_F16: case SEAM_DTYPE_BF16: return 2;
    case SEAM_DTYPE_FP8_E4M3: case SEAM_DTYPE_U8: return 1;
    case SEAM_DTYPE_I64: return 8;
    default: return 0;
    }
}

const char *seam_dtype_name(seam_dtype dtype) {
    switch (dtype) {
    case SEAM_DTYPE_F32: return "f32";
    case SEAM_DTYPE_F16: return "f16";
    case SEAM_DTYPE_BF16: return "bf16";
    case SEAM_DTYPE_FP8_E4M3: return "fp8_e4m3";
    case SEAM_DTYPE_I32: return "i32";
    case SEAM_DTYPE_I64: return "i64";
    case SEAM_DTYPE_U8: return "u8";
    default: return "invalid";
    }
}

seam_tensor seam_tensor_contiguous(void *data, seam_dtype dtype, int ndim, const int64_t *shape,
                                   int token_dim) {
    seam_tensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.dtype = dtype;
    t.ndim = ndim < 0 ? 0 : (ndim > SEAM_MAX_DIMS ? SEAM_MAX_DIMS : ndim);
    t.token_dim = token_dim;
    int64_t stride = 1;
    for (int i = t.ndim - 1; i >= 0; i--) {
        t.shape[i] = shape[i];
        t.strides[i] = stride;
        stride *= shape[i];
    }
    return t;
}

int seam_tensor_is_contiguous(const seam_tensor *t) {
    int64_t stride = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->strides[i] != stride) return 0;
        stride *= t->shape[i];
    }
    return 1;
}

size_t seam_tensor_bytes(const seam_tensor *t) {
    if (t->ndim == 0) return seam_dtype_size(t->dtype);
    int64_t last = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] == 0) return 0;
        last += (t->shape[i] - 1) * t->strides[i];
    }
    return (size_t)(last + 1) * seam_dtype_size(t->dtype);
}

seam_arg seam_arg_tensor(seam_tensor t) {
    seam_arg a;
    memset(&a, 0, sizeof a);
    a.kind = SEAM_ARG_TENSOR;
    a.u.tensor = t;
    return a;
}

seam_arg seam_arg_int(int64_t v) {
    seam_arg a;
    memset(&a, 0, sizeof a);
    a.kind = SEAM_ARG_INT;
    a.u.i = v;
    return a;
}

seam_arg seam_arg_float(double v) {
    seam_arg a;
    memset(&a, 0, sizeof a);
    a.kind = SEAM_ARG_FLOAT;
    a.u.f = v;
    return a;
}

seam_arg seam_arg_ptr(void *p) {
    seam_arg a;
    memset(&a, 0, sizeof a);
    a.kind = SEAM_ARG_PTR;
    a.u.ptr = p;
    return a;
}

seam_arg seam_arg_none(void) {
    seam_arg a;
    memset(&a, 0, sizeof a);
    return a;
}
