#!/usr/bin/env bash
# exec-driver-sim.sh - the reference gatecert-exec/2 program: gatecert-sim
# driven through its admin API with nothing but bash, curl and coreutils.
#
#   GATECERT_SIM_BIN=build/simulator/gatecert-sim \
#     gatecert run --driver exec:scripts/exec-driver-sim.sh --scenarios scenarios
#
# gatecert runs it once per operation, `exec-driver-sim.sh VERB [ARG]...`; the
# protocol (verbs, answers, exit 89 = unsupported, environment) is in
# harness/drivers/EXEC.md. It proves a vendor can plug a gateway in without C:
# what it does for gatecert-sim, a script of the same shape does for any
# gateway with an admin API.
#
# GATECERT_SIM_BIN names gatecert-sim (default: build/simulator/gatecert-sim in
# this repository; installed in share/gatecert/drivers/, the bin/gatecert-sim
# beside it). State between invocations lives in $GATECERT_EXEC_DIR:
#   admin.password, netrc    the random admin password (0600): curl reads the
#                            netrc, so the password is never in a command line
#   sim-config.json          the harness's start config, passed to --config
#   settings.json            the protocol-2 start settings (the identity the
#                            gateway presents to a load balancer in front)
#   sim.pid, watchdog.pid    "PID STARTTIME" of what we started: stopped by
#                            that pid (checked against /proc), never by name
#   admin.port, https.port   from gatecert-sim's READY line
#   apis/api-<hex of name>   API name -> id, for delete-api and client certificates
#   apps/app-<hex of name>   application name -> id, once its keys are mapped
#   sim-state/, gateway.log  gatecert-sim's store and its log (stderr)
#   reply.body               the last admin answer (body_file=, or inline)
#   sap.auth                 sap profiles: "Authorization: Bearer <token>", a
#                            header line curl reads from the file (0600)
#   sap.store, providers/    sap profiles: the trust store exists; the API
#                            providers made, one file per host:port
#   odata.json               sap profiles: the last OData request body
#   sap-store-*, sap-ref-*   sap profiles: the stores and references the
#                            sap_* steps made
#   control.body             the last /_sim/ answer
# gatecert-sim runs in its own session (setsid) under the case's fake clock; a
# watchdog in another session stops it if the harness process that owns the
# case (GATECERT_EXEC_OWNER_PID) disappears without calling stop.
set -euo pipefail
umask 077

readonly NAME=gatecert-sim-curl VERSION=2.0.0 ADMIN_USER=gatecert
# Everything gatecert-sim does, so every capability gatecert knows but
# per-api-backend-tls (WSO2 has no such thing: gatecert-sim neither).
caps=runtime-backend-trust,deferred-reload-schedule,backend-mtls,hostname-verifier
caps+=,admin-validation,off-schedule-reload,restart-keeps-state,fault-codes,xml-faults
caps+=,base-trust-store,client-mtls,oauth2,header-mode,header-cert-decode,auth-fault-codes
caps+=,throttling,listener-reload-schedule,lb-in-front,fake-clock,quirks,sap-objects
readonly CAPABILITIES=$caps
readonly APIS=/api/am/publisher/v4/apis
# Certificates live where the profile's Publisher API has them (gatecert-sim's
# rule rest-paths): WSO2 2.6's v0.14 /certificates and /clientCertificates
# (apiId in the form, the alias alone naming a client certificate), else v4.
if [[ ${GATECERT_EXEC_PROFILE:-wso2-4} == wso2-2.6 ]]; then
  readonly CERTS=/api/am/publisher/v0.14/certificates
  readonly CLIENT_CERTS=/api/am/publisher/v0.14/clientCertificates
else
  readonly CERTS=/api/am/publisher/v4/endpoint-certificates CLIENT_CERTS=
fi
# Under the sap profiles an endpoint certificate goes through SAP's OData
# service instead, as the sim driver does (harness/drivers/sim.c): an entry,
# named by its alias, of one trust store per case (made by a deep insert with
# the first), and an API provider per endpoint host:port verified against it;
# a bearer token from /oauth/token. Client certificates keep the v4 paths.
case ${GATECERT_EXEC_PROFILE:-wso2-4} in
sap | sap-*) readonly ODATA=/apiportal/api/1.0/Management.svc ;;
*) readonly ODATA= ;;
esac
readonly SAP_STORE=gatecert-endpoints
readonly KEY_MANAGERS=/api/am/admin/v4/key-managers APPS=/api/am/devportal/v3/applications
readonly SUBSCRIPTIONS=/api/am/devportal/v3/subscriptions

