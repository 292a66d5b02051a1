# Imports FlashInfer (falling back to flashinfer.topk alone) and runs one top_k so its JIT
# module is built and cached; used by tools/gpu-run.sh before the top-k peer benchmark.
import sys, time, traceback, types, importlib
t=time.time()
try:
    import flashinfer
    print("flashinfer import ok", flashinfer.__version__)
except Exception as e:
    print("full import failed:", type(e).__name__, str(e)[:300])
    for k in [k for k in sys.modules if k.startswith("flashinfer")]: del sys.modules[k]
    import importlib.util, os
    spec = importlib.util.find_spec("flashinfer")
    pkg = types.ModuleType("flashinfer"); pkg.__path__ = list(spec.submodule_search_locations); sys.modules["flashinfer"] = pkg
    try:
        import flashinfer.topk as ft
        print("flashinfer.topk partial import ok")
    except Exception as e2:
        traceback.print_exc(limit=3)
        sys.exit(0)
import torch
ft = sys.modules.get("flashinfer.topk") or importlib.import_module("flashinfer.topk")
x = torch.randn(4, 65536, device="cuda")
t0=time.time()
try:
    v = ft.top_k(x, 2048)
    torch.cuda.synchronize()
    print("top_k ran, jit+run s=%.1f" % (time.time()-t0), type(v))
except Exception as e:
    traceback.print_exc(limit=4)
