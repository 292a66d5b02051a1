#!/usr/bin/env python3
"""Session 12 run 3: why bench_topk_peers.py timed seam's deterministic top-k on 256 x 160K
at 92 us (run 2) when seam-bench-topk times it at 72: the same call on torch data generated
several ways, full and one-short lengths, against another build's library.

    python3 det160k.py LIB [LIB2 ...]"""
import ctypes
import sys

import torch

sys.path.insert(0, "tools")
from bench_topk_peers import TRANSFORM_NONE, Seam, SeamTopkParams, median_us  # noqa: E402

ROWS, L, K = 256, 163840, 2048


def run(seam, x, det, length):
    lens = torch.full((ROWS,), length, device="cuda", dtype=torch.int32)
    out = torch.empty(ROWS, K, device="cuda", dtype=torch.int32)
    p = SeamTopkParams()
    p.struct_size = ctypes.sizeof(SeamTopkParams)
    p.rows, p.stride, p.k = ROWS, L, K
    p.lengths, p.out, p.scores = lens.data_ptr(), out.data_ptr(), x.data_ptr()
    p.backend, p.deterministic, p.tie_break, p.transform = 0, det, 0, TRANSFORM_NONE
    return median_us(lambda i: seam.call(p), 1, 25)


def main():
    torch.manual_seed(0)
    data = {
        "randn": torch.randn(ROWS, L, device="cuda"),
        "randn_f64": torch.randn(ROWS, L, device="cuda", dtype=torch.float64).float(),
        "randn_seed1": torch.randn(ROWS, L, device="cuda", generator=torch.Generator("cuda").manual_seed(1)),
        "uniform": torch.rand(ROWS, L, device="cuda"),
    }
    for lib in sys.argv[1:]:
        seam = Seam(lib)
        for name, x in data.items():
            for length in (L, L - 1):
                d = run(seam, x, 0, length)
                t = run(seam, x, 1, length)
                print(f"{lib:40s} {name:12s} len {length:6d}: default {d:6.1f} det {t:6.1f} ({t / d:.2f}x)", flush=True)


if __name__ == "__main__":
    main()
