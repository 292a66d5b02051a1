#!/usr/bin/env bash
# Session 12 run 1: verify the tree (suite; test_topk and test_indexer under all four sanitizers,
# racecheck one test at a time) and A/B the top-k switches that are off: a 32 KB ring of bulk
# copies for one-CTA rows (2 x 16 KB: ring; 4 x 8 KB: ringv1), split rows at one CTA an SM
# (one), both (ringone), session 10's tree (s10). Each variant's test_topk runs plainly; ring
# and one also under memcheck, initcheck, synccheck and racecheck on the tests their paths take.
FI=0 BENCHES="topk" SECOND_PASS="topk" AB_TARGETS="seam-bench-topk tests/test_topk" AB_TREES="s10=.variants/s10" \
  AB_CUDA_ARGS="ring=-DSEAM_TOPK_RING_KB=32 ringv1=-DSEAM_TOPK_RING_KB=32+-DSEAM_TOPK_STAGE_VEC=1 one=-DSEAM_TOPK_SPLIT_ONE_CTA=1 ringone=-DSEAM_TOPK_RING_KB=32+-DSEAM_TOPK_SPLIT_ONE_CTA=1" \
  AB_TESTS="ring:test_topk ringv1:test_topk one:test_topk ringone:test_topk" \
  SAN_PROGS="test_topk test_indexer ring@test_topk one@test_topk" \
  SAN_TESTS_ring="test_topk_rows_longer_than_bitmaps_match_reference test_topk_graph_replays_one_cta_per_row test_topk_adversarial_rows_k512" \
  SAN_TESTS_one="test_topk_split_rows_match_reference test_topk_graph_replays_split_rows" \
  SAN_END=540 bash tools/gpu-run.sh
