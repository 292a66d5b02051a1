"""Zero-copy views of device arrays: anything with __cuda_array_interface__ (torch, CuPy,
Numba) or __dlpack__. The binding checks device, dtype, shape and contiguity before a
pointer reaches seam, and keeps the owning object alive for as long as the view."""

import ctypes as C

from ._lib import fail_here

# seam_dtype values (include/seam/op.h) by typestr / DLPack (code, bits).
DTYPES = {"f32": 0, "f16": 1, "bf16": 2, "fp8_e4m3": 3, "i32": 4, "i64": 5, "u8": 6}
_ITEMSIZE = {0: 4, 1: 2, 2: 2, 3: 1, 4: 4, 5: 8, 6: 1}
_TYPESTR = {"<f4": 0, "<f2": 1, "<i4": 4, "<i8": 5, "|u1": 6, "<u1": 6}
_DLPACK = {(2, 32): 0, (2, 16): 1, (4, 16): 2, (0, 32): 4, (0, 64): 5, (1, 8): 6}
_TORCH = {"torch.float32": 0, "torch.float16": 1, "torch.bfloat16": 2,
          "torch.float8_e4m3fn": 3, "torch.int32": 4, "torch.int64": 5, "torch.uint8": 6}


class DeviceArray:
    """A checked view: ptr, seam dtype, shape, strides (elements), device ordinal."""

    __slots__ = ("owner", "ptr", "dtype", "shape", "_strides", "device", "_contiguous")

    def __init__(self, owner, ptr, dtype, shape, strides, device, contiguous=None):
        """strides None: read from owner.stride() when first needed (torch)."""
        self.owner, self.ptr, self.dtype = owner, ptr, dtype
        self.shape = shape if type(shape) is tuple or strides is None else tuple(shape)
        self._strides = strides if strides is None else tuple(strides)
        self.device, self._contiguous = device, contiguous

    @property
    def strides(self):
        if self._strides is None:
            self._strides = tuple(self.owner.stride())
        return self._strides

    def contiguous(self):
        if self._contiguous is None:
            expect, ok = 1, True
            for size, stride in zip(reversed(self.shape), reversed(self.strides)):
                if size != 1 and stride != expect:
                    ok = False
                    break
                expect *= size
            self._contiguous = ok
        return self._contiguous

    def rows_contiguous(self):
        """Contiguous except for the stride of dimension 0 (a slice of a fused projection)."""
        if self.contiguous():
            return True
        inner = DeviceArray(None, 0, self.dtype, self.shape[1:], self.strides[1:], None)
        row = 1
        for size in self.shape[1:]:
            row *= size
        return inner.contiguous() and (len(self.shape) < 1 or self.shape[0] <= 1
                                       or self.strides[0] >= row)

    def token_stride(self):
        """Elements between rows (0 when the array is contiguous: the launchers' default)."""
        if self.contiguous() or not self.shape or self.shape[0] <= 1:
            return 0
        return self.strides[0]

    def tensor(self, token_dim=-1):
        """The seam_tensor describing this array (for program externals and op calls)."""
        from . import _abi
        if len(self.shape) > _abi.MAX_DIMS:
            fail_here(f"{len(self.shape)} dimensions, seam tensors have at most {_abi.MAX_DIMS}")
        t = _abi.Tensor()
        t.data, t.dtype, t.ndim, t.token_dim = self.ptr, self.dtype, len(self.shape), token_dim
        for i, (n, s) in enumerate(zip(self.shape, self.strides)):
            t.shape[i], t.strides[i] = n, s
        return t


def dtype_name(dtype):
    return next(k for k, v in DTYPES.items() if v == dtype)


# Typestr of the same item size for dtypes __cuda_array_interface__ has no name for; torch
# views them back (bf16, fp8).
_CAI_TYPESTR = {0: "<f4", 1: "<f2", 2: "<i2", 3: "|u1", 4: "<i4", 5: "<i8", 6: "|u1"}


