#!/usr/bin/env bash
# Session 12 run 2: the whole tree after run 1 (ring dropped, clusters <= 8 at one CTA an SM):
# suite, every benchmark with torch and FlashInfer 0.7.2 side by side (prebuilt top-k module
# in .device/fi-jit.tar.xz), test_topk under all four sanitizers (racecheck one test at a
# time); A/B of the indexer's prologue entries (pe1: one-row groups, pe2: every group) with
# their test_indexer plainly and pe1's under all four sanitizers.
AB_TARGETS="seam-bench-indexer tests/test_indexer" \
  AB_CUDA_ARGS="pe1=-DSEAM_LOGITS_PROLOGUE_ENTRIES=1 pe2=-DSEAM_LOGITS_PROLOGUE_ENTRIES=2" \
  AB_TESTS="pe1:test_indexer pe2:test_indexer" SECOND_PASS="indexer" \
  SAN_PROGS="test_topk pe1@test_indexer" SAN_END=530 BENCH_DEADLINE=380 bash tools/gpu-run.sh
