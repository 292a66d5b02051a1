#!/usr/bin/env bash
# Session 10 run 3: keys-major logits with a KS-stage cp.async pipeline (4 stages at G = 4,
# 3 at G <= 2) against: s2 (keys-major, double buffer: run 2's default), hm (heads-major
# kernel), d1 / d2 (timing-only, pipelined: no epilogue / no MMAs either). The suite,
# indexer and demo A/B, test_indexer under the four sanitizers, ncu of NextN 4 native
# 32 x 32K (keys-major and heads-major), a second indexer pass in reverse order.
set -u
T0=$(date +%s)
FI=0 AB_TARGETS="seam-bench-indexer seam-demo" \
  AB_CUDA_ARGS="hm=-DSEAM_LOGITS_KEYS_MAJOR=0 s2=-DSEAM_LOGITS_STAGES=2 d1=-DSEAM_LOGITS_DIAG=1 d2=-DSEAM_LOGITS_DIAG=2" \
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
prof km build-gpu 'keys_major_kernel<4, 1,' 70
prof hm /tmp/b-hm 'logits_wgmma_kernel<1, .*PagedSource' 466
for b in d2 d1 hm s2 new; do
  d=/tmp/b-$b; [ $b = new ] && d=build-gpu
  echo "## second pass $b at $(( $(date +%s) - T0 ))s" >>"$out/bench2.txt"
  timeout 30 $d/tools/seam-bench-indexer --quick --json $out/j2/indexer2_$b.json >>"$out/bench2.txt" 2>&1
done
tar cJf $out/logs2.tar.xz -C $out j2 prof && rm -rf $out/j2 $out/prof
echo "total $(( $(date +%s) - T0 ))s"
exit $rc
