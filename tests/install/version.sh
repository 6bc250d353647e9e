#!/usr/bin/env bash
# version.sh - one row of the --version table (tests/install/CMakeLists.txt):
# runs PROGRAM [ARGS...] --version and checks that it exits 0, prints nothing
# on stderr and exactly one line on stdout: "NAME VERSION", or
# "NAME VERSION (git DESCRIBE)" when the configure recorded a git description,
# VERSION and DESCRIBE being what CMake configured (project() and git
# describe), so every program reports the one version of the build.
# usage: version.sh NAME VERSION DESCRIBE PROGRAM [ARGS...]
set -u
name=$1 version=$2 describe=$3
shift 3
want="$name $version"
[[ -n $describe ]] && want+=" (git $describe)"
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$@" --version >"$out" 2>"$err"
rc=$?
fail=0
if ((rc != 0)); then
  echo "FAIL: $* --version exited $rc (want 0)"
  fail=1
fi
if [[ -s $err ]]; then
  echo "FAIL: $* --version wrote on stderr:"
  cat "$err"
  fail=1
fi
got=$(cat "$out")
if [[ $got != "$want" ]] || (($(wc -l <"$out") != 1)); then
  echo "FAIL: $* --version printed:"
  cat "$out"
  echo "want exactly one line: $want"
  fail=1
fi
((fail == 0)) && echo "ok: $got"
exit "$fail"
