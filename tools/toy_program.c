/* The sample forward of tools/toy_ops.h, shared by seam-graph and seam-bench-graph. */
#include "tools/toy_ops.h"

#include "runtime/error_impl.h"

seam_status toy_build_layers(seam_program *prog, void *input, int max_tokens, int width, int layers,
                             int kernels_per_layer, int *out_id) {
    if (kernels_per_layer < 4 || layers < 1 || width < 1) return SEAM_ERR_INVALID_ARG;
    int64_t shape[2] = {max_tokens, width};
    seam_tensor ext = seam_tensor_contiguous(input, SEAM_DTYPE_F32, 2, shape, 0);
    int in, h, x, y, idx;
    int64_t sym[2] = {0, width};
    SEAM_TRY(seam_program_add_external(prog, "input", &ext, &in));
    SEAM_TRY(seam_program_add_tensor(prog, "h", SEAM_DTYPE_F32, 2, sym, 0, &h));
    SEAM_TRY(seam_program_add_tensor(prog, "x", SEAM_DTYPE_F32, 2, sym, 0, &x));
    SEAM_TRY(seam_program_add_tensor(prog, "y", SEAM_DTYPE_F32, 2, sym, 0, &y));
    SEAM_TRY(seam_program_add_tensor(prog, "idx", SEAM_DTYPE_F32, 2, sym, 0, &idx));
#define T(i) seam_program_arg_tensor(i)
#define F(v) seam_program_arg_float(v)
    seam_program_arg embed[4] = {T(in), T(h), F(1.0), F(0.0)};
    SEAM_TRY(seam_program_add_call(prog, "toy_affine", 4, embed, NULL));
    for (int l = 0; l < layers; l++) {
        seam_program_arg norm[4] = {T(h), T(x), F(0.5), F(0.0)};
        SEAM_TRY(seam_program_add_call(prog, "toy_affine", 4, norm, NULL));
        int cur = x, other = y;
        for (int k = 0; k < kernels_per_layer - 4; k++) {
            seam_program_arg proj[4] = {T(cur), T(other), F(0.75), F(0.125)};
            SEAM_TRY(seam_program_add_call(prog, "toy_affine", 4, proj, NULL));
            int t = cur;
            cur = other;
            other = t;
        }
        seam_program_arg rope[2] = {T(cur), T(other)};
        SEAM_TRY(seam_program_add_call(prog, "toy_positions", 2, rope, NULL));
        seam_program_arg indexer[2] = {T(other), T(idx)};
        SEAM_TRY(seam_program_add_call(prog, "toy_indexer", 2, indexer, NULL));
        seam_program_arg residual[3] = {T(idx), T(h), T(h)};
        SEAM_TRY(seam_program_add_call(prog, "toy_add", 3, residual, NULL));
    }
#undef T
#undef F
    *out_id = h;
    return SEAM_OK;
}
