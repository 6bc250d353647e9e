#!/usr/bin/env bash
# test_exec_protocol.sh GATECERT SIM BACKEND SCENARIOS REF WRONG SCRATCH
#
# The conformance test of gatecert-exec/2 itself (harness/drivers/EXEC.md):
# WRONG (tests/harness/exec-wrong-driver.sh) is a program that makes one
# mistake per mode (GATECERT_WRONG) and hands every other verb to REF, the
# reference program (scripts/exec-driver-sim.sh, driving gatecert-sim). Each
# row of the table below runs one scenario through it and asserts the exit
# status of `gatecert run` and the exact message it printed: a broken hello
# stops the run (exit 3), a broken answer is a harness error of the case
# (exit 3), a rejection table the gateway does not follow is a failure
# (exit 1) naming every answer accepted and what was seen, and a gateway
# whose clock does not follow the fake clock errors instead of passing.
set -euo pipefail
gatecert=$1 sim=$2 backend=$3 scenarios=$4 ref=$5 wrong=$6 scratch=$7
export GATECERT_SIM_BIN=$sim GATECERT_WRONG_REF=$ref

fail() {
  echo "test_exec_protocol: FAILED: $*" >&2
  exit 1
}

rm -rf -- "$scratch"
mkdir -p -- "$scratch"
upload="$scenarios/backend-trust/upload-applies.yaml"
missing="$scenarios/backend-trust/missing-cert.yaml"
[[ -f $upload && -f $missing ]] || fail "scenarios missing under $scenarios"
w=exec-wrong-driver.sh

# mode | scenario | exit | the message, exactly as printed (a fixed string)
rows=(
  "unknown-capability|$missing|3|exec driver: $w hello: unknown capability \"backend-tsl\" (EXEC.md lists them)"
  "no-protocol|$missing|3|exec driver: $w hello: no protocol= line"
  "protocol-3|$missing|3|exec driver: $w speaks \"gatecert-exec/3\"; this harness speaks gatecert-exec/1 and gatecert-exec/2"
  "v1-reject|$missing|3|exec driver: $w hello: reject= is gatecert-exec/2"
  "reject-class|$missing|3|exec driver: $w hello: reject=backend-tsl 502: unknown class \"backend-tsl\" (client-cert, unauthenticated, backend-tls)"
  "reject-status|$missing|3|exec driver: $w hello: reject=backend-tls 502|5xx: the answer is tls-alert or 1-4 HTTP statuses joined by |"
  "hello-twice|$missing|3|exec driver: $w hello: line 3: name given twice"
  "bad-key|$missing|3|exec driver: $w hello: line 3: unknown key \"Version\" (hello prints: protocol name version capabilities secret reject)"
  "start-not-kv|$missing|3|setting up: exec driver: $w start: line 1 is not key=value: \"https_port 8443\""
  "start-no-port|$missing|3|setting up: exec driver: $w start: no https_port= line"
  "start-unknown-key|$missing|3|setting up: exec driver: $w start: line 2: unknown key \"started\" (start prints: https_port start_ms clock_ms)"
  "start-no-newline|$missing|3|setting up: exec driver: $w start: line 1 does not end with a newline: \"https_port=8443\""
  "start-body|$missing|3|setting up: exec driver: $w start: printed a body; start has none"
  "real-clock|$missing|3|setting up: gateway clock does not follow the fake clock (after start): its own reading reads "
  "reject-502|$upload|1|expected rejection backend-tls (the exec:$wrong driver's answer, accepted: status 502), got status 500, fault code \"101500\", body: {\"code\":\"101500\""
  "reject-502-or-500|$upload|0|SUCCESS  1 cases: 1 passed"
  "fault-claimed|$upload|1|expected rejection backend-tls (the exec:$wrong driver's answer, accepted: status 500 with fault code 999999), got status 500, fault code \"101500\""
  "fault-unclaimed|$upload|0|SUCCESS  1 cases: 1 passed"
)

for row in "${rows[@]}"; do
  IFS='|' read -r mode scenario want_status want <<<"$row"
  want=${row#"$mode|$scenario|$want_status|"}
  set +e
  out=$(GATECERT_WRONG=$mode "$gatecert" run --scenarios "$scenario" --driver "exec:$wrong" \
    --backend-bin "$backend" --reports "$scratch/$mode" 2>&1)
  status=$?
  set -e
  printf '%s\n' "$out" >"$scratch/$mode.out"
  [[ $status -eq $want_status ]] || fail "$mode: exit $status, want $want_status:"$'\n'"$out"
  grep -qF -- "$want" <<<"$out" || fail "$mode: no \"$want\" in:"$'\n'"$out"
  echo "test_exec_protocol: $mode: exit $status: $(grep -F -- "$want" <<<"$out" | head -n 1 | sed 's/^ *//')"
done
left=$(pgrep -af -- "$scratch" | grep -vF test_exec_protocol.sh || true)
[[ -z $left ]] || fail "processes left behind:"$'\n'"$left"
echo "test_exec_protocol: ok (${#rows[@]} rows)"
