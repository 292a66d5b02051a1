#include "ops/builtin_ops.h"

#include "runtime/error_impl.h"

/* Each op family adds its registration call here. */
seam_status seam_register_builtin_ops(seam_registry *reg) {
    SEAM_TRY(seam_register_layer_ops(reg));
    SEAM_TRY(seam_register_comm_ops(reg));
    SEAM_TRY(seam_register_topk_ops(reg));
    SEAM_TRY(seam_register_indexer_ops(reg));
    return SEAM_OK;
}
