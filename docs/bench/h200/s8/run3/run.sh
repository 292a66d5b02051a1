#!/usr/bin/env bash
# Session 8 run 3 (final tree: split slices of up to 8K elements read 4 loads a lane; prefill
# logits longest first with half the slices): the suite, every benchmark with torch and
# FlashInfer, A/B against head (run 2's tree, which has neither); test_topk and test_indexer
# under the four sanitizers.
set -u
T0=$(date +%s)
AB_TARGETS="seam-bench-topk seam-bench-indexer seam-demo" AB_TREES="head=.variants/head" \
  SAN_PROGS="test_topk test_indexer" SAN_END=500 BENCH_DEADLINE=330 bash tools/gpu-run.sh
rc=$?
out=${OUT:-gpu-logs}
for b in head new; do
  d=/tmp/b-$b; [ $b = new ] && d=build-gpu
  echo "## second pass $b" >>"$out/bench2.txt"
  timeout 30 $d/tools/seam-bench-topk --quick --json /tmp/x.json >>"$out/bench2.txt" 2>&1
  echo "## second pass $b" >>"$out/bench3.txt"
  timeout 30 $d/tools/seam-bench-indexer --quick --json $out/indexer2_$b.json >>"$out/bench3.txt" 2>&1
done
echo "total $(( $(date +%s) - T0 ))s"
exit $rc
