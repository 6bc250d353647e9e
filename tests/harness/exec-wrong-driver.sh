#!/usr/bin/env bash
# exec-wrong-driver.sh - a deliberately wrong gatecert-exec program, for
# test_exec_protocol.sh: GATECERT_WRONG (a mode; the harness passes its
# environment on, but for GATECERT_EXEC_*) says which mistake it makes; every
# verb it does not get wrong goes to the reference program, named by
# GATECERT_WRONG_REF (scripts/exec-driver-sim.sh), so the gateway behind it is
# gatecert-sim.
set -euo pipefail
ref=${GATECERT_WRONG_REF:?GATECERT_WRONG_REF names the reference program}
mode=${GATECERT_WRONG:?GATECERT_WRONG names the mistake}
verb=${1:-}

# The reference program's hello with sed expression $1 applied.
hello_with() { "$ref" hello | sed -e "$1"; }

case $mode:$verb in
unknown-capability:hello) hello_with 's/^capabilities=/capabilities=backend-tsl,/' ;;
no-protocol:hello) hello_with '/^protocol=/d' ;;
protocol-3:hello) hello_with 's|^protocol=.*|protocol=gatecert-exec/3|' ;;
v1-reject:hello) hello_with 's|^protocol=.*|protocol=gatecert-exec/1|' ;;
reject-class:hello)
  hello_with '/^reject=/d'
  echo 'reject=backend-tsl 502'
  ;;
reject-status:hello)
  hello_with '/^reject=/d'
  echo 'reject=backend-tls 502|5xx'
  ;;
hello-twice:hello)
  hello_with 's/^name=.*/&\nname=again/'
  ;;
bad-key:hello) hello_with 's/^version=/Version=/' ;;
# the rejection table: 502 alone (gatecert-sim answers 500: the case fails),
# 502|500 (passes), 500 with a fault code the gateway does not send, claimed
# (fails) or not claimed (passes: the code is not checked)
reject-502:hello) hello_with 's/^reject=backend-tls .*/reject=backend-tls 502/' ;;
reject-502-or-500:hello) hello_with 's/^reject=backend-tls .*/reject=backend-tls 502|500/' ;;
fault-claimed:hello) hello_with 's/^reject=backend-tls .*/reject=backend-tls 500 999999/' ;;
fault-unclaimed:hello)
  hello_with 's/^reject=backend-tls .*/reject=backend-tls 500 999999/; s/,fault-codes//'
  ;;
start-not-kv:start) printf 'https_port 8443\n' ;;
start-no-port:start) printf 'start_ms=1893456000000\n' ;;
start-unknown-key:start) printf 'https_port=8443\nstarted=yes\n' ;;
start-no-newline:start) printf 'https_port=8443' ;;
start-body:start) printf 'https_port=8443\n\nready\n' ;;
# a gateway on the real clock: its reading is the wall clock, not the case's
real-clock:start)
  "$ref" "$@" | sed -e '/^clock_ms=/d'
  printf 'clock_ms=%s000\n' "$(date +%s)"
  ;;
*) exec "$ref" "$@" ;;
esac
