"""The layer kernels (include/seam/layers.h) on torch/CuPy arrays: hadamard, rms_norm,
layer_norm, rope, sparse_attention. Outputs are allocated with torch when not given. Every
function runs on `stream` (default: torch's current stream for torch tensors); prepare=True
returns a seam.launch.Launch instead of launching."""

import ctypes as C

from . import _abi
from ._lib import check, declare, fail_here, lib
from .launch import launch
from .tensors import default_stream, device_array, optional, ptr

for _name, _cls in (("seam_hadamard", _abi.HadamardParams), ("seam_norm", _abi.NormParams),
                    ("seam_rope", _abi.RopeParams),
                    ("seam_sparse_attention", _abi.SparseAttentionParams)):
    declare(_name, C.c_int, C.POINTER(_cls), C.c_void_p)
declare("seam_sparse_attention_workspace_size", C.c_int, C.c_int, C.c_int, C.c_int,
        C.POINTER(C.c_size_t))

HADAMARD_DIM = 128
HADAMARD_SCALE = 0.08838834764831845
MLA_QK_DIM, MLA_V_DIM = 576, 512
ROPE_STYLES = {"neox": 0, "interleaved": 1}
ATTENTION_KERNELS = {"auto": 0, "simple": 1, "mma": 2}


def _empty_like(x, shape=None):
    import torch
    return torch.empty(shape if shape is not None else x.shape, dtype=x.dtype, device=x.device)


def _num_tokens(num_tokens, dev):
    return optional(num_tokens, "num_tokens", "i32", ndim=1, device=dev)


def hadamard(x, out=None, scale=HADAMARD_SCALE, num_tokens=None, stream=None, prepare=False):
    """out[t, h] = scale * H_128 x[t, h] over x bf16 [tokens, heads, 128]; out may be x."""
    a = device_array(x, "x", "bf16", ndim=3, shape=(None, None, HADAMARD_DIM), contiguous="rows")
    if out is None:
        out = _empty_like(x)
    o = device_array(out, "out", "bf16", ndim=3, shape=a.shape, contiguous="rows", device=a.device)
    nt = _num_tokens(num_tokens, a.device)
    p = _abi.sized(_abi.HadamardParams, tokens=a.shape[0], heads=a.shape[1], x=a.ptr,
                   x_token_stride=a.token_stride(), out=o.ptr, out_token_stride=o.token_stride(),
                   scale=scale, num_tokens=ptr(nt))
    return launch(lib.seam_hadamard, p, default_stream(x, stream), (x, num_tokens), out,
                  prepare)


def _norm(kind, x, weight, bias, out, residual, eps, num_tokens, stream, prepare):
    a = device_array(x, "x", "bf16", ndim=2, contiguous="rows")
    tokens, hidden = a.shape
    w = device_array(weight, "weight", ("f32", "bf16"), ndim=1, shape=(hidden,), device=a.device)
    b = optional(bias, "bias", ("f32", "bf16"), ndim=1, shape=(hidden,), device=a.device)
    if b is not None and b.dtype != w.dtype:
        fail_here("bias: dtype differs from weight's")
    if out is None:
        out = _empty_like(x)
    o = device_array(out, "out", "bf16", ndim=2, shape=a.shape, contiguous="rows", device=a.device)
    r = optional(residual, "residual", "bf16", ndim=2, shape=a.shape, contiguous="rows",
                 device=a.device)
    nt = _num_tokens(num_tokens, a.device)
    p = _abi.sized(_abi.NormParams, kind=kind, tokens=tokens, hidden=hidden, x=a.ptr,
                   x_token_stride=a.token_stride(), out=o.ptr, out_token_stride=o.token_stride(),
                   residual=ptr(r), residual_token_stride=r.token_stride() if r else 0,
                   weight=w.ptr, bias=ptr(b), param_dtype=0 if w.dtype == 0 else 1, eps=eps,
                   num_tokens=ptr(nt))
    return launch(lib.seam_norm, p, default_stream(x, stream),
                  (x, weight, bias, residual, num_tokens), out, prepare)


def rms_norm(x, weight, out=None, residual=None, eps=1e-6, num_tokens=None, stream=None,
             prepare=False):
    """y = x * rsqrt(mean(x^2) + eps) * weight on bf16 [tokens, hidden]. With residual:
    residual <- x + residual first, and the updated residual is normalized."""
    return _norm(0, x, weight, None, out, residual, eps, num_tokens, stream, prepare)


