#!/usr/bin/env python3
"""Torch versions of seam's indexer logits, timed with CUDA events (median) at the shapes of
seam-bench-indexer. With --lib (build-gpu/libseam.so) it also runs seam's kernels through
ctypes on the same tensors, checks they agree, and prints both timings side by side: the
">= 3x faster than torch" goal of issue 6.

  python3 tools/bench_indexer_torch.py --lib build-gpu/libseam.so [--quick] [--json torch.json]

The math, logit[t, s] = sum_h w[t,h] * relu(q[t,h,:] . k[s,:]) * k_scale[s], in torch:
  fp32:  einsum over dequantized fp8 in fp32 (exact products and fp32 sums, like seam)
  bf16:  the same einsum in bf16 (fp8 values are exact in bf16; the dot products round to bf16)
  fp8:   torch._scaled_mm on the fp8 tensors with fp32 output (the torch fp8 GEMM), then the
         relu / head-weight epilogue in fp32
Prefill is one request of C keys whose last T tokens are the queries (causal: row t sees
C - T + t + 1 keys); torch works in query chunks that fit in memory and computes only the
keys a chunk can see. Decode gathers each request's keys through the block table (page 64)
and does the same per request.
"""
import argparse
import ctypes
import json
import statistics

import torch

H, D = 64, 128
FP8 = torch.float8_e4m3fn
ALGO_AUTO = 0  # what an engine gets: wgmma at 64 heads on an H100 (until 2026-11-23: mma.sync)


class RaggedParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("rows", ctypes.c_int), ("heads", ctypes.c_int),
                ("keys", ctypes.c_int), ("stride", ctypes.c_int), ("q", ctypes.c_void_p),
                ("weights", ctypes.c_void_p), ("k", ctypes.c_void_p), ("k_scales", ctypes.c_void_p),
                ("row_starts", ctypes.c_void_p), ("lengths", ctypes.c_void_p),
                ("logits", ctypes.c_void_p), ("algo", ctypes.c_int)]


class PagedParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("groups", ctypes.c_int), ("next_n", ctypes.c_int),
                ("heads", ctypes.c_int), ("stride", ctypes.c_int), ("q", ctypes.c_void_p),
                ("weights", ctypes.c_void_p), ("k_cache", ctypes.c_void_p),
                ("k_scales", ctypes.c_void_p), ("num_pages", ctypes.c_int64),
                ("page_size", ctypes.c_int), ("block_table", ctypes.c_void_p),
                ("table_stride", ctypes.c_int), ("table_stride_device", ctypes.c_void_p),
                ("row_to_req", ctypes.c_void_p), ("context_lens", ctypes.c_void_p),
                ("context_lens_stride", ctypes.c_int), ("logits", ctypes.c_void_p),
                ("algo", ctypes.c_int), ("cu_seqlens_q", ctypes.c_void_p),
                ("num_requests_device", ctypes.c_void_p), ("max_requests", ctypes.c_int)]


class Seam:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.seam_indexer_logits_ragged.argtypes = [ctypes.POINTER(RaggedParams), ctypes.c_void_p]
        self.lib.seam_indexer_logits_paged.argtypes = [ctypes.POINTER(PagedParams), ctypes.c_void_p]
        self.lib.seam_last_error.restype = ctypes.c_char_p

    def check(self, status):
        if status != 0:
            raise RuntimeError(self.lib.seam_last_error().decode())

    def ragged(self, q, w, k, ks, starts, lens, out):
        p = RaggedParams(ctypes.sizeof(RaggedParams), q.shape[0], H, k.shape[0], out.shape[1],
                         q.data_ptr(), w.data_ptr(), k.data_ptr(), ks.data_ptr(), starts.data_ptr(),
                         lens.data_ptr(), out.data_ptr(), ALGO_AUTO)
        return lambda: self.check(self.lib.seam_indexer_logits_ragged(
            ctypes.byref(p), torch.cuda.current_stream().cuda_stream))

    def paged(self, q, w, cache, scales, table, lens, out, next_n=1):
        b = table.shape[0]
        p = PagedParams(ctypes.sizeof(PagedParams), b, next_n, H, out.shape[1], q.data_ptr(),
                        w.data_ptr(), cache.data_ptr(), scales.data_ptr(), cache.shape[0],
                        cache.shape[1], table.data_ptr(), table.shape[1], None, None,
                        lens.data_ptr(), next_n, out.data_ptr(), ALGO_AUTO, None, None, 0)
        return lambda: self.check(self.lib.seam_indexer_logits_paged(
            ctypes.byref(p), torch.cuda.current_stream().cuda_stream))


