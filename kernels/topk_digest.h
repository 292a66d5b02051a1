/* Internal: the determinism-digest kernel's launcher (kernels/topk_digest.cu). The public
 * entry point is seam_topk_digest (include/seam/comm.h, ops/comm_ops.c), which resolves a
 * seam_digest layer into these pointers. */
#ifndef SEAM_KERNELS_TOPK_DIGEST_H
#define SEAM_KERNELS_TOPK_DIGEST_H

#include <stdint.h>

#include "seam/runtime.h"
#include "seam/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hash rows of topk int32 [rows, k] into row_hashes [rows] and layer_entry [2] (layer hash,
 * real rows); real_rows (device, may be NULL) caps the rows that count. */
seam_status seam_topk_digest_launch(const int32_t *topk, int rows, int k, const int32_t *real_rows,
                                    uint64_t *row_hashes, uint64_t *layer_entry,
                                    seam_stream stream);

#ifdef __cplusplus
}
#endif

#endif
