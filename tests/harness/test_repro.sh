#!/usr/bin/env bash
# test_repro.sh GATECERT SIM BACKEND SCENARIOS SCRATCH
#
# `gatecert repro CASE` prints a script that reproduces the case by hand. For
# catalogue cases (a reload matrix row, upload-then-tick, backend mTLS with a
# profile identity, every endpoint-cert-upload/validation row, a two-node
# cluster whose balancer flaps between the nodes' ticks) the script must
# pass `bash -n`, run with every expectation holding (no MISMATCH, exit 0) and
# show the expected statuses at the expected steps. Against a simulator broken
# on purpose (uploads applied at once) the reload row must print MISMATCH and
# exit 1. Whatever happens - a complete run or one stopped with SIGTERM - no
# process it started, no /dev/shm/faketime_* file of their pids and no work
# directory is left. Programs and the temp dir are given paths with spaces and
# a quote, so the script's quoting is exercised. An unknown or ambiguous case
# exits 2 with the candidates.
set -uo pipefail
gatecert=$1 sim=$2 backend=$3 scenarios=$4 scratch=$5
marker="gatecert-repro-check-$$-$RANDOM"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

rm -rf "$scratch"
bins="$scratch/bin dir"
export TMPDIR="$scratch/tmp dir's"
mkdir -p "$bins" "$TMPDIR" || exit 1
cp "$sim" "$bins/gatecert-sim" && cp "$backend" "$bins/gatecert-backend" || exit 1

# Lines "started NAME pid N" of an output: the processes a script started.
pids_of() { sed -n 's/^started .* pid \([0-9]*\)$/\1/p' "$1"; }

