/* Status strings, the per-thread last-error message and logging. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "runtime/error_impl.h"

#define SEAM_ERROR_CAPACITY 1024

static _Thread_local char last_error[SEAM_ERROR_CAPACITY];
static atomic_int log_level = SEAM_LOG_WARN;

int seam_version(void) { return SEAM_VERSION_CODE; }

const char *seam_status_string(seam_status status) {
    switch (status) {
    case SEAM_OK: return "SEAM_OK";
    case SEAM_ERR_INVALID_ARG: return "SEAM_ERR_INVALID_ARG";
    case SEAM_ERR_OUT_OF_MEMORY: return "SEAM_ERR_OUT_OF_MEMORY";
    case SEAM_ERR_CUDA: return "SEAM_ERR_CUDA";
    case SEAM_ERR_CUBLAS: return "SEAM_ERR_CUBLAS";
    case SEAM_ERR_NCCL: return "SEAM_ERR_NCCL";
    case SEAM_ERR_NO_DEVICE: return "SEAM_ERR_NO_DEVICE";
    case SEAM_ERR_UNSUPPORTED: return "SEAM_ERR_UNSUPPORTED";
    case SEAM_ERR_NOT_FOUND: return "SEAM_ERR_NOT_FOUND";
    case SEAM_ERR_ALREADY_EXISTS: return "SEAM_ERR_ALREADY_EXISTS";
    case SEAM_ERR_CAPTURE: return "SEAM_ERR_CAPTURE";
    case SEAM_ERR_TIMEOUT: return "SEAM_ERR_TIMEOUT";
    case SEAM_ERR_CONFIG: return "SEAM_ERR_CONFIG";
    case SEAM_ERR_STATE: return "SEAM_ERR_STATE";
    case SEAM_ERR_INTERNAL: return "SEAM_ERR_INTERNAL";
    }
    return "SEAM_ERR_UNKNOWN_STATUS";
}

const char *seam_last_error(void) { return last_error; }

void seam_clear_error(void) { last_error[0] = '\0'; }

static void set_error_v(const char *func, const char *fmt, va_list ap) {
    int n = snprintf(last_error, sizeof last_error, "%s: ", func);
    if (n < 0 || (size_t)n >= sizeof last_error) return;
    vsnprintf(last_error + n, sizeof last_error - (size_t)n, fmt, ap);
}

seam_status seam_fail(seam_status status, const char *func, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_error_v(func, fmt, ap);
    va_end(ap);
    seam_log(SEAM_LOG_DEBUG, "%s (%s)", last_error, seam_status_string(status));
    return status;
}

static seam_status status_of_cuda(int err) {
    switch ((cudaError_t)err) {
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorCompatNotSupportedOnDevice:
    case cudaErrorSystemDriverMismatch:
        return SEAM_ERR_NO_DEVICE;
    case cudaErrorMemoryAllocation:
        return SEAM_ERR_OUT_OF_MEMORY;
    case cudaErrorStreamCaptureUnsupported:
    case cudaErrorStreamCaptureInvalidated:
    case cudaErrorStreamCaptureMerge:
    case cudaErrorStreamCaptureUnmatched:
    case cudaErrorStreamCaptureUnjoined:
    case cudaErrorStreamCaptureIsolation:
    case cudaErrorStreamCaptureImplicit:
    case cudaErrorStreamCaptureWrongThread:
    case cudaErrorCapturedEvent:
    case cudaErrorGraphExecUpdateFailure:
        return SEAM_ERR_CAPTURE;
    default:
        return SEAM_ERR_CUDA;
    }
}

seam_status seam_fail_cuda(int err, const char *expr, const char *file, int line, const char *func) {
    return seam_fail(status_of_cuda(err), func, "%s:%d: %s: %s: %s", file, line, expr,
                     cudaGetErrorName((cudaError_t)err), cudaGetErrorString((cudaError_t)err));
}

/* cublasStatus_t values are stable across cuBLAS releases; naming them here keeps libseam
 * free of a link dependency on cuBLAS. */
static const char *cublas_status_name(int err) {
    switch (err) {
    case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case 3: return "CUBLAS_STATUS_ALLOC_FAILED";
    case 7: return "CUBLAS_STATUS_INVALID_VALUE";
    case 8: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case 11: return "CUBLAS_STATUS_MAPPING_ERROR";
    case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case 14: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case 15: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case 16: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_UNKNOWN";
    }
}

seam_status seam_fail_cublas(int err, const char *expr, const char *file, int line, const char *func) {
    return seam_fail(SEAM_ERR_CUBLAS, func, "%s:%d: %s: %s (%d)", file, line, expr,
                     cublas_status_name(err), err);
}

seam_status seam_fail_nccl(int err, const char *err_text, const char *last_text, const char *expr,
                           const char *file, int line, const char *func) {
    return seam_fail(SEAM_ERR_NCCL, func, "%s:%d: %s: NCCL error %d: %s%s%s", file, line, expr, err,
                     err_text ? err_text : "?", last_text && last_text[0] ? ": " : "",
                     last_text ? last_text : "");
}

void seam_set_log_level(seam_log_level level) {
    if (level < SEAM_LOG_ERROR) level = SEAM_LOG_ERROR;
    if (level > SEAM_LOG_DEBUG) level = SEAM_LOG_DEBUG;
    atomic_store(&log_level, (int)level);
}

seam_log_level seam_get_log_level(void) { return (seam_log_level)atomic_load(&log_level); }

void seam_log(seam_log_level level, const char *fmt, ...) {
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if ((int)level > atomic_load(&log_level)) return;
    char line[1280];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "seam %s: %s\n", names[level], line);
}
