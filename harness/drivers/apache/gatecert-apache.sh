#!/usr/bin/env bash
# gatecert-apache.sh - Apache httpd 2.4 (Debian's apache2) as a gatecert-exec/2
# program: gatecert runs it once per operation, `gatecert-apache.sh VERB
# [ARG]...` (harness/drivers/EXEC.md; APACHE.md next to this file maps every
# desired-state item to Apache's configuration).
#
#   gatecert run --driver exec:harness/drivers/apache/gatecert-apache.sh \
#     --known-failures harness/drivers/apache.known --scenarios scenarios
#
# Per case, in $GATECERT_EXEC_DIR (0700, the harness's): its own Apache - its
# ServerRoot, PidFile, logs and two loopback ports (the data plane, HTTPS, and
# a plain-HTTP control port that answers the configuration's generation in an
# X-Gatecert-Generation header) - started as `apache2 -d DIR -f httpd.conf
# -DFOREGROUND` (no apache2ctl, no /etc/apache2/envvars) in its own session
# under libfaketime, stopped by its pid. As root its workers switch to
# www-data (Apache refuses to serve as root): they read the clock file from
# the harness's public clock directory; every other file is read by the
# master, as root, before it drops privileges.
#
# Every change (an API, an endpoint or client certificate) is applied the way
# an operator applies it: the whole configuration rendered again as
# generation N+1 (httpd.conf.new plus its trust bundles), `apache2 -t` on it
# (refused: the old files stay, the admin verb answers 400 with Apache's first
# error line), then moved in place, `kill -USR1 <master pid>` (graceful
# restart, never by name) and the control port polled until it answers N+1.
# An upload is written as an operator would write it: a PEM certificate as
# is, DER and PKCS#7 converted with openssl, anything else appended to the
# trust bundle byte for byte. When Apache exits on the restart instead, the
# verb answers 503 with its last error line and Apache stays down (no quiet
# restart: that is the finding, README.md).
#
# Files: httpd.conf (+ .new), gen (the generation), ports, apache.pid
# ("PID STARTTIME"), server.{crt,key} (its own self-signed identity),
# throwaway-ca.pem (heads every bundle so an empty one still loads),
# backend-trust.pem, client-trust.pem, profile-N-*.pem, apis/<hex>,
# certs/<hex alias>.{pem,endpoint}, clients/<hex api>.<hex alias>.pem,
# logs/error.log, applies.log ("N ms" per apply), reply.body.
set -euo pipefail
umask 077

readonly NAME=gatecert-apache
APACHE=${GATECERT_APACHE_BIN:-/usr/sbin/apache2}
readonly MODULES=${GATECERT_APACHE_MODULES:-/usr/lib/apache2/modules}
caps=runtime-backend-trust,backend-mtls,base-trust-store,restart-keeps-state,client-mtls
caps+=,hostname-verifier,fake-clock
readonly CAPABILITIES=$caps

die() {
  printf 'gatecert-apache: %s\n' "$*" >&2
  exit 1
}

# ---- text ------------------------------------------------------------------------

hex() {
  local LC_ALL=C s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    printf -v c '%02x' "'${s:i:1}"
    out+=$c
  done
  printf '%s' "$out"
}

# A JSON string for $1 (jq does the escaping).
json_str() { jq -Rn --arg s "$1" '$s'; }

