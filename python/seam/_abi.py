"""ctypes mirrors of seam's public structs (include/seam/*.h). Each struct that carries a
struct_size is filled with ctypes.sizeof of its mirror, so a layout drift is rejected by the
library itself (struct_size mismatch) instead of corrupting memory."""

import ctypes as C

i32p = C.POINTER(C.c_int32)
MAX_CAPTURE_SIZES = 256
CONFIG_VARS = 10
MAX_DIMS = 4
MAX_OP_ARGS = 16
COUNT_NAMES = ("mode", "batch_size", "tokens", "padded_tokens", "next_n", "topk_rows",
               "max_seq_len", "page_table_stride")


class Config(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("graph_safe", C.c_int), ("piecewise", C.c_int),
                ("num_capture_sizes", C.c_int), ("capture_sizes", C.c_int * MAX_CAPTURE_SIZES),
                ("topk_backend", C.c_int), ("topk_deterministic", C.c_int),
                ("topk_tie_break", C.c_int), ("topk_fuse", C.c_int), ("topk_broadcast", C.c_int),
                ("log_level", C.c_int), ("nccl_timeout_ms", C.c_int),
                ("source", C.c_int * CONFIG_VARS)]


class DeviceInfo(C.Structure):
    _fields_ = [("ordinal", C.c_int), ("name", C.c_char * 256), ("cc_major", C.c_int),
                ("cc_minor", C.c_int), ("multiprocessors", C.c_int),
                ("total_memory", C.c_size_t), ("l2_bytes", C.c_size_t),
                ("driver_version", C.c_int), ("runtime_version", C.c_int)]


class ContextParams(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("device", C.c_int), ("max_tokens", C.c_int),
                ("max_batch", C.c_int), ("max_context", C.c_int), ("num_layers", C.c_int),
                ("page_size", C.c_int), ("max_next_n", C.c_int),
                ("workspace_bytes", C.c_size_t), ("stream", C.c_void_p),
                ("config", C.POINTER(Config))]


class Batch(C.Structure):
    # host int32 arrays as addresses (const int32_t *): set from ctypes.addressof
    _fields_ = [("struct_size", C.c_size_t), ("mode", C.c_int), ("batch_size", C.c_int),
                ("seq_lens", C.c_void_p), ("extend_lens", C.c_void_p), ("positions", C.c_void_p),
                ("out_cache_loc", C.c_void_p), ("page_table", C.c_void_p),
                ("page_table_stride", C.c_int), ("next_n", C.c_int)]


class BatchView(C.Structure):
    _fields_ = [(n, i32p) for n in (
        "counts", "seq_lens", "extend_lens", "prefix_lens", "cu_seqlens_q", "cu_seqlens_k",
        "positions", "out_cache_loc", "row_to_req", "topk_lengths", "topk_row_starts",
        "nextn_ctx_lens", "page_table")]


class Tensor(C.Structure):
    _fields_ = [("data", C.c_void_p), ("dtype", C.c_int), ("ndim", C.c_int),
                ("shape", C.c_int64 * MAX_DIMS), ("strides", C.c_int64 * MAX_DIMS),
                ("token_dim", C.c_int)]


class _ArgValue(C.Union):
    _fields_ = [("tensor", Tensor), ("i", C.c_int64), ("f", C.c_double), ("ptr", C.c_void_p)]


class Arg(C.Structure):
    _fields_ = [("kind", C.c_int), ("u", _ArgValue)]


class Op(C.Structure):
    pass


class OpCall(C.Structure):
    _fields_ = [("op", C.POINTER(Op)), ("num_args", C.c_int), ("args", Arg * MAX_OP_ARGS),
                ("num_tokens", C.c_int)]


RUN_FN = C.CFUNCTYPE(C.c_int, C.POINTER(OpCall), C.c_void_p, C.c_void_p)
CHECK_FN = C.CFUNCTYPE(C.c_int, C.POINTER(OpCall))

Op._fields_ = [("name", C.c_char_p), ("flags", C.c_uint32), ("num_args", C.c_int),
               ("arg_kinds", C.c_int * MAX_OP_ARGS), ("arg_names", C.c_char_p * MAX_OP_ARGS),
               ("optional_args", C.c_uint32), ("mutates", C.c_uint32), ("check", CHECK_FN),
               ("run", RUN_FN), ("run_graph_safe", RUN_FN), ("user_data", C.c_void_p)]


