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
declare("seam_config_var_allowed", C.c_char_p, C.c_int)
declare("seam_config_var_help", C.c_char_p, C.c_int)
declare("seam_config_topk_is_deterministic", C.c_int, C.POINTER(_abi.Config))
declare("seam_config_capture_sizes", C.c_int, C.POINTER(_abi.Config), C.c_int,
        C.POINTER(C.c_int), C.c_int, C.POINTER(C.c_int))
declare("seam_set_log_level", None, C.c_int)
declare("seam_get_log_level", C.c_int)
declare("seam_device_count", C.c_int, C.POINTER(C.c_int))
declare("seam_device_get_info", C.c_int, C.c_int, C.POINTER(_abi.DeviceInfo))

VARIABLES = []
for _i in range(_abi.CONFIG_VARS):
    VARIABLES.append(lib.seam_config_var_name(_i).decode())


LOG_LEVELS = {"error": 0, "warn": 1, "info": 2, "debug": 3}


def set_log_level(level):
    """Process-wide log level: error, warn, info or debug."""
    if level not in LOG_LEVELS:
        from ._lib import fail_here
        fail_here(f"level={level!r} is not one of {', '.join(LOG_LEVELS)}")
    lib.seam_set_log_level(LOG_LEVELS[level])


def get_log_level():
    return {v: k for k, v in LOG_LEVELS.items()}[lib.seam_get_log_level()]


def describe_variables():
    """name -> (allowed values, help) of every SEAM_* variable."""
    return {v: (lib.seam_config_var_allowed(i).decode(), lib.seam_config_var_help(i).decode())
            for i, v in enumerate(VARIABLES)}


def version():
    v = lib.seam_version()
    return (v // 10000, v // 100 % 100, v % 100)


class Config:
    """seam_config: read from the SEAM_* environment, overridable by variable name
    (`cfg["SEAM_GRAPH_SAFE"] = "1"`, with the environment's validation) or by field."""

    def __init__(self, from_env=True):
        self.raw = _abi.Config()
        check(lib.seam_config_from_env(C.byref(self.raw)))

    @classmethod
    def from_raw(cls, raw):
        """A copy of a seam_config (e.g. a context's)."""
        cfg = cls.__new__(cls)
        cfg.raw = _abi.Config()
        C.memmove(C.byref(cfg.raw), C.byref(raw), C.sizeof(_abi.Config))
        return cfg

    def validate(self):
        check(lib.seam_config_validate(C.byref(self.raw)))

    @property
    def topk_deterministic(self):
        """Effective determinism: asked for, or forced on by a tie-break."""
        return bool(lib.seam_config_topk_is_deterministic(C.byref(self.raw)))

    def capture_sizes(self, max_tokens):
        """The capture buckets in force for max_tokens (ascending)."""
        buf = (C.c_int * (_abi.MAX_CAPTURE_SIZES + 1))()
        n = C.c_int()
        check(lib.seam_config_capture_sizes(C.byref(self.raw), max_tokens, buf, len(buf),
                                            C.byref(n)))
        return list(buf[:n.value])

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
