#!/usr/bin/env bash
# Session 9 run 5 (diagnostic, final tree): ncu (full set, source lines) of the split-row
# top-k kernel on 64 x 128K, leader-alone candidates (the default) and per-CTA candidates
# (lc1 = -DSEAM_TOPK_LOCAL_CANDS=1), to find why the second makes pass 2 slower.
set -u
T0=$(date +%s)
FI=0 SAN_PROGS="" BENCHES="topk" PROFILE="64x131072" AB_TARGETS="seam-bench-topk" \
  AB_CUDA_ARGS="lc1=-DSEAM_TOPK_LOCAL_CANDS=1" SAN_END=0 bash tools/gpu-run.sh
rc=$?
out=${OUT:-gpu-logs}; mkdir -p $out/p2
source .device/env.sh
timeout 90 ncu --set full --import-source yes -k topk_radix_kernel --launch-skip 2 --launch-count 1 \
  -o /tmp/prof_lc1 /tmp/b-lc1/tools/seam-bench-topk --shape 64x131072 --data normal --json /tmp/p.json >$out/p2/prof_lc1.log 2>&1
ncu -i /tmp/prof_lc1.ncu-rep --page details >$out/p2/prof_lc1_details.txt 2>&1
ncu -i /tmp/prof_lc1.ncu-rep --page source --csv --print-source cuda,sass >$out/p2/prof_lc1_source.csv 2>&1
tar cJf $out/logs2.tar.xz -C $out p2 && rm -rf $out/p2
echo "total $(( $(date +%s) - T0 ))s"
exit $rc
