#!/usr/bin/env python3
"""Session 12 run 5: which rows of the slow torch.randn draw (seed 1, run 4) cost the extra
~25 us on 256 x 160K: each row r timed as a batch of 256 copies of itself (the same launch
shape), the slowest rows' statistics, then one launch of the whole draw (PHASE=default|det;
a -DSEAM_TOPK_STAMPS library prints its phase timeline at exit).

    python3 det160k_rows.py LIB SEED [PHASE]"""
import sys

import torch

sys.path.insert(0, "docs/bench/h200/s12/run3")
from det160k import ROWS, L, K, Seam, run  # noqa: E402
from det160k_swap import keys  # noqa: E402

seam = Seam(sys.argv[1])
x = torch.randn(ROWS, L, device="cuda", generator=torch.Generator("cuda").manual_seed(int(sys.argv[2])))
if len(sys.argv) > 3:
    torch.cuda.synchronize()
    run(seam, x, 1 if sys.argv[3] == "det" else 0, L)
    sys.exit(0)
batch = torch.empty_like(x)
times = []
for r in range(ROWS):
    batch.copy_(x[r].expand(ROWS, L))
    times.append((run(seam, batch, 0, L), run(seam, batch, 1, L), r))
times.sort(reverse=True)
print("rows by default-mode time (us): slowest", [(round(d, 1), round(t, 1), r) for d, t, r in times[:8]])
print("median", times[ROWS // 2][:2], "fastest", times[-1][:2])
for d, t, r in times[:4] + times[-2:]:
    k = keys(x[r]).sort(descending=True).values
    kth = int(k[K - 1])
    eq = int((k == kth).sum())
    b0 = int(((k >> 20) == (kth >> 20)).sum())
    b1 = int(((k >> 8) == (kth >> 8)).sum())
    s = x[r].sort(descending=True).values
    print(f"row {r}: default {d:.1f} det {t:.1f}; k-th value {float(s[K - 1]):.6f}, equal to it {eq}, "
          f"level-0 bin {b0}, level-1 bin {b1}, max {float(s[0]):.3f}, in top 4K of the row: "
          f"{int((x[r][:4096] >= s[K - 1]).sum())}")
