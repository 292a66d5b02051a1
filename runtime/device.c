/* Device discovery. The CUDA runtime is linked statically and loads the driver itself, so on
 * a machine without a driver these calls return an error instead of failing to load. */
#include <stdio.h>
#include <string.h>

#include "runtime/cuda_check.h"

seam_status seam_device_count(int *count) {
    SEAM_CHECK_PTR(count);
    *count = 0;
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
        (void)cudaGetLastError(); /* the failure is reported below; clear the sticky copy */
        seam_status s = seam_fail_cuda((int)err, "cudaGetDeviceCount(&n)", __FILE__, __LINE__, __func__);
        return s == SEAM_ERR_NO_DEVICE ? s
                                       : seam_fail(SEAM_ERR_NO_DEVICE, __func__,
                                                   "no usable GPU: cudaGetDeviceCount: %s: %s",
                                                   cudaGetErrorName(err), cudaGetErrorString(err));
    }
    if (n == 0) return seam_fail(SEAM_ERR_NO_DEVICE, __func__, "no GPU found");
    *count = n;
    return SEAM_OK;
}

seam_status seam_device_get_info(int ordinal, seam_device_info *info) {
    SEAM_CHECK_PTR(info);
    int n;
    SEAM_TRY(seam_device_count(&n));
    SEAM_CHECK_ARG(ordinal >= 0 && ordinal < n, "ordinal=%d is not in [0, %d)", ordinal, n);
    struct cudaDeviceProp prop;
    SEAM_CUDA_CHECK(cudaGetDeviceProperties(&prop, ordinal));
    memset(info, 0, sizeof *info);
    info->ordinal = ordinal;
    snprintf(info->name, sizeof info->name, "%s", prop.name);
    info->cc_major = prop.major;
    info->cc_minor = prop.minor;
    info->multiprocessors = prop.multiProcessorCount;
    info->total_memory = prop.totalGlobalMem;
    info->l2_bytes = (size_t)prop.l2CacheSize;
    SEAM_CUDA_CHECK(cudaDriverGetVersion(&info->driver_version));
    SEAM_CUDA_CHECK(cudaRuntimeGetVersion(&info->runtime_version));
    return SEAM_OK;
}
