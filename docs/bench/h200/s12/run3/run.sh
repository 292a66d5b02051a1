#!/usr/bin/env bash
# Session 12 run 3: the tree with the indexer's prologue entries on (one-row groups; run 2's pe1
# build, sanitized there): suite and indexer benchmark; and why bench_topk_peers.py timed the
# deterministic top-k on 256 x 160K at 92 us against seam-bench-topk's 72 (det160k.py, this
# build and session 10's tree side by side).
set -uo pipefail
source .device/env.sh
out=${OUT:-gpu-logs}; mkdir -p "$out"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
( meson setup /tmp/b-s10 .variants/s10 --buildtype=release >"$out/build_s10.log" 2>&1 &&
  meson compile -C /tmp/b-s10 seam:shared_library seam-bench-topk >>"$out/build_s10.log" 2>&1 || echo "s10 build failed" ) &
meson setup build-gpu --buildtype=release >"$out/build.log" 2>&1
meson compile -C build-gpu >>"$out/build.log" 2>&1 || { grep error "$out/build.log" | head; exit 1; }
wait; echo "built at $(el)s"
timeout 150 meson test -C build-gpu --print-errorlogs --num-processes 4 >"$out/test.log" 2>&1; rc=$?
grep -E '^ *[0-9]+/[0-9]+ ' "$out/test.log" | grep -v ' OK '; grep -E '^Ok:|^Fail:|^Skipped:' "$out/test.log"
echo "tests done at $(el)s"
timeout 100 python3 docs/bench/h200/s12/run3/det160k.py build-gpu/libseam.so /tmp/b-s10/libseam.so 2>&1 | tee "$out/det160k.txt"
for b in build-gpu /tmp/b-s10; do
  timeout 30 $b/tools/seam-bench-topk --shape 256x163840 --data normal --json "$out/topk_${b//\//_}.json" 2>&1 | tail -n 4
done
timeout 60 build-gpu/tools/seam-bench-indexer --quick --json "$out/indexer.json" >"$out/indexer.txt" 2>&1; echo "indexer rc=$? at $(el)s"
exit $rc
