#!/usr/bin/env bash
# Session 10 run 1: keys-major wgmma logits kernel (default) against the heads-major one
# (hm: -DSEAM_LOGITS_KEYS_MAJOR=0): the suite, indexer and demo benchmarks A/B, a second
# indexer pass in reverse order, test_indexer under the four sanitizers.
set -u
T0=$(date +%s)
FI=0 AB_TARGETS="seam-bench-indexer seam-demo" AB_CUDA_ARGS="hm=-DSEAM_LOGITS_KEYS_MAJOR=0" \
  BENCHES="indexer demo demo-decode demo-nextn" SAN_PROGS="test_indexer" SAN_END=400 BENCH_DEADLINE=300 \
  bash tools/gpu-run.sh
rc=$?
out=${OUT:-gpu-logs}; mkdir -p $out/j2
for b in hm new; do
  d=/tmp/b-$b; [ $b = new ] && d=build-gpu
  echo "## second pass $b at $(( $(date +%s) - T0 ))s" >>"$out/bench2.txt"
  timeout 30 $d/tools/seam-bench-indexer --quick --json $out/j2/indexer2_$b.json >>"$out/bench2.txt" 2>&1
done
tar cJf $out/logs2.tar.xz -C $out j2 && rm -rf $out/j2
echo "total $(( $(date +%s) - T0 ))s"
exit $rc
