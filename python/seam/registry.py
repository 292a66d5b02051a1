"""The op registry from Python: list and find ops (with their capture class), run one op
eagerly on a context, and register Python ops.

Python ops are SPLIT only. A CUDA graph records the kernels launched while it is captured,
not the Python code that launched them: a Python callback inside a captured piece would run
once at capture time and never on replay. Registered as SPLIT, the graph builder cuts the
program there and calls the Python function eagerly on every run, between replayed pieces.
"""

import ctypes as C
import threading
import traceback

from . import _abi
from ._lib import Handle, SeamError, check, declare, fail_here, lib
from .tensors import TensorView, default_stream, device_array

declare("seam_registry_create", C.c_int, C.POINTER(C.c_void_p))
declare("seam_registry_create_empty", C.c_int, C.POINTER(C.c_void_p))
declare("seam_registry_destroy", C.c_int, C.c_void_p)
declare("seam_registry_register", C.c_int, C.c_void_p, C.POINTER(_abi.Op),
        C.POINTER(C.POINTER(_abi.Op)))
declare("seam_registry_find", C.c_int, C.c_void_p, C.c_char_p, C.POINTER(C.POINTER(_abi.Op)))
declare("seam_registry_count", C.c_int, C.c_void_p)
declare("seam_registry_get", C.c_int, C.c_void_p, C.c_int, C.POINTER(C.POINTER(_abi.Op)))
declare("seam_op_is_capturable", C.c_int, C.POINTER(_abi.Op), C.c_int)
declare("seam_op_class_string", C.c_char_p, C.POINTER(_abi.Op))
declare("seam_op_call_check", C.c_int, C.POINTER(_abi.OpCall))
declare("seam_op_run", C.c_int, C.POINTER(_abi.OpCall), C.c_void_p, C.c_void_p)
declare("seam_context_batch_host", C.c_int, C.c_void_p, C.POINTER(C.POINTER(_abi.BatchView)))

ARG_KINDS = {"none": 0, "tensor": 1, "int": 2, "float": 3, "ptr": 4}
_KIND_NAMES = {v: k for k, v in ARG_KINDS.items()}
CAPTURE_CLASSES = {"capturable": 1, "split": 2, "capturable-when-graph-safe": 4}
STATUS_INTERNAL = 14

# The exception a Python op raised on this thread, re-raised by the call that ran it.
_pending = threading.local()


def raise_pending(status):
    """Re-raise a Python op's exception (chained to seam's error) if one is waiting, else
    turn status into seam's exception."""
    exc = getattr(_pending, "exc", None)
    if exc is not None:
        _pending.exc = None
        try:
            check(status)
        except SeamError as e:
            raise exc from e
        raise exc
    check(status)


class OpInfo:
    """What the registry says about one op."""

    def __init__(self, ptr):
        self.ptr = ptr
        d = ptr.contents
        self.name = d.name.decode()
        self.flags = d.flags
        self.capture_class = lib.seam_op_class_string(ptr).decode()
        self.args = []
        for i in range(d.num_args):
            n = d.arg_names[i]
            self.args.append({"name": n.decode() if n else f"arg{i}",
                              "kind": _KIND_NAMES.get(d.arg_kinds[i], str(d.arg_kinds[i])),
                              "optional": bool(d.optional_args >> i & 1),
                              "mutated": bool(d.mutates >> i & 1)})

    def capturable(self, graph_safe=False):
        return bool(lib.seam_op_is_capturable(self.ptr, int(bool(graph_safe))))

    def arg_index(self, name):
        for i, a in enumerate(self.args):
            if a["name"] == name:
                return i
        fail_here(f"op '{self.name}': no argument named {name!r} "
                  f"(has {', '.join(a['name'] for a in self.args)})")

    def bind(self, args, kwargs):
        """Positional then keyword arguments in descriptor order; missing ones are None."""
        if len(args) > len(self.args):
            fail_here(f"op '{self.name}': {len(args)} arguments, takes {len(self.args)}")
        out = list(args) + [None] * (len(self.args) - len(args))
        for k, v in kwargs.items():
            i = self.arg_index(k)
            if i < len(args):
                fail_here(f"op '{self.name}': argument {k!r} given twice")
            out[i] = v
        return out

    def __repr__(self):
        return f"<seam op {self.name} ({self.capture_class})>"


class PythonCall:
    """What a Python op's function receives: its arguments (TensorView for tensors, int,
    float, int address for pointers, None for left-out ones), num_tokens (the bucket in a
    replay, the real count when eager), the context handle and the stream to launch on."""

    def __init__(self, call, ctx, stream):
        c = call.contents
        self.num_tokens = c.num_tokens
        self.ctx = ctx
        self.stream = stream or 0
        self.args = []
        for i in range(c.num_args):
            a = c.args[i]
            self.args.append({1: lambda: TensorView(a.u.tensor), 2: lambda: a.u.i,
                              3: lambda: a.u.f, 4: lambda: a.u.ptr}.get(a.kind, lambda: None)())

    def counts(self):
        """The current batch's scalars from the context's host view."""
        v = C.POINTER(_abi.BatchView)()
        check(lib.seam_context_batch_host(self.ctx, C.byref(v)))
        return {n: v.contents.counts[i] for i, n in enumerate(_abi.COUNT_NAMES)}


