"""seam_topk from Python on torch/CuPy arrays (no copies)."""

import ctypes as C

from . import _abi
from ._lib import check, declare, fail_here, lib
from .launch import launch
from .tensors import default_stream, device_array

declare("seam_topk_workspace_size", C.c_int, C.c_int, C.c_int, C.c_int, C.c_int,
        C.POINTER(C.c_size_t))
declare("seam_topk", C.c_int, C.POINTER(_abi.TopkParams), C.c_void_p)

BACKENDS = {"radix": 0, "sort": 1}
TIE_BREAKS = {"none": 0, "small": 1, "large": 2}
TRANSFORMS = {None: 0, "none": 0, "paged": 1, "ragged": 2}
MAX_K = 2048


_workspace_cache = {}


def workspace_size(rows, stride, k, backend="radix"):
    """Workspace bytes of a call with these shapes (cached: it depends on them only)."""
    key = (rows, stride, k, backend)
    n = _workspace_cache.get(key)
    if n is None:
        out = C.c_size_t()
        check(lib.seam_topk_workspace_size(rows, stride, k, BACKENDS[backend], C.byref(out)))
        n = _workspace_cache[key] = out.value
    return n


def topk(scores, lengths, k=MAX_K, out=None, row_starts=None, backend="radix",
         deterministic=False, tie_break="none", transform=None, page_table=None,
         page_table_stride=None, row_to_req=None, offsets=None, workspace=None, stream=None,
         prepare=False):
    """Top-k column indices of each row of scores (f32 [rows, stride]) over
    [row_starts[i], row_starts[i] + lengths[i]); see include/seam/topk.h. Returns out
    (i32 [rows, k]), allocated like scores when not given. Runs on `stream` (default: torch's
    current stream for torch tensors, else the legacy default stream). prepare=True: return
    a seam.launch.Launch that repeats this call (see seam.launch)."""
    if backend not in BACKENDS:
        fail_here(f"backend={backend!r} is not one of {sorted(BACKENDS)}")
    if tie_break not in TIE_BREAKS:
        fail_here(f"tie_break={tie_break!r} is not one of {sorted(TIE_BREAKS)}")
    if transform not in TRANSFORMS:
        fail_here(f"transform={transform!r} is not one of paged, ragged or None")
    s = device_array(scores, "scores", "f32", ndim=2)
    rows, stride = s.shape
    dev = s.device
    ln = device_array(lengths, "lengths", "i32", ndim=1, shape=(rows,), device=dev)
    rs = device_array(row_starts, "row_starts", "i32", ndim=1, shape=(rows,), device=dev) \
        if row_starts is not None else None
    if out is None:
        import torch
        out = torch.empty((rows, k), dtype=torch.int32, device=scores.device)
    o = device_array(out, "out", "i32", ndim=2, shape=(rows, k), device=dev)
    pt = device_array(page_table, "page_table", "i32", ndim=2, device=dev) \
        if page_table is not None else None
    rq = device_array(row_to_req, "row_to_req", "i32", ndim=1, shape=(rows,), device=dev) \
        if row_to_req is not None else None
    of = device_array(offsets, "offsets", "i32", ndim=1, shape=(rows,), device=dev) \
        if offsets is not None else None
    need = workspace_size(rows, stride, k, backend)
    if workspace is None and need:
        import torch
        workspace = torch.empty(need, dtype=torch.uint8, device=scores.device)
    ws = device_array(workspace, "workspace", "u8", ndim=1, device=dev) if workspace is not None else None
    if ws is not None and ws.shape[0] < need:
        fail_here(f"workspace: {ws.shape[0]} bytes, needs {need}")
    p = _abi.TopkParams(
        C.sizeof(_abi.TopkParams), rows, stride, k, s.ptr, ln.ptr, rs.ptr if rs else None,
        o.ptr, BACKENDS[backend], int(bool(deterministic)), TIE_BREAKS[tie_break],
        TRANSFORMS[transform], pt.ptr if pt else None,
        page_table_stride if page_table_stride is not None else (pt.shape[1] if pt else 0),
        None, rq.ptr if rq else None, of.ptr if of else None, ws.ptr if ws else None,
        ws.shape[0] if ws else 0)
    return launch(lib.seam_topk, p, default_stream(scores, stream),
                  (scores, lengths, row_starts, page_table, row_to_req, offsets, workspace),
                  out, prepare)
