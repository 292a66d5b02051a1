"""seam's small value helpers (include/seam/op.h, graph.h): dtype sizes and names, tensor
descriptions, and the by-value constructors of op and program arguments. The binding builds
these structs itself; the constructors are wrapped so the tests can compare the library's
layout with the ctypes mirrors field by field."""

import ctypes as C

from . import _abi
from ._lib import declare, lib

declare("seam_dtype_size", C.c_size_t, C.c_int)
declare("seam_dtype_name", C.c_char_p, C.c_int)
declare("seam_tensor_contiguous", _abi.Tensor, C.c_void_p, C.c_int, C.c_int,
        C.POINTER(C.c_int64), C.c_int)
declare("seam_tensor_is_contiguous", C.c_int, C.POINTER(_abi.Tensor))
declare("seam_tensor_bytes", C.c_size_t, C.POINTER(_abi.Tensor))
declare("seam_arg_tensor", _abi.Arg, _abi.Tensor)
declare("seam_arg_int", _abi.Arg, C.c_int64)
declare("seam_arg_float", _abi.Arg, C.c_double)
declare("seam_arg_ptr", _abi.Arg, C.c_void_p)
declare("seam_arg_none", _abi.Arg)
declare("seam_program_arg_tensor", _abi.ProgramArg, C.c_int)
declare("seam_program_arg_int", _abi.ProgramArg, C.c_int64)
declare("seam_program_arg_float", _abi.ProgramArg, C.c_double)
declare("seam_program_arg_ptr", _abi.ProgramArg, C.c_void_p)
declare("seam_program_arg_none", _abi.ProgramArg)


def dtype_size(dtype):
    return lib.seam_dtype_size(dtype)


def dtype_name(dtype):
    return lib.seam_dtype_name(dtype).decode()


def tensor_contiguous(data, dtype, shape, token_dim=-1):
    """seam_tensor_contiguous: a row-major tensor description (an _abi.Tensor)."""
    dims = (C.c_int64 * len(shape))(*shape)
    return lib.seam_tensor_contiguous(data, dtype, len(shape), dims, token_dim)


def tensor_is_contiguous(t):
    return bool(lib.seam_tensor_is_contiguous(C.byref(t)))


def tensor_bytes(t):
    return lib.seam_tensor_bytes(C.byref(t))


arg_tensor = lib.seam_arg_tensor
arg_int = lib.seam_arg_int
arg_float = lib.seam_arg_float
arg_ptr = lib.seam_arg_ptr
arg_none = lib.seam_arg_none
program_arg_tensor = lib.seam_program_arg_tensor
program_arg_int = lib.seam_program_arg_int
program_arg_float = lib.seam_program_arg_float
program_arg_ptr = lib.seam_program_arg_ptr
program_arg_none = lib.seam_program_arg_none
