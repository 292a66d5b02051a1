/* Internal: argument checks shared by the built-in ops' check() functions, so every op
 * reports a bad argument the same way ("op 'topk': scores: dtype bf16, expected f32"). */
#ifndef SEAM_OP_ARGS_H
#define SEAM_OP_ARGS_H

#include "seam/op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The tensor in argument i, or NULL when the argument is an omitted optional one. */
const seam_tensor *seam_op_tensor(const seam_op_call *call, int i);
int64_t seam_op_int(const seam_op_call *call, int i);
double seam_op_float(const seam_op_call *call, int i);

/* Argument i is a tensor of this dtype and rank, contiguous when asked; on failure records
 * the op, the argument's name and what was expected. ndim < 0 accepts any rank. */
seam_status seam_op_expect_tensor(const seam_op_call *call, int i, seam_dtype dtype, int ndim,
                                  int contiguous);
/* Argument i's dimension dim equals want. */
seam_status seam_op_expect_dim(const seam_op_call *call, int i, int dim, int64_t want);
/* Argument i is an int in [lo, hi]. */
seam_status seam_op_expect_int_range(const seam_op_call *call, int i, int64_t lo, int64_t hi);

#ifdef __cplusplus
}
#endif

#endif
