#!/usr/bin/env bash
# Session 10 run 7 (final tree: run 6's with the one-or-two-row quad path for paged sources
# only): the suite, the indexer benchmark A/B against r5 and s9, test_indexer under the
# four sanitizers, a second indexer pass in reverse order.
set -u
T0=$(date +%s)
FI=0 AB_TARGETS="seam-bench-indexer" AB_TREES="s9=.variants/s9 r5=.variants/r5" \
  BENCHES="indexer" SAN_PROGS="test_indexer" SAN_END=200 bash tools/gpu-run.sh
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
