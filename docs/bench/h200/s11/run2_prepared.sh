#!/usr/bin/env bash
# Session 11 run 2: one-CTA top-k rows through a 32 KB ring of bulk copies (2 stages of 16 KB,
# main), 4 stages of 8 KB (v1), no ring (r0), split rows at two CTAs an SM (two), session 10's tree (s10); the
# suite; the indexer (load_keys cleanup) against s10; 256 x 64K phase timeline; test_topk under memcheck, initcheck, synccheck.
FI=0 AB_TARGETS="seam-bench-topk seam-bench-indexer" AB_TREES="s10=.variants/s10" \
  AB_CUDA_ARGS="v1=-DSEAM_TOPK_STAGE_VEC=1 r0=-DSEAM_TOPK_RING_KB=0 two=-DSEAM_TOPK_SPLIT_ONE_CTA=0" BENCHES="topk indexer" SECOND_PASS="topk" \
  STAMPS="256x65536" SAN_PROGS="test_topk" SAN_TOOLS="memcheck initcheck synccheck" SAN_END=400 \
  bash tools/gpu-run.sh
