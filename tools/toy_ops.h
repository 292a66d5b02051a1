/* Toy ops for the graph builder's tests, seam-graph and seam-bench-graph: small f32 kernels
 * on [tokens, width] tensors (token dimension 0), one of each capture class, plus a
 * deliberately capture-unsafe one. Not part of libseam: registered only by the programs
 * that use them.
 *
 *   toy_affine      capturable   y = a * x + b
 *   toy_add         capturable   y = x + z
 *   toy_positions   capturable   y = x + 0.001 * positions[t] for real tokens, x for padding
 *                                (reads the context's device batch buffers on every replay)
 *   toy_split       split        y = x / 2 + real_tokens for real tokens, 0 for padding; the
 *                                launch is shaped by the real count read on the host
 *   toy_indexer     capturable when graph-safe: same result as toy_split; the eager form
 *                                reads the host count, the graph-safe form the device count
 *   toy_unsafe      claims capturable, but synchronizes its stream first (capture fails)
 */
#ifndef SEAM_TOOLS_TOY_OPS_H
#define SEAM_TOOLS_TOY_OPS_H

#include "seam.h"

#ifdef __cplusplus
extern "C" {
#endif

seam_status toy_register_ops(seam_registry *reg);

/* A DSA-like forward of toy ops: an input projection from the external tensor `input`
 * ([max_tokens, width] f32), then per layer: norm, (kernels_per_layer - 4) projections,
 * rope (toy_positions), the indexer (toy_indexer: split unless graph-safe) and the
 * residual add. Arena tensors h (residual), x, y (ping-pong) and idx, reused by every layer
 * as an engine would. *out_id is the final hidden state h. kernels_per_layer >= 4. */
seam_status toy_build_layers(seam_program *prog, void *input, int max_tokens, int width, int layers,
                             int kernels_per_layer, int *out_id);

/* Blocks `stream` until *flag (host-mapped memory) becomes nonzero or timeout_ms passes;
 * *timed_out (device-visible) is set to 1 on timeout. For measuring pure device time of
 * work queued behind it. */
seam_status toy_gate(seam_stream stream, volatile int *flag, int *timed_out, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
