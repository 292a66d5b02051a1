#!/usr/bin/env bash
# Session 12 run 5: det160k_rows.py on the slow draw (seed 1) and the phase timelines of both
# draws in both modes (a -DSEAM_TOPK_STAMPS library).
source .device/env.sh
out=${OUT:-gpu-logs}; mkdir -p "$out"
( meson setup /tmp/b-stamps . --buildtype=release -Dcuda_args=-DSEAM_TOPK_STAMPS >/dev/null 2>&1 &&
  meson compile -C /tmp/b-stamps seam:shared_library >/tmp/bs.log 2>&1 || tail -5 /tmp/bs.log ) &
meson setup build-gpu --buildtype=release >/dev/null 2>&1 && meson compile -C build-gpu seam:shared_library >/tmp/b.log 2>&1 || tail -5 /tmp/b.log
wait
timeout 150 python3 docs/bench/h200/s12/run3/det160k_rows.py build-gpu/libseam.so 1 2>&1 | tee "$out/rows.txt"
for seed in 0 1; do for m in default det; do
  echo "=== stamps seed $seed $m"
  timeout 40 python3 docs/bench/h200/s12/run3/det160k_rows.py /tmp/b-stamps/libseam.so $seed $m 2>&1 | tail -n 8
done; done | tee "$out/stamps.txt"
