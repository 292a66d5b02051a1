#!/usr/bin/env bash
# Session 12 run 6: the single-read path's sample spread over the row (SEAM_TOPK_SPREAD_SAMPLE=1,
# now the default) against the first 4K elements (old): suite, test_topk under all four
# sanitizers, the top-k benchmark twice, det160k.py (four torch draws of 256 x 160K) on both.
AB_TARGETS="seam:shared_library seam-bench-topk" AB_CUDA_ARGS="old=-DSEAM_TOPK_SPREAD_SAMPLE=0" \
  FI=0 BENCHES="topk" SECOND_PASS="topk" SAN_PROGS="test_topk" SAN_END=300 bash tools/gpu-run.sh
for lib in build-gpu/libseam.so /tmp/b-old/libseam.so; do
  timeout 60 python3 docs/bench/h200/s12/run3/det160k.py $lib 2>&1 | grep -v "len 163839"
done | tee "${OUT:-gpu-logs}/det160k.txt"