class TopkParams(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("rows", C.c_int), ("stride", C.c_int),
                ("k", C.c_int), ("scores", C.c_void_p), ("lengths", C.c_void_p),
                ("row_starts", C.c_void_p), ("out", C.c_void_p), ("backend", C.c_int),
                ("deterministic", C.c_int), ("tie_break", C.c_int), ("transform", C.c_int),
                ("page_table", C.c_void_p), ("page_table_stride", C.c_int),
                ("page_table_stride_device", C.c_void_p), ("row_to_req", C.c_void_p),
                ("offsets", C.c_void_p), ("workspace", C.c_void_p),
                ("workspace_bytes", C.c_size_t)]


# ---- graph.h ------------------------------------------------------------------------------

class ProgramArg(C.Structure):
    _fields_ = [("kind", C.c_int), ("tensor", C.c_int), ("i", C.c_int64), ("f", C.c_double),
                ("ptr", C.c_void_p)]


class GraphOptions(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("capture", C.c_int), ("exec_mode", C.c_int),
                ("warmup", C.c_int), ("progress", C.c_int)]


class GraphDispatch(C.Structure):
    _fields_ = [("tokens", C.c_int), ("padded_tokens", C.c_int), ("bucket", C.c_int),
                ("replay", C.c_int)]


class GraphStep(C.Structure):
    _fields_ = [("kind", C.c_int), ("piece", C.c_int), ("first_call", C.c_int),
                ("num_calls", C.c_int), ("eager", C.c_int), ("failed_op", C.c_char_p),
                ("failure", C.c_char_p)]


class GraphBucket(C.Structure):
    _fields_ = [("tokens", C.c_int), ("capture_ms", C.c_double), ("instantiate_ms", C.c_double),
                ("update_ms", C.c_double), ("instantiations", C.c_int), ("updates", C.c_int),
                ("update_refusals", C.c_int)]


class GraphStats(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("num_calls", C.c_int), ("num_steps", C.c_int),
                ("num_pieces", C.c_int), ("num_split_ops", C.c_int),
                ("num_eager_pieces", C.c_int), ("num_buckets", C.c_int), ("graph_safe", C.c_int),
                ("piecewise", C.c_int), ("captured", C.c_int), ("exec_mode", C.c_int),
                ("arena_tokens", C.c_int), ("arena_bytes", C.c_size_t),
                ("arena_need_bytes", C.c_size_t), ("num_scratch", C.c_int),
                ("warmup_ms", C.c_double), ("build_ms", C.c_double),
                ("capture_total_ms", C.c_double), ("num_graphs", C.c_int),
                ("num_execs", C.c_int), ("runtime_updates", C.c_int),
                ("runtime_instantiations", C.c_int)]


# ---- indexer.h ----------------------------------------------------------------------------

class IndexerKStoreParams(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("tokens", C.c_int), ("key", C.c_void_p),
                ("out_cache_loc", C.c_void_p), ("num_tokens_device", C.c_void_p),
                ("k_cache", C.c_void_p), ("k_scales", C.c_void_p), ("num_slots", C.c_int64)]


class IndexerLogitsRaggedParams(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("rows", C.c_int), ("heads", C.c_int),
                ("keys", C.c_int), ("stride", C.c_int), ("q", C.c_void_p),
                ("weights", C.c_void_p), ("k", C.c_void_p), ("k_scales", C.c_void_p),
                ("row_starts", C.c_void_p), ("lengths", C.c_void_p), ("logits", C.c_void_p),
                ("algo", C.c_int)]


class IndexerLogitsPagedParams(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("groups", C.c_int), ("next_n", C.c_int),
                ("heads", C.c_int), ("stride", C.c_int), ("q", C.c_void_p),
                ("weights", C.c_void_p), ("k_cache", C.c_void_p), ("k_scales", C.c_void_p),
                ("num_pages", C.c_int64), ("page_size", C.c_int), ("block_table", C.c_void_p),
                ("table_stride", C.c_int), ("table_stride_device", C.c_void_p),
                ("row_to_req", C.c_void_p), ("context_lens", C.c_void_p),
                ("context_lens_stride", C.c_int), ("logits", C.c_void_p), ("algo", C.c_int),
                ("cu_seqlens_q", C.c_void_p), ("num_requests_device", C.c_void_p),
                ("max_requests", C.c_int)]


