# shellcheck shell=bash
# repro-prelude.sh - the fixed part of every script `gatecert repro` prints.
#
# gatecert repro writes the case's settings (GATECERT SIM_BIN BACKEND_BIN
# FAKETIME_LIB PROFILE EPOCH_S SIM_EXTRA_ARGS), then this file as it stands
# (embedded at build time: harness/CMakeLists.txt makes repro-prelude.h of
# it), then the case: the PKI, the backends (then read_backend_ports), the
# gateway's config and SIM_ARGS (then start_gateway), the APIs, one block per
# step, and report_result. Lint: shellcheck (the test repro_prelude_shellcheck).
# shellcheck disable=SC2154,SC2153 # the settings above are written by gatecert repro
set -Eeuo pipefail
KEEP_WORK=${KEEP_WORK:-0}
STEP=${STEP:-0}

export TZ=UTC  # libfaketime reads the timestamp file in local time
unset LD_PRELOAD  # and no FAKETIME* variable is handed on (FAKETIME overrides the file)
for v in $(compgen -e); do case $v in FAKETIME*) unset "$v" ;; esac; done
umask 077
for p in "$GATECERT" "$SIM_BIN" "$BACKEND_BIN"; do
  if [ ! -x "$p" ]; then echo "not executable: $p (edit the top of this script)" >&2; exit 3; fi
done
if [ ! -r "$FAKETIME_LIB" ]; then echo "no libfaketime at $FAKETIME_LIB" >&2; exit 3; fi
for p in openssl curl od sed grep date base64; do
  command -v "$p" >/dev/null || { echo "this script needs $p" >&2; exit 3; }
done

# ---- helpers ------------------------------------------------------------------
# shellcheck disable=SC2034 # API_ID, APP_ID: used by the steps below this file
declare -A RUNNING=() PORT=() API_ID=() APP_ID=()  # pid -> program; backend -> port; api, application -> id
urlencode_file() {  # FILE: its bytes percent-encoded (all but A-Z a-z 0-9 - . _ ~)
  local LC_ALL=C s c i out=''
  s=$(cat "$1"; printf x) && s=${s%x}
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in [A-Za-z0-9._~-]) out+=$c ;; *) printf -v c '%%%02X' "'$c"; out+=$c ;; esac
  done
  printf '%s' "$out"
}
MISMATCHES=0 WORK='' LAST_PID='' STEP_OK=1

alive() {  # PID: true while it runs (a zombie has ended)
  [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

stop_pid() {  # PID: SIGTERM, up to 3 s, SIGKILL; reap it; remove libfaketime's files
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 60; i++)); do
    if ! alive "$pid"; then break; fi
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "/dev/shm/faketime_shm_$pid" "/dev/shm/sem.faketime_sem_$pid"
  echo "stopped ${RUNNING[$pid]:-process} pid $pid"
  unset "RUNNING[$pid]"
}

cleanup() {  # on exit: every process started here, by pid; then the work directory
  local rc=$? pid
  trap - EXIT INT TERM HUP
  for pid in "${!RUNNING[@]}"; do stop_pid "$pid"; done
  cd /
  if [ -n "$WORK" ] && [ "$KEEP_WORK" = 1 ]; then echo "work directory kept: $WORK";
  elif [ -n "$WORK" ]; then rm -rf "$WORK"; fi
  exit "$rc"
}

start_faked() {  # NAME OUT ERR PROGRAM ARG...: PROGRAM on the fake clock; pid in LAST_PID
  local name=$1 out=$2 err=$3
  shift 3
  : >"$out"  # emptied here, not in the child: a restart must not find the last READY
  LD_PRELOAD=$FAKETIME_LIB FAKETIME_TIMESTAMP_FILE=$WORK/clock FAKETIME_NO_CACHE=1 \
    FAKETIME_DONT_FAKE_MONOTONIC=1 "$@" >>"$out" 2>>"$err" &
  LAST_PID=$!
  RUNNING[$LAST_PID]=$name
  echo "started $name pid $LAST_PID"
}

wait_ready() {  # FILE REGEX PID LOG: until FILE has a line matching REGEX (10 s)
  local i
  for ((i = 0; i < 200; i++)); do
    if grep -q -- "$2" "$1" 2>/dev/null; then return 0; fi
    if ! alive "$3"; then echo "pid $3 ended before READY; its log:" >&2; cat "$4" >&2; exit 3; fi
    sleep 0.05
  done
  echo "no READY from pid $3 within 10 s; its log:" >&2; cat "$4" >&2; exit 3
}

