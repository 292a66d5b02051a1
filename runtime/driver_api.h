/* Internal: CUDA Driver API functions reached through the runtime's entry-point query, so
 * libseam never links libcuda and still loads on a machine without a driver. */
#ifndef SEAM_DRIVER_API_H
#define SEAM_DRIVER_API_H

#include "seam/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Looks up a Driver API symbol ("cuStreamGetCaptureInfo") for the CUDA 12.0 ABI. */
seam_status seam_driver_symbol(const char *symbol, void **fn);

#ifdef __cplusplus
}
#endif

#endif