class IndexerSlotsParams(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("rows", C.c_int), ("k", C.c_int),
                ("indices", C.c_void_p), ("page_size", C.c_int), ("block_table", C.c_void_p),
                ("table_stride", C.c_int), ("table_stride_device", C.c_void_p),
                ("row_to_req", C.c_void_p)]


class IndexerTopkParams(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("rows", C.c_int), ("stride", C.c_int),
                ("k", C.c_int), ("logits", C.c_void_p), ("lengths", C.c_void_p),
                ("row_starts", C.c_void_p), ("out", C.c_void_p), ("output", C.c_int),
                ("page_size", C.c_int), ("block_table", C.c_void_p), ("table_stride", C.c_int),
                ("table_stride_device", C.c_void_p), ("row_to_req", C.c_void_p),
                ("offsets", C.c_void_p), ("backend", C.c_int), ("deterministic", C.c_int),
                ("tie_break", C.c_int), ("fuse", C.c_int), ("workspace", C.c_void_p),
                ("workspace_bytes", C.c_size_t)]


# ---- layers.h -----------------------------------------------------------------------------

class HadamardParams(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("tokens", C.c_int), ("heads", C.c_int),
                ("x", C.c_void_p), ("x_token_stride", C.c_int64), ("out", C.c_void_p),
                ("out_token_stride", C.c_int64), ("scale", C.c_float),
                ("num_tokens", C.c_void_p)]


class NormParams(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("kind", C.c_int), ("tokens", C.c_int),
                ("hidden", C.c_int), ("x", C.c_void_p), ("x_token_stride", C.c_int64),
                ("out", C.c_void_p), ("out_token_stride", C.c_int64), ("residual", C.c_void_p),
                ("residual_token_stride", C.c_int64), ("weight", C.c_void_p),
                ("bias", C.c_void_p), ("param_dtype", C.c_int), ("eps", C.c_float),
                ("num_tokens", C.c_void_p)]


class RopeParams(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("tokens", C.c_int), ("heads", C.c_int),
                ("head_dim", C.c_int), ("rotary_dim", C.c_int), ("rotary_offset", C.c_int),
                ("x", C.c_void_p), ("x_token_stride", C.c_int64), ("positions", C.c_void_p),
                ("style", C.c_int), ("theta", C.c_double), ("cos_sin_cache", C.c_void_p),
                ("cache_positions", C.c_int), ("num_tokens", C.c_void_p)]


class SparseAttentionParams(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("tokens", C.c_int), ("heads", C.c_int),
                ("topk", C.c_int), ("num_slots", C.c_int), ("q", C.c_void_p), ("kv", C.c_void_p),
                ("indices", C.c_void_p), ("out", C.c_void_p), ("scale", C.c_float),
                ("num_tokens", C.c_void_p), ("kernel", C.c_int), ("workspace", C.c_void_p),
                ("workspace_bytes", C.c_size_t)]


# ---- comm.h -------------------------------------------------------------------------------

COMM_ID_BYTES = 128


class CommId(C.Structure):
    _fields_ = [("internal", C.c_char * COMM_ID_BYTES)]


class CommConfig(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("timeout_ms", C.c_int), ("wait_eager", C.c_int),
                ("nccl_single_rank", C.c_int)]


class DigestMismatch(C.Structure):
    _fields_ = [("layer", C.c_int), ("row", C.c_int), ("rank", C.c_int),
                ("rows_rank0", C.c_int), ("rows_rank", C.c_int)]


# Every mirror whose C struct starts with struct_size, with the C type name (tests compare
# ctypes.sizeof with the size the library reports in its struct_size message).
SIZED = {"seam_config": Config, "seam_context_params": ContextParams, "seam_batch": Batch,
         "seam_topk_params": TopkParams, "seam_graph_options": GraphOptions,
         "seam_graph_stats": GraphStats, "seam_indexer_k_store_params": IndexerKStoreParams,
         "seam_indexer_logits_ragged_params": IndexerLogitsRaggedParams,
         "seam_indexer_logits_paged_params": IndexerLogitsPagedParams,
         "seam_indexer_slots_params": IndexerSlotsParams, "seam_hadamard_params": HadamardParams,
         "seam_norm_params": NormParams, "seam_rope_params": RopeParams,
         "seam_sparse_attention_params": SparseAttentionParams,
         "seam_comm_config": CommConfig,
         "seam_indexer_topk_params": IndexerTopkParams}


def sized(cls, **fields):
    """A mirror with struct_size set and the given fields."""
    s = cls(**fields)
    s.struct_size = C.sizeof(cls)
    return s
