#!/usr/bin/env bash
# test_exec_driver.sh MODE GATECERT SIM BACKEND SCENARIOS EXEC_SCRIPT SCRATCH
#
# The exec driver (harness/drivers/EXEC.md) end to end. MODE:
#   catalogue    the whole catalogue through scripts/exec-driver-sim.sh (bash +
#                curl driving gatecert-sim) gives exactly the outcomes of the
#                built-in sim driver, case by case (but the gateway clusters,
#                which exec/2 cannot express: skipped naming cluster where the
#                sim driver passes them), for every profile (wso2,
#                wso2-2.6 with its v0.14 certificate paths, sap-2023, sap-2026
#                with their OData trust stores; the cases with
#                a load balancer in front too, exec/2's); the reports name the
#                program and the version its hello gave
#   unsupported  a program that answers 89 to upload-cert and leaves
#                xml-faults out of its capabilities: every case that uploads is
#                skipped naming the verb, the xml-faults case naming the
#                capability (a gateway cluster's naming cluster), none of them
#                passes, the rest pass
#   broken       programs that exit 3, print garbage, print too much, speak
#                another protocol version or hang are harness errors (exit 3)
#                with a message saying what went wrong; the hang is killed by
#                GATECERT_EXEC_TIMEOUT_MS and nothing they started is left; a
#                secret= its hello declares is redacted from every report
# Stub programs are small bash scripts written into SCRATCH.
set -euo pipefail
mode=$1 gatecert=$2 sim=$3 backend=$4 scenarios=$5 ref=$6 scratch=$7
export GATECERT_SIM_BIN=$sim

fail() {
  echo "test_exec_driver[$mode]: FAILED: $*" >&2
  exit 1
}
note() { echo "test_exec_driver[$mode]: $*"; }

rm -rf -- "$scratch"
mkdir -p -- "$scratch"
scratch=$(cd -- "$scratch" && pwd)
# Every stub's path and every process it starts carry this marker.
token="gcx$$x$RANDOM"

# run NAME [gatecert run ARGS...]: runs gatecert into $scratch/NAME; sets
# $status, $out (stdout + stderr) and $secs.
run() {
  local name=$1 t0 t1
  shift
  t0=$(date +%s%N)
  set +e
  out=$("$gatecert" run --reports "$scratch/$name" --backend-bin "$backend" "$@" 2>&1)
  status=$?
  set -e
  t1=$(date +%s%N)
  secs=$(((t1 - t0) / 1000000))
  printf '%s\n' "$out" >"$scratch/$name.out"
}

# "LABEL<TAB>case name" per case, sorted, from a console transcript.
outcomes() {
  sed -nE 's/^(PASS|FAIL|ERROR|SKIP|N\/A) +(.*)  \([0-9.]+ s\)$/\1\t\2/p' <<<"$1" | sort
}

# The message line under the console line of case $2 in transcript $1.
message_of() {
  awk -v name="$2" 'found { sub(/^ +/, ""); print; exit }
    { line = $0; sub(/^(PASS|FAIL|ERROR|SKIP|N\/A) +/, "", line); sub(/  \([0-9.]+ s\)$/, "", line)
      if (line == name && $0 !~ /^PASS/) found = 1 }' <<<"$1"
}

# No process whose command line holds $1 is left (the stubs, their children,
# a gatecert-sim started with a --state in the scratch directory).
no_leftovers() {
  local left
  sleep 0.2
  left=$(pgrep -af -- "$1" | grep -vF "test_exec_driver.sh" || true)
  [[ -z $left ]] || fail "processes left behind:"$'\n'"$left"
}

# A stub program at $scratch/NAME-$token.sh with the given case arms; any other
# verb goes to the reference program. (The stubs' sources are single-quoted on
# purpose: their $ref and $1 are the stub's own.)
# shellcheck disable=SC2016
stub() {
  local path="$scratch/$1-$token.sh"
  {
    printf '#!/usr/bin/env bash\n# %s\nset -euo pipefail\nref=%q\ncase ${1:-} in\n' "$token" "$ref"
    printf '%s\n' "$2"
    printf '*) exec "$ref" "$@" ;;\nesac\n'
  } >"$path"
  chmod +x "$path"
  printf '%s\n' "$path"
}

