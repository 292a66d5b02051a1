#!/usr/bin/env python3
"""Session 12 run 4: is run 3's 68 vs 92 us on 256 x 160K (two torch.randn draws) the data or
the buffer? Each draw timed in its own buffer and in the other's; per row, the level-0
(top 12 key bits) threshold bin's size, the largest and how many rows pass 6272/8192.

    python3 det160k_swap.py LIB"""
import sys

import torch

sys.path.insert(0, "docs/bench/h200/s12/run3")
from det160k import ROWS, L, K, Seam, run  # noqa: E402


def keys(x):
    b = x.view(torch.int32).to(torch.int64) & 0xFFFFFFFF
    return torch.where(b >= 0x80000000, 0xFFFFFFFF - b, b | 0x80000000)  # order-preserving


def level0(x):
    d = (keys(x) >> 20) + torch.arange(ROWS, device="cuda").unsqueeze(1) * 4096
    h = torch.bincount(d.flatten(), minlength=ROWS * 4096).view(ROWS, 4096)
    above = h.flip(1).cumsum(1).flip(1)  # elements in bins >= b
    tb = (above >= K).sum(1) - 1  # highest bin with >= K at or above it
    size = h.gather(1, tb.unsqueeze(1)).squeeze(1)
    return f"bin size max {int(size.max())} mean {float(size.float().mean()):.0f}, rows > 6272: {int((size > 6272).sum())}, > 8192: {int((size > 8192).sum())}, bins {tb.unique().tolist()}"


def main():
    seam = Seam(sys.argv[1])
    a = torch.randn(ROWS, L, device="cuda", generator=torch.Generator("cuda").manual_seed(0))
    b = torch.randn(ROWS, L, device="cuda", generator=torch.Generator("cuda").manual_seed(1))
    da, db = a.clone(), b.clone()
    for name, x in (("seed0", da), ("seed1", db)):
        print(name, level0(x), flush=True)
    for label in ("own buffers", "swapped"):
        for name, x in (("seed0 data in A" if label == "own buffers" else "seed1 data in A", a),
                        ("seed1 data in B" if label == "own buffers" else "seed0 data in B", b)):
            print(f"{label:12s} {name:16s} default {run(seam, x, 0, L):6.1f} det {run(seam, x, 1, L):6.1f}", flush=True)
        a.copy_(db)
        b.copy_(da)


if __name__ == "__main__":
    main()