def median_ms(fn, iters):
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for i in range(-2, iters):
        start.record()
        fn()
        end.record()
        end.synchronize()
        if i >= 0:
            times.append(start.elapsed_time(end))
    return statistics.median(times)


def logits_block(qc, wc, kc, ksc, mode):
    """qc fp8 [c, H, D], wc [c, H], kc fp8 [n, D], ksc [n] -> fp32 [c, n]."""
    c, n = qc.shape[0], kc.shape[0]
    if mode == "fp8":
        one = torch.ones((), device=qc.device)
        s = torch._scaled_mm(qc.reshape(c * H, D), kc.t(), scale_a=one, scale_b=one,
                             out_dtype=torch.float32).view(c, H, n)
    else:
        dt = torch.float32 if mode == "fp32" else torch.bfloat16
        s = torch.einsum("thd,sd->ths", qc.to(dt), kc.to(dt)).float()
    return (s.relu_() * wc[:, :, None]).sum(1) * ksc[None, :]


def torch_prefill(q, w, k, ks, lens, out, mode, budget):
    t_all = q.shape[0]
    chunk = max(1, budget // (H * k.shape[0] * 4))
    for t0 in range(0, t_all, chunk):
        t1 = min(t_all, t0 + chunk)
        n = int(lens[t1 - 1])  # causal: the chunk's last row sees the most keys
        n = min(k.shape[0], (n + 15) // 16 * 16)  # _scaled_mm wants multiples of 16
        out[t0:t1, :n] = logits_block(q[t0:t1], w[t0:t1], k[:n], ks[:n], mode)


def torch_decode(q, w, cache, scales, table, ctx, out, mode, budget):
    ps = cache.shape[1]
    flat, flat_s = cache.view(-1, D).view(torch.uint8), scales.view(-1)
    pos = torch.arange(ctx, device=q.device)
    slots = table[:, pos // ps].long() * ps + pos % ps  # [B, ctx]: the gather engines do
    if mode == "fp8":  # _scaled_mm is 2-D: one request at a time
        for b in range(table.shape[0]):
            out[b:b + 1, :ctx] = logits_block(q[b:b + 1], w[b:b + 1], flat[slots[b]].view(FP8),
                                              flat_s[slots[b]], mode)
        return
    dt = torch.float32 if mode == "fp32" else torch.bfloat16
    step = max(1, budget // (ctx * (H + D) * 4))  # scores and gathered keys in fp32
    for b0 in range(0, table.shape[0], step):
        sl = slots[b0:b0 + step]
        kk = flat[sl].view(FP8).to(dt)                                    # [b, ctx, D]
        s = torch.einsum("bhd,bld->bhl", q[b0:b0 + step].to(dt), kk).float()
        out[b0:b0 + step, :ctx] = (s.relu_() * w[b0:b0 + step, :, None]).sum(1) * flat_s[sl]


def agree(got, ref):
    scale = ref.abs().max().item() or 1.0
    return (got - ref).abs().max().item() / scale


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default=None, help="path to libseam.so for the side-by-side run")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--budget", type=int, default=2 << 30, help="bytes of torch intermediates")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    dev = torch.device("cuda")
    torch.manual_seed(0)
    seam = Seam(a.lib) if a.lib else None
    modes = ["fp32", "bf16"] + (["fp8"] if hasattr(torch, "_scaled_mm") else [])
    results = []
    print(f"device {torch.cuda.get_device_name()}, torch {torch.__version__}")

    shapes = [(4096, 4096), (4096, 16384), (8192, 8192), (8192, 32768), (8192, 65536)]
    print("\nprefill (ragged, causal): ms")
    print(f"{'T':>6} {'C':>6} " + " ".join(f"{m + '_ms':>10}" for m in modes) +
          f" {'seam_ms':>9} {'vs best':>8} {'rel_err':>8}")
    for t, c in shapes[:2] if a.quick else shapes:
        q = torch.randn(t, H, D, device=dev).to(FP8)
        w = torch.randn(t, H, device=dev)
        k = torch.randn(c, D, device=dev).to(FP8)
        ks = torch.rand(c, device=dev) + 0.01
        lens = torch.arange(c - t + 1, c + 1, device=dev, dtype=torch.int32)
        starts = torch.zeros(t, device=dev, dtype=torch.int32)
        out = torch.zeros(t, c, device=dev)
        row = {"section": "prefill", "tokens": t, "context": c}
        lens_host = lens.cpu()
        ref = None
        for m in modes:
            try:
                row[m + "_ms"] = median_ms(lambda: torch_prefill(q, w, k, ks, lens_host, out, m, a.budget),
                                           max(2, a.iters // 3))
                if m == "fp32":
                    ref = out.clone()
            except (torch.OutOfMemoryError, RuntimeError) as e:
                row[m + "_ms"] = float("nan")
                print(f"  torch {m}: {type(e).__name__}: {str(e)[:80]}")
                torch.cuda.empty_cache()
        if seam:
            so = torch.zeros(t, c, device=dev)
            run = seam.ragged(q, w, k, ks, starts, lens, so)
            row["seam_ms"] = median_ms(run, a.iters)
            run()
            torch.cuda.synchronize()
            if ref is not None:
                mask = torch.arange(c, device=dev)[None, :] < lens[:, None].long()
                row["rel_err"] = agree(so * mask, ref * mask)
        best = min((row[m + "_ms"] for m in modes if row[m + "_ms"] == row[m + "_ms"]), default=float("nan"))
        sp = best / row["seam_ms"] if "seam_ms" in row else float("nan")
        row["speedup_vs_best_torch"] = sp
        print(f"{t:>6} {c:>6} " + " ".join(f"{row[m + '_ms']:>10.3f}" for m in modes) +
              f" {row.get('seam_ms', float('nan')):>9.3f} {sp:>8.2f} {row.get('rel_err', float('nan')):>8.1e}")
        results.append(row)
        del q, k, out, ref
        torch.cuda.empty_cache()

    print("\ndecode (paged, page 64): ms")
    print(f"{'B':>4} {'L':>7} " + " ".join(f"{m + '_ms':>10}" for m in modes) +
          f" {'seam_ms':>9} {'vs best':>8} {'rel_err':>8}")
    for b in ([1, 64] if a.quick else [1, 8, 32, 64]):
        for ctx in ([4096, 131072] if a.quick else [4096, 32768, 131072]):
            pages = (ctx + 63) // 64
            cache = torch.randn(b * pages, 64, D, device=dev).to(FP8)
            scales = torch.rand(b * pages, 64, device=dev) + 0.01
            table = torch.randperm(b * pages, device=dev, dtype=torch.int32).view(b, pages)
            q = torch.randn(b, H, D, device=dev).to(FP8)
            w = torch.randn(b, H, device=dev)
            lens = torch.full((b,), ctx, device=dev, dtype=torch.int32)
            out = torch.zeros(b, ctx, device=dev)
            row = {"section": "decode", "batch": b, "context": ctx}
            ref = None
            for m in modes:
                try:
                    row[m + "_ms"] = median_ms(lambda: torch_decode(q, w, cache, scales, table, ctx, out, m, a.budget),
                                               a.iters)
                    if m == "fp32":
                        ref = out.clone()
                except (torch.OutOfMemoryError, RuntimeError) as e:
                    row[m + "_ms"] = float("nan")
                    print(f"  torch {m}: {type(e).__name__}: {str(e)[:80]}")
                    torch.cuda.empty_cache()
            if seam:
                so = torch.zeros(b, ctx, device=dev)
                run = seam.paged(q, w, cache, scales, table, lens, so)
                row["seam_ms"] = median_ms(run, a.iters)
                run()
                torch.cuda.synchronize()
                if ref is not None:
                    row["rel_err"] = agree(so, ref)
            best = min((row[m + "_ms"] for m in modes if row[m + "_ms"] == row[m + "_ms"]), default=float("nan"))
            sp = best / row["seam_ms"] if "seam_ms" in row else float("nan")
            row["speedup_vs_best_torch"] = sp
            print(f"{b:>4} {ctx:>7} " + " ".join(f"{row[m + '_ms']:>10.3f}" for m in modes) +
                  f" {row.get('seam_ms', float('nan')):>9.3f} {sp:>8.2f} {row.get('rel_err', float('nan')):>8.1e}")
            results.append(row)
            del cache, scales, out, ref
            torch.cuda.empty_cache()

    if a.json:
        with open(a.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__,
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
