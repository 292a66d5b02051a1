"""Describing a forward as a seam program: arena and external tensors, and calls of
registered ops by name (include/seam/graph.h). Build it into a Graph (seam.graph)."""

import ctypes as C

from . import _abi
from ._lib import Handle, check, declare, fail_here, lib
from .tensors import DTYPES, device_array

declare("seam_program_create", C.c_int, C.POINTER(C.c_void_p), C.c_void_p)
declare("seam_program_destroy", C.c_int, C.c_void_p)
for _fn in ("seam_program_add_tensor", "seam_program_add_scratch"):
    declare(_fn, C.c_int, C.c_void_p, C.c_char_p, C.c_int, C.c_int, C.POINTER(C.c_int64),
            C.c_int, C.POINTER(C.c_int))
declare("seam_program_add_external", C.c_int, C.c_void_p, C.c_char_p, C.POINTER(_abi.Tensor),
        C.POINTER(C.c_int))
declare("seam_program_add_call", C.c_int, C.c_void_p, C.c_char_p, C.c_int,
        C.POINTER(_abi.ProgramArg), C.POINTER(C.c_int))
declare("seam_program_num_calls", C.c_int, C.c_void_p)
declare("seam_program_num_tensors", C.c_int, C.c_void_p)

NO_TOKEN_DIM = -1


class TensorRef:
    """A program tensor: its id, name and (for arena tensors) dtype and shape."""

    def __init__(self, id, name, kind, dtype=None, shape=None, token_dim=NO_TOKEN_DIM):
        self.id, self.name, self.kind = id, name, kind
        self.dtype, self.shape, self.token_dim = dtype, shape, token_dim

    def __repr__(self):
        return f"<seam program tensor {self.id} {self.name!r} ({self.kind})>"


class Ptr:
    """An opaque host pointer argument (SEAM_ARG_PTR), e.g. an engine's library handle."""

    def __init__(self, address):
        self.address = address


class Program(Handle):
    """seam_program over `registry` (a seam.Registry, borrowed: keep it alive)."""

    _destroy = "seam_program_destroy"

    def __init__(self, registry):
        registry._require_open()
        self.registry = registry
        self.handle = C.c_void_p()
        check(lib.seam_program_create(C.byref(self.handle), registry.handle))
        self.tensors = []
        self._externals = []  # the arrays behind external tensors stay alive with the program

    def _require_open(self):
        if not self.handle:
            fail_here("seam.Program: the program is closed")

    def tensor(self, name, dtype, shape, token_dim=0, scratch=False):
        """An arena tensor (contiguous). shape[token_dim] is symbolic (None or any value);
        token_dim=None for a tensor without a token dimension. scratch=True: contents
        live only from the call that first writes it to its last use (space is shared)."""
        self._require_open()
        if dtype not in DTYPES:
            fail_here(f"{name}: dtype {dtype!r} is not one of {', '.join(DTYPES)}")
        td = NO_TOKEN_DIM if token_dim is None else token_dim
        if len(shape) > _abi.MAX_DIMS:
            fail_here(f"{name}: {len(shape)} dimensions, at most {_abi.MAX_DIMS}")
        dims = (C.c_int64 * _abi.MAX_DIMS)(*[0 if (i == td or v is None) else int(v)
                                              for i, v in enumerate(shape)])
        fn = lib.seam_program_add_scratch if scratch else lib.seam_program_add_tensor
        out = C.c_int()
        check(fn(self.handle, name.encode(), DTYPES[dtype], len(shape), dims, td, C.byref(out)))
        ref = TensorRef(out.value, name, "scratch" if scratch else "arena", dtype, tuple(shape), td)
        self.tensors.append(ref)
        return ref

    def external(self, name, array, token_dim=None):
        """Engine memory at a fixed address (weights, the KV cache, an input buffer). With a
        token dimension its extent there is the row capacity (must be max_tokens)."""
        self._require_open()
        arr = device_array(array, name, contiguous=False)
        t = arr.tensor(NO_TOKEN_DIM if token_dim is None else token_dim)
        out = C.c_int()
        check(lib.seam_program_add_external(self.handle, name.encode(), C.byref(t), C.byref(out)))
        self._externals.append(arr)
        ref = TensorRef(out.value, name, "external", arr.dtype, arr.shape,
                        NO_TOKEN_DIM if token_dim is None else token_dim)
        self.tensors.append(ref)
        return ref

    def call(self, op_name, *args, **kwargs):
        """Append a call of registered op `op_name`. Arguments by position or by the op's
        argument names: TensorRef, int, float, Ptr, or None (left out). Returns the call's
        index."""
        self._require_open()
        op = self.registry.find(op_name)
        bound = op.bind(args, kwargs)
        arr = (_abi.ProgramArg * max(1, len(bound)))()
        for i, v in enumerate(bound):
            a = arr[i]
            name = op.args[i]["name"]
            if v is None:
                a.kind = 0
            elif isinstance(v, TensorRef):
                a.kind, a.tensor = 1, v.id
            elif isinstance(v, Ptr):
                a.kind, a.ptr = 4, v.address
            elif isinstance(v, bool) or isinstance(v, int):
                if op.args[i]["kind"] == "float":
                    a.kind, a.f = 3, float(v)
                else:
                    a.kind, a.i = 2, int(v)
            elif isinstance(v, float):
                a.kind, a.f = 3, v
            else:
                fail_here(f"op '{op_name}': argument {name}: {type(v).__name__} is not a "
                          "program tensor, int, float, Ptr or None")
        index = C.c_int()
        check(lib.seam_program_add_call(self.handle, op_name.encode(), len(bound), arr,
                                        C.byref(index)))
        return index.value

    @property
    def num_calls(self):
        self._require_open()
        return lib.seam_program_num_calls(self.handle)

    @property
    def num_tensors(self):
        self._require_open()
        return lib.seam_program_num_tensors(self.handle)
