#!/usr/bin/env bash
# Session 10 run 5: keys-major logits copying whole 64-key runs per block-table entry
# (ragged and page size 64; default) against r0 (key-by-key copies: run 4's default), hm
# (heads-major kernel) and d2 (timing-only: loads alone). The suite, every indexer, demo and
# torch benchmark, A/B, test_indexer and test_layers under the four sanitizers, ncu of
# NextN 4 native 32 x 32K, a second indexer pass in reverse order.
set -u
T0=$(date +%s)
FI=0 AB_TARGETS="seam-bench-indexer seam-demo" \
  AB_CUDA_ARGS="hm=-DSEAM_LOGITS_KEYS_MAJOR=0 r0=-DSEAM_LOGITS_RUNS=0 d2=-DSEAM_LOGITS_DIAG=2" \
  BENCHES="indexer demo demo-decode demo-nextn demo-61 indexer-torch" SAN_PROGS="test_indexer test_layers" \
  SAN_END=420 bash tools/gpu-run.sh
rc=$?
out=${OUT:-gpu-logs}; mkdir -p $out/j2 $out/prof
source .device/env.sh
timeout 120 ncu --set full --import-source yes --kernel-name-base demangled -k 'regex:keys_major_kernel<.int.4, .int.1,' \
  --launch-skip 70 --launch-count 1 -o /tmp/prof_km build-gpu/tools/seam-bench-indexer --quick --only nextn \
  --json /tmp/p.json >$out/prof/km.log 2>&1
ncu -i /tmp/prof_km.ncu-rep --page details >$out/prof/km_details.txt 2>&1
ncu -i /tmp/prof_km.ncu-rep --page source --csv --print-source sass >$out/prof/km_source.csv 2>&1
for b in d2 hm r0 new; do
  d=/tmp/b-$b; [ $b = new ] && d=build-gpu
  echo "## second pass $b at $(( $(date +%s) - T0 ))s" >>"$out/bench2.txt"
  timeout 30 $d/tools/seam-bench-indexer --quick --json $out/j2/indexer2_$b.json >>"$out/bench2.txt" 2>&1
done
tar cJf $out/logs2.tar.xz -C $out j2 prof && rm -rf $out/j2 $out/prof
echo "total $(( $(date +%s) - T0 ))s"
exit $rc