die() {
  printf 'exec-driver-sim: %s\n' "$*" >&2
  exit 1
}

sim_bin() {
  local bin=${GATECERT_SIM_BIN:-$(dirname -- "$0")/../build/simulator/gatecert-sim}
  # installed (share/gatecert/drivers/): the gatecert-sim of the same bin/
  [[ -n ${GATECERT_SIM_BIN:-} || -x $bin ]] || bin=$(dirname -- "$0")/../../../bin/gatecert-sim
  [[ -x $bin && -f $bin ]] || die "gatecert-sim not found at $bin (set GATECERT_SIM_BIN)"
  printf '%s\n' "$bin"
}

# ---- text ----------------------------------------------------------------------

# A JSON string literal for $1.
json_str() {
  local LC_ALL=C s=$1 out='' c i
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  if [[ $s == *[[:cntrl:]]* ]]; then
    for ((i = 0; i < ${#s}; i++)); do
      c=${s:i:1}
      if [[ $c == [[:cntrl:]] ]]; then
        printf -v c '\\u%04x' "'$c"
      fi
      out+=$c
    done
    s=$out
  fi
  printf '"%s"' "$s"
}

# $1 percent-encoded for a URL path segment (all but ALPHA DIGIT - . _ ~).
urlencode() {
  local LC_ALL=C s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
    [A-Za-z0-9._~-]) out+=$c ;;
    *)
      printf -v c '%%%02X' "'$c"
      out+=$c
      ;;
    esac
  done
  printf '%s' "$out"
}

# $1 in hexadecimal (a file name for any API name).
hex() {
  local LC_ALL=C s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    printf -v c '%02x' "'${s:i:1}"
    out+=$c
  done
  printf '%s' "$out"
}

# ---- processes ------------------------------------------------------------------

# "STATE STARTTIME" of pid $1 from /proc/PID/stat, or nothing.
proc_info() {
  local stat fields
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
  read -ra fields <<<"${stat##*) }"
  printf '%s %s\n' "${fields[0]}" "${fields[19]}"
}

# 0 while pid $1 runs (a zombie does not).
running() {
  local state start
  read -r state start <<<"$(proc_info "$1")"
  [[ -n $state && $state != Z ]]
}

# 0 while pid $1 runs and is still the process that started at $2.
alive() {
  local state start
  read -r state start <<<"$(proc_info "$1")"
  [[ -n $state && $state != Z && $start == "$2" ]]
}

# Records "PID STARTTIME" of pid $2 in file $1.
record() {
  local state start
  read -r state start <<<"$(proc_info "$2")"
  [[ -n $start ]] || die "process $2 ended at once"
  printf '%s %s\n' "$2" "$start" >"$1"
}

# Stops the process group led by the process recorded in file $1 (SIGTERM,
# 3 s, SIGKILL), if that process is still the one we started. 1 when it had
# to be killed.
stop_recorded() {
  local file=$1 pid start i
  [[ -f $file ]] || return 0
  read -r pid start <"$file" || true
  rm -f -- "$file"
  if [[ ! $pid =~ ^[0-9]+$ ]] || ! alive "$pid" "$start"; then
    return 0 # gone, or its pid now belongs to another process
  fi
  kill -TERM -- "-$pid" 2>/dev/null || return 0
  for ((i = 0; i < 300; i++)); do
    alive "$pid" "$start" || return 0
    sleep 0.01
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f -- "/dev/shm/faketime_shm_$pid" "/dev/shm/sem.faketime_sem_$pid"
  return 1
}

# ---- admin calls ------------------------------------------------------------------

# curl to the admin listener: BODY_FILE METHOD PATH [CURL ARGS...]; the
# answer's body goes to BODY_FILE, its HTTP status to stdout.
request() {
  local body=$1 method=$2 path=$3 port code
  shift 3
  port=$(<"$dir/admin.port")
  : >"$body"
  local -a how=()
  [[ $method == GET ]] || how=(--request "$method")
  code=$(curl --silent --show-error --noproxy '*' --max-time 10 --netrc-file "$dir/netrc" \
    --header 'Expect:' "${how[@]}" --output "$body" --write-out '%{http_code}' \
    "$@" "http://127.0.0.1:$port$path") || die "$method $path: curl failed"
  [[ $code =~ ^[1-5][0-9][0-9]$ ]] || die "$method $path: no HTTP answer"
  printf '%s\n' "$code"
}

# An admin verb's answer: status= and body_file=.
admin() {
  local code
  code=$(request "$dir/reply.body" "$@")
  printf 'status=%s\nbody_file=%s\n' "$code" "$dir/reply.body"
}

# The same with the body inline, after a blank line (both forms are the
# protocol's; upload-cert uses this one, whose bodies the scenarios check).
admin_inline() {
  local code
  code=$(request "$dir/reply.body" "$@")
  printf 'status=%s\n\n' "$code"
  cat -- "$dir/reply.body"
}

# A /_sim/ call that must answer 200; its body on stdout.
sim_call() {
  local code
  code=$(request "$dir/control.body" "$@")
  [[ $code == 200 ]] || die "$1 $2 answered $code: $(head -c 300 "$dir/control.body")"
  cat -- "$dir/control.body"
}

# ---- the gateway --------------------------------------------------------------------

# Starts gatecert-sim with the saved config; prints https_port= and start_ms=.
launch() {
  local bin pid line deadline status
  bin=$(sim_bin)
  local -a args=(--state "$dir/sim-state" --admin-user "$ADMIN_USER"
    --admin-password-file "$dir/admin.password" --profile "${GATECERT_EXEC_PROFILE:-wso2}"
    --config "$dir/sim-config.json")
  if [[ -n ${GATECERT_EXEC_TRUST_STORE:-} ]]; then
    args+=(--trust "$GATECERT_EXEC_TRUST_STORE")
  fi
  # a load balancer in front verifies the gateway against this identity
  local settings=''
  [[ -f $dir/settings.json ]] && settings=$(<"$dir/settings.json")
  if [[ $settings =~ \"server_identity\":\ *\{[^}]*\"cert\":\ *\"([^\"]*)\"[^}]*\"key\":\ *\"([^\"]*)\" ]]; then
    args+=(--server-cert "${BASH_REMATCH[1]}" --server-key "${BASH_REMATCH[2]}")
  fi
  : >"$dir/sim.out"
  # setsid and env exec in place: $! is gatecert-sim, leader of a new session,
  # and only gatecert-sim runs with libfaketime preloaded.
  setsid env LD_PRELOAD="$GATECERT_EXEC_FAKETIME_LIB" \
    FAKETIME_TIMESTAMP_FILE="$GATECERT_EXEC_CLOCK_FILE" FAKETIME_NO_CACHE=1 \
    FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=UTC \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    "$bin" "${args[@]}" </dev/null >"$dir/sim.out" 2>>"$dir/gateway.log" &
  pid=$!
  record "$dir/sim.pid" "$pid"
  deadline=$((SECONDS + 10))
  until IFS= read -r line <"$dir/sim.out" && [[ $line == READY* ]]; do
    if ! running "$pid"; then
      die "gatecert-sim exited before READY: $(tail -c 600 "$dir/gateway.log")"
    fi
    ((SECONDS < deadline)) || die "gatecert-sim printed no READY line within 10 s"
    sleep 0.01
  done
  [[ $line =~ https=127\.0\.0\.1:([0-9]+) ]] || die "READY line without https=: $line"
  printf '%s\n' "${BASH_REMATCH[1]}" >"$dir/https.port"
  [[ $line =~ admin=127\.0\.0\.1:([0-9]+) ]] || die "READY line without admin=: $line"
  printf '%s\n' "${BASH_REMATCH[1]}" >"$dir/admin.port"
  if [[ -n ${GATECERT_EXEC_OWNER_PID:-} ]]; then
    # shellcheck disable=SC2016 # $1 and $2 are the inner script's arguments
    setsid bash -c 'while kill -0 "$2" 2>/dev/null; do
                      if ! kill -0 "$1" 2>/dev/null; then kill -TERM "$2"; exit 0; fi
                      sleep 1
                    done' "exec-driver-sim-watchdog:$dir" "$GATECERT_EXEC_OWNER_PID" "$pid" \
      </dev/null >/dev/null 2>&1 &
    record "$dir/watchdog.pid" "$!"
  fi
  status=$(sim_call GET /_sim/status)
  [[ $status =~ \"started_ms\":\ *([0-9]+) ]] || die "/_sim/status without started_ms"
  printf 'https_port=%s\nstart_ms=%s\nclock_ms=%s\n' "$(<"$dir/https.port")" \
    "${BASH_REMATCH[1]}" "$(sim_now)"
}

# gatecert-sim's clock now (ms), from /_sim/time: the harness's clock check.
sim_now() {
  local body
  body=$(sim_call GET /_sim/time)
  [[ $body =~ \"time_ms\":\ *([0-9]+) ]] || die "/_sim/time without time_ms"
  printf '%s\n' "${BASH_REMATCH[1]}"
}

# Stops gatecert-sim (and the watchdog); fails when it had to be killed.
halt() {
  stop_recorded "$dir/watchdog.pid" || true
  stop_recorded "$dir/sim.pid" || die "gatecert-sim did not stop on SIGTERM within 3 s (killed)"
}

# ---- verbs --------------------------------------------------------------------------

verb_hello() {
  sim_bin >/dev/null
  printf 'protocol=gatecert-exec/2\nname=%s\nversion=%s\ncapabilities=%s\n' \
    "$NAME" "$VERSION" "$CAPABILITIES"
  # gatecert-sim's answers (WSO2's): the handshake refused, 401, 500 101500
  printf 'reject=client-cert tls-alert\nreject=unauthenticated 401\n'
  printf 'reject=backend-tls 500 101500\n'
}

verb_start() {
  local config=${1:?start CONFIG.json SETTINGS.json} settings=${2:?start CONFIG.json SETTINGS.json}
  local password
  [[ -f $config ]] || die "start: no config file $config"
  [[ -f $settings ]] || die "start: no settings file $settings"
  halt
  cp -- "$config" "$dir/sim-config.json"
  cp -- "$settings" "$dir/settings.json"
  password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" >"$dir/admin.password"
  printf 'machine 127.0.0.1 login %s password %s\n' "$ADMIN_USER" "$password" >"$dir/netrc"
  mkdir -p -- "$dir/apis"
  launch
}

verb_clock_sync() {
  local want=${1:?clock-sync MS} target now=0 body deadline
  [[ $want =~ ^[0-9]+$ ]] || die "clock-sync: $want is not ms"
  target=$((want / 1000 * 1000)) # the clock file holds whole seconds
  deadline=$((SECONDS + 6))
  while :; do
    body=$(sim_call GET /_sim/time)
    [[ $body =~ \"time_ms\":\ *([0-9]+) ]] && now=${BASH_REMATCH[1]}
    if ((now >= target)); then
      printf 'clock_ms=%s\n' "$now"
      return 0
    fi
    ((SECONDS < deadline)) || die "gatecert-sim did not reach $want ms within 5 s (at $now)"
    sleep 0.002
  done
}

verb_create_api() {
  (($# >= 4)) || die "create-api NAME CONTEXT VERSION URL [--default-version] [--security=S]..."
  local name=$1 context=$2 version=$3 url=$4 default=false opt security='' json answer id
  shift 4
  for opt; do
    case $opt in
    --default-version) default=true ;;
    --security=*) security+=${security:+,}$(json_str "${opt#--security=}") ;;
    *) die "create-api: unknown option $opt" ;;
    esac
  done
  json="{\"name\":$(json_str "$name"),\"context\":$(json_str "$context"),"
  json+="\"version\":$(json_str "$version"),"
  json+="\"endpointConfig\":{\"production_endpoints\":{\"url\":$(json_str "$url")}},"
  # no --security: an unsecured API (every resource authType None)
  local ops='' verb
  if [[ -z $security ]]; then
    for verb in GET POST PUT DELETE PATCH HEAD OPTIONS; do
      ops+=${ops:+,}"{\"target\":\"/*\",\"verb\":\"$verb\",\"authType\":\"None\"}"
    done
  fi
  json+="\"securityScheme\":[$security],\"isDefaultVersion\":$default,\"operations\":[$ops]}"
  answer=$(admin POST "$APIS" --header 'Content-Type: application/json' --data-binary "$json")
  printf '%s\n' "$answer"
  if [[ $answer == status=201* ]]; then
    read -r id <"$dir/reply.body" || true
    [[ $id =~ ^\{\"id\":\ *\"([^\"]*)\" ]] || die "create-api: 201 without an id"
    printf '%s\n' "${BASH_REMATCH[1]}" >"$dir/apis/api-$(hex "$name")"
  fi
}

verb_delete_api() {
  local name=${1?delete-api NAME} map id=unknown-api
  map="$dir/apis/api-$(hex "$name")"
  [[ -s $map ]] && id=$(<"$map")
  admin DELETE "$APIS/$(urlencode "$id")"
}

# WSO2 4.x's deploy-revision, one deployment to the default gateway.
verb_redeploy_api() {
  local name=${1?redeploy-api NAME} map id=unknown-api
  map="$dir/apis/api-$(hex "$name")"
  [[ -s $map ]] && id=$(<"$map")
  admin POST "$APIS/$(urlencode "$id")/deploy-revision" --header 'Content-Type: application/json' \
    --data-binary '[{"name":"Default","vhost":"localhost","displayOnDevportal":true}]'
}

# ANSWER METHOD PATH FILE [CURL ARGS...]: ANSWER (admin or admin_inline)
# with FILE as the multipart "certificate" part, named from its own directory
# (curl's -F syntax gives ; and , meanings).
cert_admin() {
  local answer=$1 method=$2 path=$3 file=$4 name
  shift 4
  [[ -f $file ]] || die "no certificate file $file"
  name=$(basename -- "$file")
  if [[ ! $name =~ ^[A-Za-z0-9._-]+$ ]]; then
    cp -- "$file" "$dir/upload.bin"
    file=$dir/upload.bin name=upload.bin
  fi
  cd -- "$(dirname -- "$file")"
  "$answer" "$method" "$path" --form "certificate=@$name;filename=certificate.crt" "$@"
}

# ---- the sap profiles: SAP's OData service ----------------------------------------

# The bearer token, fetched once (again after a 401) into $dir/sap.auth.
sap_token() {
  local code body
  [[ -s $dir/sap.auth ]] && return 0
  code=$(request "$dir/token.body" POST /oauth/token --data 'grant_type=client_credentials')
  body=$(<"$dir/token.body")
  [[ $code == 200 && $body =~ \"access_token\"[[:space:]]*:[[:space:]]*\"([^\"]+)\" ]] ||
    die "POST /oauth/token answered $code without an access_token"
  printf 'Authorization: Bearer %s\n' "${BASH_REMATCH[1]}" >"$dir/sap.auth"
}

# BODY_FILE METHOD REL [DATA]: one call under the service root with the token
# (DATA: JSON, or @FILE); its status on stdout. A 401 (a token the simulator
# forgot at a restart, or one expired on the fake clock) fetches a new one and
# tries once more.
odata_request() {
  local body=$1 method=$2 rel=$3 code attempt
  local -a data=()
  (($# < 4)) || data=(--header 'Content-Type: application/json' --data-binary "$4")
  for attempt in 1 2; do
    sap_token
    code=$(request "$body" "$method" "$ODATA/$rel" --header "@$dir/sap.auth" "${data[@]}")
    [[ $code == 401 && $attempt == 1 ]] || break
    rm -f -- "$dir/sap.auth"
  done
  printf '%s\n' "$code"
}

# Certificates(name='ALIAS',storeName='...'): an OData string literal (a quote
# doubled), percent-encoded.
sap_cert_key() {
  local quoted=${1//\'/\'\'}
  printf "Certificates(name='%s',storeName='%s')" "$(urlencode "$quoted")" "$SAP_STORE"
}

# FILE ALIAS ENDPOINT PREFIX SUFFIX [PASSWORD]: $dir/odata.json, a
# certificate entity (name, the file's bytes in base64, the endpoint as its
# description and the key store's password, each left out when empty) between
# PREFIX and SUFFIX.
sap_cert_json() {
  [[ -f $1 ]] || die "no certificate file $1"
  {
    printf '%s{"name":%s,"content":"' "$4" "$(json_str "$2")"
    base64 -w0 -- "$1"
    printf '"'
    [[ -z $3 ]] || printf ',"description":%s' "$(json_str "$3")"
    [[ -z ${6:-} ]] || printf ',"password":%s' "$(json_str "$6")"
    printf '}%s' "$5"
  } >"$dir/odata.json"
}

# The API provider of ENDPOINT's host:port, made once per case: TLS on,
# verified against the case's trust store (409: made before a restart).
sap_provider() {
  local endpoint=$1 host port name json code
  [[ $endpoint =~ ^[A-Za-z][A-Za-z0-9+.-]*://(\[[^]/]*\]|[^]/:?#[]+)(:([0-9]+))? ]] ||
    die "the endpoint $endpoint has no host and port"
  host=${BASH_REMATCH[1]} port=${BASH_REMATCH[3]}
  if [[ -z $port ]]; then
    port=80
    [[ ${endpoint,,} != https:* ]] || port=443
  fi
  port=$((10#$port))
  name="gatecert_${host}_$port"
  name=${name//[^A-Za-z0-9]/_}
  mkdir -p -- "$dir/providers"
  [[ ! -f $dir/providers/$name ]] || return 0
  json="{\"name\":\"$name\",\"destType\":\"INTERNET\",\"host\":$(json_str "$host"),"
  json+="\"port\":$port,\"useSSL\":true,\"trustAll\":false,\"sslInfo\":{\"enabled\":true,"
  json+="\"clientAuthEnabled\":false,\"trustStore\":\"$SAP_STORE\"}}"
  code=$(odata_request "$dir/provider.body" POST APIProviders "$json")
  [[ $code == 201 || $code == 409 ]] ||
    die "creating the API provider $name: $code $(head -c 200 "$dir/provider.body")"
  : >"$dir/providers/$name"
}

# An endpoint certificate: the trust store's entry (the deep insert makes the
# store with the first), then the provider; the answer is the certificate's.
sap_upload_cert() {
  local code rel=CertificateStores pre="{\"name\":\"$SAP_STORE\",\"storeType\":\"TRUSTSTORE\",\"certificates\":[" post=']}'
  if [[ -f $dir/sap.store ]]; then
    rel="CertificateStores('$SAP_STORE')/certificates" pre='' post=''
  fi
  sap_cert_json "$3" "$1" "$2" "$pre" "$post"
  code=$(odata_request "$dir/reply.body" POST "$rel" "@$dir/odata.json")
  if [[ $code == 200 || $code == 201 ]]; then
    : >"$dir/sap.store"
    sap_provider "$2"
  fi
  printf 'status=%s\n\n' "$code"
  cat -- "$dir/reply.body"
}

# SAP has no update call (an upload under a taken name overwrites it): the
# entry is read first, and a replacement of nothing answers that GET's 404.
sap_replace_cert() {
  local code
  code=$(odata_request "$dir/reply.body" GET "$(sap_cert_key "$1")")
  if [[ $code == 200 ]]; then
    sap_cert_json "$2" "$1" '' '' ''
    code=$(odata_request "$dir/reply.body" POST "CertificateStores('$SAP_STORE')/certificates" \
      "@$dir/odata.json")
  fi
  printf 'status=%s\nbody_file=%s\n' "$code" "$dir/reply.body"
}

sap_delete_cert() {
  local code
  code=$(odata_request "$dir/reply.body" DELETE "$(sap_cert_key "$1")")
  printf 'status=%s\nbody_file=%s\n' "$code" "$dir/reply.body"
}

# The sap_* steps (store and reference names are scenario names, [A-Za-z0-9._-]).
verb_sap_store_cert() {
  (($# >= 3)) || die "sap-store-cert STORE NAME FILE [--key-store] [--password-file=F]"
  local store=$1 name=$2 file=$3 type=TRUSTSTORE password='' opt code rel pre post
  shift 3
  for opt in "$@"; do
    case $opt in
    --key-store) type=KEYSTORE ;;
    --password-file=*) password=$(head -n 1 -- "${opt#--password-file=}") ;;
    *) die "sap-store-cert: unknown option $opt" ;;
    esac
  done
  [[ -n $ODATA ]] || die "sap-store-cert: not a sap profile"
  rel=CertificateStores pre="{\"name\":\"$store\",\"storeType\":\"$type\",\"certificates\":[" post=']}'
  if [[ -f $dir/sap-store-$store ]]; then
    rel="CertificateStores('$store')/certificates" pre='' post=''
  fi
  sap_cert_json "$file" "$name" '' "$pre" "$post" "$password"
  code=$(odata_request "$dir/reply.body" POST "$rel" "@$dir/odata.json")
  [[ $code != 200 && $code != 201 ]] || : >"$dir/sap-store-$store"
  printf 'status=%s\nbody_file=%s\n' "$code" "$dir/reply.body"
}

verb_sap_reference() {
  (($# == 2)) || die "sap-reference NAME STORE"
  local code
  [[ -n $ODATA ]] || die "sap-reference: not a sap profile"
  if [[ -f $dir/sap-ref-$1 ]]; then
    # an OData PUT replaces the whole entity: name and store
    code=$(odata_request "$dir/reply.body" PUT "CertificateStoreReferences('$1')" \
      "{\"name\":$(json_str "$1"),\"certificateStoreName\":$(json_str "$2")}")
  else
    code=$(odata_request "$dir/reply.body" POST CertificateStoreReferences \
      "{\"name\":$(json_str "$1"),\"certificateStoreName\":$(json_str "$2")}")
    [[ $code != 201 ]] || : >"$dir/sap-ref-$1"
  fi
  printf 'status=%s\nbody_file=%s\n' "$code" "$dir/reply.body"
}

verb_sap_provider() {
  (($# == 3)) || die "sap-provider NAME ENDPOINT TRUST-STORE"
  local code host port json
  [[ -n $ODATA ]] || die "sap-provider: not a sap profile"
  [[ $2 =~ ^[A-Za-z][A-Za-z0-9+.-]*://(\[[^]/]*\]|[^]/:?#[]+)(:([0-9]+))? ]] ||
    die "the endpoint $2 has no host and port"
  host=${BASH_REMATCH[1]} port=${BASH_REMATCH[3]:-443}
  json="{\"name\":$(json_str "$1"),\"destType\":\"INTERNET\",\"host\":$(json_str "$host"),"
  json+="\"port\":$((10#$port)),\"useSSL\":true,\"trustAll\":false,\"sslInfo\":{\"enabled\":true,"
  json+="\"clientAuthEnabled\":false,\"trustStore\":$(json_str "$3")}}"
  code=$(odata_request "$dir/reply.body" POST APIProviders "$json")
  printf 'status=%s\nbody_file=%s\n' "$code" "$dir/reply.body"
}

verb_upload_cert() {
  (($# == 3)) || die "upload-cert ALIAS ENDPOINT FILE"
  [[ -z $ODATA ]] || {
    sap_upload_cert "$@"
    return
  }
  cert_admin admin_inline POST "$CERTS" "$3" --form-string "alias=$1" --form-string "endpoint=$2"
}

verb_replace_cert() {
  (($# == 2)) || die "replace-cert ALIAS FILE"
  [[ -z $ODATA ]] || {
    sap_replace_cert "$@"
    return
  }
  cert_admin admin PUT "$CERTS/$(urlencode "$1")" "$2"
}

verb_delete_cert() {
  (($# == 1)) || die "delete-cert ALIAS"
  [[ -z $ODATA ]] || {
    sap_delete_cert "$@"
    return
  }
  admin DELETE "$CERTS/$(urlencode "$1")"
}

# The id NAME was created under, or unknown-api.
api_id() {
  local map id=unknown-api
  map="$dir/apis/api-$(hex "$1")"
  [[ -s $map ]] && id=$(<"$map")
  printf '%s' "$id"
}

verb_add_key_manager() {
  (($# == 4)) || die "add-key-manager NAME ISSUER ALG PUBLIC-KEY-FILE"
  local json pem
  [[ -f $4 ]] || die "no public key file $4"
  pem=$(<"$4")
  json="{\"name\":$(json_str "$1"),\"issuer\":$(json_str "$2"),\"alg\":$(json_str "$3"),"
  json+="\"certificates\":{\"type\":\"PEM\",\"value\":$(json_str "$pem"$'\n')}}"
  admin POST "$KEY_MANAGERS" --header 'Content-Type: application/json' --data-binary "$json"
}

verb_upload_client_cert() {
  (($# == 4)) || die "upload-client-cert API ALIAS TIER FILE"
  if [[ -n $CLIENT_CERTS ]]; then
    cert_admin admin POST "$CLIENT_CERTS" "$4" --form-string "apiId=$(api_id "$1")" \
      --form-string "alias=$2" --form-string "tier=$3"
  else
    cert_admin admin POST "$APIS/$(urlencode "$(api_id "$1")")/client-certificates" "$4" \
      --form-string "alias=$2" --form-string "tier=$3"
  fi
}

verb_delete_client_cert() {
  (($# == 2)) || die "delete-client-cert API ALIAS"
  if [[ -n $CLIENT_CERTS ]]; then
    admin DELETE "$CLIENT_CERTS/$(urlencode "$2")"
  else
    admin DELETE "$APIS/$(urlencode "$(api_id "$1")")/client-certificates/$(urlencode "$2")"
  fi
}

# The application is created on first use and its consumer key (its name)
# mapped to the key manager; the first answer that is not 2xx is the verb's.
verb_subscribe() {
  (($# == 4)) || die "subscribe APPLICATION API TIER KEY-MANAGER"
  local map id code json
  mkdir -p -- "$dir/apps"
  map="$dir/apps/app-$(hex "$1")"
  if [[ ! -s $map ]]; then
    code=$(request "$dir/reply.body" POST "$APPS" --header 'Content-Type: application/json' \
      --data-binary "{\"name\":$(json_str "$1"),\"throttlingPolicy\":\"Unlimited\"}")
    if [[ $code != 201 ]]; then
      printf 'status=%s\nbody_file=%s\n' "$code" "$dir/reply.body"
      return 0
    fi
    [[ $(<"$dir/reply.body") =~ \"applicationId\":\ *\"([^\"]*)\" ]] ||
      die "subscribe: 201 without an applicationId"
    id=${BASH_REMATCH[1]}
    json="{\"consumerKey\":$(json_str "$1"),\"keyType\":\"PRODUCTION\","
    json+="\"keyManager\":$(json_str "$4")}"
    code=$(request "$dir/reply.body" POST "$APPS/$(urlencode "$id")/map-keys" \
      --header 'Content-Type: application/json' --data-binary "$json")
    if [[ $code != 2?? ]]; then
      printf 'status=%s\nbody_file=%s\n' "$code" "$dir/reply.body"
      return 0
    fi
    printf '%s\n' "$id" >"$map"
  fi
  json="{\"applicationId\":$(json_str "$(<"$map")"),\"apiId\":$(json_str "$(api_id "$2")"),"
  json+="\"throttlingPolicy\":$(json_str "$3")}"
  admin POST "$SUBSCRIPTIONS" --header 'Content-Type: application/json' --data-binary "$json"
}

verb_log_tail() {
  if [[ -f $dir/gateway.log ]]; then
    printf 'body_file=%s\n' "$dir/gateway.log"
  fi
}

verb=${1:-}
(($# > 0)) && shift
if [[ ! ${GATECERT_EXEC_PROTOCOL:-} =~ ^[0-9]+$ ]] || ((GATECERT_EXEC_PROTOCOL < 2)); then
  die "speaks gatecert-exec/2 and is run by gatecert" \
    "(GATECERT_EXEC_PROTOCOL=${GATECERT_EXEC_PROTOCOL:-unset})"
fi
if [[ $verb != hello ]]; then
  dir=${GATECERT_EXEC_DIR:?GATECERT_EXEC_DIR is not set}
fi
case $verb in
hello) verb_hello ;;
start) verb_start "$@" ;;
stop) halt ;;
restart)
  halt
  rm -f -- "$dir/sap.auth" # gatecert-sim keeps its tokens in memory only
  launch
  ;;
clock-sync) verb_clock_sync "$@" ;;
create-api) verb_create_api "$@" ;;
delete-api) verb_delete_api "$@" ;;
redeploy-api) verb_redeploy_api "$@" ;;
upload-cert) verb_upload_cert "$@" ;;
replace-cert) verb_replace_cert "$@" ;;
delete-cert) verb_delete_cert "$@" ;;
sap-store-cert) verb_sap_store_cert "$@" ;;
sap-reference) verb_sap_reference "$@" ;;
sap-provider) verb_sap_provider "$@" ;;
reload) sim_call POST /_sim/reload >/dev/null ;;
log-tail) verb_log_tail ;;
add-key-manager) verb_add_key_manager "$@" ;;
upload-client-cert) verb_upload_client_cert "$@" ;;
delete-client-cert) verb_delete_client_cert "$@" ;;
subscribe) verb_subscribe "$@" ;;
*) exit 89 ;; # a verb of a newer protocol: unsupported
esac
