#!/usr/bin/env bash
# Stages FlashInfer 0.7.2 for the lent GPU machines (no package access there) as
# .device/fi-slim.tar.xz (about 13 MB): the wheel (62 MB) is too big to carry whole, so only
# its Python files, data/include, data/cccl and the top-k sources stay, plus apache-tvm-ffi.
# tools/gpu-run.sh unpacks it to /tmp/fi. FlashInfer's top-k module is compiled on first use
# (about 15 minutes, too long for a GPU session): build it here once with
# tools/build_flashinfer_topk.py into .device/fi-jit.tar.xz, which gpu-run.sh unpacks over the
# package. Run from the repo root here.
set -euo pipefail
work=$(mktemp -d)
dl=(python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
    --platform manylinux2014_x86_64 --platform any -d "$work")
"${dl[@]}" flashinfer-python==0.7.2.post1 'apache-tvm-ffi>=0.1.11,<0.2'
mkdir "$work/slim" && cd "$work/slim"
unzip -q "$work"/flashinfer_python-*.whl
find flashinfer -type f ! -name '*.py' ! -path 'flashinfer/data/include/*' ! -path 'flashinfer/data/cccl/*' \
  ! -path 'flashinfer/data/csrc/*topk*' ! -regex 'flashinfer/data/csrc/[^/]*\.h' -delete
find flashinfer -type d -empty -delete
rm -rf flashinfer_python-*.dist-info
unzip -q -o "$work"/apache_tvm_ffi-*.whl
cd - >/dev/null
mkdir -p .device && tar cJf .device/fi-slim.tar.xz -C "$work/slim" .
rm -rf "$work"
ls -la .device/fi-slim.tar.xz
