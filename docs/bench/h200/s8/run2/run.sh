#!/usr/bin/env bash
# Session 8 run 2 (main + deterministic-kernel prefetch, build-gpu): the suite; top-k against
# main0 (session 7's tree, no prefetch in the deterministic kernel) and split-row loads
# (SEAM_TOPK_SPLIT_LOADS 1, 2); indexer logits CTA order (SEAM_LOGITS_SCHED 1, 2, 3) against
# the plain order; demo prefill; second pass of top-k and indexer.
set -u
T0=$(date +%s)
FI=0 SAN_PROGS="" AB_TARGETS="seam-bench-topk seam-bench-indexer seam-demo" \
  AB_TREES="main0=.variants/main0" \
  AB_CUDA_ARGS="s1=-DSEAM_LOGITS_SCHED=1 s2=-DSEAM_LOGITS_SCHED=2 s3=-DSEAM_LOGITS_SCHED=3 sl1=-DSEAM_TOPK_SPLIT_LOADS=1 sl2=-DSEAM_TOPK_SPLIT_LOADS=2" \
  BENCHES="topk indexer demo" SAN_END=0 BENCH_DEADLINE=330 bash tools/gpu-run.sh
rc=$?
out=${OUT:-gpu-logs}
for b in sl2 sl1 main0 new; do
  d=/tmp/b-$b; [ $b = new ] && d=build-gpu
  echo "## second pass $b" >>"$out/bench2.txt"
  timeout 60 $d/tools/seam-bench-topk --quick --json /tmp/x.json >>"$out/bench2.txt" 2>&1
done
for b in s3 s2 s1 new; do
  d=/tmp/b-$b; [ $b = new ] && d=build-gpu
  echo "## second pass $b" >>"$out/bench3.txt"
  timeout 60 $d/tools/seam-bench-indexer --quick --json $out/indexer2_$b.json >>"$out/bench3.txt" 2>&1
done
echo "total $(( $(date +%s) - T0 ))s"
exit $rc