class TensorView:
    """A seam_tensor as a device array: what a graph or a Python op hands back. Exposes
    __cuda_array_interface__ (bf16 and fp8 as same-size integers); as_torch() gives a torch
    tensor of the right dtype over the same memory (no copy)."""

    def __init__(self, t, owner=None):
        self.owner = owner
        self.ptr, self.dtype, self.token_dim = t.data, t.dtype, t.token_dim
        self.shape = tuple(t.shape[i] for i in range(t.ndim))
        self.strides = tuple(t.strides[i] for i in range(t.ndim))

    @property
    def dtype_name(self):
        return dtype_name(self.dtype)

    @property
    def __cuda_array_interface__(self):
        item = _ITEMSIZE[self.dtype]
        return {"shape": self.shape, "typestr": _CAI_TYPESTR[self.dtype],
                "strides": tuple(s * item for s in self.strides), "data": (self.ptr or 0, False),
                "version": 3}

    def as_torch(self):
        import torch
        raw = torch.as_tensor(self, device="cuda")
        want = {2: torch.bfloat16, 3: torch.float8_e4m3fn}.get(self.dtype)
        return raw.view(want) if want is not None else raw


def default_stream(obj, stream):
    """`stream` if given, else torch's current stream for a torch tensor, else None (the
    legacy default stream)."""
    if stream is not None:
        return stream
    if type(obj).__module__.startswith("torch"):
        import torch
        return torch.cuda.current_stream(obj.device).cuda_stream
    return None


def optional(obj, name, *args, **kw):
    """device_array for an optional argument: None stays None."""
    return None if obj is None else device_array(obj, name, *args, **kw)


def ptr(arr):
    return arr.ptr if arr is not None else None


class _DLDevice(C.Structure):
    _fields_ = [("device_type", C.c_int32), ("device_id", C.c_int32)]


class _DLDataType(C.Structure):
    _fields_ = [("code", C.c_uint8), ("bits", C.c_uint8), ("lanes", C.c_uint16)]


class _DLTensor(C.Structure):
    _fields_ = [("data", C.c_void_p), ("device", _DLDevice), ("ndim", C.c_int32),
                ("dtype", _DLDataType), ("shape", C.POINTER(C.c_int64)),
                ("strides", C.POINTER(C.c_int64)), ("byte_offset", C.c_uint64)]


_capsule_pointer = C.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = C.c_void_p
_capsule_pointer.argtypes = [C.py_object, C.c_char_p]
_KDL_CUDA = 2


# Per-call cost matters (an engine calls ops every forward): answers are cached by type and
# by torch dtype object, and torch's own C methods check contiguity.
_torch_types = {}
_torch_dtypes = {}


def _is_torch(obj):
    t = type(obj)
    known = _torch_types.get(t)
    if known is None:
        known = _torch_types[t] = t.__module__.startswith("torch") and hasattr(t, "data_ptr")
    return known


def _from_torch(obj, name):
    """torch tensors directly (cheaper than building their __cuda_array_interface__, which
    also has no bf16 or fp8)."""
    if not obj.is_cuda:
        fail_here(f"{name}: a torch tensor on {obj.device}, expected CUDA memory")
    dtype = _torch_dtypes.get(obj.dtype)
    if dtype is None:
        dtype = _TORCH.get(str(obj.dtype))
        if dtype is None:
            fail_here(f"{name}: unsupported dtype {obj.dtype}")
        _torch_dtypes[obj.dtype] = dtype
    return DeviceArray(obj, obj.data_ptr(), dtype, obj.shape, None, obj.get_device(),
                       obj.is_contiguous())


_allowed_cache = {}


def _allowed(dtype):
    codes = _allowed_cache.get(dtype)
    if codes is None:
        names = (dtype,) if isinstance(dtype, str) else tuple(dtype)
        codes = _allowed_cache[dtype] = frozenset(DTYPES[d] for d in names)
    return codes


