"""seam from Python: a ctypes binding of libseam (no C extension to build).

The library is found through $SEAM_LIBRARY, the repository's meson build directories
(build/, build-gpu/), or the system's library path. Every failed call raises SeamError (or
a subclass) carrying seam's own last-error message. Device arrays are taken without copies
from torch tensors and anything with __cuda_array_interface__ or __dlpack__ (CuPy).

Modules: runtime (config, devices, logging), context (Context, set_batch), topk, layers
(hadamard, norms, rope, sparse attention), indexer (k-cache store, logits, slots, index
top-k), registry (ops, Python split ops), program + graph (piecewise CUDA graphs), comm
(communicator, broadcast, digest), values (dtype and argument helpers)."""

from . import comm, indexer, launch, layers, values
from ._lib import ConfigError, InvalidArgumentError, NoDeviceError, SeamError
from ._lib import path as library_path
from .comm import Comm, Digest, nccl_version, unique_id
from .context import HOST, MODES, Context
from .graph import Graph
from .layers import hadamard, layer_norm, rms_norm, rope, sparse_attention
from .program import Program, Ptr, TensorRef
from .registry import OpInfo, PythonCall, Registry
from .runtime import (LOG_LEVELS, VARIABLES, Config, describe_variables, device_count,
                      device_info, get_log_level, set_log_level, version)
from .tensors import TensorView, device_array
from .topk import topk, workspace_size as topk_workspace_size

__all__ = [
    "Comm", "comm", "Config", "ConfigError", "Context", "describe_variables", "device_array",
    "device_count", "device_info", "Digest", "get_log_level", "Graph", "hadamard", "HOST",
    "indexer", "InvalidArgumentError", "launch", "layer_norm", "layers", "library_path",
    "LOG_LEVELS", "MODES", "nccl_version", "NoDeviceError", "OpInfo", "Program", "Ptr",
    "PythonCall", "Registry", "rms_norm", "rope", "SeamError", "set_log_level",
    "sparse_attention", "TensorRef", "TensorView", "topk", "topk_workspace_size", "unique_id",
    "values", "VARIABLES", "version",
]
