#!/bin/sh
# libseam.so must export only seam_* symbols (the static CUDA runtime stays hidden).
lib="$1"
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | grep -v '^seam_' || true)
if [ -n "$bad" ]; then
  echo "symbols exported from $lib that are not seam_*:"; echo "$bad" | head -20
  exit 1
fi
count=$(nm -D --defined-only "$lib" | grep -c ' seam_')
echo "$lib exports $count seam_* symbols and nothing else"
[ "$count" -gt 0 ]