def _from_cai(obj, name):
    cai = obj.__cuda_array_interface__
    typestr = cai["typestr"]
    dtype = _TORCH.get(str(getattr(obj, "dtype", "")), _TYPESTR.get(typestr))
    if dtype is None:
        fail_here(f"{name}: unsupported dtype {typestr}")
    shape = cai["shape"]
    item = _ITEMSIZE[dtype]
    if cai.get("strides") is None:
        strides, s = [], 1
        for size in reversed(shape):
            strides.insert(0, s)
            s *= size
    else:
        strides = [b // item for b in cai["strides"]]
    device = obj.device.index if hasattr(obj, "device") and hasattr(obj.device, "index") else None
    return DeviceArray(obj, cai["data"][0], dtype, shape, strides, device)


def _from_dlpack(obj, name):
    capsule = obj.__dlpack__()
    dl = _DLTensor.from_address(_capsule_pointer(capsule, b"dltensor"))
    if dl.device.device_type != _KDL_CUDA:
        fail_here(f"{name}: DLPack device type {dl.device.device_type} is not CUDA memory")
    dtype = _DLPACK.get((dl.dtype.code, dl.dtype.bits))
    if dtype is None or dl.dtype.lanes != 1:
        fail_here(f"{name}: unsupported DLPack dtype code={dl.dtype.code} bits={dl.dtype.bits}")
    shape = [dl.shape[i] for i in range(dl.ndim)]
    if dl.strides:
        strides = [dl.strides[i] for i in range(dl.ndim)]
    else:
        strides, s = [], 1
        for size in reversed(shape):
            strides.insert(0, s)
            s *= size
    arr = DeviceArray((obj, capsule), dl.data + dl.byte_offset, dtype, shape, strides,
                      dl.device.device_id)
    return arr


def device_array(obj, name, dtype=None, ndim=None, shape=None, contiguous=True, device=None):
    """Check and view a device array argument; `name` is used in error messages.
    dtype is a seam dtype name ("f32"), shape may hold None for any size."""
    if _is_torch(obj):
        arr = _from_torch(obj, name)
    elif hasattr(obj, "__cuda_array_interface__"):
        arr = _from_cai(obj, name)
    elif hasattr(obj, "__dlpack__"):
        arr = _from_dlpack(obj, name)
    else:
        fail_here(f"{name}: {type(obj).__name__} is not a CUDA array "
                  "(needs __cuda_array_interface__ or __dlpack__)")
    if dtype is not None and arr.dtype not in _allowed(dtype):
        allowed = (dtype,) if isinstance(dtype, str) else tuple(dtype)
        fail_here(f"{name}: dtype {dtype_name(arr.dtype)}, expected {' or '.join(allowed)}")
    if ndim is not None and len(arr.shape) != ndim:
        fail_here(f"{name}: {len(arr.shape)} dimensions, expected {ndim}")
    if shape is not None:
        for i, want in enumerate(shape):
            if want is not None and arr.shape[i] != want:
                fail_here(f"{name}: shape[{i}]={arr.shape[i]}, expected {want}")
    if contiguous == "rows":
        if not arr.rows_contiguous():
            fail_here(f"{name}: dimensions after the first must be contiguous (strides "
                      f"{arr.strides} for shape {arr.shape})")
    elif contiguous and not arr.contiguous():
        fail_here(f"{name}: not contiguous (strides {arr.strides} for shape {arr.shape})")
    if device is not None and arr.device is not None and arr.device != device:
        fail_here(f"{name}: on device {arr.device}, expected device {device}")
    return arr


def int32_host_array(values, name):
    """A host int32 array from a list, range, tuple, numpy array, array.array or CPU tensor.
    Contiguous int32 buffers (numpy int32, array.array('i'), CPU int32 tensors) are used
    without a copy; anything else is converted."""
    if values is None:
        return None
    if _is_torch(values):
        if values.is_cuda:
            fail_here(f"{name}: a CUDA tensor; batch arrays are host memory (use .cpu())")
        values = values.numpy()
    try:
        mv = memoryview(values)
    except TypeError:
        mv = None
    if mv is not None:
        if mv.itemsize == 4 and mv.format in ("i", "=i", "<i") and mv.c_contiguous:
            n = mv.nbytes // 4
            if mv.readonly:
                return (C.c_int32 * n).from_buffer_copy(mv)
            return (C.c_int32 * n).from_buffer(mv)
        values = mv.tolist() if mv.ndim <= 1 else [v for row in mv.tolist() for v in row]
    elif hasattr(values, "tolist"):
        values = values.tolist()
    try:
        return (C.c_int32 * len(values))(*values)
    except TypeError:
        pass
    try:
        return (C.c_int32 * len(values))(*[int(v) for v in values])
    except (TypeError, ValueError) as e:
        fail_here(f"{name}: not a sequence of integers ({e})")
