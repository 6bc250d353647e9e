#!/usr/bin/env bash
# test_reproduce_command.sh GATECERT SCRATCH
#
# The reproduce command gatecert prints for a case (the console's
# "reproduce:" line, junit.xml's <failure> body, conformance.json's "failed"
# list, a repro script's "made by" line) must run exactly that one case when a
# user pastes it, whatever its name holds. A catalogue of hostile names is
# made here - a quote that ends the word and runs `touch pwned`, $(...) and
# backticks, glob characters (one name is a glob that matches another case,
# one is "*"), a leading dash, non-ASCII, and matrix rows whose
# values put a newline, a trailing newline, a tab, ESC, DEL, a backslash and
# % into the name, or make it 1,000 bytes long (past NAME_MAX: the case's work
# directory keeps 100 bytes of the name and a hash of the whole) - in a
# directory whose path holds a space, a quote and a $. (The unit test test_util
# runs a 20000-byte name through sh and bash.)
# Every case fails on purpose, so that every printer shows its command. Each
# command is run with `sh -c` and with `bash -c` from an empty directory: it
# must run one case, the one named (its conformance.json says so), and no
# file named pwned may appear anywhere. The commands of the three reports
# must be the same text.
#
# Then the selection errors: a --filter, --case or --feature that matches no
# case, or a --skip that leaves none, exits 2 naming it (--list too; a --filter
# that is a case's exact name says how to select it), while a --filter glob
# keeps selecting by glob.
set -uo pipefail
gatecert=$1 scratch=$2
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

rm -rf "$scratch"
base="$scratch/it's a \$HOME dir"
scen="$base/scen arios"
reports="$base/reports"
mkdir -p "$scen/hostile" || exit 1
# The printed command names `gatecert`, found on PATH next to its simulator.
PATH="$(cd "$(dirname "$gatecert")" && pwd):$PATH"
export PATH

# case FILE NAME-AS-YAML-SCALAR: a case that fails at its first call.
case_file() {
  cat >"$scen/hostile/$1.yaml" <<EOF
name: $2
features: [hostile]
pki:
  root: {kind: ca}
  echo-cert: {kind: server, issuer: root, san: [localhost]}
backends:
  echo: {cert: echo-cert}
gateway: {trust: [root]}
apis:
  test: {context: /test, version: "1.0", backend: echo}
steps:
  - call: {api: test, path: /x}
    expect: {status: 599}
EOF
}
long=$(printf "'\$(touch pwned)\" %.0s" $(seq 1 56))
case_file a "\"x'; touch pwned #\""
case_file b "'\$(touch pwned) \`touch pwned\` \$HOME \"dq\" \\back\\slash ; | & > <'"
case_file c "'glob [ab]'"
case_file d "'glob a'"
case_file e "'*'"
case_file f "'-rf --help'"
case_file g "\"caf\u00e9 \u2713 na\u00efve \u2014 \u00fcn\u00efc\u00f6d\u00e9\""
case_file i "'  spaced  out  '"
case_file j "'row[k=v]'"
# matrix rows: the loader allows any value in a name, control characters too
cat >"$scen/hostile/m.yaml" <<'EOF'
name: "matrix"
features: [hostile]
matrix:
  params: [v]
  rows: [["a\nb"], ["ends with a newline\n"], ["tab\there"], ["\e[31m red"], ["del\x7f"],
         ["back\\slash %s %% \\n"], ["'\n; touch pwned; '"], ['LONG']]
pki:
  root: {kind: ca}
  echo-cert: {kind: server, issuer: root, san: [localhost]}
backends:
  echo: {cert: echo-cert}
gateway: {trust: [root]}
apis:
  test: {context: /test, version: "1.0", backend: echo}
steps:
  - call: {api: test, path: /x, headers: {X-V: "q"}}
    expect: {status: 599}
EOF
# a long name (a file's name: is at most 127 bytes, a matrix row's value is not bounded)
sed -i "s/'LONG'/'$(printf '%s' "$long" | sed "s/'/''/g; s/[&/\\]/\\&/g")'/" "$scen/hostile/m.yaml"

out="$base/run.out"
"$gatecert" run --scenarios "$scen" --reports "$reports" >"$out" 2>"$base/run.err"
status=$?
[ "$status" -eq 1 ] || fail "the hostile run exited $status, not 1: $(cat "$base/run.err")"
count=$(jq '.failed | length' "$reports/conformance.json")
[ "$count" -eq 17 ] || fail "the hostile run failed $count cases, not 17"