case $mode in
catalogue)
  for profile in wso2 wso2-2.6 sap-2023 sap-2026; do
    run "sim-$profile" -j 2 --profile "$profile" --scenarios "$scenarios" --sim-bin "$sim"
    sim_status=$status sim_secs=$secs sim_out=$out
    run "exec-$profile" -j 2 --profile "$profile" --scenarios "$scenarios" --driver "exec:$ref"
    exec_status=$status exec_secs=$secs exec_out=$out
    outcomes "$sim_out" >"$scratch/sim-$profile.all"
    outcomes "$exec_out" >"$scratch/exec-$profile.all"
    # A load balancer in front runs for both drivers (exec protocol 2: the
    # harness runs it before the program's data plane): compared like the rest.
    grep -q 'front_lb:' -r "$scenarios" || fail "no front_lb case in the catalogue"
    # Gateway clusters (gateway.nodes) are not in exec/2 (no verb addresses a
    # node): the exec driver skips them naming cluster, where the sim driver
    # runs them; they are compared that way and left out of the rest.
    : >"$scratch/cluster-$profile.names"
    while IFS=$'\t' read -r label name; do
      [[ $label == SKIP ]] || continue
      if [[ $(message_of "$exec_out" "$name") == *" driver lacks capability cluster" ]]; then
        printf '%s\n' "$name" >>"$scratch/cluster-$profile.names"
        grep -qxF "PASS"$'\t'"$name" "$scratch/sim-$profile.all" ||
          fail "$profile: cluster case '$name': skipped by exec, but not passed by sim"
      fi
    done <"$scratch/exec-$profile.all"
    for who in sim exec; do
      awk -F '\t' 'FILENAME == ARGV[1] { skip[$0] = 1; next } !($2 in skip)' \
        "$scratch/cluster-$profile.names" "$scratch/$who-$profile.all" \
        >"$scratch/$who-$profile.outcomes"
    done
    total=$(wc -l <"$scratch/sim-$profile.outcomes")
    passed=$(grep -c '^PASS' "$scratch/exec-$profile.outcomes" || true)
    skipped=$(grep -c '^SKIP' "$scratch/exec-$profile.outcomes" || true)
    ((total > 0)) || fail "$profile: the sim driver ran no case:"$'\n'"$sim_out"
    if ! diff -u "$scratch/sim-$profile.outcomes" "$scratch/exec-$profile.outcomes" >&2; then
      printf '%s\n' "$exec_out" | tail -n 40 >&2
      fail "$profile: the exec driver's outcomes differ from the sim driver's (above)"
    fi
    ((exec_status == sim_status)) ||
      fail "$profile: exit $exec_status with exec, $sim_status with sim"
    ! grep -q '^ERROR' "$scratch/exec-$profile.outcomes" || fail "$profile: harness errors"
    json="$scratch/exec-$profile/conformance.json"
    grep -q '"name": "exec:exec-driver-sim.sh"' "$json" || fail "conformance.json lacks the name"
    grep -q '"version": "gatecert-sim-curl 2.0.0"' "$json" ||
      fail "conformance.json lacks the version"
    note "$profile: $(wc -l <"$scratch/cluster-$profile.names") cluster cases skipped by exec," \
      "passed by sim"
    note "$profile: $total cases, exec $passed passed $skipped skipped (same as sim);" \
      "sim driver ${sim_secs} ms, exec driver ${exec_secs} ms (-j 2)"
  done
  no_leftovers "$scratch"
  ;;