def layer_norm(x, weight, bias=None, out=None, residual=None, eps=1e-6, num_tokens=None,
               stream=None, prepare=False):
    """y = (x - mean) * rsqrt(var + eps) * weight + bias on bf16 [tokens, hidden]."""
    return _norm(1, x, weight, bias, out, residual, eps, num_tokens, stream, prepare)


def rope(x, positions, rotary_dim, rotary_offset=0, style="neox", theta=10000.0,
         cos_sin_cache=None, num_tokens=None, stream=None, prepare=False):
    """Rotary embedding in place on x bf16 [tokens, heads, head_dim]; returns x."""
    if style not in ROPE_STYLES:
        fail_here(f"style={style!r} is not one of {sorted(ROPE_STYLES)}")
    a = device_array(x, "x", "bf16", ndim=3, contiguous="rows")
    pos = device_array(positions, "positions", "i32", ndim=1, shape=(a.shape[0],), device=a.device)
    cache = optional(cos_sin_cache, "cos_sin_cache", "f32", ndim=2, shape=(None, rotary_dim),
                     device=a.device)
    nt = _num_tokens(num_tokens, a.device)
    p = _abi.sized(_abi.RopeParams, tokens=a.shape[0], heads=a.shape[1], head_dim=a.shape[2],
                   rotary_dim=rotary_dim, rotary_offset=rotary_offset, x=a.ptr,
                   x_token_stride=a.token_stride(), positions=pos.ptr, style=ROPE_STYLES[style],
                   theta=theta, cos_sin_cache=ptr(cache),
                   cache_positions=cache.shape[0] if cache else 0, num_tokens=ptr(nt))
    return launch(lib.seam_rope, p, default_stream(x, stream),
                  (positions, cos_sin_cache, num_tokens), x, prepare)


def sparse_attention_workspace_size(tokens, heads, topk):
    n = C.c_size_t()
    check(lib.seam_sparse_attention_workspace_size(tokens, heads, topk, C.byref(n)))
    return n.value


def sparse_attention(q, kv, indices, scale, out=None, kernel="auto", workspace=None,
                     num_tokens=None, stream=None, prepare=False):
    """MLA sparse attention: q bf16 [tokens, heads, 576], kv bf16 [slots, 576] (or [pages,
    page_size, 576]), indices i32 [tokens, topk] -> out bf16 [tokens, heads, 512]. The split
    path's workspace is allocated with torch when not given."""
    if kernel not in ATTENTION_KERNELS:
        fail_here(f"kernel={kernel!r} is not one of {sorted(ATTENTION_KERNELS)}")
    qa = device_array(q, "q", "bf16", ndim=3, shape=(None, None, MLA_QK_DIM))
    tokens, heads = qa.shape[0], qa.shape[1]
    kva = device_array(kv, "kv", "bf16", device=qa.device)
    if kva.shape[-1] != MLA_QK_DIM or len(kva.shape) not in (2, 3):
        fail_here(f"kv: shape {kva.shape}, expected [slots, 576] or [pages, page_size, 576]")
    slots = kva.shape[0] * (kva.shape[1] if len(kva.shape) == 3 else 1)
    ix = device_array(indices, "indices", "i32", ndim=2, shape=(tokens, None), device=qa.device)
    if out is None:
        import torch
        out = torch.empty((tokens, heads, MLA_V_DIM), dtype=q.dtype, device=q.device)
    o = device_array(out, "out", "bf16", ndim=3, shape=(tokens, heads, MLA_V_DIM),
                     device=qa.device)
    need = sparse_attention_workspace_size(tokens, heads, ix.shape[1])
    if workspace is None and need:
        import torch
        workspace = torch.empty(need, dtype=torch.uint8, device=q.device)
    ws = optional(workspace, "workspace", "u8", ndim=1, device=qa.device)
    nt = _num_tokens(num_tokens, qa.device)
    p = _abi.sized(_abi.SparseAttentionParams, tokens=tokens, heads=heads, topk=ix.shape[1],
                   num_slots=slots, q=qa.ptr, kv=kva.ptr, indices=ix.ptr, out=o.ptr,
                   scale=scale, num_tokens=ptr(nt), kernel=ATTENTION_KERNELS[kernel],
                   workspace=ptr(ws), workspace_bytes=ws.shape[0] if ws else 0)
    return launch(lib.seam_sparse_attention, p, default_stream(q, stream),
                  (q, kv, indices, workspace, num_tokens), out, prepare)
