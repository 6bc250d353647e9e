#!/usr/bin/env bash
# man_options.sh - a manual page stays true to its program: every option the
# program's --help names (--word) must appear on the page (as troff's \-\-word),
# so an option added to a usage text without its manual entry fails here.
# usage: man_options.sh PAGE PROGRAM [ARGS...]   (runs PROGRAM ARGS --help)
set -u
page=$1
shift
help=$("$@" --help) || {
  echo "FAIL: $* --help exited $?"
  exit 1
}
mapfile -t options < <(grep -o -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u)
((${#options[@]} > 0)) || {
  echo "FAIL: $* --help names no option"
  exit 1
}
fail=0
for o in "${options[@]}"; do
  troff=${o//-/\\-}
  if ! grep -qF -- "$troff" "$page"; then
    echo "FAIL: $o (in $* --help) is not on $page"
    fail=1
  fi
done
((fail == 0)) && echo "ok: ${#options[@]} options of $* on $page"
exit "$fail"
