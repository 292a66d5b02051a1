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
    _fields_ = [("struct_size", C.c_size_t), ("mode", C.c_int), ("batch_size", C.c_int),
                ("seq_lens", i32p), ("extend_lens", i32p), ("positions", i32p),
                ("out_cache_loc", i32p), ("page_table", i32p), ("page_table_stride", C.c_int),
                ("next_n", C.c_int)]


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