fake_date() { date -u -d "@$(($1 / 1000))" '+%Y-%m-%d %H:%M:%S'; }  # MS: as libfaketime reads it

forward_only() {  # MS: the clock never goes back
  if [ "$1" -lt "$FAKE_NOW_MS" ]; then
    echo "ERROR: the clock only moves forward ($((FAKE_NOW_MS - $1)) ms earlier asked)" >&2; exit 3
  fi
}

sync_clock() {  # LABEL MS: every started node acknowledges MS (one gateway: itself)
  local k back=$NODE
  if [ "$NODE_COUNT" -eq 0 ]; then sync_one "$@"; return 0; fi
  for ((k = 1; k <= NODE_COUNT; k++)); do use_node "$k"; sync_one "$1 (node $k)" "$2"; done
  use_node "$back"
}

sync_one() {  # LABEL MS: until the gateway's /_sim/time reaches MS (whole seconds; 5 s)
  local target=$(($2 / 1000 * 1000)) now i
  for ((i = 0; i < 500; i++)); do
    now=$(curl -s --noproxy '*' -K "$WORK/admin.curlrc" "$ADMIN/_sim/time" |
      sed -n 's/.*"time_ms":\([0-9]*\).*/\1/p') || true
    if [ "${now:-0}" -ge "$target" ]; then
      echo "$1: clock at $(fake_date "$2"); the gateway says $(fake_date "$now")"
      return 0
    fi
    sleep 0.01
  done
  echo "ERROR: $1: the gateway did not reach $(fake_date "$2") within 5 s" >&2; exit 3
}

requests() {  # BACKEND: request events in its report so far
  local n
  n=$(grep -c '"event":"request"' "$WORK/backends/$1.jsonl" 2>/dev/null) || true
  echo "${n:-0}"
}

fault_code() {  # FILE: the fault code of a JSON ({"code":"101500"}) or XML (:code>) body
  sed -n -e 's/.*"code":"\{0,1\}\([^",}]*\).*/\1/p' -e 's/.*<[^/>]*:code>\([^<]*\)<.*/\1/p' \
    "$1" 2>/dev/null | sed -n 1p || true  # no body file: the call got no answer
}

last_client_cert() {  # BACKEND: SHA-256 of the client certificate of its last request
  { grep '"event":"request"' "$WORK/backends/$1.jsonl" 2>/dev/null || true; } | tail -n 1 |
    sed -n 's/.*"client_cert":{[^}]*"sha256":"\([0-9a-f]*\)".*/\1/p'
}

cert_sha256() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }

