/* Internal: registration of seam's built-in ops. Each op family provides one
 * seam_register_<family>_ops(); builtin_ops.c calls them all. */
#ifndef SEAM_BUILTIN_OPS_H
#define SEAM_BUILTIN_OPS_H

#include "seam/op.h"

#ifdef __cplusplus
extern "C" {
#endif

seam_status seam_register_builtin_ops(seam_registry *reg);
seam_status seam_register_comm_ops(seam_registry *reg); /* ops/comm_ops.c */

/* ops/layer_ops.c: hadamard, rms_norm, layer_norm, rope, sparse_attention */
seam_status seam_register_layer_ops(seam_registry *reg);

/* "topk" (ops/topk_ops.c). */
seam_status seam_register_topk_ops(seam_registry *reg);
/* ops/indexer_ops.c: indexer_k_store, indexer_logits_ragged, indexer_logits_paged, index_topk,
 * k_cache_and_topk. */
seam_status seam_register_indexer_ops(seam_registry *reg);

#ifdef __cplusplus
}
#endif

#endif