def _make_run(fn):
    def run(call, ctx, stream):
        try:
            status = fn(PythonCall(call, ctx, stream))
            return int(status or 0)
        except BaseException as e:  # noqa: BLE001 -- must not unwind through C frames
            e.__traceback_text__ = traceback.format_exc()
            _pending.exc = e
            return STATUS_INTERNAL
    return _abi.RUN_FN(run)


class Registry(Handle):
    """seam_registry: builtin=True registers seam's ops (topk, rms_norm, indexer_*, ...)."""

    _destroy = "seam_registry_destroy"

    def __init__(self, builtin=True):
        self.handle = C.c_void_p()
        create = lib.seam_registry_create if builtin else lib.seam_registry_create_empty
        check(create(C.byref(self.handle)))
        self._keep = []  # CFUNCTYPE objects and strings of Python ops

    def _require_open(self):
        if not self.handle:
            fail_here("seam.Registry: the registry is closed")

    def __len__(self):
        self._require_open()
        return lib.seam_registry_count(self.handle)

    def find(self, name):
        self._require_open()
        p = C.POINTER(_abi.Op)()
        check(lib.seam_registry_find(self.handle, name.encode(), C.byref(p)))
        return OpInfo(p)

    def ops(self):
        """Every registered op, in registration order."""
        self._require_open()
        out = []
        for i in range(len(self)):
            p = C.POINTER(_abi.Op)()
            check(lib.seam_registry_get(self.handle, i, C.byref(p)))
            out.append(OpInfo(p))
        return out

    def register_python(self, name, fn, args, mutates=(), optional=(), capture="split"):
        """Register a Python function as an op. args: [(name, kind)] with kind one of
        tensor, int, float, ptr; mutates / optional: names of written / optional args.
        fn(call: PythonCall) launches its work on call.stream and returns None (or a
        seam_status); an exception it raises is re-raised by the run that called it.
        Only capture="split" is accepted: see the module docstring."""
        self._require_open()
        if capture != "split":
            fail_here(f"register_python: capture={capture!r}: Python ops must be 'split' "
                      "(a captured graph would not call back into Python on replay)")
        if len(args) > _abi.MAX_OP_ARGS:
            fail_here(f"register_python: {len(args)} arguments, at most {_abi.MAX_OP_ARGS}")
        d = _abi.Op()
        keep = [name.encode()]
        d.name = keep[0]
        d.flags = CAPTURE_CLASSES["split"]
        d.num_args = len(args)
        names = [a[0] for a in args]
        for i, (an, kind) in enumerate(args):
            if kind not in ARG_KINDS or kind == "none":
                fail_here(f"register_python: argument {an!r}: kind {kind!r} is not one of "
                          "tensor, int, float, ptr")
            keep.append(an.encode())
            d.arg_kinds[i] = ARG_KINDS[kind]
            d.arg_names[i] = keep[-1]
        for label, group in (("mutates", mutates), ("optional", optional)):
            for n in group:
                if n not in names:
                    fail_here(f"register_python: {label}: no argument named {n!r}")
        d.mutates = sum(1 << names.index(n) for n in mutates)
        d.optional_args = sum(1 << names.index(n) for n in optional)
        run = _make_run(fn)
        d.run = run
        keep.append(run)
        out = C.POINTER(_abi.Op)()
        check(lib.seam_registry_register(self.handle, C.byref(d), C.byref(out)))
        self._keep.append(keep)
        return OpInfo(out)

    def run(self, name, ctx, *args, num_tokens=None, stream=None, check_only=False, **kwargs):
        """Run op `name` once, eagerly, on ctx (seam_op_run): arguments by position or by
        their registered names; tensors are device arrays (token dimension 0 when
        num_tokens is given or inferred from the first tensor). stream: the context's
        stream when None."""
        op = self.find(name)
        bound = op.bind(args, kwargs)
        call = _abi.OpCall()
        call.op = op.ptr
        call.num_args = len(bound)
        owners = []
        first_rows = None
        for i, v in enumerate(bound):
            a = call.args[i]
            kind = op.args[i]["kind"]
            if v is None:
                a.kind = 0
            elif kind == "tensor":
                arr = device_array(v, op.args[i]["name"], contiguous=False)
                owners.append(arr)
                a.kind = 1
                a.u.tensor = arr.tensor(0 if arr.shape else -1)
                if first_rows is None and arr.shape:
                    first_rows = arr.shape[0]
            elif kind == "int":
                a.kind, a.u.i = 2, int(v)
            elif kind == "float":
                a.kind, a.u.f = 3, float(v)
            else:
                a.kind, a.u.ptr = 4, v
        call.num_tokens = num_tokens if num_tokens is not None else (first_rows or 0)
        if check_only:
            check(lib.seam_op_call_check(C.byref(call)))
            return None
        handle = ctx.handle if hasattr(ctx, "handle") else ctx
        if stream is None and hasattr(ctx, "params") and ctx.params.device >= 0:
            stream = ctx.stream  # a host context has none: its ops are split ops
        status = lib.seam_op_run(C.byref(call), handle, default_stream(None, stream))
        raise_pending(status)
        return None