mismatch() {  # LABEL FILE WHAT...: one MISMATCH line per WHAT, then the body's start
  local label=$1 file=$2 what
  shift 2
  for what in "$@"; do
    echo "MISMATCH $label: $what"
    MISMATCHES=$((MISMATCHES + 1))
  done
  if [ $# -gt 0 ] && [ -s "$file" ]; then echo "  body: $(head -c 300 "$file")"; fi
}

# check_call LABEL EXPECTED STATUS STEPFILE BACKEND BEFORE [EXPECTATION]...
# EXPECTATION: status=N fault_code=C contains=S excludes=S header='Name: value'
# tls_failure=CLASS reached=yes|no client_cert=PKI|none log=S. Prints what the call
# got next to EXPECTED and a MISMATCH line per expectation that does not hold;
# QUIET=1 prints nothing. STEP_OK is 1 when every expectation held.
check_call() {
  local label=$1 expected=$2 status=$3 f=$4 backend=$5 before=$6 e k v
  shift 6
  local reached=no code seen want alert=no bad=()
  if [ "$(requests "$backend")" -gt "$before" ]; then reached=yes; fi
  code=$(fault_code "$f.body")
  for e in "$@"; do if [ "$e" = tls_failure=tls-alert ]; then alert=yes; fi; done
  if [ "$status" = 000 ] && [ $alert = no ]; then
    bad+=("the call failed: no HTTP answer")
  elif [ "$status" != 000 ]; then
    for e in "$@"; do
      k=${e%%=*} v=${e#*=}
      case $k in
      status) if [ "$status" != "$v" ]; then bad+=("expected status $v, got $status"); fi ;;
      fault_code) if [ "$code" != "$v" ]; then bad+=("expected fault code $v, got \"$code\""); fi ;;
      contains) if ! grep -qF -- "$v" "$f.body"; then bad+=("expected the body to contain \"$v\""); fi ;;
      excludes) if grep -qF -- "$v" "$f.body"; then bad+=("expected the body not to contain \"$v\""); fi ;;
      header) if ! tr -d '\r' <"$f.headers" | grep -qixF -- "$v"; then bad+=("expected header $v"); fi ;;
      tls_failure)
        case $v:$status:$reached in
        tls-alert:*) ;;
        http-4xx:4??:* | http-5xx:5??:* | backend-not-reached:*:no) ;;
        *) bad+=("expected failure class $v, got status $status (backend reached: $reached)") ;;
        esac ;;
      reached) if [ "$reached" != "$v" ]; then bad+=("expected backend reached: $v, got $reached"); fi ;;
      client_cert)
        seen=$(last_client_cert "$backend") want=''
        if [ "$v" != none ]; then want=$(cert_sha256 "pki/$v.pem"); fi
        if [ $reached = no ] || [ "$seen" != "$want" ]; then
          bad+=("expected the backend to see client certificate $v ($want), it saw ${seen:-none} (reached: $reached)")
        fi ;;
      log) if ! grep -qF -- "$v" "$WORK/gateway.log"; then bad+=("expected the gateway log to contain \"$v\""); fi ;;
      esac
    done
  fi
  STEP_OK=1
  # shellcheck disable=SC2034 # STEP_OK: read by the steps (within: passes in a row)
  if [ ${#bad[@]} -gt 0 ]; then STEP_OK=0; fi
  if [ "${QUIET:-0}" = 1 ]; then return 0; fi
  echo "$label: got status $status, fault code ${code:-none}, backend reached: $reached"
  echo "  expected: $expected"
  mismatch "$label" "$f.body" "${bad[@]}"
}

# ---- the sap profiles: SAP's OData service, as the sim driver drives it -------
# An endpoint certificate is an entry, named by its alias, of one trust store
# per case (a deep insert makes it with the first), and the endpoint's
# host:port gets an API provider verified against it; a bearer token from
# /oauth/token (sap.auth: a header line curl reads; a 401, after a restart,
# fetches a new one). Each prints the answer's status; the body is STEP.body.
SAP_ODATA=/apiportal/api/1.0/Management.svc SAP_STORE=gatecert-endpoints
sap_token() {
  local code
  if [ -s "$WORK/sap.auth" ]; then return 0; fi
  code=$(curl -s --noproxy '*' -K "$WORK/admin.curlrc" -o "$WORK/token.body" -w '%{http_code}' \
    --data grant_type=client_credentials "$ADMIN/oauth/token") || true
  if [ "$code" != 200 ] || ! grep -q '"access_token"' "$WORK/token.body"; then
    echo "ERROR: POST /oauth/token answered $code" >&2; exit 3
  fi
  sed -n 's/.*"access_token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/Authorization: Bearer \1/p' \
    "$WORK/token.body" >"$WORK/sap.auth"
}
odata() {  # STEP METHOD REL [DATA]: DATA is JSON or @FILE
  local step=$1 method=$2 rel=$3 code attempt
  local -a data=()
  if [ $# -ge 4 ]; then data=(-H 'Content-Type: application/json' --data-binary "$4"); fi
  for attempt in 1 2; do
    sap_token
    code=$(curl -s --noproxy '*' -K "$WORK/admin.curlrc" -H "@$WORK/sap.auth" -X "$method" \
      -o "$step.body" -w '%{http_code}' "${data[@]}" "$ADMIN$SAP_ODATA/$rel") || true
    if [ "$code" != 401 ] || [ $attempt = 2 ]; then break; fi
    rm -f "$WORK/sap.auth"
  done
  echo "$code"
}
sap_key() {  # ALIAS: Certificates(name='ALIAS',storeName='...'), a quote doubled, encoded
  local LC_ALL=C s=${1//\'/\'\'} out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in [A-Za-z0-9._~-]) out+=$c ;; *) printf -v c '%%%02X' "'$c"; out+=$c ;; esac
  done
  printf "Certificates(name='%s',storeName='%s')" "$out" "$SAP_STORE"
}
sap_json_str() {  # TEXT: a JSON string literal
  local LC_ALL=C s=$1 out='' c i
  s=${s//\\/\\\\} && s=${s//\"/\\\"}
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    if [[ $c == [[:cntrl:]] ]]; then printf -v c '\\u%04x' "'$c"; fi
    out+=$c
  done
  printf '"%s"' "$out"
}
sap_cert_json() {  # OUT FILE ALIAS ENDPOINT PREFIX SUFFIX [PASSWORD]: a certificate entity
  {
    printf '%s{"name":%s,"content":"' "$5" "$(sap_json_str "$3")"
    base64 -w0 "$2"
    printf '"'
    if [ -n "$4" ]; then printf ',"description":%s' "$(sap_json_str "$4")"; fi
    if [ -n "${7:-}" ]; then printf ',"password":%s' "$(sap_json_str "$7")"; fi
    printf '}%s' "$6"
  } >"$1"
}
sap_upload() {  # STEP ALIAS ENDPOINT FILE
  local code rel=CertificateStores pre="{\"name\":\"$SAP_STORE\",\"storeType\":\"TRUSTSTORE\",\"certificates\":[" post=']}'
  local host port name
  if [ -f "$WORK/sap.store" ]; then rel="CertificateStores('$SAP_STORE')/certificates" pre='' post=''; fi
  sap_cert_json "$1.json" "$4" "$2" "$3" "$pre" "$post"
  code=$(odata "$1" POST "$rel" "@$1.json")
  if [ "$code" = 200 ] || [ "$code" = 201 ]; then
    : >"$WORK/sap.store"
    [[ $3 =~ ^[A-Za-z][A-Za-z0-9+.-]*://(\[[^]/]*\]|[^]/:?#[]+)(:([0-9]+))? ]] ||
      { echo "ERROR: the endpoint $3 has no host and port" >&2; exit 3; }
    host=${BASH_REMATCH[1]} port=${BASH_REMATCH[3]:-443}
    name="gatecert_${host}_$((10#$port))" && name=${name//[^A-Za-z0-9]/_}
    if [ ! -f "$WORK/provider-$name" ]; then
      local p
      p=$(odata "$1.provider" POST APIProviders "{\"name\":\"$name\",\"destType\":\"INTERNET\",\"host\":$(sap_json_str "$host"),\"port\":$((10#$port)),\"useSSL\":true,\"trustAll\":false,\"sslInfo\":{\"enabled\":true,\"clientAuthEnabled\":false,\"trustStore\":\"$SAP_STORE\"}}")
      if [ "$p" != 201 ] && [ "$p" != 409 ]; then
        echo "ERROR: creating the API provider $name: $p $(head -c 200 "$1.provider.body")" >&2; exit 3
      fi
      : >"$WORK/provider-$name"
    fi
  fi
  echo "$code"
}
sap_replace() {  # STEP ALIAS FILE: SAP has no update call: the entry is read first (its 404)
  local code
  code=$(odata "$1" GET "$(sap_key "$2")")
  if [ "$code" = 200 ]; then
    sap_cert_json "$1.json" "$3" "$2" '' '' ''
    code=$(odata "$1" POST "CertificateStores('$SAP_STORE')/certificates" "@$1.json")
  fi
  echo "$code"
}
sap_delete() { odata "$1" DELETE "$(sap_key "$2")"; }  # STEP ALIAS
# The sap_* steps. Store and reference names are scenario names ([A-Za-z0-9._-]).
sap_store_cert() {  # STEP NAME STORE FILE TYPE PASSWORD-FILE|'': the store's first entry makes it
  local code rel=CertificateStores pre="{\"name\":\"$3\",\"storeType\":\"$5\",\"certificates\":[" post=']}'
  if [ -f "$WORK/sap-store-$3" ]; then rel="CertificateStores('$3')/certificates" pre='' post=''; fi
  sap_cert_json "$1.json" "$4" "$2" '' "$pre" "$post" "$([ -z "$6" ] || head -n 1 "$6")"
  code=$(odata "$1" POST "$rel" "@$1.json")
  if [ "$code" = 200 ] || [ "$code" = 201 ]; then : >"$WORK/sap-store-$3"; fi
  echo "$code"
}
sap_reference() {  # STEP NAME STORE: made, or repointed when this script made it
  local code
  if [ -f "$WORK/sap-ref-$2" ]; then
    odata "$1" PUT "CertificateStoreReferences('$2')" "{\"name\":\"$2\",\"certificateStoreName\":\"$3\"}"
    return
  fi
  code=$(odata "$1" POST CertificateStoreReferences "{\"name\":\"$2\",\"certificateStoreName\":\"$3\"}")
  if [ "$code" = 201 ]; then : >"$WORK/sap-ref-$2"; fi
  echo "$code"
}
sap_provider() {  # STEP NAME ENDPOINT TRUST-STORE
  local host port
  [[ $3 =~ ^[A-Za-z][A-Za-z0-9+.-]*://(\[[^]/]*\]|[^]/:?#[]+)(:([0-9]+))? ]] ||
    { echo "ERROR: the endpoint $3 has no host and port" >&2; exit 3; }
  host=${BASH_REMATCH[1]} port=${BASH_REMATCH[3]:-443}
  odata "$1" POST APIProviders "{\"name\":$(sap_json_str "$2"),\"destType\":\"INTERNET\",\"host\":$(sap_json_str "$host"),\"port\":$((10#$port)),\"useSSL\":true,\"trustAll\":false,\"sslInfo\":{\"enabled\":true,\"clientAuthEnabled\":false,\"trustStore\":$(sap_json_str "$4")}}"
}

# check_admin LABEL EXPECTED STATUS STEPFILE [EXPECTATION]...
# EXPECTATION: status=N|2xx message=S contains=S (searched in the answer's body).
check_admin() {
  local label=$1 expected=$2 status=$3 f=$4 e k v bad=()
  shift 4
  for e in "$@"; do
    k=${e%%=*} v=${e#*=}
    case $k:$v in
    status:2xx) if [[ $status != 2?? ]]; then bad+=("expected a 2xx status, got $status"); fi ;;
    status:*) if [ "$status" != "$v" ]; then bad+=("expected status $v, got $status"); fi ;;
    message:* | contains:*)
      if ! grep -qF -- "$v" "$f.body"; then bad+=("expected the answer to contain \"$v\""); fi ;;
    esac
  done
  echo "$label: got status $status"
  echo "  expected: $expected"
  mismatch "$label" "$f.body" "${bad[@]}"
}

pause() {  # LABEL: with STEP=1, wait for Enter
  if [ "$STEP" = 1 ]; then read -r -p "next: $1 [Enter] " </dev/tty || true; fi
}

read_backend_ports() {  # after the backends' start: PORT[name] from their READY lines
  BACKEND_PID=$LAST_PID
  wait_ready "$WORK/backends.out" '^READY-ALL ' "$BACKEND_PID" "$WORK/backends.log"
  local word name addr
  while read -r word name addr; do  # READY <name> https=127.0.0.1:<port>
    if [ "$word" = READY ]; then PORT[$name]=${addr##*:}; fi
  done <"$WORK/backends.out"
  for name in "${!PORT[@]}"; do echo "backend $name: https://localhost:${PORT[$name]}"; done
}

# The admin password is made at run time and kept in 0600 files: never in the
# script, and never on a command line (curl reads it from admin.curlrc with -K).
make_admin_password() {
  local password
  password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" >"$WORK/sim-admin.password"
  printf 'user = "gatecert:%s"\n' "$password" >"$WORK/admin.curlrc"
}

start_gateway() {  # also after restart_gateway: sets SIM_PID HTTPS_PORT ADMIN STARTED_MS
  start_faked gatecert-sim "$WORK/sim.out" "$WORK/gateway.log" "$SIM_BIN" --state "$WORK/sim-state" \
    --admin-user gatecert --admin-password-file "$WORK/sim-admin.password" \
    --profile "$PROFILE" --config "$WORK/sim-config.json" "${SIM_ARGS[@]}" \
    "${SIM_EXTRA_ARGS[@]}"
  SIM_PID=$LAST_PID
  wait_ready "$WORK/sim.out" '^READY gatecert-sim ' "$SIM_PID" "$WORK/gateway.log"
  HTTPS_PORT=$(sed -n 's/.* https=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/sim.out")
  ADMIN=http://127.0.0.1:$(sed -n 's/.* admin=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/sim.out")
  # advance_to counts from here: the gateway's start on the fake clock
  STARTED_MS=$(curl -s --noproxy '*' -K "$WORK/admin.curlrc" "$ADMIN/_sim/status" |
    sed -n 's/.*"started_ms":\([0-9]*\).*/\1/p')
  echo "gatecert-sim: https://localhost:$HTTPS_PORT, admin $ADMIN, started at $(fake_date "$STARTED_MS") (fake)"
}

# ---- clusters (gateway.nodes): one gatecert-sim per node on one --state ---------
declare -A NODE_PID=() NODE_HTTPS=() NODE_ADMIN=()
# shellcheck disable=SC2034 # BALANCER_TURN: read by the sweeps below this file
NODE_COUNT=0 NODE=0 BALANCER_TURN=0
start_node() {  # K: node K (--node K, the store shared), then addressed; node 1 sets STARTED_MS
  local k=$1 started
  start_faked "gatecert-sim node $k" "$WORK/sim-node$k.out" "$WORK/gateway-node$k.log" "$SIM_BIN" \
    --state "$WORK/sim-state" --node "$k" \
    --admin-user gatecert --admin-password-file "$WORK/sim-admin.password" \
    --profile "$PROFILE" --config "$WORK/sim-config.json" "${SIM_ARGS[@]}" \
    "${SIM_EXTRA_ARGS[@]}"
  NODE_PID[$k]=$LAST_PID
  wait_ready "$WORK/sim-node$k.out" '^READY gatecert-sim ' "$LAST_PID" "$WORK/gateway-node$k.log"
  NODE_HTTPS[$k]=$(sed -n 's/.* https=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/sim-node$k.out")
  NODE_ADMIN[$k]=http://127.0.0.1:$(sed -n 's/.* admin=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/sim-node$k.out")
  if [ "$k" -gt "$NODE_COUNT" ]; then NODE_COUNT=$k; fi
  use_node "$k"
  started=$(curl -s --noproxy '*' -K "$WORK/admin.curlrc" "$ADMIN/_sim/status" |
    sed -n 's/.*"started_ms":\([0-9]*\).*/\1/p')
  if [ "$k" = 1 ]; then STARTED_MS=$started; fi  # advance_to counts from node 1's start
  echo "node $k: https://localhost:$HTTPS_PORT, admin $ADMIN, started at $(fake_date "$started") (fake)"
}

use_node() {  # K: the node the next calls and admin calls go to
  NODE=$1 SIM_PID=${NODE_PID[$1]} HTTPS_PORT=${NODE_HTTPS[$1]} ADMIN=${NODE_ADMIN[$1]}
}

# check_flap LABEL AT_MS FROM_MS UNTIL_MS BEFORE AFTER "BETWEEN..." NODE:STATUS...: the
# answers through the balancer at one time of a sweep against expect_flapping
check_flap() {
  local label=$1 at=$2 from=$3 until=$4 before=$5 after=$6 between=$7 a b ok=1 want
  shift 7
  if [ "$at" -lt "$from" ]; then want="every answer $before (before the window)"
  elif [ "$at" -ge "$until" ]; then want="every answer $after (after the window)"
  else want="the answers to flap between ${between// / and }"; fi
  for a in "$@"; do
    if [ "$at" -lt "$from" ]; then [ "${a#*:}" = "$before" ] || ok=0
    elif [ "$at" -ge "$until" ]; then [ "${a#*:}" = "$after" ] || ok=0
    else case " $between " in *" ${a#*:} "*) ;; *) ok=0 ;; esac; fi
  done
  if [ "$at" -ge "$from" ] && [ "$at" -lt "$until" ]; then
    for b in $between; do case " $* " in *":$b "*) ;; *) ok=0 ;; esac; done
  fi
  echo "$label: at $((at / 1000)) s after node 1 started, through the balancer: $*"
  if [ $ok = 0 ]; then
    echo "MISMATCH $label: at $((at / 1000)) s expected $want; got $*"
    MISMATCHES=$((MISMATCHES + 1))
  fi
}

report_result() {  # the last line: 0 when every expectation held, else 1
  if [ "$MISMATCHES" -eq 0 ]; then
    echo "RESULT: every expectation held"
  else
    echo "RESULT: $MISMATCHES mismatch(es); gateway log: $WORK/gateway.log (KEEP_WORK=1 keeps it)"
    exit 1
  fi
}

# ---- work directory and fake clock ---------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatecert-repro.XXXXXX")
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap 'echo "ERROR: line $LINENO: a command failed (exit $?)" >&2; exit 3' ERR
cd "$WORK"
mkdir pki backends
echo "work directory: $WORK"
# libfaketime's timestamp file: "@YYYY-MM-DD HH:MM:SS", the clock runs on from there;
# always replaced whole (temp file + mv): a half-written file stops the programs.
FAKE_NOW_MS=$((EPOCH_S * 1000))
echo "@$(fake_date "$FAKE_NOW_MS")" >"$WORK/clock.tmp" && mv -f "$WORK/clock.tmp" "$WORK/clock"

