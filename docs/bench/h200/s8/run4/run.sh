#!/usr/bin/env bash
# Session 8 run 4 (diagnostic, final tree): ncu (full set, source lines) of the split-row
# kernel on 64 x 128K (clusters of 2) and 1 x 128K (clusters of 16), and their phase timelines.
set -u
T0=$(date +%s)
FI=0 SAN_PROGS="" BENCHES="topk" PROFILE="64x131072 1x131072" STAMPS="64x131072 1x131072" \
  SAN_END=0 bash tools/gpu-run.sh
rc=$?
echo "total $(( $(date +%s) - T0 ))s"
exit $rc