unsupported)
  # shellcheck disable=SC2016
  program=$(stub no-upload '
hello) "$ref" hello | sed "s/,xml-faults//" ;;
upload-cert) echo "this gateway takes certificates only at deploy time" >&2; exit 89 ;;')
  run stub -j 2 --scenarios "$scenarios" --driver "exec:$program"
  [[ $status -eq 0 ]] || fail "exit $status, want 0 (skips are not failures):"$'\n'"$out"
  outcomes "$out" >"$scratch/stub.outcomes"
  # What must be skipped, from the scenario files themselves.
  : >"$scratch/want-verb"
  : >"$scratch/want-cap"
  : >"$scratch/want-na"
  : >"$scratch/want-cluster"
  while IFS= read -r file; do
    names=$("$gatecert" run --list --scenarios "$file")
    [[ -n $names ]] || continue # no case for this profile
    # an API's own backend TLS, which WSO2 has not either: not applicable
    # (checked first: the product's gap wins over the driver's); then
    # xml-faults (taken out of the hello above); a load balancer in front runs
    # (the reference program declares lb-in-front)
    if grep -qE 'backend_trust:|backend_key:' "$file"; then
      printf '%s\n' "$names" >>"$scratch/want-na"
    elif grep -qE '^needs:.*cluster' "$file"; then
      printf '%s\n' "$names" >>"$scratch/want-cluster" # several nodes: the program runs one
    elif grep -qE '^needs:.*xml-faults' "$file"; then
      printf '%s\n' "$names" >>"$scratch/want-cap"
    elif grep -q 'upload_endpoint_cert:' "$file"; then
      printf '%s\n' "$names" >>"$scratch/want-verb"
    fi
  done < <(find "$scenarios" -name '*.yaml' | sort)
  [[ -s $scratch/want-verb && -s $scratch/want-cap && -s $scratch/want-na ]] ||
    fail "the catalogue has no case to skip"
  while IFS= read -r name; do
    grep -qxF "N/A"$'\t'"$name" "$scratch/stub.outcomes" || fail "'$name' was not N/A"
    msg=$(message_of "$out" "$name")
    [[ $msg == "not applicable to wso2-4 (rule backend.ssl-profile-per-host-port)" ]] ||
      fail "'$name': reason \"$msg\""
  done <"$scratch/want-na"
  while IFS= read -r name; do
    grep -qxF "SKIP"$'\t'"$name" "$scratch/stub.outcomes" || fail "'$name' was not skipped"
    msg=$(message_of "$out" "$name")
    [[ $msg == "the exec driver does not support upload-cert"* ]] ||
      fail "'$name': skip reason \"$msg\" does not name upload-cert"
  done <"$scratch/want-verb"
  while IFS= read -r name; do
    msg=$(message_of "$out" "$name")
    [[ $msg =~ lacks\ capability\ xml-faults ]] ||
      fail "'$name': skip reason \"$msg\""
  done <"$scratch/want-cap"
  while IFS= read -r name; do
    msg=$(message_of "$out" "$name")
    [[ $msg =~ lacks\ capability\ cluster$ ]] || fail "'$name': skip reason \"$msg\""
  done <"$scratch/want-cluster"
  want_skips=$(($(wc -l <"$scratch/want-verb") + $(wc -l <"$scratch/want-cap") +
    $(wc -l <"$scratch/want-cluster")))
  skips=$(grep -c '^SKIP' "$scratch/stub.outcomes" || true)
  passes=$(grep -c '^PASS' "$scratch/stub.outcomes" || true)
  ((skips == want_skips)) || fail "$skips cases skipped, want $want_skips"
  ! grep -qE '^(FAIL|ERROR)' "$scratch/stub.outcomes" || fail "failures or errors:"$'\n'"$out"
  grep -q '<skipped message="the exec driver does not support upload-cert' \
    "$scratch/stub/junit.xml" || fail "junit.xml has no skipped element naming the verb"
  note "$skips skipped ($(wc -l <"$scratch/want-verb") for upload-cert," \
    "$(wc -l <"$scratch/want-cap") for capabilities, $(wc -l <"$scratch/want-cluster") for" \
    "cluster), $passes passed," \
    "none wrongly passed (${secs} ms)"
  no_leftovers "$token"
  no_leftovers "$scratch"
  ;;

