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

    def __init__(self, owner, ptr, dtype, shape, strides, device):
        self.owner, self.ptr, self.dtype = owner, ptr, dtype
        self.shape, self.strides, self.device = tuple(shape), tuple(strides), device

    def contiguous(self):
        expect = 1
        for size, stride in zip(reversed(self.shape), reversed(self.strides)):
            if size != 1 and stride != expect:
                return False
            expect *= size
        return True


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
    if hasattr(obj, "__cuda_array_interface__"):
        arr = _from_cai(obj, name)
    elif hasattr(obj, "__dlpack__"):
        arr = _from_dlpack(obj, name)
    else:
        fail_here(f"{name}: {type(obj).__name__} is not a CUDA array "
                  "(needs __cuda_array_interface__ or __dlpack__)")
    if dtype is not None and arr.dtype != DTYPES[dtype]:
        got = next(k for k, v in DTYPES.items() if v == arr.dtype)
        fail_here(f"{name}: dtype {got}, expected {dtype}")
    if ndim is not None and len(arr.shape) != ndim:
        fail_here(f"{name}: {len(arr.shape)} dimensions, expected {ndim}")
    if shape is not None:
        for i, want in enumerate(shape):
            if want is not None and arr.shape[i] != want:
                fail_here(f"{name}: shape[{i}]={arr.shape[i]}, expected {want}")
    if contiguous and not arr.contiguous():
        fail_here(f"{name}: not contiguous (strides {arr.strides} for shape {arr.shape})")
    if device is not None and arr.device is not None and arr.device != device:
        fail_here(f"{name}: on device {arr.device}, expected device {device}")
    return arr


def int32_host_array(values, name):
    """A host int32 array from a list, tuple, numpy array or CPU tensor (copied)."""
    if values is None:
        return None
    if hasattr(values, "tolist"):
        values = values.tolist()
    try:
        return (C.c_int32 * len(values))(*[int(v) for v in values])
    except (TypeError, ValueError) as e:
        fail_here(f"{name}: not a sequence of integers ({e})")
