"""The DSA indexer kernels (include/seam/indexer.h) on torch/CuPy arrays: the fp8 k-cache
store, the logits (ragged prefill; paged decode and NextN, native and expanded, and
request-grouped rows), positions -> cache slots, and the index top-k op (logits -> top-k ->
slots, on a context's batch). fp8 arguments accept torch.float8_e4m3fn or uint8 views.
The kernel wrappers take prepare=True to return a seam.launch.Launch."""

import ctypes as C

from . import _abi
from ._lib import declare, fail_here, lib
from .launch import launch
from .tensors import default_stream, device_array, optional, ptr

declare("seam_indexer_k_store", C.c_int, C.POINTER(_abi.IndexerKStoreParams), C.c_void_p)
declare("seam_indexer_logits_ragged", C.c_int, C.POINTER(_abi.IndexerLogitsRaggedParams),
        C.c_void_p)
declare("seam_indexer_logits_paged", C.c_int, C.POINTER(_abi.IndexerLogitsPagedParams),
        C.c_void_p)
declare("seam_indexer_topk", C.c_int, C.POINTER(_abi.IndexerTopkParams), C.c_void_p)
declare("seam_indexer_positions_to_slots", C.c_int, C.POINTER(_abi.IndexerSlotsParams),
        C.c_void_p)

HEAD_DIM = 128
MAX_HEADS = 64
FP8_MAX = 448.0
ALGOS = {"auto": 0, "mma": 1, "simt": 2, "wgmma": 3}
FP8 = ("fp8_e4m3", "u8")
# index_topk op arguments (ops/indexer_ops.c)
LOGITS_LAYOUTS = {"paged": 0, "ragged": 1}
OUTPUTS = {"slots": 0, "ragged": 1, "positions": 2}


def _algo(algo):
    if algo not in ALGOS:
        fail_here(f"algo={algo!r} is not one of {sorted(ALGOS)}")
    return ALGOS[algo]


def _cache_slots(arr, name):
    """Slots of an fp8 [slots, 128] or [pages, page_size, 128] cache."""
    if arr.shape[-1] != HEAD_DIM or len(arr.shape) not in (2, 3):
        fail_here(f"{name}: shape {arr.shape}, expected [slots, 128] or [pages, page_size, 128]")
    return arr.shape[0] * (arr.shape[1] if len(arr.shape) == 3 else 1)


def k_store(key, out_cache_loc, k_cache, k_scales, num_tokens=None, stream=None, prepare=False):
    """key bf16 [tokens, 128] -> k_cache fp8 [slots, 128] and k_scales f32 [slots] at
    out_cache_loc i32 [tokens] (< 0 skips); num_tokens (device i32) bounds the real rows."""
    k = device_array(key, "key", "bf16", ndim=2, shape=(None, HEAD_DIM))
    dev = k.device
    loc = device_array(out_cache_loc, "out_cache_loc", "i32", ndim=1, shape=(k.shape[0],),
                       device=dev)
    cache = device_array(k_cache, "k_cache", FP8, device=dev)
    slots = _cache_slots(cache, "k_cache")
    sc = device_array(k_scales, "k_scales", "f32", device=dev)
    if _numel(sc) != slots:
        fail_here(f"k_scales: {_numel(sc)} scales for {slots} cache slots")
    nt = optional(num_tokens, "num_tokens", "i32", ndim=1, device=dev)
    p = _abi.sized(_abi.IndexerKStoreParams, tokens=k.shape[0], key=k.ptr, out_cache_loc=loc.ptr,
                   num_tokens_device=ptr(nt), k_cache=cache.ptr, k_scales=sc.ptr, num_slots=slots)
    return launch(lib.seam_indexer_k_store, p, default_stream(key, stream),
                  (key, out_cache_loc, num_tokens), k_cache, prepare)


def _numel(arr):
    n = 1
    for s in arr.shape:
        n *= s
    return n


def _logits_out(logits, rows, stride, like):
    if logits is None:
        import torch
        if stride is None:
            fail_here("logits: give the output or its stride")
        logits = torch.full((rows, stride), float("-inf"), dtype=torch.float32, device=like.device)
    return logits


