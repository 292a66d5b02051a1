/* Index top-k: seam_topk over the logits, then positions -> cache slots where seam_topk's
 * fused transform does not apply.
 *
 * positions_to_slots maps top-k positions to cache slots through the block table, in place
 * (the page-size-64 counterpart of seam_topk's fused PAGED transform, which maps a position
 * through a token-level table). One thread per index; -1 stays -1. The grid covers rows x k
 * (shapes); the table stride may be read on the device. */
#include "runtime/cuda_check.h"
#include "seam/indexer.h"

namespace {

__global__ void positions_to_slots_kernel(int32_t *__restrict__ idx, long long total, int k,
                                          int page_size, const int32_t *__restrict__ table,
                                          int table_stride, const int32_t *__restrict__ stride_device,
                                          const int32_t *__restrict__ row_to_req) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total) return;
    int p = idx[i];
    if (p < 0) return;
    int row = (int)(i / k);
    int ts = stride_device ? *stride_device : table_stride;
    int req = row_to_req ? row_to_req[row] : row;
    int page = table[(size_t)req * ts + p / page_size];
    idx[i] = page * page_size + p % page_size;
}

} // namespace

extern "C" SEAM_API seam_status seam_indexer_positions_to_slots(const seam_indexer_slots_params *p,
                                                                seam_stream stream) {
    SEAM_CHECK_PTR(p);
    SEAM_CHECK_ARG(p->struct_size == sizeof(seam_indexer_slots_params),
                   "params->struct_size=%zu, expected %zu (use SEAM_INDEXER_SLOTS_PARAMS_INITIALIZER)",
                   p->struct_size, sizeof(seam_indexer_slots_params));
    SEAM_CHECK_ARG(p->rows >= 0, "params->rows=%d is negative", p->rows);
    SEAM_CHECK_ARG(p->k >= 1, "params->k=%d is not positive", p->k);
    SEAM_CHECK_ARG(p->page_size == 1 || p->page_size == 64, "params->page_size=%d is not 1 or 64",
                   p->page_size);
    SEAM_CHECK_ARG(p->table_stride >= 0, "params->table_stride=%d is negative", p->table_stride);
    if (p->rows == 0) return SEAM_OK;
    SEAM_CHECK_ARG(p->indices != NULL, "params->indices is NULL");
    SEAM_CHECK_ARG(p->block_table != NULL, "params->block_table is NULL");
    long long total = (long long)p->rows * p->k;
    int threads = 256;
    long long blocks = (total + threads - 1) / threads;
    positions_to_slots_kernel<<<(unsigned)blocks, threads, 0, (cudaStream_t)stream>>>(
        p->indices, total, p->k, p->page_size, p->block_table, p->table_stride,
        p->table_stride_device, p->row_to_req);
    SEAM_CUDA_CHECK_LAUNCH();
    return SEAM_OK;
}

extern "C" SEAM_API seam_status seam_indexer_topk(const seam_indexer_topk_params *p, seam_stream stream) {
    SEAM_CHECK_PTR(p);
    SEAM_CHECK_ARG(p->struct_size == sizeof(seam_indexer_topk_params),
                   "params->struct_size=%zu, expected %zu (use SEAM_INDEXER_TOPK_PARAMS_INITIALIZER)",
                   p->struct_size, sizeof(seam_indexer_topk_params));
    SEAM_CHECK_ARG(p->output >= SEAM_INDEXER_TOPK_SLOTS && p->output <= SEAM_INDEXER_TOPK_POSITIONS,
                   "params->output=%d is not a seam_indexer_topk_output", (int)p->output);
    SEAM_CHECK_ARG(p->rows >= 0, "params->rows=%d is negative", p->rows);
    int slots = p->output == SEAM_INDEXER_TOPK_SLOTS;
    if (slots) {
        SEAM_CHECK_ARG(p->page_size == 1 || p->page_size == 64, "params->page_size=%d is not 1 or 64",
                       p->page_size);
        SEAM_CHECK_ARG(p->block_table != NULL, "params->block_table is NULL (output SLOTS)");
        SEAM_CHECK_ARG(p->row_to_req != NULL, "params->row_to_req is NULL (output SLOTS)");
    }
    if (p->rows == 0) return SEAM_OK;
    seam_topk_params t = SEAM_TOPK_PARAMS_INITIALIZER;
    t.rows = p->rows;
    t.stride = p->stride;
    t.k = p->k;
    t.scores = p->logits;
    t.lengths = p->lengths;
    t.row_starts = p->row_starts;
    t.out = p->out;
    t.backend = p->backend;
    t.deterministic = p->deterministic;
    t.tie_break = p->tie_break;
    t.workspace = p->workspace;
    t.workspace_bytes = p->workspace_bytes;
    int fused_slots = slots && p->page_size == 1 && p->fuse;
    if (fused_slots) {
        t.transform = SEAM_TOPK_TRANSFORM_PAGED;
        t.page_table = p->block_table;
        t.page_table_stride = p->table_stride;
        t.page_table_stride_device = p->table_stride_device;
        t.row_to_req = p->row_to_req;
    } else if (p->output == SEAM_INDEXER_TOPK_RAGGED) {
        t.transform = SEAM_TOPK_TRANSFORM_RAGGED;
        t.offsets = p->offsets ? p->offsets : p->row_starts;
        SEAM_CHECK_ARG(t.offsets != NULL, "params->offsets and params->row_starts are NULL (output RAGGED)");
    }
    SEAM_TRY(seam_topk(&t, stream));
    if (slots && !fused_slots) {
        seam_indexer_slots_params s = SEAM_INDEXER_SLOTS_PARAMS_INITIALIZER;
        s.rows = p->rows;
        s.k = p->k;
        s.indices = p->out;
        s.page_size = p->page_size;
        s.block_table = p->block_table;
        s.table_stride = p->table_stride;
        s.table_stride_device = p->table_stride_device;
        s.row_to_req = p->row_to_req;
        SEAM_TRY(seam_indexer_positions_to_slots(&s, stream));
    }
    return SEAM_OK;
}
