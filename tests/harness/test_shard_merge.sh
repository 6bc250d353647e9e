#!/usr/bin/env bash
# test_shard_merge.sh GATECERT SIM BACKEND SCENARIOS SCHEMAS SCRATCH
#
# The whole catalogue (profile wso2-4, the built simulator) run once and as
# three shards run side by side (`gatecert run --shard K/3`), first split by
# the hash of the names, then balanced by the whole run's timings
# (--shard-timings); each time `gatecert merge` combines the shards and the
# merged report has the same verdicts as the single run (`gatecert merge
# --compare`: the same case set, the same outcome per case, the same
# statistics and feature results), a merged junit.xml valid against both JUnit
# schemas, the same number of testcases, and every shard saying which it is.
# Then the refusals end to end: two of the three shards (a shard missing) and
# a shard given twice exit 2 naming the shard, and --compare of one shard with
# the whole run exits 1 naming a case it lacks.
set -uo pipefail
gatecert=$1 sim=$2 backend=$3 scenarios=$4 schemas=$5 scratch=$6
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
rm -rf "$scratch"
mkdir -p "$scratch" || exit 1

run() {
  "$gatecert" run --scenarios "$scenarios" --profile wso2-4 --sim-bin "$sim" \
    --backend-bin "$backend" "$@"
}

start=$(date +%s)
run -j2 --reports "$scratch/whole" >"$scratch/whole.out" 2>&1
rc=$?
[ $rc -le 1 ] || { cat "$scratch/whole.out" >&2; fail "the single run exited $rc"; }
tail -n 1 "$scratch/whole.out"
echo "single run: $(($(date +%s) - start)) s"
whole_cases=$(grep -c '<testcase ' "$scratch/whole/junit.xml")

for round in hash timings; do
  mkdir -p "$scratch/$round"
  extra=()
  [ "$round" = timings ] && extra=(--shard-timings "$scratch/whole/conformance.json")
  start=$(date +%s)
  pids=()
  for k in 1 2 3; do
    run --shard "$k/3" "${extra[@]}" --reports "$scratch/$round/s$k" \
      >"$scratch/$round/s$k.out" 2>&1 &
    pids+=($!)
  done
  for k in 1 2 3; do
    wait "${pids[$((k - 1))]}"
    rc=$?
    [ $rc -le 1 ] || { cat "$scratch/$round/s$k.out" >&2; fail "$round: shard $k/3 exited $rc"; }
    grep -q "<property name=\"shard\" value=\"$k/3\"/>" "$scratch/$round/s$k/junit.xml" ||
      fail "$round: shard $k's junit.xml does not say shard $k/3"
    grep -q "\"index\": $k," "$scratch/$round/s$k/conformance.json" ||
      fail "$round: shard $k's conformance.json does not say index $k"
    echo "$round shard $k/3: $(tail -n 1 "$scratch/$round/s$k.out")"
  done
  echo "$round: three shards side by side: $(($(date +%s) - start)) s"
  if ! "$gatecert" merge --out "$scratch/$round/merged" "$scratch/$round/s1" \
    "$scratch/$round/s2" "$scratch/$round/s3" >"$scratch/$round/merge.out" 2>&1; then
    cat "$scratch/$round/merge.out" >&2
    fail "$round: the merge failed"
    continue
  fi
  if ! "$gatecert" merge --compare "$scratch/$round/merged" "$scratch/whole" \
    >"$scratch/$round/compare.out" 2>&1; then
    cat "$scratch/$round/compare.out" >&2
    fail "$round: the merged report's verdicts differ from the single run's"
  fi
  for xsd in junit-ant-windyroad.xsd junit-10-jenkins.xsd; do
    xmllint --noout --schema "$schemas/$xsd" "$scratch/$round/merged/junit.xml" 2>"$scratch/xmllint.err" ||
      { cat "$scratch/xmllint.err" >&2; fail "$round: merged junit.xml is not valid against $xsd"; }
  done
  [ -s "$scratch/$round/merged/index.html" ] || fail "$round: no merged index.html"
  merged_cases=$(grep -c '<testcase ' "$scratch/$round/merged/junit.xml")
  [ "$merged_cases" = "$whole_cases" ] ||
    fail "$round: merged junit.xml has $merged_cases testcases, the single run $whole_cases"
  # every case's quirks (a property of its testsuite) survive the merge, from every shard
  whole_quirks=$(grep -c '<property name="quirks: ' "$scratch/whole/junit.xml")
  merged_quirks=$(grep -c '<property name="quirks: ' "$scratch/$round/merged/junit.xml")
  [ "$whole_quirks" -gt 0 ] && [ "$merged_quirks" = "$whole_quirks" ] ||
    fail "$round: merged junit.xml names the quirks of $merged_quirks cases, the single run $whole_quirks"
done

# The refusals, end to end.
out=$("$gatecert" merge --out "$scratch/m-missing" "$scratch/hash/s1" "$scratch/hash/s3" 2>&1)
rc=$?
[ $rc = 2 ] && [[ $out == *"missing shard 2/3"* ]] || fail "a missing shard: exit $rc: $out"
[ -e "$scratch/m-missing" ] && fail "a missing shard: the output directory was made"
out=$("$gatecert" merge --out "$scratch/m-twice" "$scratch/hash/s1" "$scratch/hash/s2" \
  "$scratch/timings/s2" "$scratch/hash/s3" 2>&1)
rc=$?
[ $rc = 2 ] && [[ $out == *"shard 2/3 is given twice"* ]] || fail "a shard twice: exit $rc: $out"
out=$("$gatecert" merge --compare "$scratch/hash/s1" "$scratch/whole" 2>&1)
rc=$?
[ $rc = 1 ] && [[ $out == *"only in $scratch/whole/conformance.json"* ]] ||
  fail "--compare of one shard with the whole run: exit $rc: $out"
out=$("$gatecert" run --shard 4/3 --list 2>&1)
rc=$?
[ $rc = 2 ] && [[ $out == *"K/N with 1 <= K <= N"* ]] || fail "--shard 4/3: exit $rc: $out"

[ $failures = 0 ] && echo "PASS: three shards merged equal one run, verdict for verdict"
[ $failures = 0 ]
