#!/usr/bin/env bash
# Session 9 run 3 (final tree: logits one-wave fill below 8 chunks a CTA; top-k split rows
# with local candidates, counted after pass 2): the suite, every benchmark with torch and
# FlashInfer, A/B against h0 (session 8's tree), lc0 (leader-alone candidate levels, the
# same SASS as h0's top-k) and fb4 (fill below 4); test_topk and test_indexer under the four
# sanitizers; second passes of top-k and indexer in reverse order.
set -u
T0=$(date +%s)
AB_TARGETS="seam-bench-topk seam-bench-indexer seam-demo" AB_TREES="h0=.variants/h0" \
  AB_CUDA_ARGS="lc0=-DSEAM_TOPK_LOCAL_CANDS=0 fb4=-DSEAM_LOGITS_FILL_BELOW=4" \
  SAN_PROGS="test_topk test_indexer" SAN_END=470 BENCH_DEADLINE=300 bash tools/gpu-run.sh
rc=$?
out=${OUT:-gpu-logs}; mkdir -p $out/j2
for b in fb4 lc0 h0 new; do
  d=/tmp/b-$b; [ $b = new ] && d=build-gpu
  echo "## second pass $b at $(( $(date +%s) - T0 ))s" >>"$out/bench2.txt"
  timeout 30 $d/tools/seam-bench-topk --quick --json $out/j2/topk2_$b.json >>"$out/bench2.txt" 2>&1
  timeout 20 $d/tools/seam-bench-indexer --quick --json $out/j2/indexer2_$b.json >>"$out/bench2.txt" 2>&1
done
tar cJf $out/logs2.tar.xz -C $out j2 && rm -rf $out/j2
echo "total $(( $(date +%s) - T0 ))s"
exit $rc
