#!/usr/bin/env bash
# harness_catches_broken_sim.sh GATECERT SIM BACKEND SCENARIOS REPORTS
#
# Proves the scenario suite catches what it claims to: gatecert-sim started
# with `--break immediate-reload` applies endpoint certificates at once instead
# of at the reload tick, and the reload and backend-trust scenarios that pin
# the tick must fail - each with the expected-vs-actual message - while the run
# exits 1 (non-conformance), not 0 and not 3 (harness error).
set -uo pipefail
gatecert=$1 sim=$2 backend=$3 scenarios=$4 reports=$5
out=$("$gatecert" run -j 2 --scenarios "$scenarios" --reports "$reports" \
        --sim-bin "$sim" --backend-bin "$backend" \
        --sim-arg=--break --sim-arg=immediate-reload \
        --feature reload 2>&1)
status=$?
echo "$out"
fail() { echo "harness_catches_broken_sim: $*" >&2; exit 1; }
[[ $status -eq 1 ]] || fail "expected exit 1 (non-conformance), got $status"
expect_fail() {
  grep -qF -- "FAIL  $1" <<<"$out" || fail "case '$1' should have failed"
}
expect_fail "upload-around-tick[interval=600s,upload_at=601s"
expect_fail "upload-around-tick[interval=600s,upload_at=597s"
expect_fail "upload-around-tick[interval=3600s,upload_at=3601s"
expect_fail "upload-around-tick[interval=3600s,upload_at=3597s"
expect_fail "an interval below 60 s is raised to 60 s"
expect_fail "endpoint cert takes effect at the next sender reload tick"
expect_fail "a deleted endpoint cert stays live until the next tick"
grep -qF "expected status 500, got 200" <<<"$out" || fail "no expected-vs-actual message"
grep -q '<failure type="non-conformance"' "$reports/junit.xml" || fail "junit.xml has no failure"
echo "harness_catches_broken_sim: every tick-pinning case failed as it should"