def logits_ragged(q, weights, k, k_scales, row_starts, lengths, logits=None, stride=None,
                  algo="auto", stream=None, prepare=False):
    """Prefill logits over ragged keys: q fp8 [rows, heads, 128], weights f32 [rows, heads],
    k fp8 [keys, 128], k_scales f32 [keys]; row t sees keys [row_starts[t], +lengths[t]).
    Returns logits f32 [rows, stride] (allocated as -inf when not given)."""
    qa = device_array(q, "q", FP8, ndim=3, shape=(None, None, HEAD_DIM))
    rows, heads, dev = qa.shape[0], qa.shape[1], qa.device
    w = device_array(weights, "weights", "f32", ndim=2, shape=(rows, heads), device=dev)
    ka = device_array(k, "k", FP8, ndim=2, shape=(None, HEAD_DIM), device=dev)
    sc = device_array(k_scales, "k_scales", "f32", ndim=1, shape=(ka.shape[0],), device=dev)
    rs = device_array(row_starts, "row_starts", "i32", ndim=1, shape=(rows,), device=dev)
    ln = device_array(lengths, "lengths", "i32", ndim=1, shape=(rows,), device=dev)
    logits = _logits_out(logits, rows, stride if stride is not None else ka.shape[0], q)
    lo = device_array(logits, "logits", "f32", ndim=2, shape=(rows, None), device=dev)
    p = _abi.sized(_abi.IndexerLogitsRaggedParams, rows=rows, heads=heads, keys=ka.shape[0],
                   stride=lo.shape[1], q=qa.ptr, weights=w.ptr, k=ka.ptr, k_scales=sc.ptr,
                   row_starts=rs.ptr, lengths=ln.ptr, logits=lo.ptr, algo=_algo(algo))
    return launch(lib.seam_indexer_logits_ragged, p, default_stream(q, stream),
                  (q, weights, k, k_scales, row_starts, lengths), logits, prepare)


def logits_paged(q, weights, k_cache, k_scales, block_table, context_lens, logits=None,
                 stride=None, next_n=1, page_size=None, row_to_req=None, table_stride=None,
                 table_stride_device=None, context_lens_stride=0, cu_seqlens_q=None,
                 num_requests=None, max_requests=0, algo="auto", stream=None, prepare=False):
    """Decode / target-verify logits over the paged fp8 cache (see indexer.h): q fp8
    [groups * next_n, heads, 128], k_cache fp8 [pages, page_size, 128] (or [slots, 128] with
    page_size 1), block_table i32 [*, table_stride], context_lens i32 [groups][stride].
    Request-grouped rows: pass cu_seqlens_q, num_requests (device i32) and max_requests."""
    qa = device_array(q, "q", FP8, ndim=3, shape=(None, None, HEAD_DIM))
    rows, heads, dev = qa.shape[0], qa.shape[1], qa.device
    if next_n < 1 or rows % next_n:
        fail_here(f"q: {rows} rows is not a multiple of next_n={next_n}")
    w = device_array(weights, "weights", "f32", ndim=2, shape=(rows, heads), device=dev)
    cache = device_array(k_cache, "k_cache", FP8, device=dev)
    slots = _cache_slots(cache, "k_cache")
    if page_size is None:
        page_size = cache.shape[1] if len(cache.shape) == 3 else 1
    sc = device_array(k_scales, "k_scales", "f32", device=dev)
    if _numel(sc) != slots:
        fail_here(f"k_scales: {_numel(sc)} scales for {slots} cache slots")
    bt = device_array(block_table, "block_table", "i32", ndim=2, device=dev)
    cl = device_array(context_lens, "context_lens", "i32", device=dev)
    rq = optional(row_to_req, "row_to_req", "i32", ndim=1, device=dev)
    tsd = optional(table_stride_device, "table_stride_device", "i32", ndim=1, device=dev)
    cu = optional(cu_seqlens_q, "cu_seqlens_q", "i32", ndim=1, device=dev)
    nr = optional(num_requests, "num_requests", "i32", ndim=1, device=dev)
    logits = _logits_out(logits, rows, stride, q)
    lo = device_array(logits, "logits", "f32", ndim=2, shape=(rows, None), device=dev)
    p = _abi.sized(_abi.IndexerLogitsPagedParams, groups=rows // next_n, next_n=next_n,
                   heads=heads, stride=lo.shape[1], q=qa.ptr, weights=w.ptr, k_cache=cache.ptr,
                   k_scales=sc.ptr, num_pages=slots // page_size, page_size=page_size,
                   block_table=bt.ptr,
                   table_stride=table_stride if table_stride is not None else bt.shape[1],
                   table_stride_device=ptr(tsd), row_to_req=ptr(rq), context_lens=cl.ptr,
                   context_lens_stride=context_lens_stride, logits=lo.ptr, algo=_algo(algo),
                   cu_seqlens_q=ptr(cu), num_requests_device=ptr(nr), max_requests=max_requests)
    return launch(lib.seam_indexer_logits_paged, p, default_stream(q, stream),
                  (q, weights, k_cache, k_scales, block_table, context_lens, row_to_req,
                   table_stride_device, cu_seqlens_q, num_requests), logits, prepare)


