#!/usr/bin/env python3
"""Time seam's top-k side by side with its peers, in one Python process, on one GPU.

Methods (k = 2048), each a median of CUDA-event timings with inputs rotated through a pool
larger than L2 (so every call reads HBM) and a GPU sleep queued first (so host launch gaps
never show up in the events):
  torch           torch.topk over the rows (torch has no lengths/row starts: full rows)
  torch+gather    torch.topk then the page-table gather (decode) or offset add (prefill)
  flashinfer      flashinfer.top_k (full rows), if `import flashinfer` works
  flashinfer-fused  top_k_page_table_transform (decode) / top_k_ragged_transform (prefill)
                  with lengths (and row starts where this version takes them), plus its
                  deterministic and graph-safe modes where the signature has them
  seam / seam-det / seam-fused   seam_topk from build-gpu/libseam.so through ctypes, on the
                  torch tensors' data pointers
The HBM floor is (valid score bytes + output bytes) / read bandwidth, the bandwidth measured
in this process with torch.sum over 1 GiB.

  python3 tools/bench_topk_peers.py [--lib build-gpu/libseam.so] [--json out.json] [--quick]
"""
import argparse
import ctypes
import inspect
import json
import os
import sys
import traceback

import torch

K = 2048
POOL_BYTES = 256 << 20