# Nothing the script started is left: its pids (and libfaketime files), any
# process carrying the marker, its work directory.
check_clean() {
  local label=$1 out=$2 pid env work
  for pid in $(pids_of "$out"); do
    if [ -e "/proc/$pid" ] && grep -qaF "$marker" "/proc/$pid/environ" 2>/dev/null; then
      fail "$label: pid $pid is still running"
    fi
    if [ -e "/dev/shm/faketime_shm_$pid" ] || [ -e "/dev/shm/sem.faketime_sem_$pid" ]; then
      fail "$label: libfaketime files of pid $pid are left in /dev/shm"
    fi
  done
  while IFS= read -r env; do
    pid=${env#/proc/}
    pid=${pid%/environ}
    fail "$label: process $pid ($(tr "\0" " " <"/proc/$pid/cmdline" 2>/dev/null)) is left"
  done < <(grep -laF "$marker" /proc/[0-9]*/environ 2>/dev/null)
  work=$(sed -n 's/^work directory: //p' "$out")
  if [ -z "$work" ]; then
    fail "$label: no work directory line"
  elif [ -e "$work" ]; then
    fail "$label: work directory $work is left"
  fi
}

n=0
# repro NAME EXPECTED-STATUS [GATECERT-REPRO-ARG]...: generates, checks and
# runs the script of a case; its output in $out, its exit status in $status.
repro() {
  local name=$1 expected=$2
  shift 2
  n=$((n + 1))
  script="$scratch/case $n.sh" out="$scratch/case $n.out"
  if ! "$gatecert" repro --scenarios "$scenarios" --sim-bin "$bins/gatecert-sim" \
    --backend-bin "$bins/gatecert-backend" "$@" "$name" >"$script" 2>"$scratch/case $n.err"; then
    fail "$name: gatecert repro failed: $(cat "$scratch/case $n.err")"
    return 1
  fi
  grep -qF "$bins/gatecert-sim" "$script" || fail "$name: the script does not name --sim-bin"
  if grep -qE 'ADMIN_PASSWORD=[0-9a-f]{8}' "$script"; then
    fail "$name: an admin password is baked into the script"
  fi
  if ! bash -n "$script"; then
    fail "$name: bash -n rejects the script"
    return 1
  fi
  env GATECERT_REPRO_MARKER="$marker" bash "$script" >"$out" 2>&1
  status=$?
  if [ "$status" != "$expected" ]; then
    fail "$name: the script exited $status, expected $expected; output:"
    sed 's/^/    /' "$out" >&2
  fi
  check_clean "$name" "$out"
  echo "ok ($status): $name"
}

# expect_line LABEL ERE: the last output has a line matching ERE.
expect_line() {
  grep -qE -- "$2" "$out" || fail "$1: no line matching /$2/ in $out"
}

no_mismatch() {
  if grep -q '^MISMATCH' "$out"; then fail "$1: $(grep '^MISMATCH' "$out")"; fi
  expect_line "$1" '^RESULT: every expectation held$'
}

# 1. a reload matrix row: trusted only after the tick that follows the upload
name='upload-around-tick[interval=600s,upload_at=601s,still_untrusted_at=1198s,live_at=1201s]'
repro "$name" 0
no_mismatch "$name"
expect_line "$name" '^step 1 \(line [0-9]+\) advance_to 601s \(start \+ 601s\): clock at 2030-01-01 00:10:01;'
expect_line "$name" '^step 2 \(line [0-9]+\) upload_endpoint_cert alias echo, .*: got status 201$'
expect_line "$name" '^step 3 \(line [0-9]+\) advance_to 1198s .*: clock at 2030-01-01 00:19:58; the gateway says 2030-01-01 00:19:5[89]'
expect_line "$name" '^step 4 \(line [0-9]+\) call test GET /menaka: got status 500, fault code 101500, backend reached: no$'
expect_line "$name" '^step 6 \(line [0-9]+\) call test GET /menaka: got status 200, fault code none, backend reached: yes$'
grep -c '^started ' "$out" | grep -qx 2 || fail "$name: expected 2 processes started"

# 2. upload-then-tick (seed 000)
name='endpoint cert takes effect at the next sender reload tick'
repro "$name" 0
no_mismatch "$name"
expect_line "$name" '^step 1 \(line 16\) call test GET /menaka: got status 500, fault code 101500, backend reached: no$'
expect_line "$name" '^step 2 \(line 20\) advance 120s \(\+ 120s\): clock at 2030-01-01 00:02:00;'
expect_line "$name" '^step 3 \(line 21\) upload_endpoint_cert alias echo, cert root as pem, backend echo: got status 201$'
expect_line "$name" '^step 5 \(line 25\) call test GET /menaka: got status 500, fault code 101500, backend reached: no$'
expect_line "$name" '^step 7 \(line 28\) call test GET /menaka: got status 200, fault code none, backend reached: yes$'
expect_line "$name" '^  expected: status 200, body contains "Jersey say : menaka", backend reached, gateway log has'

# 3. backend mTLS: the SSL profile's identity (chain + key made with cat) is presented
name="a backend requiring a client cert gets the SSL profile's identity"
repro "$name" 0
no_mismatch "$name"
expect_line "$name" '^step 1 \(line [0-9]+\) call test GET /menaka: got status 200, fault code none, backend reached: yes$'
expect_line "$name" 'expected: status 200, the backend saw client certificate gateway-client$'

# 4. every validation row (pem, garbage, pkcs7 by openssl, jks by gatecert certs convert, empty)
while IFS='|' read -r row want; do
  name="upload-rejected[$row]"
  repro "$name" 0
  no_mismatch "$name"
  expect_line "$name" "^step 1 \\(line [0-9]+\\) upload_endpoint_cert alias a1, .*: got status $want\$"
done <<'EOF'
case=expired,cert=expired,format=pem,status=400,message=Error while adding the certificate. Certificate Expired.|400
case=malformed,cert=good,format=garbage,status=500,message=Internal server error|500
case=pkcs7-is-malformed-for-wso2,cert=good,format=pkcs7,status=500,message=Internal server error|500
case=jks-is-malformed-for-wso2,cert=good,format=jks,status=500,message=Internal server error|500
case=empty-file,cert=good,format=empty,status=400,message=Proper Certificate file should be provided|400
EOF
grep -qF 'certs convert pki/good.pem step-1.upload --to jks' "$scratch/case $((n - 1)).sh" ||
  fail "the jks row does not convert with gatecert certs"

# 4b. a cluster (issue 19): two gatecert-sim nodes on one --state, node 2 started at
#     250 s; the balancer's alternation replayed call by call: both nodes refuse
#     until node 1's tick at 600 s, the answers flap 200/500 until node 2's at 850 s
name='two-nodes-flap'
repro "$name" 0
no_mismatch "$name"
grep -c '^started ' "$out" | grep -qx 3 || fail "$name: expected 3 processes started (backends, 2 nodes)"
expect_line "$name" '^started gatecert-sim node 2 pid [0-9]+$'
expect_line "$name" '^node 2: .* started at 2030-01-01 00:04:10 \(fake\)$'
expect_line "$name" '^step 3 \(line [0-9]+\) call test GET /menaka \(node 2\): got status 500, fault code 101500'
expect_line "$name" '^step 4 \(line [0-9]+\) sweep: at 599 s after node 1 started, through the balancer: 1:500 2:500$'
expect_line "$name" '^step 4 \(line [0-9]+\) sweep: at 600 s after node 1 started, through the balancer: 1:200 2:500$'
expect_line "$name" '^step 4 \(line [0-9]+\) sweep: at 849 s after node 1 started, through the balancer: 1:200 2:500$'
expect_line "$name" '^step 4 \(line [0-9]+\) sweep: at 850 s after node 1 started, through the balancer: 1:200 2:200$'
expect_line "$name" '^step 5 \(line [0-9]+\) call test GET /menaka \(node 2\): got status 200'

# 5. a glob naming one case, against a simulator that applies uploads at once:
#    the script must show the non-conformance, not hide it
name='upload-around-tick\[interval=600s,upload_at=601s,*'
repro "$name" 1 --sim-arg=--break --sim-arg=immediate-reload
expect_line "broken sim" '^MISMATCH step 4 \(line [0-9]+\) call test GET /menaka: expected status 500, got 200$'
expect_line "broken sim" '^RESULT: [0-9]+ mismatch'

# 6. every other step kind and hostile strings: quotes, $(...) and `...` in the
#    name, a subject, a path, a header and an alias must reach the programs as
#    written and never run; within, method, headers, replace/delete cert,
#    create/delete API, reload, restart, an SSL profile with its own trust
pwned="$scratch/PWNED"
cat >"$scratch/hostile.yaml" <<EOF
name: "quotes ' \" \$(id) \`id\` \\\\ and more"
features: [backend-trust]
gateway:
  sender_reload_interval: 60s
  fault_format: xml
  backend_timeout: 2s
  ssl_profiles:
    - {backend: echo, host: localhost, trust: [root], hostname_verifier: Strict}
  default_profile: {key: none}
pki:
  root: {kind: ca, subject: "CN=It's \"root\" \$(touch ../PWNED-3),O=x"}
  echo-cert: {kind: server, issuer: root, san: [localhost, 127.0.0.1]}
backends:
  echo: {cert: echo-cert}
apis:
  test: {context: /test, version: "1.0", backend: echo}
  later: {context: /later, version: "2.0", backend: echo, create: false}
steps:
  - call: {api: test, path: "/menaka?x=\$(id)&y='q'", method: POST,
           headers: {X-A: "it's \"b\" \$HOME \`touch $pwned-4\`"}}
    expect: {status: 200, body_contains: ["Jersey say"], header: {Content-Type: application/json},
             backend_reached: true}
    within: 2s
  - upload_endpoint_cert: {alias: "it's \$HOME \`touch $pwned-5\`", backend: echo, cert: root}
    expect: {status: 201}
  - replace_endpoint_cert: {alias: "it's \$HOME \`touch $pwned-5\`", cert: root, format: der}
    expect: {status: 200}
  - delete_endpoint_cert: {alias: "it's \$HOME \`touch $pwned-5\`"}
    expect: {status: 200}
  - create_api: later
    expect: {status: 201}
  - call: {api: later, path: /x}
    expect: {status: 200}
  - delete_api: later
  - call: {api: later, path: /x}
    expect: {status: 404}
  - reload: {}
  - restart_gateway: {}
  - advance_to: 61s
  - call: {api: test, path: /menaka}
    expect: {status: 200, backend_saw: {client_cert: none}}
EOF
saved_scenarios=$scenarios
scenarios="$scratch/hostile.yaml"
name='quotes*'
repro "$name" 0
no_mismatch "hostile"
expect_line "hostile" "^step 1 \\(line [0-9]+\\) call test POST /menaka\\?x=\\\$\\(id\\)&y='q': got status 200"
expect_line "hostile" '^step 4 \(line [0-9]+\) delete_endpoint_cert alias .*: got status 200$'
expect_line "hostile" '^step 8 \(line [0-9]+\) call later GET /x: got status 404'
expect_line "hostile" '^step 10 \(line [0-9]+\) restart_gateway: restarted'
[ "$(grep -c '^started gatecert-sim' "$out")" = 2 ] || fail "hostile: the gateway was not restarted"
if compgen -G "$pwned*" >/dev/null || compgen -G "$TMPDIR/PWNED*" >/dev/null; then
  fail "hostile: a scenario string was executed"
fi
scenarios=$saved_scenarios

# 6b. each profile's certificate paths and rules: client and endpoint certificates
#     on the v4 paths (wso2-4, sap-2023, sap-2026) and on 2.6's v0.14 /certificates and
#     /clientCertificates, with the alias scope and tier answers of each version
name='client certificate aliases and tiers by version'
for profile in wso2-4 wso2-2.6 sap-2023 sap-2026; do
  repro "$name" 0 --profile "$profile"
  no_mismatch "$name ($profile)"
done
grep -qF '/api/am/publisher/v0.14' "$script" && fail "sap: a v0.14 path in its script"
# (to a file: grep -q on a pipe would stop reading early, and pipefail would
# count the writer's SIGPIPE)
"$gatecert" repro --profile wso2-2.6 --scenarios "$scenarios" --sim-bin "$bins/gatecert-sim" \
  --backend-bin "$bins/gatecert-backend" "$name" >"$scratch/v014.sh" 2>&1 ||
  fail "wso2-2.6: gatecert repro failed: $(head -c 300 "$scratch/v014.sh")"
grep -qF '/api/am/publisher/v0.14/clientCertificates' "$scratch/v014.sh" ||
  fail "wso2-2.6: the script does not use the v0.14 client certificate path"

# 6c. the sap profiles: an endpoint certificate goes through SAP's OData
#     service (a trust store entry and an API provider), never the Publisher's
#     endpoint certificate paths, which answer 404 there
name='endpoint cert takes effect at the next sender reload tick'
for profile in sap-2023 sap-2026; do
  repro "$name" 0 --profile "$profile"
  no_mismatch "$name ($profile)"
  expect_line "$name ($profile)" '^step 3 \(line [0-9]+\) upload_endpoint_cert alias echo, .*: got status 201$'
  expect_line "$name ($profile)" '^step 7 \(line [0-9]+\) call test GET /menaka: got status 200,'
  grep -qF 'status=$(sap_upload ' "$script" || fail "$profile: the upload is not an OData call"
  if grep -qF '/endpoint-certificates' "$script"; then
    fail "$profile: a Publisher endpoint certificate path in its script"
  fi
done

# 6d. SAP's own objects (sap_store_cert, sap_reference, sap_provider): an API
#     provider trusting its backend through a reference that is repointed
name="a provider's trust store through a reference, repointed"
repro "$name" 0 --profile sap-2026
no_mismatch "$name"
expect_line "$name" '^step 8 \(line [0-9]+\) sap_reference: got status 204$'
expect_line "$name" '^step 12 \(line [0-9]+\) call test GET /menaka: got status 500, fault code 101500, backend reached: no$'
expect_line "$name" '^step 17 \(line [0-9]+\) call test GET /menaka: got status 200,'

# 6e. a key store entry per SAP version: a key store JAR, made by the script
#     with gatecert certs convert, taken by the 2023 page and refused by the
#     current one
name='sap-key-store\[case=jar-2023-only,*'
for profile in sap-2023 sap-2026; do
  repro "$name" 0 --profile "$profile"
  no_mismatch "$name ($profile)"
done
expect_line "$name" '^step 1 \(line [0-9]+\) sap_store_cert: got status 400$'

# 7. stopped with SIGTERM while its processes run: everything is still cleaned up
name='endpoint cert takes effect at the next sender reload tick'
hold="$scratch/hold"
mkfifo "$hold"
"$gatecert" repro --scenarios "$scenarios" --sim-bin "$bins/gatecert-sim" \
  --backend-bin "$bins/gatecert-backend" "$name" >"$scratch/term.sh" || fail "repro for SIGTERM"
# after the gateway is up, block in a builtin read (a signal interrupts it)
# shellcheck disable=SC2016 # $REPRO_HOLD is expanded by the script
sed -i 's|^start_gateway$|&\necho holding; exec 9<>"$REPRO_HOLD"; read -r -t 60 -u 9 \|\| true|' \
  "$scratch/term.sh"
grep -q '^echo holding' "$scratch/term.sh" || fail "SIGTERM: could not insert the hold"
out="$scratch/term.out"
env GATECERT_REPRO_MARKER="$marker" REPRO_HOLD="$hold" bash "$scratch/term.sh" >"$out" 2>&1 &
pid=$!
for _ in $(seq 200); do
  if grep -q '^holding$' "$out"; then break; fi
  sleep 0.05
done
grep -q '^holding$' "$out" || fail "SIGTERM: the script did not reach the hold: $(cat "$out")"
kill -TERM "$pid"
wait "$pid"
status=$?
[ "$status" = 130 ] || fail "SIGTERM: expected exit 130, got $status"
[ "$(grep -c '^stopped ' "$out")" = 2 ] || fail "SIGTERM: expected 2 stopped lines: $(cat "$out")"
check_clean "SIGTERM" "$out"
echo "ok ($status): SIGTERM"

# 8. no case, several cases, no case name
"$gatecert" repro --scenarios "$scenarios" 'no such case' >"$scratch/none.out" 2>"$scratch/none.err"
status=$?
[ "$status" = 2 ] || fail "unknown case: expected exit 2, got $status"
[ ! -s "$scratch/none.out" ] || fail "unknown case: something was printed on stdout"
grep -q 'no case named "no such case"; candidates:' "$scratch/none.err" ||
  fail "unknown case: no candidates: $(cat "$scratch/none.err")"
grep -qF '  endpoint cert takes effect at the next sender reload tick' "$scratch/none.err" ||
  fail "unknown case: the candidates do not list the catalogue"
"$gatecert" repro --scenarios "$scenarios" 'upload-around-tick*' >/dev/null 2>"$scratch/many.err"
status=$?
[ "$status" = 2 ] || fail "ambiguous glob: expected exit 2, got $status"
rows=$("$gatecert" run --list --scenarios "$scenarios/reload/upload-around-tick.yaml" | wc -l)
[ "$rows" -gt 1 ] && [ "$(grep -c '^  upload-around-tick\[' "$scratch/many.err")" = "$rows" ] ||
  fail "ambiguous glob: expected the $rows rows as candidates: $(cat "$scratch/many.err")"
"$gatecert" repro --scenarios "$scenarios" >/dev/null 2>&1
[ $? = 2 ] || fail "no case name: expected exit 2"
echo "ok: unknown, ambiguous and missing case names exit 2"

if [ "$failures" -gt 0 ]; then
  echo "test_repro: $failures failure(s)" >&2
  exit 1
fi
rm -rf "$scratch"
echo "test_repro: $n scripts generated and run, every check held"
