#!/usr/bin/env bash
# Session 8 run 1 (from branch next/det-emit): the whole suite and test_topk under the four
# sanitizers (covers main's exact-bin test and mark_threshold, and the branch's det_emit);
# top-k bench A/B: branch (build-gpu) vs main vs branch+det prefetch; second pass for noise.
set -u
T0=$(date +%s)
FI=0 SAN_PROGS="test_topk" SAN_END=470 AB_TARGETS="seam-bench-topk" \
  AB_TREES="main=.variants/main" AB_CUDA_ARGS="detpf=-DSEAM_TOPK_PREFETCH_DET=1" \
  BENCHES="topk" bash tools/gpu-run.sh
rc=$?
out=${OUT:-gpu-logs}
for b in main detpf branch; do
  d=/tmp/b-$b; [ $b = branch ] && d=build-gpu
  echo "## second pass $b" >>"$out/bench2.txt"
  timeout 60 $d/tools/seam-bench-topk --quick --json /tmp/x.json >>"$out/bench2.txt" 2>&1
done
echo "total $(( $(date +%s) - T0 ))s"
exit $rc