def positions_to_slots(indices, block_table, page_size, row_to_req=None, table_stride=None,
                       table_stride_device=None, stream=None, prepare=False):
    """In place on indices i32 [rows, k]: key positions -> cache slots through the block
    table (-1 stays -1). Returns indices."""
    ix = device_array(indices, "indices", "i32", ndim=2)
    dev = ix.device
    bt = device_array(block_table, "block_table", "i32", ndim=2, device=dev)
    rq = optional(row_to_req, "row_to_req", "i32", ndim=1, shape=(ix.shape[0],), device=dev)
    tsd = optional(table_stride_device, "table_stride_device", "i32", ndim=1, device=dev)
    p = _abi.sized(_abi.IndexerSlotsParams, rows=ix.shape[0], k=ix.shape[1], indices=ix.ptr,
                   page_size=page_size, block_table=bt.ptr,
                   table_stride=table_stride if table_stride is not None else bt.shape[1],
                   table_stride_device=ptr(tsd), row_to_req=ptr(rq))
    return launch(lib.seam_indexer_positions_to_slots, p, default_stream(indices, stream),
                  (block_table, row_to_req, table_stride_device), indices, prepare)


def indexer_topk(logits, lengths, out, output="slots", row_starts=None, page_size=1,
                 block_table=None, table_stride=None, row_to_req=None, offsets=None,
                 backend="radix", deterministic=False, tie_break="none", fuse=True,
                 workspace=None, stream=None, prepare=False):
    """seam_indexer_topk: top-k of each row of logits f32 [rows, stride] over
    [row_starts, row_starts + lengths), then cache slots through block_table (output
    "slots"), position + offsets (or + row_starts) ("ragged"), or positions ("positions"),
    into out i32 [rows, k]. Returns out."""
    from .topk import BACKENDS, TIE_BREAKS
    if output not in OUTPUTS:
        fail_here(f"output={output!r} is not one of {sorted(OUTPUTS)}")
    if backend not in BACKENDS or tie_break not in TIE_BREAKS:
        fail_here(f"backend={backend!r} or tie_break={tie_break!r} is not known")
    lg = device_array(logits, "logits", "f32", ndim=2)
    rows, stride = lg.shape
    dev = lg.device
    ln = device_array(lengths, "lengths", "i32", ndim=1, shape=(rows,), device=dev)
    o = device_array(out, "out", "i32", ndim=2, shape=(rows, None), device=dev)
    rs = optional(row_starts, "row_starts", "i32", ndim=1, shape=(rows,), device=dev)
    bt = optional(block_table, "block_table", "i32", ndim=2, device=dev)
    rq = optional(row_to_req, "row_to_req", "i32", ndim=1, shape=(rows,), device=dev)
    of = optional(offsets, "offsets", "i32", ndim=1, shape=(rows,), device=dev)
    ws = optional(workspace, "workspace", "u8", ndim=1, device=dev)
    p = _abi.sized(_abi.IndexerTopkParams, rows=rows, stride=stride, k=o.shape[1], logits=lg.ptr,
                   lengths=ln.ptr, row_starts=ptr(rs), out=o.ptr, output=OUTPUTS[output],
                   page_size=page_size, block_table=ptr(bt),
                   table_stride=table_stride if table_stride is not None else
                   (bt.shape[1] if bt is not None else 0),
                   row_to_req=ptr(rq), offsets=ptr(of), backend=BACKENDS[backend],
                   deterministic=int(bool(deterministic)), tie_break=TIE_BREAKS[tie_break],
                   fuse=int(bool(fuse)), workspace=ptr(ws),
                   workspace_bytes=ws.shape[0] if ws is not None else 0)
    return launch(lib.seam_indexer_topk, p, default_stream(logits, stream),
                  (lengths, row_starts, block_table, row_to_req, offsets, workspace), out, prepare)


def index_topk(registry, ctx, logits, out, logits_layout="paged", output="slots", stream=None):
    """The "index_topk" op on ctx's current batch: top-k of each row of logits (lengths and
    starts from the batch) -> cache slots, ragged key indices or positions, into out
    i32 [tokens, k]."""
    if logits_layout not in LOGITS_LAYOUTS:
        fail_here(f"logits_layout={logits_layout!r} is not one of {sorted(LOGITS_LAYOUTS)}")
    if output not in OUTPUTS:
        fail_here(f"output={output!r} is not one of {sorted(OUTPUTS)}")
    registry.run("index_topk", ctx, logits, out, LOGITS_LAYOUTS[logits_layout], OUTPUTS[output],
                 stream=stream)
    return out