broken)
  one="$scenarios/backend-trust/missing-cert.yaml"
  [[ -f $one ]] || fail "no $one"
  # expect_error NAME WANT_MESSAGE ARGS...: exit 3 and the message in the output.
  expect_error() {
    local name=$1 want=$2
    shift 2
    run "$name" --scenarios "$one" "$@"
    [[ $status -eq 3 ]] || fail "$name: exit $status, want 3:"$'\n'"$out"
    grep -qF -- "$want" <<<"$out" || fail "$name: no \"$want\" in:"$'\n'"$out"
    note "$name: exit 3 in ${secs} ms: $(grep -F -- "$want" <<<"$out" | head -n 1 | sed 's/^ *//')"
  }
  p=$(stub hello-exit3 'hello) echo "cannot reach the admin port of gw-01" >&2; exit 3 ;;')
  expect_error hello-exit3 "hello exited 3: cannot reach the admin port of gw-01" \
    --driver "exec:$p"
  p=$(stub hello-garbage 'hello) echo "Welcome to GatewayOS"; exit 0 ;;')
  expect_error hello-garbage 'line 1 is not key=value: "Welcome to GatewayOS"' --driver "exec:$p"
  p=$(stub hello-v3 'hello) printf "protocol=gatecert-exec/3\nname=x\nversion=1\n"
  echo capabilities= ;;')
  expect_error hello-v3 'speaks "gatecert-exec/3"' --driver "exec:$p"
  p=$(stub start-garbage 'start) echo "started OK on port 8443" ;;')
  expect_error start-garbage 'start: line 1 is not key=value: "started OK on port 8443"' \
    --driver "exec:$p"
  p=$(stub start-noport 'start) echo "start_ms=5" ;;')
  expect_error start-noport 'start: no https_port= line' --driver "exec:$p"
  p=$(stub start-flood 'start) yes https_port=1 | head -c 2000000 ;;')
  expect_error start-flood 'start printed more than 1048576 bytes on stdout' --driver "exec:$p"
  p=$(stub call-exit3 'create-api) echo "admin API: 503 Service Unavailable" >&2; exit 3 ;;')
  expect_error call-exit3 'create-api exited 3: admin API: 503 Service Unavailable' \
    --driver "exec:$p"
  no_leftovers "$scratch" # the gateway of call-exit3 was stopped
  secret="s3cr3t-$token"
  # shellcheck disable=SC2016
  p=$(stub secret 'hello) "$ref" hello; echo "secret='"$secret"'" ;;
create-api) echo "admin login with '"$secret"' refused" >&2; exit 3 ;;')
  expect_error secret 'create-api exited 3: admin login with [redacted] refused' --driver "exec:$p"
  ! grep -rqF -- "$secret" "$scratch/secret.out" "$scratch/secret/junit.xml" \
    "$scratch/secret/conformance.json" || fail "the secret from hello reached a report"
  export GATECERT_EXEC_TIMEOUT_MS=700
  p=$(stub start-hang 'start) (exec -a "'"$token"'-child" sleep 1000) & sleep 1000 ;;')
  expect_error start-hang 'start did not finish within 700 ms (killed)' --driver "exec:$p"
  ((secs < 10000)) || fail "start-hang took ${secs} ms: the timeout did not fire"
  p=$(stub hello-hang 'hello) exec -a "'"$token"'-hello" sleep 1000 ;;')
  expect_error hello-hang 'hello did not finish within 700 ms (killed)' --driver "exec:$p"
  unset GATECERT_EXEC_TIMEOUT_MS
  no_leftovers "$token"
  no_leftovers "$scratch"
  ;;

*) fail "unknown mode $mode" ;;
esac
note "ok"
