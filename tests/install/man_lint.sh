#!/usr/bin/env bash
# man_lint.sh - the groff warnings of manual pages: man(1) formats each FILE
# with every warning on (--warnings, -Z: troff only) and the test fails on
# any message (man exits 0 after most warnings, so stderr is what counts).
# usage: man_lint.sh FILE...
set -u
fail=0
for page in "$@"; do
  msgs=$(man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
  rc=$?
  if ((rc != 0)) || [[ -n $msgs ]]; then
    echo "FAIL: $page (man exit $rc):"
    echo "$msgs"
    fail=1
  else
    echo "ok: $page"
  fi
done
exit "$fail"
