#!/usr/bin/env bash
# harness_no_orphans.sh GATECERT SIM BACKEND SCENARIOS REPORTS [DRIVER]
#
# After any run of `gatecert run` - one that completes, and one interrupted
# with SIGINT in the middle of its cases (two at a time) - no process it
# started is left: every gateway and backend carries the environment marker
# set here, and /proc/<pid>/environ is searched for it. The interrupted run
# must exit 130 and still write its reports. DRIVER (default sim) may be a
# real gateway (nginx, haproxy): its master and worker processes inherit the
# marker too.
set -uo pipefail
gatecert=$1 sim=$2 backend=$3 scenarios=$4 reports=$5 driver=${6:-sim}
marker="gatecert-orphan-check-$$-$RANDOM"
fail() { echo "harness_no_orphans: $*" >&2; exit 1; }

survivors() {
  local found=()
  for env in /proc/[0-9]*/environ; do
    if grep -qaF "$marker" "$env" 2>/dev/null; then
      local pid=${env#/proc/}
      found+=("${pid%/environ}")
    fi
  done
  echo "${found[@]:-}"
}

run() {
  env GATECERT_ORPHAN_MARKER="$marker" "$gatecert" run -j 2 --driver "$driver" \
    --scenarios "$scenarios" --reports "$1" --sim-bin "$sim" --backend-bin "$backend" \
    >"$1.out" 2>&1
}

mkdir -p "$reports"

# 1. a complete run
run "$reports/complete"
status=$?
# a real gateway may fail cases (its known non-conformances): only a harness error counts here
[[ $status -eq 0 || ($driver != sim && $status -eq 1) ]] ||
  fail "the complete run failed ($status): $(tail -5 "$reports/complete.out")"
left=$(survivors)
[[ -z $left ]] || fail "processes left after a complete run: $left"

# 2. an interrupted run
mkdir -p "$reports"
env GATECERT_ORPHAN_MARKER="$marker" "$gatecert" run -j 2 --driver "$driver" \
  --scenarios "$scenarios" --reports "$reports/interrupted" --sim-bin "$sim" \
  --backend-bin "$backend" >"$reports/interrupted.out" 2>&1 &
pid=$! # gatecert itself (a background command ignores SIGINT only if bash set it: gatecert installs its own handler)
# interrupt in the middle of a case: as soon as a process of the run (a
# gateway or a backend) exists - a fixed delay let a quick run (a real gateway
# skipping most of a feature) end before the signal
for _ in $(seq 1 3000); do
  [[ -n $(survivors) ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.01
done
kill -INT "$pid" || fail "the run ended before any of its processes was seen"
wait "$pid"
status=$?
[[ $status -eq 130 ]] || fail "an interrupted run should exit 130, got $status"
grep -q "INTERRUPTED" "$reports/interrupted.out" || fail "no INTERRUPTED line"
[[ -s $reports/interrupted/junit.xml ]] || fail "no junit.xml after the interrupt"
left=$(survivors)
[[ -z $left ]] || fail "processes left after an interrupted run: $left"
echo "harness_no_orphans: no process left after a complete and an interrupted run ($driver)"
