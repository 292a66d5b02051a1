#!/usr/bin/env bash
# Session 9 run 2: the suite; A/B against h0 (session 8's tree): indexer look-ahead (la0 =
# off), one-wave fill for one-warpgroup launches (fb0 = off, fb8 = below 8 chunks), top-k
# split rows' local candidates (lc0 = leader alone); demos; split-row timelines; second
# passes of the indexer and top-k benches in reverse order; test_topk built without the
# candidate levels' early exit (ee0), so split rows run both levels.
set -u
T0=$(date +%s)
FI=0 SAN_PROGS="" AB_TARGETS="seam-bench-indexer seam-demo seam-bench-topk tests/test_topk" \
  AB_TREES="h0=.variants/h0" \
  AB_CUDA_ARGS="la0=-DSEAM_LOGITS_LOOK_AHEAD=0 fb0=-DSEAM_LOGITS_FILL_BELOW=0 fb8=-DSEAM_LOGITS_FILL_BELOW=8 lc0=-DSEAM_TOPK_LOCAL_CANDS=0 ee0=-DSEAM_TOPK_EARLY_EXIT=0" \
  BENCHES="topk indexer demo demo-nextn demo-decode" STAMPS="1x131072 64x131072" SAN_END=0 BENCH_DEADLINE=420 bash tools/gpu-run.sh
rc=$?
out=${OUT:-gpu-logs}; mkdir -p $out/j2
for b in lc0 fb8 fb0 la0 h0 new; do
  d=/tmp/b-$b; [ $b = new ] && d=build-gpu
  echo "## second pass $b at $(( $(date +%s) - T0 ))s" >>"$out/bench2.txt"
  timeout 40 $d/tools/seam-bench-indexer --quick --json $out/j2/indexer2_$b.json >>"$out/bench2.txt" 2>&1
  case $b in lc0|h0|new) timeout 60 $d/tools/seam-bench-topk --quick --json $out/j2/topk2_$b.json >>"$out/bench2.txt" 2>&1 ;; esac
done
source .device/env.sh
echo "## test_topk built with -DSEAM_TOPK_EARLY_EXIT=0" >>"$out/bench2.txt"
( cd /tmp/b-ee0 && timeout 150 ./tests/test_topk ) >>"$out/bench2.txt" 2>&1; echo "ee0 test_topk rc=$?" >>"$out/bench2.txt"
tar cJf $out/logs2.tar.xz -C $out j2 && rm -rf $out/j2
echo "total $(( $(date +%s) - T0 ))s"
exit $rc
