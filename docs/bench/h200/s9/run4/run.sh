#!/usr/bin/env bash
# Session 9 run 4 (the final tree: local candidates off by default): the suite, top-k and
# indexer quick benches, demos.
set -u
T0=$(date +%s)
FI=0 SAN_PROGS="" BENCHES="topk indexer demo demo-decode demo-nextn" SAN_END=0 bash tools/gpu-run.sh
rc=$?
echo "total $(( $(date +%s) - T0 ))s"
exit $rc
