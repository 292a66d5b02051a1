#!/bin/sh
# Suite comm: seam-launch without GPUs or NCCL (--no-nccl): the environment each rank gets,
# exit status rules, stopping the other ranks when one fails, --timeout, and the skip code.
# Children that `sleep` stand in for ranks that hang; the checks are on exit codes only.
launch="$1"
failures=0
expect() { # expect CODE DESCRIPTION -- command...
  want=$1; what=$2; shift 3
  "$@" >/dev/null 2>&1
  got=$?
  if [ "$got" = "$want" ]; then echo "ok: $what"
  else echo "FAIL: $what: exit $got, expected $want"; failures=$((failures + 1)); fi
}

expect 0 "each rank sees its rank, the size, its device and NVLS off" -- \
  "$launch" -n 3 --no-nccl sh -c 'test "$SEAM_LAUNCH_SIZE" = 3 && test "$SEAM_LAUNCH_DEVICE" = "$SEAM_LAUNCH_RANK" && test "$NCCL_NVLS_ENABLE" = 0 && test -z "$SEAM_LAUNCH_ID_FILE"'
expect 0 "ranks 0..N-1 all run" -- \
  "$launch" -n 4 --no-nccl sh -c 'case "$SEAM_LAUNCH_RANK" in 0|1|2|3) exit 0;; *) exit 9;; esac'
expect 0 "an NCCL_NVLS_ENABLE already set is kept" -- \
  env NCCL_NVLS_ENABLE=1 "$launch" -n 1 --no-nccl sh -c 'test "$NCCL_NVLS_ENABLE" = 1'
expect 0 "inherited SEAM_LAUNCH_* values are replaced" -- \
  env SEAM_LAUNCH_RANK=7 "$launch" -n 1 --no-nccl sh -c 'test "$SEAM_LAUNCH_RANK" = 0'
expect 0 "one rank runs without --no-nccl too (no NCCL needed)" -- \
  "$launch" -n 1 sh -c 'test "$SEAM_LAUNCH_SIZE" = 1'
expect 5 "a failing rank's status is returned and the hung ranks are stopped" -- \
  "$launch" -n 3 --no-nccl --grace 2 sh -c 'if [ "$SEAM_LAUNCH_RANK" = 1 ]; then exit 5; fi; exec sleep 300'
expect 1 "a rank killed by a signal fails the run" -- \
  "$launch" -n 2 --no-nccl --grace 2 sh -c 'if [ "$SEAM_LAUNCH_RANK" = 0 ]; then kill -9 $$; fi; exec sleep 300'
expect 1 "--timeout stops ranks that never finish" -- \
  "$launch" -n 2 --no-nccl --timeout 1 --grace 1 sleep 300
expect 0 "a rank ignoring SIGTERM is killed after --grace" -- \
  sh -c '"$0" -n 2 --no-nccl --timeout 1 --grace 1 sh -c "trap \"\" TERM; sleep 300"; test $? = 1' "$launch"
expect 77 "ranks that skip make the run a skip" -- \
  "$launch" -n 2 --no-nccl sh -c 'exit 77'
expect 77 "more ranks than visible GPUs is a skip" -- \
  "$launch" -n 1000 true
expect 127 "a program that does not exist" -- \
  "$launch" -n 2 --no-nccl /nonexistent/program
expect 2 "usage errors" -- "$launch" -n 0 true
expect 2 "usage errors: no program" -- "$launch" -n 2
expect 2 "usage errors: unknown option" -- "$launch" --bogus -n 2 true

[ "$failures" = 0 ] || { echo "$failures check(s) failed"; exit 1; }
