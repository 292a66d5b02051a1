#!/usr/bin/env bash
# Session 11 run 1: lean top-k loops (level-0 histogram, pass-2 marks at the step's end, full
# steps) against session 10's tree (s10) and with split rows at one CTA an SM (one); the
# indexer's load_keys as two calls against s10; the suite; phase timelines of 1 x 128K,
# 64 x 128K, 256 x 64K; a second top-k and indexer pass in reverse order.
FI=0 AB_TARGETS="seam-bench-topk seam-bench-indexer" AB_TREES="s10=.variants/s10" \
  AB_CUDA_ARGS="one=-DSEAM_TOPK_SPLIT_ONE_CTA=1" BENCHES="topk indexer" SECOND_PASS="topk indexer" \
  STAMPS="1x131072 64x131072 256x65536" SAN_PROGS="" bash tools/gpu-run.sh
