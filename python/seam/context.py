"""seam_context from Python: create, set batches, read the batch views."""

import ctypes as C

from . import _abi
from ._lib import Handle, check, declare, fail_here, lib
from .runtime import Config
from .tensors import int32_host_array

declare("seam_context_create", C.c_int, C.POINTER(C.c_void_p), C.POINTER(_abi.ContextParams))
declare("seam_context_destroy", C.c_int, C.c_void_p)
declare("seam_context_set_batch", C.c_int, C.c_void_p, C.POINTER(_abi.Batch))
declare("seam_context_batch_host", C.c_int, C.c_void_p, C.POINTER(C.POINTER(_abi.BatchView)))
declare("seam_context_batch_device", C.c_int, C.c_void_p, C.POINTER(C.POINTER(_abi.BatchView)))
declare("seam_context_stream", C.c_int, C.c_void_p, C.POINTER(C.c_void_p))
declare("seam_context_workspace", C.c_int, C.c_void_p, C.POINTER(C.c_void_p), C.POINTER(C.c_size_t))
declare("seam_context_synchronize", C.c_int, C.c_void_p)
declare("seam_context_device", C.c_int, C.c_void_p, C.POINTER(C.c_int))
declare("seam_context_config", C.POINTER(_abi.Config), C.c_void_p)
declare("seam_context_params_of", C.POINTER(_abi.ContextParams), C.c_void_p)
declare("seam_batch_check", C.c_int, C.POINTER(_abi.ContextParams), C.POINTER(_abi.Batch))

HOST = -1
_BATCH_SIZE = C.sizeof(_abi.Batch)
MODES = {"idle": 0, "extend": 1, "decode": 2, "target_verify": 3}


class Context(Handle):
    """A seam context on `device` (an ordinal, or seam.HOST for planning without a GPU).
    `stream` is an engine's CUDA stream handle (e.g. torch.cuda.current_stream().cuda_stream)
    that seam borrows; None lets seam create its own."""

    _destroy = "seam_context_destroy"

    def __init__(self, device=0, max_tokens=4096, max_batch=64, max_context=163840,
                 num_layers=61, page_size=1, max_next_n=1, workspace_bytes=64 << 20,
                 stream=None, config=None):
        self.config = config if config is not None else Config()
        p = _abi.ContextParams(C.sizeof(_abi.ContextParams), device, max_tokens, max_batch,
                               max_context, num_layers, page_size, max_next_n, workspace_bytes,
                               stream, C.pointer(self.config.raw))
        self.params = p
        self.handle = C.c_void_p()
        check(lib.seam_context_create(C.byref(self.handle), C.byref(p)))

    def _require_open(self):
        if not self.handle:
            fail_here("seam.Context: the context is closed")

    def set_batch(self, mode, seq_lens, out_cache_loc, page_table, page_table_stride=None,
                  extend_lens=None, positions=None, next_n=1):
        """One forward's batch. Arrays are host sequences (lists, numpy, CPU tensors);
        page_table is [batch][stride] (nested or flat with page_table_stride)."""
        self._require_open()
        b, keep = make_batch(mode, seq_lens, out_cache_loc, page_table, page_table_stride,
                             extend_lens, positions, next_n)
        check(lib.seam_context_set_batch(self.handle, C.byref(b)))

    def check_batch(self, *args, **kw):
        """Validate a batch against this context's limits without setting it."""
        b, keep = make_batch(*args, **kw)
        check(lib.seam_batch_check(C.byref(self.params), C.byref(b)))

    @property
    def device(self):
        self._require_open()
        d = C.c_int()
        check(lib.seam_context_device(self.handle, C.byref(d)))
        return d.value

    def effective_config(self):
        """The context's own copy of its config (a Config)."""
        self._require_open()
        return Config.from_raw(lib.seam_context_config(self.handle).contents)

    def effective_params(self):
        """The context's creation parameters as seam keeps them (dict)."""
        self._require_open()
        p = lib.seam_context_params_of(self.handle).contents
        return {n: getattr(p, n) for n, _ in p._fields_ if n not in ("struct_size", "config")}

    def _view(self, fn):
        self._require_open()
        v = C.POINTER(_abi.BatchView)()
        check(fn(self.handle, C.byref(v)))
        return v.contents

    def counts(self):
        """The current batch's scalars (host copy) by name."""
        v = self._view(lib.seam_context_batch_host)
        return {n: v.counts[i] for i, n in enumerate(_abi.COUNT_NAMES)}

    def host_view(self):
        return self._view(lib.seam_context_batch_host)

    def device_view(self):
        """Device pointers of the batch arrays (fixed for the context's life)."""
        v = self._view(lib.seam_context_batch_device)
        return {name: C.cast(getattr(v, name), C.c_void_p).value for name, _ in v._fields_}

    @property
    def stream(self):
        self._require_open()
        s = C.c_void_p()
        check(lib.seam_context_stream(self.handle, C.byref(s)))
        return s.value

    def workspace(self):
        self._require_open()
        p, n = C.c_void_p(), C.c_size_t()
        check(lib.seam_context_workspace(self.handle, C.byref(p), C.byref(n)))
        return p.value, n.value

    def synchronize(self):
        self._require_open()
        check(lib.seam_context_synchronize(self.handle))


def make_batch(mode, seq_lens, out_cache_loc, page_table, page_table_stride=None,
               extend_lens=None, positions=None, next_n=1):
    """A seam_batch mirror and the host arrays it points to (keep both alive)."""
    if mode not in MODES:
        fail_here(f"mode={mode!r} is not one of {sorted(MODES)}")
    if page_table is not None and len(page_table) and hasattr(page_table[0], "__len__"):
        rows = page_table
        page_table_stride = page_table_stride or max((len(r) for r in rows), default=0)
        flat = []
        for r in rows:
            flat.extend(r)
            if len(r) < page_table_stride:
                flat.extend([0] * (page_table_stride - len(r)))
        page_table = flat
    keep = (int32_host_array(seq_lens, "seq_lens"), int32_host_array(extend_lens, "extend_lens"),
            int32_host_array(positions, "positions"),
            int32_host_array(out_cache_loc, "out_cache_loc"),
            int32_host_array(page_table, "page_table"))
    n = len(seq_lens) if seq_lens is not None else 0
    b = _abi.Batch(_BATCH_SIZE, MODES[mode], n,
                   *[C.addressof(a) if a is not None else None for a in keep],
                   page_table_stride or 0, next_n)
    return b, keep
