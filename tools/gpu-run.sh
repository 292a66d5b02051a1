#!/usr/bin/env bash
# One bounded GPU session on a lent machine (repo root, .device/ staged by
# ../shared/device/stage.sh): build into build-gpu, the whole suite, every benchmark with the
# GPU otherwise idle, then compute-sanitizer (memcheck, racecheck, initcheck, synccheck) on the
# GPU test programs in parallel, each bounded so the whole ends near SAN_END seconds.
# Results go to $OUT as they come: test.log, bench.txt, san.txt (one line per program x
# tool), san_errors.txt (reports, and the tail of every run that did not exit 0), logs.tar.xz
# (benchmark JSON, build and FlashInfer logs, profiles). FI=1 (default) also starts
# FlashInfer's top-k JIT build in the background from .device/fi-slim.tar.xz (a slimmed
# wheel; a prebuilt module in .device/fi-jit.tar.xz is used when present), uses it in the
# peer benchmark if it finished in time, and returns the cache as fi-jit.tar.xz when it was
# built here. PROFILE_DEMO="decode prefill nextn" times each kernel of the demo's eager
# forwards under ncu (tools/ncu_kernel_times.py: per-kernel time per forward; DEMO_LOG=info
# logs the demo GEMM's autotuning in the prefill and decode runs; the autotuner also runs
# under ncu, whose overhead changes its timings, so the GEMM kernels profiled are not always
# those of a normal run); PATH@NAME
# profiles the AB_BUILDS build NAME. STAMPS="ROWSxL ..." builds the top-k phase timeline
# (-DSEAM_TOPK_STAMPS) and prints, per shape and radix mode, the spread over CTAs of when
# each phase ended (pass 1's read, threshold levels, pass 2, candidate levels, the row) and
# of how long it took.
# PROFILE="ROWSxL ..." runs ncu (full set, source lines) on the default-mode
# top-k kernel of each shape after the benchmarks; tools/ncu_lines.py reads the CSVs. The output stays within the lender's
# 8-file limit. BENCHES="topk topk-peers ..." runs only the named benchmarks; SAN_PROGS
# names the test programs to sanitize (empty: none; NAME@PROG is the AB build NAME's test
# program, racecheck taking the tests in SAN_TESTS_NAME one by one), SAN_TOOLS the tools, SAN_TESTS the top-k
# tests racecheck takes one by one (e.g. the three that need ~10 minutes each:
# SAN_PROGS=test_topk SAN_TOOLS=racecheck SAN_TESTS="test_topk_adversarial_rows_k2048
# test_topk_graph_replays_split_rows test_topk_fused_transforms_equal_unfused_plus_gather").
# AB_BUILDS="NAME=DIR ..." also times each DIR/tools/seam-bench-topk and seam-bench-indexer
# right after this build's (A/B of kernel variants in one run; JSON topk_NAME.json, ...).
# AB_CUDA_ARGS="NAME=FLAG ..." builds this same tree again into /tmp/b-NAME with
# -Dcuda_args=FLAG (no spaces; + joins flags: e.g. one=-DSEAM_A=1+-DSEAM_B=0), beside the main
# build, and adds it to AB_BUILDS: a variant behind a compile-time switch needs no copy.
# AB_TREES="NAME=SRCDIR ..." does the same for another source tree (e.g. an earlier commit
# exported under .variants/, which the run carries). AB_TARGETS="seam-bench-topk ..." builds
# only those targets of the variants (sooner, when only their benchmarks run).
# AB_TESTS="NAME:PROG ..." runs an AB build's test program after the suite (add it to AB_TARGETS).
# SECOND_PASS="indexer topk" times those quick benchmarks (seam-bench-NAME --quick) once more
# at the end, every AB build and this one ("new") in the reverse of the first pass's order
# (json/NAME2_BUILD.json; bench2.txt), so each A/B comparison has two passes.
# Profiling another kernel by hand: ncu's -k matches the function's base name ("regex:
# logits_keys_major_kernel" profiles every instantiation); to pick template arguments add
# --kernel-name-base demangled, where they read "(int)4" (regex 'kernel<.int.4, .int.1,').
set -uo pipefail
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
source .device/env.sh
out=${OUT:-gpu-logs}; mkdir -p "$out" "$out/json"
L=$out/json # everything here travels back in logs.tar.xz
export FLASHINFER_WORKSPACE_BASE=/tmp/fiws FLASHINFER_CUDA_ARCH_LIST=9.0a
if [ "${FI:-1}" = 1 ] && [ -f .device/fi-slim.tar.xz ]; then
  mkdir -p /tmp/fi /tmp/fiws && tar xJf .device/fi-slim.tar.xz -C /tmp/fi
  # A prebuilt top-k module (tools/stage_flashinfer.sh says how it is made) goes into the
  # package's own AOT folder, which FlashInfer loads without compiling.
  [ -f .device/fi-jit.tar.xz ] && tar xJf .device/fi-jit.tar.xz -C /tmp/fi
  ( PYTHONPATH=/tmp/fi MAX_JOBS=16 timeout "${FI_TIMEOUT:-380}" nice -n 5 python3 tools/probe_flashinfer.py >"$L/fi.log" 2>&1 & )
