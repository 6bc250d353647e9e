#!/usr/bin/env bash
# cluster_skips.sh GATECERT BACKEND SCENARIOS SCRATCH GATEWAY:BIN...
#
# A gateway cluster case (scenarios/cluster/, gateway.nodes) needs the driver
# capability cluster (start_node, use_node: driver.h). Each real gateway
# driver given (nginx, haproxy, caddy: none can run several instances of one
# gateway yet) must skip every cluster case naming that capability - never run
# it as a single gateway, never pass it - and the run exits 0 (skips are no
# failure).
set -uo pipefail
gatecert=$1 backend=$2 scenarios=$3 scratch=$4
shift 4
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

rm -rf "$scratch"
mkdir -p "$scratch" || exit 1
for pair in "$@"; do
  driver=${pair%%:*} bin=${pair#*:}
  out="$scratch/$driver.out"
  "$gatecert" run --driver "$driver" --gateway-bin "$bin" --scenarios "$scenarios/cluster" \
    --reports "$scratch/$driver" --backend-bin "$backend" >"$out" 2>&1
  status=$?
  [[ $status -eq 0 ]] || fail "$driver: gatecert exited $status: $(tail -3 "$out")"
  cases=$(grep -cE '^(PASS|FAIL|ERROR|SKIP|N/A) ' "$out")
  skips=$(grep -c '^SKIP ' "$out")
  reasons=$(grep -cxF "      the $driver driver lacks capability cluster" "$out")
  [[ $cases -ge 5 && $skips -eq $cases && $reasons -eq $cases ]] ||
    fail "$driver: $cases cases, $skips skipped, $reasons naming cluster: $(head -6 "$out")"
  echo "$driver: $skips of $cases cluster cases skipped naming cluster"
done
((failures == 0))
