#!/usr/bin/env bash
# harness_catches_mutants.sh GATECERT SIM BACKEND SCENARIOS SCRATCH
#
# Proves the catalogue catches each corrected rule family of gatecert-sim's
# rule table (simulator/rules.c): for every row below, the simulator runs under
# PROFILE with `--break FAMILY` (the family answers with its mutant row, or with
# another version's), and the named case of the scenario file must FAIL with a
# non-conformance (exit 1, never 0 and never 3 - a harness error proves
# nothing). Without the mutation the same files pass: their CTest tests
# (scenario.<feature>.<file>[@profile]) check that.
set -uo pipefail
gatecert=$1 sim=$2 backend=$3 scenarios=$4 scratch=$5

# profile | --break family | scenario file | a case that must fail | text in its failure
rows=(
  "wso2-4|backend-faults|backend-trust/backend-faults.yaml|backend failures have their own fault codes|expected status 500, got 503"
  "wso2-2.6|backend-faults|backend-trust/backend-faults.yaml|backend failures have their own fault codes|expected status 500, got 503"
  "wso2-2.6|fault-format|backend-trust/missing-cert.yaml|backend with an untrusted certificate gets 500 101500|expected the body to contain"
  "wso2-4|priority|oauth2/priority.yaml|mutual SSL and OAuth2 without a mandatory flag|expected"
  "wso2-2.6|priority|oauth2/priority.yaml|mutual SSL and OAuth2 without a mandatory flag|expected"
  "wso2-4|both-optional|oauth2/both-optional.yaml|mutual SSL and OAuth2 both explicitly optional|expected fault code 900901, got \"900902\""
  "wso2-4|lb-header|header-mode/spoofing.yaml|with client validation any trusted peer may speak for a client in the header[peer=none,status=401]|expected status 401"
  "wso2-4|client-alias|client-mtls/alias-scope.yaml|client certificate aliases and tiers by version|expected"
  "wso2-2.6|client-alias|client-mtls/alias-scope.yaml|client certificate aliases and tiers by version|expected"
  "wso2-4|client-tier|client-mtls/alias-scope.yaml|client certificate aliases and tiers by version|expected status 201, got 400"
  "wso2-4|throttle-out|client-mtls/throttled-per-tier.yaml|a client certificate's tier throttles its calls[per_certificate=false,fourth=429]|nextAccessTime"
  "wso2-4|jwt|oauth2/token-validity.yaml|tokens are checked on the gateway's clock, issuer, signature and subscription|expected status 200, got 401"
  "wso2-2.6|rest-paths|endpoint-cert-upload/accepted.yaml|upload-accepted[case=pem,cert=good,format=pem,status_2023=201,body_2023=\"name\":\"a1\"]|expected status 201, got 404"
  "wso2-4|rest-paths|endpoint-cert-upload/accepted.yaml|upload-accepted[case=pem,cert=good,format=pem,status_2023=201,body_2023=\"name\":\"a1\"]|expected status 201, got 404"
  "wso2-2.6|rest-paths|client-mtls/alias-scope.yaml|client certificate aliases and tiers by version|expected status 201, got 404"
  "wso2-4|lb-header-forward|header-mode/header-to-backend.yaml|a certificate header the gateway read reaches the backend as the version decides|expected the body not to contain \"X-WSO2-CLIENT-CERTIFICATE\""
  "wso2-2.6|lb-header-forward|header-mode/header-to-backend.yaml|a certificate header the gateway read reaches the backend as the version decides|expected the body to contain"
  "wso2-4|jwt-skew|oauth2/token-validity.yaml|tokens are checked on the gateway's clock, issuer, signature and subscription|expected status 401, got 200"
  "wso2-2.6|jwt-skew|oauth2/token-validity.yaml|tokens are checked on the gateway's clock, issuer, signature and subscription|expected status 200, got 401"
  "wso2-4|throttle-key|client-mtls/throttle-key.yaml|client certificates of two tiers on one API version count apart (4.x) or on one counter (2.6)|expected status 200, got 429"
  "wso2-2.6|throttle-key|client-mtls/throttle-key.yaml|client certificates of two tiers on one API version count apart (4.x) or on one counter (2.6)|expected status 429, got 200"
  "wso2-4|endpoint-alias-reuse|wso2-bugs/deleted-alias-taken.yaml|re-adding a deleted endpoint certificate alias (api-manager 1397)[quirk=none,readd=201,says=endpoint]|expected status 201, got 409"
  "wso2-4|restart|wso2-bugs/restart-keeps-client-certs.yaml|client certificates after a gateway restart, fixed (product-apim 10464 off)|the call failed"
  "wso2-4|sender-backup|wso2-bugs/sender-backup-fails.yaml|gateway to backend mutual TLS, second start (api-manager 158)[quirk=none,status=200,log=client certificate trust store reloaded into memory]|expected status 200, got 401"
  "wso2-4|immediate-reload|cluster/two-nodes-flap.yaml|two-nodes-flap|(node 1): expected status 500, got 200"
)

failures=0
for row in "${rows[@]}"; do
  IFS='|' read -r profile family file case text <<<"$row"
  reports="$scratch/$profile.$family"
  rm -rf "$reports"
  out=$("$gatecert" run -j 2 --profile "$profile" --scenarios "$scenarios/$file" \
          --reports "$reports" --sim-bin "$sim" --backend-bin "$backend" \
          --sim-arg=--break --sim-arg="$family" 2>&1)
  status=$?
  why=""
  if [[ $status -ne 1 ]]; then
    why="exit $status, expected 1 (a non-conformance)"
  elif ! grep -qF -- "FAIL  $case" <<<"$out"; then
    why="the case '$case' did not fail"
  elif ! grep -A3 -F -- "FAIL  $case" <<<"$out" | grep -qF -- "$text"; then
    why="the failure of '$case' does not say '$text'"
  fi
  if [[ -n $why ]]; then
    echo "MISSED  --profile $profile --break $family ($file): $why"
    echo "$out" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "CAUGHT  --profile $profile --break $family: $case"
  fi
done
echo "harness_catches_mutants: $(( ${#rows[@]} - failures )) of ${#rows[@]} mutations caught"
[[ $failures -eq 0 ]]
