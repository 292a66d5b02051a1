#!/usr/bin/env bash
# Session 10 run 4: keys-major logits, double buffer, block-table entries of the chunk
# loaded next read one iteration early (default) against: ea0 (entries read right before
# the copies: run 2's default), s3 (three stages), hm (heads-major kernel), d1 / d2
# (timing-only: no epilogue / no MMAs either). The suite, indexer and demo A/B,
# test_indexer under the four sanitizers, ncu of NextN 4 native 32 x 32K (keys-major and
# heads-major), a second indexer pass in reverse order.
set -u
T0=$(date +%s)
FI=0 AB_TARGETS="seam-bench-indexer seam-demo" \
  AB_CUDA_ARGS="hm=-DSEAM_LOGITS_KEYS_MAJOR=0 ea0=-DSEAM_LOGITS_ENTRIES_AHEAD=0 s3=-DSEAM_LOGITS_STAGES=3 d1=-DSEAM_LOGITS_DIAG=1 d2=-DSEAM_LOGITS_DIAG=2" \
  BENCHES="indexer demo demo-decode demo-nextn" SAN_PROGS="test_indexer" SAN_END=400 bash tools/gpu-run.sh
rc=$?
out=${OUT:-gpu-logs}; mkdir -p $out/j2 $out/prof
source .device/env.sh
prof() { # name build kernel-regex skip
  timeout 120 ncu --set full --import-source yes --kernel-name-base demangled -k "regex:$3" --launch-skip "$4" \
    --launch-count 1 -o /tmp/prof_$1 $2/tools/seam-bench-indexer --quick --only nextn --json /tmp/p.json >$out/prof/$1.log 2>&1
  ncu -i /tmp/prof_$1.ncu-rep --page details >$out/prof/$1_details.txt 2>&1
  ncu -i /tmp/prof_$1.ncu-rep --page source --csv --print-source sass >$out/prof/$1_source.csv 2>&1
  echo "profiled $1 at $(( $(date +%s) - T0 ))s"
}
prof km build-gpu 'keys_major_kernel<.int.4, .int.1,' 70
prof hm /tmp/b-hm 'logits_wgmma_kernel<.int.1, .*PagedSource' 466
for b in d2 d1 hm s3 ea0 new; do
  d=/tmp/b-$b; [ $b = new ] && d=build-gpu
  echo "## second pass $b at $(( $(date +%s) - T0 ))s" >>"$out/bench2.txt"
  timeout 30 $d/tools/seam-bench-indexer --quick --json $out/j2/indexer2_$b.json >>"$out/bench2.txt" 2>&1
done
tar cJf $out/logs2.tar.xz -C $out j2 prof && rm -rf $out/j2 $out/prof
echo "total $(( $(date +%s) - T0 ))s"
exit $rc
