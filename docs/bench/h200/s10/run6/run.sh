#!/usr/bin/env bash
# Session 10 run 6 (final tree: keys-major logits only; MMA accumulators as asm outputs; a
# quad of rows with only one or two rows in range multiplies those): the suite, indexer,
# demo and torch benchmarks A/B against s9 (session 9's tree: heads-major kernel) and r5 (run
# 5's tree), test_indexer and test_layers under the four sanitizers, a second indexer pass
# in reverse order.
set -u
T0=$(date +%s)
FI=0 AB_TARGETS="seam-bench-indexer seam-demo" AB_TREES="s9=.variants/s9 r5=.variants/r5" \
  BENCHES="indexer demo demo-decode demo-nextn demo-61 indexer-torch" SAN_PROGS="test_indexer test_layers" \
  SAN_END=400 bash tools/gpu-run.sh
rc=$?
out=${OUT:-gpu-logs}; mkdir -p $out/j2
for b in r5 s9 new; do
  d=/tmp/b-$b; [ $b = new ] && d=build-gpu
  echo "## second pass $b at $(( $(date +%s) - T0 ))s" >>"$out/bench2.txt"
  timeout 30 $d/tools/seam-bench-indexer --quick --json $out/j2/indexer2_$b.json >>"$out/bench2.txt" 2>&1
done
tar cJf $out/logs2.tar.xz -C $out j2 && rm -rf $out/j2
echo "total $(( $(date +%s) - T0 ))s"
exit $rc
