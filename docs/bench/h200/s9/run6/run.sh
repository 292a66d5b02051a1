#!/usr/bin/env bash
FI=0 SAN_PROGS="" BENCHES="topk indexer demo-decode demo-nextn" SAN_END=0 bash tools/gpu-run.sh
