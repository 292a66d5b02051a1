#!/usr/bin/env bash
# Sets up a fresh machine (see tools/setup.sh), builds, and runs every test suite. GPU tests
# report SKIP on a machine without a GPU. Extra arguments go to `meson test`
# (e.g. --suite kernels).
cd "$(dirname "$0")/.."
source tools/setup.sh
meson test -C "$SEAM_BUILD" --print-errorlogs "$@"
