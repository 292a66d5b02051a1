#!/usr/bin/env bash
# The main job: sets up a fresh machine (see tools/setup.sh), builds, prints seam's
# configuration and devices, then runs the demo model (tools/seam_demo.c) three ways: eager,
# piecewise replay and graph-safe replay, checks they agree and prints the latency table.
# Arguments go to seam-demo (--decode, --next-n 2|4, --json FILE, --layers 61 --hidden 7168
# --heads 128, ...). Without a GPU it prints the plan and says that the GPU work is skipped.
cd "$(dirname "$0")/.."
source tools/setup.sh
"$SEAM_BUILD/tools/seam-info"
if [ -x "$SEAM_BUILD/tools/seam-demo" ]; then
  "$SEAM_BUILD/tools/seam-demo" "$@"
elif ! "$SEAM_BUILD/tools/seam-info" | grep -q '^devices: [1-9]'; then
  echo "seam demo: no GPU on this machine: GPU work is skipped."
fi
