#!/usr/bin/env bash
# run-fuzz.sh FUZZER SEEDS SCRATCH SECONDS [LIBFUZZER-OPTION...] - a bounded libFuzzer run.
#
# Copies the seed corpus SEEDS (fixtures/multipart) into SCRATCH/corpus, so
# the source tree is never written, then runs FUZZER over that copy for
# SECONDS with the dictionary next to this script. New inputs land in
# SCRATCH/corpus, a crashing input in SCRATCH/artifacts/. Exits with the
# fuzzer's status: 0 when no invariant broke and no sanitizer fired. Extra
# arguments go to libFuzzer (e.g. -jobs=4 -workers=4). Used by CTest (test
# fuzz_multipart, label fuzz) and by hand (README.md here).
set -euo pipefail
usage="usage: run-fuzz.sh FUZZER SEEDS SCRATCH SECONDS [LIBFUZZER-OPTION...]"
fuzzer=${1:?$usage}
seeds=${2:?$usage}
scratch=${3:?$usage}
seconds=${4:?$usage}
shift 4
here=$(cd "$(dirname "$0")" && pwd)
fuzzer=$(cd "$(dirname "$fuzzer")" && pwd)/$(basename "$fuzzer")
mkdir -p "$scratch"
scratch=$(cd "$scratch" && pwd)

# one run per scratch directory: the lock is held by the fuzzer (exec keeps fd 9)
exec 9>"$scratch/.lock"
if ! flock -n 9; then
  echo "run-fuzz: $scratch is in use by another run" >&2
  exit 1
fi
rm -rf "$scratch/corpus" "$scratch/artifacts"
mkdir -p "$scratch/corpus" "$scratch/artifacts"
find "$seeds" -maxdepth 1 -type f ! -name README.md ! -name '.*' -exec cp -t "$scratch/corpus/" {} +
echo "run-fuzz: $(find "$scratch/corpus" -type f | wc -l) seeds, ${seconds}s, scratch $scratch"

cd "$scratch"
exec "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=5 -max_len=16384 \
  -print_final_stats=1 -dict="$here/multipart.dict" -artifact_prefix="$scratch/artifacts/" \
  "$@" "$scratch/corpus"
