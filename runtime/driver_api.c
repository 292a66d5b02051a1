#include "runtime/driver_api.h"

#include "runtime/cuda_check.h"

seam_status seam_driver_symbol(const char *symbol, void **fn) {
    SEAM_CHECK_PTR(symbol);
    SEAM_CHECK_PTR(fn);
    enum cudaDriverEntryPointQueryResult found;
    SEAM_CUDA_CHECK(cudaGetDriverEntryPointByVersion(symbol, fn, 12000, cudaEnableDefault, &found));
    if (found != cudaDriverEntryPointSuccess || *fn == NULL)
        return seam_fail(SEAM_ERR_UNSUPPORTED, __func__, "driver has no %s (query result %d)",
                         symbol, (int)found);
    return SEAM_OK;
}
