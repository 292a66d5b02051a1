"""seam from Python: a ctypes binding of libseam (no C extension to build).

The library is found through $SEAM_LIBRARY, the repository's meson build directories
(build/, build-gpu/), or the system's library path. Every failed call raises SeamError (or
a subclass) carrying seam's own last-error message. Device arrays are taken without copies
from anything with __cuda_array_interface__ or __dlpack__ (torch, CuPy)."""

from ._lib import ConfigError, InvalidArgumentError, NoDeviceError, SeamError
from ._lib import path as library_path
from .context import HOST, MODES, Context
from .runtime import VARIABLES, Config, device_count, device_info, version
from .tensors import device_array
from .topk import topk, workspace_size as topk_workspace_size

__all__ = [
    "ConfigError", "Context", "Config", "HOST", "InvalidArgumentError", "MODES",
    "NoDeviceError", "SeamError", "VARIABLES", "device_array", "device_count", "device_info",
    "library_path", "topk", "topk_workspace_size", "version",
]