fi
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader >"$out/bench.txt"
build_beside() { # NAME SRCDIR [meson setup args...]: into /tmp/b-NAME, in the background
  local name=$1 src=$2; shift 2
  ( meson setup "/tmp/b-$name" "$src" --buildtype=release "$@" >"$L/build_$name.log" 2>&1 &&
    meson compile -C "/tmp/b-$name" ${AB_TARGETS:-} >>"$L/build_$name.log" 2>&1 || echo "build $name: failed" ) &
}
for ab in ${AB_TREES:-}; do # other source trees
  build_beside "${ab%%=*}" "${ab#*=}"
  AB_BUILDS="${AB_BUILDS:-} ${ab%%=*}=/tmp/b-${ab%%=*}"
done
for ab in ${AB_CUDA_ARGS:-}; do # this tree with one compile-time switch
  flags=${ab#*=}; build_beside "${ab%%=*}" . "-Dcuda_args=${flags//+/ }"
  AB_BUILDS="${AB_BUILDS:-} ${ab%%=*}=/tmp/b-${ab%%=*}"
done
# the top-k phase timeline build (kernels/topk_radix.cu)
[ -n "${STAMPS:-}" ] && build_beside stamps . -Dcuda_args=-DSEAM_TOPK_STAMPS
[ -f build-gpu/build.ninja ] || meson setup build-gpu --buildtype=release >"$L/build.log" 2>&1
meson compile -C build-gpu >>"$L/build.log" 2>&1 || { grep -E 'error' "$L/build.log" | head -30; exit 1; }
wait
echo "build done at $(el)s"
timeout 170 meson test -C build-gpu --print-errorlogs --num-processes 4 >"$out/test.log" 2>&1; rc=$?
grep -E '^ *[0-9]+/[0-9]+ ' "$out/test.log" | grep -v ' OK ' ; grep -E '^Ok:|^Fail:|^Skipped:' "$out/test.log"
grep -E 'ERROR:|expected .*got|FAILED  \]' "$out/test.log" | head -20
for vt in ${AB_TESTS:-}; do # NAME:PROG: a test program of an AB build, plainly
  timeout 120 "/tmp/b-${vt%%:*}/tests/${vt#*:}" >"$out/test_${vt%%:*}_${vt#*:}.log" 2>&1
  echo "$vt rc=$? ($(grep -c '^\[       OK \]' "$out/test_${vt%%:*}_${vt#*:}.log") OK)"
done
echo "tests done at $(el)s"
B=build-gpu/tools; J=$out/json
bench() { # name cap command...
  local name=$1 cap=$2; shift 2
  if [ -n "${BENCHES:-}" ] && [[ " $BENCHES " != *" $name "* ]]; then return; fi
  if [ "$(el)" -gt "${BENCH_DEADLINE:-370}" ]; then echo "## $name: skipped (time)" >>"$out/bench.txt"; return; fi
  echo "## $name ($(el)s): $*" >>"$out/bench.txt"
  timeout "$cap" "$@" >>"$out/bench.txt" 2>&1; echo "## $name rc=$? at $(el)s" >>"$out/bench.txt"
}
bench topk 60 $B/seam-bench-topk --quick --json $J/topk.json
ab_bench() { # name tool args...: each AB_BUILDS build's tools/TOOL, when NAME itself is benched
  local name=$1 tool=$2; shift 2
  if [ -n "${BENCHES:-}" ] && [[ " $BENCHES " != *" $name "* ]]; then return; fi
  for ab in ${AB_BUILDS:-}; do
    [ -x "${ab#*=}/tools/$tool" ] || continue # not among the variant's AB_TARGETS
    BENCHES="" bench "$name-${ab%%=*}" 60 "${ab#*=}/tools/$tool" "$@" --json "$J/${name}_${ab%%=*}.json"
  done
}
ab_bench topk seam-bench-topk --quick
bench graph 40 $B/seam-bench-graph --json $J/graph.json
bench demo 60 env SEAM_LOG=${DEMO_LOG:-warn} $B/seam-demo --json $J/demo.json
ab_bench demo seam-demo
bench demo-decode 40 env SEAM_LOG=${DEMO_LOG:-warn} $B/seam-demo --decode --json $J/demo_decode.json
ab_bench demo-decode seam-demo --decode
bench demo-nextn 40 $B/seam-demo --next-n 4 --json $J/demo_nextn4.json
ab_bench demo-nextn seam-demo --next-n 4
bench demo-61 120 $B/seam-demo --layers 61 --hidden 7168 --json $J/demo_61layers.json
bench indexer 60 $B/seam-bench-indexer --quick --json $J/indexer.json
ab_bench indexer seam-bench-indexer --quick
bench layers 30 $B/seam-bench-layers --json $J/layers.json
bench broadcast 20 $B/seam-bench-broadcast --json $J/broadcast.json
FIP=""; grep -q "top_k ran" "$L/fi.log" 2>/dev/null && FIP=/tmp/fi:
echo "flashinfer jit ready: ${FIP:-no} at $(el)s" >>"$out/bench.txt"
PYTHONPATH=${FIP}${PYTHONPATH:-} bench topk-peers 75 python3 tools/bench_topk_peers.py --quick --lib build-gpu/libseam.so --json $J/topk_peers.json
bench indexer-torch 40 python3 tools/bench_indexer_torch.py --quick --lib build-gpu/libseam.so --json $J/indexer_torch.json
bench layers-torch 30 python3 tools/bench_layers_torch.py --iters 10 --lib build-gpu/libseam.so --json $J/layers_torch.json
SEAM_LIBRARY=build-gpu/libseam.so bench python-overhead 30 python3 tools/bench_python_overhead.py --iters 500 --c-tool $B/seam-bench-call --json $J/python_overhead.json
grep -E '^## ' "$out/bench.txt"
for shape in ${PROFILE:-}; do # ncu on the third radix launch: the default mode's, after warm-up
  timeout 90 ncu --set full --import-source yes \
    -k topk_radix_kernel --launch-skip 2 --launch-count 1 -o "/tmp/prof_$shape" \
    $B/seam-bench-topk --shape "$shape" --data normal --json /tmp/prof.json >"$L/prof_$shape.log" 2>&1
  ncu -i "/tmp/prof_$shape.ncu-rep" --page details >"$L/prof_${shape}_details.txt" 2>&1
  ncu -i "/tmp/prof_$shape.ncu-rep" --page source --csv --print-source cuda,sass >"$L/prof_${shape}_source.csv" 2>&1
  echo "profiled $shape at $(el)s"
done
for shape in ${STAMPS:-}; do
  for m in radix radix-det; do
    echo "=== stamps $shape $m" >>"$L/stamps.txt"
    timeout 60 /tmp/b-stamps/tools/seam-bench-topk --shape "$shape" --data normal --method $m \
      --json /tmp/stamps.json >>"$L/stamps.txt" 2>&1
  done
done
[ -n "${STAMPS:-}" ] && cat "$L/stamps.txt"
for item in ${PROFILE_DEMO:-}; do # kernel times of the demo's eager forwards (its profiler range)
  path=${item%@*} tag=$item dir=$B # PATH@NAME profiles the AB_BUILDS build NAME
  [ "$item" != "$path" ] && for ab in ${AB_BUILDS:-}; do [ "${ab%%=*}" = "${item#*@}" ] && dir=${ab#*=}/tools; done
  tag=${tag/@/_}; flag=--$path; [ "$path" = prefill ] && flag=""
  [ "$path" = nextn ] && flag="--next-n 4"
  timeout 120 ncu --profile-from-start off --metrics gpu__time_duration.sum --csv \
    $dir/seam-demo $flag --iters 2 --warmup 1 >"$L/ncu_demo_$tag.csv" 2>"$L/ncu_demo_$tag.log"
  python3 tools/ncu_kernel_times.py "$L/ncu_demo_$tag.csv" --forwards 3 >"$L/ncu_demo_$tag.txt" 2>&1
  echo "=== $item"; head -15 "$L/ncu_demo_$tag.txt"
  echo "demo $item kernel times at $(el)s"
done
# sanitizers: everything left of the call, in parallel
left=$(( ${SAN_END:-525} - $(el) )); [ $left -lt 60 ] && left=60
echo "sanitizers with ${left}s each at $(el)s"
progs=${SAN_PROGS-"test_topk test_graph test_comm test_indexer test_layers test_context test_graph_fallback"}
{ for p in $progs; do for t in ${SAN_TOOLS:-memcheck racecheck initcheck synccheck}; do
    if [ "${p#*@} $t" = "test_topk racecheck" ]; then
      names=${SAN_TESTS:-}; [ "$p" != test_topk ] && { v=SAN_TESTS_${p%@*}; names=${!v:-}; }
      for name in ${names:-$(grep -o 'cmocka_unit_test(test_[a-z_0-9]*' tests/test_topk.c | cut -d'(' -f2)}; do
        echo "$p $t $name"; done
    else echo "$p $t"; fi
  done; done; } |
  SAN_TIMEOUT=$left xargs -r -P 40 -L 1 bash -c '
    case $0 in test_comm|test_graph_fallback) api="--report-api-errors no" ;; *) api="" ;; esac
    prog=build-gpu/tests/$0; case $0 in *@*) prog=/tmp/b-${0%@*}/tests/${0#*@} ;; esac
    SEAM_TEST_UNDER_SANITIZER=1 TEST_FILTER=${2:-} timeout $SAN_TIMEOUT compute-sanitizer --tool $1 $api --require-cuda-init no --error-exitcode 99 --print-limit 10 $prog >/tmp/san_$0_$1${2:+_$2}.log 2>&1; echo "$0 $1 ${2:-} rc=$?"' >"$out/san.txt"
sort "$out/san.txt" -o "$out/san.txt"; grep -v 'rc=0$' "$out/san.txt"; echo "clean runs: $(grep -c 'rc=0$' "$out/san.txt") of $(wc -l <"$out/san.txt")"
for f in /tmp/san_*.log; do if grep -qE '========= (Invalid|Race|Uninitialized|Barrier|Program hit|.*ERROR SUMMARY: [1-9]|.*hazards displayed \([1-9])' "$f"; then echo "=== $f"; grep -E '^=========' "$f" | head -25; fi; done >"$out/san_errors.txt"
grep -v 'rc=0$' "$out/san.txt" | while read -r p t rest; do
  n=${rest%% *}; [ "${n#rc=}" != "$n" ] && n=""
  echo "=== tail of $p $t $n"; tail -30 "/tmp/san_${p}_${t}${n:+_$n}.log"
done >>"$out/san_errors.txt"
head -40 "$out/san_errors.txt"
if [ -d /tmp/fiws ] && [ ! -f .device/fi-jit.tar.xz ] && grep -q "top_k ran" "$L/fi.log" 2>/dev/null; then
  tar cJf "$out/fi-jit.tar.xz" -C /tmp/fiws . && ls -la "$out/fi-jit.tar.xz"
fi
for name in ${SECOND_PASS:-}; do
  order="new=build-gpu"; for ab in ${AB_BUILDS:-}; do order="$ab $order"; done
  for ab in $order; do
    echo "## second pass $name ${ab%%=*} at $(el)s" >>"$out/bench2.txt"
    timeout 60 "${ab#*=}/tools/seam-bench-$name" --quick --json "$J/${name}2_${ab%%=*}.json" >>"$out/bench2.txt" 2>&1
  done
done
tar cJf "$out/logs.tar.xz" -C "$out" json && rm -rf "$L"
echo "end at $(el)s"
exit $rc
