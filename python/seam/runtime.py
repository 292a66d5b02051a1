"""Version, configuration and devices."""

import ctypes as C

from . import _abi
from ._lib import check, declare, lib

declare("seam_config_from_env", C.c_int, C.POINTER(_abi.Config))
declare("seam_config_set", C.c_int, C.POINTER(_abi.Config), C.c_int, C.c_char_p)
declare("seam_config_validate", C.c_int, C.POINTER(_abi.Config))
declare("seam_config_format", C.c_int, C.POINTER(_abi.Config), C.c_int, C.c_char_p, C.c_size_t)
declare("seam_config_var_name", C.c_char_p, C.c_int)
declare("seam_config_source_string", C.c_char_p, C.c_int)
declare("seam_device_count", C.c_int, C.POINTER(C.c_int))
declare("seam_device_get_info", C.c_int, C.c_int, C.POINTER(_abi.DeviceInfo))

VARIABLES = []
for _i in range(_abi.CONFIG_VARS):
    VARIABLES.append(lib.seam_config_var_name(_i).decode())


def version():
    v = lib.seam_version()
    return (v // 10000, v // 100 % 100, v % 100)


class Config:
    """seam_config: read from the SEAM_* environment, overridable by variable name
    (`cfg["SEAM_GRAPH_SAFE"] = "1"`, with the environment's validation) or by field."""

    def __init__(self, from_env=True):
        self.raw = _abi.Config()
        check(lib.seam_config_from_env(C.byref(self.raw)))

    def __setitem__(self, var, value):
        check(lib.seam_config_set(C.byref(self.raw), VARIABLES.index(var), str(value).encode()))

    def __getitem__(self, var):
        buf = C.create_string_buffer(4096)
        check(lib.seam_config_format(C.byref(self.raw), VARIABLES.index(var), buf, len(buf)))
        return buf.value.decode()

    def source(self, var):
        return lib.seam_config_source_string(self.raw.source[VARIABLES.index(var)]).decode()

    def as_dict(self):
        return {v: self[v] for v in VARIABLES}


def device_count():
    """Number of GPUs; raises NoDeviceError without a GPU or driver."""
    n = C.c_int()
    check(lib.seam_device_count(C.byref(n)))
    return n.value


def device_info(ordinal=0):
    info = _abi.DeviceInfo()
    check(lib.seam_device_get_info(ordinal, C.byref(info)))
    return {"ordinal": info.ordinal, "name": info.name.decode(),
            "cc": (info.cc_major, info.cc_minor), "multiprocessors": info.multiprocessors,
            "total_memory": info.total_memory, "l2_bytes": info.l2_bytes,
            "driver_version": info.driver_version, "runtime_version": info.runtime_version}
