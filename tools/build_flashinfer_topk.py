#!/usr/bin/env python3
"""Builds FlashInfer 0.7.2's top-k module for sm_90a on a machine without a GPU, so the lent
GPU machines need not compile it (about 15 minutes: cub_topk.cu is one translation unit whose
ptxas step alone runs ~6 minutes single-threaded, more than a GPU session can spare).

    mkdir -p /tmp/fi && tar xJf .device/fi-slim.tar.xz -C /tmp/fi     # tools/stage_flashinfer.sh
    PATH=/usr/local/cuda/bin:$PATH FLASHINFER_CUDA_ARCH_LIST=9.0a FLASHINFER_WORKSPACE_BASE=/tmp/fiws \\
        PYTHONPATH=/tmp/fi:/tmp/pydeps python3.12 tools/build_flashinfer_topk.py .device/fi-jit.tar.xz

(/tmp/pydeps: filelock, packaging, typing_extensions.) The result holds one file,
flashinfer/data/aot/topk/topk.so: FlashInfer loads a module found in its package's AOT folder
as is, with no hash, version or ninja check, so tools/gpu-run.sh unpacks it over the slim
package and the first top_k call takes under a second. The JIT cache folder would not do: its
ninja file embeds this machine's paths, so FlashInfer would rebuild there. The .so links only
libcudart.so.13 and the C/C++ runtimes (glibc >= 2.34) and takes its TVM-FFI symbols from the
libtvm_ffi that `import tvm_ffi` loads, so it does not depend on the Python version.

FlashInfer's package imports torch; building needs none of it, so a stub stands in (it only
answers the C++ ABI flag, which torch 2.11 wheels set to 1) and the package __init__s, which
import everything, are skipped."""
import importlib.util
import os
import shutil
import sys
import tarfile
import tempfile
import time
import types

import tvm_ffi  # noqa: F401  first, while no torch is importable: it skips its torch hooks


class _Stub(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = type(name, (), {}) if name[:1].isupper() else _Stub(f"{self.__name__}.{name}")
        setattr(self, name, value)
        return value


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if not os.environ.get("FLASHINFER_CUDA_ARCH_LIST"):
        sys.exit("set FLASHINFER_CUDA_ARCH_LIST=9.0a")
    torch = _Stub("torch")
    torch._C = types.SimpleNamespace(_GLIBCXX_USE_CXX11_ABI=True)
    torch.version = types.SimpleNamespace(cuda="13.0")
    sys.modules["torch"] = torch
    root = os.path.dirname(importlib.util.find_spec("flashinfer").origin)
    for name, path in (("flashinfer", root), ("flashinfer.jit", os.path.join(root, "jit"))):
        module = types.ModuleType(name)
        module.__path__ = [path]
        sys.modules[name] = module
    from flashinfer.jit.topk import gen_topk_module

    spec = gen_topk_module()
    start = time.time()
    spec.build(verbose=True)
    print(f"built in {time.time() - start:.0f} s: {spec.jit_library_path}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        aot = os.path.join(tmp, "flashinfer", "data", "aot", "topk")
        os.makedirs(aot)
        shutil.copy(spec.jit_library_path, os.path.join(aot, "topk.so"))
        with tarfile.open(sys.argv[1], "w:xz") as tar:
            tar.add(os.path.join(tmp, "flashinfer"), arcname="flashinfer")
    print("wrote", sys.argv[1])


if __name__ == "__main__":
    main()