# $1 as an Apache double-quoted string's content: refused when it holds " \ or
# a control character (the scenarios' names never reach the configuration).
conf_safe() { [[ $1 != *[\"\\[:cntrl:]]* ]]; }

# ---- processes ---------------------------------------------------------------------

proc_start() {
  local stat fields
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
  read -ra fields <<<"${stat##*) }"
  [[ ${fields[0]} != Z ]] && printf '%s\n' "${fields[19]}"
}

# 0 while the process recorded in file $1 runs and is still the one started.
recorded_alive() {
  local pid start
  [[ -f $1 ]] || return 1
  read -r pid start <"$1" || return 1
  [[ $(proc_start "$pid") == "$start" ]]
}

record() {
  local start
  start=$(proc_start "$2")
  [[ -n $start ]] || die "process $2 ended at once"
  printf '%s %s\n' "$2" "$start" >"$1"
}

# SIGTERM to the group of the recorded process, 5 s, then SIGKILL.
stop_recorded() {
  local file=$1 pid start i
  [[ -f $file ]] || return 0
  read -r pid start <"$file" || true
  rm -f -- "$file"
  [[ $pid =~ ^[0-9]+$ && $(proc_start "$pid") == "$start" ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || return 0
  for ((i = 0; i < 500; i++)); do
    [[ $(proc_start "$pid") == "$start" ]] || return 0
    sleep 0.01
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f -- "/dev/shm/faketime_shm_$pid" "/dev/shm/sem.faketime_sem_$pid"
  return 1
}

# ---- the configuration ---------------------------------------------------------------

cfg() { jq -r "$1 // empty" "$dir/config.json"; }

# The chain + key PEM $1 as Apache's proxy machine certificate: the first
# certificate and the key in one file (Apache wants every certificate there
# to have its key), written to $2.
machine_cert() {
  awk 'BEGIN { n = 0 }
       /-----BEGIN CERTIFICATE-----/ { n++; if (n == 1) keep = 1 }
       /-----BEGIN .*PRIVATE KEY-----/ { keep = 1 }
       keep { print }
       /-----END CERTIFICATE-----/ || /-----END .*PRIVATE KEY-----/ { keep = 0 }' "$1" >"$2"
}

# The bundles: the throwaway CA first, then the base trust and every endpoint
# certificate (backend-trust.pem), or every client certificate
# (client-trust.pem), each as stored.
render_bundles() {
  local out=$1 f
  {
    cat -- "$dir/throwaway-ca.pem"
    if [[ -n ${GATECERT_EXEC_TRUST_STORE:-} ]]; then cat -- "$GATECERT_EXEC_TRUST_STORE"; fi
    for f in "$dir"/certs/*.pem; do
      if [[ -f $f ]]; then cat -- "$f" && echo; fi
    done
  } >"$out/backend-trust.pem"
  {
    cat -- "$dir/throwaway-ca.pem"
    if [[ -n ${GATECERT_EXEC_TRUST_STORE:-} ]]; then cat -- "$GATECERT_EXEC_TRUST_STORE"; fi
    for f in "$dir"/clients/*.pem; do
      if [[ -f $f ]]; then cat -- "$f" && echo; fi
    done
  } >"$out/client-trust.pem"
}

# SSLProxyCheckPeerName for WSO2 hostname verifier $1 (empty: WSO2 4.x's
# default, DefaultAndLocalhost) toward host $2: AllowAll never checks,
# DefaultAndLocalhost lets localhost and 127.0.0.1 through, the others check.
peer_name() {
  case ${1:-DefaultAndLocalhost}:$2 in
  AllowAll:*) printf 'off' ;;
  DefaultAndLocalhost:localhost | DefaultAndLocalhost:127.0.0.1) printf 'off' ;;
  *) printf 'on' ;;
  esac
}

# The Require expression of an API's pins: serial and issuer of each client
# certificate uploaded for it (certificate_match serial_issuer), or nothing.
pins() {
  local api_hex=$1 f serial issuer subject expr=''
  for f in "$dir"/clients/"$api_hex".*.pem; do
    [[ -f $f ]] || continue
    serial=$(openssl x509 -in "$f" -noout -serial 2>/dev/null) || continue
    issuer=$(openssl x509 -in "$f" -noout -issuer -nameopt RFC2253 2>/dev/null) || continue
    serial=${serial#serial=} issuer=${issuer#issuer=}
    issuer=${issuer//\'/\\\'}
    expr+="${expr:+ || }(%{SSL_CLIENT_M_SERIAL} == '$serial' && %{SSL_CLIENT_I_DN} == '$issuer')"
    # chain validation: a certificate the uploaded one issued passes too (the
    # listener verified the chain against the uploads)
    if [[ $(cfg '.listener.chain_validation') == true ]]; then
      subject=$(openssl x509 -in "$f" -noout -subject -nameopt RFC2253 2>/dev/null) || continue
      subject=${subject#subject=}
      subject=${subject//\'/\\\'}
      expr+=" || %{SSL_CLIENT_I_DN} == '$subject'"
    fi
  done
  printf '%s' "$expr"
}

# Regex-quotes $1 for ProxyPassMatch.
re_quote() { printf '%s' "$1" | sed -e 's/[][\.*^$+?(){}|/]/\\&/g'; }

# Renders generation $1 into httpd.conf.new.
render() {
  local gen=$1 https ctrl user_lines='' f name hex_name context version url default security
  local defaults='' reuse=''
  # upstream_keepalive false: no pooled backend connections (mod_proxy reuses
  # them by default)
  if [[ $(jq -r '.upstream_keepalive' "$dir/settings.json") == false ]]; then
    reuse=' disablereuse=On'
  fi
  read -r https ctrl <"$dir/ports"
  render_bundles "$dir"
  if ((EUID == 0)); then
    user_lines=$'User www-data\nGroup www-data'
  fi
  local verify timeout
  verify=$(cfg '.listener.verify_client')
  verify=${verify:-optional}
  timeout=$(cfg '.backend_timeout_ms')
  timeout=${timeout:-30000}
  {
    cat <<CONF
# gatecert-apache generation $gen (rendered; every change renders it whole)
ServerRoot "$dir"
PidFile "$dir/run/httpd.pid"
DefaultRuntimeDir "$dir/run"
ServerName localhost
$user_lines
Listen 127.0.0.1:$https https
Listen 127.0.0.1:$ctrl http
LoadModule mpm_event_module $MODULES/mod_mpm_event.so
LoadModule authz_core_module $MODULES/mod_authz_core.so
LoadModule authz_host_module $MODULES/mod_authz_host.so
LoadModule headers_module $MODULES/mod_headers.so
LoadModule socache_shmcb_module $MODULES/mod_socache_shmcb.so
LoadModule ssl_module $MODULES/mod_ssl.so
LoadModule proxy_module $MODULES/mod_proxy.so
LoadModule proxy_http_module $MODULES/mod_proxy_http.so
StartServers 1
ServerLimit 4
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16
ErrorLog "$dir/logs/error.log"
LogLevel warn ssl:info proxy:info proxy_http:info
LogFormat "%h %t \"%r\" %>s %b" common
CustomLog "$dir/logs/access.log" common
SSLSessionCache none
ProxyTimeout $((timeout / 1000 > 0 ? timeout / 1000 : 1))

<VirtualHost 127.0.0.1:$ctrl>
  Header always set X-Gatecert-Generation "$gen"
  <Location />
    Require all granted
  </Location>
</VirtualHost>

<VirtualHost 127.0.0.1:$https>
  ServerName localhost
  SSLEngine on
  SSLCertificateFile "$dir/server.crt"
  SSLCertificateKeyFile "$dir/server.key"
  SSLCACertificateFile "$dir/client-trust.pem"
  SSLVerifyDepth 10
CONF
    case $verify in
    none) echo '  SSLVerifyClient none' ;;
    require) echo '  SSLVerifyClient require' ;;
    *) echo '  SSLVerifyClient optional' ;;
    esac
    cat <<CONF
  SSLProxyEngine on
  SSLProxyVerify require
  SSLProxyVerifyDepth 10
  SSLProxyCheckPeerExpire on
  SSLProxyCheckPeerName $(peer_name "$(cfg '.default_profile.hostname_verifier')" "")
  SSLProxyCACertificateFile "$dir/backend-trust.pem"
CONF
    local key
    key=$(cfg '.default_profile.key_store')
    if [[ -n $key ]]; then
      machine_cert "$key" "$dir/default-identity.pem"
      echo "  SSLProxyMachineCertificateFile \"$dir/default-identity.pem\""
    fi
    # SSL profiles: <Proxy> sections per host:port (mod_ssl 2.4.30+)
    local i count server trust pkey verifier
    count=$(jq '.ssl_profiles | length' "$dir/config.json")
    for ((i = 0; i < count; i++)); do
      trust=$(cfg ".ssl_profiles[$i].trust_store")
      pkey=$(cfg ".ssl_profiles[$i].key_store")
      verifier=$(cfg ".ssl_profiles[$i].hostname_verifier")
      while IFS= read -r server; do
        [[ -n $server ]] || continue
        echo "  <Proxy \"https://$server\">"
        if [[ -n $trust ]]; then
          cat -- "$dir/throwaway-ca.pem" "$trust" >"$dir/profile-$i-trust.pem"
          echo "    SSLProxyCACertificateFile \"$dir/profile-$i-trust.pem\""
        fi
        if [[ -n $pkey ]]; then
          machine_cert "$pkey" "$dir/profile-$i-identity.pem"
          echo "    SSLProxyMachineCertificateFile \"$dir/profile-$i-identity.pem\""
        fi
        echo "    SSLProxyCheckPeerName $(peer_name "${verifier:-$(cfg '.default_profile.hostname_verifier')}" "${server%:*}")"
        echo "  </Proxy>"
      done < <(jq -r ".ssl_profiles[$i].servers[]?" "$dir/config.json")
    done
    for f in "$dir"/apis/*; do
      [[ -f $f ]] || continue
      hex_name=${f##*/}
      { read -r name; read -r context; read -r version; read -r url; read -r default
        read -r security; } <"$f"
      local prefix="$context/$version"
      echo "  # api $name"
      # the default verifier toward this API's host, unless an SSL profile has it
      local hostport=${url#https://}
      if [[ $url == https://* ]] &&
        [[ $(jq --arg s "$hostport" '[.ssl_profiles[]?.servers[]? | select(. == $s)] | length' \
          "$dir/config.json") == 0 ]]; then
        echo "  <Proxy \"$url\">"
        echo "    SSLProxyCheckPeerName $(peer_name "$(cfg '.default_profile.hostname_verifier')" "${hostport%:*}")"
        echo "  </Proxy>"
      fi
      # the versioned prefix here, the default version's after every API's
      echo "  ProxyPass \"$prefix\" \"$url\"$reuse"
      if [[ $default == 1 ]]; then
        defaults+="  ProxyPass \"$context\" \"$url\"$reuse"$'\n'
      fi
      if [[ ,$security, == *,mutualssl,* ]]; then
        local expr
        expr=$(pins "$hex_name")
        for p in "$prefix" $([[ $default == 1 ]] && printf '%s' "$context"); do
          echo "  <LocationMatch \"^$(re_quote "$p")(/.*)?\$\">"
          if [[ -n $expr ]]; then
            echo "    Require expr \"$expr\""
          else
            echo "    Require all denied"
          fi
          echo "  </LocationMatch>"
        done
      fi
    done
    printf '%s' "$defaults"
    echo "</VirtualHost>"
  } >"$dir/httpd.conf.new"
}

# apache2 -t on file $1: 0, or 1 with its first error line on stdout.
config_test() {
  local out
  if out=$("$APACHE" -t -d "$dir" -f "$1" 2>&1); then
    return 0
  fi
  grep -v '^Syntax OK' <<<"$out" | head -n 1
  return 1
}

ctrl_get() { # the control port's answer headers
  local ctrl
  read -r _ ctrl <"$dir/ports"
  curl --silent --noproxy '*' --max-time 2 --head "http://127.0.0.1:$ctrl/" 2>/dev/null | tr -d '\r'
}

# Waits until the control port answers generation $1 (10 s): 0, or 1 when
# Apache's master is gone (2 when it just did not come).
await_generation() {
  local want=$1 deadline=$((SECONDS + 10)) headers
  while :; do
    headers=$(ctrl_get || true)
    [[ $headers == *"X-Gatecert-Generation: $want"* ]] && return 0
    recorded_alive "$dir/apache.pid" || return 1
    ((SECONDS < deadline)) || return 2
    sleep 0.02
  done
}

# The Date header of the control port's answer, in ms.
gateway_ms() {
  local headers d
  headers=$(ctrl_get) || return 1
  d=$(sed -n 's/^Date: //p' <<<"$headers")
  [[ -n $d ]] || return 1
  printf '%s000\n' "$(date -u -d "$d" +%s)"
}

# Applies the rendered state as the next generation: 0 live, 1 refused by
# the config test (its line in $refusal), 2 Apache exited on the restart
# (its last error line in $refusal).
refusal=''
apply() {
  local gen t0 t1
  t0=$(date +%s%N)
  gen=$(($(<"$dir/gen") + 1))
  render "$gen"
  if ! refusal=$(config_test "$dir/httpd.conf.new"); then
    rm -f -- "$dir/httpd.conf.new"
    return 1
  fi
  mv -f -- "$dir/httpd.conf.new" "$dir/httpd.conf"
  printf '%s\n' "$gen" >"$dir/gen"
  local pid start
  read -r pid start <"$dir/apache.pid"
  kill -USR1 "$pid"
  if ! await_generation "$gen"; then
    refusal=$(grep -E 'AH[0-9]+|error' "$dir/logs/error.log" | tail -n 1)
    recorded_alive "$dir/apache.pid" || return 2
    die "generation $gen not live within 10 s: $refusal"
  fi
  t1=$(date +%s%N)
  printf '%s %s\n' "$gen" "$(((t1 - t0) / 1000000))" >>"$dir/applies.log"
  return 0
}

# ---- answers -------------------------------------------------------------------------

answer() { # STATUS JSON
  printf '%s\n' "$2" >"$dir/reply.body"
  printf 'status=%s\nbody_file=%s\n' "$1" "$dir/reply.body"
}

error_answer() { # STATUS MESSAGE DESCRIPTION
  answer "$1" "$(jq -cn --argjson c "$1" --arg m "$2" --arg d "$3" \
    '{code: $c, message: $m, description: $d, moreInfo: "", error: []}')"
}

# After a state change: answers the refusal (and returns 1) or Apache's exit.
apply_or_answer() {
  local rc=0
  apply || rc=$?
  case $rc in
  0) return 0 ;;
  1) error_answer 400 "Apache refused the configuration" "$refusal" ;;
  *) error_answer 503 "Service Unavailable" "apache2 exited on graceful restart: $refusal" ;;
  esac
  return 1
}

# An upload as an operator writes it into a trust bundle: PEM as is, DER or
# PKCS#7 converted, anything else byte for byte. Into file $2.
normalise() {
  local in=$1 out=$2
  if openssl x509 -in "$in" -noout 2>/dev/null; then
    cp -- "$in" "$out"
  elif openssl x509 -inform DER -in "$in" -out "$out" 2>/dev/null; then
    :
  elif openssl pkcs7 -inform DER -in "$in" -print_certs 2>/dev/null | grep -v '^subject=\|^issuer=\|^$' >"$out" &&
    [[ -s $out ]]; then
    :
  elif openssl pkcs7 -in "$in" -print_certs 2>/dev/null | grep -v '^subject=\|^issuer=\|^$' >"$out" &&
    [[ -s $out ]]; then
    :
  else
    cp -- "$in" "$out"
  fi
}

# ---- the gateway ---------------------------------------------------------------------

free_port() {
  local p
  while :; do
    p=$(shuf -i 20000-60999 -n 1)
    ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q . && { printf '%s\n' "$p"; return; }
  done
}

# Starts Apache on the rendered httpd.conf (generation in gen): https_port=,
# start_ms= and clock_ms= from its control port's Date header.
launch() {
  local attempt pid rc
  mkdir -p -- "$dir/run" "$dir/logs"
  for attempt in 1 2 3 4 5; do
    : >"$dir/logs/stderr.log"
    setsid env LD_PRELOAD="$GATECERT_EXEC_FAKETIME_LIB" \
      FAKETIME_TIMESTAMP_FILE="$GATECERT_EXEC_CLOCK_FILE" FAKETIME_NO_CACHE=1 \
      FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=UTC \
      "$APACHE" -d "$dir" -f "$dir/httpd.conf" -DFOREGROUND \
      </dev/null >/dev/null 2>>"$dir/logs/stderr.log" &
    pid=$!
    record "$dir/apache.pid" "$pid"
    rc=0
    await_generation "$(<"$dir/gen")" || rc=$?
    ((rc == 0)) && break
    stop_recorded "$dir/apache.pid" || true
    if grep -q 'Address already in use' "$dir/logs/stderr.log" "$dir/logs/error.log" 2>/dev/null &&
      ((attempt < 5)); then
      printf '%s %s\n' "$(free_port)" "$(free_port)" >"$dir/ports"
      render "$(<"$dir/gen")"
      mv -f -- "$dir/httpd.conf.new" "$dir/httpd.conf"
      continue
    fi
    die "apache2 did not start: $(tail -n 3 "$dir/logs/stderr.log" "$dir/logs/error.log" 2>/dev/null | tr '\n' ' ')"
  done
  if [[ -n ${GATECERT_EXEC_OWNER_PID:-} ]]; then
    # shellcheck disable=SC2016 # the inner script's own arguments
    setsid bash -c 'while kill -0 "$2" 2>/dev/null; do
                      if ! kill -0 "$1" 2>/dev/null; then kill -TERM -- "-$2"; exit 0; fi
                      sleep 1
                    done' "gatecert-apache-watchdog:$dir" "$GATECERT_EXEC_OWNER_PID" "$pid" \
      </dev/null >/dev/null 2>&1 &
    record "$dir/watchdog.pid" "$!"
  fi
  local now https
  now=$(gateway_ms) || die "the control port answered no Date header"
  read -r https _ <"$dir/ports"
  printf 'https_port=%s\nstart_ms=%s\nclock_ms=%s\n' "$https" "$now" "$now"
}

halt() {
  stop_recorded "$dir/watchdog.pid" || true
  stop_recorded "$dir/apache.pid" || die "apache2 did not stop on SIGTERM within 5 s (killed)"
}

# ---- verbs --------------------------------------------------------------------------

verb_hello() {
  [[ -x $APACHE ]] || die "no apache2 at $APACHE (GATECERT_APACHE_BIN)"
  local v
  v=$("$APACHE" -v | sed -n 's|^Server version: Apache/\([^ ]*\).*|\1|p')
  printf 'protocol=gatecert-exec/2\nname=%s\nversion=%s\ncapabilities=%s\n' \
    "$NAME" "${v:-unknown}" "$CAPABILITIES"
  # an untrusted client certificate fails the handshake; a pin that does not
  # match is Require's 403; a backend handshake that fails is 500 or 502
  # depending on the path the request took (README.md finding)
  printf 'reject=client-cert tls-alert\nreject=unauthenticated 403\nreject=backend-tls 500|502\n'
}

verb_start() {
  local config=${1:?start CONFIG.json SETTINGS.json}
  [[ -f $config ]] || die "start: no config file $config"
  halt
  cp -- "$config" "$dir/config.json"
  cp -- "${2:?start CONFIG.json SETTINGS.json}" "$dir/settings.json"
  mkdir -p -- "$dir/apis" "$dir/certs" "$dir/clients" "$dir/run" "$dir/logs"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$dir/server.key" -out "$dir/server.crt" 2>/dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500 \
    -subj "/CN=gatecert-apache throwaway CA" -keyout /dev/null -out "$dir/throwaway-ca.pem" \
    2>/dev/null
  printf '%s %s\n' "$(free_port)" "$(free_port)" >"$dir/ports"
  echo 1 >"$dir/gen"
  : >"$dir/applies.log"
  render 1
  local why
  why=$(config_test "$dir/httpd.conf.new") || die "apache2 -t refused the first configuration: $why"
  mv -f -- "$dir/httpd.conf.new" "$dir/httpd.conf"
  launch
}

verb_clock_sync() {
  local want=${1:?clock-sync MS} target now=0 deadline
  [[ $want =~ ^[0-9]+$ ]] || die "clock-sync: $want is not ms"
  if ! recorded_alive "$dir/apache.pid"; then
    echo "gatecert-apache: apache2 is not running (an apply took it down): nothing to sync" >&2
    return 0
  fi
  target=$((want / 1000 * 1000))
  deadline=$((SECONDS + 6))
  while :; do
    now=$(gateway_ms) || now=0
    if ((now >= target)); then
      printf 'clock_ms=%s\n' "$now"
      return 0
    fi
    ((SECONDS < deadline)) || die "Apache's Date did not reach $want ms within 5 s (at $now)"
    sleep 0.01
  done
}

verb_create_api() {
  (($# >= 4)) || die "create-api NAME CONTEXT VERSION URL [OPTIONS]"
  local name=$1 context=$2 version=$3 url=$4 default=0 security='' opt f
  shift 4
  for opt; do
    case $opt in
    --default-version) default=1 ;;
    --security=*) security+=${security:+,}${opt#--security=} ;;
    *) die "create-api: unknown option $opt" ;;
    esac
  done
  f="$dir/apis/$(hex "$name")"
  if [[ -f $f ]]; then
    error_answer 409 Conflict "an API with this name exists"
    return 0
  fi
  if ! conf_safe "$context$version$url" || [[ ! $url =~ ^https?://[^/\"]+$ ]]; then
    error_answer 400 "Bad Request" "the endpoint URL or context is unusable"
    return 0
  fi
  printf '%s\n' "$name" "$context" "$version" "$url" "$default" "$security" >"$f"
  if ! apply_or_answer; then
    rm -f -- "$f"
    return 0
  fi
  answer 201 "{\"id\":$(json_str "$(hex "$name")"),\"name\":$(json_str "$name")}"
}

verb_delete_api() {
  local f
  f="$dir/apis/$(hex "${1?delete-api NAME}")"
  if [[ ! -f $f ]]; then
    error_answer 404 "Not Found" "No such resource"
    return 0
  fi
  mv -- "$f" "$f.deleted"
  if ! apply_or_answer; then
    mv -- "$f.deleted" "$f"
    return 0
  fi
  rm -f -- "$f.deleted"
  answer 200 "{\"name\":$(json_str "$1")}"
}

verb_upload_cert() {
  (($# == 3)) || die "upload-cert ALIAS ENDPOINT FILE"
  local alias=$1 endpoint=$2 file=$3 base
  if [[ -z $alias || -z $endpoint ]]; then
    error_answer 400 "Bad Request" "The alias and/ or endpoint should not be empty"
    return 0
  fi
  base="$dir/certs/$(hex "$alias")"
  if [[ -f $base.pem ]]; then
    error_answer 409 "Resource Already Exists" "Alias already exists"
    return 0
  fi
  normalise "$file" "$base.pem"
  printf '%s\n' "$endpoint" >"$base.endpoint"
  if ! apply_or_answer; then
    rm -f -- "$base.pem" "$base.endpoint"
    return 0
  fi
  answer 201 "{\"alias\":$(json_str "$alias"),\"endpoint\":$(json_str "$endpoint")}"
}

verb_replace_cert() {
  (($# == 2)) || die "replace-cert ALIAS FILE"
  local base
  base="$dir/certs/$(hex "$1")"
  if [[ ! -f $base.pem ]]; then
    error_answer 404 "Not Found" "No such resource"
    return 0
  fi
  cp -- "$base.pem" "$base.old"
  normalise "$2" "$base.pem"
  if ! apply_or_answer; then
    mv -f -- "$base.old" "$base.pem"
    return 0
  fi
  rm -f -- "$base.old"
  answer 200 "{\"alias\":$(json_str "$1"),\"endpoint\":$(json_str "$(<"$base.endpoint")")}"
}

verb_delete_cert() {
  (($# == 1)) || die "delete-cert ALIAS"
  local base
  base="$dir/certs/$(hex "$1")"
  if [[ ! -f $base.pem ]]; then
    error_answer 404 "Not Found" "No such resource"
    return 0
  fi
  mv -- "$base.pem" "$base.gone"
  if ! apply_or_answer; then
    mv -- "$base.gone" "$base.pem"
    return 0
  fi
  rm -f -- "$base.gone" "$base.endpoint"
  answer 200 "{\"alias\":$(json_str "$1")}"
}

verb_upload_client_cert() {
  (($# == 4)) || die "upload-client-cert API ALIAS TIER FILE"
  local api=$1 alias=$2 tier=$3 file=$4 f
  if [[ ! -f $dir/apis/$(hex "$api") ]]; then
    error_answer 404 "Not Found" "No such resource"
    return 0
  fi
  if [[ -z $alias ]]; then
    error_answer 400 "Bad Request" "an alias is required"
    return 0
  fi
  f="$dir/clients/$(hex "$api").$(hex "$alias").pem"
  if [[ -f $f ]]; then
    error_answer 409 "Resource Already Exists" "the alias exists for this API"
    return 0
  fi
  normalise "$file" "$f"
  if ! apply_or_answer; then
    rm -f -- "$f"
    return 0
  fi
  answer 201 "{\"alias\":$(json_str "$alias"),\"apiId\":$(json_str "$api"),\"tier\":$(json_str "$tier")}"
}

verb_delete_client_cert() {
  (($# == 2)) || die "delete-client-cert API ALIAS"
  local f
  f="$dir/clients/$(hex "$1").$(hex "$2").pem"
  if [[ ! -f $f ]]; then
    error_answer 404 "Not Found" "No such resource"
    return 0
  fi
  mv -- "$f" "$f.gone"
  if ! apply_or_answer; then
    mv -- "$f.gone" "$f"
    return 0
  fi
  rm -f -- "$f.gone"
  answer 200 "{\"alias\":$(json_str "$2")}"
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
  launch
  ;;
clock-sync) verb_clock_sync "$@" ;;
create-api) verb_create_api "$@" ;;
delete-api) verb_delete_api "$@" ;;
upload-cert) verb_upload_cert "$@" ;;
replace-cert) verb_replace_cert "$@" ;;
delete-cert) verb_delete_cert "$@" ;;
reload) ;; # every change is applied at once
log-tail)
  if [[ -f $dir/logs/error.log ]]; then printf "body_file=%s\n" "$dir/logs/error.log"; fi
  ;;
upload-client-cert) verb_upload_client_cert "$@" ;;
delete-client-cert) verb_delete_client_cert "$@" ;;
*) exit 89 ;; # key managers, subscriptions, a newer protocol's verbs
esac
