/* Internal layout of seam_comm and seam_digest. */
#ifndef SEAM_COMM_IMPL_H
#define SEAM_COMM_IMPL_H

#include <stdint.h>

#include "runtime/nccl_api.h"
#include "seam/comm.h"

#ifdef __cplusplus
extern "C" {
#endif

struct seam_comm {
    int rank, size, device;
    int owned;        /* seam created the NCCL communicator and may abort/destroy it */
    int aborted;      /* aborted after a timeout or an asynchronous error */
    int timeout_ms;
    int wait_eager;
    const seam_nccl_api *api; /* NULL: a world of one without NCCL */
    seam_nccl_comm_t nccl;
    void *scratch;    /* device buffer for gathers (digest check), grown on demand */
    size_t scratch_bytes;
};

/* Device block of uint64: [num_layers][2] (layer hash, real rows) followed by
 * [num_layers][max_rows] row hashes. */
struct seam_digest {
    int num_layers, max_rows, device;
    uint64_t *block;
};

static inline uint64_t *seam_digest_layer_entry(const seam_digest *d, int layer) {
    return d->block + 2 * (size_t)layer;
}
static inline uint64_t *seam_digest_row_hashes(const seam_digest *d, int layer) {
    return d->block + 2 * (size_t)d->num_layers + (size_t)layer * (size_t)d->max_rows;
}

#ifdef __cplusplus
}
#endif

#endif
