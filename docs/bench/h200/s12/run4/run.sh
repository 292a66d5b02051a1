#!/usr/bin/env bash
# Session 12 run 4 (the command as run): run 3's two torch.randn draws of 256 x 160K, each timed
# in its own buffer and in the other's, with their level-0 threshold bins.
source .device/env.sh && (meson setup build-gpu --buildtype=release >/dev/null 2>&1 &&
  meson compile -C build-gpu seam:shared_library >/tmp/b.log 2>&1 || tail -5 /tmp/b.log) &&
  timeout 120 python3 docs/bench/h200/s12/run3/det160k_swap.py build-gpu/libseam.so 2>&1 | tee $OUT/swap.txt
