#!/usr/bin/env bash
# Session 9 run 1: the suite; indexer logits A/B: h0 = session 8's tree, main = MMA/epilogue
# overlap in one-warpgroup launches, ov0 = this loop without overlap, ov2 = overlap in
# two-warpgroup launches too (CTA-wide barrier), mc2/mc4 = one-warpgroup CTAs take at least
# 2/4 key chunks; demo decode/nextn for each; top-k phase timelines of 256 x 64K and prefill
# 1024 x 8K; second pass of the indexer bench in reverse order.
set -u
T0=$(date +%s)
FI=0 SAN_PROGS="" AB_TARGETS="seam-bench-indexer seam-demo seam-bench-topk" \
  AB_TREES="h0=.variants/h0" \
  AB_CUDA_ARGS="ov0=-DSEAM_WGMMA_OVERLAP=0 ov2=-DSEAM_WGMMA_OVERLAP=2 mc2=-DSEAM_LOGITS_MIN_CHUNKS=2 mc4=-DSEAM_LOGITS_MIN_CHUNKS=4" \
  BENCHES="indexer demo-nextn demo-decode" STAMPS="256x65536 1024x8192" SAN_END=0 BENCH_DEADLINE=420 bash tools/gpu-run.sh
rc=$?
out=${OUT:-gpu-logs}; mkdir -p $out/j2
for b in mc4 mc2 ov2 ov0 h0 new; do
  d=/tmp/b-$b; [ $b = new ] && d=build-gpu
  echo "## second pass $b at $(( $(date +%s) - T0 ))s" >>"$out/bench2.txt"
  timeout 40 $d/tools/seam-bench-indexer --quick --json $out/j2/indexer2_$b.json >>"$out/bench2.txt" 2>&1
done
tar cJf $out/logs2.tar.xz -C $out j2 && rm -rf $out/j2
echo "total $(( $(date +%s) - T0 ))s"
exit $rc