class SeamTopkParams(ctypes.Structure):
    """Mirror of seam_topk_params (include/seam/topk.h); enums are C ints."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("rows", ctypes.c_int),
        ("stride", ctypes.c_int),
        ("k", ctypes.c_int),
        ("scores", ctypes.c_void_p),
        ("lengths", ctypes.c_void_p),
        ("row_starts", ctypes.c_void_p),
        ("out", ctypes.c_void_p),
        ("backend", ctypes.c_int),
        ("deterministic", ctypes.c_int),
        ("tie_break", ctypes.c_int),
        ("transform", ctypes.c_int),
        ("page_table", ctypes.c_void_p),
        ("page_table_stride", ctypes.c_int),
        ("page_table_stride_device", ctypes.c_void_p),
        ("row_to_req", ctypes.c_void_p),
        ("offsets", ctypes.c_void_p),
        ("workspace", ctypes.c_void_p),
        ("workspace_bytes", ctypes.c_size_t),
    ]


TRANSFORM_NONE, TRANSFORM_PAGED, TRANSFORM_RAGGED = 0, 1, 2


class Seam:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.seam_topk.argtypes = [ctypes.POINTER(SeamTopkParams), ctypes.c_void_p]
        self.lib.seam_topk.restype = ctypes.c_int
        self.lib.seam_last_error.restype = ctypes.c_char_p

    def call(self, p):
        stream = torch.cuda.current_stream().cuda_stream
        s = self.lib.seam_topk(ctypes.byref(p), ctypes.c_void_p(stream))
        if s != 0:
            raise RuntimeError("seam_topk: status %d: %s" % (s, self.lib.seam_last_error().decode()))


def mix(x):
    """Same hash as tools/seam_bench_topk.c, so both tools time the same ragged rows."""
    x &= 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def shapes(quick):
    out = []
    for ri, rows in enumerate([1, 4, 16, 64, 256]):
        for li, L in enumerate([4096, 16384, 65536, 131072, 163840]):
            if not quick or (ri % 2 == 0 and li % 2 == 0) or L == 131072:
                out.append((rows, L, False))
    for ri, rows in enumerate([1024, 4096, 8192]):
        for li, L in enumerate([8192, 32768, 131072]):
            if not quick or ri == 0 or li == 1:
                out.append((rows, L, True))
    return out


def make_data(kind, shape):
    if kind == "normal":
        return torch.randn(shape, device="cuda", dtype=torch.float32)
    if kind == "ties":
        return torch.randn(shape, device="cuda", dtype=torch.float32).to(torch.bfloat16).float()
    return torch.randint(0, 16, shape, device="cuda").float() * 0.25


def median_us(fn, slots, reps):
    for w in range(3):
        fn(0)
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    # GPU busy (~75 us a call at 2 GHz) while the host queues every call, so no host gap
    # between calls lands inside an event pair.
    torch.cuda._sleep(max(4_000_000, reps * 150_000))
    for r in range(reps):
        starts[r].record()
        fn(r % slots)
        ends[r].record()
    torch.cuda.synchronize()
    t = sorted(s.elapsed_time(e) for s, e in zip(starts, ends))
    return t[len(t) // 2] * 1000.0


def read_bandwidth():
    x = torch.empty(1 << 28, device="cuda", dtype=torch.float32).normal_()
    t = median_us(lambda i: x.sum(), 1, 21)
    return x.numel() * 4 / (t * 1e-6)


def flashinfer_or_reason():
    try:
        import flashinfer  # noqa: F401

        return flashinfer, None
    except Exception as e:  # report exactly why it cannot run
        return None, "import flashinfer failed: %s: %s" % (type(e).__name__, e)


def supports(fn, name):
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default="build-gpu/libseam.so")
    ap.add_argument("--json", default="topk_peers.json")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()

    dev = torch.cuda.get_device_properties(0)
    bw = read_bandwidth()
    print("device: %s, torch %s, read bandwidth %.0f GB/s" % (dev.name, torch.__version__, bw / 1e9))
    fi, fi_reason = flashinfer_or_reason()
    if fi is None:
        print("flashinfer: not timed: " + fi_reason)
    else:
        print("flashinfer %s" % getattr(fi, "__version__", "?"))
    seam = None
    try:
        seam = Seam(args.lib)
    except OSError as e:
        print("seam: not timed: cannot load %s: %s" % (args.lib, e))

    results = []
    notes = {"flashinfer": fi_reason or "ok", "torch": "torch.topk reads full rows (no lengths)"}
    print("%-8s %6s %7s %-7s %-26s %10s %10s %7s" % ("kind", "rows", "L", "data", "method",
                                                     "median_us", "floor_us", "x_floor"))
    for rows, L, ragged in shapes(args.quick):
        starts, lens = [], []
        for r in range(rows):
            s, n = 0, L
            if ragged:
                s = mix(r * 2 + 1) % (L // 4)
                n = L - s - mix(r * 2 + 2) % (L // 4)
            starts.append(s)
            lens.append(n)
        valid = sum(lens)
        floor_us = (valid * 4 + rows * K * 4) / bw * 1e6
        shape_bytes = rows * L * 4
        slots = max(1, min(64, POOL_BYTES // shape_bytes))
        reps = 11 if shape_bytes >= 1 << 30 else 25 if shape_bytes >= 256 << 20 else 100
        if args.quick:
            reps = min(reps, 25)
        d_lens = torch.tensor(lens, device="cuda", dtype=torch.int32)
        d_starts = torch.tensor(starts, device="cuda", dtype=torch.int32)
        # Decode: page table [rows, L] (one request per row); prefill: ragged offsets.
        row_to_req = torch.arange(rows, device="cuda", dtype=torch.int32)
        page_table = None
        if not ragged:
            page_table = torch.randperm(rows * L, device="cuda").to(torch.int32).view(rows, L)
        offsets = torch.arange(rows, device="cuda", dtype=torch.int32) * 7
        out = torch.empty(rows, K, device="cuda", dtype=torch.int32)
        for data in ["normal", "ties"] + ([] if ragged and args.quick else ["few"]):
            pool = make_data(data, (slots, rows, L))
            methods = []
            if rows * L <= (64 << 20):
                methods.append(("torch", lambda i: torch.topk(pool[i], K, dim=1)))
                if ragged:
                    methods.append(("torch+offset", lambda i: torch.topk(pool[i], K, dim=1)[1].int() + offsets[:, None]))
                else:
                    methods.append(("torch+gather", lambda i: torch.gather(page_table, 1, torch.topk(pool[i], K, dim=1)[1])))
            if fi is not None:
                methods.append(("flashinfer", lambda i: fi.top_k(pool[i], K)))
                if ragged:
                    fn = fi.top_k_ragged_transform
                    kw = {"row_starts": d_starts} if supports(fn, "row_starts") else {}
                    base = lambda i, kw=kw, fn=fn, extra={}: fn(pool[i], offsets, d_lens, K, **kw, **extra)
                else:
                    fn = fi.top_k_page_table_transform
                    kw = {"row_to_batch": row_to_req} if supports(fn, "row_to_batch") else {}
                    base = lambda i, kw=kw, fn=fn, extra={}: fn(pool[i], page_table, d_lens, K, **kw, **extra)
                methods.append(("flashinfer-fused", base))
                if supports(fn, "deterministic"):
                    methods.append(("flashinfer-fused-det", lambda i, b=base: b(i, extra={"deterministic": True})))
                if supports(fn, "dsa_graph_safe"):
                    methods.append(("flashinfer-fused-graphsafe", lambda i, b=base: b(i, extra={"dsa_graph_safe": True})))
            if seam is not None:
                def seam_fn(det, transform):
                    p = SeamTopkParams()
                    p.struct_size = ctypes.sizeof(SeamTopkParams)
                    p.rows, p.stride, p.k = rows, L, K
                    p.lengths = d_lens.data_ptr()
                    p.row_starts = d_starts.data_ptr() if ragged else None
                    p.out = out.data_ptr()
                    p.backend, p.deterministic, p.tie_break = 0, det, 0
                    p.transform = transform
                    if transform == TRANSFORM_PAGED:
                        p.page_table = page_table.data_ptr()
                        p.page_table_stride = L
                        p.row_to_req = row_to_req.data_ptr()
                    elif transform == TRANSFORM_RAGGED:
                        p.offsets = offsets.data_ptr()
                    ptrs = [pool[i].data_ptr() for i in range(slots)]

                    def run(i):
                        p.scores = ptrs[i]
                        seam.call(p)

                    return run

                methods.append(("seam", seam_fn(0, TRANSFORM_NONE)))
                methods.append(("seam-det", seam_fn(1, TRANSFORM_NONE)))
                methods.append(("seam-fused", seam_fn(0, TRANSFORM_RAGGED if ragged else TRANSFORM_PAGED)))
            for name, fn in methods:
                try:
                    us = median_us(fn, slots, reps)
                except Exception as e:
                    print("%s on %dx%d %s failed: %s" % (name, rows, L, data, e))
                    traceback.print_exc(limit=1)
                    continue
                kind = "prefill" if ragged else "decode"
                print("%-8s %6d %7d %-7s %-26s %10.1f %10.1f %7.2f" % (kind, rows, L, data, name, us,
                                                                      floor_us, us / floor_us))
                sys.stdout.flush()
                results.append({"kind": kind, "rows": rows, "L": L, "data": data, "method": name,
                                "median_us": round(us, 2), "floor_us": round(floor_us, 2), "reps": reps})
            del pool
            torch.cuda.empty_cache()
    with open(args.json, "w") as f:
        json.dump({"device": dev.name, "torch": torch.__version__,
                   "flashinfer": getattr(fi, "__version__", None) if fi else None,
                   "read_bw_gbs": round(bw / 1e9, 1), "k": K, "notes": notes,
                   "results": results}, f, indent=1)
    print("wrote " + args.json)


if __name__ == "__main__":
    main()
