#!/usr/bin/env bash
# test_caddy_clock.sh GATECERT BACKEND SCENARIOS SCRATCH
#
# The caddy driver declares no fake clock (Caddy is a Go program: libfaketime
# does not reach it), and a case needs the fake clock only where the gateway's
# own clock decides (harness/run_caps.c): a certificate starts or ends being
# valid within the span the case's clock steps cover. Each row runs one
# catalogue scenario against Caddy and wants every case of it to get the
# verdict of the row: the two cases whose certificates cross a validity
# boundary are skipped naming fake-clock; cases whose clock steps only pass
# WSO2's reload ticks (a trust change, a client certificate's deletion, tokens
# judged by gatecert-introspect on the fake clock) run and pass.
set -uo pipefail
gatecert=$1 backend=$2 scenarios=$3 scratch=$4
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# scenario file | verdict every case of it gets | the reason line that follows (SKIP)
rows=(
  "backend-trust/validity-window.yaml|SKIP|the caddy driver lacks capability fake-clock"
  "client-mtls/client-cert-expires.yaml|SKIP|the caddy driver lacks capability fake-clock"
  "client-mtls/resumption-after-trust-change.yaml|PASS|"
  "client-mtls/keepalive-after-delete.yaml|PASS|"
  "oauth2/token-validity.yaml|PASS|"
)

rm -rf "$scratch"
mkdir -p "$scratch" || exit 1
for row in "${rows[@]}"; do
  IFS='|' read -r file verdict reason <<<"$row"
  out="$scratch/$(basename "$file" .yaml).out"
  "$gatecert" run --driver caddy --scenarios "$scenarios/$file" --reports "$scratch/reports" \
    --backend-bin "$backend" >"$out" 2>&1
  status=$?
  [[ $status -eq 0 ]] || fail "$file: gatecert exited $status: $(tail -3 "$out")"
  cases=$(grep -cE '^(PASS|FAIL|ERROR|SKIP) ' "$out")
  wanted=$(grep -c "^$verdict " "$out")
  [[ $cases -gt 0 && $wanted -eq $cases ]] ||
    fail "$file: $wanted of $cases cases got $verdict: $(grep -E '^(PASS|FAIL|ERROR|SKIP) ' -A1 "$out" | head -6)"
  if [[ -n $reason ]]; then
    reasons=$(grep -cF "      $reason" "$out")
    [[ $reasons -eq $cases ]] || fail "$file: $reasons of $cases skips say \"$reason\""
  fi
done

if ((failures > 0)); then
  echo "test_caddy_clock: $failures failures" >&2
  exit 1
fi
echo "test_caddy_clock: ${#rows[@]} rows passed"
