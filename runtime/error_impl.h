/* Internal: recording failures into the per-thread last-error message. */
#ifndef SEAM_ERROR_IMPL_H
#define SEAM_ERROR_IMPL_H

#include "seam/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SEAM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SEAM_PRINTF(a, b)
#endif

/* Sets the last error to "func: <formatted>" and returns status. */
seam_status seam_fail(seam_status status, const char *func, const char *fmt, ...) SEAM_PRINTF(3, 4);

/* Maps a CUDA runtime error (cudaError_t as int) to a status and records
 * "func: file:line: expr: cudaErrorX: text". */
seam_status seam_fail_cuda(int err, const char *expr, const char *file, int line, const char *func);
/* Maps a cuBLAS status (cublasStatus_t as int) likewise; no link dependency on cuBLAS. */
seam_status seam_fail_cublas(int err, const char *expr, const char *file, int line, const char *func);
/* Records an NCCL failure whose text the caller already has (NCCL is loaded at run time). */
seam_status seam_fail_nccl(int err, const char *err_text, const char *last_text, const char *expr,
                           const char *file, int line, const char *func);

void seam_log(seam_log_level level, const char *fmt, ...) SEAM_PRINTF(2, 3);

/* Argument check at the top of a public function: on failure, record and return
 * SEAM_ERR_INVALID_ARG. The _IN form names another function (a helper checking on behalf
 * of the public function the caller called). */
#define SEAM_CHECK_ARG_IN(fn, cond, ...)                                                  \
    do {                                                                                  \
        if (!(cond)) return seam_fail(SEAM_ERR_INVALID_ARG, (fn), __VA_ARGS__);           \
    } while (0)
#define SEAM_CHECK_ARG(cond, ...) SEAM_CHECK_ARG_IN(__func__, cond, __VA_ARGS__)

#define SEAM_CHECK_PTR(p) SEAM_CHECK_ARG((p) != NULL, "%s is NULL", #p)

/* Propagate a failed seam_status. */
#define SEAM_TRY(expr)                                                                    \
    do {                                                                                  \
        seam_status s_try_ = (expr);                                                      \
        if (s_try_ != SEAM_OK) return s_try_;                                             \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif
