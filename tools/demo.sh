#!/usr/bin/env bash
# The main job: sets up a fresh machine (see tools/setup.sh), builds, prints seam's
# configuration and devices, then runs the demo model eagerly and by piecewise replay.
# Without a GPU it prints the plan and says that the GPU work is skipped.
cd "$(dirname "$0")/.."
source tools/setup.sh
"$SEAM_BUILD/tools/seam-info"
if [ -x "$SEAM_BUILD/tools/seam-demo" ]; then
  "$SEAM_BUILD/tools/seam-demo" "$@"
elif ! "$SEAM_BUILD/tools/seam-info" | grep -q '^devices: [1-9]'; then
  echo "seam demo: no GPU on this machine: GPU work is skipped."
fi