# The commands, in run order, from each printer.
mapfile -t console < <(sed -n 's/^      reproduce: //p' "$out")
[ "${#console[@]}" -eq "$count" ] || fail "${#console[@]} console reproduce lines for $count cases"
pwned() { find "$scratch" -name pwned | grep -q .; }
for ((i = 0; i < count; i++)); do
  json_cmd=$(jq -r ".failed[$i].reproduce" "$reports/conformance.json")
  junit_cmd=$(xmllint --xpath "string((//testcase)[$((i + 1))]/failure)" "$reports/junit.xml" |
    sed -n 's/^reproduce: //p')
  want=$(jq -c ".failed[$i].name" "$reports/conformance.json")
  [ "$junit_cmd" = "${console[i]:-}" ] || fail "case $want: junit.xml says [$junit_cmd], the console [${console[i]:-}]"
  [ "$json_cmd" = "${console[i]:-}" ] || fail "case $want: conformance.json says [$json_cmd], the console [${console[i]:-}]"
  case ${console[i]:-} in
  *--case*) ;;
  *) fail "case $want: the command names no --case: ${console[i]:-}" ;;
  esac
  for shell in sh bash; do
    cmd=$junit_cmd
    [ "$shell" = bash ] && cmd=${console[i]:-}
    rerun="$base/rerun $i $shell"
    mkdir -p "$rerun"
    (cd "$rerun" && "$shell" -c "$cmd") >"$rerun.out" 2>&1
    status=$?
    got=$(jq -c '[.cases[].name]' "$rerun/reports/conformance.json" 2>/dev/null)
    if [ "$status" -ne 1 ] || [ "$got" != "[$want]" ]; then
      fail "case $want under $shell: exit $status, ran ${got:-nothing}, not [$want]; $cmd"
      sed 's/^/    /' "$rerun.out" >&2
    fi
    grep -q '^FAILURE  1 cases: 0 passed, 1 failed' "$rerun.out" ||
      fail "case $want under $shell: the console does not say one failed case"
    if pwned; then
      fail "case $want under $shell: a pwned file was made: $cmd"
      find "$scratch" -name pwned -delete
    fi
  done
done

# A repro script's "made by" line prints the same script again (the case by
# its exact name after --).
for name in "x'; touch pwned #" "-rf --help" "glob [ab]" "matrix[v=a
b]"; do
  script="$base/repro.sh"
  if ! "$gatecert" repro --scenarios "$scen" -- "$name" >"$script" 2>"$base/repro.err"; then
    fail "gatecert repro \"$name\": $(cat "$base/repro.err")"
    continue
  fi
  made_by=$(sed -n 's/^#   made by:  //p' "$script")
  for shell in sh bash; do
    (cd "$base" && "$shell" -c "$made_by") >"$script.again" 2>"$base/repro.err"
    cmp -s "$script" "$script.again" ||
      fail "repro \"$name\": its made-by line under $shell does not print the script again: $made_by"
  done
  pwned && fail "repro \"$name\": a pwned file was made: $made_by"
done

# The selection: what matches nothing is an error naming it; a glob stays a glob.
# expect_usage ERROR-TEXT ARG...: exit 2 and ERROR-TEXT on stderr.
expect_usage() {
  local text=$1
  shift
  "$gatecert" run --scenarios "$scen" --reports "$base/none" "$@" >"$base/sel.out" 2>"$base/sel.err"
  local status=$?
  [ "$status" -eq 2 ] || fail "run $*: exit $status, not 2"
  grep -qF -- "$text" "$base/sel.err" || fail "run $*: stderr does not say [$text]: $(cat "$base/sel.err")"
  [ -e "$base/none/junit.xml" ] && fail "run $*: wrote reports"
}
expect_usage '--filter "nothing*" matches no case of profile wso2-4' --filter 'nothing*'
expect_usage '--filter "nothing*" matches no case' --filter 'glob*' --filter 'nothing*'
expect_usage '--filter "nothing*" matches no case' --list --filter 'nothing*'
expect_usage '--case "glob" matches no case of profile wso2-4' --case glob
expect_usage '--feature "nope": no case of profile wso2-4 has that feature' --feature nope
expect_usage '--skip leaves no case to run (the first: --skip "*")' --skip '*'
expect_usage '--filter "nothing*" matches no case of profile wso2-4 and feature hostile' \
  --feature hostile --filter 'nothing*'
# a --filter that is a case's exact name (as commands printed before --case were)
expect_usage "(a case has exactly that name, but to --filter * ? [ \\ are glob characters: use --case 'row[k=v]' or --filter 'row\\[k=v]')" \
  --filter 'row[k=v]'
got=$("$gatecert" run --scenarios "$scen" --list --filter 'row\[k=v]')
[ "$got" = "row[k=v]" ] || fail "--filter 'row\[k=v]' (the escaped glob) lists [$got], not [row[k=v]]"
got=$("$gatecert" run --scenarios "$scen" --list --filter 'glob [ab]')
[ "$got" = "glob a" ] || fail "--filter 'glob [ab]' is a glob: it lists [$got], not [glob a]"
got=$("$gatecert" run --scenarios "$scen" --list --case 'glob [ab]' --case '*' | sort)
[ "$got" = "$(printf '%s\n' '*' 'glob [ab]' | sort)" ] ||
  fail "--case 'glob [ab]' --case '*' lists [$got], not the two exact names"

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "every printed command ran its one case; the selection errors hold"
