"""A built program: the piecewise plan, its arena and captured pieces; run, dispatch,
tensors, and the report (stats, steps, buckets, plan text, DOT)."""

import ctypes as C
import os
import tempfile

from . import _abi
from ._lib import Handle, check, declare, fail_here, lib
from .registry import raise_pending
from .tensors import TensorView

declare("seam_graph_build", C.c_int, C.POINTER(C.c_void_p), C.c_void_p, C.c_void_p,
        C.POINTER(_abi.GraphOptions))
declare("seam_graph_destroy", C.c_int, C.c_void_p)
declare("seam_graph_run", C.c_int, C.c_void_p)
declare("seam_graph_dispatch_of", C.c_int, C.c_void_p, C.POINTER(_abi.GraphDispatch))
declare("seam_graph_tensor", C.c_int, C.c_void_p, C.c_int, C.c_int, C.POINTER(_abi.Tensor))
declare("seam_graph_get_stats", C.c_int, C.c_void_p, C.POINTER(_abi.GraphStats))
declare("seam_graph_get_step", C.c_int, C.c_void_p, C.c_int, C.POINTER(_abi.GraphStep))
declare("seam_graph_get_bucket", C.c_int, C.c_void_p, C.c_int, C.POINTER(_abi.GraphBucket))
declare("seam_graph_write_plan", C.c_int, C.c_void_p, C.c_void_p)
declare("seam_graph_write_dot", C.c_int, C.c_void_p, C.c_void_p)
declare("seam_graph_dump_piece", C.c_int, C.c_void_p, C.c_int, C.c_int, C.c_char_p)

_libc = C.CDLL(None)
_libc.fopen.restype = C.c_void_p
_libc.fopen.argtypes = [C.c_char_p, C.c_char_p]
_libc.fclose.argtypes = [C.c_void_p]

EXEC_MODES = {"update": 0, "per_bucket": 1}


def _struct_dict(s):
    out = {}
    for name, _ in s._fields_:
        v = getattr(s, name)
        out[name] = v.decode() if isinstance(v, bytes) else v
    return out


class Graph(Handle):
    """seam_graph_build(program, ctx). Borrows ctx and the program's registry (kept alive
    here); the program may be closed after the build. capture=False (or a host context)
    plans only: runs are eager (host context: run raises NoDeviceError)."""

    _destroy = "seam_graph_destroy"

    def __init__(self, program, ctx, capture=True, exec_mode="update", warmup=True, progress=0):
        program._require_open()
        ctx._require_open()
        if exec_mode not in EXEC_MODES:
            fail_here(f"exec_mode={exec_mode!r} is not one of {sorted(EXEC_MODES)}")
        self.ctx, self.registry = ctx, program.registry
        self._externals = list(program._externals)
        self.tensors = {t.name: t for t in program.tensors}
        opts = _abi.sized(_abi.GraphOptions, capture=int(bool(capture)),
                          exec_mode=EXEC_MODES[exec_mode], warmup=int(bool(warmup)),
                          progress=progress)
        self.handle = C.c_void_p()
        status = lib.seam_graph_build(C.byref(self.handle), program.handle, ctx.handle,
                                      C.byref(opts))
        raise_pending(status)
        self._run = lib.seam_graph_run

    def _require_open(self):
        if not self.handle:
            fail_here("seam.Graph: the graph is closed")

    def run(self):
        """The forward for the context's current batch, on the context's stream (async)."""
        status = self._run(self.handle)
        if status:
            self._require_open()
            raise_pending(status)

    def dispatch(self):
        """What run() would do for the current batch: tokens, padded_tokens, bucket, replay."""
        self._require_open()
        d = _abi.GraphDispatch()
        check(lib.seam_graph_dispatch_of(self.handle, C.byref(d)))
        return _struct_dict(d)

    def tensor(self, ref, num_tokens=None):
        """Program tensor `ref` (TensorRef, name or id) as calls see it at num_tokens
        (default: the current batch's real token count): a TensorView (.as_torch())."""
        self._require_open()
        if isinstance(ref, str):
            if ref not in self.tensors:
                fail_here(f"graph: no tensor named {ref!r}")
            ref = self.tensors[ref]
        tid = ref if isinstance(ref, int) else ref.id
        if num_tokens is None:
            num_tokens = self.ctx.counts()["tokens"]
        t = _abi.Tensor()
        check(lib.seam_graph_tensor(self.handle, tid, num_tokens, C.byref(t)))
        return TensorView(t, owner=self)

    def stats(self):
        self._require_open()
        s = _abi.sized(_abi.GraphStats)
        check(lib.seam_graph_get_stats(self.handle, C.byref(s)))
        d = _struct_dict(s)
        d.pop("struct_size")
        return d

    def steps(self):
        n = self.stats()["num_steps"]
        out = []
        for i in range(n):
            s = _abi.GraphStep()
            check(lib.seam_graph_get_step(self.handle, i, C.byref(s)))
            d = _struct_dict(s)
            d["kind"] = ("piece", "split")[s.kind]
            out.append(d)
        return out

    def buckets(self):
        n = self.stats()["num_buckets"]
        out = []
        for i in range(n):
            b = _abi.GraphBucket()
            check(lib.seam_graph_get_bucket(self.handle, i, C.byref(b)))
            out.append(_struct_dict(b))
        return out

    def _text(self, fn):
        self._require_open()
        fd, path = tempfile.mkstemp(prefix="seam-plan-")
        os.close(fd)
        try:
            f = _libc.fopen(path.encode(), b"w")
            if not f:
                fail_here(f"graph: cannot open {path} for writing")
            try:
                status = fn(self.handle, f)
            finally:
                _libc.fclose(f)
            check(status)
            with open(path) as r:
                return r.read()
        finally:
            os.unlink(path)

    def plan(self):
        """The human-readable plan (seam_graph_write_plan)."""
        return self._text(lib.seam_graph_write_plan)

    def dot(self):
        """The plan as Graphviz DOT (seam_graph_write_dot)."""
        return self._text(lib.seam_graph_write_dot)

    def dump_piece(self, piece, tokens, path):
        """The captured CUDA graph of one piece at one bucket, as DOT, to path."""
        self._require_open()
        check(lib.seam_graph_dump_piece(self.handle, piece, tokens, str(path).encode()))
