#!/usr/bin/env bash
# test_sanitize_catalogue.sh GATECERT SIM BACKEND CATALOGUE SCRATCH PROFILE...
#
# The whole scenario catalogue under AddressSanitizer and UndefinedBehavior-
# Sanitizer (a -DGATECERT_SANITIZE=ON build: the harness, gatecert-sim and
# gatecert-backend are all instrumented; `make test-sanitize` runs it, label
# sanitize). For each PROFILE one `gatecert run --keep`, which must pass as
# it does in the normal build; then no sanitizer report may appear anywhere:
# not in the harness's own output, not in any log of any case's work
# directory (gateway.log is the simulator's stderr, backends.log the
# backends'), not in the sanitizer's own log files (log_path: one per process,
# so a report of a simulator that was restarted is kept). The build aborts on the first UBSan finding
# (-fno-sanitize-recover=all) and ASAN_OPTIONS/UBSAN_OPTIONS here say
# halt_on_error, so a finding also fails the case it happened in. The logs are
# checked to be there (one gateway.log per case that ran), so an empty search
# cannot pass by accident. In a build without the sanitizers it exits 77
# (CTest's SKIP_RETURN_CODE): there is nothing to check.
set -uo pipefail
gatecert=$1 sim=$2 backend=$3 catalogue=$4 scratch=$5
shift 5
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
for program in "$gatecert" "$sim" "$backend"; do
  needed=$(readelf -d "$program" 2>/dev/null)
  if [[ $needed != *"[libasan."* || $needed != *"[libubsan."* ]]; then
    echo "$program is not built with -DGATECERT_SANITIZE=ON: nothing to check"
    exit 77
  fi
done
caller_asan=${ASAN_OPTIONS:-} caller_ubsan=${UBSAN_OPTIONS:-}
findings='runtime error|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ERROR: .*Sanitizer'
rm -rf "$scratch"
mkdir -p "$scratch" || exit 1
for profile in "$@"; do
  reports="$scratch/$profile"
  # Every instrumented process (harness, workers, each simulator and backend,
  # every restart) also writes its reports to a file of its own, named by its
  # pid: a restart truncates gateway.log, these are never truncated.
  sanitizer_logs="$scratch/$profile.sanitizer"
  mkdir -p "$sanitizer_logs" || exit 1
  export ASAN_OPTIONS="${caller_asan:+$caller_asan:}halt_on_error=1:detect_leaks=1:log_path=$sanitizer_logs/asan"
  export UBSAN_OPTIONS="${caller_ubsan:+$caller_ubsan:}halt_on_error=1:print_stacktrace=1:log_path=$sanitizer_logs/ubsan"
  start=$(date +%s)
  "$gatecert" run -j 2 --keep --profile "$profile" --scenarios "$catalogue" --reports "$reports" \
    --sim-bin "$sim" --backend-bin "$backend" >"$reports.out" 2>&1
  status=$?
  echo "$profile: exit $status in $(($(date +%s) - start)) s: $(tail -n 1 "$reports.out")"
  [ "$status" -eq 0 ] || fail "$profile: the catalogue run exited $status: $(grep -E '^(FAIL|ERROR)' "$reports.out" | head -5)"
  if grep -qE "$findings" "$reports.out"; then
    fail "$profile: a sanitizer report in the harness's output:"
    grep -nE -B2 -A10 "$findings" "$reports.out" | head -40 >&2
  fi
  ran=$(jq '[.cases[] | select(.outcome == "pass" or .outcome == "fail" or .outcome == "error")] | length' \
    "$reports/conformance.json" 2>/dev/null)
  logs=$(find "$reports/work" -name gateway.log 2>/dev/null | wc -l)
  [ "${ran:-0}" -gt 0 ] || fail "$profile: no case ran"
  [ "$logs" -ge "${ran:-1}" ] || fail "$profile: $logs gateway logs for $ran cases that ran (--keep keeps them)"
  while IFS= read -r -d '' log; do
    fail "$profile: a sanitizer report in $log:"
    grep -nE -B2 -A10 "$findings" "$log" | head -40 >&2
  done < <(find "$reports/work" -type f -name '*.log' -print0 | xargs -0 -r grep -lZE "$findings")
  for report in "$sanitizer_logs"/*; do
    [ -e "$report" ] || continue
    fail "$profile: a sanitizer report, $report:"
    head -40 "$report" >&2
  done
  echo "$profile: $ran cases, $logs gateway logs, $(find "$reports/work" -type f -name '*.log' | wc -l) logs searched"
done
if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "no sanitizer report over the catalogue ($*)"
