#!/usr/bin/env python3
"""Torch reference for seam's sparse MLA attention: gather + attention in torch, timed with
CUDA events (median), at the shapes of seam-bench-layers. With --lib (build-gpu/libseam.so)
it also runs seam_sparse_attention through ctypes on the same tensors, checks the outputs
agree, and prints both timings side by side.

  python3 tools/bench_layers_torch.py --lib build-gpu/libseam.so [--json torch.json]

The torch version is what an engine without a fused kernel does:
  rows = kv[idx.clamp(min=0)]                       # [T, topk, 576] gather (materialized)
  s = (q @ rows^T).float() * scale, masked -inf      # [T, H, topk]
  out = softmax(s).bf16() @ rows[..., :512]          # [T, H, 512]
"""
import argparse
import ctypes
import json
import statistics

import torch

QK, V = 576, 512


def torch_sparse_attention(q, kv, idx, scale):
    rows = kv[idx.clamp(min=0).long()]                          # [T, K, 576]
    s = torch.matmul(q, rows.transpose(1, 2)).float() * scale   # [T, H, K]
    s.masked_fill_((idx < 0).unsqueeze(1), float("-inf"))
    p = torch.softmax(s, dim=-1).nan_to_num_(0.0).to(torch.bfloat16)
    return torch.matmul(p, rows[..., :V])                       # [T, H, 512]


class Params(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("tokens", ctypes.c_int),
                ("heads", ctypes.c_int), ("topk", ctypes.c_int), ("num_slots", ctypes.c_int),
                ("q", ctypes.c_void_p), ("kv", ctypes.c_void_p), ("indices", ctypes.c_void_p),
                ("out", ctypes.c_void_p), ("scale", ctypes.c_float),
                ("num_tokens", ctypes.c_void_p), ("kernel", ctypes.c_int),
                ("workspace", ctypes.c_void_p), ("workspace_bytes", ctypes.c_size_t)]


class Seam:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.seam_sparse_attention.argtypes = [ctypes.POINTER(Params), ctypes.c_void_p]
        self.lib.seam_sparse_attention_workspace_size.argtypes = [
            ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_size_t)]
        self.lib.seam_last_error.restype = ctypes.c_char_p

    def check(self, status):
        if status != 0:
            raise RuntimeError(self.lib.seam_last_error().decode())

    def make(self, q, kv, out, scale, topk):
        t, h, _ = q.shape
        n = ctypes.c_size_t(0)
        self.check(self.lib.seam_sparse_attention_workspace_size(t, h, topk, ctypes.byref(n)))
        ws = torch.empty(max(n.value, 16), dtype=torch.uint8, device=q.device)
        p = Params(ctypes.sizeof(Params), t, h, topk, kv.shape[0], q.data_ptr(), kv.data_ptr(),
                   None, out.data_ptr(), scale, None, 0, ws.data_ptr(), n.value)
        return p, ws

    def run(self, p, idx):
        p.indices = idx.data_ptr()
        self.check(self.lib.seam_sparse_attention(ctypes.byref(p),
                                                  torch.cuda.current_stream().cuda_stream))


def median_us(fn, iters, sets):
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for i in range(-3, iters):
        start.record()
        fn(i % sets)
        end.record()
        end.synchronize()
        if i >= 0:
            times.append(start.elapsed_time(end) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", default="1,64,512")
    ap.add_argument("--heads", default="16,128")
    ap.add_argument("--topk", type=int, default=2048)
    ap.add_argument("--slots", type=int, default=400000)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--lib", default=None, help="path to libseam.so for the side-by-side run")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    dev = torch.device("cuda")
    torch.manual_seed(0)
    seam = Seam(a.lib) if a.lib else None
    kv = (torch.rand(a.slots, QK, device=dev) * 2 - 1).to(torch.bfloat16)
    scale = 192 ** -0.5
    results = []
    print(f"device {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print(f"{'tokens':>6} {'heads':>6} {'topk':>6} {'torch_us':>10} {'seam_us':>10} {'speedup':>8} {'max_diff':>9}")
    for t in map(int, a.tokens.split(",")):
        for h in map(int, a.heads.split(",")):
            gathered = t * a.topk * QK * 2
            sets = min(64, (200 << 20) // gathered + 1)
            q = (torch.rand(t, h, QK, device=dev) * 2 - 1).to(torch.bfloat16)
            idx = torch.randint(0, a.slots, (sets, t, a.topk), device=dev, dtype=torch.int32)
            idx[:, :, ::17] = -1  # some masked slots, as short requests have
            try:
                torch_us = median_us(lambda i: torch_sparse_attention(q, kv, idx[i], scale),
                                     a.iters, sets)
                ref = torch_sparse_attention(q, kv, idx[0], scale)
            except torch.OutOfMemoryError:
                torch_us, ref = float("nan"), None
                torch.cuda.empty_cache()
            row = {"tokens": t, "heads": h, "topk": a.topk, "torch_us": torch_us}
            seam_us, diff = float("nan"), float("nan")
            if seam:
                out = torch.empty(t, h, V, device=dev, dtype=torch.bfloat16)
                p, ws = seam.make(q, kv, out, scale, a.topk)
                seam_us = median_us(lambda i: seam.run(p, idx[i]), a.iters, sets)
                seam.run(p, idx[0])
                torch.cuda.synchronize()
                if ref is not None:
                    diff = (out.float() - ref.float()).abs().max().item()
                row.update(seam_us=seam_us, max_abs_diff=diff)
            results.append(row)
            print(f"{t:6d} {h:6d} {a.topk:6d} {torch_us:10.1f} {seam_us:10.1f} "
                  f"{torch_us / seam_us:8.2f} {diff:9.2e}")
            del q, idx
            torch.cuda.empty_cache()
    doc = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "results": results}
    print(json.dumps(doc, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
